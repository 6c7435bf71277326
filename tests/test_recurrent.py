"""dlfs.recurrent against PyTorch (CPU, float64 on both sides), as in tests/test_oracle_torch.py.

- ``RNN`` against ``torch.nn.RNN(batch_first=True)`` with its weights copied (torch keeps the
  transposes: ``weight_ih_l0`` is ``weights_input.T``; dlfs has one bias, torch two, the second
  set to 0), outputs and every gradient, over shapes drawn by hypothesis that include T = 1 and
  widths of 1;
- ``clip_gradients`` against ``torch.nn.utils.clip_grad_norm_``, and ``Optimizer.apply_gradients``
  with ``global_clipnorm`` inside ``Model.fit`` against clip_grad_norm_ followed by torch.optim.SGD;
- ``sequence_cross_entropy`` against ``F.cross_entropy(ignore_index=-1)``.

Each comparison also runs deliberately wrong versions ("mutants"), which must fail it: BPTT that
drops the recurrent term, and others. Then the layer contract, and saving and loading.

Without torch these tests are skipped; with the CI environment variable set they fail instead.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dlfs
from dlfs import SGD, Dense, Model, MeanSquaredError
from dlfs.recurrent import IGNORE_INDEX, RNN, padded_sequences, sequence_cross_entropy
from dlfs.optimizers import _global_norm, clip_gradients
from dlfs.text import CharVocabulary, Embedding
from oracle import FAST, TOLERANCE, error, import_torch, seeds

torch = import_torch()
F = torch.nn.functional

small = st.integers(min_value=1, max_value=12)
steps = st.integers(min_value=1, max_value=10)


def assert_all_small(errors: dict[str, float]) -> None:
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


# --------------------------------------------------------------------------------------------
# RNN against torch.nn.RNN
# --------------------------------------------------------------------------------------------

def rnn_case(batch, T, n_inputs, n_hidden, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    layer = RNN(n_inputs, n_hidden, rng=rng, dtype=np.float64)
    layer.weights_hidden *= scale
    layer.biases[...] = rng.standard_normal(n_hidden) * 0.5   # zero biases would hide mistakes
    inputs = rng.standard_normal((batch, T, n_inputs))
    dvalues = rng.standard_normal((batch, T, n_hidden))
    return layer, inputs, dvalues


def torch_rnn_errors(layer, inputs, dvalues) -> dict[str, float]:
    """dlfs ``layer`` (forward, then ``backward(dvalues)``) against nn.RNN with its weights."""
    reference = torch.nn.RNN(layer.n_inputs, layer.n_hidden, batch_first=True).double()
    with torch.no_grad():
        reference.weight_ih_l0.copy_(torch.from_numpy(layer.weights_input.T.copy()))
        reference.weight_hh_l0.copy_(torch.from_numpy(layer.weights_hidden.T.copy()))
        reference.bias_ih_l0.copy_(torch.from_numpy(layer.biases.copy()))
        reference.bias_hh_l0.zero_()
    x = torch.tensor(inputs, requires_grad=True)
    expected, last = reference(x)
    expected.backward(torch.from_numpy(dvalues))
    output = layer.forward(inputs)
    dinputs = layer.backward(dvalues)
    grads = layer.gradients()
    return {"output": error(output, expected),
            "last state": error(output[:, -1], last[0]),
            "inputs": error(dinputs, x.grad),
            "weights_input": error(grads["weights_input"], reference.weight_ih_l0.grad.T),
            "weights_hidden": error(grads["weights_hidden"], reference.weight_hh_l0.grad.T),
            "biases": error(grads["biases"], reference.bias_ih_l0.grad)}


@FAST
@given(batch=small, T=steps, n_inputs=small, n_hidden=small, seed=seeds)
@example(batch=1, T=1, n_inputs=1, n_hidden=1, seed=0)
@example(batch=3, T=1, n_inputs=4, n_hidden=5, seed=1)
@example(batch=1, T=10, n_inputs=1, n_hidden=12, seed=2)
def test_rnn_matches_torch(batch, T, n_inputs, n_hidden, seed):
    assert_all_small(torch_rnn_errors(*rnn_case(batch, T, n_inputs, n_hidden, seed)))


def test_rnn_matches_torch_over_a_long_sequence_with_a_large_recurrent_gain():
    """50 steps in the exploding regime of the chapter (gain 3)."""
    assert_all_small(torch_rnn_errors(*rnn_case(4, 50, 3, 8, seed=5, scale=3.0)))


# Mutants: each is RNN with one deliberate mistake in backpropagation through time.

class DropsRecurrentTerm(RNN):
    """delta_t from G_t alone: the gradient does not flow back through time."""

    def backward(self, dvalues):
        deltas = dvalues * (1 - self.output ** 2)
        return self._sums(deltas)

    def _sums(self, deltas):
        rows = deltas.reshape(-1, self.n_hidden)
        previous = self.output[:, :-1].reshape(-1, self.n_hidden)
        self.dweights_hidden = previous.T @ deltas[:, 1:].reshape(-1, self.n_hidden)
        self.dweights_input = self.inputs.reshape(-1, self.n_inputs).T @ rows
        self.dbiases = rows.sum(axis=0)
        self.dinputs = deltas @ self.weights_input.T
        return self.dinputs


class UntransposedRecurrence(DropsRecurrentTerm):
    """Carries delta_{t+1} W_h back instead of delta_{t+1} W_h^T."""

    def backward(self, dvalues):
        deltas = np.empty_like(self.output)
        carried = np.zeros_like(self.output[:, 0])
        for t in range(self.output.shape[1] - 1, -1, -1):
            deltas[:, t] = (dvalues[:, t] + carried) * (1 - self.output[:, t] ** 2)
            carried = deltas[:, t] @ self.weights_hidden
        return self._sums(deltas)


class SameStepHidden(RNN):
    """dW_h pairs delta_t with h_t instead of h_{t-1}."""

    def backward(self, dvalues):
        dinputs = super().backward(dvalues)
        deltas = np.empty_like(self.output)
        carried = np.zeros_like(self.output[:, 0])
        for t in range(self.output.shape[1] - 1, -1, -1):
            deltas[:, t] = (dvalues[:, t] + carried) * (1 - self.output[:, t] ** 2)
            carried = deltas[:, t] @ self.weights_hidden.T
        states = self.output.reshape(-1, self.n_hidden)
        self.dweights_hidden = states.T @ deltas.reshape(-1, self.n_hidden)
        return dinputs


MUTANTS = {"drops the recurrent term": (DropsRecurrentTerm, "inputs"),
           "W_h not transposed going back": (UntransposedRecurrence, "inputs"),
           "dW_h from h_t, not h_{t-1}": (SameStepHidden, "weights_hidden")}


@pytest.mark.parametrize("name", MUTANTS)
def test_the_rnn_oracle_catches_a_wrong_bptt(name):
    mutant, target = MUTANTS[name]
    layer, inputs, dvalues = rnn_case(3, 6, 4, 5, seed=11)
    wrong = mutant(4, 5, dtype=np.float64)
    for key, value in layer.parameters().items():
        wrong.parameters()[key][...] = value
    assert_all_small(torch_rnn_errors(layer, inputs, dvalues))
    errors = torch_rnn_errors(wrong, inputs, dvalues)
    assert errors[target] > 1e4 * TOLERANCE, f"the oracle missed the mutant {name!r}: {errors}"


def test_dropping_the_recurrent_term_is_invisible_at_one_step():
    """Why the drawn shapes must include T >= 2: at T = 1 there is nothing to carry back."""
    layer, inputs, dvalues = rnn_case(3, 1, 4, 5, seed=12)
    wrong = DropsRecurrentTerm(4, 5, dtype=np.float64)
    for key, value in layer.parameters().items():
        wrong.parameters()[key][...] = value
    assert_all_small(torch_rnn_errors(wrong, inputs, dvalues))


# --------------------------------------------------------------------------------------------
# Clipping by the global norm against torch.nn.utils.clip_grad_norm_
# --------------------------------------------------------------------------------------------

class Holder(dlfs.Layer):
    """A layer that only holds parameters and gradients of given shapes."""

    def __init__(self, shapes, rng, scale):
        self.arrays = {f"p{i}": rng.standard_normal(shape) for i, shape in enumerate(shapes)}
        self.grads = {name: rng.standard_normal(a.shape) * scale for name, a in self.arrays.items()}

    def parameters(self):
        return self.arrays

    def gradients(self):
        return self.grads


shape_lists = st.lists(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=3)
                       .map(tuple), min_size=1, max_size=3)


def clipping_errors(clip, layer_shapes, max_norm, seed, scale):
    rng = np.random.default_rng(seed)
    layers = [Holder(shapes, rng, scale) for shapes in layer_shapes]
    tensors = [torch.tensor(g, requires_grad=True) for layer in layers for g in layer.grads.values()]
    for tensor in tensors:
        tensor.grad = tensor.detach().clone()
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = clip(layers, max_norm)
    grads = [g for layer in layers for g in layer.grads.values()]
    errors = {"norm": error(np.array(norm), expected_norm)}
    errors |= {f"gradient {i}": error(g, t.grad) for i, (g, t) in enumerate(zip(grads, tensors))}
    return errors


@FAST
@given(layer_shapes=st.lists(shape_lists, min_size=1, max_size=3), seed=seeds,
       max_norm=st.sampled_from([1e-3, 0.5, 1.0, 5.0, 1e3]), scale=st.sampled_from([1e-3, 1.0, 100.0]))
@example(layer_shapes=[[(1,)]], seed=0, max_norm=1.0, scale=100.0)
@example(layer_shapes=[[(1,)]], seed=0, max_norm=1.0, scale=1e-3)
def test_clip_gradients_matches_torch_clip_grad_norm(layer_shapes, seed, max_norm, scale):
    assert_all_small(clipping_errors(clip_gradients, layer_shapes, max_norm, seed, scale))


def clip_each_array(layers, max_norm):
    """Keras's clipnorm, not global_clipnorm: each array capped on its own."""
    total = _global_norm(layers)
    for layer in layers:
        for grad in layer.gradients().values():
            norm = np.linalg.norm(grad)
            if norm > max_norm:
                grad *= max_norm / norm
    return total


def clip_first_layer_only(layers, max_norm):
    """The trap of a per-layer optimizer: the norm of the layer at hand, not of all."""
    total = _global_norm(layers)
    for layer in layers:
        norm = _global_norm([layer])
        for grad in layer.gradients().values():
            grad *= min(1.0, max_norm / (norm + 1e-6))
    return total


@pytest.mark.parametrize("mutant", [clip_each_array, clip_first_layer_only])
def test_the_clipping_oracle_catches_local_clipping(mutant):
    shapes = [[(3, 4), (4,)], [(4, 2), (2,)]]
    assert_all_small(clipping_errors(clip_gradients, shapes, 1.0, seed=3, scale=1.0))
    errors = clipping_errors(mutant, shapes, 1.0, seed=3, scale=1.0)
    assert max(errors.values()) > 1e4 * TOLERANCE, f"the oracle missed {mutant.__name__}: {errors}"


def test_clip_gradients_refuses_a_non_finite_norm_and_a_bad_threshold():
    layer = Holder([(2,)], np.random.default_rng(0), 1.0)
    with pytest.raises(ValueError, match="max_norm"):
        clip_gradients([layer], 0.0)
    layer.grads["p0"][0] = np.inf
    with pytest.raises(FloatingPointError, match="global norm"):
        clip_gradients([layer], 1.0)


@pytest.mark.parametrize("clipnorm", [None, 0.05, 1e3])
def test_model_fit_clips_all_layers_together_as_torch_does(clipnorm):
    """Three SGD steps of Model.fit with global_clipnorm against clip_grad_norm_ + torch.optim.SGD
    on the same two-layer network, whole batch, no shuffling."""
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    first, second = Dense(3, 5, rng=1, dtype=np.float64), Dense(5, 2, rng=2, dtype=np.float64)
    first.biases[...] = rng.standard_normal(first.biases.shape)
    weights = [torch.tensor(a.copy(), requires_grad=True)
               for a in (first.weights, first.biases, second.weights, second.biases)]
    optimizer = SGD(learning_rate=0.1)
    optimizer.global_clipnorm = clipnorm
    model = Model([first, dlfs.Tanh(), second], loss=MeanSquaredError(), optimizer=optimizer)
    model.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    reference = torch.optim.SGD(weights, lr=0.1)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(3):
        reference.zero_grad()
        hidden = torch.tanh(Xt @ weights[0] + weights[1])
        ((hidden @ weights[2] + weights[3] - yt) ** 2).mean().backward()
        if clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(weights, clipnorm)
        reference.step()
    ours = [first.weights, first.biases, second.weights, second.biases]
    assert_all_small({f"array {i}": error(a, t) for i, (a, t) in enumerate(zip(ours, weights))})


# --------------------------------------------------------------------------------------------
# The cross-entropy over padded sequences against F.cross_entropy(ignore_index=-1)
# --------------------------------------------------------------------------------------------

def sequence_loss_errors(loss_function, batch, T, V, seed):
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-4, 4, (batch, T, V))
    targets = rng.integers(0, V, (batch, T))
    targets[rng.random((batch, T)) < 0.3] = IGNORE_INDEX
    targets[0, 0] = rng.integers(0, V)            # at least one target counts
    z = torch.tensor(logits, requires_grad=True)
    expected = F.cross_entropy(z.reshape(-1, V), torch.from_numpy(targets).reshape(-1),
                               ignore_index=IGNORE_INDEX)
    expected.backward()
    loss, dlogits = loss_function(logits, targets)
    return {"loss": error(np.array(loss), expected), "dlogits": error(dlogits, z.grad)}


@FAST
@given(batch=small, T=steps, V=st.integers(min_value=2, max_value=30), seed=seeds)
@example(batch=1, T=1, V=2, seed=0)
def test_sequence_cross_entropy_matches_torch(batch, T, V, seed):
    assert_all_small(sequence_loss_errors(sequence_cross_entropy, batch, T, V, seed))


def mean_over_all_steps(logits, targets):
    """Averages over N T positions, padded ones included, instead of the counted ones."""
    loss, dlogits = sequence_cross_entropy(logits, targets)
    counted = (targets != IGNORE_INDEX).sum()
    return loss * counted / targets.size, dlogits * counted / targets.size


def test_the_sequence_loss_oracle_catches_a_mean_over_padding():
    errors = sequence_loss_errors(mean_over_all_steps, 4, 6, 5, seed=1)
    assert min(errors.values()) > 1e4 * TOLERANCE, errors


def test_padded_sequences_shift_targets_by_one_and_ignore_the_padding():
    vocab = CharVocabulary(["ab", "b"])
    X, Y = padded_sequences(["ab", "b"], vocab)
    assert X.tolist() == [[0, 1, 2], [0, 2, 0]]
    assert Y.tolist() == [[1, 2, 0], [2, 0, IGNORE_INDEX]]
    assert padded_sequences(["b"], vocab, length=4)[1].tolist() == [[2, 0, -1, -1]]
    with pytest.raises(ValueError, match="length"):
        padded_sequences(["ab"], vocab, length=2)


# --------------------------------------------------------------------------------------------
# The layer contract, and saving
# --------------------------------------------------------------------------------------------

def test_rnn_follows_the_layer_contract():
    layer = RNN(3, 4, rng=0)
    assert layer.weights_input.dtype == np.float32 and layer.biases.shape == (4,)
    assert {k: v.shape for k, v in layer.parameters().items()} == RNN.array_shapes(layer.get_config())
    assert np.array_equal(RNN(3, 4, rng=0).weights_hidden, layer.weights_hidden)
    assert np.allclose(layer.weights_hidden @ layer.weights_hidden.T, np.eye(4), atol=1e-6)
    out = layer.forward(np.ones((2, 5, 3)))
    assert out.shape == (2, 5, 4) and out.dtype == np.float32
    layer.backward(np.ones_like(out))
    assert all(g.dtype == np.float32 and g.shape == p.shape
               for g, p in zip(layer.gradients().values(), layer.parameters().values()))
    with pytest.raises(ValueError, match="3 features"):
        layer.forward(np.ones((2, 5, 2)))
    with pytest.raises(ValueError):
        layer.forward(np.ones((2, 3)))


def test_rnn_saves_and_loads(tmp_path):
    """The exported class loads by its full name, with no custom_objects."""
    layers = [Embedding(5, 3, rng=0), RNN(3, 4, rng=1)]
    layers[1].biases[...] = np.arange(4)
    dlfs.save(Model(layers), tmp_path / "rnn.npz")
    loaded = dlfs.load(tmp_path / "rnn.npz")
    assert type(loaded.layers[1]) is RNN and loaded.layers[1].get_config() == layers[1].get_config()
    tokens = np.array([[0, 4, 2, 2], [1, 0, 3, 3]])
    expected = layers[1].forward(layers[0].forward(tokens))
    assert np.array_equal(loaded.layers[1].forward(loaded.layers[0].forward(tokens)), expected)
