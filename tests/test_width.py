"""Code fits the column: no chapter line of code or of printed output is wider than WIDTH.

The site's code column, measured in Chromium at a 1280-px window with the book's stylesheet
(_static/site.css: 13-px monospace), holds 81 characters in a code cell and 79 inside a dropdown
or an admonition; tests/test_site.py checks in the browser that nothing scrolls. PEP 8's 79 is
the limit here, on every code cell and fenced code block of every chapter, and on every stored
text output (stream, plain-text result, error).
"""

from pathlib import Path

import jupytext
import nbformat
import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 79
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
MARKDOWN = MarkdownIt("commonmark").use(colon_fence_plugin)
CODE = {"code-cell", "code-block", "code", "sourcecode"}   # directives whose body is code


def too_wide(lines, where: str) -> list[str]:
    return [f"{where}, line {n}: {len(line)} > {WIDTH}: {line[:60]}..."
            for n, line in enumerate(lines, 1) if len(line) > WIDTH]


def fenced_code(markdown: str) -> list[str]:
    """The lines of code in a Markdown cell: those of its ``` fences and code directives, also
    inside other directives (admonitions, dropdowns), whose prose is not code."""
    tokens = MARKDOWN.parse(markdown)
    lines = []
    while tokens:
        token = tokens.pop(0)
        name = token.info.strip().partition("}")[0].lstrip("{")
        if token.type == "fence" and (not token.info.startswith("{") or name in CODE):
            lines += token.content.splitlines()
        elif token.type in ("fence", "colon_fence"):
            tokens[:0] = MARKDOWN.parse(token.content)   # a directive: parse its body
    return lines


def printed(output: dict) -> str:
    if output["output_type"] == "stream":
        return output["text"]
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    return output.get("data", {}).get("text/plain", "")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_sources_fit_the_column(chapter: Path):
    notebook = jupytext.read(chapter)
    found = []
    for number, cell in enumerate(notebook.cells, 1):
        lines = (cell.source.splitlines() if cell.cell_type == "code"
                 else fenced_code(cell.source))
        found += too_wide(lines, f"cell {number} ({cell.cell_type})")
    assert not found, f"{chapter.name}: {len(found)} lines\n" + "\n".join(found)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_outputs_fit_the_column(chapter: Path):
    notebook = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    found = []
    for number, cell in enumerate(notebook.cells, 1):
        for output in cell.get("outputs", []):
            found += too_wide(printed(output).splitlines(), f"cell {number} output")
    assert not found, f"{chapter.stem}.ipynb: {len(found)} lines\n" + "\n".join(found)


def test_the_check_catches_a_wide_line():
    assert too_wide(["x" * WIDTH, "y" * (WIDTH + 1)], "planted") == [
        f"planted, line 2: {WIDTH + 1} > {WIDTH}: {'y' * 60}..."]
    assert fenced_code("text\n```python\n" + "z" * 99 + "\n```\n" + "w" * 99) == ["z" * 99]
    nested = "````{admonition} Solutions\nprose\n```python\nx = 1\n```\n````\n"
    assert fenced_code(nested) == ["x = 1"]
    assert fenced_code(":::{dropdown}\n```python\ny = 2\n```\n:::\n") == ["y = 2"]
    assert fenced_code("```{note}\n" + "prose " * 30 + "\n```\n") == []
