"""The one numeric platform that every stored output of the book is computed on.

A floating-point sum depends on the order of its terms, and that order depends on the CPU:
OpenBLAS picks its matrix-product kernel by CPU when it loads (``SkylakeX`` on AVX-512 Intel,
``Haswell`` on AVX2 machines, ...), and NumPy dispatches its own loops (``exp``, ``tanh``, ...)
by vector level. Training amplifies the last-bit differences until printed figures differ. So
every process that computes stored outputs runs on one platform, whatever CPU it is on:

- OpenBLAS's ``Haswell`` kernel (AVX2 + FMA), on one thread;
- NumPy's loops capped at AVX2 (``X86_V3``): its AVX-512 groups are switched off.

Any x86-64 CPU with AVX2 and FMA (Intel since 2013, AMD since Zen) runs that platform. On other
CPUs the stored outputs cannot be reproduced bit for bit: the chapters still run, with the thread
pin only, and the tests execute them without comparing their outputs.

The settings must be in the environment before NumPy is imported. Four ways in, one definition:

    runpy.run_path("../tools/numeric_platform.py")["pin_kernel"]()   # a chapter's first cell
    runpy.run_path("numeric_platform.py")["pin_reader"]()   # a readers' notebook's first cell
    python tools/numeric_platform.py CMD ...   # run CMD pinned (the Makefile's `make run`)
    runpy.run_path("tools/numeric_platform.py")["pin"]()   # conftest.py, before NumPy loads
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

OPENBLAS_KERNEL = "Haswell"
AVX512_GROUPS = ("X86_V4", "AVX512_ICL", "AVX512_SPR")
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
# Overwritten, never defaulted: some machines start with another OPENBLAS_CORETYPE set.
PLATFORM = {"OPENBLAS_CORETYPE": OPENBLAS_KERNEL, "NPY_DISABLE_CPU_FEATURES": " ".join(AVX512_GROUPS)}


def cpu_description() -> str:
    """What this CPU is, in a few words, e.g. ``x86_64 with AVX2`` or ``aarch64``."""
    machine = platform.machine() or "an unknown CPU"
    if machine.lower() not in ("x86_64", "amd64"):
        return machine
    flags = cpu_flags()
    if not flags:
        return f"{machine} (its vector unit cannot be read here)"
    return f"{machine} with AVX2" if {"avx2", "fma"} <= flags else f"{machine} without AVX2"


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them in /proc/cpuinfo; empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def supported() -> bool:
    """Whether this CPU can compute the stored outputs bit for bit."""
    return cpu_description().endswith(" with AVX2")


def notice() -> str:
    """The one line said on a CPU outside the platform."""
    return (f"stored outputs are exact on x86-64 with AVX2; this CPU is {cpu_description()}; "
            "chapters are executed but not compared")


def pin(environ=os.environ) -> bool:
    """Put the platform into ``environ`` (threads everywhere, kernels where supported)."""
    environ.update(THREADS)
    if not supported():
        return False
    environ.update(PLATFORM)
    return True


def check() -> None:
    """Fail loudly unless the NumPy of this process runs on the platform."""
    import numpy  # noqa: F401  (loads OpenBLAS)
    import threadpoolctl
    from numpy._core._multiarray_umath import __cpu_features__

    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["internal_api"] == "openblas"]
    found = {
        "OpenBLAS kernel": blas[0]["architecture"] if blas else "no OpenBLAS",
        "OpenBLAS threads": blas[0]["num_threads"] if blas else 0,
        "NumPy AVX-512 groups on": [g for g in AVX512_GROUPS if __cpu_features__.get(g)],
    }
    wanted = {"OpenBLAS kernel": OPENBLAS_KERNEL, "OpenBLAS threads": 1, "NumPy AVX-512 groups on": []}
    if {k: str(v).lower() for k, v in found.items()} != {k: str(v).lower() for k, v in wanted.items()}:
        raise RuntimeError(
            f"the numeric platform is not in effect: wanted {wanted}, found {found}. NumPy was "
            "probably imported before tools/numeric_platform.py ran: restart the kernel and run "
            "the chapter from its first cell."
        )


def pin_kernel() -> None:
    """A chapter's first cell: pin this kernel and check that the pin took (silent if it did)."""
    if pin():
        check()
    else:
        print(notice())


def pin_reader() -> None:
    """A readers' notebook's first cell: pin this kernel if it can be pinned, else say in one line
    that the last digits may differ from the book's, and go on (the authors' cell fails instead)."""
    if not pin():
        print(f"this CPU is {cpu_description()}, not x86-64 with AVX2: the last digits of some "
              "numbers may differ from the book's")
        return
    try:
        check()
    except RuntimeError:
        print("NumPy was imported before this cell ran, so the numeric platform is not in effect: "
              "the last digits of some numbers may differ from the book's (restart the kernel "
              "and run from the top to match them)")


if __name__ == "__main__":  # run a command on the platform
    if not pin():
        print(notice(), file=sys.stderr)
    os.execvp(sys.argv[1], sys.argv[1:])
