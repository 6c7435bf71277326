"""dlfs.autograd: unit tests, and random expression graphs against PyTorch's autograd (float64).

The oracle draws, with hypothesis, random compositions of every supported operation over random
shapes with broadcasting, scalars, numbers and arrays on either side, and tensors used several
times; each operation is applied where it is well conditioned (a division by sigmoid(b) + 0.5, a
logarithm of a * a + 1, ...). Every node's value and every leaf's gradient must agree with
torch.autograd to a relative error of 1e-10 (Euclidean norms). Three deliberately wrong variants
of the module (no sum over a stretched broadcast axis, ``=`` instead of ``+`` when gradients
accumulate, a breadth-first instead of a topological sweep) must be caught, on a small fixed graph
and among the first random graphs.
"""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfs import SGD, Adam, Parameters, Tensor, autograd, concatenate, no_grad, stack, where
from oracle import FAST, TOLERANCE, error, import_torch

torch = import_torch()
GRAPHS = settings(FAST, max_examples=200)
CAUGHT = 1e4 * TOLERANCE        # a mutant's error must be far above the tolerance
TOPOLOGICAL_ORDER = autograd._topological_order   # the real one, also while a mutant replaces it


# --------------------------------------------------------------------------------------------
# Unit tests
# --------------------------------------------------------------------------------------------

def test_a_scalar_output_is_seeded_with_one():
    x = Tensor(np.array([[1.0, 2.0], [3.0, -4.0]]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    assert loss.item() == 30.0
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_an_explicit_gradient_is_used_and_copied():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    upstream = np.arange(6.0).reshape(2, 3) - 2
    (x * 3.0).backward(upstream)
    expected = 3 * upstream
    upstream[...] = 100.0                    # the caller's array is not the gradient
    np.testing.assert_array_equal(x.grad, expected)


def test_a_broadcast_operand_gets_the_sum_over_the_stretched_and_added_axes():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    upstream = rng.standard_normal((2, 3, 4))
    (x + b).backward(upstream)
    np.testing.assert_allclose(b.grad, upstream.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(x.grad, upstream)


def test_a_tensor_used_twice_gets_both_shares_and_leaves_accumulate_over_sweeps():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = x * x
    loss = (y + x).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 1)
    loss.backward()                           # interior nodes restart, the leaf adds
    np.testing.assert_array_equal(x.grad, 2 * (2 * x.data + 1))
    np.testing.assert_array_equal(y.grad, np.ones(3))
    x.zero_grad()
    assert x.grad is None


def test_a_leaf_as_the_root_adds_to_its_grad_like_any_leaf():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)       # as torch: backward twice gives 2
    x.backward(np.ones(2))
    x.backward(np.ones(2))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_zero_dimensional_leaf_gets_a_writeable_array_not_a_numpy_scalar():
    c = Tensor(np.float64(2.0), requires_grad=True)
    (c * c + c).backward()                                     # NumPy sums of 0-d arrays give scalars
    (c * c).backward()
    assert isinstance(c.grad, np.ndarray) and c.grad.shape == () and c.grad.flags.writeable
    assert c.grad == 9.0
    c.grad[...] = 0.0


def test_operands_of_a_sum_get_gradients_of_their_own():
    x = Tensor(np.zeros(3), requires_grad=True)
    y = Tensor(np.zeros(3), requires_grad=True)
    upstream = np.array([1.0, 2.0, 3.0])
    (x + y).backward(upstream)
    assert x.grad is not y.grad and not np.shares_memory(x.grad, y.grad)
    x.grad *= 10.0                                           # writeable, and changes x's only
    np.testing.assert_array_equal(x.grad, 10 * upstream)
    np.testing.assert_array_equal(y.grad, upstream)


def test_the_gradient_of_a_summed_tensor_is_a_writeable_array_not_a_broadcast_view():
    z = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    z.sum().backward()
    assert z.grad.flags.writeable and z.grad.flags.owndata and z.grad.strides != (0, 0)
    z.grad[0, 0] = 5.0                                       # changes one entry, not all of them
    np.testing.assert_array_equal(z.grad, [[5.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    h = z.reshape(6)                                         # an interior node's gradient too
    (h * 2.0).sum().backward()
    assert h.grad.flags.writeable and not np.shares_memory(h.grad, z.grad)


def test_numbers_and_arrays_mix_in_on_either_side_and_keep_float32():
    x = Tensor(np.array([0.5, 1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = np.ones(3, dtype=np.float32) + 2 * x - 1 / x**2 + 3.0 ** x.tanh() - (1 - x) / 4
    assert isinstance(y, Tensor) and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    expected = 2 + 2 / x.data**3 + np.log(3.0) * 3.0 ** np.tanh(x.data) * (1 - np.tanh(x.data) ** 2) + 0.25
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_constants_build_no_graph_and_floating_data_is_not_copied():
    array = np.ones((2, 2))
    constant = Tensor(array) * 2 + 1
    assert Tensor(array).data is array
    assert not constant.requires_grad and constant._parents == () and constant._backward is None
    assert Tensor(np.array([1, 2])).dtype == np.float64
    W = Tensor(np.ones((2, 2)), requires_grad=True)
    product = Tensor(array) @ W
    product.sum().backward()
    assert product._parents[0].grad is None                 # the data got no gradient
    np.testing.assert_array_equal(W.grad, array.T @ np.ones((2, 2)))


def test_repeated_integer_indices_and_boolean_masks_accumulate():
    x = Tensor(np.arange(4.0), requires_grad=True)
    (x[np.array([0, 2, 2, 2])].sum() + x[np.array([True, False, True, False])].sum()).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 4.0, 0.0])
    M = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    M[[1, 1], [0, 0]].sum().backward()
    np.testing.assert_array_equal(M.grad, [[0, 0, 0], [2, 0, 0]])


def test_max_sends_the_gradient_to_the_first_maximum_and_maximum_splits_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [5.0, 5.0, 0.0]]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [1, 0, 0]])
    x.zero_grad()
    x.max(axis=1, keepdims=True).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    assert x.max(axis=-1).shape == (2,) and x.max(keepdims=True).shape == (1, 1) and x.max().shape == ()
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    a.maximum(2.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.5])


def test_clip_passes_the_gradient_inside_its_bounds_included():
    x = Tensor(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), requires_grad=True)
    x.clip(0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])
    x.zero_grad()
    x.clip(max=0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 1, 1, 0, 0])


def test_shapes_move_the_gradient_back():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    weights = np.arange(24.0).reshape(4, 3, 2)
    (x.T * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, weights.T)
    x.zero_grad()
    (x.transpose(0, 2).reshape(6, 4) * weights.reshape(6, 4)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.swapaxes(weights, 0, 2))
    assert x.reshape((4, 6)).shape == x.reshape(4, -1).shape == (4, 6)


def test_the_sort_is_iterative_and_the_graph_can_be_deeper_than_the_recursion_limit():
    depth = 20_000
    assert depth > sys.getrecursionlimit()
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(depth):
        y = y * 1.0 + 0.5
    y.backward()
    assert x.grad == 1.0 and y.item() == 1.0 + 0.5 * depth


def test_parameters_let_an_optimizer_update_tensors_in_place():
    W = Tensor(np.ones((2, 2)), requires_grad=True)
    b = Tensor(np.zeros((1, 2)), requires_grad=True)
    params = Parameters(W=W, b=b)
    assert params.parameters()["W"] is W.data
    data = W.data
    (Tensor(np.ones((3, 2))) @ W + b).sum().backward()
    SGD(learning_rate=0.5).update_params(params)
    assert W.data is data
    np.testing.assert_array_equal(W.data, np.ones((2, 2)) - 0.5 * 3)
    np.testing.assert_array_equal(b.data, -0.5 * 3 * np.ones((1, 2)))
    params.zero_grad()
    assert W.grad is None and b.grad is None
    optimizer, before = Adam(learning_rate=0.1), W.data.copy()
    for _ in range(3):
        params.zero_grad()
        ((W - 3.0) ** 2).sum().backward()
        b.grad = np.zeros_like(b.data)
        optimizer.update_params(params)
    assert np.all(W.data - before > 0.25)                    # three steps of about 0.1 towards 3


def test_no_grad_nests_and_restores_recording_after_an_error():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        with no_grad():
            assert not (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert Tensor.recording and (x * 2)._parents


def test_masked_entries_get_no_gradient_and_a_masked_softmax_is_exact():
    scores = Tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    blocked = np.array([[False, True, False]])
    weights = scores.masked_fill(blocked, -np.inf).softmax(axis=-1)
    assert weights.data[0, 1] == 0.0
    (weights * np.array([[1.0, 5.0, -2.0]])).sum().backward()
    assert scores.grad[0, 1] == 0.0 and np.isfinite(scores.grad).all()
    picked = where(np.array([True, False]), 1.0, Tensor(np.array([4.0, 5.0]), requires_grad=True))
    np.testing.assert_array_equal(picked.data, [1.0, 5.0])


@pytest.mark.parametrize("attempt, kind, message", [
    (lambda: Tensor(np.array(["a"])), TypeError, "must hold numbers"),
    (lambda: Tensor(np.ones(2)).sum().backward(), RuntimeError, "does not require grad"),
    (lambda: (Tensor(np.ones(2), True) * 2).backward(), RuntimeError, "one element only"),
    (lambda: (Tensor(np.ones(2), True) * 2).backward(np.ones(3)), ValueError, r"shape \(2,\)"),
    (lambda: Tensor(np.ones((2, 2))).max(axis=(0, 1)), TypeError, "one axis"),
    (lambda: Tensor(np.ones((2, 2))).max(axis=2), ValueError, "out of range"),
    (lambda: Tensor(np.ones(2)).clip(), ValueError, "min, max or both"),
    (lambda: Tensor(np.ones(2)).clip(1, 0), ValueError, "min <= max"),
    (lambda: Parameters(), ValueError, "at least one"),
    (lambda: Parameters(W=Tensor(np.ones(2))), TypeError, "leaf Tensor"),
    (lambda: Parameters(W=Tensor(np.ones(2), True) * 2), TypeError, "leaf Tensor"),
])
def test_mistakes_are_refused_with_a_clear_message(attempt, kind, message):
    with pytest.raises(kind, match=message):
        attempt()


def test_a_shared_tensor_cannot_be_named_twice():
    W = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="same tensor"):
        Parameters(W=W, V=W)


# --------------------------------------------------------------------------------------------
# Random expression graphs against torch.autograd
# --------------------------------------------------------------------------------------------

class DrawChoices:
    """Choices drawn by hypothesis."""

    def __init__(self, data):
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def pick(self, options):
        return self.data.draw(st.sampled_from(options))


class SeededChoices:
    """The same choices from a seeded generator (for graphs replayed against the mutants)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def integer(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]


def t(array):
    return torch.from_numpy(np.asarray(array, dtype=np.float64))


def positive(x):
    """A well-conditioned positive value in (0.5, 1.5) made from anything: sigmoid(x) + 0.5."""
    return x.sigmoid() + 0.5


# Each operation: (ours, theirs) -> the result on both sides, or None when it does not apply.
# ``a`` and ``b`` are pairs (Tensor, torch tensor) from the pool (possibly the same one); ``rng``
# draws constant arrays; ``leaf(shape)`` makes a new leaf pair.

def broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a[0].shape, b[0].shape)
        return True
    except ValueError:
        return False


def binary(function):
    return lambda a, b, rng, leaf: ((function(a[0], b[0]), function(a[1], b[1])) if broadcastable(a, b) else None)


def both(function):
    """An operation written the same way for dlfs and torch tensors."""
    return lambda a, b, rng, leaf: (function(a[0]), function(a[1]))


def reduction(name: str, axis_choice):
    """sum, mean or max over an axis chosen by ``axis_choice(ndim, rng)``, with or without keepdims."""
    def apply(a, b, rng, leaf):
        ndim = a[0].ndim
        axis, keepdims = axis_choice(ndim, rng), bool(rng.integers(2))
        ours = getattr(a[0], name)(axis=axis, keepdims=keepdims)
        if axis is None:
            theirs = a[1].reshape(-1).max(dim=0).values if name == "max" else getattr(a[1], name)()
            theirs = theirs.reshape((1,) * ndim) if keepdims else theirs
        else:
            theirs = getattr(a[1], name)(dim=axis, keepdim=keepdims)
            theirs = theirs.values if name == "max" else theirs
        return ours, theirs
    return apply


def any_axes(ndim, rng):
    choices = [None] + list(range(-ndim, ndim)) + ([(0, ndim - 1)] if ndim >= 2 else [])
    return choices[int(rng.integers(len(choices)))]


def one_axis(ndim, rng):
    return None if ndim == 0 or rng.integers(3) == 0 else int(rng.integers(-ndim, ndim))


def broadcast_leaf(a, b, rng, leaf):
    """a * L + L for a new leaf L whose shape broadcasts to a's: leading axes dropped, some set to 1."""
    shape = a[0].shape
    kept = shape[int(rng.integers(0, len(shape) + 1)):]
    L = leaf(tuple(n if rng.integers(2) else 1 for n in kept))
    return a[0] * L[0] + L[0], a[1] * L[1] + L[1]


def matmul_new_leaf(a, b, rng, leaf):
    """a @ W for a new leaf W (k, k) or (k,): batch axes of ``a`` broadcast over W."""
    if a[0].ndim == 0:
        return None
    k = a[0].shape[-1]
    W = leaf((k,) if rng.integers(2) else (k, k))
    return a[0] @ W[0], a[1] @ W[1]


def matmul_pair(a, b, rng, leaf):
    """a @ b of two pool nodes when NumPy's matmul takes their shapes, else a @ a^T for a matrix."""
    try:
        np.matmul(np.empty(a[0].shape), np.empty(b[0].shape))
        return a[0] @ b[0], a[1] @ b[1]
    except ValueError:
        if a[0].ndim != 2:
            return None
        return a[0] @ a[0].T, a[1] @ a[1].T


def array_on_the_left(a, b, rng, leaf):
    """ndarray @ tensor and ndarray + tensor: the reflected operators."""
    if a[0].ndim == 0:
        return None
    M = rng.standard_normal((a[0].shape[-2],) * 2) if a[0].ndim >= 2 else rng.standard_normal(a[0].shape)
    if a[0].ndim >= 2:
        return M @ a[0], t(M) @ a[1]
    return M + a[0], t(M) + a[1]


def integer_index(a, b, rng, leaf):
    """Repeated integer indices along axis 0, or a pair of index arrays, or a boolean mask."""
    shape = a[0].shape
    if not shape:
        return None
    kind = int(rng.integers(3))
    if kind == 0:
        index = (rng.integers(0, shape[0], shape[0] + 1),)
    elif kind == 1 and len(shape) >= 2:
        index = (rng.integers(0, shape[0], 5), rng.integers(0, shape[1], 5))
    else:
        mask = rng.random(shape) < 0.6
        return a[0][mask], a[1][torch.from_numpy(mask)]
    return a[0][index], a[1][tuple(torch.from_numpy(i) for i in index)]


def basic_index(a, b, rng, leaf):
    shape = a[0].shape
    if not shape:
        return a[0][None], a[1][None]
    if shape[0] > 1 and rng.integers(2):
        return a[0][1:], a[1][1:]
    if shape[-1] == 0:   # an empty mask's selection has no element 0 to take
        return None
    return a[0][..., 0], a[1][..., 0]


def transposed(a, b, rng, leaf):
    if a[0].ndim < 2:
        return None
    if rng.integers(2):
        return a[0].transpose(0, -1), a[1].transpose(0, -1)
    return a[0].T, a[1].permute(*reversed(range(a[1].ndim)))


def where_pair(a, b, rng, leaf):
    """where(condition, a, b) with a random boolean condition of the broadcast shape."""
    if not broadcastable(a, b):
        return None
    condition = np.asarray(rng.random(np.broadcast_shapes(a[0].shape, b[0].shape)) < 0.5)
    return where(condition, a[0], b[0]), torch.where(torch.from_numpy(condition), a[1], b[1])


def masked_fill(a, b, rng, leaf):
    mask = np.asarray(rng.random(a[0].shape) < 0.4)
    return a[0].masked_fill(mask, -1.5), a[1].masked_fill(torch.from_numpy(mask), -1.5)


def joined(a, b, rng, leaf):
    """concatenate of a, 2a and a new leaf along an existing axis (a stretched to the leaf's
    length there), or stack of a and tanh(b) along a new axis where b has a's shape."""
    ndim = a[0].ndim
    if ndim == 0:
        return None
    if rng.integers(2):
        axis = int(rng.integers(-ndim, ndim))
        shape = list(a[0].shape)
        shape[axis] = int(rng.integers(1, 4))
        L = leaf(tuple(shape))
        return (concatenate([a[0], a[0] * 2.0, L[0]], axis=axis),
                torch.cat([a[1], a[1] * 2.0, L[1]], dim=axis))
    other = b if b[0].shape == a[0].shape else a
    axis = int(rng.integers(-ndim - 1, ndim + 1))
    return stack([a[0], other[0].tanh()], axis=axis), torch.stack([a[1], other[1].tanh()], dim=axis)


def softmaxes(name: str):
    def apply(a, b, rng, leaf):
        if a[0].ndim == 0:
            return None
        axis = int(rng.integers(-a[0].ndim, a[0].ndim))
        return getattr(a[0], name)(axis=axis), getattr(torch, name)(a[1], dim=axis)
    return apply


def variance(a, b, rng, leaf):
    """var over any axes, dividing by n or n - 1 (torch's correction), with or without keepdims."""
    ndim = a[0].ndim
    axis, keepdims, ddof = any_axes(ndim, rng), bool(rng.integers(2)), int(rng.integers(2))
    axes = range(ndim) if axis is None else np.atleast_1d(axis)
    if int(np.prod([a[0].shape[i] for i in axes])) <= ddof:
        return None
    ours = a[0].var(axis=axis, keepdims=keepdims, ddof=ddof)
    if axis is None:
        theirs = torch.var(a[1], correction=ddof)
        theirs = theirs.reshape((1,) * ndim) if keepdims else theirs
    else:
        theirs = torch.var(a[1], dim=axis, correction=ddof, keepdim=keepdims)
    return ours, theirs


def under_no_grad(a, b, rng, leaf):
    """tanh(a) computed without recording, times a: the gradient flows through the second
    factor only."""
    with no_grad():
        constant = a[0].tanh()
    assert not constant.requires_grad and constant._parents == ()
    with torch.no_grad():
        theirs = a[1].tanh()
    return constant * a[0], theirs * a[1]


NUMBERS = (-1.5, 0.5, 2.0)
OPERATIONS = {
    "add": binary(lambda x, y: x + y),
    "sub": binary(lambda x, y: x - y),
    "mul": binary(lambda x, y: x * y),
    "div": binary(lambda x, y: x / positive(y)),
    "pow": binary(lambda x, y: positive(x) ** y.tanh()),
    "maximum": lambda a, b, rng, leaf: ((a[0].maximum(b[0]), torch.maximum(a[1], b[1]))
                                        if broadcastable(a, b) else None),
    "number left": lambda a, b, rng, leaf: (lambda c: (c - a[0] * c, c - a[1] * c))(NUMBERS[rng.integers(3)]),
    "number right": lambda a, b, rng, leaf: (lambda c: (a[0] / c + c, a[1] / c + c))(NUMBERS[rng.integers(3)]),
    "number divided": both(lambda x: 2.0 / positive(x)),
    "number power": both(lambda x: 2.0 ** x.tanh()),
    "neg": both(lambda x: -x),
    "tanh": both(lambda x: x.tanh()),
    "sigmoid": both(lambda x: x.sigmoid()),
    "relu": both(lambda x: x.relu()),
    "exp": both(lambda x: x.tanh().exp()),
    "log": both(lambda x: (x * x + 1).log()),
    "square": both(lambda x: x**2),
    "cube": both(lambda x: x**3),
    "power 1.5": both(lambda x: positive(x) ** 1.5),
    "clip": both(lambda x: x.clip(-0.5, 0.5)),
    "sum": reduction("sum", any_axes),
    "mean": reduction("mean", any_axes),
    "max": reduction("max", one_axis),
    "reshape": lambda a, b, rng, leaf: (a[0].reshape(-1), a[1].reshape(-1)),
    "reshape reversed": lambda a, b, rng, leaf: (a[0].reshape(a[0].shape[::-1]), a[1].reshape(a[0].shape[::-1])),
    "transpose": transposed,
    "broadcast leaf": broadcast_leaf,
    "matmul leaf": matmul_new_leaf,
    "matmul": matmul_pair,
    "array left": array_on_the_left,
    "integer index": integer_index,
    "basic index": basic_index,
    "where": where_pair,
    "masked fill": masked_fill,
    "concatenate or stack": joined,
    "softmax": softmaxes("softmax"),
    "log_softmax": softmaxes("log_softmax"),
    "var": variance,
    "no_grad": under_no_grad,
}


def sub_shape(choose, base: tuple) -> tuple:
    """A shape that broadcasts to ``base``: leading axes dropped, some axes set to 1 (or a scalar)."""
    kept = base[choose.integer(0, len(base)):]
    return tuple(n if choose.integer(0, 1) else 1 for n in kept)


def graph_errors(choose) -> dict[str, float]:
    """Build one random graph on both sides, run backward, return every relative error.

    The output is a weighted sum of every node (so every node is used at least twice, once by the
    output), or the last node with an explicit random gradient.
    """
    rng = np.random.default_rng(choose.integer(0, 2**32 - 1))
    base = tuple(choose.integer(1, 4) for _ in range(choose.integer(0, 3)))
    leaves, pool = [], []

    def leaf(shape):
        array = rng.standard_normal(shape)
        pair = (Tensor(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True))
        leaves.append(pair)
        pool.append(pair)
        return pair

    leaf(base)
    for _ in range(choose.integer(0, 2)):
        leaf(sub_shape(choose, base))
    for _ in range(choose.integer(1, 8)):
        operation = OPERATIONS[choose.pick(sorted(OPERATIONS))]
        a, b = pool[choose.integer(0, len(pool) - 1)], pool[choose.integer(0, len(pool) - 1)]
        result = operation(a, b, rng, leaf)
        if result is not None:
            assert result[0].shape == tuple(result[1].shape)
            pool.append(result)

    last = pool[-1]
    if choose.integer(0, 1) and last[0].data.size > 1:
        upstream = rng.standard_normal(last[0].shape)
        last[0].backward(upstream)
        last[1].backward(t(upstream))
        root = last[0]
    else:
        weights = [rng.standard_normal(node[0].shape) for node in pool]
        root = sum((ours * w).sum() for (ours, _), w in zip(pool, weights))
        sum((theirs * t(w)).sum() for (_, theirs), w in zip(pool, weights)).backward()
        root.backward()

    order = TOPOLOGICAL_ORDER(root)
    position = {node: i for i, node in enumerate(order)}
    assert all(position[parent] < position[node] for node in order for parent in node._parents)
    errors = {f"value {i}": error(ours.data, theirs) for i, (ours, theirs) in enumerate(pool)}
    for i, (ours, theirs) in enumerate(leaves):
        if theirs.grad is None:
            assert ours.grad is None, f"leaf {i} got a gradient it should not have"
        else:
            errors[f"grad {i}"] = error(ours.grad, theirs.grad)
    return errors


@GRAPHS
@given(data=st.data())
def test_random_graphs_match_torch(data):
    errors = graph_errors(DrawChoices(data))
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against torch.autograd: {too_large}"


# --------------------------------------------------------------------------------------------
# The oracle can fail: three wrong variants of the module must be caught
# --------------------------------------------------------------------------------------------

def unbroadcast_without_stretched_sum(grad, shape):
    """Sums the added leading axes but takes the first entry along a stretched axis: a missing sum."""
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    return grad[tuple(slice(0, 1) if n == 1 else slice(None) for n in shape)].reshape(shape)


def overwrite(node, grad):
    """``=`` instead of ``+``: a node used twice keeps the last share only."""
    node.grad = grad


def breadth_first_order(root):
    """Nodes by distance from the output, not a topological order: the sweep then passes a node's
    gradient on before every child has sent its share, when the node is reached by paths of
    different lengths."""
    order, seen, queue = [], {root}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for parent in node._parents:
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return order[::-1]                # the sweep walks the list backwards: from the output


def fixed_errors(build) -> float:
    """The largest relative error of a small fixed graph ``build(x, b)`` against torch."""
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    build(*ours).backward()
    build(*theirs).backward()
    return max(error(o.grad, t_.grad) for o, t_ in zip(ours, theirs))


MUTANTS = {  # name: (attribute of dlfs.autograd, wrong version, a fixed graph that exposes it)
    "no sum over a broadcast axis": ("_unbroadcast", unbroadcast_without_stretched_sum,
                                     lambda x, b: ((x + b) * x).sum()),
    "= instead of += in accumulation": ("_accumulate", overwrite, lambda x, b: (x * x + b).sum()),
    "breadth-first order": ("_topological_order", breadth_first_order,
                            lambda x, b: ((e := x.exp()) + e.tanh() * b).sum()),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_the_oracle_catches_a_wrong_variant(name, monkeypatch):
    attribute, wrong, build = MUTANTS[name]
    assert fixed_errors(build) <= TOLERANCE                 # the right module passes ...
    monkeypatch.setattr(autograd, attribute, wrong)
    assert fixed_errors(build) > CAUGHT, f"the fixed graph missed the mutant {name!r}"
    worst = 0.0
    for seed in range(40):                                  # ... and the random graphs find it too
        try:
            worst = max(worst, *graph_errors(SeededChoices(seed)).values())
        except ValueError:                                  # a gradient of the wrong shape
            worst = np.inf
        if worst > CAUGHT:
            break
    assert worst > CAUGHT, f"40 random graphs missed the mutant {name!r}"
