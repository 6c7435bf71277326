"""The training loop.

Generated from chapters/06-training-loop.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Model', 'Callback', 'MODEL_FORMAT', 'LOSSES']

# %% chapters/06-training-loop.md cell 1
import json
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from dlfs._checks import check_count, check_inputs
from dlfs.layers import DEFAULT_DTYPE, Layer
from dlfs.losses import Loss
from dlfs.optimizers import Optimizer


# %% chapters/06-training-loop.md cell 10
class Model:
    """A stack of layers trained as one.

    ``forward`` runs the layers in order; ``backward(output, y_true)`` runs the loss gradient
    back through them in reverse (one fused step for the last layer when the loss offers it).
    ``fit``, ``evaluate`` and ``predict`` train and use it on whole data sets, in mini-batches.
    ``save`` and ``load`` write and read a NumPy ``.npz`` file with a JSON architecture record,
    never a pickle. ``model(X)`` is ``model.forward(X)``.
    """

    def __init__(self, layers=None, loss: Loss | None = None, optimizer: Optimizer | None = None):
        self.layers: list[Layer] = []
        for layer in _check_layer_list(layers):
            self.add(layer)
        self.loss = loss
        self.optimizer = optimizer
        self.history: dict[str, list[float]] = {}
        self.stop_training = False

    def add(self, layer: Layer) -> "Model":
        """Append ``layer`` to the stack; returns the model. Each layer object may appear once."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be a dlfs Layer (Dense, ReLU, ...), got {type(layer).__name__}")
        for i, existing in enumerate(self.layers):
            if existing is layer:
                raise ValueError(f"this layer object is already in the model (layer {i}); "
                                 "shared layers are not supported: create a new layer")
        self.layers.append(layer)
        return self

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """(N, n_features) -> the last layer's output, e.g. (N, C) class probabilities."""
        for layer in self._stack():
            inputs = layer.forward(inputs, training=training)
        return inputs

    def __call__(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs, training=training)

    def _stack(self) -> list[Layer]:
        if not self.layers:
            raise RuntimeError("the model has no layers: add some with model.add(...)")
        return self.layers

    # %% chapters/06-training-loop.md cell 11
    def backward(self, output: np.ndarray, y_true, need_dinputs: bool = True) -> np.ndarray | None:
        """Set the gradients of every layer for ``loss(output, y_true)``; returns dL/d(inputs).

        ``output`` (N, C) or (N, k) is what ``forward`` just returned. With ``need_dinputs=False``
        the first layer is told that nobody needs dL/d(inputs), and None may come back.
        """
        loss = self._require("loss", Loss, "backward")
        layers = self._stack()
        if loss.fuses_with(layers[-1]):
            dvalues = layers[-1].dinputs = loss.fused_backward(output, y_true)
            layers = layers[:-1]
        else:
            dvalues = loss.backward(output, y_true)
        if not layers:
            return dvalues
        first, told = layers[0], layers[0].needs_input_gradient
        first.needs_input_gradient = need_dinputs and told      # for this call only
        try:
            for layer in reversed(layers):
                dvalues = layer.backward(dvalues)
        finally:
            first.needs_input_gradient = told
        return dvalues

    # %% chapters/06-training-loop.md cell 12
    def _train_step(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Forward, loss, backward and one optimizer update on one batch; (output, loss)."""
        output = self.forward(X, training=True)
        loss = self.loss.calculate(output, y)
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss is {loss}")
        self.backward(output, y, need_dinputs=False)
        for layer in self.layers:
            if layer.parameters():
                self.optimizer.update_params(layer)
        return output, loss

    # %% chapters/06-training-loop.md cell 13
    def _train_epoch(self, X, y, batch_size: int, order, epoch: int, show_bar: bool) -> dict[str, float]:
        """One epoch of training steps; the epoch's mean loss (and metric) over all rows."""
        metric = self.loss.metric_name
        sums = {"loss": 0.0} | ({metric: 0.0} if metric else {})
        n_batches, b = -(-len(X) // batch_size), 0
        with self._divergence_guard(lambda: f"epoch {epoch}, batch {b}"):
            for b, rows in enumerate(_batches(len(X), batch_size, order), start=1):
                X_batch, y_batch = X[rows], y[rows]
                output, batch_loss = self._train_step(X_batch, y_batch)
                sums["loss"] += batch_loss * len(output)
                if metric:
                    sums[metric] += self.loss.metric(output, y_batch) * len(output)
                if show_bar:
                    print("\r" + _progress_bar(b, n_batches), end="", flush=True)
            self._check_parameters()     # the last update must not slip out unchecked
        return {key: total / len(X) for key, total in sums.items()}

    # %% chapters/06-training-loop.md cell 14
    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, validation_data=None, shuffle: bool = True,
            seed=None, verbose: int = 1, callbacks=()) -> dict[str, list[float]]:
        """Train with mini-batch gradient descent; returns ``history`` (one value per epoch).

        X (N, n_features); y integer labels (N,) or one-hot rows (N, C) for
        CategoricalCrossEntropy, else targets shaped like the output (N, k). Each epoch visits every
        row once, in a new random order when ``shuffle`` (``seed``, an int or Generator, fixes it).
        ``history["loss"]`` (and ``"accuracy"`` for the classification losses) is the mean over all
        N rows; ``validation_data=(X_val, y_val)`` adds ``val_loss`` (and ``val_accuracy``),
        measured after the epoch. ``verbose=1`` prints one line per epoch, with a progress bar in a
        terminal. ``callbacks``: Callback objects (or one); see ``Callback`` for how they stop
        training. Raises FloatingPointError naming the epoch and batch if training diverges.
        """
        epochs, batch_size, X, y, validation_data, callbacks = self._check_fit(
            X, y, epochs, batch_size, validation_data, callbacks)
        rng = np.random.default_rng(seed)
        show_bar = verbose and sys.stdout.isatty()
        self.history, self.stop_training = {}, False
        for callback in callbacks:
            callback.on_train_begin(self)
        try:
            for epoch in range(1, epochs + 1):
                order = rng.permutation(len(X)) if shuffle else None
                logs = self._train_epoch(X, y, batch_size, order, epoch, show_bar)
                if validation_data is not None:
                    with self._divergence_guard(lambda: f"epoch {epoch} (validation pass)"):
                        logs |= {"val_" + key: value for key, value in self._scores(*validation_data).items()}
                for key, value in logs.items():
                    self.history.setdefault(key, []).append(value)
                if verbose:
                    print(("\r" if show_bar else "") + f"epoch {epoch:>{len(str(epochs))}}/{epochs}  "
                          + "  ".join(f"{key} {value:.4f}" for key, value in logs.items()))
                if any([callback.on_epoch_end(self, epoch, logs) for callback in callbacks]) or self.stop_training:
                    break
        finally:                             # also after a divergence: a callback may restore weights
            for callback in callbacks:
                callback.on_train_end(self)
        return self.history

    # %% chapters/06-training-loop.md cell 15
    def _forward_in_batches(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([self.forward(X[rows]) for rows in _batches(len(X), batch_size)])

    # %% chapters/06-training-loop.md cell 15
    def _scores(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        output = self._forward_in_batches(X, batch_size)
        scores = {"loss": self.loss.calculate(output, y)}
        if self.loss.metric_name:
            scores[self.loss.metric_name] = self.loss.metric(output, y)
        return scores

    # %% chapters/06-training-loop.md cell 15
    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """The model's output for X (N, n_features), computed in batches, in evaluation mode."""
        batch_size = check_count("batch_size", batch_size)
        return self._forward_in_batches(self._check_X(X), batch_size)

    # %% chapters/06-training-loop.md cell 15
    def evaluate(self, X, y, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss (and the loss's metric, e.g. accuracy) over the whole of X and y."""
        self._require("loss", Loss, "evaluate")
        batch_size = check_count("batch_size", batch_size)
        return self._scores(*self._check_data(X, y), batch_size)

    # %% chapters/06-training-loop.md cell 15
    def summary(self) -> str:
        """Print, and return, a table of the layers, the learned values in each, and the total."""
        counts = [sum(param.size for param in layer.parameters().values()) for layer in self.layers]
        rows = [f"{i:>3}  {layer!r:<68}{count:>10,}" for i, (layer, count) in enumerate(zip(self.layers, counts))]
        text = "\n".join(rows + [f"{'learned values in all':>73}{sum(counts):>10,}"])
        print(text)
        return text

    # %% chapters/06-training-loop.md cell 15
    def __repr__(self) -> str:
        return "Model([\n" + "".join(f"    {layer!r},\n" for layer in self.layers) + "])"

    # %% chapters/06-training-loop.md cell 16
    def _named_parameters(self) -> dict[str, np.ndarray]:
        """Every parameter array by a file key: "layer0.weights", "layer0.biases", ..."""
        return {f"layer{i}.{name}": param for i, layer in enumerate(self.layers)
                for name, param in layer.parameters().items()}

    # %% chapters/06-training-loop.md cell 16
    def _named_states(self) -> dict[str, np.ndarray]:
        """Every layer's ``state()`` array by a file key: "layer3.state.rng", ..."""
        return {f"layer{i}.state.{name}": array for i, layer in enumerate(self.layers)
                for name, array in layer.state().items()}

    # %% chapters/06-training-loop.md cell 16
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter array, layer by layer."""
        return [param.copy() for param in self._named_parameters().values()]

    # %% chapters/06-training-loop.md cell 16
    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the layers, all checked first."""
        params = self._named_parameters()
        if len(weights) != len(params):
            raise ValueError(f"weights must hold {len(params)} arrays (one per parameter), got {len(weights)}")
        converted = []
        for (key, param), new in zip(params.items(), weights):
            if np.shape(new) != param.shape:
                raise ValueError(f"weights for {key} must have shape {param.shape}, got {np.shape(new)}")
            converted.append(self._finite(key, new, param.dtype, "weights for "))
        for param, new in zip(params.values(), converted):
            param[...] = new

    # %% chapters/06-training-loop.md cell 16
    def _finite(self, key: str, array, dtype: np.dtype, prefix: str = "") -> np.ndarray:
        """``array`` converted to ``dtype``; a ValueError naming the layer and parameter if not finite."""
        with np.errstate(over="ignore"):                 # 1e300 -> float32 is inf: reported below
            array = np.asarray(array).astype(dtype, copy=False)
        if not np.isfinite(array).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            layer = self.layers[int(key.split(".")[0].removeprefix("layer"))]
            raise ValueError(f"{prefix}{key} ({type(layer).__name__}) must be finite, "
                             f"got {array[bad]} at index {bad}")
        return array

    # %% chapters/06-training-loop.md cell 18
    def _require(self, name: str, kind: type, caller: str):
        """``self.<name>`` if it is a ``kind``; ``caller`` is the method that needs it, for the error."""
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"model.{name} is not set: assign a dlfs {kind.__name__} before calling {caller}")
        if not isinstance(value, kind):
            raise TypeError(f"model.{name} must be a dlfs {kind.__name__}, got {type(value).__name__}")
        return value

    # %% chapters/06-training-loop.md cell 18
    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first layer that has one (float32 by default)."""
        return next((layer.dtype for layer in self.layers if hasattr(layer, "dtype")), np.dtype(DEFAULT_DTYPE))

    # %% chapters/06-training-loop.md cell 18
    def _check_X(self, X, name: str = "X") -> np.ndarray:
        """X as a finite (N, n_features) array of the model's dtype."""
        n_features = getattr(self._stack()[0], "n_inputs", None)
        one_row = np.ndim(X) == 1 and np.size(X) == (n_features or np.size(X))
        return _with_hint(check_inputs, "(X.reshape(1, -1) for one example)" if one_row else None,
                          X, n_features, name=name, dtype=self.dtype)

    # %% chapters/06-training-loop.md cell 18
    def _check_data(self, X, y, names: tuple[str, str] = ("X", "y")) -> tuple[np.ndarray, np.ndarray]:
        """X as a finite (N, n_features) array of the model's dtype, and y checked by the loss."""
        X = self._check_X(X, names[0])
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(X):
            raise ValueError(f"{names[1]} must have one row per row of {names[0]} ({len(X)}), got shape {y.shape}")
        self.loss.check_targets(y, self.forward(X[:1]).shape[1], name=names[1])
        return X, y

    # %% chapters/06-training-loop.md cell 18
    def _check_fit(self, X, y, epochs, batch_size, validation_data, callbacks):
        """Everything ``fit`` receives, checked before the first step, in the same order."""
        self._require("loss", Loss, "fit")
        self._require("optimizer", Optimizer, "fit")
        epochs, batch_size = check_count("epochs", epochs), check_count("batch_size", batch_size)
        X, y = self._check_data(X, y)
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError(f"validation_data must be a pair (X_val, y_val), got {_describe(validation_data)}")
            validation_data = self._check_data(*validation_data, names=("validation X", "validation y"))
        return epochs, batch_size, X, y, validation_data, _check_callbacks(callbacks)

    # %% chapters/06-training-loop.md cell 19
    @contextmanager
    def _divergence_guard(self, where):
        """Turn a blow-up inside the block into one FloatingPointError naming ``where()``.

        ``where`` is a function that says where training is ("epoch 3, batch 7"), called only
        when something goes wrong, so one guard can watch a whole epoch of batches.

        Overflow inside the block is not reported as NumPy warnings; a ValueError that is not
        caused by inf or nan in the network (a bug, not a blow-up) keeps its own traceback.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                yield
            except (ValueError, FloatingPointError) as error:
                found = self._non_finite()
                if found is None and isinstance(error, ValueError):
                    raise
                raise FloatingPointError(
                    f"training diverged at {where()}: {found or error}; "
                    f"try a smaller learning rate (now {self.optimizer.learning_rate:g})") from error

    # %% chapters/06-training-loop.md cell 19
    def _non_finite(self) -> str | None:
        """Where an inf or nan sits in the layers' parameters or last outputs, if anywhere."""
        for i, layer in enumerate(self.layers):
            arrays = layer.parameters() | {"output": getattr(layer, "output", None)}
            for name, array in arrays.items():
                if array is not None and not np.isfinite(array).all():
                    return f"layer {i} ({type(layer).__name__}) has inf or nan in its {name}"
        return None

    # %% chapters/06-training-loop.md cell 19
    def _check_parameters(self) -> None:
        """FloatingPointError if any parameter (or last output) holds inf or nan."""
        found = self._non_finite()
        if found is not None:
            raise FloatingPointError(found)

    # %% chapters/06-training-loop.md cell 32
    def architecture(self) -> dict:
        """A JSON-ready description of the layers and the loss (no learned values)."""
        def describe(obj):
            return None if obj is None else {"class": type(obj).__name__, "config": obj.get_config()}
        return {"format": MODEL_FORMAT, "layers": [describe(layer) for layer in self.layers],
                "loss": describe(self.loss)}

    # %% chapters/06-training-loop.md cell 32
    def save(self, path) -> None:
        """Write the architecture and the weights to ``path``: a NumPy .npz archive, no pickle."""
        arrays = self._named_parameters() | self._named_states()
        arrays["architecture"] = np.array(json.dumps(self.architecture()))
        with open(path, "wb") as file:
            np.savez(file, **arrays)

    # %% chapters/06-training-loop.md cell 32
    @classmethod
    def load(cls, path) -> "Model":
        """Rebuild a model saved with ``save``: its layers, its loss and its weights (not the optimizer)."""
        architecture, arrays = _read_model_file(path)
        try:
            layers = [_layer_from(spec, arrays, i) for i, spec in enumerate(architecture["layers"])]
            loss_spec = architecture["loss"]
            loss = None if loss_spec is None else LOSSES[loss_spec["class"]](**loss_spec["config"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: the architecture record cannot be rebuilt ({error!r})") from error
        model = cls(layers, loss)
        model._set_saved_arrays(arrays, path)
        return model

    # %% chapters/06-training-loop.md cell 33
    def load_weights(self, path) -> None:
        """Load the weights saved by ``save`` from a model of the same architecture.

        What must match is what the weights depend on: the layer classes, in order, and the name,
        shape and dtype of every parameter array. Settings that only chose the starting weights
        (Dense's ``init``) may differ.
        """
        architecture, arrays = _read_model_file(path)
        saved, own = architecture.get("layers"), self.architecture()["layers"]
        difference = _layer_difference(saved, own) or _array_difference(
            arrays, self._named_parameters() | self._named_states())
        if difference:
            raise ValueError(f"{path} holds another architecture: {_summary(saved)}; "
                             f"this model is {_summary(own)} ({difference})")
        self._set_saved_arrays(arrays, path)

    # %% chapters/06-training-loop.md cell 33
    def _set_saved_arrays(self, arrays: dict[str, np.ndarray], path) -> None:
        """Check every array of a file (names, shapes, dtypes, finite), then copy them all in."""
        expected = self._named_parameters() | self._named_states()
        if set(arrays) != set(expected):
            raise ValueError(f"{path}: expected the arrays {sorted(expected)}, found {sorted(arrays)}")
        for key, param in expected.items():
            saved = arrays[key]
            if saved.shape != param.shape or saved.dtype != param.dtype:
                raise ValueError(f"{path}: {key} must be {param.dtype} of shape {param.shape}, "
                                 f"got {saved.dtype} of shape {saved.shape}")
            self._finite(key, saved, param.dtype, f"{path}: ")
        for key, param in self._named_parameters().items():
            param[...] = arrays[key]
        for i, layer in enumerate(self.layers):
            prefix = f"layer{i}.state."
            if layer.state():
                layer.set_state({key[len(prefix):]: arrays[key] for key in arrays if key.startswith(prefix)})


# %% chapters/06-training-loop.md cell 13
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
    ``model.stop_training = True`` (as in Keras), stops training. ``on_train_end`` runs even
    when ``fit`` stops with an error.
    """

    def on_train_begin(self, model) -> None:
        pass

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        return False

    def on_train_end(self, model) -> None:
        pass


# %% chapters/06-training-loop.md cell 17
def _describe(value) -> str:
    """What came, for an error message: "an array of shape (10, 4)", "a tuple of 3 items", "dict"."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def _with_hint(check, hint: str | None, *args, **kwargs):
    """``check(*args, **kwargs)``, with ``hint`` appended to the message of a ValueError it raises."""
    try:
        return check(*args, **kwargs)
    except ValueError as error:
        if hint is None:
            raise
        raise ValueError(f"{error} {hint}") from None


def _check_layer_list(layers) -> list:
    """``layers`` as a list; a single layer is a mistake worth naming."""
    if isinstance(layers, Layer):
        raise TypeError(f"Model takes a list of layers: Model([{type(layers).__name__}(...), ...])")
    return list(layers or [])


def _check_callbacks(callbacks) -> list:
    """``callbacks`` as a list of Callback objects; a single Callback is wrapped in a list."""
    if isinstance(callbacks, Callback):
        return [callbacks]
    expected = "callbacks must be a list of Callback objects"
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"{expected}, got {type(callbacks).__name__}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"{expected}, got an item of type {type(callback).__name__}")
    return callbacks


# %% chapters/06-training-loop.md cell 30
MODEL_FORMAT = "dlfs.Model/2"   # /2 keeps layer state as arrays; /1 files (state in configs) still load
_OLDER_FORMATS = ("dlfs.Model/1",)
LOSSES = Loss.registry          # every Loss subclass by class name, including those defined later


def _summary(layer_specs) -> str:
    """Architecture records of layers, short: "Dense(2, 64, he, float32) -> ReLU()"."""
    try:
        return " -> ".join(f"{spec['class']}({', '.join(map(str, spec['config'].values()))})"
                           for spec in layer_specs)
    except (AttributeError, KeyError, TypeError):   # not a record written by Model.save
        return repr(layer_specs)


def _layer_difference(saved, own) -> str | None:
    """The first difference between the layer classes of two architecture records, or None."""
    try:
        saved_classes = [spec["class"] for spec in saved]
    except (KeyError, TypeError):
        return "its layer record is unreadable"
    own_classes = [spec["class"] for spec in own]
    for i, (theirs, ours) in enumerate(zip(saved_classes, own_classes)):
        if theirs != ours:
            return f"layer {i} is {theirs} in the file, {ours} here"
    if len(saved_classes) != len(own_classes):
        return f"{len(saved_classes)} layers in the file, {len(own_classes)} here"
    return None


def _array_difference(arrays: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> str | None:
    """The first parameter whose name, shape or dtype differs between a file and a model, or None."""
    for key in [*params, *sorted(set(arrays) - set(params))]:          # in the model's order
        if key not in arrays or key not in params:
            return f"{key} only {'here' if key in params else 'in the file'}"
        theirs, ours = arrays[key], params[key]
        if theirs.shape != ours.shape or theirs.dtype != ours.dtype:
            return f"{key} is {theirs.dtype} {theirs.shape} in the file, {ours.dtype} {ours.shape} here"
    return None


# %% chapters/06-training-loop.md cell 31
def _layer_from(spec: dict, arrays: dict[str, np.ndarray], i: int) -> Layer:
    """A layer rebuilt from its record; a dlfs.Model/1 record's ``rng_state`` becomes a state array."""
    config = dict(spec["config"])
    rng_state = config.pop("rng_state", None)
    layer = Layer.registry[spec["class"]](**config)
    if rng_state is not None:
        layer.rng.bit_generator.state = rng_state
        arrays.update({f"layer{i}.state.{name}": array for name, array in layer.state().items()})
    return layer


def _read_model_file(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The architecture record and the weight arrays of a file written by ``Model.save``.

    Refuses pickled objects (``allow_pickle=False``): only plain arrays and one JSON string are read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a .npz archive (truncated, or not written by Model.save)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable dlfs model file: {error}") from error
    if "architecture" not in arrays:
        raise ValueError(f"{path} has no architecture record: not a file written by Model.save")
    try:
        architecture = json.loads(str(arrays.pop("architecture")))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the architecture record is not valid JSON ({error})") from None
    found = architecture.get("format") if isinstance(architecture, dict) else None
    if found not in (MODEL_FORMAT, *_OLDER_FORMATS):
        raise ValueError(f"{path}: the architecture record is not in the {MODEL_FORMAT} format (found {found!r})")
    return architecture, arrays
