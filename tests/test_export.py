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


def code_cell(source: str, export: bool | str) -> str:
    """A code cell; ``export`` is True (the chapter's module), False, or a tag such as 'export:_checks'."""
    tag = "export" if export is True else export
    tags = f":tags: [{tag}]\n\n" if tag else ""
    return f"```{{code-cell}} ipython3\n{tags}{source}\n```\n\n"


def write_chapter(root: Path, name: str, title: str, module: str | None, cells: list[tuple[str, bool | str]]) -> None:
    dlfs = f"dlfs:\n  module: {module}\n" if module else ""
    text = FRONT_MATTER.format(dlfs=dlfs, title=title) + "".join(code_cell(s, e) for s, e in cells)
    (root / "chapters").mkdir(exist_ok=True)
    (root / "chapters" / name).write_text(text, encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "dlfs"\nversion = "1.2.3"\n', encoding="utf-8")


def export(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXPORTER), "--root", str(root), *args],
                          capture_output=True, text=True)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    write_chapter(tmp_path, "01-first.md", "The first idea", "first", [
        ("# dlfs.first: doubling, and a thing.\nimport numpy as np", True),
        ("SCALE = 2\n_HIDDEN = 3\n\n\ndef double(x):\n    return SCALE * x", True),
        ("print(double(21))", False),
        ("class Thing:\n    pass", True),
    ])
    write_chapter(tmp_path, "02-second.md", "The second idea", "second", [
        ("# dlfs.second: quadrupling.\nfrom dlfs.first import double", True),
        ("def quadruple(x):\n    return double(double(x))", True),
    ])
    write_chapter(tmp_path, "03-prose.md", "Only prose", None, [("print('not exported')", False)])
    assert export(tmp_path).returncode == 0
    return tmp_path


def test_exported_cells_make_one_module_per_chapter_with_header_and_all(book: Path):
    first = (book / "dlfs" / "first.py").read_text(encoding="utf-8")
    assert first.startswith('"""Doubling, and a thing.\n\nGenerated from chapters/01-first.md by tools/export.py')
    assert "__all__ = ['SCALE', 'double', 'Thing']" in first
    assert "print(double(21))" not in first and "_HIDDEN = 3" in first
    assert sorted(p.name for p in (book / "dlfs").glob("*.py")) == ["__init__.py", "first.py", "second.py"]


def test_the_package_reexports_public_classes_and_functions_and_the_version(book: Path):
    init = (book / "dlfs" / "__init__.py").read_text(encoding="utf-8")
    assert "from dlfs.first import double, Thing" in init    # constants stay in their module
    assert "from dlfs.second import quadruple" in init
    code = "import dlfs, dlfs.first; print(dlfs.quadruple(1), dlfs.first.SCALE, dlfs.__version__, dlfs.__all__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=book, capture_output=True, text=True)
    assert result.stdout.strip() == "4 2 1.2.3 ['double', 'Thing', 'quadruple']", result.stderr


def test_each_cell_is_marked_with_its_chapter_and_nbval_cell_number(book: Path):
    first = (book / "dlfs" / "first.py").read_text(encoding="utf-8")
    assert first.index("# %% chapters/01-first.md cell 0\n# dlfs.first: doubling, and a thing.\nimport numpy") < first.index(
        "# %% chapters/01-first.md cell 1\nSCALE = 2") < first.index("# %% chapters/01-first.md cell 3\nclass Thing")


def test_a_class_grows_over_cells_and_is_written_whole(tmp_path: Path):
    write_chapter(tmp_path, "01-grow.md", "Growing", "grow", [
        ("def add_to_class(cls):\n    def register(f):\n        setattr(cls, f.__name__, f)\n        return f\n"
         "    return register", False),
        ("# Counting.\nclass Counter:\n    def __init__(self):\n        self.n = 0\n\n\nLIMIT = 3", True),
        ("@add_to_class(Counter)\ndef step(self, by: int = 1):\n    self.n += by\n    return self.n\n\n\n"
         "@add_to_class(Counter)\n@property\ndef done(self) -> bool:\n    return self.n >= LIMIT", True),
        ("@add_to_class(Counter)\ndef reset(self):\n    self.n = 0\n\n\ndef counted(k):\n    c = Counter()\n"
         "    for _ in range(k):\n        c.step()\n    return c", True),
    ])
    assert export(tmp_path).returncode == 0
    module = (tmp_path / "dlfs" / "grow.py").read_text(encoding="utf-8")
    assert "add_to_class" not in module
    assert "__all__ = ['Counter', 'LIMIT', 'counted']" in module
    # the methods sit inside the class, before what follows it in its cell
    assert module.index("    def step(self") < module.index("    def reset(self") < module.index("LIMIT = 3")
    assert "    # %% chapters/01-grow.md cell 2\n    @property\n    def done(self)" in module
    code = "from dlfs.grow import counted; c = counted(3); print(c.n, c.done); c.reset(); print(c.n, c.done)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.split() == ["3", "True", "0", "False"], result.stderr


def test_a_later_cell_replaces_a_method_in_place_as_the_notebook_does(tmp_path: Path):
    write_chapter(tmp_path, "01-grow.md", "Growing", "grow", [
        ("def add_to_class(cls):\n    def register(f):\n        setattr(cls, f.__name__, f)\n        return f\n"
         "    return register", False),
        ("# Clear.\nclass Clear:\n    def area(self):\n        return 'clear'\n\n    def name(self):\n        return 'c'", True),
        ("@add_to_class(Clear)\ndef extra(self):\n    return 'first extra'", True),
        ("@add_to_class(Clear)\ndef area(self):\n    return 'fast'\n\n\n"
         "@add_to_class(Clear)\ndef extra(self):\n    return 'second extra'", True),
    ])
    assert export(tmp_path).returncode == 0
    module = (tmp_path / "dlfs" / "grow.py").read_text(encoding="utf-8")
    assert module.count("def area(self)") == module.count("def extra(self)") == 1, module
    assert module.index("def area(self)") < module.index("def name(self)")   # in the old one's place
    code = "from dlfs.grow import Clear; c = Clear(); print(c.area(), c.extra(), c.name())"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.split() == ["fast", "second", "extra", "c"], result.stderr


def test_a_later_function_replaces_the_earlier_one_in_place(tmp_path: Path):
    write_chapter(tmp_path, "01-plain.md", "Plain", "files", [
        ("# dlfs.files: writing and reading.\ndef save(x):\n    return 'plain save'\n\n\n"
         "def load(x):\n    return 'plain load'", True)])
    write_chapter(tmp_path, "b-hardened.md", "Hardened", None, [
        ("# The hardened save.\ndef save(x):\n    return 'hard save'\n\n\ndef check(x):\n    return x", "export:files")])
    assert export(tmp_path).returncode == 0
    module = (tmp_path / "dlfs" / "files.py").read_text(encoding="utf-8")
    assert module.count("def save(x)") == 1 and "plain save" not in module, module
    assert module.index("# %% chapters/b-hardened.md cell 0\n# The hardened save.\ndef save(x)") \
        < module.index("def load(x)") < module.index("def check(x)")      # in the plain one's place
    assert "__all__ = ['save', 'load', 'check']" in module


def test_a_module_needs_an_opening_comment_for_its_docstring(tmp_path: Path):
    write_chapter(tmp_path, "01-mute.md", "Mute", "mute", [("import numpy as np", True)])
    result = export(tmp_path)
    assert result.returncode != 0 and "must open with a comment" in result.stderr


def test_a_method_for_a_class_not_yet_exported_is_an_error(tmp_path: Path):
    write_chapter(tmp_path, "01-early.md", "Early", "early", [
        ("# Early.\n@add_to_class(Later)\ndef step(self):\n    pass", True), ("class Later:\n    pass", True)])
    result = export(tmp_path)
    assert result.returncode != 0 and "@add_to_class(Later) before class Later is exported" in result.stderr


def test_internal_cells_gather_in_an_internal_module_that_is_not_reexported(tmp_path: Path):
    write_chapter(tmp_path, "01-a.md", "A", "a", [
        ("# dlfs._checks: the checks of A and B.\ndef check_positive(x):\n    assert x > 0\n    return x", "export:_checks"),
        ("# A.\nfrom dlfs._checks import check_positive\n\n\ndef halve(x):\n    return check_positive(x) / 2", True)])
    write_chapter(tmp_path, "02-b.md", "B", "b", [
        ("def check_small(x):\n    assert x < 10\n    return x", "export:_checks"),
        ("# B.\nfrom dlfs._checks import check_small\n\n\ndef double(x):\n    return 2 * check_small(x)", True)])
    assert export(tmp_path).returncode == 0
    checks = (tmp_path / "dlfs" / "_checks.py").read_text(encoding="utf-8")
    assert checks.startswith('"""The checks of A and B.\n\nGenerated from chapters/01-a.md, chapters/02-b.md by tools/export.py')
    assert "__all__ = ['check_positive', 'check_small']" in checks
    init = (tmp_path / "dlfs" / "__init__.py").read_text(encoding="utf-8")
    assert "_checks" not in init and "__all__ = ['halve', 'double']" in init


def test_a_chapter_can_list_the_names_offered_at_the_top_level(tmp_path: Path):
    write_chapter(tmp_path, "01-a.md", "A", "a\n  toplevel: [Layer]", [
        ("# A.\ndef helper(x):\n    return x\n\n\nclass Layer:\n    pass", True)])
    assert export(tmp_path).returncode == 0
    assert "from dlfs.a import Layer\n" in (tmp_path / "dlfs" / "__init__.py").read_text(encoding="utf-8")
    assert "__all__ = ['helper', 'Layer']" in (tmp_path / "dlfs" / "a.py").read_text(encoding="utf-8")
    write_chapter(tmp_path, "01-a.md", "A", "a\n  toplevel: [Missing]", [("# A.\nclass Layer:\n    pass", True)])
    result = export(tmp_path)
    assert result.returncode != 0 and "toplevel lists ['Missing']" in result.stderr


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


def test_the_book_exports_a_small_api_without_validators():
    import dlfs

    part_one = ("layers", "gradcheck", "activations", "losses", "optimizers", "model", "data", "regularization")
    assert len([name for name in dlfs.__all__ if getattr(dlfs, name).__module__.split(".")[-1] in part_one]) <= 35
    assert not [name for name in dlfs.__all__ if name.startswith("check_") and name != "check_layer_gradients"]
    assert not [name for name in dlfs.__all__ if name.isupper() and "_" in name]   # constants, not SGD


def test_the_api_page_documents_exactly_the_public_names():
    import re

    import dlfs

    page = (EXPORTER.parent.parent / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\.\. auto(?:class|function):: dlfs\.(\w+)$", page, re.M)
    assert sorted(documented) == sorted(dlfs.__all__)


# The book itself (issue 25): every exported line is visible, and modules say what they hold -------

ROOT = EXPORTER.parent.parent
HIDING_TAGS = {"remove-cell", "remove-input", "hide-input", "hide-cell",
               "remove_cell", "remove_input", "hide_input", "hide_cell"}     # Jupyter Book reads both spellings


def hidden_export_cells(chapter: Path) -> list[str]:
    """The exported code cells of ``chapter`` (a MyST .md) that the book would hide or collapse."""
    import jupytext

    notebook = jupytext.read(chapter)
    found = []
    for number, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        tags = set(cell.metadata.get("tags", []))
        if not any(tag == "export" or tag.startswith("export:") for tag in tags):
            continue
        hiding = sorted(tags & HIDING_TAGS)
        if cell.metadata.get("jupyter", {}).get("source_hidden"):
            hiding.append("source_hidden")
        if hiding:
            found.append(f"{chapter.name} cell {number}: {', '.join(hiding)}")
    return found


def chapter_titles() -> dict[str, str]:
    """Each chapter's title, its first '# ' heading in a markdown cell."""
    import jupytext

    titles = {}
    for chapter in sorted((ROOT / "chapters").glob("*.md")):
        lines = (line for cell in jupytext.read(chapter).cells if cell.cell_type == "markdown"
                 for line in cell.source.splitlines())
        titles[chapter.name] = next(line[2:] for line in lines if line.startswith("# "))
    return titles


def normalised(text: str) -> str:
    return " ".join(text.lower().replace("\n", " ").split()).rstrip(".:")


def module_summary(path: Path) -> str:
    """A generated module's docstring, without the "Generated from ..." paragraph."""
    import ast

    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return docstring.split("\n\nGenerated ")[0]


def test_the_hidden_cell_check_sees_every_way_of_hiding(tmp_path: Path):
    """The check below, shown to fail: each hiding tag on an export cell is reported, on a
    cell tagged export:NAME too; a hidden cell that exports nothing is not."""
    cells = [("# dlfs.x: visible.\nA = 1", True)]
    cells += [(f"B{i} = 2", f"[export, {tag}]") for i, tag in enumerate(sorted(HIDING_TAGS))]
    cells += [("C = 3", "['export:_other', hide-input]"), ("print('setup')", "[remove-cell]")]
    write_chapter(tmp_path, "01-x.md", "X", "x", [(s, e.strip("[]") if isinstance(e, str) else e) for s, e in cells])
    found = hidden_export_cells(tmp_path / "chapters" / "01-x.md")
    assert [line.split(": ")[1] for line in found] == sorted(HIDING_TAGS) + ["hide-input"], found


def test_no_chapter_hides_an_export_cell():
    chapters = sorted((ROOT / "chapters").glob("*.md"))
    assert len(chapters) >= 13
    hidden = [line for chapter in chapters for line in hidden_export_cells(chapter)]
    assert not hidden, "exported code must be visible in the book:\n" + "\n".join(hidden)


def test_the_docstring_check_would_see_a_chapter_title(tmp_path: Path):
    """Shown to fail: a module whose docstring is a chapter's title, as the old exporter wrote."""
    titles = {normalised(title) for title in chapter_titles().values()}
    assert "the training loop" in titles
    (tmp_path / "old.py").write_text('"""The training loop.\n\nGenerated from chapters/06-training-loop.md."""\n')
    assert normalised(module_summary(tmp_path / "old.py")) in titles


def test_no_module_docstring_is_a_chapter_title():
    """Modules say what they hold (taken from the opening comment of their first export cell),
    not which chapter wrote them: _book.py is not "Loss functions."."""
    titles = {normalised(title): name for name, title in chapter_titles().items()}
    modules = [path for path in sorted((ROOT / "dlfs").glob("*.py")) if path.name != "__init__.py"]
    assert len(modules) >= 14
    for path in modules:
        summary = module_summary(path)
        assert summary, f"dlfs/{path.name} has no docstring"
        assert normalised(summary) not in titles, \
            f"dlfs/{path.name}'s docstring is the title of {titles[normalised(summary)]}: {summary!r}"
