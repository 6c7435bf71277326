"""Convolution, max pooling and flattening, for images (N, C, H, W).

Generated from chapters/09-convolution.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['conv_output_size', 'conv2d_loops', 'im2col', 'check_fits', 'Conv2D', 'col2im', 'MaxPool2D', 'Flatten']

# %% chapters/09-convolution.md cell 1
# dlfs.conv: convolution, max pooling and flattening, for images (N, C, H, W).
import numpy as np

from dlfs.layers import DEFAULT_DTYPE, INITIALIZERS, Layer
from dlfs.validation import (check_batch, check_count, check_dvalues,
                             check_float_dtype, check_pair, check_rng)


# %% chapters/09-convolution.md cell 4
def conv_output_size(size: int, kernel: int, stride: int = 1,
                     padding: int = 0) -> int:
    """Positions of a window along one axis:
    floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_loops(inputs: np.ndarray, weights: np.ndarray, biases: np.ndarray,
                 stride=1, padding=0) -> np.ndarray:
    """The convolution by its definition, one output value at a time: slow, a
    reference for checking.

    inputs (N, C, H, W), weights (F, C, kH, kW), biases (F,); ``stride`` and
    ``padding`` are ints or (rows, columns) pairs. Returns
    (N, F, H_out, W_out), computed in the result dtype of the inputs and
    weights.
    """
    s_h, s_w = check_pair("stride", stride)
    p_h, p_w = check_pair("padding", padding, allow_zero=True)
    n_images, _, height, width = inputs.shape
    n_kernels, _, k_h, k_w = weights.shape
    padded = np.pad(inputs, ((0, 0), (0, 0), (p_h, p_h), (p_w, p_w)))
    h_out = conv_output_size(height, k_h, s_h, p_h)
    w_out = conv_output_size(width, k_w, s_w, p_w)
    outputs = np.zeros((n_images, n_kernels, h_out, w_out),
                       dtype=np.result_type(inputs, weights))
    for n in range(n_images):
        for f in range(n_kernels):
            for i in range(h_out):
                for j in range(w_out):
                    # (C, kH, kW)
                    window = padded[n, :, i * s_h:i * s_h + k_h,
                                    j * s_w:j * s_w + k_w]
                    outputs[n, f, i, j] = (np.sum(window * weights[f])
                                           + biases[f])
    return outputs


# %% chapters/09-convolution.md cell 6
def _padded_channels_first(images: np.ndarray,
                           padding: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) -> (C, N, H + 2 p_h, W + 2 p_w): the images with zeros
    around, channels first.

    Without padding, a view of the images with the first two axes swapped.
    """
    n_images, channels, height, width = images.shape
    p_h, p_w = padding
    if not (p_h or p_w):
        return images.transpose(1, 0, 2, 3)
    padded = np.zeros((channels, n_images, height + 2 * p_h, width + 2 * p_w),
                      dtype=images.dtype)
    padded[:, :, p_h:p_h + height, p_w:p_w + width] = images.transpose(
        1, 0, 2, 3)
    return padded


def _window_slices(kernel_size, stride, out_size):
    """For each offset (u, v) inside the window, in reading order, the (rows,
    columns) slices that pick that offset's pixel from every window position:
    rows u, u + s_h, ... (h_out of them)."""
    (k_h, k_w), (s_h, s_w), (h_out, w_out) = kernel_size, stride, out_size
    return [(slice(u, u + s_h * h_out, s_h), slice(v, v + s_w * w_out, s_w))
            for u in range(k_h) for v in range(k_w)]


def im2col(images: np.ndarray, kernel_size, stride, padding) -> np.ndarray:
    """Every window of every image as a column:
    (N, C, H, W) -> (C * kH * kW, N * H_out * W_out).

    ``kernel_size``, ``stride``, ``padding`` are (rows, columns) pairs.
    Column n * H_out * W_out + i * W_out + j holds the window of image n at
    output position (i, j), channel by channel and row by row within a
    channel: the order of ``weights.reshape(F, -1)`` for weights
    (F, C, kH, kW).
    """
    n_images, channels, height, width = images.shape
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = kernel_size, stride, padding
    out_size = (conv_output_size(height, k_h, s_h, p_h),
                conv_output_size(width, k_w, s_w, p_w))
    # (C, N, H + 2 p_h, W + 2 p_w)
    padded = _padded_channels_first(images, padding)
    cols = np.empty((channels, k_h * k_w, n_images, *out_size),
                    dtype=images.dtype)
    slices = _window_slices(kernel_size, stride, out_size)
    for offset, (rows, columns) in enumerate(slices):
        cols[:, offset] = padded[:, :, rows, columns]
    return cols.reshape(channels * k_h * k_w,
                        n_images * out_size[0] * out_size[1])


# %% chapters/09-convolution.md cell 9
def check_fits(shape: tuple, window: tuple[int, int],
               padding: tuple[int, int] = (0, 0), what: str = "kernel",
               name: str = "inputs") -> None:
    """ValueError naming ``name`` unless a (rows, columns) ``window`` fits
    images of ``shape`` (N, C, H, W) padded by ``padding`` on each side."""
    height, width = shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]
    if height < window[0] or width < window[1]:
        padded = (f" (with padding {padding}, {height} x {width})"
                  if any(padding) else "")
        raise ValueError(f"{name} of shape {shape}{padded} are smaller than "
                         f"the {what} {window[0]} x {window[1]}")


# %% chapters/09-convolution.md cell 10
class Conv2D(Layer):
    """A 2-D convolutional layer (cross-correlation, as in PyTorch):
    (N, C, H, W) -> (N, F, H_out, W_out).

    weights (out_channels, in_channels, kH, kW), biases (out_channels,).
    ``kernel_size``, ``stride`` and ``padding`` (zeros on each side) are ints
    or (rows, columns) pairs; H_out = floor((H + 2 p_h - kH) / s_h) + 1, and
    likewise W_out. ``init`` is "he" (default, for layers followed by ReLU)
    or "glorot"; ``rng`` a seed or a numpy Generator; ``dtype`` float32
    unless you ask for float64. Inputs and dvalues are converted to
    ``dtype``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size,
                 stride=1, padding=0, init: str = "he", rng=None,
                 dtype=DEFAULT_DTYPE):
        self.in_channels = check_count("in_channels", in_channels)
        self.out_channels = check_count("out_channels", out_channels)
        self.kernel_size = check_pair("kernel_size", kernel_size)
        self.stride = check_pair("stride", stride)
        self.padding = check_pair("padding", padding, allow_zero=True)
        self.dtype = check_float_dtype(dtype)
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, "
                             f"got {init!r}")
        self.init = init
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        fan_in = np.prod(shape[1:])
        fan_out = self.out_channels * np.prod(self.kernel_size)
        self.weights = INITIALIZERS[init](fan_in, fan_out, check_rng(rng),
                                          shape).astype(self.dtype)
        self.biases = np.zeros(self.out_channels, dtype=self.dtype)
        self.cols = self.output = self.dweights = self.dbiases = None

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, in_channels, H, W) -> (N, out_channels, H_out, W_out)."""
        inputs = check_batch(inputs, dtype=self.dtype, ndim=4,
                             features=self.in_channels)
        check_fits(inputs.shape, self.kernel_size, self.padding)
        n_images, _, height, width = self.input_shape = inputs.shape
        # X: (K, N P)
        self.cols = im2col(inputs, self.kernel_size, self.stride,
                           self.padding)
        # Y: (F, N P)
        outputs = self.weights.reshape(self.out_channels, -1) @ self.cols
        outputs += self.biases[:, None]
        outputs = outputs.reshape(self.out_channels, n_images,
                                  *self.output_size(height, width))
        self.output = outputs.transpose(1, 0, 2, 3)  # (N, F, H_out, W_out)
        return self.output

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(H_out, W_out) for inputs of height x width."""
        return tuple(conv_output_size(size, k, s, p) for size, k, s, p in
                     zip((height, width), self.kernel_size, self.stride,
                         self.padding))

    # %% chapters/09-convolution.md cell 11
    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "biases": self.biases}

    # %% chapters/09-convolution.md cell 11
    def gradients(self) -> dict[str, np.ndarray]:
        return {"weights": self.dweights, "biases": self.dbiases}

    # %% chapters/09-convolution.md cell 11
    def get_config(self) -> dict:
        return {"in_channels": self.in_channels,
                "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride,
                "padding": self.padding, "init": self.init,
                "dtype": self.dtype.name}

    # %% chapters/09-convolution.md cell 11
    @classmethod
    def array_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shapes of ``parameters()`` of a layer built from ``config``,
        known without building it."""
        n_in = check_count("in_channels", config["in_channels"])
        n_out = check_count("out_channels", config["out_channels"])
        k_h, k_w = check_pair("kernel_size", config["kernel_size"])
        return {"weights": (n_out, n_in, k_h, k_w), "biases": (n_out,)}

    # %% chapters/09-convolution.md cell 15
    def backward(self, dvalues: np.ndarray) -> np.ndarray | None:
        """dL/d(outputs) (N, F, H_out, W_out) -> dL/d(inputs) (N, C, H, W);
        sets dweights and dbiases.

        With ``needs_input_gradient = False`` the input gradient is skipped and
        None returned.
        """
        dvalues = check_dvalues(self, dvalues).astype(self.dtype, copy=False)
        # G: (F, N P)
        grads = dvalues.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)
        self.dbiases = grads.sum(axis=1)
        self.dweights = (grads @ self.cols.T).reshape(self.weights.shape)
        if not self.needs_input_gradient:
            self.dinputs = None
            return None
        # (K, N P)
        dcols = self.weights.reshape(self.out_channels, -1).T @ grads
        self.dinputs = col2im(dcols, self.input_shape, self.kernel_size,
                              self.stride, self.padding)
        return self.dinputs


# %% chapters/09-convolution.md cell 13
def col2im(cols: np.ndarray, image_shape: tuple, kernel_size, stride,
           padding) -> np.ndarray:
    """The transpose of ``im2col``:
    (C * kH * kW, N * H_out * W_out) -> (N, C, H, W).

    Each column entry is added to the pixel that ``im2col`` copied it from,
    so a pixel under several windows receives the sum; entries that came
    from the padding are dropped. ``image_shape`` is (N, C, H, W); the other
    arguments are as for ``im2col``.
    """
    n_images, channels, height, width = image_shape
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = kernel_size, stride, padding
    out_size = (conv_output_size(height, k_h, s_h, p_h),
                conv_output_size(width, k_w, s_w, p_w))
    cols = cols.reshape(channels, k_h * k_w, n_images, *out_size)
    padded = np.zeros((channels, n_images, height + 2 * p_h, width + 2 * p_w),
                      dtype=cols.dtype)
    slices = _window_slices(kernel_size, stride, out_size)
    for offset, (rows, columns) in enumerate(slices):
        padded[:, :, rows, columns] += cols[:, offset]
    images = padded[:, :, p_h:p_h + height, p_w:p_w + width]
    return images.transpose(1, 0, 2, 3)


# %% chapters/09-convolution.md cell 17
class MaxPool2D(Layer):
    """Max-pooling of every channel: (N, C, H, W) -> (N, C, H_out, W_out),
    H_out = floor((H - kH) / s_h) + 1.

    ``pool_size`` and ``stride`` are ints or (rows, columns) pairs; ``stride``
    defaults to ``pool_size`` (windows that tile the map; rows and columns left
    over are dropped). The forward pass records each window's argmax, the
    offset of its first maximum in reading order; backward routes each
    gradient there, as PyTorch does. Inputs keep their dtype.
    """

    def __init__(self, pool_size, stride=None):
        self.pool_size = check_pair("pool_size", pool_size)
        self.stride = (self.pool_size if stride is None
                       else check_pair("stride", stride))
        self.inputs = self.output = self.argmax = None

    def _slices(self, out_size: tuple[int, int]):
        return _window_slices(self.pool_size, self.stride, out_size)

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        """(N, C, H, W) -> (N, C, H_out, W_out), the largest value of each
        window; sets ``argmax`` (N, C, H_out, W_out), the offset of the first
        maximum in reading order (0 to kH kW - 1)."""
        self.inputs = check_batch(inputs, ndim=4)
        check_fits(self.inputs.shape, self.pool_size, what="pooling window")
        out_size = tuple(conv_output_size(size, k, s) for size, k, s in
                         zip(self.inputs.shape[2:], self.pool_size,
                             self.stride))
        (rows, columns), *others = self._slices(out_size)
        # in the inputs' memory order, as are argmax and the work arrays
        self.output = self.inputs[:, :, rows, columns].copy(order="K")
        offset_type = np.min_scalar_type(len(others)).type   # np.uint8 mostly
        self.argmax = np.zeros_like(self.output, dtype=offset_type)
        greater = np.empty_like(self.output, dtype=bool)
        claims = np.empty_like(self.argmax)
        for offset, (rows, columns) in enumerate(others, start=1):
            candidates = self.inputs[:, :, rows, columns]
            np.greater(candidates, self.output, out=greater)   # strictly
            np.maximum(self.output, candidates, out=self.output)
            # offset where greater, else 0; the offsets only grow, so the
            # largest claim is the last one that took over
            np.multiply(greater, offset_type(offset), out=claims)
            np.maximum(self.argmax, claims, out=self.argmax)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) -> dL/d(inputs): each window's gradient to its argmax,
        zeros elsewhere (sums where windows overlap)."""
        dvalues = check_dvalues(self, dvalues)
        self.dinputs = np.zeros_like(
            self.inputs, dtype=np.result_type(dvalues, self.inputs))
        overlapping = any(s < k for s, k in zip(self.stride, self.pool_size))
        is_argmax = np.empty_like(dvalues, dtype=bool)    # laid out as dvalues
        for offset, (rows, columns) in enumerate(
                self._slices(self.output.shape[2:])):
            np.equal(self.argmax, offset, out=is_argmax)
            if overlapping:
                self.dinputs[:, :, rows, columns] += dvalues * is_argmax
            else:
                np.multiply(dvalues, is_argmax,
                            out=self.dinputs[:, :, rows, columns])
        return self.dinputs

    def get_config(self) -> dict:
        return {"pool_size": self.pool_size, "stride": self.stride}


# %% chapters/09-convolution.md cell 21
class Flatten(Layer):
    """(N, C, H, W), or any (N, ...), -> (N, C * H * W) rows (a copy only if
    the input is not in C order); backward reshapes back (a view)."""

    def forward(self, inputs: np.ndarray,
                training: bool = False) -> np.ndarray:
        inputs = np.asarray(inputs)
        if inputs.ndim < 2 or inputs.shape[0] == 0:
            raise ValueError("inputs must be a non-empty batch (N, ...) of "
                             "at least 2 dimensions, got shape "
                             f"{inputs.shape}")
        self.input_shape = inputs.shape
        self.output = inputs.reshape(len(inputs), -1)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """dL/d(outputs) (N, C * H * W) -> dL/d(inputs) (N, C, H, W)."""
        self.dinputs = check_dvalues(self, dvalues).reshape(self.input_shape)
        return self.dinputs
