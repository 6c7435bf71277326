"""Standardised inputs and batch normalisation.

Generated from chapters/10-normalization.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Standardize', 'BatchNorm']

# %% chapters/10-normalization.md cell 1
# dlfs.normalization: standardised inputs and batch normalisation.
import numpy as np

from dlfs.validation import (check_batch, check_count, check_dvalues,
                             check_float_dtype, check_real)
from dlfs.layers import DEFAULT_DTYPE, Layer


# %% chapters/10-normalization.md cell 5
def _channel_axes(ndim: int) -> tuple[int, ...]:
    """The axes averaged over for a per-channel statistic: every axis but 1,
    e.g. (0, 2, 3) for images."""
    return (0, *range(2, ndim))


def _per_channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) array reshaped to broadcast along axis 1 of an ndim-D batch:
    (1, C) or (1, C, 1, 1)."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


# %% chapters/10-normalization.md cell 6
class Standardize(Layer):
    """``(inputs - mean) / sqrt(variance + epsilon)`` per channel, with
    statistics from training data.

    Inputs (N, C) or (N, C, ...) with C = ``n_channels``: the channel axis is
    1, and the mean and variance of a channel are over every other axis (all
    examples and, for images, all pixels). ``fit(X_train)`` sets them (arrays
    (C,) in ``dtype``) and the number of examples they came from; until then
    ``forward`` raises RuntimeError. Outputs have the inputs' shape. The
    statistics are the layer's ``state()``, so ``dlfs.save``/``load`` keep
    them. No parameters.
    """

    def __init__(self, n_channels: int, epsilon: float = 1e-8,
                 dtype=DEFAULT_DTYPE):
        self.n_channels = check_count("n_channels", n_channels)
        self.epsilon = check_real("epsilon", epsilon, above=0)
        self.dtype = check_float_dtype(dtype)
        self.mean = np.zeros(self.n_channels, dtype=self.dtype)
        self.variance = np.ones(self.n_channels, dtype=self.dtype)
        self.n_examples = np.zeros((), dtype=np.int64)  # 0: not fitted yet
        self.output = self.scale = None

    def fit(self, X: np.ndarray) -> "Standardize":
        """Measure the per-channel mean and (biased) variance of the training
        data X; returns self."""
        X = check_batch(X, "X", features=self.n_channels, finite=True)
        axes = _channel_axes(X.ndim)
        self.mean[...] = X.mean(axis=axes, dtype=np.float64)
        self.variance[...] = X.var(axis=axes, dtype=np.float64)
        self.n_examples[...] = len(X)
        return self

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, C, ...) -> (N, C, ...): every channel standardised with the
        training statistics."""
        if self.n_examples == 0:
            raise RuntimeError("Standardize has no statistics: call "
                               "fit(X_train) with the training data first")
        inputs = check_batch(inputs, dtype=self.dtype,
                             features=self.n_channels)
        epsilon = self.dtype.type(self.epsilon)
        self.scale = _per_channel(1 / np.sqrt(self.variance + epsilon),
                                  inputs.ndim)
        mean = _per_channel(self.mean, inputs.ndim)
        self.output = (inputs - mean) * self.scale
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray | None:
        """dL/d(outputs) -> dL/d(inputs) = dvalues / sqrt(variance + epsilon)
        (None if not needed)."""
        dvalues = np.asarray(check_dvalues(self, dvalues), dtype=self.dtype)
        self.dinputs = (dvalues * self.scale if self.needs_input_gradient
                        else None)
        return self.dinputs

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "variance": self.variance,
                "n_examples": self.n_examples}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        for name, array in self.state().items():
            array[...] = state[name]

    def get_config(self) -> dict:
        return {"n_channels": self.n_channels, "epsilon": self.epsilon,
                "dtype": self.dtype.name}

    # %% chapters/10-normalization.md cell 21
    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shapes of the statistics a Standardize built from ``config``
        saves, known without building it."""
        n = check_count("n_channels", config["n_channels"])
        return {"state.mean": (n,), "state.variance": (n,),
                "state.n_examples": ()}


# %% chapters/10-normalization.md cell 14
class BatchNorm(Layer):
    """Batch normalisation per channel:
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Inputs (N, C) after a Dense layer or (N, C, H, W) after a convolution,
    C = ``n_channels``: each channel is normalised over every axis but 1. With
    ``training=True`` the mean and the (biased) variance are the batch's, and
    the running statistics are updated as in ``torch.nn.BatchNorm1d/2d``:
    ``running = (1 - momentum) * running + momentum * batch``, with the
    unbiased batch variance; with ``training=False`` the running statistics
    are used. Parameters ``gamma`` and ``beta`` (C,); state ``running_mean``
    and ``running_var`` (C,). Outputs have the inputs' shape; everything is in
    ``dtype``.
    """

    def __init__(self, n_channels: int, momentum: float = 0.1,
                 epsilon: float = 1e-5, dtype=DEFAULT_DTYPE):
        self.n_channels = check_count("n_channels", n_channels)
        self.momentum = check_real("momentum", momentum, at_least=0, at_most=1)
        self.epsilon = check_real("epsilon", epsilon, above=0)
        self.dtype = check_float_dtype(dtype)
        self.gamma = np.ones(self.n_channels, dtype=self.dtype)
        self.beta = np.zeros(self.n_channels, dtype=self.dtype)
        self.running_mean = np.zeros(self.n_channels, dtype=self.dtype)
        self.running_var = np.ones(self.n_channels, dtype=self.dtype)
        self.output = self.x_hat = self.inv_std = None
        self.dgamma = self.dbeta = None
        # whether the last forward pass used the batch's statistics
        self.batch_statistics = False

    # %% chapters/10-normalization.md cell 24
    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """(N, C, ...) -> (N, C, ...), with the batch's statistics or, in
        evaluation, the running ones."""
        inputs = check_batch(inputs, dtype=self.dtype, features=self.n_channels)
        self.batch_statistics = training
        if training:
            mean, var, centred = self._batch_statistics(inputs)
        else:
            mean, var = self.running_mean, self.running_var
            centred = inputs - _per_channel(mean, inputs.ndim)
        epsilon = self.dtype.type(self.epsilon)
        self.inv_std = _per_channel(1 / np.sqrt(var + epsilon), inputs.ndim)
        self.x_hat = np.multiply(centred, self.inv_std, out=centred)  # in place
        self.output = self.x_hat * _per_channel(self.gamma, inputs.ndim)
        self.output += _per_channel(self.beta, inputs.ndim)
        return self.output

    def parameters(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma, "beta": self.beta}

    def gradients(self) -> dict[str, np.ndarray]:
        return {"gamma": self.dgamma, "beta": self.dbeta}

    def get_config(self) -> dict:
        return {"n_channels": self.n_channels, "momentum": self.momentum,
                "epsilon": self.epsilon, "dtype": self.dtype.name}

    # %% chapters/10-normalization.md cell 24
    def _batch_statistics(self, inputs: np.ndarray) -> tuple[np.ndarray, ...]:
        """The batch's per-channel mean and biased variance (C,), and the
        deviations ``inputs - mean`` (a new array of the inputs' shape); updates
        the running statistics."""
        m = inputs.size // self.n_channels      # values per channel: N, or N*H*W
        if m < 2:
            raise ValueError(
                f"BatchNorm in training needs more than one value per channel to "
                f"measure a variance, got inputs of shape {inputs.shape}; use a "
                f"batch of 2 or more")
        mean = _channel_sums(inputs) / m
        centred = inputs - _per_channel(mean, inputs.ndim)
        var = _channel_sums(centred, centred) / m
        self.running_mean *= 1 - self.momentum
        self.running_mean += self.momentum * mean
        self.running_var *= 1 - self.momentum
        self.running_var += self.momentum * m / (m - 1) * var
        return mean, var, centred

    # %% chapters/10-normalization.md cell 15
    def state(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    # %% chapters/10-normalization.md cell 15
    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.running_mean[...] = state["running_mean"]
        self.running_var[...] = state["running_var"]

    # %% chapters/10-normalization.md cell 25
    def backward(self, dvalues: np.ndarray) -> np.ndarray | None:
        """dL/d(outputs) (N, C, ...) -> dL/d(inputs) (N, C, ...); sets dgamma and
        dbeta (C,)."""
        dvalues = np.asarray(check_dvalues(self, dvalues), dtype=self.dtype)
        self.dbeta = _channel_sums(dvalues)
        self.dgamma = _channel_sums(dvalues, self.x_hat)
        if not self.needs_input_gradient:
            self.dinputs = None
            return None
        ndim = dvalues.ndim
        if self.batch_statistics:   # gamma * s * (G - dbeta/m - x_hat * dgamma/m)
            m = dvalues.size // self.n_channels
            dinputs = self.x_hat * _per_channel(-self.dgamma / m, ndim)
            dinputs += dvalues
            dinputs -= _per_channel(self.dbeta / m, ndim)
            dinputs *= _per_channel(self.gamma, ndim) * self.inv_std
        else:                       # (G * gamma) * s, the clear version's order
            dinputs = dvalues * _per_channel(self.gamma, ndim)
            dinputs *= self.inv_std
        self.dinputs = dinputs
        return self.dinputs

    # %% chapters/10-normalization.md cell 21
    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shapes of the parameters and running statistics a BatchNorm built
        from ``config`` saves."""
        n = check_count("n_channels", config["n_channels"])
        return {"gamma": (n,), "beta": (n,), "state.running_mean": (n,),
                "state.running_var": (n,)}


# %% chapters/10-normalization.md cell 24
def _channel_sums(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Per-channel sums (C,) of ``a``, or of ``a * b``, over every axis but 1.

    ``a`` and ``b`` are (N, C) or (N, C, ...). The values of one channel of one
    example are a contiguous row (H * W values for images): a matrix-vector
    product with ones sums the rows, ``np.vecdot`` multiplies and sums them,
    each in one pass without a temporary array; then the N rows of every
    channel are added.
    """
    rows = a.reshape(a.shape[0], a.shape[1], -1)        # (N, C, H*W), a view
    if b is None:
        per_example = rows @ np.ones(rows.shape[2], dtype=rows.dtype)
    else:
        per_example = np.vecdot(rows, b.reshape(rows.shape))
    return per_example.sum(axis=0)
