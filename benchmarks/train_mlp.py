"""Train the seed's MLP with dlfs and with PyTorch (CPU) in one process, and compare.

For each hidden width (784-W-64-10, ReLU, softmax + cross-entropy, SGD with learning rate 0.1,
batch 128, float32), prints and saves to JSON:

- seconds per epoch for dlfs and PyTorch (median over the timed epochs) and their ratio;
- the ratio of dlfs to a GEMM-only bound: the epoch's matrix products timed on their own;
- the peak memory that each dlfs epoch allocates (tracemalloc), to show it does not grow;
- inference throughput (samples per second) for both.

    python benchmarks/train_mlp.py                 # the full run (a few minutes)
    python benchmarks/train_mlp.py --rows 2000 --epochs 2 --widths 128   # a quick look

Ratios, not seconds, are what carry over between machines: both sides run here, now, with the
same number of threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

from dlfs import SGD, CategoricalCrossEntropy, Dense, Model, ReLU, Softmax
from dlfs.model import Callback

BATCH_SIZE = 128
LEARNING_RATE = 0.1
TARGETS = {  # (what, width, limit): the ratio must be at most the limit
    "dlfs/PyTorch at width 128": ("ratio_torch", 128, 0.85),
    "dlfs/PyTorch at width 2048": ("ratio_torch", 2048, 1.05),
    "dlfs/GEMM bound at width 128": ("ratio_gemm", 128, 1.4),
}


def make_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs (rows, 784) in [0, 1) and labels (rows,): the timing does not depend on them."""
    rng = np.random.default_rng(seed)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows)


def layer_sizes(width: int) -> list[tuple[int, int]]:
    return [(784, width), (width, 64), (64, 10)]


def dlfs_model(width: int, seed: int = 0) -> Model:
    layers = []
    for i, (n_in, n_out) in enumerate(layer_sizes(width)):
        layers += [Dense(n_in, n_out, init="he", rng=seed + i), ReLU()]
    layers[-1] = Softmax()
    return Model(layers, CategoricalCrossEntropy(), SGD(learning_rate=LEARNING_RATE))


class EpochTimer(Callback):
    """Records the time at the end of every epoch of ``Model.fit``."""

    def on_train_begin(self, model) -> None:
        self.ends = []

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        self.ends.append(time.perf_counter())
        return False


def time_dlfs(X, y, width: int, epochs: int) -> dict:
    """Seconds per epoch, peak memory per epoch (bytes) and inference samples per second.

    One ``fit`` of epochs + 1 epochs; the first (a warm-up, which also holds fit's one-off
    checks of the whole data set) is left out of the timing.
    """
    model = dlfs_model(width)
    timer = EpochTimer()
    model.fit(X, y, epochs=epochs + 1, batch_size=BATCH_SIZE, seed=0, verbose=0, callbacks=[timer])
    seconds = np.diff(timer.ends).tolist()
    peaks = []  # measured apart from the timing: tracing allocations slows them down
    for epoch in range(3):
        tracemalloc.start()
        model.fit(X, y, epochs=1, batch_size=BATCH_SIZE, seed=epoch, verbose=0)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    start = time.perf_counter()
    model.predict(X, batch_size=1024)
    throughput = len(X) / (time.perf_counter() - start)
    return {"epoch_s": statistics.median(seconds), "peak_bytes": peaks, "samples_per_s": throughput}


def time_torch(X, y, width: int, epochs: int) -> dict:
    """The same network, data, optimizer and batch size in PyTorch."""
    import torch

    torch.manual_seed(0)
    sizes = layer_sizes(width)
    modules = []
    for n_in, n_out in sizes:
        modules += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules[:-1])
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)

    def epoch() -> None:
        order = torch.from_numpy(rng.permutation(len(X)))
        for start in range(0, len(X), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(X_t[rows]), y_t[rows])
            loss.backward()
            optimizer.step()

    epoch()  # warm-up
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        epoch()
        seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        start = time.perf_counter()
        for first in range(0, len(X), 1024):
            torch.softmax(net(X_t[first:first + 1024]), dim=1)
        throughput = len(X) / (time.perf_counter() - start)
    return {"epoch_s": statistics.median(seconds), "samples_per_s": throughput}


def time_gemm_bound(rows: int, width: int, repeats: int) -> float:
    """The GEMM bound: an epoch's matrix-product FLOPs at the rate BLAS reaches on them, in seconds.

    The FLOPs are the usual count for training, 6 per weight and example: per batch and layer the
    forward product X W, the weight gradient X^T G and the input gradient G W^T, 2 N d n each.
    The rate is measured here, now, by timing exactly those products (best of ``repeats``).
    """
    rng = np.random.default_rng(0)
    sizes = [min(BATCH_SIZE, rows - start) for start in range(0, rows, BATCH_SIZE)]
    total = 0.0
    for n, count in Counter(sizes).items():
        operands = [(rng.random((n, d), dtype=np.float32), rng.random((d, m), dtype=np.float32),
                     rng.random((n, m), dtype=np.float32)) for d, m in layer_sizes(width)]
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for X, W, G in operands:
                X @ W
                X.T @ G
                G @ W.T
            best = min(best, time.perf_counter() - start)
        total += best * count
    return total


def run(rows: int, epochs: int, widths: list[int]) -> dict:
    import torch

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    X, y = make_data(rows)
    results = {
        "machine": {"processor": platform.processor() or platform.machine(), "threads": threads,
                    "numpy": np.__version__, "torch": torch.__version__.split("+")[0]},
        "rows_per_epoch": rows, "timed_epochs": epochs, "batch_size": BATCH_SIZE, "widths": {},
    }
    for width in widths:
        ours = time_dlfs(X, y, width, epochs)
        theirs = time_torch(X, y, width, epochs)
        gemm = time_gemm_bound(rows, width, repeats=max(3, epochs))
        results["widths"][str(width)] = {
            "dlfs_epoch_s": ours["epoch_s"],
            "torch_epoch_s": theirs["epoch_s"],
            "gemm_bound_epoch_s": gemm,
            "ratio_torch": ours["epoch_s"] / theirs["epoch_s"],
            "ratio_gemm": ours["epoch_s"] / gemm,
            "dlfs_peak_mib_per_epoch": [peak / 2**20 for peak in ours["peak_bytes"]],
            "dlfs_samples_per_s": ours["samples_per_s"],
            "torch_samples_per_s": theirs["samples_per_s"],
        }
    return results


def format_table(results: dict) -> str:
    header = (f"{'width':>6} {'dlfs s/ep':>10} {'torch s/ep':>10} {'dlfs/torch':>10} {'dlfs/GEMM':>10} "
              f"{'peak MiB':>9} {'growth':>7} {'dlfs inf/s':>11} {'torch inf/s':>11}")
    lines = [header, "-" * len(header)]
    for width, r in results["widths"].items():
        peaks = r["dlfs_peak_mib_per_epoch"]
        lines.append(
            f"{width:>6} {r['dlfs_epoch_s']:>10.4f} {r['torch_epoch_s']:>10.4f} {r['ratio_torch']:>10.2f} "
            f"{r['ratio_gemm']:>10.2f} {max(peaks):>9.1f} {peaks[-1] / peaks[0]:>7.2f} "
            f"{r['dlfs_samples_per_s']:>11,.0f} {r['torch_samples_per_s']:>11,.0f}"
        )
    return "\n".join(lines)


def check_targets(results: dict) -> list[str]:
    """One line per target that applies to the widths measured: PASS or FAIL with the value."""
    lines = []
    for label, (key, width, limit) in TARGETS.items():
        if str(width) in results["widths"]:
            value = results["widths"][str(width)][key]
            lines.append(f"{'PASS' if value <= limit else 'FAIL'}  {label}: {value:.2f} (target <= {limit})")
    for width, r in results["widths"].items():
        peaks = r["dlfs_peak_mib_per_epoch"]
        flat = max(peaks[1:], default=peaks[0]) <= peaks[0] * 1.05
        lines.append(f"{'PASS' if flat else 'FAIL'}  peak memory flat across epochs at width {width}: "
                     f"{peaks[0]:.1f} -> {peaks[-1]:.1f} MiB")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="training rows per epoch")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per side (median taken)")
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("results.json"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    results = run(args.rows, args.epochs, args.widths)
    print(format_table(results))
    verdicts = check_targets(results)
    print("\n".join(verdicts))
    results["targets"] = verdicts
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 1 if args.check and any(v.startswith("FAIL") for v in verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
