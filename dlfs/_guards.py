"""The checks that guard Model (internal). Each takes the model as its first argument.

Generated from chapters/06-training-loop.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['describe', 'check_layer_list', 'check_new_layer', 'layers_of', 'CALLBACK_HOOKS', 'check_callbacks', 'end_training', 'require', 'check_X', 'check_chain', 'check_data', 'check_fit', 'divergence_guard', 'non_finite', 'check_parameters', 'finite']

# %% chapters/06-training-loop.md cell 20
# dlfs._guards: the checks that guard Model (internal). Each takes the model as its first argument.
from contextlib import contextmanager

import numpy as np

from dlfs._checks import as_batch, check_count
from dlfs.layers import Layer
from dlfs.losses import Loss
from dlfs.optimizers import Optimizer


# %% chapters/06-training-loop.md cell 21
def describe(value) -> str:
    """What came, for an error message: "an array of shape (10, 4)", "a tuple of 3 items", "dict"."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def check_layer_list(layers) -> list:
    """``layers`` as a list; a single layer is a mistake worth naming."""
    if isinstance(layers, Layer):
        raise TypeError(f"Model takes a list of layers: Model([{type(layers).__name__}(...), ...])")
    return list(layers or [])


def check_new_layer(model, layer) -> Layer:
    """``layer``, if it is a Layer that is not in ``model`` yet (a layer keeps one input and one
    set of gradients, so it cannot stand at two places in a stack)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a dlfs Layer (Dense, ReLU, ...), got {type(layer).__name__}")
    for i, existing in enumerate(model.layers):
        if existing is layer:
            raise ValueError(f"this layer object is already in the model (layer {i}); "
                             "shared layers are not supported: create a new layer")
    return layer


def layers_of(model) -> list:
    """The model's layers; a RuntimeError if it has none."""
    if not model.layers:
        raise RuntimeError("the model has no layers: add some with model.add(...)")
    return model.layers


# %% chapters/06-training-loop.md cell 22
CALLBACK_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")


def check_callbacks(callbacks) -> list:
    """``callbacks`` as a list of objects with Callback's three hooks; a single one is wrapped in a list."""
    if all(hasattr(callbacks, hook) for hook in CALLBACK_HOOKS):
        return [callbacks]
    expected = "callbacks must be a list of Callback objects"
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"{expected}, got {type(callbacks).__name__}")
    callbacks = list(callbacks)
    for callback in callbacks:
        missing = [hook for hook in CALLBACK_HOOKS if not hasattr(callback, hook)]
        if missing:
            raise TypeError(f"{expected}, got an item of type {type(callback).__name__} (no {missing[0]})")
    return callbacks


def end_training(model, callbacks) -> None:
    """Run every callback's ``on_train_end``, even if one raises; then raise the first error."""
    errors = []
    for callback in callbacks:
        try:
            callback.on_train_end(model)
        except Exception as error:       # noqa: BLE001 (re-raised below, after the others ran)
            errors.append(error)
    if errors:
        raise errors[0]


def require(model, name: str, kind: type, caller: str):
    """``model.<name>`` if it is a ``kind``; ``caller`` is the method that needs it, for the error."""
    value = getattr(model, name)
    if value is None:
        raise RuntimeError(f"model.{name} is not set: assign a dlfs {kind.__name__} before calling {caller}")
    if not isinstance(value, kind):
        raise TypeError(f"model.{name} must be a dlfs {kind.__name__}, got {type(value).__name__}")
    return value


# %% chapters/06-training-loop.md cell 23
def check_X(model, X, name: str = "X") -> np.ndarray:
    """X as a finite batch (N, ...) of the model's dtype; its shape is checked by the layers."""
    layers_of(model)
    return as_batch(X, name, model.dtype)


def check_chain(model, X: np.ndarray, name: str = "X") -> np.ndarray:
    """Run one row of X through the layers one by one; a ValueError names the layer that refused."""
    outputs = X[:1]
    for i, layer in enumerate(model.layers):
        try:
            with np.errstate(over="ignore", invalid="ignore"):     # an overflow is reported below
                outputs = layer.forward(outputs)
        except ValueError as error:
            what = f"{name} does not fit layer 0" if i == 0 else f"layer {i - 1}'s output does not fit layer {i}"
            raise ValueError(f"{what} ({type(layer).__name__}), tried on one row: {error}") from None
    return outputs


def check_data(model, X, y, names: tuple[str, str] = ("X", "y")) -> tuple[np.ndarray, np.ndarray]:
    """X as a finite batch of the model's dtype that the layers accept, and y checked by the loss."""
    X = check_X(model, X, names[0])
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{names[1]} must have one row per row of {names[0]} ({len(X)}), got shape {y.shape}")
    model.loss.check_targets(y, check_chain(model, X, names[0]).shape[1], name=names[1])
    return X, y


def check_fit(model, X, y, epochs, batch_size, initial_epoch, validation_data, callbacks):
    """Everything ``fit`` receives, checked before the first step; returns X, y, validation_data, callbacks."""
    require(model, "loss", Loss, "fit")
    require(model, "optimizer", Optimizer, "fit")      # its settings check themselves when set
    epochs, batch_size = check_count("epochs", epochs), check_count("batch_size", batch_size)
    if not isinstance(initial_epoch, (int, np.integer)) or isinstance(initial_epoch, bool) \
            or not 0 <= initial_epoch < epochs:
        raise ValueError(f"initial_epoch must be an integer from 0 to epochs - 1 = {epochs - 1} "
                         f"(epochs is the number of the last epoch, as in Keras), got {initial_epoch!r}")
    X, y = check_data(model, X, y)
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError(f"validation_data must be a pair (X_val, y_val), got {describe(validation_data)}")
        validation_data = check_data(model, *validation_data, names=("validation X", "validation y"))
    return X, y, validation_data, check_callbacks(callbacks)


# %% chapters/06-training-loop.md cell 24
@contextmanager
def divergence_guard(model, where):
    """Turn a blow-up inside the block into one FloatingPointError naming ``where()``.

    ``where`` is a function that says where training is ("epoch 3, batch 7"), called only
    when something goes wrong, so one guard can watch a whole epoch of batches. Before the
    first update of a ``fit`` the learning rate cannot be the cause, and the error says so.
    Overflow inside the block is not reported as NumPy warnings; a ValueError that is not
    caused by inf or nan in the network (a bug, not a blow-up) keeps its own traceback.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            yield
        except (ValueError, FloatingPointError) as error:
            found = non_finite(model)
            if found is None and isinstance(error, ValueError):
                raise
            if getattr(model, "_updates", 1) == 0:
                raise FloatingPointError(
                    f"training failed at {where()}, before any update: {found or error}; the inputs "
                    f"or starting weights are too large for {model.dtype.name} (scale the inputs)") from error
            raise FloatingPointError(
                f"training diverged at {where()}: {found or error}; "
                f"try a smaller learning rate (now {model.optimizer.learning_rate:g})") from error


def non_finite(model) -> str | None:
    """Where an inf or nan sits in the layers' parameters or last outputs, if anywhere."""
    for i, layer in enumerate(model.layers):
        arrays = layer.parameters() | {"output": getattr(layer, "output", None)}
        for name, array in arrays.items():
            if array is not None and not np.isfinite(array).all():
                return f"layer {i} ({type(layer).__name__}) has inf or nan in its {name}"
    return None


def check_parameters(model) -> None:
    """FloatingPointError if any parameter (or last output) holds inf or nan."""
    found = non_finite(model)
    if found is not None:
        raise FloatingPointError(found)


def finite(model, key: str, array, dtype: np.dtype, prefix: str = "") -> np.ndarray:
    """``array`` converted to ``dtype``; a ValueError naming the layer and parameter if not finite."""
    with np.errstate(over="ignore"):                 # 1e300 -> float32 is inf: reported below
        array = np.asarray(array).astype(dtype, copy=False)
    if not np.isfinite(array).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        layer = model.layers[int(key.split(".")[0].removeprefix("layer"))]
        raise ValueError(f"{prefix}{key} ({type(layer).__name__}) must be finite, "
                         f"got {array[bad]} at index {bad}")
    return array
