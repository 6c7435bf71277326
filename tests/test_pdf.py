"""The book as a PDF (`make pdf`): built from the stored outputs and checked as a reader would
(tools/check_pdf.py), then linked from the site.

Needs TeX and poppler (the README lists Debian's packages). Without them these tests are skipped
with a one-line message on a contributor's machine; in CI (`CI` set) a missing TeX is a failure.
"""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = runpy.run_path(str(ROOT / "tools" / "check_pdf.py"))
LINK = runpy.run_path(str(ROOT / "tools" / "pdf_link.py"))
TOOLS = ("xelatex", "latexmk", "pdftotext", "pdfimages")


@pytest.fixture(scope="session")
def built_pdf() -> Path:
    """Build the PDF once per test session, with warnings as errors; the PDF's path."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"the PDF needs TeX and poppler ({', '.join(missing)} missing): see the README"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", ".", "--builder", "pdflatex",
         "--warningiserror", "--nitpick", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, "the PDF build failed (`make pdf` shows it):\n" + result.stdout[-6000:]
    return ROOT / "_build" / "latex" / "dlfs.pdf"


def test_the_pdf_has_every_page_reference_and_figure_and_no_line_too_wide(built_pdf):
    log = built_pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    found = CHECK["problems"](CHECK["pdf_text"](built_pdf), log, CHECK["embedded_images"](built_pdf),
                              CHECK["book_pages"]())
    assert not found, "\n".join(found)


def test_the_site_links_the_pdf(built_pdf, built_book):
    landing = (built_book / "intro.html").read_text(encoding="utf-8")
    assert 'dlfs.pdf"' in landing
    linked = list((built_book / "_downloads").glob("*/dlfs.pdf"))
    assert len(linked) == 1 and linked[0].read_bytes() == built_pdf.read_bytes()


def test_without_a_pdf_the_site_shows_no_link(tmp_path):
    assert LINK["pdf_link"](tmp_path) == ""
    (tmp_path / LINK["PDF"]).parent.mkdir(parents=True)
    (tmp_path / LINK["PDF"]).write_bytes(b"%PDF-1.5")
    assert "{download}`dlfs.pdf <_build/latex/dlfs.pdf>`" in LINK["pdf_link"](tmp_path)


# The checks can fail: each kind of defect, once, on a page of a real chapter.
PAGES = CHECK["book_pages"]()
TITLES = f"Version {CHECK['VERSION']} " + " ".join(CHECK["heading"](page) for page in PAGES)
FIGURES = sum(CHECK["figures"](page) for page in PAGES)


@pytest.mark.parametrize("text, log, images, problem", [
    (TITLES.replace("Backpropagation", "Backprop"), "", FIGURES, "'2 Backpropagation', is not in the PDF"),
    (TITLES.replace("9 Convolutional", "10 Convolutional"), "", FIGURES, "'9 Convolutional networks', is not"),
    (TITLES.replace("A Performance", "12 Performance"), "", FIGURES, "'A Performance', is not in the PDF"),
    (TITLES + " as shown in ??.", "", FIGURES, "an unresolved reference"),
    (TITLES.replace("Version", "Release"), "", FIGURES, "the title page does not name the version"),
    (TITLES, "LaTeX Warning: Reference `ch-mnist' on page 3 undefined on input line 9.", FIGURES,
     "LaTeX: Reference `ch-mnist' on page 3 undefined"),
    (TITLES, "", FIGURES - 1, f"the PDF embeds {FIGURES - 1} images, the site shows {FIGURES} figures"),
    (TITLES, "Overfull \\hbox (42.1pt too wide) in paragraph at lines 812--812", FIGURES,
     "a line runs 42.1 pt past the margin (dlfs.tex line 812)"),
])
def test_each_defect_is_found(text, log, images, problem):
    found = CHECK["problems"](text, log, images, PAGES)
    assert len(found) == 1 and problem in found[0], found


def test_a_box_a_hair_too_wide_is_tolerated():
    log = "Overfull \\hbox (1.9pt too wide) in paragraph at lines 5--5"
    assert CHECK["problems"](TITLES, log, FIGURES, PAGES) == []
