"""The diffusion-tensor comparison (numerics.validation.diffusion_sim): projections and the BGK fit."""
from __future__ import annotations

import numpy as np
import pytest

from numerics import diffusion
from numerics.backtracking import simulation
from numerics.validation.diffusion_sim import _projections, diffusion_tensor


@pytest.mark.parametrize("nu, omega", [(0.3, 2.0), (1.0, 0.5), (2.0, -1.5)])
def test_projections_recover_the_bgk_rates(nu, omega):
    b = np.array([0.2, -0.4, 0.8])
    b /= np.linalg.norm(b)
    par, perp, axial = _projections(diffusion.bgk_tensor(nu, omega, b), b)
    assert par == pytest.approx(1 / (3 * nu), rel=1e-12)
    assert perp == pytest.approx(1 / (3 * diffusion.nu_perp(nu, omega)), rel=1e-12)
    assert axial == pytest.approx(1 / (3 * diffusion.nu_axial(nu, omega)), rel=1e-12)


def test_comparison_on_a_small_ensemble(tmp_path):
    cfg = simulation.preset("ahlers-mertsch-2015", "quick").replace(nside=2, n_modes=16, realizations=4, seed=3,
                                                                    omega_t=(1.0, 3.0, 10.0), name="dt-test")
    ens = simulation.run_ensemble(cfg, tmp_path / "e.h5", progress=False)
    c = diffusion_tensor(ens, figdir=tmp_path)
    m = c.measured
    # nu is fitted to K_par, so BGK reproduces K_par exactly; K_perp and K_A are predictions
    assert c.expected["K_par"] == pytest.approx(m["K_par"], rel=1e-12)
    assert m["nu_fit"] == pytest.approx(1 / (3 * m["K_par"]), rel=1e-12)
    assert m["K_perp_sem"] > 0 and np.isfinite(m["bgk_rel_err_perp"]) and np.isfinite(m["bgk_rel_err_axial"])
    assert m["bgk_rel_err_perp_err"] > 0 and m["bgk_rel_err_axial_err"] > 0
    # the BGK errors follow from the projections and the BGK rates (independent formula: diffusion.nu_perp/nu_axial)
    nu = m["nu_fit"]
    omega = 10.0
    assert m["bgk_rel_err_perp"] == pytest.approx(m["K_perp"] * 3 * diffusion.nu_perp(nu, omega) - 1, rel=1e-9)
    assert m["bgk_rel_err_axial"] == pytest.approx(m["K_A"] * 3 * diffusion.nu_axial(nu, omega) - 1, rel=1e-9)
    resolution = max(m["K_par_sem"] / abs(m["K_par"]), m["K_perp_sem"] / abs(m["K_perp"]), m["K_A_sem"] / abs(m["K_A"]))
    if m["K_A_sign_as_bgk"]:
        assert c.error == pytest.approx(3.0 * resolution)
    else:
        assert c.error == float("inf")
    assert (tmp_path / "diffusion_tensor.png").exists()


class _FlippedCharge:
    """A stored ensemble whose TGK tensor is transposed: the Hall term K_A changes sign, as a sign error would."""

    def __init__(self, ens):
        self.__dict__.update({k: getattr(ens, k) for k in ("config", "times", "realizations")})
        self.moments = ens.moments.copy()
        block = self.moments[:, :, 6:9, 0:3]
        self.moments[:, :, 6:9, 0:3] = np.swapaxes(block, -1, -2)


def test_a_hall_term_of_the_wrong_sign_fails(tmp_path):
    cfg = simulation.preset("ahlers-mertsch-2015", "quick").replace(nside=2, n_modes=16, realizations=4, seed=3,
                                                                    omega_t=(1.0, 3.0), name="dt-sign")
    ens = simulation.run_ensemble(cfg, tmp_path / "e.h5", progress=False)
    good = diffusion_tensor(ens)
    bad = diffusion_tensor(_FlippedCharge(ens))
    assert good.measured["K_A_sign_as_bgk"] is True
    assert bad.measured["K_A_sign_as_bgk"] is False
    assert bad.error == float("inf") and bad.passed is False and bad.verdict.startswith("fail")
