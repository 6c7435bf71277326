"""Compare dlfs with PyTorch: the harness behind tests/test_oracle_torch.py.

Every function here runs the same computation in dlfs and in PyTorch (CPU, float64) and returns
relative errors, ``|ours - theirs| / (|ours| + |theirs|)`` with Euclidean norms (dlfs.relative_error),
one per compared array. The tests assert them below ``TOLERANCE``; tests/test_oracle_torch.py also
feeds deliberately wrong implementations through the same functions to show that they can fail.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from dlfs import relative_error

TOLERANCE = 1e-10

# Fast and leaves no files behind: 25 cases per test, no deadline, no example database.
FAST = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

sizes = st.integers(min_value=1, max_value=64)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def in_ci() -> bool:
    """True when the CI environment variable is set to something other than 0/false/no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def import_torch():
    """The torch module. Missing torch skips the calling test module, or fails it when CI is set."""
    try:
        import torch
    except ImportError as error:
        message = f"PyTorch is needed for the oracle tests ({error}); install it with: pip install -e '.[test]'"
        if in_ci():
            pytest.fail("CI is set, so the oracle tests must run: " + message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
    return torch


def _tensor(array, requires_grad: bool = False):
    """A float64 torch copy of ``array`` (a copy, so neither side can change the other's data)."""
    import torch

    return torch.tensor(np.array(array, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


def error(ours, theirs) -> float:
    """Relative error between a dlfs array and a torch tensor (or anything array-like)."""
    if hasattr(theirs, "detach"):
        theirs = theirs.detach().numpy()
    return relative_error(np.asarray(ours), np.asarray(theirs))


def layer_errors(layer, torch_forward, inputs: np.ndarray, dvalues: np.ndarray) -> dict[str, float]:
    """dlfs ``layer`` against ``torch_forward(x, **parameters)``, with upstream gradient ``dvalues``.

    Returns relative errors for the output, dL/d(inputs) and dL/d(each parameter), where the torch
    gradients come from autograd: ``output.backward(gradient=dvalues)``.
    """
    x = _tensor(inputs, requires_grad=True)
    params = {name: _tensor(value, requires_grad=True) for name, value in layer.parameters().items()}
    output = layer.forward(np.array(inputs))
    dinputs = layer.backward(np.array(dvalues))
    expected = torch_forward(x, **params)
    expected.backward(gradient=_tensor(dvalues))
    errors = {"output": error(output, expected), "inputs": error(dinputs, x.grad)}
    errors |= {name: error(layer.gradients()[name], param.grad) for name, param in params.items()}
    return errors


def loss_errors(loss, torch_per_sample, y_pred: np.ndarray, y_true, torch_target) -> dict[str, float]:
    """A dlfs loss against ``torch_per_sample(p, target)``, the torch loss of each example (N,).

    Compares ``forward`` (per example), ``calculate`` (the mean) and ``backward`` (the gradient of
    the mean with respect to ``y_pred``, from torch autograd).
    """
    p = _tensor(y_pred, requires_grad=True)
    per_sample = torch_per_sample(p, torch_target)
    mean = per_sample.mean()
    mean.backward()
    return {
        "forward": error(loss.forward(np.array(y_pred), y_true), per_sample),
        "calculate": error(loss.calculate(np.array(y_pred), y_true), mean),
        "backward": error(loss.backward(np.array(y_pred), y_true), p.grad),
    }


def optimizer_errors(optimizer, make_torch_optimizer, layer, gradients, lr_lambda=None) -> list[float]:
    """Run ``optimizer`` on a dlfs layer and the torch optimizer on copies of its parameters.

    ``gradients`` is a list of dicts {parameter name: gradient}, one per step. dlfs is driven by
    setting ``layer.d<name>`` and calling ``optimizer.update_params(layer)``; torch by setting
    ``p.grad`` and calling ``step()``, then ``LambdaLR(lr_lambda).step()`` when ``lr_lambda`` is given.
    Returns, for each step, the largest relative error over the parameters after that step.
    """
    import torch

    params = {name: _tensor(value, requires_grad=True) for name, value in layer.parameters().items()}
    torch_optimizer = make_torch_optimizer(list(params.values()))
    scheduler = None if lr_lambda is None else torch.optim.lr_scheduler.LambdaLR(torch_optimizer, lr_lambda)
    errors = []
    for step_gradients in gradients:
        for name, grad in step_gradients.items():
            setattr(layer, "d" + name, np.array(grad))
            params[name].grad = _tensor(grad)
        optimizer.update_params(layer)
        torch_optimizer.step()
        if scheduler is not None:
            scheduler.step()
        errors.append(max(error(layer.parameters()[name], p) for name, p in params.items()))
    return errors
