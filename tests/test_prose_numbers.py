"""Figures that the prose quotes from a run are glued from the run, never typed (tools/prose_numbers.py)."""

import runpy
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = runpy.run_path(str(ROOT / "tools" / "prose_numbers.py"))
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_no_prose_number_copies_an_output(chapter):
    found = TOOL["findings"](chapter)
    assert not found, "\n".join(map(str, found))


def chapter_with(tmp_path, prose: str, code: str = "print(accuracy)", output: str = "accuracy 0.9520\n") -> Path:
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose), cell]), path)
    return path


@pytest.mark.parametrize("prose", [
    "The network reaches 0.95 on held-out digits.",
    "It gets 95.2% of them right.",
    "It gets 95% of them right.",
    "An aside:\n\n```{admonition} Solutions\n:class: dropdown\n\n1. Accuracy is about 0.952.\n```",
])
def test_a_typed_copy_is_found(tmp_path, prose):
    assert len(TOOL["findings"](chapter_with(tmp_path, prose))) == 1


@pytest.mark.parametrize("prose, code", [
    ("The network reaches {glue:text}`accuracy:.2f` on held-out digits.", "print(accuracy)"),
    ("A learning rate of 0.95 is too large.", "fit(learning_rate=0.95)"),
    ("Its variance is $0.95 = 1 - 0.05$.", "print(accuracy)"),
    ("The digits 0 to 9, of which `0.9520` ...", "print(accuracy)"),
    ("The network reaches 0.94 on held-out digits.", "print(accuracy)"),
])
def test_glued_mathematical_coded_and_unrelated_numbers_pass(tmp_path, prose, code):
    assert TOOL["findings"](chapter_with(tmp_path, prose, code)) == []


def test_the_error_count_of_a_run_is_found(tmp_path):
    path = chapter_with(tmp_path, "It gets 956 of the 1,000 digits right.", output="correct: 956 of 1000\n")
    assert [f.number for f in TOOL["findings"](path)] == ["956", "1,000"]
