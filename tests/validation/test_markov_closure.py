"""The markov_closure comparison (numerics.validation.markov_closure): the break points, the steady state of a
propagator against QLT's, the refutation statistic, and QLT for the measured fields' own spectrum."""
from __future__ import annotations

import numpy as np
import pytest

from numerics import qlt
from numerics.backtracking import simulation
from numerics.validation import markov
from numerics.validation import markov_closure as mc
from numerics.validation.qlt_sim import qlt_config


def test_break_is_the_start_of_the_last_significant_run():
    x = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    assert markov.break_points(x, [False, True, False, True, True]) == (0.2, 0.8)
    assert markov.break_points(x, [True] * 5) == (0.1, 0.1)
    assert markov.break_points(x, [False, True, True, True, False]) == (0.2, None)
    assert markov.break_points(x, [False] * 5) == (None, None)


def _chain(n=16, seed=3):
    """A non-negative propagator on l = 0..n-1 that conserves sum_l (2l+1) M_{l l0} = 2 l0 + 1 (as measured ones do),
    with column 0 = delta_l0 (a constant sky stays constant) and some power flowing into the monopole (as in QLT), so
    that the l >= 1 block of the whole chain has a steady state."""
    rng = np.random.default_rng(seed)
    w = 2.0 * np.arange(n) + 1
    B = rng.uniform(0.0, 1.0, (n, n)) * np.exp(-0.5 * np.abs(np.subtract.outer(np.arange(n), np.arange(n))))
    B = B / (w @ B) * w  # columns conserve the weighted power
    M = 0.6 * np.eye(n) + 0.4 * B
    M[:, 0] = np.eye(n)[:, 0]
    return M


def test_steady_states_from_a_propagator_and_the_absorbing_lower_bound():
    """From the l <= 10 block of a 16-multipole chain: the conservative steady state is numerics.qlt's closure
    (steady_state_from_rates), and the absorbing truncation lies below the steady state of the whole chain at every
    l (C = dT sum_n M^n s e_1 with M >= 0: dropping paths through l > 10 can only lower it)."""
    M16 = _chain()
    lm, R = 10, 4
    res = {"M": np.repeat(np.stack([M16[:lm + 1, :lm + 1]] * 2)[None], R, axis=0), "delta_t": np.array([0.3]),
           "l_mid": lm}
    st = mc.steady_states_from_measured(res)
    block = M16[:lm + 1, :lm + 1]
    direct = qlt.steady_state_from_rates((np.eye(lm + 1) - block) / 0.3)[:mc.L_STEADY]
    assert np.allclose(st["conservative"]["C"][0], direct, rtol=1e-12)
    full = qlt.steady_state_from_rates((np.eye(16) - M16) / 0.3, closure="absorbing")[:mc.L_STEADY]
    assert np.all(st["absorbing"]["C"][0] < full)
    assert np.all(st["absorbing"]["C_err"][0] == 0.0)  # identical realizations: no scatter


def test_qlt_steady_state_through_steady_state_from_rates():
    """003 eq. (3.7) built from QLT's own M(dT) = 1 - dT A is numerics.qlt.steady_state."""
    M = np.eye(11) - 0.1 * qlt.transition_matrix(10, 0.1, 1e-2, 1e2, 1e-3)
    again = qlt.steady_state_from_rates((np.eye(11) - M) / 0.1)
    assert np.allclose(again, qlt.steady_state(10, 0.1 * 1e2, 1e-2, 1e2, 1e-3), rtol=1e-10)


def test_refutation_is_signed_and_takes_the_closest_dt():
    st = {"delta_t": np.array([1.0, 2.0, 4.0]),
          "absorbing": {"C": np.array([[30.0], [12.0], [20.0]]), "C_err": np.array([[1.0], [1.0], [1.0]])}}
    target = (np.array([10.0]), np.array([1.0]))
    r = mc._refutation(st, target)
    assert r["delta_t"] == 2.0 and r["sigma"] == pytest.approx(2.0 / np.sqrt(2.0))
    st["absorbing"]["C"][1, 0] = 5.0  # the bound reaches below the simulation: not refuted, negative sigma
    assert mc._refutation(st, target)["sigma"] < 0
    assert np.isnan(mc._refutation(st, None)["sigma"])


def test_field_spectrum_is_the_ensembles_own():
    """The QLT spectrum of the measured fields is the stored ensemble's field spectrum (same modes, mean square)."""
    cfg = qlt_config("ci").replace(n_modes=32)
    res = {"config": cfg.to_dict()}
    spec = mc._field_spectrum(res)
    field = simulation.make_field(cfg, 0)
    assert spec.kind == "discrete" and spec.modes[0].size == 32
    assert spec.mean_square == pytest.approx(field.mean_square / cfg.rigidity ** 2, rel=1e-12)


def test_qlt_on_grid_agrees_with_a_weak_field_measurement():
    """Weak white noise (omega_rms = 0.05 / r_g, 48 fields of 32 modes, nside 4, seeded): second-order QLT for the
    fields' own spectrum agrees with the measured M at both dT of a short grid, within the Student-t Bonferroni
    threshold over the 20 entries of the block (family-wise 1e-3, 47 degrees of freedom: 4.4 sigma)."""
    res = markov.measure_markov("white-noise", [0.0625, 0.125], realizations=48, nside=4, l_fit=8, n_modes=32,
                                omega_rms=0.05)
    ck = markov.chapman_kolmogorov(res)
    q = mc.qlt_on_grid(res, ck)
    assert len(q["max_abs_z"]) == 2 and q["threshold"] == pytest.approx(mc.threshold(48, 20))
    assert max(q["max_abs_z"]) < q["threshold"], q["max_abs_z"]


def test_bad_scale_is_refused_before_any_work():
    with pytest.raises(ValueError, match="scale"):
        mc.markov_closure({}, scale="huge")


def test_integrated_propagator_is_the_time_integral():
    """M_11(t) = max(0, 1 - t/8) recorded at t = 1, 2, 4, 8, 16 (linear between the records and from M(0) = 1, so the
    trapezoid is exact): int M_11 dt = 4; M_21 = 0.1 M_11 at the records, rising from M_21(0) = 0 over the first
    interval, gives 0.4 - 0.1/2 = 0.35; identical realizations give zero errors; the chi^2 against a target is computed
    with the target's errors."""
    times = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    R, lm = 3, 5
    M = np.zeros((R, times.size, lm + 1, lm + 1))
    M[:, :, 1, 1] = np.maximum(0.0, 1.0 - times / 8.0)
    M[:, :, 2, 1] = 0.1 * M[:, :, 1, 1]
    res = {"M": M, "times": times}
    g = mc.integrated_propagator(res, target=[4.0, 0.35, 0.0, 0.0], target_err=[0.5, 0.1, 0.1, 0.1])
    assert np.allclose(g["C"], [4.0, 0.35, 0.0, 0.0], rtol=1e-14, atol=1e-14)
    assert np.all(g["C_err"] <= 1e-15) and g["chi2"] == pytest.approx(0.0, abs=1e-20)  # identical: round-off only
    assert g["t_max"] == 16.0 and np.all(g["tail"] == 0.0)
    off = mc.integrated_propagator(res, target=[5.0, 0.35, 0.0, 0.0], target_err=[0.5, 0.1, 0.1, 0.1])
    assert off["chi2"] == pytest.approx(4.0) and off["sigma"] > 0
