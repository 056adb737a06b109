"""The validations of `aniso run` pass, and the main job writes a complete report."""
from __future__ import annotations

import json

import matplotlib
import pytest

from numerics.validation import COMPARISONS

matplotlib.use("Agg")


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison_passes(name, tmp_path):
    comp = COMPARISONS[name](tmp_path / "figures")
    assert comp.verdict == "pass", f"{name}: error {comp.error} > tolerance {comp.tolerance}"
    for fig in comp.figures:
        assert (tmp_path / fig).stat().st_size > 1000


def test_compton_getting_error_is_second_order():
    comp = COMPARISONS["compton_getting_boost"](None)
    # a tenfold beta must raise the first-order formula's relative error about a hundredfold
    assert 50 < comp.measured["error_ratio"] < 200


def test_report_written_atomically(tmp_path):
    from numerics import report

    out = tmp_path / "report"
    results = report.run(out, progress=False)
    assert results["passed"]
    for f in ("index.html", "summary.md", "results.json", "errata.md"):
        assert (out / f).stat().st_size > 0
    data = json.loads((out / "results.json").read_text())
    assert set(data["comparisons"]) == set(COMPARISONS)
    assert all(c["verdict"] == "pass" for c in data["comparisons"].values())
    assert data["kernels"]["fresh"] is True
    assert any(e["equation"] == "review eq. (18)" for e in data["errata"])
    html = (out / "index.html").read_text()
    for c in data["comparisons"].values():
        for fig in c["figures"]:
            assert (out / fig).exists() and fig in html
    # no temporary directories left beside the report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
