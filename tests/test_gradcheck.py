"""dlfs.gradcheck: the numerical gradient, the relative error and the layer checker."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlfs import Dense, Layer, check_layer_gradients, numerical_gradient, relative_error


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# numerical_gradient ------------------------------------------------------------------------------

def test_numerical_gradient_of_sum_of_cubes_is_three_x_squared():
    x = rng().standard_normal((3, 4))
    numeric = numerical_gradient(lambda: np.sum(x**3), x)
    np.testing.assert_allclose(numeric, 3 * x**2, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_of_quadratic_form_is_a_plus_a_transpose_times_x():
    a = rng(1).standard_normal((5, 5))          # not symmetric, so A + A^T differs from 2A
    x = rng(2).standard_normal(5)
    numeric = numerical_gradient(lambda: x @ a @ x, x)
    np.testing.assert_allclose(numeric, (a + a.T) @ x, rtol=1e-7, atol=1e-9)
    assert relative_error(numeric, 2 * a @ x) > 1e-2


def test_numerical_gradient_of_a_linear_function_is_its_coefficients():
    c = rng(3).standard_normal((2, 3, 2))
    x = rng(4).standard_normal((2, 3, 2))
    np.testing.assert_allclose(numerical_gradient(lambda: np.sum(c * x), x), c, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_restores_x_and_returns_float64_of_its_shape():
    x = rng().standard_normal((4, 2)).astype(np.float32)
    before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(np.sin(x))), x, h=1e-3)
    np.testing.assert_array_equal(x, before)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, np.cos(before), atol=1e-3)


def test_numerical_gradient_calls_f_twice_per_element():
    x = np.zeros((3, 2))
    calls = []
    numerical_gradient(lambda: calls.append(1) or 0.0, x)
    assert len(calls) == 2 * x.size


@pytest.mark.parametrize("bad", [np.arange(6).reshape(2, 3), [[1.0, 2.0]], np.array(["a", "b"])])
def test_numerical_gradient_refuses_what_it_cannot_nudge_in_place(bad):
    with pytest.raises(TypeError, match="x must be a floating-point numpy array"):
        numerical_gradient(lambda: 0.0, bad)


# relative_error ----------------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_relative_error_of_equal_arrays_is_zero():
    a = rng().standard_normal((3, 5))
    assert relative_error(a, a.copy()) == 0.0
    assert relative_error(np.zeros(4), np.zeros(4)) == 0.0


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 4), elements=finite), arrays(np.float64, (3, 4), elements=finite))
def test_relative_error_is_symmetric_and_between_zero_and_one(a, b):
    error = relative_error(a, b)
    assert error == relative_error(b, a)
    assert 0.0 <= error <= 1.0 + 1e-12


def test_relative_error_ignores_a_common_scale_and_is_one_for_opposite_arrays():
    a, b = rng(1).standard_normal(10), rng(2).standard_normal(10)
    assert relative_error(1e-9 * a, 1e-9 * b) == pytest.approx(relative_error(a, b))
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(a, np.zeros(10)) == pytest.approx(1.0)


def test_relative_error_matches_its_formula():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    assert relative_error(a, b) == pytest.approx(5.0 / 7.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_relative_error_of_a_non_finite_gradient_fails_every_tolerance(bad):
    a = rng().standard_normal(5)
    broken = a.copy()
    broken[2] = bad
    for pair in ((a, broken), (broken, a), (broken, broken)):
        error = relative_error(*pair)
        assert np.isnan(error) and not error < 1.0   # no check `error < tol` passes


def test_relative_error_refuses_different_shapes_instead_of_broadcasting():
    with pytest.raises(ValueError, match=r"same shape, got \(3, 1\) and \(3,\)"):
        relative_error(np.ones((3, 1)), np.ones(3))


# check_layer_gradients ---------------------------------------------------------------------------

class WrongWeightGradient(Dense):
    """A Dense whose dweights is G^T X, the transpose of the truth (right shape when d == n)."""

    def backward(self, dvalues):
        super().backward(dvalues)
        self.dweights = dvalues.T @ self.inputs
        return self.dinputs


class Square(Layer):
    """A layer without parameters: outputs = inputs**2, so dinputs = 2 * inputs * dvalues."""

    def forward(self, inputs, training=False):
        self.inputs = inputs
        return inputs**2

    def backward(self, dvalues):
        self.dinputs = 2 * self.inputs * dvalues
        return self.dinputs


def test_a_correct_dense_layer_passes_in_float64():
    layer = Dense(4, 3, rng=0, dtype=np.float64)
    errors = check_layer_gradients(layer, rng(1).standard_normal((5, 4)))
    assert set(errors) == {"inputs", "weights", "biases"}
    assert max(errors.values()) < 1e-7


def test_a_wrong_weight_gradient_is_caught_and_only_it():
    layer = WrongWeightGradient(3, 3, rng=0, dtype=np.float64)
    errors = check_layer_gradients(layer, rng(1).standard_normal((3, 3)))
    assert errors["weights"] > 1e-2
    assert errors["inputs"] < 1e-7 and errors["biases"] < 1e-7


def test_a_layer_without_parameters_is_checked_on_its_inputs_only():
    errors = check_layer_gradients(Square(), rng(2).standard_normal((4, 3)))
    assert list(errors) == ["inputs"] and errors["inputs"] < 1e-7


def test_float32_is_too_coarse_for_finite_differences():
    batch = rng(1).standard_normal((8, 5))
    with pytest.warns(UserWarning, match=r"Dense has outputs in float32, weights in float32, "
                      r"biases in float32: finite differences need float64"):
        coarse = check_layer_gradients(Dense(5, 7, rng=0, dtype=np.float32), batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # float64 throughout: no warning
        fine = check_layer_gradients(Dense(5, 7, rng=0, dtype=np.float64), batch)
    assert min(coarse.values()) > 1e-4 > 1e-7 > max(fine.values())


class Float32Weights(Layer):
    """float32 weights, float64 arithmetic: the outputs look fine, the nudges do not."""

    def __init__(self):
        self.weights = rng(3).standard_normal((5, 2)).astype(np.float32)

    def forward(self, inputs, training=False):
        self.inputs = inputs
        return inputs @ self.weights.astype(np.float64)

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dinputs = dvalues @ self.weights.T.astype(np.float64)
        return self.dinputs

    def parameters(self):
        return {"weights": self.weights}

    def gradients(self):
        return {"weights": self.dweights}


def test_float32_parameters_are_warned_about_even_with_float64_outputs():
    with pytest.warns(UserWarning, match=r"Float32Weights has weights in float32: finite"):
        errors = check_layer_gradients(Float32Weights(), rng(1).standard_normal((4, 5)))
    assert errors["weights"] > 1e-4 > 1e-7 > errors["inputs"]


def test_the_check_leaves_the_parameters_as_they_were():
    layer = Dense(3, 2, rng=0, dtype=np.float64)
    layer.biases += 0.5
    before = {name: array.copy() for name, array in layer.parameters().items()}
    check_layer_gradients(layer, rng(1).standard_normal((4, 3)))
    for name, array in layer.parameters().items():
        np.testing.assert_array_equal(array, before[name])


def test_the_upstream_gradient_is_drawn_from_the_seed():
    batch = rng(1).standard_normal((4, 3))

    def errors(seed):
        return check_layer_gradients(WrongWeightGradient(3, 3, rng=0, dtype=np.float64), batch, rng=seed)

    assert errors(5) == errors(5)
    assert errors(5)["weights"] != errors(6)["weights"]
