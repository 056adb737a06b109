"""Every notebook executes top to bottom (jupytext py:percent -> nbclient), with small sizes."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    """Executed with figures drawn inline, as in JupyterLab; the executed notebook is left in docs/_build/executed/
    for the documentation, which renders it instead of executing the notebook again while its source is current."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("ANISO_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert os.environ["ANISO_SMALL"] == "1"
    assert [o for o in outputs if "image/png" in o.get("data", {})], "no figure drawn"
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    import aniso_docs

    stored = aniso_docs.store_executed(nb, path)
    assert aniso_docs.executed_for(path) == stored


def test_jupyterlab_opens_the_notebooks_as_notebooks():
    """jupyter/overrides.json (passed by the README's command line) makes the jupytext factory the default viewer of
    Python files, and that factory is the one the installed jupytext extension registers."""
    import json

    root = Path(__file__).resolve().parents[2]
    overrides = json.loads((root / "jupyter" / "overrides.json").read_text())
    factory = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"]
    assert factory == "Jupytext Notebook"
    assert '--LabApp.app_settings_dir="$PWD/jupyter" notebooks/' in (root / "README.md").read_text()
    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-jupytext"
    if not ext.exists():
        pytest.skip("the jupytext JupyterLab extension is not installed here")
    assert any(factory in p.read_text(errors="ignore") for p in ext.rglob("*.js"))


def test_the_main_jobs_output_is_ignored_by_git():
    """`aniso run` and `aniso simulate` write aniso-report/, aniso-data/ and aniso-simulation/ in the working
    directory: git status stays clean after the README's commands."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    names = ["aniso-report/index.html", "aniso-data/x.h5", "aniso-simulation/p/simulation.h5"]
    res = subprocess.run(["git", "check-ignore", *names], cwd=root, capture_output=True, text=True)
    assert res.stdout.split() == names
