"""The Layer interface, two ways to draw the first weights, and the dense layer.

Generated from chapters/01-dense-layer.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['DEFAULT_DTYPE', 'Layer', 'glorot_uniform', 'he_normal', 'INITIALIZERS', 'Dense']

# %% chapters/01-dense-layer.md cell 1
# dlfs.layers: the Layer interface, two ways to draw the first weights, and the dense layer.
import numpy as np

from dlfs.validation import check_batch, check_count, check_float_dtype, check_rng


# %% chapters/01-dense-layer.md cell 5
DEFAULT_DTYPE = np.float32


# %% chapters/01-dense-layer.md cell 6
class Layer:
    """One step of a network.

    ``forward(inputs, training)`` maps a batch (N, ...) to outputs and remembers what
    ``backward`` needs; ``backward(dvalues)`` takes dL/d(outputs), shaped like the outputs, and
    returns dL/d(inputs), shaped like the inputs, storing it as ``self.dinputs``; a layer told
    ``needs_input_gradient = False`` (a network's first) may skip that and return None.
    ``parameters()`` and ``gradients()`` hold the learned arrays and their gradients under the
    same names; ``state()`` the arrays a saved model must keep that are not learned (optimizers
    ignore them). ``get_config()`` the constructor's arguments, so that
    ``type(layer)(**layer.get_config())`` builds the layer again. ``layer(inputs)`` is
    ``layer.forward(inputs)``.
    """

    needs_input_gradient = True

    def __call__(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs, training=training)

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> dict[str, np.ndarray]:
        """The learned arrays by name."""
        return {}

    def gradients(self) -> dict[str, np.ndarray]:
        """dL/d(each parameter) after ``backward``, under the names of ``parameters()``."""
        return {}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that are not learned but must be saved (a generator's state, running statistics)."""
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state()`` returned (arrays of the same names, shapes and dtypes)."""

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (without learned values)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


# %% chapters/01-dense-layer.md cell 8
def glorot_uniform(n_inputs: int, n_outputs: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    """Weights (n_inputs, n_outputs), or ``shape``, from U(-a, a) with a = sqrt(6 / (n_inputs + n_outputs))."""
    limit = np.sqrt(6.0 / (n_inputs + n_outputs))
    return rng.uniform(-limit, limit, size=shape or (n_inputs, n_outputs))


def he_normal(n_inputs: int, n_outputs: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    """Weights (n_inputs, n_outputs), or ``shape``, from N(0, 2 / n_inputs), for layers followed by ReLU."""
    return rng.normal(0.0, np.sqrt(2.0 / n_inputs), size=shape or (n_inputs, n_outputs))


INITIALIZERS = {"glorot": glorot_uniform, "he": he_normal}


# %% chapters/01-dense-layer.md cell 13
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
        self.init = init
        self.dtype = check_float_dtype(dtype)
        rng = check_rng(rng)                   # a seed, None, or a Generator (used as it is)
        self.weights = INITIALIZERS[init](self.n_inputs, self.n_neurons, rng).astype(self.dtype)
        self.biases = np.zeros((1, self.n_neurons), dtype=self.dtype)
        self.inputs = self.dweights = self.dbiases = None

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """(N, n_inputs) -> (N, n_neurons)."""
        self.inputs = check_batch(inputs, dtype=self.dtype, ndim=2, features=self.n_inputs)
        self.output = self.inputs @ self.weights
        self.output += self.biases
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray | None:
        """dL/d(outputs) (N, n_neurons) -> dL/d(inputs) (N, n_inputs); sets dweights and dbiases.

        The first layer of a network has nobody to pass dL/d(inputs) to: with
        ``needs_input_gradient = False`` it skips that product, half of its backward work, and
        returns None.
        """
        if self.inputs is None:
            raise RuntimeError("Dense.backward called before forward")
        dvalues = np.asarray(dvalues, dtype=self.dtype)   # the layer's dtype for every gradient
        if dvalues.shape != self.output.shape:
            raise ValueError(f"dvalues must have the output's shape {self.output.shape}, got {dvalues.shape}")
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = dvalues.sum(axis=0, keepdims=True)
        self.dinputs = dvalues @ self.weights.T if self.needs_input_gradient else None
        return self.dinputs

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "biases": self.biases}

    def gradients(self) -> dict[str, np.ndarray]:
        return {"weights": self.dweights, "biases": self.dbiases}

    def get_config(self) -> dict:
        return {"n_inputs": self.n_inputs, "n_neurons": self.n_neurons, "init": self.init, "dtype": self.dtype.name}

    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shapes of ``parameters()`` of a layer built from ``config``, known without building it."""
        n_inputs, n_neurons = check_count("n_inputs", config["n_inputs"]), check_count("n_neurons", config["n_neurons"])
        return {"weights": (n_inputs, n_neurons), "biases": (1, n_neurons)}
