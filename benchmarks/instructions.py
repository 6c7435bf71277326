"""Count instructions instead of seconds: dlfs, a bare NumPy loop and the GEMM bounds under callgrind.

Timings on a shared machine drift from run to run; instruction counts do not. This script runs
each workload of `train_mlp.py` (width 128, one BLAS thread) under valgrind's callgrind for one
epoch and for three, and reports the instructions of two epochs (the difference, which leaves out
Python's start-up and the imports) and their ratios. It prints them and saves them to JSON, with
the OpenBLAS kernel and NumPy vector level that the counted runs used. It needs Debian's
`valgrind` and takes about twenty minutes.

Like `make bench`, it is not pinned to the book's numeric platform (tools/numeric_platform.py):
it counts what the machine's best kernel executes. The kernel is the one OpenBLAS picks for the
CPU that valgrind presents, which can be a lesser one than the real CPU's (valgrind has no
AVX-512), so the script records both.

    python benchmarks/instructions.py                 # writes benchmarks/instructions.json
    python benchmarks/instructions.py --output counts.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import train_mlp

ROWS, WIDTH = 128 * 40, 128
WORKLOADS = ("dlfs", "bare", "gemm", "strict")
# The settings of tools/numeric_platform.py (and OPENBLAS_L2_SIZE) that would pin the kernel:
# removed, as `make bench` removes them, so that OpenBLAS and NumPy pick the machine's best.
UNPINNED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")
ENVIRONMENT = {key: value for key, value in os.environ.items() if key not in UNPINNED} | {"OPENBLAS_NUM_THREADS": "1"}


def run_workload(name: str, epochs: int) -> None:
    """The workload itself, as callgrind sees it."""
    X, y = train_mlp.make_data(ROWS)
    if name == "dlfs":
        train_mlp.dlfs_model(WIDTH).fit(X, y, epochs=epochs, batch_size=train_mlp.BATCH_SIZE, rng=0, verbose=0)
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
            capture_output=True, text=True, env=ENVIRONMENT,
        )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"callgrind failed for {name}:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def platform_of(*prefix: str) -> dict:
    """``train_mlp.numeric_platform()`` in a child process with the counted runs' environment,
    run under ``prefix`` (valgrind) or natively."""
    result = subprocess.run([*prefix, sys.executable, __file__, "platform"],
                            capture_output=True, text=True, env=ENVIRONMENT)
    if result.returncode != 0:
        raise RuntimeError(f"could not read the numeric platform:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run() -> dict:
    per_two_epochs = {name: count(name, 3) - count(name, 1) for name in WORKLOADS}
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    import numpy as np

    return {
        "machine": {"processor": platform.processor() or platform.machine(), "numpy": np.__version__,
                    "valgrind": valgrind, "OPENBLAS_NUM_THREADS": ENVIRONMENT["OPENBLAS_NUM_THREADS"],
                    **platform_of("valgrind", "--tool=none", "-q"),   # what the counted runs used
                    "native": platform_of()},                          # the same, outside valgrind
        "rows_per_epoch": ROWS, "width": WIDTH, "batch_size": train_mlp.BATCH_SIZE, "epochs_counted": 2,
        "instructions": per_two_epochs,
        "ratio_gemm": {name: n / per_two_epochs["gemm"] for name, n in per_two_epochs.items()},
        "ratio_strict": {name: n / per_two_epochs["strict"] for name, n in per_two_epochs.items()},
        "ratio_dlfs_bare": per_two_epochs["dlfs"] / per_two_epochs["bare"],
    }


def format_counts(results: dict) -> str:
    lines = []
    for name, instructions in results["instructions"].items():
        lines.append(f"{name:6s} {instructions / 1e6:10.1f} M instructions per two epochs\n"
                     f"{'':11s}({results['ratio_gemm'][name]:.2f} x the GEMM bound, "
                     f"{results['ratio_strict'][name]:.2f} x the strict bound)")
    lines.append(f"dlfs / bare NumPy loop: {results['ratio_dlfs_bare']:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("instructions.json"))
    args = parser.parse_args()

    results = run()
    machine = results["machine"]
    print(f"OpenBLAS kernel {machine['openblas_kernel']}, NumPy SIMD {' '.join(machine['numpy_simd'])} "
          f"under valgrind (natively {machine['native']['openblas_kernel']}, "
          f"{' '.join(machine['native']['numpy_simd'])}), 1 BLAS thread")
    print(format_counts(results))
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in WORKLOADS:
        run_workload(sys.argv[1], int(sys.argv[2]))
    elif sys.argv[1:] == ["platform"]:
        print(json.dumps(train_mlp.numeric_platform()))
    else:
        main()
