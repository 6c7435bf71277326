"""Write the `dlfs` package from the chapters.

Every code cell tagged ``export`` in ``chapters/*.md`` is copied, in order, into
the module named by the chapter's front matter::

    dlfs:
      module: layers

so ``chapters/01-dense-layer.md`` becomes ``dlfs/layers.py``. The first cell exported to a module
opens with a comment saying what the module holds (``# dlfs.layers: the Layer interface, ...``);
it becomes the module's docstring. A chapter may also list which of
its classes and functions ``import dlfs`` offers at the top level (``toplevel: [Conv2D, ...]``);
without that list, all of them. A cell tagged
``export:NAME`` goes into the module ``dlfs/NAME.py`` instead, which several
chapters may write to (Appendix B's ``export:model`` cells harden ``Model``; a module whose
name starts with ``_`` is internal). Each module gets that docstring, naming its chapters, an ``__all__`` of its
public top-level names (those not starting with ``_``), and before each cell's
code a marker naming its chapter and cell (``# %% chapters/x.md cell 12``, code
cells counted from 0 as nbval's test names count them), so that a traceback
leads back to the chapter. ``dlfs/__init__.py`` re-exports
the public classes and functions of the public modules (constants stay in their
modules) and the version, which is written once, in pyproject.toml.

A class can grow over several cells. A later cell adds a method with the
decorator ``@add_to_class(Model)`` (the chapter defines it: it sets the
attribute, so the notebook's class grows as the reader runs the cells); the
exporter writes the method, without that decorator, into the class's body, so
the module holds the class whole.

The output depends only on the chapters, so running the exporter twice changes
nothing.

    python tools/export.py           # write dlfs/
    python tools/export.py --check   # exit 1 if dlfs/ differs from the chapters
    python tools/export.py --root D  # the same for the book in folder D
"""

from __future__ import annotations

import argparse
import ast
import sys
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent
EXPORT_TAG = "export"
GROW_DECORATOR = "add_to_class"
REGENERATE = "edit the chapter, then run `make export`"


def opening_comment(source: str) -> str:
    """The comment lines that open a cell, joined into one text (without the ``#``)."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines).strip()


def public_names(source: str, where: str) -> list[str]:
    """Top-level functions, classes and constants of ``source`` not starting with ``_``."""
    names = []
    for node in ast.parse(source, filename=where).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_")]


def api_names(source: str, names: list[str]) -> list[str]:
    """The public names a user writes: classes and functions, not constants."""
    defined = {node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return [name for name in names if name in defined]


def grows(decorator: ast.expr) -> str | None:
    """``Name`` if the decorator is ``add_to_class(Name)``."""
    if (isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == GROW_DECORATOR
            and len(decorator.args) == 1 and isinstance(decorator.args[0], ast.Name)):
        return decorator.args[0].id
    return None


def grown_class(node: ast.stmt) -> str | None:
    """The class that a top-level ``@add_to_class(Name)`` function adds itself to, if any."""
    if isinstance(node, ast.FunctionDef):
        return next((name for name in map(grows, node.decorator_list) if name), None)
    return None


@dataclass
class Piece:
    """One export cell's code in a module, with the methods later cells add to its classes.

    A later cell's method replaces, in place, a method of the same name that the class already
    has (in its body or added earlier): the module holds the class as the notebook ends with it.
    A later cell's top-level function replaces, in place, the function of the same name (a
    hardened ``save`` takes the place of the plain one), as a notebook's later definition does.
    """
    marker: str
    lines: list[str]
    class_ends: dict[str, int]                       # class name -> its last line (1-based)
    body_methods: dict[str, dict[str, tuple[int, int]]]   # class -> method -> (first, last) line
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)   # function -> (first, last)
    methods: dict[str, dict[str, str]] = field(default_factory=dict)   # class -> method -> source
    replaced: dict[tuple[str, str], str] = field(default_factory=dict)  # (class, method) -> source
    replaced_functions: dict[str, str] = field(default_factory=dict)    # function -> source

    def add(self, cls: str, name: str, source: str) -> None:
        if name in self.body_methods[cls]:
            self.replaced[cls, name] = source
        else:
            self.methods.setdefault(cls, {})[name] = source   # a later one takes the earlier's place

    def text(self) -> str:
        lines = list(self.lines)
        edits = [(end + 1, end, [line for method in self.methods.get(name, {}).values()
                                 for line in ["", *method.splitlines()]])
                 for name, end in self.class_ends.items()]
        edits += [(*self.body_methods[cls][name], method.splitlines())
                  for (cls, name), method in self.replaced.items()]
        edits += [(*self.functions[name], source.splitlines()) for name, source in self.replaced_functions.items()]
        for first, last, new in sorted(edits, key=lambda edit: -edit[0]):
            lines[first - 1:last] = new
        return "\n".join([self.marker, *lines])


def span(node: ast.stmt) -> tuple[int, int]:
    """A definition's (first line, decorators included, last line)."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]), node.end_lineno


def function_spans(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """Each top-level function that is not a method added to a class: {name: (first, last)}."""
    return {node.name: span(node) for node in tree.body
            if isinstance(node, ast.FunctionDef) and grown_class(node) is None}


def take_replacements(own: list[str], pieces: list[Piece], where: str) -> list[str]:
    """Move each top-level function of ``own`` that an earlier piece defines into that piece,
    in place of the earlier definition; return the lines that remain."""
    tree = ast.parse("\n".join(own), filename=where)
    keep = set(range(1, len(own) + 1))
    for name, (first, last) in function_spans(tree).items():
        owner = next((p for p in reversed(pieces) if name in p.functions), None)
        if owner is not None:
            while first > 1 and own[first - 2].startswith("#"):      # its comment goes with it
                first -= 1
            owner.replaced_functions[name] = "\n".join([f"# %% {where}", *own[first - 1:last]])
            keep -= set(range(first, last + 1))
    lines = [line for n, line in enumerate(own, start=1) if n in keep]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def method_spans(tree: ast.Module) -> dict[str, dict[str, tuple[int, int]]]:
    """Each top-level class's methods: {class: {method: (first line with decorators, last line)}}."""
    return {node.name: {item.name: (min([item.lineno, *(d.lineno for d in item.decorator_list)]), item.end_lineno)
                        for item in node.body if isinstance(item, ast.FunctionDef)}
            for node in tree.body if isinstance(node, ast.ClassDef)}


def split_cell(source: str, where: str) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """A cell's own lines, and the methods it adds to classes: {class: [(method, source)]}."""
    lines = source.splitlines()
    methods: dict[str, list[tuple[str, str]]] = {}
    taken = set()
    for node in ast.parse(source, filename=where).body:
        target = grown_class(node)
        if target is None:
            continue
        first = min(d.lineno for d in node.decorator_list)
        grow = {n for d in node.decorator_list if grows(d) for n in range(d.lineno, d.end_lineno + 1)}
        body = [lines[n - 1] for n in range(first, node.end_lineno + 1) if n not in grow]
        methods.setdefault(target, []).append(
            (node.name, textwrap.indent(textwrap.dedent("\n".join(body)), "    ")))
        taken |= set(range(first, node.end_lineno + 1))
    own = [line for n, line in enumerate(lines, start=1) if n not in taken]
    while own and not own[-1].strip():
        own.pop()
    return own, methods


def module_of(cell, default: str | None) -> str | None:
    """The module a code cell is exported to, or None."""
    for tag in cell.metadata.get("tags", []):
        if tag == EXPORT_TAG:
            return default
        if tag.startswith(EXPORT_TAG + ":"):
            return tag.partition(":")[2]
    return None


def read_pieces(root: Path) -> tuple[dict[str, tuple[list[str], list[Piece]]], dict[str, list[str]]]:
    """Every module's chapters and code pieces, in chapter order; and the top-level names that
    chapters list for their modules."""
    modules: dict[str, tuple[list[str], list[Piece]]] = {}
    owners: dict[str, str] = {}
    toplevel: dict[str, list[str]] = {}
    for chapter in sorted((root / "chapters").glob("*.md")):
        rel = chapter.relative_to(root).as_posix()
        notebook = jupytext.read(chapter)
        default = notebook.metadata.get("dlfs", {}).get("module")
        if default in owners:
            raise SystemExit(f"{rel}: module dlfs.{default} is already written by {owners[default]}")
        if default is not None:
            owners[default] = rel
            if "toplevel" in notebook.metadata["dlfs"]:
                toplevel[default] = list(notebook.metadata["dlfs"]["toplevel"])
        code_cells = [c for c in notebook.cells if c.cell_type == "code"]
        exported = 0
        for number, cell in enumerate(code_cells):
            module = module_of(cell, default)
            if module is None:
                if EXPORT_TAG in cell.metadata.get("tags", []):
                    raise SystemExit(f"{rel}: a cell is tagged '{EXPORT_TAG}' but the front matter names no module")
                continue
            exported += module == default
            where = f"{rel} cell {number}"
            if module not in modules:
                about = opening_comment(cell.source.strip())
                if not about:
                    raise SystemExit(f"{where}: the first cell exported to dlfs.{module} must open with a "
                                     "comment saying what the module holds (it becomes the module's docstring)")
                modules[module] = ([about], [])
            _, pieces = modules[module]
            own, methods = split_cell(cell.source.strip(), where)
            for name, added in methods.items():
                owner = next((p for p in reversed(pieces) if name in p.class_ends), None)
                if owner is None:
                    raise SystemExit(f"{where}: @{GROW_DECORATOR}({name}) before class {name} is exported to dlfs.{module}")
                for method, source in added:
                    owner.add(name, method, f"    # %% {where}\n{source}")
            if own:
                own = take_replacements(own, pieces, where)
            if own:
                tree = ast.parse("\n".join(own), filename=where)
                ends = {n.name: n.end_lineno for n in tree.body if isinstance(n, ast.ClassDef)}
                pieces.append(Piece(f"# %% {where}", own, ends, method_spans(tree), function_spans(tree)))
        if default is not None and not exported:
            raise SystemExit(f"{rel}: names a module in its front matter but has no cell tagged '{EXPORT_TAG}'")
    return modules, toplevel


def render_package(root: Path = ROOT) -> dict[Path, str]:
    """Every file of ``root/dlfs/`` as the chapters in ``root/chapters/`` define it."""
    package = root / "dlfs"
    files: dict[Path, str] = {}
    imports, every_name = [], []
    modules, toplevel = read_pieces(root)
    for module, (titles, pieces) in modules.items():
        body = "\n\n\n".join(piece.text() for piece in pieces)
        names = public_names(body, f"dlfs/{module}.py")
        sources = ", ".join(sorted({p.marker[5:].split(" cell ")[0] for p in pieces}))
        about = textwrap.fill(titles[0].removeprefix(f"dlfs.{module}:").strip(), 96)
        about = about[:1].upper() + about[1:]
        header = (f'"""{about}\n\n'
                  f"Generated from {sources} by tools/export.py: do not edit; {REGENERATE}.\n"
                  '"""\n\n')
        all_list = "__all__ = [" + ", ".join(repr(n) for n in names) + "]\n\n"
        files[package / f"{module}.py"] = header + all_list + body + "\n"
        api = [] if module.startswith("_") else api_names(body, names)
        if module in toplevel:
            unknown = sorted(set(toplevel[module]) - set(api))
            if unknown:
                raise SystemExit(f"dlfs.{module}: toplevel lists {unknown}, not classes or functions of the module")
            api = [name for name in api if name in toplevel[module]]
        if api:
            imports.append(f"from dlfs.{module} import " + ", ".join(api))
            every_name += api

    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    lines = [
        '"""Deep Learning from Scratch: a neural-network framework in NumPy, built in the chapters.\n\n'
        f"Generated by tools/export.py: do not edit; {REGENERATE}.\n"
        '"""\n',
        *imports,
        "",
        f'__version__ = "{version}"  # from pyproject.toml',
        "__all__ = [" + ", ".join(repr(n) for n in every_name) + "]",
    ]
    files[package / "__init__.py"] = "\n".join(lines) + "\n"
    return files


def stale_files(expected: dict[Path, str], package: Path) -> list[Path]:
    """Python files in ``package`` that no chapter writes."""
    return [p for p in sorted(package.glob("*.py")) if p not in expected]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report differences instead of writing")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (default: this repository)")
    args = parser.parse_args()
    root, package = args.root.resolve(), args.root.resolve() / "dlfs"

    expected = render_package(root)
    if args.check:
        problems = [
            f"{p.relative_to(root)} differs from what its chapter exports"
            for p, text in expected.items()
            if not p.exists() or p.read_text(encoding="utf-8") != text
        ]
        problems += [f"{p.relative_to(root)} is written by no chapter" for p in stale_files(expected, package)]
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"dlfs/ is generated from chapters/: {REGENERATE} (a hand edit in dlfs/ is lost).", file=sys.stderr)
            return 1
        return 0

    package.mkdir(exist_ok=True)
    for path in stale_files(expected, package):
        path.unlink()
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
