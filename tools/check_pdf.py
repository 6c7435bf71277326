"""Check the book's PDF (`make pdf`) as a reader would, with poppler's tools and the LaTeX log.

- the title page names the version (pyproject.toml's);
- every page of the book (each `file:` in _toc.yml) has its title in the PDF's text, a chapter's
  after its number (its file's number, an appendix's letter: tools/chapter_numbers.py);
- no reference or citation is left unresolved (`??` in the text, "undefined" in the log);
- the PDF embeds one image per figure of the site: each image output of a notebook (but those of
  collapsed cells, which the PDF leaves out), and each figure or image of a page's Markdown;
- no line of code or output runs past the margin: no overfull box wider than a few points.

    python tools/check_pdf.py          # check _build/latex/dlfs.pdf; exit 1 on any problem
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
import tomllib
from pathlib import Path

import jupytext
import yaml

ROOT = Path(__file__).resolve().parent.parent
FILE_NUMBER = runpy.run_path(str(ROOT / "tools" / "chapter_numbers.py"))["file_number"]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
LATEX = ROOT / "_build" / "latex"
MAX_OVERFULL_PT = 5.0   # a few points: the API page's longest signature runs 4 pt into the margin
UNRESOLVED_IN_LOG = re.compile(r"(Reference|Citation) `[^']*' on page \d+ undefined|There were undefined")
OVERFULL = re.compile(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)[^\n]*lines? (\d+)")
MARKDOWN_FIGURE = re.compile(r"^```\{figure\}|!\[[^\]]*\]\(", re.M)


def book_pages(root: Path = ROOT) -> list[Path]:
    """The source of every page in _toc.yml, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    pages = []
    for name in files:
        notebook = root / f"{name}.ipynb"
        pages.append(notebook if notebook.exists() else root / f"{name}.md")
    return pages


def title(page: Path) -> str:
    for cell in jupytext.read(page).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError(f"{page.name} has no title")


def heading(page: Path) -> str:
    """A page's heading as the PDF prints it: "9 Convolutional networks", "A Performance", "Notation"."""
    number = FILE_NUMBER(f"{page.parent.name}/{page.stem}")
    return title(page) if number is None else f"{number} {title(page)}"


def figures(page: Path) -> int:
    """The figures the site shows for one page, open: image outputs and Markdown figures."""
    count = 0
    for cell in jupytext.read(page).cells:
        if cell.cell_type == "markdown":
            count += len(MARKDOWN_FIGURE.findall(cell.source))
        elif not {"remove-cell", "remove-output", "hide-cell", "hide-output"} & set(cell.metadata.get("tags", [])):
            count += sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
    return count


def embedded_images(pdf: Path) -> int:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return sum(line.split()[2] == "image" for line in listing.splitlines()[2:])


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def problems(text: str, log: str, images: int, pages: list[Path]) -> list[str]:
    """Everything wrong with a PDF whose text, LaTeX log and image count are given."""
    found = []
    flat = " ".join(text.split())
    if f"Version {VERSION}" not in flat:
        found.append(f"the title page does not name the version, {VERSION} (pyproject.toml)")
    found += [f"the heading of {p.name}, {heading(p)!r}, is not in the PDF" for p in pages if heading(p) not in flat]
    if "??" in text:
        found.append(f"an unresolved reference: ...{flat[max(0, flat.index('??') - 60):flat.index('??') + 20]}...")
    found += [f"LaTeX: {m.group(0)}" for m in UNRESOLVED_IN_LOG.finditer(log)]
    expected = sum(figures(p) for p in pages)
    if images != expected:
        found.append(f"the PDF embeds {images} images, the site shows {expected} figures")
    found += [f"a line runs {m.group(1)} pt past the margin (dlfs.tex line {m.group(2)})"
              for m in OVERFULL.finditer(log) if float(m.group(1)) > MAX_OVERFULL_PT]
    return found


def main() -> int:
    pdf = LATEX / "dlfs.pdf"
    if not pdf.exists():
        print(f"{pdf} does not exist: run `make pdf`")
        return 1
    log = (LATEX / "dlfs.log").read_text(encoding="utf-8", errors="replace")
    found = problems(pdf_text(pdf), log, embedded_images(pdf), book_pages())
    print("\n".join(found) or f"{pdf.name}: every page, reference and figure is there, no line too wide")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
