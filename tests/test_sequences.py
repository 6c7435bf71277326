"""Sequences in the framework (issue 26, point 6): Dense, cross-entropy and accuracy on (N, T, ...).

A language model predicts at every position: ``Dense`` acts on the last axis of (N, T, C) inputs,
``CategoricalCrossEntropy`` takes probabilities (N, T, V) with labels (N, T) or one-hot (N, T, V)
and averages over all N * T positions (so does its fused softmax gradient), and ``accuracy``
counts every position. Each is compared with PyTorch in float64 to 1e-10 over shapes drawn by
hypothesis that include T = 1 and a vocabulary of 2; each comparison is shown to catch a
deliberately wrong variant ("mutant"). For 2-D inputs nothing changes (the chapters' stored
outputs check that bit for bit); here the 3-D path equals the 2-D path on the flattened rows
exactly. The last tests train a tiny sequence model end to end with ``Model.fit``.

Without torch the comparisons are skipped; with the CI environment variable set they fail.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dlfs
from dlfs.text import Embedding
from oracle import FAST, TOLERANCE, error, import_torch, seeds

torch = import_torch()
F = torch.nn.functional
DTYPE = np.float64

batches = st.integers(min_value=1, max_value=6)
steps = st.integers(min_value=1, max_value=7)          # T = 1 included
widths = st.integers(min_value=1, max_value=12)
vocabularies = st.integers(min_value=2, max_value=12)  # a vocabulary of 2 included


def assert_all_small(errors: dict[str, float]) -> None:
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


def assert_caught(errors: dict[str, float], target: str) -> None:
    """The mutant's error is far above TOLERANCE: the comparison above would report it."""
    assert errors[target] > 1e4 * TOLERANCE, f"the comparison missed the mutant: {errors}"


# --------------------------------------------------------------------------------------------
# Dense on (N, T, n_inputs) and (N, A, B, n_inputs) against torch.nn.Linear
# --------------------------------------------------------------------------------------------

def linear_errors(layer_class, leading: tuple[int, ...], n_inputs: int, n_neurons: int,
                  seed: int) -> dict[str, float]:
    """dlfs Dense against torch.nn.Linear with the same weights (torch stores the transpose), on
    inputs (*leading, n_inputs); forward, dL/d(inputs), dL/dW and dL/db for a random upstream
    gradient."""
    rng = np.random.default_rng(seed)
    layer = layer_class(n_inputs, n_neurons, rng=rng, dtype=DTYPE)
    layer.biases[...] = rng.standard_normal(layer.biases.shape)  # zero biases would hide mistakes
    inputs = rng.standard_normal((*leading, n_inputs))
    dvalues = rng.standard_normal((*leading, n_neurons))
    linear = torch.nn.Linear(n_inputs, n_neurons, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.weights.T.copy()))
        linear.bias.copy_(torch.from_numpy(layer.biases.ravel().copy()))
    x = torch.tensor(inputs, requires_grad=True)
    expected = linear(x)
    expected.backward(gradient=torch.from_numpy(dvalues))
    output = layer.forward(inputs)
    dinputs = layer.backward(dvalues)
    assert output.shape == (*leading, n_neurons) and dinputs.shape == inputs.shape
    return {"output": error(output, expected), "inputs": error(dinputs, x.grad),
            "weights": error(layer.dweights, linear.weight.grad.T),
            "biases": error(layer.dbiases.ravel(), linear.bias.grad)}


@FAST
@given(n=batches, t=steps, extra=st.sampled_from([(), (2,)]), n_inputs=widths, n_neurons=widths,
       seed=seeds)
@example(n=1, t=1, extra=(), n_inputs=1, n_neurons=1, seed=0)
@example(n=3, t=1, extra=(), n_inputs=5, n_neurons=2, seed=1)
@example(n=2, t=7, extra=(2,), n_inputs=3, n_neurons=4, seed=2)
def test_dense_on_sequences_matches_torch_linear(n, t, extra, n_inputs, n_neurons, seed):
    assert_all_small(linear_errors(dlfs.Dense, (n, t, *extra), n_inputs, n_neurons, seed))


class DenseLastStepWeights(dlfs.Dense):
    """dL/dW from the last time step only, as if the sequence were one example."""

    def backward(self, dvalues):
        super().backward(dvalues)
        self.dweights = self.inputs[:, -1].T @ dvalues[:, -1]
        return self.dinputs


class DenseBiasOverExamplesOnly(dlfs.Dense):
    """dL/db summed over N at the first position only."""

    def backward(self, dvalues):
        super().backward(dvalues)
        self.dbiases = dvalues[:, 0].sum(axis=0, keepdims=True)
        return self.dinputs


class DenseMixesPositions(dlfs.Dense):
    """dL/d(inputs) with the time axis reversed: right numbers, wrong positions."""

    def backward(self, dvalues):
        super().backward(dvalues)
        self.dinputs = self.dinputs[:, ::-1]
        return self.dinputs


@pytest.mark.parametrize("mutant, target", [
    (DenseLastStepWeights, "weights"),
    (DenseBiasOverExamplesOnly, "biases"),
    (DenseMixesPositions, "inputs"),
])
def test_the_linear_comparison_catches_a_wrong_dense(mutant, target):
    assert_caught(linear_errors(mutant, (4, 3), 5, 2, seed=0), target)


@FAST
@given(n=batches, t=steps, n_inputs=widths, n_neurons=widths, seed=seeds)
def test_dense_on_sequences_is_dense_on_their_rows_bit_for_bit(n, t, n_inputs, n_neurons, seed):
    """Each position is one more row: (N, T, C) gives exactly the numbers of its N * T rows."""
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((n, t, n_inputs)).astype(np.float32)
    dvalues = rng.standard_normal((n, t, n_neurons)).astype(np.float32)
    layer = dlfs.Dense(n_inputs, n_neurons, rng=seed)
    layer.biases[...] = rng.standard_normal(layer.biases.shape)
    output = layer.forward(inputs)
    dinputs = layer.backward(dvalues)
    grads = {name: value.copy() for name, value in layer.gradients().items()}
    rows = layer.forward(inputs.reshape(-1, n_inputs))
    drows = layer.backward(dvalues.reshape(-1, n_neurons))
    np.testing.assert_array_equal(output.reshape(-1, n_neurons), rows)
    np.testing.assert_array_equal(dinputs.reshape(-1, n_inputs), drows)
    for name, value in layer.gradients().items():
        np.testing.assert_array_equal(grads[name], value)


def test_dense_takes_sequences_that_are_not_in_c_order():
    """A transposed view (T, N, C) -> (N, T, C), as attention produces, is reshaped by a copy:
    the same numbers as its C-order copy."""
    rng = np.random.default_rng(0)
    view = rng.standard_normal((5, 3, 4)).transpose(1, 0, 2)      # (N=3, T=5, C=4), not C order
    dvalues = rng.standard_normal((3, 5, 2))
    layer = dlfs.Dense(4, 2, rng=0, dtype=DTYPE)
    output, dinputs = layer.forward(view), layer.backward(dvalues)
    dweights = layer.dweights.copy()
    np.testing.assert_array_equal(output, layer.forward(np.ascontiguousarray(view)))
    np.testing.assert_array_equal(dinputs, layer.backward(dvalues))
    np.testing.assert_array_equal(dweights, layer.dweights)


def test_dense_refuses_a_wrong_last_axis_and_a_wrong_gradient_shape():
    layer = dlfs.Dense(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"inputs must have 3 features on the last axis, "
                                         r"got shape \(4, 5, 2\)"):
        layer.forward(np.ones((4, 5, 2)))
    layer.forward(np.ones((4, 5, 3)))
    with pytest.raises(ValueError, match=r"dvalues must have the output's shape \(4, 5, 2\), "
                                         r"got \(20, 2\)"):
        layer.backward(np.ones((20, 2)))


def test_flatten_keeps_working_on_n_k_dim():
    """Embedding's (N, k, dim) output through Flatten is (N, k * dim); backward reshapes back."""
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    flatten = dlfs.Flatten()
    out = flatten.forward(x)
    np.testing.assert_array_equal(out, x.reshape(2, 12))
    back = flatten.backward(np.arange(24.0).reshape(2, 12))
    np.testing.assert_array_equal(back, np.arange(24.0).reshape(2, 3, 4))


# --------------------------------------------------------------------------------------------
# Cross-entropy through Model.backward's fused path against F.cross_entropy on flat logits
# --------------------------------------------------------------------------------------------

def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.int64)[labels]


def sequence_model(n_inputs: int, vocabulary: int, seed: int, loss=None) -> dlfs.Model:
    rng = np.random.default_rng(seed)
    dense = dlfs.Dense(n_inputs, vocabulary, rng=rng, dtype=DTYPE)
    dense.biases[...] = rng.standard_normal(dense.biases.shape)
    return dlfs.Model([dense, dlfs.Softmax()], loss or dlfs.CategoricalCrossEntropy())


def fused_errors(n: int, t: int, n_inputs: int, vocabulary: int, seed: int, labels_as: str,
                 loss=None) -> dict[str, float]:
    """Dense -> Softmax -> CategoricalCrossEntropy on (N, T, n_inputs): Model.forward, then
    Model.backward (the fused softmax-cross-entropy gradient), against torch's Linear and
    F.cross_entropy on the (N * T, V) flattened logits (mean over all positions)."""
    model = sequence_model(n_inputs, vocabulary, seed, loss)
    dense = model.layers[0]
    rng = np.random.default_rng(seed + 1)
    inputs = rng.standard_normal((n, t, n_inputs))
    labels = rng.integers(0, vocabulary, (n, t))
    y_true = labels if labels_as == "integer" else one_hot(labels, vocabulary)
    linear = torch.nn.Linear(n_inputs, vocabulary, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(dense.weights.T.copy()))
        linear.bias.copy_(torch.from_numpy(dense.biases.ravel().copy()))
    x = torch.tensor(inputs, requires_grad=True)
    logits = linear(x).reshape(-1, vocabulary)
    target = (torch.from_numpy(labels.ravel()) if labels_as == "integer"
              else torch.from_numpy(one_hot(labels.ravel(), vocabulary).astype(DTYPE)))
    expected = F.cross_entropy(logits, target)
    expected.backward()
    output = model.forward(inputs)
    assert model.loss.fuses_with(model.layers[-1])
    dinputs = model.backward(output, y_true, need_dinputs=True)
    return {"loss": error(model.loss.calculate(output, y_true), expected),
            "per position": error(model.loss.forward(output, y_true),
                                  F.cross_entropy(logits, target, reduction="none").reshape(n, t)),
            "inputs": error(dinputs, x.grad),
            "weights": error(dense.dweights, linear.weight.grad.T),
            "biases": error(dense.dbiases.ravel(), linear.bias.grad)}


@pytest.mark.parametrize("labels_as", ["integer", "one-hot"])
@FAST
@given(n=batches, t=steps, n_inputs=widths, vocabulary=vocabularies, seed=seeds)
@example(n=1, t=1, n_inputs=1, vocabulary=2, seed=0)
@example(n=4, t=1, n_inputs=3, vocabulary=2, seed=1)
@example(n=1, t=7, n_inputs=5, vocabulary=12, seed=2)
def test_fused_cross_entropy_on_sequences_matches_torch(labels_as, n, t, n_inputs, vocabulary,
                                                        seed):
    assert_all_small(fused_errors(n, t, n_inputs, vocabulary, seed, labels_as))


class CCEFusedMeanOverExamples(dlfs.CategoricalCrossEntropy):
    """The fused gradient divided by N, not by N * T: today's bug before sequences."""

    def fused_backward(self, probs, y_true, check_input=True):
        return super().fused_backward(probs, y_true, check_input) * probs.shape[1]


class CCEMeanOverExamples(dlfs.CategoricalCrossEntropy):
    """The mean loss as a sum over positions, averaged over N only."""

    def calculate(self, y_pred, y_true, check_input=True):
        losses = self.forward(y_pred, y_true, check_input)
        return float(losses.sum() / len(losses))


class CCELastPositionOnly(dlfs.CategoricalCrossEntropy):
    """Only the last position's prediction gets a gradient (mean over N * T kept)."""

    def fused_backward(self, probs, y_true, check_input=True):
        dinputs = super().fused_backward(probs, y_true, check_input)
        dinputs[:, :-1] = 0
        return dinputs


@pytest.mark.parametrize("mutant, target", [
    (CCEFusedMeanOverExamples, "weights"),
    (CCEMeanOverExamples, "loss"),
    (CCELastPositionOnly, "inputs"),
])
def test_the_cross_entropy_comparison_catches_a_wrong_mean(mutant, target):
    assert_caught(fused_errors(3, 4, 5, 6, seed=0, labels_as="integer", loss=mutant()), target)


def test_integer_and_one_hot_sequence_labels_agree_with_the_flat_rows():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=(3, 4))          # (N=3, T=4, V=5)
    labels = rng.integers(0, 5, (3, 4))
    cce = dlfs.CategoricalCrossEntropy()
    flat = cce.backward(probs.reshape(12, 5), labels.ravel())
    for y_true in (labels, one_hot(labels, 5)):
        assert cce.forward(probs, y_true).shape == (3, 4)
        assert cce.calculate(probs, y_true) == cce.calculate(probs.reshape(12, 5), labels.ravel())
        np.testing.assert_array_equal(cce.backward(probs, y_true).reshape(12, 5), flat)
        np.testing.assert_array_equal(
            dlfs.softmax_cross_entropy_backward(probs, y_true).reshape(12, 5),
            dlfs.softmax_cross_entropy_backward(probs.reshape(12, 5), labels.ravel()))


@pytest.mark.parametrize("y_true, message", [
    (np.zeros((3, 5), dtype=int), r"y_true has shape \(3, 5\) but the predictions have positions "
                                  r"\(3, 4\)"),
    (np.zeros(12, dtype=int), r"y_true must be integer labels \(N, T\) or one-hot rows \(N, T, C\), "
                              r"got shape \(12,\)"),
    (np.full((3, 4), 5), r"y_true must hold class indices in \[0, 4\], got values from 5 to 5"),
    (np.zeros((3, 4, 5)), r"y_true one-hot rows must hold a single 1 and zeros elsewhere, "
                          r"row \(0, 0\) is \[0\. 0\. 0\. 0\. 0\.\]"),
    (np.zeros((3, 4, 1), dtype=int), r"y_true has shape \(3, 4, 1\): pass integer labels as a "
                                     r"2-D array of shape \(3, 4\)"),
])
def test_sequence_labels_are_checked(y_true, message):
    probs = np.full((3, 4, 5), 0.2)
    with pytest.raises(ValueError, match=message):
        dlfs.CategoricalCrossEntropy().calculate(probs, y_true)


# --------------------------------------------------------------------------------------------
# Accuracy on (N, T, V): every position counts
# --------------------------------------------------------------------------------------------

def accuracy_error(accuracy, n: int, t: int, vocabulary: int, seed: int) -> float:
    """|ours - torch's| for the fraction of positions whose arg-max is the label."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(vocabulary), size=(n, t))
    labels = rng.integers(0, vocabulary, (n, t))
    labels[0, 0] = probs[0, 0].argmax()                       # at least one position right
    expected = (torch.from_numpy(probs).argmax(dim=-1) == torch.from_numpy(labels)).double().mean()
    return abs(accuracy(probs, labels) - expected.item())


@FAST
@given(n=batches, t=steps, vocabulary=vocabularies, seed=seeds)
@example(n=1, t=1, vocabulary=2, seed=0)
def test_accuracy_on_sequences_matches_torch(n, t, vocabulary, seed):
    assert accuracy_error(dlfs.accuracy, n, t, vocabulary, seed) <= TOLERANCE


def accuracy_over_examples(probs, labels):
    """Counts every right position but divides by N only."""
    return float(np.count_nonzero(probs.argmax(axis=-1) == labels) / len(probs))


def accuracy_last_position(probs, labels):
    """Scores the last position of each sequence only."""
    return float(np.mean(probs[:, -1].argmax(axis=-1) == labels[:, -1]))


@pytest.mark.parametrize("mutant", [accuracy_over_examples, accuracy_last_position])
def test_the_accuracy_comparison_catches_a_wrong_count(mutant):
    assert accuracy_error(mutant, 4, 6, 3, seed=0) > 1e4 * TOLERANCE


# --------------------------------------------------------------------------------------------
# Model.fit and evaluate on (N, T, V) end to end
# --------------------------------------------------------------------------------------------

def copy_task(n: int = 64, t: int = 5, vocabulary: int = 4, seed: int = 0):
    """Inputs (N, T, V) one-hot with noise, targets (N, T): each position's own class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, vocabulary, (n, t))
    inputs = np.eye(vocabulary)[labels] + 0.3 * rng.standard_normal((n, t, vocabulary))
    return inputs.astype(np.float32), labels


def test_fit_and_evaluate_train_a_sequence_model_end_to_end():
    X, y = copy_task()
    model = dlfs.Model([dlfs.Dense(4, 16, rng=0), dlfs.Tanh(), dlfs.Dense(16, 4, rng=1),
                        dlfs.Softmax()],
                       dlfs.CategoricalCrossEntropy(), dlfs.Adam(learning_rate=0.02))
    before = model.evaluate(X, y)
    history = model.fit(X, y, epochs=15, batch_size=16, verbose=0,
                        validation_data=copy_task(seed=1))
    after = model.evaluate(X, y)
    assert after["loss"] < 0.3 * before["loss"] and after["accuracy"] > 0.95
    probs = model.predict(X)
    assert probs.shape == (64, 5, 4)
    loss = dlfs.CategoricalCrossEntropy()
    assert after["loss"] == pytest.approx(loss.calculate(probs, y), rel=1e-12)
    assert after["accuracy"] == dlfs.accuracy(probs, y)
    assert len(history["val_loss"]) == 15 and history["val_accuracy"][-1] > 0.95


def test_fit_trains_a_sequence_model_from_integer_tokens():
    """Embedding (N, T) -> (N, T, dim), Dense on the last axis, a softmax per position: each
    position learns the token that follows its own in the alphabet of 5."""
    X = np.random.default_rng(0).integers(0, 5, (128, 6))
    y = (X + 1) % 5
    model = dlfs.Model([Embedding(5, 8, rng=0), dlfs.Dense(8, 5, rng=1), dlfs.Softmax()],
                       dlfs.CategoricalCrossEntropy(), dlfs.Adam(learning_rate=0.05))
    model.fit(X, y, epochs=20, batch_size=32, verbose=0)
    scores = model.evaluate(X, y)
    assert model.predict(X).shape == (128, 6, 5)
    assert scores["accuracy"] == 1.0 and scores["loss"] < 0.1


def test_fit_refuses_targets_that_do_not_match_the_sequence_outputs():
    X, y = copy_task(n=8)
    model = dlfs.Model([dlfs.Dense(4, 4, rng=0), dlfs.Softmax()], dlfs.CategoricalCrossEntropy(),
                       dlfs.SGD(learning_rate=0.1))
    with pytest.raises(ValueError, match=r"y has shape \(8, 4\) but the predictions have "
                                         r"positions \(8, 5\)"):
        model.fit(X, y[:, :4], epochs=1, verbose=0)
