"""Train the normalisation chapter's CNN with dlfs and with PyTorch (CPU) in one process, and compare.

The network is chapter 10's: standardised inputs, conv16-BN-ReLU-pool, conv32-BN-ReLU-pool,
Flatten, Dense 64, ReLU, Dense 10, softmax + cross-entropy (3 x 3 kernels with padding 1,
2 x 2 max-pooling), Adam with learning rate 0.001 (PyTorch's with ``foreach=True``, as in
``train_mlp.py``), batches of 64, float32, on the 3,200 training digits of the book's one split,
``dlfs.data.digit_splits()`` (no validation or test digit is touched). It runs at 1 thread (threadpoolctl
limits NumPy's BLAS, ``torch.set_num_threads`` PyTorch) and at the machine's thread count, and
prints and saves to JSON, for each:

- seconds per epoch of dlfs and of PyTorch (medians over the timed epochs); the dlfs/PyTorch
  ratio two ways, side by side: the median of the epoch-by-epoch ratios, by which the targets are
  judged, and fastest epoch against fastest epoch; and the spread of the epoch times;
- where dlfs's time goes: one more epoch with every layer's forward and backward timed, the
  convolutions split into im2col, col2im and the rest (their matrix products, the bias, the
  checks), the optimizer's updates, and what is left (batching, the loss, the Python of ``fit``).

Both sides are timed interleaved, epoch by epoch, with the ``Interleave`` callback and the
conventions of ``train_mlp.py`` (a pause before each side; both statistics of the ratio).

    python benchmarks/train_cnn.py                      # the full run (about 4 minutes on 2 cores)
    python benchmarks/train_cnn.py --epochs 2 --rows 1000   # a quick look

Run it on the machine's best numeric platform, not the book's pinned one:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u NPY_DISABLE_CPU_FEATURES python benchmarks/train_cnn.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import threadpoolctl

import dlfs.conv
from dlfs import (Adam, BatchNorm, CategoricalCrossEntropy, Conv2D, Dense, Flatten, MaxPool2D, Model, ReLU,
                  Softmax, Standardize)
from dlfs.data import digit_splits
from train_mlp import PAUSE_S, Interleave, numeric_platform, report, seconds, torch_epoch

BATCH_SIZE = 64
LEARNING_RATE = 0.001
TARGETS = {"1": 1.5, "all": 2.0}   # dlfs/PyTorch, median of the epoch ratios: at 1 thread, at all
SEED = 0


def load_data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The book's 3,200 training digits (``digit_splits()``) as images (N, 1, 28, 28) float32,
    and their labels; the first ``rows`` of them if fewer are asked for."""
    (X_train, y_train), _, _ = digit_splits()
    return X_train.reshape(-1, 1, 28, 28)[:rows], y_train[:rows]


def dlfs_model(X: np.ndarray) -> Model:
    """Chapter 10's network, its Standardize fitted on X."""
    rng = np.random.default_rng(SEED)
    layers = [Standardize(1).fit(X),
              Conv2D(1, 16, 3, padding=1, rng=rng), BatchNorm(16), ReLU(), MaxPool2D(2),
              Conv2D(16, 32, 3, padding=1, rng=rng), BatchNorm(32), ReLU(), MaxPool2D(2),
              Flatten(), Dense(32 * 7 * 7, 64, init="he", rng=rng), ReLU(), Dense(64, 10, rng=rng), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(learning_rate=LEARNING_RATE))


def torch_side(X: np.ndarray, y: np.ndarray):
    """The same network, data, optimizer and batch size in PyTorch: one_epoch() trains one epoch."""
    import torch
    from torch_reference import network

    torch.manual_seed(SEED)
    net = network("cnn_bn", X)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, foreach=True)
    return torch_epoch(net, optimizer, X, y, BATCH_SIZE, np.random.default_rng(SEED))


class Profile:
    """Seconds spent in each part of a dlfs training run, accumulated while ``installed``.

    Every layer's forward and backward are wrapped (on the instance, so nothing else is
    touched), as are ``im2col``/``col2im`` in ``dlfs.conv`` and the optimizer's
    ``update_params``. The convolution's own time is reported less its im2col or col2im, which
    leaves its matrix products, the bias and its checks.
    """

    def __init__(self):
        self.seconds = defaultdict(float)

    def _timed(self, key: str, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - start
        return wrapper

    @contextmanager
    def installed(self, model: Model):
        names = {"im2col": dlfs.conv.im2col, "col2im": dlfs.conv.col2im}
        for name, function in names.items():
            setattr(dlfs.conv, name, self._timed(name, function))
        for layer in model.layers:
            kind = type(layer).__name__
            layer.forward = self._timed(f"{kind} forward", layer.forward)
            layer.backward = self._timed(f"{kind} backward", layer.backward)
        model.optimizer.update_params = self._timed("Adam updates", model.optimizer.update_params)
        try:
            yield self
        finally:
            for name, function in names.items():
                setattr(dlfs.conv, name, function)
            for layer in model.layers:
                del layer.forward, layer.backward
            del model.optimizer.update_params

    def breakdown(self, epoch_seconds: float) -> dict[str, float]:
        """Seconds per part of an epoch of ``epoch_seconds``, the convolutions' im2col/col2im taken
        out of their forward/backward; "the rest" is whatever no wrapper saw."""
        parts = dict(self.seconds)
        parts["Conv2D forward"] -= parts["im2col"]
        parts["Conv2D backward"] -= parts.get("col2im", 0.0)
        parts = {("Conv2D forward: products, bias, checks" if key == "Conv2D forward" else
                  "Conv2D backward: products, sums, checks" if key == "Conv2D backward" else key): value
                 for key, value in sorted(parts.items(), key=lambda item: -item[1])}
        parts["the rest (batching, loss, fit)"] = epoch_seconds - sum(parts.values())
        return parts


def profile_epoch(X, y) -> dict:
    """One epoch of a fresh model, after a warm-up epoch, with every part timed."""
    model = dlfs_model(X)
    model.fit(X, y, epochs=1, batch_size=BATCH_SIZE, rng=SEED, verbose=0)
    profile = Profile()
    with profile.installed(model):
        epoch = seconds(lambda: model.fit(X, y, epochs=1, batch_size=BATCH_SIZE, rng=SEED + 1, verbose=0))
    parts = profile.breakdown(epoch)
    return {"epoch_s": epoch, "seconds": parts, "share": {key: value / epoch for key, value in parts.items()}}


def measure(X, y, epochs: int, threads: int) -> dict:
    """epochs + 1 interleaved epochs of each side at ``threads`` threads, the first (a warm-up)
    left out; then the profile of one more dlfs epoch."""
    import torch

    with threadpoolctl.threadpool_limits(threads):
        torch.set_num_threads(threads)
        model = dlfs_model(X)
        timer = Interleave({"torch": torch_side(X, y)})
        model.fit(X, y, epochs=epochs + 1, batch_size=BATCH_SIZE, rng=SEED, verbose=0, callbacks=[timer])
        time.sleep(PAUSE_S)
        profile = profile_epoch(X, y)
    timed = {name: times[1:] for name, times in timer.times.items()}
    return {
        "threads": threads,
        "dlfs_epoch_s": statistics.median(timed["dlfs"]),
        "torch_epoch_s": statistics.median(timed["torch"]),
        "ratio_torch": min(timed["dlfs"]) / min(timed["torch"]),
        "median_ratio": statistics.median(a / b for a, b in zip(timed["dlfs"], timed["torch"])),
        "spread": {name: {"min": min(times), "max": max(times),
                          "max_over_min": max(times) / min(times)} for name, times in timed.items()},
        "epoch_seconds": timed,
        "dlfs_profile": profile,
    }


def run(rows: int, epochs: int) -> dict:
    import torch

    threads = len(os.sched_getaffinity(0))
    X, y = load_data(rows)
    return {
        "machine": {"processor": platform.processor() or platform.machine(), "threads": threads,
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "numpy": np.__version__, "torch": torch.__version__.split("+")[0], **numeric_platform()},
        "network": "Standardize, conv16-BN-ReLU-pool, conv32-BN-ReLU-pool, Flatten, fc64-ReLU, fc10, softmax",
        "rows_per_epoch": len(X), "timed_epochs": epochs, "batch_size": BATCH_SIZE,
        "threads": {str(n): measure(X, y, epochs, n) for n in sorted({1, threads})},
    }


def format_report(results: dict) -> str:
    lines = [f"{'threads':>7} {'dlfs s/ep':>10} {'torch s/ep':>10} {'dlfs/torch: median':>19} {'fastest':>8} "
             f"{'dlfs spread':>11} {'torch spread':>12}"]
    lines.append("-" * len(lines[0]))
    for n, r in results["threads"].items():
        lines.append(f"{n:>7} {r['dlfs_epoch_s']:>10.3f} {r['torch_epoch_s']:>10.3f} {r['median_ratio']:>19.2f} "
                     f"{r['ratio_torch']:>8.2f} {r['spread']['dlfs']['max_over_min']:>11.2f} "
                     f"{r['spread']['torch']['max_over_min']:>12.2f}")
    lines.append(f"seconds: median of {results['timed_epochs']} epochs; dlfs/torch median: of the epoch-by-epoch "
                 "ratios (the targets' statistic); fastest: fastest epoch against fastest epoch; "
                 "spread: slowest epoch / fastest")
    for n, r in results["threads"].items():
        profile = r["dlfs_profile"]
        lines.append(f"\nwhere dlfs's time goes at {n} thread(s), one epoch of {profile['epoch_s']:.3f} s:")
        lines += [f"  {key:42s} {value:7.3f} s  {profile['share'][key]:6.1%}" for key, value in profile["seconds"].items()]
    return "\n".join(lines)


def check_targets(results: dict) -> list[str]:
    """PASS or FAIL per thread count, judged by the median of the epoch-by-epoch ratios."""
    lines = []
    for n, r in results["threads"].items():
        limit = TARGETS["1" if n == "1" else "all"]
        lines.append(f"{'PASS' if r['median_ratio'] <= limit else 'FAIL'}  dlfs/PyTorch at {n} thread(s): "
                     f"median {r['median_ratio']:.2f} (fastest {r['ratio_torch']:.2f}; target <= {limit})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3200, help="training rows per epoch (at most 3,200)")
    parser.add_argument("--epochs", type=int, default=6, help="timed epochs per side and thread count")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("cnn_results.json"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    results = run(args.rows, args.epochs)
    return report(results, format_report(results), check_targets(results), args.output, args.check)


if __name__ == "__main__":
    raise SystemExit(main())
