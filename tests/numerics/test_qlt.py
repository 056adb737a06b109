"""numerics.qlt against independent references: 30-digit mpmath quadrature, exact Wigner symbols, the
conservation of total power, scaling laws and the closed form of the corrected (3.16)."""
from __future__ import annotations

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp

from numerics import qlt
from theory import qlt as tq

INF = float("inf")


def _J_mp(l, x):
    """J_l(x) = int_0^x j_l = x^(l+1)/((l+1)(2l+1)!!) 1F2((l+1)/2; l+3/2, (l+3)/2; -x^2/4) (termwise integral)."""
    x = mpmath.mpf(x)
    a = mpmath.mpf(l + 1) / 2
    return x ** (l + 1) / ((l + 1) * mpmath.fac2(2 * l + 1)) * mpmath.hyp1f2(a, l + mpmath.mpf(3) / 2, a + 1, -x ** 2 / 4)


def _pieces(lo, hi, width=2.0):
    """Subintervals for mpmath.quad: at most ``width`` wide and at most hi/80 (J_l ~ x^(l+1) is steep for x < l)."""
    width = min(width, hi / 80)
    n = max(1, int(np.ceil((hi - lo) / width)))
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def _lambda_mp(l, alpha, beta):
    w = lambda y: 1 / max(y, beta) - 1 / alpha  # noqa: E731
    pts = sorted(set([0, beta] + _pieces(beta, alpha)))
    return mpmath.quad(lambda y: _J_mp(l, y) * w(y), pts)


def _kappa_mp(la, lb, alpha, beta):
    return mpmath.quad(lambda x: _J_mp(la, x) * _J_mp(lb, x) / x ** 2, _pieces(beta, alpha))


# seeded sample over the range l <= 40, alpha in [1, 200], plus the corners
_rng = np.random.default_rng(20261121)
_SAMPLE = [(0, 1.0), (40, 1.0), (40, 200.0), (2, 200.0)] + [
    (int(l), float(a)) for l, a in zip(_rng.integers(0, 41, 2), np.exp(_rng.uniform(0, np.log(200), 2)))]


@pytest.mark.parametrize("ell,alpha", _SAMPLE)
def test_lambda_l_matches_30_digit_quadrature(ell, alpha):
    beta = alpha * 1e-3
    with mpmath.workdps(30):
        ref = _lambda_mp(ell, alpha, beta)
    got = qlt.lambda_l(ell, 1.0, beta, alpha)
    assert abs(got / float(ref) - 1) <= 1e-9


@pytest.mark.parametrize("la,lb,alpha", [(0, 0, 1.0), (40, 40, 1.0), (40, 38, 200.0), (13, 15, 37.0)])
def test_kappa_matches_30_digit_quadrature(la, lb, alpha):
    beta = alpha * 1e-3
    with mpmath.workdps(30):
        ref = _kappa_mp(la, lb, alpha, beta)
    got = qlt.kappa(la, lb, 1.0, beta, alpha)
    assert abs(got / float(ref) - 1) <= 1e-9


@pytest.mark.parametrize("alpha", [0.01, 1.0, 50.0, 1000.0])
def test_m1a_bracket_is_the_corrected_closed_form(alpha):
    """(8/3)(Lambda_0 - Lambda_2/2)/(g dT) = B(alpha) - B(beta) with B the corrected (3.16) bracket (mpmath 2F3)."""
    def B(a):
        a = mpmath.mpf(a)
        return 2 * a * mpmath.hyp2f3(0.5, 0.5, 1.5, 1.5, 1.5, -a ** 2 / 4) - mpmath.si(a) - mpmath.cos(a) / a \
            + mpmath.sin(a) / a ** 2
    beta = alpha * 1e-4
    lam = qlt.lambda_l([0, 2], 2.0, beta / 2, alpha / 2, g_out=3.0) / (3.0 * 2.0)
    with mpmath.workdps(30):
        ref = float(B(alpha) - B(beta))
    assert abs((8 / 3) * (lam[0] - lam[1] / 2) / ref - 1) <= 1e-10
    if alpha != 1.0:  # at alpha = 1, alpha^2 sin(alpha) = sin(alpha)/alpha^2: the printed and true brackets touch
        printed = float(tq.m1a_bracket_printed(sp.Float(alpha)).evalf(20))
        assert abs(printed / ref - 1) > 0.1  # the printed bracket is a different function (erratum)


def test_kappa_small_alpha_leading_term():
    """kappa_{lA lB}/(g dT) -> alpha^(lA+lB+1)/((lA+1)(lB+1)(2lA+1)!!(2lB+1)!!(lA+lB+1))."""
    alpha = 1e-3
    for la, lb in [(0, 0), (1, 3), (4, 2), (6, 6)]:
        lead = alpha ** (la + lb + 1) / ((la + 1) * (lb + 1) * float(sp.factorial2(2 * la + 1) * sp.factorial2(2 * lb + 1))
                                         * (la + lb + 1))
        got = qlt.kappa(la, lb, 1.0, 1e-12, alpha)
        assert abs(got / lead - 1) < 1e-5


def test_kappa_symmetric_and_positive_diagonal():
    la, lb = np.meshgrid(np.arange(12), np.arange(12), indexing="ij")
    K = qlt.kappa(la, lb, 1.0, 1e-3, 20.0)
    assert np.max(np.abs(K - K.T)) <= 1e-15 * np.max(np.abs(K))
    assert np.all(np.diag(K) > 0)


def test_j_integral_against_mpmath():
    xs = [1e-3, 0.5, 7.0, 63.2, 180.0]
    J = qlt.j_integral(45, xs)
    with mpmath.workdps(30):
        for l in (0, 1, 2, 17, 45):
            for i, x in enumerate(xs):
                ref = float(_J_mp(l, x))
                if abs(ref) > 1e-290:
                    assert abs(J[l, i] / ref - 1) <= 1e-12


def test_wigner_tensors_equal_the_printed_321_and_323():
    """numerics' cached tensors against (3.21) and (3.23) with SymPy's exact Wigner symbols (l, l0 <= 4)."""
    lmax = 4
    G0, G2 = qlt._geometry(lmax)
    for l in range(lmax + 1):
        for l0 in range(lmax + 1):
            for la in range(2 * lmax + 1):
                ref0 = float(tq.printed_1c0(l, l0, la, la))
                assert abs(G0[l, l0, la] - ref0) <= 1e-12 * max(1.0, abs(ref0))
                for d in range(3):
                    lb = la + 2 * d - 2
                    if not 0 <= lb <= 2 * lmax:
                        continue
                    ref2 = complex(sp.N(tq.printed_1c2(l, l0, la, lb), 20))
                    assert abs(ref2.imag) == 0
                    assert abs(G2[l, l0, la, d] - ref2.real) <= 1e-12 * max(1.0, abs(ref2.real))


def test_total_power_is_conserved_column_by_column():
    """sum_l (2l+1)(2 M1a + M1c0 + M1c2)_{l l0} = 0: Lambda (1a) and kappa (1c) are computed independently."""
    lmax = 40
    M = qlt.mixing_matrices(lmax, 1.0, 1e-4, 3.0)
    tot = 2 * M["1a"] + M["1c0"] + M["1c2"]
    w = 2 * np.arange(lmax + 1) + 1
    sums = w @ tot
    scale = np.max(np.abs(tot[:, :11]) * w[:, None])
    assert np.max(np.abs(sums[:11])) <= 1e-12 * scale
    assert np.all(tot[:, 0] == 0)  # column 0
    assert tot[0, 1] > 0  # power flows into the monopole


@pytest.mark.parametrize("alpha", [1.0, 10.0, 50.0])
def test_power_transfer_rates_are_nonnegative(alpha):
    """Off the diagonal, (2l+1) M_{l l0}/(2l0+1) is a rate of power transfer: never negative."""
    lmax = 30
    M = qlt.mixing_matrices(lmax, 1.0, 1e-5, alpha)
    tot = 2 * M["1a"] + M["1c0"] + M["1c2"]
    w = 2 * np.arange(lmax + 1) + 1
    rates = w[:, None] * tot / w[None, :]
    off = rates - np.diag(np.diag(rates))
    assert np.min(off) >= -1e-12 * np.max(off)
    assert np.all(np.diag(rates)[1:] < 0)


def test_transition_matrix_scaling():
    """A is a rate: lengths x lam, wavenumbers and g_out / lam -> A / lam (the dimension check of qlt.kappa)."""
    lam = 7.0
    A = qlt.transition_matrix(10, 0.3, 0.01, 40.0, g_out=2.0)
    B = qlt.transition_matrix(10, 0.3 * lam, 0.01 / lam, 40.0 / lam, g_out=2.0 / lam)
    assert np.max(np.abs(B * lam - A)) <= 1e-12 * np.max(np.abs(A))


def test_steady_state_converges_with_the_conservative_closure():
    c32 = qlt.steady_state(32, 10.0, 1.0, INF)
    c64 = qlt.steady_state(64, 10.0, 1.0, INF)
    assert np.max(np.abs(c64[:8] / c32[:8] - 1)) < 1e-8
    a32 = qlt.steady_state(32, 10.0, 1.0, INF, closure="absorbing")
    a64 = qlt.steady_state(64, 10.0, 1.0, INF, closure="absorbing")
    assert abs(a64[0] / a32[0] - 1) > 0.05  # the absorbing truncation has not converged
    assert a64[0] < c64[0]


def test_steady_state_solves_37_and_feeds_the_monopole():
    lmax, alpha, s, g = 24, 20.0, 2.5, 0.7
    C = qlt.steady_state(lmax, alpha, 1.0, 1e6, g_out=g, source=s)
    A = qlt.transition_matrix(lmax, alpha / 1e6, 1.0, 1e6, g_out=g)
    w = 2.0 * np.arange(lmax + 1) + 1
    A -= np.diag((w @ A) / w)  # the conservative closure
    full = np.concatenate([[0.0], C])
    rhs = A @ full
    assert abs(rhs[1] - s) <= 1e-10 * s
    assert np.max(np.abs(rhs[2:])) <= 1e-10 * s
    assert abs(-rhs[0] - 3 * s) <= 1e-10 * s  # dC_0/dt = -(A C)_0 = 3 s
    assert np.all(C > 0) and np.all(np.diff(C) < 0)


def test_steady_state_depends_on_source_over_g_out_and_tends_to_the_limit():
    base = qlt.steady_state(20, 50.0, 1.0, INF)
    scaled = qlt.steady_state(20, 50.0, 3.0, INF, g_out=2.0, source=5.0)
    assert np.max(np.abs(scaled / base - 2.5)) <= 1e-12 * 2.5
    errs = [np.max(np.abs(qlt.steady_state(20, 50.0, 1.0, r) / base - 1)) for r in (1e2, 1e4, 1e6)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-4


def test_steady_state_falls_with_alpha():
    c1 = [qlt.steady_state(24, a, 1.0, INF)[0] for a in (5.0, 20.0, 80.0)]
    assert c1[0] > c1[1] > c1[2]


BAD = [
    ("alpha zero", r"alpha=0.*\[1e-08, 1000\]", lambda: qlt.steady_state(10, 0.0, 1.0, INF)),
    ("alpha too large", r"alpha=5000.*allowed range", lambda: qlt.steady_state(10, 5000.0, 1.0, INF)),
    ("k_in <= k_out", r"k_in=1\.0: must be > k_out = 2\.0", lambda: qlt.steady_state(10, 5.0, 2.0, 1.0)),
    ("k_in <= k_out (transition)", r"k_in=.*must be > k_out", lambda: qlt.transition_matrix(10, 0.1, 2.0, 2.0)),
    ("lmax < 2", r"lmax=1.*\[2, 128\]", lambda: qlt.steady_state(1, 5.0, 1.0, INF)),
    ("lmax non-integer", r"lmax=2\.5: must be an integer", lambda: qlt.transition_matrix(2.5, 0.1, 1.0, 10.0)),
    ("ell non-integer", r"ell=1\.5: must be an integer", lambda: qlt.lambda_l(1.5, 0.1, 1.0, 10.0)),
    ("l_a negative", r"l_a=-1.*allowed range", lambda: qlt.kappa(-1, 2, 0.1, 1.0, 10.0)),
    ("delta_t", r"delta_t=-0\.1: must be > 0", lambda: qlt.lambda_l(0, -0.1, 1.0, 10.0)),
    ("g_out", r"g_out=0\.0: must be > 0", lambda: qlt.steady_state(10, 5.0, 1.0, INF, g_out=0.0)),
    ("source", r"source=-1.*must be > 0", lambda: qlt.steady_state(10, 5.0, 1.0, INF, source=-1.0)),
    ("closure", r"closure='open': must be one of", lambda: qlt.steady_state(10, 5.0, 1.0, INF, closure="open")),
]


@pytest.mark.parametrize("label,pattern,call", BAD, ids=[b[0] for b in BAD])
def test_bad_input(label, pattern, call):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "0", "--lmax", "10"], f"alpha=0.0: outside the allowed range [{qlt.ALPHA_MIN:g}, {qlt.ALPHA_MAX:g}]"),
    (["--alpha", "50", "--alpha", f"{qlt.ALPHA_MAX * 1.0001:g}", "--lmax", "10"], "alpha=1000.1: outside"),
    (["--alpha", "50", "--lmax", "1"], f"lmax=1: outside the allowed range [2, {qlt.LMAX}]"),
    (["--alpha", "50", "--lmax", "10", "--noise", "-1"], "noise=-1.0"),
    (["--alpha", "50", "--lmax", "10", "--kout", "2", "--kin", "1"], "k_in=1.0"),
    (["--index", "-1", "--lmax", "10"], "k_in: required with index"),
    (["--index", "11", "--kin", "10", "--lmax", "10"], f"index=11.0: outside the allowed range [-{qlt.INDEX_MAX}, {qlt.INDEX_MAX}]"),
])
def test_cli_qlt_bad_input(args, needle):
    proc = subprocess.run([sys.executable, "-m", "numerics.cli", "spectrum", "qlt", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_cli_qlt_takes_the_library_bounds():
    """alpha = ALPHA_MAX is inside the library's [ALPHA_MIN, ALPHA_MAX] (the CLI once refused it), and --help states
    the bound from the library's constants."""
    proc = subprocess.run([sys.executable, "-m", "numerics.cli", "spectrum", "qlt", "--alpha", f"{qlt.ALPHA_MAX:g}",
                           "--lmax", "4"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    table = np.array([line.split() for line in proc.stdout.splitlines()[2:]], dtype=float)
    assert np.max(np.abs(table[:, 1] / qlt.steady_state(4, qlt.ALPHA_MAX, 1.0, INF) - 1)) < 1e-10
    helptext = subprocess.run([sys.executable, "-m", "numerics.cli", "spectrum", "--help"], capture_output=True, text=True)
    assert f"[{qlt.ALPHA_MIN:g}, {qlt.ALPHA_MAX:g}]" in " ".join(helptext.stdout.split()) and f"[2, {qlt.LMAX}]" in helptext.stdout


def test_cli_qlt_writes_table_csv_and_png(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "numerics.cli", "spectrum", "qlt", "--alpha", "10", "--alpha", "50",
                           "--lmax", "12", "--noise", "1e-4", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    table = np.loadtxt(tmp_path / "qlt.csv", delimiter=",", skiprows=1)
    assert table.shape == (12, 5)
    expected = qlt.steady_state(12, 50.0, 1.0, INF)
    assert np.max(np.abs(table[:, 2] / expected - 1)) < 1e-10
    assert np.max(np.abs(table[:, 4] - expected - 1e-4)) < 1e-14
    assert (tmp_path / "qlt.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
