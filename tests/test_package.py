"""The package as users meet it: ``aniso --version``, the version in one place, the citation file.

The wheel itself (built, installed non-editable into a fresh environment, run outside the checkout) is checked by
``.ci/wheel``, which CI runs after the tests: it needs the package registries and minutes, not a unit test's budget.
"""
from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import numerics
from numerics import cli, provenance

ROOT = Path(__file__).resolve().parent.parent


def _git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def test_version_is_in_one_place():
    assert re.fullmatch(r"\d+\.\d+\.\d+", numerics.__version__)
    assert importlib.metadata.version("aniso-workbench") == numerics.__version__  # the build reads it from there
    assert 'version = "' not in (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]


def test_aniso_version_prints_the_version_and_the_commit(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    line = out.strip()
    assert line.startswith(f"aniso-workbench {numerics.__version__} (")
    head = _git("rev-parse", "HEAD")
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert f"(commit {head.stdout.strip()[:12]}" in line
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no").stdout.strip())
    assert line.endswith(", modified)") is dirty


def test_aniso_version_from_the_command_line():
    r = subprocess.run([sys.executable, "-m", "numerics.cli", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout == provenance.version() + "\n"


def test_version_outside_a_checkout(monkeypatch):
    monkeypatch.setattr(provenance, "commit", lambda: {"id": None, "dirty": None})
    assert provenance.version() == f"aniso-workbench {numerics.__version__} (commit unknown: not run from a git checkout)"


def test_citation_and_changelog():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["version"] == numerics.__version__
    titles = " | ".join(r["title"].lower() for r in cff["references"])
    for paper in ("origin of small-scale anisotropies", "relative diffusion", "quasi-linear theory"):
        assert paper in titles
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{numerics.__version__}]" in changelog and "## [Unreleased]" in changelog


def test_the_ci_builds_and_runs_the_wheel():
    run = (ROOT / ".ci" / "run").read_text()
    wheel = (ROOT / ".ci" / "wheel").read_text()
    assert ".ci/wheel" in run
    for command in ("aniso check", "aniso spectrum qlt", "aniso run --scale ci --only compton_getting", "-m build"):
        assert command in wheel, command
