"""Sphinx extension: offer each chapter's MyST Markdown source next to its notebook.

The book renders `chapters/NAME.ipynb`; its paired `chapters/NAME.md` is the file authors edit.
sphinx-book-theme's download button already offers the `.ipynb` (copied to `_sources/`). This
copies every paired `.md` next to it and adds a `.md` entry to the same download menu.
Loaded through `sphinx: local_extensions:` in _config.yml.
"""

import shutil
from pathlib import Path

BUTTON_GROUP = "download-buttons"


def _paired_markdown(app, docname: str) -> Path | None:
    """The .md paired with this page's notebook, if the page is a notebook that has one."""
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return None
    markdown = source.with_suffix(".md")
    return markdown if markdown.exists() else None


def add_markdown_button(app, pagename, templatename, context, doctree):
    if _paired_markdown(app, pagename) is None:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != BUTTON_GROUP:
            continue
        url = f"{context['pathto']('_sources', 1)}/{pagename}.md"
        buttons = group["buttons"]
        # right after the notebook (.ipynb) entry, before "print to PDF"
        buttons.insert(1, {
            "type": "link",
            "url": url,
            "text": ".md",
            "tooltip": "Download the MyST Markdown source (paired with the .ipynb by jupytext)",
            "icon": "fab fa-markdown",
            "label": "download-markdown-button",
        })


def copy_markdown_sources(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for docname in app.env.found_docs:
        markdown = _paired_markdown(app, docname)
        if markdown is not None:
            target = Path(app.outdir) / "_sources" / f"{docname}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(markdown, target)


def setup(app):
    # after sphinx-book-theme has built its download menu (priority 501)
    app.connect("html-page-context", add_markdown_button, priority=600)
    app.connect("build-finished", copy_markdown_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
