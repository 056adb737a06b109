"""The QLT comparison (numerics.validation.qlt_sim): alpha recovered from injected QLT spectra, wrong models rejected,
bad input refused, and a tiny real backtracking run end to end.

Synthetic ensembles: an object with the attributes qlt_comparison reads (config, times, cross_cl, moments, nside),
carrying per realization C_l = (s/g_out) F_l(alpha_true) (1 + 0.1 x) with x seeded standard normal, s = (8 pi/3) K |g|^2
and the TGK block of the moments set to K (1 + 0.02 x'); the noise floor is set through the total power."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from numerics import qlt
from numerics.backtracking import simulation
from numerics.validation import qlt_sim
from numerics.validation.qlt_sim import fit_alpha, qlt_comparison, qlt_config

K_OUT, K_IN = 1e-3, 1e2
NSIDE, R = 8, 20


def _synthetic(spectrum_fn, *, seed, K=6.0, floor=3.0, times=(100.0, 150.0), regular=(0.0, 0.0, 0.0), R=R):
    """A fake ensemble whose ensemble-mean C-hat_l (l >= 1) is spectrum_fn(ell, K) at every time, 10 % scatter."""
    cfg = qlt_config("ci").replace(nside=NSIDE, realizations=R, omega_t=tuple(times), regular=tuple(regular))
    rng = np.random.default_rng(seed)
    L = 2 * NSIDE
    ell = np.arange(L + 1)
    npix = 12 * NSIDE ** 2
    cross = np.zeros((R, len(times), 6, 6, L + 1))
    moments = np.zeros((R, len(times), 9, 9))
    for k in range(len(times)):
        Kr = K * (1 + 0.02 * rng.normal(size=R))
        for r in range(R):
            cl = np.zeros(L + 1)
            cl[1:] = spectrum_fn(ell[1:], Kr[r]) * (1 + 0.1 * rng.normal(size=L))
            cl[0] = 10.0
            cross[r, k, 2, 2] = cl + floor  # the floor is white noise at every l
            total = np.sum((2 * ell + 1) * (cl + floor)) + (npix - (L + 1) ** 2) * floor
            moments[r, k, 2, 2] = total / (4 * np.pi)
            moments[r, k, 6:9, 0:3] = -Kr[r] * np.eye(3)
    return SimpleNamespace(config=cfg, times=np.asarray(times) / cfg.omega_ref, cross_cl=cross, moments=moments,
                           nside=NSIDE)


def _qlt_spectrum(alpha):
    g_out = qlt.g_out_from_rms(1.0, K_OUT, K_IN)
    F = qlt.steady_state(128, alpha, K_OUT, K_IN)  # not the interpolation table the fit uses

    def fn(ell, K):
        return (8 * np.pi / 3) * K / g_out * F[ell - 1]
    return fn


@pytest.mark.parametrize("alpha_true, seed", [(7.3, 1), (37.0, 2)])
def test_injected_qlt_spectrum_gives_alpha_back_and_passes(alpha_true, seed, tmp_path):
    """R = 20 fake realizations, 10 % scatter per l and 2 % in K: alpha within 3 sigma of the truth, the fit and the
    convergence acceptable at 3 sigma (the verdict passes), the figure is written."""
    c = qlt_comparison(_synthetic(_qlt_spectrum(alpha_true), seed=seed), figdir=tmp_path)
    m = c.measured
    assert not m["alpha_at_grid_edge"]
    assert 0 < m["alpha_err"] < 0.5 * alpha_true
    assert abs(m["alpha"] - alpha_true) < 3 * m["alpha_err"]
    assert abs(m["alpha_jackknife_err"] / m["alpha_err"] - 1) < 1.0  # two error estimates of the same scatter agree
    assert c.verdict == "pass" and c.error <= 3.0
    assert abs(np.mean(m["K"]) / 6.0 - 1) < 0.02
    assert (tmp_path / "qlt.png").exists()
    d = c.as_dict()
    assert d["alpha"] == pytest.approx(m["alpha"]) and d["verdict"] == "pass"


def test_wrong_shape_is_rejected():
    """A power law l^-4 with QLT's C_1 at alpha = 20 (so the level fits, the shape does not): the fit fails at 3 sigma."""
    good = _qlt_spectrum(20.0)

    def fn(ell, K):
        return good(np.array([1]), K)[0] * ell.astype(float) ** -4.0
    c = qlt_comparison(_synthetic(fn, seed=3))
    assert c.verdict == "fail" and c.measured["fit_sigma"] > 3.0


def test_unconverged_spectrum_is_rejected():
    """The same QLT spectrum at both times, but doubled at the last one: convergence fails although each time alone
    is a QLT shape."""
    base = _qlt_spectrum(20.0)
    ens = _synthetic(base, seed=4)
    ens.cross_cl[:, -1, 2, 2, 1:] *= 2.0
    c = qlt_comparison(ens)
    assert c.verdict == "fail" and c.measured["convergence_sigma"] > 3.0


def test_level_fixes_alpha_and_printed_source_moves_it():
    """Absolute level: a spectrum 3x too low (the printed (8 pi/9) source) is fitted at a larger alpha with the
    derived source, and the 'printed source' refit recovers the true alpha."""
    base = _qlt_spectrum(10.0)
    c = qlt_comparison(_synthetic(lambda ell, K: base(ell, K) / 3.0, seed=5))
    m = c.measured
    assert m["alpha"] > 20.0
    assert abs(m["alpha_printed_source"] - 10.0) < 3 * m["alpha_printed_source_err"]


def test_fit_alpha_direct_and_bad_input():
    ell = np.arange(1, 9)
    F = qlt.steady_state(64, 12.0, K_OUT, K_IN)[:8]
    err = 0.03 * F
    y = F + err * np.random.default_rng(6).normal(size=8)
    r = fit_alpha(ell, y, err)
    assert abs(r["alpha"] - 12.0) < 3 * r["alpha_err"] and r["p_value"] > 0.0027
    # a level 10x above anything QLT reaches in [1, 150] sits at the lower edge: a bound, no error
    edge = fit_alpha(ell, 1e3 * F, err)
    assert edge["at_edge"] and np.isnan(edge["alpha_err"])
    with pytest.raises(ValueError, match="err"):
        fit_alpha(ell, y, np.zeros(8))
    with pytest.raises(ValueError, match="ell"):
        fit_alpha(np.arange(0, 8), y, err)
    with pytest.raises(ValueError, match="ell"):
        fit_alpha(ell, y, err, shape=True)  # the shape needs l >= 2
    with pytest.raises(ValueError, match="equally long"):
        fit_alpha(ell, y[:3], err)


def test_interpolation_table_matches_steady_state_off_grid():
    ell = np.arange(1, 17)
    for a in (2.7, 23.0, 71.0):
        direct = qlt.steady_state(128, a, K_OUT, K_IN)[:16]
        assert np.max(np.abs(qlt_sim._model(a, ell, K_OUT / K_IN) / direct - 1)) < 2e-3


def test_bad_ensembles_and_configs_are_refused():
    fn = _qlt_spectrum(10.0)
    with pytest.raises(ValueError, match="regular"):
        qlt_comparison(_synthetic(fn, seed=7, regular=(0.0, 0.0, 1.0)))
    with pytest.raises(ValueError, match="realizations"):
        qlt_comparison(_synthetic(fn, seed=7, R=2))
    with pytest.raises(ValueError, match="times"):
        qlt_comparison(_synthetic(fn, seed=7, times=(100.0,)))
    with pytest.raises(ValueError, match="scale"):
        qlt_config("huge")
    with pytest.raises(ValueError, match="reading"):
        qlt_config("ci", reading="per-k")


def test_configs_are_valid_and_per_ln_k_has_equal_amplitudes():
    for scale in ("ci", "quick", "paper"):
        cfg = qlt_config(scale)
        cfg.validate()
        assert cfg.spectrum == "white-noise" and cfg.k_min == K_OUT and cfg.k_max == K_IN and not cfg.fick
    f = simulation.make_field(qlt_config("ci", reading="per-ln-k"), 0)
    a2 = np.sum(f.amplitudes ** 2, axis=1)
    assert np.max(np.abs(a2 / a2.mean() - 1)) < 2e-3  # E proportional to 1/k on log-spaced modes: equal |a_n|^2
    w = simulation.make_field(qlt_config("ci"), 0)
    b2 = np.sum(w.amplitudes ** 2, axis=1)
    assert b2[-1] / b2[0] == pytest.approx(K_IN / K_OUT, rel=1e-9)  # white noise: |a_n|^2 proportional to k_n


def test_tiny_backtracking_run_end_to_end(tmp_path):
    """3 realizations, 16 modes, nside 2, Omega T = 5, 10 (about a second): the comparison runs on a real ensemble
    and its Parseval identity holds: the total power grows like 8 pi K_sym T (reported rate = 8 pi K_tgk)."""
    cfg = qlt_config("ci").replace(nside=2, n_modes=16, realizations=3, omega_t=(5.0, 10.0), name="qlt-smoke")
    ens = simulation.run_ensemble(cfg, tmp_path / "q.h5", progress=False)
    c = qlt_comparison(ens, figdir=tmp_path)
    m = c.measured
    assert np.isfinite(m["alpha"]) and 1.0 <= m["alpha"] <= 150.0 and np.isfinite(m["chi2"])
    assert c.verdict in ("pass", "fail") and (tmp_path / "qlt.png").exists()
    d = ens.diffusion()
    sp = ens.spectrum(gradient=(0.0, 0.0, 1.0), standard=False)
    ksym = np.trace(d.symmetric, axis1=1, axis2=2) / 3
    # <(g.r)^2> = <r_z r_z>: pixel-exact; isotropy makes it ~ K_sym up to the realization scatter of one axis
    assert np.allclose(sp.total_power.mean(axis=0) / (8 * np.pi * ens.times), d.symmetric[:, 2, 2], rtol=1e-10)
    assert np.all(ksym > 0)


def _per_ln_k_spectrum(alpha):
    """C-hat_l = s F_l(alpha) for QLT with the per-ln-k power law (steady_state directly, not the fit's table)."""
    _, spec = qlt_sim.matching_spectrum(qlt_config("ci", reading="per-ln-k"))
    F = qlt.steady_state(64, alpha, spectrum=spec)

    def fn(ell, K):
        return (8 * np.pi / 3) * K * F[ell - 1]
    return fn


def _synthetic_per_ln_k(fn, seed):
    ens = _synthetic(fn, seed=seed)
    ens.config = qlt_config("ci", reading="per-ln-k").replace(nside=NSIDE, realizations=R, omega_t=(100.0, 150.0))
    return ens


def test_matching_spectra_carry_the_simulated_rms():
    for reading, kind in (("white-noise", "white-noise"), ("per-ln-k", "power-law")):
        got, spec = qlt_sim.matching_spectrum(qlt_config("ci", reading=reading))
        assert got == reading and spec.kind == kind and spec.mean_square == pytest.approx(1.0, rel=1e-12)
    tk = np.geomspace(K_OUT, K_IN, 50)
    other = qlt_config("ci").replace(spectrum="table", table_k=tuple(tk), table_e=tuple(tk ** -2.0))
    reading, spec = qlt_sim.matching_spectrum(other)
    assert reading == "table" and spec.kind == "tabulated" and spec.mean_square == pytest.approx(1.0, rel=1e-12)


def test_per_ln_k_reading_gives_its_alpha_back():
    """R = 20 fake realizations carrying QLT's per-ln-k steady state at alpha = 20 (10 % scatter): alpha within 3 sigma,
    the verdict passes; the white-noise QLT would not describe the same data at the same alpha."""
    c = qlt_comparison(_synthetic_per_ln_k(_per_ln_k_spectrum(20.0), seed=11))
    m = c.measured
    assert m["reading"] == "per-ln-k" and not m["alpha_at_grid_edge"]
    assert abs(m["alpha"] - 20.0) < 3 * m["alpha_err"] and c.verdict == "pass"
    assert m["delta_t"] == pytest.approx(m["alpha"] / K_IN)


def test_readings_comparison_keeps_every_reading():
    white = _synthetic(_qlt_spectrum(37.0), seed=12)
    per = _synthetic_per_ln_k(_per_ln_k_spectrum(20.0), seed=13)
    c = qlt_sim.qlt_readings_comparison({"white-noise": white, "per-ln-k": per})
    r = c.measured["readings"]
    assert set(r) == {"white-noise", "per-ln-k"} and set(qlt_sim.READING_KEYS) <= set(r["per-ln-k"])
    assert abs(r["white-noise"]["alpha"] - 37.0) < 3 * r["white-noise"]["alpha_err"]
    assert abs(r["per-ln-k"]["alpha"] - 20.0) < 3 * r["per-ln-k"]["alpha_err"]
    assert c.error == pytest.approx(max(r["white-noise"]["fit_sigma"], r["white-noise"]["convergence_sigma"],
                                        r["per-ln-k"]["fit_sigma"], r["per-ln-k"]["convergence_sigma"]))
    with pytest.raises(ValueError, match="reads as"):
        qlt_sim.qlt_readings_comparison({"per-ln-k": white})
    with pytest.raises(ValueError, match="reading"):
        qlt_sim.qlt_readings_comparison({"per-k": white})
