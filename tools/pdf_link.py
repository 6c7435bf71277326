"""Sphinx extension: when the book's PDF has been built, the landing page offers it.

`make pdf` writes `_build/latex/dlfs.pdf`. A later HTML build (`make book`) then copies it beside
the site (as a download) and ends the landing page with a link to it. Without a PDF the site shows
no link. Loaded through `sphinx: local_extensions:` in _config.yml.
"""

from pathlib import Path

PDF = Path("_build") / "latex" / "dlfs.pdf"


def pdf_link(srcdir: Path) -> str:
    """The MyST text that links the PDF, or nothing when it has not been built."""
    if not (srcdir / PDF).is_file():
        return ""
    return f"\n\n```{{tip}}\nThe whole book is also a PDF: {{download}}`dlfs.pdf <{PDF.as_posix()}>`.\n```\n"


def add_pdf_link(app, docname: str, source: list[str]) -> None:
    if docname == app.config.root_doc and app.builder.format == "html":
        source[0] += pdf_link(Path(app.srcdir))


def reread_root(app, env, added, changed, removed) -> list[str]:
    """Read the landing page on every build: whether the PDF exists may have changed."""
    return [app.config.root_doc] if app.builder.format == "html" else []


def setup(app):
    app.connect("env-get-outdated", reread_root)
    app.connect("source-read", add_pdf_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
