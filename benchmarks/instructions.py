"""Count instructions instead of seconds: dlfs, a bare NumPy loop and the GEMM bounds under callgrind.

Timings on a shared machine drift from run to run; instruction counts do not. This script runs
each workload of `train_mlp.py` (width 128, one BLAS thread) under valgrind's callgrind for one
epoch and for three, and reports the instructions of two epochs (the difference, which leaves out
Python's start-up and the imports) and their ratios. It needs Debian's `valgrind` and takes about
twenty minutes.

    python benchmarks/instructions.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import train_mlp

ROWS, WIDTH = 128 * 40, 128
WORKLOADS = ("dlfs", "bare", "gemm", "strict")


def run_workload(name: str, epochs: int) -> None:
    """The workload itself, as callgrind sees it."""
    X, y = train_mlp.make_data(ROWS)
    if name == "dlfs":
        train_mlp.dlfs_model(WIDTH).fit(X, y, epochs=epochs, batch_size=train_mlp.BATCH_SIZE, seed=0, verbose=0)
        return
    if name == "bare":
        one_epoch = train_mlp.bare_numpy(X, y, WIDTH)
    else:
        one_epoch = train_mlp.gemm_pass(ROWS, WIDTH, strict=name == "strict")
    for _ in range(epochs):
        one_epoch()


def count(name: str, epochs: int) -> int:
    """Instructions executed by ``python this_script name epochs`` under callgrind."""
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/out",
             sys.executable, __file__, name, str(epochs)],
            capture_output=True, text=True, env=os.environ | {"OPENBLAS_NUM_THREADS": "1"},
        )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"callgrind failed for {name}:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    per_two_epochs = {name: count(name, 3) - count(name, 1) for name in WORKLOADS}
    for name, instructions in per_two_epochs.items():
        print(f"{name:6s} {instructions / 1e6:10.1f} M instructions per two epochs "
              f"({instructions / per_two_epochs['gemm']:.2f} x the GEMM bound, "
              f"{instructions / per_two_epochs['strict']:.2f} x the strict bound)")
    print(f"dlfs / bare NumPy loop: {per_two_epochs['dlfs'] / per_two_epochs['bare']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        run_workload(sys.argv[1], int(sys.argv[2]))
    else:
        main()
