"""tools/export.py on a small book written here: what goes into a module, and what does not."""

import subprocess
import sys
from pathlib import Path

import pytest

EXPORTER = Path(__file__).resolve().parent.parent / "tools" / "export.py"

FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
{dlfs}---

# {title}

"""


def code_cell(source: str, export: bool) -> str:
    tags = ":tags: [export]\n\n" if export else ""
    return f"```{{code-cell}} ipython3\n{tags}{source}\n```\n\n"


def write_chapter(root: Path, name: str, title: str, module: str | None, cells: list[tuple[str, bool]]) -> None:
    dlfs = f"dlfs:\n  module: {module}\n" if module else ""
    text = FRONT_MATTER.format(dlfs=dlfs, title=title) + "".join(code_cell(s, e) for s, e in cells)
    (root / "chapters").mkdir(exist_ok=True)
    (root / "chapters" / name).write_text(text, encoding="utf-8")


def export(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXPORTER), "--root", str(root), *args],
                          capture_output=True, text=True)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    write_chapter(tmp_path, "01-first.md", "The first idea", "first", [
        ("import numpy as np", True),
        ("SCALE = 2\n_HIDDEN = 3\n\n\ndef double(x):\n    return SCALE * x", True),
        ("print(double(21))", False),
        ("class Thing:\n    pass", True),
    ])
    write_chapter(tmp_path, "02-second.md", "The second idea", "second", [
        ("from dlfs.first import double", True),
        ("def quadruple(x):\n    return double(double(x))", True),
    ])
    write_chapter(tmp_path, "03-prose.md", "Only prose", None, [("print('not exported')", False)])
    assert export(tmp_path).returncode == 0
    return tmp_path


def test_exported_cells_make_one_module_per_chapter_with_header_and_all(book: Path):
    first = (book / "dlfs" / "first.py").read_text(encoding="utf-8")
    assert first.startswith('"""The first idea.\n\nGenerated from chapters/01-first.md by tools/export.py')
    assert "__all__ = ['SCALE', 'double', 'Thing']" in first
    assert "print(double(21))" not in first and "_HIDDEN = 3" in first
    assert sorted(p.name for p in (book / "dlfs").glob("*.py")) == ["__init__.py", "first.py", "second.py"]


def test_the_package_reexports_every_public_name_and_imports(book: Path):
    init = (book / "dlfs" / "__init__.py").read_text(encoding="utf-8")
    assert "from dlfs.first import SCALE, double, Thing" in init
    assert "from dlfs.second import quadruple" in init
    result = subprocess.run([sys.executable, "-c", "import dlfs; print(dlfs.quadruple(1), dlfs.__all__)"],
                            cwd=book, capture_output=True, text=True)
    assert result.stdout.strip() == "4 ['SCALE', 'double', 'Thing', 'quadruple']", result.stderr


def test_export_is_deterministic_and_check_passes_after_it(book: Path):
    before = {p.name: p.read_bytes() for p in (book / "dlfs").glob("*.py")}
    assert export(book).stdout == ""                      # nothing to write the second time
    assert {p.name: p.read_bytes() for p in (book / "dlfs").glob("*.py")} == before
    assert export(book, "--check").returncode == 0


def test_check_reports_a_hand_edit_and_a_stray_module(book: Path):
    with open(book / "dlfs" / "first.py", "a", encoding="utf-8") as module:
        module.write("# a hand edit\n")
    (book / "dlfs" / "stray.py").write_text("x = 1\n", encoding="utf-8")
    result = export(book, "--check")
    assert result.returncode == 1
    assert "dlfs/first.py differs from what its chapter exports" in result.stderr
    assert "dlfs/stray.py is written by no chapter" in result.stderr
    assert "make export" in result.stderr


def test_a_module_named_but_nothing_exported_is_an_error(tmp_path: Path):
    write_chapter(tmp_path, "01-empty.md", "Empty", "empty", [("print(1)", False)])
    result = export(tmp_path)
    assert result.returncode != 0 and "no cell tagged 'export'" in result.stderr
