"""Boris against its fourth-order compositions (issue 14, item 1): the study's integrator is the backtracker's, its
equal-accuracy reading is right, and the committed study supports yoshida4's default step and bound
(numerics.validation.integrator_study, numerics.backtracking.kernel)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from numerics.backtracking import boris, kernel
from numerics.backtracking.turbulence import PlaneWaveField
from numerics.validation import integrator_study as study

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "results" / "step-study" / "integrator.json"


@pytest.mark.parametrize("scheme", ["boris", "yoshida4"])
def test_the_study_integrates_as_the_backtracker(scheme):
    field = PlaneWaveField.giacalone_jokipii(32, 0.1, 10.0, sigma2=1.0, regular=(0, 0, 1.0), seed=3)
    dirs = np.random.default_rng(1).normal(size=(70, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    dt = kernel.default_step(field, integrator=scheme)
    tr = boris.backtrack(field, dirs, [17 * dt, 40 * dt], dt=dt, integrator=scheme)
    pos, mom, times, evals = study.integrate(field, dirs, tr.times, kernel.DEFAULT_STEP_FACTORS[scheme], scheme)
    assert np.allclose(pos, tr.positions, rtol=0, atol=1e-12) and np.allclose(mom, tr.momenta, rtol=0, atol=1e-12)
    assert evals == 40 * len(kernel.COMPOSITIONS[scheme])


def test_equal_accuracy_interpolates_log_log():
    """Errors exactly c f^p: the cost at Boris's error is read off exactly."""
    rows = []
    for scheme, p, c in (("boris", 2, 1.0), ("yoshida4", 4, 0.5), ("suzuki4", 4, 0.1)):
        n = len(study.SCHEMES[scheme])
        for f in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2):
            rows.append({"scheme": scheme, "factor": f, "evaluations_per_unit_time": n / f, "direction_error": [c * f ** p]})
    (eq,) = study._equal_accuracy(rows, 1)
    target = 0.1 ** 2
    f_y = (target / 0.5) ** 0.25  # 0.376
    assert eq["schemes"]["yoshida4"]["gain"] == pytest.approx(10.0 / (3 / f_y), rel=1e-12)
    assert eq["schemes"]["boris"]["gain"] == pytest.approx(1.0, rel=1e-12) and not eq["decorrelated"]


def _error_at(rows, scheme, factor, k):
    """log-log interpolation of the committed errors of ``scheme`` to ``factor``."""
    pts = sorted((r["factor"], r["direction_error"][k]) for r in rows if r["scheme"] == scheme)
    f = np.log([p[0] for p in pts])
    e = np.log([p[1] for p in pts])
    return math.exp(np.interp(math.log(factor), f, e))


def test_the_committed_study_supports_the_yoshida4_default_and_bound():
    """Where the trajectories have not decorrelated, yoshida4 at its default factor is at least as accurate as Boris
    at its default, and at its bound as Boris at its bound (both fields); the fitted orders are 2 and 4."""
    res = json.loads(COMMITTED.read_text())
    assert set(res["fields"]) == {"002", "003"}
    for name, f in res["fields"].items():
        rows = f["rows"]
        for k, eq in enumerate(f["equal_accuracy"]):
            if eq["decorrelated"]:
                continue
            boris_default = _error_at(rows, "boris", kernel.DEFAULT_STEP_FACTORS["boris"], k)
            boris_bound = _error_at(rows, "boris", kernel.STEP_LIMITS["boris"], k)
            assert _error_at(rows, "yoshida4", kernel.DEFAULT_STEP_FACTORS["yoshida4"], k) <= boris_default, (name, k)
            assert _error_at(rows, "yoshida4", kernel.STEP_LIMITS["yoshida4"], k) <= boris_bound, (name, k)
            assert abs(study._orders(rows, "boris", k) - 2) < 0.1 and abs(study._orders(rows, "yoshida4", k) - 4) < 0.15
            # the reference resolves every error these comparisons read (its own error: against twice its step)
            used = [r["direction_error"][k] for r in rows if r["scheme"] == "boris" or
                    (r["scheme"] == "yoshida4" and r["factor"] >= 0.8)]
            assert f["reference_self_error"][k] < 1e-2 * min(used), (name, k)
