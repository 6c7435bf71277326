"""A Tensor that records its operations and differentiates them backwards.

Generated from chapters/11-autograd.md, chapters/14-attention.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Tensor', 'Parameters', 'no_grad', 'where', 'concatenate', 'stack']

# %% chapters/11-autograd.md cell 1
# dlfs.autograd: a Tensor that records its operations and differentiates
# them backwards.
import numpy as np


# %% chapters/11-autograd.md cell 4
def _topological_order(root) -> list:
    """Every node ``root`` depends on, and root itself, each after its parents.

    A node is any object with a tuple ``_parents``. Depth-first search with an
    explicit stack of (node, parents done) pairs: a node is written out when
    its second entry comes off the stack, after everything pushed above it,
    its parents and theirs. The list runs from the inputs to ``root``; no
    recursion, so a graph of any depth works.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents
                         if parent not in seen)
    return order


# %% chapters/11-autograd.md cell 5
def _accumulate(node, grad) -> None:
    """Add ``grad`` to ``node.grad`` (None means no gradient yet).

    A node used twice gets both shares. A first share that is an array of its
    own (a fresh result) is kept as it is; a view or a read-only array is
    copied, so that every node's ``grad`` is its own writeable array. A NumPy
    scalar, which NumPy returns for arithmetic on 0-d arrays, becomes a 0-d
    array; floats stay floats.
    """
    if node.grad is not None:
        grad = node.grad + grad
    elif isinstance(grad, np.ndarray) and not (grad.flags.owndata
                                               and grad.flags.writeable):
        grad = grad.copy()
    node.grad = np.asarray(grad) if isinstance(grad, np.generic) else grad


def _backpropagate(root, seed) -> None:
    """The backward sweep from ``root``, whose gradient is ``seed``.

    Nodes have ``_parents``, ``grad`` and ``_backward``: a function from the
    node's gradient to a tuple with one share per parent (None for a parent
    that needs none), or None for a leaf. Interior nodes start each sweep from
    nothing; leaves keep what earlier sweeps left and add to it, so that
    gradients can be accumulated over several sweeps (clear them between
    steps).
    """
    order = _topological_order(root)
    for node in order:
        if node._parents:
            node.grad = None
    # A leaf as the root adds to its grad, as every leaf does.
    _accumulate(root, seed)
    for node in reversed(order):            # every node after all its children
        if node._backward is None or node.grad is None:
            continue
        for parent, grad in zip(node._parents, node._backward(node.grad)):
            if grad is node.grad and isinstance(grad, np.ndarray):
                # A share passed on unchanged is the child's array: hand on
                # a view.
                grad = grad.view()
            if grad is not None:
                _accumulate(parent, grad)


# %% chapters/11-autograd.md cell 12
def _check_seed_gradient(tensor, gradient) -> np.ndarray:
    """The gradient that starts ``tensor.backward``, a copy.

    Ones for one element, else ``gradient``. RuntimeError when the tensor
    needs no gradient or has several elements and no ``gradient``; ValueError
    when ``gradient`` has another shape than the tensor.
    """
    if not tensor.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require "
                           "grad: create the leaves with requires_grad=True")
    if gradient is None:
        if tensor.data.size != 1:
            raise RuntimeError(
                "backward() without a gradient works for one element only; "
                f"this tensor has shape {tensor.shape}: pass gradient= of "
                "that shape, or reduce it first (.sum())")
        return np.ones_like(tensor.data)
    # A copy: the caller's array stays its own.
    gradient = np.array(gradient, dtype=tensor.dtype)
    if gradient.shape != tensor.shape:
        raise ValueError("gradient must have the tensor's shape "
                         f"{tensor.shape}, got {gradient.shape}")
    return gradient


def _check_max_axis(axis, ndim: int):
    """``axis`` for max: None (every element) or one int in [-ndim, ndim).

    TypeError or ValueError otherwise.
    """
    if axis is None:
        return None
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError("max takes one axis (an int) or None, got "
                        f"{axis!r}; for several axes, reshape first")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for a tensor with "
                         f"{ndim} dimensions")
    return int(axis)


# %% chapters/11-autograd.md cell 13
def _check_clip_bounds(low, high) -> None:
    """At least one bound for clip, and low <= high when both are given."""
    if low is None and high is None:
        raise ValueError("clip needs min, max or both")
    if low is not None and high is not None and low > high:
        raise ValueError(
            f"clip needs min <= max, got min={low} and max={high}")


def _check_parameter_tensors(tensors: dict) -> dict:
    """Named leaf tensors that require grad, each at most once.

    An optimizer must update each tensor once.
    """
    if not tensors:
        raise ValueError("Parameters needs at least one tensor, given by "
                         "name: Parameters(W=W, b=b)")
    seen = {}
    for name, tensor in tensors.items():
        if (not getattr(tensor, "requires_grad", False)
                or getattr(tensor, "_parents", None) != ()):
            raise TypeError(f"{name} must be a leaf Tensor with "
                            f"requires_grad=True, got {tensor!r}")
        if id(tensor) in seen:
            raise ValueError(f"{name} and {seen[id(tensor)]} are the same "
                             "tensor: name a shared tensor once, or the "
                             "optimizer would update it twice")
        seen[id(tensor)] = name
    return tensors


# %% chapters/11-autograd.md cell 14
class Tensor:
    """An array that remembers how it was made, for reverse-mode autodiff.

    ``data`` is a floating NumPy array (integers and bools become float64; a
    floating array is not copied). ``grad`` is dL/d(data), of the same shape,
    after ``backward`` (None before). An operation on tensors of which at
    least one has ``requires_grad`` records its inputs and its local
    derivatives; the operations are methods and operators as on PyTorch's
    tensors (``x @ w + b``, ``x.relu()``, ``x.sum(axis=0)``), with NumPy's
    broadcasting, and Python numbers or arrays mix in on either side as
    constants (numbers take the tensor's dtype).
    """

    # ndarray (op) Tensor calls Tensor's reflected operator.
    __array_ufunc__ = None
    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward")

    def __init__(self, data, requires_grad: bool = False):
        data = np.asarray(data)
        if data.dtype.kind not in "biuf":
            raise TypeError("Tensor data must hold numbers, got an array of "
                            f"dtype {data.dtype}")
        self.data = data if data.dtype.kind == "f" else data.astype(np.float64)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._parents, self._backward = (), None

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same data as a constant: no gradient flows back through it."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the gradient (leaves add each sweep's gradient to it)."""
        self.grad = None

    def backward(self, gradient=None) -> None:
        """With L this tensor, dL/d(every tensor it depends on) into ``grad``.

        A one-element tensor is seeded with 1; any other needs ``gradient``,
        dL/d(this tensor), of its shape. Leaves (the tensors made with
        ``requires_grad=True``) add to their ``grad``.
        """
        _backpropagate(self, _check_seed_gradient(self, gradient))

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        text = np.array2string(self.data, precision=4, separator=", ")
        return f"Tensor({text}{flag})"

    # %% chapters/11-autograd.md cell 19
    def __add__(self, other) -> "Tensor":
        a, b = self, _lift(other, self)
        return _result(a.data + b.data, (a, b), lambda g: (
            _unbroadcast(g, a.shape) if a.requires_grad else None,
            _unbroadcast(g, b.shape) if b.requires_grad else None))

    # %% chapters/11-autograd.md cell 19
    def __sub__(self, other) -> "Tensor":
        a, b = self, _lift(other, self)
        return _result(a.data - b.data, (a, b), lambda g: (
            _unbroadcast(g, a.shape) if a.requires_grad else None,
            _unbroadcast(-g, b.shape) if b.requires_grad else None))

    # %% chapters/11-autograd.md cell 19
    def __mul__(self, other) -> "Tensor":
        a, b = self, _lift(other, self)
        return _result(a.data * b.data, (a, b), lambda g: (
            _unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
            _unbroadcast(g * a.data, b.shape) if b.requires_grad else None))

    # %% chapters/11-autograd.md cell 19
    def __truediv__(self, other) -> "Tensor":
        a, b = self, _lift(other, self)
        return _result(a.data / b.data, (a, b), lambda g: (
            _unbroadcast(g / b.data, a.shape) if a.requires_grad else None,
            _unbroadcast(-g * a.data / (b.data * b.data), b.shape)
            if b.requires_grad else None))

    # %% chapters/11-autograd.md cell 19
    def __pow__(self, other) -> "Tensor":
        a, b = self, _lift(other, self)
        out = a.data**b.data
        return _result(out, (a, b), lambda g: (
            _unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape)
            if a.requires_grad else None,
            _unbroadcast(g * out * np.log(a.data), b.shape)
            if b.requires_grad else None))

    # %% chapters/11-autograd.md cell 19
    def __neg__(self) -> "Tensor":
        return _result(-self.data, (self,), lambda g: (-g,))

    # %% chapters/11-autograd.md cell 20
    def __radd__(self, other) -> "Tensor":
        return _lift(other, self) + self

    # %% chapters/11-autograd.md cell 20
    def __rsub__(self, other) -> "Tensor":
        return _lift(other, self) - self

    # %% chapters/11-autograd.md cell 20
    def __rmul__(self, other) -> "Tensor":
        return _lift(other, self) * self

    # %% chapters/11-autograd.md cell 20
    def __rtruediv__(self, other) -> "Tensor":
        return _lift(other, self) / self

    # %% chapters/11-autograd.md cell 20
    def __rpow__(self, other) -> "Tensor":
        return _lift(other, self) ** self

    # %% chapters/11-autograd.md cell 20
    def __rmatmul__(self, other) -> "Tensor":
        return _lift(other, self) @ self

    # %% chapters/11-autograd.md cell 22
    def __matmul__(self, other) -> "Tensor":
        a, b = self, _lift(other, self)
        return _result(a.data @ b.data, (a, b),
                       lambda g: _matmul_grads(g, a.data, b.data,
                                               a.requires_grad, b.requires_grad))

    # %% chapters/11-autograd.md cell 24
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The sum over ``axis`` (None: all; an int or a tuple), as ``np.sum``."""
        shape, axes = self.shape, _reduced_axes(axis, self.ndim)

        def backward(g):
            kept = g if keepdims else np.expand_dims(g, axes)
            return (np.broadcast_to(kept, shape),)

        return _result(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                       backward)

    # %% chapters/11-autograd.md cell 24
    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The mean over ``axis``: the sum divided by the number of elements."""
        axes = _reduced_axes(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis=axis, keepdims=keepdims) / count

    # %% chapters/11-autograd.md cell 24
    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The maximum over one axis (an int) or all (None).

        At ties the gradient goes to the first maximum.
        """
        axis = _check_max_axis(axis, self.ndim)
        flat = self.data.reshape(-1) if axis is None else self.data
        along = 0 if axis is None else axis
        # The index of the first maximum, and the maximum (a kept axis of 1).
        first = np.expand_dims(flat.argmax(axis=along), along)
        out = np.take_along_axis(flat, first, along)

        def backward(g):
            grad = np.zeros_like(flat)
            np.put_along_axis(grad, first, g.reshape(first.shape), along)
            return (grad.reshape(self.shape),)

        if axis is None:
            out = out.reshape((1,) * self.ndim if keepdims else ())
        elif not keepdims:
            out = out.squeeze(axis)
        return _result(out, (self,), backward)

    # %% chapters/11-autograd.md cell 27
    def exp(self) -> "Tensor":
        e = np.exp(self.data)
        return _result(e, (self,), lambda g: (g * e,))

    # %% chapters/11-autograd.md cell 27
    def log(self) -> "Tensor":
        x = self.data
        return _result(np.log(x), (self,), lambda g: (g / x,))

    # %% chapters/11-autograd.md cell 27
    def tanh(self) -> "Tensor":
        t = np.tanh(self.data)
        return _result(t, (self,), lambda g: (g * (1 - t * t),))

    # %% chapters/11-autograd.md cell 27
    def sigmoid(self) -> "Tensor":
        """``1 / (1 + exp(-x))``, computed from ``exp(-abs(x))``.

        Nothing overflows (as in dlfs.Sigmoid).
        """
        x = self.data
        t = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1 / (1 + t), t / (1 + t))
        return _result(s, (self,), lambda g: (g * s * (1 - s),))

    # %% chapters/11-autograd.md cell 27
    def relu(self) -> "Tensor":
        x = self.data
        return _result(np.maximum(x, 0), (self,), lambda g: (g * (x > 0),))

    # %% chapters/11-autograd.md cell 28
    def clip(self, min=None, max=None) -> "Tensor":
        """Values limited to [min, max] (either may be None).

        The gradient is 1 inside, bounds included, and 0 outside.
        """
        _check_clip_bounds(min, max)
        x = self.data
        inside = np.ones(x.shape, dtype=bool)
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        return _result(np.clip(x, min, max), (self,), lambda g: (g * inside,))

    # %% chapters/11-autograd.md cell 28
    def maximum(self, other) -> "Tensor":
        """The element-wise maximum with ``other`` (broadcast).

        At ties each operand gets half the gradient.
        """
        a, b = self, _lift(other, self)
        A, B = a.data, b.data

        def backward(g):
            share = np.where(A == B, g * 0.5, g)
            return (_unbroadcast(share * (A >= B), a.shape)
                    if a.requires_grad else None,
                    _unbroadcast(share * (B >= A), b.shape)
                    if b.requires_grad else None)

        return _result(np.maximum(A, B), (a, b), backward)

    # %% chapters/11-autograd.md cell 31
    def reshape(self, *shape) -> "Tensor":
        """The same elements in a new shape; -1 is inferred.

        ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``.
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        old = self.shape
        return _result(self.data.reshape(shape), (self,),
                       lambda g: (g.reshape(old),))

    # %% chapters/11-autograd.md cell 31
    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        """Axes ``dim0`` and ``dim1`` swapped, as ``torch.transpose``."""
        return _result(np.swapaxes(self.data, dim0, dim1), (self,),
                       lambda g: (np.swapaxes(g, dim0, dim1),))

    # %% chapters/11-autograd.md cell 31
    @property
    def T(self) -> "Tensor":
        """All axes reversed (the transpose of a matrix)."""
        return _result(self.data.T, (self,), lambda g: (g.T,))

    # %% chapters/11-autograd.md cell 31
    def __getitem__(self, index) -> "Tensor":
        """NumPy indexing; repeated elements add up their gradients.

        Integers, slices, None, ..., integer or boolean arrays.
        """
        shape = self.shape

        def backward(g):
            grad = np.zeros(shape, dtype=g.dtype)
            np.add.at(grad, index, g)           # a repeated index gets every share
            return (grad,)

        return _result(self.data[index], (self,), backward)

    # %% chapters/14-attention.md cell 14
    def masked_fill(self, mask, value: float) -> "Tensor":
        """``value`` where ``mask`` is True, this tensor elsewhere (as
        ``torch.Tensor.masked_fill``); the filled entries get no gradient."""
        return where(mask, value, self)

    # %% chapters/14-attention.md cell 16
    def softmax(self, axis: int = -1) -> "Tensor":
        """exp(x) / sum(exp(x)) along ``axis`` (shifted by the maximum), one
        operation: its backward is the Jacobian-vector product
        s * (g - sum(g * s))."""
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        exps = np.exp(shifted)
        s = exps / exps.sum(axis=axis, keepdims=True)
        return _result(s, (self,), lambda g: (
            s * (g - (g * s).sum(axis=axis, keepdims=True)),))

    # %% chapters/14-attention.md cell 16
    def log_softmax(self, axis: int = -1) -> "Tensor":
        """x - log(sum(exp(x))) along ``axis``, one operation: its backward is
        g - softmax(x) * sum(g)."""
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return _result(out, (self,), lambda g: (
            g - np.exp(out) * g.sum(axis=axis, keepdims=True),))

    # %% chapters/14-attention.md cell 16
    def var(self, axis=None, keepdims: bool = False,
            ddof: int = 0) -> "Tensor":
        """The variance over ``axis`` (None, an int or a tuple), dividing by
        n - ddof as ``np.var`` (``torch.var`` divides by n - 1 unless told
        ``correction=0``)."""
        axes = _reduced_axes(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        deviations = self.data - self.data.mean(axis=axis, keepdims=True)
        out = (deviations**2).sum(axis=axis, keepdims=keepdims) / (count - ddof)

        def backward(g):
            kept = g if keepdims else np.expand_dims(g, axes)
            return (2 * deviations * kept / (count - ddof),)

        return _result(out, (self,), backward)


# %% chapters/11-autograd.md cell 15
def _lift(value, like: Tensor) -> "Tensor":
    """A Tensor as it is; anything else as a constant.

    A Python number takes ``like``'s dtype.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float)):
        return Tensor(np.asarray(value, dtype=like.dtype))
    return Tensor(value)


# %% chapters/14-attention.md cell 13
def _result(data: np.ndarray, parents: tuple, backward) -> "Tensor":
    """An operation's output: a graph node if recording is on (see no_grad)
    and any parent requires a gradient, else a constant."""
    out = Tensor(data)
    if Tensor.recording and any(parent.requires_grad for parent in parents):
        out.requires_grad = True
        out._parents, out._backward = parents, backward
    return out


# %% chapters/11-autograd.md cell 17
def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """``grad`` (the broadcast result's shape) summed back to ``shape``.

    Sums over the leading axes that broadcasting added and over the axes where
    the operand had length 1 and the result did not; then reshapes to
    ``shape``.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape)
                      if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=tuple(range(lead)) + stretched).reshape(shape)


# %% chapters/11-autograd.md cell 22
def _matmul_grads(g: np.ndarray, A: np.ndarray, B: np.ndarray,
                  need_a: bool, need_b: bool) -> tuple:
    """dL/dA and dL/dB (None where not needed) for ``A @ B``.

    With NumPy's rules for ``@``, given g = dL/d(A @ B).
    """
    a = A[None, :] if A.ndim == 1 else A    # (k,) on the left: a row (1, k)
    b = B[:, None] if B.ndim == 1 else B    # (k,) on the right: a column
    if B.ndim == 1:
        g = np.expand_dims(g, -1)           # put back the axes matmul dropped
    if A.ndim == 1:
        g = np.expand_dims(g, -2)
    da = db = None
    if need_a:
        da = _unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape)
        da = da.reshape(A.shape)
    if need_b:
        db = _unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
        db = db.reshape(B.shape)
    return da, db


# %% chapters/11-autograd.md cell 24
def _reduced_axes(axis, ndim: int) -> tuple:
    """The axes, non-negative, that a reduction over ``axis`` removes.

    ``axis`` is None (every axis), an int or a tuple.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


# %% chapters/11-autograd.md cell 38
class Parameters:
    """Named leaf tensors, seen by a dlfs optimizer as one layer.

    ``Parameters(W1=W1, b1=b1, ...)``; ``optimizer.update_params(params)``
    updates each tensor's ``data`` in place from its ``grad``, keeping the
    optimizer's state (momentum, Adam's moments) per name. ``zero_grad()``
    clears every gradient before the next backward pass. A tensor used in
    several places of a network is named once: its gradient already holds
    every use.
    """

    def __init__(self, **tensors: Tensor):
        self.tensors = _check_parameter_tensors(tensors)

    def parameters(self) -> dict[str, np.ndarray]:
        return {name: tensor.data for name, tensor in self.tensors.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        return {name: tensor.grad for name, tensor in self.tensors.items()}

    def zero_grad(self) -> None:
        for tensor in self.tensors.values():
            tensor.zero_grad()


# %% chapters/14-attention.md cell 13
# Recording can be switched off: _result reads Tensor.recording.
from contextlib import contextmanager

Tensor.recording = True


@contextmanager
def no_grad():
    """Inside ``with no_grad():`` operations record no graph: their results
    are constants, as under ``torch.no_grad()``. The previous mode returns
    on exit, also after an error, so the contexts nest."""
    previous, Tensor.recording = Tensor.recording, False
    try:
        yield
    finally:
        Tensor.recording = previous


# %% chapters/14-attention.md cell 14
def where(condition, x, y) -> "Tensor":
    """``x`` where ``condition`` (booleans, a constant) is True, else ``y``;
    the three broadcast together, as ``np.where``. Each of ``x`` and ``y``
    (Tensors, arrays or numbers) gets the gradient of the entries it gave."""
    condition = np.asarray(condition, dtype=bool)
    # A number in x or y takes the other one's dtype.
    like = x if isinstance(x, Tensor) else _lift(y, Tensor(np.zeros(0)))
    a, b = _lift(x, like), _lift(y, like)

    def backward(g):
        return (_unbroadcast(np.where(condition, g, 0), a.shape)
                if a.requires_grad else None,
                _unbroadcast(np.where(condition, 0, g), b.shape)
                if b.requires_grad else None)

    return _result(np.where(condition, a.data, b.data), (a, b), backward)


# %% chapters/14-attention.md cell 15
def concatenate(tensors, axis: int = 0) -> "Tensor":
    """Tensors joined along an existing ``axis``, as ``np.concatenate``; the
    gradient is cut back into pieces of their sizes."""
    tensors = [_lift(t, tensors[0]) for t in tensors]
    ends = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def backward(g):
        pieces = np.split(g, ends, axis=axis)
        return tuple(piece if t.requires_grad else None
                     for piece, t in zip(pieces, tensors))

    data = np.concatenate([t.data for t in tensors], axis=axis)
    return _result(data, tuple(tensors), backward)


def stack(tensors, axis: int = 0) -> "Tensor":
    """Tensors of one shape joined along a new ``axis``, as ``np.stack``;
    each gets its slice of the gradient."""
    tensors = [_lift(t, tensors[0]) for t in tensors]

    def backward(g):
        return tuple(np.take(g, i, axis=axis) if t.requires_grad else None
                     for i, t in enumerate(tensors))

    data = np.stack([t.data for t in tensors], axis=axis)
    return _result(data, tuple(tensors), backward)
