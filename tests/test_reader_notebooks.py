"""The readers' notebooks (`make notebooks`, tools/reader_notebooks.py): no raw MyST, same code."""

import copy
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_text import printed

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "reader_notebooks", ROOT / "tools" / "reader_notebooks.py"
)
rn = importlib.util.module_from_spec(_spec)
sys.modules["reader_notebooks"] = rn
_spec.loader.exec_module(rn)

PARSER = rn.book_parser()
CHAPTERS = [doc for doc in rn.toc_documents() if doc.startswith("chapters/")]
RAW_MYST = ["{glue", "{ref}", "{numref}", "{doc}", "{cite", "```{", ":::{", ":class:"]
LABEL_LINE = re.compile(r"^\s*\([\w.:-]+\)=\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{chapter doc: (source notebook, reader notebook)}, built once into a temporary folder."""
    out = tmp_path_factory.mktemp("notebooks")
    paths = rn.build(out, quiet=True)
    assert [p.name for p in paths] == [Path(doc).name + ".ipynb" for doc in CHAPTERS]
    return {
        doc: (nbformat.read(ROOT / f"{doc}.ipynb", as_version=4),
              nbformat.read(out / "chapters" / f"{Path(doc).name}.ipynb", as_version=4))
        for doc in CHAPTERS
    }


def convert(source, **context):
    ctx = rn.Context(**context)
    return rn.convert_markdown(source, ctx, PARSER), ctx


def html(markdown):
    """The HTML the book's parser makes of ``markdown``, whitespace collapsed."""
    return " ".join(PARSER.render(markdown).split())


# --- the whole book ------------------------------------------------------------------------

def test_one_reader_notebook_per_chapter_and_appendix(built):
    assert len(built) == len(list((ROOT / "chapters").glob("*.ipynb")))


@pytest.mark.parametrize("doc", CHAPTERS, ids=lambda d: Path(d).name)
def test_no_raw_myst_in_markdown_cells(built, doc):
    _, reader = built[doc]
    for cell in reader.cells:
        if cell.cell_type == "markdown":
            found = [s for s in RAW_MYST if s in cell.source]
            assert not found, f"{found} in:\n{cell.source}"
            assert not LABEL_LINE.search(cell.source), cell.source


def test_the_myst_check_itself_sees_raw_myst():
    """The check above would fail on a source cell: the sources are full of MyST."""
    source = nbformat.read(ROOT / "chapters/01-dense-layer.ipynb", as_version=4)
    text = "\n".join(c.source for c in source.cells if c.cell_type == "markdown")
    assert LABEL_LINE.search(text) and "{ref}" in text and "```{" in text


@pytest.mark.parametrize("doc", CHAPTERS, ids=lambda d: Path(d).name)
def test_same_code_cells_and_outputs_without_glue(built, doc):
    source, reader = built[doc]
    code = [c for c in source.cells if c.cell_type == "code"]
    code_reader = [c for c in reader.cells if c.cell_type == "code"]
    assert code[0].source.endswith(rn.AUTHORS_PLATFORM_CALL)       # the one cell that differs
    assert code_reader[0].source == rn.READERS_PLATFORM_CELL
    assert [c.source for c in code_reader[1:]] == [c.source for c in code[1:]]
    for src, out in zip(code, code_reader):
        kept = [o for o in src.outputs
                if not any(k.startswith(rn.GLUE_PREFIX) for k in o.get("data", {}))]
        assert out.outputs == kept
    assert "jupytext" not in reader.metadata
    assert reader.metadata.kernelspec == source.metadata.kernelspec


def test_glue_outputs_are_stored_in_the_sources_and_stripped(built):
    source, reader = built["chapters/06-training-loop"]

    def mimes(nb):
        return [k for c in nb.cells for o in c.get("outputs", []) for k in o.get("data", {})]

    assert any(m.startswith(rn.GLUE_PREFIX) for m in mimes(source))
    assert not any(m.startswith(rn.GLUE_PREFIX) for m in mimes(reader))


def test_a_glued_number_appears_formatted(built):
    source, reader = built["chapters/06-training-loop"]
    stored = rn.glue_data(source)["training_classic_val_accuracy"]["text/plain"]
    expected = format(float(stored), ".3f")
    prose = "about where the full-batch loop was after thirty ({})."
    text = "\n".join(c.source for c in reader.cells if c.cell_type == "markdown")
    assert prose.format(expected) in text
    assert prose.format("{glue:text}`training_classic_val_accuracy:.3f`") not in text


def test_a_ref_becomes_the_chapter_title_linked_to_its_notebook(built):
    first = built["chapters/01-dense-layer"][0]
    title = next(line[2:] for c in first.cells if c.cell_type == "markdown"
                 for line in c.source.splitlines() if line.startswith("# "))
    assert title == "The dense layer"
    _, reader = built["chapters/06-training-loop"]
    opening = next(c.source for c in reader.cells if c.cell_type == "markdown")
    assert f"dense layers ([{title}](01-dense-layer.ipynb))" in opening
    assert opening.startswith("# The training loop")   # the label line is gone


def test_solutions_stay_folded_in_details(built):
    _, reader = built["chapters/01-dense-layer"]
    text = "\n".join(c.source for c in reader.cells if c.cell_type == "markdown")
    assert "<details>\n<summary>Solutions</summary>\n\n1. " in text
    assert text.count("<details>") == text.count("</details>") >= 1


@pytest.mark.parametrize("doc", CHAPTERS, ids=lambda d: Path(d).name)
def test_cells_hidden_on_the_site_are_collapsed(built, doc):
    _, reader = built[doc]
    for cell in reader.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        hidden = cell.metadata.get("jupyter", {}).get("source_hidden", False)
        assert hidden == bool(tags & rn.HIDE_SOURCE), (tags, cell.source[:80])


def test_a_hidden_cell_is_source_hidden(built):
    _, reader = built["chapters/01-dense-layer"]
    first = next(c for c in reader.cells if c.cell_type == "code")
    assert "remove-cell" in first.metadata.tags
    assert first.metadata.jupyter.source_hidden is True


def test_citations_show_the_sites_label_and_a_reference_list(built):
    _, reader = built["chapters/01-dense-layer"]
    text = "\n".join(c.source for c in reader.cells if c.cell_type == "markdown")
    assert "\\[[GB10](#References)\\]" in text
    assert reader.cells[-1].source.startswith("## References\n")
    assert "Glorot" in reader.cells[-1].source


def test_the_build_is_deterministic(tmp_path):
    doc = "chapters/02-backpropagation"
    first = rn.build(tmp_path / "a", quiet=True)
    second = rn.build(tmp_path / "b", quiet=True)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert any(p.name == Path(doc).name + ".ipynb" for p in first)


def has_myst(source):
    """Does ``source`` hold a MyST role, label, comment or directive (per the book's parser)?"""
    for token in PARSER.parse(source):
        if token.type.startswith("myst") or token.info.strip().startswith("{"):
            return True
        if any(child.type.startswith("myst") for child in token.children or []):
            return True
    return False


@pytest.mark.parametrize("doc", CHAPTERS, ids=lambda d: Path(d).name)
def test_plain_cells_render_as_before(built, doc):
    """Markdown cells without MyST come out as the same HTML: the walker loses nothing."""
    source, reader = built[doc]
    plain = [(src, out) for src, out in zip(source.cells, reader.cells)
             if src.cell_type == "markdown" and not has_myst(src.source)]
    assert plain or doc.endswith("b-robustness")
    for src, out in plain:
        assert html(out.source) == html(src.source), src.source


def test_the_myst_detector_sees_myst():
    assert has_myst("(lab)=\n# x") and has_myst("a {ref}`b`") and has_myst("```{note}\nx\n```")
    assert not has_myst("a `{ref}` in code, $x^{2}$ and {braces}")


# --- the walker on small strings -----------------------------------------------------------

def test_glue_text_is_formatted_as_myst_nb_does():
    glue = {"acc": {"text/plain": "0.92231"}, "n": {"text/plain": "1200"},
            "name": {"text/plain": "'relu'"}}
    out, _ = convert("A {glue:text}`acc:.2f`, {glue:text}`n:,d`, {glue:text}`name`.", glue=glue)
    assert out == "A 0.92, 1,200, relu."
    assert "0.92231" not in out          # wrong: the raw stored value


def test_glue_of_a_missing_key_fails_loudly():
    with pytest.raises(KeyError, match="nokey"):
        convert("{glue:text}`nokey:.2f`", glue={}, this_file="x.ipynb")


def test_glue_md_inserts_markdown():
    glue = {"err": {"text/markdown": "$5.6 \\times 10^{-9}$", "text/plain": "<Markdown>"}}
    out, _ = convert("error {glue:md}`err:myst` here", glue=glue)
    assert out == "error $5.6 \\times 10^{-9}$ here"
    assert "<Markdown>" not in out       # wrong: the text/plain repr


def test_refs_take_the_title_or_their_text_and_link_the_notebook():
    targets = {"ch-a": rn.Target("Chapter *A*", "a.ipynb"),
               "sec-b": rn.Target("Part B", "a.ipynb#Part-B"),
               "notation": rn.Target("Notation", None)}
    out, ctx = convert("See {ref}`ch-a`, {ref}`this part <sec-b>`, {ref}`notation` and "
                       "{numref}`ch-a`.", targets=targets, this_file="z.ipynb")
    assert out == ("See [Chapter *A*](a.ipynb), [this part](a.ipynb#Part-B), Notation and "
                   "[Chapter *A*](a.ipynb).")
    same, _ = convert("{ref}`sec-b`", targets=targets, this_file="a.ipynb")
    assert same == "[Part B](#Part-B)"
    wrong, ctx = convert("{ref}`ch-missing`", targets=targets)
    assert wrong == "ch-missing" and "not found" in ctx.warnings[0]


def test_doc_roles_resolve_relative_to_the_citing_chapter():
    docs = {"chapters/01-a": rn.Target("A", "01-a.ipynb"), "api": rn.Target("API", None)}
    out, ctx = convert("{doc}`01-a`, {doc}`the API <../api>`, {doc}`/chapters/01-a` and "
                       "{doc}`02-missing`", docs=docs, doc="chapters/05-b")
    assert out == "[A](01-a.ipynb), the API, [A](01-a.ipynb) and 02-missing"
    assert len(ctx.warnings) == 1          # wrong: a document that does not exist


def test_a_figure_becomes_an_image_with_its_caption():
    out, _ = convert("```{figure} ../figures/net.png\n:alt: A net\n\nThe *net*.\n```")
    assert out == "![A net](../figures/net.png)\n\n**Figure:** The *net*."
    assert ":alt:" not in out              # wrong: the option left in the caption


def test_labels_comments_and_math():
    out, _ = convert("(ch-x)=\n# Title\n\n% a comment\nText $a_b$ and\n\n$$\nx^2\n$$\n")
    assert out == "# Title\n\nText $a_b$ and\n\n$$\nx^2\n$$"
    assert "(ch-x)=" not in out


def test_admonitions_become_quotes_and_dropdowns_details():
    targets = {"ch-a": rn.Target("Chapter A", "a.ipynb")}
    note, _ = convert("```{note}\nSee {ref}`ch-a`.\n```", targets=targets)
    assert note == "> **Note**\n>\n> See [Chapter A](a.ipynb)."
    titled, _ = convert("```{admonition} Why $x$?\nBecause.\n```")
    assert titled == "> **Why $x$?**\n>\n> Because."
    folded, _ = convert("```{admonition} Solutions\n:class: dropdown\n\n1. One {ref}`ch-a`.\n"
                        "2. Two.\n```", targets=targets)
    assert folded == ("<details>\n<summary>Solutions</summary>\n\n"
                      "1. One [Chapter A](a.ipynb).\n2. Two.\n\n</details>")
    assert ":class:" not in folded       # wrong: the option left in the body
    colon, _ = convert(":::{tip}\nA *tip*.\n:::")
    assert colon == "> **Tip**\n>\n> A *tip*."


def test_a_plain_code_fence_is_not_a_directive():
    out, _ = convert("```python\nx = {'a': 1}  # {ref}`not-a-role`\n```")
    assert out == "```python\nx = {'a': 1}  # {ref}`not-a-role`\n```"


def test_citations():
    out, ctx = convert("He {cite:p}`he2015` and {cite:p}`a, b`.",
                       cite_labels={"he2015": "HZRS15", "a": "A1"})
    assert out == ("He \\[[HZRS15](#References)\\] and "
                   "\\[[A1](#References), [b](#References)\\].")
    assert ctx.cited == ["he2015", "a", "b"]
    textual, _ = convert("{cite:t}`he2015` showed", cite_labels={"he2015": "HZRS15"},
                         cite_authors={"he2015": "He et al."})
    assert textual == "He et al. \\[[HZRS15](#References)\\] showed"


def test_citation_labels_are_the_sites():
    labels, texts, authors = rn.citation_labels()
    assert labels["glorot2010"] == "GB10" and labels["he2015"] == "HZRS15"
    assert authors["glorot2010"] == "Glorot and Bengio" and authors["he2015"] == "He et al."
    assert texts["glorot2010"].startswith("Xavier Glorot and Yoshua Bengio. Understanding")


@pytest.mark.parametrize("source", [
    "A *b* **c** `d` [e](http://x.org \"t\") ![f](g.png) <span>h</span> <http://auto.org>",
    "1\\. not a list, \\# not a heading, a\\_b \\*not em\\* and \\$5",
    "- one\n- two\n  - nested\n\n3. three\n4. four",
    "- loose\n\n  second paragraph\n- item",
    "> quote\n>\n> - in a list\n\nafter",
    "| a | b |\n|:--|--:|\n| `x` | $y$ |",
    "    indented code\n\n---\n\ntext  \nhard break",
    "Code with a tick: `` a`b ``, snake_case_name and __dunder__ and 2*3*4.",
])
def test_plain_markdown_round_trips(source):
    out, ctx = convert(source)
    assert html(out) == html(source), out
    assert not ctx.warnings


def test_the_round_trip_check_notices_a_change():
    """Deliberately wrong: an unescaped marker turns text into a list, and the check sees it."""
    assert html("1. not a list") != html("1\\. not a list")
    assert rn.escape_text("1. not a list", line_start=True) == "1\\. not a list"
    assert rn.escape_text("1. in a line", line_start=False) == "1. in a line"


def test_glued_markdown_appears_in_the_chapter(built):
    source, reader = built["chapters/02-backpropagation"]
    stored = rn.glue_data(source)["bp_central_float64_error"]["text/markdown"]
    text = "\n".join(c.source for c in reader.cells if c.cell_type == "markdown")
    assert stored.startswith("$") and stored in text
    assert "<IPython.core.display.Markdown object>" not in text   # wrong: the text/plain repr


# --- the folder runs on its own ---------------------------------------------------------------

def test_the_folder_holds_what_the_chapters_read(tmp_path):
    rn.build(tmp_path, quiet=True)
    assert (tmp_path / "chapters" / "numeric_platform.py").read_bytes() == \
        (ROOT / "tools" / "numeric_platform.py").read_bytes()
    for name in ("results.json", "long_runs.json", "torch_reference.json", "train_mlp.py"):
        assert (tmp_path / "benchmarks" / name).is_file(), name


def test_a_reader_notebook_runs_in_the_folder_and_prints_the_stored_numbers(tmp_path):
    """Chapter 1, executed where `make notebooks` puts it (not in chapters/), prints what is stored.

    The readers' platform cell pins the kernel (this is an x86-64 AVX2 machine, as CI is); a
    notebook whose first cell still pointed at ../tools/ would stop at once.
    """
    from nbclient import NotebookClient

    rn.build(tmp_path, quiet=True)
    path = tmp_path / "chapters" / "01-dense-layer.ipynb"
    reader = nbformat.read(path, as_version=4)
    executed = copy.deepcopy(reader)
    NotebookClient(executed, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    assert printed(executed) == printed(reader)
    assert not executed.cells[0].outputs or "last digits" not in str(executed.cells[0].outputs)


def test_a_reader_notebook_alone_says_so_and_runs(tmp_path):
    """Downloaded alone, without numeric_platform.py beside it, a notebook says so in one line
    and goes on (the authors' first cell, pointing at ../tools/, stops at once)."""
    from nbclient import NotebookClient

    rn.build(tmp_path / "built", quiet=True)
    alone = tmp_path / "alone"
    alone.mkdir()
    reader = nbformat.read(tmp_path / "built" / "chapters" / "02-backpropagation.ipynb", as_version=4)
    NotebookClient(reader, timeout=300, resources={"metadata": {"path": str(alone)}}).execute()
    first = next(c for c in reader.cells if c.cell_type == "code")
    assert [o.text for o in first.outputs] == [
        "numeric_platform.py is not beside this notebook: the last digits may differ\n"]
    authors = nbformat.read(ROOT / "chapters" / "02-backpropagation.ipynb", as_version=4)
    with pytest.raises(Exception, match="numeric_platform"):
        NotebookClient(authors, timeout=300, resources={"metadata": {"path": str(alone)}}).execute()


def test_the_readers_platform_cell_goes_on_where_it_cannot_pin(monkeypatch, capsys):
    import runpy

    platform = runpy.run_path(str(ROOT / "tools" / "numeric_platform.py"))
    pin_reader = platform["pin_reader"]
    monkeypatch.setitem(pin_reader.__globals__, "pin", lambda environ=None: False)
    pin_reader()
    assert "last digits of some numbers may differ" in capsys.readouterr().out
    monkeypatch.setitem(pin_reader.__globals__, "pin", lambda environ=None: True)
    monkeypatch.setitem(pin_reader.__globals__, "check", lambda: (_ for _ in ()).throw(RuntimeError("no")))
    pin_reader()
    assert "NumPy was imported before this cell ran" in capsys.readouterr().out


def test_the_landing_page_offers_the_zip_once_it_is_built(tmp_path, monkeypatch):
    import runpy

    monkeypatch.syspath_prepend(str(ROOT / "tools"))        # as Sphinx's local_extensions do
    link = runpy.run_path(str(ROOT / "tools" / "reader_download.py"))["zip_link"]
    assert link(tmp_path) == ""
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / "dlfs-notebooks.zip").write_bytes(b"PK")
    assert "{download}`dlfs-notebooks.zip <_build/dlfs-notebooks.zip>`" in link(tmp_path)
