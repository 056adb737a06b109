"""The Chapman-Kolmogorov (Markov) test of the pair propagator (numerics.validation.markov, issue 13 part 2).

Fast, seeded checks that can fail: bad input is refused before any work; straight lines (no turbulence) give M = 1
and D = 0 to round-off; in a weak white-noise field (omega_rms = 0.01/r_g, so omega dT <= 1e-3 and the fourth order is
~1e-6 of the second) 32 fields (SeedSequence(7), nside 8, 64 modes) reproduce second-order QLT for the simulated
discrete spectrum, M(dT) and the ballistic, non-Markovian D = M(2 dT) - M(dT)^2, within K_SIGMA = 5 standard errors
on every entry (Bonferroni over the 80 entries of M and 60 of D: with Student-t tails of 31 degrees of freedom the
false-alarm rate is ~3e-3), while D itself is many sigma from zero; the bias-corrected product is the delete-one
jackknife's; the steady state built from QLT's own matrix is qlt.steady_state.
"""
from __future__ import annotations

import numpy as np
import pytest

from numerics import qlt
from numerics.backtracking import simulation
from numerics.validation import markov
from numerics.validation import transition_matrix as tm
from numerics.validation.qlt_sim import qlt_config

K_SIGMA = 5.0
L = markov.L_CK


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, name", [
    (dict(reading="pink"), "reading"),
    (dict(delta_ts=[0.1, 0.3]), "delta_ts"),
    (dict(delta_ts=[-0.1, -0.2]), "delta_ts"),
    (dict(delta_ts=[]), "delta_ts"),
    (dict(realizations=2), "realizations"),
    (dict(nside=3), "nside"),
    (dict(nside=4, l_fit=9), "l_fit"),
    (dict(l_fit=3), "l_fit"),
    (dict(l_fit=8, l_mid=9), "l_mid"),
    (dict(n_modes=1), "n_modes"),
    (dict(seed=-1), "seed"),
    (dict(threads=0), "threads"),
    (dict(omega_rms=-1.0), "omega_rms"),
    (dict(omega_rms=float("nan")), "omega_rms"),
    (dict(realizations=3, n_res=4), "n_res"),
])
def test_bad_input_raises_before_any_work(kwargs, name, monkeypatch):
    def no_work(*args, **kw):
        raise AssertionError("the field was built before the arguments were validated")

    monkeypatch.setattr(simulation, "make_field", no_work)
    args = dict(reading="white-noise", delta_ts=[0.1, 0.2], realizations=3, nside=4, l_fit=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        markov.measure_markov(**args)


def test_bad_input_of_the_analysis_functions():
    with pytest.raises(ValueError, match="result"):
        markov.chapman_kolmogorov({"M": np.zeros((3, 2, 5, 5))})
    with pytest.raises(ValueError, match="M="):
        markov.steady_state_from_matrix(np.eye(4)[:, :3], 1.0)
    with pytest.raises(ValueError, match="delta_t"):
        markov.steady_state_from_matrix(np.eye(4), 0.0)
    with pytest.raises(ValueError, match="source"):
        markov.steady_state_from_matrix(np.eye(4) * 0.5, 1.0, source=-1.0)
    with pytest.raises(ValueError, match="singular"):  # no decay, no steady state
        markov.steady_state_from_matrix(np.eye(4), 1.0)
    with pytest.raises(ValueError, match="M"):
        markov.steady_state_from_matrix(np.full((4, 4), np.nan), 1.0)
    with pytest.raises(ValueError, match="reading"):
        markov.default_grid("pink")


# ---------------------------------------------------------------------------------------------- exact answers
def test_straight_lines_give_identity_and_no_deviation():
    """omega_rms = 0: p(-T) = n exactly, so M = 1 at every dT, D = 0, K = T/3 and nu = 1/T_max."""
    res = markov.measure_markov("per-ln-k", delta_ts=[0.1, 0.2, 0.4], realizations=3, nside=4, l_fit=8, n_modes=8,
                                omega_rms=0.0, seed=1)
    M = res["M"]
    assert M.shape == (3, 4, 9, res["l_mid"] + 1)
    assert np.max(np.abs(M - np.eye(9)[:, :res["l_mid"] + 1])) < 1e-12
    assert res["identity_error"] < 1e-12
    ck = markov.chapman_kolmogorov(res)
    assert np.max(np.abs(ck["D"])) < 1e-12
    assert max(ck["max_abs_z"]) < 0.1
    assert not any(ck["significant"])
    assert ck["first_significant_nu"] is None and ck["break_nu"] is None
    assert np.allclose(res["vac"], 1.0, atol=1e-12)
    assert np.allclose(ck["K_run"], res["times"] / 3.0, rtol=1e-9)
    assert ck["nu"] == pytest.approx(1.0 / 0.8, rel=1e-9)
    assert ck["nu_e"] is None


def test_bias_corrected_product_is_the_jackknife_one():
    """D uses the U-statistic for E[M] E[M]; for a quadratic statistic it equals R theta - (R - 1) mean(theta_-i)."""
    rng = np.random.default_rng(3)
    R, n = 7, 9
    M = np.abs(rng.normal(size=(R, 3, n, n)))
    res = dict(M=M, delta_t=np.array([1.0, 2.0]), times=np.array([1.0, 2.0, 4.0]), vac=np.full((R, 3), 0.5),
               K_run=np.ones((R, 3)), l_mid=n - 1)
    ck = markov.chapman_kolmogorov(res)

    def plain(mask, j):
        a = M[mask, j].mean(axis=0)
        return M[mask, j + 1].mean(axis=0)[:L + 1, :L + 1] - (a @ a)[:L + 1, :L + 1]

    for j in range(2):
        loo = np.mean([plain(np.arange(R) != i, j) for i in range(R)], axis=0)
        jack = R * plain(np.ones(R, bool), j) - (R - 1) * loo
        assert np.allclose(ck["D"][j], jack, rtol=0, atol=1e-12)
        assert not np.allclose(ck["D"][j], plain(np.ones(R, bool), j), rtol=0, atol=1e-6)  # the correction matters


@pytest.mark.parametrize("alpha", [5.0, 50.0])
def test_steady_state_from_the_qlt_matrix_is_qlt_steady_state(alpha):
    """M = 1 - dT A with A = qlt.transition_matrix (white noise, 003 Sec. 4 band): the same C_1..C_32."""
    k_out, k_in, lmax = 1e-3, 1e2, 32
    g = float(qlt.g_out_from_rms(1.0, k_out, k_in))
    dT = alpha / k_in
    M = np.eye(lmax + 1) - dT * qlt.transition_matrix(lmax, dT, k_out, k_in, g)
    got = markov.steady_state_from_matrix(M, dT, source=2.5)
    want = qlt.steady_state(lmax, alpha, k_out, k_in, g, source=2.5)
    assert got.shape == (lmax,)
    assert np.allclose(got, want, rtol=1e-10, atol=0)


# ---------------------------------------------------------------------------------------------- weak field
@pytest.fixture(scope="module")
def weak():
    grid = [0.0125, 0.025, 0.05]  # alpha = k_in dT = 1.25 .. 5, and 2 dT_max: alpha = 10
    res = markov.measure_markov("white-noise", delta_ts=grid, realizations=32, nside=8, l_fit=12, n_modes=64,
                                omega_rms=0.01, seed=7, l_mid=8)
    return res, markov.chapman_kolmogorov(res)


def _qlt(res):
    """Second-order QLT for the simulated discrete spectrum (the field's |k_n| and |a_n|^2/2, random directions) at
    the recorded times; rows and columns 0..L."""
    field = simulation.make_field(qlt_config("quick", "white-noise").replace(n_modes=64, seed=7, rms=0.01), 0)
    k, power = field.energy_per_mode()
    return np.stack([tm.discrete_spectrum_matrix(T, k, power, lmax=L, l0max=L) for T in res["times"]])


def test_weak_field_matches_second_order_qlt(weak):
    res, ck = weak
    M = res["M"][..., :L + 1, :L + 1]
    mean = M.mean(axis=0)
    sem = M.std(axis=0, ddof=1) / np.sqrt(M.shape[0])
    model = _qlt(res)
    assert np.max(np.abs(mean[..., 0] - np.eye(L + 1)[:, 0])) < 1e-12  # a constant sky stays constant
    z = (mean - model)[..., 1:] / sem[..., 1:]
    assert np.max(np.abs(z)) < K_SIGMA
    # every compared entry is a signal: the deviation from 1 is resolved at > 3 sigma
    assert np.min(np.abs(model - np.eye(L + 1))[..., 1:] / sem[..., 1:]) > 3


def test_weak_field_ck_deviation_is_the_ballistic_qlt_one(weak):
    """In the ballistic regime M - 1 grows faster than dT: D = M(2 dT) - M(dT)^2 != 0, as QLT predicts."""
    res, ck = weak
    model = _qlt(res)
    D_qlt = model[1:] - model[:-1] @ model[:-1]
    z = (ck["D"] - D_qlt)[..., 1:] / ck["D_err"][..., 1:]
    assert np.max(np.abs(z)) < K_SIGMA
    assert all(ck["significant"])  # not Markov at any dT of this grid
    assert min(ck["max_abs_z"]) > 10
    assert ck["first_significant_nu"] == pytest.approx(ck["delta_t_nu"][0])
    assert ck["break_nu"] == ck["first_significant_nu"]
    # the intermediate sum has converged long before l_mid: nothing leaves l <= 8 in a weak field
    assert max(ck["tail_sigma"]) < 1e-3 and np.max(ck["leak"]) < 1e-6
