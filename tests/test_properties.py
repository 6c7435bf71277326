"""Properties that must hold for every input, checked with hypothesis.

Softmax stays a probability distribution for huge logits; cross-entropy stays finite when the
predicted probabilities are exactly 0 or 1; Dense.backward is linear in the upstream gradient;
Model.predict does not depend on the batch size it is called with.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dlfs
from oracle import FAST, seeds, sizes

FLOAT_DTYPES = [np.float32, np.float64]
small_sizes = st.integers(min_value=1, max_value=16)


# --------------------------------------------------------------------------------------------
# Softmax
# --------------------------------------------------------------------------------------------

@st.composite
def huge_logits(draw, dtype):
    """(N, C) logits anywhere in [-1e4, 1e4], representable in ``dtype``."""
    shape = (draw(st.integers(1, 32)), draw(sizes))
    width = 32 if dtype == np.float32 else 64
    return draw(arrays(dtype, shape, elements=st.floats(-1e4, 1e4, width=width)))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@FAST
@given(data=st.data())
def test_softmax_rows_are_distributions_for_huge_logits(dtype, data):
    logits = data.draw(huge_logits(dtype), label="logits")
    softmax = dlfs.Softmax()
    probs = softmax.forward(logits)
    assert probs.dtype == dtype
    assert not np.isnan(probs).any()
    assert ((probs >= 0) & (probs <= 1)).all()
    # summing C numbers each carrying a rounding error of a few ulps
    tolerance = 2 * (logits.shape[1] + 2) * np.finfo(dtype).eps
    assert np.abs(probs.sum(axis=1) - 1).max() <= tolerance
    dinputs = softmax.backward(np.ones_like(probs))
    assert np.isfinite(dinputs).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("row", [[1e4, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4], [-1e4, 0.0, 1e4], [1e4]])
def test_softmax_of_extreme_rows(dtype, row):
    """Rows an overflowing exp() would turn into inf / inf = NaN: the largest entries share the mass."""
    logits = np.array([row], dtype=dtype)
    probs = dlfs.Softmax().forward(logits)
    largest = logits == logits.max()
    np.testing.assert_allclose(probs, largest / largest.sum(), rtol=0, atol=np.finfo(dtype).eps)


# --------------------------------------------------------------------------------------------
# Cross-entropy at probabilities exactly 0 and 1
# --------------------------------------------------------------------------------------------

@st.composite
def one_hot_predictions(draw, dtype):
    """Predicted probabilities (N, C) that are exactly 0 or 1 (one 1 per row) and labels (N,)."""
    n, c = draw(small_sizes), draw(small_sizes)
    predicted = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return np.eye(c, dtype=dtype)[predicted], labels


def assert_finite_like(array: np.ndarray, like: np.ndarray) -> None:
    assert array.shape == like.shape and array.dtype == like.dtype
    assert np.isfinite(array).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("labels_as", ["integer", "one-hot"])
@FAST
@given(data=st.data())
def test_categorical_cross_entropy_is_finite_at_0_and_1(dtype, labels_as, data):
    probs, labels = data.draw(one_hot_predictions(dtype))
    y_true = labels if labels_as == "integer" else np.eye(probs.shape[1], dtype=np.int64)[labels]
    loss = dlfs.CategoricalCrossEntropy()
    per_sample = loss.forward(probs, y_true)
    assert np.isfinite(per_sample).all()
    # clipping at eps bounds the loss of a confidently wrong prediction by -log(eps)
    assert (per_sample >= 0).all() and (per_sample <= -np.log(loss.epsilon) * (1 + 1e-6)).all()
    assert np.isfinite(loss.calculate(probs, y_true))
    assert_finite_like(loss.backward(probs, y_true), probs)

    fused = dlfs.softmax_cross_entropy_backward(probs, y_true)
    assert_finite_like(fused, probs)
    # (probs - Y) / N: rows of two distributions' difference sum to zero
    np.testing.assert_allclose(fused.sum(axis=1), 0, atol=np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@FAST
@given(data=st.data())
def test_binary_cross_entropy_is_finite_at_0_and_1(dtype, data):
    shape = (data.draw(small_sizes), data.draw(small_sizes))
    probs = data.draw(arrays(dtype, shape, elements=st.sampled_from([0.0, 1.0])), label="probs")
    targets = data.draw(arrays(np.int64, shape, elements=st.sampled_from([0, 1])), label="targets")
    loss = dlfs.BinaryCrossEntropy()
    per_sample = loss.forward(probs, targets)
    assert np.isfinite(per_sample).all()
    assert (per_sample >= 0).all() and (per_sample <= -np.log(loss.epsilon) * (1 + 1e-6)).all()
    assert np.isfinite(loss.calculate(probs, targets))
    assert_finite_like(loss.backward(probs, targets), probs)


# --------------------------------------------------------------------------------------------
# Dense.backward is linear in the upstream gradient
# --------------------------------------------------------------------------------------------

# Zero, or away from zero: subnormal coefficients (5e-324) lose precision in a*g and would make the
# comparison meaningless, not the layer wrong.
coefficients = st.one_of(st.just(0.0), st.floats(1e-3, 10), st.floats(-10, -1e-3))


@FAST
@given(batch=sizes, n_inputs=sizes, n_neurons=sizes, seed=seeds, a=coefficients, b=coefficients)
@example(batch=1, n_inputs=1, n_neurons=1, seed=0, a=2.0, b=-3.0)
def test_dense_backward_is_linear_in_the_upstream_gradient(batch, n_inputs, n_neurons, seed, a, b):
    rng = np.random.default_rng(seed)
    layer = dlfs.Dense(n_inputs, n_neurons, rng=rng, dtype=np.float64)
    layer.forward(rng.standard_normal((batch, n_inputs)))
    g1, g2 = rng.standard_normal((2, batch, n_neurons))

    def gradients(dvalues):
        layer.backward(dvalues)
        return {"dinputs": layer.dinputs.copy(), "dweights": layer.dweights.copy(), "dbiases": layer.dbiases.copy()}

    combined, first, second = gradients(a * g1 + b * g2), gradients(g1), gradients(g2)
    for name in combined:
        expected = a * first[name] + b * second[name]
        scale = np.abs(a * first[name]).max() + np.abs(b * second[name]).max()
        np.testing.assert_allclose(combined[name], expected, rtol=1e-12, atol=1e-12 * scale, err_msg=name)


# --------------------------------------------------------------------------------------------
# Model.predict does not depend on its batch size
# --------------------------------------------------------------------------------------------

HEADS = {"softmax": dlfs.Softmax, "sigmoid": dlfs.Sigmoid, "linear": None}


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)], ids=["float64", "float32"])
@FAST
@given(n_rows=sizes, n_features=small_sizes, hidden=st.integers(1, 32), n_outputs=small_sizes,
       head=st.sampled_from(sorted(HEADS)), seed=seeds, data=st.data())
@example(n_rows=1, n_features=1, hidden=1, n_outputs=1, head="linear", seed=0, data=None)
def test_predict_does_not_depend_on_batch_size(dtype, rtol, n_rows, n_features, hidden, n_outputs, head,
                                               seed, data):
    rng = np.random.default_rng(seed)
    layers = [dlfs.Dense(n_features, hidden, init="he", rng=rng, dtype=dtype), dlfs.ReLU(),
              dlfs.Dense(hidden, n_outputs, rng=rng, dtype=dtype)]
    if HEADS[head] is not None:
        layers.append(HEADS[head]())
    model = dlfs.Model(layers)
    X = rng.standard_normal((n_rows, n_features))
    whole = model.predict(X, batch_size=n_rows)
    batch_size = 1 if data is None else data.draw(st.integers(1, n_rows + 3), label="batch_size")
    in_batches = model.predict(X, batch_size=batch_size)
    assert whole.shape == in_batches.shape == (n_rows, n_outputs)
    assert in_batches.dtype == dtype
    # relative to each value, plus the same relative slack on the output's scale (for values near 0)
    np.testing.assert_allclose(in_batches, whole, rtol=rtol, atol=rtol * np.abs(whole).max())
