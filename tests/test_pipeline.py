"""The literate pipeline: dlfs/ is exported from the chapters, each .md/.ipynb pair agrees,
and the book builds with warnings as errors."""

import runpy
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
NUMBERS = runpy.run_path(str(ROOT / "tools" / "chapter_numbers.py"))


def test_dlfs_matches_the_chapters():
    result = subprocess.run(
        [sys.executable, "tools/export.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def cells(notebook) -> list[tuple[str, str, list[str]]]:
    """What a pair must agree on: each cell's type, source and tags."""
    return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_pair_is_in_sync(chapter: Path):
    notebook = chapter.with_suffix(".ipynb")
    fix = f"run `make run CH=chapters/{chapter.name}` to rebuild the notebook from the .md and refresh its outputs"
    assert notebook.exists(), f"{notebook.name} is missing: {fix}"
    md, ipynb = jupytext.read(chapter), jupytext.read(notebook)
    assert cells(md) == cells(ipynb), f"{chapter.name} and {notebook.name} hold different cells: {fix}"
    assert md.metadata.get("dlfs") == ipynb.metadata.get("dlfs"), f"their dlfs: front matter differs: {fix}"


def test_every_chapter_is_in_the_book():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    missing = [c.name for c in CHAPTERS if f"file: chapters/{c.stem}\n" not in toc]
    assert not missing, f"chapters missing from _toc.yml: {missing}"


def test_book_builds_without_warnings(built_book: Path):
    assert (built_book / "index.html").exists()


def test_every_chapter_shows_the_number_of_its_file_and_reference_pages_none(built_book: Path):
    import re

    file_number = NUMBERS["file_number"]
    link = re.compile(r'<a class="reference internal" href="(?:chapters/)?([\w-]+)\.html">([^<]*)</a>')
    shown = {}   # every page's entry in the sidebar (a page does not link itself: read two pages)
    for page in ("api.html", "notation.html"):
        shown |= {name: text.strip() for name, text in link.findall((built_book / page).read_text("utf-8"))}
    for chapter in CHAPTERS:
        assert shown[chapter.stem].startswith(f"{file_number(f'chapters/{chapter.stem}')}. "), (
            f"{chapter.name} is shown as {shown[chapter.stem]!r}")
    for page in ("api", "notation", "bibliography"):
        assert not re.match(r"[\dA-Z]+\. ", shown[page]), f"{page} is numbered: {shown[page]!r}"


def test_a_chapter_shown_under_another_number_than_its_file_fails_the_build():
    from types import SimpleNamespace

    warnings = []
    env = SimpleNamespace(toc_secnumbers={"chapters/09-convolution": {"": (12,)}})
    original = NUMBERS["logger"].warning
    NUMBERS["logger"].warning = lambda message, **kwargs: warnings.append(message)
    try:
        NUMBERS["letter_appendices"](None, env)
    finally:
        NUMBERS["logger"].warning = original
    assert warnings == ["chapters/09-convolution is shown as chapter 12: its file name says 9 "
                        "(rename the file or reorder _toc.yml)"]
