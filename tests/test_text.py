"""dlfs.text and the names of dlfs.data (chapter 12): Embedding against PyTorch, its refusals,
saving, the names split, and Model.fit on integer token inputs.

Embedding must agree with ``torch.nn.functional.embedding`` (float64, autograd) to a relative
error of 1e-10 over hypothesis-drawn shapes, (N,) and (N, T) indices with repeats, a vocabulary
of 2 and T = 1 included, through both of its scatter-adds (the one-hot product and np.add.at).
The wrong scatter ``dW[idx] += g`` is fed through the same comparison and must fail it.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dlfs import (Adam, CategoricalCrossEntropy, Dense, Dropout, Flatten, Model, Softmax, Tanh,
                  load, save)
from dlfs.data import NAME_SPLIT_SEED, load_names, name_splits
from dlfs.text import END, CharVocabulary, Embedding, context_windows, sample, with_temperature

from oracle import FAST, TOLERANCE, error, import_torch, seeds

torch = import_torch()
F = torch.nn.functional


def embedding_errors(layer, indices: np.ndarray, dvalues: np.ndarray) -> dict[str, float]:
    """dlfs ``layer`` against F.embedding: the output and dL/d(weights) for upstream ``dvalues``."""
    weights = torch.tensor(layer.weights.copy(), dtype=torch.float64, requires_grad=True)
    expected = F.embedding(torch.tensor(indices), weights)
    expected.backward(gradient=torch.tensor(dvalues))
    output = layer.forward(indices)
    returned = layer.backward(dvalues)
    assert returned is None and layer.dinputs is None      # indices have no gradient
    return {"output": error(output, expected), "weights": error(layer.dweights, weights.grad)}


def draw_case(vocab_size, batch, steps, dim, seed, flat):
    rng = np.random.default_rng(seed)
    layer = Embedding(vocab_size, dim, rng=rng, dtype=np.float64)
    shape = (batch,) if flat else (batch, steps)
    # few distinct tokens for many positions: repeats are the rule, not the exception
    indices = rng.integers(0, vocab_size, size=shape)
    dvalues = rng.standard_normal((*shape, dim))
    return layer, indices, dvalues


cases = dict(vocab_size=st.integers(2, 40), batch=st.integers(1, 32), steps=st.integers(1, 8),
             dim=st.integers(1, 16), seed=seeds, flat=st.booleans(),
             one_hot=st.booleans())


@FAST
@given(**cases)
@example(vocab_size=2, batch=1, steps=1, dim=1, seed=0, flat=False, one_hot=True)
@example(vocab_size=2, batch=32, steps=1, dim=3, seed=1, flat=False, one_hot=False)
@example(vocab_size=2, batch=17, steps=8, dim=4, seed=2, flat=True, one_hot=True)
def test_embedding_matches_torch(vocab_size, batch, steps, dim, seed, flat, one_hot):
    layer, indices, dvalues = draw_case(vocab_size, batch, steps, dim, seed, flat)
    if not one_hot:
        layer.ONE_HOT_LIMIT = 0                    # this layer scatters with np.add.at
    errors = embedding_errors(layer, indices, dvalues)
    too_large = {k: f"{v:.1e}" for k, v in errors.items() if not v <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


class WrongScatter(Embedding):
    """The tempting one-liner: a fancy-indexed += keeps one term per repeated index."""

    def backward(self, dvalues):
        self.dweights = np.zeros_like(self.weights)
        self.dweights[self.indices.ravel()] += np.asarray(dvalues).reshape(-1, self.dim)
        self.dinputs = None
        return None


def test_the_wrong_scatter_is_caught():
    rng = np.random.default_rng(0)
    layer = WrongScatter(2, 3, rng=rng, dtype=np.float64)
    indices = np.array([[0, 1, 1], [1, 0, 1]])
    errors = embedding_errors(layer, indices, rng.standard_normal((2, 3, 3)))
    assert errors["output"] <= TOLERANCE
    assert errors["weights"] > 1e4 * TOLERANCE, f"the oracle missed dW[idx] += g: {errors}"


@pytest.mark.parametrize("bad, kind, says", [
    (np.array([[0, 5]]), ValueError, "from 0 to 4, got values from 0 to 5"),
    (np.array([[-1, 2]]), ValueError, "from 0 to 4, got values from -1 to 2"),
    (np.array([[0.0, 1.0]]), TypeError, "integer token indices"),
    (np.array(3), ValueError, "non-empty batch"),
    (np.zeros((0, 3), dtype=int), ValueError, "non-empty batch"),
    (np.zeros((2, 0), dtype=int), ValueError, "non-empty batch"),   # no tokens, though N = 2
])
def test_embedding_refuses_indices_it_cannot_read(bad, kind, says):
    with pytest.raises(kind, match=f"inputs.*{says}"):
        Embedding(5, 2, rng=0).forward(bad)


def test_embedding_arguments_and_dtype():
    layer = Embedding(5, 3, rng=0)
    assert layer.weights.dtype == np.float32 and layer.parameters()["weights"].shape == (5, 3)
    assert layer(np.array([[1, 2]], dtype=np.uint8)).dtype == np.float32
    assert Embedding.array_shapes(layer.get_config()) == {"weights": (5, 3)}
    with pytest.raises(ValueError, match="vocab_size"):
        Embedding(0, 3)
    with pytest.raises(TypeError, match="dtype"):
        Embedding(5, 3, dtype=np.int32)


def language_model(vocab_size=6, context=3, dim=4, seed=0, dtype=np.float32):
    return Model([Embedding(vocab_size, dim, rng=seed, dtype=dtype), Flatten(),
                  Dense(context * dim, 8, rng=seed + 1, dtype=dtype), Tanh(),
                  Dense(8, vocab_size, rng=seed + 2, dtype=dtype), Softmax()],
                 loss=CategoricalCrossEntropy(), optimizer=Adam(learning_rate=0.01))


def token_data(n=200, vocab_size=6, context=3, seed=0):
    """Contexts whose next token is a function of the last one, so there is something to learn."""
    X = np.random.default_rng(seed).integers(0, vocab_size, (n, context))
    return X, (X[:, -1] + 1) % vocab_size


def test_model_fit_trains_from_integer_tokens():
    X, y = token_data()
    model = language_model()
    assert model.check_data(X) is not None and model.check_data(X).dtype == X.dtype   # kept integer
    history = model.fit(X, y, epochs=20, batch_size=32, rng=0, verbose=0, validation_data=(X, y))
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert model.evaluate(X, y)["accuracy"] == 1.0
    assert model.predict(X).shape == (len(X), 6) and model.layers[0].weights.dtype == np.float32


def test_model_with_embedding_refuses_bad_tokens_before_training():
    X, y = token_data()
    model = language_model()
    before = model.get_weights()
    with pytest.raises(TypeError, match="X must hold integer token indices"):
        model.fit(X.astype(np.float32), y, epochs=1, verbose=0)
    X_bad = X.copy()
    X_bad[150, 1] = 6                                  # a row that one-row checks would not see
    with pytest.raises(ValueError, match="X must hold token indices from 0 to 5"):
        model.fit(X_bad, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation X must hold token indices"):
        model.fit(X, y, epochs=1, verbose=0, validation_data=(-X, y))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_float_model_still_casts_its_inputs():
    model = Model([Dense(3, 2, rng=0), Softmax()], loss=CategoricalCrossEntropy())
    assert model.check_data(np.array([[1, 2, 3]])).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_of_a_language_model(tmp_path, dtype):
    X, y = token_data()
    model = language_model(dtype=dtype)
    model.fit(X, y, epochs=2, batch_size=32, rng=0, verbose=0)
    save(model, tmp_path / "lm.npz")
    loaded = load(tmp_path / "lm.npz")
    assert type(loaded.layers[0]) is Embedding and loaded.layers[0].weights.dtype == dtype
    assert np.array_equal(loaded.predict(X), model.predict(X))
    # training goes on identically from the file (the optimizer's state is saved too)
    model.fit(X, y, epochs=1, batch_size=32, rng=1, verbose=0)
    loaded.fit(X, y, epochs=1, batch_size=32, rng=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))


def test_a_file_with_the_wrong_table_shape_is_refused(tmp_path):
    model = language_model()
    save(model, tmp_path / "lm.npz")
    with np.load(tmp_path / "lm.npz") as archive:
        arrays = dict(archive)
    arrays["0.weights"] = np.zeros((7, 4), dtype=np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"Embedding\) needs weights of shape \(6, 4\)"):
        load(tmp_path / "bad.npz")


def test_the_names_split_is_deterministic_disjoint_and_complete():
    train, validation, test = name_splits()
    again = name_splits()
    assert (train, validation, test) == again
    assert NAME_SPLIT_SEED == 2026
    assert not (set(train) & set(validation) or set(train) & set(test) or set(validation) & set(test))
    names = load_names()
    assert sorted(train + validation + test) == names and len(names) == 5163
    assert (len(train), len(validation), len(test)) == (4130, 516, 517)
    assert all(name.isalpha() and name.islower() for name in names)
    assert len(load_names("last")) == 88799
    with pytest.raises(ValueError, match="kind"):
        load_names("middle")


def test_vocabulary_and_context_windows():
    vocab = CharVocabulary(["ab", "ba", "c"])
    assert vocab.itos == [END, "a", "b", "c"] and len(vocab) == 4
    assert vocab.decode(vocab.encode("cab")) == "cab"
    X, y = context_windows(["ab"], vocab, 2)
    assert X.tolist() == [[0, 0], [0, 1], [1, 2]] and y.tolist() == [1, 2, 0]
    assert X.dtype == y.dtype == np.int64
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("abd")
    with pytest.raises(ValueError, match="end token"):
        CharVocabulary(["a.b"])


def test_sampling_is_reproducible_and_follows_the_model():
    vocab = CharVocabulary(["ab"])
    # after END: always "a"; after "a": "b"; after "b": END
    table = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)
    words = sample(lambda X: table[X[:, -1]], vocab, 5, context=1, rng=0)
    assert words == ["ab"] * 5
    uniform = lambda X: np.full((len(X), 3), 1 / 3)  # noqa: E731
    assert sample(uniform, vocab, 20, 2, rng=3) == sample(uniform, vocab, 20, 2, rng=3)
    assert all(len(w) <= 4 for w in sample(uniform, vocab, 50, 2, rng=1, max_length=4))


def test_temperature():
    p = np.array([0.7, 0.2, 0.1, 0.0])
    assert np.allclose(with_temperature(p, 1.0), p)
    assert np.allclose(with_temperature(p, 0.5), p**2 / (p**2).sum())
    assert with_temperature(p, 1e-3)[0] > 0.999 and with_temperature(p, 5.0)[3] == 0
    with pytest.raises(ValueError, match="temperature"):
        with_temperature(p, 0)


def test_dropout_after_embedding_keeps_working():
    X, y = token_data()
    model = Model([Embedding(6, 4, rng=0), Dropout(0.1, rng=0), Flatten(), Dense(12, 6, rng=1),
                   Softmax()], loss=CategoricalCrossEntropy(), optimizer=Adam(learning_rate=0.01))
    history = model.fit(X, y, epochs=3, batch_size=32, rng=0, verbose=0)
    assert np.isfinite(history["loss"]).all()
