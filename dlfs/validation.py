"""The checks at dlfs's doors; each error names the argument, what was expected and what came.

Generated from chapters/b-robustness.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['describe', 'check_count', 'check_real', 'check_float_dtype', 'check_pair', 'check_rng', 'SHAPES', 'check_batch', 'check_finite', 'check_dvalues', 'class_indices', 'check_probabilities', 'check_same_shape', 'CALLBACK_HOOKS', 'check_callbacks']

# %% chapters/b-robustness.md cell 1
# dlfs.validation: the checks at dlfs's doors; each error names the argument, what was expected and what came.
import math
import numbers

import numpy as np


# %% chapters/b-robustness.md cell 3
def describe(value) -> str:
    """What came, for an error message: "an array of shape (10, 4)", "a tuple of 3 items", "str"."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def check_count(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (not a bool); otherwise a ValueError naming ``name``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# %% chapters/b-robustness.md cell 4
def check_real(name: str, value, *, above=None, at_least=None, below=None, at_most=None) -> float:
    """``value`` as a float: a finite real number (not a bool, not a string) within the bounds.

    ``above``/``below`` are strict bounds, ``at_least``/``at_most`` inclusive ones. A TypeError
    for what is not a number, a ValueError for a number out of bounds, both naming ``name``.
    """
    bounds = [(above, ">"), (at_least, ">="), (below, "<"), (at_most, "<=")]
    expected = " and ".join(f"{sign} {bound:g}" for bound, sign in bounds if bound is not None)
    expected = f" {expected}" if expected else ""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number{expected}, got {value!r} (a {type(value).__name__})")
    number = float(value)
    fits = math.isfinite(number) and all(
        bound is None or (number > bound if sign == ">" else number >= bound if sign == ">="
                          else number < bound if sign == "<" else number <= bound)
        for bound, sign in bounds)
    if not fits:
        raise ValueError(f"{name} must be a finite number{expected}, got {value!r}")
    return number


# %% chapters/b-robustness.md cell 6
def check_float_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype if it is a floating-point one; TypeError otherwise."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype such as np.float32, got {dtype.name}")
    return dtype


def check_pair(name: str, value, allow_zero: bool = False) -> tuple[int, int]:
    """An integer n as (n, n), or a pair (a, b) of integers, each >= 1 (>= 0 with ``allow_zero``)."""
    least = 0 if allow_zero else 1
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    items = (value, value) if is_int else value
    if (isinstance(items, (str, bytes)) or not hasattr(items, "__len__") or len(items) != 2
            or not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= least for i in items)):
        raise ValueError(f"{name} must be an integer >= {least} or a pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """``np.random.default_rng(rng)``: a seed, None or a Generator; a ValueError naming ``name`` otherwise."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be None, a seed (an integer >= 0) or a numpy Generator, "
                         f"got {rng!r} ({error})") from None


# %% chapters/b-robustness.md cell 9
SHAPES = {2: "(batch, features)", 4: "(batch, channels, height, width)"}


def check_batch(inputs, name: str = "inputs", *, dtype=None, ndim: int | None = None,
                features: int | None = None, finite: bool = False) -> np.ndarray:
    """``inputs`` as an array (N, ...) of numbers with N >= 1, in ``dtype`` if given.

    ``ndim``: the number of axes expected; ``features``: the size of axis 1 (a row's features or
    an image's channels); ``finite``: also refuse inf and NaN (a pass over the values). Raises
    TypeError or ValueError naming ``name``, what was expected and what came.
    """
    try:
        array = np.asarray(inputs)
    except ValueError as error:                     # nested lists of unequal lengths
        raise ValueError(f"{name} must be a rectangular array, got a ragged sequence ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    if array.ndim < 2 or (ndim is not None and array.ndim != ndim):
        expected = SHAPES.get(ndim, "(batch, ...), the examples along axis 0")
        hint = (f" ({name}.reshape(1, -1) for one example)" if array.ndim == 1 else
                " (flat rows of pixels? reshape them with X.reshape(-1, C, H, W))" if ndim == 4 else "")
        raise ValueError(f"{name} must have the shape {expected}, got shape {array.shape}{hint}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least one example, got shape {array.shape}")
    if features is not None and array.shape[1] != features:
        what = "features per row" if array.ndim == 2 else "channels (axis 1)"
        raise ValueError(f"{name} must have {features} {what}, got shape {array.shape}")
    original = array
    if dtype is not None and array.dtype != dtype:
        with np.errstate(over="ignore" if finite else "warn"):   # with finite, reported below
            array = array.astype(dtype)
    if finite:
        check_finite(array, name, original)
    return array


def check_finite(array: np.ndarray, name: str, original: np.ndarray | None = None) -> None:
    """ValueError naming ``name`` unless every entry of ``array`` is finite; ``original`` is the
    array before a conversion, to tell an overflow from an infinity that was there already."""
    if math.isfinite(array.min()) and math.isfinite(array.max()):      # NaN propagates
        return
    bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    where = f"row {bad[0]}, column {bad[1]}" if len(bad) == 2 else f"index {bad}"
    if original is not None and math.isfinite(original[bad]):
        raise ValueError(f"{name} overflows {array.dtype.name}: {original[bad].item()!r} at {where} is beyond "
                         f"±{np.finfo(array.dtype).max:.3g}")
    raise ValueError(f"{name} must be finite, got {array[bad]} at {where}")


# %% chapters/b-robustness.md cell 11
def check_dvalues(layer, dvalues) -> np.ndarray:
    """``dvalues`` as an array, after checking that ``layer.forward`` has run and that ``dvalues``
    has the shape of ``layer.output``; RuntimeError or ValueError otherwise."""
    output = getattr(layer, "output", None)
    if output is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")
    dvalues = np.asarray(dvalues)
    if dvalues.shape != output.shape:
        raise ValueError(f"{type(layer).__name__}.backward: dvalues must have the output's shape "
                         f"{output.shape}, got {dvalues.shape}")
    return dvalues


# %% chapters/b-robustness.md cell 12
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


# %% chapters/b-robustness.md cell 14
def check_probabilities(y_pred, name: str = "y_pred") -> np.ndarray:
    """``y_pred`` as a float array (N, k) of probabilities in [0, 1]; integers become float64."""
    y_pred = check_batch(y_pred, name, ndim=2)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float64)
    low, high = y_pred.min(), y_pred.max()
    if not (0 <= low and high <= 1):              # also catches NaN, for which both tests fail
        check_finite(y_pred, name)                # a NaN or an infinity: say where it is
        raise ValueError(f"{name} must hold probabilities in [0, 1] (the output of Softmax or Sigmoid), "
                         f"got values from {low:.4g} to {high:.4g}")
    return y_pred


def check_same_shape(y_pred, y_true, finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (N, k) and numeric targets of exactly the same shape: no silent broadcasting."""
    y_pred = check_batch(y_pred, "y_pred", ndim=2, finite=finite)
    y_true = np.asarray(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true must have the shape of y_pred {y_pred.shape}, got {y_true.shape}")
    return y_pred, check_batch(y_true, "y_true", finite=finite)


# %% chapters/b-robustness.md cell 20
CALLBACK_HOOKS = ("set_model", "on_train_begin", "on_epoch_end", "on_train_end")


def check_callbacks(callbacks) -> list:
    """``callbacks`` as a list of objects with Callback's hooks; a single one is wrapped in a list."""
    expected = "callbacks must be a list of Callback objects"
    if not isinstance(callbacks, (list, tuple)):
        if isinstance(callbacks, (str, bytes)) or not all(hasattr(callbacks, h) for h in CALLBACK_HOOKS):
            raise TypeError(f"{expected}, got {describe(callbacks)}")
        callbacks = [callbacks]
    for callback in callbacks:
        if isinstance(callback, type):
            raise TypeError(f"{expected}, got the class {callback.__name__}: create one, {callback.__name__}(...)")
        missing = [hook for hook in CALLBACK_HOOKS if not hasattr(callback, hook)]
        if missing:
            raise TypeError(f"{expected}, got an item of type {type(callback).__name__} (no {missing[0]})")
    return list(callbacks)
