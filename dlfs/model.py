"""Model, a stack of layers trained with fit, and the callbacks that watch it.

Generated from chapters/06-training-loop.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Model', 'Callback']

# %% chapters/06-training-loop.md cell 1
# dlfs.model: Model, a stack of layers trained with fit, and the callbacks that watch it.
import sys

import numpy as np

from dlfs._checks import check_count
from dlfs._guards import (check_chain, check_data, check_fit, check_layer_list, check_new_layer, check_parameters,
                          check_X, divergence_guard, end_training, layers_of, require)
from dlfs._saving import ModelFiles
from dlfs.layers import DEFAULT_DTYPE, Layer
from dlfs.losses import Loss
from dlfs.optimizers import Optimizer


# %% chapters/06-training-loop.md cell 11
class Model(ModelFiles):
    """A stack of layers trained as one.

    ``forward`` runs the layers in order; ``backward(output, y_true)`` runs the loss gradient
    back through them in reverse (one fused step for the last layer when the loss offers it).
    ``fit``, ``evaluate`` and ``predict`` train and use it on whole data sets, in mini-batches.
    ``save`` and ``load`` write and read a NumPy ``.npz`` file with a JSON architecture record,
    never a pickle. ``model(X)`` is ``model.forward(X)``.
    """

    def __init__(self, layers=None, loss: Loss | None = None, optimizer: Optimizer | None = None):
        self.layers: list[Layer] = []
        for layer in check_layer_list(layers):
            self.add(layer)
        self.loss, self.optimizer = loss, optimizer
        self.history: dict[str, list[float]] = {}
        self.stop_training = False

    def add(self, layer: Layer) -> "Model":
        """Append ``layer`` to the stack; returns the model. Each layer object may appear once."""
        self.layers.append(check_new_layer(self, layer))
        return self

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """A batch (N, ...) -> the last layer's output, e.g. (N, C) class probabilities."""
        for layer in layers_of(self):
            inputs = layer.forward(inputs, training=training)
        return inputs

    def __call__(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs, training=training)

    # %% chapters/06-training-loop.md cell 12
    def backward(self, output: np.ndarray, y_true, need_dinputs: bool = False) -> np.ndarray | None:
        """Set the gradients of every layer for ``loss(output, y_true)``; dL/d(inputs) if asked for.

        ``output`` (N, C) or (N, k) is what ``forward`` just returned. Unless ``need_dinputs``, the
        first layer is told that nobody needs dL/d(inputs), and None may come back.
        """
        loss = require(self, "loss", Loss, "backward")
        layers = layers_of(self)
        if loss.fuses_with(layers[-1]):
            dvalues = layers[-1].dinputs = loss.fused_backward(output, y_true)
            layers = layers[:-1]
        else:
            dvalues = loss.backward(output, y_true)
        if not need_dinputs:           # layers before the first one that learns need no gradient at all
            layers = layers[next((i for i, layer in enumerate(layers) if layer.parameters()), len(layers)):]
        if not layers:
            return dvalues if need_dinputs else None
        first, told = layers[0], layers[0].needs_input_gradient
        first.needs_input_gradient = need_dinputs and told      # for this call only
        try:
            for layer in reversed(layers):
                dvalues = layer.backward(dvalues)
        finally:
            first.needs_input_gradient = told
        return dvalues

    # %% chapters/06-training-loop.md cell 13
    def _train_step(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Forward, loss, backward and one optimizer update on one batch; (output, loss)."""
        output = self.forward(X, training=True)
        loss = self.loss.calculate(output, y)
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss is {loss}")
        self.backward(output, y)
        for layer in self.layers:
            if layer.parameters():
                self.optimizer.update_params(layer)
        self._updates += 1
        return output, loss

    # %% chapters/06-training-loop.md cell 14
    def _train_epoch(self, X, y, batch_size: int, order, epoch: int, show_bar: bool) -> dict[str, float]:
        """One epoch of training steps; the epoch's mean loss (and metric) over all rows."""
        metric = self.loss.metric_name
        sums = {"loss": 0.0} | ({metric: 0.0} if metric else {})
        n_batches, b = -(-len(X) // batch_size), 0
        with divergence_guard(self, lambda: f"epoch {epoch}, batch {b}"):
            for b, rows in enumerate(_batches(len(X), batch_size, order), start=1):
                X_batch, y_batch = X[rows], y[rows]
                output, batch_loss = self._train_step(X_batch, y_batch)
                sums["loss"] += batch_loss * len(output)
                if metric:
                    sums[metric] += self.loss.metric(output, y_batch) * len(output)
                if show_bar:
                    print("\r" + _progress_bar(b, n_batches), end="", flush=True)
            check_parameters(self)       # the last update must not slip out unchecked
        return {key: total / len(X) for key, total in sums.items()}

    # %% chapters/06-training-loop.md cell 15
    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, validation_data=None, shuffle: bool = True,
            rng=None, verbose: int = 1, callbacks=(), initial_epoch: int = 0) -> dict[str, list[float]]:
        """Train with mini-batch gradient descent; returns ``history`` (one list per figure, a value per epoch).

        X (N, ...) a batch the first layer takes; y labels (N,) or targets shaped like the output.
        Each epoch visits every row once, in a random order (if ``shuffle``) drawn from (``rng``,
        epoch number). Epochs are numbered as in Keras: ``initial_epoch=2, epochs=4`` runs epochs 3
        and 4 as a 4-epoch run would (to resume a saved model exactly). ``validation_data=(X_val,
        y_val)`` adds ``val_loss`` (and the metric). ``verbose=1`` prints a line per epoch.
        FloatingPointError names the epoch and batch if training diverges.
        """
        X, y, validation_data, callbacks = check_fit(self, X, y, epochs, batch_size, initial_epoch,
                                                     validation_data, callbacks)
        epoch_seed = int(np.random.default_rng(rng).integers(2**63))
        show_bar = verbose and sys.stdout.isatty()
        self.history, self.stop_training, self._updates, begun = {}, False, 0, []
        try:
            for callback in callbacks:
                callback.on_train_begin(self)
                begun.append(callback)
            for epoch in range(initial_epoch + 1, epochs + 1):
                order = np.random.default_rng([epoch_seed, epoch]).permutation(len(X)) if shuffle else None
                logs = self._train_epoch(X, y, batch_size, order, epoch, show_bar)
                if validation_data is not None:
                    with divergence_guard(self, lambda: f"epoch {epoch} (validation pass)"):
                        logs |= {"val_" + key: value for key, value in self._scores(*validation_data).items()}
                for key, value in logs.items():
                    self.history.setdefault(key, []).append(value)
                if verbose:
                    print(("\r" if show_bar else "") + f"epoch {epoch:>{len(str(epochs))}}/{epochs}  "
                          + "  ".join(f"{key} {value:.4f}" for key, value in logs.items()))
                if any([callback.on_epoch_end(self, epoch, logs) for callback in callbacks]) or self.stop_training:
                    break
        finally:                             # also after a divergence: a callback may restore weights
            end_training(self, begun)
        return self.history

    # %% chapters/06-training-loop.md cell 16
    def _forward_in_batches(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([self.forward(X[rows]) for rows in _batches(len(X), batch_size)])

    # %% chapters/06-training-loop.md cell 16
    def _scores(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        output = self._forward_in_batches(X, batch_size)
        scores = {"loss": self.loss.calculate(output, y)}
        if self.loss.metric_name:
            scores[self.loss.metric_name] = self.loss.metric(output, y)
        return scores

    # %% chapters/06-training-loop.md cell 16
    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """The model's output for a batch X (N, ...), computed in batches, in evaluation mode."""
        batch_size = check_count("batch_size", batch_size)
        X = check_X(self, X)
        check_chain(self, X)
        return self._forward_in_batches(X, batch_size)

    # %% chapters/06-training-loop.md cell 16
    def evaluate(self, X, y, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss (and the loss's metric, e.g. accuracy) over the whole of X and y."""
        require(self, "loss", Loss, "evaluate")
        batch_size = check_count("batch_size", batch_size)
        return self._scores(*check_data(self, X, y), batch_size)

    # %% chapters/06-training-loop.md cell 16
    def summary(self) -> str:
        """Print, and return, a table of the layers, the learned values in each, and the total."""
        counts = [sum(param.size for param in layer.parameters().values()) for layer in self.layers]
        rows = [f"{i:>3}  {layer!r:<68}{count:>10,}" for i, (layer, count) in enumerate(zip(self.layers, counts))]
        text = "\n".join(rows + [f"{'learned values in all':>73}{sum(counts):>10,}"])
        print(text)
        return text

    # %% chapters/06-training-loop.md cell 16
    def __repr__(self) -> str:
        return "Model([\n" + "".join(f"    {layer!r},\n" for layer in self.layers) + "])"

    # %% chapters/06-training-loop.md cell 18
    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first layer that has one (float32 by default)."""
        return next((layer.dtype for layer in self.layers if hasattr(layer, "dtype")), np.dtype(DEFAULT_DTYPE))


# %% chapters/06-training-loop.md cell 14
def _batches(n_rows: int, batch_size: int, order: np.ndarray | None = None):
    """Row selectors covering ``n_rows`` rows, ``batch_size`` at a time.

    Slices in the natural order, or slices of the permutation ``order`` (index arrays).
    """
    for start in range(0, n_rows, batch_size):
        yield slice(start, start + batch_size) if order is None else order[start:start + batch_size]


def _progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total
    return f"[{'=' * filled}{'.' * (width - filled)}] {done}/{total}"


class Callback:
    """Hooks into ``Model.fit``; override the ones you need.

    ``on_epoch_end(model, epoch, logs)`` gets the epoch number (from 1) and that epoch's
    figures (``logs["loss"]``, ``logs["val_accuracy"]``, ...); returning True, or setting
    ``model.stop_training = True`` (as in Keras), stops training. ``on_train_end`` runs for
    every callback whose ``on_train_begin`` ran, even when ``fit`` (or another callback) raises.
    """

    def on_train_begin(self, model) -> None:
        pass

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        return False

    def on_train_end(self, model) -> None:
        pass
