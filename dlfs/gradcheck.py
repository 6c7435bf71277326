"""Gradients by finite differences, to check a backward pass against.

Generated from chapters/02-backpropagation.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['numerical_gradient', 'relative_error', 'check_layer_gradients']

# %% chapters/02-backpropagation.md cell 1
# dlfs.gradcheck: gradients by finite differences, to check a backward pass
# against.
import warnings

import numpy as np


# %% chapters/02-backpropagation.md cell 6
def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function with respect to the
    array ``x``.

    ``f()`` takes no arguments, reads ``x`` and returns a number. Each element
    of ``x`` (any shape, a floating-point ndarray, modified in place) is moved
    by +h and -h and then restored, so ``x`` is unchanged afterwards. Costs
    2 * x.size calls of ``f``. Returns a float64 array shaped like ``x``.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = (f"an array of dtype {x.dtype}" if isinstance(x, np.ndarray)
                else type(x).__name__)
        raise TypeError("x must be a floating-point numpy array (it is "
                        f"changed in place), got {kind}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f()
        x[index] = original - h
        f_minus = f()
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


# %% chapters/02-backpropagation.md cell 8
def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``|a - n| / (|a| + |n|)`` with Euclidean norms over all elements, a
    float in [0, 1] for finite arrays, NaN when either holds a NaN or an
    infinity (so that a check ``error < tolerance`` fails).

    Symmetric in its arguments, independent of their common scale, 0 when
    both are all zeros. Raises ValueError when the shapes
    differ (no broadcasting).
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError("gradients must have the same shape, "
                         f"got {a.shape} and {n.shape}")
    if not (np.isfinite(a).all() and np.isfinite(n).all()):
        return float("nan")
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0


# %% chapters/02-backpropagation.md cell 16
def check_layer_gradients(layer, inputs: np.ndarray, h: float = 1e-6,
                          rng=0) -> dict[str, float]:
    """Compare ``layer.backward`` with central differences; an error per array.

    ``inputs`` is a batch the layer accepts, e.g. (N, n_inputs) for Dense. The
    scalar L = sum(forward(inputs) * G), for a fixed random G shaped like the
    output (drawn from ``rng``, a seed or Generator), has dL/d(outputs) = G.
    Returns {"inputs": error, <parameter name>: error, ...} for d(inputs) and
    every array in ``layer.parameters()``, against ``layer.gradients()``. The
    parameters are nudged in place and restored. Use float64 layers: float32 is
    too coarse for finite differences, and a layer whose outputs or parameters
    are not float64 gets a warning that names them.
    """
    inputs = np.array(inputs, dtype=np.float64)
    outputs = layer.forward(inputs)
    checked = {"outputs": outputs} | layer.parameters()
    coarse = [f"{name} in {array.dtype}" for name, array in checked.items()
              if array.dtype != np.float64]
    if coarse:
        warnings.warn(f"{type(layer).__name__} has {', '.join(coarse)}: "
                      "finite differences need float64 (build it with "
                      "dtype=np.float64), or the errors measure rounding, "
                      "not backward", stacklevel=2)
    upstream = np.random.default_rng(rng).standard_normal(outputs.shape)
    layer.backward(upstream)
    analytic = {"inputs": layer.dinputs.copy()}
    analytic |= {name: grad.copy() for name, grad in layer.gradients().items()}

    def loss() -> float:
        return float(np.sum(layer.forward(inputs) * upstream))

    arrays = {"inputs": inputs} | layer.parameters()
    return {
        name: relative_error(analytic[name],
                             numerical_gradient(loss, arrays[name], h))
        for name in analytic
    }
