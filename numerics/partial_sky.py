"""Multipole coupling of a partial field of view (review Appendix A, eqs. (26), (29), (30), (A.1), (A.2)).

The field of view is a declination band [dec_min, dec_max] of uniform exposure: the weight
function is w = 1 on the band and 0 elsewhere, azimuthally symmetric, with moments

.. math:: b_{k0} = \\int w\\, Y^*_{k0}\\, d\\Omega
    = 2\\pi \\sqrt{\\frac{2k+1}{4\\pi}} \\int_{\\sin\\delta_{\\min}}^{\\sin\\delta_{\\max}} P_k(\\mu)\\, d\\mu

(mu = sin(dec) = cos(colatitude)).  Pseudo moments a_lm = int w I Y*_lm dOmega of a sky map
I = sum a^_lm Y_lm do not mix m (review eq. (26) with K_{lm l'm'} = delta_mm' T^m_ll'):

.. math:: a_{\\ell m} = \\sum_{\\ell'} T^m_{\\ell\\ell'}\\, \\hat a_{\\ell' m}, \\qquad
    T^m_{\\ell\\ell'} = \\int w\\, Y^*_{\\ell m} Y_{\\ell' m}\\, d\\Omega
    = 2\\pi \\int \\lambda_{\\ell m}(\\mu) \\lambda_{\\ell' m}(\\mu)\\, d\\mu ,

with Y_lm = lambda_lm(mu) e^(i m phi).  T^m is real and symmetric in (l, l'), and T^(-m) = T^m.
:func:`coupling` evaluates it from the Wigner-3j sum of review eq. (A.1),

.. math:: T^m_{\\ell\\ell'} = (-1)^m \\sum_{k=|\\ell-\\ell'|}^{\\ell+\\ell'} b_{k0}
    \\sqrt{\\frac{(2\\ell+1)(2\\ell'+1)(2k+1)}{4\\pi}}
    \\begin{pmatrix} \\ell & \\ell' & k \\\\ 0 & 0 & 0 \\end{pmatrix}
    \\begin{pmatrix} \\ell & \\ell' & k \\\\ m & -m & 0 \\end{pmatrix},

which the tests check against the direct quadrature of the second form: the print's sign and
normalisation are right.  For the dipole, T^1_11 = T^-1_11 is exactly review eq. (27),
K'_1111 = (3 (s2 - s1) + s1^3 - s2^3)/4 with s = sin(dec).

:func:`transfer` is review eq. (A.2): with the m = 0 pseudo moments set to zero (review text
above eq. (27)) and C_l = (1/(2l+1)) sum_{m != 0} |a_lm|^2 (eq. (29)), an isotropic Gaussian sky
<a^_lm a^*_l'm'> = delta delta <C^_l> gives <C_l> = sum_l' M_ll' <C^_l'> (eq. (30), noise
aside), where

.. math:: M_{\\ell\\ell'} = \\frac{1}{2\\ell+1} \\sum_{m \\ne 0} (T^m_{\\ell\\ell'})^2
    = \\frac{2\\ell'+1}{4\\pi} \\sum_k (2k+1) W_k
    \\begin{pmatrix} \\ell & \\ell' & k \\\\ 0 & 0 & 0 \\end{pmatrix}^2
    - \\frac{[T^0_{\\ell\\ell'}]^2}{2\\ell+1}, \\qquad W_k = \\frac{|b_{k0}|^2}{2k+1}.

The printed (A.2) agrees with this exact expectation (the tests compare entry by entry).
"""
from __future__ import annotations

import numpy as np

from numerics import _validate as check
from numerics.wigner import row_chunks, three_j_l3_sequence, wigner_3j_zero

__all__ = ["band_weight_moments", "coupling", "transfer", "LMAX"]

#: Largest multipole of :func:`coupling` and :func:`transfer` (band moments up to k = 2 LMAX).
LMAX = 500


def _band(dec_min_deg, dec_max_deg) -> tuple[float, float]:
    """sin of the validated band edges."""
    lo = check.in_range("dec_min_deg", dec_min_deg, -90.0, 90.0, unit=" degrees")
    hi = check.in_range("dec_max_deg", dec_max_deg, -90.0, 90.0, unit=" degrees")
    if lo.ndim or hi.ndim:
        raise ValueError(f"dec_min_deg={dec_min_deg!r}, dec_max_deg={dec_max_deg!r}: expected two numbers "
                         "(one declination band)")
    if not lo < hi:
        raise ValueError(f"dec_min_deg={dec_min_deg!r}, dec_max_deg={dec_max_deg!r}: need dec_min_deg < dec_max_deg "
                         "(allowed range -90 <= dec_min_deg < dec_max_deg <= 90)")
    return float(np.sin(np.radians(lo))), float(np.sin(np.radians(hi)))


def _legendre_table(kmax: int, mu: np.ndarray) -> np.ndarray:
    """P_k(mu) for k = 0..kmax by the upward three-term recurrence (stable for |mu| <= 1)."""
    P = np.empty((kmax + 1,) + mu.shape)
    P[0] = 1.0
    if kmax >= 1:
        P[1] = mu
    for k in range(1, kmax):
        P[k + 1] = ((2 * k + 1) * mu * P[k] - k * P[k - 1]) / (k + 1)
    return P


def _moments(kmax: int, s1: float, s2: float) -> np.ndarray:
    P = _legendre_table(kmax + 1, np.array([s1, s2]))
    k = np.arange(kmax + 1)
    integral = np.empty(kmax + 1)
    integral[0] = s2 - s1
    if kmax >= 1:  # int P_k = (P_{k+1} - P_{k-1}) / (2k + 1)
        diff = (P[2:, 1] - P[:-2, 1]) - (P[2:, 0] - P[:-2, 0])
        integral[1:] = diff / (2 * k[1:] + 1)
    return 2 * np.pi * np.sqrt((2 * k + 1) / (4 * np.pi)) * integral


def band_weight_moments(kmax, dec_min_deg, dec_max_deg) -> np.ndarray:
    """b_k0 = int w Y*_k0 dOmega, k = 0..kmax, of a uniform declination band (w = 1 inside, 0 outside).

    Parameters
    ----------
    kmax : int in [0, 2 LMAX]
    dec_min_deg, dec_max_deg : float, -90 <= dec_min_deg < dec_max_deg <= 90 (degrees)

    Returns
    -------
    numpy.ndarray of shape (kmax + 1,)

    >>> b = band_weight_moments(2, -90, 90)  # the full sky: b_00 = sqrt(4 pi), nothing else
    >>> np.round(b, 12).tolist()
    [3.544907701811, 0.0, 0.0]
    """
    kmax = check.integer("kmax", kmax, 0, 2 * LMAX)
    return _moments(kmax, *_band(dec_min_deg, dec_max_deg))


def _validate(lmax, m, dec_min_deg, dec_max_deg):
    lmax = check.integer("lmax", lmax, 0, LMAX)
    if m is not None:
        m = check.integer("m", m, -LMAX, LMAX)
        if abs(m) > lmax:
            raise ValueError(f"m={m}: |m| must be at most lmax={lmax}")
    s1, s2 = _band(dec_min_deg, dec_max_deg)
    return lmax, m, s1, s2


def _pair_sums(lmax: int, m: int, g: np.ndarray) -> np.ndarray:
    """S[l, l', j] = sum_k g[k, j] (l l' k; 0 0 0)(l l' k; m -m 0) for l, l' >= |m| (symmetric in l, l').

    The 3j symbols with m != 0 come from the recursion in k, one sequence per pair l <= l'.
    """
    am = abs(m)
    S = np.zeros((lmax + 1, lmax + 1, g.shape[1]))
    l, lp = np.triu_indices(lmax + 1)
    keep = l >= am
    l, lp = l[keep], lp[keep]
    n = 2 * l + 1  # k = lp - l .. lp + l
    for rows in row_chunks(n):
        a, c = l[rows], lp[rows]
        k = (c - a)[:, None] + np.arange(int(n[rows].max()))[None, :]
        valid = k <= (a + c)[:, None]
        kk = np.where(valid, k, 0)
        zero = np.where(valid, wigner_3j_zero(a[:, None], c[:, None], kk), 0.0)
        if am == 0:
            other = zero
        else:
            _, other = three_j_l3_sequence(a, c, np.full(a.size, am), np.full(a.size, -am))
        S[a, c] = np.einsum("rk,rkj->rj", zero * other, g[kk])
    S[lp, l] = S[l, lp]
    return S


def _coupling(lmax: int, m: int, b: np.ndarray) -> np.ndarray:
    k = np.arange(2 * lmax + 1)
    S = _pair_sums(lmax, m, (b * np.sqrt((2 * k + 1) / (4 * np.pi)))[:, None])[:, :, 0]
    two_l = 2 * np.arange(lmax + 1) + 1
    return (-1.0) ** (abs(m) % 2) * np.sqrt(two_l[:, None] * two_l[None, :]) * S + 0.0  # + 0.0: no -0.0 entries


def coupling(lmax, m, dec_min_deg, dec_max_deg) -> np.ndarray:
    """T^m_ll' of review eq. (A.1) for l, l' = 0..lmax: a_lm (pseudo) = sum_l' T^m_ll' a^_l'm.

    T^m_ll' = int w Y*_lm Y_l'm dOmega for the uniform band [dec_min_deg, dec_max_deg]; rows and
    columns with l < |m| are zero.  Evaluated from the 3j sum (A.1) (the (l l' k; m -m 0)
    symbols by the Schulten--Gordon recursion in k).

    Parameters
    ----------
    lmax : int in [0, LMAX]
    m : int with |m| <= lmax
    dec_min_deg, dec_max_deg : float, -90 <= dec_min_deg < dec_max_deg <= 90 (degrees)

    Returns
    -------
    numpy.ndarray of shape (lmax + 1, lmax + 1), symmetric

    >>> T = coupling(1, 1, -90, 90)  # full sky: the identity on l >= |m|
    >>> np.round(T, 12).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    >>> s1, s2 = np.sin(np.radians([-10.0, 70.0]))  # review eq. (27): K'_1111
    >>> bool(np.isclose(coupling(1, 1, -10, 70)[1, 1], (3 * (s2 - s1) + s1**3 - s2**3) / 4, rtol=1e-14))
    True
    """
    if m is None:
        raise ValueError("m=None: expected an integer with |m| <= lmax")
    lmax, m, s1, s2 = _validate(lmax, m, dec_min_deg, dec_max_deg)
    return _coupling(lmax, m, _moments(2 * lmax, s1, s2))


def transfer(lmax, dec_min_deg, dec_max_deg) -> np.ndarray:
    """M_ll' of review eq. (A.2), l, l' = 0..lmax: <C_l> = sum_l' M_ll' <C^_l'> (pseudo C_l without m = 0).

    M_ll' = (2l'+1)/(4 pi) sum_k b_k0^2 (l l' k; 0 0 0)^2 - (T^0_ll')^2/(2l+1), which equals
    sum_{m != 0} (T^m_ll')^2/(2l+1), the expectation for an isotropic Gaussian sky when the
    m = 0 pseudo moments are set to zero.  Row l = 0 and column l' = 0 vanish.

    Parameters
    ----------
    lmax : int in [0, LMAX]
    dec_min_deg, dec_max_deg : float, -90 <= dec_min_deg < dec_max_deg <= 90 (degrees)

    Returns
    -------
    numpy.ndarray of shape (lmax + 1, lmax + 1)

    >>> M = transfer(2, -90, 90)  # full sky: only the m = 0 part 1/(2l+1) is lost
    >>> np.round(M, 12).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.666666666667, 0.0], [0.0, 0.0, 0.8]]
    """
    lmax, _, s1, s2 = _validate(lmax, None, dec_min_deg, dec_max_deg)
    b = _moments(2 * lmax, s1, s2)
    k = np.arange(2 * lmax + 1)
    # sum_k b_k sqrt((2k+1)/(4 pi)) (l l' k; 0 0 0)^2 and sum_k (2k + 1) W_k (l l' k; 0 0 0)^2, W_k = b_k^2/(2k+1)
    S = _pair_sums(lmax, 0, np.stack([b * np.sqrt((2 * k + 1) / (4 * np.pi)), b ** 2], axis=1))
    two_l = 2 * np.arange(lmax + 1) + 1
    T0 = np.sqrt(two_l[:, None] * two_l[None, :]) * S[:, :, 0]
    M = two_l[None, :] / (4 * np.pi) * S[:, :, 1] - T0 ** 2 / two_l[:, None]
    # a sum of squares computed as a difference: where it cancels to within rounding (row and column 0 exactly,
    # small entries nearly) the difference can come out ~ -1e-17; the value is 0 to that precision, never negative
    M[0, :] = M[:, 0] = 0.0
    return np.maximum(M, 0.0)
