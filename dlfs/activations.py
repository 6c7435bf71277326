"""ReLU, sigmoid, tanh and softmax as layers.

Generated from chapters/03-activations.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['ReLU', 'Sigmoid', 'Tanh', 'Softmax']

# %% chapters/03-activations.md cell 1
# dlfs.activations: ReLU, sigmoid, tanh and softmax as layers.
import numpy as np

from dlfs.validation import check_dvalues
from dlfs.layers import Layer


# %% chapters/03-activations.md cell 8
def _as_float_array(inputs) -> np.ndarray:
    """``inputs`` as an array: floating dtypes are kept, anything else
    (integers, bools) becomes float64.
    """
    array = np.asarray(inputs)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


# %% chapters/03-activations.md cell 10
class ReLU(Layer):
    """Rectified linear unit ``max(0, z)``, element-wise; any shape, dtype
    kept (integers too).
    """

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """Inputs of any shape (array-like) -> the same shape and dtype."""
        inputs = np.asarray(inputs)
        self.inputs = inputs
        self.output = np.maximum(inputs, 0)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) -> dL/d(inputs): the gradient passes where the input
        was positive.
        """
        dvalues = check_dvalues(self, dvalues)
        self.dinputs = dvalues * (self.inputs > 0)
        return self.dinputs


# %% chapters/03-activations.md cell 12
class Sigmoid(Layer):
    """Logistic function ``1 / (1 + exp(-z))``, element-wise; any shape.

    Floating inputs keep their dtype; integer inputs give float64.

    Only ``exp(-|z|)`` is computed, so nothing overflows for inputs of either
    sign.
    """

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """Array-like inputs, any shape -> outputs in [0, 1], same shape."""
        inputs = _as_float_array(inputs)
        t = np.exp(-np.abs(inputs))               # in (0, 1]
        positive = 1 / (1 + t)                    # sigmoid(|z|)
        self.output = np.where(inputs >= 0, positive, t * positive)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) -> dL/d(inputs), using sigmoid' = s (1 - s)."""
        dvalues = check_dvalues(self, dvalues)
        self.dinputs = dvalues * self.output * (1 - self.output)
        return self.dinputs


# %% chapters/03-activations.md cell 13
class Tanh(Layer):
    """Hyperbolic tangent, element-wise; any shape. Floating inputs keep their
    dtype; integer inputs give float64."""

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """Array-like inputs, any shape -> outputs in [-1, 1], same shape."""
        self.output = np.tanh(_as_float_array(inputs))
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) -> dL/d(inputs), using tanh' = 1 - tanh^2."""
        dvalues = check_dvalues(self, dvalues)
        self.dinputs = dvalues * (1 - self.output**2)
        return self.dinputs


# %% chapters/03-activations.md cell 17
class Softmax(Layer):
    """Softmax over the last axis: (N, C) scores -> (N, C) probabilities,
    rows summing to 1.

    The row maximum is subtracted before ``exp``, so large logits neither
    overflow nor give nan. Any shape works; the last axis is the one
    normalised. Floating inputs keep their dtype; integer inputs give float64.
    """

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """Logits (N, C), array-like -> probabilities (N, C)."""
        inputs = _as_float_array(inputs)
        if inputs.ndim == 0 or inputs.shape[-1] == 0:
            raise ValueError("Softmax needs at least one class along the last "
                             f"axis, got shape {inputs.shape}")
        # every exponent <= 0
        exp = np.exp(inputs - inputs.max(axis=-1, keepdims=True))
        exp /= exp.sum(axis=-1, keepdims=True)
        self.output = exp
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(probabilities) (N, C) -> dL/d(logits) (N, C).

        The vector-Jacobian product g^T J = s * (g - <g, s>) row by row,
        never forming the (C, C) Jacobian J (symmetric, so this also equals
        J g).
        """
        dvalues = check_dvalues(self, dvalues)
        s = self.output
        row_dot = (dvalues * s).sum(axis=-1, keepdims=True)  # <g, s> per row
        self.dinputs = s * (dvalues - row_dot)
        return self.dinputs
