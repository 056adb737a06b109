"""numerics.qlt.Spectrum: QLT for any isotropic spectrum (derivation qlt.general_spectrum) against independent
30-digit mpmath quadrature of the *unintegrated-by-parts* forms, the white-noise closed forms, the plane-wave sums
of a field, and the short- and long-dT limits."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from numerics import qlt
from numerics.backtracking.turbulence import PlaneWaveField

K_OUT, K_IN = 1e-3, 1e2  # 003 Sec. 4 (units of 1/r_g)


def _J(l, x):
    """J_l(x) = int_0^x j_l (termwise 1F2 series)."""
    x = mpmath.mpf(x)
    a = mpmath.mpf(l + 1) / 2
    return x ** (l + 1) / ((l + 1) * mpmath.fac2(2 * l + 1)) * mpmath.hyp1f2(a, l + mpmath.mpf(3) / 2, a + 1, -x ** 2 / 4)


def _JJ(l, x):
    """JJ_l(x) = int_0^x (x - y) j_l(y) dy = x J_l(x) - int_0^x y j_l(y) dy, the second term termwise as a 1F2."""
    x = mpmath.mpf(x)
    y_jl = x ** (l + 2) / ((l + 2) * mpmath.fac2(2 * l + 1)) * mpmath.hyp1f2(
        mpmath.mpf(l + 2) / 2, l + mpmath.mpf(3) / 2, mpmath.mpf(l + 4) / 2, -x ** 2 / 4)
    return x * _J(l, x) - y_jl


def _cuts(lo, hi, dt):
    """Integration cuts in k: doubling from lo (steep power laws) and every pi/dT (oscillations)."""
    pts = {mpmath.mpf(lo), mpmath.mpf(hi)}
    e = mpmath.mpf(lo)
    while e < hi:
        pts.add(e)
        e *= 2
    m = 1
    while mpmath.pi * m / dt < hi:
        pts.add(mpmath.pi * m / dt)
        m += 1
    return sorted(p for p in pts if lo <= p <= hi)


def _lambda_ref(l, dt, g, lo, hi):
    """Lambda_l = int dk g(k)/k^2 JJ_l(k dT) (before the integration by parts that numerics.qlt uses)."""
    return mpmath.quad(lambda k: g(k) / k ** 2 * _JJ(l, k * dt), _cuts(lo, hi, dt))


def _kappa_ref(la, lb, dt, g, lo, hi):
    return mpmath.quad(lambda k: g(k) / k ** 2 * _J(la, k * dt) * _J(lb, k * dt), _cuts(lo, hi, dt))


@pytest.mark.parametrize("index", [-5 / 3, -1.0, 1.5])
@pytest.mark.parametrize("ell,dt", [(0, 0.3), (2, 0.3), (7, 2.0)])
def test_power_law_lambda_matches_30_digit_quadrature(index, ell, dt):
    spec = qlt.Spectrum.power_law(K_OUT, K_IN, index, g_out=0.7)
    with mpmath.workdps(30):
        ref = _lambda_ref(ell, dt, lambda k: 0.7 * (k / K_OUT) ** index, K_OUT, K_IN)
    assert abs(qlt.lambda_l(ell, dt, spectrum=spec) / float(ref) - 1) <= 1e-9


@pytest.mark.parametrize("index", [-5 / 3, -1.5])
@pytest.mark.parametrize("la,lb,dt", [(0, 0, 0.3), (2, 4, 0.3), (11, 13, 2.0), (1, 1, 5.0)])
def test_power_law_kappa_matches_30_digit_quadrature(index, la, lb, dt):
    spec = qlt.Spectrum.power_law(K_OUT, K_IN, index, g_out=0.7)
    with mpmath.workdps(30):
        ref = _kappa_ref(la, lb, dt, lambda k: 0.7 * (k / K_OUT) ** index, K_OUT, K_IN)
    assert abs(qlt.kappa(la, lb, dt, spectrum=spec) / float(ref) - 1) <= 1e-9


def test_power_law_mean_square_and_tail_against_quadrature():
    for index in (-5 / 3, -1.0, 0.0, 1.0, 2.5):
        spec = qlt.Spectrum.power_law(0.01, 10.0, index, g_out=2.0)
        with mpmath.workdps(30):
            g = lambda k, n=index: 2 * (k / mpmath.mpf("0.01")) ** n  # noqa: E731
            ms = 8 * mpmath.pi * mpmath.quad(g, [0.01, 0.1, 1, 10])
            tail = mpmath.quad(lambda k, g=g: g(k) / k ** 2, [0.5, 1, 10])
        assert abs(spec.mean_square / float(ms) - 1) <= 1e-12, index
        assert abs(spec.tail(0.5) / float(tail) - 1) <= 1e-12, index
        assert spec.tail(10.0) == 0.0 and spec.tail(1e-5) == spec.tail(0.01)


def test_white_noise_spectrum_reproduces_the_closed_form_of_m1a():
    """(8/3)(Lambda_0 - Lambda_2/2) = g_out dT [B(alpha) - B(beta)], B the corrected (3.16) bracket (mpmath 2F3)."""
    def B(a):
        a = mpmath.mpf(a)
        return 2 * a * mpmath.hyp2f3(0.5, 0.5, 1.5, 1.5, 1.5, -a ** 2 / 4) - mpmath.si(a) - mpmath.cos(a) / a \
            + mpmath.sin(a) / a ** 2
    spec = qlt.Spectrum.white_noise(K_OUT, K_IN, g_out=3.0)
    for dt in (1e-3, 0.5, 5.0):
        lam = qlt.lambda_l([0, 2], dt, spectrum=spec)
        with mpmath.workdps(30):
            ref = 3.0 * dt * float(B(K_IN * dt) - B(K_OUT * dt))
        assert abs((8 / 3) * (lam[0] - lam[1] / 2) / ref - 1) <= 1e-10, dt


def test_white_noise_spectrum_equals_the_white_noise_signature():
    spec = qlt.Spectrum.white_noise(0.01, 20.0, g_out=0.25)
    a = qlt.mixing_matrices(12, 1.5, 0.01, 20.0, 0.25)
    b = qlt.mixing_matrices(12, 1.5, spectrum=spec)
    for key in a:
        assert np.max(np.abs(a[key] - b[key])) <= 1e-10 * np.max(np.abs(a[key])), key
    c1 = qlt.steady_state(24, 7.0, 0.01, 20.0, g_out=0.25, source=2.0)
    c2 = qlt.steady_state(24, spectrum=spec, delta_t=7.0 / 20.0, source=2.0)
    c3 = qlt.steady_state(24, 7.0, spectrum=spec, source=2.0)
    assert np.max(np.abs(c2 / c1 - 1)) <= 1e-10 and np.array_equal(c2, c3)


def test_power_law_index_zero_is_white_noise():
    a = qlt.transition_matrix(10, 0.8, spectrum=qlt.Spectrum.power_law(0.05, 30.0, 0.0, 1.3))
    b = qlt.transition_matrix(10, 0.8, 0.05, 30.0, 1.3)
    assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))


def test_callable_and_table_agree_with_the_closed_forms():
    """The same g through three code paths: power_law (generated kernels), a callable (numeric tail) and, for a
    g linear in k, a two-node table (closed-form segment integrals)."""
    pl = qlt.Spectrum.power_law(K_OUT, K_IN, -5 / 3, g_out=1.0)
    fn = qlt.Spectrum(lambda k: (k / K_OUT) ** (-5 / 3), K_OUT, K_IN)
    assert abs(fn.mean_square / pl.mean_square - 1) <= 1e-12
    ks = np.geomspace(K_OUT, K_IN, 7)
    assert np.max(np.abs(fn.tail(ks) / np.maximum(pl.tail(ks), 1e-300) - 1)[:-1]) <= 1e-12
    A, B = qlt.transition_matrix(8, 0.4, spectrum=pl), qlt.transition_matrix(8, 0.4, spectrum=fn)
    assert np.max(np.abs(A - B)) <= 1e-10 * np.max(np.abs(A))
    lin = qlt.Spectrum(lambda k: 0.5 + 0.2 * k, 0.1, 10.0)
    tab = qlt.Spectrum.tabulated([0.1, 10.0], [0.52, 2.5])
    assert abs(lin.mean_square / tab.mean_square - 1) <= 1e-12
    for dt in (0.05, 3.0):
        A, B = qlt.transition_matrix(8, dt, spectrum=lin), qlt.transition_matrix(8, dt, spectrum=tab)
        assert np.max(np.abs(A - B)) <= 1e-10 * np.max(np.abs(A)), dt


def _small_field(seed=7, n=6):
    return PlaneWaveField.white_noise(n, 0.05, 20.0, rms=0.3, seed=seed)


def test_from_field_is_the_sum_over_the_modes():
    field = _small_field()
    spec = qlt.Spectrum.from_field(field)
    kn, power = field.energy_per_mode()
    assert abs(spec.mean_square / field.mean_square - 1) <= 1e-14
    dt = 0.7
    with mpmath.workdps(30):
        lam_ref = [sum(p / (8 * mpmath.pi) * _JJ(l, k * dt) / k ** 2 for k, p in zip(kn, power)) for l in (0, 2, 5)]
        kap_ref = sum(p / (8 * mpmath.pi) * _J(3, k * dt) * _J(5, k * dt) / k ** 2 for k, p in zip(kn, power))
    lam = qlt.lambda_l([0, 2, 5], dt, spectrum=spec)
    assert np.max(np.abs(lam / np.array([float(v) for v in lam_ref]) - 1)) <= 1e-9
    assert abs(qlt.kappa(3, 5, dt, spectrum=spec) / float(kap_ref) - 1) <= 1e-9


def test_many_modes_converge_to_the_continuous_band():
    """Modes at the geometric centres of n log cells with weights proportional to the cell (a midpoint rule): the
    discrete M - 1 approaches white noise's, and the error falls by about 4 when n doubles (second order)."""
    cont = qlt.mixing_matrices(6, 1.0, spectrum=qlt.Spectrum.white_noise(0.1, 10.0, 1.0))
    errs = []
    for n in (64, 128):
        edges = np.geomspace(0.1, 10.0, n + 1)
        kc = np.sqrt(edges[1:] * edges[:-1])
        disc = qlt.mixing_matrices(6, 1.0, spectrum=qlt.Spectrum.from_modes(kc, kc * np.log(edges[1] / edges[0])))
        errs.append(max(np.max(np.abs(disc[k] - cont[k])) / np.max(np.abs(cont[k])) for k in cont))
    assert errs[1] < 1e-3 and 3.0 < errs[0] / errs[1] < 5.0


def test_short_dt_is_ballistic_for_any_spectrum():
    """k_in dT << 1: M^(1a) = -l(l+1) <omega^2> dT^2/6 whatever the spectrum's shape (relative corrections ~ (k dT)^2)."""
    for spec in (qlt.Spectrum.power_law(0.1, 1.0, -5 / 3, 2.0), qlt.Spectrum.from_field(_small_field()),
                 qlt.Spectrum.tabulated([0.1, 0.3, 1.0], [1.0, 0.0, 2.0])):
        dt = 1e-3 / spec.k_in
        m1a = qlt.mixing_matrices(4, dt, spectrum=spec)["1a"]
        L = np.arange(5)
        expect = -L * (L + 1) * spec.mean_square * dt ** 2 / 6
        assert np.max(np.abs(np.diag(m1a)[1:] / expect[1:] - 1)) <= 1e-5, spec


def test_long_dt_rate_is_pi_squared_int_g_over_k():
    """k_out dT >> 1: M^(1a)/dT -> -pi^2 l(l+1) int g/k dk with O(1/(k_out dT)) corrections; kappa, and so
    M^(1c), stays bounded (M^(1c)/dT falls like 1/dT)."""
    spec = qlt.Spectrum.from_modes([1.0, 2.0, 3.5], [0.01, 0.02, 0.005])
    int_g_over_k = 0.01 / 1.0 + 0.02 / 2.0 + 0.005 / 3.5
    rel, m1c = [], []
    for dt in (50.0, 200.0):
        mm = qlt.mixing_matrices(3, dt, spectrum=spec)
        rate = np.diag(mm["1a"])[1] / dt
        rel.append(abs(rate / (-np.pi ** 2 * 2 * int_g_over_k) - 1))
        m1c.append(np.max(np.abs(mm["1c0"] + mm["1c2"])))
    assert rel[1] < 0.01 and rel[1] < rel[0] / 2
    assert 0.8 < m1c[1] / m1c[0] < 1.25


def test_power_law_steady_state_is_positive_and_decreasing():
    c = qlt.steady_state(32, delta_t=0.5, spectrum=qlt.Spectrum.power_law(K_OUT, K_IN, -5 / 3))
    assert c.shape == (32,) and np.all(c > 0) and np.all(np.diff(c) < 0)


@pytest.mark.parametrize("call,match", [
    (lambda: qlt.Spectrum.white_noise(1.0, 1.0), "k_in"),
    (lambda: qlt.Spectrum.white_noise(2.0, 1.0), "k_in"),
    (lambda: qlt.Spectrum.white_noise(-1.0, 1.0), "k_out"),
    (lambda: qlt.Spectrum.white_noise(1.0, float("inf")), "k_in"),
    (lambda: qlt.Spectrum.power_law(0.1, 1.0, float("nan")), "index"),
    (lambda: qlt.Spectrum.power_law(0.1, 1.0, -1.0, g_out=0.0), "g_out"),
    (lambda: qlt.Spectrum(lambda k: -np.ones_like(k), 0.1, 1.0), "g"),
    (lambda: qlt.Spectrum(lambda k: np.where(k > 0.5, np.inf, 1.0), 0.1, 1.0), "g"),
    (lambda: qlt.Spectrum(lambda k: 1.0, 0.1, 1.0), "g"),
    (lambda: qlt.Spectrum([1.0, 2.0], 0.1, 1.0), "g"),
    (lambda: qlt.Spectrum.tabulated([1.0, 3.0, 2.0], [1.0, 1.0, 1.0]), "strictly increasing"),
    (lambda: qlt.Spectrum.tabulated([1.0, 2.0], [1.0, -1.0]), "g"),
    (lambda: qlt.Spectrum.tabulated([1.0, 2.0], [1.0, np.nan]), "g"),
    (lambda: qlt.Spectrum.tabulated([1.0], [1.0]), "k"),
    (lambda: qlt.Spectrum.from_modes([], []), "wavenumbers"),
    (lambda: qlt.Spectrum.from_field(PlaneWaveField.uniform((0.0, 0.0, 0.0))), "field"),
    (lambda: qlt.Spectrum.from_field(PlaneWaveField.white_noise(4, 0.1, 1.0, rms=1.0, regular=(0, 0, 1), seed=1)),
     "regular"),
    (lambda: qlt.lambda_l(0, 0.0, spectrum=qlt.Spectrum.white_noise(0.1, 1.0)), "delta_t"),
    (lambda: qlt.lambda_l(0, -1.0, spectrum=qlt.Spectrum.white_noise(0.1, 1.0)), "delta_t"),
    (lambda: qlt.kappa(0, 0, 2e3, spectrum=qlt.Spectrum.white_noise(0.1, 1.0)), "delta_t"),
    (lambda: qlt.mixing_matrices(4, 1.0, 0.1, 1.0, spectrum=qlt.Spectrum.white_noise(0.1, 1.0)), "k_out"),
    (lambda: qlt.transition_matrix(4, 1.0, spectrum="white"), "spectrum"),
    (lambda: qlt.steady_state(8, spectrum=qlt.Spectrum.white_noise(0.1, 1.0)), "delta_t"),
    (lambda: qlt.steady_state(8, 1.0, spectrum=qlt.Spectrum.white_noise(0.1, 1.0), delta_t=1.0), "delta_t"),
    (lambda: qlt.steady_state(8, 1.0, 0.1, 1.0, delta_t=1.0), "delta_t"),
])
def test_bad_input_is_refused_with_the_argument_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "numerics.cli", "spectrum", "qlt", *args], capture_output=True, text=True)


def test_cli_power_law_steady_state(tmp_path):
    proc = _cli("--alpha", "20", "--lmax", "6", "--kout", "0.01", "--kin", "10", "--index", "-1", "--g-out", "2",
                "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    table = np.loadtxt(tmp_path / "qlt.csv", delimiter=",", skiprows=1)
    direct = qlt.steady_state(6, 20.0, spectrum=qlt.Spectrum.power_law(0.01, 10.0, -1.0, 2.0))
    assert np.max(np.abs(table[:, 1] / direct - 1)) <= 1e-10 and (tmp_path / "qlt.png").exists()


@pytest.mark.parametrize("args,match", [
    (("--index", "-1"), "k_in: required with index"),
    (("--index", "nan", "--kin", "10"), "index"),
    (("--index", "-1", "--kout", "20", "--kin", "10"), "k_in"),
    (("--index", "-1", "--kin", "10", "--g-out", "-1"), "g_out"),
])
def test_cli_bad_spectrum_is_one_line_and_exit_2(args, match, tmp_path):
    proc = _cli("--alpha", "5", "--lmax", "6", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and match in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "o").exists()
