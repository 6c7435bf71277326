"""Backpropagation.

Generated from chapters/02-backpropagation.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['numerical_gradient', 'relative_error', 'check_layer_gradients']

# %% chapters/02-backpropagation.md cell 1
import numpy as np


# %% chapters/02-backpropagation.md cell 6
def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function with respect to the array ``x``.

    ``f()`` takes no arguments, reads ``x`` and returns a number. Each element of ``x`` (any
    shape, a floating-point ndarray, modified in place) is moved by +eps and -eps and then
    restored, so ``x`` is unchanged afterwards. Costs 2 * x.size calls of ``f``.
    Returns a float64 array shaped like ``x``.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = f"an array of dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a floating-point numpy array (it is changed in place), got {kind}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f()
        x[index] = original - eps
        f_minus = f()
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


# %% chapters/02-backpropagation.md cell 8
def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``|a - n| / (|a| + |n|)`` with Euclidean norms over all elements, a float in [0, 1].

    Symmetric in its arguments, independent of their common scale, 0 when both are all zeros.
    Raises ValueError when the shapes differ (no broadcasting).
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"gradients must have the same shape, got {a.shape} and {n.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0


# %% chapters/02-backpropagation.md cell 16
def check_layer_gradients(layer, inputs: np.ndarray, eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Compare ``layer.backward`` with central differences; relative error per array.

    ``inputs`` is a batch the layer accepts, e.g. (N, n_inputs) for Dense. The scalar
    L = sum(forward(inputs) * G), for a fixed random G shaped like the output (drawn from
    ``seed``), has dL/d(outputs) = G. Returns {"inputs": error, <parameter name>: error, ...}
    for d(inputs) and every array in ``layer.parameters()``, whose gradient the layer stores
    as ``d<name>``. The parameters are nudged in place and restored.
    Use float64 layers and inputs: float32 is too coarse for finite differences.
    """
    inputs = np.array(inputs, dtype=np.float64)
    upstream = np.random.default_rng(seed).standard_normal(layer.forward(inputs).shape)
    layer.backward(upstream)
    analytic = {"inputs": layer.dinputs.copy()}
    analytic |= {name: getattr(layer, "d" + name).copy() for name in layer.parameters()}

    def loss() -> float:
        return float(np.sum(layer.forward(inputs) * upstream))

    arrays = {"inputs": inputs} | layer.parameters()
    return {
        name: relative_error(analytic[name], numerical_gradient(loss, arrays[name], eps))
        for name in analytic
    }
