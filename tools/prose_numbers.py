"""Find numbers typed into a chapter's prose that copy one of its outputs.

A figure that the text quotes from a run must be glued from the run (myst-nb's ``{glue:text}``),
so that the text cannot contradict the outputs after a re-run. This tool lists the prose numbers
that equal an output number of the same chapter at the prose's precision (``0.21`` matches an
output ``0.2130``; ``95.2%`` matches ``0.952``; an integer matches only an integer) and appear in
no code cell's source (hyperparameters written in the code stay typed). Prose means the text of
markdown cells outside math, code, roles and directive options: mathematics stays typed. Integers
below 10 are left out: in prose they are mostly words ("two layers", "digits 0 to 9").

    python tools/prose_numbers.py                      # every chapter; exit 1 if any is found
    python tools/prose_numbers.py chapters/07-mnist.md
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

# Fenced blocks: code and math are not prose; the body of an admonition, a dropdown or a figure is.
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M)
NOT_PROSE_FENCES = ("", "{math}", "{code}", "{code-block}", "{code-cell}", "{literalinclude}")
# Markup whose numbers are not prose: display and inline math, roles such as {glue:text}`key:.3f`
# and {ref}`label`, inline code, links' targets, labels, directive options.
NOT_PROSE = [
    re.compile(r"\$\$.*?\$\$", re.S),
    re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S),
    re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$"),
    re.compile(r"\{[\w:-]+\}`[^`]*`"),
    re.compile(r"``.+?``|`[^`\n]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"^\([\w-]+\)=\s*$", re.M),
    re.compile(r"^:[\w-]+:.*$", re.M),
    re.compile(r"<!--.*?-->", re.S),
]
PROSE_NUMBER = re.compile(r"(?<![\w.,^/])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%?)(?![\w.]\d|\w)")
OUTPUT_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.]\d)", re.I)


@dataclass(frozen=True)
class Finding:
    chapter: str
    line: str
    number: str
    output: str

    def __str__(self) -> str:
        return (f"{self.chapter}: the prose number {self.number} copies the output {self.output} "
                f"(glue it from the code): ...{self.line}...")


def fenced(match: re.Match) -> str:
    info = match["info"].split()
    if not info or info[0] in NOT_PROSE_FENCES or not info[0].startswith("{"):
        return "\n" * match.group(0).count("\n")
    return "\n" + FENCE.sub(fenced, match["body"]) + "\n"


def prose_of(markdown: str) -> str:
    """The text of a markdown cell with every part that is not prose blanked (lines are kept)."""
    markdown = FENCE.sub(fenced, markdown)
    for pattern in NOT_PROSE:
        markdown = pattern.sub(lambda m: "\n" * m.group(0).count("\n") + " ", markdown)
    return markdown


def output_texts(notebook) -> list[str]:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
            else:  # text/plain, and the value that myst-nb's glue records
                texts += [text for mime, text in output.get("data", {}).items() if mime.endswith("text/plain")]
    return texts


def numbers_in(texts: list[str]) -> set[str]:
    return {m.group(0).lstrip("-").replace(",", "") for text in texts for m in OUTPUT_NUMBER.finditer(text)}


def copies(value: str, decimals: int, outputs: set[str]) -> str | None:
    """The first output number that ``value`` (with ``decimals`` places) reproduces, if any."""
    for output in sorted(outputs):
        if decimals == 0:
            if "." not in output and "e" not in output.lower() and int(output) == int(value):
                return output
        elif f"{float(output):.{decimals}f}" == f"{float(value):.{decimals}f}":
            return output
    return None


def findings(notebook_path: Path) -> list[Finding]:
    """Every hand-typed copy of an output number in one chapter's prose."""
    notebook = nbformat.read(notebook_path, as_version=4)
    outputs = numbers_in(output_texts(notebook))
    in_code = {float(n) for n in numbers_in([c.source for c in notebook.cells if c.cell_type == "code"])}
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in prose_of(cell.source).splitlines():
            for m in PROSE_NUMBER.finditer(line):
                digits, fraction, percent = m.group(1).replace(",", ""), m.group(2) or "", m.group(3)
                value, decimals = digits + fraction, len(fraction) - bool(fraction)
                if percent:
                    value, decimals = repr(float(value) / 100), decimals + 2
                if (decimals == 0 and int(value) < 10) or float(value) in in_code:
                    continue
                copied = copies(value, decimals, outputs)
                if copied is not None:
                    context = line[max(0, m.start() - 40):m.end() + 40].strip()
                    found.append(Finding(notebook_path.stem, context, m.group(0), copied))
    return found


def main(paths: list[str]) -> int:
    chapters = [Path(p).with_suffix(".ipynb") for p in paths] or sorted((ROOT / "chapters").glob("*.ipynb"))
    found = [f for chapter in chapters for f in findings(chapter)]
    print("\n".join(map(str, found)) or "no prose number copies an output")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
