"""dlfs.attention against PyTorch (CPU, float64 on both sides), and its wrong variants caught.

MultiHeadAttention is compared, over shapes drawn by hypothesis that include T = 1, one head and a
head size D = 1, with two independent PyTorch computations, to a relative error of 1e-10 for the
output, dL/d(inputs) and the gradient of every parameter:

- torch.nn.functional.scaled_dot_product_attention on projections copied from weights_qkv
  (columns [0:C], [C:2C], [2C:3C] are Q, K, V; head h is columns h*D:(h+1)*D of each), with
  is_causal=True, whose boolean mask convention is the book's: True = may attend;
- torch.nn.MultiheadAttention(batch_first=True) with in_proj_weight = weights_qkv.T and
  out_proj.weight = weights_out.T, given the causal mask in ITS convention: a boolean attn_mask
  that is True where a query may NOT attend, the strict upper triangle triu(ones, diagonal=1).

The functions attention and attention_backward are also compared with SDPA directly, for
queries and keys of different lengths and a random boolean mask, given to SDPA both as booleans
and as the additive float mask (0 where allowed, -inf where not).

Then the deliberately wrong variants of the layer (the scale 1/sqrt(C) instead of 1/sqrt(D), the
causal mask shifted by one either way, the softmax over the query axis, heads made by a reshape
without the transpose) must each be caught by the same comparison, on a fixed case and among the
first seeded random cases. Last, the layer saves and loads, and refuses what it cannot take.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dlfs
from dlfs import attention as module
from dlfs.attention import MultiHeadAttention
from oracle import FAST, TOLERANCE, error, import_torch, seeds

torch = import_torch()
F = torch.nn.functional
CAUGHT = 1e4 * TOLERANCE          # a wrong variant's error must be far above the tolerance


def make_layer(n: int, T: int, n_heads: int, D: int, causal: bool, seed: int):
    """A float64 layer with random biases (zero biases hide a missing bias gradient), inputs and
    an upstream gradient."""
    rng = np.random.default_rng(seed)
    C = n_heads * D
    layer = MultiHeadAttention(C, n_heads, causal=causal, rng=rng, dtype=np.float64)
    layer.biases_qkv[...] = rng.standard_normal(3 * C)
    layer.biases_out[...] = rng.standard_normal(C)
    return layer, rng.standard_normal((n, T, C)), rng.standard_normal((n, T, C))


def torch_sdpa(layer, x, params):
    """The layer written with torch's fused attention, on projections copied from weights_qkv."""
    N, T, C = x.shape
    H, D = layer.n_heads, C // layer.n_heads
    qkv = x @ params["weights_qkv"] + params["biases_qkv"]
    q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(N, T, H, D).transpose(1, 2) for i in range(3))
    # SDPA's convention is the book's (a boolean attn_mask would be True = may attend);
    # is_causal=True is the lower triangle, diagonal included.
    heads = F.scaled_dot_product_attention(q, k, v, is_causal=layer.causal)
    return heads.transpose(1, 2).reshape(N, T, C) @ params["weights_out"] + params["biases_out"]


def torch_module(layer, x, params):
    """torch.nn.MultiheadAttention with the layer's weights copied in (torch stores them
    transposed); its gradients are mapped back to the layer's names."""
    T, C = x.shape[1], x.shape[2]
    mha = torch.nn.MultiheadAttention(C, layer.n_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(params["weights_qkv"].T)
        mha.in_proj_bias.copy_(params["biases_qkv"])
        mha.out_proj.weight.copy_(params["weights_out"].T)
        mha.out_proj.bias.copy_(params["biases_out"])
    # nn.MultiheadAttention's boolean attn_mask is True where a query may NOT attend: the
    # causal mask in its convention is the strict upper triangle.
    blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1) if layer.causal else None
    output, _ = mha(x, x, x, attn_mask=blocked, need_weights=False)
    torch_module.grads = lambda: {"weights_qkv": mha.in_proj_weight.grad.T,
                                  "biases_qkv": mha.in_proj_bias.grad,
                                  "weights_out": mha.out_proj.weight.grad.T,
                                  "biases_out": mha.out_proj.bias.grad}
    return output


def errors_against(reference, layer, inputs, dvalues) -> dict[str, float]:
    """Relative errors of the layer's output and gradients against ``reference`` in torch."""
    x = torch.tensor(inputs, requires_grad=True)
    params = {name: torch.tensor(value.copy(), requires_grad=True)
              for name, value in layer.parameters().items()}
    output = layer.forward(inputs)
    dinputs = layer.backward(dvalues)
    expected = reference(layer, x, params)
    expected.backward(torch.tensor(dvalues))
    grads = (torch_module.grads() if reference is torch_module
             else {name: p.grad for name, p in params.items()})
    errors = {"output": error(output, expected), "inputs": error(dinputs, x.grad)}
    errors |= {name: error(layer.gradients()[name], grads[name]) for name in grads}
    # relative_error reads NaN as no error (its scale is not > 0): a NaN must count as one.
    ours = [output, dinputs, *layer.gradients().values()]
    errors["finite"] = 0.0 if all(np.isfinite(a).all() for a in ours) else np.inf
    return errors


def assert_small(errors: dict[str, float]) -> None:
    too_large = {name: f"{value:.1e}" for name, value in errors.items() if not value <= TOLERANCE}
    assert not too_large, f"relative errors above {TOLERANCE:.0e} against PyTorch: {too_large}"


shapes = dict(n=st.integers(1, 3), T=st.integers(1, 7), n_heads=st.integers(1, 3),
              D=st.integers(1, 4), causal=st.booleans(), seed=seeds)


@pytest.mark.parametrize("reference", [torch_sdpa, torch_module], ids=["sdpa", "nn.MultiheadAttention"])
@FAST
@given(**shapes)
@example(n=1, T=1, n_heads=1, D=1, causal=True, seed=0)
@example(n=2, T=5, n_heads=1, D=4, causal=True, seed=1)
@example(n=2, T=6, n_heads=3, D=1, causal=False, seed=2)
def test_multi_head_attention_matches_torch(reference, n, T, n_heads, D, causal, seed):
    layer, inputs, dvalues = make_layer(n, T, n_heads, D, causal, seed)
    errors = errors_against(reference, layer, inputs, dvalues)
    assert set(errors) == {"finite", "output", "inputs", "weights_qkv", "biases_qkv", "weights_out", "biases_out"}
    assert_small(errors)


@FAST
@given(n=st.integers(1, 3), heads=st.integers(1, 3), Tq=st.integers(1, 6), T=st.integers(1, 6),
       D=st.integers(1, 4), seed=seeds)
@example(n=1, heads=1, Tq=1, T=1, D=1, seed=0)
def test_attention_with_any_boolean_mask_matches_sdpa(n, heads, Tq, T, D, seed):
    """The functions themselves, with queries and keys of different lengths and a random boolean
    mask (True = may attend, SDPA's convention too; every row keeps at least one key), against
    SDPA given the same boolean mask and given it as an additive float mask (0 or -inf)."""
    rng = np.random.default_rng(seed)
    q, g = rng.standard_normal((2, n, heads, Tq, D))
    k, v = rng.standard_normal((2, n, heads, T, D))
    mask = rng.random((n, heads, Tq, T)) < 0.6
    mask[..., rng.integers(0, T)] = True
    out, weights = module.attention(q, k, v, mask)
    grads = module.attention_backward(g, q, k, v, weights)
    for torch_mask in (torch.from_numpy(mask), torch.from_numpy(np.where(mask, 0.0, -np.inf))):
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
        expected = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch_mask)
        expected.backward(torch.from_numpy(g))
        errors = {"output": error(out, expected)}
        errors |= {f"d{name}": error(ours, theirs.grad) for name, ours, theirs in zip("qkv", grads, (tq, tk, tv))}
        assert_small(errors)


# --------------------------------------------------------------------------------------------
# Wrong variants: each must be caught by the comparison above
# --------------------------------------------------------------------------------------------

def shifted_mask(shift: int):
    """The causal mask moved by one diagonal: +1 lets a position see the next one, -1 takes its
    own away (and leaves the first row with no key at all)."""
    return lambda T: np.tril(np.ones((T, T), dtype=bool), k=shift)


def softmax_over_queries(scores, axis=-1):
    """The softmax along the query axis instead of the key axis."""
    shifted = scores - scores.max(axis=-2, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-2, keepdims=True)


def split_by_reshape_only(x, n_heads):
    """(N, T, C) -> (N, H, T, D) by a reshape without the transpose: heads mix positions."""
    N, T, C = x.shape
    return x.reshape(N, n_heads, T, C // n_heads)


def width_scale(layer):
    layer.scale = float(1 / np.sqrt(layer.dim))         # 1/sqrt(C) instead of 1/sqrt(D)


WRONG = {  # name: (attribute of dlfs.attention to replace, or None; wrong version or layer edit)
    "scale 1/sqrt(C)": (None, width_scale),
    "mask shifted: sees the next position": ("causal_mask", shifted_mask(1)),
    "mask shifted: loses its own position": ("causal_mask", shifted_mask(-1)),
    "softmax over the wrong axis": ("stable_softmax", softmax_over_queries),
    "heads mixed by a reshape": ("split_heads", split_by_reshape_only),
}


def worst_error(reference, n, T, n_heads, D, causal, seed, edit=None) -> float:
    layer, inputs, dvalues = make_layer(n, T, n_heads, D, causal, seed)
    if edit is not None:
        edit(layer)
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = errors_against(reference, layer, inputs, dvalues)
    return max(np.inf if np.isnan(value) else value for value in errors.values())


@pytest.mark.parametrize("reference", [torch_sdpa, torch_module], ids=["sdpa", "nn.MultiheadAttention"])
@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_variant_is_caught(name, reference, monkeypatch):
    attribute, wrong = WRONG[name]
    fixed = dict(n=2, T=5, n_heads=2, D=3, causal=True, seed=0)
    assert worst_error(reference, **fixed) <= TOLERANCE          # the right layer passes ...
    edit = None
    if attribute is None:
        edit = wrong
    else:
        monkeypatch.setattr(module, attribute, wrong)
    assert worst_error(reference, **fixed, edit=edit) > CAUGHT, f"the fixed case missed {name!r}"
    rng = np.random.default_rng(1)                               # ... and random cases find it
    caught = 0
    for _ in range(10):
        case = dict(n=int(rng.integers(1, 4)), T=int(rng.integers(2, 8)),
                    n_heads=int(rng.integers(2, 4)), D=int(rng.integers(1, 5)),
                    causal=True, seed=int(rng.integers(2**32)))
        caught += worst_error(reference, **case, edit=edit) > CAUGHT
    assert caught >= 8, f"only {caught} of 10 random cases caught {name!r}"


# --------------------------------------------------------------------------------------------
# Masks, saving, and mistakes
# --------------------------------------------------------------------------------------------

def test_the_causal_mask_is_the_lower_triangle_and_its_rows_never_go_nan():
    mask = dlfs.causal_mask(4)
    assert mask.dtype == bool and np.array_equal(mask, np.tril(np.ones((4, 4), dtype=bool)))
    scores = np.random.default_rng(0).standard_normal((2, 4, 4)) * 50
    _, weights = module.attention(scores[..., :2], scores[..., 2:], scores, mask)
    assert np.isfinite(weights).all() and np.allclose(weights.sum(axis=-1), 1)
    assert np.all(weights[:, ~mask] == 0) and np.all(weights[:, 0, 0] == 1)
    with np.errstate(invalid="ignore"):                # a fully masked row: NaN, as documented
        row = module.stable_softmax(np.full((1, 3), -np.inf))
    assert np.isnan(row).all()


def test_one_position_attends_to_itself_only():
    layer = MultiHeadAttention(4, 2, rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((3, 1, 4))
    expected = (x[:, 0] @ layer.weights_qkv[:, 8:] + layer.biases_qkv[8:]) @ layer.weights_out
    np.testing.assert_allclose(layer.forward(x)[:, 0], expected + layer.biases_out, rtol=1e-12)


def test_float32_by_default_and_the_gradients_check_by_finite_differences():
    layer = MultiHeadAttention(6, 3, rng=0)
    out = layer.forward(np.ones((2, 3, 6)))
    layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.gradients().values())
    layer64 = MultiHeadAttention(6, 3, causal=False, rng=0, dtype=np.float64)
    errors = dlfs.check_layer_gradients(layer64, np.random.default_rng(0).standard_normal((2, 4, 6)))
    assert max(errors.values()) < 1e-7, errors


def test_the_layer_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    model = dlfs.Model([MultiHeadAttention(8, 4, causal=False, rng=rng, dtype=np.float64)])
    model.layers[0].biases_out[...] = rng.standard_normal(8)
    x = rng.standard_normal((2, 5, 8))
    dlfs.save(model, tmp_path / "attention.npz")
    loaded = dlfs.load(tmp_path / "attention.npz")
    layer = loaded.layers[0]
    assert type(layer) is MultiHeadAttention and layer.get_config() == model.layers[0].get_config()
    assert not layer.causal and layer.dtype == np.float64
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert MultiHeadAttention.array_shapes(layer.get_config()) == {
        name: array.shape for name, array in layer.parameters().items()}


@pytest.mark.parametrize("attempt, kind, message", [
    (lambda: MultiHeadAttention(6, 4), ValueError, "multiple of n_heads"),
    (lambda: MultiHeadAttention(0, 1), ValueError, "dim"),
    (lambda: MultiHeadAttention(4, 2, causal="yes"), TypeError, "causal"),
    (lambda: MultiHeadAttention(4, 2).forward(np.ones((2, 4))), ValueError, "shape"),
    (lambda: MultiHeadAttention(4, 2).forward(np.ones((2, 3, 5))), ValueError, r"\(N, T, 4\)"),
    (lambda: MultiHeadAttention(4, 2).backward(np.ones((2, 3, 4))), RuntimeError, "before forward"),
])
def test_mistakes_are_refused_with_a_clear_message(attempt, kind, message):
    with pytest.raises(kind, match=message):
        attempt()
