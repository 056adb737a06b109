"""The wall-time estimate of ``aniso run`` and ``aniso simulate`` (numerics.estimate): the planned work is what the
backtracker then integrates, stored work is left out, and the printed line says what it rests on.

Whether the estimate is close to the real time is a property of the machine, not a unit test: it is measured and
reported (README); here only the counting is checked, exactly."""
from __future__ import annotations

import numpy as np
import pytest

from numerics import estimate
from numerics.backtracking import boris, simulation
from numerics.validation import compton_getting_e2e as cg
from numerics.validation import markov, markov_closure, measurements, pipeline, registry
from numerics.validation import transition_matrix as tm


def test_mode_evaluations_and_the_counter():
    field = simulation.make_field(pipeline.ensemble_config("003", "ci"), 0)
    dirs = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    dt = boris.default_step(field)
    with boris.counting() as outer:
        boris.backtrack(field, dirs, [7 * dt], dt=dt)
        with boris.counting() as inner:
            boris.backtrack(field, dirs, [2 * dt, 5 * dt], dt=dt, integrator="yoshida4")
    assert inner[0] == 3 * 5 * field.n_modes * 3
    assert outer[0] == 3 * 7 * field.n_modes + inner[0]
    with pytest.raises(ValueError, match="integrator"):
        boris.mode_evaluations(1, 1, 1, "rk4")


def test_every_comparison_that_backtracks_itself_declares_its_work():
    for name in registry.names("backtracker"):
        spec = registry.COMPARISONS[name]
        assert (spec.work is not None) is (spec.sizes is not None), name  # its own setup <=> its own work
    for name in ("compton_getting", "transition_matrix", "markov_closure", "relative_scattering"):
        for scale in ("ci", "quick", "paper"):
            ws = registry.COMPARISONS[name].work(scale)
            assert ws and all(w.rows >= 1 and w.evals_per_row > 0 and w.stored is not None for w in ws), (name, scale)


def _one_row_counted(fn):
    with boris.counting() as c:
        fn()
    return c[0]


def test_planned_work_is_what_a_row_integrates():
    """One row of each measurement at ci size, counted by the backtracker, against its declared evals_per_row."""
    w = cg.work("ci")[0]
    assert _one_row_counted(lambda: cg._rows("ci", cg.MASTER_SEED, 0, 1)) == w.evals_per_row
    size = tm.SIZES["ci"]
    w = tm.work("ci")[0]
    assert _one_row_counted(lambda: tm._rows(0, 1, size["nside"], size["n_modes"], size["l_fit"],
                                             (1.0, tm.CHECK_FACTOR), tm.SEED)) == w.evals_per_row
    assert w.rows == size["realizations"]
    sizes = markov_closure.SIZES["ci"]
    for reading, w in zip(markov.READINGS, markov_closure.work("ci")):
        args = markov._validate(reading, markov_closure.GRIDS[reading], sizes["realizations"], sizes["nside"],
                                sizes["l_fit"], sizes["n_modes"], markov.SEED, 1, None, 1.0, 0)
        assert _one_row_counted(lambda r=reading, a=args: markov._rows(r, a, 0, 1)) == w.evals_per_row, reading
        assert w.label == f"markov {reading}" and w.rows == sizes["realizations"]


def test_the_resolution_checks_are_planned_at_twice_nside():
    hi = [w for w in tm.work("quick") if "2 nside" in w.label]
    assert len(hi) == 1 and hi[0].rows == tm.SIZES["quick"]["n_res"]
    base = tm.work("quick")[0]
    assert hi[0].evals_per_row * 2 == base.evals_per_row * 4  # one omega factor instead of two, four times the pixels


def test_an_ensembles_planned_work_and_what_is_stored(tmp_path):
    cfg = pipeline.ensemble_config("003", "ci").replace(realizations=3, nside=2)
    path = tmp_path / "e.h5"
    planned = estimate._ensemble_evals(cfg, path)
    with boris.counting() as c:
        simulation.run_ensemble(cfg.replace(realizations=2), path, progress=False)
    assert c[0] * 3 == planned * 2
    assert estimate._ensemble_evals(cfg, path) * 3 == planned  # the two stored are left out
    assert estimate._ensemble_evals(cfg.replace(realizations=2), path) == 0.0
    assert estimate.for_simulation(cfg.replace(realizations=2), path).text() == (
        "estimated wall time on this machine: nothing to compute (every part is stored)")


def test_rows_stored_follows_the_measurement_key(tmp_path):
    def compute(a, b):
        return {"x": np.arange(a, b, dtype=float), "same": 1.0}

    with measurements.stored_in(tmp_path):
        measurements.cached_rows("probe", {"p": 1}, 3, compute, rows=("x",))
    assert measurements.rows_stored(tmp_path, "probe", {"p": 1}, ("x",)) == 3
    assert measurements.rows_stored(tmp_path, "probe", {"p": 2}, ("x",)) == 0
    assert measurements.rows_stored(tmp_path / "none", "probe", {"p": 1}, ("x",)) == 0


def test_the_run_estimate_leaves_out_stored_measurements(tmp_path, monkeypatch):
    monkeypatch.setattr(estimate, "calibrate", lambda threads=None, seconds=0.3: 1e9)
    monkeypatch.setattr(estimate, "probe", lambda: estimate.REFERENCE["probe_s"])
    est = estimate.for_run("ci", tmp_path, only=["transition_matrix"])
    parts = dict(est.parts)
    w = tm.work("ci")[0]
    assert parts["transition matrix"] == pytest.approx(w.rows * w.evals_per_row / 1e9, rel=1e-12)
    assert parts["checks"] == estimate.REFERENCE["checks_s"]
    # the first 5 rows stored: only the rest is planned
    name, params, rows, modules = w.stored
    with measurements.stored_in(tmp_path):
        measurements.cached_rows(name, params, 5, lambda a, b: {"M": np.zeros((b - a, 1))}, rows=rows, modules=modules)
    parts = dict(estimate.for_run("ci", tmp_path, only=["transition_matrix"]).parts)
    assert parts["transition matrix"] == pytest.approx((w.rows - 5) * w.evals_per_row / 1e9, rel=1e-12)
    assert "ensemble 002" not in parts  # transition_matrix reads no ensemble
    text = estimate.for_run("ci", tmp_path).text()
    assert text.startswith("estimated wall time on this machine ~") and "1e+09 mode evaluations/s" in text


def test_calibration_and_probe_measure_something():
    rate = estimate.calibrate(seconds=0.05)
    assert np.isfinite(rate) and rate > 0
    assert 0 < estimate.probe() < 60
