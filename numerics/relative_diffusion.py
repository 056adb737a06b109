"""Relative diffusion: the stationary spectrum of the generalised BGK model (002 Sec. 4).

The stationary l >= 1 rows of 002 eq. (14) are solved by

.. math::

    \\langle C_\\ell\\rangle = \\frac{3 Q_1}{2\\ell(\\ell+1)} \\int_{-1}^{1}
        \\frac{(x - \\mu)\\, P_\\ell(x)}{\\nu_r(x)}\\,dx, \\qquad
    \\mu = \\frac{\\int x/\\nu_r}{\\int 1/\\nu_r},

and for :math:`\\nu_r = \\nu_0 (1-x)^p` (:math:`\\mu = p/(2-p)`) by the closed form

.. math::

    \\langle C_\\ell\\rangle = \\frac{3 Q_1}{2^p \\nu_0}\\,\\frac{2(1-p)}{2-p}\\,
        \\frac{\\Gamma(1-p)\\,\\Gamma(\\ell+p-1)}{\\Gamma(p)\\,\\Gamma(\\ell-p+3)}
        \\;\\propto\\; \\ell^{2p-4}\\ (\\ell \\to \\infty).

The paper prints (15) without :math:`\\mu` and, from it, (16); that form does not solve (14)
(derivation ``relative_diffusion.stationary_solution``; see the errata).  ``cl(..., form="printed")``
reproduces it, e.g. for the grey lines of 002 Fig. 2.  Spectra are those of f (002 eq. (1));
``q1`` is the source :math:`Q_1 = K^s_{ij}\\partial_i n\\,\\partial_j n/(6\\pi)`.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.special import eval_legendre, roots_jacobi

from numerics import _validate as check
from numerics.kernels import relative_diffusion as _k

__all__ = ["cl", "asymptote", "monopole_rate", "solve", "galerkin", "noise_level", "noise_variance", "cosmic_variance",
           "LMAX_CLOSED_FORM", "LMAX_SOLVE"]

#: Largest multipole of the closed form (scipy.special.poch keeps ~1e-11 relative accuracy up to here).
LMAX_CLOSED_FORM = 10 ** 6
#: Largest l_max of the generic solver (Gauss-Jacobi; ~1e-10 against the closed form at l_max = 200, ~1e-8 at 500).
LMAX_SOLVE = 500
_FORMS = ("stationary", "printed")


def _ell(ell, high):
    return check.integers("ell", ell, 1, high)


def cl(ell, p, q1=1.0, nu0=1.0, form: str = "stationary"):
    """Stationary <C_l> for nu_r(x) = nu0 (1 - x)^p, vectorised over all arguments.

    Parameters
    ----------
    ell : int or array of int, 1 <= ell <= 10**6
    p : float or array, 0 < p < 1
    q1 : float or array, > 0
        Effective dipole source Q_1 = K^s_ij d_i n d_j n / (6 pi).
    nu0 : float or array, > 0
        Normalisation of the relative scattering rate.
    form : ``"stationary"`` (default: the solution of 002 eq. (14)) or ``"printed"`` (002 eq. (16) as printed).

    Examples
    --------
    >>> round(float(cl(1, 0.5)), 12)  # sqrt(2) Gamma(1/2)/Gamma(7/2)
    0.754247233266
    >>> round(float(cl(2, 0.5) / cl(1, 0.5)), 12)  # exactly 1/7 for p = 1/2
    0.142857142857
    """
    check.choice("form", form, _FORMS)
    ell = _ell(ell, LMAX_CLOSED_FORM)
    p = check.in_range("p", p, 0.0, 1.0, closed=False)
    q1 = check.positive("q1", q1)
    nu0 = check.positive("nu0", nu0)
    general, dipole = ((_k.cl_power_law, _k.cl1_power_law) if form == "stationary" else
                       (_k.cl_power_law_printed, _k.cl1_power_law_printed))
    # the dipole by its own form (derivation relative_diffusion.stationary_solution): the general one divides two
    # vanishing factors, (p)_(4-2p) and 1/Gamma(p), and loses ~eps/p of its accuracy (inf below p ~ 1e-17)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = general(ell, p, q1, nu0)
    out = np.where(np.asarray(ell) == 1, dipole(p, q1, nu0), values)
    return out[()] if out.ndim == 0 else out


def asymptote(ell, p, q1=1.0, nu0=1.0):
    """Large-l asymptote of the stationary <C_l>: const * ell^(2p-4)."""
    ell = _ell(ell, LMAX_CLOSED_FORM)
    p = check.in_range("p", p, 0.0, 1.0, closed=False)
    return _k.cl_power_law_asymptote(ell, p, check.positive("q1", q1), check.positive("nu0", nu0))


def monopole_rate(p, q1=1.0):
    """dC_0/dt = 3 Q_1 p/(2 - p) in the stationary state: the monopole's share of the sum-rule rate 3 Q_1."""
    return _k.monopole_rate(check.in_range("p", p, 0.0, 1.0, closed=False), check.positive("q1", q1))


def noise_level(n_pix, t, ksg):
    """Pixel shot noise N = (4 pi/N_pix) 2 T K^s_ij d_i n d_j n / n^2 (002 eq. (9))."""
    return _k.noise_level(check.positive("n_pix", n_pix), check.positive("t", t), check.positive("ksg", ksg))


def noise_variance(noise, ell):
    """Variance 2 N^2/(2l + 1) of the estimator C_hat_l = <C_l> - N from the noise alone."""
    return _k.noise_variance(check.positive("noise", noise), check.integers("ell", ell, 0, LMAX_CLOSED_FORM))


def cosmic_variance(cl_value, ell):
    """Cosmic variance 2 C_l^2/(2l + 1)."""
    return _k.cosmic_variance(check.positive("cl", cl_value), check.integers("ell", ell, 0, LMAX_CLOSED_FORM))


# ----------------------------------------------------------------------------- generic solver
def _as_callable(nu_r):
    """A vectorised float function of x from a callable or a SymPy expression in one symbol."""
    if callable(nu_r) and not hasattr(nu_r, "free_symbols"):
        fn = nu_r
    elif hasattr(nu_r, "free_symbols"):
        import sympy as sp  # only when the user hands us a SymPy expression

        free = sorted(nu_r.free_symbols, key=str)
        if len(free) != 1:
            raise ValueError(f"nu_r={nu_r}: a SymPy expression must have exactly one free symbol (x), found {free}")
        fn = sp.lambdify(free[0], nu_r, modules=["numpy", "scipy"])
    else:
        raise ValueError(f"nu_r={nu_r!r}: expected a callable nu_r(x) or a SymPy expression in x")

    def call(xs):
        xs = np.asarray(xs, dtype=float)
        with np.errstate(all="ignore"):
            try:
                out = np.asarray(fn(xs), dtype=float)
            except Exception:  # not vectorised: evaluate point by point
                out = np.array([float(fn(float(v))) for v in xs.ravel()]).reshape(xs.shape)
        return np.broadcast_to(out, xs.shape).astype(float)

    return call


def _endpoint_exponent(fn, side: int) -> float:
    """q with nu_r ~ |1 -/+ x|^q at x = side (side = +1 or -1), from two points very close to the end."""
    eps = np.array([1e-8, 1e-11])
    xs = side * (1.0 - eps)
    d = np.abs(side - xs)  # exact distances of the representable points
    v = fn(xs)
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"nu_r must be finite and > 0 on (-1, 1); nu_r({xs[np.argmin(v)]:.12g}) = {v.min():.3g}")
    q = float(np.log(v[0] / v[1]) / np.log(d[0] / d[1]))
    snapped = Fraction(q).limit_denominator(64)
    return float(snapped) if abs(float(snapped) - q) < 1e-6 else q


def _check_rate(fn):
    """Reject a rate that is negative or zero inside, does not vanish at x = 1, or makes int 1/nu_r diverge."""
    grid = np.cos(np.linspace(0.0, np.pi, 4001))[1:-1]  # Chebyshev points, endpoints excluded
    v = fn(grid)
    if np.any(~np.isfinite(v)):
        raise ValueError(f"nu_r is not finite at x = {grid[~np.isfinite(v)][0]:.6g}: must be finite and > 0 on (-1, 1)")
    if np.any(v <= 0):
        i = int(np.argmin(v))
        raise ValueError(f"nu_r({grid[i]:.6g}) = {v[i]:.6g}: must be > 0 on (-1, 1) (a scattering rate)")
    scale = float(np.max(v))
    at_one = float(fn(np.array([1.0]))[0])
    if not np.isfinite(at_one) or abs(at_one) > 1e-12 * scale:
        raise ValueError(f"nu_r(1) = {at_one:.6g}: must vanish, nu_r(1) = 0 (identical momenta do not separate, 002 Sec. 4)")
    q_top = _endpoint_exponent(fn, +1)
    if q_top >= 1.0 - 1e-9:
        raise ValueError(f"nu_r ~ (1 - x)^{q_top:.6g} at x = 1: int dx/nu_r diverges; need an exponent in (0, 1)")
    if q_top <= 0.0:
        raise ValueError(f"nu_r ~ (1 - x)^{q_top:.6g} at x = 1 does not vanish like a power law with exponent in (0, 1)")
    at_minus = float(fn(np.array([-1.0]))[0])
    q_bottom = 0.0
    if not np.isfinite(at_minus) or at_minus <= 1e-12 * scale:
        q_bottom = _endpoint_exponent(fn, -1)
        if q_bottom >= 1.0 - 1e-9:
            raise ValueError(f"nu_r ~ (1 + x)^{q_bottom:.6g} at x = -1: int dx/nu_r diverges; need an exponent < 1")
    return q_top, max(q_bottom, 0.0)


def _solve_with(fn, lmax: int, q_top: float, q_bottom: float, n_nodes: int) -> np.ndarray:
    x, w = roots_jacobi(n_nodes, -q_top, -q_bottom)  # weight (1 - x)^-q_top (1 + x)^-q_bottom
    h = (1 - x) ** q_top * (1 + x) ** q_bottom / fn(x)  # 1/nu_r without its endpoint singularities: smooth
    wh = w * h
    mu = np.dot(wh, x) / np.sum(wh)
    ells = np.arange(1, lmax + 1)
    P = eval_legendre(ells[:, None], x[None, :])
    return 1.5 / (ells * (ells + 1)) * (P @ (wh * (x - mu)))


def galerkin(lmax, p) -> tuple[np.ndarray, float]:
    """The truncated stationary Galerkin solution of 002 eq. (14) for nu_r = (1 - x)^p, independent of the closed forms.

    The rows and columns l, k = 1..lmax of the stationary eq. (14) are solved as they stand (Q_1 = nu_0 = 1):
    ``A C = e_1`` with ``A_lk = k(k+1)(2k+1)/2 int (1-x)^p P_l(x) P_k(x) dx``.  The matrix elements are exact:
    Gauss-Jacobi quadrature with weight (1 - x)^p and lmax + 2 nodes integrates polynomials up to degree 2 lmax + 3.

    Parameters
    ----------
    lmax : int, 1 <= lmax <= 2000
        Truncation: the multipoles l = 1..lmax are kept (the time grows like lmax^3; ~10 s at 2000).
    p : float, 0 < p < 1
        Exponent of the relative scattering rate nu_r(x) = (1 - x)^p.

    Returns
    -------
    C : ndarray, shape (lmax,)
        The truncated stationary <C_l>, l = 1..lmax.
    monopole_rate : float
        The monopole row ``-sum_k A_0k C_k`` = dC_0/dt; the untruncated system gives :func:`monopole_rate` (3 Q_1 mu).

    Raises
    ------
    ValueError
        If lmax is not an integer in [1, 2000] or p is not a number in (0, 1) (or either is not a scalar).

    Notes
    -----
    As lmax grows, C_2/C_1 and the monopole row converge like lmax^-(2 - 2p) (like 1/lmax at p = 1/2) to the
    stationary :func:`cl` and :func:`monopole_rate` (not to the printed form): the stationary C_l fall like
    l^(2p - 4), so the power (2l + 1) C_l beyond lmax is ~ lmax^(2p - 2).  Rounding (against a run with 35 more nodes):
    C_1 and C_2 agree to ~1e-10 relative up to lmax = 2000, the small entries near lmax to ~4e-5 at worst (p = 0.01).

    Examples
    --------
    >>> c, rate = galerkin(400, 0.5)  # stationary: C_2/C_1 = 1/7, dC_0/dt = 1; both off by ~0.1/lmax..0.6/lmax at p = 1/2
    >>> bool(abs(c[1] / c[0] - 1 / 7) < 3e-4), bool(abs(rate - 1.0) < 2e-3)
    (True, True)
    """
    for name, value in (("lmax", lmax), ("p", p)):
        if np.ndim(value) != 0:
            raise ValueError(f"{name}={check.show(value)}: expected a scalar")
    lmax = check.integer("lmax", lmax, 1, LMAX_SOLVE * 4)
    p = check.in_range("p", p, 0.0, 1.0, closed=False, single=True)
    x, w = roots_jacobi(lmax + 2, p, 0.0)
    ks = np.arange(1, lmax + 1)
    P = eval_legendre(ks[:, None], x[None, :])
    scale = ks * (ks + 1) * (2 * ks + 1) / 2
    A = (P * w) @ P.T * scale[None, :]
    c = np.linalg.solve(A, np.eye(lmax)[0])
    return c, float(-(((w @ P.T) * scale) @ c))


def solve(nu_r, lmax, q1=1.0) -> np.ndarray:
    """<C_l>, l = 1..lmax, of the stationary rows of 002 eq. (14) for any relative scattering rate nu_r(x).

    ``nu_r`` is a callable of x = p1.p2 (vectorised or not) or a SymPy expression in one symbol.  It must be
    > 0 on (-1, 1), vanish at x = 1 like (1 - x)^q with 0 < q < 1 (so that int dx/nu_r converges), and may vanish
    at x = -1 with an exponent < 1.  The integrals are done by Gauss-Jacobi quadrature with the endpoint exponents
    (estimated from nu_r, snapped to a nearby fraction) as the weight, so the remaining integrand is smooth; the
    result is checked against a run with twice the nodes and a ``ValueError`` says so if nu_r is not resolved.

    >>> import numpy as np
    >>> c = solve(lambda x: (1 - x) ** 0.5, 3)
    >>> bool(np.allclose(c, cl([1, 2, 3], 0.5), rtol=1e-12, atol=0))
    True
    """
    lmax = check.integer("lmax", lmax, 1, LMAX_SOLVE)
    q1 = check.positive("q1", q1, single=True)
    fn = _as_callable(nu_r)
    q_top, q_bottom = _check_rate(fn)
    # lmax//2 + 40 nodes integrate a pure power law exactly (degree lmax + 1); more nodes only add rounding
    # (the integrals cancel to ~l^(2p-2) of their terms), so the check run uses lmax + 100 nodes.
    main = _solve_with(fn, lmax, q_top, q_bottom, lmax // 2 + 40)
    check_run = _solve_with(fn, lmax, q_top, q_bottom, lmax + 100)
    dev = np.max(np.abs(main - check_run) / np.maximum(np.abs(check_run), 1e-300))
    tol = 1e-7  # rounding alone (cancellation to ~l^(2p-2) of the terms) stays below ~1e-8 for lmax <= 500
    if not np.all(np.isfinite(main)) or dev > tol:
        raise ValueError(f"nu_r is not resolved by the quadrature (relative change {dev:.2g} > {tol:.2g} with more nodes): "
                         "is nu_r smooth apart from power-law endpoints?")
    return q1 * main
