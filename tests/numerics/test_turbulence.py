"""numerics.backtracking.turbulence: the plane-wave field of Giacalone & Jokipii (1999) as used in 002 Sec. 3 and 003 Secs. 3-4.

Divergence (analytic and finite difference), geometry and isotropy of the modes, the realised spatial mean
square, the realised 3D energy spectrum of one field measured by FFT, normalisation, seeding, bad input and
the round trip through plain arrays.  All random tests are seeded; sample sizes and k-sigma are stated.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

import numerics.backtracking.turbulence as turb
from numerics.backtracking.turbulence import PlaneWaveField

GAMMA = 11 / 3
Z = (0.0, 0.0, 1.0)


def _gj(n_modes=64, k_min=0.1, k_max=100.0, seed=1, **kw):
    return PlaneWaveField.giacalone_jokipii(n_modes, k_min, k_max, sigma2=kw.pop("sigma2", 1.0),
                                            regular=kw.pop("regular", Z), seed=seed, **kw)


def _scale(f):
    """sum_n |k_n| |a_n|: the size of any first derivative of the field."""
    return float(np.sum(np.linalg.norm(f.wavevectors, axis=1) * np.linalg.norm(f.amplitudes, axis=1)))


# ---------------------------------------------------------------------------------------------- 1. divergence
def test_divergence_vanishes_analytically_and_by_finite_differences():
    f = _gj(128, 0.1, 100.0, seed=11)
    pts = np.random.default_rng(12).uniform(-30, 30, (200, 3))
    assert np.max(np.abs(f.divergence(pts))) <= 1e-13 * _scale(f)
    # central differences, step h: truncation error per derivative <= h^2/6 sum_n |a_n| k_n^3, round-off
    # <= eps sum_n |a_n| / h per derivative; three derivatives; factor 2 margin.
    h = 1e-3 / f.k_max
    k, amp = np.linalg.norm(f.wavevectors, axis=1), np.linalg.norm(f.amplitudes, axis=1)
    tol = 2 * 3 * (h ** 2 / 6 * np.sum(amp * k ** 3) + np.finfo(float).eps * np.sum(amp) / h)
    assert tol < 1e-6 * _scale(f)     # the test resolves a divergence a millionth of the field's gradients
    eye = np.eye(3) * h
    fd_div = sum((f.evaluate(pts + eye[i])[:, i] - f.evaluate(pts - eye[i])[:, i]) / (2 * h) for i in range(3))
    assert np.max(np.abs(fd_div)) <= tol
    # the same differences reproduce the analytic curl (a non-zero quantity of the same size)
    d = [(f.evaluate(pts + eye[i]) - f.evaluate(pts - eye[i])) / (2 * h) for i in range(3)]  # d[i][:, j] = dOmega_j/dx_i
    fd_curl = np.stack([d[1][:, 2] - d[2][:, 1], d[2][:, 0] - d[0][:, 2], d[0][:, 1] - d[1][:, 0]], axis=1)
    assert np.max(np.abs(fd_curl - f.curl(pts))) <= 2 * tol
    assert np.max(np.abs(f.curl(pts))) > 1e3 * tol


# ---------------------------------------------------------------------------------------------- 2. geometry
def test_modes_are_transverse_log_spaced_and_isotropic():
    n = 20_000
    f = PlaneWaveField.white_noise(n, 1e-3, 1e2, rms=1.0, seed=2024)
    k = np.linalg.norm(f.wavevectors, axis=1)
    np.testing.assert_allclose(k, np.geomspace(1e-3, 1e2, n), rtol=1e-13)
    assert f.k_min == pytest.approx(1e-3, rel=1e-15) and f.k_max == pytest.approx(1e2, rel=1e-15)
    a = np.linalg.norm(f.amplitudes, axis=1)
    assert np.max(np.abs(np.einsum("ij,ij->i", f.wavevectors, f.amplitudes)) / (k * a)) <= 1e-14
    # isotropy of k_hat and of the polarisation a_hat: means of x_i and x_i x_j against 0 and delta_ij/3,
    # each within 4 sigma, sigma = sample std / sqrt(n), n = 20000 modes.
    for v in (f.wavevectors / k[:, None], f.amplitudes / a[:, None]):
        m = v.mean(axis=0)
        assert np.all(np.abs(m) <= 4 * v.std(axis=0) / math.sqrt(n))
        outer = v[:, :, None] * v[:, None, :]
        dev = outer.mean(axis=0) - np.eye(3) / 3
        assert np.all(np.abs(dev) <= 4 * outer.std(axis=0) / math.sqrt(n))
    # the mode energies follow |a_n|^2 ~ k_n (white noise) exactly
    np.testing.assert_allclose(f.energy_per_mode()[1] / k, f.mean_square / k.sum(), rtol=1e-12)


def test_polarisation_basis_is_regular_at_the_poles(monkeypatch):
    """cos(theta) = +-1 (k along +-z) still gives amplitude vectors of the right length perpendicular to k."""

    class Poles:                      # a generator stand-in: cos(theta) = +-1, then ordinary angles
        calls = 0

        def uniform(self, lo, hi, size):
            self.calls += 1
            return np.resize([1.0, -1.0], size) if self.calls == 1 else np.linspace(lo, hi, size, endpoint=False)

    monkeypatch.setattr(turb, "_rng", lambda seed: Poles())
    f = PlaneWaveField.white_noise(4, 1.0, 2.0, rms=1.0, seed=0)
    np.testing.assert_allclose(np.abs(f.wavevectors[:, 2]), np.linalg.norm(f.wavevectors, axis=1), rtol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(f.amplitudes, axis=1), np.sqrt(2 * f.energy_per_mode()[1]), rtol=1e-14)
    assert np.all(f.energy_per_mode()[1] > 0) and np.all(np.abs(f.amplitudes[:, 2]) <= 1e-15)


# ---------------------------------------------------------------------------------------------- 3. spatial mean
@pytest.mark.parametrize("factory", [lambda: _gj(64, 0.5, 50.0, seed=3), lambda: PlaneWaveField.white_noise(
    64, 0.5, 50.0, rms=2.0, regular=(1, 0, 0), seed=4)], ids=["gj", "white-noise"])
def test_realised_spatial_mean_square(factory):
    """<|dOmega|^2> over n = 200000 uniform points in a box of side 1e4 (>> 2 pi/k_min = 12.6) equals
    mean_square within 4 sigma, sigma = sample std / sqrt(n) (the box-size bias is < 1e-4 relative)."""
    f = factory()
    n = 200_000
    pts = np.random.default_rng(5).uniform(-5e3, 5e3, (n, 3))
    sq = np.sum(f.turbulent(pts) ** 2, axis=1)
    assert abs(sq.mean() - f.mean_square) <= 4 * sq.std() / math.sqrt(n)
    np.testing.assert_allclose(f.evaluate(pts[:10]), f.turbulent(pts[:10]) + f.regular, rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------- 4. FFT spectrum
# One field, evaluated on an n^3 grid of side L = 2 pi (grid wavenumbers are integers, Nyquist n/2 = 64),
# with |k_n| in [8, 48] (so every Cartesian component stays 16 below Nyquist) and 256 modes.  A periodic 3D
# Hann window confines the leakage of each mode to ~2 grid units per axis, against bins 2.6 to 14 units wide.
# Bin edges are the boundaries of the log-spaced mode cells, so every mode lies in one bin and the requested
# continuous E(k) integrates over whole cells; the outer edges are widened by 3 units to catch the leakage.
# The measurement of ONE field fluctuates because pairs of modes closer than the window resolution
# r ~ 2 interfere: relative std ~ sqrt(p/2) with p = r^3/(3 k^2 W) (W the bin width ~ k), i.e. ~ k^(-3/2),
# with a heavy tail (a few close pairs dominate).  Over 100 seeds the std of (measured/requested - 1) was
# 3.3, 1.9, 1.1, 0.55 % in the 4 bins (GJ; white noise slightly less), the worst 9.2, 5.1, 2.8, 2.9 %.  We allow
# 6 sigma_b with sigma_b = 3.4, 1.9, 1.1, 0.6 %, i.e. 20, 11, 6.6, 3.6 %; a spectral index off by one power
# of k misses by 40 % or more (asserted below).  Seed 7 gives at most 4.0 % (GJ) and 2.5 % (white noise).
# The fitted slope differs from the requested one by 0.022 rms (worst 0.056 in 100 seeds): allowed 0.1.
# The windowed total (Parseval) differs from mean_square by 1.3 % rms (worst 3.5 %): allowed 6 %.
N_GRID, N_MODES, K_LO, K_HI, N_BINS, PAD = 128, 256, 8.0, 48.0, 4, 3.0
SIGMA_BIN = np.array([0.034, 0.019, 0.011, 0.006])
LC = 0.25   # GJ: k L_c from 2 to 12, so the upper bins are in the k^(2 - gamma) range


def _grid_field(f, n, side):
    """f.turbulent on the n^3 grid x = side*j/n, by separable complex exponentials (20x faster than np.cos)."""
    x = np.arange(n) * side / n
    e = np.exp(1j * f.wavevectors[:, :, None] * x)                                      # (N, 3, n)
    c = f.amplitudes * np.exp(1j * f.phases)[:, None]
    yz = (e[:, 1, :, None] * e[:, 2, None, :]).reshape(f.n_modes, n * n)
    return np.stack([((e[:, 0, :] * c[:, i, None]).T @ yz).real.reshape(n, n, n) for i in range(3)], axis=-1)


def _fft_bin_energy(field, side, edges):
    n = field.shape[0]
    w1 = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / n))
    w = w1[:, None, None] * w1[None, :, None] * w1[None, None, :]
    power = np.sum(np.abs(np.fft.fftn(field * w[..., None], axes=(0, 1, 2))) ** 2, axis=-1) / (n ** 6 * np.mean(w ** 2))
    q = 2 * np.pi * np.fft.fftfreq(n, d=side / n)
    qmag = np.sqrt(q[:, None, None] ** 2 + q[None, :, None] ** 2 + q[None, None, :] ** 2)
    return np.histogram(qmag.ravel(), bins=edges, weights=power.ravel())[0], float(power.sum())


def _cells():
    d = math.log(K_HI / K_LO) / (N_MODES - 1)
    return np.exp(math.log(K_LO) + d * (np.arange(N_MODES + 1) - 0.5))


def _continuous(energy, edges):
    """rms^2-normalised integral of E(k) over each bin within the band covered by the mode cells."""
    cells = _cells()
    e = np.clip(edges, cells[0], cells[-1])
    parts = np.array([quad(energy, a, b, limit=200)[0] for a, b in zip(e[:-1], e[1:])])
    return parts / quad(energy, cells[0], cells[-1], limit=200)[0]


@pytest.mark.parametrize("kind", ["giacalone-jokipii", "white-noise"])
def test_realised_fft_spectrum_of_one_field(kind):
    if kind == "giacalone-jokipii":
        f = PlaneWaveField.giacalone_jokipii(N_MODES, K_LO, K_HI, sigma2=1.0, regular=Z, coherence_length=LC, seed=7)
        energy, slope = (lambda k: k ** 2 / (1 + (k * LC) ** GAMMA)), 2 - GAMMA
    else:
        f = PlaneWaveField.white_noise(N_MODES, K_LO, K_HI, rms=1.0, seed=7)
        energy, slope = (lambda k: 1.0), 0.0
    side = 2 * np.pi
    grid = _grid_field(f, N_GRID, side)
    # the fast grid evaluation is the field: spot check against turbulent() at 100 grid points
    idx = np.random.default_rng(8).integers(0, N_GRID, (100, 3))
    np.testing.assert_allclose(grid[tuple(idx.T)], f.turbulent(idx * side / N_GRID), rtol=0, atol=1e-12 * f.rms)

    cells = _cells()
    edges = cells[np.round(np.linspace(0, N_MODES, N_BINS + 1)).astype(int)]
    edges[0] -= PAD
    edges[-1] += PAD
    measured, total = _fft_bin_energy(grid, side, edges)
    k, e = f.energy_per_mode()
    modes = np.histogram(k, bins=edges, weights=e)[0] / f.mean_square
    continuous = _continuous(energy, edges)
    assert modes.min() > 0.05                                   # every bin holds a fair share of the energy
    np.testing.assert_allclose(modes, continuous, rtol=1e-4)    # discretisation: midpoint rule in ln k
    centres = np.sqrt(np.clip(edges[:-1], cells[0], None) * np.clip(edges[1:], None, cells[-1]))
    tol = 6 * SIGMA_BIN
    ratio = measured / f.mean_square / continuous
    assert np.all(np.abs(ratio - 1) <= tol), (ratio, tol)
    assert abs(total / f.mean_square - 1) <= 0.06               # Parseval: the whole windowed mean square
    # log-log slope of E(k) = bin energy / bin width over the upper three bins
    width = np.diff(np.clip(edges, cells[0], cells[-1]))
    fit = np.polyfit(np.log(centres[1:]), np.log(measured[1:] / width[1:]), 1)[0]
    want = np.polyfit(np.log(centres[1:]), np.log(continuous[1:] / width[1:]), 1)[0]
    assert abs(fit - want) <= 0.1 and abs(want - slope) <= 0.03, (fit, want, slope)   # GJ: want = -1.658
    # the comparison has the power to see a wrong spectral index (|a_n|^2 one power of k too low)
    wrong = e / k
    wrong = np.histogram(k, bins=edges, weights=wrong)[0] / wrong.sum()
    assert np.max(np.abs(wrong / continuous - 1)) > 0.4


# ---------------------------------------------------------------------------------------------- 5. normalisation, seeds
def test_normalisation_and_seeding():
    for sigma2, b0 in [(1.0, Z), (0.3, (2.0, -1.0, 0.5)), (0.0, Z), (0.0, (0, 0, 0))]:
        f = _gj(sigma2=sigma2, regular=b0, seed=9)
        assert abs(f.mean_square - sigma2 * float(np.dot(b0, b0))) <= 1e-12 * max(1.0, f.mean_square)
        assert f.omega_rms_total == pytest.approx(math.sqrt(float(np.dot(b0, b0)) * (1 + sigma2)), rel=1e-12)
        assert f.spectrum == "giacalone-jokipii"
    for rms in (1e-3, 1.0, 7.5):
        f = PlaneWaveField.white_noise(100, 1e-3, 1e2, rms=rms, seed=9)
        assert abs(f.mean_square / rms ** 2 - 1) <= 1e-12 and abs(f.rms / rms - 1) <= 1e-12
    a, b, c = (_gj(seed=s) for s in (42, 42, 43))
    d = _gj(seed=np.random.SeedSequence(42))
    e = _gj(seed=np.random.default_rng(42))
    for key in ("wavevectors", "amplitudes", "phases", "regular"):
        for other in (b, d, e):
            assert np.array_equal(getattr(a, key), getattr(other, key))
    for key in ("wavevectors", "amplitudes", "phases"):
        assert not np.any(getattr(a, key) == getattr(c, key))


def test_immutable_read_only_contiguous():
    f = _gj()
    for key in ("wavevectors", "amplitudes", "phases", "regular"):
        arr = getattr(f, key)
        assert arr.dtype == np.float64 and arr.flags.c_contiguous and not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    with pytest.raises(AttributeError, match="immutable"):
        f.phases = np.zeros(64)
    with pytest.raises(AttributeError, match="immutable"):
        f.extra = 1


# ---------------------------------------------------------------------------------------------- 6. bad input
GJ = PlaneWaveField.giacalone_jokipii
WN = PlaneWaveField.white_noise
FS = PlaneWaveField.from_spectrum
K1 = np.array([[0.0, 0.0, 1.0]])
A1 = np.array([[1.0, 0.0, 0.0]])

BAD = [
    ("n_modes 1", r"n_modes=1: must be an integer in \[2, 100000\].*n_modes >= 2 and k_min < k_max",
     lambda: GJ(1, 1.0, 2.0, sigma2=1, regular=Z, seed=0)),
    ("n_modes big", r"n_modes=100001", lambda: WN(100_001, 1.0, 2.0, rms=1, seed=0)),
    ("n_modes frac", r"n_modes=2.5", lambda: WN(2.5, 1.0, 2.0, rms=1, seed=0)),
    ("k order", r"k_min=2\.0, k_max=1\.0: need 0 < k_min < k_max", lambda: GJ(8, 2.0, 1.0, sigma2=1, regular=Z, seed=0)),
    ("k equal", r"k_min=1\.0, k_max=1\.0: need 0 < k_min < k_max", lambda: FS(np.ones_like, 8, 1.0, 1.0, rms=1, seed=0)),
    ("k zero", r"k_min=0\.0, k_max=1\.0: need 0 < k_min", lambda: GJ(8, 0.0, 1.0, sigma2=1, regular=Z, seed=0)),
    ("k inf", r"k_max=inf: must be finite", lambda: GJ(8, 1.0, math.inf, sigma2=1, regular=Z, seed=0)),
    ("k_out k_in", r"k_out=5\.0, k_in=1\.0: need 0 < k_out < k_in", lambda: WN(8, 5.0, 1.0, rms=1, seed=0)),
    ("sigma2", r"sigma2=-0\.5: must be >= 0", lambda: GJ(8, 1.0, 2.0, sigma2=-0.5, regular=Z, seed=0)),
    ("rms", r"rms=-1\.0: must be >= 0 \(allowed range \[0, inf\)\)", lambda: WN(8, 1.0, 2.0, rms=-1.0, seed=0)),
    ("rms nan", r"rms=nan: must be finite", lambda: WN(8, 1.0, 2.0, rms=math.nan, seed=0)),
    ("gamma", r"gamma=0\.0: must be > 0", lambda: GJ(8, 1.0, 2.0, sigma2=1, regular=Z, gamma=0.0, seed=0)),
    ("L_c", r"coherence_length=-1\.0: must be > 0", lambda: GJ(8, 1.0, 2.0, sigma2=1, regular=Z, coherence_length=-1.0, seed=0)),
    ("regular 0", r"regular=\[0\., 0\., 0\.\]: \|regular\| must be > 0 when sigma2=1",
     lambda: GJ(8, 1.0, 2.0, sigma2=1, regular=(0, 0, 0), seed=0)),
    ("regular shape", r"regular=\[0, 1\]: expected shape", lambda: WN(8, 1.0, 2.0, rms=1, regular=(0, 1), seed=0)),
    ("regular many", r"regular=.*expected one 3-vector", lambda: WN(8, 1.0, 2.0, rms=1, regular=np.zeros((2, 3)), seed=0)),
    ("regular nan", r"regular=.*must be finite", lambda: WN(8, 1.0, 2.0, rms=1, regular=(0, math.nan, 1), seed=0)),
    ("spectrum callable", r"spectrum=3\.0: expected a callable", lambda: FS(3.0, 8, 1.0, 2.0, rms=1, seed=0)),
    ("spectrum negative", r"E\(k\) must be >= 0", lambda: FS(lambda k: 1.5 - k, 8, 1.0, 2.0, rms=1, seed=0)),
    ("spectrum nan", r"E\(k\) must be finite", lambda: FS(lambda k: np.where(k > 1.5, np.nan, 1.0), 8, 1.0, 2.0, rms=1, seed=0)),
    ("spectrum zero", r"E\(k\) is zero at every mode", lambda: FS(np.zeros_like, 8, 1.0, 2.0, rms=1, seed=0)),
    ("spectrum shape", r"E\(k\) returned shape \(3,\)", lambda: FS(lambda k: np.ones(3), 8, 1.0, 2.0, rms=1, seed=0)),
    ("seed None", r"seed=None: expected an integer >= 0", lambda: WN(8, 1.0, 2.0, rms=1, seed=None)),
    ("seed negative", r"seed=-1", lambda: WN(8, 1.0, 2.0, rms=1, seed=-1)),
    ("seed bool", r"seed=True", lambda: WN(8, 1.0, 2.0, rms=1, seed=True)),
    ("k shape", r"wavevectors=.*expected shape \(N, 3\)", lambda: PlaneWaveField(np.ones((2, 2)), A1, [0.0])),
    ("a shape", r"amplitudes=.*expected shape \(1, 3\)", lambda: PlaneWaveField(K1, np.zeros((2, 3)), [0.0])),
    ("phase shape", r"phases=.*expected shape \(1,\)", lambda: PlaneWaveField(K1, A1, [0.0, 1.0])),
    ("k zero vector", r"wavevectors: mode\(s\) \[0\] have k = 0", lambda: PlaneWaveField(np.zeros((1, 3)), A1, [0.0])),
    ("not transverse", r"amplitudes: a_n not perpendicular to k_n \(mode 0: \|k.a\|/\(\|k\|\|a\|\) = 0.707",
     lambda: PlaneWaveField(K1, [[1.0, 0.0, 1.0]], [0.0])),
    ("amplitude inf", r"amplitudes=.*must be finite", lambda: PlaneWaveField(K1, [[math.inf, 0, 0]], [0.0])),
    ("phase nan", r"phases=.*must be finite", lambda: PlaneWaveField(K1, A1, [math.nan])),
    ("points shape", r"points=.*expected shape \(3,\) or \(\.\.\., 3\)",
     lambda: PlaneWaveField(K1, A1, [0.0]).evaluate(np.ones((4, 2)))),
    ("arrays keys", r"arrays: keys .*missing \['regular'\]",
     lambda: PlaneWaveField.from_arrays({"wavevectors": K1, "amplitudes": A1, "phases": [0.0]})),
    ("arrays label", r"spectrum='kolmogorov': must be one of",
     lambda: PlaneWaveField.from_arrays(PlaneWaveField(K1, A1, [0.0]).to_arrays(), spectrum="kolmogorov")),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input(case):
    _, pattern, call = case
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------------------------------------- 7. storage, evaluation
def test_arrays_round_trip_and_explicit_field():
    f = PlaneWaveField.white_noise(50, 0.1, 10.0, rms=1.5, regular=(0.3, 0, -1), seed=5)
    d = f.to_arrays()
    assert set(d) == {"wavevectors", "amplitudes", "phases", "regular"}
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 and v.flags.writeable for v in d.values())
    g = PlaneWaveField.from_arrays(d, spectrum=f.spectrum)
    for key in d:
        assert np.array_equal(getattr(g, key), getattr(f, key))
    assert g.spectrum == "white-noise" and PlaneWaveField.from_arrays(d).spectrum == "explicit"
    d["phases"][:] = 0.0                                  # the copies are independent of the field
    assert np.any(f.phases != 0)
    h = PlaneWaveField(K1, A1, [0.0], regular=(0, 0, 2))
    assert (h.spectrum, h.n_modes, h.k_min, h.k_max, h.mean_square) == ("explicit", 1, 1.0, 1.0, 0.5)
    assert h.omega_rms_total == pytest.approx(math.sqrt(4.5), rel=1e-15)
    np.testing.assert_allclose(h.evaluate([0.0, 0.0, math.pi / 3]), [0.5, 0.0, 2.0], rtol=0, atol=1e-15)
    u = PlaneWaveField.uniform((0.0, 1.0, -2.0))            # no modes: the regular field alone
    assert u.n_modes == 0 and u.mean_square == 0.0 and math.isnan(u.k_min) and math.isnan(u.k_max)
    pts = np.ones((2, 4, 3))
    assert np.array_equal(u.evaluate(pts), np.broadcast_to([0.0, 1.0, -2.0], (2, 4, 3)))
    assert np.array_equal(u.divergence(pts), np.zeros((2, 4))) and np.array_equal(u.curl(pts), np.zeros((2, 4, 3)))
    v = PlaneWaveField.from_arrays(u.to_arrays())
    assert v.to_arrays()["wavevectors"].shape == (0, 3) and np.array_equal(v.regular, u.regular)


def test_evaluate_matches_direct_loop_and_chunking(monkeypatch):
    f = _gj(40, 0.05, 20.0, seed=13, regular=(0.2, -0.4, 1.0))
    pts = np.random.default_rng(14).uniform(-100, 100, (7, 3))
    direct = np.array([f.regular + sum(f.amplitudes[n] * math.cos(float(f.wavevectors[n] @ p) + f.phases[n])
                                       for n in range(f.n_modes)) for p in pts])
    np.testing.assert_allclose(f.evaluate(pts), direct, rtol=0, atol=1e-12 * f.omega_rms_total)
    assert f.evaluate(pts[0]).shape == (3,) and f.divergence(pts[0]).shape == ()
    grid = np.random.default_rng(15).uniform(-100, 100, (4, 25, 3))
    whole = f.evaluate(grid)
    assert whole.shape == (4, 25, 3) and f.divergence(grid).shape == (4, 25) and f.curl(grid).shape == (4, 25, 3)
    monkeypatch.setattr(turb, "_CHUNK_ELEMENTS", 3 * f.n_modes)      # 3 points per chunk, 34 chunks
    np.testing.assert_allclose(f.evaluate(grid), whole, rtol=0, atol=1e-13 * f.omega_rms_total)
