"""Comparison 6: the QLT mixing matrix M_ll0(dT) (003 eq. (3.6)) against backtracked homogeneous skies.

The ci run: 64 seeded white-noise fields (SeedSequence(20190306)), nside 16, 198 entries (l = 0..10,
l0 = 1..6, alpha = 1, 3, 10); the verdict allows K_SIGMA = 5 standard errors of the mean on the largest
entry (Bonferroni over 198 entries).  The same data must reject QLT with a diagram miscounted.
"""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from numerics import qlt
from numerics.validation import transition_matrix as tm

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def ci(tmp_path_factory):
    figdir = tmp_path_factory.mktemp("tm") / "figures"
    return tm.transition_matrix(figdir, scale="ci"), figdir.parent


def _max_dev(comp, weights):
    m = comp.measured
    omega = m["omega_rms_over_k_in"] * tm.K_IN
    model = np.stack([tm.qlt_matrix(T / tm.K_IN, omega, weights=weights) for T in m["dT_k_in"]])
    return float(np.max(np.abs(tm.deviation_sigma(m["M"], m["M_sem"], model))))


def test_ci_agrees_with_qlt_within_k_sigma(ci):
    comp, root = ci
    m = comp.measured
    assert comp.tolerance == tm.K_SIGMA == 5.0
    assert m["R"] == 64 and m["n_entries"] == 198 and m["nside"] == 16
    assert comp.verdict == "pass", comp.notes
    assert abs(comp.error) <= tm.K_SIGMA
    assert comp.error == m["max_dev_sigma"] == pytest.approx(_max_dev(comp, None), rel=1e-12)
    # every compared entry is a real signal, not a zero compared with a zero
    assert m["signal_over_sigma"]["min"] > 5
    for a in tm.ALPHAS:
        assert m["chi2_per_dof"][f"alpha={a:g}"] < 1 + 4 * m["chi2_per_dof_null_sd"][f"alpha={a:g}"]
    assert m["omega_rms_dT"] == pytest.approx([5e-4, 1.5e-3, 5e-3], rel=1e-12)
    assert m["dT_k_in"] == pytest.approx(list(tm.ALPHAS), rel=1e-12)
    for fig in comp.figures:
        assert (root / fig).stat().st_size > 1000
    assert len(comp.figures) == 2


@pytest.mark.parametrize("label, weights", [("2 M^(1a) -> M^(1a)", {"1a": 1.0, "1c0": 1.0, "1c2": 1.0}),
                                            ("M^(1c,2) dropped", {"1a": 2.0, "1c0": 1.0}),
                                            ("M^(1c,2) with the wrong sign", {"1a": 2.0, "1c0": 1.0, "1c2": -1.0})])
def test_the_same_data_reject_a_wrong_qlt(ci, label, weights):
    comp, _ = ci
    assert _max_dev(comp, weights) > tm.K_SIGMA, label


def test_systematics_are_below_the_errors(ci):
    comp, _ = ci
    m = comp.measured
    # exact parts: a constant sky stays constant, the analysis is exact at dT = 0
    assert m["column0_max_abs_error"] < 1e-12
    assert m["identity_error_dT0"] < 1e-12
    # fourth order in the field: measured with the same fields at 8 x omega, below 0.3 sigma, yet detected
    assert m["max_quartic_over_sigma"] < 0.3
    assert m["max_quartic_significance"] > 3
    # the discrete spectrum of the simulated field (log-cell centres) vs the continuous band: below 0.3 sigma;
    # PlaneWaveField.white_noise's grid (band edges) would shift the k_in-dominated entries by several sigma
    assert m["qlt_discrete_shift_sigma"]["centres"] < 0.3
    assert m["qlt_discrete_shift_sigma"]["edges"] > 1.0


def test_the_expected_matrix_is_the_qlt_kernel(ci):
    comp, _ = ci
    m = comp.measured
    omega = m["omega_rms_over_k_in"]
    g = qlt.g_out_from_rms(omega, tm.K_OUT, tm.K_IN)
    for j, T in enumerate(m["dT_k_in"]):
        mm = qlt.mixing_matrices(tm.LMAX, T, tm.K_OUT, tm.K_IN, g)
        full = np.eye(tm.LMAX + 1) + 2 * mm["1a"] + mm["1c0"] + mm["1c2"]
        np.testing.assert_allclose(comp.expected["M"][j], full[:, :tm.L0_MAX + 1], rtol=0, atol=1e-15)


def test_real_harmonics_are_orthonormal_and_obey_the_addition_theorem():
    rng = np.random.default_rng(5)
    v = rng.normal(size=(50, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    Y = tm.real_harmonics(6, v)
    for l in range(7):
        s = np.sum(Y[l * l:(l + 1) ** 2] ** 2, axis=0)
        np.testing.assert_allclose(s, (2 * l + 1) / (4 * np.pi), rtol=1e-12)
    ana = tm.Analysis.build(16, 24)
    Yp = tm.real_harmonics(6, ana.directions)
    gram = Yp @ Yp.T * 4 * np.pi / ana.directions.shape[0]
    assert np.max(np.abs(gram - np.eye(49))) < 0.02  # pixel quadrature, not exact; the fit is
    assert np.max(np.abs(ana.projector[:49] @ Yp.T - np.eye(49))) < 1e-12


def test_white_noise_field_on_cell_centres():
    """The simulated spectrum: |k_n| at the log-cell centres, |a_n|^2 proportional to k_n, the requested rms, the
    directions and phases of PlaneWaveField.white_noise with the same seed, a_n perpendicular to k_n."""
    from numerics.backtracking.turbulence import PlaneWaveField

    seed = np.random.SeedSequence(3)
    f = tm.white_noise_field(64, 2e-3, seed)
    ref = PlaneWaveField.white_noise(64, tm.K_OUT, tm.K_IN, rms=2e-3, seed=seed)
    k = np.linalg.norm(f.wavevectors, axis=1)
    edges = np.geomspace(tm.K_OUT, tm.K_IN, 65)
    np.testing.assert_allclose(k, np.sqrt(edges[1:] * edges[:-1]), rtol=1e-13)
    assert abs(f.rms - 2e-3) < 1e-15
    a2 = np.sum(f.amplitudes ** 2, axis=1)
    np.testing.assert_allclose(a2 / k, a2[0] / k[0], rtol=1e-12)
    np.testing.assert_allclose(f.wavevectors / k[:, None], ref.wavevectors / np.linalg.norm(ref.wavevectors, axis=1)[:, None],
                               atol=1e-15)
    np.testing.assert_array_equal(f.phases, ref.phases)
    assert np.max(np.abs(np.sum(f.wavevectors * f.amplitudes, axis=1))) < 1e-15


def test_a_rigid_rotation_leaves_the_matrix_at_identity():
    """A uniform field rotates the sky; C_l is rotation invariant, so M = 1 exactly (up to the fit)."""
    from scipy.spatial.transform import Rotation

    ana = tm.Analysis.build(16, 24)
    p = Rotation.from_rotvec([0.3, -0.7, 1.1]).apply(ana.directions)
    M = ana.mixing(p[None])[0]
    assert np.max(np.abs(M - np.eye(tm.LMAX + 1)[:, :tm.L0_MAX + 1])) < 1e-12


def test_bad_scale():
    with pytest.raises(ValueError, match="scale"):
        tm.transition_matrix(None, scale="huge")
