"""Sphinx extension: each chapter's download menu offers its readers' notebook.

tools/reader_notebooks.py writes the readers' notebooks: each chapter's cells and stored outputs,
with the MyST resolved into plain Markdown that JupyterLab, VS Code and Colab render. This writes
them into the site (``_readers/chapters/NAME.ipynb``, with ``numeric_platform.py`` beside them)
and puts an entry for the page's one at the top of the download menu, before the source notebook.
Loaded through ``sphinx: local_extensions:`` in _config.yml.
"""

from pathlib import Path

import reader_notebooks

BUTTON_GROUP = "download-buttons"
FOLDER = "_readers"


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
