"""Dlfs._checks gathers the input checks of every chapter: internal, not part of the public API.

Generated from chapters/01-dense-layer.md, chapters/03-activations.md, chapters/04-losses.md, chapters/05-optimizers.md, chapters/06-training-loop.md, chapters/09-convolution.md, chapters/10-normalization.md, chapters/11-autograd.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['check_inputs', 'check_count', 'check_float_dtype', 'as_float_array', 'check_dvalues', 'check_probabilities', 'check_epsilon', 'check_same_shape', 'class_indices', 'check_positive', 'check_fraction', 'as_batch', 'check_pair', 'check_images', 'check_fits', 'check_channels', 'check_unit_interval', 'check_seed_gradient', 'check_max_axis', 'check_clip_bounds', 'check_parameter_tensors']

# %% chapters/01-dense-layer.md cell 7
# dlfs._checks gathers the input checks of every chapter: internal, not part of the public API.
import math

import numpy as np


# %% chapters/01-dense-layer.md cell 8
def check_inputs(inputs, n_features: int | None = None, name: str = "inputs", dtype=None,
                 finite: bool = True) -> np.ndarray:
    """Return ``inputs`` as a finite 2-D array of shape (N, n_features), N >= 1.

    ``dtype`` converts the array (without a copy when it already has that dtype).
    ``finite=False`` skips the finiteness test, for callers that test a stronger condition.
    Raises ValueError or TypeError naming ``name``, what was expected and what came.
    """
    array = np.asarray(inputs)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (batch, features), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least one row, got shape {array.shape}")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} features per row, got shape {array.shape}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if finite and not (math.isfinite(array.min()) and math.isfinite(array.max())):   # NaN propagates
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name} must be finite, got {array[tuple(bad)]} at row {bad[0]}, column {bad[1]}")
    return array


def check_count(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (not a bool); otherwise a ValueError naming ``name``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_float_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype if it is a floating-point one; TypeError otherwise."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype such as np.float32, got {dtype.name}")
    return dtype


# %% chapters/03-activations.md cell 8
def as_float_array(inputs) -> np.ndarray:
    """``inputs`` as an array: floating dtypes are kept, anything else (integers, bools) becomes float64."""
    array = np.asarray(inputs)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def check_dvalues(layer: "Layer", dvalues: np.ndarray) -> np.ndarray:
    """Return ``dvalues`` as an array after checking that ``layer.forward`` has run and that
    ``dvalues`` has the shape of ``layer.output``; raise RuntimeError or ValueError otherwise."""
    output = getattr(layer, "output", None)
    if output is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")
    dvalues = np.asarray(dvalues)
    if dvalues.shape != output.shape:
        raise ValueError(
            f"{type(layer).__name__}.backward: dvalues must have the output's shape {output.shape}, "
            f"got {dvalues.shape}"
        )
    return dvalues


# %% chapters/04-losses.md cell 4
def check_probabilities(y_pred, name: str = "y_pred") -> np.ndarray:
    """``y_pred`` as a finite float array (N, k) of probabilities in [0, 1]; integers become float64."""
    y_pred = check_inputs(y_pred, name=name, finite=False)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float64)
    low, high = y_pred.min(), y_pred.max()
    if not (0 <= low and high <= 1):              # also catches NaN, for which both tests fail
        check_inputs(y_pred, name=name)           # a NaN or an infinity: say where it is
        raise ValueError(
            f"{name} must hold probabilities in [0, 1] (the output of Softmax or Sigmoid), "
            f"got values from {low:.4g} to {high:.4g}"
        )
    return y_pred


def check_epsilon(epsilon: float) -> float:
    """The clipping margin of a cross-entropy: probabilities are kept in [epsilon, 1 - epsilon]."""
    if not 0 < epsilon < 0.5:
        raise ValueError(f"epsilon must be in (0, 0.5), got {epsilon!r}")
    return epsilon


def check_same_shape(y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (N, k) and finite numeric targets of exactly the same shape: no silent broadcasting."""
    y_pred = check_inputs(y_pred, name="y_pred")
    y_true = np.asarray(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true must have the shape of y_pred {y_pred.shape}, got {y_true.shape}")
    return y_pred, check_inputs(y_true, name="y_true")


# %% chapters/04-losses.md cell 7
def class_indices(y_true, n_samples: int, n_classes: int, name: str = "y_true") -> np.ndarray:
    """Integer labels (N,) or one-hot rows (N, C) -> class indices (N,), checked.

    Raises TypeError or ValueError naming ``name``, what was expected and what came:
    float labels, the wrong number of labels, labels outside [0, C), rows that are not one-hot.
    """
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1 and n_classes != 1:
        raise ValueError(
            f"{name} has shape {y.shape}: pass integer labels as a 1-D array of shape ({n_samples},) "
            f"(y.ravel()) or one-hot rows of shape ({n_samples}, {n_classes})"
        )
    if y.ndim == 2:
        if y.shape != (n_samples, n_classes):
            raise ValueError(f"{name} as one-hot rows must have shape ({n_samples}, {n_classes}), got {y.shape}")
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} as one-hot rows must hold numbers 0 and 1, got dtype {y.dtype}")
        is_one_hot = np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)
        if not is_one_hot.all():
            row = int(np.argmin(is_one_hot))
            raise ValueError(f"{name} one-hot rows must hold a single 1 and zeros elsewhere, row {row} is {y[row]}")
        return y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"{name} must be integer labels (N,) or one-hot rows (N, C), got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype} (convert with y.astype(int))")
    if len(y) != n_samples:
        raise ValueError(f"{name} has {len(y)} labels but the predictions have {n_samples} rows")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{name} must hold class indices in [0, {n_classes - 1}], got values from {y.min()} to {y.max()}")
    return y


# %% chapters/05-optimizers.md cell 7
def _as_float(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """``value`` as a float if it is finite and > 0 (or >= 0); otherwise a ValueError naming ``name``."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def check_fraction(name: str, value: float) -> float:
    """``value`` as a float if it lies in [0, 1); otherwise a ValueError naming ``name``."""
    number = _as_float(name, value)
    if not 0 <= number < 1:  # also false for NaN
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return number


# %% chapters/06-training-loop.md cell 19
def as_batch(inputs, name: str = "X", dtype=None) -> np.ndarray:
    """``inputs`` as a finite array of ``dtype`` with the batch axis first: (N, ...), N >= 1.

    Any number of axes after the first (features, or channels, height and width): the first
    layer checks the shape it takes. Raises TypeError or ValueError naming ``name``; a value
    too large for ``dtype`` is reported as an overflow, not as an inf that was never there.
    """
    try:
        array = np.asarray(inputs)
    except ValueError as error:                     # nested lists of unequal lengths
        raise ValueError(f"{name} must be a rectangular array, got a ragged sequence ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    if array.ndim < 2:
        hint = f" ({name}.reshape(1, -1) for one example)" if array.ndim == 1 else ""
        raise ValueError(f"{name} must be a batch with the examples along axis 0, such as (N, features), "
                         f"got shape {array.shape}{hint}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least one row, got shape {array.shape}")
    with np.errstate(over="ignore"):
        converted = array if dtype is None else array.astype(dtype, copy=False)
    if not (math.isfinite(converted.min()) and math.isfinite(converted.max())):   # NaN propagates
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        where = f"row {bad[0]}, column {bad[1]}" if len(bad) == 2 else f"index {bad}"
        if math.isfinite(array[bad]):
            raise ValueError(f"{name} overflows {converted.dtype.name}: {array[bad].item()!r} at {where} is beyond "
                             f"±{np.finfo(converted.dtype).max:.3g}; scale the inputs")
        raise ValueError(f"{name} must be finite, got {array[bad]} at {where}")
    return converted


# %% chapters/09-convolution.md cell 3
def check_pair(name: str, value, allow_zero: bool = False) -> tuple[int, int]:
    """An integer n as (n, n), or a pair (a, b) of integers, each >= 1 (>= 0 with ``allow_zero``).

    Raises ValueError naming ``name`` otherwise (bools, floats, strings and other lengths included).
    """
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    items = (value, value) if is_int else value
    least = 0 if allow_zero else 1
    expected = f"an integer >= {least} or a pair of them"
    if isinstance(items, (str, bytes)) or not hasattr(items, "__len__") or len(items) != 2:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    for item in items:
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool) or item < least:
            raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(items[0]), int(items[1])


# %% chapters/09-convolution.md cell 10
def check_images(inputs, n_channels: int | None = None, name: str = "inputs", dtype=None) -> np.ndarray:
    """``inputs`` as a finite 4-D array (N, C, H, W) with N >= 1 (and C == n_channels when given).

    ``dtype`` converts the array (no copy when it already has that dtype), as ``as_batch`` does.
    Raises TypeError or ValueError naming ``name``, what was expected and what came.
    """
    array = as_batch(inputs, name, dtype)
    if array.ndim != 4:
        hint = " (flat rows of pixels? reshape them with X.reshape(-1, C, H, W))" if array.ndim == 2 else ""
        raise ValueError(f"{name} must be 4-D with shape (batch, channels, height, width), "
                         f"got shape {array.shape}{hint}")
    if n_channels is not None and array.shape[1] != n_channels:
        raise ValueError(f"{name} must have {n_channels} channels (axis 1), got shape {array.shape}")
    return array


def check_fits(shape: tuple, window: tuple[int, int], padding: tuple[int, int] = (0, 0),
               what: str = "kernel", name: str = "inputs") -> None:
    """ValueError naming ``name`` unless a (rows, columns) ``window`` fits images of ``shape``
    (N, C, H, W) padded by ``padding`` on each side."""
    height, width = shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]
    if height < window[0] or width < window[1]:
        padded = f" (with padding {padding}, {height} x {width})" if any(padding) else ""
        raise ValueError(f"{name} of shape {shape}{padded} are smaller than the {what} {window[0]} x {window[1]}")


# %% chapters/10-normalization.md cell 21
def check_channels(inputs, n_channels: int, name: str = "inputs", dtype=None, finite: bool = True) -> np.ndarray:
    """``inputs`` as an array (N, C, ...) with N >= 1 and C = ``n_channels`` along axis 1.

    ``dtype`` converts it; ``finite=False`` skips the test for inf and NaN. Raises ValueError or
    TypeError naming ``name``, what was expected and what came.
    """
    array = np.asarray(inputs)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    if array.ndim < 2:
        raise ValueError(f"{name} must have a batch axis and a channel axis, (N, {n_channels}) or "
                         f"(N, {n_channels}, H, W), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least one example, got shape {array.shape}")
    if array.shape[1] != n_channels:
        raise ValueError(f"{name} must have {n_channels} channels along axis 1, got shape {array.shape}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if finite and not np.isfinite(array).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} must be finite, got {array[bad]} at index {bad}")
    return array


def check_unit_interval(name: str, value: float) -> float:
    """``value`` as a float if it lies in [0, 1]; otherwise a ValueError naming ``name``."""
    number = check_positive(name, value, allow_zero=True)
    if number > 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return number


# %% chapters/11-autograd.md cell 12
def check_seed_gradient(tensor, gradient) -> np.ndarray:
    """The gradient that starts ``tensor.backward``: ones for one element, else ``gradient``, copied.

    RuntimeError when the tensor needs no gradient or has several elements and no ``gradient``;
    ValueError when ``gradient`` has another shape than the tensor.
    """
    if not tensor.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad: create the leaves with "
                           "requires_grad=True")
    if gradient is None:
        if tensor.data.size != 1:
            raise RuntimeError(f"backward() without a gradient works for one element only; this tensor has "
                               f"shape {tensor.shape}: pass gradient= of that shape, or reduce it first (.sum())")
        return np.ones_like(tensor.data)
    gradient = np.array(gradient, dtype=tensor.dtype)    # a copy: the caller's array stays its own
    if gradient.shape != tensor.shape:
        raise ValueError(f"gradient must have the tensor's shape {tensor.shape}, got {gradient.shape}")
    return gradient


def check_max_axis(axis, ndim: int):
    """``axis`` for max: None (every element) or one int in [-ndim, ndim); TypeError or ValueError otherwise."""
    if axis is None:
        return None
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"max takes one axis (an int) or None, got {axis!r}; for several axes, "
                        "reshape first")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for a tensor with {ndim} dimensions")
    return int(axis)


def check_clip_bounds(low, high) -> None:
    """At least one bound for clip, and low <= high when both are given."""
    if low is None and high is None:
        raise ValueError("clip needs min, max or both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"clip needs min <= max, got min={low} and max={high}")


def check_parameter_tensors(tensors: dict) -> dict:
    """Named leaf tensors that require grad, each at most once (an optimizer must update it once)."""
    if not tensors:
        raise ValueError("Parameters needs at least one tensor, given by name: Parameters(W=W, b=b)")
    seen = {}
    for name, tensor in tensors.items():
        if not getattr(tensor, "requires_grad", False) or getattr(tensor, "_parents", None) != ():
            raise TypeError(f"{name} must be a leaf Tensor with requires_grad=True, got {tensor!r}")
        if id(tensor) in seen:
            raise ValueError(f"{name} and {seen[id(tensor)]} are the same tensor: name a shared "
                             "tensor once, or the optimizer would update it twice")
        seen[id(tensor)] = name
    return tensors
