"""Loss functions.

Generated from chapters/04-losses.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['class_indices', 'Loss', 'check_same_shape', 'CategoricalCrossEntropy', 'softmax_cross_entropy_backward', 'BinaryCrossEntropy', 'MeanSquaredError', 'accuracy']

import numpy as np

from dlfs.layers import check_inputs


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
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise ValueError(f"{name} one-hot rows must hold a single 1 and zeros elsewhere")
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


class Loss:
    """A loss compares predictions with targets.

    ``forward(y_pred, y_true)`` gives one loss per example, shape (N,); ``calculate`` their mean,
    the number training minimises; ``backward(y_pred, y_true)`` the gradient of that mean with
    respect to ``y_pred``, shaped like ``y_pred`` and stored as ``self.dinputs``.
    """

    def forward(self, y_pred: np.ndarray, y_true) -> np.ndarray:
        raise NotImplementedError

    def backward(self, y_pred: np.ndarray, y_true) -> np.ndarray:
        raise NotImplementedError

    def calculate(self, y_pred: np.ndarray, y_true) -> float:
        """The mean loss over the batch, a Python float."""
        return float(np.mean(self.forward(y_pred, y_true)))

    def get_config(self) -> dict:
        return {}


def check_same_shape(y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (N, k) and targets of exactly the same shape: no silent broadcasting."""
    y_pred = check_inputs(y_pred, name="y_pred")
    y_true = np.asarray(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true must have the shape of y_pred {y_pred.shape}, got {y_true.shape}")
    return y_pred, y_true


class CategoricalCrossEntropy(Loss):
    """``-log(p[true class])`` for probabilities (N, C) and integer labels (N,) or one-hot (N, C).

    Probabilities are clipped to [eps, 1 - eps], so 0 and 1 give finite losses and gradients.
    """

    def __init__(self, eps: float = 1e-7):
        self.eps = eps

    def _true_class_probabilities(self, y_pred, y_true):
        y_pred = check_inputs(y_pred, name="y_pred")
        labels = class_indices(y_true, *y_pred.shape)
        rows = np.arange(len(labels))
        return y_pred, rows, labels, np.clip(y_pred[rows, labels], self.eps, 1 - self.eps)

    def forward(self, y_pred, y_true) -> np.ndarray:
        _, _, _, p = self._true_class_probabilities(y_pred, y_true)
        return -np.log(p)

    def backward(self, y_pred, y_true) -> np.ndarray:
        y_pred, rows, labels, p = self._true_class_probabilities(y_pred, y_true)
        self.dinputs = np.zeros_like(y_pred)
        self.dinputs[rows, labels] = -1 / (p * len(labels))
        return self.dinputs

    def get_config(self) -> dict:
        return {"eps": self.eps}


def softmax_cross_entropy_backward(probs: np.ndarray, y_true) -> np.ndarray:
    """dL/d(scores) of the mean cross-entropy of softmax(scores): ``(probs - Y) / N``, shape (N, C)."""
    labels = class_indices(y_true, *probs.shape)
    dinputs = probs.copy()
    dinputs[np.arange(len(labels)), labels] -= 1
    dinputs /= len(labels)
    return dinputs


class BinaryCrossEntropy(Loss):
    """``-(y log p + (1 - y) log(1 - p))`` averaged over the k outputs; y_pred and y_true (N, k)."""

    def __init__(self, eps: float = 1e-7):
        self.eps = eps

    def forward(self, y_pred, y_true) -> np.ndarray:
        y_pred, y_true = check_same_shape(y_pred, y_true)
        p = np.clip(y_pred, self.eps, 1 - self.eps)
        return -np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p), axis=1)

    def backward(self, y_pred, y_true) -> np.ndarray:
        y_pred, y_true = check_same_shape(y_pred, y_true)
        p = np.clip(y_pred, self.eps, 1 - self.eps)
        self.dinputs = (-(y_true / p - (1 - y_true) / (1 - p)) / y_pred.size).astype(y_pred.dtype, copy=False)
        return self.dinputs

    def get_config(self) -> dict:
        return {"eps": self.eps}


class MeanSquaredError(Loss):
    """``mean((y - p)**2)`` over the k outputs; y_pred and y_true (N, k)."""

    def forward(self, y_pred, y_true) -> np.ndarray:
        y_pred, y_true = check_same_shape(y_pred, y_true)
        return np.mean((y_true - y_pred) ** 2, axis=1)

    def backward(self, y_pred, y_true) -> np.ndarray:
        y_pred, y_true = check_same_shape(y_pred, y_true)
        self.dinputs = (-2 * (y_true - y_pred) / y_pred.size).astype(y_pred.dtype, copy=False)
        return self.dinputs


def accuracy(y_pred: np.ndarray, y_true) -> float:
    """Fraction of correct predictions.

    Class probabilities (N, C) with integer or one-hot labels: the arg-max is the prediction.
    A single probability column (N, 1) with 0/1 targets (N, 1): the prediction is ``p > 0.5``.
    """
    y_pred = check_inputs(y_pred, name="y_pred")
    if y_pred.shape[1] == 1:
        _, y_true = check_same_shape(y_pred, y_true)
        return float(np.mean((y_pred > 0.5) == (y_true > 0.5)))
    return float(np.mean(y_pred.argmax(axis=1) == class_indices(y_true, *y_pred.shape)))
