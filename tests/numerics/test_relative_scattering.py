"""The measurement of the relative scattering rate (numerics.relative_scattering): the weak form against independent
quadrature, the pair geometry, the model's own pair correlation against the matrix exponential, the inversion on a
known answer, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.linalg import expm
from scipy.special import eval_legendre

from numerics import relative_diffusion
from numerics import relative_scattering as rs


def _x(s):
    return 1.0 - 2.0 * np.asarray(s) ** 2


@pytest.mark.parametrize("l,k", [(0, 1), (1, 1), (2, 1), (1, 3), (3, 2), (4, 4)])
def test_weak_integrand_of_a_power_law_is_the_legendre_moment(l, k):
    """int I_l[phi] P_k dy = int L^2(P_l phi) P_k dx = k(k+1) int phi P_l P_k dx (self-adjointness), phi = (1-x)^0.3
    = 2^0.3 s^0.6, against scipy.integrate.quad in x (independent of the y-rule)."""
    p = 0.3
    a = 2 * p
    s, w = rs.pair_nodes(1e-9, 12, 6, n_outer=4)
    phi = 2 ** p * s ** a
    lhs = np.sum(w * rs.weak_integrand(l, s, phi, a * phi, a * a * phi) * eval_legendre(k, _x(s)))
    rhs = k * (k + 1) * quad(lambda x: (1 - x) ** p * eval_legendre(l, x) * eval_legendre(k, x), -1, 1, limit=200,
                             epsabs=1e-13)[0]
    assert abs(lhs - rhs) <= 2e-5 * max(1.0, abs(rhs))


def test_weak_integrand_of_a_spline_basis_function():
    """The same for a B-spline basis function.  Its phi_yy is only continuous (kinks at the knots), and above s_mid the
    rule is Gauss-Legendre in s, so the rule converges slowly there: 6e-4 with the 3 outer panels of the measurement,
    2.4e-5 with 16 (measured); the tolerance is for 16."""
    basis = rs.SplineRate(1e-4, 5, constant=False)
    s, w = rs.pair_nodes(1e-5, 48, 8, n_outer=16)
    phi, py, pyy = basis.basis(s)
    j = 2
    spline = basis._splines[j]

    def nu(x):
        v = spline(0.5 * np.log((1 - x) / 2))
        return 0.0 if np.isnan(v) else float(v)

    for l, k in [(0, 2), (1, 1), (3, 2)]:
        lhs = np.sum(w * rs.weak_integrand(l, s, phi[j], py[j], pyy[j]) * eval_legendre(k, _x(s)))
        knots_x = [1 - 2 * np.exp(2 * t) for t in basis.knots if t < 0]
        rhs = k * (k + 1) * quad(lambda x, l=l, k=k: nu(x) * eval_legendre(l, x) * eval_legendre(k, x), -1, 1, points=knots_x,
                                 limit=400, epsabs=1e-12)[0]
        assert abs(lhs - rhs) <= 1e-4 * max(1.0, abs(rhs)), (l, k, lhs, rhs)


def test_pair_quadrature_reproduces_the_identity_and_the_measure():
    s, w = rs.pair_nodes(1e-8, 8, 4)
    ls = np.arange(9)
    P = eval_legendre(ls[:, None], _x(s)[None, :])
    M0 = (P * (4 * s ** 2 * w)) @ P.T * ((2 * ls + 1) / 2.0)[None, :]
    assert np.max(np.abs(M0 - np.eye(9))) < 1e-5
    assert abs(np.sum(4 * s ** 2 * w) - 2.0) < 1e-6  # int dx = 2 (4 nodes per panel integrate e^(2y) to ~1e-7)
    assert np.all(np.diff(s) > 0) and s[0] > 1e-8 and s[-1] < 1.0


def test_pair_directions_have_the_node_angles_and_pair_legendre_of_straight_lines_is_p_l0():
    s, _ = rs.pair_nodes(1e-10, 4, 3)
    n_or = 5
    d = rs.pair_directions(s, n_or, 7)
    assert d.shape == (2 * s.size * n_or, 3)
    assert np.max(np.abs(np.linalg.norm(d, axis=1) - 1)) < 1e-14
    half = s.size * n_or
    chord = np.linalg.norm(d[:half] - d[half:], axis=1).reshape(s.size, n_or)
    # |n1 - n2| = 2 sin(psi/2), to the rounding of unit vectors (~2e-16 absolute, so ~1e-6 relative at s = 1e-10)
    assert np.all(np.abs(chord / (2 * s[:, None]) - 1) <= 2e-15 / s[:, None] + 1e-12)
    u = rs.pair_legendre(d[None], s.size, n_or, 3)[0]  # no field: p(-t) = n
    want = np.stack([eval_legendre(l, _x(s)) for l in (1, 2, 3)], axis=1)
    assert np.max(np.abs(u - want)) < 1e-12
    assert not np.array_equal(d, rs.pair_directions(s, n_or, 8))


def test_model_pair_correlation_against_the_matrix_exponential():
    """M_{l l0}(t) = (2 l0 + 1)/2 int P_l u_l0 dx of the model's u against expm(-W t) of the same truncated W built
    independently (Gauss-Legendre quadrature of (1-x)^p P_l P_k in x is not exact; use many nodes)."""
    p, nu0, K, t = 0.5, 1.3, 60, 0.02
    s, w = rs.pair_nodes(1e-6, 10, 6, n_outer=6, per_outer=16)
    u = rs.model_pair_correlation(p, nu0, 3, [0.0, t], s, kmax=K)
    ls = np.arange(6)
    P = eval_legendre(ls[:, None], _x(s)[None, :]) * (4 * s ** 2 * w)
    M = np.einsum("lq,tqk->tlk", P, u) * ((2 * np.arange(1, 4) + 1) / 2.0)[None, None, :]
    assert np.max(np.abs(M[0] - np.eye(6)[:, 1:4])) < 1e-5
    # W_lk = k(k+1)(2k+1)/2 int nu_r P_l P_k, the substitution 1 - x = v^2 makes the integrand smooth
    g, gw = np.polynomial.legendre.leggauss(400)
    v = np.sqrt(2) * (g + 1) / 2
    xs, wx = 1 - v ** 2, gw * np.sqrt(2) / 2 * 2 * v
    ks = np.arange(K + 1)
    Pk = eval_legendre(ks[:, None], xs[None, :])
    W = (Pk * wx * nu0 * (1 - xs) ** p) @ Pk.T * (ks * (ks + 1) * (2 * ks + 1) / 2.0)[None, :]
    E = expm(-W * t)
    assert np.max(np.abs(M[1] - E[:6, 1:4])) < 1e-5


def test_the_inversion_recovers_a_known_rate():
    p, nu0 = 0.3, 2.0
    s, w = rs.pair_nodes(1e-6, 8, 4)
    times = np.linspace(0.02, 0.04, 9)
    u = rs.model_pair_correlation(p, nu0, 4, times, s, kmax=800)
    rng = np.random.default_rng(3)
    U = u[None] * (1 + 1e-4 * rng.normal(size=(6,) + u.shape))
    basis = rs.SplineRate(1e-6, 8, constant=False)
    y, B = rs.rate_system(U, s, w, times, basis, 8)
    inv = rs.invert(y, B, basis.lower_bounds(), n_boot=5)
    fit = rs.fit_power_law(U, s, w, times, 8, inv["sigma"], n_boot=5)
    assert abs(fit["p"] - p) < 2e-3 and abs(fit["nu0"] / nu0 - 1) < 5e-3
    fitc = rs.fit_power_law(U, s, w, times, 8, inv["sigma"], constant=True, n_boot=0)
    assert abs(fitc["nu1"]) < 1e-2 * nu0 and abs(fitc["p"] - p) < 5e-3
    # the nonparametric rate where the model's u changes (s >= 0.01: the truncated series resolves no finer scale)
    sg = np.array([0.03, 0.1, 0.3, 0.7])
    got = basis(inv["coef"], _x(sg))
    want = nu0 * (2 * sg ** 2) ** p
    assert np.max(np.abs(got / want - 1)) < 0.05
    # a wrong model (p = 0.7 data) is not fitted by p = 0.3
    u7 = rs.model_pair_correlation(0.7, nu0, 4, times, s, kmax=800)
    fit7 = rs.fit_power_law(u7[None] * (1 + 1e-4 * rng.normal(size=(6,) + u.shape)), s, w, times, 8, inv["sigma"],
                            n_boot=0)
    assert abs(fit7["p"] - 0.7) < 2e-3


def test_a_table_rate_feeds_the_stationary_solver():
    xs = 1 - 2 * np.geomspace(1e-4, 1.0, 200) ** 2
    nu = rs.rate_from_table(xs, (1 - xs) ** 0.5, tail_exponent=0.5)
    c = relative_diffusion.solve(nu, 10)
    want = relative_diffusion.cl(np.arange(1, 11), 0.5)
    assert np.max(np.abs(c / c[0] - want / want[0])) < 2e-3


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_stationary_spectrum_of_a_table_is_the_closed_form(p):
    ells = np.arange(1, 31)
    c = rs.stationary_spectrum(lambda s: (2 * s * s) ** p, 30, tail_exponent=p)
    assert np.max(np.abs(c / relative_diffusion.cl(ells, p) - 1)) < 1e-9
    # a rate with a kink (not for solve(), which needs a smooth one): finite, and C_1 > 0
    c2 = rs.stationary_spectrum(lambda s: np.minimum(2 * s, 0.3) + 1e-9, 10)
    assert np.all(np.isfinite(c2)) and c2[0] > 0
    with pytest.raises(ValueError, match="finite and > 0"):
        rs.stationary_spectrum(lambda s: s - 0.5, 5)


def test_bad_input_is_refused_before_any_work():
    s, w = rs.pair_nodes(1e-6, 4, 4)
    with pytest.raises(ValueError, match="realizations=3"):
        rs.invert(np.zeros((3, 2, 2)), np.zeros((3, 2, 2, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="realizations=0"):
        rs.invert(np.zeros((0, 2, 2)), np.zeros((0, 2, 2, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="must be finite"):
        rs.invert(np.full((5, 2, 2), np.nan), np.zeros((5, 2, 2, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="values="):
        rs.rate_from_table([0.0, 0.5], [1.0, -1.0])
    with pytest.raises(ValueError, match="values="):
        rs.rate_from_table([0.0, 0.5], [1.0, np.inf])
    with pytest.raises(ValueError, match=r"x=.*\[-1, 1\)"):
        rs.rate_from_table([0.0, 1.5], [1.0, 1.0])
    with pytest.raises(ValueError, match="s_lo"):
        rs.pair_nodes(0.2, 4)
    with pytest.raises(ValueError, match="Simpson"):
        rs.simpson_weights([0.0, 1.0])
    with pytest.raises(ValueError, match="equally spaced"):
        rs.simpson_weights([0.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="U="):
        rs.rate_system(np.zeros((4, 3, s.size + 1, 2)), s, w, [0.0, 1.0, 2.0], rs.SplineRate(1e-6, 3), 2)
    with pytest.raises(ValueError, match="realizations=2"):
        rs.fit_power_law(np.zeros((2, 3, s.size, 2)), s, w, [0.0, 1.0, 2.0], 1, np.ones((2, 2)))
