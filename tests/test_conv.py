"""dlfs.conv (chapter 9): Conv2D, MaxPool2D and Flatten.

Unit tests first: shapes, errors that name the bad argument, get_config round trips, state,
the fast convolution against the loops of its definition. Then PyTorch as the oracle (CPU,
float64): forward values and every gradient (weights, biases, inputs) of Conv2D against
torch.nn.functional.conv2d and of MaxPool2D against max_pool2d, to 1e-10 relative, over
hypothesis-drawn shapes that include stride > 1, padding, a batch of 1, one channel, a kernel as
large as the padded input, sizes that pooling does not divide, and inputs with ties. Last,
deliberately wrong layers ("mutants") go through the same comparison and must be caught.
"""

import json
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import dlfs
from dlfs.conv import col2im, conv2d_loops, conv_output_size, im2col
from oracle import FAST, TOLERANCE, layer_errors, seeds

DTYPE = np.float64
# The oracle tests take the `torch` fixture (skipped without torch, failing in CI), which holds no
# state; they are cheap, so they draw 100 cases each instead of FAST's 25.
WITH_TORCH = settings(FAST, max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def assert_all_small(errors: dict[str, float]) -> None:
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


# --------------------------------------------------------------------------------------------
# Shapes, dtypes, starting weights
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel, stride, padding, size, expected", [
    (3, 1, 1, (28, 28), (28, 28)),
    (3, 1, 0, (28, 28), (26, 26)),
    ((3, 2), (2, 1), (1, 0), (9, 8), (5, 7)),
    (5, 2, 1, (3, 3), (1, 1)),            # the kernel as large as the padded input
    (2, 3, 0, (7, 7), (2, 2)),            # stride larger than the kernel
])
def test_conv2d_shapes(kernel, stride, padding, size, expected):
    layer = dlfs.Conv2D(2, 3, kernel, stride=stride, padding=padding, rng=0)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    assert layer.weights.shape == (3, 2, *k) and layer.biases.shape == (3,)
    assert layer.weights.dtype == layer.biases.dtype == np.float32
    output = layer(np.zeros((4, 2, *size), dtype=np.float32))
    assert output.shape == (4, 3, *expected) and output.dtype == np.float32
    assert layer.output_size(*size) == expected
    dinputs = layer.backward(np.ones(output.shape))
    assert dinputs.shape == (4, 2, *size) and dinputs.dtype == np.float32
    assert layer.dweights.shape == layer.weights.shape and layer.dbiases.shape == layer.biases.shape
    assert layer.dweights.dtype == layer.dbiases.dtype == np.float32


def test_conv2d_float64_and_integer_inputs():
    layer = dlfs.Conv2D(1, 2, 3, rng=0, dtype=np.float64)
    assert layer.weights.dtype == np.float64
    assert layer(np.ones((1, 1, 4, 4), dtype=int)).dtype == np.float64


@pytest.mark.parametrize("init", ["he", "glorot"])
def test_conv2d_starting_weights(init):
    layer = dlfs.Conv2D(16, 64, 3, init=init, rng=0, dtype=np.float64)
    fan_in, fan_out = 16 * 9, 64 * 9
    if init == "he":
        assert abs(layer.weights.std() / np.sqrt(2 / fan_in) - 1) < 0.05
    else:
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(layer.weights).max() <= limit and np.abs(layer.weights).max() > 0.95 * limit
    assert np.all(layer.biases == 0)
    assert dlfs.Conv2D(16, 64, 3).init == "he"                   # He is the default (ReLU follows)


def test_conv2d_rng_reproducible():
    same = [dlfs.Conv2D(2, 3, 3, rng=seed).weights for seed in (7, 7, np.random.default_rng(7))]
    assert np.array_equal(same[0], same[1]) and np.array_equal(same[0], same[2])
    assert not np.array_equal(same[0], dlfs.Conv2D(2, 3, 3, rng=8).weights)


@pytest.mark.parametrize("pool, stride, size, expected", [
    (2, None, (28, 28), (14, 14)),
    (2, None, (7, 5), (3, 2)),            # odd sizes: the last row and column are dropped
    (3, 2, (7, 7), (3, 3)),               # overlapping windows
    ((2, 3), (1, 2), (5, 7), (4, 3)),
    (4, None, (4, 4), (1, 1)),            # one window covers the map
])
def test_maxpool2d_shapes(pool, stride, size, expected):
    layer = dlfs.MaxPool2D(pool, stride)
    inputs = np.random.default_rng(0).standard_normal((2, 3, *size)).astype(np.float32)
    output = layer(inputs)
    assert output.shape == (2, 3, *expected) and output.dtype == np.float32
    assert layer.backward(np.ones(output.shape, dtype=np.float32)).shape == inputs.shape


def test_flatten_shapes_and_no_copies():
    inputs = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = dlfs.Flatten()
    output = layer(inputs)
    assert output.shape == (2, 60) and np.shares_memory(output, inputs)
    assert np.array_equal(output[1], inputs[1].ravel())
    dvalues = np.ones((2, 60))
    assert layer.backward(dvalues).shape == inputs.shape and np.shares_memory(layer.dinputs, dvalues)


def test_conv_output_size():
    assert conv_output_size(28, 3, 1, 1) == 28
    assert conv_output_size(7, 2, 2) == 3
    assert conv_output_size(5, 5) == 1


# --------------------------------------------------------------------------------------------
# Errors name the argument
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"in_channels": 0}, "in_channels"),
    ({"out_channels": -1}, "out_channels"),
    ({"out_channels": 2.0}, "out_channels"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"kernel_size": (3,)}, "kernel_size"),
    ({"kernel_size": (3, 0)}, "kernel_size"),
    ({"kernel_size": "33"}, "kernel_size"),
    ({"kernel_size": 2.5}, "kernel_size"),
    ({"kernel_size": True}, "kernel_size"),
    ({"stride": 0}, "stride"),
    ({"stride": (1, 2, 3)}, "stride"),
    ({"padding": -1}, "padding"),
    ({"padding": (0, -1)}, "padding"),
    ({"init": "xavier"}, "init"),
])
def test_conv2d_bad_arguments(kwargs, name):
    arguments = {"in_channels": 1, "out_channels": 2, "kernel_size": 3} | kwargs
    with pytest.raises(ValueError, match=name):
        dlfs.Conv2D(**arguments)


def test_conv2d_bad_dtype():
    with pytest.raises(TypeError, match="dtype"):
        dlfs.Conv2D(1, 2, 3, dtype=np.int32)


@pytest.mark.parametrize("kwargs, name", [
    ({"pool_size": 0}, "pool_size"), ({"pool_size": (2, -1)}, "pool_size"), ({"pool_size": None}, "pool_size"),
    ({"pool_size": 2, "stride": 0}, "stride"), ({"pool_size": 2, "stride": (1, 1.5)}, "stride"),
])
def test_maxpool2d_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        dlfs.MaxPool2D(**kwargs)


@pytest.mark.parametrize("inputs, message", [
    (np.zeros((4, 784)), r"inputs must have the shape \(batch, channels, height, width\), got shape \(4, 784\)"
                         r".*reshape them with X.reshape\(-1, C, H, W\)"),
    (np.zeros((1, 28, 28)), r"inputs must have the shape \(batch, channels, height, width\), got shape \(1, 28, 28\)"),
    (np.zeros((0, 2, 5, 5)), r"inputs is an empty batch"),
    (np.zeros((1, 3, 5, 5)), r"inputs must have 2 channels \(axis 1\), got shape \(1, 3, 5, 5\)"),
    (np.zeros((1, 2, 2, 5)), r"inputs of shape \(1, 2, 2, 5\) \(with padding \(0, 1\), 2 x 7\) are smaller than the kernel 3 x 3"),
])
def test_conv2d_bad_inputs(inputs, message):
    """Called directly, the public forward checks shape, rank, channels and size (cheaply)."""
    layer = dlfs.Conv2D(2, 1, 3, padding=(0, 1))
    with pytest.raises(ValueError, match=message):
        layer(inputs)


def test_conv2d_leaves_the_values_to_fit():
    """No pass over the values in the layer: a NaN pixel comes out as NaN in its image only;
    fit, evaluate and predict refuse it once, at the door, and say where it is."""
    images = np.zeros((2, 1, 8, 8), dtype=np.float32)
    images[1, 0, 2, 3] = np.nan
    out = dlfs.Conv2D(1, 2, 3, rng=0)(images)
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).any()
    model = small_cnn()
    for call in (model.predict, lambda X: model.evaluate(X, [0, 1]), lambda X: model.fit(X, [0, 1], verbose=0)):
        with pytest.raises(ValueError, match=r"X must be finite, got nan at index \(1, 0, 2, 3\)"):
            call(images)


def test_conv2d_inputs_must_be_numbers():
    with pytest.raises(TypeError, match="inputs must hold numbers"):
        dlfs.Conv2D(1, 1, 1)(np.array("a").reshape(1, 1, 1, 1))


def test_maxpool2d_bad_inputs():
    with pytest.raises(ValueError, match=r"inputs must have the shape \(batch, channels, height, width\), "
                                         r"got shape \(3, 4\)"):
        dlfs.MaxPool2D(2)(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="smaller than the pooling window 3 x 3"):
        dlfs.MaxPool2D(3)(np.zeros((1, 1, 2, 5)))


def test_flatten_bad_inputs():
    for bad in (np.zeros(5), np.zeros((0, 3))):
        with pytest.raises(ValueError, match="inputs must be a non-empty batch"):
            dlfs.Flatten()(bad)


@pytest.mark.parametrize("layer, shape", [
    (dlfs.Conv2D(1, 2, 3), (1, 1, 4, 4)), (dlfs.MaxPool2D(2), (1, 1, 4, 4)), (dlfs.Flatten(), (1, 1, 4, 4)),
])
def test_backward_checks(layer, shape):
    with pytest.raises(RuntimeError, match="before forward"):
        type(layer)(**layer.get_config()).backward(np.zeros(shape))
    output = layer(np.ones(shape))
    with pytest.raises(ValueError, match="dvalues must have the output's shape"):
        layer.backward(np.zeros((2, *output.shape)))


# --------------------------------------------------------------------------------------------
# Configs, state, saving
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [
    dlfs.Conv2D(3, 4, (3, 2), stride=(2, 1), padding=1, init="glorot", dtype=np.float64),
    dlfs.Conv2D(1, 8, 5),
    dlfs.MaxPool2D(2),
    dlfs.MaxPool2D((3, 2), stride=1),
    dlfs.Flatten(),
])
def test_get_config_round_trip_through_json(layer):
    config = layer.get_config()
    rebuilt = type(layer)(**json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    cls = type(layer)     # found by its full name when a saved model is loaded, no registry needed
    assert cls.__module__ == "dlfs.conv" and getattr(sys.modules[cls.__module__], cls.__qualname__) is cls
    assert layer.state() == {}


def test_get_config_values():
    assert dlfs.Conv2D(3, 4, 5, stride=2).get_config() == {
        "in_channels": 3, "out_channels": 4, "kernel_size": (5, 5), "stride": (2, 2), "padding": (0, 0),
        "init": "he", "dtype": "float32"}
    assert dlfs.MaxPool2D(2).get_config() == {"pool_size": (2, 2), "stride": (2, 2)}


def small_cnn(rng=0) -> dlfs.Model:
    rng = np.random.default_rng(rng)
    layers = [dlfs.Conv2D(1, 3, 3, padding=1, rng=rng), dlfs.ReLU(), dlfs.MaxPool2D(2),
              dlfs.Conv2D(3, 4, (3, 2), stride=(1, 2), rng=rng), dlfs.ReLU(), dlfs.Flatten(),
              dlfs.Dense(4 * 2 * 2, 3, rng=rng), dlfs.Softmax()]
    return dlfs.Model(layers, dlfs.CategoricalCrossEntropy(), dlfs.Adam())


def test_model_save_and_load(tmp_path):
    model = small_cnn()
    for layer in model.layers:
        if isinstance(layer, dlfs.Conv2D):
            layer.biases[...] = np.arange(len(layer.biases)) / 10
    images = np.random.default_rng(1).random((5, 1, 8, 8)).astype(np.float32)
    dlfs.save(model, tmp_path / "cnn.npz")
    loaded = dlfs.load(tmp_path / "cnn.npz")
    assert repr(loaded) == repr(model)
    assert np.array_equal(loaded.forward(images), model.forward(images))
    other = small_cnn(rng=5)
    other.load_state_dict(loaded.state_dict())          # the weights alone, into a model built in code
    assert np.array_equal(other.forward(images), model.forward(images))


def test_model_trains_on_image_batches():
    """Model.fit, evaluate and predict take (N, C, H, W) batches when the first layer does."""
    rng = np.random.default_rng(0)
    images = rng.random((30, 1, 8, 8)).astype(np.float32)
    labels = (images[:, 0, :4].mean(axis=(1, 2)) > images[:, 0, 4:].mean(axis=(1, 2))).astype(int) * 2
    model = small_cnn()
    before = model.evaluate(images, labels)["loss"]
    model.fit(images, labels, epochs=5, batch_size=8, rng=0, verbose=0)
    assert model.evaluate(images, labels)["loss"] < before
    assert model.predict(images).shape == (30, 3)


# --------------------------------------------------------------------------------------------
# The fast convolution against its definition
# --------------------------------------------------------------------------------------------

@st.composite
def conv_cases(draw, max_size: int = 9):
    """(batch, in_channels, out_channels, kernel, stride, padding, height, width), the kernel
    fitting the padded input (possibly exactly)."""
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), max_size))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), max_size))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
            kernel, stride, padding, height, width)


def conv_layer_and_data(case, seed: int, dtype=DTYPE):
    batch, c_in, c_out, kernel, stride, padding, height, width = case
    rng = np.random.default_rng(seed)
    layer = dlfs.Conv2D(c_in, c_out, kernel, stride=stride, padding=padding, rng=rng, dtype=dtype)
    layer.biases[...] = rng.standard_normal(c_out)               # zero biases would hide mistakes
    inputs = rng.standard_normal((batch, c_in, height, width))
    h_out, w_out = layer.output_size(height, width)
    dvalues = rng.standard_normal((batch, c_out, h_out, w_out))
    return layer, inputs, dvalues


@FAST
@given(case=conv_cases(), seed=seeds)
@example(case=(1, 1, 1, (5, 5), (1, 1), (1, 1), 3, 3), seed=0)
def test_conv2d_matches_the_loops(case, seed):
    layer, inputs, _ = conv_layer_and_data(case, seed)
    expected = conv2d_loops(inputs, layer.weights, layer.biases, layer.stride, layer.padding)
    assert np.allclose(layer(inputs), expected, rtol=1e-12, atol=1e-12)


@FAST
@given(case=conv_cases(), seed=seeds)
def test_col2im_is_the_transpose_of_im2col(case, seed):
    batch, c_in, _, kernel, stride, padding, height, width = case
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((batch, c_in, height, width))
    cols = im2col(images, kernel, stride, padding)
    other = rng.standard_normal(cols.shape)
    back = col2im(other, images.shape, kernel, stride, padding)
    assert back.shape == images.shape
    assert np.isclose(np.sum(cols * other), np.sum(images * back), rtol=1e-12, atol=1e-12)


def test_first_layer_skips_the_input_gradient():
    layer, inputs, dvalues = conv_layer_and_data((2, 2, 3, (3, 3), (1, 1), (1, 1), 5, 5), 0)
    layer(inputs)
    full = layer.backward(dvalues)
    dweights = layer.dweights.copy()
    layer.needs_input_gradient = False
    assert layer.backward(dvalues) is None and layer.dinputs is None
    assert full is not None and np.array_equal(layer.dweights, dweights)


def test_maxpool2d_routes_ties_to_the_first_maximum():
    tied = np.array([[1, 5, 2, 0], [5, 3, 6, 6], [0, 2, 4, 4], [7, 7, 4, 4]], dtype=float)[None, None]
    layer = dlfs.MaxPool2D(2)
    assert np.array_equal(layer(tied)[0, 0], [[5, 6], [7, 4]])
    routed = layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))[0, 0]
    assert np.array_equal(routed, [[0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 4, 0], [3, 0, 0, 0]])


def windows_of(inputs, pool, stride):
    """(N, C, H_out, W_out, kH * kW): every pooling window, read row by row (a copy)."""
    from numpy.lib.stride_tricks import sliding_window_view
    out_size = [conv_output_size(n, k, s) for n, k, s in zip(inputs.shape[2:], pool, stride)]
    view = sliding_window_view(inputs, pool, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    return view[:, :, :out_size[0], :out_size[1]].reshape(*inputs.shape[:2], *out_size, -1)


@FAST
@given(case=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3)),
       layout=st.sampled_from(["C", "channels first"]), seed=seeds)
def test_maxpool2d_argmax_is_the_first_maximum_of_each_window(case, layout, seed):
    """The stored argmax is NumPy's argmax of each window (the first maximum in reading order),
    whatever the memory layout of the inputs; the output is the window's max, bit for bit."""
    k_h, k_w, s_h, s_w = case
    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, 3, (2, 3, k_h + 5, k_w + 4)).astype(np.float32)   # many ties
    if layout == "channels first":                    # as a convolution's output is laid out
        inputs = np.ascontiguousarray(inputs.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    layer = dlfs.MaxPool2D((k_h, k_w), (s_h, s_w))
    output = layer(inputs)
    windows = windows_of(inputs, (k_h, k_w), (s_h, s_w))
    assert np.array_equal(output, windows.max(axis=-1))
    assert np.array_equal(layer.argmax, windows.argmax(axis=-1))


def test_maxpool2d_argmax_dtype_holds_every_offset():
    """One byte for up to 256 offsets; a larger window takes a wider type."""
    small, large = dlfs.MaxPool2D((16, 16)), dlfs.MaxPool2D((16, 17))
    inputs = np.random.default_rng(0).standard_normal((1, 1, 16, 17))
    small(inputs)
    large(inputs)
    assert small.argmax.dtype == np.uint8 and large.argmax.dtype == np.uint16
    assert large.argmax.item() == np.argmax(inputs)
    gradient = large.backward(np.ones((1, 1, 1, 1)))
    assert gradient.sum() == 1 and gradient.flat[np.argmax(inputs)] == 1


def test_overlapping_pooling_adds_gradients():
    inputs = np.zeros((1, 1, 3, 3))
    inputs[0, 0, 1, 1] = 1.0                                     # the maximum of all four windows
    layer = dlfs.MaxPool2D(2, stride=1)
    layer(inputs)
    assert layer.backward(np.ones((1, 1, 2, 2)))[0, 0, 1, 1] == 4


# --------------------------------------------------------------------------------------------
# PyTorch as the oracle
# --------------------------------------------------------------------------------------------

def conv_errors(case, seed: int, layer_class=dlfs.Conv2D):
    import torch

    layer, inputs, dvalues = conv_layer_and_data(case, seed)
    if layer_class is not dlfs.Conv2D:
        config = layer.get_config()
        mutant = layer_class(**config)
        mutant.weights[...], mutant.biases[...] = layer.weights, layer.biases
        layer = mutant

    def torch_conv(x, weights, biases):
        return torch.nn.functional.conv2d(x, weights, biases, stride=layer.stride, padding=layer.padding)

    return layer_errors(layer, torch_conv, inputs, dvalues)


@WITH_TORCH
@given(case=conv_cases(), seed=seeds)
@example(case=(1, 1, 1, (3, 3), (1, 1), (0, 0), 3, 3), seed=0)       # batch 1, one channel, kernel = input
@example(case=(1, 1, 2, (5, 4), (2, 3), (1, 1), 3, 2), seed=1)       # kernel = padded input, strides
@example(case=(3, 2, 3, (3, 3), (2, 2), (1, 1), 9, 8), seed=2)       # stride 2 and padding
@example(case=(2, 3, 1, (1, 1), (3, 3), (0, 0), 7, 7), seed=3)       # a 1x1 kernel, stride 3
def test_conv2d_matches_torch(torch, case, seed):
    errors = conv_errors(case, seed)
    assert set(errors) == {"output", "inputs", "weights", "biases"}
    assert_all_small(errors)


@st.composite
def pool_cases(draw, max_size: int = 11):
    """(batch, channels, pool_size, stride, height, width, ties): sizes the windows need not divide."""
    pool = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    height, width = draw(st.integers(pool[0], max_size)), draw(st.integers(pool[1], max_size))
    return draw(st.integers(1, 3)), draw(st.integers(1, 3)), pool, stride, height, width, draw(st.booleans())


def pool_errors(case, seed: int, layer_class=dlfs.MaxPool2D):
    """The errors against torch; with ``ties`` the inputs are small integers, so that many windows
    hold their maximum more than once."""
    import torch

    batch, channels, pool, stride, height, width, ties = case
    rng = np.random.default_rng(seed)
    shape = (batch, channels, height, width)
    inputs = rng.integers(0, 3, shape).astype(DTYPE) if ties else rng.standard_normal(shape)
    layer = layer_class(pool, stride)
    dvalues = rng.standard_normal(layer(inputs).shape)

    def torch_pool(x):
        return torch.nn.functional.max_pool2d(x, pool, stride=layer.stride)

    return layer_errors(layer, torch_pool, inputs, dvalues)


@WITH_TORCH
@given(case=pool_cases(), seed=seeds)
@example(case=(1, 1, (2, 2), None, 7, 5, False), seed=0)       # odd sizes: the last row and column dropped
@example(case=(2, 3, (3, 3), (2, 2), 7, 7, True), seed=1)      # overlapping windows with ties
@example(case=(1, 1, (4, 4), None, 4, 4, True), seed=2)        # one window as large as the input
@example(case=(2, 2, (2, 2), None, 8, 8, True), seed=3)
def test_maxpool2d_matches_torch(torch, case, seed):
    errors = pool_errors(case, seed)
    assert set(errors) == {"output", "inputs"}
    assert_all_small(errors)


def test_flatten_matches_torch(torch):
    inputs = np.random.default_rng(0).standard_normal((3, 2, 4, 5))
    errors = layer_errors(dlfs.Flatten(), lambda x: torch.flatten(x, start_dim=1), inputs,
                          np.random.default_rng(1).standard_normal((3, 40)))
    assert_all_small(errors)


# --------------------------------------------------------------------------------------------
# The oracle can fail: wrong implementations must give large errors
# --------------------------------------------------------------------------------------------

class ConvFlippedKernel(dlfs.Conv2D):
    """A convolution in the mathematical sense: the kernel turned by 180 degrees."""

    def forward(self, inputs, training=False):
        original = self.weights
        self.weights = np.ascontiguousarray(original[:, :, ::-1, ::-1])
        try:
            return super().forward(inputs, training)
        finally:
            self.weights = original


class ConvPaddingOffByOne(dlfs.Conv2D):
    """One more row and column of padding at the top and left, one fewer at the bottom and right:
    every window starts one pixel too early (same output shape)."""

    def forward(self, inputs, training=False):
        inputs = np.asarray(inputs)
        moved = np.zeros_like(inputs)
        moved[:, :, 1:, 1:] = inputs[:, :, :-1, :-1]
        return super().forward(moved, training)


class ConvCol2imOverwrites(dlfs.Conv2D):
    """col2im with '=' instead of '+=': where windows overlap, only the last one's gradient counts."""

    def backward(self, dvalues):
        super().backward(dvalues)
        grads = np.asarray(dvalues).reshape(len(dvalues), self.out_channels, -1)
        dcols = np.matmul(self.weights.reshape(self.out_channels, -1).T, grads)
        n, c, h, w = self.input_shape
        (k_h, k_w), (s_h, s_w), (p_h, p_w) = self.kernel_size, self.stride, self.padding
        h_out, w_out = self.output.shape[2:]
        dcols = dcols.reshape(n, c, k_h, k_w, h_out, w_out)
        padded = np.zeros((n, c, h + 2 * p_h, w + 2 * p_w))
        for a in range(k_h):
            for b in range(k_w):
                padded[:, :, a:a + s_h * h_out:s_h, b:b + s_w * w_out:s_w] = dcols[:, :, a, b]
        self.dinputs = padded[:, :, p_h:p_h + h, p_w:p_w + w]
        return self.dinputs


class ConvBiasGradientNotSummed(dlfs.Conv2D):
    """dL/d(bias) from the first output position only, not summed over all positions."""

    def backward(self, dvalues):
        result = super().backward(dvalues)
        self.dbiases = np.asarray(dvalues)[:, :, 0, 0].sum(axis=0)
        return result


class MaxPoolToLastMaximum(dlfs.MaxPool2D):
    """At ties, the gradient goes to the last maximum in reading order instead of the first."""

    def _slices(self, out_size):
        return super()._slices(out_size)[::-1]


class MaxPoolToAllTies(dlfs.MaxPool2D):
    """Every element equal to the window's maximum receives the window's gradient."""

    def backward(self, dvalues):
        self.dinputs = np.zeros(self.inputs.shape)
        for rows, columns in self._slices(self.output.shape[2:]):
            self.dinputs[:, :, rows, columns] += dvalues * (self.inputs[:, :, rows, columns] == self.output)
        return self.dinputs


class MaxPoolToTopLeft(dlfs.MaxPool2D):
    """The gradient goes to each window's top-left element, wherever the maximum is."""

    def backward(self, dvalues):
        self.dinputs = np.zeros(self.inputs.shape)
        rows, columns = self._slices(self.output.shape[2:])[0]
        self.dinputs[:, :, rows, columns] += dvalues
        return self.dinputs


STRIDED = (2, 2, 3, (3, 3), (2, 1), (1, 1), 7, 6)                     # overlapping windows, padding
MUTANTS = {  # name: (function returning the harness's errors, the error that must become large)
    "flipped kernel": (lambda: conv_errors(STRIDED, 0, ConvFlippedKernel), "output"),
    "padding off by one": (lambda: conv_errors(STRIDED, 0, ConvPaddingOffByOne), "output"),
    "col2im overwrites": (lambda: conv_errors(STRIDED, 0, ConvCol2imOverwrites), "inputs"),
    "bias gradient not summed": (lambda: conv_errors(STRIDED, 0, ConvBiasGradientNotSummed), "biases"),
    "pooling to the last maximum": (
        lambda: pool_errors((2, 2, (2, 2), None, 8, 8, True), 0, MaxPoolToLastMaximum), "inputs"),
    "pooling to all ties": (lambda: pool_errors((2, 2, (2, 2), None, 8, 8, True), 0, MaxPoolToAllTies), "inputs"),
    "pooling to the wrong element": (
        lambda: pool_errors((2, 2, (2, 2), None, 7, 7, False), 0, MaxPoolToTopLeft), "inputs"),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_oracle_catches_a_wrong_implementation(torch, name):
    compute_errors, target = MUTANTS[name]
    errors = compute_errors()
    # far above TOLERANCE, so the oracle tests above would report these implementations as wrong
    assert errors[target] > 1e4 * TOLERANCE, f"the oracle missed the mutant {name!r}: {errors}"


def test_flipped_kernel_is_caught_only_by_asymmetric_kernels(torch):
    """A symmetric kernel hides a flip: the mutant passes there, so the oracle's kernels must be random."""
    case = (1, 1, 1, (3, 3), (1, 1), (1, 1), 5, 5)
    layer, inputs, _ = conv_layer_and_data(case, 0)
    flipped = ConvFlippedKernel(**layer.get_config())
    flipped.weights[...] = layer.weights + layer.weights[:, :, ::-1, ::-1]   # symmetric under the flip
    flipped.biases[...] = layer.biases
    reference = dlfs.Conv2D(**layer.get_config())
    reference.weights[...], reference.biases[...] = flipped.weights, flipped.biases
    assert np.allclose(flipped(inputs), reference(inputs), rtol=1e-12, atol=1e-12)
