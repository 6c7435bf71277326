"""Cross-entropies, squared error and accuracy.

Generated from chapters/04-losses.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Loss', 'CategoricalCrossEntropy', 'softmax_cross_entropy_backward', 'BinaryCrossEntropy', 'sigmoid_binary_cross_entropy_backward', 'MeanSquaredError', 'accuracy', 'binary_accuracy']

# %% chapters/04-losses.md cell 1
# dlfs.losses: cross-entropies, squared error and accuracy.
import numpy as np

from dlfs.activations import Sigmoid, Softmax
from dlfs.validation import (check_batch, check_probabilities, check_real,
                             check_same_shape, class_indices)


# %% chapters/04-losses.md cell 3
class Loss:
    """A loss compares predictions with targets.

    ``forward(y_pred, y_true)`` gives one loss per example, shape (N,) (or
    per position, (N, T), for sequences); ``calculate`` their mean, the
    number training minimises;
    ``backward(y_pred, y_true)`` the gradient of that mean with respect to
    ``y_pred``, shaped like ``y_pred`` and stored as ``self.dinputs``. Each
    checks its arguments with ``check`` unless told ``check_input=False``
    (targets as ``check`` returns them).
    """

    def check(self, y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and targets, checked, in the form the arithmetic
        uses: here (N, k) both."""
        return check_same_shape(y_pred, y_true)

    def _checked(self, y_pred, y_true,
                 check_input: bool) -> tuple[np.ndarray, np.ndarray]:
        return self.check(y_pred, y_true) if check_input else (y_pred, y_true)

    def forward(self, y_pred: np.ndarray, y_true,
                check_input: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, y_pred: np.ndarray, y_true,
                 check_input: bool = True) -> np.ndarray:
        raise NotImplementedError

    def calculate(self, y_pred: np.ndarray, y_true,
                  check_input: bool = True) -> float:
        """The mean loss over the batch (over every position of sequences),
        a Python float."""
        losses = self.forward(y_pred, y_true, check_input)
        # np.mean would do the same, with more overhead
        return float(losses.sum() / losses.size)

    def __call__(self, y_pred: np.ndarray, y_true) -> float:
        """``loss(y_pred, y_true)``: the mean loss, as in PyTorch and Keras."""
        return self.calculate(y_pred, y_true)

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this loss."""
        return {}

    # What a model asks of its loss; each subclass answers for itself.

    # The score that fit reports beside the loss, if any.
    metric_name: str | None = None

    def metric(self, y_pred: np.ndarray, y_true,
               check_input: bool = True) -> float:
        raise NotImplementedError(f"{type(self).__name__} has no metric")

    def fuses_with(self, layer) -> bool:
        """Whether ``fused_backward`` may stand for this loss's and
        ``layer``'s backward passes."""
        return False

    def fused_backward(self, y_pred: np.ndarray, y_true,
                       check_input: bool = True) -> np.ndarray:
        """dL/d(the last layer's inputs) in one step (see ``fuses_with``)."""
        raise NotImplementedError

    def check_targets(self, y_true, n_outputs: int,
                      name: str = "y") -> np.ndarray:
        """The targets of a data set with ``n_outputs`` outputs per example,
        checked, in the form ``check`` gives them; by default finite and
        shaped like the outputs, (N, n_outputs)."""
        if np.ndim(y_true) == 1 and n_outputs == 1:
            raise ValueError(
                f"{name} must have the shape (N, 1) of the outputs, got shape "
                f"{np.shape(y_true)} (reshape them with .reshape(-1, 1))")
        return check_batch(y_true, name, ndim=2, features=n_outputs,
                           finite=True)


# %% chapters/04-losses.md cell 6
def _true_class_index(labels) -> tuple[np.ndarray, ...]:
    """The index that picks each true class out of probabilities: for
    labels (N,), ``(rows, labels)`` reads Y[i, labels[i]]; for labels
    (N, T), Y[i, t, labels[i, t]]."""
    labels = np.asarray(labels)
    return (*np.indices(labels.shape, sparse=True), labels)


class CategoricalCrossEntropy(Loss):
    """``-log(p[true class])`` for probabilities (N, C) and integer labels
    (N,) or one-hot rows (N, C); for sequences, probabilities (N, T, C) and
    labels (N, T) or one-hot rows (N, T, C), averaged over all N * T
    positions.

    Probabilities are clipped to [epsilon, 1 - epsilon], so 0 and 1 give
    finite losses and gradients.
    """

    def __init__(self, epsilon: float = 1e-7):
        self.epsilon = check_real("epsilon", epsilon, above=0, below=0.5)

    def check(self, y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (N, C) and class indices (N,), from integer labels
        or one-hot rows."""
        y_pred = check_probabilities(y_pred)
        return y_pred, class_indices(y_true, *y_pred.shape)

    def _true_class_probabilities(
            self, y_pred, labels) -> tuple[tuple, np.ndarray]:
        """The index of each true class in ``y_pred``, and the true classes'
        clipped probabilities, shaped like ``labels``."""
        where = _true_class_index(labels)
        p = y_pred[where]
        return where, np.clip(p, self.epsilon, 1 - self.epsilon)

    def forward(self, y_pred, y_true, check_input: bool = True) -> np.ndarray:
        """Per-example losses (N,), or per-position losses (N, T)."""
        y_pred, labels = self._checked(y_pred, y_true, check_input)
        return -np.log(self._true_class_probabilities(y_pred, labels)[1])

    def backward(self, y_pred, y_true, check_input: bool = True) -> np.ndarray:
        """dL/d(y_pred) (N, C): -1 / (N p) at each true class, 0 elsewhere
        (-1 / (N T p) for sequences (N, T, C))."""
        y_pred, labels = self._checked(y_pred, y_true, check_input)
        where, p = self._true_class_probabilities(y_pred, labels)
        self.dinputs = np.zeros_like(y_pred)
        self.dinputs[where] = -1 / (p * p.size)
        return self.dinputs

    def check_targets(self, y_true, n_outputs,
                      name: str = "y") -> np.ndarray:
        """Integer labels (N,) in [0, n_outputs) or one-hot rows
        (N, n_outputs), as class indices; for sequences ``n_outputs`` is an
        example's output shape (T, C), and the labels are (N, T) or one-hot
        (N, T, C)."""
        shape = (n_outputs,) if np.ndim(n_outputs) == 0 else tuple(n_outputs)
        return class_indices(y_true, len(y_true), *shape, name=name)

    def get_config(self) -> dict:
        return {"epsilon": self.epsilon}

    # %% chapters/04-losses.md cell 11
    def fuses_with(self, layer) -> bool:
        """After a ``Softmax``, ``fused_backward`` gives dL/d(scores) directly."""
        return isinstance(layer, Softmax)

    # %% chapters/04-losses.md cell 11
    def fused_backward(self, probs: np.ndarray, y_true,
                       check_input: bool = True) -> np.ndarray:
        return softmax_cross_entropy_backward(probs, y_true, check_input)

    # %% chapters/04-losses.md cell 24
    def metric(self, y_pred: np.ndarray, y_true,
               check_input: bool = True) -> float:
        return accuracy(y_pred, y_true, check_input)


# %% chapters/04-losses.md cell 11
def softmax_cross_entropy_backward(probs: np.ndarray, y_true,
                                   check_input: bool = True) -> np.ndarray:
    """dL/d(scores) of the mean cross-entropy of softmax(scores):
    ``(probs - Y) / N``, shape (N, C); for sequences (N, T, C),
    ``(probs - Y) / (N T)``.

    ``probs`` (N, C) is the softmax output; ``y_true`` integer labels (N,)
    or one-hot rows (N, C) (class indices only, with ``check_input=False``);
    for sequences, probs (N, T, C) and labels (N, T) or one-hot (N, T, C).
    """
    if check_input:
        probs = check_probabilities(probs, name="probs")
        y_true = class_indices(y_true, *probs.shape)
    labels = y_true
    dinputs = probs.copy()
    dinputs[_true_class_index(labels)] -= 1
    dinputs /= np.size(labels)
    return dinputs


# %% chapters/04-losses.md cell 14
def _check_binary(y_pred, y_true,
                  name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (N, k) and targets in [0, 1] of exactly the same shape,
    checked."""
    y_pred = check_probabilities(y_pred, name=name)
    y_pred, y_true = check_same_shape(y_pred, y_true)
    _check_unit_targets(y_true, "y_true")
    return y_pred, y_true


def _check_unit_targets(y_true: np.ndarray, name: str) -> None:
    if y_true.min() < 0 or y_true.max() > 1:
        raise ValueError(f"{name} must hold targets in [0, 1], got values "
                         f"from {y_true.min()} to {y_true.max()}")


class BinaryCrossEntropy(Loss):
    """``-(y log p + (1 - y) log(1 - p))`` averaged over the k outputs;
    y_pred and y_true (N, k).

    Probabilities are clipped to [epsilon, 1 - epsilon], so 0 and 1 give
    finite losses and gradients.
    """

    def __init__(self, epsilon: float = 1e-7):
        self.epsilon = check_real("epsilon", epsilon, above=0, below=0.5)

    def check(self, y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (N, k) and targets (N, k) in [0, 1]."""
        return _check_binary(y_pred, y_true)

    def forward(self, y_pred, y_true, check_input: bool = True) -> np.ndarray:
        """Per-example losses (N,)."""
        y_pred, y_true = self._checked(y_pred, y_true, check_input)
        p = np.clip(y_pred, self.epsilon, 1 - self.epsilon)
        return -np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p),
                        axis=1)

    def backward(self, y_pred, y_true, check_input: bool = True) -> np.ndarray:
        """dL/d(y_pred) (N, k)."""
        y_pred, y_true = self._checked(y_pred, y_true, check_input)
        p = np.clip(y_pred, self.epsilon, 1 - self.epsilon)
        gradient = -(y_true / p - (1 - y_true) / (1 - p)) / p.size
        self.dinputs = gradient.astype(p.dtype, copy=False)
        return self.dinputs

    def get_config(self) -> dict:
        return {"epsilon": self.epsilon}

    def check_targets(self, y_true, n_outputs: int,
                      name: str = "y") -> np.ndarray:
        """Targets shaped like the outputs, (N, k), each in [0, 1]."""
        y_true = super().check_targets(y_true, n_outputs, name)
        _check_unit_targets(y_true, name)
        return y_true

    # %% chapters/04-losses.md cell 16
    def fuses_with(self, layer) -> bool:
        """After a ``Sigmoid``, ``fused_backward`` gives dL/d(scores) directly."""
        return isinstance(layer, Sigmoid)

    # %% chapters/04-losses.md cell 16
    def fused_backward(self, probs: np.ndarray, y_true,
                       check_input: bool = True) -> np.ndarray:
        return sigmoid_binary_cross_entropy_backward(probs, y_true, check_input)

    # %% chapters/04-losses.md cell 24
    def metric(self, y_pred: np.ndarray, y_true,
               check_input: bool = True) -> float:
        return binary_accuracy(y_pred, y_true, check_input)


# %% chapters/04-losses.md cell 16
def sigmoid_binary_cross_entropy_backward(
    probs: np.ndarray, y_true, check_input: bool = True
) -> np.ndarray:
    """dL/d(scores) of the mean binary cross-entropy of sigmoid(scores):
    ``(probs - Y) / (N k)``.

    ``probs`` (N, k) is the sigmoid output; ``y_true`` targets in [0, 1] of
    the same shape (N, k).
    """
    if check_input:
        probs, y_true = _check_binary(probs, y_true, name="probs")
    return ((probs - y_true) / probs.size).astype(probs.dtype, copy=False)


# %% chapters/04-losses.md cell 18
class MeanSquaredError(Loss):
    """``mean((y - p)**2)`` over the k outputs; y_pred and y_true (N, k)."""

    def forward(self, y_pred, y_true, check_input: bool = True) -> np.ndarray:
        """Per-example losses (N,)."""
        y_pred, y_true = self._checked(y_pred, y_true, check_input)
        return np.mean((y_true - y_pred) ** 2, axis=1)

    def backward(self, y_pred, y_true, check_input: bool = True) -> np.ndarray:
        """dL/d(y_pred) (N, k)."""
        y_pred, y_true = self._checked(y_pred, y_true, check_input)
        dtype = y_pred.dtype if y_pred.dtype.kind == "f" else np.float64
        gradient = -2 * (y_true - y_pred) / y_pred.size
        self.dinputs = gradient.astype(dtype, copy=False)
        return self.dinputs


# %% chapters/04-losses.md cell 22
def accuracy(y_pred: np.ndarray, y_true, check_input: bool = True) -> float:
    """Fraction of correct predictions.

    Class probabilities (N, C) with integer or one-hot labels: the arg-max
    is the prediction (class indices only, with ``check_input=False``); for
    sequences (N, T, C), the arg-max of each position, all N * T counted. A
    single probability column (N, 1) with 0/1 targets (N, 1): the
    prediction is ``p > 0.5``.
    """
    if check_input:
        y_pred = check_batch(y_pred, "y_pred", ndim=(2, 3), finite=True)
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_pred, y_true, check_input)
    if check_input:
        y_true = class_indices(y_true, *y_pred.shape)
    correct = np.count_nonzero(y_pred.argmax(axis=-1) == y_true)
    return float(correct / np.size(y_true))


# %% chapters/04-losses.md cell 23
def binary_accuracy(y_pred: np.ndarray, y_true,
                    check_input: bool = True) -> float:
    """Fraction of the N*k yes/no answers that are right: p > 0.5 against
    targets > 0.5; shapes (N, k)."""
    if check_input:
        y_pred, y_true = check_same_shape(y_pred, y_true)
    correct = np.count_nonzero((y_pred > 0.5) == (y_true > 0.5))
    return float(correct / y_pred.size)


# %% chapters/04-losses.md cell 24
CategoricalCrossEntropy.metric_name = "accuracy"
BinaryCrossEntropy.metric_name = "accuracy"
