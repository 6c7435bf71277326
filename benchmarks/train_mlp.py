"""Train the seed's MLP with dlfs and with PyTorch (CPU) in one process, and compare.

For each hidden width (784-W-64-10, ReLU, softmax + cross-entropy, SGD with learning rate 0.1,
batch 128, float32), prints and saves to JSON:

- seconds per epoch for dlfs and PyTorch (medians over the timed epochs) and their ratio;
- the ratio of dlfs to the GEMM bound: the epoch's matrix products (three per layer, the usual
  count of a training step's FLOPs), timed on their own; the same ratio against the strict bound,
  which leaves out the first layer's input gradient (nobody computes it); and the ratio of a bare
  NumPy loop with no checks to the GEMM bound, for reference;
- the peak memory that each dlfs epoch allocates (tracemalloc), to show it does not grow;
- inference throughput (samples per second) for both;
- the seed's hand-written loop (``model.forward``, ``model.loss.calculate``, ``model.backward``,
  ``optimizer.update_params(layer)``, batch by batch) against the bare NumPy loop, and ``fit``
  against that seed loop;
- at width 128, ``fit`` with Adam against ``torch.optim.Adam`` (``foreach=True``: the multi-tensor
  implementation, PyTorch's default on GPUs and its faster one here; on a CPU its default is the
  for-loop one), interleaved the same way.

All sides are timed interleaved, epoch by epoch, so that they share the machine's conditions,
with a pause before each so that the idle threads of the previous side have stopped spinning.
Seconds are medians. Every ratio is reported two ways, side by side: the **median** of the
epoch-by-epoch ratios (each epoch of one side against the rival's epoch beside it), by which the
targets are judged, and **fastest** against fastest epoch. On a shared virtual machine a busy
neighbour only ever adds time, and it can take the second core away for a whole epoch, so epoch
times spread by up to 1.3x; the median of paired ratios is robust to a few such epochs, and the
fastest epochs show what each side costs on a quiet machine. The JSON file also keeps every
epoch's time.

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
from pathlib import Path

import numpy as np

from dlfs import SGD, Adam, CategoricalCrossEntropy, Dense, Model, ReLU, Softmax
from dlfs.model import Callback

BATCH_SIZE = 128
LEARNING_RATE = 0.1
ADAM_LEARNING_RATE = 0.001
ADAM_WIDTH = 128
TARGETS = {  # (what, width, limit): the median ratio must be at most the limit
    "dlfs/PyTorch at width 128": ("ratio_torch", 128, 0.85),
    "dlfs/PyTorch at width 2048": ("ratio_torch", 2048, 1.05),
    "dlfs/GEMM bound at width 128": ("ratio_gemm", 128, 1.4),
    "seed loop/bare NumPy at width 128": ("ratio_seed_bare", 128, 1.2),
    "fit/seed loop at width 128": ("ratio_fit_seed", 128, 1.05),
    "dlfs/PyTorch with Adam at width 128": ("ratio_torch_adam", 128, 0.8),
}
MEDIAN_KEYS = {"ratio_torch": "torch", "ratio_gemm": "gemm", "ratio_strict": "strict",
               "ratio_bare_gemm": "bare_gemm", "ratio_seed_bare": "seed_bare", "ratio_fit_seed": "fit_seed"}
PAUSE_S = 0.2  # OpenBLAS and OpenMP threads spin for a while after their last product


def make_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs (rows, 784) in [0, 1) and labels (rows,): the timing does not depend on them."""
    rng = np.random.default_rng(seed)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows)


def layer_sizes(width: int) -> list[tuple[int, int]]:
    return [(784, width), (width, 64), (64, 10)]


def dlfs_model(width: int, seed: int = 0, adam: bool = False) -> Model:
    layers = []
    for i, (n_in, n_out) in enumerate(layer_sizes(width)):
        layers += [Dense(n_in, n_out, init="he", rng=seed + i), ReLU()]
    layers[-1] = Softmax()
    optimizer = Adam(learning_rate=ADAM_LEARNING_RATE) if adam else SGD(learning_rate=LEARNING_RATE)
    return Model(layers, CategoricalCrossEntropy(), optimizer)


def seed_loop(X, y, width: int):
    """One epoch of the seed README's loop, written out by hand over mini-batches of dlfs layers."""
    model, rng = dlfs_model(width), np.random.default_rng(0)

    def one_epoch() -> None:
        order = rng.permutation(len(X))
        for start in range(0, len(X), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            X_batch, y_batch = X[rows], y[rows]
            output = model.forward(X_batch, training=True)
            model.loss.calculate(output, y_batch)
            model.backward(output, y_batch)
            for layer in model.layers:
                if hasattr(layer, "weights"):
                    model.optimizer.update_params(layer)

    return one_epoch


def torch_side(X, y, width: int, adam: bool = False):
    """The same network, data, optimizer and batch size in PyTorch: (one_epoch, inference)."""
    import torch

    torch.manual_seed(0)
    modules = []
    for n_in, n_out in layer_sizes(width):
        modules += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules[:-1])
    optimizer = (torch.optim.Adam(net.parameters(), lr=ADAM_LEARNING_RATE, foreach=True) if adam
                 else torch.optim.SGD(net.parameters(), lr=LEARNING_RATE))
    X_t = torch.from_numpy(X)

    def inference() -> None:
        with torch.no_grad():
            for first in range(0, len(X), 1024):
                torch.softmax(net(X_t[first:first + 1024]), dim=1)

    return torch_epoch(net, optimizer, X, y, BATCH_SIZE, np.random.default_rng(0)), inference


def torch_epoch(net, optimizer, X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator):
    """A function that trains ``net`` for one epoch: shuffled mini-batches, cross-entropy on its logits."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

    def one_epoch() -> None:
        net.train()
        order = torch.from_numpy(rng.permutation(len(X)))
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(X_t[rows]), y_t[rows]).backward()
            optimizer.step()

    return one_epoch


def gemm_pass(rows: int, width: int, strict: bool = False):
    """A GEMM bound: the matrix products of one training epoch, as a function to time.

    Per batch and layer: the forward product X W, the weight gradient X^T G and the input
    gradient G W^T, 2 N d n FLOPs each: the usual count of a training step's work (three times
    the forward pass). ``strict`` leaves out the first layer's input gradient, which nobody needs
    (dlfs and PyTorch both skip it): no implementation of this training step that uses the same
    BLAS can be faster than the strict bound. The returned function performs exactly those products on random operands of
    the epoch's shapes, into arrays allocated once (so that no product waits for fresh memory),
    and timing it measures the bound at the rate BLAS reaches here and now.
    """
    rng = np.random.default_rng(0)
    sizes = [min(BATCH_SIZE, rows - start) for start in range(0, rows, BATCH_SIZE)]
    operands = {n: [(rng.random((n, d), dtype=np.float32), rng.random((d, m), dtype=np.float32),
                     rng.random((n, m), dtype=np.float32)) for d, m in layer_sizes(width)]
                for n in set(sizes)}
    results = {n: [(np.empty_like(G), np.empty_like(W), np.empty_like(X)) for X, W, G in layers]
               for n, layers in operands.items()}

    def one_epoch() -> None:
        for n in sizes:
            for layer, ((X, W, G), (Z, dW, dX)) in enumerate(zip(operands[n], results[n])):
                np.matmul(X, W, out=Z)
                np.matmul(X.T, G, out=dW)
                if layer > 0 or not strict:
                    np.matmul(G, W.T, out=dX)

    return one_epoch


def bare_numpy(X, y, width: int):
    """One epoch of the same training in bare NumPy, with no checks and no framework: a reference
    for what dlfs's layers, checks and Python calls cost on top of the arithmetic."""
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((d, n)) * np.sqrt(2 / d)).astype(np.float32) for d, n in layer_sizes(width)]
    biases = [np.zeros((1, n), np.float32) for _, n in layer_sizes(width)]

    def one_epoch() -> None:
        order = rng.permutation(len(X))
        for start in range(0, len(X), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            activations, labels = [X[rows]], y[rows]
            for W, b in zip(weights, biases):
                z = activations[-1] @ W
                z += b
                activations.append(np.maximum(z, 0) if len(activations) < len(weights) else z)
            scores = activations.pop()
            probs = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            probs[np.arange(len(labels)), labels] -= 1
            grad = probs / len(labels)
            for layer in reversed(range(len(weights))):
                a = activations[layer]
                dW, db = a.T @ grad, grad.sum(axis=0, keepdims=True)
                if layer > 0:
                    grad = (grad @ weights[layer].T) * (a > 0)
                weights[layer] -= LEARNING_RATE * dW
                biases[layer] -= LEARNING_RATE * db

    return one_epoch


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class Interleave(Callback):
    """Times each epoch of ``Model.fit`` and, between epochs, one epoch of each rival.

    Interleaving puts every side under the same conditions of the machine, epoch by epoch, which
    makes their ratios steadier than timing each in turn. A pause before each side lets the thread
    pools of the previous one (OpenBLAS's, PyTorch's) go to sleep instead of spinning beside it.
    """

    def __init__(self, rivals: dict):
        self.rivals = rivals

    def on_train_begin(self, logs=None) -> None:
        self.times = {"dlfs": [], **{name: [] for name in self.rivals}}
        self.mark = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.times["dlfs"].append(time.perf_counter() - self.mark)
        for name, one_epoch in self.rivals.items():
            time.sleep(PAUSE_S)
            self.times[name].append(seconds(one_epoch))
        time.sleep(PAUSE_S)
        self.mark = time.perf_counter()


def peak_memory_per_epoch(model: Model, X, y, epochs: int = 3) -> list[int]:
    """The peak bytes allocated during each of a few epochs (tracemalloc, apart from the timing)."""
    peaks = []
    for epoch in range(epochs):
        tracemalloc.start()
        model.fit(X, y, epochs=1, batch_size=BATCH_SIZE, rng=epoch, verbose=0)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return peaks


def measure(X, y, width: int, epochs: int) -> dict:
    """One width: epochs + 1 epochs of each side, the first (a warm-up) left out; then memory and
    inference (median of three calls each)."""
    model = dlfs_model(width)
    torch_epoch, torch_inference = torch_side(X, y, width)
    timer = Interleave({"torch": torch_epoch, "gemm": gemm_pass(len(X), width),
                        "strict": gemm_pass(len(X), width, strict=True), "bare": bare_numpy(X, y, width),
                        "seed": seed_loop(X, y, width)})
    model.fit(X, y, epochs=epochs + 1, batch_size=BATCH_SIZE, rng=0, verbose=0, callbacks=[timer])
    timed = {name: times[1:] for name, times in timer.times.items()}      # the first is a warm-up
    median = {name: statistics.median(times) for name, times in timed.items()}
    best = {name: min(times) for name, times in timed.items()}

    def ratio(side: str, rival: str) -> float:
        """Fastest epoch against fastest epoch. A busy neighbour only ever adds time (here it can
        take away the second core for a whole epoch), so each side's fastest epoch is the closest
        to what it costs on a quiet machine."""
        return best[side] / best[rival]

    def median_ratio(side: str, rival: str) -> float:
        """The median of the epoch-by-epoch ratios (each epoch against the rival's beside it)."""
        return statistics.median(a / b for a, b in zip(timed[side], timed[rival]))

    peaks = peak_memory_per_epoch(model, X, y)
    return {
        "dlfs_epoch_s": median["dlfs"],
        "torch_epoch_s": median["torch"],
        "gemm_bound_epoch_s": median["gemm"],
        "strict_bound_epoch_s": median["strict"],
        "ratio_torch": ratio("dlfs", "torch"),
        "ratio_gemm": ratio("dlfs", "gemm"),
        "ratio_strict": ratio("dlfs", "strict"),
        "bare_numpy_epoch_s": median["bare"],
        "ratio_bare_gemm": ratio("bare", "gemm"),
        "seed_loop_epoch_s": median["seed"],
        "ratio_seed_bare": ratio("seed", "bare"),
        "ratio_fit_seed": ratio("dlfs", "seed"),
        "median_ratios": {"torch": median_ratio("dlfs", "torch"), "gemm": median_ratio("dlfs", "gemm"),
                          "strict": median_ratio("dlfs", "strict"), "bare_gemm": median_ratio("bare", "gemm"),
                          "seed_bare": median_ratio("seed", "bare"), "fit_seed": median_ratio("dlfs", "seed")},
        "dlfs_peak_mib_per_epoch": [peak / 2**20 for peak in peaks],
        "epoch_seconds": timed,
        "dlfs_samples_per_s": len(X) / statistics.median(
            seconds(lambda: model.predict(X, batch_size=1024)) for _ in range(3)),
        "torch_samples_per_s": len(X) / statistics.median(seconds(torch_inference) for _ in range(3)),
    }


def measure_adam(X, y, width: int, epochs: int) -> dict:
    """``fit`` with Adam against torch.optim.Adam, interleaved epoch by epoch as in ``measure``."""
    model = dlfs_model(width, adam=True)
    timer = Interleave({"torch": torch_side(X, y, width, adam=True)[0]})
    model.fit(X, y, epochs=epochs + 1, batch_size=BATCH_SIZE, rng=0, verbose=0, callbacks=[timer])
    timed = {name: times[1:] for name, times in timer.times.items()}
    return {"dlfs_epoch_s": statistics.median(timed["dlfs"]), "torch_epoch_s": statistics.median(timed["torch"]),
            "ratio_torch": min(timed["dlfs"]) / min(timed["torch"]),
            "median_ratio": statistics.median(a / b for a, b in zip(timed["dlfs"], timed["torch"])),
            "epoch_seconds": timed}


def numeric_platform() -> dict:
    """The OpenBLAS kernel and NumPy vector level this run used: the machine's best, never pinned
    (the book's stored outputs are pinned instead; see tools/numeric_platform.py)."""
    import threadpoolctl
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["internal_api"] == "openblas"]
    return {"openblas_kernel": blas[0]["architecture"] if blas else None,
            "numpy_simd": [level for level in __cpu_dispatch__ if __cpu_features__.get(level)]}


def run(rows: int, epochs: int, widths: list[int]) -> dict:
    import torch

    # NumPy's OpenBLAS uses one thread per available core unless told otherwise; PyTorch gets
    # the same number. (OPENBLAS_NUM_THREADS, if set, is recorded: it would make this unfair.)
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    X, y = make_data(rows)
    return {
        "machine": {"processor": platform.processor() or platform.machine(), "threads": threads,
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "numpy": np.__version__, "torch": torch.__version__.split("+")[0],
                    **numeric_platform()},
        "rows_per_epoch": rows, "timed_epochs": epochs, "batch_size": BATCH_SIZE,
        "widths": {str(width): measure(X, y, width, epochs) for width in widths},
        "adam": {str(ADAM_WIDTH): measure_adam(X, y, ADAM_WIDTH, epochs)},
    }


def median_of(results: dict, key: str, width: str) -> float | None:
    """The median of the epoch-by-epoch ratios for ``key`` (a ``ratio_...`` name) at ``width``;
    None if the run did not measure it (runs older than the ratio)."""
    if key == "ratio_torch_adam":
        return results["adam"][width].get("median_ratio")
    return results["widths"][width].get("median_ratios", {}).get(MEDIAN_KEYS[key])


def fastest_of(results: dict, key: str, width: str) -> float:
    """Fastest epoch against fastest epoch for ``key`` at ``width``."""
    if key == "ratio_torch_adam":
        return results["adam"][width]["ratio_torch"]
    return results["widths"][width][key]


def format_table(results: dict) -> str:
    header = (f"{'width':>6} {'dlfs s/ep':>10} {'torch s/ep':>10} {'peak MiB':>9} {'growth':>7} "
              f"{'dlfs inf/s':>11} {'torch inf/s':>11}")
    lines = [header, "-" * len(header)]
    for width, r in results["widths"].items():
        peaks = r["dlfs_peak_mib_per_epoch"]
        lines.append(
            f"{width:>6} {r['dlfs_epoch_s']:>10.4f} {r['torch_epoch_s']:>10.4f} {max(peaks):>9.1f} "
            f"{peaks[-1] / peaks[0]:>7.2f} {r['dlfs_samples_per_s']:>11,.0f} {r['torch_samples_per_s']:>11,.0f}"
        )
    for width, r in results["adam"].items():
        lines.append(f"Adam at width {width}: dlfs {r['dlfs_epoch_s']:.4f} s/epoch, torch {r['torch_epoch_s']:.4f}")
    for width, r in results["widths"].items():
        lines.append(f"seed loop at width {width}: {r['seed_loop_epoch_s']:.4f} s/epoch")
    lines.append(f"seconds: median of {results['timed_epochs']} epochs")
    lines.append("")
    rows = [("dlfs/torch", "ratio_torch"), ("dlfs/GEMM", "ratio_gemm"), ("dlfs/strict", "ratio_strict"),
            ("bare/GEMM", "ratio_bare_gemm"), ("seed/bare", "ratio_seed_bare"), ("fit/seed", "ratio_fit_seed")]
    widths = list(results["widths"])
    header = f"{'ratio: median | fastest':<24}" + "".join(f"{'width ' + w:>17}" for w in widths)
    lines += [header, "-" * len(header)]
    for label, key in rows:
        if all(median_of(results, key, w) is not None for w in widths):
            lines.append(f"{label:<24}" + "".join(
                f"{median_of(results, key, w):>9.2f} | {fastest_of(results, key, w):<5.2f}" for w in widths))
    for width in results["adam"]:
        lines.append(f"{'Adam dlfs/torch':<24}{median_of(results, 'ratio_torch_adam', width):>9.2f} | "
                     f"{fastest_of(results, 'ratio_torch_adam', width):<5.2f}  (width {width})")
    lines.append("median: of the epoch-by-epoch ratios;")
    lines.append("fastest: fastest epoch against fastest epoch")
    return "\n".join(lines)


def check_targets(results: dict) -> list[str]:
    """One line per target that applies to the widths measured: PASS or FAIL, judged by the median
    of the epoch-by-epoch ratios, with the fastest-against-fastest ratio beside it."""
    lines = []
    for label, (key, width, limit) in TARGETS.items():
        where = results["adam"] if key == "ratio_torch_adam" else results["widths"]
        if str(width) in where and median_of(results, key, str(width)) is None:
            lines.append(f"----  {label}: not measured in this run (target <= {limit})")
        elif str(width) in where:
            value, fastest = median_of(results, key, str(width)), fastest_of(results, key, str(width))
            lines.append(f"{'PASS' if value <= limit else 'FAIL'}  {label}: median {value:.2f}\n"
                         f"      (fastest {fastest:.2f}; target <= {limit})")
    for width, r in results["widths"].items():
        peaks = r["dlfs_peak_mib_per_epoch"]
        flat = max(peaks[1:], default=peaks[0]) <= peaks[0] * 1.05
        lines.append(f"{'PASS' if flat else 'FAIL'}  peak memory flat across epochs at width {width}: "
                     f"{peaks[0]:.1f} -> {peaks[-1]:.1f} MiB")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="training rows per epoch")
    parser.add_argument("--epochs", type=int, default=15, help="timed epochs per side")
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("results.json"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    results = run(args.rows, args.epochs, args.widths)
    return report(results, format_table(results), check_targets(results), args.output, args.check)


def report(results: dict, table: str, verdicts: list[str], output: Path, check: bool) -> int:
    """Print the platform, the table and the verdicts, store them with the results in ``output``;
    the exit status (1 with ``check`` when a target is missed)."""
    machine = results["machine"]
    print(f"OpenBLAS kernel {machine['openblas_kernel']}, NumPy SIMD {' '.join(machine['numpy_simd'])}, "
          f"{machine['threads']} threads")
    print(table)
    print("\n".join(verdicts))
    results["targets"] = verdicts
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {output}")
    return 1 if check and any(v.startswith("FAIL") for v in verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
