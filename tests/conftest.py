"""Shared test set-up."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def torch():
    """PyTorch, for tests that compare with it: skipped where it is missing, a failure in CI."""
    from oracle import import_torch

    return import_torch()
