"""Scaled dot-product attention, the causal mask, heads made by reshapes, and the
MultiHeadAttention layer.

Generated from chapters/14-attention.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['stable_softmax', 'attention', 'causal_mask', 'split_heads', 'merge_heads', 'softmax_backward', 'attention_backward', 'MultiHeadAttention']

# %% chapters/14-attention.md cell 1
# dlfs.attention: scaled dot-product attention, the causal mask, heads made
# by reshapes, and the MultiHeadAttention layer.
import numpy as np

from dlfs.layers import DEFAULT_DTYPE, Layer, glorot_uniform
from dlfs.validation import (check_batch, check_count, check_dvalues,
                             check_float_dtype, check_rng)


# %% chapters/14-attention.md cell 3
def stable_softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(scores) normalised to sum to 1 along ``axis``, computed from
    scores minus their maximum (nothing overflows). A slice that is -inf
    throughout has no maximum to subtract: it gives NaN."""
    exps = scores - scores.max(axis=axis, keepdims=True)
    np.exp(exps, out=exps)                 # in place: no second array
    exps /= exps.sum(axis=axis, keepdims=True)
    return exps


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask=None,
              scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scaled dot-product attention: queries q (..., Tq, D), keys k
    (..., T, D), values v (..., T, Dv) -> outputs (..., Tq, Dv) and the
    weights (..., Tq, T). ``mask`` (broadcast to the weights' shape) is
    True where a query may attend to a key; ``scale`` is 1 / sqrt(D) unless
    given."""
    scale = q.shape[-1] ** -0.5 if scale is None else float(scale)
    scores = q @ np.swapaxes(k, -1, -2)
    scores *= scale
    if mask is not None:
        np.copyto(scores, -np.inf, where=~np.asarray(mask))
    weights = stable_softmax(scores)
    return weights @ v, weights


# %% chapters/14-attention.md cell 6
def causal_mask(T: int) -> np.ndarray:
    """(T, T) booleans, True where query t may attend to key j: j <= t."""
    return np.tril(np.ones((T, T), dtype=bool))


# %% chapters/14-attention.md cell 9
def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """(N, T, C) -> (N, H, T, D) with D = C / H: head h gets columns
    h*D:(h+1)*D of every position."""
    N, T, C = x.shape
    return x.reshape(N, T, n_heads, C // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(N, H, T, D) -> (N, T, H*D): the inverse of ``split_heads``."""
    N, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(N, T, H * D)


# %% chapters/14-attention.md cell 11
def softmax_backward(weights: np.ndarray, dweights: np.ndarray,
                     axis: int = -1) -> np.ndarray:
    """dL/d(scores) from the softmax's output ``weights`` and dL/d(weights):
    weights * (dweights - sum(dweights * weights)), the sum along ``axis``
    (the Jacobian-vector product; the Jacobian is never formed)."""
    dscores = dweights - (dweights * weights).sum(axis=axis, keepdims=True)
    dscores *= weights
    return dscores


def attention_backward(dout: np.ndarray, q: np.ndarray, k: np.ndarray,
                       v: np.ndarray, weights: np.ndarray,
                       scale: float | None = None) -> tuple:
    """dL/dq (..., Tq, D), dL/dk (..., T, D), dL/dv (..., T, Dv) of
    ``attention(q, k, v, mask, scale)`` from dL/d(outputs) ``dout``
    (..., Tq, Dv) and the weights (..., Tq, T) it returned (the mask is in
    them: a masked weight is 0, so is its gradient)."""
    scale = q.shape[-1] ** -0.5 if scale is None else float(scale)
    dv = np.swapaxes(weights, -1, -2) @ dout
    dweights = dout @ np.swapaxes(v, -1, -2)
    dscores = softmax_backward(weights, dweights)
    dscores *= scale
    return dscores @ k, np.swapaxes(dscores, -1, -2) @ q, dv


# %% chapters/14-attention.md cell 19
class MultiHeadAttention(Layer):
    """Multi-head self-attention: inputs (N, T, dim) -> outputs (N, T, dim).

    ``weights_qkv`` (dim, 3 dim) and ``biases_qkv`` (3 dim,) project each
    position to queries, keys and values (columns [0, dim), [dim, 2 dim),
    [2 dim, 3 dim)); head h uses columns h*D:(h+1)*D of each, D = dim /
    n_heads, and scores scaled by 1 / sqrt(D). ``weights_out`` (dim, dim)
    and ``biases_out`` (dim,) project the merged heads. With ``causal`` a
    position attends to itself and the positions before it only. Weights
    from Glorot's uniform draw by ``rng`` (a seed or Generator), biases 0.
    """

    def __init__(self, dim: int, n_heads: int, causal: bool = True,
                 rng=None, dtype=DEFAULT_DTYPE):
        self.dim = check_count("dim", dim)
        self.n_heads = check_count("n_heads", n_heads)
        if self.dim % self.n_heads:
            raise ValueError(f"dim must be a multiple of n_heads, got dim "
                             f"{self.dim} and n_heads {self.n_heads}")
        if not isinstance(causal, (bool, np.bool_)):
            raise TypeError(f"causal must be True or False, got {causal!r}")
        self.causal, self.dtype = bool(causal), check_float_dtype(dtype)
        self.head_dim = self.dim // self.n_heads
        self.scale = self.head_dim ** -0.5
        rng, C = check_rng(rng), self.dim
        blocks = [glorot_uniform(C, C, rng) for _ in range(3)]
        self.weights_qkv = np.concatenate(blocks, axis=1).astype(self.dtype)
        self.biases_qkv = np.zeros(3 * C, dtype=self.dtype)
        self.weights_out = glorot_uniform(C, C, rng).astype(self.dtype)
        self.biases_out = np.zeros(C, dtype=self.dtype)
        self.inputs = self.output = None
        self.dweights_qkv = self.dbiases_qkv = None
        self.dweights_out = self.dbiases_out = None

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, T, dim) -> (N, T, dim); keeps what backward needs."""
        x = check_batch(inputs, dtype=self.dtype, ndim=3)
        if x.shape[2] != self.dim:
            raise ValueError(f"inputs must have shape (N, T, {self.dim}), "
                             f"got {x.shape}")
        N, T, C = x.shape
        qkv = x.reshape(N * T, C) @ self.weights_qkv + self.biases_qkv
        qkv = qkv.reshape(N, T, 3 * C)
        self.q, self.k, self.v = (
            split_heads(qkv[..., i * C:(i + 1) * C], self.n_heads)
            for i in range(3))
        mask = causal_mask(T) if self.causal else None
        heads, self.weights = attention(self.q, self.k, self.v, mask,
                                        self.scale)
        self.merged = merge_heads(heads).reshape(N * T, C)
        self.inputs = x
        self.output = self.merged @ self.weights_out + self.biases_out
        self.output = self.output.reshape(N, T, C)
        return self.output

    # %% chapters/14-attention.md cell 20
    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) (N, T, dim) -> dL/d(inputs) (N, T, dim); sets the
        four parameters' gradients."""
        dout = check_dvalues(self, dvalues).astype(self.dtype, copy=False)
        N, T, C = dout.shape
        dout = dout.reshape(N * T, C)
        self.dweights_out = self.merged.T @ dout
        self.dbiases_out = dout.sum(axis=0)
        dheads = split_heads((dout @ self.weights_out.T).reshape(N, T, C),
                             self.n_heads)
        dq, dk, dv = attention_backward(dheads, self.q, self.k, self.v,
                                        self.weights, self.scale)
        dqkv = np.concatenate([merge_heads(g) for g in (dq, dk, dv)], axis=-1)
        dqkv = dqkv.reshape(N * T, 3 * C)
        self.dweights_qkv = self.inputs.reshape(N * T, C).T @ dqkv
        self.dbiases_qkv = dqkv.sum(axis=0)
        self.dinputs = (dqkv @ self.weights_qkv.T).reshape(N, T, C)
        return self.dinputs

    # %% chapters/14-attention.md cell 20
    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights_qkv": self.weights_qkv, "biases_qkv": self.biases_qkv,
                "weights_out": self.weights_out, "biases_out": self.biases_out}

    # %% chapters/14-attention.md cell 20
    def gradients(self) -> dict[str, np.ndarray]:
        return {"weights_qkv": self.dweights_qkv,
                "biases_qkv": self.dbiases_qkv,
                "weights_out": self.dweights_out,
                "biases_out": self.dbiases_out}

    # %% chapters/14-attention.md cell 20
    def get_config(self) -> dict:
        return {"dim": self.dim, "n_heads": self.n_heads,
                "causal": self.causal, "dtype": self.dtype.name}

    # %% chapters/14-attention.md cell 20
    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The parameters' shapes for ``config``, known without building."""
        C = check_count("dim", config["dim"])
        return {"weights_qkv": (C, 3 * C), "biases_qkv": (3 * C,),
                "weights_out": (C, C), "biases_out": (C,)}
