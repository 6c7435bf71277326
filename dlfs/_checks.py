"""The dense layer; Activation functions; Loss functions; Optimizers.

Generated from chapters/01-dense-layer.md, chapters/03-activations.md, chapters/04-losses.md, chapters/05-optimizers.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['check_inputs', 'check_count', 'as_float_array', 'check_dvalues', 'check_probabilities', 'check_eps', 'check_same_shape', 'class_indices', 'check_positive', 'check_fraction']

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


# %% chapters/03-activations.md cell 7
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


def check_eps(eps: float) -> float:
    """The clipping margin of a cross-entropy: probabilities are kept in [eps, 1 - eps]."""
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps!r}")
    return eps


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


# %% chapters/05-optimizers.md cell 6
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
