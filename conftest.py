"""Test set-up shared by tests/ and the chapters (nbval); pytest loads it for both."""

import os

# The chapters' stored outputs were computed with one BLAS thread (`make run`): the sums inside
# matrix products then run in the same order on any machine. nbval's kernels inherit this.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"


def pytest_terminal_summary(terminalreporter):
    """After a failed chapter, say how to refresh its stored outputs if the change was meant."""
    failed = {report.nodeid.split("::")[0] for report in terminalreporter.stats.get("failed", [])}
    for notebook in sorted(path for path in failed if path.endswith(".ipynb")):
        terminalreporter.write_line(
            f"{notebook}: its outputs differ from the stored ones. If the change is intended, run "
            f"`make run CH={notebook[:-len('.ipynb')]}.md` and commit the refreshed notebook."
        )
