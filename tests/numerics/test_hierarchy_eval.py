"""``numerics._hierarchy_eval``: the hierarchical (pure-birth) model y_l(tau) and S(tau).

References used here are independent of the module:

* an exact residue series evaluated in mpmath at a working precision raised until two
  precisions agree (so the cancellation, up to ~140 digits for l = 100 at tau = 1e-3, is covered);
* an implicit (Radau) integration of the ODE system with scipy's ``solve_ivp``;
* the theta series of S(tau) in mpmath, and closed forms (y_1 = exp(-2 tau), the tau -> inf ratio).
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.sparse as sps
from scipy.integrate import solve_ivp
from scipy.special import gammaln

from numerics._hierarchy_eval import _hierarchy_y_detail, hierarchy_total, hierarchy_y

LMAX = 100


def _lam(lmax: int) -> np.ndarray:
    ell = np.arange(1, lmax + 1, dtype=float)
    return ell * (ell + 1)


def _mp_residue(ell: int, tau: float, dps: int) -> mp.mpf:
    with mp.workdps(dps):
        t = mp.mpf(float(tau))  # the double tau exactly
        fac = mp.factorial
        pref = fac(ell - 1) * fac(ell)
        return mp.fsum((-1) ** (n - 1) * (2 * n + 1) * n * (n + 1) * pref / (fac(ell - n) * fac(ell + n + 1))
                       * mp.exp(-n * (n + 1) * t) for n in range(1, ell + 1))


def mp_y(ell: int, tau: float) -> float:
    """Exact y_l(tau) (as a float), or 0.0 if it is below 1e-300.

    The residue series is exact; rounding is the only error, and it is controlled by raising
    the working precision until two successive precisions agree to 1e-30 relative.
    """
    dps = 60
    prev = _mp_residue(ell, tau, dps)
    while True:
        dps *= 2
        cur = _mp_residue(ell, tau, dps)
        if cur != 0 and abs(cur - prev) <= mp.mpf(10) ** -30 * abs(cur):
            break
        assert dps < 4000, (ell, tau, cur)
        prev = cur
    return float(cur) if cur > mp.mpf(10) ** -300 else 0.0


# ---------------------------------------------------------------------------------------------
# exact (mpmath) reference


MP_TAUS = [1e-6, 1e-3, 1e-2, 0.1, 0.25, 0.3, 1.0, 10.0, 100.0]
MP_ELLS = [1, 2, 5, 20, 50, 100]
MP_RTOL = 1e-12  # measured worst ~1e-14: both branches sum with rounding errors of a few ulps x sqrt(#terms)


def _check_against_mp(lmax, taus, ells):
    y = hierarchy_y(lmax, np.array(taus))
    worst = 0.0
    for i, tau in enumerate(taus):
        for ell in ells:
            ref = mp_y(ell, tau)
            got = y[i, ell - 1]
            if ref == 0.0:  # below 1e-300: may underflow, must not be a sizable number
                assert 0.0 <= got < 1e-290, (tau, ell, got)
                continue
            err = abs(got / ref - 1)
            worst = max(worst, err)
            assert err < MP_RTOL, f"l={ell} tau={tau}: {got!r} vs exact {ref!r} (rel err {err:.2e})"
    return worst


def test_against_exact_mpmath_lmax100():
    _check_against_mp(LMAX, MP_TAUS, MP_ELLS)


def test_against_exact_mpmath_lmax200():
    # lmax = 200 is outside the design range but must still be exact: c = lam_200 = 40200
    _check_against_mp(200, [1e-3, 0.1, 0.28, 1.0, 100.0], [1, 37, 150, 199, 200])


def test_results_do_not_depend_on_lmax_or_on_the_other_taus():
    # y_l for l <= L does not depend on higher l; the uniformization run differs (c = lam_L and
    # the visited times differ), so agreement to ~1e-13 checks both the stepping and the switch.
    rng = np.random.default_rng(7)
    taus = 10 ** rng.uniform(-4, 2, 60)
    taus[:3] = [0.0, taus[5], 0.29]  # tau = 0 and a duplicate, unsorted
    full = hierarchy_y(LMAX, taus)
    part = hierarchy_y(37, taus)
    np.testing.assert_allclose(part, full[:, :37], rtol=1e-13, atol=0)
    single = np.vstack([hierarchy_y(LMAX, [t]) for t in taus[::7]])
    np.testing.assert_allclose(single, full[::7], rtol=1e-13, atol=0)


# ---------------------------------------------------------------------------------------------
# ODE reference


ODE_RTOL = 1e-11
#: Local error control in the log variables is ODE_RTOL * (1 + |u|) per step with |u| = |log y| <= ~350
#: on the compared range, i.e. <= ~4e-9 relative in y; the measured global deviation is ~1e-10.
ODE_COMPARE_RTOL = 1e-8


def test_against_radau_integration_of_the_ode():
    """Radau (analytic Jacobian, rtol = atol = 1e-11) on the ODE system written for u_l = log y_l.

    The linear system in y itself needs atol ~ 1e-300 to keep tiny components relatively accurate
    and then takes minutes (> 10^6 right-hand sides); in the exactly equivalent variables
    u_l = log y_l,  du_l/dtau = -lam_l + lam_{l-1} exp(u_{l-1} - u_l),  an absolute tolerance on
    u *is* a relative tolerance on y, however small y is.  The system is singular at tau = 0
    (u_l = -inf), so it starts at tau0 = 1e-12 from y_l = l! tau^(l-1) (1 - tau (l+1)(l+2)/3 + O(tau^2)),
    whose neglected term is ~ (3400 tau0)^2 ~ 1e-17 relative.
    """
    lam = _lam(LMAX)
    ell = np.arange(1, LMAX + 1, dtype=float)
    tau0 = 1e-12
    u0 = gammaln(ell + 1) + (ell - 1) * np.log(tau0) + np.log1p(-tau0 * (ell + 1) * (ell + 2) / 3)

    def rhs(_t, u):
        du = -lam.copy()
        du[1:] += lam[:-1] * np.exp(u[:-1] - u[1:])
        return du

    def jac(_t, u):
        g = lam[:-1] * np.exp(u[:-1] - u[1:])
        return sps.diags([np.concatenate([[0.0], -g]), g], [0, -1], format="csc")

    taus = np.logspace(-3, 2, 20)
    sol = solve_ivp(rhs, (tau0, taus[-1]), u0, method="Radau", jac=jac, rtol=ODE_RTOL, atol=ODE_RTOL, t_eval=taus)
    assert sol.success, sol.message
    ref = np.exp(sol.y.T)
    got = hierarchy_y(LMAX, taus)
    mask = ref > 1e-250
    assert mask.all()  # every compared value is representable (smallest: y_100(1e-3) ~ 3e-141)
    err = np.abs(got[mask] / ref[mask] - 1)
    assert err.max() < ODE_COMPARE_RTOL, f"max rel deviation from Radau {err.max():.2e}"


# ---------------------------------------------------------------------------------------------
# the naive series really fails (so the tests above are meaningful)


def test_naive_double_precision_residue_series_fails():
    ell = LMAX
    coeff = np.array([(-1) ** (n - 1) * (2 * n + 1) * n * (n + 1) * math.factorial(ell - 1) * math.factorial(ell)
                      / (math.factorial(ell - n) * math.factorial(ell + n + 1)) for n in range(1, ell + 1)])
    n = np.arange(1, ell + 1, dtype=float)
    for tau in (1e-3, 1e-2, 3e-2):
        naive = float(np.sum(coeff * np.exp(-n * (n + 1) * tau)))
        exact = mp_y(ell, tau)
        assert exact > 0
        assert naive <= 0 or abs(naive / exact - 1) > 1, (tau, naive, exact)
        assert abs(hierarchy_y(ell, [tau])[0, -1] / exact - 1) < MP_RTOL
    _, from_uniformization = _hierarchy_y_detail(LMAX, [1e-3, 100.0])
    assert from_uniformization[0, 1:].all() and not from_uniformization[1].any()  # both branches are in use


# ---------------------------------------------------------------------------------------------
# structural properties and closed forms


def test_initial_condition_is_exact():
    y = hierarchy_y(LMAX, [0.0, 0.0])
    expected = np.zeros((2, LMAX))
    expected[:, 0] = 1.0
    assert np.array_equal(y, expected)
    assert hierarchy_y(1, 0.0).shape == (1, 1)


def test_positivity_and_underflow_only_at_the_top():
    taus = np.logspace(-8, 2, 301)
    y = hierarchy_y(LMAX, taus)
    assert np.all(y >= 0)
    assert np.all(y[taus >= 1e-3] > 0)  # nothing is below ~1e-141 there
    for row in y:  # tiny tau: only a top block of l underflows to 0
        nz = np.flatnonzero(row == 0)
        if nz.size:
            assert np.all(row[nz[0]:] == 0) and row[nz[0] - 1] < 1e-290


def test_y1_is_exp_minus_2tau():
    taus = np.concatenate([[0.0], np.logspace(-6, 2, 200)])
    np.testing.assert_allclose(hierarchy_y(LMAX, taus)[:, 0], np.exp(-2 * taus), rtol=1e-14, atol=0)


def test_large_tau_ratio():
    # y_l / y_1 -> a_l1 = 6 / ((l+1)(l+2)); at tau = 100 the next term is exp(-400) smaller
    y = hierarchy_y(LMAX, [100.0])[0]
    ell = np.arange(1, LMAX + 1)
    np.testing.assert_allclose(y / y[0], 6.0 / ((ell + 1) * (ell + 2)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("lmax,tau", [(0, [1.0]), (1.5, [1.0]), (10, [-1e-3]), (10, [np.nan]), (10, [np.inf])])
def test_bad_arguments(lmax, tau):
    with pytest.raises(ValueError):
        hierarchy_y(lmax, tau)


# ---------------------------------------------------------------------------------------------
# S(tau) = sum_l y_l(tau)


def _mp_theta(tau: float) -> float:
    """sum_{k>=1} (-1)^(k+1) (2k+1) exp(-k(k+1) tau) at 50 digits, to terms below 1e-60 (cancellation < 3 digits)."""
    with mp.workdps(50):
        t = mp.mpf(float(tau))
        kmax = int(math.sqrt(140 / tau)) + 2  # k(k+1) tau > 140: terms < 1e-60
        return float(mp.fsum((-1) ** (k + 1) * (2 * k + 1) * mp.exp(-k * (k + 1) * t) for k in range(1, kmax + 1)))


@pytest.mark.parametrize("tau", [0.05, 0.3, 1.0, 5.0, 20.0, 100.0])
def test_total_against_theta_series(tau):
    assert abs(float(hierarchy_total(tau)) / _mp_theta(tau) - 1) < 1e-12


def test_total_shape_limits_and_monotonicity():
    assert float(hierarchy_total(0.0)) == 1.0
    assert hierarchy_total(np.zeros((2, 3))).shape == (2, 3)
    s = hierarchy_total(np.logspace(-1, 2, 400))  # S < 1 in double here
    assert np.all(np.diff(s) < 0)
    s_small = hierarchy_total(np.concatenate([[0.0], np.logspace(-8, -1, 200)]))
    assert np.all(np.diff(s_small) <= 0) and np.all(s_small <= 1)
    with pytest.raises(ValueError):
        hierarchy_total(-1.0)


def test_total_is_the_limit_of_the_partial_sums():
    # S - sum_{l<=L} y_l = sum_{l>L} y_l > 0 falls like 1/L (y_l ~ l^-2 at fixed tau); the products
    # L (S - partial sum) at L = 100 and 200 agree to a few per cent (measured <= 3.2%).
    taus = np.array([0.3, 1.0, 5.0])
    s = hierarchy_total(taus)
    gap100 = s - hierarchy_y(100, taus).sum(axis=1)
    gap200 = s - hierarchy_y(200, taus).sum(axis=1)
    assert np.all(gap200 > 0) and np.all(gap100 > gap200)
    np.testing.assert_allclose(200 * gap200, 100 * gap100, rtol=0.05)
