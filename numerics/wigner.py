"""Vectorised Wigner 3j and 6j symbols for integer arguments (pure NumPy/SciPy).

Conventions are those of Edmonds and of ``sympy.physics.wigner`` (Condon--Shortley phases):

* ``(l1 l2 l3; m1 m2 m3)`` is the 3j symbol, related to Clebsch--Gordan coefficients by
  ``<l1 m1 l2 m2|L M> = (-1)^(l1 - l2 + M) sqrt(2L + 1) (l1 l2 L; m1 m2 -M)``;
* ``{j1 j2 j3; j4 j5 j6}`` is the 6j symbol.

A symbol whose selection rules fail is 0, not an error: the 3j symbol vanishes unless
m1 + m2 + m3 = 0, |m_i| <= l_i and |l1 - l2| <= l3 <= l1 + l2; the 6j symbol vanishes unless the
four triads (j1 j2 j3), (j1 j5 j6), (j4 j2 j6), (j4 j5 j3) satisfy the triangle rule.  Every
argument must be an integer in [0, WIGNER_LMAX] (m in [-WIGNER_LMAX, WIGNER_LMAX]); anything else
raises ``ValueError`` naming the parameter before any work.

Formulas
--------
``wigner_3j_zero``: with L = l1 + l2 + l3 = 2g even and a = g - l1, b = g - l2, c = g - l3,

.. math:: \\begin{pmatrix} l_1 & l_2 & l_3 \\\\ 0 & 0 & 0 \\end{pmatrix}
    = (-1)^g \\sqrt{\\frac{r_a\\, r_b\\, r_c}{(2g + 1)\\, r_g}},
    \\qquad r_n = \\binom{2n}{n} 4^{-n} = \\prod_{k=1}^{n} \\frac{2k - 1}{2k},

which is the closed form (-1)^g sqrt[(2a)!(2b)!(2c)!/(L+1)!] g!/(a! b! c!) rewritten with central
binomials; r_n is tabulated once by a running product, so no cancellation and no large logarithms
enter (~1e-15 relative for every l <= WIGNER_LMAX).

``wigner_3j`` and ``wigner_6j``: Racah's single sums,

.. math:: (l_1 l_2 l_3; m_1 m_2 m_3) = (-1)^{l_1 - l_2 - m_3} \\Delta(l_1 l_2 l_3)
    \\sqrt{\\textstyle\\prod_i (l_i + m_i)!(l_i - m_i)!}
    \\sum_t \\frac{(-1)^t}{t!(l_3 - l_2 + t + m_1)!(l_3 - l_1 + t - m_2)!(l_1 + l_2 - l_3 - t)!
    (l_1 - t - m_1)!(l_2 - t + m_2)!},

.. math:: \\{j_1 j_2 j_3; j_4 j_5 j_6\\} = \\Delta(j_1 j_2 j_3)\\Delta(j_1 j_5 j_6)\\Delta(j_4 j_2 j_6)
    \\Delta(j_4 j_5 j_3) \\sum_t \\frac{(-1)^t (t + 1)!}{\\prod_{i=1}^4 (t - a_i)! \\prod_{k=1}^3 (b_k - t)!},

with Delta(abc) = sqrt[(a+b-c)!(a-b+c)!(-a+b+c)!/(a+b+c+1)!], a_i the four triad sums and b_k the
three sums of pairs of columns.  The first term comes from a table of log-factorials kept as a
double-double (exact sums of the coarse part), the others from the exact ratio of consecutive
terms (a rational function of t), so the loop runs over as many t values as the widest range
present in the input -- at most three for a 6j symbol holding a 2.  The sum alternates in sign;
where its terms cancel by more than ``RACAH_MAX_CANCELLATION`` (sum |terms| / |sum|) the symbol is
recomputed from the three-term recursions of Schulten and Gordon (J. Math. Phys. 16, 1961
(1975)) -- in l3 for the 3j symbol, in j1 for the 6j symbol -- run forwards from the lower end of
the range and backwards from the upper end (each direction is stable where the symbol grows
along it), joined at the first maximum of the forward solution, normalised by
sum_l3 (2 l3 + 1) (l1 l2 l3; m1 m2 m3)^2 = 1 or sum_j1 (2 j1 + 1)(2 j4 + 1) {..}^2 = 1, and given
the sign of the stretched symbol at the top of the range.

Accuracy
--------
Maximum relative error |computed - exact| / |exact| against SymPy's exact values (measured on
this code; the tests assert slightly looser bounds on smaller seeded samples):

* ``wigner_3j_zero``: 2.2e-16 for every symbol with l <= 12; 2.3e-15 for 100 random symbols with l <= 1000.
* ``wigner_3j``: 3.1e-14 for every symbol with l <= 8 (26757 symbols); 2.5e-13 for 1500 random
  symbols with l <= 40; 2.6e-13, 4.9e-13, 1.4e-14 for 400, 120, 40 random symbols with l <= 100,
  300, 1000.
* ``wigner_6j``: 2.9e-15 for every symbol with j <= 6 (17245 symbols); 8.5e-13 for 800 random
  symbols with j <= 40; 2.5e-14, 3.4e-13, 5.6e-14 for 300, 100, 30 random symbols with j <= 100,
  300, 1000.

The Racah path alone (cancellation <= 1e3) is accurate to ~4e-14; the largest errors are
recursion values close to a node of their sequence (e.g. a 6j symbol of 1.6e-6 in a sequence
whose largest member is ~1e-2): there the error is absolute, ~1e-17 relative to the largest
symbol of the sequence.  Exact zeros (selection rules) are returned as 0.0; non-trivial zeros
come out as |value| < 1e-16.  Values smaller than ~1e-300 underflow to 0.
"""
from __future__ import annotations

import decimal

import numpy as np

from numerics import _validate as check

__all__ = ["wigner_3j_zero", "wigner_3j", "wigner_6j", "wigner_6j_table_2", "three_j_l3_sequence",
           "WIGNER_LMAX", "TABLE_LMAX", "RACAH_MAX_CANCELLATION"]

#: Largest angular momentum accepted by every function of this module.
WIGNER_LMAX = 1000
#: Largest lmax of :func:`wigner_6j_table_2`: its table holds 3 (lmax+1)^2 (2 lmax+3) doubles (100 MB at 128, the QLT
#: transition matrix's largest lmax), and building it takes several times that; at lmax = 454, which the bound
#: (WIGNER_LMAX - 2)/2 used to allow, it needs over 24 GB.
TABLE_LMAX = 128
#: Racah sums whose terms cancel by more than this factor are recomputed by recursion.
RACAH_MAX_CANCELLATION = 1.0e3

# log n! as hi + 1j * lo (see _logfact_table); (t + 1)! in the 6j sum has t <= j1 + j2 + j4 + j5 <= 4 LMAX.
_LOGFACT_SIZE = 4 * WIGNER_LMAX + 3
_LOGFACT = np.zeros(1, dtype=complex)
# r_n = C(2n, n) / 4^n for n <= 3 LMAX / 2.
_CENTRAL = np.concatenate(([1.0], np.cumprod((2.0 * np.arange(1, 3 * WIGNER_LMAX // 2 + 2) - 1.0)
                                             / (2.0 * np.arange(1, 3 * WIGNER_LMAX // 2 + 2)))))
_RESCALE = 1.0e150
_LOG_RESCALE = float(np.log(_RESCALE))


# --------------------------------------------------------------------------- helpers
def _ls(name, value):
    return check.integers(name, value, 0, WIGNER_LMAX)


def _ms(name, value):
    return check.integers(name, value, -WIGNER_LMAX, WIGNER_LMAX)


def _triangle(a, b, c):
    return (c >= np.abs(a - b)) & (c <= a + b)


def _logfact_table(nmax: int) -> np.ndarray:
    """log n! for n <= nmax (grown on demand) as a complex array hi + 1j * lo.

    hi is log n! rounded to a multiple of 2^-20 and lo the remainder, both from a 40-digit
    ``decimal`` sum of log k.  Sums of up to ~2^13 hi values below 2^20 are exact in double
    precision, so a signed sum of log-factorials -- done on the complex numbers, which add
    the two parts separately -- is accurate to ~1e-16 absolute instead of ~1e-16 * log n!
    (1e-12 at n = 4000 with a plain table); the combined log is then hi + lo.
    """
    global _LOGFACT
    if nmax < _LOGFACT.size:
        return _LOGFACT
    size = min(max(2 * _LOGFACT.size, nmax + 1, 256), _LOGFACT_SIZE)
    ctx = decimal.Context(prec=40)
    grid = decimal.Decimal(2) ** 20
    table = np.zeros(size, dtype=complex)
    acc = decimal.Decimal(0)
    for k in range(2, size):
        acc = ctx.add(acc, ctx.ln(decimal.Decimal(k)))
        hi = int(ctx.multiply(acc, grid).to_integral_value())
        table[k] = complex(hi / 2 ** 20, float(ctx.subtract(acc, decimal.Decimal(hi) / grid)))
    _LOGFACT = table
    return table


def _lf(n):
    return np.take(_LOGFACT, n)


def _real(z):
    return z.real + z.imag


def _alternating_series(nterms, ratio):
    """sum_{k=0}^{nterms} r_k with r_0 = 1 and r_{k+1} = r_k * ratio(k): (sum, sum |r_k|, log scale).

    ``ratio(k)`` must vanish at the last term of each element (the Racah sums' ratios do), so
    running every element to the largest ``nterms`` adds only zeros.  Large partial terms are
    rescaled; the returned sums are to be multiplied by exp(log scale).
    """
    size = nterms.shape[0]
    r = np.ones(size)
    total = np.ones(size)
    absolute = np.ones(size)
    logscale = np.zeros(size)
    for k in range(int(nterms.max()) if size else 0):
        r = r * ratio(k)
        total += r
        absolute += np.abs(r)
        big = np.abs(r) > _RESCALE
        if big.any():
            r[big] /= _RESCALE
            total[big] /= _RESCALE
            absolute[big] /= _RESCALE
            logscale[big] += _LOG_RESCALE
    return total, absolute, logscale


def _finish(sign, logvalue, total):
    with np.errstate(divide="ignore", under="ignore"):
        return sign * np.sign(total) * np.exp(logvalue + np.log(np.abs(total)))


# --------------------------------------------------------------------------- 3j symbols
def wigner_3j_zero(l1, l2, l3) -> np.ndarray:
    """The 3j symbol (l1 l2 l3; 0 0 0), vectorised over broadcast integer arrays.

    Zero unless the triangle rule holds and l1 + l2 + l3 is even.

    Parameters
    ----------
    l1, l2, l3 : int or array of int in [0, WIGNER_LMAX]

    Returns
    -------
    numpy.ndarray of float64 with the broadcast shape (0-d for scalar input)

    >>> float(wigner_3j_zero(1, 1, 2))  # sqrt(2/15)
    0.3651483716701107
    >>> wigner_3j_zero([2, 2, 2], 2, [1, 2, 3]).tolist()  # odd l1 + l2 + l3 gives 0
    [0.0, -0.23904572186687872, 0.0]
    """
    l1, l2, l3 = np.broadcast_arrays(_ls("l1", l1), _ls("l2", l2), _ls("l3", l3))
    out = np.zeros(l1.shape)
    L = l1 + l2 + l3
    ok = _triangle(l1, l2, l3) & (L % 2 == 0)
    if not ok.any():
        return out
    g = L[ok] // 2
    a, b, c = g - l1[ok], g - l2[ok], g - l3[ok]
    C = _CENTRAL
    mag = np.sqrt(C[a] * C[b] * C[c] / ((2 * g + 1) * C[g]))
    out[ok] = np.where(g % 2 == 0, mag, -mag)
    return out


def _racah_3j(j1, j2, j3, m1, m2, m3):
    """Racah's sum for valid 1-d arrays: (values, cancellation factor sum|terms|/|sum|)."""
    a, b, c = j1 + j2 - j3, j1 - m1, j2 + m2  # numerator factors (a - t), (b - t), (c - t)
    d, e = j3 - j2 + m1, j3 - j1 - m2  # denominator (d + t)!, (e + t)!
    tmin = np.maximum(0, np.maximum(-d, -e))
    tmax = np.minimum(a, np.minimum(b, c))
    _logfact_table(int(np.max(j1 + j2 + j3)) + 1)
    logpre = 0.5 * (_lf(a) + _lf(j1 - j2 + j3) + _lf(j2 - j1 + j3) - _lf(j1 + j2 + j3 + 1)
                    + _lf(j1 + m1) + _lf(j1 - m1) + _lf(j2 + m2) + _lf(j2 - m2) + _lf(j3 + m3) + _lf(j3 - m3))
    t = tmin
    log0 = -(_lf(t) + _lf(d + t) + _lf(e + t) + _lf(a - t) + _lf(b - t) + _lf(c - t))
    af, bf, cf, df, ef, tf = (x.astype(float) for x in (a, b, c, d, e, tmin))

    def ratio(k):
        t = tf + k
        return -(af - t) * (bf - t) * (cf - t) / ((t + 1.0) * (df + t + 1.0) * (ef + t + 1.0))

    total, absolute, logscale = _alternating_series(tmax - tmin, ratio)
    sign = np.where((j1 - j2 - m3 + tmin) % 2 == 0, 1.0, -1.0)
    with np.errstate(divide="ignore"):
        cancel = absolute / np.abs(total)
    return _finish(sign, _real(logpre + log0) + logscale, total), cancel


def _solve_recursion(xmin, n, P, Q, R, weight, start, top_sign):
    """Solve P(x) f(x+1) + Q(x) f(x) + R(x) f(x-1) = 0 on x = xmin .. xmin + n - 1, row by row.

    ``P``/``Q``/``R``/``weight`` take (x, rows) with x a float array for the selected rows;
    ``start(rows)`` gives f(xmin + 1)/f(xmin) where R(xmin) = P(xmin) = 0 (xmin = 0); ``start=None``
    says that |f(xmin + 1)/f(xmin)| < 1 there, so those rows come from the backward recursion alone;
    normalisation sum_x weight(x) f(x)^2 = 1 and sign(f(xmax)) = top_sign.  Returns an
    array (rows, max n), zero beyond each row's n.
    """
    K, N = xmin.shape[0], int(n.max())
    rows = np.arange(K)
    F = np.zeros((K, N))
    F[:, 0] = 1.0
    join = n - 1  # the first local maximum of |f| along the forward direction (or the top)
    with np.errstate(divide="ignore", invalid="ignore"):
        if N > 1:
            x0 = xmin.astype(float)
            first = -Q(x0, rows) / P(x0, rows)
            z = xmin == 0
            if z.any():
                first[z] = 0.0 if start is None else start(rows[z])
            F[:, 1] = np.where(n > 1, first, 0.0)
            join = np.where((n > 1) & (np.abs(F[:, 1]) < 1.0), 0, join)
        alive = join > 0
        for k in range(1, N - 1):
            act = np.nonzero(alive & (n - 2 >= k))[0]
            if act.size == 0:
                break
            x = (xmin[act] + k).astype(float)
            new = -(Q(x, act) * F[act, k] + R(x, act) * F[act, k - 1]) / P(x, act)
            F[act, k + 1] = new
            drop = np.abs(new) < np.abs(F[act, k])
            join[act[drop]] = k
            alive[act[drop]] = False
            big = np.abs(new) > _RESCALE
            if big.any():
                F[act[big], :k + 2] /= _RESCALE
        cols = np.arange(N)
        # backward from the top: H[:, q] = f(xmax - q) up to a factor, for q <= n - 1 - join
        qmax = n - 1 - join
        Qn = int(qmax.max())
        xmax = (xmin + n - 1).astype(float)
        H = np.zeros((K, Qn + 1))
        H[:, 0] = 1.0
        if Qn >= 1:
            act = rows[qmax >= 1]
            H[act, 1] = -Q(xmax[act], act) / R(xmax[act], act)
        for q in range(1, Qn):
            act = rows[qmax >= q + 1]
            if act.size == 0:
                break
            x = xmax[act] - q
            H[act, q + 1] = -(Q(x, act) * H[act, q] + P(x, act) * H[act, q - 1]) / R(x, act)
            big = np.abs(H[act, q + 1]) > _RESCALE
            if big.any():
                H[act[big], :q + 2] /= _RESCALE
    # join: f(x) = F below the join, H scaled to F at the join above it
    scale = F[rows, join] / H[rows, qmax]
    q = np.clip(n[:, None] - 1 - cols[None, :], 0, Qn)
    upper = np.take_along_axis(H, q, axis=1) * scale[:, None]
    f = np.where(cols[None, :] <= join[:, None], F, upper)
    f = np.where(cols[None, :] < n[:, None], f, 0.0)
    f /= np.max(np.abs(f), axis=1, keepdims=True)
    w = weight(xmin[:, None].astype(float) + cols[None, :], rows)
    norm = np.sqrt(np.sum(w * f * f, axis=1))
    # sign of f at the top of the range (whose value may underflow): H starts at +1 there
    top = np.where(join == n - 1, np.sign(F[rows, n - 1]), np.sign(scale))
    f *= (top_sign * top / norm)[:, None]
    return f


def three_j_l3_sequence(l1, l2, m1, m2):
    """(l1 l2 l3; m1 m2 -m1-m2) for every l3 of the range, by the Schulten--Gordon recursion.

    Parameters
    ----------
    l1, l2, m1, m2 : 1-d integer arrays of equal length (validated, |m1| <= l1, |m2| <= l2)

    Returns
    -------
    (l3min, values): l3min = max(|l1 - l2|, |m1 + m2|) per row, and values of shape
    (rows, max length) with values[i, k] = (l1 l2 l3min+k; m1 m2 -m1-m2), zero past each
    row's l3max = l1 + l2.

    >>> l3min, v = three_j_l3_sequence(np.array([1]), np.array([1]), np.array([0]), np.array([0]))
    >>> int(l3min[0]), np.round(v[0] ** 2, 12).tolist()  # (1 1 l3; 0 0 0)^2 = 1/3, 0, 2/15
    (0, [0.333333333333, 0.0, 0.133333333333])
    """
    l1 = _ls("l1", l1).ravel()
    l2 = _ls("l2", l2).ravel()
    m1 = _ms("m1", m1).ravel()
    m2 = _ms("m2", m2).ravel()
    if not (l1.size == l2.size == m1.size == m2.size):
        raise ValueError(f"l1, l2, m1, m2: expected 1-d arrays of equal length, got sizes "
                         f"{l1.size}, {l2.size}, {m1.size}, {m2.size}")
    bad = (np.abs(m1) > l1) | (np.abs(m2) > l2)
    if bad.any():
        raise ValueError(f"m1, m2: |m1| <= l1 and |m2| <= l2 required (violated at {int(bad.sum())} rows)")
    m3 = -m1 - m2
    l3min = np.maximum(np.abs(l1 - l2), np.abs(m3))
    n = l1 + l2 - l3min + 1
    if l1.size == 0:
        return l3min, np.zeros((0, 0))
    j1f, j2f, m1f, m2f, m3f = (v.astype(float) for v in (l1, l2, m1, m2, m3))

    def A(x, r):
        return np.sqrt((x * x - (j1f[r] - j2f[r]) ** 2) * ((j1f[r] + j2f[r] + 1.0) ** 2 - x * x)
                       * (x * x - m3f[r] ** 2))

    def P(x, r):
        return x * A(x + 1.0, r)

    def Q(x, r):
        return -(2.0 * x + 1.0) * ((j1f[r] * (j1f[r] + 1.0) - j2f[r] * (j2f[r] + 1.0)) * m3f[r]
                                   - x * (x + 1.0) * (m2f[r] - m1f[r]))

    def R(x, r):
        return (x + 1.0) * A(x, r)

    # l3min = 0 means l1 = l2, m3 = 0, where (l l 1; m -m 0)/(l l 0; m -m 0) = -m/sqrt(l(l+1)) has modulus < 1:
    # the symbol does not grow from l3 = 0 and the backward recursion covers the whole range (start=None)
    top = np.where((l1 - l2 - m3) % 2 == 0, 1.0, -1.0)
    return l3min, _solve_recursion(l3min, n, P, Q, R, lambda x, r: 2.0 * x + 1.0, None, top)


def row_chunks(n, budget=4_000_000):
    """Row slices (of rows sorted by length n) whose padded arrays hold about ``budget`` entries."""
    order = np.argsort(n, kind="stable")
    start = 0
    while start < order.size:
        stop = start + 1
        while stop < order.size and (stop - start + 1) * n[order[stop]] <= budget:
            stop += 1
        yield order[start:stop]
        start = stop


def _recursion_3j(j1, j2, j3, m1, m2):
    """3j symbols of 1-d valid arrays by recursion in l3 (each distinct (l1, l2, m1, m2) once)."""
    keys = np.stack([j1, j2, m1, m2], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    out = np.empty(j1.shape)
    n = uniq[:, 0] + uniq[:, 1] - np.maximum(np.abs(uniq[:, 0] - uniq[:, 1]), np.abs(uniq[:, 2] + uniq[:, 3])) + 1
    for rows in row_chunks(n):
        l3min, seq = three_j_l3_sequence(uniq[rows, 0], uniq[rows, 1], uniq[rows, 2], uniq[rows, 3])
        where = np.full(uniq.shape[0], -1)
        where[rows] = np.arange(rows.size)
        sel = np.nonzero(where[inverse] >= 0)[0]
        r = where[inverse[sel]]
        out[sel] = seq[r, j3[sel] - l3min[r]]
    return out


def wigner_3j(l1, l2, l3, m1, m2, m3) -> np.ndarray:
    """The Wigner 3j symbol (l1 l2 l3; m1 m2 m3) for integer arguments, vectorised.

    Zero where the selection rules forbid it (m1 + m2 + m3 != 0, |m_i| > l_i, triangle rule
    violated).  Racah's sum; where it cancels by more than ``RACAH_MAX_CANCELLATION`` the
    Schulten--Gordon recursion in l3 (see the module docstring for the accuracy).

    Parameters
    ----------
    l1, l2, l3 : int or array of int in [0, WIGNER_LMAX]
    m1, m2, m3 : int or array of int in [-WIGNER_LMAX, WIGNER_LMAX]

    Returns
    -------
    numpy.ndarray of float64 with the broadcast shape (0-d for scalar input)

    >>> round(float(wigner_3j(1, 1, 0, 1, -1, 0)), 15)  # 1/sqrt(3)
    0.577350269189626
    >>> float(wigner_3j(2, 1, 1, 0, 1, 0))  # m1 + m2 + m3 != 0
    0.0
    """
    args = np.broadcast_arrays(_ls("l1", l1), _ls("l2", l2), _ls("l3", l3), _ms("m1", m1), _ms("m2", m2),
                               _ms("m3", m3))
    j1, j2, j3, n1, n2, n3 = args
    out = np.zeros(j1.shape)
    ok = ((n1 + n2 + n3 == 0) & (np.abs(n1) <= j1) & (np.abs(n2) <= j2) & (np.abs(n3) <= j3)
          & _triangle(j1, j2, j3))
    if not ok.any():
        return out
    v = [a[ok] for a in args]
    values, cancel = _racah_3j(*v)
    redo = ~(cancel <= RACAH_MAX_CANCELLATION)
    if redo.any():
        values[redo] = _recursion_3j(v[0][redo], v[1][redo], v[2][redo], v[3][redo], v[4][redo])
    out[ok] = values
    return out


# --------------------------------------------------------------------------- 6j symbols
def _log_delta(a, b, c):
    return _lf(a + b - c) + _lf(a - b + c) + _lf(b + c - a) - _lf(a + b + c + 1)


def _racah_6j(j1, j2, j3, j4, j5, j6):
    a1, a2, a3, a4 = j1 + j2 + j3, j1 + j5 + j6, j4 + j2 + j6, j4 + j5 + j3
    b1, b2, b3 = j1 + j2 + j4 + j5, j2 + j3 + j5 + j6, j3 + j1 + j6 + j4
    tmin = np.maximum(np.maximum(a1, a2), np.maximum(a3, a4))
    tmax = np.minimum(np.minimum(b1, b2), b3)
    _logfact_table(int(np.max(np.maximum(np.maximum(b1, b2), b3))) + 2)  # every index below is <= max b_k + 1
    logpre = 0.5 * (_log_delta(j1, j2, j3) + _log_delta(j1, j5, j6) + _log_delta(j4, j2, j6) + _log_delta(j4, j5, j3))
    t = tmin
    log0 = _lf(t + 1) - (_lf(t - a1) + _lf(t - a2) + _lf(t - a3) + _lf(t - a4) + _lf(b1 - t) + _lf(b2 - t)
                         + _lf(b3 - t))
    nterms = tmax - tmin
    if nterms.size and nterms.max() > 0:
        c1, c2, c3, c4, d1, d2, d3 = ((x - tmin).astype(float) for x in (a1, a2, a3, a4, b1, b2, b3))
        tf = tmin.astype(float)

        def ratio(k):  # term(t + 1) / term(t) with t = tmin + k
            return (-(tf + k + 2.0) * (d1 - k) * (d2 - k) * (d3 - k)
                    / ((k + 1.0 - c1) * (k + 1.0 - c2) * (k + 1.0 - c3) * (k + 1.0 - c4)))

        total, absolute, logscale = _alternating_series(nterms, ratio)
    else:
        total = absolute = np.ones(nterms.shape)
        logscale = 0.0
    sign = np.where(tmin % 2 == 0, 1.0, -1.0)
    with np.errstate(divide="ignore"):
        cancel = absolute / np.abs(total)
    return _finish(sign, _real(logpre + log0) + logscale, total), cancel


def _six_j_j1_sequence(j2, j3, l1, l2, l3):
    """{j1 j2 j3; l1 l2 l3} for every j1 of its range (1-d arrays; (l1 j2 l3), (l1 l2 j3) valid)."""
    x0 = np.maximum(np.abs(j2 - j3), np.abs(l2 - l3))
    n = np.minimum(j2 + j3, l2 + l3) - x0 + 1
    J2, J3, L1, L2, L3 = (v.astype(float) for v in (j2, j3, l1, l2, l3))

    def E(x, r):
        return np.sqrt((x * x - (J2[r] - J3[r]) ** 2) * ((J2[r] + J3[r] + 1.0) ** 2 - x * x)
                       * (x * x - (L2[r] - L3[r]) ** 2) * ((L2[r] + L3[r] + 1.0) ** 2 - x * x))

    def P(x, r):
        return x * E(x + 1.0, r)

    def Q(x, r):
        xx = x * (x + 1.0)
        s2, s3 = J2[r] * (J2[r] + 1.0), J3[r] * (J3[r] + 1.0)
        t1, t2, t3 = L1[r] * (L1[r] + 1.0), L2[r] * (L2[r] + 1.0), L3[r] * (L3[r] + 1.0)
        return (2.0 * x + 1.0) * (xx * (-xx + s2 + s3 - 2.0 * t1) + t2 * (xx + s2 - s3) + t3 * (xx - s2 + s3))

    def R(x, r):
        return (x + 1.0) * E(x, r)

    def start(r):  # j2 = j3, l2 = l3: {1 j j; l1 l l} / {0 j j; l1 l l}
        s, t = J2[r] * (J2[r] + 1.0), L2[r] * (L2[r] + 1.0)
        return -(s + t - L1[r] * (L1[r] + 1.0)) / (2.0 * np.sqrt(s * t))

    top = np.where((j2 + j3 + l2 + l3) % 2 == 0, 1.0, -1.0)
    return x0, n, _solve_recursion(x0, n, P, Q, R, lambda x, r: (2.0 * x + 1.0) * (2.0 * L1[r, None] + 1.0),
                                   start, top)


def _recursion_6j(j1, j2, j3, j4, j5, j6):
    keys = np.stack([j2, j3, j4, j5, j6], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    out = np.empty(j1.shape)
    u = uniq
    n = (np.minimum(u[:, 0] + u[:, 1], u[:, 3] + u[:, 4])
         - np.maximum(np.abs(u[:, 0] - u[:, 1]), np.abs(u[:, 3] - u[:, 4])) + 1)
    for rows in row_chunks(n):
        x0, _, seq = _six_j_j1_sequence(*(u[rows, i] for i in range(5)))
        where = np.full(u.shape[0], -1)
        where[rows] = np.arange(rows.size)
        sel = np.nonzero(where[inverse] >= 0)[0]
        r = where[inverse[sel]]
        out[sel] = seq[r, j1[sel] - x0[r]]
    return out


def wigner_6j(j1, j2, j3, j4, j5, j6) -> np.ndarray:
    """The Wigner 6j symbol {j1 j2 j3; j4 j5 j6} for integer arguments, vectorised.

    Zero where any of the triads (j1 j2 j3), (j1 j5 j6), (j4 j2 j6), (j4 j5 j3) violates the
    triangle rule.  Racah's sum, looping over as many t values as the widest range in the input
    (at most three when an argument is 2); where the sum cancels by more than
    ``RACAH_MAX_CANCELLATION`` the Schulten--Gordon recursion in j1.

    Parameters
    ----------
    j1, j2, j3, j4, j5, j6 : int or array of int in [0, WIGNER_LMAX]

    Returns
    -------
    numpy.ndarray of float64 with the broadcast shape (0-d for scalar input)

    >>> round(float(wigner_6j(1, 1, 1, 1, 1, 1)), 15)  # 1/6
    0.166666666666667
    >>> float(wigner_6j(1, 1, 3, 1, 1, 1))  # (1 1 3) violates the triangle rule
    0.0
    """
    args = np.broadcast_arrays(*(_ls(f"j{i + 1}", v) for i, v in enumerate((j1, j2, j3, j4, j5, j6))))
    a, b, c, d, e, f = args
    out = np.zeros(a.shape)
    ok = _triangle(a, b, c) & _triangle(a, e, f) & _triangle(d, b, f) & _triangle(d, e, c)
    if not ok.any():
        return out
    v = [x[ok] for x in args]
    values, cancel = _racah_6j(*v)
    redo = ~(cancel <= RACAH_MAX_CANCELLATION)
    if redo.any():
        values[redo] = _recursion_6j(*(x[redo] for x in v))
    out[ok] = values
    return out


def wigner_6j_table_2(lmax) -> np.ndarray:
    """The table {2 l0 l0; l lA lB} for l, l0 <= lmax, lA <= 2 lmax + 2 and lB = lA + 2 d, d = -1, 0, 1.

    Returns an array of shape (lmax + 1, lmax + 1, 2 lmax + 3, 3) indexed [l, l0, lA, d + 1]; entries
    with lB < 0 or violating a triangle rule are 0.

    >>> t = wigner_6j_table_2(2)
    >>> t.shape
    (3, 3, 7, 3)
    >>> bool(t[1, 1, 1, 1] == wigner_6j(2, 1, 1, 1, 1, 1))
    True
    """
    lmax = check.integer("lmax", lmax, 0, TABLE_LMAX)
    l = np.arange(lmax + 1)[:, None, None, None]
    l0 = np.arange(lmax + 1)[None, :, None, None]
    lA = np.arange(2 * lmax + 3)[None, None, :, None]
    lB = lA + 2 * np.arange(-1, 2)[None, None, None, :]
    out = np.zeros((lmax + 1, lmax + 1, 2 * lmax + 3, 3))
    shape = out.shape
    L, L0, LA, LB = (np.broadcast_to(v, shape) for v in (l, l0, lA, lB))
    ok = (LB >= 0) & _triangle(L, L0, LA) & _triangle(L, L0, LB) & _triangle(2, LA, LB) & (L0 >= 1)
    if np.any(ok):  # lmax = 0 has no admissible entry
        out[ok] = wigner_6j(2, L0[ok], L0[ok], L[ok], LA[ok], LB[ok])
    return out
