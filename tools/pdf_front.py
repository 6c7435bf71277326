"""Sphinx extension: the PDF's front pages.

- The title page names the book's version, which is written once, in pyproject.toml.
- The introduction (the landing page) follows the table of contents without a chapter heading of
  its own, so LaTeX would go on heading its pages "CONTENTS"; they are headed by its title.

Loaded through `sphinx: local_extensions:` in _config.yml.
"""

import tomllib
from pathlib import Path

from docutils import nodes


def set_version(app, config) -> None:
    pyproject = tomllib.loads((Path(app.srcdir) / "pyproject.toml").read_text(encoding="utf-8"))
    config.version = config.release = pyproject["project"]["version"]
    config.latex_elements["releasename"] = "Version"


def head_the_introduction(app, doctree, docname) -> None:
    if app.builder.name == "latex" and docname == app.config.root_doc:
        title = app.env.titles[docname].astext()
        doctree.insert(0, nodes.raw("", f"\\markboth{{{title}}}{{{title}}}\n", format="latex"))


def setup(app):
    app.connect("config-inited", set_version)
    app.connect("doctree-resolved", head_the_introduction)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
