"""The dense layer.

Generated from chapters/01-dense-layer.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['DEFAULT_DTYPE', 'check_inputs', 'check_count', 'Layer', 'glorot_uniform', 'he_normal', 'INITIALIZERS', 'Dense']

# %% chapters/01-dense-layer.md cell 1
import math

import numpy as np


# %% chapters/01-dense-layer.md cell 6
DEFAULT_DTYPE = np.float32


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


# %% chapters/01-dense-layer.md cell 8
class Layer:
    """One step of a network.

    ``forward(inputs, training)`` maps a batch (N, ...) to outputs and remembers what
    ``backward`` needs; ``backward(dvalues)`` takes dL/d(outputs), shaped like the outputs, and
    returns dL/d(inputs), shaped like the inputs, storing it as ``self.dinputs``.
    Subclasses register themselves by class name so a saved model can be rebuilt.
    """

    registry: dict[str, type["Layer"]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Layer.registry[cls.__name__] = cls

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> dict[str, np.ndarray]:
        """The learned arrays by name; the gradient of ``name`` is ``self.d<name>``."""
        return {}

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (without learned values)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


# %% chapters/01-dense-layer.md cell 10
def glorot_uniform(n_inputs: int, n_outputs: int, rng: np.random.Generator) -> np.ndarray:
    """Weights (n_inputs, n_outputs) from U(-a, a) with a = sqrt(6 / (n_inputs + n_outputs))."""
    limit = np.sqrt(6.0 / (n_inputs + n_outputs))
    return rng.uniform(-limit, limit, size=(n_inputs, n_outputs))


def he_normal(n_inputs: int, n_outputs: int, rng: np.random.Generator) -> np.ndarray:
    """Weights (n_inputs, n_outputs) from N(0, 2 / n_inputs), for layers followed by ReLU."""
    return rng.normal(0.0, np.sqrt(2.0 / n_inputs), size=(n_inputs, n_outputs))


INITIALIZERS = {"glorot": glorot_uniform, "he": he_normal}


# %% chapters/01-dense-layer.md cell 15
class Dense(Layer):
    """A fully connected layer: ``outputs = inputs @ weights + biases``.

    Shapes: inputs (N, n_inputs), weights (n_inputs, n_neurons), biases (1, n_neurons),
    outputs (N, n_neurons). ``init`` is "glorot" (default) or "he" (for ReLU networks);
    ``rng`` is a seed or a numpy Generator; ``dtype`` is float32 unless you ask for float64
    (a floating dtype: TypeError otherwise). Inputs and dvalues are converted to ``dtype``, so
    outputs and all gradients have the layer's dtype.
    """

    def __init__(self, n_inputs: int, n_neurons: int, init: str = "glorot", rng=None, dtype=DEFAULT_DTYPE):
        self.n_inputs, self.n_neurons = check_count("n_inputs", n_inputs), check_count("n_neurons", n_neurons)
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
        if np.dtype(dtype).kind != "f":
            raise TypeError(f"dtype must be a floating-point dtype such as np.float32, got {np.dtype(dtype).name}")
        self.init = init
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(rng)       # a seed, None, or a Generator (used as it is)
        self.weights = INITIALIZERS[init](self.n_inputs, self.n_neurons, rng).astype(self.dtype)
        self.biases = np.zeros((1, self.n_neurons), dtype=self.dtype)
        self.inputs = None

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """(N, n_inputs) -> (N, n_neurons)."""
        self.inputs = check_inputs(inputs, self.n_inputs, dtype=self.dtype)
        self.output = self.inputs @ self.weights
        self.output += self.biases
        return self.output

    def backward(self, dvalues: np.ndarray, need_dinputs: bool = True) -> np.ndarray | None:
        """dL/d(outputs) (N, n_neurons) -> dL/d(inputs) (N, n_inputs); sets dweights and dbiases.

        The first layer of a network has nobody to pass dL/d(inputs) to: ``need_dinputs=False``
        skips that product, half of the layer's backward work, and returns None.
        """
        if self.inputs is None:
            raise RuntimeError("Dense.backward called before forward")
        dvalues = np.asarray(dvalues, dtype=self.dtype)   # the layer's dtype for every gradient
        if dvalues.shape != self.output.shape:
            raise ValueError(f"dvalues must have the output's shape {self.output.shape}, got {dvalues.shape}")
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = dvalues.sum(axis=0, keepdims=True)
        self.dinputs = dvalues @ self.weights.T if need_dinputs else None
        return self.dinputs

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "biases": self.biases}

    def get_config(self) -> dict:
        return {"n_inputs": self.n_inputs, "n_neurons": self.n_neurons, "init": self.init, "dtype": self.dtype.name}
