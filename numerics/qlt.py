"""Quasi-linear theory of the pair propagator: Lambda_l, kappa, the transition matrix and the steady state
(003 Secs. 2-3 and 5; derivations ``qlt.*``).

Units: c = 1; wavenumbers, ``g_out`` and rates in any one inverse length, times in that length.  For
band-limited white noise ``g(k) = g_out`` on ``[k_out, k_in]`` (derivation ``qlt.turbulence_normalisation``:
``<omega^2> = 8 pi g_out (k_in - k_out)``, see :func:`g_out_from_rms`), with ``alpha = k_in dT`` and
``beta = k_out dT``,

.. math::

    \\Lambda_\\ell = g_{out}\\,\\Delta T\\int_0^\\alpha J_\\ell(y)\\Big[\\frac{1}{\\max(y,\\beta)}-\\frac1\\alpha\\Big]dy,
    \\qquad
    \\kappa_{\\ell_A\\ell_B} = g_{out}\\,\\Delta T\\int_\\beta^\\alpha \\frac{J_{\\ell_A}(x)J_{\\ell_B}(x)}{x^2}\\,dx,

``J_l(x) = int_0^x j_l`` (computed from the series ``J_l = sum_k c_k(l) j_{l+2k+1}``, generated kernel
``neumann_coefficient``, whose terms are all positive for x < l, so small values keep their relative
accuracy).  The integrals use Gauss-Legendre panels of width <= pi (20 nodes each), split at beta.

The mixing matrices are those of (3.15), (3.21) and (3.23) (checked coefficient by coefficient against
exact integration in ``qlt.mixing_matrices``); the Wigner factors depend only on ``lmax`` and are
cached, so a sweep over alpha recomputes only the kappa integrals.

Steady state.  Column 0 of the transition matrix vanishes and its columns are conservative,
``sum_l (2l+1) A_{l l0} = 0``: the monopole grows at ``dC_0/dt = 3 source`` and only ``C_l, l >= 1`` are
stationary.  :func:`steady_state` returns those, ``C_1 .. C_lmax``, truncated conservatively (see there).
They depend only on ``alpha``,
``k_out/k_in`` and ``source/g_out``; ``k_in = inf`` gives the paper's limit (beta -> 0).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.special import roots_legendre

from numerics import _validate as check
from numerics.kernels import qlt as _k
from numerics.wigner import wigner_3j_zero, wigner_6j

__all__ = ["lambda_l", "kappa", "mixing_matrices", "transition_matrix", "steady_state", "g_out_from_rms",
           "j_integral", "LMAX", "ELL_MAX", "ALPHA_MAX"]

#: Largest lmax of the transition matrix and the steady state.
LMAX = 128
#: Largest multipole of Lambda_l and kappa (lA, lB <= 2 LMAX enter the transition matrix).
ELL_MAX = 2 * LMAX
#: Largest alpha = k_in dT (the quadrature grows linearly with alpha).
ALPHA_MAX = 1.0e3

_NODES = 20
_GL_X, _GL_W = roots_legendre(_NODES)


def g_out_from_rms(omega_rms, k_out, k_in):
    """White-noise level ``g_out = Omega_rms^2 / (8 pi (k_in - k_out))`` (derivation ``qlt.turbulence_normalisation``).

    >>> round(float(g_out_from_rms(1.0, 1e-3, 1e2)), 8)   # 003 Sec. 4, in units of 1/r_g
    0.00039789
    """
    omega_rms = check.positive("omega_rms", omega_rms)
    k_out, k_in = _band(k_out, k_in)
    return _k.g_out_from_rms(omega_rms, k_out, k_in)


def _band(k_out, k_in, allow_infinite=False):
    k_out = check.positive("k_out", k_out)
    if np.ndim(k_out) == 0:
        k_out = float(k_out)
    given = k_in
    k_in = np.asarray(k_in, dtype=float) if allow_infinite else check.positive("k_in", k_in)
    if allow_infinite and (np.isnan(k_in).any() or np.any(k_in <= 0)):
        raise ValueError(f"k_in={check._show(given)}: must be > k_out (allowed range (k_out, inf], inf = the paper's limit)")
    if np.any(k_in <= k_out):
        raise ValueError(f"k_in={check._show(given)}: must be > k_out = {check._show(k_out)} "
                         "(allowed range (k_out, inf))")
    return k_out, k_in


def _panels(lo: float, hi: float, breaks=(), degree: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [lo, hi], split at ``breaks``.

    Panels are at most pi wide (J_l oscillates like sin x); where the integrand behaves like x^degree
    (x below ~degree) they shrink to 10 x/(degree + 1), so that x^degree varies by at most e^10 across a
    panel; the first panel [0, x0] with x0 = min(pi, 0.1 alpha, 0.1 (degree + 1)) takes the rest (exact for
    degree < 40, and below 1e-40 of the total above that).
    """
    cuts = [lo, hi] + [b for b in breaks if lo < b < hi]
    x0 = min(np.pi, 0.1 * hi, 0.1 * (degree + 1))
    if lo < x0 < hi:
        cuts.append(x0)
    cuts = sorted(set(cuts))
    edges = [lo]
    for a, b in zip(cuts[:-1], cuts[1:]):
        e = a
        while e < b:
            width = np.pi if e < x0 * (1 - 1e-12) else min(np.pi, 10.0 * e / (degree + 1))
            e = min(b, e + width)
            if b - e < 1e-9 * width:
                e = b
            edges.append(e)
    e = np.asarray(edges)
    half = 0.5 * np.diff(e)[:, None]
    mid = 0.5 * (e[1:] + e[:-1])[:, None]
    return (mid + half * _GL_X).ravel(), (half * _GL_W).ravel()


def _sph_jn_table(nmax: int, x: np.ndarray) -> np.ndarray:
    """j_n(x) for n = 0..nmax at x > 0 (shape (nmax+1, len(x))) by Miller's downward recurrence.

    Started well above max(nmax, x), rescaled against overflow, normalised to j_0 = sin x/x or
    j_1 (whichever is larger); relative accuracy ~1e-15 wherever the value is a normal double.
    """
    top = max(nmax, float(x.max()))
    start = int(top + 10.0 * top ** (1 / 3) + 30)
    out = np.zeros((nmax + 1, x.size))
    inv = 1.0 / x
    f_next = np.zeros_like(x)
    f = np.full_like(x, 1e-280)
    for n in range(start, 0, -1):
        f_prev = (2 * n + 1) * inv * f - f_next
        big = np.abs(f_prev) > 1e250
        if big.any():
            f_prev[big] *= 1e-250
            f[big] *= 1e-250
            if n <= nmax:
                out[n:, big] *= 1e-250
        f_next, f = f, f_prev
        if n - 1 <= nmax:
            out[n - 1] = f
    j0 = np.sin(x) * inv
    j1 = (j0 - np.cos(x)) * inv
    use0 = np.abs(j0) >= np.abs(j1)
    scale = np.where(use0, j0 / np.where(use0, out[0], 1.0), j1 / np.where(use0, 1.0, out[1] if nmax >= 1 else 1.0))
    return out * scale


@functools.lru_cache(maxsize=8)
def _series_matrix(lmax: int, nmax: int) -> np.ndarray:
    """c[l, n] with J_l = sum_n c[l, n] j_n (n = l + 2k + 1 <= nmax)."""
    c = np.zeros((lmax + 1, nmax + 1))
    for l in range(lmax + 1):
        ks = np.arange(0, (nmax - l - 1) // 2 + 1)
        c[l, l + 2 * ks + 1] = _k.neumann_coefficient(l, ks)
    return c


def j_integral(lmax: int, x) -> np.ndarray:
    """``J_l(x) = int_0^x j_l(y) dy`` for l = 0..lmax at the points ``x`` (shape (lmax+1, len(x))).

    >>> from scipy.special import sici
    >>> bool(abs(j_integral(2, [2.5])[0, 0] - sici(2.5)[0]) < 1e-14)
    True
    """
    lmax = int(check.integers("lmax", lmax, 0, ELL_MAX + 2))
    x = check.finite("x", x).ravel()
    if np.any(x < 0) or np.any(x > ALPHA_MAX):
        raise ValueError(f"x={check._show(x)}: outside the allowed range [0, {ALPHA_MAX:g}]")
    out = np.zeros((lmax + 1, x.size))
    pos = x > 0
    if pos.any():
        xp = x[pos]
        xmax = float(xp.max())
        # j_n(x) < 1e-40 of its peak once n > x + 20 x^(1/3) + 60: the series is complete to double precision
        nmax = int(max(lmax + 1, xmax + 20 * xmax ** (1 / 3)) + 60)
        out[:, pos] = _series_matrix(lmax, nmax) @ _sph_jn_table(nmax, xp)
    return out


def _dimensionless(lmax_j: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """(Lambda_l, kappa_{lA lB}) / (g_out dT) for l <= lmax_j."""
    xs, ws = _panels(0.0, alpha, (beta,), degree=2 * lmax_j + 2)
    J = j_integral(lmax_j, xs)
    weight = 1.0 / np.maximum(xs, beta) - 1.0 / alpha
    lam = J @ (ws * weight)
    inside = xs >= beta
    Jw = J[:, inside] * (ws[inside] / xs[inside] ** 2)
    kap = Jw @ J[:, inside].T
    return lam, 0.5 * (kap + kap.T)


def _scales(delta_t, k_out, k_in, g_out):
    delta_t = check.positive("delta_t", delta_t)
    k_out, k_in = _band(k_out, k_in)
    g_out = check.positive("g_out", g_out)
    alpha = k_in * delta_t
    if np.any(alpha > ALPHA_MAX):
        raise ValueError(f"delta_t={check._show(delta_t)}: alpha = k_in delta_t = {float(np.max(alpha)):.4g} exceeds "
                         f"{ALPHA_MAX:g} (allowed range (0, {ALPHA_MAX:g}/k_in])")
    return delta_t, k_out, k_in, g_out


def lambda_l(ell, delta_t, k_out, k_in, g_out=1.0):
    """Lambda_l(dT) of 003 eq. (3.14) for band-limited white noise (vectorised over ``ell`` and ``delta_t``).

    Parameters
    ----------
    ell : int or array of int, 0 <= ell <= 256
    delta_t : float or array, > 0, with k_in delta_t <= 2e4
    k_out, k_in : floats, 0 < k_out < k_in -- the band of the white-noise spectrum
    g_out : float, > 0 -- the spectral level (3.12)

    Only Lambda_0 and Lambda_2 enter M^(1a) (3.15).  For k_out dT -> 0,
    ``(8/3)(Lambda_0 - Lambda_2/2)/(g_out dT) -> 2 a 2F3(1/2,1/2;3/2,3/2,3/2;-a^2/4) - Si a - cos a/a + sin a/a^2``
    with a = alpha (the corrected (3.16)).
    """
    ell = check.integers("ell", ell, 0, ELL_MAX)
    delta_t, k_out, k_in, g_out = _scales(delta_t, k_out, k_in, g_out)
    ell, dt, ko, ki, g = np.broadcast_arrays(ell, delta_t, k_out, k_in, g_out)
    out = np.empty(ell.shape)
    lmax = int(ell.max()) if ell.size else 0
    for key in set(zip(dt.ravel(), ko.ravel(), ki.ravel())):
        sel = (dt == key[0]) & (ko == key[1]) & (ki == key[2])
        lam, _ = _dimensionless(lmax, key[2] * key[0], key[1] * key[0])
        out[sel] = lam[ell[sel]] * key[0] * g[sel]
    return out


def kappa(l_a, l_b, delta_t, k_out, k_in, g_out=1.0):
    """kappa_{lA lB}(dT) as it enters (3.21) and (3.23): ``int dk g(k) h_lA h_lB``, h_l = int_0^dT j_l(k tau) dtau.

    Vectorised over ``l_a``, ``l_b`` and ``delta_t`` (integers 0..256); see :func:`lambda_l` for the other
    parameters.  Symmetric in (l_a, l_b) and positive on the diagonal.
    """
    l_a = check.integers("l_a", l_a, 0, ELL_MAX)
    l_b = check.integers("l_b", l_b, 0, ELL_MAX)
    delta_t, k_out, k_in, g_out = _scales(delta_t, k_out, k_in, g_out)
    la, lb, dt, ko, ki, g = np.broadcast_arrays(l_a, l_b, delta_t, k_out, k_in, g_out)
    out = np.empty(la.shape)
    lmax = int(max(la.max(), lb.max())) if la.size else 0
    for key in set(zip(dt.ravel(), ko.ravel(), ki.ravel())):
        sel = (dt == key[0]) & (ko == key[1]) & (ki == key[2])
        _, kap = _dimensionless(lmax, key[2] * key[0], key[1] * key[0])
        out[sel] = kap[la[sel], lb[sel]] * key[0] * g[sel]
    return out


# ----------------------------------------------------------------------------- Wigner algebra (cached per lmax)
@functools.lru_cache(maxsize=4)
def _geometry(lmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of kappa in M^(1c,0) and M^(1c,2) (eqs. (3.21), (3.23)).

    Returns ``G0[l, l0, lA]`` (coefficient of kappa_{lA lA}) and ``G2[l, l0, lA, d]`` (coefficient of
    kappa_{lA, lA + 2d - 2}, d = 0, 1, 2), and the index array of lB.
    """
    L = np.arange(lmax + 1)
    LA = np.arange(2 * lmax + 1)
    l, l0, la = np.meshgrid(L, L, LA, indexing="ij")
    w_a = wigner_3j_zero(l, la, l0)
    G0 = (8 * np.pi / 3) * (2 * la + 1) * w_a ** 2 * (2 * l0 + 1) * l0 * (l0 + 1)
    G2 = np.zeros(l.shape + (3,))
    pref0 = np.zeros(lmax + 1)
    w_00 = wigner_3j_zero(L, 2, L)
    nz = L >= 1
    pref0[nz] = (4 * np.pi / 3) * L[nz] * (L[nz] + 1) * (2 * L[nz] + 1) / w_00[nz] * (-1.0) ** L[nz]
    for d in range(3):
        lb = la + 2 * d - 2
        ok = (lb >= 0) & (lb <= 2 * lmax) & (w_a != 0) & (l0 >= 1)
        lb_c = np.clip(lb, 0, 2 * lmax)
        w_b = np.where(ok, wigner_3j_zero(l, lb_c, l0), 0.0)
        ok &= w_b != 0
        idx = np.nonzero(ok)
        six = wigner_6j(2, l0[idx], l0[idx], l[idx], la[idx], lb_c[idx])
        phase = (-1.0) ** ((la[idx] + lb_c[idx]) // 2)  # i^(lA + lB), lA + lB even
        G2[idx + (d,)] = (pref0[l0[idx]] * phase * (2 * la[idx] + 1) * (2 * lb_c[idx] + 1) * six
                          * wigner_3j_zero(2, la[idx], lb_c[idx]) * w_a[idx] * w_b[idx])
    return G0, G2


def _mixing_dimensionless(lmax: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M^(1a), M^(1c,0), M^(1c,2)) / (g_out dT)."""
    lam, kap = _dimensionless(2 * lmax, alpha, beta)
    G0, G2 = _geometry(lmax)
    L = np.arange(lmax + 1)
    m1a = np.diag(-(8 * np.pi / 3) * (lam[0] - lam[2] / 2) * L * (L + 1))
    m1c0 = G0 @ np.diag(kap)
    LA = np.arange(2 * lmax + 1)
    m1c2 = np.zeros_like(m1c0)
    for d in range(3):
        lb = np.clip(LA + 2 * d - 2, 0, 2 * lmax)
        m1c2 += G2[..., d] @ kap[LA, lb]
    return m1a, m1c0, m1c2


def _check_lmax(lmax):
    return int(check.integers("lmax", lmax, 2, LMAX))


def mixing_matrices(lmax, delta_t, k_out, k_in, g_out=1.0) -> dict[str, np.ndarray]:
    """The second-order mixing matrices M^(1a), M^(1c,0), M^(1c,2) of (3.15), (3.21), (3.23), l, l0 = 0..lmax.

    Returns a dict with keys ``"1a"`` (one of the two equal diagrams (1a), (1b)), ``"1c0"`` and ``"1c2"``; the
    full matrix is ``M = 1 + 2 M^(1a) + M^(1c,0) + M^(1c,2)``.  Rows are l, columns l0.
    """
    lmax = _check_lmax(lmax)
    delta_t, k_out, k_in, g_out = _scales(delta_t, k_out, k_in, g_out)
    if np.ndim(delta_t) or np.ndim(k_out) or np.ndim(k_in) or np.ndim(g_out):
        raise ValueError("mixing_matrices: delta_t, k_out, k_in and g_out must be scalars")
    dt, ko, ki, g = float(delta_t), float(k_out), float(k_in), float(g_out)
    m1a, m1c0, m1c2 = _mixing_dimensionless(lmax, ki * dt, ko * dt)
    s = g * dt
    return {"1a": s * m1a, "1c0": s * m1c0, "1c2": s * m1c2}


def transition_matrix(lmax, delta_t, k_out, k_in, g_out=1.0) -> np.ndarray:
    """The transition matrix A = (1 - M)/dT of (3.5), l, l0 = 0..lmax (units of g_out, i.e. a rate).

    At second order in the turbulence A is exactly ``g_out`` times a function of alpha = k_in dT and
    beta = k_out dT.  Column 0 vanishes; ``sum_l (2l+1) A_{l l0} = 0`` up to the power that couplings
    carry beyond lmax.

    >>> A = transition_matrix(8, 0.5, 1e-3, 10.0)
    >>> bool(np.all(A[:, 0] == 0) and A[1, 1] > 0)
    True
    """
    M = mixing_matrices(lmax, delta_t, k_out, k_in, g_out)
    return -(2 * M["1a"] + M["1c0"] + M["1c2"]) / float(delta_t)


def steady_state(lmax, alpha, k_out, k_in, g_out=1.0, source=1.0, closure="conservative") -> np.ndarray:
    """Steady-state spectrum of (3.7), ``C_l`` for **l = 1..lmax** (an array of length lmax).

    Parameters
    ----------
    lmax : int, 2 <= lmax <= 128
    alpha : float, 0 < alpha <= 2e4 -- k_in dT
    k_out, k_in : the white-noise band, 0 < k_out < k_in; ``k_in = inf`` is the paper's limit (k_out dT -> 0)
    g_out : float, > 0 -- the spectral level; C scales as source/g_out
    source : float, > 0 -- ``s = (8 pi/3) K |grad f|^2`` of (3.7) (corrected; the print has 8 pi/9, see the errata)
    closure : ``"conservative"`` (default) or ``"absorbing"`` -- how the couplings to l > lmax are truncated

    The monopole is not stationary (it grows at dC_0/dt = 3 source).

    Truncation.  The couplings reach |l - l0| ~ alpha, so any lmax cuts some.  ``"absorbing"`` keeps them in
    the loss rates (power that leaves l <= lmax is lost); the chain is recurrent in l, that power would come
    back, and C_l then converges only like lmax^-0.2 (C_1 at alpha = 50 is still 57 % low at lmax = 128).
    ``"conservative"`` drops them from gain and loss alike (the columns keep sum_l (2l+1) A_{l l0} = 0); it
    converges fast once lmax exceeds ~alpha: C_1 changes by < 1e-6 between lmax = 64 and 128 at alpha = 50
    and by < 1e-10 at alpha = 10 from lmax = 32, but by 1.8 % at alpha = 100 and 7 % at alpha = 200.
    Raises ValueError if the truncated system gives non-positive power.

    >>> c = steady_state(32, 10.0, 1.0, float("inf"))
    >>> round(float(c[0]), 6), bool(np.all(np.diff(c) < 0))
    (0.054293, True)
    """
    lmax = _check_lmax(lmax)
    given = alpha
    alpha = float(check.in_range("alpha", alpha, 0.0, ALPHA_MAX, closed=False)) if np.ndim(alpha) == 0 else None
    if alpha is None:
        raise ValueError(f"alpha={check._show(given)}: must be a single number (call once per alpha)")
    k_out, k_in = _band(k_out, k_in, allow_infinite=True)
    g_out = float(check.positive("g_out", g_out))
    source = float(check.positive("source", source))
    check.choice("closure", closure, ("conservative", "absorbing"))
    beta = 0.0 if np.isinf(k_in) else alpha * float(k_out) / float(k_in)
    m1a, m1c0, m1c2 = _mixing_dimensionless(lmax, alpha, beta)
    A = -g_out * (2 * m1a + m1c0 + m1c2)
    if closure == "conservative":
        w = 2.0 * np.arange(lmax + 1) + 1
        A -= np.diag((w @ A) / w)  # what the column loses beyond lmax stays at l0
    rhs = np.zeros(lmax)
    rhs[0] = source
    C = np.linalg.solve(A[1:, 1:], rhs)
    if np.any(C <= 0):
        bad = int(np.argmax(C <= 0)) + 1
        raise ValueError(f"alpha={alpha:g}, lmax={lmax}: the truncated steady state has non-positive power at l = {bad} "
                         f"(C_l = {C[bad - 1]:.3g}); raise lmax or lower alpha")
    return C
