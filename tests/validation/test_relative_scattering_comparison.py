"""The relative_scattering comparison (numerics.validation.relative_scattering): its time grid, its planned work, the
known-answer test behind its verdict, and bad input.  The comparison itself runs in the main job (ci scale)."""
from __future__ import annotations

import numpy as np
import pytest

from numerics.backtracking import boris
from numerics.validation import relative_scattering as R


@pytest.mark.parametrize("field", list(R.FIELDS))
def test_the_windows_are_whole_steps_equally_spaced_at_their_t_nu(field):
    dt = R._step(R._config(field, "ci"))
    times, where = R._times(field, dt)
    assert np.all(np.diff(times) > 0)
    steps = times / dt
    assert np.max(np.abs(steps - np.rint(steps))) < 1e-6
    nu = R.FIELDS[field]["nu"]
    for name, (a, b) in R.WINDOWS.items():
        t = times[where[name]]
        assert t.size == R.N_TIMES
        assert np.allclose(np.diff(t), np.diff(t)[0], rtol=1e-9, atol=0)
        assert abs(t[0] * nu - a) < 0.01 * a and abs(t[-1] * nu - b) < 0.02 * b


@pytest.mark.parametrize("field", ["002"])
def test_planned_work_is_what_a_row_integrates(field):
    w = {x.label: x for x in R.work("ci")}[f"relative scattering {field}"]
    with boris.counting() as c:
        R._rows(field, "ci", R.SIZES["ci"]["n_orient"], 0, 1)
    assert c[0] == w.evals_per_row
    assert w.rows == R.SIZES["ci"]["realizations"][field]


def test_the_known_answer_test_recovers_p_and_the_identity():
    s, w = R._nodes("002")
    out = R._known_answer({"s": s, "w": w, "field": "002"}, 4, seed=1)
    assert out["p_error"] < R.P_TOLERANCE and out["identity_error"] < R.IDENTITY_TOLERANCE
    assert abs(out["p_recovered"] - R.P_TRUE) == out["p_error"]


def test_a_p_on_the_grid_edge_is_a_bound():
    assert R._bound(R.P_GRID[0]) == f"p <= {R.P_GRID[0]:g}"
    assert R._bound(R.P_GRID[-1]) == f"p >= {R.P_GRID[-1]:g}"
    assert R._bound(0.5) is None


def test_bad_input():
    with pytest.raises(ValueError, match="scale='huge'"):
        R.relative_scattering({}, scale="huge")
    with pytest.raises(ValueError, match="field='004'"):
        R.measure_pairs("004", "ci")
    with pytest.raises(ValueError, match="realizations=2"):
        R.measure_pairs("002", "ci", realizations=2)
