"""The readers' download (`make zip`, tools/reader_zip.py): what it holds, and that it runs.

The slow test does what a reader does: unpacks the zip into an empty folder outside the
repository, makes a fresh venv, installs ``-r requirements.txt`` from the package index, and
executes chapter 1 and the autograd chapter with ``jupyter nbconvert --execute``; every code
cell's printed text (streams and text/plain, not images) must equal the stored one. It needs a
package index: skipped where none answers, a failure in CI.
"""

import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from notebook_text import printed

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("reader_zip", ROOT / "tools" / "reader_zip.py")
rz = importlib.util.module_from_spec(_spec)
sys.modules["reader_zip"] = rz
_spec.loader.exec_module(rz)

TOP = rz.TOP
RUN_CHAPTERS = ["01-dense-layer", "11-autograd"]


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory) -> Path:
    """The readers' zip, built once (with its notebooks folder) into a temporary folder."""
    folder = tmp_path_factory.mktemp("zip")
    return rz.build(folder / "dlfs-notebooks.zip", notebooks=folder / "notebooks")


def listing_problems(zf: zipfile.ZipFile) -> list[str]:
    """What is missing or wrong in a readers' zip; empty when it is complete."""
    names = zf.namelist()
    problems = [f"{name} is not under {TOP}/" for name in names if not name.startswith(TOP + "/")]
    inner = {name[len(TOP) + 1:] for name in names if name.startswith(TOP + "/")}
    chapters = [doc for doc in rz.reader_notebooks.toc_documents() if doc.startswith("chapters/")]
    for doc in chapters:
        if f"{doc}.ipynb" not in inner:
            problems.append(f"no reader notebook {doc}.ipynb")
    for name in ["chapters/numeric_platform.py", "README.txt", "requirements.txt",
                 "jupytext.toml", "benchmarks/results.json", "benchmarks/autograd.json"]:
        if name not in inner:
            problems.append(f"no {name}")
    if not any(re.fullmatch(r"benchmarks/[\w-]+\.json", name) for name in inner):
        problems.append("no benchmarks/*.json")
    wheels = [name for name in inner if re.fullmatch(r"dlfs-[\w.]+-py3-none-any\.whl", name)]
    if len(wheels) != 1:
        problems.append(f"expected one dlfs wheel at the top, found {wheels}")
    if "requirements.txt" in inner:
        lines = [line.strip() for line in
                 zf.read(f"{TOP}/requirements.txt").decode().splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        bare = [line for line in lines
                if re.match(r"dlfs(\s*$|\s*[=<>!~\[;])", line, re.IGNORECASE)]
        if bare:
            problems.append(f"requirements.txt names the bare `dlfs` (PyPI's is another "
                            f"project): {bare}")
        if wheels and f"./{wheels[0]}" not in lines:
            problems.append(f"requirements.txt does not name the wheel file ./{wheels[0]}")
        for name in rz.FROM_BOOK_EXTRA + ["myst-nb"]:
            if not any(re.fullmatch(rf"{re.escape(name)}==[\w.]+", line) for line in lines):
                problems.append(f"requirements.txt pins no {name}")
        if any(line.startswith("jupyter-book") for line in lines):
            problems.append("requirements.txt names jupyter-book (the site's, not the readers')")
    if "README.txt" in inner:
        readme = zf.read(f"{TOP}/README.txt").decode()
        for command in ["pip install -r requirements.txt", "jupyter lab"]:
            if command not in readme:
                problems.append(f"README.txt does not say `{command}`")
    return problems


def test_zip_holds_what_a_reader_needs(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        assert listing_problems(zf) == []
        names = zf.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in zf.infolist()} == {rz.ZIP_TIME}
        requirements = zf.read(f"{TOP}/requirements.txt").decode()
    assert "./dlfs-0.1.0-py3-none-any.whl\n" in requirements
    assert "numpy==2.4.6\n" in requirements


def test_zip_is_deterministic(zip_path, tmp_path):
    again = rz.build(tmp_path / "again.zip", notebooks=tmp_path / "notebooks")
    assert again.read_bytes() == zip_path.read_bytes()


def test_a_zip_that_names_the_bare_dlfs_fails_the_listing_check(zip_path):
    # the same zip, but with `dlfs` for the wheel's file in requirements.txt
    out = io.BytesIO()
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == f"{TOP}/requirements.txt":
                data = re.sub(rb"(?m)^\./dlfs-.*\.whl$", b"dlfs==0.1.0", data)
            dst.writestr(info, data)
    with zipfile.ZipFile(out) as zf:
        problems = listing_problems(zf)
    assert any("bare `dlfs`" in problem for problem in problems), problems
    assert any("does not name the wheel file" in problem for problem in problems), problems


def run(command, cwd, env, timeout=1800) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (f"{command} failed:\n" + result.stdout[-3000:]
                                    + result.stderr[-5000:])
    return result


def test_unpacked_zip_runs_chapters_in_a_fresh_venv(zip_path):
    with tempfile.TemporaryDirectory(prefix="dlfs-reader-") as tmp:
        folder = Path(tmp).resolve()
        assert not folder.is_relative_to(ROOT.resolve())
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(folder)
        here = folder / TOP
        # a clean environment: nothing of the repository's venv, an empty Jupyter home
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
               and not key.startswith(("JUPYTER", "IPYTHON", "OPENBLAS", "NPY_"))}
        env["HOME"] = str(folder / "home")
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        venv = here / ".venv"
        run([sys.executable, "-m", "venv", venv], cwd=here, env=env)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        pip = [venv / "bin" / "python", "-m", "pip"]
        probe = subprocess.run([*map(str, pip), "download", "--no-deps", "--quiet",
                                "--dest", str(folder / "probe"), "myst-nb"],
                               cwd=here, env=env, capture_output=True, text=True, timeout=300)
        if probe.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail("no package index answers:\n" + probe.stderr[-2000:])
            pytest.skip("no package index answers: installing requirements.txt needs one")
        run([*pip, "install", "--quiet", "-r", "requirements.txt"], cwd=here, env=env)
        where = run([venv / "bin" / "python", "-c", "import dlfs; print(dlfs.__file__)"],
                    cwd=folder, env=env).stdout.strip()
        assert Path(where).is_relative_to(venv), where
        for chapter in RUN_CHAPTERS:
            run([venv / "bin" / "jupyter", "nbconvert", "--to", "notebook", "--execute",
                 "--ExecutePreprocessor.timeout=900", "--output-dir", folder / "executed",
                 f"{chapter}.ipynb"], cwd=here / "chapters", env=env)
            stored = nbformat.read(here / "chapters" / f"{chapter}.ipynb", as_version=4)
            executed = nbformat.read(folder / "executed" / f"{chapter}.ipynb", as_version=4)
            expected, got = printed(stored), printed(executed)
            assert len(got) == len(expected)
            differ = [(i, want, have) for i, (want, have) in enumerate(zip(expected, got))
                      if want != have]
            assert not differ, (
                f"{chapter}: code cells {[d[0] for d in differ]} print otherwise; cell "
                f"{differ[0][0]}:\nstored:\n{differ[0][1]}\nran:\n{differ[0][2]}")
