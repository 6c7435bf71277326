"""Packaging: what pyproject.toml declares is what a reader's `pip install .` gets.

The slow tests build a fresh virtual environment, install the repository into it as a reader
would, and train from outside the repository: once with today's NumPy, once with the oldest
NumPy and setuptools that pyproject.toml declares. They need a package index (skipped where
none answers; a failure in CI).
"""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def floor(requirements: list[str], name: str) -> str:
    """The version after ``name>=`` in a list of requirements ("77" for "setuptools>=77")."""
    for requirement in requirements:
        match = re.fullmatch(rf"{name}\s*>=\s*([0-9.]+)", requirement.strip())
        if match:
            return match.group(1)
    raise AssertionError(f"no {name}>=... among {requirements}")


SETUPTOOLS_FLOOR = floor(PYPROJECT["build-system"]["requires"], "setuptools")
NUMPY_FLOOR = floor(PYPROJECT["project"]["dependencies"], "numpy")


def test_build_requirement_reads_the_license_field():
    # `license = "MIT"`, a PEP 639 expression, is refused by setuptools before 77
    assert isinstance(PYPROJECT["project"]["license"], str)
    assert int(SETUPTOOLS_FLOOR.split(".")[0]) >= 77


def test_license_file_matches_the_license_field():
    assert PYPROJECT["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


# The script a reader might run: every kind of layer the floor must carry, and a fit.
SCRIPT = r"""
import sys
from pathlib import Path

import numpy as np
import dlfs
from dlfs import (Adam, BatchNorm, CategoricalCrossEntropy, Conv2D, Dense, Flatten,
                  MaxPool2D, Model, ReLU, Softmax)

here = Path(dlfs.__file__).resolve()
assert Path(sys.prefix).resolve() in here.parents, f"dlfs came from {here}"
rng = np.random.default_rng(0)
X = rng.random((64, 1, 8, 8), dtype=np.float32)
y = (X[:, 0, :4].mean(axis=(1, 2)) > X[:, 0, 4:].mean(axis=(1, 2))).astype(int)
model = Model([Conv2D(1, 4, 3, padding=1, rng=1), BatchNorm(4), ReLU(),
               MaxPool2D(2), Flatten(), Dense(64, 16, rng=2), BatchNorm(16),
               ReLU(), Dense(16, 2, rng=3), Softmax()],
              loss=CategoricalCrossEntropy(), optimizer=Adam(learning_rate=0.01))
history = model.fit(X, y, epochs=1, batch_size=16, rng=4, verbose=0)
loss = history["loss"][0]
assert np.isfinite(loss), history
print(f"numpy {np.__version__}, dlfs {dlfs.__version__}, loss {loss:.4f}")
"""


def run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    """Run ``command``; its output, or a failure that shows it."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (f"{' '.join(command)} failed:\n"
                                    + result.stdout[-4000:] + result.stderr[-4000:])
    return result.stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of what the package is built from (the build writes into its source folder)."""
    folder = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "dlfs", folder / "dlfs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new virtual environment (with pip, without dlfs); its python."""
    folder = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(folder)], cwd=folder)
    python = folder / "bin" / "python"
    probe = subprocess.run([str(python), "-m", "pip", "download", "--no-deps", "--quiet",
                            "--dest", str(folder / "probe"), f"setuptools=={SETUPTOOLS_FLOOR}.*"],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("no package index answers:\n" + probe.stderr[-2000:])
        pytest.skip("no package index answers: the install tests need one")
    return python


def test_pip_install_in_a_fresh_venv(fresh_venv, source, tmp_path):
    # as a reader would: an isolated build, whichever NumPy the index offers
    run([str(fresh_venv), "-m", "pip", "install", "--quiet", str(source)], cwd=tmp_path)
    printed = run([str(fresh_venv), "-c", SCRIPT], cwd=tmp_path)
    assert printed.startswith("numpy 2."), printed
    licence = run([str(fresh_venv), "-c", "import importlib.metadata as m; "
                   "print(m.metadata('dlfs')['License-Expression'], "
                   "[f.name for f in m.files('dlfs') if f.name == 'LICENSE'])"], cwd=tmp_path)
    assert licence.split() == ["MIT", "['LICENSE']"], licence


def test_declared_floors_work(fresh_venv, source, tmp_path):
    # the oldest NumPy that pyproject.toml accepts, and a build with the oldest setuptools
    # it asks for, without isolation (the case that failed when the floor said 68)
    pip = [str(fresh_venv), "-m", "pip", "install", "--quiet"]
    run(pip + [f"numpy=={NUMPY_FLOOR}.*", f"setuptools=={SETUPTOOLS_FLOOR}.*"], cwd=tmp_path)
    run(pip + ["--no-build-isolation", "--no-deps", "--force-reinstall", str(source)],
        cwd=tmp_path)
    printed = run([str(fresh_venv), "-c", SCRIPT], cwd=tmp_path)
    assert printed.startswith(f"numpy {NUMPY_FLOOR}."), printed
