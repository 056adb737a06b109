"""The relative-diffusion comparison (numerics.validation.relative_diffusion_sim): the p fit, the identities."""
from __future__ import annotations

import numpy as np
import pytest

from numerics import relative_diffusion
from numerics.backtracking import simulation
from numerics.validation.base import jackknife as _jackknife
from numerics.validation.relative_diffusion_sim import fit_p, relative_diffusion_comparison


@pytest.mark.parametrize("p_true", [0.3, 0.5, 0.7])
def test_fit_p_recovers_p_from_noisy_shapes(p_true):
    """Seeded: C_l/C_1 of 002 eq. (16) for l = 2..12 with 3 % Gaussian errors; p within 4 sigma of the truth,
    and a shape from another p is rejected."""
    rng = np.random.default_rng(int(p_true * 100))
    ell = np.arange(2, 13)
    shape = relative_diffusion.cl(ell, p_true) / relative_diffusion.cl(1, p_true)
    err = 0.03 * shape
    p, p_err, chi2, dof = fit_p(ell, shape + err * rng.normal(size=ell.size), err)
    assert abs(p - p_true) < 4 * p_err and p_err < 0.05 and chi2 / dof < 3
    wrong = relative_diffusion.cl(ell, p_true + 0.2) / relative_diffusion.cl(1, p_true + 0.2)
    assert abs(fit_p(ell, wrong, err)[0] - p_true) > 4 * p_err


def test_jackknife_of_a_mean_is_the_standard_error():
    x = np.random.default_rng(1).normal(size=20)
    mean, err = _jackknife(lambda m: np.array([x[m].mean()]), x.size)
    assert mean[0] == pytest.approx(x.mean()) and err[0] == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=1e-12)


def test_sum_rule_and_monopole_identities_on_a_small_ensemble(tmp_path):
    cfg = simulation.preset("ahlers-mertsch-2015", "quick").replace(nside=4, n_modes=16, realizations=4, seed=3,
                                                                    omega_t=(1.0, 3.0, 10.0), name="rd-test")
    ens = simulation.run_ensemble(cfg, tmp_path / "e.h5", progress=False)
    c = relative_diffusion_comparison(ens, figdir=tmp_path)
    for label in ("gradient ∥ B0", "gradient ⊥ B0"):
        m = c.measured[label]
        assert m["sum_rule_6"]["max_rel_dev_identity"] < 1e-10  # Parseval on the same moments
        assert m["monopole_7"]["max_rel_dev_identity"] < 0.05   # map2alm quadrature at nside 4 (percent level)
        assert np.isfinite(m["c1_ratio"]) and np.isfinite(m["c1_ratio_err"])
    assert {"c1_ratio_parallel", "c1_ratio_perpendicular", "p", "p_err"} <= set(c.measured)
    assert (tmp_path / "relative_diffusion.png").exists()
