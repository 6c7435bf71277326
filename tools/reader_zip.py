"""The readers' download: `make zip` -> _build/dlfs-notebooks.zip.

The zip holds one folder, ``dlfs-notebooks/``, that runs every chapter without a clone:

- everything of the readers' notebooks folder (tools/reader_notebooks.py's ``build()``, written
  afresh into _build/notebooks): ``chapters/*.ipynb`` with ``numeric_platform.py`` beside them,
  ``benchmarks/`` (what the chapters read as ``../benchmarks/...``) and ``jupytext.toml``;
- the ``dlfs`` wheel, built from dlfs/ as it stands (``pip wheel --no-deps``);
- ``requirements.txt``: the wheel named by its FILE (``./dlfs-0.1.0-py3-none-any.whl``; an
  unrelated project holds the bare name ``dlfs`` on PyPI), and the packages the notebooks
  import, pinned as pyproject.toml's ``book`` extra pins them, with myst-nb (the notebooks call
  ``from myst_nb import glue``) at the version this environment has; not jupyter-book;
- ``README.txt``: the two commands that install and open the notebooks.

The zip is deterministic: entries sorted, every timestamp 1980-01-01, fixed permissions, and the
wheel built with ``SOURCE_DATE_EPOCH`` set; the same sources give the same bytes.

    python tools/reader_zip.py [--out _build/dlfs-notebooks.zip]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import reader_notebooks  # noqa: E402

TOP = "dlfs-notebooks"
# The packages the notebooks import, or need to run in Jupyter, pinned by the `book` extra.
FROM_BOOK_EXTRA = ["numpy", "matplotlib", "mlxtend", "scikit-learn", "ipykernel", "nbconvert",
                   "jupyterlab"]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the oldest time a zip entry can hold

README = """\
Deep Learning from Scratch: the readers' notebooks
==================================================

Each chapter as a Jupyter notebook, with its stored outputs. To run them
(Python 3.11 or later), in this folder:

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
    .venv/bin/jupyter lab chapters/01-dense-layer.ipynb

requirements.txt installs the book's own package from the wheel in this folder,
{wheel}. Do not `pip install dlfs`: that name on PyPI
belongs to an unrelated project.

The numbers: every stored output was computed on one numeric platform
(chapters/numeric_platform.py says which). On an x86-64 CPU with AVX2 the
notebooks print exactly the stored numbers; elsewhere the first cell says that
the last digits may differ.
"""


def book_pins(root: Path = ROOT) -> dict[str, str]:
    """The ``name==version`` pins of pyproject.toml's ``book`` extra, by lower-case name."""
    extra = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {}
    for req in extra["project"]["optional-dependencies"]["book"]:
        name, sep, version = req.partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


def requirements(wheel_name: str, root: Path = ROOT) -> str:
    """The text of requirements.txt: the wheel by its file, then the pinned packages."""
    pins = book_pins(root)
    missing = [name for name in FROM_BOOK_EXTRA if name not in pins]
    if missing:
        raise SystemExit(f"pyproject.toml's book extra pins no version of {missing}")
    lines = [
        "# The book's package, from the wheel beside this file (not `dlfs` from PyPI, an",
        "# unrelated project), and the packages the notebooks need, at the versions the book",
        "# was run with.",
        f"./{wheel_name}",
        *(f"{name}=={pins[name]}" for name in FROM_BOOK_EXTRA),
        f"myst-nb=={importlib.metadata.version('myst-nb')}",
    ]
    return "\n".join(lines) + "\n"


def build_wheel(dest: Path, root: Path = ROOT) -> Path:
    """Build the dlfs wheel into ``dest`` from a copy of the package's sources (so that the
    build leaves nothing in the working tree); its path."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        source.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(root / name, source / name)
        shutil.copytree(root / "dlfs", source / "dlfs",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--quiet",
             "-w", str(dest)],
            capture_output=True, text=True, env=env,
        )
        if result.returncode != 0:
            raise SystemExit("building the dlfs wheel failed:\n" + result.stdout + result.stderr)
    wheels = sorted(dest.glob("dlfs-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one dlfs wheel in {dest}, found {wheels}")
    return wheels[0]


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(f"{TOP}/{name}", date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    info.create_system = 3  # Unix, so that the permissions hold
    zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def build(out: Path, notebooks: Path | None = None, root: Path = ROOT,
          quiet: bool = True) -> Path:
    """Write the readers' zip to ``out``: the notebooks folder (built afresh into
    ``notebooks``, default _build/notebooks), the wheel, requirements.txt, README.txt."""
    notebooks = notebooks or root / "_build" / "notebooks"
    reader_notebooks.build(notebooks, root=root, quiet=quiet)
    files: dict[str, bytes] = {}
    for path in sorted(notebooks.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(notebooks).as_posix()] = path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp), root)
        files[wheel.name] = wheel.read_bytes()
    files["requirements.txt"] = requirements(wheel.name, root).encode()
    files["README.txt"] = README.format(wheel=wheel.name).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as zf:
        for name in sorted(files):
            _add(zf, name, files[name])
    partial.replace(out)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "dlfs-notebooks.zip")
    args = ap.parse_args(argv)
    out = build(args.out)
    with zipfile.ZipFile(out) as zf:
        count = len(zf.namelist())
    print(f"{out}: {count} files under {TOP}/ ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
