"""Weight decay, dropout and early stopping.

Generated from chapters/08-generalisation.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['l2_penalty', 'Dropout', 'EarlyStopping']

# %% chapters/08-generalisation.md cell 1
# dlfs.regularization: weight decay, dropout and early stopping.
import math

import numpy as np

from dlfs.layers import Layer
from dlfs.model import Callback
from dlfs.validation import check_count, check_dvalues, check_real, check_rng


# %% chapters/08-generalisation.md cell 7
def l2_penalty(layers_or_model, weight_decay: float) -> float:
    """The L2 penalty ``weight_decay / 2 * (sum of squares of every
    parameter)``, a float.

    ``layers_or_model`` is a ``Model`` (its ``layers`` are used) or an
    iterable of layers. Every array in every layer's ``parameters()`` counts,
    biases included, just as an optimizer's ``weight_decay`` adds
    ``weight_decay * param`` to the gradient of every parameter (as in
    ``torch.optim``): the gradient of this penalty with respect to an array
    ``p`` is ``weight_decay * p``, of p's shape.
    """
    weight_decay = check_real("weight_decay", weight_decay, at_least=0)
    layers = getattr(layers_or_model, "layers", layers_or_model)
    total = 0.0
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError("layers_or_model must be a Model or an iterable "
                            "of dlfs layers, got an item of type "
                            f"{type(layer).__name__}")
        for param in layer.parameters().values():
            total += float(np.sum(np.square(param, dtype=np.float64)))
    return 0.5 * weight_decay * total


# %% chapters/08-generalisation.md cell 11
class Dropout(Layer):
    """Inverted dropout: in training, each unit is zeroed with probability
    ``rate`` and the survivors are scaled by 1 / (1 - rate), so every unit
    keeps its expected value; in evaluation, the identity.

    Inputs of any shape, e.g. (N, n), give outputs of the same shape and
    dtype. ``rate`` is in [0, 1); ``rng`` is a seed or a numpy Generator from
    which the masks are drawn. ``forward`` keeps the mask (``self.mask``,
    shaped like the inputs; None in evaluation mode), and ``backward``
    multiplies the gradient by that same mask. ``state()`` holds the
    generator's state (NumPy's default PCG64 generator, as six uint64 words),
    so a saved and loaded model draws the masks the original would have drawn
    next.
    """

    def __init__(self, rate: float, rng=None):
        self.rate = check_real("rate", rate, at_least=0, below=1)
        # a seed, None, or a Generator (used as it is)
        self.rng = check_rng(rng)
        self.mask = None
        self.output = None

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, ...) -> (N, ...): ``inputs * mask`` when training (and
        rate > 0), else ``inputs``."""
        inputs = np.asarray(inputs)
        if inputs.dtype.kind != "f":
            raise TypeError("Dropout inputs must be a floating-point array, "
                            f"got dtype {inputs.dtype}")
        if not training or self.rate == 0.0:
            self.mask = None
            self.output = inputs
            return self.output
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=inputs.dtype)
        kept = self.rng.random(inputs.shape) >= self.rate
        self.mask = np.where(kept, scale, np.zeros((), dtype=inputs.dtype))
        self.output = inputs * self.mask
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) -> dL/d(inputs): dvalues times the forward pass's
        mask (identity in evaluation)."""
        dvalues = check_dvalues(self, dvalues)
        self.dinputs = dvalues if self.mask is None else dvalues * self.mask
        return self.dinputs

    def get_config(self) -> dict:
        return {"rate": self.rate}

    # %% chapters/08-generalisation.md cell 12
    def state(self) -> dict[str, np.ndarray]:
        """The generator's state: (state, inc) as 128-bit numbers in 64-bit
        halves, and its cache."""
        bits = self.rng.bit_generator.state
        if bits["bit_generator"] != "PCG64":
            raise TypeError("Dropout can save a PCG64 generator's state, "
                            f"not {bits['bit_generator']}'s")
        pcg = bits["state"]
        words = [pcg["state"] >> 64, pcg["state"], pcg["inc"] >> 64,
                 pcg["inc"], bits["has_uint32"], bits["uinteger"]]
        return {"rng": np.array([w & (2**64 - 1) for w in words],
                                dtype=np.uint64)}

    # %% chapters/08-generalisation.md cell 12
    def set_state(self, state: dict[str, np.ndarray]) -> None:
        words = [int(w) for w in state["rng"]]
        s_hi, s_lo, i_hi, i_lo, has_uint32, uinteger = words
        if has_uint32 not in (0, 1) or uinteger >= 2**32:
            raise ValueError("not a PCG64 generator state: has_uint32 "
                             f"{has_uint32}, uinteger {uinteger}")
        self.rng.bit_generator.state = {
            "bit_generator": "PCG64", "has_uint32": has_uint32,
            "uinteger": uinteger,
            "state": {"state": s_hi << 64 | s_lo, "inc": i_hi << 64 | i_lo}}


# %% chapters/08-generalisation.md cell 18
class EarlyStopping(Callback):
    """Stop ``Model.fit`` when ``monitor`` has not improved for ``patience``
    epochs; restore the best weights.

    ``monitor`` is a key of the epoch's logs (``"val_loss"``,
    ``"val_accuracy"``, ...). ``mode`` says which way is better: "min"
    (losses), "max" (accuracies), or "auto" (the default): "max" if the key
    contains "acc", else "min". An epoch improves on the best value so far
    only if it is better by more than ``min_delta``. After ``patience`` epochs
    in a row without improvement, it sets ``self.model.stop_training = True``.
    With ``restore_best_weights``, ``on_train_end`` puts back the weights of
    the best epoch (whether or not training stopped early). After training,
    ``best`` is the best value, ``best_epoch`` its epoch and ``stopped_epoch``
    the epoch after which training stopped (None if it ran to the end), both
    counted from 1, as ``fit`` prints them.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5,
                 min_delta: float = 0.0, restore_best_weights: bool = True,
                 mode: str = "auto"):
        if not isinstance(monitor, str):
            raise TypeError("monitor must be the name of a logged figure such "
                            f"as 'val_loss', got {monitor!r}")
        if mode not in ("min", "max", "auto"):
            raise ValueError("mode must be 'min', 'max' or 'auto', "
                             f"got {mode!r}")
        self.monitor, self.mode = monitor, mode
        self.patience = check_count("patience", patience)
        self.min_delta = check_real("min_delta", min_delta, at_least=0)
        self.maximise = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.restore_best_weights = bool(restore_best_weights)
        self.on_train_begin()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = -math.inf if self.maximise else math.inf
        self.best_epoch = self.stopped_epoch = self.best_weights = None
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            hint = (" (pass validation_data to fit)"
                    if self.monitor.startswith("val_") else "")
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but "
                             f"the epoch's logs hold only {sorted(logs)}"
                             f"{hint}")
        value = float(logs[self.monitor])
        if self.maximise:
            improved = value > self.best + self.min_delta
        else:
            improved = value < self.best - self.min_delta
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch + 1          # as fit prints it
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
