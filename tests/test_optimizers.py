"""dlfs.optimizers against independent, hand-written versions of the update rules.

The reference updates below are written from the formulas (torch.optim conventions for momentum,
L2 weight decay and Adam's epsilon), not from the dlfs code. Torch itself is compared elsewhere.
"""

import gc
import math
import re

import numpy as np
import pytest

from dlfs import SGD, Adam, Dense, Optimizer


class Params:
    """A minimal layer: named float64 arrays with gradients set by hand as d<name>."""

    def gradients(self):
        return {name: getattr(self, "d" + name, None) for name in self.arrays}

    def __init__(self, **arrays):
        self.arrays = {name: np.array(value, dtype=np.float64) for name, value in arrays.items()}

    def parameters(self):
        return self.arrays

    def set_gradients(self, **grads):
        for name, grad in grads.items():
            setattr(self, "d" + name, np.array(grad, dtype=np.float64))


def gradient_stream(seed, shape, steps):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


def run(optimizer, start, grads):
    """Apply ``optimizer`` to a one-parameter layer starting at ``start``; returns the final value."""
    layer = Params(w=start)
    for grad in grads:
        layer.set_gradients(w=grad)
        optimizer.update_params(layer)
    return layer.arrays["w"]


def reference_sgd(start, grads, lr, momentum=0.0, decay=0.0, weight_decay=0.0):
    """Loop form of torch.optim.SGD (dampening 0) plus lr / (1 + decay * t), t counted from 0."""
    w = np.array(start, dtype=np.float64)
    velocity = None
    for t, grad in enumerate(grads):
        g = grad + weight_decay * w
        if momentum:
            velocity = g.copy() if velocity is None else momentum * velocity + g
            g = velocity
        w = w - lr / (1 + decay * t) * g
    return w


def reference_adam(start, grads, lr, beta_1=0.9, beta_2=0.999, eps=1e-8, weight_decay=0.0):
    """Algorithm 1 of Kingma & Ba, element by element, with torch's epsilon: sqrt(v_hat) + eps."""
    w = [float(x) for x in np.ravel(start)]
    m = [0.0] * len(w)
    v = [0.0] * len(w)
    for t, grad in enumerate(grads, start=1):
        for i, g in enumerate(np.ravel(grad)):
            g = g + weight_decay * w[i]
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g * g
            m_hat = m[i] / (1 - beta_1**t)
            v_hat = v[i] / (1 - beta_2**t)
            w[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    return np.array(w).reshape(np.shape(start))


START = np.array([[0.5, -1.5, 2.0], [1.0, 0.0, -0.25]])


def test_sgd_step_is_p_minus_lr_times_g():
    grad = np.array([[0.1, -2.0, 3.0], [0.0, 4.5, -1.0]])
    layer = Params(w=START)
    layer.set_gradients(w=grad)
    SGD(learning_rate=0.3).update_params(layer)
    np.testing.assert_allclose(layer.arrays["w"], START - 0.3 * grad, rtol=0, atol=1e-15)


def test_update_is_in_place_and_touches_every_parameter():
    layer = Params(w=START, b=[[1.0, 2.0, 3.0]])
    w, b = layer.arrays["w"], layer.arrays["b"]
    layer.set_gradients(w=np.ones_like(START), b=[[1.0, -1.0, 0.0]])
    SGD(learning_rate=0.5).update_params(layer)
    assert layer.arrays["w"] is w and layer.arrays["b"] is b
    np.testing.assert_allclose(b, [[0.5, 2.5, 3.0]])
    np.testing.assert_allclose(w, START - 0.5)


def test_momentum_matches_the_recurrence_over_several_steps():
    grads = gradient_stream(0, START.shape, 12)
    got = run(SGD(learning_rate=0.05, momentum=0.9), START, grads)
    np.testing.assert_allclose(got, reference_sgd(START, grads, 0.05, momentum=0.9), rtol=1e-12, atol=1e-14)


def test_momentum_closed_form_for_a_constant_gradient():
    # v_t = g (1 + mu + ... + mu^(t-1)), so after T steps w = w0 - lr g sum_t (1 - mu^t) / (1 - mu)
    lr, mu, steps, g = 0.1, 0.5, 6, 2.0
    got = run(SGD(learning_rate=lr, momentum=mu), [1.0], [np.array([g])] * steps)
    travelled = lr * g * sum((1 - mu**t) / (1 - mu) for t in range(1, steps + 1))
    np.testing.assert_allclose(got, [1.0 - travelled], rtol=1e-13)


def test_learning_rate_decay_schedule():
    sgd = SGD(learning_rate=0.2, learning_rate_decay=0.5)
    assert [sgd.current_learning_rate(t) for t in (0, 1, 4)] == pytest.approx([0.2, 0.2 / 1.5, 0.2 / 3])
    # with a unit gradient the parameter moves by exactly the scheduled rates
    got = run(SGD(learning_rate=0.2, learning_rate_decay=0.5), [0.0], [np.ones(1)] * 4)
    np.testing.assert_allclose(got, [-sum(0.2 / (1 + 0.5 * t) for t in range(4))], rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.0, 0.8])
def test_decay_and_weight_decay_with_and_without_momentum(momentum):
    grads = gradient_stream(1, START.shape, 10)
    optimizer = SGD(learning_rate=0.1, momentum=momentum, learning_rate_decay=0.3, weight_decay=0.05)
    expected = reference_sgd(START, grads, 0.1, momentum=momentum, decay=0.3, weight_decay=0.05)
    np.testing.assert_allclose(run(optimizer, START, grads), expected, rtol=1e-12, atol=1e-14)


def test_weight_decay_alone_shrinks_geometrically():
    got = run(SGD(learning_rate=0.1, weight_decay=2.0), START, [np.zeros_like(START)] * 5)
    np.testing.assert_allclose(got, START * (1 - 0.1 * 2.0) ** 5, rtol=1e-13)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"beta_1": 0.5, "beta_2": 0.9},
        {"epsilon": 1e-3},
        {"weight_decay": 0.1},
        {"beta_1": 0.0},
    ],
)
def test_adam_matches_the_paper_with_torch_epsilon(kwargs):
    grads = gradient_stream(2, START.shape, 15)
    names = {"beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "eps", "weight_decay": "weight_decay"}
    expected = reference_adam(START, grads, 0.01, **{names[k]: v for k, v in kwargs.items()})
    got = run(Adam(learning_rate=0.01, **kwargs), START, grads)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_adam_epsilon_is_added_outside_the_square_root_after_bias_correction():
    # first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps); eps inside the root,
    # or added to the uncorrected sqrt(v), would give a visibly different step for this g and eps
    g, eps, lr = 1e-3, 1e-3, 1.0
    got = run(Adam(learning_rate=lr, epsilon=eps), [0.0], [np.array([g])])
    np.testing.assert_allclose(got, [-lr * g / (abs(g) + eps)], rtol=1e-12)
    assert not np.isclose(got[0], -lr * g / math.sqrt(g * g + eps), rtol=1e-3)


def test_adam_decay_uses_the_layer_step_count():
    grads = gradient_stream(3, (4,), 6)
    decayed = Adam(learning_rate=0.05, learning_rate_decay=0.25)
    layer = Params(w=np.zeros(4))
    w = np.zeros(4)
    m, v = np.zeros(4), np.zeros(4)
    for t, grad in enumerate(grads, start=1):
        layer.set_gradients(w=grad)
        decayed.update_params(layer)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        lr = 0.05 / (1 + 0.25 * (t - 1))
        w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(layer.arrays["w"], w, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [lambda: SGD(learning_rate=0.1, momentum=0.9, learning_rate_decay=0.5), lambda: Adam(learning_rate=0.1, learning_rate_decay=0.5)],
    ids=["momentum", "adam"],
)
def test_state_is_per_layer(make):
    """Two layers updated alternately by one optimizer behave as if each had its own optimizer."""
    grads_a = gradient_stream(4, START.shape, 5)
    grads_b = gradient_stream(5, START.shape, 3)
    shared = make()
    layer_a, layer_b = Params(w=START), Params(w=-START)
    for i in range(5):
        layer_a.set_gradients(w=grads_a[i])
        shared.update_params(layer_a)
        if i < 3:
            layer_b.set_gradients(w=grads_b[i])
            shared.update_params(layer_b)
    np.testing.assert_array_equal(layer_a.arrays["w"], run(make(), START, grads_a))
    np.testing.assert_array_equal(layer_b.arrays["w"], run(make(), -START, grads_b))
    assert shared.state[layer_a]["step"] == 5 and shared.state[layer_b]["step"] == 3


@pytest.mark.parametrize("make", [lambda: SGD(learning_rate=0.1, momentum=0.9), lambda: Adam(learning_rate=0.1)],
                         ids=["momentum", "adam"])
def test_state_does_not_keep_a_deleted_layer_alive(make):
    optimizer = make()
    layer = Params(w=START)
    layer.set_gradients(w=np.ones_like(START))
    optimizer.update_params(layer)
    assert len(optimizer.state) == 1
    del layer
    gc.collect()
    assert len(optimizer.state) == 0


@pytest.mark.parametrize(
    "make",
    [lambda: SGD(learning_rate=0.1, momentum=0.9, learning_rate_decay=0.5), lambda: Adam(learning_rate=0.1, learning_rate_decay=0.5)],
    ids=["momentum", "adam"],
)
def test_state_persists_until_reset(make):
    """Without reset the next update continues the history; after reset it equals a fresh optimizer's."""
    first, second = gradient_stream(6, START.shape, 4), gradient_stream(7, START.shape, 3)
    used = make()
    layer = Params(w=START)
    for grad in first:
        layer.set_gradients(w=grad)
        used.update_params(layer)
    after_first = layer.arrays["w"].copy()
    continued = run(make(), START, first + second)    # what the 7 updates give without reset
    used.reset()
    assert len(used.state) == 0
    for grad in second:
        layer.set_gradients(w=grad)
        used.update_params(layer)
    np.testing.assert_array_equal(layer.arrays["w"], run(make(), after_first, second))
    assert not np.allclose(layer.arrays["w"], continued)


def test_parameters_of_one_layer_keep_separate_state():
    # same array values under two names: their velocities must not be merged
    layer = Params(w=[1.0], b=[1.0])
    sgd = SGD(learning_rate=0.1, momentum=0.9)
    for gw, gb in [(1.0, -1.0), (2.0, 0.0), (0.5, 3.0)]:
        layer.set_gradients(w=[gw], b=[gb])
        sgd.update_params(layer)
    np.testing.assert_allclose(layer.arrays["w"], reference_sgd([1.0], [np.array([g]) for g in (1.0, 2.0, 0.5)], 0.1, 0.9))
    np.testing.assert_allclose(layer.arrays["b"], reference_sgd([1.0], [np.array([g]) for g in (-1.0, 0.0, 3.0)], 0.1, 0.9))


def test_float32_dense_layer_keeps_its_dtype():
    layer = Dense(3, 2, rng=0)
    x = np.random.default_rng(1).standard_normal((4, 3))
    for optimizer in (SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.01), Adam(learning_rate=0.1)):
        before = layer.weights.copy()
        layer.backward(np.ones_like(layer.forward(x)))
        optimizer.update_params(layer)
        assert layer.weights.dtype == np.float32 and layer.biases.dtype == np.float32
        assert not np.array_equal(layer.weights, before)


def test_missing_or_misshapen_gradient_is_reported():
    layer = Params(w=START)
    with pytest.raises(RuntimeError, match="no gradient for w: call backward"):
        SGD(learning_rate=0.1).update_params(layer)
    layer.set_gradients(w=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"the gradient of w must have its shape \(2, 3\), got \(3, 2\)"):
        SGD(learning_rate=0.1).update_params(layer)


def test_base_class_needs_an_update_rule():
    layer = Params(w=[1.0])
    layer.set_gradients(w=[1.0])
    with pytest.raises(NotImplementedError):
        Optimizer(learning_rate=0.1).update_params(layer)


@pytest.mark.parametrize("value", [0, -0.1, float("nan"), float("inf")])
@pytest.mark.parametrize("cls", [SGD, Adam])
def test_bad_learning_rate(cls, value):
    with pytest.raises(ValueError, match="learning_rate"):
        cls(learning_rate=value)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: SGD(momentum=-0.9), "momentum"),
        (lambda: SGD(momentum=float("nan")), "momentum"),
        (lambda: SGD(momentum=1.0), "momentum"),
        (lambda: SGD(momentum=1.5), "momentum"),
        (lambda: SGD(learning_rate_decay=-1.0), "learning_rate_decay"),
        (lambda: Adam(weight_decay=-0.01), "weight_decay"),
        (lambda: Adam(epsilon=0.0), "epsilon"),
        (lambda: Adam(beta_1=1.0), "beta_1"),
        (lambda: Adam(beta_1=-0.1), "beta_1"),
        (lambda: Adam(beta_2=1.5), "beta_2"),
        (lambda: Adam(beta_2=float("nan")), "beta_2"),
    ],
)
def test_bad_hyperparameters_name_the_argument(make, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        make()


def test_non_numeric_hyperparameter_is_a_type_error():
    with pytest.raises(TypeError, match=r"learning_rate must be a real number > 0, got None \(a NoneType\)"):
        SGD(learning_rate=None)


NOT_REAL = [("0.1", "str"), (True, "bool"), (False, "bool"), (np.True_, "bool"), ([0.1], "list"),
            (0.1 + 0j, "complex")]


@pytest.mark.parametrize("value, kind", NOT_REAL, ids=lambda v: repr(v))
@pytest.mark.parametrize("make, name", [
    (lambda v: SGD(learning_rate=v), "learning_rate"),
    (lambda v: Adam(learning_rate=v), "learning_rate"),
    (lambda v: SGD(momentum=v), "momentum"),
    (lambda v: Adam(epsilon=v), "epsilon"),
    (lambda v: Adam(beta_1=v), "beta_1"),
    (lambda v: SGD(weight_decay=v), "weight_decay"),
    (lambda v: Adam(learning_rate_decay=v), "learning_rate_decay"),
], ids=["SGD.learning_rate", "Adam.learning_rate", "SGD.momentum", "Adam.epsilon", "Adam.beta_1",
        "SGD.weight_decay", "Adam.learning_rate_decay"])
def test_a_string_or_a_bool_is_refused_naming_the_argument(make, name, value, kind):
    """Not silently accepted ("0.1" used to pass; True became 1.0): a TypeError that names the
    argument, what was expected and what came."""
    with pytest.raises(TypeError, match=rf"^{name} must be a real number .*got {re.escape(repr(value))} "
                                        rf"\(a {kind}"):
        make(value)


@pytest.mark.parametrize("value", [np.float32(0.25), np.float64(0.25), np.int64(1), 1])
def test_numpy_and_integer_numbers_are_accepted_and_kept_as_floats(value):
    sgd = SGD(learning_rate=value)
    assert type(sgd.learning_rate) is float and sgd.learning_rate == float(value)
    assert type(sgd.get_config()["learning_rate"]) is float


def test_a_later_assignment_is_checked_as_the_constructor_checks():
    """Settings are checked where they can change, when assigned (no re-check per fit)."""
    sgd, adam = SGD(learning_rate=0.1, momentum=0.9), Adam()
    sgd.learning_rate = 0.05                              # a schedule lowering it between fits
    assert sgd.learning_rate == 0.05
    with pytest.raises(TypeError, match=r"^learning_rate must be a real number > 0, got '0.1'"):
        sgd.learning_rate = "0.1"
    with pytest.raises(ValueError, match=r"^momentum must be a finite number >= 0 and < 1, got 1.0"):
        sgd.momentum = 1.0
    with pytest.raises(TypeError, match=r"^epsilon must be a real number > 0, got True"):
        adam.epsilon = True
    assert (sgd.learning_rate, sgd.momentum, adam.epsilon) == (0.05, 0.9, 1e-8)   # refused: unchanged


@pytest.mark.parametrize("make", [SGD, Adam])
def test_global_clipnorm_is_a_checked_setting_that_the_config_keeps(make):
    """Off (None) by default; a number > 0 when set; saved with the other settings."""
    assert make().global_clipnorm is None and make().get_config()["global_clipnorm"] is None
    optimizer = make(global_clipnorm=2)
    assert optimizer.get_config()["global_clipnorm"] == 2.0
    assert make(**optimizer.get_config()).global_clipnorm == 2.0
    for bad in (0, -1.0, float("nan"), "1"):
        with pytest.raises((ValueError, TypeError), match="global_clipnorm"):
            make(global_clipnorm=bad)
    with pytest.raises(ValueError, match="global_clipnorm"):
        optimizer.global_clipnorm = 0.0
