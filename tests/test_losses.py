"""dlfs.losses: each loss against an independent formula (plain Python and PyTorch), its gradient
against finite differences, the fused softmax + cross-entropy gradient, clipping at 0 and 1,
and the checks on labels and shapes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlfs import (BinaryCrossEntropy, CategoricalCrossEntropy, MeanSquaredError, Sigmoid, Softmax, accuracy,
                  numerical_gradient, relative_error, softmax_cross_entropy_backward)
from dlfs.validation import class_indices
from dlfs.losses import binary_accuracy, sigmoid_binary_cross_entropy_backward

TOLERANCE = 1e-7          # relative error of an analytic gradient against central differences, float64


def random_probabilities(rng, n, c):
    """Softmax rows (n, c), float64, away from 0 and 1."""
    scores = rng.standard_normal((n, c))
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


# --- forward against independent formulas ---------------------------------------------------

def test_categorical_cross_entropy_forward_is_minus_log_of_the_true_class(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    probs, labels = random_probabilities(rng, 6, 4), rng.integers(0, 4, 6)
    expected = [-math.log(probs[k, labels[k]]) for k in range(6)]
    np.testing.assert_allclose(CategoricalCrossEntropy().forward(probs, labels), expected, rtol=1e-12)
    torch_loss = F.nll_loss(torch.log(torch.tensor(probs)), torch.tensor(labels))
    assert CategoricalCrossEntropy().calculate(probs, labels) == pytest.approx(torch_loss.item(), rel=1e-12)


def test_binary_cross_entropy_forward_matches_the_formula_and_torch(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    probs = rng.uniform(0.01, 0.99, (5, 3))
    targets = rng.integers(0, 2, (5, 3)).astype(float)
    expected = [
        -sum(t * math.log(p) + (1 - t) * math.log(1 - p) for p, t in zip(probs[k], targets[k])) / 3
        for k in range(5)
    ]
    np.testing.assert_allclose(BinaryCrossEntropy().forward(probs, targets), expected, rtol=1e-12)
    torch_loss = F.binary_cross_entropy(torch.tensor(probs), torch.tensor(targets))
    assert BinaryCrossEntropy().calculate(probs, targets) == pytest.approx(torch_loss.item(), rel=1e-12)


def test_mean_squared_error_forward_matches_the_formula_and_torch(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    preds, targets = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    expected = [sum((t - p) ** 2 for p, t in zip(preds[k], targets[k])) / 3 for k in range(5)]
    np.testing.assert_allclose(MeanSquaredError().forward(preds, targets), expected, rtol=1e-12)
    torch_loss = F.mse_loss(torch.tensor(preds), torch.tensor(targets))
    assert MeanSquaredError().calculate(preds, targets) == pytest.approx(torch_loss.item(), rel=1e-12)


# --- gradients against finite differences and torch -------------------------------------------

def loss_cases():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 5)
    yield "cce", CategoricalCrossEntropy(), rng.uniform(0.05, 0.95, (5, 4)), labels
    yield "cce-one-hot", CategoricalCrossEntropy(), rng.uniform(0.05, 0.95, (5, 4)), np.eye(4)[labels]
    yield "bce", BinaryCrossEntropy(), rng.uniform(0.05, 0.95, (5, 3)), rng.integers(0, 2, (5, 3)).astype(float)
    yield "bce-soft", BinaryCrossEntropy(), rng.uniform(0.05, 0.95, (5, 1)), rng.uniform(0, 1, (5, 1))
    yield "mse", MeanSquaredError(), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))


@pytest.mark.parametrize("name, loss, y_pred, y_true", list(loss_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_gradient_matches_finite_differences(name, loss, y_pred, y_true):
    analytic = loss.backward(y_pred, y_true).copy()
    assert analytic.shape == y_pred.shape and analytic.dtype == np.float64
    numeric = numerical_gradient(lambda: loss.calculate(y_pred, y_true), y_pred)
    assert relative_error(analytic, numeric) < TOLERANCE


def test_gradients_match_torch_autograd(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    probs, labels = rng.uniform(0.05, 0.95, (5, 4)), rng.integers(0, 4, 5)
    p = torch.tensor(probs, requires_grad=True)
    F.nll_loss(torch.log(p), torch.tensor(labels)).backward()
    np.testing.assert_allclose(CategoricalCrossEntropy().backward(probs, labels), p.grad.numpy(), rtol=1e-12)

    targets = rng.integers(0, 2, (5, 4)).astype(float)
    p = torch.tensor(probs, requires_grad=True)
    F.binary_cross_entropy(p, torch.tensor(targets)).backward()
    np.testing.assert_allclose(BinaryCrossEntropy().backward(probs, targets), p.grad.numpy(), rtol=1e-12)

    targets = rng.standard_normal((5, 4))
    p = torch.tensor(probs, requires_grad=True)
    F.mse_loss(p, torch.tensor(targets)).backward()
    np.testing.assert_allclose(MeanSquaredError().backward(probs, targets), p.grad.numpy(), rtol=1e-12)


def test_integer_labels_and_one_hot_rows_give_the_same_loss_and_gradient():
    rng = np.random.default_rng(5)
    probs, labels = random_probabilities(rng, 7, 5), rng.integers(0, 5, 7)
    cce = CategoricalCrossEntropy()
    for one_hot in (np.eye(5)[labels], np.eye(5, dtype=int)[labels], np.eye(5, dtype=bool)[labels]):
        assert cce.calculate(probs, labels) == cce.calculate(probs, one_hot)
        np.testing.assert_array_equal(cce.backward(probs, labels), cce.backward(probs, one_hot))
        np.testing.assert_array_equal(softmax_cross_entropy_backward(probs, labels),
                                      softmax_cross_entropy_backward(probs, one_hot))


# --- the fused softmax + cross-entropy gradient ---------------------------------------------

def test_fused_gradient_equals_the_chain_finite_differences_and_torch(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(6)
    scores, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    softmax = Softmax()
    probs = softmax.forward(scores)
    fused = softmax_cross_entropy_backward(probs, labels)

    chained = softmax.backward(CategoricalCrossEntropy().backward(probs, labels))
    assert relative_error(fused, chained) < 1e-12

    numeric = numerical_gradient(lambda: CategoricalCrossEntropy().calculate(Softmax().forward(scores), labels), scores)
    assert relative_error(fused, numeric) < TOLERANCE

    z = torch.tensor(scores, requires_grad=True)
    F.cross_entropy(z, torch.tensor(labels)).backward()
    np.testing.assert_allclose(fused, z.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_fused_gradient_stays_exact_for_a_confidently_wrong_float32_prediction():
    scores = np.array([[0.0, 120.0, 0.0]], dtype=np.float32)    # true class 0 has probability 0
    fused = softmax_cross_entropy_backward(Softmax().forward(scores), [0])
    np.testing.assert_allclose(fused, [[-1.0, 1.0, 0.0]], atol=1e-6)


# --- clipping: probabilities exactly 0 or 1 ---------------------------------------------------

@st.composite
def probability_rows(draw):
    """(N, C) probabilities in [0, 1], float32 or float64, many entries exactly 0 or 1."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = (draw(st.integers(1, 5)), draw(st.integers(2, 5)))
    values = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1, width=32))
    return draw(arrays(dtype, shape, elements=values))


@settings(max_examples=60, deadline=None)
@given(probs=probability_rows(), data=st.data())
def test_losses_and_gradients_are_finite_at_probabilities_0_and_1(probs, data):
    n, c = probs.shape
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    targets = data.draw(arrays(np.float64, probs.shape, elements=st.sampled_from([0.0, 1.0])))
    # no overflow, division by zero or invalid operation (underflow of tiny values to 0 is harmless)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        for loss, y_true in ((CategoricalCrossEntropy(), labels), (BinaryCrossEntropy(), targets)):
            assert np.isfinite(loss.forward(probs, y_true)).all()
            gradient = loss.backward(probs, y_true)
            assert gradient.dtype == probs.dtype and np.isfinite(gradient).all()
        assert np.isfinite(softmax_cross_entropy_backward(probs, labels)).all()


def test_clipping_caps_the_loss_at_minus_log_epsilon():
    assert CategoricalCrossEntropy().calculate(np.array([[0.0, 1.0]]), [0]) == pytest.approx(-math.log(1e-7))
    assert BinaryCrossEntropy().calculate(np.array([[1.0]]), [[0.0]]) == pytest.approx(-math.log(1e-7))
    # float32: 1 - 1e-7 rounds to 1 - 2**-23, two float32 steps below 1
    assert BinaryCrossEntropy().calculate(np.array([[1.0]], dtype=np.float32), [[0.0]]) == pytest.approx(
        23 * math.log(2), rel=1e-6)
    with pytest.raises(ValueError, match=r"epsilon must be a finite number > 0 and < 0.5, got 0"):
        CategoricalCrossEntropy(epsilon=0)


@pytest.mark.parametrize("loss_class", [CategoricalCrossEntropy, BinaryCrossEntropy], ids=lambda c: c.__name__)
@pytest.mark.parametrize("epsilon, error, message", [
    ("1e-7", TypeError, r"epsilon must be a real number > 0 and < 0.5, got '1e-7' \(a str\)"),
    (True, TypeError, r"epsilon must be a real number > 0 and < 0.5, got True \(a bool\)"),
    (None, TypeError, r"epsilon must be a real number"),
    (0.5, ValueError, r"epsilon must be a finite number > 0 and < 0.5, got 0.5"),
    (-1e-7, ValueError, r"epsilon must be a finite number > 0 and < 0.5"),
    (np.nan, ValueError, r"epsilon must be a finite number > 0 and < 0.5, got nan"),
])
def test_epsilon_must_be_a_real_number_named_in_the_error(loss_class, epsilon, error, message):
    """A string or a bool is not silently taken as a number (True would be 1.0)."""
    with pytest.raises(error, match=message):
        loss_class(epsilon=epsilon)


# --- no silent broadcasting, and bad input ----------------------------------------------------

def test_labels_as_a_column_are_refused_by_categorical_cross_entropy():
    probs = random_probabilities(np.random.default_rng(7), 4, 3)
    with pytest.raises(ValueError, match=r"y_true has shape \(4, 1\): pass integer labels .*\(4,\)"):
        CategoricalCrossEntropy().calculate(probs, np.array([[0], [1], [2], [0]]))


@pytest.mark.parametrize("loss", [BinaryCrossEntropy(), MeanSquaredError()], ids=type)
def test_flat_targets_for_a_column_of_predictions_are_refused(loss):
    y_pred = np.array([[0.2], [0.7], [0.9]])
    y_true = np.array([0.0, 1.0, 1.0])
    assert (y_true - y_pred).shape == (3, 3)            # what broadcasting would silently do
    for call in (loss.forward, loss.backward):
        with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred \(3, 1\), got \(3,\)"):
            call(y_pred, y_true)


BAD_LABELS = {
    "negative": (np.array([0, -1, 2]), ValueError, r"y_true must hold class indices in \[0, 2\].*-1"),
    "too large": (np.array([0, 3, 2]), ValueError, r"y_true must hold class indices in \[0, 2\].*3"),
    "float": (np.array([0.0, 1.0, 2.0]), TypeError, r"y_true must hold integer class labels, got dtype float64"),
    "wrong length": (np.array([0, 1]), ValueError, r"y_true has 2 labels but the predictions have 3 rows"),
    "one-hot too wide": (np.eye(4)[[0, 1, 2]], ValueError, r"y_true as one-hot rows must have shape \(3, 3\), got \(3, 4\)"),
    "one-hot too narrow": (np.eye(2)[[0, 1, 1]], ValueError, r"y_true as one-hot rows must have shape \(3, 3\), got \(3, 2\)"),
    "two ones in a row": (np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]]), ValueError,
                          r"y_true one-hot rows must hold a single 1 .*row 1"),
    "all zeros row": (np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]]), ValueError,
                      r"y_true one-hot rows must hold a single 1 .*row 2"),
    "not 0 or 1": (np.array([[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]]), ValueError,
                   r"y_true one-hot rows must hold a single 1 .*row 0"),
    "3-D": (np.zeros((3, 3, 1), dtype=int), ValueError, r"y_true must be integer labels \(N,\) or one-hot rows"),
}


@pytest.mark.parametrize("labels, error, message", BAD_LABELS.values(), ids=BAD_LABELS.keys())
def test_bad_labels_are_refused_with_a_message(labels, error, message):
    probs = random_probabilities(np.random.default_rng(8), 3, 3)
    with pytest.raises(error, match=message):
        class_indices(labels, 3, 3)
    for call in (CategoricalCrossEntropy().forward, CategoricalCrossEntropy().backward,
                 softmax_cross_entropy_backward, accuracy):
        with pytest.raises(error, match=message):
            call(probs, labels)


def test_scores_are_not_mistaken_for_probabilities():
    scores = np.array([[2.0, -1.0, 0.5]])
    with pytest.raises(ValueError, match=r"y_pred must hold probabilities in \[0, 1\].*-1 to 2"):
        CategoricalCrossEntropy().calculate(scores, [0])
    with pytest.raises(ValueError, match=r"y_true must hold targets in \[0, 1\]"):
        BinaryCrossEntropy().calculate(np.array([[0.5]]), np.array([[2.0]]))
    with pytest.raises(ValueError, match=r"y_true must be finite"):
        MeanSquaredError().calculate(np.array([[0.5]]), np.array([[np.nan]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_probabilities_are_named_where_they_are(bad):
    probs = np.full((2, 3), 1 / 3)
    probs[1, 2] = bad
    for call in (CategoricalCrossEntropy().calculate, softmax_cross_entropy_backward):
        with pytest.raises(ValueError, match=rf"must be finite, got {bad} at row 1, column 2"):
            call(probs, [0, 1])


# --- accuracy ---------------------------------------------------------------------------------

def test_multi_class_accuracy_is_the_fraction_of_correct_arg_maxes():
    rng = np.random.default_rng(9)
    probs, labels = random_probabilities(rng, 50, 4), rng.integers(0, 4, 50)
    correct = sum(max(range(4), key=lambda j: probs[k, j]) == labels[k] for k in range(50))
    assert accuracy(probs, labels) == correct / 50
    assert accuracy(probs, np.eye(4)[labels]) == correct / 50


def test_binary_accuracy_thresholds_a_single_column_at_one_half():
    rng = np.random.default_rng(10)
    p = rng.uniform(0, 1, (40, 1))
    targets = rng.integers(0, 2, (40, 1))
    correct = sum((p[k, 0] > 0.5) == (targets[k, 0] == 1) for k in range(40))
    assert accuracy(p, targets) == correct / 40
    with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred \(40, 1\), got \(40,\)"):
        accuracy(p, targets.ravel())


def test_binary_accuracy_scores_each_of_the_n_times_k_answers():
    rng = np.random.default_rng(11)
    p = rng.uniform(0, 1, (30, 4))
    targets = rng.integers(0, 2, (30, 4))
    correct = sum((p[i, j] > 0.5) == (targets[i, j] == 1) for i in range(30) for j in range(4))
    assert binary_accuracy(p, targets) == correct / 120
    assert binary_accuracy(p[:, :1], targets[:, :1]) == accuracy(p[:, :1], targets[:, :1])
    with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred \(30, 4\)"):
        binary_accuracy(p, targets[:, :2])


# --- the fused sigmoid + binary cross-entropy gradient ------------------------------------------

def test_sigmoid_fused_gradient_equals_torch_finite_differences_and_the_chain(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(12)
    scores = rng.standard_normal((6, 3))
    targets = rng.integers(0, 2, (6, 3)).astype(float)
    sigmoid = Sigmoid()
    probs = sigmoid.forward(scores)
    fused = sigmoid_binary_cross_entropy_backward(probs, targets)
    zt = torch.tensor(scores, requires_grad=True)
    F.binary_cross_entropy_with_logits(zt, torch.tensor(targets)).backward()
    np.testing.assert_allclose(fused, zt.grad.numpy(), rtol=1e-12, atol=1e-15)
    bce = BinaryCrossEntropy()
    numeric = numerical_gradient(lambda: bce.calculate(Sigmoid().forward(scores), targets), scores)
    assert relative_error(fused, numeric) < TOLERANCE
    assert relative_error(fused, sigmoid.backward(bce.backward(probs, targets))) < 1e-12


def test_sigmoid_fused_gradient_stays_exact_for_a_confident_float32_mistake():
    probs = Sigmoid().forward(np.array([[-30.0, 30.0]], dtype=np.float32))
    fused = sigmoid_binary_cross_entropy_backward(probs, np.array([[1.0, 0.0]]))
    assert fused.dtype == np.float32
    np.testing.assert_allclose(fused, [[-0.5, 0.5]], rtol=1e-6)    # (p - y) / (N k), N k = 2
    with pytest.raises(ValueError, match=r"y_true must hold targets in \[0, 1\]"):
        sigmoid_binary_cross_entropy_backward(probs, np.array([[2.0, 0.0]]))


# --- check_input=False: the unchecked kernels that fit runs inside its loop ------------------------

def unchecked_cases():
    """(loss, y_pred, y_true as a user passes it, n_outputs): float64 and float32 predictions."""
    rng = np.random.default_rng(13)
    for dtype in (np.float64, np.float32):
        probs, labels = random_probabilities(rng, 6, 4).astype(dtype), rng.integers(0, 4, 6)
        probs[0, labels[0]] = 0.0                                  # clipping must act the same
        name = np.dtype(dtype).name
        yield pytest.param(CategoricalCrossEntropy(), probs, labels, 4, id=f"cce-labels-{name}")
        yield pytest.param(CategoricalCrossEntropy(), probs, np.eye(4, dtype=int)[labels], 4,
                           id=f"cce-one-hot-{name}")                         # one-hot -> indices
        yield pytest.param(CategoricalCrossEntropy(), probs, np.eye(4, dtype=bool)[labels], 4,
                           id=f"cce-bool-one-hot-{name}")
        sig = rng.uniform(0, 1, (6, 3)).astype(dtype)
        sig[1, 1] = 1.0
        yield pytest.param(BinaryCrossEntropy(), sig, rng.integers(0, 2, (6, 3)).astype(float), 3, id=f"bce-{name}")
        yield pytest.param(BinaryCrossEntropy(), sig[:, :1], rng.uniform(0, 1, (6, 1)), 1, id=f"bce-soft-{name}")
        yield pytest.param(MeanSquaredError(), rng.standard_normal((6, 2)).astype(dtype),
                           rng.standard_normal((6, 2)), 2, id=f"mse-{name}")


def assert_identical(unchecked, checked):
    """Bit for bit: same type, same dtype, same bytes (NaN-free, so == is exact)."""
    assert type(unchecked) is type(checked)
    if isinstance(checked, np.ndarray):
        assert unchecked.dtype == checked.dtype and unchecked.shape == checked.shape
        assert unchecked.tobytes() == checked.tobytes()
    else:
        assert unchecked == checked


@pytest.mark.parametrize("loss, y_pred, y_true, n_outputs", list(unchecked_cases()))
def test_unchecked_calls_equal_the_checked_ones_bit_for_bit(loss, y_pred, y_true, n_outputs):
    """With ``check_input=False`` and targets as ``check_targets`` returns them, every method gives
    exactly what the checked call gives on the targets as the user passed them."""
    targets = loss.check_targets(y_true, n_outputs)
    for method in ("forward", "backward", "calculate"):
        checked = getattr(loss, method)(y_pred, y_true)
        checked = checked.copy() if isinstance(checked, np.ndarray) else checked   # backward reuses dinputs
        assert_identical(getattr(loss, method)(y_pred, targets, check_input=False), checked)
    if loss.metric_name:
        assert_identical(loss.metric(y_pred, targets, check_input=False), loss.metric(y_pred, y_true))
    if not isinstance(loss, MeanSquaredError):
        assert_identical(loss.fused_backward(y_pred, targets, check_input=False), loss.fused_backward(y_pred, y_true))


@settings(max_examples=60, deadline=None)
@given(probs=probability_rows(), data=st.data())
def test_unchecked_equals_checked_on_any_probabilities_and_targets(probs, data):
    """The same, for any probabilities (many exactly 0 or 1), float32 or float64, and labels given
    as integers or one-hot rows."""
    n, c = probs.shape
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    y_cce = np.eye(c, dtype=int)[labels] if data.draw(st.booleans()) else labels
    y_bce = data.draw(arrays(np.float64, probs.shape, elements=st.floats(0, 1)))
    with np.errstate(under="ignore"):
        for loss, y_true in ((CategoricalCrossEntropy(), y_cce), (BinaryCrossEntropy(), y_bce)):
            targets = loss.check_targets(y_true, c)
            for method in ("forward", "calculate", "backward", "fused_backward", "metric"):
                checked = getattr(loss, method)(probs, y_true)
                checked = checked.copy() if isinstance(checked, np.ndarray) else checked
                assert_identical(getattr(loss, method)(probs, targets, check_input=False), checked)


def test_the_module_level_kernels_have_the_same_unchecked_path():
    rng = np.random.default_rng(14)
    probs, labels = random_probabilities(rng, 8, 3), rng.integers(0, 3, 8)
    one_hot = np.eye(3)[labels]
    indices = CategoricalCrossEntropy().check_targets(one_hot, 3)
    assert_identical(softmax_cross_entropy_backward(probs, indices, check_input=False),
                     softmax_cross_entropy_backward(probs, one_hot))
    assert_identical(accuracy(probs, indices, check_input=False), accuracy(probs, one_hot))
    p, t = rng.uniform(0, 1, (8, 2)), rng.integers(0, 2, (8, 2)).astype(float)
    assert_identical(sigmoid_binary_cross_entropy_backward(p, t, check_input=False),
                     sigmoid_binary_cross_entropy_backward(p, t))
    assert_identical(binary_accuracy(p, t, check_input=False), binary_accuracy(p, t))
    assert_identical(accuracy(p[:, :1], t[:, :1], check_input=False), accuracy(p[:, :1], t[:, :1]))


def test_check_input_false_really_skips_the_checks():
    """The point of the flag: no pass over the values. Scores that are not probabilities go
    through unchecked (and are refused when checked)."""
    scores, labels = np.array([[2.0, -1.0, 0.5]]), np.array([0])
    loss = CategoricalCrossEntropy()
    assert np.isfinite(loss.forward(scores, labels, check_input=False)).all()
    with pytest.raises(ValueError, match="must hold probabilities"):
        loss.forward(scores, labels)


def test_check_targets_gives_the_form_the_arithmetic_uses():
    labels = np.array([2, 0, 1])
    np.testing.assert_array_equal(CategoricalCrossEntropy().check_targets(np.eye(3)[labels], 3), labels)
    np.testing.assert_array_equal(CategoricalCrossEntropy().check_targets(labels, 3), labels)
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 2\]"):
        CategoricalCrossEntropy().check_targets(np.array([0, 3, 1]), 3)
    with pytest.raises(ValueError, match=r"y must have the shape \(N, 1\) of the outputs, got shape \(2,\) "
                                         r"\(reshape [^()]*\.reshape\(-1, 1\)\)$"):
        BinaryCrossEntropy().check_targets(np.array([0.0, 1.0]), 1)
    with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
        BinaryCrossEntropy().check_targets(np.array([[0.0], [2.0]]), 1)
    with pytest.raises(ValueError, match=r"y must be finite"):
        MeanSquaredError().check_targets(np.array([[0.0], [np.inf]]), 1)


# --- rebuilding a loss: dlfs's own classes by full name, others through custom_objects ----------

@pytest.mark.parametrize("loss", [CategoricalCrossEntropy(epsilon=1e-6), BinaryCrossEntropy(epsilon=1e-5),
                                  MeanSquaredError()], ids=lambda loss: type(loss).__name__)
def test_get_config_rebuilds_the_loss(loss):
    rebuilt = type(loss)(**loss.get_config())
    assert type(rebuilt) is type(loss) and rebuilt.get_config() == loss.get_config()


def test_there_is_no_class_registry_to_fill():
    """One mechanism serves layers, losses and optimizers (the saving module looks dlfs's own
    classes up by full name); no base class keeps a registry or hooks its subclasses."""
    import dlfs
    for base in (dlfs.Layer, dlfs.Loss, dlfs.Optimizer):
        assert "registry" not in vars(base) and "__init_subclass__" not in vars(base)


class HuberLikeLoss(MeanSquaredError):
    pass


def test_a_loss_defined_outside_dlfs_loads_only_through_custom_objects(tmp_path):
    import dlfs
    model = dlfs.Model([dlfs.Dense(2, 1, rng=0)], loss=HuberLikeLoss(), optimizer=dlfs.SGD(0.1))
    path = tmp_path / "model.npz"
    dlfs.save(model, path)
    with pytest.raises(ValueError, match="custom_objects"):
        dlfs.load(path)
    assert type(dlfs.load(path, custom_objects={"HuberLikeLoss": HuberLikeLoss}).loss) is HuberLikeLoss
