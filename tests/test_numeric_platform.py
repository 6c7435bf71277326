"""The numeric platform of the stored outputs (tools/numeric_platform.py) and its wiring."""

import importlib.util
import os
import runpy
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "numeric_platform.py"
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
PIN_CELL = 'runpy.run_path("../tools/numeric_platform.py")["pin_kernel"]()'


def load(path: Path):
    """A fresh copy of the module in ``path``."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def platform_tool(machine="x86_64", flags=("avx2", "fma")):
    """The tool as it would be on a CPU with ``machine`` and ``flags``."""
    tool = load(TOOL)
    tool.platform = type("platform", (), {"machine": staticmethod(lambda: machine)})
    tool.cpu_flags = lambda: set(flags)
    return tool


def test_the_pin_overwrites_what_the_environment_says():
    environ = {"OPENBLAS_CORETYPE": "SandyBridge", "NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_NUM_THREADS": "8"}
    assert platform_tool().pin(environ) is True
    assert environ == {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("machine, flags, described", [
    ("aarch64", (), "aarch64"),
    ("x86_64", ("avx", "sse4_2"), "x86_64 without AVX2"),
    ("x86_64", (), "x86_64 (its vector unit cannot be read here)"),
])
def test_other_cpus_get_the_thread_pin_and_a_one_line_notice(machine, flags, described):
    tool, environ = platform_tool(machine, flags), {}
    assert tool.pin(environ) is False
    assert environ == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # forcing Haswell could crash there
    assert tool.notice() == (f"stored outputs are exact on x86-64 with AVX2; this CPU is {described}; "
                                "chapters are executed but not compared")


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)


@pytest.mark.skipif(not runpy.run_path(str(TOOL))["supported"](), reason="this CPU is outside the platform")
def test_the_check_passes_when_pinned_and_fails_when_numpy_came_first():
    check = f"import runpy; runpy.run_path({str(TOOL)!r})['check']()"
    pinned = subprocess.run([sys.executable, str(TOOL), sys.executable, "-c", check],
                            env={**os.environ, "OPENBLAS_CORETYPE": "SandyBridge"}, capture_output=True, text=True)
    assert pinned.returncode == 0, pinned.stderr
    late = run_python("import numpy; " + check, {"OPENBLAS_CORETYPE": "SandyBridge"})
    assert late.returncode != 0 and "the numeric platform is not in effect" in late.stderr, late.stderr
    assert "'OpenBLAS kernel': 'Sandybridge'" in late.stderr


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_pins_its_kernel_first(chapter):
    first = next(cell for cell in jupytext.read(chapter).cells if cell.cell_type == "code")
    assert PIN_CELL in first.source and first.metadata.get("tags") == ["remove-cell"], (
        f"{chapter.name}: the first code cell must run tools/numeric_platform.py, tagged remove-cell")


def test_the_test_run_is_pinned_here():
    if runpy.run_path(str(TOOL))["supported"]():
        assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_off_the_platform_nbval_runs_lax_and_the_summary_says_why():
    conftest = load(ROOT / "conftest.py")
    conftest.ON_PLATFORM = False
    config = type("config", (), {"option": type("option", (), {"nbval_lax": False})()})()
    conftest.pytest_configure(config)
    assert config.option.nbval_lax is True
    lines = []
    reporter = type("reporter", (), {"stats": {}, "write_line": staticmethod(lines.append)})()
    conftest.pytest_terminal_summary(reporter)
    assert lines == [conftest.PLATFORM["notice"]()]


def test_lax_nbval_executes_every_cell_but_compares_no_output(tmp_path):
    def notebook(source: str, stored: str) -> Path:
        cell = nbformat.v4.new_code_cell(source, execution_count=1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
        path = tmp_path / f"n{len(list(tmp_path.iterdir()))}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
        return path

    def nbval(path: Path, mode: str) -> int:
        return subprocess.run([sys.executable, "-m", "pytest", mode, "-p", "no:cacheprovider", "-q", "--rootdir",
                               str(tmp_path), "-c", os.devnull, str(path)], capture_output=True, cwd=tmp_path).returncode

    differs = notebook("print(0.1 + 0.2)", "0.3\n")
    raises = notebook("raise ValueError('a broken chapter')", "")
    assert nbval(differs, "--nbval") == 1 and nbval(differs, "--nbval-lax") == 0
    assert nbval(raises, "--nbval-lax") == 1
