"""Model, a stack of layers trained with fit, and the callbacks that watch it.

Generated from chapters/06-training-loop.md, chapters/b-robustness.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Model', 'Callback', 'SHAPE_KEEPING_MODULES']

# %% chapters/06-training-loop.md cell 1
# dlfs.model: Model, a stack of layers trained with fit, and the callbacks
# that watch it.
import numbers
import sys
from contextlib import contextmanager

import numpy as np

from dlfs.layers import DEFAULT_DTYPE, Layer
from dlfs.losses import Loss
from dlfs.optimizers import Optimizer
from dlfs.validation import (check_batch, check_callbacks, check_count,
                             check_rng, describe)


# %% chapters/06-training-loop.md cell 9
class Model:
    """A stack of layers trained as one.

    ``forward`` runs the layers in order; ``backward(output, y_true)`` runs
    the loss gradient back through them in reverse (one fused step for the
    last layer when the loss offers it). ``fit``, ``evaluate`` and
    ``predict`` train and use it on whole data sets, in mini-batches,
    checking what they receive once (Appendix B); inside their loops nothing
    is checked twice. ``model(X)`` is ``model.forward(X)``.
    """

    def __init__(self, layers=(), loss: Loss | None = None,
                 optimizer: Optimizer | None = None):
        self.layers: list[Layer] = []
        for layer in layers:
            self.add(layer)
        self.loss, self.optimizer = loss, optimizer
        self.history: dict[str, list[float]] = {}
        self.stop_training = False

    # %% chapters/b-robustness.md cell 18
    def add(self, layer: Layer) -> "Model":
        """Append ``layer`` to the stack; returns the model. Each layer object may
        appear once, and a layer with ``n_inputs`` must take the width of the last
        ``Dense``-like layer before it."""
        if not isinstance(layer, Layer):
            if isinstance(layer, type):
                got = (f"the class {layer.__name__}: create one, "
                       f"{layer.__name__}(...)")
            else:
                got = describe(layer)
            raise TypeError(f"layer must be a dlfs Layer (Dense, ReLU, ...), "
                            f"got {got}")
        for i, existing in enumerate(self.layers):
            if existing is layer:
                raise ValueError(f"this layer object is already in the model "
                                 f"(layer {i}); shared layers are not supported: "
                                 "create a new layer")
        n_inputs = getattr(layer, "n_inputs", None)
        # back to the last known width
        for i in range(len(self.layers) - 1, -1, -1):
            before = self.layers[i]
            if hasattr(before, "n_neurons"):
                if n_inputs is not None and n_inputs != before.n_neurons:
                    raise ValueError(
                        f"layer {len(self.layers)} ({type(layer).__name__}) takes "
                        f"{n_inputs} inputs, but layer {i} "
                        f"({type(before).__name__}) gives {before.n_neurons}")
                break
            if type(before).__module__ not in SHAPE_KEEPING_MODULES:
                break
        self.layers.append(layer)
        return self

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """A batch (N, ...) -> the last layer's output, e.g. (N, C) class
        probabilities."""
        for layer in self.layers:
            inputs = layer.forward(inputs, training=training)
        return inputs

    def __call__(self, inputs: np.ndarray,
                 training: bool = False) -> np.ndarray:
        return self.forward(inputs, training=training)

    # %% chapters/06-training-loop.md cell 10
    def backward(self, output: np.ndarray, y_true, need_dinputs: bool = False,
                 check_input: bool = True) -> np.ndarray | None:
        """Set the gradients of every layer for ``loss(output, y_true)``;
        dL/d(inputs) if asked for.

        ``output`` (N, C) or (N, k) is what ``forward`` just returned. Unless
        ``need_dinputs``, the first layer is told that nobody needs
        dL/d(inputs), and None may come back. ``check_input`` is handed to the
        loss (``fit`` checked its targets once, before the first batch).
        """
        loss, layers = self.loss, self.layers
        if loss is None:
            raise RuntimeError("model.loss is not set: assign a dlfs Loss "
                               "before calling backward")
        if loss.fuses_with(layers[-1]):
            dvalues = loss.fused_backward(output, y_true, check_input)
            layers[-1].dinputs = dvalues
            layers = layers[:-1]
        else:
            dvalues = loss.backward(output, y_true, check_input)
        if not need_dinputs:
            # layers before the first one that learns need no gradient at all
            learns = (i for i, layer in enumerate(layers) if layer.parameters())
            layers = layers[next(learns, len(layers)):]
        if not layers:
            return dvalues if need_dinputs else None
        first, told = layers[0], layers[0].needs_input_gradient
        first.needs_input_gradient = need_dinputs and told   # for this call only
        try:
            for layer in reversed(layers):
                dvalues = layer.backward(dvalues)
        finally:
            first.needs_input_gradient = told
        return dvalues

    # %% chapters/13-recurrence.md cell 13
    def _train_step(self, X: np.ndarray,
                    y: np.ndarray) -> tuple[np.ndarray, float]:
        """Forward, loss, backward and one optimizer step on one batch;
        (output, loss).

        ``fit`` checked ``X`` and ``y`` once, before the first batch, so the loss
        runs unchecked. The optimizer gets every layer that learns at once
        (``apply_gradients``), so it can clip their gradients together before
        it moves any parameter.
        """
        output = self.forward(X, training=True)
        loss = self.loss.calculate(output, y, check_input=False)
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss is {loss}")
        self.backward(output, y, check_input=False)
        self.optimizer.apply_gradients(
            [layer for layer in self.layers if layer.parameters()])
        self._updates += 1
        return output, loss

    # %% chapters/06-training-loop.md cell 13
    def non_finite(self) -> str | None:
        """Where an inf or nan sits in the layers' parameters or last outputs,
        if anywhere."""
        for i, layer in enumerate(self.layers):
            output = getattr(layer, "output", None)
            arrays = layer.parameters() | {"output": output}
            for name, array in arrays.items():
                if array is not None and not np.isfinite(array).all():
                    return (f"layer {i} ({type(layer).__name__}) has inf or nan "
                            f"in its {name}")
        return None

    # %% chapters/06-training-loop.md cell 13
    @contextmanager
    def divergence_guard(self, where):
        """Turn a blow-up inside the block into one FloatingPointError naming
        ``where()`` ("epoch 3, batch 7"), called only when something goes wrong.
        A ValueError that is not caused by inf or nan in the network (a bug, not
        a blow-up) keeps its own traceback."""
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                yield
            except (ValueError, FloatingPointError) as error:
                found = self.non_finite()
                if found is None and isinstance(error, ValueError):
                    raise
                if self._updates == 0:
                    # no update yet: the learning rate cannot be the cause
                    raise FloatingPointError(
                        f"training failed at {where()}, before any update: "
                        f"{found or error}; the inputs or starting weights are "
                        f"too large for {self.dtype.name} (scale the inputs)"
                    ) from error
                rate = self.optimizer.learning_rate
                raise FloatingPointError(
                    f"training diverged at {where()}: {found or error}; "
                    f"try a smaller learning rate (now {rate:g})") from error

    # %% chapters/06-training-loop.md cell 13
    def _train_epoch(self, X, y, batch_size: int, order, epoch: int,
                     show_bar: bool) -> dict[str, float]:
        """One epoch of training steps; the epoch's mean loss (and metric) over
        all rows."""
        metric = self.loss.metric_name
        sums = {"loss": 0.0} | ({metric: 0.0} if metric else {})
        n_batches, b = -(-len(X) // batch_size), 0
        with self.divergence_guard(lambda: f"epoch {epoch}, batch {b}"):
            for b, rows in enumerate(_batches(len(X), batch_size, order), start=1):
                X_batch, y_batch = X[rows], y[rows]
                output, batch_loss = self._train_step(X_batch, y_batch)
                sums["loss"] += batch_loss * len(output)
                if metric:
                    sums[metric] += self.loss.metric(
                        output, y_batch, check_input=False) * len(output)
                if show_bar:
                    print("\r" + _progress_bar(b, n_batches), end="", flush=True)
            # the last update must not slip out unchecked
            found = self.non_finite()
            if found:
                raise FloatingPointError(found)
        return {key: total / len(X) for key, total in sums.items()}

    # %% chapters/06-training-loop.md cell 14
    def fit(self, X, y, epochs: int = 1, batch_size: int = 32,
            validation_data=None, shuffle: bool = True, rng=None,
            verbose: int = 1, callbacks=(),
            initial_epoch: int = 0) -> dict[str, list[float]]:
        """Train with mini-batch gradient descent; returns ``history`` (one list
        per figure, a value per epoch).

        X (N, ...) a batch the first layer takes; y labels (N,) or targets shaped
        like the output. Each epoch visits every row once, in a random order (if
        ``shuffle``) drawn from (``rng``, epoch number). Epochs are numbered as
        in Keras: ``initial_epoch=2, epochs=4`` runs epochs 3 and 4 as a 4-epoch
        run would (to resume a saved model exactly).
        ``validation_data=(X_val, y_val)`` adds ``val_loss`` (and the metric).
        ``verbose=1`` prints a line per epoch. FloatingPointError names the epoch
        and batch if training diverges.
        """
        X, y, validation_data, callbacks = self.check_fit(
            X, y, epochs, batch_size, initial_epoch, validation_data, callbacks)
        epoch_seed = int(check_rng(rng).integers(2**63))
        show_bar = verbose and sys.stdout.isatty()
        self.history, self.stop_training, self._updates = {}, False, 0
        begun, logs = [], None
        for callback in callbacks:
            callback.set_model(self)
        try:
            for callback in callbacks:
                callback.on_train_begin()
                begun.append(callback)
            for epoch in range(initial_epoch + 1, epochs + 1):
                epoch_rng = np.random.default_rng([epoch_seed, epoch])
                order = epoch_rng.permutation(len(X)) if shuffle else None
                logs = self._train_epoch(X, y, batch_size, order, epoch, show_bar)
                if validation_data is not None:
                    with self.divergence_guard(
                            lambda: f"epoch {epoch} (validation pass)"):
                        scores = self._scores(*validation_data)
                        if not np.isfinite(scores["loss"]):
                            raise FloatingPointError(
                                f"the validation loss is {scores['loss']}")
                    logs |= {"val_" + key: value for key, value in scores.items()}
                for key, value in logs.items():
                    self.history.setdefault(key, []).append(value)
                if verbose:
                    figures = "  ".join(f"{key} {value:.4f}"
                                        for key, value in logs.items())
                    print(("\r" if show_bar else "")
                          + f"epoch {epoch:>{len(str(epochs))}}/{epochs}  "
                          + figures)
                for callback in callbacks:
                    callback.on_epoch_end(epoch - 1, logs)  # Keras counts from 0
                if self.stop_training:
                    break
        finally:
            # also after a divergence: a callback may restore weights
            _end_training(begun, logs)
        return self.history

    # %% chapters/06-training-loop.md cell 16
    def _forward_in_batches(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([self.forward(X[rows])
                               for rows in _batches(len(X), batch_size)])

    # %% chapters/06-training-loop.md cell 16
    def _scores(self, X: np.ndarray, y: np.ndarray,
                batch_size: int = 1024) -> dict[str, float]:
        """Loss (and metric) of checked data, as Python floats."""
        output = self._forward_in_batches(X, batch_size)
        scores = {"loss": self.loss.calculate(output, y, check_input=False)}
        if self.loss.metric_name:
            metric = self.loss.metric(output, y, check_input=False)
            scores[self.loss.metric_name] = float(metric)
        return scores

    # %% chapters/06-training-loop.md cell 16
    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """The model's output for a batch X (N, ...), computed in batches, in
        evaluation mode."""
        return self._forward_in_batches(self.check_data(X),
                                        check_count("batch_size", batch_size))

    # %% chapters/06-training-loop.md cell 16
    def evaluate(self, X, y, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss (and the loss's metric, e.g. accuracy) over the whole of X
        and y, as floats."""
        return self._scores(*self.check_data(X, y),
                            check_count("batch_size", batch_size))

    # %% chapters/06-training-loop.md cell 16
    def summary(self) -> str:
        """Print, and return, a table: each layer's index, type, learned arrays
        (name and shape) and number of learned values; then the total."""
        rows, total = [], 0
        for i, layer in enumerate(self.layers):
            params = layer.parameters()
            count = sum(param.size for param in params.values())
            shapes = ", ".join(f"{name} {param.shape}"
                               for name, param in params.items())
            kind = type(layer).__name__
            rows.append(f"{i:>3}  {kind:<11}{shapes:<42}{count:>11,}")
            total += count
        rows.append(f"{'':5}{'learned values in all':<53}{total:>11,}")
        text = "\n".join(rows)
        print(text)
        return text

    # %% chapters/06-training-loop.md cell 16
    def __repr__(self) -> str:
        rows = "".join(f"    {layer!r},\n" for layer in self.layers)
        return "Model([\n" + rows + "])"

    # %% chapters/06-training-loop.md cell 17
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every array of the layers: "0.weights", "0.biases", ..., and
        "2.state.rng" for the arrays of layer 2's ``state()``."""
        arrays = {}
        for i, layer in enumerate(self.layers):
            arrays |= {f"{i}.{name}": np.array(value)
                       for name, value in layer.parameters().items()}
            arrays |= {f"{i}.state.{name}": np.array(value)
                       for name, value in layer.state().items()}
        return arrays

    # %% chapters/06-training-loop.md cell 17
    def load_state_dict(self, state: dict) -> None:
        """Copy ``state`` (as ``state_dict()`` returns it) into the layers: all of
        it, checked first, or nothing."""
        old = self.state_dict()
        if set(state) != set(old):
            raise ValueError(f"expected the arrays {sorted(old)}, "
                             f"got {sorted(state)}")
        new = {key: _same_kind(key, state[key], like) for key, like in old.items()}
        try:
            self._put_arrays(new)
        except ValueError:
            self._put_arrays(old)          # a layer refused its state: undo
            raise

    # %% chapters/06-training-loop.md cell 17
    def _put_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for i, layer in enumerate(self.layers):
            for name, param in layer.parameters().items():
                param[...] = arrays[f"{i}.{name}"]
            state = {name: arrays[f"{i}.state.{name}"] for name in layer.state()}
            if not state:
                continue
            try:
                layer.set_state(state)
            except (TypeError, ValueError, OverflowError) as error:
                raise ValueError(f"layer {i} ({type(layer).__name__}) refuses "
                                 f"its state arrays: {error}") from None

    # %% chapters/06-training-loop.md cell 19
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter array, layer by layer."""
        return [param.copy() for layer in self.layers
                for param in layer.parameters().values()]

    # %% chapters/06-training-loop.md cell 19
    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as ``get_weights`` returns them) into the layers."""
        keys = [f"{i}.{name}" for i, layer in enumerate(self.layers)
                for name in layer.parameters()]
        if len(weights) != len(keys):
            raise ValueError(f"weights must hold {len(keys)} arrays (one per "
                             f"parameter), got {len(weights)}")
        self.load_state_dict(self.state_dict() | dict(zip(keys, weights)))

    # %% chapters/06-training-loop.md cell 20
    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first layer that has one (float32 by default)."""
        dtypes = (layer.dtype for layer in self.layers if hasattr(layer, "dtype"))
        return next(dtypes, np.dtype(DEFAULT_DTYPE))

    # %% chapters/b-robustness.md cell 20
    def check_data(self, X, y=None, names: tuple[str, str] = ("X", "y")):
        """``X`` as a finite batch of the model's dtype that every layer takes,
        and ``y`` (if given) as the loss's targets for it, in the form the loss
        computes with. A first layer that ``takes_indices`` (an ``Embedding``)
        checks X itself, as integer token indices in its range, kept integers;
        the parameters keep their own float dtype."""
        if not self.layers:
            raise RuntimeError("the model has no layers: add some with "
                               "model.add(...)")
        first = self.layers[0]
        if getattr(first, "takes_indices", False):
            X = first.check_indices(X, names[0])
        else:
            X = check_batch(X, names[0], dtype=self.dtype, finite=True)
        outputs = self._one_row_through(X, names[0])
        if y is None:
            return X
        loss = self._require("loss", Loss, "fit or evaluate")
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(X):
            raise ValueError(f"{names[1]} must have one row per row of "
                             f"{names[0]} ({len(X)}), got shape {y.shape}")
        # an example's outputs: C, or (T, C) for sequences
        n_outputs = outputs.shape[1] if outputs.ndim == 2 else outputs.shape[1:]
        return X, loss.check_targets(y, n_outputs, name=names[1])

    # %% chapters/b-robustness.md cell 21
    def check_fit(self, X, y, epochs, batch_size, initial_epoch, validation_data,
                  callbacks):
        """Everything ``fit`` receives, checked before the first step; returns X,
        y, validation_data, callbacks."""
        # the optimizer: its settings check themselves when set
        self._require("optimizer", Optimizer, "fit")
        epochs = check_count("epochs", epochs)
        batch_size = check_count("batch_size", batch_size)
        if (not isinstance(initial_epoch, numbers.Integral)
                or isinstance(initial_epoch, bool)
                or not 0 <= initial_epoch < epochs):
            raise ValueError(f"initial_epoch must be an integer from 0 to "
                             f"epochs - 1 = {epochs - 1} (epochs is the number "
                             f"of the last epoch, as in Keras), got "
                             f"{initial_epoch!r}")
        X, y = self.check_data(X, y)
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list))
                    and len(validation_data) == 2):
                raise ValueError(f"validation_data must be a pair (X_val, y_val), "
                                 f"got {describe(validation_data)}")
            validation_data = self.check_data(
                *validation_data, names=("validation X", "validation y"))
        return X, y, validation_data, check_callbacks(callbacks)

    # %% chapters/b-robustness.md cell 20
    def _require(self, name: str, kind: type, caller: str):
        """``self.<name>`` if it is a ``kind``; ``caller`` is the method that
        needs it, for the error."""
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"model.{name} is not set: assign a dlfs "
                               f"{kind.__name__} before calling {caller}")
        if not isinstance(value, kind):
            raise TypeError(f"model.{name} must be a dlfs {kind.__name__}, "
                            f"got {describe(value)}")
        return value

    # %% chapters/b-robustness.md cell 20
    def _one_row_through(self, X: np.ndarray, name: str) -> np.ndarray:
        """Run one row of X through the layers one by one; a ValueError names
        the layer that refused."""
        outputs = X[:1]
        for i, layer in enumerate(self.layers):
            try:
                # an overflow is training's to report
                with np.errstate(over="ignore", invalid="ignore"):
                    outputs = layer.forward(outputs)
            except ValueError as error:
                what = (f"{name} does not fit layer 0" if i == 0 else
                        f"layer {i - 1}'s output does not fit layer {i}")
                raise ValueError(f"{what} ({type(layer).__name__}), tried on "
                                 f"one row: {error}") from None
        return outputs


# %% chapters/06-training-loop.md cell 12
def _batches(n_rows: int, batch_size: int, order: np.ndarray | None = None):
    """Row selectors covering ``n_rows`` rows, ``batch_size`` at a time.

    Slices in the natural order, or slices of the permutation ``order``
    (index arrays).
    """
    for start in range(0, n_rows, batch_size):
        rows = slice(start, start + batch_size)
        yield rows if order is None else order[rows]


def _progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total
    return f"[{'=' * filled}{'.' * (width - filled)}] {done}/{total}"


class Callback:
    """Hooks into ``Model.fit``, as in Keras; override the ones you need.

    ``fit`` hands each callback the model (``set_model``: then
    ``self.model``), calls ``on_train_begin(logs)``, ``on_epoch_end(epoch,
    logs)`` after every epoch, with the epoch's 0-based index and its figures
    (``logs["loss"]``, ``logs["val_accuracy"]``, ...), and
    ``on_train_end(logs)``, which runs for every callback whose
    ``on_train_begin`` ran, even when ``fit`` (or another callback) raises.
    Setting ``self.model.stop_training = True`` stops training after the
    current epoch.
    """

    model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass


# %% chapters/06-training-loop.md cell 15
def _end_training(callbacks, logs) -> None:
    """Run every callback's ``on_train_end``, even if one raises; then raise
    the first error."""
    errors = []
    for callback in callbacks:
        try:
            callback.on_train_end(logs)
        except Exception as error:  # noqa: BLE001 (re-raised below)
            errors.append(error)
    if errors:
        raise errors[0]


# %% chapters/06-training-loop.md cell 17
from dlfs.validation import check_finite








def _same_kind(key: str, value, like: np.ndarray) -> np.ndarray:
    """``value`` as numbers of ``like``'s shape and dtype, finite if floats."""
    value = np.asarray(value)
    if value.shape != like.shape or value.dtype.kind not in "biuf":
        raise ValueError(f"{key} must be numbers of shape {like.shape}, got "
                         f"{value.dtype} of shape {value.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = value.astype(like.dtype)
    if converted.dtype.kind == "f":
        check_finite(converted, key, value)     # names an overflow as such
    return converted


# %% chapters/b-robustness.md cell 18
SHAPE_KEEPING_MODULES = ("dlfs.activations", "dlfs.regularization",
                         "dlfs.normalization")
