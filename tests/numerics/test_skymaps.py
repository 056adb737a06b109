"""numerics.backtracking.skymaps on synthetic backtracking data (no backtracker): HEALPix geometry, the dipole spectrum,
the linear decomposition C_l = c^T S_l c, Parseval, 002 eqs. (3), (6), (7), (9) and review eq. (69) as
identities, running diffusion tensors on ballistic and gyrating motion, and the ensemble noise level."""
from __future__ import annotations

import healpy as hp
import numpy as np
import pytest

from numerics.backtracking import skymaps as sm

N8 = sm.directions(8)
N16 = sm.directions(16)
FOUR_PI = 4 * np.pi


def rot_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def random_unit(rng, shape):
    v = rng.normal(size=shape + (3,))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def stack(summaries):
    return {key: np.stack([s[key] for s in summaries]) for key in summaries[0]}


def band_limited(rng, nside, lmax, count):
    """``count`` real maps with random a_lm for l <= lmax (zero above), synthesised by healpy.alm2map."""
    size = hp.Alm.getsize(lmax)
    alm = rng.normal(size=(count, size)) + 1j * rng.normal(size=(count, size))
    alm[:, : lmax + 1] = alm[:, : lmax + 1].real  # m = 0 coefficients of a real map are real
    return np.array([hp.alm2map(a, nside, lmax=lmax) for a in alm])


# ------------------------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("nside", [1, 2, 8, 64])
def test_directions_are_healpix_ring_pixel_centres(nside):
    n = sm.directions(nside)
    assert n.shape == (12 * nside ** 2, 3)
    assert np.max(np.abs(np.linalg.norm(n, axis=1) - 1)) < 1e-15
    np.testing.assert_array_equal(n, np.array(hp.pix2vec(nside, np.arange(12 * nside ** 2), nest=False)).T)
    assert np.all(np.diff(n[:, 2]) <= 0)  # RING: z never increases along the pixel index (NESTED would)


@pytest.mark.parametrize("bad", [12, 0, 2048, 3.5, -4, "eight"])
def test_directions_bad_nside(bad):
    with pytest.raises(ValueError, match=r"nside=.*must be a power of two in \[1, 1024\]"):
        sm.directions(bad)


# --------------------------------------------------------------------------------------------- spectra
def test_dipole_map_spectrum():
    """dI = n.Phi: Parseval int (n.Phi)^2 dOmega = 4 pi |Phi|^2 / 3 = 3 C_1 (only l = 1), so C_1 = 4 pi |Phi|^2 / 9.

    With Phi = -3 K g (gradient ansatz at T = 0, r = 0, p = n0) this is 002 eq. (3): C_1 / 4 pi = |K g|^2.
    Tolerances at nside 16 (measured: C_1 1.5e-6 relative, leakage into l >= 2 1.1e-12 C_1, C_0 ~1e-33 C_1).
    """
    rng = np.random.default_rng(11)
    phi = rng.normal(size=3)
    cl = sm.power_spectra(sm.dipole_map(N16, phi))
    c1 = FOUR_PI * phi @ phi / 9
    assert cl.shape == (33,)
    assert abs(cl[1] / c1 - 1) < 1e-5
    assert cl[0] < 1e-20 * c1
    assert np.max(np.abs(cl[2:])) < 1e-10 * c1
    g, K = rng.normal(size=3), rng.normal(size=(3, 3))
    cl = sm.power_spectra(sm.gradient_map(np.zeros_like(N16), N16, g, K))
    assert abs(cl[1] / (FOUR_PI * np.sum((K @ g) ** 2)) - 1) < 1e-5


def test_coefficients_index_order():
    g, K = np.array([1.0, -2.0, 0.5]), np.arange(9.0).reshape(3, 3)
    c = sm.gradient_coefficients(g, K)
    np.testing.assert_array_equal(c, np.concatenate([g, -3 * np.einsum("ab,b->a", K, g)]))
    np.testing.assert_array_equal(sm.gradient_coefficients(g), np.concatenate([g, np.zeros(3)]))
    np.testing.assert_array_equal(sm.dipole_coefficients([1, 2, 3]), [0, 0, 0, 1, 2, 3])
    rng = np.random.default_rng(5)
    r, p = rng.normal(size=(768, 3)), random_unit(rng, (768,))
    direct = r @ g - 3 * np.einsum("ia,ab,b->i", p, K, g)  # 002 eq. (4) written out
    np.testing.assert_allclose(sm.gradient_map(r, p, g, K), direct, rtol=0, atol=1e-12)


def test_quadratic_form_of_cross_spectra_equals_direct_anafast():
    """c^T S_l c (S from cross_spectra of the six X maps) = anafast of X.c: the analysis is linear (1e-10)."""
    rng = np.random.default_rng(7)
    K_, npix = 2, 768
    r = rng.normal(size=(K_, npix, 3)) * [1.0, 2.0, 0.5]
    p = random_unit(rng, (K_, npix))
    summary = sm.summarize(r, p, N8, lmax=12)
    assert summary["cross_cl"].shape == (K_, 6, 6, 13) and summary["maps"].dtype == np.float32
    assert summary["moments"].shape == (K_, 9, 9) and summary["means"].shape == (K_, 9)
    S = summary["cross_cl"]
    np.testing.assert_array_equal(S, np.swapaxes(S, 1, 2))
    coefficient_sets = [sm.gradient_coefficients(rng.normal(size=3), rng.normal(size=(3, 3))),
                        sm.gradient_coefficients(rng.normal(size=3)), sm.dipole_coefficients(rng.normal(size=3)),
                        rng.normal(size=6)]
    for c in coefficient_sets:
        direct = sm.power_spectra(sm.intensity(r, p, c), lmax=12)
        quad = np.einsum("a,kabl,b->kl", c, S, c)
        assert np.max(np.abs(quad - direct)) < 1e-10 * np.max(direct)
        stored = sm.intensity_from_maps(summary["maps"], c)  # float32 maps: ~1e-7 relative
        np.testing.assert_allclose(stored, sm.intensity(r, p, c), rtol=0, atol=1e-6 * np.max(np.abs(stored)))
    moments = np.einsum("kia,kib->kab", np.concatenate([r, p, np.broadcast_to(N8, r.shape)], -1),
                        np.concatenate([r, p, np.broadcast_to(N8, r.shape)], -1)) / npix
    np.testing.assert_allclose(summary["moments"], moments, rtol=1e-13)


def test_parseval_and_monopole_for_band_limited_maps():
    """Band-limited (l <= 8) maps at nside 16: total_power = 4 pi <dI^2>_pix = sum (2l+1) C_l and C_0 = 4 pi mean^2
    (002 eq. (7) is this identity for the monopole).  Both hold to the HEALPix quadrature accuracy of pixel sums
    (anafast's iterated a_lm are closer to the exact integrals than the pixel sums): measured 1.1e-5 and 1.2e-3
    (tolerances 1e-4 and 4e-3)."""
    rng = np.random.default_rng(3)
    r = band_limited(rng, 16, 8, 3).T + [0.7, -0.2, 0.4]  # (Npix, 3), with a monopole
    summary = sm.summarize(r[None], N16[None], N16)
    c = sm.gradient_coefficients(rng.normal(size=3), rng.normal(size=(3, 3)))
    es = sm.ensemble_spectrum(*(summary[k][None] for k in ("cross_cl", "moments", "maps")), c)
    dI = sm.gradient_map(r, N16, c[:3], None) + N16 @ c[3:]
    assert abs(es.total_power[0, 0] / (FOUR_PI * np.mean(dI ** 2)) - 1) < 1e-12
    assert abs((2 * es.ell + 1) @ es.cl[0, 0] / es.total_power[0, 0] - 1) < 1e-4
    mean = summary["means"][0, :6] @ c
    assert abs(es.cl[0, 0, 0] / (FOUR_PI * mean ** 2) - 1) < 4e-3


def test_eqs_6_7_9_69_as_identities_on_a_synthetic_ensemble():
    """R = 6 realizations of smooth (l <= 2) backtracked positions r = T (A n0 + b + q n0_x n0_z) with random A, b, q.

    002 eq. (6): (1/4 pi) sum_l (2l+1) <C_l> = 2T K^s g g, eq. (7): (1/4 pi) <C_0> = 2T (K^s - K~s) g g,
    review eq. (69): (1/4 pi) sum_{l>=1} (2l+1) <C_l> = 2T K~s g g, eq. (9): N = (4 pi / Npix) 2T K^s g g.
    The moment identities are exact (1e-12); those through anafast hold to the quadrature accuracy of
    pixel sums at nside 16 (measured: eq. (6) 1.2e-5, eq. (7) 1.0e-6, eq. (69) 4.0e-5; tolerance 2e-4)."""
    rng = np.random.default_rng(2015)
    times = np.array([1.5, 6.0])
    g = rng.normal(size=3)
    summaries = []
    for _ in range(6):
        A, b, q = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
        shape = A @ N16.T + b[:, None] + np.outer(q, N16[:, 0] * N16[:, 2])
        summaries.append(sm.summarize(times[:, None, None] * shape.T[None], np.broadcast_to(N16, (2,) + N16.shape), N16))
    ens = stack(summaries)
    es = sm.ensemble_spectrum(ens["cross_cl"], ens["moments"], ens["maps"], sm.gradient_coefficients(g))
    rd = sm.running_diffusion(ens["moments"], times, ens["means"])
    ks, kt = rd.symmetric @ g @ g, rd.relative @ g @ g  # (K,) = K_ij g_i g_j
    weights = 2 * es.ell + 1
    np.testing.assert_allclose(es.total_power.mean(0) / FOUR_PI, 2 * times * ks, rtol=1e-12)
    np.testing.assert_allclose(es.noise, FOUR_PI / es.npix * 2 * times * ks, rtol=1e-12)
    np.testing.assert_allclose(es.mean @ weights / FOUR_PI, 2 * times * ks, rtol=2e-4)
    np.testing.assert_allclose(es.mean[:, 0] / FOUR_PI, 2 * times * (ks - kt), rtol=2e-4)
    np.testing.assert_allclose(es.mean[:, 1:] @ weights[1:] / FOUR_PI, 2 * times * kt, rtol=2e-4)
    assert np.all(kt > 0) and np.all(ks - kt > 0)  # both sides non-trivial


# ------------------------------------------------------------------------------------ running diffusion
def _moments(r, p, n0=N8):
    s = sm.summarize(r, p, n0, lmax=0, keep_maps=False)
    return s["moments"][None], s["means"][None]


def test_running_diffusion_ballistic():
    """r(-T) = -n0 T, p = n0: tgk = T <n0 n0^T>_pix = T I/3 up to the pixel-centre quadrature
    (|<n n^T>_pix - I/3| = 4.84e-4 at nside 8, measured), symmetric = T I/6, antisymmetric = 0."""
    times = np.array([0.5, 2.0, 10.0])
    nn = N8.T @ N8 / len(N8)
    assert 4e-4 < np.max(np.abs(nn - np.eye(3) / 3)) < 6e-4
    M, mu = _moments(-times[:, None, None] * N8, np.broadcast_to(N8, (3,) + N8.shape))
    rd = sm.running_diffusion(np.concatenate([M, M]), times, np.concatenate([mu, mu]))
    T = times[:, None, None]
    np.testing.assert_allclose(rd.tgk, T * nn, rtol=0, atol=1e-13 * T.max())
    assert np.max(np.abs(rd.tgk / T - np.eye(3) / 3)) < 6e-4
    assert np.max(np.abs(rd.symmetric / T - np.eye(3) / 6)) < 3e-4
    assert np.max(np.abs(rd.antisymmetric)) < 1e-14 * T.max()
    np.testing.assert_allclose(rd.relative, rd.symmetric, rtol=0, atol=1e-13 * T.max())  # rbar = 0
    assert np.all(rd.tgk_sem == 0) and rd.n_realizations == 2


def test_running_diffusion_rotated_directions():
    """p(-T) = R_z(a) n0, r(-T) = -T R_z(a) n0: tgk_ij = T <n0_i R_jk n0_k> = T (<n n^T> R^T)_ij -> T R^T / 3,
    so the antisymmetric part is T sin(a)/3 (e_x e_y^T - e_y e_x^T)."""
    a, times = 0.7, np.array([1.0, 4.0])
    rot = rot_z(a)
    m = np.broadcast_to(N8 @ rot.T, (2,) + N8.shape)
    M, mu = _moments(-times[:, None, None] * m, m)
    rd = sm.running_diffusion(M, times, mu)
    expected = np.zeros((3, 3))
    expected[0, 1], expected[1, 0] = np.sin(a) / 3, -np.sin(a) / 3
    assert np.max(np.abs(rd.antisymmetric / times[:, None, None] - expected)) < 6e-4
    assert np.max(np.abs(rd.tgk / times[:, None, None] - rot.T / 3)) < 6e-4


def test_running_diffusion_gyration_sign_matches_eq_2():
    """Positive charge in B_0 z-hat, no scattering: dv/dt = v x Omega, v(t) = R_z(-Omega t) n0, so
    p(-T) = R_z(Omega T) n0 and r(-T) = -A n0 with A = int_0^T R_z(Omega s) ds.  Then (with <n n^T> -> I/3)
    tgk = (1/3) int_0^T R_z(-Omega s) ds: tgk_xx = sin(Omega T)/(3 Omega), tgk_xy = (1 - cos Omega T)/(3 Omega)
    (time average 1/(3 Omega) = 002 eq. (2)'s eps_xyz/(3 nu_A) with nu_A = Omega), tgk_zz = T/3;
    symmetric = A A^T/(6T) = diag((1 - cos)/(3 Omega^2 T), same, T/6)."""
    omega, times = 1.3, np.array([0.4, 2.0, 7.0])
    S, C = np.sin(omega * times), np.cos(omega * times)
    A = np.zeros((3, 3, 3))
    A[:, 0, 0], A[:, 0, 1], A[:, 1, 0], A[:, 1, 1], A[:, 2, 2] = S / omega, -(1 - C) / omega, (1 - C) / omega, S / omega, times
    r = -np.einsum("kab,ib->kia", A, N8)
    p = np.einsum("kab,ib->kia", np.stack([rot_z(omega * t) for t in times]), N8)
    M, mu = _moments(r, p)
    rd = sm.running_diffusion(M, times, mu)
    tgk = np.zeros((3, 3, 3))
    tgk[:, 0, 0] = tgk[:, 1, 1] = S / (3 * omega)
    tgk[:, 0, 1], tgk[:, 1, 0], tgk[:, 2, 2] = (1 - C) / (3 * omega), -(1 - C) / (3 * omega), times / 3
    scale = np.maximum(times, 1 / omega)[:, None, None]
    assert np.max(np.abs(rd.tgk - tgk) / scale) < 6e-4
    assert np.all(rd.antisymmetric[:, 0, 1] > 0)
    sym = np.zeros((3, 3, 3))
    sym[:, 0, 0] = sym[:, 1, 1] = (1 - C) / (3 * omega ** 2 * times)
    sym[:, 2, 2] = times / 6
    assert np.max(np.abs(rd.symmetric - sym) / scale) < 6e-4


# ---------------------------------------------------------------------------------------- ensemble level
def test_white_noise_level_and_estimator():
    """iid Gaussian pixels of variance s^2 (dI = r_x, r ~ N(0, s^2)): <C_l> = 4 pi s^2 / Npix = N at every l.

    Seeded, R = 300 realizations at nside 8 (Npix 768), lmax 16, two 'times' with s = 1 and 0.1;
    checks at k = 4 sigma: <C_l> - N (i.e. C-hat) vs sem for each l; N vs 4 pi s^2/Npix (relative sd
    sqrt(2/(R Npix))); sem^2 vs the paper's noise_var = 2 N^2/((2l+1) R) (relative sd of a sample variance of
    chi^2_{2l+1}/(2l+1) variables: sqrt((2 + 12/(2l+1))/R)); the mean map's spectrum (the 'standard' one) is
    N/R: its (2l+1)-weighted average over l is chi^2_289/289 distributed (relative sd sqrt(2/289))."""
    rng = np.random.default_rng(20151202)
    R, k_sigma, sd = 300, 4.0, np.array([1.0, 0.1])
    mom = np.broadcast_to(N8, (2,) + N8.shape)
    ens = stack([sm.summarize(sd[:, None, None] * rng.normal(size=(2, 768, 3)), mom, N8, lmax=16) for _ in range(R)])
    es = sm.ensemble_spectrum(ens["cross_cl"], ens["moments"], ens["maps"], sm.gradient_coefficients([1.0, 0, 0]))
    expected = FOUR_PI * sd ** 2 / 768
    assert np.all(np.abs(es.noise / expected - 1) < k_sigma * np.sqrt(2 / (R * 768)))
    assert np.all(np.abs(es.hat) < k_sigma * es.hat_err)
    np.testing.assert_array_equal(es.hat_err, es.sem)
    rel_sd = np.sqrt((2 + 12 / (2 * es.ell + 1)) / R)
    assert np.all(np.abs(es.sem ** 2 / es.noise_var - 1) < k_sigma * rel_sd)
    w = 2 * es.ell + 1
    assert np.all(np.abs(es.standard @ w / w.sum() / (es.noise / R) - 1) < k_sigma * np.sqrt(2 / w.sum()))
    np.testing.assert_allclose(es.standard_unbiased, (R * es.standard - es.mean) / (R - 1), rtol=1e-12)


def test_standard_spectrum_of_identical_realizations():
    """R copies of one realization: the mean map is that map, so standard = standard_unbiased = C_l (float32
    maps: 1e-6 relative), and sem = 0; with maps = None there is no standard spectrum and nside is needed."""
    rng = np.random.default_rng(9)
    one = sm.summarize(rng.normal(size=(2, 768, 3)) + 3.0, random_unit(rng, (2, 768)), N8)
    ens = stack([one] * 3)
    c = sm.gradient_coefficients(rng.normal(size=3), np.diag([1.0, 1.0, 3.0]))
    es = sm.ensemble_spectrum(ens["cross_cl"], ens["moments"], ens["maps"], c)
    np.testing.assert_allclose(es.standard, es.cl[0], rtol=1e-6, atol=1e-6 * es.cl.max())
    np.testing.assert_allclose(es.standard_unbiased, es.cl[0], rtol=1e-5, atol=1e-5 * es.cl.max())
    assert np.all(es.sem < 1e-14 * es.cl.max()) and es.cl.shape == (3, 2, 17) and es.n_realizations == 3
    bare = sm.ensemble_spectrum(ens["cross_cl"], ens["moments"], None, c, nside=8)
    assert bare.standard is None and bare.standard_unbiased is None
    np.testing.assert_array_equal(bare.mean, es.mean)
    single = sm.ensemble_spectrum(ens["cross_cl"][:1], ens["moments"][:1], ens["maps"][:1], c)
    assert np.all(np.isnan(single.sem)) and np.all(np.isnan(single.standard_unbiased))


# ------------------------------------------------------------------------------------------ bad inputs
_RNG = np.random.default_rng(1)
_R3 = _RNG.normal(size=(1, 768, 3))
_P3 = N8[None]
_ONE = sm.summarize(_R3, _P3, N8, lmax=4)
_S, _M, _X, _MU = (_ONE[k][None] for k in ("cross_cl", "moments", "maps", "means"))
_C = sm.gradient_coefficients([1.0, 0.0, 0.0])

BAD = [
    ("pixels", lambda: sm.power_spectra(np.zeros(100))),
    ("lmax=17", lambda: sm.power_spectra(np.zeros(768), lmax=17)),
    ("lmax=-1", lambda: sm.power_spectra(np.zeros(768), lmax=-1)),
    ("lmax=2.5", lambda: sm.cross_spectra(np.zeros((2, 768)), lmax=2.5)),
    (r"expected shape \(n, Npix\)", lambda: sm.cross_spectra(np.zeros(768))),
    ("maps=.*finite", lambda: sm.power_spectra(np.full(768, np.nan))),
    ("momenta=.*shape of positions", lambda: sm.summarize(_R3, np.concatenate([_P3, _P3]), N8)),
    ("momenta=.*unit vector", lambda: sm.summarize(_R3, 2 * _P3, N8)),
    ("directions=.*Npix, 3", lambda: sm.summarize(_R3, _P3, N8[:12])),
    ("positions=.*K, Npix, 3", lambda: sm.summarize(_R3[0], _P3[0], N8)),
    ("lmax=17", lambda: sm.summarize(_R3, _P3, N8, lmax=17)),
    ("positions=.*finite", lambda: sm.summarize(np.full((1, 768, 3), np.inf), _P3, N8)),
    ("gradient=", lambda: sm.gradient_coefficients([1.0, 2.0])),
    ("K=", lambda: sm.gradient_coefficients([1.0, 2.0, 3.0], np.eye(2))),
    ("dipole=", lambda: sm.dipole_coefficients([1.0, 2.0, 3.0, 4.0])),
    ("coefficients=", lambda: sm.intensity(_R3, _P3, [1.0, 2.0, 3.0])),
    ("moments=.*R, K, 9, 9", lambda: sm.ensemble_spectrum(_S, np.concatenate([_M, _M]), _X, _C)),
    ("maps=.*R, K, 6, Npix", lambda: sm.ensemble_spectrum(_S, _M, _X[:, :, :3], _C)),
    ("nside=None", lambda: sm.ensemble_spectrum(_S, _M, None, _C)),
    ("nside=12", lambda: sm.ensemble_spectrum(_S, _M, None, _C, nside=12)),
    ("nside=4.*disagrees", lambda: sm.ensemble_spectrum(_S, _M, _X, _C, nside=4)),
    ("lmax = 4 exceeds 2 nside = 2", lambda: sm.ensemble_spectrum(_S, _M, None, _C, nside=1)),
    ("cross_cl=.*R, K, 6, 6", lambda: sm.ensemble_spectrum(_S[:, :, :3], _M, _X, _C)),
    ("times=.*> 0", lambda: sm.running_diffusion(_M, [0.0], _MU)),
    ("times=.*> 0", lambda: sm.running_diffusion(_M, [-1.0], _MU)),
    (r"times=.*\(K,\) = \(1\)", lambda: sm.running_diffusion(_M, [1.0, 2.0], _MU)),
    ("means=.*R, K, 9", lambda: sm.running_diffusion(_M, [1.0], _MU[..., :6])),
    ("moments=.*R, K, 9, 9", lambda: sm.running_diffusion(_M[0], [1.0], _MU)),
]


@pytest.mark.parametrize("match,call", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_raise_value_error(match, call):
    with pytest.raises(ValueError, match=match):
        call()


def test_noise_floor_removes_the_resolved_power():
    """A dipole of amplitude A plus white pixel noise s: eq. (9) counts the dipole as noise, the floor does not.

    Seeded, R = 50 realizations at nside 8, lmax 16: the floor's relative sd is about sqrt(2/(R (Npix - 17^2))),
    0.9 %; checked at k = 4 sigma against 4 pi s^2/Npix, while N of eq. (9) is 4 pi (A^2/3 + s^2)/Npix."""
    rng = np.random.default_rng(71)
    R, A, s, k_sigma = 50, 3.0, 1.0, 4.0
    mom = np.broadcast_to(N8, (1,) + N8.shape)
    ens = stack([sm.summarize(A * N8[None] + s * rng.normal(size=(1, 768, 3)), mom, N8, lmax=16) for _ in range(R)])
    es = sm.ensemble_spectrum(ens["cross_cl"], ens["moments"], None, sm.gradient_coefficients([1.0, 0, 0]), nside=8)
    floor = FOUR_PI * s ** 2 / 768
    sd = np.sqrt(2 / (R * (768 - 17 ** 2)))
    assert abs(es.noise_floor[0] / floor - 1) < k_sigma * sd
    # + 2e-3: the pixel-centre quadrature of <n_x^2> = 1/3 is off by 5e-4 at nside 8 (test above)
    assert abs(es.noise[0] / (FOUR_PI * (A ** 2 / 3 + s ** 2) / 768) - 1) < k_sigma * np.sqrt(2 / (R * 768)) + 2e-3
    high = es.mean[0, 5:].mean()  # the flat part of <C_l> is the floor, not eq. (9)
    assert abs(high / es.noise_floor[0] - 1) < 0.05 and es.noise[0] > 3 * high
