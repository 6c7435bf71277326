"""Test set-up shared by tests/ and the chapters (nbval); pytest loads it for both."""

import os

from hypothesis import settings

# The chapters' stored outputs were computed with one BLAS thread (`make run`): the sums inside
# matrix products then run in the same order on any machine. nbval's kernels inherit this.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

# Property tests: no per-example deadline (a busy machine must not fail them), no example database
# left behind, and in CI the same examples on every run, so that a red CI is never a coin toss.
settings.register_profile("dlfs", deadline=None, database=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("dlfs")


def pytest_terminal_summary(terminalreporter):
    """After a failed chapter, say how to refresh its stored outputs if the change was meant."""
    failed = {report.nodeid.split("::")[0] for report in terminalreporter.stats.get("failed", [])}
    for notebook in sorted(path for path in failed if path.endswith(".ipynb")):
        terminalreporter.write_line(
            f"{notebook}: its outputs differ from the stored ones. If the change is intended, run "
            f"`make run CH={notebook[:-len('.ipynb')]}.md` and commit the refreshed notebook."
        )
