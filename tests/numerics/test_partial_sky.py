"""Partial-sky coupling (review Appendix A) against direct Gauss--Legendre quadrature of Y_lm products.

The reference never uses numerics.wigner: T^m_ll' = int_band Y*_lm Y_l'm dOmega = 2 pi int lambda_lm
lambda_l'm dmu is integrated exactly (the integrand is a polynomial in mu of degree <= 2 lmax) with
SciPy's spherical harmonics, which fixes the sign and normalisation of review eq. (A.1).
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial.legendre import leggauss
from scipy.special import sph_harm_y

from numerics import partial_sky as ps

BANDS = [(-20.0, 65.0), (-90.0, 10.0), (35.5, 89.0), (-75.0, -74.0), (-90.0, 90.0)]


def gauss(s1, s2, n):
    x, w = leggauss(n)  # Newton-polished nodes: ~1e-16 (scipy.special.roots_legendre: ~1e-14)
    return 0.5 * (s2 - s1) * x + 0.5 * (s2 + s1), 0.5 * (s2 - s1) * w


def lambda_lm(lmax, m, mu):
    """lambda_lm(mu), l = 0..lmax (zero for l < |m|), Y_lm = lambda_lm(cos theta) e^(i m phi), Condon--Shortley.

    The standard upward recursion of the normalised functions in l at fixed m (stable; written here
    independently of the code under test, and checked against SciPy's sph_harm_y below).
    """
    am = abs(m)
    out = np.zeros((lmax + 1, mu.size))
    if am > lmax:
        return out
    k = np.arange(1, am + 1)
    start = np.sqrt((2 * am + 1) / (4 * np.pi) * np.prod((2 * k - 1) / (2 * k))) * (1 - mu ** 2) ** (am / 2)
    out[am] = (-1) ** am * start
    if am + 1 <= lmax:
        out[am + 1] = np.sqrt(2 * am + 3) * mu * out[am]
    for l in range(am + 2, lmax + 1):
        a = np.sqrt((4 * l * l - 1) / (l * l - am * am))
        b = np.sqrt((4 * (l - 1) ** 2 - 1) / ((l - 1) ** 2 - am * am))
        out[l] = a * (mu * out[l - 1] - out[l - 2] / b)
    if m < 0:
        out *= (-1) ** am  # Y_l,-m = (-1)^m conj(Y_lm)
    return out


def quadrature_coupling(lmax, m, dec_min, dec_max):
    s1, s2 = np.sin(np.radians([dec_min, dec_max]))
    mu, w = gauss(s1, s2, lmax + 2)
    lam = lambda_lm(lmax, m, mu)
    return 2 * np.pi * (lam * w) @ lam.T


def test_reference_lambda_against_scipy():
    mu = np.linspace(-0.999, 0.999, 101)
    for m in (0, 1, -2, 9, 40):
        lam = lambda_lm(60, m, mu)
        for l in range(abs(m), 61):
            ref = np.real(sph_harm_y(l, m, np.arccos(mu), 0.0))
            np.testing.assert_allclose(lam[l], ref, rtol=0, atol=1e-12)
        assert np.all(lam[:abs(m)] == 0.0)


def dipole_printed(dec_min, dec_max):
    """Review eq. (27): K'_1111 = (3 (s2 - s1) + s1^3 - s2^3)/4."""
    s1, s2 = np.sin(np.radians([dec_min, dec_max]))
    return (3 * (s2 - s1) + s1 ** 3 - s2 ** 3) / 4


# ----------------------------------------------------------------------------- band moments
@pytest.mark.parametrize("band", BANDS)
def test_band_moments_against_quadrature(band):
    s1, s2 = np.sin(np.radians(band))
    mu, w = gauss(s1, s2, 80)
    ref = 2 * np.pi * lambda_lm(120, 0, mu) @ w
    np.testing.assert_allclose(ps.band_weight_moments(120, *band), ref, rtol=0, atol=1e-13)  # quadrature: ~4e-14


def test_band_moments_closed_forms():
    b = ps.band_weight_moments(3, -90, 90)
    np.testing.assert_allclose(b, [np.sqrt(4 * np.pi), 0, 0, 0], atol=1e-14)
    s1, s2 = np.sin(np.radians([-20.0, 65.0]))
    b = ps.band_weight_moments(1, -20, 65)
    assert b[0] == pytest.approx(2 * np.pi * (s2 - s1) / np.sqrt(4 * np.pi), rel=1e-14)  # area / sqrt(4 pi)
    assert b[1] == pytest.approx(2 * np.pi * np.sqrt(3 / (4 * np.pi)) * (s2 ** 2 - s1 ** 2) / 2, rel=1e-14)


# ----------------------------------------------------------------------------- coupling (A.1)
@pytest.mark.parametrize("band", BANDS)
@pytest.mark.parametrize("m", [0, 1, -1, 2, 7, -12, 30])
def test_coupling_equals_direct_integral(band, m):
    lmax = 30
    T = ps.coupling(lmax, m, *band)
    ref = quadrature_coupling(lmax, m, *band)
    assert T.shape == (lmax + 1, lmax + 1)
    np.testing.assert_allclose(T, ref, rtol=0, atol=1e-14)
    assert np.all(T[:abs(m)] == 0.0) and np.all(T[:, :abs(m)] == 0.0)


@pytest.mark.parametrize("m", [1, 90, 149])
def test_coupling_at_large_l(m):
    band = (-20.0, 65.0)
    np.testing.assert_allclose(ps.coupling(150, m, *band), quadrature_coupling(150, m, *band), rtol=0, atol=1e-13)


def test_coupling_properties():
    band = (-10.0, 50.0)
    T = ps.coupling(40, 3, *band)
    np.testing.assert_allclose(T, T.T, rtol=0, atol=1e-15)
    np.testing.assert_allclose(ps.coupling(40, -3, *band), T, rtol=0, atol=1e-15)  # T^-m = T^m
    # w^2 = w: the truncated T is a compression of a projector, so its eigenvalues lie in [0, 1]
    ev = np.linalg.eigvalsh(T[3:, 3:])
    assert ev.min() > -1e-13 and ev.max() < 1 + 1e-13
    # the full sky is the identity on l >= |m|
    np.testing.assert_allclose(ps.coupling(40, 3, -90, 90), np.diag((np.arange(41) >= 3).astype(float)), atol=1e-13)


def test_coupling_is_additive_in_the_weight():
    """w of [a, c] = w of [a, b] + w of [b, c]: T is linear in w."""
    a, b, c = -60.0, 12.5, 80.0
    for m in (0, 4):
        np.testing.assert_allclose(ps.coupling(25, m, a, c), ps.coupling(25, m, a, b) + ps.coupling(25, m, b, c),
                                   rtol=0, atol=1e-14)


@pytest.mark.parametrize("band", BANDS)
def test_dipole_element_is_review_eq_27(band):
    """T^1_11 = T^-1_11 = K'_1111 of review (27): same sign, same normalisation (no 1/(4 pi))."""
    k = dipole_printed(*band)
    for m in (1, -1):
        T = ps.coupling(1, m, *band)
        assert T[1, 1] == pytest.approx(k, rel=1e-14, abs=1e-16)
        assert T[0, 0] == 0.0 and T[0, 1] == 0.0 and T[1, 0] == 0.0


# ----------------------------------------------------------------------------- transfer (A.2)
@pytest.mark.parametrize("band", BANDS)
def test_transfer_is_the_exact_expectation_without_m0(band):
    """M_ll' = (1/(2l+1)) sum_{m != 0} (T^m_ll')^2: <|a_lm|^2> = sum_l' (T^m_ll')^2 <C^_l'> for an isotropic
    Gaussian sky, with the m = 0 pseudo moments set to zero (review text before (27))."""
    lmax = 20
    expect = sum(quadrature_coupling(lmax, m, *band) ** 2 for m in range(-lmax, lmax + 1) if m != 0)
    expect /= (2 * np.arange(lmax + 1) + 1)[:, None]
    M = ps.transfer(lmax, *band)
    np.testing.assert_allclose(M, expect, rtol=0, atol=1e-14)
    assert np.abs(M[0]).max() <= 1e-15 and np.abs(M[:, 0]).max() <= 1e-15


def test_transfer_pseudo_spectrum_of_a_spectrum():
    """<C_l> for a power-law C^_l (band-limited at lmax) from M equals the m-by-m expectation."""
    band, lmax = (-35.0, 72.0), 24
    cl_true = 1.0 / (np.arange(lmax + 1) + 1.0) ** 2.5
    cl_true[0] = 0.0
    T = {m: quadrature_coupling(lmax, m, *band) for m in range(-lmax, lmax + 1) if m != 0}
    pseudo = sum(T[m] ** 2 @ cl_true for m in T) / (2 * np.arange(lmax + 1) + 1)
    np.testing.assert_allclose(ps.transfer(lmax, *band) @ cl_true, pseudo, rtol=1e-12, atol=1e-16)


def test_transfer_full_sky_loses_only_m0():
    np.testing.assert_allclose(ps.transfer(10, -90, 90), np.diag(2 * np.arange(11) / (2 * np.arange(11) + 1.0)),
                               atol=1e-13)


def test_transfer_without_the_last_term_is_the_all_m_matrix():
    """The first term of (A.2) alone is the familiar full-m (MASTER) coupling sum_m (T^m)^2/(2l+1)."""
    band, lmax = (5.0, 60.0), 12
    all_m = sum(quadrature_coupling(lmax, m, *band) ** 2 for m in range(-lmax, lmax + 1))
    all_m /= (2 * np.arange(lmax + 1) + 1)[:, None]
    T0 = quadrature_coupling(lmax, 0, *band)
    np.testing.assert_allclose(ps.transfer(lmax, *band) + T0 ** 2 / (2 * np.arange(lmax + 1) + 1)[:, None], all_m,
                               rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- bad input
BAD = [
    (r"lmax=501: outside the allowed range \[0, 500\]", lambda: ps.coupling(501, 0, -10, 10)),
    (r"lmax=2\.5: must be an integer", lambda: ps.transfer(2.5, -10, 10)),
    (r"lmax=-1: outside the allowed range", lambda: ps.transfer(-1, -10, 10)),
    (r"m=4: \|m\| must be at most lmax=3", lambda: ps.coupling(3, 4, -10, 10)),
    (r"m=1\.5: must be an integer", lambda: ps.coupling(3, 1.5, -10, 10)),
    (r"dec_min_deg=-91.*outside the allowed range \[-90\.0, 90\.0\] degrees", lambda: ps.coupling(3, 0, -91, 10)),
    (r"dec_max_deg=nan: must be finite", lambda: ps.transfer(3, -10, float("nan"))),
    (r"dec_min_deg=20, dec_max_deg=10: need dec_min_deg < dec_max_deg", lambda: ps.transfer(3, 20, 10)),
    (r"dec_min_deg=10, dec_max_deg=10: need", lambda: ps.coupling(3, 0, 10, 10)),
    (r"expected two numbers", lambda: ps.coupling(3, 0, [0, 1], 10)),
    (r"kmax=1001: outside the allowed range \[0, 1000\]", lambda: ps.band_weight_moments(1001, -10, 10)),
]


@pytest.mark.parametrize("pattern, call", BAD, ids=[b[0][:24] for b in BAD])
def test_bad_input_raises_value_error_naming_the_parameter(pattern, call):
    with pytest.raises(ValueError, match=pattern):
        call()
