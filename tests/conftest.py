"""Shared test set-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The chapters' stored outputs were computed with one BLAS thread (`make run`); nbval's kernels
# inherit these, so training runs sum in the same order as when the outputs were stored.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the site once per test session, with warnings as errors; the HTML folder."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", ".",
         "--warningiserror", "--nitpick", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, (
        "the book build failed (fix the chapter, then `make book` to see it):\n"
        + result.stdout[-6000:] + result.stderr[-3000:]
    )
    return ROOT / "_build" / "html"


def pytest_terminal_summary(terminalreporter):
    """After a failed chapter, say how to refresh its stored outputs if the change was meant."""
    failed = {report.nodeid.split("::")[0] for report in terminalreporter.stats.get("failed", [])}
    for notebook in sorted(path for path in failed if path.endswith(".ipynb")):
        terminalreporter.write_line(
            f"{notebook}: its outputs differ from the stored ones. If the change is intended, run "
            f"`make run CH={notebook[:-len('.ipynb')]}.md` and commit the refreshed notebook."
        )
