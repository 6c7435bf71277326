"""Sphinx extension: each chapter's download menu offers its readers' notebook, and the landing
page the readers' zip once `make zip` has built it.

tools/reader_notebooks.py writes the readers' notebooks: each chapter's cells and stored outputs,
with the MyST resolved into plain Markdown that JupyterLab, VS Code and Colab render. This writes
them into the site (``_readers/chapters/NAME.ipynb``, with ``numeric_platform.py`` beside them)
and puts an entry for the page's one at the top of the download menu, before the source notebook.
`make zip` writes ``_build/dlfs-notebooks.zip`` (every notebook, the dlfs wheel, a
requirements.txt); a later HTML build (`make book`) copies it beside the site and ends the landing
page with a link to it, as tools/pdf_link.py does for the PDF. Loaded through
``sphinx: local_extensions:`` in _config.yml.
"""

from pathlib import Path

import reader_notebooks
from pdf_link import reread_root   # the landing page is read on every build

BUTTON_GROUP = "download-buttons"
FOLDER = "_readers"
ZIP = Path("_build") / "dlfs-notebooks.zip"


def zip_link(srcdir: Path) -> str:
    """The MyST text that offers the readers' zip, or nothing when it has not been built."""
    if not (srcdir / ZIP).is_file():
        return ""
    return ("\n\n```{tip}\nEvery chapter as a notebook you can run, with the `dlfs` package and what it "
            f"needs: {{download}}`dlfs-notebooks.zip <{ZIP.as_posix()}>`. Unpack it anywhere, then "
            "`pip install -r requirements.txt` and `jupyter lab` in that folder (its README.txt says "
            "more); no clone of the book is needed.\n```\n")


def add_zip_link(app, docname: str, source: list[str]) -> None:
    if docname == app.config.root_doc and app.builder.format == "html":
        source[0] += zip_link(Path(app.srcdir))


def add_reader_button(app, pagename, templatename, context, doctree):
    if not pagename.startswith("chapters/"):
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == BUTTON_GROUP:
            group["buttons"].insert(0, {
                "type": "link",
                "url": f"{context['pathto'](FOLDER, 1)}/{pagename}.ipynb",
                "text": "notebook",
                "tooltip": "Download the readers' notebook: this chapter as you see it, to run in Jupyter",
                "icon": "fas fa-book-open",
                "label": "download-reader-notebook-button",
            })


def write_reader_notebooks(app, exception):
    if exception is None and app.builder.format == "html":
        reader_notebooks.build(Path(app.outdir) / FOLDER, root=Path(app.srcdir), quiet=True)


def setup(app):
    # after sphinx-book-theme has built its download menu (priority 501)
    app.connect("html-page-context", add_reader_button, priority=610)
    app.connect("build-finished", write_reader_notebooks)
    app.connect("env-get-outdated", reread_root)
    app.connect("source-read", add_zip_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
