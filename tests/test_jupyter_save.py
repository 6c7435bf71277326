"""Opening and saving a chapter in JupyterLab changes no byte of its pair.

The pairs are stored in the form that JupyterLab 4 and jupytext's contents manager write: sorted
front matter, quoted tags, the ipykernel kernelspec and the kernel's ``language_info``. These
tests save every pair as the front end does, through a real ``jupyter server``'s contents API,
and read every ``.md`` back through jupytext, and compare bytes.
"""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupytext
import pytest
from ipykernel.ipkernel import IPythonKernel
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
TOKEN = "dlfs-test"
# What JupyterLab 4 writes when it saves a notebook that runs on the ipykernel of this Python.
FRONT_END_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A jupyter server (with the extensions `make book` installs) on a copy of the chapters."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "chapters", root / "chapters", copy_function=shutil.copy)  # fresh mtimes, as a clone
    shutil.copy(ROOT / "jupytext.toml", root)
    port = free_port()
    log = open(root / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(600):
        try:
            call(f"{url}/status")
            break
        except OSError:
            assert server.poll() is None, (root / "server.log").read_text()
            time.sleep(0.1)
    yield url, root
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_saving_a_pair_as_jupyterlab_does_changes_no_byte(lab, chapter: Path):
    url, root = lab
    path = f"chapters/{chapter.stem}.ipynb"
    model = call(f"{url}/contents/{path}?content=1")
    metadata = model["content"]["metadata"]
    metadata["kernelspec"] = FRONT_END_KERNELSPEC
    metadata["language_info"] = IPythonKernel.language_info
    call(f"{url}/contents/{path}", "PUT", {"type": "notebook", "format": "json", "content": model["content"]})

    saved_notebook = json.loads((root / path).read_text(encoding="utf-8"))
    stored_notebook = json.loads(chapter.with_suffix(".ipynb").read_text(encoding="utf-8"))
    stored_version = stored_notebook["metadata"]["language_info"]["version"]
    if stored_version != IPythonKernel.language_info["version"]:
        # Another Python writes its own version; nothing else may change.
        saved_notebook["metadata"]["language_info"]["version"] = stored_version
        assert saved_notebook == stored_notebook, f"saving {path} in JupyterLab changes it"
    else:
        assert (root / path).read_bytes() == chapter.with_suffix(".ipynb").read_bytes(), (
            f"saving {path} in JupyterLab changes it: store the form the front end writes")
    assert (root / "chapters" / chapter.name).read_bytes() == chapter.read_bytes(), (
        f"saving {path} in JupyterLab rewrites {chapter.name}: store the form jupytext writes")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_jupytext_writes_each_md_back_unchanged(chapter: Path):
    config = load_jupytext_config(str(chapter.parent))
    text = chapter.read_text(encoding="utf-8")
    rewritten = jupytext.writes(jupytext.reads(text, fmt="md:myst", config=config), fmt="md:myst", config=config)
    assert rewritten == text, f"jupytext rewrites {chapter.name}: store the form it writes"
