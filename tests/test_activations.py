"""dlfs.activations: ReLU, Sigmoid, Tanh and Softmax against independent formulas, finite
differences and the explicit softmax Jacobian; numerical safety, dtypes and bad input."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlfs import ReLU, Sigmoid, Softmax, Tanh, check_layer_gradients
from dlfs.activations import _as_float_array as as_float_array
from dlfs.validation import check_dvalues

try:
    from scipy.special import softmax as reference_softmax
except ImportError:  # pragma: no cover - scipy is optional
    def reference_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

ACTIVATIONS = [ReLU, Sigmoid, Tanh, Softmax]
SHAPES = [(1, 1), (1, 6), (5, 1), (4, 3), (2, 3, 4)]
FAST = settings(max_examples=50, deadline=None, database=None)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def moderate(shape, seed: int = 0) -> np.ndarray:
    """float64 values in [-6, -0.05] U [0.05, 6]: moderate, and away from ReLU's corner at 0."""
    x = rng(seed).uniform(0.05, 6.0, size=shape)
    return x * rng(seed + 1).choice([-1.0, 1.0], size=shape)


# forward against independent formulas ------------------------------------------------------------

def test_relu_forward_keeps_positives_and_zeroes_negatives():
    x = moderate((4, 5))
    expected = np.array([[v if v > 0 else 0.0 for v in row] for row in x])
    np.testing.assert_array_equal(ReLU().forward(x), expected)


def test_sigmoid_forward_matches_the_textbook_formula_on_moderate_inputs():
    x = np.linspace(-30, 30, 240).reshape(3, -1)
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-14, atol=0)


def test_sigmoid_keeps_relative_precision_for_very_negative_inputs():
    # for z <= -40, sigmoid(z) = e^z / (1 + e^z) equals e^z to within a relative e^z < 1e-17
    z = np.linspace(-700, -40, 67)
    np.testing.assert_allclose(Sigmoid().forward(z), np.exp(z), rtol=1e-14, atol=0)


def test_tanh_forward_matches_its_definition_by_exponentials():
    x = np.linspace(-5, 5, 41).reshape(-1, 1)
    expected = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    np.testing.assert_allclose(Tanh().forward(x), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_forward_matches_the_reference_over_the_last_axis(shape):
    x = rng(3).standard_normal(shape) * 5
    np.testing.assert_allclose(Softmax().forward(x), reference_softmax(x, axis=-1), rtol=1e-13, atol=1e-16)


def test_softmax_of_z_and_zero_is_the_sigmoid_of_z():
    z = np.linspace(-20, 20, 81)
    pairs = np.stack([z, np.zeros_like(z)], axis=1)
    np.testing.assert_allclose(Softmax().forward(pairs)[:, 0], 1 / (1 + np.exp(-z)), rtol=1e-13)


def test_softmax_accepts_integer_logits():
    np.testing.assert_allclose(Softmax().forward(np.array([[1, 2, 3]])), reference_softmax([[1.0, 2.0, 3.0]], axis=-1))


# backward against finite differences and the Jacobian --------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_backward_matches_finite_differences(activation, shape):
    errors = check_layer_gradients(activation(), moderate(shape, seed=len(shape)), rng=7)
    assert errors["inputs"] < 1e-7, errors


@pytest.mark.parametrize("activation", [ReLU, Sigmoid, Tanh])
def test_elementwise_backward_is_upstream_times_the_derivative_formula(activation):
    x = moderate((3, 4))
    g = rng(5).standard_normal(x.shape)
    derivative = {
        ReLU: (x > 0).astype(float),
        Sigmoid: np.exp(-x) / (1 + np.exp(-x)) ** 2,
        Tanh: 1 / np.cosh(x) ** 2,
    }[activation]
    layer = activation()
    layer.forward(x)
    np.testing.assert_allclose(layer.backward(g), g * derivative, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 4), (3, 10)])
def test_softmax_backward_is_the_explicit_jacobian_product_per_row(shape):
    logits = rng(1).standard_normal(shape) * 3
    g = rng(2).standard_normal(shape)
    layer = Softmax()
    s = layer.forward(logits)
    dz = layer.backward(g)
    for row in range(shape[0]):
        jacobian = np.diag(s[row]) - np.outer(s[row], s[row])      # (C, C)
        np.testing.assert_allclose(dz[row], jacobian.T @ g[row], rtol=1e-12, atol=1e-15)


def test_relu_gradient_at_exactly_zero_is_zero():
    layer = ReLU()
    layer.forward(np.zeros((2, 3)))
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), np.zeros((2, 3)))


# numerical safety --------------------------------------------------------------------------------

@FAST
@given(
    logits=st.sampled_from([np.float32, np.float64]).flatmap(
        lambda dtype: arrays(dtype, st.tuples(st.integers(1, 6), st.integers(1, 8)),
                             elements=st.floats(-1e4, 1e4, width=np.dtype(dtype).itemsize * 8))
    )
)
def test_softmax_rows_sum_to_one_without_nan_for_logits_up_to_1e4(logits):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Softmax().forward(logits)
    assert s.dtype == logits.dtype
    assert np.isfinite(s).all()
    assert (s >= 0).all() and (s <= 1).all()
    tolerance = 1e-5 if logits.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=0, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_extreme_logits_puts_all_mass_on_the_largest(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Softmax().forward(logits)
    expected = np.array([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]])
    np.testing.assert_allclose(s, expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_of_plus_minus_1000_gives_0_and_1_without_warnings(dtype):
    z = np.array([[-1000.0, -100.0, 0.0, 100.0, 1000.0]], dtype=dtype)
    layer = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = layer.forward(z)
        ds = layer.backward(np.ones_like(z))
    assert s[0, 0] == 0.0 and s[0, 2] == 0.5 and s[0, -1] == 1.0
    assert ((s >= 0) & (s <= 1)).all()
    assert np.isfinite(ds).all() and (ds >= 0).all()


@FAST
@given(z=arrays(np.float64, st.integers(1, 20), elements=st.floats(-50, 50)))
def test_sigmoid_is_symmetric_about_one_half(z):
    np.testing.assert_allclose(Sigmoid().forward(-z), 1 - Sigmoid().forward(z), rtol=0, atol=1e-15)


# dtypes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_forward_and_backward_keep_the_dtype(activation, dtype):
    x = rng().standard_normal((3, 4)).astype(dtype)
    layer = activation()
    out = layer.forward(x)
    grad = layer.backward(rng(1).standard_normal((3, 4)).astype(dtype))
    assert out.dtype == dtype and grad.dtype == dtype
    assert out.shape == x.shape and grad.shape == x.shape


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_nested_lists_work_forward_and_backward(activation):
    x = [[1.0, -1.0, 0.5], [2.0, 0.25, -3.0]]
    expected = activation()
    expected.forward(np.array(x))
    layer = activation()
    out = layer.forward(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, expected.output)
    g = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]
    np.testing.assert_array_equal(layer.backward(g), expected.backward(np.array(g)))


@pytest.mark.parametrize("int_dtype", [np.int8, np.int32, np.int64])
@pytest.mark.parametrize("activation", [Sigmoid, Tanh, Softmax], ids=lambda cls: cls.__name__)
def test_integer_inputs_give_float64(activation, int_dtype):
    x = np.array([[1, -2, 3], [0, 4, -1]], dtype=int_dtype)
    out = activation().forward(x)
    assert out.dtype == np.float64
    reference = activation().forward(x.astype(np.float64))
    np.testing.assert_array_equal(out, reference)


def test_relu_keeps_integer_inputs_integer():
    x = np.array([[1, -2, 3]], dtype=np.int32)
    out = ReLU().forward(x)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 0, 3]])


# bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_backward_before_forward_is_a_clear_error(activation):
    with pytest.raises(RuntimeError, match=f"{activation.__name__}.backward called before forward"):
        activation().backward(np.ones((2, 3)))


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("bad_shape", [(1, 3), (2, 1), (3, 2), (2, 3, 1)], ids=str)
def test_backward_refuses_dvalues_that_would_broadcast(activation, bad_shape):
    layer = activation()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dvalues must have the output's shape \(2, 3\)"):
        layer.backward(np.ones(bad_shape))


def test_check_dvalues_returns_an_array_of_the_output_shape():
    layer = Tanh()
    layer.forward(np.zeros((2, 2)))
    checked = check_dvalues(layer, [[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(checked, np.ndarray) and checked.shape == (2, 2)


def test_as_float_array_keeps_floats_and_widens_the_rest():
    x32 = np.ones((2, 2), dtype=np.float32)
    assert as_float_array(x32) is x32
    assert as_float_array([[True, False]]).dtype == np.float64
    np.testing.assert_array_equal(as_float_array(np.array([[1, -2]], dtype=np.int8)), [[1.0, -2.0]])


@pytest.mark.parametrize("shape", [(2, 0), (0,), (3, 4, 0), ()], ids=str)
def test_softmax_on_zero_classes_is_named_not_a_bare_numpy_error(shape):
    """Without its check, Softmax would fail inside np.max ("zero-size array to reduction
    operation maximum which has no identity"), or return an empty array for (0,)."""
    with pytest.raises(ValueError, match=rf"Softmax needs at least one class along the last axis, "
                                         rf"got shape {re.escape(str(shape))}"):
        Softmax().forward(np.zeros(shape))


def test_softmax_on_one_class_gives_ones():
    np.testing.assert_array_equal(Softmax().forward(np.array([[-3.0], [7.0]])), [[1.0], [1.0]])
