"""dlfs.normalization: Standardize and BatchNorm, on their own and against PyTorch.

The unit tests compute the expected values from the definitions (a per-channel mean and variance
written out with NumPy, the momentum update by hand). The oracle tests compare forward values,
every gradient (inputs, gamma, beta) and the updated running statistics with
``torch.nn.functional.batch_norm`` in float64, over shapes drawn by hypothesis, in training and in
evaluation mode; deliberately wrong variants go through the same comparison and must be caught.
"""

import ast
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import dlfs
from dlfs import Adam, CategoricalCrossEntropy, Dense, Layer, Model, ReLU, Softmax
from dlfs.normalization import BatchNorm, Standardize
from oracle import FAST, TOLERANCE, error, import_torch, seeds

F64 = np.float64


def channel_stats(x: np.ndarray, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (axis 1) mean and variance, written independently of dlfs: move axis 1 first."""
    per_channel = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    return per_channel.mean(axis=1), per_channel.var(axis=1, ddof=ddof)


def broadcast(values: np.ndarray, ndim: int) -> np.ndarray:
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def data(shape, seed=0, loc=3.0, scale=2.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, scale, size=shape)


# Standardize -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(50, 4), (20, 3, 5, 6)])
def test_standardize_gives_the_training_data_mean_0_and_variance_1_per_channel(shape):
    X = data(shape)
    layer = Standardize(shape[1], dtype=F64).fit(X)
    mean, var = channel_stats(X)
    np.testing.assert_allclose(layer.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.variance, var, rtol=1e-12)
    out = layer.forward(X)
    assert out.shape == X.shape
    out_mean, out_var = channel_stats(out)
    np.testing.assert_allclose(out_mean, 0, atol=1e-12)
    np.testing.assert_allclose(out_var, 1, rtol=1e-6)          # epsilon = 1e-8 against variances of 4
    assert int(layer.n_examples) == shape[0]


def test_standardize_applies_the_training_statistics_to_new_data():
    X_train, X_new = data((40, 3), seed=1), data((7, 3), seed=2, loc=-5.0)
    layer = Standardize(3, epsilon=1e-6, dtype=F64).fit(X_train)
    mean, var = channel_stats(X_train)
    np.testing.assert_allclose(layer.forward(X_new), (X_new - mean) / np.sqrt(var + 1e-6), rtol=1e-12)
    one = layer.forward(X_new[:1])                              # one example is fine: nothing is measured
    np.testing.assert_allclose(one, (X_new[:1] - mean) / np.sqrt(var + 1e-6), rtol=1e-12)


def test_standardize_is_float32_by_default_and_backward_divides_by_the_std():
    X = data((30, 2)).astype(np.float32)
    layer = Standardize(2).fit(X)
    assert layer.forward(X.astype(np.float64)).dtype == np.float32
    dvalues = data((30, 2), seed=5)
    dinputs = layer.backward(dvalues)
    assert dinputs.dtype == np.float32
    np.testing.assert_allclose(dinputs, dvalues / np.sqrt(layer.variance + 1e-8), rtol=1e-6)
    layer.needs_input_gradient = False
    assert layer.backward(dvalues) is None


def test_an_unfitted_standardize_refuses_to_run():
    with pytest.raises(RuntimeError, match=r"fit\(X_train\)"):
        Standardize(3).forward(np.ones((2, 3)))


@pytest.mark.parametrize("bad, message", [
    (np.ones((4, 5)), r"inputs must have 3 features per row, got shape \(4, 5\)"),
    (np.ones((4, 5, 2, 2)), r"inputs must have 3 channels \(axis 1\), got shape \(4, 5, 2, 2\)"),
    (np.ones(3), r"inputs must have the shape \(batch, ...\), the examples along axis 0, got shape \(3,\)"),
    (np.ones((0, 3)), "inputs is an empty batch"),
])
def test_standardize_checks_its_inputs_naming_them(bad, message):
    layer = Standardize(3).fit(np.ones((2, 3)))
    with pytest.raises(ValueError, match=message):
        layer.forward(bad)


def test_standardize_forward_makes_no_pass_over_the_values_but_fit_does():
    """The layer's forward checks shapes only (fit/evaluate/predict check X's values once);
    Standardize.fit measures statistics, so it refuses inf and NaN itself."""
    layer = Standardize(3).fit(np.ones((2, 3)))
    assert np.isinf(layer.forward(np.array([[1.0, np.inf, 0.0]]))[0, 1])
    with pytest.raises(ValueError, match=r"X must be finite, got inf at row 0, column 1"):
        Standardize(3).fit(np.array([[1.0, np.inf, 0.0], [0.0, 0.0, 0.0]]))


def test_standardize_fit_names_X():
    with pytest.raises(ValueError, match=r"X must have 3 features per row, got shape \(5, 4\)"):
        Standardize(3).fit(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"X must have 3 channels \(axis 1\), got shape \(5, 4, 2, 2\)"):
        Standardize(3).fit(np.ones((5, 4, 2, 2)))
    with pytest.raises(TypeError, match="X must hold numbers"):
        Standardize(3).fit(np.array([["a", "b", "c"]]))


@pytest.mark.parametrize("kwargs, kind, message", [
    ({"n_channels": 0}, ValueError, "n_channels"),
    ({"n_channels": 2.5}, ValueError, "n_channels"),
    ({"n_channels": 2, "epsilon": 0}, ValueError, "epsilon"),
    ({"n_channels": 2, "epsilon": "1e-8"}, TypeError, r"epsilon must be a real number > 0, got '1e-8' \(a str\)"),
    ({"n_channels": 2, "epsilon": True}, TypeError, r"epsilon must be a real number > 0, got True \(a bool\)"),
    ({"n_channels": 2, "dtype": np.int32}, TypeError, "dtype"),
])
def test_standardize_constructor_errors_name_the_argument(kwargs, kind, message):
    with pytest.raises(kind, match=message):
        Standardize(**kwargs)


# BatchNorm: definitions ---------------------------------------------------------------------------

def test_both_layers_are_found_by_full_name_and_rebuild_from_their_config():
    import dlfs.normalization
    for layer in (Standardize(3, epsilon=1e-6, dtype=F64), BatchNorm(5, momentum=0.3, epsilon=1e-3, dtype=F64)):
        assert isinstance(layer, Layer) and type(layer).__module__ == "dlfs.normalization"
        assert getattr(dlfs.normalization, type(layer).__qualname__) is type(layer)
        config = json.loads(json.dumps(layer.get_config()))
        assert type(layer)(**config).get_config() == layer.get_config()


@pytest.mark.parametrize("shape", [(16, 4), (3, 4, 5, 5), (1, 2, 3, 1)])
def test_training_mode_normalises_each_channel_with_the_batch_statistics(shape):
    x = data(shape)
    layer = BatchNorm(shape[1], dtype=F64)
    layer.gamma[...], layer.beta[...] = np.arange(1, shape[1] + 1), -np.arange(shape[1])
    out = layer.forward(x, training=True)
    mean, var = channel_stats(x)
    expected = (x - broadcast(mean, x.ndim)) / np.sqrt(broadcast(var, x.ndim) + 1e-5)
    expected = expected * broadcast(layer.gamma, x.ndim) + broadcast(layer.beta, x.ndim)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_the_running_statistics_follow_pytorchs_momentum_rule_with_the_unbiased_variance():
    x1, x2 = data((10, 3), seed=1), data((10, 3), seed=2, scale=5.0)
    layer = BatchNorm(3, momentum=0.25, dtype=F64)
    layer.forward(x1, training=True)
    layer.forward(x2, training=True)
    (m1, v1), (m2, v2) = channel_stats(x1, ddof=1), channel_stats(x2, ddof=1)
    mean_1, var_1 = 0.25 * m1, 0.75 * 1.0 + 0.25 * v1
    np.testing.assert_allclose(layer.running_mean, 0.75 * mean_1 + 0.25 * m2, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.75 * var_1 + 0.25 * v2, rtol=1e-12)


def test_evaluation_mode_uses_the_running_statistics_and_leaves_them_alone():
    layer = BatchNorm(2, epsilon=1e-3, dtype=F64)
    layer.running_mean[...], layer.running_var[...] = [1.0, -2.0], [4.0, 0.25]
    layer.gamma[...], layer.beta[...] = [2.0, 3.0], [0.5, -0.5]
    x = data((1, 2))                                           # a batch of one is fine in evaluation
    out = layer.forward(x)
    expected = (x - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-3) * [2.0, 3.0] + [0.5, -0.5]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert np.array_equal(layer.running_mean, [1.0, -2.0]) and np.array_equal(layer.running_var, [4.0, 0.25])


def test_in_training_an_output_depends_on_the_batch_and_in_evaluation_it_does_not():
    layer = BatchNorm(3, dtype=F64)
    first, companions_a, companions_b = data((4, 3)), data((12, 3), seed=1), data((12, 3), seed=2, loc=-4)
    in_a = layer.forward(np.concatenate([first, companions_a]), training=True)[:4].copy()
    in_b = layer.forward(np.concatenate([first, companions_b]), training=True)[:4].copy()
    assert not np.allclose(in_a, in_b)
    eval_a = layer.forward(np.concatenate([first, companions_a]))[:4].copy()
    eval_b = layer.forward(np.concatenate([first, companions_b]))[:4]
    assert np.array_equal(eval_a, eval_b)


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1, 1), (1, 4, 1)])
def test_one_value_per_channel_in_training_is_a_clear_value_error(shape):
    layer = BatchNorm(4)
    with pytest.raises(ValueError, match="more than one value per channel"):
        layer.forward(np.ones(shape), training=True)
    assert np.array_equal(layer.running_var, np.ones(4))      # nothing was updated
    assert layer.forward(np.ones(shape)).shape == shape       # evaluation mode takes it


@pytest.mark.parametrize("bad, message", [
    (np.ones((8, 3)), r"inputs must have 4 features per row, got shape \(8, 3\)"),
    (np.ones((8, 3, 2, 2)), r"inputs must have 4 channels \(axis 1\), got shape \(8, 3, 2, 2\)"),
    (np.ones(4), r"inputs must have the shape \(batch, ...\), the examples along axis 0, got shape \(4,\)"),
    (np.ones((0, 4)), "inputs is an empty batch"),
])
def test_batchnorm_checks_its_inputs_naming_them(bad, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm(4).forward(bad, training=True)


@pytest.mark.parametrize("kwargs, kind, message", [
    ({"n_channels": 0}, ValueError, "n_channels"),
    ({"n_channels": 3, "momentum": 1.5}, ValueError, "momentum"),
    ({"n_channels": 3, "momentum": -0.1}, ValueError, "momentum"),
    ({"n_channels": 3, "momentum": "fast"}, TypeError, r"momentum must be a real number >= 0 and <= 1, got 'fast'"),
    ({"n_channels": 3, "momentum": True}, TypeError, r"momentum must be a real number >= 0 and <= 1, got True"),
    ({"n_channels": 3, "epsilon": 0.0}, ValueError, "epsilon"),
    ({"n_channels": 3, "epsilon": "1e-5"}, TypeError, r"epsilon must be a real number > 0, got '1e-5'"),
    ({"n_channels": 3, "dtype": np.int64}, TypeError, "dtype"),
])
def test_batchnorm_constructor_errors_name_the_argument(kwargs, kind, message):
    with pytest.raises(kind, match=message):
        BatchNorm(**kwargs)


def test_batchnorm_parameters_gradients_state_and_dtype():
    layer = BatchNorm(3)
    assert set(layer.parameters()) == set(layer.gradients()) == {"gamma", "beta"}
    assert set(layer.state()) == {"running_mean", "running_var"}
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((4, 3)))
    out = layer.forward(data((4, 3, 2, 2)), training=True)
    assert out.dtype == np.float32
    dinputs = layer.backward(data((4, 3, 2, 2), seed=1))
    assert dinputs.dtype == layer.dgamma.dtype == layer.dbeta.dtype == np.float32
    assert layer.dgamma.shape == layer.dbeta.shape == (3,)
    with pytest.raises(ValueError, match="dvalues must have the output's shape"):
        layer.backward(np.ones((4, 3)))
    layer.needs_input_gradient = False
    assert layer.backward(data((4, 3, 2, 2), seed=2)) is None and layer.dgamma is not None


def test_the_input_gradient_has_no_component_along_a_shift_or_a_scaling_of_a_channel():
    x, dvalues = data((9, 2, 3, 3)), data((9, 2, 3, 3), seed=4)
    layer = BatchNorm(2, epsilon=1e-12, dtype=F64)   # exactly orthogonal to the scaling only when epsilon = 0
    layer.forward(x, training=True)
    dinputs = layer.backward(dvalues)
    per_channel = np.moveaxis(dinputs, 1, 0).reshape(2, -1)
    centred = np.moveaxis(x - broadcast(channel_stats(x)[0], 4), 1, 0).reshape(2, -1)
    np.testing.assert_allclose(per_channel.sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose((per_channel * centred).sum(axis=1), 0, atol=1e-11)


# Saving and loading --------------------------------------------------------------------------------

def small_model(X_train: np.ndarray) -> Model:
    layers = [Standardize(6).fit(X_train), Dense(6, 8, init="he", rng=0), BatchNorm(8), ReLU(),
              Dense(8, 3, rng=1), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(0.01))


@pytest.mark.parametrize("shape", [(64, 5), (8, 3, 6, 7)])
@pytest.mark.parametrize("training", [True, False])
def test_float32_is_float64_to_rounding_and_strided_inputs_equal_contiguous_ones(shape, training):
    """The per-channel sums reshape the batch into rows: a strided (non-contiguous) batch must give
    what its contiguous copy gives, and float32 what float64 gives, to float32 rounding."""
    rng = np.random.default_rng(7)
    wide = rng.normal(1.0, 3.0, size=(shape[0], shape[1] + 2) + shape[2:])
    strided, upstream = wide[:, 1:-1], rng.standard_normal(shape)      # a view along axis 1
    assert not strided.flags.c_contiguous
    results = {}
    for name, dtype, batch in (("strided", np.float32, strided), ("contiguous", np.float32, strided.copy()),
                               ("float64", F64, strided.copy())):
        layer = BatchNorm(shape[1], dtype=dtype)
        layer.gamma[...], layer.beta[...] = np.linspace(0.5, 2, shape[1]), np.linspace(-1, 1, shape[1])
        output = layer.forward(batch, training=training)
        results[name] = [output, layer.backward(upstream), layer.dgamma, layer.dbeta, layer.running_var]
    for ours, copy, exact in zip(results["strided"], results["contiguous"], results["float64"]):
        np.testing.assert_array_equal(ours, copy)
        assert np.abs(ours - exact).max() <= 1e-5 * np.abs(exact).max()


def test_statistics_and_running_statistics_survive_save_and_load(tmp_path):
    X, y = data((60, 6), seed=7, loc=10.0, scale=30.0).astype(np.float32), np.arange(60) % 3
    model = small_model(X)
    model.fit(X, y, epochs=2, batch_size=16, rng=0, verbose=0)
    dlfs.save(model, tmp_path / "m.npz")
    restored = dlfs.load(tmp_path / "m.npz")
    for ours, theirs in zip(model.layers, restored.layers):
        assert type(ours) is type(theirs)
        for name, array in ours.state().items():
            assert np.array_equal(theirs.state()[name], array) and theirs.state()[name].dtype == array.dtype
    assert int(restored.layers[0].n_examples) == 60
    assert not np.array_equal(restored.layers[2].running_var, np.ones(8))   # trained, not the defaults
    assert np.array_equal(restored.predict(X), model.predict(X))


def test_a_saved_unfitted_standardize_still_refuses_after_loading(tmp_path):
    model = Model([Standardize(2), Dense(2, 2, rng=0), Softmax()], CategoricalCrossEntropy())
    dlfs.save(model, tmp_path / "unfitted.npz")
    with pytest.raises(RuntimeError, match="no statistics"):
        dlfs.load(tmp_path / "unfitted.npz").predict(np.ones((3, 2), dtype=np.float32))


# Against PyTorch ------------------------------------------------------------------------------------

def torch_errors(layer: BatchNorm, batches: list[np.ndarray], dvalues: np.ndarray, training: bool) -> dict[str, float]:
    """Run every batch through ``layer`` and through ``F.batch_norm`` on copies of its arrays; backward
    the last one with ``dvalues``. Relative errors of the last output, the three gradients and the
    running statistics after all batches."""
    torch = import_torch()
    functional = torch.nn.functional
    running_mean, running_var = torch.tensor(layer.running_mean), torch.tensor(layer.running_var)
    gamma = torch.tensor(layer.gamma, requires_grad=True)
    beta = torch.tensor(layer.beta, requires_grad=True)
    for batch in batches:
        x = torch.tensor(batch, requires_grad=True)
        expected = functional.batch_norm(x, running_mean, running_var, gamma, beta, training=training,
                                         momentum=layer.momentum, eps=layer.epsilon)
        output = layer.forward(batch, training=training)
    expected.backward(torch.tensor(dvalues))
    dinputs = layer.backward(dvalues)
    return {"output": error(output, expected), "inputs": input_gradient_error(layer, dinputs, x.grad, dvalues),
            "gamma": error(layer.dgamma, gamma.grad), "beta": error(layer.dbeta, beta.grad),
            "running_mean": error(layer.running_mean, running_mean),
            "running_var": error(layer.running_var, running_var)}


def input_gradient_error(layer: BatchNorm, ours: np.ndarray, theirs, dvalues: np.ndarray) -> float:
    """Relative error of dL/d(inputs), except for a training batch of two values per channel.

    There the two directions that batch normalisation removes from the gradient (a shift of the
    channel, and a scaling of its deviations) span everything, and the exact gradient is only
    epsilon / (variance + epsilon) of the terms that cancel: what is left is rounding of those
    terms, in which any two implementations differ. So for m = 2 the difference is measured
    against the size of the terms, ``gamma * dvalues / sqrt(var + epsilon)``, instead.
    """
    theirs = theirs.detach().numpy()
    if not (layer.batch_statistics and ours.size // layer.n_channels == 2):
        return error(ours, theirs)
    terms = np.linalg.norm(dvalues * broadcast(layer.gamma, ours.ndim) * layer.inv_std)
    return float(np.linalg.norm(ours - theirs) / (np.linalg.norm(ours) + np.linalg.norm(theirs) + terms))


def oracle_case(layer_class, shape, seed, momentum=0.1, epsilon=1e-5, n_batches=2):
    """A float64 layer with random gamma, beta and running statistics, and n_batches random batches."""
    rng = np.random.default_rng(seed)
    layer = layer_class(shape[1], momentum=momentum, epsilon=epsilon, dtype=F64)
    layer.gamma[...], layer.beta[...] = rng.uniform(0.5, 2.0, shape[1]), rng.standard_normal(shape[1])
    layer.running_mean[...], layer.running_var[...] = rng.standard_normal(shape[1]), rng.uniform(0.5, 2.0, shape[1])
    scale, offset = rng.uniform(0.1, 10.0, shape[1]), rng.uniform(-5.0, 5.0, shape[1])
    batches = [broadcast(scale, len(shape)) * rng.standard_normal(shape) + broadcast(offset, len(shape))
               for _ in range(n_batches)]
    return layer, batches, rng.standard_normal(shape)


def assert_all_small(errors: dict[str, float]) -> None:
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


momenta = st.sampled_from([0.0, 0.1, 0.5, 1.0])
epsilons = st.sampled_from([1e-5, 1e-3, 0.1])


@FAST
@given(batch=st.integers(1, 64), features=st.integers(1, 32), momentum=momenta, epsilon=epsilons,
       training=st.booleans(), seed=seeds)
@example(batch=2, features=1, momentum=0.1, epsilon=1e-5, training=True, seed=0)
@example(batch=2, features=7, momentum=0.1, epsilon=1e-5, training=True, seed=255)
@example(batch=3, features=2, momentum=0.5, epsilon=1e-3, training=True, seed=3)
@example(batch=1, features=3, momentum=0.1, epsilon=1e-5, training=False, seed=1)
def test_batchnorm_on_features_matches_torch(batch, features, momentum, epsilon, training, seed):
    assume(not training or batch >= 2)            # one value per channel: both refuse (tested below)
    layer, batches, dvalues = oracle_case(BatchNorm, (batch, features), seed, momentum, epsilon)
    assert_all_small(torch_errors(layer, batches, dvalues, training))


@FAST
@given(batch=st.integers(1, 6), channels=st.integers(1, 5), height=st.integers(1, 7), width=st.integers(1, 7),
       momentum=momenta, epsilon=epsilons, training=st.booleans(), seed=seeds)
@example(batch=1, channels=1, height=2, width=1, momentum=0.1, epsilon=1e-5, training=True, seed=0)
@example(batch=2, channels=3, height=1, width=1, momentum=0.1, epsilon=1e-5, training=True, seed=1)
@example(batch=1, channels=2, height=1, width=1, momentum=0.1, epsilon=1e-5, training=False, seed=2)
def test_batchnorm_on_images_matches_torch(batch, channels, height, width, momentum, epsilon, training, seed):
    assume(not training or batch * height * width >= 2)
    layer, batches, dvalues = oracle_case(BatchNorm, (batch, channels, height, width), seed, momentum, epsilon)
    assert_all_small(torch_errors(layer, batches, dvalues, training))


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1, 1)])
def test_torch_also_refuses_one_value_per_channel_in_training(shape):
    torch = import_torch()
    x = torch.ones(shape, dtype=torch.float64)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.functional.batch_norm(x, torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64),
                                       training=True)
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm(3, dtype=F64).forward(np.ones(shape), training=True)


# Wrong on purpose: the same comparison must catch them.

class BiasedRunningVariance(BatchNorm):
    """Updates the running variance with the batch's biased variance (divides by m, not m - 1)."""

    def _batch_statistics(self, inputs):
        m = inputs.size // self.n_channels
        statistics = super()._batch_statistics(inputs)          # mean, var (and the deviations)
        self.running_var -= self.momentum * statistics[1] / (m - 1)       # undo the factor m / (m - 1)
        return statistics


class ConstantStatistics(BatchNorm):
    """Backward treats the batch mean and variance as constants: the terms coupling the rows are gone."""

    def backward(self, dvalues):
        self.batch_statistics = False
        return super().backward(dvalues)


MUTANT_SHAPES = [(2, 1), (16, 5), (64, 3), (4, 3, 5, 5), (1, 2, 3, 3)]


@pytest.mark.parametrize("shape", MUTANT_SHAPES)
@pytest.mark.parametrize("mutant, caught_in", [(BiasedRunningVariance, "running_var"), (ConstantStatistics, "inputs")])
def test_wrong_variants_are_caught(mutant, caught_in, shape):
    layer, batches, dvalues = oracle_case(mutant, shape, seed=sum(shape))
    errors = torch_errors(layer, batches, dvalues, training=True)
    assert errors[caught_in] > 1e3 * TOLERANCE, errors
    correct, batches, dvalues = oracle_case(BatchNorm, shape, seed=sum(shape))
    assert_all_small(torch_errors(correct, batches, dvalues, training=True))


# The chapter's stored run and benchmarks/long_runs.json ----------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def glued_values(notebook_path: Path) -> dict:
    """The values a notebook glued (myst_nb's glue), read from its stored outputs."""
    values = {}
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                text = output["data"][output["metadata"]["scrapbook"]["mime_prefix"] + "text/plain"]
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[name] = text
    return values


def test_chapter_10_stored_run_is_the_one_in_long_runs_json():
    """The chapter prints its agreement with the stored runs (a reader who changes a seed gets a
    False, not an AssertionError); here it must agree: same choice, same final test accuracy."""
    chapter = ROOT / "chapters" / "10-normalization.ipynb"
    glued = glued_values(chapter)
    long_runs = json.loads((ROOT / "benchmarks" / "long_runs.json").read_text())
    choice, final = long_runs["choices"]["normalization"], long_runs["test"]["normalization"]
    assert (glued["norm_cnn_scale"], glued["norm_cnn_epochs"]) == (choice["conv_scale"], choice["epochs"])
    assert final["seeds"][0] == 0 and final["epochs"] == choice["epochs"]
    assert glued["norm_cnn_accuracy"] == round(final["test_accuracy"][0], 4)
    printed = [line for cell in nbformat.read(chapter, as_version=4).cells for output in cell.get("outputs", [])
               for line in output.get("text", "").splitlines() if "the stored runs agree" in line]
    assert len(printed) == 1 and "False" not in printed[0], printed
