"""Sphinx extension: the number a reader sees for a chapter is the number in its file name.

A chapter's file starts with its number: ``chapters/09-convolution`` is chapter 9. Sphinx numbers
the chapters of the numbered parts of ``_toc.yml`` in reading order; this extension checks that
every such number equals the file's, and warns (an error under ``-W``) where they differ.

An appendix's file starts with a letter, ``chapters/a-performance`` is appendix A. Sphinx only
counts, so its number (and the numbers of its sections and figures) gets the letter in place of
the count, on the site and in the PDF, where LaTeX's ``\\appendix`` starts the lettering. Pages
of unnumbered parts (the reference pages) stay unnumbered in the PDF too.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)
CHAPTER_FILE = re.compile(r"chapters/(?:(\d+)|([a-z]))-[\w-]+")


def file_number(docname: str) -> int | str | None:
    """The number a chapter's file name gives it: 9, "A" (an appendix), or None (no chapter)."""
    match = CHAPTER_FILE.fullmatch(docname)
    if not match:
        return None
    return int(match[1]) if match[1] else match[2].upper()


def letter_appendices(app, env) -> list[str]:
    """Check each chapter's number against its file name; give each appendix its letter."""
    relabelled = []
    for docname, numbers in env.toc_secnumbers.items():
        expected, shown = file_number(docname), numbers.get("", ())[:1]
        if expected is None or not shown:
            continue
        if isinstance(expected, int):
            if shown[0] != expected:
                logger.warning(f"{docname} is shown as chapter {shown[0]}: its file name says "
                               f"{expected} (rename the file or reorder _toc.yml)", location=docname)
            continue
        env.toc_secnumbers[docname] = {key: (expected, *value[1:]) for key, value in numbers.items()}
        for reference in env.tocs[docname].findall(nodes.reference):
            if reference.get("secnumber"):
                reference["secnumber"] = [expected, *reference["secnumber"][1:]]
        env.titles[docname]["secnumber"] = [expected]
        for figures in env.toc_fignumbers.get(docname, {}).values():
            figures.update({key: (expected, *value[1:]) for key, value in figures.items()})
        relabelled.append(docname)
    return relabelled


def number_the_pdf(app, doctree, docname) -> None:
    """In the PDF: ``\\appendix`` before the first appendix; no numbers on unnumbered pages."""
    if app.builder.name != "latex":
        return
    numbered_before, appendix_started = True, False
    for start in doctree.findall(addnodes.start_of_file):
        if start["docname"] == app.config.root_doc:   # a part's heading, not a page
            continue
        number = file_number(start["docname"])
        numbered = bool(app.env.toc_secnumbers.get(start["docname"], {}).get(""))
        latex = []
        if isinstance(number, str) and numbered and not appendix_started:
            latex.append(r"\appendix")
            appendix_started = True
        if numbered != numbered_before:
            latex.append(r"\setcounter{secnumdepth}{\dlfssecnumdepth}" if numbered else
                         r"\edef\dlfssecnumdepth{\arabic{secnumdepth}}\setcounter{secnumdepth}{-1}")
            numbered_before = numbered
        if latex:
            start.insert(0, nodes.raw("", "\n".join(latex) + "\n", format="latex"))


def setup(app):
    app.connect("env-get-updated", letter_appendices, priority=900)   # after Sphinx numbers
    app.connect("doctree-resolved", number_the_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
