"""An epoch of the seed MLP trained through dlfs.autograd against the same epoch through Model.fit.

The network is 784-128-10 with ReLU, softmax cross-entropy and SGD (learning rate 0.1) at batch
128, float32, on the 5,000 MNIST digits of ``dlfs.load_digits_5k()``. One side is ``Model.fit``
with the hand-written layers of chapters 1-6; the other writes the same forward pass with
``Tensor`` operations (chapters/11-autograd.md), lets ``backward()`` find the gradients, and
updates through ``Parameters`` and the same ``dlfs.SGD``. Both start from the same weights and
see the same batches in the same order (the rows are shuffled once, then every epoch of both
sides takes them in that order, ``fit(shuffle=False)``), so they compute the same training (their
final weights are compared); both compute the epoch's mean loss and accuracy, as ``fit`` does.

The two sides alternate epoch by epoch (``train_mlp.Interleave``: ``fit`` runs its epochs and a
callback runs one autograd epoch after each), with a pause before each side; the first round is
a warm-up. Each round gives one ratio, autograd over hand-written; the JSON file keeps every
epoch's time and every ratio, their median, smallest and largest, and the ratio of the two
sides' fastest epochs.

Then one training step of the autograd side (forward, loss and backward on one batch; the update
is the same on both sides and left out) is split into its parts, the three timed in turn many
times: the whole step; the same arithmetic written directly in NumPy, the arrays autograd
computes without a Tensor, closure or graph (``numpy_step``, whose gradients are checked against
autograd's); and the topological sort of the step's graph alone. The step minus the NumPy work is
autograd's bookkeeping: creating the nodes, sorting and walking the graph, calling the closures,
copying each first gradient share.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u NPY_DISABLE_CPU_FEATURES \\
        .venv/bin/python benchmarks/autograd.py            # writes benchmarks/autograd.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from dlfs import SGD, CategoricalCrossEntropy, Dense, Model, Parameters, ReLU, Softmax, Tensor, load_digits_5k
from dlfs.autograd import _topological_order
from train_mlp import Interleave, numeric_platform

BATCH_SIZE = 128
LEARNING_RATE = 0.1
TARGET = 1.1  # autograd / hand-written, median over the rounds
SPLIT_REPEATS = 300


def hand_written_model(seed: int = 0) -> Model:
    layers = [Dense(784, 128, init="he", rng=seed), ReLU(), Dense(128, 10, rng=seed + 1), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), SGD(learning_rate=LEARNING_RATE))


def cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean softmax cross-entropy through the log-softmax, as in chapters/11-autograd.md."""
    shifted = logits - logits.data.max(axis=1, keepdims=True)
    log_probs = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
    return -log_probs[np.arange(len(labels)), labels].mean()


class AutogradTrainer:
    """The same network as tensors, copied from the model's starting weights; ``epoch()`` trains one
    epoch on the rows in their order, as ``Model.fit(shuffle=False)`` does."""

    def __init__(self, model: Model, X: np.ndarray, y: np.ndarray):
        first, second = model.layers[0], model.layers[2]
        self.tensors = {name: Tensor(array.copy(), requires_grad=True) for name, array in (
            ("W1", first.weights), ("b1", first.biases), ("W2", second.weights), ("b2", second.biases))}
        self.params = Parameters(**self.tensors)
        self.optimizer = SGD(learning_rate=LEARNING_RATE)
        self.X, self.y = X, y
        self.history: list[tuple[float, float]] = []

    def loss(self, X_batch: np.ndarray, y_batch: np.ndarray) -> tuple[Tensor, Tensor]:
        t = self.tensors
        logits = (Tensor(X_batch) @ t["W1"] + t["b1"]).relu() @ t["W2"] + t["b2"]
        return cross_entropy(logits, y_batch), logits

    def epoch(self) -> None:
        total_loss = correct = 0.0
        for start in range(0, len(self.X), BATCH_SIZE):
            rows = slice(start, start + BATCH_SIZE)
            y_batch = self.y[rows]
            self.params.zero_grad()
            loss, logits = self.loss(self.X[rows], y_batch)
            loss.backward()
            self.optimizer.update_params(self.params)
            total_loss += loss.item() * len(y_batch)
            correct += np.count_nonzero(logits.data.argmax(axis=1) == y_batch)
        self.history.append((total_loss / len(self.X), correct / len(self.X)))


def numpy_step(tensors: dict[str, Tensor], X_batch: np.ndarray, y_batch: np.ndarray) -> tuple[float, dict]:
    """The loss and the gradients of one step, as the NumPy calls autograd makes for ``AutogradTrainer.loss``
    and its backward sweep, in the same order and unfused, but with no Tensor, closure or graph."""
    W1, b1, W2, b2 = (tensors[name].data for name in ("W1", "b1", "W2", "b2"))
    rows, n = np.arange(len(y_batch)), len(y_batch)
    pre = X_batch @ W1 + b1
    hidden = np.maximum(pre, 0)
    logits = hidden @ W2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(sums)
    loss = -log_probs[rows, y_batch].sum() / n
    g_picked = np.full(n, -1 / n, dtype=logits.dtype)                 # through the negation and the mean
    g_log_probs = np.zeros_like(log_probs)
    np.add.at(g_log_probs, (rows, y_batch), g_picked)
    g_sums = -g_log_probs.sum(axis=1, keepdims=True) / sums          # through the log
    g_logits = g_log_probs + np.broadcast_to(g_sums, exps.shape) * exps
    g_pre = (g_logits @ W2.T) * (pre > 0)
    grads = {"W1": X_batch.T @ g_pre, "b1": g_pre.sum(axis=0, keepdims=True),
             "W2": hidden.T @ g_logits, "b2": g_logits.sum(axis=0, keepdims=True)}
    return float(loss), grads


def step_split(trainer: AutogradTrainer, repeats: int = SPLIT_REPEATS) -> dict:
    """Seconds per step, fastest and median over ``repeats`` turns: the whole autograd step (forward,
    loss, backward), the same arithmetic in NumPy, and the topological sort of the step's graph."""
    X_batch, y_batch = trainer.X[:BATCH_SIZE], trainer.y[:BATCH_SIZE]

    def autograd_step():
        trainer.params.zero_grad()
        loss, _ = trainer.loss(X_batch, y_batch)
        loss.backward()
        return loss

    graph = autograd_step()
    _, grads = numpy_step(trainer.tensors, X_batch, y_batch)
    for name, grad in grads.items():                  # the NumPy version does the same arithmetic
        np.testing.assert_allclose(grad, trainer.tensors[name].grad, rtol=1e-4, atol=1e-6)
    parts = {"autograd_step_s": autograd_step, "numpy_step_s": lambda: numpy_step(trainer.tensors, X_batch, y_batch),
             "sort_s": lambda: _topological_order(graph)}
    times = {name: [] for name in parts}
    for _ in range(repeats):
        for name, part in parts.items():
            start = time.perf_counter()
            part()
            times[name].append(time.perf_counter() - start)
    trainer.params.zero_grad()
    return {"batch_size": BATCH_SIZE, "repeats": repeats,
            **{name: {"fastest": min(t), "median": statistics.median(t)} for name, t in times.items()}}


def weights_difference(model: Model, trainer: AutogradTrainer) -> float:
    """The largest relative difference |a - b| / |a| (Euclidean norms) between the two sides' weights."""
    pairs = [(model.layers[0].weights, "W1"), (model.layers[0].biases, "b1"),
             (model.layers[2].weights, "W2"), (model.layers[2].biases, "b2")]
    return max(float(np.linalg.norm(own - trainer.tensors[name].data) / np.linalg.norm(own)) for own, name in pairs)


def run(rounds: int) -> dict:
    X, y = load_digits_5k()
    shuffled = np.random.default_rng(0).permutation(len(X))      # once: the digits come sorted by class
    X, y = X[shuffled], y[shuffled]
    model = hand_written_model()
    trainer = AutogradTrainer(model, X, y)
    timer = Interleave({"autograd": trainer.epoch})
    model.fit(X, y, epochs=rounds + 1, batch_size=BATCH_SIZE, shuffle=False, verbose=0, callbacks=[timer])
    hand, auto = timer.times["dlfs"][1:], timer.times["autograd"][1:]     # round 0 is a warm-up
    ratios = [a / h for a, h in zip(auto, hand)]
    median = statistics.median(ratios)
    nodes = len(_topological_order(trainer.loss(X[:BATCH_SIZE], y[:BATCH_SIZE])[0]))
    split = step_split(trainer)            # after the epochs: the weights are the trained ones
    return {
        "machine": {"processor": platform.processor() or platform.machine(),
                    "threads": len(os.sched_getaffinity(0)),
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "numpy": np.__version__, **numeric_platform()},
        "network": "784-128-10, ReLU, softmax cross-entropy, SGD 0.1, float32",
        "rows": len(X), "batch_size": BATCH_SIZE, "rounds": rounds, "epochs": rounds + 1,
        "hand_written_epoch_s": hand, "autograd_epoch_s": auto,
        "ratios": ratios, "ratio_median": median, "ratio_min": min(ratios), "ratio_max": max(ratios),
        "ratio_fastest": min(auto) / min(hand),
        "nodes_per_step": nodes,
        "step_split": split,
        "weights_relative_difference": weights_difference(model, trainer),
        "final_epoch": {"hand_written_loss": model.history["loss"][-1], "autograd_loss": trainer.history[-1][0],
                        "hand_written_accuracy": model.history["accuracy"][-1],
                        "autograd_accuracy": trainer.history[-1][1]},
        "target_ratio": TARGET,
        "target": f"{'PASS' if median <= TARGET else 'FAIL'}  autograd/hand-written epoch, median of "
                  f"{rounds} rounds: {median:.2f} (target <= {TARGET})",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (one epoch of each side per round)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("autograd.json"))
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    results = run(args.rounds)
    machine = results["machine"]
    print(f"OpenBLAS kernel {machine['openblas_kernel']}, NumPy SIMD {' '.join(machine['numpy_simd'])}, "
          f"{machine['threads']} threads")
    for side in ("hand_written", "autograd"):
        print(f"{side:12s} s/epoch: " + " ".join(f"{t:.4f}" for t in results[f"{side}_epoch_s"]))
    print("ratios: " + " ".join(f"{r:.3f}" for r in results["ratios"]))
    print(f"median {results['ratio_median']:.3f}, min {results['ratio_min']:.3f}, max {results['ratio_max']:.3f}, "
          f"fastest/fastest {results['ratio_fastest']:.3f}; weights differ by "
          f"{results['weights_relative_difference']:.1e}")
    split = results["step_split"]
    print("one step, fastest of {repeats}: autograd {a:.2e} s, the same NumPy work {n:.2e} s, sort {s:.2e} s".format(
        repeats=split["repeats"], a=split["autograd_step_s"]["fastest"], n=split["numpy_step_s"]["fastest"],
        s=split["sort_s"]["fastest"]))
    print(results["target"])
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 1 if args.check and results["target"].startswith("FAIL") else 0


if __name__ == "__main__":
    raise SystemExit(main())
