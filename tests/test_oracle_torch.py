"""dlfs against an independent implementation: PyTorch (CPU, float64 on both sides).

For every layer, activation and loss the forward values and every gradient (inputs, weights,
biases) must agree with torch autograd to a relative error of 1e-10, over shapes drawn by
hypothesis that include a batch of 1 and a width of 1 (saturated sigmoid and tanh, whose
derivatives hinge on the output's last bit, to a few ulps instead). Every optimizer must follow the same
ten-step trajectory as torch.optim from the same parameters and gradients. The last tests feed
deliberately wrong implementations ("mutants") through the same harness, to show it can fail.

Without torch these tests are skipped; with the CI environment variable set they fail instead.
"""

import sys

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dlfs
from oracle import FAST, TOLERANCE, error, import_torch, layer_errors, loss_errors, optimizer_errors, seeds, sizes

torch = import_torch()
F = torch.nn.functional
DTYPE = np.float64


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, written here independently of dlfs."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def assert_all_small(errors: dict[str, float]) -> None:
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


# --------------------------------------------------------------------------------------------
# Layers and activations
# --------------------------------------------------------------------------------------------

def torch_dense(x, weights, biases):
    """torch's own linear layer; dlfs stores weights as (n_inputs, n_neurons), torch as the transpose."""
    return F.linear(x, weights.T, biases.reshape(-1))


def dense_errors(layer_class, batch: int, n_inputs: int, n_neurons: int, seed: int, init: str = "glorot"):
    rng = np.random.default_rng(seed)
    layer = layer_class(n_inputs, n_neurons, init=init, rng=rng, dtype=DTYPE)
    layer.biases[...] = rng.standard_normal(layer.biases.shape)  # zero biases would hide mistakes
    inputs = rng.standard_normal((batch, n_inputs))
    dvalues = rng.standard_normal((batch, n_neurons))
    return layer_errors(layer, torch_dense, inputs, dvalues)


@FAST
@given(batch=sizes, n_inputs=sizes, n_neurons=sizes, seed=seeds, init=st.sampled_from(["glorot", "he"]))
@example(batch=1, n_inputs=1, n_neurons=1, seed=0, init="glorot")
@example(batch=1, n_inputs=64, n_neurons=1, seed=1, init="he")
@example(batch=64, n_inputs=1, n_neurons=64, seed=2, init="glorot")
def test_dense_matches_torch(batch, n_inputs, n_neurons, seed, init):
    errors = dense_errors(dlfs.Dense, batch, n_inputs, n_neurons, seed, init)
    assert set(errors) == {"output", "inputs", "weights", "biases"}
    assert_all_small(errors)


ACTIVATIONS = {  # name: (dlfs class, torch function, largest input magnitude for the 1e-10 comparison)
    "ReLU": (dlfs.ReLU, torch.relu, 1e3),
    "Sigmoid": (dlfs.Sigmoid, torch.sigmoid, 5.0),
    "Tanh": (dlfs.Tanh, torch.tanh, 5.0),
    "Softmax": (dlfs.Softmax, lambda x: torch.softmax(x, dim=-1), 30.0),
}


def activation_errors(activation, torch_function, batch: int, width: int, scale: float, seed: int):
    """Inputs uniform in [-scale, scale], about a tenth of them exactly 0 (ReLU's kink: both sides
    take the derivative there as 0)."""
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-scale, scale, (batch, width))
    inputs[rng.random(inputs.shape) < 0.1] = 0.0
    dvalues = rng.standard_normal((batch, width))
    return layer_errors(activation, torch_function, inputs, dvalues)


@pytest.mark.parametrize("name", ACTIVATIONS)
@FAST
@given(batch=sizes, width=sizes, fraction=st.sampled_from([0.01, 0.2, 1.0]), seed=seeds)
@example(batch=1, width=1, fraction=1.0, seed=0)
@example(batch=1, width=64, fraction=1.0, seed=1)
@example(batch=64, width=1, fraction=0.2, seed=2)
def test_activation_matches_torch(name, batch, width, fraction, seed):
    activation, torch_function, largest = ACTIVATIONS[name]
    errors = activation_errors(activation(), torch_function, batch, width, fraction * largest, seed)
    assert set(errors) == {"output", "inputs"}
    assert_all_small(errors)


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh"])
@FAST
@given(batch=sizes, width=sizes, seed=seeds)
@example(batch=1, width=1, seed=0)
def test_saturated_activation_matches_torch_to_rounding(name, batch, width, seed):
    """Beyond |z| = 5 the derivative s(1 - s) or 1 - tanh^2 is a difference of nearly equal numbers,
    fixed by the last bits of the output, in which numpy and torch may differ by an ulp. There the
    derivative is compared in absolute terms: to a few ulps of 1 times the upstream gradient."""
    activation, torch_function, _ = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    inputs = rng.choice([-1.0, 1.0], (batch, width)) * rng.uniform(5, 40, (batch, width))
    dvalues = rng.standard_normal((batch, width))
    x = torch.tensor(inputs, requires_grad=True)
    output = torch_function(x)
    output.backward(gradient=torch.from_numpy(dvalues))
    layer = activation()
    eps = np.finfo(DTYPE).eps
    np.testing.assert_allclose(layer.forward(inputs), output.detach().numpy(), rtol=1e-10, atol=2 * eps)
    np.testing.assert_allclose(layer.backward(dvalues), x.grad.numpy(), rtol=0,
                               atol=8 * eps * np.abs(dvalues).max())


# --------------------------------------------------------------------------------------------
# Losses. dlfs clips probabilities to [eps, 1 - eps] (eps = 1e-7) and torch does not, so the
# probabilities here stay well inside (eps, 1 - eps); test_clipping_is_the_documented_difference
# covers the boundary.
# --------------------------------------------------------------------------------------------

def classification_case(batch: int, n_classes: int, seed: int, logit_range: float = 4.0):
    """Logits in [-r, r], their softmax and integer labels. With r = 4 and at most 64 classes every
    probability lies in [5e-6, 1 - 3e-4], far from dlfs's clipping at 1e-7."""
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-logit_range, logit_range, (batch, n_classes))
    labels = rng.integers(0, n_classes, batch)
    return logits, softmax_rows(logits), labels


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.int64)[labels]


def categorical_errors(loss, batch: int, n_classes: int, seed: int, labels_as: str):
    _, probs, labels = classification_case(batch, n_classes, seed)
    if labels_as == "integer":
        return loss_errors(loss, lambda p, t: F.nll_loss(torch.log(p), t, reduction="none"),
                           probs, labels, torch.from_numpy(labels))
    onehot = one_hot(labels, n_classes)
    return loss_errors(loss, lambda p, t: -(t * torch.log(p)).sum(dim=1),
                       probs, onehot, torch.from_numpy(onehot.astype(DTYPE)))


# One class would make every probability exactly 1, which dlfs clips: at least two classes here.
class_counts = st.integers(min_value=2, max_value=64)


@pytest.mark.parametrize("labels_as", ["integer", "one-hot"])
@FAST
@given(batch=sizes, n_classes=class_counts, seed=seeds)
@example(batch=1, n_classes=2, seed=0)
@example(batch=64, n_classes=64, seed=1)
def test_categorical_cross_entropy_matches_torch(labels_as, batch, n_classes, seed):
    assert_all_small(categorical_errors(dlfs.CategoricalCrossEntropy(), batch, n_classes, seed, labels_as))


def binary_errors(loss, batch: int, width: int, seed: int, soft_targets: bool):
    """Probabilities sigmoid(z) with z in [-8, 8], so in [3e-4, 1 - 3e-4]; 0/1 or soft targets."""
    rng = np.random.default_rng(seed)
    probs = 1 / (1 + np.exp(-rng.uniform(-8, 8, (batch, width))))
    targets = rng.random((batch, width)) if soft_targets else rng.integers(0, 2, (batch, width))
    return loss_errors(loss, lambda p, t: F.binary_cross_entropy(p, t, reduction="none").mean(dim=1),
                       probs, targets, torch.tensor(targets, dtype=torch.float64))


@pytest.mark.parametrize("soft_targets", [False, True], ids=["0-1 targets", "soft targets"])
@FAST
@given(batch=sizes, width=sizes, seed=seeds)
@example(batch=1, width=1, seed=0)
@example(batch=64, width=64, seed=1)
def test_binary_cross_entropy_matches_torch(soft_targets, batch, width, seed):
    assert_all_small(binary_errors(dlfs.BinaryCrossEntropy(), batch, width, seed, soft_targets))


def mse_errors(loss, batch: int, width: int, seed: int):
    rng = np.random.default_rng(seed)
    y_pred, y_true = rng.standard_normal((2, batch, width)) * 3
    return loss_errors(loss, lambda p, t: F.mse_loss(p, t, reduction="none").mean(dim=1),
                       y_pred, y_true, torch.from_numpy(y_true))


@FAST
@given(batch=sizes, width=sizes, seed=seeds)
@example(batch=1, width=1, seed=0)
@example(batch=64, width=64, seed=1)
def test_mean_squared_error_matches_torch(batch, width, seed):
    assert_all_small(mse_errors(dlfs.MeanSquaredError(), batch, width, seed))


def fused_errors(backward, batch: int, n_classes: int, seed: int, logit_range: float, labels_as: str):
    """``backward(softmax(logits), labels)`` against the gradient of torch's cross_entropy on logits.

    torch's cross_entropy takes class indices or, for one-hot rows, class probabilities as float
    targets. The loss values are compared too when no probability reaches dlfs's clipping range.
    """
    logits, _, labels = classification_case(batch, n_classes, seed, logit_range)
    probs = dlfs.Softmax().forward(logits)
    y_true, target = labels, torch.from_numpy(labels)
    if labels_as == "one-hot":
        y_true = one_hot(labels, n_classes)
        target = torch.from_numpy(y_true.astype(DTYPE))
    z = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, target)
    loss.backward()
    errors = {"backward": error(backward(probs, y_true), z.grad)}
    if n_classes >= 2 and logit_range <= 4:
        errors["loss"] = error(dlfs.CategoricalCrossEntropy().calculate(probs, y_true), loss)
    return errors


@pytest.mark.parametrize("labels_as", ["integer", "one-hot"])
@FAST
@given(batch=sizes, n_classes=sizes, seed=seeds, logit_range=st.sampled_from([1.0, 4.0, 50.0]))
@example(batch=1, n_classes=1, seed=0, logit_range=4.0)
@example(batch=1, n_classes=2, seed=1, logit_range=4.0)
@example(batch=64, n_classes=64, seed=2, logit_range=50.0)
def test_fused_softmax_cross_entropy_matches_torch(labels_as, batch, n_classes, seed, logit_range):
    assert_all_small(fused_errors(dlfs.softmax_cross_entropy_backward, batch, n_classes, seed,
                                  logit_range, labels_as))


def test_clipping_is_the_documented_difference():
    """At probabilities 0 and 1 dlfs's cross-entropies equal torch's on clamp(p, eps, 1 - eps),
    and their gradients are d(loss)/dp evaluated at the clamped p (not zero, as clamp's would be)."""
    eps = 1e-7
    probs = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [1e-9, 1 - 1e-9, 0.0]])
    labels = np.array([0, 1, 1])
    q = torch.tensor(np.clip(probs, eps, 1 - eps), requires_grad=True)
    expected = F.nll_loss(torch.log(q), torch.from_numpy(labels), reduction="none")
    expected.mean().backward()
    cce = dlfs.CategoricalCrossEntropy(epsilon=eps)
    assert error(cce.forward(probs, labels), expected) <= TOLERANCE
    assert error(cce.backward(probs, labels), q.grad) <= TOLERANCE

    targets = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 0]])
    q = torch.tensor(np.clip(probs, eps, 1 - eps), requires_grad=True)
    expected = F.binary_cross_entropy(q, torch.tensor(targets, dtype=torch.float64), reduction="none").mean(dim=1)
    expected.mean().backward()
    bce = dlfs.BinaryCrossEntropy(epsilon=eps)
    assert error(bce.forward(probs, targets), expected) <= TOLERANCE
    assert error(bce.backward(probs, targets), q.grad) <= TOLERANCE


# --------------------------------------------------------------------------------------------
# Optimizers: ten steps from the same parameters and the same gradients
# --------------------------------------------------------------------------------------------

def lr_decay(decay: float):
    """dlfs's ``learning_rate / (1 + decay * t)`` as a LambdaLR factor, stepped after each update."""
    return lambda t: 1 / (1 + decay * t)


OPTIMIZERS = {  # name: (dlfs optimizer factory, torch optimizer factory, LambdaLR factor or None)
    "SGD": (lambda: dlfs.SGD(learning_rate=0.1),
            lambda p: torch.optim.SGD(p, lr=0.1), None),
    "SGD momentum": (lambda: dlfs.SGD(learning_rate=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), None),
    "SGD weight decay": (lambda: dlfs.SGD(learning_rate=0.1, weight_decay=0.01),
                         lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01), None),
    "SGD decay": (lambda: dlfs.SGD(learning_rate=0.1, learning_rate_decay=0.2),
                  lambda p: torch.optim.SGD(p, lr=0.1), lr_decay(0.2)),
    "SGD all": (lambda: dlfs.SGD(learning_rate=0.05, momentum=0.5, learning_rate_decay=0.1, weight_decay=0.02),
                lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.02), lr_decay(0.1)),
    "Adam": (lambda: dlfs.Adam(learning_rate=0.01),
             lambda p: torch.optim.Adam(p, lr=0.01), None),
    "Adam betas": (lambda: dlfs.Adam(learning_rate=0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-6),
                   lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-6), None),
    "Adam weight decay": (lambda: dlfs.Adam(learning_rate=0.01, weight_decay=0.05),
                          lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.05), None),
    "Adam decay": (lambda: dlfs.Adam(learning_rate=0.01, learning_rate_decay=0.3),
                   lambda p: torch.optim.Adam(p, lr=0.01), lr_decay(0.3)),
}


def trajectory_errors(optimizer, make_torch, lr_lambda, n_inputs: int, n_neurons: int, seed: int,
                      steps: int = 10) -> list[float]:
    rng = np.random.default_rng(seed)
    layer = dlfs.Dense(n_inputs, n_neurons, rng=rng, dtype=DTYPE)
    layer.biases[...] = rng.standard_normal(layer.biases.shape)
    gradients = [{name: rng.standard_normal(p.shape) for name, p in layer.parameters().items()}
                 for _ in range(steps)]
    return optimizer_errors(optimizer, make_torch, layer, gradients, lr_lambda)


@pytest.mark.parametrize("name", OPTIMIZERS)
@FAST
@given(n_inputs=sizes, n_neurons=sizes, seed=seeds)
@example(n_inputs=1, n_neurons=1, seed=0)
@example(n_inputs=64, n_neurons=64, seed=1)
def test_optimizer_matches_torch(name, n_inputs, n_neurons, seed):
    make_dlfs, make_torch, lr_lambda = OPTIMIZERS[name]
    errors = trajectory_errors(make_dlfs(), make_torch, lr_lambda, n_inputs, n_neurons, seed)
    assert len(errors) == 10
    worst = int(np.argmax(errors))
    assert errors[worst] <= TOLERANCE, f"step {worst + 1}: parameters differ from torch by {errors[worst]:.1e}"


# --------------------------------------------------------------------------------------------
# The harness can fail: wrong implementations ("mutants") must give large errors
# --------------------------------------------------------------------------------------------

class DenseFlippedWeightGradient(dlfs.Dense):
    def backward(self, dvalues):
        super().backward(dvalues)
        self.dweights = -self.dweights
        return self.dinputs


class DenseMeanBiasGradient(dlfs.Dense):
    def backward(self, dvalues):
        super().backward(dvalues)
        self.dbiases = dvalues.mean(axis=0, keepdims=True)
        return self.dinputs


class DenseWrongInputGradient(dlfs.Dense):
    def backward(self, dvalues):
        super().backward(dvalues)
        self.dinputs = dvalues @ np.abs(self.weights.T)
        return self.dinputs


class ReLUNoMask(dlfs.ReLU):
    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        return self.dinputs


class SigmoidMissingFactor(dlfs.Sigmoid):
    def backward(self, dvalues):
        self.dinputs = dvalues * self.output
        return self.dinputs


class TanhWrongDerivative(dlfs.Tanh):
    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.output)
        return self.dinputs


class SoftmaxDiagonalOnly(dlfs.Softmax):
    """Keeps only the diagonal of the softmax Jacobian: a common mistake."""

    def backward(self, dvalues):
        self.dinputs = dvalues * self.output * (1 - self.output)
        return self.dinputs


class CCENotAveraged(dlfs.CategoricalCrossEntropy):
    def backward(self, y_pred, y_true):
        return super().backward(y_pred, y_true) * len(y_pred)


class BCEFlippedGradient(dlfs.BinaryCrossEntropy):
    def backward(self, y_pred, y_true):
        return -super().backward(y_pred, y_true)


class MSEMissingTwo(dlfs.MeanSquaredError):
    def backward(self, y_pred, y_true):
        return super().backward(y_pred, y_true) / 2


def fused_not_averaged(probs, y_true):
    return dlfs.softmax_cross_entropy_backward(probs, y_true) * len(probs)


class AdamBiasCorrectionOffByOne(dlfs.Adam):
    """Bias corrections 1 - beta**(t + 1) instead of 1 - beta**t."""

    def update(self, param, grad, learning_rate, slots, step):
        super().update(param, grad, learning_rate, slots, step + 1)


class SGDDampenedMomentum(dlfs.SGD):
    """v = momentum * v + (1 - momentum) * grad: an exponential average, not torch's (dampening=0)."""

    def update(self, param, grad, learning_rate, slots, step):
        super().update(param, (1 - self.momentum) * grad, learning_rate, slots, step)


class SGDDecayOffByOne(dlfs.SGD):
    def current_learning_rate(self, step):
        return super().current_learning_rate(step + 1)


MUTANTS = {  # name: (function returning the harness's errors, the error that must become large)
    "Dense dweights sign": (lambda: dense_errors(DenseFlippedWeightGradient, 5, 4, 3, 0), "weights"),
    "Dense dbiases mean": (lambda: dense_errors(DenseMeanBiasGradient, 5, 4, 3, 0), "biases"),
    "Dense dinputs": (lambda: dense_errors(DenseWrongInputGradient, 5, 4, 3, 0), "inputs"),
    "ReLU no mask": (lambda: activation_errors(ReLUNoMask(), torch.relu, 5, 4, 1.0, 0), "inputs"),
    "Sigmoid factor": (lambda: activation_errors(SigmoidMissingFactor(), torch.sigmoid, 5, 4, 1.0, 0), "inputs"),
    "Tanh derivative": (lambda: activation_errors(TanhWrongDerivative(), torch.tanh, 5, 4, 1.0, 0), "inputs"),
    "Softmax diagonal": (lambda: activation_errors(SoftmaxDiagonalOnly(), ACTIVATIONS["Softmax"][1], 5, 4, 1.0, 0),
                         "inputs"),
    "CCE not averaged": (lambda: categorical_errors(CCENotAveraged(), 5, 4, 0, "integer"), "backward"),
    "BCE sign": (lambda: binary_errors(BCEFlippedGradient(), 5, 4, 0, False), "backward"),
    "MSE factor 2": (lambda: mse_errors(MSEMissingTwo(), 5, 4, 0), "backward"),
    "fused not averaged": (lambda: fused_errors(fused_not_averaged, 5, 4, 0, 4.0, "integer"), "backward"),
    "Adam bias correction": (lambda: {"params": max(trajectory_errors(
        AdamBiasCorrectionOffByOne(learning_rate=0.01), *OPTIMIZERS["Adam"][1:], 4, 3, 0))}, "params"),
    "SGD dampened momentum": (lambda: {"params": max(trajectory_errors(
        SGDDampenedMomentum(learning_rate=0.05, momentum=0.9), *OPTIMIZERS["SGD momentum"][1:], 4, 3, 0))}, "params"),
    "SGD decay off by one": (lambda: {"params": max(trajectory_errors(
        SGDDecayOffByOne(learning_rate=0.1, learning_rate_decay=0.2), *OPTIMIZERS["SGD decay"][1:], 4, 3, 0))}, "params"),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_oracle_catches_a_wrong_implementation(name):
    compute_errors, target = MUTANTS[name]
    errors = compute_errors()
    # far above TOLERANCE, so the oracle tests above would report these implementations as wrong
    assert errors[target] > 1e4 * TOLERANCE, f"the oracle missed the mutant {name!r}: {errors}"


def test_missing_torch_skips_locally_and_fails_in_ci(monkeypatch):
    """The import policy itself: skip with a message, or fail when CI is set."""
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PyTorch is needed"):
        import_torch()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        import_torch()
