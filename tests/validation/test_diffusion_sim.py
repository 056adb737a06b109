"""The diffusion-tensor comparison (numerics.validation.diffusion_sim): projections and the BGK fit."""
from __future__ import annotations

import numpy as np
import pytest

from numerics import diffusion, simulation
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
    assert c.error == pytest.approx(max(m["K_par_sem"] / abs(m["K_par"]), m["K_perp_sem"] / abs(m["K_perp"]),
                                        m["K_A_sem"] / abs(m["K_A"])))
    assert (tmp_path / "diffusion_tensor.png").exists()
