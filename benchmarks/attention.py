"""A training step of the attention chapter's model, dlfs against PyTorch, in one process.

The model is chapters/14-attention.md's reversal model: token and position embeddings (10 digits,
15 positions, width 32), one causal MultiHeadAttention with two heads added to its input, a dense
read-out to the 10 digits, softmax cross-entropy on the 8 output positions, Adam at 0.01; a
batch of 64 sequences of 16 tokens (15 read, 15 predicted, 8 counted), float32. The PyTorch side
is the same network with the same starting weights: nn.Embedding twice, nn.MultiheadAttention
(batch_first, its weights copied from the dlfs layer, the causal mask given in its convention,
True = blocked, with is_causal=True so that it may take its fused kernel), nn.Linear,
F.cross_entropy on the counted positions, torch.optim.Adam. A step is forward, loss, backward
and the update; each round starts from the same fresh weights and takes the same batches.

Both sides run at one thread (threadpoolctl for NumPy's OpenBLAS, torch.set_num_threads) and at
all the machine's threads. In each round, each side runs a block of steps, in turns (who goes
first alternates), after a warm-up round; a round gives one ratio, dlfs over PyTorch, and the
JSON keeps every time, every ratio and their median. The target is a median ratio of at most 1.25
at one thread.

The same is measured for the model on longer sequences (64 digits reversed, 127 positions, width
128, four heads, batch 16), where attention's T^2 work weighs more than the overheads of a small
step; the target is judged on the chapter's model.

Then one dlfs step is split into its parts, each timed on its own many times: the embeddings,
the attention layer's forward and backward (and inside them the projections and the attention
proper), the read-out and the loss, and the Adam updates: where dlfs's time goes. Each round also
counts the minor page faults per step of each side: NumPy allocates every temporary afresh, and
glibc gives large freed blocks back to the kernel, so a step on long sequences faults in fresh
zeroed pages for its T x T arrays. A last run of the one-thread comparison, with glibc told to
keep freed memory (mallopt), measures what those faults cost.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u NPY_DISABLE_CPU_FEATURES \\
        .venv/bin/python benchmarks/attention.py        # writes benchmarks/attention.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import threadpoolctl
import torch

from dlfs import Adam, Dense, softmax_cross_entropy_backward
from dlfs.attention import (MultiHeadAttention, attention, attention_backward, causal_mask, merge_heads,
                            split_heads, stable_softmax)
from dlfs.text import Embedding
from train_mlp import numeric_platform

DIGITS, HALF, DIM, HEADS, BATCH = 10, 8, 32, 2, 64
LENGTH = 2 * HALF - 1
# The chapter's model, and the same model on longer sequences, wider, where the T^2 work of
# attention weighs more than the overheads of a small step: (HALF, DIM, HEADS, BATCH).
CONFIGS = {"chapter": (8, 32, 2, 64), "long": (64, 128, 4, 16)}
LEARNING_RATE = 0.01
TARGET = 1.25          # dlfs / PyTorch per step at one thread, median over the rounds
F = torch.nn.functional


def configure(half: int, dim: int, heads: int, batch_size: int) -> None:
    """Set the sizes that the functions below read."""
    global HALF, DIM, HEADS, BATCH, LENGTH
    HALF, DIM, HEADS, BATCH = half, dim, heads, batch_size
    LENGTH = 2 * HALF - 1


class OneBlock:
    """The chapter's model (chapters/14-attention.md), written again here."""

    def __init__(self, rng):
        self.tokens = Embedding(DIGITS, DIM, rng=rng)
        self.positions = Embedding(LENGTH, DIM, rng=rng)
        self.attention = MultiHeadAttention(DIM, HEADS, rng=rng)
        self.head = Dense(DIM, DIGITS, rng=rng)
        self.layers = [self.tokens, self.positions, self.attention, self.head]
        self.optimizer = Adam(learning_rate=LEARNING_RATE)

    def embed(self, X):
        return self.tokens.forward(X) + self.positions.forward(np.arange(X.shape[1])[None])

    def read_out(self, h, Y):
        """Probabilities, the loss and dL/d(scores) for the counted positions."""
        N, T, _ = h.shape
        probs = stable_softmax(self.head.forward(h.reshape(N * T, -1))).reshape(N, T, -1)
        rows = probs[:, HALF - 1:].reshape(-1, DIGITS)
        labels = Y[:, HALF - 1:].reshape(-1)
        loss = -np.log(rows[np.arange(len(labels)), labels]).mean()
        dscores = np.zeros_like(probs)
        dscores[:, HALF - 1:] = softmax_cross_entropy_backward(rows, labels, check_input=False).reshape(
            N, T - HALF + 1, DIGITS)
        return loss, dscores

    def step(self, X, Y) -> float:
        e = self.embed(X)
        h = e + self.attention.forward(e)
        loss, dscores = self.read_out(h, Y)
        N, T, V = dscores.shape
        dh = self.head.backward(dscores.reshape(N * T, V)).reshape(N, T, -1)
        de = dh + self.attention.backward(dh)
        self.tokens.backward(de)
        self.positions.backward(de.sum(axis=0, keepdims=True))
        for layer in self.layers:
            self.optimizer.update_params(layer)
        return float(loss)


class TorchOneBlock(torch.nn.Module):
    """The same network in PyTorch, its weights copied from a OneBlock."""

    def __init__(self, ours: OneBlock):
        super().__init__()
        self.tokens = torch.nn.Embedding(DIGITS, DIM)
        self.positions = torch.nn.Embedding(LENGTH, DIM)
        self.attention = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True)
        self.head = torch.nn.Linear(DIM, DIGITS)
        a = ours.attention
        with torch.no_grad():
            self.tokens.weight.copy_(torch.from_numpy(ours.tokens.weights))
            self.positions.weight.copy_(torch.from_numpy(ours.positions.weights))
            self.attention.in_proj_weight.copy_(torch.from_numpy(a.weights_qkv.T.copy()))
            self.attention.in_proj_bias.copy_(torch.from_numpy(a.biases_qkv))
            self.attention.out_proj.weight.copy_(torch.from_numpy(a.weights_out.T.copy()))
            self.attention.out_proj.bias.copy_(torch.from_numpy(a.biases_out))
            self.head.weight.copy_(torch.from_numpy(ours.head.weights.T.copy()))
            self.head.bias.copy_(torch.from_numpy(ours.head.biases.reshape(-1)))
        # nn.MultiheadAttention's boolean mask is True where a query may NOT attend.
        self.register_buffer("blocked", torch.triu(torch.ones(LENGTH, LENGTH, dtype=torch.bool), 1))
        self.optimizer = torch.optim.Adam(self.parameters(), lr=LEARNING_RATE)

    def step(self, X, Y) -> float:
        self.optimizer.zero_grad()
        e = self.tokens(X) + self.positions.weight[:X.shape[1]]
        h = e + self.attention(e, e, e, attn_mask=self.blocked, is_causal=True, need_weights=False)[0]
        logits = self.head(h[:, HALF - 1:])
        loss = F.cross_entropy(logits.reshape(-1, DIGITS), Y[:, HALF - 1:].reshape(-1))
        loss.backward()
        self.optimizer.step()
        return loss.item()


def batch(seed: int = 0):
    """Inputs and targets (BATCH, LENGTH) of BATCH random sequences, drawn from ``seed``."""
    x = np.random.default_rng(seed).integers(0, DIGITS, (BATCH, HALF))
    seqs = np.concatenate([x, x[:, ::-1]], axis=1)
    return seqs[:, :-1], seqs[:, 1:]


def same_first_steps() -> float:
    """The two sides' losses over three steps from the same weights: the largest difference."""
    ours = OneBlock(np.random.default_rng(0))
    theirs = TorchOneBlock(ours)
    X, Y = batch()
    tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
    return max(abs(ours.step(X, Y) - theirs.step(tX, tY)) for _ in range(3))


def interleaved(threads: int, rounds: int, steps: int) -> dict:
    """Rounds of ``steps`` training steps per side. Every round starts both sides from the same
    fresh weights and runs them on the same ``steps`` batches: the first steps of training, where
    the numbers are ordinary (trained to a loss near 0 on one batch, the gradients fall into
    float32's subnormal range, and the timings then measure the CPU's subnormal arithmetic)."""
    torch.set_num_threads(threads)
    batches = [batch(seed) for seed in range(steps)]
    torch_batches = [tuple(torch.from_numpy(a) for a in pair) for pair in batches]
    times = {"dlfs": [], "torch": []}
    faults = {"dlfs": [], "torch": []}
    with threadpoolctl.threadpool_limits(threads):
        for round_ in range(rounds + 1):                  # round 0 is a warm-up
            ours = OneBlock(np.random.default_rng(0))
            theirs = TorchOneBlock(ours)
            sides = {"dlfs": (ours, batches), "torch": (theirs, torch_batches)}
            order = list(sides) if round_ % 2 else list(sides)[::-1]
            for name in order:
                model, pairs = sides[name]
                first_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                for X, Y in pairs:
                    model.step(X, Y)
                if round_:
                    times[name].append((time.perf_counter() - start) / steps)
                    faults[name].append(
                        (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - first_faults) / steps)
    ratios = [a / b for a, b in zip(times["dlfs"], times["torch"])]
    return {"threads": threads, "steps_per_round": steps, "dlfs_step_s": times["dlfs"],
            "torch_step_s": times["torch"], "ratios": ratios, "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios),
            "dlfs_median_step_s": statistics.median(times["dlfs"]),
            "torch_median_step_s": statistics.median(times["torch"]),
            "dlfs_page_faults_per_step": statistics.median(faults["dlfs"]),
            "torch_page_faults_per_step": statistics.median(faults["torch"])}


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory instead of giving large blocks back to the kernel
    (M_TRIM_THRESHOLD and M_MMAP_THRESHOLD, as MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_
    would): NumPy's large temporaries then reuse pages already mapped instead of faulting fresh
    zeroed pages in at every step, as PyTorch's caching allocator does. False off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) and libc.mallopt(M_MMAP_THRESHOLD, 1 << 25))
    except (OSError, AttributeError):
        return False


def step_split(repeats: int) -> dict:
    """Seconds per call, median over ``repeats`` turns, of each part of a dlfs step (one thread)."""
    with threadpoolctl.threadpool_limits(1):
        model = OneBlock(np.random.default_rng(0))
        # A learning rate so small that the weights stay at the start, with ordinary numbers.
        model.optimizer.learning_rate = 1e-12
        X, Y = batch()
        layer = model.attention
        e = model.embed(X)
        h = e + layer.forward(e)
        _, dscores = model.read_out(h, Y)
        N, T, V = dscores.shape
        dh = model.head.backward(dscores.reshape(N * T, V)).reshape(N, T, -1)
        layer.backward(dh)
        C = DIM
        x2 = e.reshape(N * T, C)
        qkv = (x2 @ layer.weights_qkv + layer.biases_qkv).reshape(N, T, 3 * C)
        q, k, v = (split_heads(qkv[..., i * C:(i + 1) * C], HEADS) for i in range(3))
        heads, weights = attention(q, k, v, causal_mask(T), layer.scale)
        dheads = split_heads(dh, HEADS)

        def input_projection_backward():
            # q, k, v stand in for their gradients: the same shapes, the same work.
            d = np.concatenate([merge_heads(g) for g in (q, k, v)], axis=-1).reshape(N * T, 3 * C)
            return x2.T @ d, d @ layer.weights_qkv.T

        parts = {
            "embeddings forward": lambda: model.embed(X),
            "embeddings backward": lambda: (model.tokens.backward(dh),
                                            model.positions.backward(dh.sum(axis=0, keepdims=True))),
            "attention layer forward": lambda: layer.forward(e),
            "attention layer backward": lambda: layer.backward(dh),
            "  input projection forward (x @ W_qkv)": lambda: x2 @ layer.weights_qkv + layer.biases_qkv,
            "  scaled dot-product attention forward": lambda: attention(q, k, v, causal_mask(T), layer.scale),
            "  scaled dot-product attention backward": lambda: attention_backward(dheads, q, k, v, weights,
                                                                                  layer.scale),
            "  input projection backward (merge, 2 products)": input_projection_backward,
            "read-out forward, softmax and loss": lambda: model.read_out(h, Y),
            "read-out backward": lambda: model.head.backward(dscores.reshape(N * T, V)),
            "Adam updates (4 layers)": lambda: [model.optimizer.update_params(x) for x in model.layers],
            "whole step": lambda: model.step(X, Y),
        }
        times = {name: [] for name in parts}
        for _ in range(repeats):
            for name, part in parts.items():
                start = time.perf_counter()
                part()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def torch_profile(repeats: int) -> dict:
    """PyTorch's step at one thread, its forward (with the loss), backward and update apart."""
    torch.set_num_threads(1)
    model = TorchOneBlock(OneBlock(np.random.default_rng(0)))
    model.optimizer.param_groups[0]["lr"] = 1e-12                # as in step_split
    X, Y = (torch.from_numpy(a) for a in batch())
    times = {"forward and loss": [], "backward": [], "Adam update": []}
    for _ in range(repeats):
        model.optimizer.zero_grad()
        start = time.perf_counter()
        e = model.tokens(X) + model.positions.weight[:X.shape[1]]
        h = e + model.attention(e, e, e, attn_mask=model.blocked, is_causal=True, need_weights=False)[0]
        loss = F.cross_entropy(model.head(h[:, HALF - 1:]).reshape(-1, DIGITS), Y[:, HALF - 1:].reshape(-1))
        middle = time.perf_counter()
        loss.backward()
        end = time.perf_counter()
        model.optimizer.step()
        times["forward and loss"].append(middle - start)
        times["backward"].append(end - middle)
        times["Adam update"].append(time.perf_counter() - end)
    return {name: statistics.median(t) for name, t in times.items()}


def measure(rounds: int, steps: int, repeats: int) -> dict:
    all_threads = len(os.sched_getaffinity(0))
    return {
        "model": f"reversal model of chapter 14: embeddings {DIGITS} tokens + {LENGTH} positions, width {DIM}, "
                 f"MultiHeadAttention {HEADS} heads causal, residual, Dense {DIM}-{DIGITS}, cross-entropy on "
                 f"{HALF} of {LENGTH} positions, Adam {LEARNING_RATE}, batch {BATCH}, float32",
        "sizes": {"half": HALF, "dim": DIM, "heads": HEADS, "batch": BATCH, "length": LENGTH},
        "loss_difference_first_steps": same_first_steps(),
        "one_thread": interleaved(1, rounds, steps),
        "all_threads": interleaved(all_threads, rounds, steps),
        "dlfs_step_split_s": step_split(repeats),
        "torch_step_split_s": torch_profile(repeats),
    }


def run(rounds: int, steps: int, repeats: int) -> dict:
    results = {
        "machine": {"processor": platform.processor() or platform.machine(),
                    "threads": len(os.sched_getaffinity(0)),
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "numpy": np.__version__, "torch": torch.__version__.split("+")[0], **numeric_platform()},
        "rounds": rounds, "steps_per_round": steps, "configs": {}, "target_ratio": TARGET,
    }
    for name, sizes in CONFIGS.items():
        configure(*sizes)
        results["configs"][name] = measure(rounds, steps, repeats)
    # Diagnosis, after everything else (it cannot be undone): the one-thread comparison again with
    # malloc keeping freed memory, to measure what the page faults of fresh temporaries cost.
    results["malloc_keeps_freed_memory"] = keep_freed_memory()
    if results["malloc_keeps_freed_memory"]:
        for name, sizes in CONFIGS.items():
            configure(*sizes)
            results["configs"][name]["one_thread_malloc_kept"] = interleaved(1, rounds, steps)
    configure(*CONFIGS["chapter"])
    median = results["configs"]["chapter"]["one_thread"]["ratio_median"]
    results["target"] = (f"{'PASS' if median <= TARGET else 'FAIL'}  dlfs/PyTorch training step of the chapter's "
                         f"model at one thread, median of {rounds} rounds: {median:.2f} (target <= {TARGET})")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per thread count")
    parser.add_argument("--steps", type=int, default=20, help="steps per side per round")
    parser.add_argument("--repeats", type=int, default=300, help="turns of the step split")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("attention.json"))
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    results = run(args.rounds, args.steps, args.repeats)
    machine = results["machine"]
    print(f"OpenBLAS kernel {machine['openblas_kernel']}, NumPy SIMD {' '.join(machine['numpy_simd'])}, "
          f"{machine['threads']} threads")
    for config in results["configs"].values():
        print(f"\n{config['model']}")
        print(f"losses of the first three steps differ by at most {config['loss_difference_first_steps']:.1e}")
        for key in ("one_thread", "all_threads", "one_thread_malloc_kept"):
            if key not in config:
                continue
            r = config[key]
            what = " (malloc keeps freed memory)" if key == "one_thread_malloc_kept" else ""
            print(f"{r['threads']} thread(s){what}: dlfs {r['dlfs_median_step_s'] * 1e3:.3f} ms/step, PyTorch "
                  f"{r['torch_median_step_s'] * 1e3:.3f} ms/step; ratio median {r['ratio_median']:.2f} "
                  f"(min {r['ratio_min']:.2f}, max {r['ratio_max']:.2f}); page faults per step: dlfs "
                  f"{r['dlfs_page_faults_per_step']:.0f}, PyTorch {r['torch_page_faults_per_step']:.0f}")
        whole = config["dlfs_step_split_s"]["whole step"]
        print("where a dlfs step goes (one thread, median per call):")
        for name, seconds in config["dlfs_step_split_s"].items():
            print(f"  {name:50s} {seconds * 1e3:7.3f} ms  {seconds / whole:6.1%}")
        print("PyTorch's step (one thread, median): " + ", ".join(
            f"{name} {seconds * 1e3:.3f} ms" for name, seconds in config["torch_step_split_s"].items()))
    print(results["target"])
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 1 if args.check and results["target"].startswith("FAIL") else 0


if __name__ == "__main__":
    raise SystemExit(main())
