"""Appendix A runs for a reader without PyTorch.

The environment that `make book` creates (the `book` extra) has no torch. The appendix is run
here in a kernel where `import torch` fails as it does there, whether or not this venv has
torch: it must run top to bottom, print the stored figures exactly as stored, and say in one
line how to install PyTorch's CPU build, at the version that the `test` extra pins.
"""

import runpy
import tomllib
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
APPENDIX = ROOT / "chapters" / "a-performance.ipynb"
# A module set to None in sys.modules makes `import torch` raise ModuleNotFoundError.
NO_TORCH = 'import sys\n\nsys.modules["torch"] = None'


def run_without_torch(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the appendix's ``notebook``, executed in chapters/ in a kernel without torch."""
    notebook = nbformat.from_dict(notebook)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(NO_TORCH))
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(APPENDIX.parent)}}).execute()
    return notebook


def printed(cell) -> str:
    """What a code cell printed (its stream outputs)."""
    return "".join(out["text"] for out in cell.get("outputs", [])
                   if out["output_type"] == "stream")


def install_line() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pin = next(requirement for requirement in extras["project"]["optional-dependencies"]["test"]
               if requirement.startswith("torch=="))
    return f"pip install {pin} --index-url https://download.pytorch.org/whl/cpu"


def test_appendix_runs_without_torch():
    notebook = nbformat.read(APPENDIX, as_version=4)
    stored = [cell for cell in notebook.cells if cell.cell_type == "code"]
    ran = [cell for cell in run_without_torch(notebook).cells if cell.cell_type == "code"][1:]
    said = [line for cell in ran for line in printed(cell).splitlines()
            if "pip install" in line]
    assert len(said) == 1 and said[0].endswith(install_line()), said
    # The cells that nbval compares print the same without torch: the stored figures (exactly,
    # on the numeric platform's CPUs, where nbval compares them too).
    exact = runpy.run_path(str(ROOT / "tools" / "numeric_platform.py"))["supported"]()
    for old, new in zip(stored, ran, strict=True):
        if exact and "nbval-ignore-output" not in old.metadata.get("tags", []):
            assert printed(new) == printed(old), old.source[:200]
