"""The small-scale theorem on a small backtracked ensemble (numerics.validation.small_scale).

Seeded: 12 realizations of the 002 field (32 modes) at nside 4, Omega T = 0.1 .. 100; the sum of
(2l+1) <C_l> of a homogeneous dipole must stay at 4 pi/3 within 4 sigma at all 13 times for both dipole
directions, and the hierarchical model's decaying sum must be rejected at the last time by more than 4 sigma
(so the comparison has the power to fail).
"""
from __future__ import annotations

import numpy as np
import pytest

from numerics.backtracking import simulation
from numerics.validation.small_scale import K_SIGMA, small_scale_theorem


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    cfg = simulation.preset("ahlers-mertsch-2015", "quick").replace(nside=4, n_modes=32, realizations=12, seed=5,
                                                                    name="small-scale-test")
    return simulation.run_ensemble(cfg, tmp_path_factory.mktemp("sst") / "e.h5", progress=False)


def test_total_power_is_conserved(ensemble, tmp_path):
    c = small_scale_theorem(ensemble, figdir=tmp_path)
    assert c.tolerance == K_SIGMA == 4.0
    assert c.verdict == "pass", c.measured["drift_sigma"]
    assert (tmp_path / "small_scale_theorem.png").stat().st_size > 0
    for label in ("dipole ∥ B0", "dipole ⊥ B0"):
        m = c.measured[label]
        # the dipole decays and higher multipoles grow meanwhile
        assert m["C1"][-1] < 0.2 * m["C1"][0]
        assert np.isfinite(m["hierarchy_nu_fit"]) and m["hierarchy_nu_fit"] > 0


def test_the_hierarchical_models_sum_is_rejected(ensemble):
    c = small_scale_theorem(ensemble)
    for label in ("dipole ∥ B0", "dipole ⊥ B0"):
        m, e = c.measured[label], c.expected[label]
        sigma = np.hypot(m["total_power_sem"][-1], m["quadrature_error"])
        assert abs(e["hierarchy_total_power"][-1] - m["total_power"][-1]) / sigma > K_SIGMA
