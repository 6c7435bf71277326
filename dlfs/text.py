"""Text as tokens: a character vocabulary, (context, next token) pairs, sampling with a
temperature, and the Embedding layer.

Generated from chapters/12-language-models.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['END', 'CharVocabulary', 'context_windows', 'with_temperature', 'sample', 'Embedding']

# %% chapters/12-language-models.md cell 1
# dlfs.text: text as tokens: a character vocabulary, (context, next token)
# pairs, sampling with a temperature, and the Embedding layer.
import numpy as np

from dlfs.layers import DEFAULT_DTYPE, Layer
from dlfs.validation import (check_count, check_dvalues, check_float_dtype,
                             check_real, check_rng)


# %% chapters/12-language-models.md cell 5
END = "."   # the token that ends a name, and pads the context before it


class CharVocabulary:
    """The characters of ``words`` as tokens 1, 2, ... (in sorted order),
    and ``END`` as token 0. ``encode(word)`` gives a list of tokens,
    ``decode(tokens)`` the string back; ``len(vocab)`` counts the tokens."""

    def __init__(self, words):
        chars = sorted(set("".join(words)))
        if END in chars:
            raise ValueError(f"the words must not contain the end token "
                             f"{END!r}")
        self.itos = [END, *chars]
        self.stoi = {char: i for i, char in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, word: str) -> list[int]:
        unknown = sorted(set(word) - set(self.stoi))
        if unknown:
            raise ValueError(f"{word!r} holds characters that are not in "
                             f"the vocabulary: {unknown}")
        return [self.stoi[char] for char in word]

    def decode(self, tokens) -> str:
        return "".join(self.itos[int(token)] for token in tokens)


def context_windows(words, vocab: CharVocabulary, context: int):
    """Every (context, next token) pair of ``words``: X int64 (N, context),
    y int64 (N,). Each word is padded on the left with ``context`` END
    tokens and closed by one, so "ab" with context 2 gives
    (.., a), (.a, b), (ab, .)."""
    context = check_count("context", context)
    X, y = [], []
    for word in words:
        tokens = [0] * context + vocab.encode(word) + [0]
        for t in range(context, len(tokens)):
            X.append(tokens[t - context:t])
            y.append(tokens[t])
    return (np.array(X, dtype=np.int64).reshape(-1, context),
            np.array(y, dtype=np.int64))


# %% chapters/12-language-models.md cell 10
def with_temperature(probs, temperature: float) -> np.ndarray:
    """Probabilities (..., V) raised to 1 / ``temperature`` and
    normalised again: softmax(ln p / T) along the last axis."""
    temperature = check_real("temperature", temperature, above=0)
    with np.errstate(divide="ignore"):           # ln 0 = -inf stays 0
        scores = np.log(np.asarray(probs, dtype=np.float64)) / temperature
    scores -= scores.max(axis=-1, keepdims=True)
    scaled = np.exp(scores)
    return scaled / scaled.sum(axis=-1, keepdims=True)


def sample(next_probabilities, vocab: CharVocabulary, n: int, context: int,
           temperature: float = 1.0, rng=None,
           max_length: int = 30) -> list[str]:
    """``n`` words written token by token. ``next_probabilities(X)`` maps
    contexts X (B, ``context``) of token ids to probabilities (B, V) of the
    next token (``model.predict``, say). Each word starts from END tokens
    and stops at END, or after ``max_length`` tokens; each draw takes one
    number from ``rng`` (a seed or Generator), so a seed fixes the words."""
    n, context = check_count("n", n), check_count("context", context)
    max_length, rng = check_count("max_length", max_length), check_rng(rng)
    windows = np.zeros((n, context), dtype=np.int64)
    words, alive = [[] for _ in range(n)], np.arange(n)
    for _ in range(max_length):
        probs = with_temperature(next_probabilities(windows[alive]),
                                 temperature)
        cumulative = np.cumsum(probs, axis=1)
        draws = rng.random((len(alive), 1)) * cumulative[:, -1:]
        tokens = np.minimum((cumulative < draws).sum(axis=1), len(vocab) - 1)
        for row, token in zip(alive, tokens):
            if token:
                words[row].append(token)
        windows[alive] = np.column_stack([windows[alive, 1:], tokens])
        alive = alive[tokens != 0]
        if not len(alive):
            break
    return [vocab.decode(word) for word in words]


# %% chapters/12-language-models.md cell 15
class Embedding(Layer):
    """A learned vector of ``dim`` numbers per token: token indices of any
    shape (N, ...) -> (N, ..., dim), by gathering rows of ``weights``
    (vocab_size, dim), drawn from N(0, 1) by ``rng``. Indices must be
    integers in [0, vocab_size): negative ones are refused, not wrapped.
    Backward sums the gradients of repeated tokens (scatter-add); the
    indices get no gradient."""

    takes_indices = True        # Model keeps its inputs integers
    ONE_HOT_LIMIT = 2**22       # scatter by a one-hot product up to this

    def __init__(self, vocab_size: int, dim: int, rng=None,
                 dtype=DEFAULT_DTYPE):
        self.vocab_size = check_count("vocab_size", vocab_size)
        self.dim = check_count("dim", dim)
        self.dtype = check_float_dtype(dtype)
        self.weights = check_rng(rng).standard_normal(
            (self.vocab_size, self.dim)).astype(self.dtype)
        self.indices = self.output = self.dweights = None

    def check_indices(self, inputs, name: str = "inputs") -> np.ndarray:
        """``inputs`` as an integer array (N, ...), N >= 1, of indices in
        [0, vocab_size); TypeError or ValueError naming ``name``."""
        indices = np.asarray(inputs)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer token indices, got "
                            f"dtype {indices.dtype}")
        if indices.ndim == 0 or indices.size == 0:
            raise ValueError(f"{name} must be a non-empty batch (N, ...) "
                             f"of token indices, got shape {indices.shape}")
        low, high = indices.min(), indices.max()
        if low < 0 or high >= self.vocab_size:
            raise ValueError(f"{name} must hold token indices from 0 to "
                             f"{self.vocab_size - 1}, got values from {low}"
                             f" to {high}")
        return indices

    def forward(self, inputs, training: bool = False) -> np.ndarray:
        """Indices (N, ...) -> vectors (N, ..., dim)."""
        self.indices = self.check_indices(inputs)
        self.output = self.weights[self.indices]
        return self.output

    def backward(self, dvalues: np.ndarray) -> None:
        """dL/d(outputs) (N, ..., dim) -> dweights, summed over repeated
        tokens; returns None (indices have no gradient)."""
        dvalues = check_dvalues(self, dvalues).astype(self.dtype, copy=False)
        flat, rows = self.indices.ravel(), dvalues.reshape(-1, self.dim)
        if flat.size * self.vocab_size <= self.ONE_HOT_LIMIT:
            hot = np.zeros((flat.size, self.vocab_size), dtype=self.dtype)
            hot[np.arange(flat.size), flat] = 1
            self.dweights = hot.T @ rows
        else:
            self.dweights = np.zeros_like(self.weights)
            np.add.at(self.dweights, flat, rows)
        self.dinputs = None
        return None

    # %% chapters/12-language-models.md cell 16
    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    # %% chapters/12-language-models.md cell 16
    def gradients(self) -> dict[str, np.ndarray]:
        return {"weights": self.dweights}

    # %% chapters/12-language-models.md cell 16
    def get_config(self) -> dict:
        return {"vocab_size": self.vocab_size, "dim": self.dim,
                "dtype": self.dtype.name}

    # %% chapters/12-language-models.md cell 16
    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shape of ``weights`` for ``config``, known without building."""
        return {"weights": (check_count("vocab_size", config["vocab_size"]),
                            check_count("dim", config["dim"]))}
