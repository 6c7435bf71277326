"""The checks at dlfs's doors; each error names the argument, what was expected and what came.

Generated from chapters/b-robustness.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['describe', 'check_count', 'check_real', 'check_float_dtype', 'check_pair', 'check_rng', 'SHAPES', 'ANY_BATCH', 'check_batch', 'check_finite', 'check_dvalues', 'class_indices', 'check_probabilities', 'check_same_shape', 'CALLBACK_HOOKS', 'check_callbacks']

# %% chapters/b-robustness.md cell 1
# dlfs.validation: the checks at dlfs's doors; each error names the argument,
# what was expected and what came.
import math
import numbers

import numpy as np


# %% chapters/b-robustness.md cell 3
def describe(value) -> str:
    """What came, for an error message: "an array of shape (10, 4)", "a tuple
    of 3 items", "str"."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def check_count(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (not a bool); otherwise
    a ValueError naming ``name``."""
    if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or value < 1):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# %% chapters/b-robustness.md cell 4
def check_real(name: str, value, *, above=None, at_least=None, below=None,
               at_most=None) -> float:
    """``value`` as a float: a finite real number (not a bool, not a string)
    within the bounds.

    ``above``/``below`` are strict bounds, ``at_least``/``at_most`` inclusive
    ones. A TypeError for what is not a number, a ValueError for a number out
    of bounds, both naming ``name``.
    """
    bounds = [(above, ">"), (at_least, ">="), (below, "<"), (at_most, "<=")]
    expected = " and ".join(f"{sign} {bound:g}" for bound, sign in bounds
                            if bound is not None)
    expected = f" {expected}" if expected else ""
    if (not isinstance(value, numbers.Real)
            or isinstance(value, (bool, np.bool_))):
        raise TypeError(f"{name} must be a real number{expected}, got "
                        f"{value!r} (a {type(value).__name__})")
    number = float(value)
    fits = math.isfinite(number) and all(
        bound is None
        or (number > bound if sign == ">" else
            number >= bound if sign == ">=" else
            number < bound if sign == "<" else
            number <= bound)
        for bound, sign in bounds)
    if not fits:
        raise ValueError(f"{name} must be a finite number{expected}, "
                         f"got {value!r}")
    return number


# %% chapters/b-robustness.md cell 6
def check_float_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype if it is a floating-point one; TypeError
    otherwise."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype such as "
                        f"np.float32, got {dtype.name}")
    return dtype


def check_pair(name: str, value, allow_zero: bool = False) -> tuple[int, int]:
    """An integer n as (n, n), or a pair (a, b) of integers, each >= 1 (>= 0
    with ``allow_zero``)."""
    least = 0 if allow_zero else 1
    is_int = (isinstance(value, numbers.Integral)
              and not isinstance(value, bool))
    items = (value, value) if is_int else value
    is_pair = (not isinstance(items, (str, bytes))
               and hasattr(items, "__len__") and len(items) == 2)
    if not is_pair or not all(
            isinstance(i, numbers.Integral) and not isinstance(i, bool)
            and i >= least for i in items):
        raise ValueError(f"{name} must be an integer >= {least} or a pair of "
                         f"them, got {value!r}")
    return int(items[0]), int(items[1])


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """``np.random.default_rng(rng)``: a seed, None or a Generator; a
    ValueError naming ``name`` otherwise."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be None, a seed (an integer >= 0) or a "
                         f"numpy Generator, got {rng!r} ({error})") from None


# %% chapters/b-robustness.md cell 9
SHAPES = {2: "(batch, features)", 3: "(batch, time, features)",
          4: "(batch, channels, height, width)"}
ANY_BATCH = "(batch, ...), the examples along axis 0"


def check_batch(inputs, name: str = "inputs", *, dtype=None,
                ndim: int | tuple[int, ...] | None = None,
                features: int | None = None,
                finite: bool = False) -> np.ndarray:
    """``inputs`` as an array (N, ...) of numbers with N >= 1, in ``dtype`` if
    given.

    ``ndim``: the number of axes expected, or a tuple of the numbers allowed;
    ``features``: the size of axis 1 (a row's features or an image's
    channels); ``finite``: also refuse inf and NaN (a pass over the values).
    Raises TypeError or ValueError naming ``name``, what was expected and
    what came.
    """
    try:
        array = np.asarray(inputs)
    except ValueError as error:         # nested lists of unequal lengths
        raise ValueError(f"{name} must be a rectangular array, got a ragged "
                         f"sequence ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype "
                        f"{array.dtype}")
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim < 2 or (ranks is not None and array.ndim not in ranks):
        expected = " or ".join(SHAPES.get(n, ANY_BATCH) for n in ranks or [0])
        if array.ndim == 1:
            hint = f" ({name}.reshape(1, -1) for one example)"
        elif ndim == 4:
            hint = (" (flat rows of pixels? reshape them with "
                    "X.reshape(-1, C, H, W))")
        else:
            hint = ""
        raise ValueError(f"{name} must have the shape {expected}, got shape "
                         f"{array.shape}{hint}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least one "
                         f"example, got shape {array.shape}")
    if features is not None and array.shape[1] != features:
        what = "features per row" if array.ndim == 2 else "channels (axis 1)"
        raise ValueError(f"{name} must have {features} {what}, got shape "
                         f"{array.shape}")
    original = array
    if dtype is not None and array.dtype != dtype:
        # with finite, an overflow is reported below
        with np.errstate(over="ignore" if finite else "warn"):
            array = array.astype(dtype)
    if finite:
        check_finite(array, name, original)
    return array


# %% chapters/b-robustness.md cell 10
def check_finite(array: np.ndarray, name: str,
                 original: np.ndarray | None = None) -> None:
    """ValueError naming ``name`` unless every entry of ``array`` is finite;
    ``original`` is the array before a conversion, to tell an overflow from an
    infinity that was there already."""
    # a NaN propagates into min and max
    if math.isfinite(array.min()) and math.isfinite(array.max()):
        return
    bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    where = (f"row {bad[0]}, column {bad[1]}" if len(bad) == 2
             else f"index {bad}")
    if original is not None and math.isfinite(original[bad]):
        raise ValueError(f"{name} overflows {array.dtype.name}: "
                         f"{original[bad].item()!r} at {where} is beyond "
                         f"±{np.finfo(array.dtype).max:.3g}")
    raise ValueError(f"{name} must be finite, got {array[bad]} at {where}")


# %% chapters/b-robustness.md cell 12
def check_dvalues(layer, dvalues) -> np.ndarray:
    """``dvalues`` as an array, after checking that ``layer.forward`` has run
    and that ``dvalues`` has the shape of ``layer.output``; RuntimeError or
    ValueError otherwise."""
    output = getattr(layer, "output", None)
    if output is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before "
                           "forward")
    dvalues = np.asarray(dvalues)
    if dvalues.shape != output.shape:
        raise ValueError(f"{type(layer).__name__}.backward: dvalues must have "
                         f"the output's shape {output.shape}, got "
                         f"{dvalues.shape}")
    return dvalues


# %% chapters/b-robustness.md cell 13
def class_indices(y_true, *shape: int, name: str = "y_true") -> np.ndarray:
    """Class indices for predictions of ``shape`` (N, C): integer labels (N,)
    or one-hot rows (N, C) -> (N,), checked. For sequences ``shape`` is
    (N, T, C): labels (N, T) or one-hot rows (N, T, C) -> (N, T).

    Raises TypeError or ValueError naming ``name``, what was expected and what
    came: float labels, the wrong number of labels, labels outside [0, C),
    rows that are not one-hot.
    """
    shape = tuple(int(n) for n in shape)
    positions, n_classes = shape[:-1], shape[-1]     # (N,) or (N, T), and C
    rows = len(positions) == 1
    y = np.asarray(y_true)
    if y.ndim == len(shape) and y.shape[-1] == 1 and n_classes != 1:
        raise ValueError(
            f"{name} has shape {y.shape}: pass integer labels as a "
            f"{len(positions)}-D array of shape {positions} "
            f"({'y.ravel()' if rows else 'y[..., 0]'}) or one-hot rows of "
            f"shape {shape}"
        )
    if y.ndim == len(shape):
        if y.shape != shape:
            raise ValueError(f"{name} as one-hot rows must have shape "
                             f"{shape}, got {y.shape}")
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} as one-hot rows must hold numbers 0 and "
                            f"1, got dtype {y.dtype}")
        is_one_hot = np.isin(y, (0, 1)).all(axis=-1) & (y.sum(axis=-1) == 1)
        if not is_one_hot.all():
            bad = np.unravel_index(np.argmin(is_one_hot), positions)
            row = int(bad[0]) if rows else tuple(int(i) for i in bad)
            raise ValueError(f"{name} one-hot rows must hold a single 1 and "
                             f"zeros elsewhere, row {row} is {y[bad]}")
        return y.argmax(axis=-1)
    if y.ndim != len(positions):
        forms = ("(N,) or one-hot rows (N, C)" if rows
                 else "(N, T) or one-hot rows (N, T, C)")
        raise ValueError(f"{name} must be integer labels {forms}, got shape "
                         f"{y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype "
                        f"{y.dtype} (convert with y.astype(int))")
    if rows and len(y) != positions[0]:
        raise ValueError(f"{name} has {len(y)} labels but the predictions "
                         f"have {positions[0]} rows")
    if y.shape != positions:
        raise ValueError(f"{name} has shape {y.shape} but the predictions "
                         f"have positions {positions}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{name} must hold class indices in "
                         f"[0, {n_classes - 1}], got values from {y.min()} "
                         f"to {y.max()}")
    return y


# %% chapters/b-robustness.md cell 16
def check_probabilities(y_pred, name: str = "y_pred") -> np.ndarray:
    """``y_pred`` as a float array (N, k) of probabilities in [0, 1], or
    (N, T, k) for sequences; integers become float64."""
    y_pred = check_batch(y_pred, name, ndim=(2, 3))
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float64)
    low, high = y_pred.min(), y_pred.max()
    if not (0 <= low and high <= 1):    # also catches NaN: both tests fail
        check_finite(y_pred, name)      # a NaN or an infinity: say where
        raise ValueError(f"{name} must hold probabilities in [0, 1] (the "
                         f"output of Softmax or Sigmoid), got values from "
                         f"{low:.4g} to {high:.4g}")
    return y_pred


def check_same_shape(y_pred, y_true,
                     finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (N, k) and numeric targets of exactly the same shape: no
    silent broadcasting."""
    y_pred = check_batch(y_pred, "y_pred", ndim=2, finite=finite)
    y_true = np.asarray(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true must have the shape of y_pred "
                         f"{y_pred.shape}, got {y_true.shape}")
    return y_pred, check_batch(y_true, "y_true", finite=finite)


# %% chapters/b-robustness.md cell 22
CALLBACK_HOOKS = ("set_model", "on_train_begin", "on_epoch_end",
                  "on_train_end")


def check_callbacks(callbacks) -> list:
    """``callbacks`` as a list of objects with Callback's hooks; a single one
    is wrapped in a list."""
    expected = "callbacks must be a list of Callback objects"
    if not isinstance(callbacks, (list, tuple)):
        if (isinstance(callbacks, (str, bytes))
                or not all(hasattr(callbacks, h) for h in CALLBACK_HOOKS)):
            raise TypeError(f"{expected}, got {describe(callbacks)}")
        callbacks = [callbacks]
    for callback in callbacks:
        if isinstance(callback, type):
            raise TypeError(f"{expected}, got the class {callback.__name__}: "
                            f"create one, {callback.__name__}(...)")
        missing = [hook for hook in CALLBACK_HOOKS
                   if not hasattr(callback, hook)]
        if missing:
            raise TypeError(f"{expected}, got an item of type "
                            f"{type(callback).__name__} (no {missing[0]})")
    return list(callbacks)
