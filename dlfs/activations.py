"""Activation functions.

Generated from chapters/03-activations.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['ReLU', 'Sigmoid', 'Tanh', 'Softmax']

import numpy as np

from dlfs.layers import Layer


class ReLU(Layer):
    """Rectified linear unit, ``max(0, z)`` element-wise; any shape."""

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        self.inputs = inputs
        self.output = np.maximum(inputs, 0)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        self.dinputs = dvalues * (self.inputs > 0)
        return self.dinputs


class Sigmoid(Layer):
    """Logistic function ``1 / (1 + exp(-z))`` element-wise; any shape."""

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        # exp(-log(1 + exp(-z))) never overflows, for z of either sign
        self.output = np.exp(-np.logaddexp(0, -inputs))
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        self.dinputs = dvalues * self.output * (1 - self.output)
        return self.dinputs


class Tanh(Layer):
    """Hyperbolic tangent element-wise; any shape."""

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        self.output = np.tanh(inputs)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        self.dinputs = dvalues * (1 - self.output**2)
        return self.dinputs


class Softmax(Layer):
    """Softmax over the last axis: (N, C) scores -> (N, C) probabilities, rows summing to 1."""

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        # subtracting the row maximum changes nothing mathematically and keeps exp() finite
        exp = np.exp(inputs - inputs.max(axis=-1, keepdims=True))
        exp /= exp.sum(axis=-1, keepdims=True)
        self.output = exp
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        # Jacobian-vector product: s * (g - <g, s>) row by row, never forming the (C, C) Jacobian
        s = self.output
        self.dinputs = s * (dvalues - (dvalues * s).sum(axis=-1, keepdims=True))
        return self.dinputs
