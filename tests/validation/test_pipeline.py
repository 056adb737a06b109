"""numerics.validation.pipeline: ensemble naming, reuse, and argument checks (fast; tiny ensembles)."""
from __future__ import annotations

import pytest

from numerics import report
from numerics.backtracking import simulation
from numerics.validation import pipeline


def _tiny(scale):
    return simulation.preset("ahlers-mertsch-2015", "quick").replace(
        name=f"tiny/{scale}", nside=1, n_modes=8, realizations=2, omega_t=(0.1, 1.0), seed=5)


def test_path_names_the_physics_not_the_size(tmp_path):
    cfg = _tiny("ci")
    assert pipeline.ensemble_path(cfg, tmp_path) == pipeline.ensemble_path(cfg.replace(realizations=7), tmp_path)
    assert pipeline.ensemble_path(cfg, tmp_path) != pipeline.ensemble_path(cfg.replace(seed=6), tmp_path)
    assert pipeline.ensemble_path(cfg, tmp_path).name.startswith("tiny-ci-")


def test_an_ensemble_is_simulated_once_then_reused_and_extended(tmp_path, monkeypatch):
    monkeypatch.setitem(pipeline.ENSEMBLES, "002", _tiny)
    ens, info = pipeline.load_or_simulate("002", "ci", tmp_path, progress=False)
    assert info["reused"] is False and ens.realizations == 2
    stamp = pipeline.ensemble_path(_tiny("ci"), tmp_path).stat().st_mtime_ns
    ens2, info2 = pipeline.load_or_simulate("002", "ci", tmp_path, progress=False)
    assert info2["reused"] is True and ens2.realizations == 2
    assert pipeline.ensemble_path(_tiny("ci"), tmp_path).stat().st_mtime_ns == stamp  # not rewritten
    monkeypatch.setitem(pipeline.ENSEMBLES, "002", lambda s: _tiny(s).replace(realizations=3))
    ens3, info3 = pipeline.load_or_simulate("002", "ci", tmp_path, progress=False)
    assert info3["reused"] is False and ens3.realizations == 3
    assert (ens3.moments[:2] == ens.moments).all()  # the first two realizations were kept, not recomputed


def test_the_headline_numbers_are_lifted_into_results(tmp_path, monkeypatch):
    from numerics.validation import registry
    from numerics.validation.base import Comparison, Spec

    def fake(ens, figdir, scale, progress):
        return Comparison("transition_matrix", "t", {"max_dev_sigma": 1.5, "other": 2}, {}, 1.5, 5.0, "m")

    monkeypatch.setitem(registry.COMPARISONS, "transition_matrix",
                        Spec("transition_matrix", fake, headline=("max_dev_sigma",)))
    comps, info = pipeline.run_comparisons(None, "ci", tmp_path, only=["transition_matrix"])
    assert list(comps) == [*registry.names("analytic"), "transition_matrix"]
    d = comps["transition_matrix"].as_dict()
    assert d["max_dev_sigma"] == 1.5 and d["verdict"] == "pass" and "other" not in d and info == {}


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(scale="huge"), "scale='huge'"),
    (dict(workers=0), "workers=0"),
    (dict(workers=2, dask_address="tcp://x:1"), "workers and dask_address"),
    (dict(only=["nope"]), "comparison='nope'"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        report.run(tmp_path / "rep", progress=False, data_dir=tmp_path / "data", **kwargs)
    assert list(tmp_path.iterdir()) == []


def _entry(verdict, fit_sigma, convergence_sigma):
    return {"verdict": verdict, "tolerance": 3.0,
            "measured": {"fit_sigma": fit_sigma, "convergence_sigma": convergence_sigma}}


@pytest.mark.parametrize("entry,expected", [
    (_entry("fail", 60.0, 0.5), "known disagreement"),   # QLT rejected, spectrum converged: the documented finding
    (_entry("fail", 60.0, 4.0), "FAIL"),                 # not converged: not the documented finding
    (_entry("fail", 1.0, 4.0), "FAIL"),
    (_entry("pass", 1.0, 0.5), "FAIL (unexpected pass: review its known disagreement)"),
])
def test_a_known_disagreement_is_strict(entry, expected):
    assert pipeline.outcome("qlt", entry) == expected


def _readings(verdict, *pairs):
    entry = _entry(verdict, pairs[0][0], pairs[0][1])
    entry["measured"]["readings"] = {f"r{i}": {"fit_sigma": f, "convergence_sigma": c} for i, (f, c) in enumerate(pairs)}
    return entry


@pytest.mark.parametrize("entry,expected", [
    (_readings("fail", (60.0, 0.5), (20.0, 1.0)), "known disagreement"),  # every reading: rejected and converged
    (_readings("fail", (60.0, 0.5), (1.0, 1.0)), "FAIL"),                 # one reading fits: not the documented finding
    (_readings("fail", (60.0, 0.5), (20.0, 4.0)), "FAIL"),                # one reading not converged
])
def test_the_known_disagreement_holds_for_every_reading(entry, expected):
    assert pipeline.outcome("qlt", entry) == expected


def test_other_comparisons_have_no_known_disagreement():
    assert pipeline.outcome("transition_matrix", _entry("fail", 60.0, 0.5)) == "FAIL"
    assert pipeline.outcome("transition_matrix", _entry("pass", 0.0, 0.0)) == "pass"


def _results(outcomes, passed, proved=True, fresh=True, caveats=None):
    caveats = caveats or {}
    return {"passed": passed, "comparisons": {n: {"outcome": o, **caveats.get(n, {})} for n, o in outcomes.items()},
            "checks": [{"id": "a.b", "passed": proved}], "kernels": {"fresh": fresh}}


@pytest.mark.parametrize("results,expected", [
    (_results({"x": "pass", "qlt": "known disagreement"}, True), "PASS — 1 pass, 1 known disagreement (qlt)"),
    (_results({"x": "pass", "y": "FAIL", "z": "FAIL (unexpected pass: review its known disagreement)"}, False),
     "FAIL — 1 pass, 2 FAIL (y, z)"),
    (_results({"x": "pass"}, False, proved=False, fresh=False), "FAIL — 1 pass; 1 derivation not proved (a.b); stale kernels"),
    (_results({"x": "pass", "y": "pass", "qlt": "known disagreement"}, True,
              caveats={"x": {"converged": False, "agrees": False}, "y": {"agrees": True, "converged": None}}),
     "PASS — 2 pass (not converged: x; disagrees with theory: x), 1 known disagreement (qlt)"),
])
def test_the_outcome_line_names_every_failure(results, expected):
    assert report.outcome_line(results) == expected


def test_maths_is_prerendered_for_the_html_report():
    """Maths becomes inline SVG (no script, no network when the page is opened), words stay words, and TeX that
    mathtext cannot parse is shown as its source rather than dropped."""
    svg = report.maths_html(r"\boldsymbol\delta = \boldsymbol\delta^* + \tfrac13(2+\Gamma)\boldsymbol\beta")
    assert svg.startswith("<span class=maths") and "<svg" in svg and ("<path" in svg or "<use" in svg)
    assert report.maths_html("only <words> here") == "only &lt;words&gt; here"
    assert report.maths_html(r"\frac{a}{b") == r"<code>\frac{a}{b</code>"


def test_errata_markdown_uses_maths_only_for_maths():
    errata = [{"equation": "eq. (1)", "printed": r"a \approx b", "corrected": "no such term", "reason": "r_1 was wrong",
               "derivation": "x.y"}]
    table = report._errata_md(errata).splitlines()[2]
    assert table == r"| eq. (1) | $a \approx b$ | no such term | r\_1 was wrong | `x.y` |"
