"""Write the readers' notebooks: `make notebooks` -> _build/notebooks/chapters/<chapter>.ipynb.

The chapters' notebooks (chapters/*.ipynb) are written in MyST for the site: labels
``(ch-x)=``, roles such as ``{glue:text}`key:.3f``` and ``{ref}`ch-x```, and admonition
directives. JupyterLab, VS Code and Colab show that markup raw. This tool writes one notebook
per chapter and appendix (in _toc.yml's order) that keeps every cell and every stored output,
with the MyST of the Markdown cells resolved into plain CommonMark and a little HTML:

- glue roles become the glued values, read from the notebook's own stored glue outputs and
  formatted as myst-nb formats them (``myst_nb.core.variables.format_plain_text``);
- ``{ref}``, ``{numref}`` and ``{doc}`` become the text the site shows (the section or chapter
  title, or the role's explicit text), linked to the reader notebook when there is one;
- ``{cite:p}`` becomes the label the site shows (``[GB10]``, sphinxcontrib-bibtex's default
  "alpha" labels, computed with pybtex from references.bib; ``{cite:t}``: "Glorot and Bengio
  [GB10]"), linked to a "References" cell appended to the notebook, which lists the cited works;
- labels ``(x)=`` and comments ``% ...`` disappear; ``$...$`` and ``$$...$$`` math stay;
- admonitions become block quotes with a bold title; ``:class: dropdown`` ones (exercise
  solutions) become ``<details><summary>Title</summary> ... </details>``, folded. Their bodies
  are parsed and converted again;
- code cells the site hides (tags remove-input, hide-input, remove-cell, hide-cell) stay, with
  ``metadata.jupyter.source_hidden``; remove-output / hide-output set ``outputs_hidden``;
- stored glue outputs (mime ``application/papermill.record/...``, shown nowhere) are stripped;
- the ``jupytext`` metadata goes, so a reader's jupytext does not pair the copy with a .md.

Links to sections use JupyterLab's heading anchors (the heading's text, spaces as ``-``);
VS Code and Colab open the notebook at its top. ``{numref}`` shows the title, not a number.
Figures become ``![alt](path)`` with the path as written (the chapters' Markdown has none: their
figures are drawn by code). Other directives become their converted body, with a warning on
stderr; a glue key with no stored output stops the build.

The Markdown is parsed with myst-parser's own markdown-it parser (``create_md_parser`` with
_config.yml's ``myst_enable_extensions``) and re-rendered by the small token walker below
(``render_blocks`` / ``render_inline``); no regular expression looks at the document structure.

The code cells still call ``from myst_nb import glue``. Outside Sphinx, myst-nb's ``glue``
only displays the value with a mime type that front ends do not show, so the notebooks run
top to bottom in a plain kernel: the readers' environment needs ``myst-nb`` installed (no
stand-in module is written).

The folder runs on its own, laid out as the repository is, so that the chapters' relative paths
(``../benchmarks/results.json``) hold: the notebooks in ``chapters/``, beside them
``numeric_platform.py``, and the files the chapters read in ``benchmarks/`` (the stored runs'
JSON, and the benchmark modules Appendix A imports). A readers' notebook starts with the readers'
platform cell, ``pin_reader()``: where the kernel cannot be pinned (another CPU, NumPy imported
already) it says in one line that the last digits may differ, and goes on; the authors' cell in
chapters/ fails loudly instead.

The output is generated, never edited, and deterministic: the same sources give the same bytes.

    python tools/reader_notebooks.py [--out _build/notebooks]
"""

from __future__ import annotations

import argparse
import copy
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml
from docutils.parsers.rst import Directive
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.tree import SyntaxTreeNode
from myst_nb.core.variables import format_plain_text
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.directives import parse_directive_text
from myst_parser.parsers.mdit import create_md_parser

ROOT = Path(__file__).resolve().parent.parent
GLUE_PREFIX = "application/papermill.record/"
AUTHORS_PLATFORM_CALL = 'runpy.run_path("../tools/numeric_platform.py")["pin_kernel"]()'
READERS_PLATFORM_CELL = """\
# Every stored output is computed on one numeric platform: numeric_platform.py, beside this
# notebook, says why. Where this kernel cannot be pinned to it, the last digits may differ.
import runpy

try:
    runpy.run_path("numeric_platform.py")["pin_reader"]()
except FileNotFoundError:
    print("numeric_platform.py is not beside this notebook: the last digits may differ")"""
BENCHMARK_FILES = ("*.json", "*.py")     # what the chapters read from ../benchmarks
HIDE_SOURCE = {"remove-input", "hide-input", "remove-cell", "hide-cell"}
HIDE_OUTPUT = {"remove-output", "hide-output", "remove-cell", "hide-cell"}
ADMONITIONS = {
    "attention", "caution", "danger", "error", "hint", "important", "note", "seealso",
    "tip", "warning",
}
REFERENCES_ANCHOR = "References"
_COMMONMARK = MarkdownIt("commonmark")   # for HTML titles: leaves $math$ to the front end


def book_parser(root: Path = ROOT):
    """myst-parser's markdown-it parser with the book's extensions (from _config.yml)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    extensions = config.get("parse", {}).get("myst_enable_extensions", [])
    return create_md_parser(MdParserConfig(enable_extensions=set(extensions)), RendererHTML)


class _AnyDirective(Directive):
    """Parses any directive's text: an optional title argument, options, a body."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"class": str, "name": str}   # non-empty: myst-parser then reads options


class _NoArgumentDirective(_AnyDirective):
    """{note}, {tip}, ...: no title argument; text on the first line starts the body."""

    optional_arguments = 0


@dataclass
class Target:
    """Where a label points: the text the site shows and the reader notebook's link."""

    title: str            # Markdown
    href: str | None = None


@dataclass
class Context:
    """What the walker needs to resolve a notebook's roles."""

    glue: dict = field(default_factory=dict)       # key -> mime bundle (prefix removed)
    targets: dict = field(default_factory=dict)    # label -> Target
    docs: dict = field(default_factory=dict)       # "chapters/01-x" -> Target
    cite_labels: dict = field(default_factory=dict)  # bibtex key -> "GB10"
    cite_authors: dict = field(default_factory=dict)  # bibtex key -> "Glorot and Bengio"
    this_file: str = ""                             # the reader notebook's file name
    doc: str = ""                                   # the source document ("chapters/01-x")
    cited: list = field(default_factory=list)       # keys, in order of first citation
    warnings: list = field(default_factory=list)

    def link(self, text: str, href: str | None) -> str:
        if not href:
            return text
        if self.this_file and href.startswith(self.this_file + "#"):
            href = href[len(self.this_file):]   # a link within the same notebook
        elif href == self.this_file:
            href = "#"
        return f"[{text}]({href})"


# --- the inline walker -------------------------------------------------------------------

_ALWAYS_ESCAPE = set("\\`*[]<$")


def escape_text(text: str, line_start: bool) -> str:
    """Escape what CommonMark (with dollar math) would read as markup in plain text.

    ``line_start``: the text begins a line, where ``#``, ``>``, ``- ``, ``1. `` ... open blocks.
    """
    out = []
    for i, ch in enumerate(text):
        if ch in _ALWAYS_ESCAPE:
            out.append("\\" + ch)
        elif ch == "_":
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            out.append("_" if before.isalnum() and after.isalnum() else "\\_")
        else:
            out.append(ch)
    result = "".join(out)
    if line_start and _opens_block(result):
        digits = len(result) - len(result.lstrip("0123456789"))
        result = result[:digits] + "\\" + result[digits:]
    return result


def _opens_block(line: str) -> bool:
    """Would ``line``, at the start of a line, open a block (heading, list, quote, ...)?"""
    head = line.lstrip("0123456789")
    if head != line:   # digits: an ordered list marker "1." / "1)" then a space or the end
        return head[:1] in (".", ")") and head[1:2] in ("", " ")
    stripped = line.rstrip()
    if line[:1] == "#":
        return stripped.lstrip("#")[:1] in ("", " ") and len(line) - len(line.lstrip("#")) <= 6
    if line[:1] in ("-", "+", "*"):
        return line[1:2] in ("", " ") or set(stripped) <= {"-", " "}
    return line[:1] in (">", "=") or line.startswith(("~~~", "|"))


def _code_span(content: str) -> str:
    ticks = "`"
    while ticks in content:
        ticks += "`"
    pad = " " if content.startswith("`") or content.endswith("`") else ""
    return f"{ticks}{pad}{content}{pad}{ticks}"


def render_inline(nodes, ctx: Context, parser) -> str:
    """Markdown for a list of inline syntax-tree nodes."""
    out: list[str] = []
    for node in nodes:
        at_line_start = not out or out[-1].endswith("\n")
        t = node.type
        if t == "text":
            text = escape_text(node.content, at_line_start)
            line = "".join(out).rpartition("\n")[2]
            if line.isdigit() and _opens_block(line + node.content):
                text = "\\" + text   # "34" from a role, then ".": not a list marker
            out.append(text)
        elif t == "softbreak":
            out.append("\n")
        elif t == "hardbreak":
            out.append("\\\n")
        elif t in ("em", "strong", "s"):
            mark = node.markup or {"em": "*", "strong": "**", "s": "~~"}[t]
            out.append(mark + render_inline(node.children, ctx, parser) + mark)
        elif t == "code_inline":
            out.append(_code_span(node.content))
        elif t == "math_inline":
            out.append(f"${node.content}$")
        elif t == "math_inline_double":
            out.append(f"$${node.content}$$")
        elif t == "html_inline":
            out.append(node.content)
        elif t == "link":
            href = node.attrs.get("href", "")
            if node.markup == "autolink":
                out.append(f"<{href}>")
            else:
                title = node.attrs.get("title")
                suffix = f' "{title}"' if title else ""
                text = render_inline(node.children, ctx, parser)
                out.append(f"[{text}]({href}{suffix})")
        elif t == "image":
            alt = render_inline(node.children, ctx, parser)
            out.append(f"![{alt}]({node.attrs.get('src', '')})")
        elif t == "myst_role":
            name = node.meta.get("name", "")
            out.append(render_role(name, node.content, ctx, parser, at_line_start))
        else:
            ctx.warnings.append(f"inline token {t!r} rendered as its text")
            out.append(escape_text(node.content, at_line_start))
    return "".join(out)


def _split_explicit(content: str) -> tuple[str | None, str]:
    """``text <target>`` -> ("text", "target"); ``target`` -> (None, "target")."""
    content = content.strip()
    if content.endswith(">") and "<" in content:
        text, _, target = content[:-1].rpartition("<")
        if text.strip():
            return text.strip(), target.strip()
    return None, content


def render_role(
    name: str, content: str, ctx: Context, parser, line_start: bool = False
) -> str:
    """Markdown for one MyST role, as the site shows it."""
    if name in ("glue:text", "glue", "glue:", "glue:any", "glue:md"):
        key, _, fmt = content.rpartition(":")
        if not key or (name == "glue:md" and fmt not in ("myst", "commonmark")):
            key, fmt = content, ("" if name != "glue:md" else "commonmark")
        key = key.strip()
        if key not in ctx.glue:
            raise KeyError(f"glue key {key!r} has no stored output in {ctx.this_file}")
        data = ctx.glue[key]
        if name == "glue:md" or (name != "glue:text" and "text/markdown" in data):
            # Glued Markdown may itself hold MyST: convert it like any other text.
            return convert_markdown(data["text/markdown"], ctx, parser).strip()
        return escape_text(format_plain_text(data["text/plain"], fmt), line_start)
    if name in ("ref", "numref", "doc", "any"):
        text, target = _split_explicit(content)
        if name == "doc":
            key = target.removesuffix(".md").removesuffix(".ipynb")
            # absolute from the book's root, or relative to the citing document
            here = posixpath.dirname(ctx.doc)
            key = key[1:] if key.startswith("/") else posixpath.join(here, key)
            found = ctx.docs.get(posixpath.normpath(key))
        else:
            found = ctx.targets.get(target)
        if found is None:
            ctx.warnings.append(f"{{{name}}} target {target!r} not found")
            return escape_text(text or target, False)
        return ctx.link(escape_text(text, False) if text else found.title, found.href)
    if name.startswith("cite"):
        keys = [k.strip() for k in content.split(",") if k.strip()]
        labels = []
        for key in keys:
            if key not in ctx.cited:
                ctx.cited.append(key)
            label = f"[{ctx.cite_labels.get(key, key)}](#{REFERENCES_ANCHOR})"
            if name in ("cite:t", "cite:ct"):   # textual: "Glorot and Bengio [GB10]"
                label = f"{ctx.cite_authors.get(key, key)} \\[{label}\\]"
            labels.append(label)
        if name in ("cite:t", "cite:ct"):
            return ", ".join(labels)
        return "\\[" + ", ".join(labels) + "\\]"
    if name == "math":
        return f"${content}$"
    if name == "eq":
        return escape_text(f"({content})", False)
    if name in ("sub", "sup"):
        return f"<{name}>{content}</{name}>"
    ctx.warnings.append(f"role {{{name}}} rendered as its text")
    return escape_text(_split_explicit(content)[0] or content, False)


# --- the block walker --------------------------------------------------------------------

def _indent(text: str, first: str, rest: str) -> str:
    """Prefix the first line with ``first`` and the others with ``rest`` (blank lines bare)."""
    lines = text.split("\n")
    return "\n".join(
        ((first if i == 0 else rest) + line) if line else (first if i == 0 else rest).rstrip()
        for i, line in enumerate(lines)
    )


def _fence(content: str, info: str = "") -> str:
    ticks = "```"
    while ticks in content:
        ticks += "`"
    return f"{ticks}{info}\n{content.rstrip(chr(10))}\n{ticks}"


def _title_html(title_md: str, parser) -> str:
    """A title for <summary>: HTML, since Markdown is not read inside an HTML line."""
    return _COMMONMARK.renderInline(title_md).strip() if title_md else ""


def render_directive(node, ctx: Context, parser) -> str:
    name, _, first_line = node.info.strip()[1:].partition("}")
    name, first_line = name.strip(), first_line.strip()
    directive = _NoArgumentDirective if name in ADMONITIONS else _AnyDirective
    # validate_options=False: any option is read (as YAML), none is rejected
    parsed = parse_directive_text(directive, first_line, node.content, validate_options=False)
    body_md = "\n".join(parsed.body)
    title = parsed.arguments[0] if parsed.arguments else ""
    classes = str(parsed.options.get("class", "")).split()
    if name == "admonition" or name in ADMONITIONS:
        if name != "admonition":
            title = title or ("See also" if name == "seealso" else name.capitalize())
        # the title is inline MyST too: convert it like a paragraph
        title_md = convert_markdown(title, ctx, parser).strip() if title else ""
        body = convert_markdown(body_md, ctx, parser).strip()
        if "dropdown" in classes:
            summary = _title_html(title_md, parser) or "Details"
            return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"
        head = f"**{title_md}**" if title_md else ""
        inner = "\n\n".join(part for part in (head, body) if part)
        return _indent(inner, "> ", "> ")
    if name in ("math",):
        return f"$$\n{body_md.strip()}\n$$"
    if name in ("code-block", "code", "sourcecode"):
        return _fence(body_md, first_line)
    if name in ("figure", "image"):
        caption = convert_markdown(body_md, ctx, parser).strip() if name == "figure" else ""
        alt = parsed.options.get("alt", "")
        image = f"![{alt}]({first_line})"
        return image + (f"\n\n**Figure:** {caption}" if caption else "")
    if name in ("tabularcolumns", "raw", "only", "eval-rst", "bibliography", "index"):
        ctx.warnings.append(f"directive {{{name}}} dropped")
        return ""
    ctx.warnings.append(f"directive {{{name}}} rendered as its body")
    return convert_markdown(body_md, ctx, parser).strip()


def _table(node, ctx: Context, parser) -> str:
    rows, aligns = [], []
    for section in node.children:           # thead, tbody
        for tr in section.children:
            cells = []
            for cell in tr.children:
                inline = cell.children[0].children if cell.children else []
                text = render_inline(inline, ctx, parser)
                cells.append(text.replace("|", "\\|"))
                if section.type == "thead":
                    style = cell.attrs.get("style", "")
                    aligns.append(style.removeprefix("text-align:"))
            rows.append("| " + " | ".join(cells) + " |")
    marks = {"left": ":---", "right": "---:", "center": ":---:"}
    sep = "| " + " | ".join(marks.get(a, "---") for a in aligns) + " |"
    return "\n".join([rows[0], sep, *rows[1:]])


def render_blocks(nodes, ctx: Context, parser, tight: bool = False) -> str:
    """Markdown for a list of block syntax-tree nodes."""
    parts: list[str] = []
    for node in nodes:
        t = node.type
        if t in ("myst_target", "myst_line_comment", "myst_block_break", "front_matter"):
            continue
        if t == "paragraph":
            parts.append(render_inline(node.children[0].children, ctx, parser))
        elif t == "heading":
            level = int(node.tag[1])
            parts.append("#" * level + " " + render_inline(node.children[0].children, ctx, parser))
        elif t == "blockquote":
            inner = render_blocks(node.children, ctx, parser)
            parts.append(_indent(inner, "> ", "> "))
        elif t in ("bullet_list", "ordered_list"):
            items = []
            number = int(node.attrs.get("start", 1))
            loose = not _is_tight(node)
            for item in node.children:
                marker = f"{node.markup} " if t == "bullet_list" else f"{number}{node.markup} "
                number += 1
                body = render_blocks(item.children, ctx, parser, tight=not loose)
                items.append(_indent(body, marker, " " * len(marker)))
            parts.append(("\n\n" if loose else "\n").join(items))
        elif t in ("fence", "colon_fence"):
            if node.info.strip().startswith("{"):
                rendered = render_directive(node, ctx, parser)
                if rendered:
                    parts.append(rendered)
            else:
                parts.append(_fence(node.content, node.info))
        elif t == "code_block":
            parts.append(_indent(node.content.rstrip("\n"), "    ", "    "))
        elif t in ("math_block", "math_block_label"):
            parts.append(f"$$\n{node.content.strip()}\n$$")
        elif t == "amsmath":
            parts.append(f"$$\n{node.content.strip()}\n$$")
        elif t == "hr":
            parts.append("---")
        elif t == "html_block":
            parts.append(node.content.rstrip("\n"))
        elif t == "table":
            parts.append(_table(node, ctx, parser))
        else:
            ctx.warnings.append(f"block token {t!r} dropped")
    return ("\n" if tight else "\n\n").join(parts)


def _is_tight(list_node) -> bool:
    for item in list_node.children:
        for child in item.children:
            if child.type == "paragraph" and not child.hidden:
                return False
    return True


def convert_markdown(source: str, ctx: Context, parser) -> str:
    """MyST Markdown -> plain CommonMark (+ HTML), resolving roles with ``ctx``."""
    tree = SyntaxTreeNode(parser.parse(source))
    return render_blocks(tree.children, ctx, parser)


# --- the book: labels, citations, glue -----------------------------------------------------

def toc_documents(root: Path = ROOT) -> list[str]:
    """Every document of _toc.yml, in reading order ("chapters/01-dense-layer", "api", ...)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    docs = [toc["root"]]
    for part in toc.get("parts", []):
        docs += [entry["file"] for entry in part.get("chapters", [])]
    return docs


def reader_name(doc: str) -> str:
    return Path(doc).name + ".ipynb"


def _markdown_sources(root: Path, doc: str) -> list[str]:
    if doc.startswith("chapters/"):
        nb = nbformat.read(root / f"{doc}.ipynb", as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return [(root / f"{doc}.md").read_text(encoding="utf-8")]


def _plain_text(nodes) -> str:
    """The text of inline nodes as a browser shows it (for JupyterLab's heading anchors)."""
    return "".join(
        n.content if not n.children else _plain_text(n.children) for n in nodes
    )


def collect_targets(root: Path, parser) -> tuple[dict, dict]:
    """Labels -> Target (the heading after the label) and documents -> Target (its title)."""
    targets, docs = {}, {}
    scratch = Context()
    for doc in toc_documents(root):
        is_chapter = doc.startswith("chapters/")
        href_file = reader_name(doc) if is_chapter else None
        first_heading = True
        for source in _markdown_sources(root, doc):
            pending: list[str] = []
            for node in SyntaxTreeNode(parser.parse(source)).children:
                if node.type == "myst_target":
                    pending.append(node.content)
                    continue
                if node.type == "heading":
                    title = render_inline(node.children[0].children, scratch, parser)
                    text = _plain_text(node.children[0].children)
                    if first_heading:
                        docs[doc] = Target(title, href_file)
                        anchor_href = href_file
                    else:
                        anchor = text.strip().replace(" ", "-")
                        anchor_href = f"{href_file}#{anchor}" if href_file else None
                    for label in pending:
                        targets[label] = Target(title, anchor_href)
                    first_heading = False
                else:
                    here = docs.get(doc, Target(doc, href_file))
                    for label in pending:
                        targets[label] = Target(here.title, href_file)
                pending = []
    return targets, docs


def citation_labels(root: Path = ROOT) -> tuple[dict, dict, dict]:
    """bibtex key -> the alpha label the site shows ("GB10"), a plain reference, the authors."""
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    bib = parse_file(str(root / "references.bib"))
    style = find_plugin("pybtex.style.formatting", "unsrt")()
    entries = list(style.format_entries(bib.entries.values()))
    labeller = find_plugin("pybtex.style.labels", "alpha")()
    labels = dict(zip(bib.entries.keys(), labeller.format_labels(bib.entries.values())))
    texts = {e.key: escape_text(" ".join(e.text.render_as("text").split()), False)
             for e in entries}
    authors = {}
    for key, entry in bib.entries.items():
        last = [" ".join(p.last_names) for p in entry.persons.get("author", [])]
        authors[key] = escape_text(
            " and ".join(last) if len(last) <= 2 else f"{last[0]} et al.", False
        )
    return labels, texts, authors


def glue_data(nb) -> dict:
    """key -> mime bundle of every glue output stored in the notebook."""
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if meta:
                prefix = meta.get("mime_prefix", "")
                found[meta["name"]] = {
                    k[len(prefix):]: v for k, v in output.get("data", {}).items()
                }
    return found


def _is_hidden_glue(output) -> bool:
    data = output.get("data", {})
    return bool(data) and all(k.startswith(GLUE_PREFIX) for k in data)


def reader_notebook(source_nb, ctx: Context, parser, bib_texts: dict):
    """The reader's version of one chapter notebook (a new object)."""
    nb = copy.deepcopy(source_nb)
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = convert_markdown(cell.source, ctx, parser)
        elif cell.cell_type == "code":
            if AUTHORS_PLATFORM_CALL in cell.source:
                cell.source = READERS_PLATFORM_CELL
            cell.outputs = [o for o in cell.outputs if not _is_hidden_glue(o)]
            tags = set(cell.metadata.get("tags", []))
            if tags & HIDE_SOURCE:
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            if tags & HIDE_OUTPUT and cell.outputs:
                cell.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
    if ctx.cited:
        lines = [f"## {REFERENCES_ANCHOR}", ""]
        for key in ctx.cited:
            label = ctx.cite_labels.get(key, key)
            lines.append(f"- \\[{label}\\] {bib_texts.get(key, key)}")
        cell = nbformat.v4.new_markdown_cell("\n".join(lines))
        cell.id = "reader-references"
        nb.cells.append(cell)
    return nb


def build(out: Path, root: Path = ROOT, quiet: bool = False) -> list[Path]:
    """Write every chapter's reader notebook into ``out/chapters``, with what they read beside
    them (see the module's docstring); returns the notebooks' paths."""
    parser = book_parser(root)
    targets, docs = collect_targets(root, parser)
    labels, bib_texts, authors = citation_labels(root)
    out_dir = out / "chapters"
    out_dir.mkdir(parents=True, exist_ok=True)
    _copy(root / "tools" / "numeric_platform.py", out_dir)
    # Jupytext, if installed, reads the nearest jupytext.toml: the book's would pair these copies.
    (out / "jupytext.toml").write_text('# The readers\' notebooks are not paired with text files.\nformats = "ipynb"\n',
                                       encoding="utf-8")
    for pattern in BENCHMARK_FILES:
        for path in sorted((root / "benchmarks").glob(pattern)):
            _copy(path, out / "benchmarks")
    written = []
    for doc in toc_documents(root):
        if not doc.startswith("chapters/"):
            continue
        source_nb = nbformat.read(root / f"{doc}.ipynb", as_version=4)
        ctx = Context(
            glue=glue_data(source_nb), targets=targets, docs=docs, cite_labels=labels,
            cite_authors=authors,
            this_file=reader_name(doc), doc=doc,
        )
        nb = reader_notebook(source_nb, ctx, parser, bib_texts)
        path = out_dir / reader_name(doc)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        written.append(path)
        if not quiet:
            for warning in dict.fromkeys(ctx.warnings):
                print(f"{path.name}: {warning}", file=sys.stderr)
    for stale in sorted(set(out_dir.glob("*.ipynb")) - set(written)):
        stale.unlink()   # a renamed or removed chapter's old reader notebook
    return written


def _copy(path: Path, folder: Path) -> None:
    """Copy ``path`` into ``folder`` unless the copy there is already the same."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    data = path.read_bytes()
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "notebooks")
    args = ap.parse_args(argv)
    written = build(args.out)
    print(f"{len(written)} reader notebooks in {args.out / 'chapters'}")


if __name__ == "__main__":
    main()
