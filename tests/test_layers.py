"""dlfs.layers: check_batch and the Dense layer (construction, forward, backward, errors, config)."""

import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfs import Dense, check_layer_gradients
from dlfs.validation import check_batch, check_real, describe
from dlfs.layers import DEFAULT_DTYPE


def data(shape, seed=0, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def forwarded(n_examples=4, n_inputs=3, n_neurons=2, seed=0) -> tuple[Dense, np.ndarray]:
    """A float64 Dense with non-zero biases, already run forward on a batch; and that batch."""
    layer = Dense(n_inputs, n_neurons, rng=seed, dtype=np.float64)
    layer.biases[...] = data((1, n_neurons), seed + 100)
    batch = data((n_examples, n_inputs), seed + 1)
    layer.forward(batch)
    return layer, batch


# check_batch: the one batch validator (Appendix B) ------------------------------------------------

def test_check_batch_turns_nested_lists_into_an_array():
    array = check_batch([[1, 2, 3], [4, 5, 6]], features=3)
    assert isinstance(array, np.ndarray) and array.shape == (2, 3)


def test_check_batch_converts_dtype_without_copying_when_it_already_matches():
    x = data((2, 3))
    assert check_batch(x, dtype=np.float64) is x
    assert check_batch(x, dtype=np.float32).dtype == np.float32
    assert check_batch(x, finite=True) is x                     # a check, not a copy


def test_check_batch_accepts_any_width_and_any_rank_when_none_is_asked():
    assert check_batch(np.ones((1, 7))).shape == (1, 7)
    assert check_batch(np.ones((2, 1, 3, 3))).shape == (2, 1, 3, 3)


def test_check_batch_looks_at_the_values_only_when_asked():
    assert np.isnan(check_batch([[np.nan, 1.0]])[0, 0])          # finite=False is the default
    with pytest.raises(ValueError, match="must be finite"):
        check_batch([[np.nan, 1.0]], finite=True)


def test_check_batch_is_silent_on_large_finite_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_batch([[1e308, 1e308]], finite=True).shape == (1, 2)


def test_check_batch_reports_an_overflow_on_conversion_as_such():
    with pytest.raises(ValueError, match=r"X overflows float32: 1e\+39 at row 0, column 1 is beyond"):
        check_batch([[0.0, 1e39]], "X", dtype=np.float32, finite=True)
    with pytest.raises(ValueError, match=r"X must be finite, got inf at row 0, column 1"):
        check_batch([[0.0, np.inf]], "X", dtype=np.float32, finite=True)   # inf was there already


@pytest.mark.parametrize("bad, error, message", [
    (np.zeros((2, 3, 4)), ValueError, r"y_pred must have the shape \(batch, features\), got shape \(2, 3, 4\)"),
    (np.zeros(3), ValueError, r"y_pred must have the shape \(batch, features\), got shape \(3,\) "
                              r"\(y_pred.reshape\(1, -1\) for one example\)"),
    (np.zeros((0, 3)), ValueError, r"y_pred is an empty batch"),
    (np.zeros((2, 4)), ValueError, r"y_pred must have 3 features per row, got shape \(2, 4\)"),
    ([[0.0, np.nan, 1.0]], ValueError, r"y_pred must be finite, got nan at row 0, column 1"),
    ([[0.0, 1.0, 2.0], [0.0, 0.0, -np.inf]], ValueError, r"y_pred must be finite, got -inf at row 1, column 2"),
    (np.array([["a", "b", "c"]]), TypeError, r"y_pred must hold numbers, got an array of dtype <U1"),
    (np.array([[1 + 2j, 0, 0]]), TypeError, r"y_pred must hold numbers"),
    ([[1.0, 2.0, 3.0], [4.0]], ValueError, r"y_pred must be a rectangular array, got a ragged sequence"),
])
def test_check_batch_names_the_argument_and_the_problem(bad, error, message):
    with pytest.raises(error, match=message):
        check_batch(bad, "y_pred", ndim=2, features=3, finite=True)


def test_check_batch_for_images_names_channels_and_suggests_a_reshape():
    with pytest.raises(ValueError, match=r"X must have the shape \(batch, channels, height, width\), "
                                         r"got shape \(2, 784\) \(flat rows of pixels\?"):
        check_batch(np.zeros((2, 784)), "X", ndim=4)
    with pytest.raises(ValueError, match=r"X must have 3 channels \(axis 1\), got shape \(2, 1, 4, 4\)"):
        check_batch(np.zeros((2, 1, 4, 4)), "X", ndim=4, features=3)


@pytest.mark.parametrize("value, bounds", [(1, {"at_least": 0, "at_most": 1}), (0.5, {"above": 0, "below": 1}),
                                           (np.float32(0.25), {}), (np.int64(3), {"above": 2})])
def test_check_real_returns_a_python_float_within_inclusive_or_strict_bounds(value, bounds):
    checked = check_real("r", value, **bounds)
    assert type(checked) is float and checked == float(value)


@pytest.mark.parametrize("value, bounds, error, message", [
    (0, {"above": 0}, ValueError, r"r must be a finite number > 0, got 0"),
    (1.0, {"at_least": 0, "below": 1}, ValueError, r"r must be a finite number >= 0 and < 1, got 1.0"),
    (1.5, {"at_most": 1}, ValueError, r"r must be a finite number <= 1, got 1.5"),
    (np.float32(np.inf), {"above": 0}, ValueError, r"r must be a finite number > 0, got np.float32\(inf\)"),
    (np.nan, {}, ValueError, r"r must be a finite number"),
    ("0.5", {"above": 0}, TypeError, r"r must be a real number > 0, got '0.5' \(a str\)"),
    (True, {"above": 0}, TypeError, r"r must be a real number > 0, got True \(a bool\)"),
    (np.bool_(True), {}, TypeError, r"r must be a real number"),
    (None, {}, TypeError, r"r must be a real number"),
])
def test_check_real_names_the_argument_the_expectation_and_the_value(value, bounds, error, message):
    with pytest.raises(error, match=message):
        check_real("r", value, **bounds)


def test_describe_says_what_came():
    assert describe(np.zeros((10, 4))) == "an array of shape (10, 4)"
    assert describe((1, 2, 3)) == "a tuple of 3 items" and describe([]) == "a list of 0 items"
    assert describe({}) == "dict" and describe("x") == "str"


# construction ------------------------------------------------------------------------------------

def test_shapes_and_the_float32_default():
    layer = Dense(3, 5)
    assert DEFAULT_DTYPE == np.float32
    assert layer.weights.shape == (3, 5) and layer.weights.dtype == np.float32
    assert layer.biases.shape == (1, 5) and layer.biases.dtype == np.float32
    np.testing.assert_array_equal(layer.biases, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_keep_the_layer_dtype(dtype):
    layer = Dense(3, 2, rng=0, dtype=dtype)
    out = layer.forward(np.arange(6).reshape(2, 3))        # integer input is converted
    assert out.dtype == dtype and out.shape == (2, 2)
    layer.backward(np.ones((2, 2), dtype=dtype))
    for grad in (layer.dweights, layer.dbiases, layer.dinputs):
        assert grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.int32, np.int64, bool, np.complex128])
def test_dtype_must_be_floating(dtype):
    with pytest.raises(TypeError, match=rf"dtype must be a floating-point dtype .*got {np.dtype(dtype).name}"):
        Dense(3, 2, dtype=dtype)


def test_backward_casts_dvalues_to_the_layer_dtype():
    """A float64 layer below float32 layers receives float32 dvalues: all its gradients stay float64."""
    layer, batch = forwarded()
    dvalues = data(layer.output.shape, seed=5, dtype=np.float32)
    layer.backward(dvalues)
    for grad in (layer.dweights, layer.dbiases, layer.dinputs):
        assert grad.dtype == np.float64
    upstream = dvalues.astype(np.float64)
    np.testing.assert_allclose(layer.dweights, batch.T @ upstream, rtol=1e-12)
    np.testing.assert_allclose(layer.dbiases, upstream.sum(axis=0, keepdims=True), rtol=1e-12)


def test_same_seed_same_weights_different_seeds_different_weights():
    np.testing.assert_array_equal(Dense(4, 3, rng=7).weights, Dense(4, 3, rng=7).weights)
    assert not np.allclose(Dense(4, 3, rng=7).weights, Dense(4, 3, rng=8).weights)


def test_a_generator_is_used_and_advanced():
    generator = np.random.default_rng(0)
    first, second = Dense(4, 3, rng=generator), Dense(4, 3, rng=generator)
    assert not np.allclose(first.weights, second.weights)
    np.testing.assert_array_equal(first.weights, Dense(4, 3, rng=0).weights)


def test_glorot_weights_have_variance_two_over_fan_in_plus_fan_out():
    d, n = 800, 400
    weights = Dense(d, n, init="glorot", rng=0, dtype=np.float64).weights
    assert weights.var() == pytest.approx(2 / (d + n), rel=0.02)
    assert abs(weights.mean()) < 1e-3
    assert np.abs(weights).max() <= np.sqrt(6 / (d + n))        # uniform on (-a, a)


def test_he_weights_have_variance_two_over_fan_in():
    d, n = 800, 400
    weights = Dense(d, n, init="he", rng=0, dtype=np.float64).weights
    assert weights.var() == pytest.approx(2 / d, rel=0.02)
    assert abs(weights.mean()) < 2e-3
    assert np.abs(weights).max() > np.sqrt(6 / d)                 # normal: tails beyond any uniform


# forward -----------------------------------------------------------------------------------------

def test_forward_is_inputs_times_weights_plus_biases():
    layer, batch = forwarded(n_examples=3, n_inputs=4, n_neurons=2)
    expected = np.array([[sum(batch[k, i] * layer.weights[i, j] for i in range(4)) + layer.biases[0, j]
                          for j in range(2)] for k in range(3)])
    np.testing.assert_allclose(layer.output, expected, rtol=1e-12)
    np.testing.assert_allclose(layer.forward(batch), expected, rtol=1e-12)


def test_forward_agrees_with_torch_linear():
    layer, batch = forwarded(n_examples=5, n_inputs=3, n_neurons=4)
    linear = torch.nn.Linear(3, 4, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.weights.T))     # torch stores (n, d)
        linear.bias.copy_(torch.from_numpy(layer.biases[0]))
    np.testing.assert_allclose(layer.output, linear(torch.from_numpy(batch)).detach().numpy(), rtol=1e-12)


# backward ----------------------------------------------------------------------------------------

def test_backward_equals_the_index_formulas():
    layer, batch = forwarded(n_examples=4, n_inputs=3, n_neurons=2)
    g = data((4, 2), 5)
    returned = layer.backward(g)
    n_examples, n_inputs, n_neurons = 4, 3, 2
    dweights = [[sum(batch[k, i] * g[k, j] for k in range(n_examples)) for j in range(n_neurons)]
                for i in range(n_inputs)]
    dbiases = [[sum(g[k, j] for k in range(n_examples)) for j in range(n_neurons)]]
    dinputs = [[sum(g[k, j] * layer.weights[i, j] for j in range(n_neurons)) for i in range(n_inputs)]
               for k in range(n_examples)]
    np.testing.assert_allclose(layer.dweights, dweights, rtol=1e-12)
    np.testing.assert_allclose(layer.dbiases, dbiases, rtol=1e-12)
    np.testing.assert_allclose(layer.dinputs, dinputs, rtol=1e-12)
    assert returned is layer.dinputs


def test_backward_agrees_with_torch_autograd():
    layer, batch = forwarded(n_examples=6, n_inputs=5, n_neurons=3)
    g = data((6, 3), 9)
    layer.backward(g)
    x = torch.tensor(batch, requires_grad=True)
    w = torch.tensor(layer.weights, requires_grad=True)
    b = torch.tensor(layer.biases, requires_grad=True)
    (x @ w + b).backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer.dweights, w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.dbiases, b.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.dinputs, x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("n_examples, n_inputs, n_neurons", [
    (1, 3, 4),      # a single example
    (5, 3, 1),      # a single neuron
    (5, 1, 3),      # a single input feature
    (1, 1, 1),
    (9, 7, 6),
])
def test_backward_passes_finite_differences(n_examples, n_inputs, n_neurons):
    layer = Dense(n_inputs, n_neurons, rng=0, dtype=np.float64)
    layer.biases[...] = data((1, n_neurons), 3)
    errors = check_layer_gradients(layer, data((n_examples, n_inputs), 1))
    assert max(errors.values()) < 1e-7, errors


@settings(max_examples=25, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 2**16))
def test_backward_is_linear_in_dvalues(a, c, seed):
    layer, _ = forwarded(n_examples=3, n_inputs=4, n_neurons=2, seed=seed)
    g1, g2 = data((3, 2), seed + 1), data((3, 2), seed + 2)
    grads = []
    for g in (g1, g2, a * g1 + c * g2):
        layer.backward(g)
        grads.append((layer.dweights.copy(), layer.dbiases.copy(), layer.dinputs.copy()))
    for one, two, combined in zip(*grads):
        np.testing.assert_allclose(combined, a * one + c * two, rtol=1e-9, atol=1e-9)


def test_backward_does_not_change_the_parameters():
    layer, _ = forwarded()
    before = {name: array.copy() for name, array in layer.parameters().items()}
    layer.backward(data((4, 2), 3))
    for name, array in layer.parameters().items():
        np.testing.assert_array_equal(array, before[name])


# errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error, message", [
    (np.ones((4, 2)), ValueError, r"inputs must have 3 features per row, got shape \(4, 2\)"),
    (np.ones((4, 3, 1)), ValueError, r"inputs must have 3 features on the last axis, got shape \(4, 3, 1\)"),
    (np.ones(3), ValueError, r"inputs must have the shape \(batch, \.\.\.\), the examples along axis 0, "
                             r"got shape \(3,\) \(inputs.reshape\(1, -1\) for one example\)"),
    (np.ones((0, 3)), ValueError, r"inputs is an empty batch"),
    (np.array([["1", "2", "3"]]), TypeError, r"inputs must hold numbers"),
    (np.array([[None, None, None]]), TypeError, r"inputs must hold numbers, got an array of dtype object"),
])
def test_forward_rejects_bad_inputs_with_a_message(bad, error, message):
    """Called directly, the public forward still checks shape, rank and dtype (cheaply)."""
    with pytest.raises(error, match=message):
        Dense(3, 2, rng=0).forward(bad)


def test_forward_makes_no_pass_over_the_values():
    """Finiteness is checked once, by fit/evaluate/predict, not by every layer on every batch:
    a NaN handed to Dense.forward directly comes out as NaN, in its row only."""
    out = Dense(3, 2, rng=0).forward([[1.0, np.nan, 0.0], [1.0, 2.0, 3.0]])
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


@pytest.mark.parametrize("rng", [-1, 1.5, "seed", [-3]])
def test_a_bad_rng_is_named(rng):
    with pytest.raises(ValueError, match=r"rng must be None, a seed \(an integer >= 0\) or a numpy Generator, "
                                         rf"got {re.escape(repr(rng))}"):
        Dense(3, 2, rng=rng)


@pytest.mark.parametrize("argument", ["n_inputs", "n_neurons"])
@pytest.mark.parametrize("value", [0, -2, 2.5, 3.0, True, "3", None])
def test_sizes_must_be_positive_integers(argument, value):
    sizes = {"n_inputs": 3, "n_neurons": 2} | {argument: value}
    with pytest.raises(ValueError, match=f"{argument} must be a positive integer, got {value!r}"):
        Dense(**sizes)


def test_numpy_integer_sizes_are_accepted():
    assert Dense(np.int64(3), np.int32(2)).weights.shape == (3, 2)


@pytest.mark.parametrize("init", ["xavier", "Glorot", "", None])
def test_unknown_init_is_rejected(init):
    with pytest.raises(ValueError, match=rf"init must be one of \['glorot', 'he'\], got {init!r}"):
        Dense(3, 2, init=init)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        Dense(3, 2).backward(np.ones((4, 2)))


@pytest.mark.parametrize("shape", [(4, 3), (2, 4), (4,), (4, 2, 1)])
def test_dvalues_must_have_the_output_shape(shape):
    layer, _ = forwarded(n_examples=4, n_inputs=3, n_neurons=2)
    with pytest.raises(ValueError, match=re.escape(f"dvalues must have the output's shape (4, 2), got {shape}")):
        layer.backward(np.ones(shape))


# config and parameters ---------------------------------------------------------------------------

@pytest.mark.parametrize("init, dtype", [("glorot", np.float32), ("he", np.float64)])
def test_get_config_rebuilds_an_equivalent_layer(init, dtype):
    layer = Dense(5, 3, init=init, rng=4, dtype=dtype)
    config = layer.get_config()
    assert config == {"n_inputs": 5, "n_neurons": 3, "init": init, "dtype": np.dtype(dtype).name}
    rebuilt = type(layer)(**config, rng=4)            # what dlfs.load does with a saved record
    assert type(rebuilt) is Dense and rebuilt.get_config() == config
    np.testing.assert_array_equal(rebuilt.weights, layer.weights)
    assert rebuilt.weights.dtype == layer.weights.dtype
    assert repr(rebuilt) == repr(layer) == f"Dense(n_inputs=5, n_neurons=3, init={init!r}, dtype={np.dtype(dtype).name!r})"


def test_parameters_are_the_live_arrays():
    layer, batch = forwarded(n_examples=2, n_inputs=3, n_neurons=2)
    params = layer.parameters()
    assert set(params) == {"weights", "biases"}
    assert params["weights"] is layer.weights and params["biases"] is layer.biases
    params["biases"] += 1.0                                   # an optimizer updates in place
    before = layer.output.copy()
    np.testing.assert_allclose(layer.forward(batch), before + 1.0)
