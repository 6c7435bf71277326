"""The recurrent layer RNN (a loop over time, trained by backpropagation through time), and words
as padded sequences of tokens with a cross-entropy that skips the padding.

Generated from chapters/13-recurrence.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['orthogonal', 'RNN', 'IGNORE_INDEX', 'padded_sequences', 'sequence_cross_entropy']

# %% chapters/13-recurrence.md cell 1
# dlfs.recurrent: the recurrent layer RNN (a loop over time, trained by
# backpropagation through time), and words as padded sequences of tokens
# with a cross-entropy that skips the padding.
import numpy as np

from dlfs.layers import DEFAULT_DTYPE, Layer, glorot_uniform
from dlfs.text import END, CharVocabulary
from dlfs.validation import (check_batch, check_count, check_dvalues,
                             check_float_dtype, check_rng)


# %% chapters/13-recurrence.md cell 4
def orthogonal(n: int, rng: np.random.Generator,
               gain: float = 1.0) -> np.ndarray:
    """A random orthogonal (n, n) matrix times ``gain``: the Q of the QR
    decomposition of a standard normal matrix, its columns' signs fixed by
    R's diagonal so that Q is uniformly distributed (Keras's Orthogonal)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return gain * q * np.where(np.diag(r) < 0, -1.0, 1.0)


# %% chapters/13-recurrence.md cell 5
class RNN(Layer):
    """A simple recurrent layer (Elman's): sequences (N, T, n_inputs) ->
    all hidden states (N, T, n_hidden), from h_0 = 0 with
    ``h_t = tanh(x_t weights_input + h_{t-1} weights_hidden + biases)``.

    weights_input (n_inputs, n_hidden) start Glorot-uniform, weights_hidden
    (n_hidden, n_hidden) orthogonal, biases (n_hidden,) at zero; ``rng`` a
    seed or Generator. Backward is backpropagation through time.
    """

    def __init__(self, n_inputs: int, n_hidden: int, rng=None,
                 dtype=DEFAULT_DTYPE):
        self.n_inputs = check_count("n_inputs", n_inputs)
        self.n_hidden = check_count("n_hidden", n_hidden)
        self.dtype = check_float_dtype(dtype)
        rng = check_rng(rng)
        self.weights_input = glorot_uniform(
            self.n_inputs, self.n_hidden, rng).astype(self.dtype)
        self.weights_hidden = orthogonal(self.n_hidden, rng).astype(
            self.dtype)
        self.biases = np.zeros(self.n_hidden, dtype=self.dtype)
        self.inputs = self.output = None
        self.dweights_input = self.dweights_hidden = self.dbiases = None

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, T, n_inputs) -> (N, T, n_hidden), every step's state."""
        inputs = check_batch(inputs, dtype=self.dtype, ndim=3)
        if inputs.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must have {self.n_inputs} features "
                             f"(axis 2), got shape {inputs.shape}")
        n, steps, _ = inputs.shape
        shares = inputs @ self.weights_input     # x_t W_x, all steps at once
        shares += self.biases
        states = np.empty((n, steps, self.n_hidden), dtype=self.dtype)
        h = np.zeros((n, self.n_hidden), dtype=self.dtype)
        for t in range(steps):
            a = shares[:, t]
            a += h @ self.weights_hidden
            h = np.tanh(a, out=states[:, t])
        self.inputs, self.output = inputs, states
        return states

    def backward(self, dvalues: np.ndarray) -> np.ndarray | None:
        """dL/d(states) (N, T, n_hidden) -> dL/d(inputs) (N, T, n_inputs);
        sets the three parameters' gradients."""
        dstates = check_dvalues(self, dvalues).astype(self.dtype,
                                                      copy=False)
        states, n_hidden = self.output, self.n_hidden
        deltas = np.empty_like(states)           # dL/da_t
        carried = np.zeros_like(states[:, 0])    # delta_{t+1} W_h^T
        for t in range(states.shape[1] - 1, -1, -1):
            delta = np.add(dstates[:, t], carried, out=deltas[:, t])
            delta *= 1 - states[:, t] ** 2
            carried = delta @ self.weights_hidden.T
        rows = deltas.reshape(-1, n_hidden)      # all N T steps
        previous = states[:, :-1].reshape(-1, n_hidden)   # h_1 .. h_{T-1}
        self.dweights_hidden = (previous.T
                                @ deltas[:, 1:].reshape(-1, n_hidden))
        self.dweights_input = (self.inputs.reshape(-1, self.n_inputs).T
                               @ rows)
        self.dbiases = rows.sum(axis=0)
        self.dinputs = (deltas @ self.weights_input.T
                        if self.needs_input_gradient else None)
        return self.dinputs

    # %% chapters/13-recurrence.md cell 6
    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights_input": self.weights_input,
                "weights_hidden": self.weights_hidden, "biases": self.biases}

    # %% chapters/13-recurrence.md cell 6
    def gradients(self) -> dict[str, np.ndarray]:
        return {"weights_input": self.dweights_input,
                "weights_hidden": self.dweights_hidden,
                "biases": self.dbiases}

    # %% chapters/13-recurrence.md cell 6
    def get_config(self) -> dict:
        return {"n_inputs": self.n_inputs, "n_hidden": self.n_hidden,
                "dtype": self.dtype.name}

    # %% chapters/13-recurrence.md cell 6
    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shapes of the parameters for ``config``, known without
        building the layer."""
        n_inputs = check_count("n_inputs", config["n_inputs"])
        n_hidden = check_count("n_hidden", config["n_hidden"])
        return {"weights_input": (n_inputs, n_hidden),
                "weights_hidden": (n_hidden, n_hidden), "biases": (n_hidden,)}


# %% chapters/13-recurrence.md cell 16
IGNORE_INDEX = -1   # the target of a padded position: no loss counts it


def padded_sequences(words, vocab: CharVocabulary,
                     length: int | None = None):
    """Words as rows of tokens for a model that reads them left to right:
    inputs (N, T) int64 are END and then the word's tokens, targets (N, T)
    the word's tokens and then END, so the target at step t is the input
    at step t + 1. Rows are padded on the right to T = ``length`` (default:
    the longest word + 1), inputs with END and targets with
    IGNORE_INDEX."""
    encoded = [vocab.encode(word) for word in words]
    if not encoded:
        raise ValueError("words is empty: expected at least one word")
    longest = max(len(tokens) for tokens in encoded) + 1
    length = longest if length is None else check_count("length", length)
    if length < longest:
        raise ValueError(f"length must be at least the longest word + 1 = "
                         f"{longest}, got {length}")
    end = vocab.stoi[END]
    inputs = np.full((len(encoded), length), end, dtype=np.int64)
    targets = np.full((len(encoded), length), IGNORE_INDEX, dtype=np.int64)
    for row, tokens in enumerate(encoded):
        inputs[row, 1:len(tokens) + 1] = tokens
        targets[row, :len(tokens)] = tokens
        targets[row, len(tokens)] = end
    return inputs, targets


# %% chapters/13-recurrence.md cell 18
def sequence_cross_entropy(logits, targets,
                           ignore_index: int = IGNORE_INDEX):
    """The mean cross-entropy of softmax(``logits``) (N, T, V) against
    integer ``targets`` (N, T), over the positions whose target is not
    ``ignore_index`` (torch's F.cross_entropy with ignore_index); returns
    (loss, dL/dlogits), the gradient 0 at the ignored positions."""
    logits, targets = np.asarray(logits), np.asarray(targets)
    if logits.ndim != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"expected logits (N, T, V) and targets (N, T), "
                         f"got {logits.shape} and {targets.shape}")
    counted = targets != ignore_index
    n_counted = int(counted.sum())
    if n_counted == 0:
        raise ValueError("every target is ignored: nothing to average")
    labels = np.where(counted, targets, 0)[..., None]
    if labels.min() < 0 or labels.max() >= logits.shape[2]:
        raise ValueError(f"targets must be token indices from 0 to "
                         f"{logits.shape[2] - 1}, or {ignore_index}")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1,
                                                     keepdims=True))
    picked = np.take_along_axis(log_probs, labels, axis=-1)[..., 0]
    loss = -float(picked[counted].sum()) / n_counted
    dlogits = np.exp(log_probs)
    np.put_along_axis(dlogits, labels,
                      np.take_along_axis(dlogits, labels, axis=-1) - 1,
                      axis=-1)
    dlogits *= counted[..., None] / n_counted
    return loss, dlogits
