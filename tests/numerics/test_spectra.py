"""Relative-diffusion and hierarchy spectra: the public API against independent computations.

References are computed here without the code under test: mpmath quadrature of 002 eq. (15) with
the mu term, the truncated Galerkin system of 002 eq. (14), and direct ODE integration of the
hierarchy (scipy.integrate.solve_ivp).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.sparse import csr_matrix
from scipy.special import eval_legendre, roots_jacobi

from numerics import hierarchy as hier
from numerics import relative_diffusion as rd
from numerics.cli import main as aniso


def _quad_cl(ell: int, p: float, nu_r=None) -> float:
    """C_l = 3/(2 l (l+1)) int (x - mu) P_l / nu_r, mu = int x/nu_r / int 1/nu_r, at 30 digits."""
    with mpmath.workdps(30):
        pm = mpmath.mpf(p)
        f = nu_r or (lambda t: (1 - t) ** pm)
        mu = mpmath.quad(lambda t: t / f(t), [-1, 0, 1]) / mpmath.quad(lambda t: 1 / f(t), [-1, 0, 1])
        val = mpmath.quad(lambda t: (t - mu) * mpmath.legendre(ell, t) / f(t), [-1, 0, 0.5, 0.9, 1])
        return float(mpmath.mpf(3) / (2 * ell * (ell + 1)) * val)


@pytest.mark.parametrize("p", [1 / 3, 0.5, 2 / 3, 0.123])
def test_closed_form_matches_quadrature_of_the_stationary_solution(p):
    ells = [1, 2, 3, 7, 20]
    got = rd.cl(ells, p)
    want = np.array([_quad_cl(e, p) for e in ells])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)


def test_known_values_at_p_one_half():
    """p = 1/2: mu = 1/3 and C_l = sqrt(2) Gamma(l - 1/2)/Gamma(l + 5/2); C_2/C_1 = 1/7, C_3/C_1 = 1/21."""
    c = rd.cl([1, 2, 3], 0.5)
    np.testing.assert_allclose(c[1:] / c[0], [1 / 7, 1 / 21], rtol=1e-14)
    np.testing.assert_allclose(c[0], np.sqrt(2) * float(mpmath.gamma(0.5) / mpmath.gamma(3.5)), rtol=1e-14)
    np.testing.assert_allclose(float(rd.monopole_rate(0.5)), 1.0, rtol=1e-15)  # 3 Q_1 mu = 3 * (1/3)


def test_truncated_galerkin_system_of_eq14_converges_to_the_stationary_form_not_the_print():
    """Solve rows/columns l, k = 1..L of (14) exactly (Gauss-Jacobi) and watch C_2/C_1 as L grows."""
    p = 0.5
    stationary = float(rd.cl(2, p) / rd.cl(1, p))  # 1/7
    printed = float(rd.cl(2, p, form="printed") / rd.cl(1, p, form="printed"))  # 0.1565
    errs = []
    for L in (40, 160, 640):
        x, w = roots_jacobi(L + 2, p, 0.0)  # weight (1 - x)^p: nu_r P_l P_k integrated exactly
        ks = np.arange(1, L + 1)
        P = eval_legendre(ks[:, None], x[None, :])
        A = (P * w) @ P.T * (ks * (ks + 1) * (2 * ks + 1) / 2)[None, :]
        c = np.linalg.solve(A, np.eye(L)[0])
        errs.append(abs(c[1] / c[0] - stationary))
        assert abs(c[1] / c[0] - stationary) < abs(c[1] / c[0] - printed)
    assert errs[0] > errs[1] > errs[2] and errs[2] < 2e-3 * stationary


@pytest.mark.parametrize("p", [1 / 3, 0.5, 2 / 3])
def test_generic_solver_reproduces_the_closed_form(p):
    lmax = 200
    got = rd.solve(lambda x: (1 - x) ** p, lmax, q1=2.0)
    want = rd.cl(np.arange(1, lmax + 1), p, q1=2.0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)


def test_generic_solver_with_a_sympy_rate_and_a_smooth_factor():
    import sympy as sp

    x = sp.Symbol("x")
    got = rd.solve((1 - x) ** sp.Rational(1, 2) * (1 + x / 2), 12)
    want = [_quad_cl(e, 0.5, lambda t: (1 - t) ** mpmath.mpf(0.5) * (1 + t / 2)) for e in range(1, 13)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)


def test_asymptote_is_approached_like_one_over_l():
    p = 0.4
    ells = np.array([10 ** 3, 10 ** 4, 10 ** 5])
    dev = np.abs(rd.cl(ells, p) / rd.asymptote(ells, p) - 1)
    assert np.all(dev[1:] < dev[:-1] / 5) and dev[-1] < 1e-4


def test_noise_and_estimator_variances():
    n = rd.noise_level(12 * 32 ** 2, 100.0, 0.02)
    np.testing.assert_allclose(n, 4 * np.pi / 12288 * 2 * 100.0 * 0.02, rtol=1e-15)
    np.testing.assert_allclose(rd.noise_variance(n, [1, 10]), 2 * n ** 2 / np.array([3, 21]), rtol=1e-15)


def test_noise_level_matches_a_simulated_white_noise_map():
    """Seeded: 200 maps of N_pix = 3072 Gaussian pixels (variance sigma^2); mean C_l over l = 2..20 within 4 sigma."""
    healpy = pytest.importorskip("healpy")
    rng = np.random.default_rng(7)
    nside, sigma2 = 16, 0.3
    npix = 12 * nside ** 2
    cls = np.array([healpy.anafast(rng.normal(0, np.sqrt(sigma2), npix), lmax=20)[2:] for _ in range(200)])
    expected = 4 * np.pi / npix * sigma2
    mean = cls.mean()
    err = cls.mean(axis=1).std(ddof=1) / np.sqrt(len(cls))
    assert abs(mean - expected) < 4 * err


# ----------------------------------------------------------------------------- hierarchy
def _ode_reference(lmax, taus):
    lam = np.arange(1, lmax + 1) * np.arange(2, lmax + 2.0)
    A = np.diag(-lam) + np.diag(lam[:-1], -1)
    y0 = np.zeros(lmax)
    y0[0] = 1.0
    A = csr_matrix(A)
    sol = solve_ivp(lambda t, y: A @ y, (0, taus[-1]), y0, method="BDF", jac=A, t_eval=taus, rtol=1e-12, atol=1e-30)
    return sol.y.T


def test_hierarchy_against_direct_ode_integration():
    """lmax = 100, nu = 2: BDF at rtol 1e-12; agreement 1e-7 relative where the reference exceeds 1e-25."""
    taus = np.array([0.002, 0.02, 0.1, 0.5, 2.0, 10.0, 60.0])
    ref = _ode_reference(100, taus)
    ells = np.arange(1, 101)
    got = hier.spectrum(100, taus / 2.0, nu=2.0) * (2 * ells + 1) / 3.0
    mask = ref > 1e-25
    assert mask.sum() > 300
    np.testing.assert_allclose(got[mask], ref[mask], rtol=1e-7)


def test_hierarchy_vectorised_and_its_limits():
    t = np.array([[0.0], [1.0], [150.0]])
    ell = np.array([1, 2, 50])
    c = hier.cl(ell, t, nu=1.0, c1=2.0)
    assert c.shape == (3, 3)
    np.testing.assert_array_equal(c[0], [2.0, 0.0, 0.0])
    np.testing.assert_allclose(c[1, 0], 2.0 * np.exp(-2.0), rtol=1e-14)
    np.testing.assert_allclose(c[2] / c[2, 0], hier.ratio(ell), rtol=1e-12)
    np.testing.assert_allclose(hier.ratio([1, 2]), [1.0, 18 / 60], rtol=1e-15)


def test_total_power_decays_and_equals_the_sum_over_multipoles():
    taus = np.array([0.2, 1.0, 5.0])
    ells = np.arange(1, 201)
    partial = (hier.spectrum(200, taus) * (2 * ells + 1)).sum(axis=1)
    # the finite sum over l <= N in closed form (Gosper; record hierarchy.total_power):
    # 3 sum_n (-1)^(n-1) (2n+1) R_n(N) e^(-n(n+1) tau), R_n(N) = prod_{j<=n} (N+1-j)/(N+1+j); it converges like 1/N
    n = np.arange(1, 60)
    R = np.cumprod((201 - n) / (201 + n))
    finite_sum = 3 * np.sum((-1.0) ** (n - 1) * (2 * n + 1) * R * np.exp(-np.outer(taus, n * (n + 1))), axis=1)
    np.testing.assert_allclose(partial, finite_sum, rtol=1e-12)
    total = hier.total_power(taus)
    assert np.all(total > partial)  # the tail l > 200 is positive
    s = hier.total_power(np.linspace(0.01, 10, 200))
    assert np.all(np.diff(s) < 0) and float(hier.total_power(0.0)) == 3.0
    np.testing.assert_allclose(hier.total_power(8.0), 3 * (3 * np.exp(-16.0) - 5 * np.exp(-48.0)), rtol=1e-12)  # theta series


# ----------------------------------------------------------------------------- CLI
def test_cli_spectrum_writes_csv_and_png(tmp_path, capsys):
    assert aniso(["spectrum", "relative-diffusion", "--p", "0.5", "--p", "0.33", "--lmax", "12", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "p=0.5" in out and "p=0.33" in out
    table = np.loadtxt(tmp_path / "relative-diffusion.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], rd.cl(np.arange(1, 13), 0.5), rtol=1e-11)
    assert (tmp_path / "relative-diffusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert aniso(["spectrum", "hierarchy", "--t", "2", "--lmax", "8", "--out", str(tmp_path)]) == 0
    table = np.loadtxt(tmp_path / "hierarchy.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], hier.cl(np.arange(1, 9), 2.0), rtol=1e-11)
    assert not list(tmp_path.glob(".*.tmp"))
