"""The Optimizer interface, SGD with momentum, and Adam.

Generated from chapters/05-optimizers.md, chapters/13-recurrence.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Optimizer', 'SGD', 'Adam', 'clip_gradients']

# %% chapters/05-optimizers.md cell 1
# dlfs.optimizers: the Optimizer interface, SGD with momentum, and Adam.
import inspect
import math
import weakref
from functools import partial

import numpy as np

from dlfs.validation import check_real


# %% chapters/05-optimizers.md cell 7
class Optimizer:
    """Updates the parameters of a layer from their gradients.

    ``update_params(layer)`` changes every array in ``layer.parameters()`` in
    place, using the gradient of the same name and shape in
    ``layer.gradients()``. The learning rate decays as
    ``learning_rate / (1 + learning_rate_decay * t)`` after t updates of that
    layer; ``weight_decay`` adds ``weight_decay * param`` to each gradient
    (an L2 penalty, as in ``torch.optim``).
    State (step counts, velocities, moment estimates) is kept per layer in
    ``self.state``, a ``weakref.WeakKeyDictionary`` (so layers must support
    weak references, as ordinary Python objects do): a layer's entry goes
    when the layer is garbage-collected. The state persists across training
    runs (``Model.fit`` calls) until ``reset()`` forgets it.
    Subclasses implement ``update``; ``get_config()`` gives the arguments
    that rebuild one. Every assignment of a hyperparameter named in
    ``checks``, in ``__init__`` or later, is checked by its function there.
    """

    checks = {"learning_rate": partial(check_real, above=0),
              "learning_rate_decay": partial(check_real, at_least=0),
              "weight_decay": partial(check_real, at_least=0),
              "global_clipnorm": lambda name, value: (
                  None if value is None else check_real(name, value, above=0))}

    def __setattr__(self, name: str, value) -> None:
        check = self.checks.get(name)
        if check is not None:
            value = check(name, value)
        super().__setattr__(name, value)

    def __init__(self, learning_rate: float, learning_rate_decay: float = 0.0,
                 weight_decay: float = 0.0,
                 global_clipnorm: float | None = None):
        self.learning_rate = learning_rate     # each checked by __setattr__
        self.learning_rate_decay = learning_rate_decay
        self.weight_decay = weight_decay
        self.global_clipnorm = global_clipnorm
        self.state: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def reset(self) -> None:
        """Forget all state (step counts, velocities, moments): the next
        update is a fresh start."""
        self.state.clear()

    def get_config(self) -> dict:
        """The hyperparameters: the constructor's arguments, each kept under
        its own name."""
        names = inspect.signature(type(self)).parameters
        return {name: getattr(self, name) for name in names}

    def current_learning_rate(self, step: int) -> float:
        """The learning rate of a layer's update number ``step`` (from 0)."""
        return self.learning_rate / (1.0 + self.learning_rate_decay * step)

    # %% chapters/05-optimizers.md cell 9
    def update_params(self, layer) -> None:
        """One update of every array in ``layer.parameters()`` from
        ``layer.gradients()``."""
        params, grads = layer.parameters(), layer.gradients()
        for name, param in params.items():
            grad = grads.get(name)
            if grad is None:
                raise RuntimeError(
                    f"{type(layer).__name__} has no gradient for {name}: "
                    "call backward before update_params")
            if np.shape(grad) != param.shape:
                raise ValueError(
                    f"the gradient of {name} must have its shape "
                    f"{param.shape}, got {np.shape(grad)}")
        state = self.state.setdefault(layer, {"step": 0})
        learning_rate = self.current_learning_rate(state["step"])
        state["step"] += 1
        for name, param in params.items():
            grad = grads[name]
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            self.update(param, grad, learning_rate,
                        state.setdefault(name, {}), state["step"])

    # %% chapters/05-optimizers.md cell 9
    def update(self, param: np.ndarray, grad: np.ndarray,
               learning_rate: float, slots: dict, step: int) -> None:
        """Change ``param`` in place; ``slots`` holds this parameter's state;
        ``step`` counts from 1."""
        raise NotImplementedError

    # %% chapters/05-optimizers.md cell 10
    def state_dict(self, layers: list) -> dict[str, np.ndarray]:
        """State of ``layers``' updates as arrays: "0.step", "0.weights.m"..."""
        arrays = {}
        for i, layer in enumerate(layers):
            for name, value in self.state.get(layer, {}).items():
                if name == "step":
                    arrays[f"{i}.step"] = np.array(value, dtype=np.int64)
                else:
                    arrays |= {f"{i}.{name}.{slot}": np.array(array)
                               for slot, array in value.items()}
        return arrays

    # %% chapters/05-optimizers.md cell 10
    def load_state_dict(self, layers: list, state: dict) -> None:
        """Replace the state of ``layers`` with ``state`` (as ``state_dict``
        returns it), all checked before any is kept."""
        new = {}
        for key, value in state.items():
            index, _, rest = key.partition(".")
            name, _, slot = rest.partition(".")
            i = int(index) if index.isdecimal() else len(layers)
            params = layers[i].parameters() if i < len(layers) else {}
            value = np.asarray(value)
            if rest == "step" and i < len(layers) and value.shape == () \
                    and value.dtype.kind in "iu" and value >= 0:
                new.setdefault(i, {})["step"] = int(value)
                continue
            like = params.get(name) if slot else None
            if (like is not None and value.shape == like.shape
                    and value.dtype.kind in "iuf"):
                with np.errstate(over="ignore"):
                    value = value.astype(like.dtype)
                if np.isfinite(value).all():
                    new.setdefault(i, {}).setdefault(name, {})[slot] = value
                    continue
            raise ValueError(f"{key} ({value.dtype} of shape {value.shape}) is no "
                             f"finite slot of a parameter, nor a step count")
        if any("step" not in slots for slots in new.values()):
            raise ValueError(
                "the state holds a layer's arrays but not its step count")
        for layer in layers:
            self.state.pop(layer, None)
        self.state.update({layers[i]: slots for i, slots in new.items()})

    # %% chapters/13-recurrence.md cell 12
    def apply_gradients(self, layers) -> None:
        """One step for all ``layers`` together: if ``self.global_clipnorm``
        is set (a number > 0; None: no clipping), first scale all their
        gradients together to at most that global norm (``clip_gradients``),
        then ``update_params`` each layer."""
        layers = list(layers)
        if self.global_clipnorm is not None:
            clip_gradients(layers, self.global_clipnorm)
        for layer in layers:
            self.update_params(layer)


# %% chapters/05-optimizers.md cell 11
class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, as
    ``torch.optim.SGD``.

    Without momentum: ``param -= lr * grad``. With momentum:
    ``v = momentum * v + grad`` (v starts at zero, so the first step uses the
    plain gradient), then ``param -= lr * v``. ``lr`` is the decayed learning
    rate; ``grad`` includes the weight-decay term.
    """

    checks = Optimizer.checks | {
        "momentum": partial(check_real, at_least=0, below=1)}

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 learning_rate_decay: float = 0.0, weight_decay: float = 0.0,
                 global_clipnorm: float | None = None):
        super().__init__(learning_rate, learning_rate_decay, weight_decay,
                         global_clipnorm)
        self.momentum = momentum

    def update(self, param, grad, learning_rate, slots, step):
        if self.momentum:
            if "velocity" not in slots:
                slots["velocity"] = np.zeros_like(param)
            velocity = slots["velocity"]
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        param -= learning_rate * grad


# %% chapters/05-optimizers.md cell 16
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2`` (both start at
    zero); with the bias corrections ``m_hat = m / (1 - b1^t)`` and
    ``v_hat = v / (1 - b2^t)`` at step t = 1, 2, ...:
    ``param -= lr * m_hat / (sqrt(v_hat) + epsilon)``, epsilon outside the
    square root.
    """

    checks = Optimizer.checks | {
        "beta_1": partial(check_real, at_least=0, below=1),
        "beta_2": partial(check_real, at_least=0, below=1),
        "epsilon": partial(check_real, above=0)}

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8,
                 learning_rate_decay: float = 0.0, weight_decay: float = 0.0,
                 global_clipnorm: float | None = None):
        super().__init__(learning_rate, learning_rate_decay, weight_decay,
                         global_clipnorm)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.buffers: dict = {}   # scratch space, not state: see work_array

    def update(self, param, grad, learning_rate, slots, step):
        if "m" not in slots:
            slots["m"], slots["v"] = np.zeros_like(param), np.zeros_like(param)
        m, v, work = slots["m"], slots["v"], self.work_array(param)
        b1, b2 = self.beta_1, self.beta_2
        root_c2 = math.sqrt(1 - b2**step)    # sqrt of v's bias correction
        np.multiply(grad, 1 - b1, out=work)  # 1-3: m = b1 m + (1 - b1) g
        m *= b1
        m += work
        np.multiply(grad, grad, out=work)    # 4-7: v = b2 v + (1 - b2) g^2
        work *= 1 - b2
        v *= b2
        v += work
        np.sqrt(v, out=work)                 # 8-12: the step, with
        work += self.epsilon * root_c2       # (sqrt(v) + eps root_c2)/root_c2
        np.divide(m, work, out=work)         # = sqrt(v_hat) + eps
        work *= learning_rate * root_c2 / (1 - b1**step)
        param -= work

    def work_array(self, param: np.ndarray) -> np.ndarray:
        """A scratch array shaped like ``param``: a view of one buffer per
        dtype, kept between steps, so that no update allocates."""
        buffer = self.buffers.get(param.dtype)
        if buffer is None or buffer.size < param.size:
            buffer = np.empty(param.size, param.dtype)
            self.buffers[param.dtype] = buffer
        return buffer[:param.size].reshape(param.shape)


# %% chapters/13-recurrence.md cell 12
def _global_norm(layers) -> float:
    """The Euclidean norm of all the gradients of ``layers`` as one
    vector (summed in float64)."""
    squares = 0.0
    for layer in layers:
        for name, grad in layer.gradients().items():
            if grad is None:
                raise RuntimeError(f"{type(layer).__name__} has no gradient "
                                   f"for {name}: call backward first")
            squares += float(np.sum(np.square(grad, dtype=np.float64)))
    return math.sqrt(squares)


def clip_gradients(layers, max_norm: float) -> float:
    """Scale the gradients of all ``layers`` in place, together, so that
    their global norm (of all of them as one vector) is at most
    ``max_norm``: each is multiplied by min(1, max_norm / (norm + 1e-6)),
    as ``torch.nn.utils.clip_grad_norm_`` does. Returns the norm before
    clipping; FloatingPointError if it is not finite."""
    max_norm = check_real("max_norm", max_norm, above=0)
    layers = list(layers)
    total = _global_norm(layers)
    if not math.isfinite(total):
        raise FloatingPointError(f"the gradients' global norm is {total}")
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for layer in layers:
            for grad in layer.gradients().values():
                grad *= scale
    return total
