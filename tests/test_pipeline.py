"""The literate pipeline: dlfs/ is exported from the chapters, each .md/.ipynb pair agrees,
and the book builds with warnings as errors."""

import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


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
