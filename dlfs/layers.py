"""The Layer interface, two ways to draw the first weights, and the dense layer.

Generated from chapters/01-dense-layer.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['DEFAULT_DTYPE', 'Layer', 'glorot_uniform', 'he_normal', 'INITIALIZERS', 'Dense']

# %% chapters/01-dense-layer.md cell 1
# dlfs.layers: the Layer interface, two ways to draw the first weights, and
# the dense layer.
import numpy as np

from dlfs.validation import (check_batch, check_count, check_float_dtype,
                             check_rng)


# %% chapters/01-dense-layer.md cell 5
DEFAULT_DTYPE = np.float32


# %% chapters/01-dense-layer.md cell 6
class Layer:
    """One step of a network.

    ``forward(inputs, training)`` maps a batch (N, ...) to outputs and
    remembers what ``backward`` needs; ``backward(dvalues)`` takes
    dL/d(outputs), shaped like the outputs, and returns dL/d(inputs), shaped
    like the inputs, storing it as ``self.dinputs``; a layer told
    ``needs_input_gradient = False`` (a network's first) may skip that and
    return None. ``parameters()`` and ``gradients()`` hold the learned arrays
    and their gradients under the same names; ``state()`` the arrays a saved
    model must keep that are not learned (optimizers ignore them).
    ``get_config()`` the constructor's arguments, so that
    ``type(layer)(**layer.get_config())`` builds the layer again.
    ``layer(inputs)`` is ``layer.forward(inputs)``.
    """

    needs_input_gradient = True

    def __call__(self, inputs: np.ndarray,
                 training: bool = False) -> np.ndarray:
        return self.forward(inputs, training=training)

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> dict[str, np.ndarray]:
        """The learned arrays by name."""
        return {}

    def gradients(self) -> dict[str, np.ndarray]:
        """dL/d(each parameter) after ``backward``, named as in
        ``parameters()``.
        """
        return {}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that are not learned but must be saved (a generator's state,
        running statistics).
        """
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state()`` returned (arrays of the same names, shapes
        and dtypes).
        """

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (without learned
        values).
        """
        return {}

    def __repr__(self) -> str:
        config = self.get_config()
        args = ", ".join(f"{key}={value!r}" for key, value in config.items())
        return f"{type(self).__name__}({args})"


# %% chapters/01-dense-layer.md cell 8
def glorot_uniform(n_inputs: int, n_outputs: int, rng: np.random.Generator,
                   shape=None) -> np.ndarray:
    """Weights (n_inputs, n_outputs), or ``shape``, from U(-a, a) with
    a = sqrt(6 / (n_inputs + n_outputs)).
    """
    limit = np.sqrt(6.0 / (n_inputs + n_outputs))
    return rng.uniform(-limit, limit, size=shape or (n_inputs, n_outputs))


def he_normal(n_inputs: int, n_outputs: int, rng: np.random.Generator,
              shape=None) -> np.ndarray:
    """Weights (n_inputs, n_outputs), or ``shape``, from N(0, 2 / n_inputs),
    for layers followed by ReLU.
    """
    return rng.normal(0.0, np.sqrt(2.0 / n_inputs),
                      size=shape or (n_inputs, n_outputs))


INITIALIZERS = {"glorot": glorot_uniform, "he": he_normal}


# %% chapters/01-dense-layer.md cell 13
class Dense(Layer):
    """A fully connected layer: ``outputs = inputs @ weights + biases``.

    Shapes: inputs (N, n_inputs), weights (n_inputs, n_neurons), biases
    (1, n_neurons), outputs (N, n_neurons). It acts on the last axis:
    inputs (N, ..., n_inputs), such as sequences (N, T, n_inputs), give
    outputs (N, ..., n_neurons). ``init`` is "glorot" (default) or "he"
    (for ReLU networks); ``rng`` is a seed or a numpy Generator;
    ``dtype`` is float32 unless you ask for float64 (a floating dtype:
    TypeError otherwise). Inputs and dvalues are converted to ``dtype``, so
    outputs and all gradients have the layer's dtype.
    """

    def __init__(self, n_inputs: int, n_neurons: int, init: str = "glorot",
                 rng=None, dtype=DEFAULT_DTYPE):
        self.n_inputs = check_count("n_inputs", n_inputs)
        self.n_neurons = check_count("n_neurons", n_neurons)
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, "
                             f"got {init!r}")
        self.init = init
        self.dtype = check_float_dtype(dtype)
        rng = check_rng(rng)  # a seed, None, or a Generator (used as it is)
        weights = INITIALIZERS[init](self.n_inputs, self.n_neurons, rng)
        self.weights = weights.astype(self.dtype)
        self.biases = np.zeros((1, self.n_neurons), dtype=self.dtype)
        self.inputs = self.dweights = self.dbiases = None

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, n_inputs) -> (N, n_neurons), or (N, ..., n_inputs) ->
        (N, ..., n_neurons)."""
        inputs = check_batch(inputs, dtype=self.dtype)
        if inputs.shape[-1] != self.n_inputs:
            where = "per row" if inputs.ndim == 2 else "on the last axis"
            raise ValueError(f"inputs must have {self.n_inputs} features "
                             f"{where}, got shape {inputs.shape}")
        self.inputs = inputs
        # every position is a row: (N, ..., n_inputs) -> (rows, n_inputs),
        # a view for an input in C order (2-D inputs stay as they are)
        output = inputs.reshape(-1, self.n_inputs) @ self.weights
        output += self.biases
        self.output = output.reshape(*inputs.shape[:-1], self.n_neurons)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray | None:
        """dL/d(outputs) (N, n_neurons) -> dL/d(inputs) (N, n_inputs), or
        (N, ..., n_neurons) -> (N, ..., n_inputs).

        Sets dweights and dbiases, summed over every row (every position of
        every example). The first layer of a network has nobody to pass
        dL/d(inputs) to: with ``needs_input_gradient = False`` it skips that
        product, half of its backward work, and returns None.
        """
        if self.inputs is None:
            raise RuntimeError("Dense.backward called before forward")
        # the layer's dtype for every gradient
        dvalues = np.asarray(dvalues, dtype=self.dtype)
        if dvalues.shape != self.output.shape:
            raise ValueError("dvalues must have the output's shape "
                             f"{self.output.shape}, got {dvalues.shape}")
        inputs = self.inputs.reshape(-1, self.n_inputs)    # (rows, n_inputs)
        dvalues = dvalues.reshape(-1, self.n_neurons)     # (rows, n_neurons)
        self.dweights = inputs.T @ dvalues
        self.dbiases = dvalues.sum(axis=0, keepdims=True)
        self.dinputs = ((dvalues @ self.weights.T).reshape(self.inputs.shape)
                        if self.needs_input_gradient else None)
        return self.dinputs

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "biases": self.biases}

    def gradients(self) -> dict[str, np.ndarray]:
        return {"weights": self.dweights, "biases": self.dbiases}

    def get_config(self) -> dict:
        return {"n_inputs": self.n_inputs, "n_neurons": self.n_neurons,
                "init": self.init, "dtype": self.dtype.name}

    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shapes of ``parameters()`` of a layer built from ``config``,
        known without building it.
        """
        n_inputs = check_count("n_inputs", config["n_inputs"])
        n_neurons = check_count("n_neurons", config["n_neurons"])
        return {"weights": (n_inputs, n_neurons), "biases": (1, n_neurons)}
