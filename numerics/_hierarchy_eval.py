"""Entrywise-accurate evaluation of the hierarchical (pure-birth) evolution model.

With rates ``lam_m = m (m + 1)`` and time in units of ``1/nu`` (``tau = nu t``)

.. math::

    \\dot y_1 = -\\lambda_1 y_1, \\qquad
    \\dot y_l = -\\lambda_l y_l + \\lambda_{l-1} y_{l-1} \\ (l \\ge 2), \\qquad
    y_l(0) = \\delta_{l1},

i.e. ``y_l(tau)`` is the probability that a pure-birth chain started in state 1 is in
state ``l`` at ``tau`` (the physical power is ``C_l = 3 C_1 y_l / (2 l + 1)``).  The system
is lower bidiagonal, so ``y_l`` for ``l <= L`` does not depend on higher ``l``.

Two exact representations are combined:

* the residue (eigen-)expansion ``y_l = sum_{n<=l} a_ln exp(-n (n+1) tau)`` with
  ``a_ln = (-1)^(n-1) (2n+1) n (n+1) (l-1)! l! / ((l-n)! (l+n+1)!)``.  The coefficients are
  formed from exact integers and rounded once.  The series alternates and cancels
  catastrophically for ``tau`` below a few tenths (the sum can be 1e-140 while the terms
  are O(1)), so it is used only where the computed condition number
  ``R = sum|terms| / sum`` is at most ``_RESIDUE_MAX_COND`` (relative rounding error about
  ``R * eps``, i.e. <= ~1e-14);
* uniformization (a shifted Taylor series) everywhere else: with ``c = lam_L`` the matrix
  ``P = I + A/c`` is entrywise non-negative and ``y(tau) = sum_k Poisson(k; c tau) P^k y(0)``
  sums non-negative terms only, so every component, however small, comes out with a
  relative error of a few ulps times sqrt(number of terms).  The requested times are
  visited in increasing order, each interval split into sub-steps with ``c dt <= _X_MAX``
  (so ``exp(c dt)`` cannot overflow); each sub-step's series is truncated by a computed
  bound on its tail (see ``_uniform_step``).  The cost grows like ``c tau`` ~ ``L^2 tau``,
  affordable because the residue series takes over from ``tau ~ 0.3`` on for every ``L``.

``hierarchy_total`` gives ``S(tau) = sum_l y_l(tau)`` (the probability the chain has not
exploded by ``tau``) from Jacobi's identity ``S = 1 - prod_n (1 - exp(-2 n tau))^3``,
evaluated as ``-expm1(3 sum_n log1p(-exp(-2 n tau)))`` so that it keeps full relative
accuracy also at large ``tau`` where ``S ~ 3 exp(-2 tau)``.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["hierarchy_y", "hierarchy_total"]

#: The residue series is accepted where sum|terms| <= this * sum (its rounding error is then
#: about this * eps ~ 1e-14 relative); elsewhere uniformization is used.
_RESIDUE_MAX_COND = 45.0
#: Largest c*dt of one uniformization sub-step: exp(c dt) ~ 1e222 stays clear of overflow, and few
#: sub-steps mean few systematic roundings (with 4 instead, lmax = 100 drifts by ~1e-13 by tau = 0.3).
_X_MAX = 512.0
#: Relative tail bound at which one sub-step's Poisson series is truncated.
_STEP_TOL = 1e-17
#: Largest supported lmax (the exact coefficients and the uniformization cost grow like lmax^3).
_LMAX_LIMIT = 1000
#: Rows of the (tau x l) residue matrices handled per block.
_BLOCK = 4096

_coeff_cache: dict[str, np.ndarray] = {}


def _residue_coefficients(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """``a_ln`` (row l-1, column n-1; zero above the diagonal) and its absolute value.

    Each entry is an exact rational rounded once to double (Python's int / int is
    correctly rounded); nothing is formed from differences of rates.  Cached for the
    largest ``lmax`` seen, smaller requests are sliced (the entries do not depend on lmax).
    """
    have = _coeff_cache.get("a")
    if have is None or have.shape[0] < lmax:
        fact = [1]
        for i in range(1, 2 * lmax + 2):
            fact.append(fact[-1] * i)
        a = np.zeros((lmax, lmax))
        for ell in range(1, lmax + 1):
            base = fact[ell - 1] * fact[ell]
            for n in range(1, ell + 1):
                v = ((2 * n + 1) * n * (n + 1) * base) / (fact[ell - n] * fact[ell + n + 1])
                a[ell - 1, n - 1] = v if n % 2 else -v
        a.setflags(write=False)
        absa = np.abs(a)
        absa.setflags(write=False)
        _coeff_cache["a"], _coeff_cache["abs"] = a, absa
    return _coeff_cache["a"][:lmax, :lmax], _coeff_cache["abs"][:lmax, :lmax]


@numba.njit(cache=True)
def _uniform_step(y, t_buf, s_buf, q, x, tol):  # pragma: no cover - compiled
    """Advance ``y`` in place by ``dt = x / c``; return False if the series did not converge.

    ``q[l] = lam_l / c`` (so ``P`` has diagonal ``1 - q[l]`` and subdiagonal ``q[l-1]``).
    Works with unnormalised terms ``T_k = x^k / k! P^k y`` and partial sums ``S``; at the end
    ``S`` is divided by the computed sum ``W`` of the same weights ``x^k / k!`` (exactly
    ``exp(x)``), not multiplied by ``exp(-x)``: the rounding of the weights, common to all
    components, then cancels instead of accumulating over the sub-steps, and nothing
    underflows early.  ``P T`` is formed as ``(T_l - T_l q_l) + q_{l-1} T_{l-1}`` so that
    the rounding acts on the rates (relative ~eps) rather than on ``1 - q_l`` (~c eps / lam_l).

    Truncation: since ``T_{k+1,l} = x/(k+1) [(1-q_l) T_{k,l} + q_{l-1} T_{k,l-1}]``, with
    ``r_k = max_l T_{k,l}/S_l`` and ``G = max_l [(1-q_l) + q_{l-1} S_{l-1}/S_l]`` every later
    term obeys ``r_{k+i} <= r_k rho^i``, ``rho = x G/(k+1)``; the series stops once the
    geometric tail bound ``r_k rho/(1-rho)`` is below ``tol`` (and likewise for ``W``).  ``G`` is large
    (~ l/x) when ``y`` still falls steeply with ``l`` (small times) and the bound then asks
    for correspondingly more terms.  Components whose sum stays below ``1e-300 exp(x)``
    (values that underflow, < ~1e-300 after scaling) and everything above the first such
    component are left out of the bound.
    """
    n = y.size
    floor = 1e-300 * np.exp(x)
    last_pos = 0
    for i in range(n):
        t_buf[i] = y[i]
        s_buf[i] = y[i]
        if y[i] > 0.0:
            last_pos = i
    kmin = n - 1 - last_pos  # terms needed before the top component can be reached at all
    kmax = kmin + 8 * (int(x) + n) + 500
    w_term = 1.0  # x^k / k!
    w_sum = 1.0   # sum of the Poisson weights so far (-> exp(x))
    converged = False
    k = 0
    while k < kmax:
        k += 1
        f = x / k
        w_term *= f
        w_sum += w_term
        for i in range(n - 1, 0, -1):
            ti = t_buf[i]
            t_buf[i] = f * ((ti - ti * q[i]) + q[i - 1] * t_buf[i - 1])
        t0 = t_buf[0]
        t_buf[0] = f * (t0 - t0 * q[0])
        for i in range(n):
            s_buf[i] += t_buf[i]
        if k < kmin:
            continue
        r = 0.0
        g = 0.0
        for i in range(n):
            si = s_buf[i]
            if not si > floor:
                break
            ri = t_buf[i] / si
            if ri > r:
                r = ri
            gi = 1.0 - q[i]
            if i > 0:
                gi += q[i - 1] * (s_buf[i - 1] / si)
            if gi > g:
                g = gi
        rho_w = f * k / (k + 1)
        rho = rho_w * g
        if rho < 1.0 and r * rho < tol * (1.0 - rho) and w_term * rho_w < tol * (1.0 - rho_w) * w_sum:
            converged = True
            break
    for i in range(n):
        y[i] = s_buf[i] / w_sum
    return converged


@numba.njit(cache=True)
def _uniformization(taus, n, x_max, tol):  # pragma: no cover - compiled
    """``y(tau)`` of the ``n``-state subsystem at the increasing, non-negative ``taus``.

    Returns ``(out, ok)``; ``ok`` is False if some sub-step's series failed to converge.
    """
    out = np.empty((taus.size, n))
    q = np.empty(n)
    c = float(n * (n + 1))
    for i in range(n):
        q[i] = (i + 1) * (i + 2) / c  # q[n-1] == 1 exactly
    y = np.zeros(n)
    y[0] = 1.0
    t_buf = np.empty(n)
    s_buf = np.empty(n)
    ok = True
    t = 0.0
    for j in range(taus.size):
        dt = taus[j] - t
        if dt > 0.0:
            xt = c * dt
            nsub = max(1, int(np.ceil(xt / x_max)))  # xt / x_max underflows to 0 for a subnormal dt
            x = xt / nsub
            for _ in range(nsub):
                if not _uniform_step(y, t_buf, s_buf, q, x, tol):
                    ok = False
            t = taus[j]
        for i in range(n):
            out[j, i] = y[i]
    return out, ok


def _check_args(lmax, tau) -> tuple[int, np.ndarray]:
    if isinstance(lmax, bool) or not isinstance(lmax, (int, np.integer)):
        raise ValueError(f"lmax={lmax!r}: expected an integer")
    lmax = int(lmax)
    if not 1 <= lmax <= _LMAX_LIMIT:
        raise ValueError(f"lmax={lmax}: must be in [1, {_LMAX_LIMIT}]")
    try:
        t = np.asarray(tau, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"tau={tau!r}: expected a real number or array of real numbers") from None
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("tau: must be finite and >= 0")
    return lmax, t


def _hierarchy_y_detail(lmax: int, tau) -> tuple[np.ndarray, np.ndarray]:
    """``hierarchy_y`` plus the boolean mask of entries taken from uniformization."""
    lmax, t = _check_args(lmax, tau)
    a, absa = _residue_coefficients(lmax)
    lam = np.arange(1, lmax + 1, dtype=float)
    lam *= lam + 1.0
    y = np.empty((t.size, lmax))
    bad = np.empty((t.size, lmax), dtype=bool)
    for b0 in range(0, t.size, _BLOCK):
        tb = t[b0:b0 + _BLOCK]
        e = np.exp(-np.multiply.outer(tb, lam))
        s = e @ a.T
        sabs = e @ absa.T
        # accepted: positive sum with small condition number, or every term underflowed (value 0)
        good = ((s > 0) & (sabs <= _RESIDUE_MAX_COND * s)) | (sabs == 0)
        y[b0:b0 + _BLOCK] = np.where(good, s, 0.0)
        bad[b0:b0 + _BLOCK] = ~good
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size:
        n_u = int(np.flatnonzero(bad[rows].any(axis=0)).max()) + 1
        tu, inv = np.unique(t[rows], return_inverse=True)
        yu, ok = _uniformization(tu, n_u, _X_MAX, _STEP_TOL)
        if not ok:  # the truncation bound never failed in testing; this would be a bug
            raise RuntimeError("hierarchy_y: uniformization series did not converge")
        sub = yu[inv.ravel()]
        blk = bad[rows, :n_u]
        yr = y[rows, :n_u]
        yr[blk] = sub[blk]
        y[rows, :n_u] = yr
    return y, bad


def hierarchy_y(lmax: int, tau) -> np.ndarray:
    """``y_l(tau)``, ``l = 1..lmax``, of the hierarchical model, each entry to ~1e-13 relative.

    Parameters
    ----------
    lmax : int
        Highest multipole, 1 <= lmax <= 1000 (designed for <= 200; cost ~ lmax^3).
    tau : float or array
        Times ``nu t >= 0`` (flattened); ``tau = 0`` gives ``e_1`` exactly.

    Returns
    -------
    array (tau.size, lmax)
        Column ``j`` is ``l = j + 1``.  Entries below ~1e-300 may underflow to 0.
    """
    return _hierarchy_y_detail(lmax, tau)[0]


def hierarchy_total(tau) -> np.ndarray:
    """``S(tau) = sum_{l>=1} y_l(tau) = 1 - prod_{n>=1} (1 - exp(-2 n tau))^3`` (Jacobi).

    Evaluated as ``-expm1(3 sum_n log1p(-exp(-2 n tau)))``; the product stops once it is
    below 1e-300 (then S = 1 in double) or its remaining factors are 1 to double precision
    (tail of the log-sum bounded by ``q^(n+1) / ((1-q)(1-q^(n+1)))``, ``q = exp(-2 tau)``).
    ``S(0) = 1``.  Returns an array of ``tau``'s shape.
    """
    try:
        t = np.asarray(tau, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"tau={tau!r}: expected a real number or array of real numbers") from None
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("tau: must be finite and >= 0")
    flat = t.ravel()
    out = np.ones(flat.size)
    idx = np.flatnonzero(flat > 0)
    logp = np.zeros(idx.size)          # sum_n log1p(-exp(-2 n tau)) so far
    one_minus_q = -np.expm1(-2.0 * flat[idx])
    n0, chunk = 1, 256
    active = np.arange(idx.size)
    while active.size:
        ta = flat[idx[active]]
        n = np.arange(n0, n0 + chunk, dtype=float)
        with np.errstate(divide="ignore"):  # log1p(-1) = -inf for denormal tau: S = 1, correctly
            logp[active] += np.log1p(-np.exp(-2.0 * np.multiply.outer(ta, n))).sum(axis=1)
        n0 += chunk
        lp = logp[active]
        qn = np.exp(-2.0 * n0 * ta)    # q^n0, first factor not yet included
        with np.errstate(divide="ignore", invalid="ignore"):  # denormal tau: already done via lp = -inf
            tail = qn / (one_minus_q[active] * -np.expm1(-2.0 * n0 * ta))
        done = (3.0 * lp < np.log(1e-300)) | (tail <= 1e-18 * np.abs(lp))
        active = active[~done]
    out[idx] = 0.0 - np.expm1(3.0 * logp)  # 0.0 - x: no -0.0 where everything underflowed
    return out.reshape(t.shape)
