"""A training step of chapter 12's MLP language model in dlfs against the same step in PyTorch.

The model is the chapter's: a context of 3 characters, ``Embedding(27, 10)``, ``Flatten``,
``Dense(30, 200)``, ``Tanh``, ``Dense(200, 27)``, ``Softmax`` with the cross-entropy, Adam at a
learning rate of 1e-3, float32, on (context, next character) pairs of the training names
(``dlfs.data.name_splits``), in mini-batches of 32, makemore's size (the chapter trains on 64). A dlfs step is what ``Model.fit`` runs for each batch
(``Model._train_step``: forward, loss, backward through the fused softmax and cross-entropy, and
Adam's update of every layer); the PyTorch step is ``nn.Embedding``, ``nn.Flatten``,
``nn.Linear``, ``nn.Tanh``, ``nn.Linear`` and ``F.cross_entropy`` on the scores, ``backward()``
and ``torch.optim.Adam(foreach=True)`` (the multi-tensor implementation, its faster one here),
after ``zero_grad(set_to_none=True)``. Both start from the same weights and see the same batches.

The two sides run in one process, interleaved: each round times ``STEPS`` steps of one side and
then of the other, the order alternating from round to round, after a short pause; the first
round is a warm-up. Each round gives one ratio, dlfs over PyTorch, and the result is their
median (with the smallest and largest, and the ratio of the two sides' fastest rounds). It is
measured twice: at one thread (``threadpoolctl`` for NumPy's BLAS, ``torch.set_num_threads``)
and at every thread the process may use. The target is a ratio of at most 0.6 at one thread.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u NPY_DISABLE_CPU_FEATURES \\
        .venv/bin/python benchmarks/language_model.py     # writes benchmarks/language_model.json
    .venv/bin/python benchmarks/language_model.py --rounds 5 --no-save   # a quick look
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
import threadpoolctl

from dlfs import Adam, CategoricalCrossEntropy, Dense, Flatten, Model, Softmax, Tanh
from dlfs.data import name_splits
from dlfs.text import CharVocabulary, Embedding, context_windows
from train_mlp import numeric_platform

CONTEXT, DIM, HIDDEN, BATCH_SIZE, LEARNING_RATE = 3, 10, 200, 32, 1e-3
STEPS = 200          # steps per side and round
TARGET = 0.6         # dlfs / PyTorch per step at one thread, median over the rounds
PAUSE_S = 0.05       # idle BLAS and OpenMP threads spin for a while after their last product
HERE = Path(__file__).resolve().parent


def data() -> tuple[np.ndarray, np.ndarray, int]:
    train, _, _ = name_splits()
    vocab = CharVocabulary(train)
    X, y = context_windows(train, vocab, CONTEXT)
    return X, y, len(vocab)


def dlfs_model(vocab_size: int, seed: int = 0) -> Model:
    return Model([Embedding(vocab_size, DIM, rng=seed), Flatten(),
                  Dense(CONTEXT * DIM, HIDDEN, rng=seed + 1), Tanh(),
                  Dense(HIDDEN, vocab_size, rng=seed + 2), Softmax()],
                 loss=CategoricalCrossEntropy(), optimizer=Adam(learning_rate=LEARNING_RATE))


def torch_side(model: Model):
    """The same network in PyTorch, from the dlfs model's starting weights; (step, modules)."""
    import torch
    from torch import nn

    embedding, first, second = model.layers[0], model.layers[2], model.layers[4]
    net = nn.Sequential(nn.Embedding(embedding.vocab_size, DIM), nn.Flatten(),
                        nn.Linear(CONTEXT * DIM, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, embedding.vocab_size))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(embedding.weights))
        for linear, dense in ((net[2], first), (net[4], second)):
            linear.weight.copy_(torch.from_numpy(dense.weights.T.copy()))
            linear.bias.copy_(torch.from_numpy(dense.biases.ravel()))
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, foreach=True)

    def step(X_batch: np.ndarray, y_batch: np.ndarray) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(X_batch)), torch.from_numpy(y_batch))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, net


def batches(X: np.ndarray, y: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``STEPS`` batches, drawn once: every round of both sides trains on them."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(X), size=(STEPS, BATCH_SIZE))
    return [(X[r], y[r]) for r in rows]


def measure(X: np.ndarray, y: np.ndarray, vocab_size: int, rounds: int, threads: int) -> dict:
    """Seconds per step of each side, ``rounds`` interleaved rounds after a warm-up, at ``threads``."""
    import torch

    torch.set_num_threads(threads)
    with threadpoolctl.threadpool_limits(limits=threads):
        model = dlfs_model(vocab_size)
        torch_step, _ = torch_side(model)
        model._updates = 0                     # as fit sets it before the first step

        def dlfs_step(X_batch, y_batch):
            return model._train_step(X_batch, y_batch)[1]

        steps = {"dlfs": dlfs_step, "torch": torch_step}
        work = batches(X, y)
        times: dict[str, list[float]] = {"dlfs": [], "torch": []}
        first_losses = {name: step(*work[0]) for name, step in steps.items()}
        for round_number in range(rounds + 1):
            order = ("dlfs", "torch") if round_number % 2 == 0 else ("torch", "dlfs")
            for name in order:
                time.sleep(PAUSE_S)
                start = time.perf_counter()
                for X_batch, y_batch in work:
                    steps[name](X_batch, y_batch)
                if round_number:               # round 0 is the warm-up
                    times[name].append((time.perf_counter() - start) / len(work))
    ratios = [a / b for a, b in zip(times["dlfs"], times["torch"])]
    return {"threads": threads, "dlfs_step_s": statistics.median(times["dlfs"]),
            "torch_step_s": statistics.median(times["torch"]),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "ratio_fastest": min(times["dlfs"]) / min(times["torch"]),
            "first_loss": first_losses, "ratios": ratios, "step_seconds": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per thread count (default 15)")
    parser.add_argument("--no-save", action="store_true", help="print only, do not write the JSON file")
    args = parser.parse_args()
    import torch

    X, y, vocab_size = data()
    every = len(os.sched_getaffinity(0))
    results = {
        "machine": {"processor": platform.processor() or platform.machine(), "threads": every,
                    "numpy": np.__version__, "torch": torch.__version__.split("+")[0], **numeric_platform()},
        "network": f"Embedding({vocab_size}, {DIM}), Flatten, Dense({CONTEXT * DIM}, {HIDDEN}), Tanh, "
                   f"Dense({HIDDEN}, {vocab_size}), Softmax + cross-entropy, Adam({LEARNING_RATE:g}), float32",
        "batch_size": BATCH_SIZE, "steps_per_round": STEPS, "rounds": args.rounds,
        "runs": {str(threads): measure(X, y, vocab_size, args.rounds, threads)
                 for threads in sorted({1, every})},
        "target_ratio": TARGET,
    }
    one = results["runs"]["1"]
    results["target"] = "met" if one["ratio_median"] <= TARGET else "missed"
    for threads, run in results["runs"].items():
        print(f"{threads} thread(s): dlfs {run['dlfs_step_s'] * 1e6:.0f} us a step, PyTorch "
              f"{run['torch_step_s'] * 1e6:.0f} us; ratio {run['ratio_median']:.2f} (median of "
              f"{len(run['ratios'])} rounds, {run['ratio_min']:.2f} to {run['ratio_max']:.2f}; "
              f"fastest against fastest {run['ratio_fastest']:.2f})")
    print(f"target: at most {TARGET}x PyTorch at one thread: {results['target']}")
    if not args.no_save:
        path = HERE / "language_model.json"
        path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
