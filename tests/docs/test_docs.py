"""The documentation's generated pages (docs/_ext/aniso_docs.py) and the docstrings it renders.

The site itself is built by CI (``sphinx-build -W docs docs/_build/html``, then ``python docs/_ext/aniso_docs.py
docs/_build/html`` checks it is complete); these tests check the generator and the docstrings without Sphinx's
full build.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
aniso_docs = pytest.importorskip("aniso_docs")
registry = pytest.importorskip("theory.registry")


def test_every_theory_module_has_a_topic_page():
    modules = {rid.split(".")[0] for rid in registry.ids()}
    assert modules == set(aniso_docs.TOPICS)


def test_a_record_section_shows_id_sources_premises_claims_and_methods():
    rec = registry.get("diffusion.bgk_tensor")
    result = rec.check()
    text = aniso_docs.record_section(rec, result)
    assert "(record-diffusion.bgk_tensor)=" in text
    for source in rec.sources:
        assert aniso_docs._text(source) in text
    assert "**Premises**" in text and "**Claims**" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| claim")]
    assert len(rows) == len(rec.claims)
    for claim, row in zip(rec.claims, rows):
        method = next(c.method for c in result.claims if c.name == claim.name)
        assert row.endswith(f"| {aniso_docs._text(method)} |")


def test_a_failed_claim_is_shown_as_failed():
    rec = registry.get("diffusion.bgk_tensor")
    result = rec.check()
    result.claims[0].passed = False
    result.passed = False
    text = aniso_docs.record_section(rec, result)
    assert "proved: **NO**" in text and "**failed**" in text


def test_the_errata_page_has_a_row_per_erratum(tmp_path):
    n = aniso_docs.errata_page(tmp_path)
    table = [line for line in (tmp_path / "errata.md").read_text().splitlines() if line.startswith("| `")]
    assert n == len(registry.errata()) == len(table)
    assert n > 0


def test_every_public_module_has_an_api_page_and_no_private_one(tmp_path):
    names = aniso_docs.api_pages(tmp_path)
    on_disk = {p.stem for p in (tmp_path / "api").glob("*.md")} - {"index"}
    assert on_disk == set(names)
    assert {"numerics.qlt", "numerics.backtracking.boris", "numerics.validation.markov", "theory.registry"} <= set(names)
    assert not [n for n in names if any(part.startswith("_") for part in n.split("."))]
    index = (tmp_path / "api" / "index.md").read_text()
    assert all(f"\n{n}\n" in index for n in names)


def test_the_guide_pages_come_from_the_readme_with_working_links(tmp_path):
    aniso_docs.guide_pages(tmp_path)
    readme = (ROOT / "README.md").read_text()
    main_job = (tmp_path / "guide" / "main-job.md").read_text()
    assert "`aniso run` proves every derivation" in readme and "`aniso run` proves every derivation" in main_job
    links = re.findall(r"\]\(([^)#:]+|path:[^)]+)\)", "".join(p.read_text() for p in (tmp_path / "guide").glob("*.md")))
    assert "../../results.md" in links and "path:../../../CITATION.cff" in links
    for link in links:
        # seen from docs/generated/guide/: a page of the site (docs/results.md) or a file of the repository
        target = os.path.normpath(ROOT / "docs" / "generated" / "guide" / link.removeprefix("path:"))
        assert Path(target).is_file(), link


def test_a_readme_link_the_site_cannot_show_is_refused():
    with pytest.raises(ValueError, match="cannot show"):
        aniso_docs.readme_section("## A\n[x](no/such/file.txt)\n## B\n", "## A", "## B")
    with pytest.raises(ValueError, match="no heading"):
        aniso_docs.readme_section("## A\n", "## Missing", None)


@pytest.mark.parametrize("line, expected", [
    ("the error |z| of it", r"the error \|z\| of it"),
    ("kept ``|x - y|`` and :math:`|x|` and `|k|`", "kept ``|x - y|`` and :math:`|x|` and `|k|`"),
    ("mixed |a| and ``|b|``", r"mixed \|a\| and ``|b|``"),
])
def test_bars_are_escaped_outside_literals_and_maths(line, expected):
    lines = [line]
    aniso_docs.escape_bars(lines)
    assert lines == [expected]


def test_bars_in_a_maths_block_are_kept():
    lines = ["Text |a|.", "", ".. math::", "", "    |x|^2 = x x^*", "", "After |b|."]
    aniso_docs.escape_bars(lines)
    assert lines == [r"Text \|a\|.", "", ".. math::", "", "    |x|^2 = x x^*", "", r"After \|b\|."]


def _documented_callables():
    for name in aniso_docs.public_modules():
        mod = importlib.import_module(name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj
            elif inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    func = getattr(meth, "__func__", meth)
                    if not meth_name.startswith("_") and inspect.isfunction(func):
                        yield f"{name}.{attr}.{meth_name}", func


def test_every_documented_parameter_is_a_parameter():
    """napoleon reads a numpydoc Parameters section up to the next section header: text or doctests left under it
    (instead of under Notes or Examples) turn into parameters named '>>> round(...' on the rendered page."""
    from sphinx.ext.napoleon import Config, NumpyDocstring

    config = Config(napoleon_use_rtype=False)
    bad = []
    checked = 0
    for qualname, func in _documented_callables():
        doc = inspect.getdoc(func)
        if not doc or "Parameters\n----------" not in doc:
            continue
        checked += 1
        parsed = str(NumpyDocstring(doc, config, what="function"))
        params = set(inspect.signature(func).parameters)
        for entry in re.findall(r"^:param ([^:]*):", parsed, re.M):
            names = [n.strip().lstrip("*") for n in entry.split(",")]
            bad += [f"{qualname}: {n!r}" for n in names if n not in params]
    assert checked >= 25  # the scan reaches the numpydoc docstrings (31 when written)
    assert not bad, "\n".join(bad)


def test_check_site_names_what_an_empty_site_lacks(tmp_path):
    problems = aniso_docs.check_site(tmp_path)
    assert any("no API page for numerics.qlt" == p for p in problems)
    assert any(p.startswith("derivation record diffusion.bgk_tensor") for p in problems)
    assert any(p.startswith("notebook 01_diffusion_and_compton_getting is not rendered") for p in problems)
    assert any(p.startswith("the errata page has -1 rows") for p in problems)


def test_an_executed_notebook_is_rendered_only_while_its_source_is_current(tmp_path, monkeypatch):
    """The docs render the test suite's executed notebook instead of executing again only if it came from this
    very source (notebook and package); otherwise the jupytext file is copied and executed during the build."""
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setattr(aniso_docs, "EXECUTED", tmp_path / "executed")
    notebook = sorted((ROOT / "notebooks").glob("[0-9]*.py"))[0]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", outputs=[
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)])])
    assert aniso_docs.executed_for(notebook) is None  # nothing stored
    stored = aniso_docs.store_executed(nb, notebook)
    assert aniso_docs.executed_for(notebook) == stored
    copies = aniso_docs.notebook_copies(tmp_path / "site")
    assert copies[notebook.stem] == ".ipynb"
    assert all(suffix == ".py" for name, suffix in copies.items() if name != notebook.stem)

    monkeypatch.setattr(aniso_docs, "source_key", lambda path: "another source")
    assert aniso_docs.executed_for(notebook) is None  # changed source or package: executed again
    assert aniso_docs.notebook_copies(tmp_path / "site2")[notebook.stem] == ".py"


def test_an_executed_notebook_without_outputs_is_not_rendered(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setattr(aniso_docs, "EXECUTED", tmp_path / "executed")
    notebook = sorted((ROOT / "notebooks").glob("[0-9]*.py"))[0]
    aniso_docs.store_executed(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), notebook)
    assert aniso_docs.executed_for(notebook) is None
