"""Optimizers.

Generated from chapters/05-optimizers.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['check_positive', 'Optimizer', 'SGD', 'Adam']

import math

import numpy as np


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """``value`` as a float if it is finite and > 0 (or >= 0); otherwise a ValueError naming ``name``."""
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


class Optimizer:
    """Updates the parameters of a layer from their gradients.

    ``update_params(layer)`` changes every array in ``layer.parameters()`` in place, using the
    gradient ``layer.d<name>``. The learning rate decays as ``learning_rate / (1 + decay * t)``
    after t updates of that layer; ``weight_decay`` adds ``weight_decay * param`` to each gradient
    (an L2 penalty, as in ``torch.optim``). State (step counts, velocities) is kept per layer.
    """

    def __init__(self, learning_rate: float, decay: float = 0.0, weight_decay: float = 0.0):
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.decay = check_positive("decay", decay, allow_zero=True)
        self.weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
        self.state: dict = {}

    def current_learning_rate(self, step: int) -> float:
        """The learning rate for update number ``step`` (counting from 0)."""
        return self.learning_rate / (1.0 + self.decay * step)

    def update_params(self, layer) -> None:
        state = self.state.setdefault(layer, {"step": 0})
        learning_rate = self.current_learning_rate(state["step"])
        state["step"] += 1
        for name, param in layer.parameters().items():
            grad = getattr(layer, "d" + name)
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            self.update(param, grad, learning_rate, state.setdefault(name, {}), state["step"])

    def update(self, param: np.ndarray, grad: np.ndarray, learning_rate: float, slots: dict, step: int) -> None:
        """Change ``param`` in place; ``slots`` holds this parameter's state; ``step`` counts from 1."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, as ``torch.optim.SGD``.

    ``v = momentum * v + grad`` (v starts as the first gradient), then ``param -= lr * v``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, decay: float = 0.0, weight_decay: float = 0.0):
        super().__init__(learning_rate, decay, weight_decay)
        self.momentum = check_positive("momentum", momentum, allow_zero=True)

    def update(self, param, grad, learning_rate, slots, step):
        if self.momentum:
            if "velocity" in slots:
                slots["velocity"] *= self.momentum
                slots["velocity"] += grad
            else:
                slots["velocity"] = np.array(grad, copy=True)
            grad = slots["velocity"]
        param -= learning_rate * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba), as ``torch.optim.Adam``.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``; with the bias corrections
    ``m_hat = m / (1 - b1^t)`` and ``v_hat = v / (1 - b2^t)``:
    ``param -= lr * m_hat / (sqrt(v_hat) + epsilon)``.
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, decay: float = 0.0, weight_decay: float = 0.0):
        super().__init__(learning_rate, decay, weight_decay)
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        self.beta_1, self.beta_2 = beta_1, beta_2
        self.epsilon = check_positive("epsilon", epsilon)

    def update(self, param, grad, learning_rate, slots, step):
        if "m" not in slots:
            slots["m"] = np.zeros_like(param)
            slots["v"] = np.zeros_like(param)
        m, v = slots["m"], slots["v"]
        m *= self.beta_1
        m += (1 - self.beta_1) * grad
        v *= self.beta_2
        v += (1 - self.beta_2) * grad * grad
        m_hat = m / (1 - self.beta_1**step)
        v_hat = v / (1 - self.beta_2**step)
        param -= learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
