"""Test set-up shared by tests/ and the chapters (nbval); pytest loads it for both."""

import os
import runpy
from pathlib import Path

# The chapters' stored outputs are computed on one numeric platform (tools/numeric_platform.py
# says which and why): pinned here, before anything loads NumPy, so that this process and every
# nbval kernel it starts compute them the same way on any x86-64 CPU with AVX2.
PLATFORM = runpy.run_path(str(Path(__file__).parent / "tools" / "numeric_platform.py"))
ON_PLATFORM = PLATFORM["pin"]()

from hypothesis import settings  # noqa: E402  (after the pin)

# Property tests: no per-example deadline (a busy machine must not fail them), no example database
# left behind, and in CI the same examples on every run, so that a red CI is never a coin toss.
settings.register_profile("dlfs", deadline=None, database=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("dlfs")


def pytest_configure(config):
    """Off the platform the chapters are executed, to catch errors, but their outputs not compared."""
    if not ON_PLATFORM:
        config.option.nbval_lax = True


def pytest_terminal_summary(terminalreporter):
    """Off the platform, say so; after a failed chapter, say how to refresh its stored outputs."""
    if not ON_PLATFORM:
        terminalreporter.write_line(PLATFORM["notice"]())
    failed = {report.nodeid.split("::")[0] for report in terminalreporter.stats.get("failed", [])}
    for notebook in sorted(path for path in failed if path.endswith(".ipynb")):
        terminalreporter.write_line(
            f"{notebook}: its outputs differ from the stored ones. If the change is intended, run "
            f"`make run CH={notebook[:-len('.ipynb')]}.md` and commit the refreshed notebook."
        )
