"""Relative diffusion: sum rules, shot noise and the generalised-BGK stationary spectrum
(002 Secs. 2-4 and Appendix A; review Sec. 4.4, eqs. (65)-(77)).

Conventions.  ``x = p1.p2`` is the cosine of the angle between two arrival directions.
``F(x, t)`` is the rotation-invariant (J = 0) part of the pair correlation ``<f1 f2>``;
with ``C_l`` the power spectrum of f (002 eq. (1)),

    F(x) = (1/4 pi) sum_k (2k + 1) C_k P_k(x),      C_l = 2 pi int_{-1}^{1} P_l(x) F(x) dx.

``g_K = K^s_ij d_i n d_j n`` (f units); ``Q_1 = g_K / (6 pi)`` is the effective dipole source of
002 eq. (14).  For the relative intensity multiply every C_l (l >= 1) by (4 pi / n)^2.

What the derivation finds (recorded as an erratum): the printed stationary solution (15)
-- and hence (16) and the grey lines of 002 Fig. 2 -- does not solve the stationary
equations (14).  The l >= 1 rows of (14) fix nu_r(x) G(x) only up to a constant (the l = 0
row is *not* stationary: the monopole grows), and the constant is fixed by G having no
P_0 component.  The solution is

    C_l = 3 Q_1 / (2 l (l + 1)) int (x - mu) P_l(x) / nu_r(x) dx,   mu = int x/nu_r / int 1/nu_r,

which for nu_r = nu_0 (1 - x)^p gives mu = p / (2 - p) and the simpler closed form

    C_l = 3 Q_1 / (2^p nu_0) * 2 (1 - p) / (2 - p) * Gamma(1 - p) Gamma(l + p - 1) / (Gamma(p) Gamma(l - p + 3)).

Both forms fall off as l^(2p - 4); they differ in the normalisation and at low l.

Without a source (a homogeneous sky) the spectrum evolves as dC_l/dt = -sum_k W_lk C_k, and by the weak form
sum_k W_lk C_k = 2 pi int L^2(P_l nu_r) F dx, with the weak basis in closed form (s = sqrt((1 - x)/2), a > 0)

    L^2(P_l s^a) = s^a [l(l+1) P_l + 2 a (1 - s^2) P_l'] - (a/4) [a - (a+2) s^2] s^(a-2) P_l:

the theory of measuring nu_r(x) from backtracked pairs (record relative_diffusion.relative_scattering).
"""
from __future__ import annotations

import mpmath
import sympy as sp

from theory.geometry import N_VEC, sphere_integral
from theory.registry import Claim, Derivation, Erratum, KernelSpec, Premise, Step, derivation

x = sp.Symbol("x", real=True)
p = sp.Symbol("p", positive=True)
ell = sp.Symbol("ell", integer=True, positive=True)
m = sp.Symbol("m", integer=True, nonnegative=True)  # ell = m + 1 where a reflection formula needs ell >= 1
j = sp.Symbol("j", integer=True, nonnegative=True)
b = sp.Symbol("b", positive=True)  # b = a + 1 > 0 for int (1 - x)^a
q1 = sp.Symbol("q1", positive=True)
nu0 = sp.Symbol("nu0", positive=True)
T = sp.Symbol("T", positive=True)
n_pix = sp.Symbol("n_pix", positive=True)
ksg = sp.Symbol("ksg", positive=True)  # K^s_ij d_i n d_j n / n^2 (relative-intensity units)
noise = sp.Symbol("noise", positive=True)
cl_sym = sp.Symbol("cl", positive=True)

P_DOMAIN = {p: (0.05, 0.95), ell: (1, 200), q1: (0.1, 3.0), nu0: (0.1, 3.0)}


def mu_power_law(p_=p):
    """mu = int x/nu_r / int 1/nu_r for nu_r ~ (1 - x)^p."""
    return p_ / (2 - p_)


def cl_printed(l=ell, p_=p, q=q1, nu=nu0):
    """002 eq. (16) as printed (with nu_r = nu_0 (1 - x)^p)."""
    return (3 * q / (2 ** p_ * nu) * (p_ * (p_ - 1) / (l * (l + 1)) + 1) * sp.gamma(1 - p_) / sp.gamma(p_)
            / sp.rf(l + p_ - 1, 4 - 2 * p_))


def cl_stationary(l=ell, p_=p, q=q1, nu=nu0):
    """The stationary solution of 002 eq. (14) for nu_r = nu_0 (1 - x)^p (corrected (15)/(16))."""
    return 3 * q / (2 ** p_ * nu) * 2 * (1 - p_) / (2 - p_) * sp.gamma(1 - p_) / sp.gamma(p_) / sp.rf(l + p_ - 1, 4 - 2 * p_)


def cl1_stationary(p_=p, q=q1, nu=nu0):
    """The stationary dipole <C_1> for nu_r = nu_0 (1 - x)^p, with the Gamma(p) of :func:`cl_stationary` cancelled
    ((p)_(4-2p) Gamma(p) = Gamma(4-p)): no cancellation left in floating point as p -> 0."""
    return 6 * q / (2 ** p_ * nu * (2 - p_) ** 2 * (3 - p_))


def cl1_printed(p_=p, q=q1, nu=nu0):
    """002 eq. (16) as printed at l = 1, with its Gamma(p) cancelled likewise."""
    return 3 * q * (2 - p_ + p_ ** 2) / (2 * 2 ** p_ * nu * (1 - p_) * (2 - p_) * (3 - p_))


def rf_to_gamma(e: sp.Expr) -> sp.Expr:
    """Rising factorials by their definition (a)_k = Gamma(a + k)/Gamma(a); (-k)_k = (-1)^k k!."""
    def one(a, k):
        if sp.simplify(a + k) == 0:
            return (-1) ** k * sp.factorial(k)
        return sp.gamma(a + k) / sp.gamma(a)
    return e.replace(sp.RisingFactorial, one)


def _legendre_coeff(l: int, F: sp.Expr) -> sp.Expr:
    """C_l of the J = 0 function F(x): 2 pi int P_l F dx."""
    return sp.expand(2 * sp.pi * sp.integrate(sp.expand(sp.legendre(l, x) * F), (x, -1, 1)))


def legendre_operator(F: sp.Expr) -> sp.Expr:
    """L^2 on a function of x = p1.p2 (either L1^2 or L2^2): -d/dx (1 - x^2) dF/dx."""
    return -sp.diff((1 - x ** 2) * sp.diff(F, x), x)


# ----------------------------------------------------------------------------- sum rules
@derivation("relative_diffusion.sum_rules")
def _sum_rules() -> Derivation:
    Fc = sp.symbols("F_0:7")
    F = sum(c * x ** k for k, c in enumerate(Fc))  # a generic rotation-averaged correlation (degree 6)
    cls = [sp.Rational(1, 4) / sp.pi * _legendre_coeff(k, F) for k in range(7)]  # C_l / (4 pi)
    total = sp.expand(sum((2 * k + 1) * c for k, c in enumerate(cls)))
    g = sp.Matrix(sp.symbols("g_1:4", real=True))  # grad n / n
    A = sp.Matrix(3, 3, lambda i, k: sp.Symbol(f"A_{min(i, k) + 1}{max(i, k) + 1}", real=True))  # int <r r>/(4 pi)
    B = sp.Matrix(3, 3, lambda i, k: sp.Symbol(f"B_{i + 1}{k + 1}", real=True))  # int int <r1 r2^T>/(4 pi)^2
    Ks = A / (2 * T)  # <r_i r_j> -> 2 T K^s_ij
    Kt = (2 * A - B - B.T) / (4 * T)  # (8): int int <dr12 dr12^T>/(4 pi)^2 / (4 T)
    c0 = (g.T * B * g)[0]
    six = (g.T * A * g)[0]  # F(1) = int dp/(4 pi) <(r.g)^2>
    return Derivation(
        id="relative_diffusion.sum_rules",
        title="Sum rules of the ensemble-averaged spectrum: total power, monopole, relative diffusion tensor",
        module="relative_diffusion",
        sources=("002 eq. (5)", "002 eq. (6)", "002 eq. (7)", "002 eq. (8)", "review eq. (69)", "review eq. (70)"),
        premises=[
            Premise("(5): (1/4 pi) <C_l> = int dp1/(4 pi) int dp2/(4 pi) P_l(p1.p2) <(r1.g)(r2.g)>, g = grad n / n; "
                    "with F(x) the rotation average at fixed x = p1.p2 this is (1/2) int P_l F dx",
                    sp.Eq(sp.Symbol("C_l") / (4 * sp.pi), sp.Integral(sp.legendre(2, x) * sp.Function("F")(x), (x, -1, 1)) / 2,
                          evaluate=False)),
            Premise("large T: <r_i r_j> -> 2 T K^s_ij for every direction", sp.Eq(A, 2 * T * sp.MatrixSymbol("K^s", 3, 3),
                                                                              evaluate=False)),
            Premise("(8): the relative diffusion tensor of the separations dr12 = r1 - r2", sp.Eq(
                sp.MatrixSymbol("Ktilde^s", 3, 3), Kt, evaluate=False)),
        ],
        steps=[
            Step("Legendre completeness: sum_l (2l + 1)/2 int P_l F dx = F(1), the equal-direction correlation",
                 sp.Eq(total, F.subs(x, 1), evaluate=False)),
            Step("F(1) = int dp/(4 pi) <(r.g)^2> = g.A.g with A = 2 T K^s: eq. (6)", sp.Eq(six, 2 * T * (g.T * Ks * g)[0],
                                                                                          evaluate=False)),
            Step("C_0/(4 pi) = (1/2) int F dx = g.B.g, B = int int <r1 r2^T>/(4 pi)^2, and (8) eliminates B: eq. (7)",
                 sp.Eq(c0, 2 * T * (g.T * (Ks - Kt) * g)[0], evaluate=False)),
        ],
        claims=[
            Claim("completeness: sum_l (2l+1) C_l / (4 pi) = F(1) (generic degree-6 F)", total, F.subs(x, 1)),
            Claim("(6): (1/4 pi) sum_l (2l+1) <C_l> = 2 T K^s_ij g_i g_j", six, 2 * T * (g.T * Ks * g)[0]),
            Claim("(8) defines a symmetric tensor", Kt - Kt.T, sp.zeros(3, 3)),
            Claim("(7): (1/4 pi) <C_0> = 2 T (K^s - Ktilde^s)_ij g_i g_j", c0, 2 * T * (g.T * (Ks - Kt) * g)[0]),
            Claim("review (69): (1/4 pi) sum_{l>=1} (2l+1) <C_l> = 2 T Ktilde^s_ij g_i g_j", six - c0, 2 * T * (g.T * Kt * g)[0]),
        ],
    )


# ----------------------------------------------------------------------------- noise and estimator
@derivation("relative_diffusion.noise")
def _noise() -> Derivation:
    from sympy.stats import E, Normal

    sigma2 = 2 * T * ksg  # per-pixel variance of delta I = r.grad n / n at large T, from (6)
    omega = 4 * sp.pi / n_pix
    unsold = (2 * ell + 1) / (4 * sp.pi)  # sum_m |Y_lm|^2 at every pixel (observation.shot_noise proves it)
    # <C_l> = (1/(2l+1)) sum_m <|a_lm|^2>, a_lm = omega sum_i dI_i Y*_lm(p_i), pixels independent
    noise_cl = omega ** 2 * sigma2 * n_pix * unsold / (2 * ell + 1)
    s = sp.Symbol("s", positive=True)
    X, Y = Normal("X", 0, s), Normal("Y", 0, s)
    var_real = sp.simplify(E(X ** 4) - E(X ** 2) ** 2)  # a_l0 real, variance s^2 = N
    var_complex = sp.simplify(E((X ** 2 + Y ** 2) ** 2) - E(X ** 2 + Y ** 2) ** 2)  # Re, Im each variance N/2
    N = sp.Symbol("N", positive=True)
    # sum_m |a_lm|^2 = a_l0^2 + 2 sum_{m>0} |a_lm|^2 (real field: a_{l,-m} = (-1)^m conj(a_lm))
    var_sum = var_real.subs(s, sp.sqrt(N)) + ell * 4 * var_complex.subs(s, sp.sqrt(N / 2))
    var_cl = sp.simplify(var_sum / (2 * ell + 1) ** 2)
    return Derivation(
        id="relative_diffusion.noise",
        title="Pixel shot noise of a backtracked sky map, the estimator and its variances",
        module="relative_diffusion",
        sources=("002 eq. (9)", "review eq. (71)", "002 eq. (6)"),
        premises=[
            Premise("at large T the pixel values dI_i = r_i(-T).grad n / n are uncorrelated, each with variance "
                    "2 T K^s_ij d_i n d_j n / n^2 (eq. (6) for a single direction)", sp.Eq(sp.Symbol("sigma^2"), sigma2,
                                                                                             evaluate=False)),
            Premise("a_lm = (4 pi / N_pix) sum_i dI_i Y*_lm(p_i) (equal-area pixels)"),
            Premise("Unsold's theorem: sum_m |Y_lm(p)|^2 = (2l + 1)/(4 pi) (record observation.shot_noise)",
                    sp.Eq(sp.Symbol("S_l"), unsold, evaluate=False)),
            Premise("Gaussian a_lm: a_l0 real with variance N, Re and Im of a_lm (m > 0) independent with variance N/2"),
        ],
        steps=[
            Step("<C_l> = (2l+1)^-1 sum_m (4 pi/N_pix)^2 sigma^2 sum_i |Y_lm(p_i)|^2 = 4 pi sigma^2 / N_pix: (9)",
                 sp.Eq(sp.Symbol("N"), noise_cl, evaluate=False)),
            Step("var |a_l0|^2 = 2 N^2, var |a_lm|^2 = N^2 (m > 0); sum_m |a_lm|^2 = a_l0^2 + 2 sum_{m>0} |a_lm|^2",
                 sp.Eq(sp.Symbol("var_sum"), var_sum, evaluate=False)),
        ],
        claims=[
            Claim("(9): N = (4 pi / N_pix) 2 T K^s_ij d_i n d_j n / n^2", noise_cl, 4 * sp.pi / n_pix * 2 * T * ksg),
            Claim("E[X^4] - E[X^2]^2 = 2 s^4 for a real Gaussian", var_real, 2 * s ** 4),
            Claim("var(C_hat_l) = 2 N^2 / (2l + 1) (noise variance, text below (9))", var_cl, 2 * N ** 2 / (2 * ell + 1)),
            Claim("cosmic variance 2 C_hat_l^2 / (2l + 1): the same algebra with N -> C_hat_l",
                  var_cl.subs(N, cl_sym), 2 * cl_sym ** 2 / (2 * ell + 1)),
        ],
        kernels=[
            KernelSpec("noise_level", 4 * sp.pi / n_pix * 2 * T * ksg, (n_pix, T, ksg), "002 eq. (9)",
                       "pixel shot-noise level N = (4 pi/N_pix) 2 T K^s_ij d_i n d_j n / n^2; ksg = K^s_ij d_i n d_j n / n^2",
                       domain={n_pix: (12.0, 1e6), T: (0.1, 1e3), ksg: (1e-3, 10.0)}),
            KernelSpec("noise_variance", 2 * noise ** 2 / (2 * ell + 1), (noise, ell), "002 eq. (9)",
                       "variance 2 N^2/(2l+1) of the estimator C_hat_l = <C_l> - N from the noise alone",
                       domain={noise: (1e-6, 10.0), ell: (0, 500)}),
            KernelSpec("cosmic_variance", 2 * cl_sym ** 2 / (2 * ell + 1), (cl_sym, ell), "002 eq. (9)",
                       "cosmic variance 2 C_l^2/(2l+1) of an isotropic Gaussian sky",
                       domain={cl_sym: (1e-6, 10.0), ell: (0, 500)}),
        ],
    )


# ----------------------------------------------------------------------------- stationary equation (14)
@derivation("relative_diffusion.stationary_equation")
def _stationary_equation() -> Derivation:
    K = 3
    Cs = sp.symbols(f"C_0:{K + 1}")
    F = sum((2 * k + 1) * Cs[k] * sp.legendre(k, x) for k in range(K + 1)) / (4 * sp.pi)
    cvec = sp.symbols("c_0:3")
    nu_r = sum(c * x ** i for i, c in enumerate(cvec))  # a generic polynomial rate (the algebra needs no more)
    gK = sp.Symbol("g_K", positive=True)  # K^s_ij d_i n d_j n
    Q1 = gK / (6 * sp.pi)
    # source: -<f1 p2.grad f2> - (1 <-> 2) with <f> = (n - 3 p.K grad n)/(4 pi): +3/(4 pi)^2 (p1.K grad n)(p2.grad n) + sym
    a = sp.Matrix(sp.symbols("a_1:4", real=True))
    bb = sp.Matrix(sp.symbols("b_1:4", real=True))
    phi_ = sp.Symbol("varphi", real=True)
    xx = sp.Symbol("x", real=True)
    p2 = sp.Matrix([sp.sqrt(1 - xx ** 2) * sp.cos(phi_), sp.sqrt(1 - xx ** 2) * sp.sin(phi_), xx])  # p1 = e_z
    azimuthal = sp.simplify(sp.integrate(p2.dot(bb), (phi_, 0, 2 * sp.pi)) / (2 * sp.pi))
    sphere_avg = sp.expand(sphere_integral(sp.expand(N_VEC.dot(a) * N_VEC.dot(bb))) / (4 * sp.pi))
    KA = sp.Matrix(3, 3, lambda i, k: 0 if i == k else (sp.Symbol(f"k_{min(i, k)}{max(i, k)}") * (1 if i < k else -1)))
    S = 2 * gK * x / (4 * sp.pi) ** 2
    rows = [sp.expand(4 * sp.pi / 2 * sp.integrate(sp.expand(sp.legendre(ell_, x) * (S - nu_r * legendre_operator(F))),
                                                    (x, -1, 1))) for ell_ in range(K + 1)]
    paper = [sp.expand(Q1 * (1 if ell_ == 1 else 0) - sum(
        Cs[k] * k * (k + 1) * sp.Rational(2 * k + 1, 2) * sp.integrate(nu_r * sp.legendre(ell_, x) * sp.legendre(k, x), (x, -1, 1))
        for k in range(K + 1))) for ell_ in range(K + 1)]
    Lop = [sp.expand(legendre_operator(sp.legendre(k, x)) - k * (k + 1) * sp.legendre(k, x)) for k in range(9)]
    dF1 = sp.diff(F, x).subs(x, 1)
    # sum over all rows l = 0..deg of (2l+1) x row: 4 pi [S(1) - nu_r(1) (L^2 F)(1)], (L^2 F)(1) = 2 F'(1)
    Fmax = K + len(cvec) - 1
    rows_all = [sp.expand(4 * sp.pi / 2 * sp.integrate(sp.expand(sp.legendre(l_, x) * (S - nu_r * legendre_operator(F))),
                                                        (x, -1, 1))) for l_ in range(Fmax + 1)]
    total_rate = sp.expand(sum((2 * l_ + 1) * r for l_, r in enumerate(rows_all)))
    return Derivation(
        id="relative_diffusion.stationary_equation",
        title="Generalised BGK: the evolution of <C_l> in the Legendre basis, eq. (14), and why nu_r(1) = 0",
        module="relative_diffusion",
        sources=("002 eq. (12)", "002 eq. (13)", "002 eq. (14)", "002 eq. (A1)", "review eq. (75)", "review eq. (76)"),
        premises=[
            Premise("(12) with the BGK-type ansatz (13); J^2 annihilates the J = 0 part, which alone enters C_l (A1)"),
            Premise("J = 0 part of <f1 f2>: F(x) = (1/4 pi) sum_k (2k+1) C_k P_k(x), x = p1.p2",
                    sp.Eq(sp.Function("F")(x), F, evaluate=False)),
            Premise("gradient term (review (75)): -<f1 p2.grad f2> - (1<->2) = 3/(4 pi)^2 (p1.K grad n)(p2.grad n) + (1<->2)"),
            Premise("(L1^2 + L2^2)/2 acts on a function of x alone as the Legendre operator -d/dx (1 - x^2) d/dx",
                    sp.Eq(sp.Symbol("L^2 F"), legendre_operator(sp.Function("F")(x)), evaluate=False)),
        ],
        steps=[
            Step("azimuthal average of p2 about p1 (= e_z) at fixed x: x p1", sp.Eq(sp.Symbol("<p2.b>"), azimuthal,
                                                                                    evaluate=False)),
            Step("rotation average of (p1.a)(p2.b) = x (a.b)/3, so the J = 0 source is S(x) = 2 g_K x/(4 pi)^2",
                 sp.Eq(sp.Symbol("S"), S, evaluate=False)),
            Step("project dF/dt = S - nu_r(x) L^2 F on P_l: dC_l/dt = Q_1 delta_l1 - sum_k A_lk C_k", sp.Eq(
                sp.Symbol("dC_1/dt"), rows[1], evaluate=False)),
            Step("the k = 0 column vanishes (L^2 P_0 = 0): the monopole never feeds back, and the l = 0 row gives "
                 "dC_0/dt -- the monopole is not stationary, so (14) holds for l >= 1 only"),
        ],
        claims=[
            Claim("azimuthal average about p1 = e_z: <p2.b> = x b_z", azimuthal, xx * bb[2]),
            Claim("sphere average <(n.a)(n.b)> = a.b/3", sphere_avg, sp.expand(a.dot(bb) / 3)),
            Claim("the antisymmetric part of K drops out of the source: g.K^A.g = 0", (a.T * KA * a)[0], 0),
            *[Claim(f"Legendre operator: L^2 P_{k} = {k * (k + 1)} P_{k}", e, 0) for k, e in enumerate(Lop)],
            Claim("C_l = 2 pi int P_l F dx inverts F = (1/4 pi) sum (2k+1) C_k P_k",
                  sp.Matrix([_legendre_coeff(k, F) for k in range(K + 1)]), sp.Matrix(Cs)),
            Claim("(14): the projected rows equal Q_1 delta_l1 - sum_k C_k k(k+1)(2k+1)/2 int nu_r P_l P_k, Q_1 = g_K/(6 pi)",
                  sp.Matrix(rows), sp.Matrix(paper)),
            Claim("d/dt sum_l (2l+1) C_l = 4 pi [S(1) - 2 nu_r(1) F'(1)]: conserved for every source-free state iff nu_r(1) = 0",
                  total_rate, sp.expand(4 * sp.pi * (S.subs(x, 1) - 2 * nu_r.subs(x, 1) * dF1))),
            Claim("with nu_r(1) = 0 the source feeds sum_l (2l+1) C_l at 3 Q_1 = g_K/(2 pi), the rate of sum rule (6)",
                  4 * sp.pi * S.subs(x, 1), 3 * Q1),
        ],
    )


# ----------------------------------------------------------------------------- stationary solution (15), (16)
@derivation("relative_diffusion.stationary_solution")
def _stationary_solution() -> Derivation:
    # --- the Legendre moments of (1 - x)^a, a = b - 1 > -1
    coef = sp.rf(-ell, j) * sp.rf(ell + 1, j) / sp.factorial(j) ** 2  # P_l(x) = sum_j coef ((1 - x)/2)^j
    u = sp.Symbol("u", positive=True)  # u = 1 - x
    moment_j = sp.integrate(u ** (b - 1) * (u / 2) ** j, (u, 0, 2), conds="none")
    term_ratio = sp.gammasimp(1 / (b + j) - rf_to_gamma(sp.rf(b, j) / (b * sp.rf(b + 1, j))))
    # Pfaff-Saalschuetz, 3F2(-n, al, be; ga, 1 + al + be - ga - n; 1) = (ga-al)_n (ga-be)_n / ((ga)_n (ga-al-be)_n)
    n_, al, be, ga = ell, ell + 1, b, b + 1
    fifth = 1 + al + be - ga - n_
    saal = sp.rf(ga - al, n_) * sp.rf(ga - be, n_) / (sp.rf(ga, n_) * sp.rf(ga - al - be, n_))
    # reversal (a)_k = (-1)^k (1 - a - k)_k turns (ga - al)_n = (b - l)_l into (-1)^l (1 - b)_l; (-l)_l = (-1)^l l!
    reversal = sp.simplify(((-1) ** ell * sp.rf(1 - b - ell, ell) - sp.rf(b, ell)).rewrite(sp.gamma).subs(ell, m + 1))
    saal_rev = (-1) ** ell * sp.rf(1 - b, ell) * sp.rf(ga - be, n_) / (sp.rf(ga, n_) * (-1) ** ell * sp.factorial(ell))
    I_of_b = 2 ** b / b * saal_rev  # int (1 - x)^(b-1) P_l dx

    def positive_form(bval):
        e = rf_to_gamma(I_of_b.subs(b, bval)).subs(ell, m + 1)
        return sp.gammasimp(sp.simplify(e)).subs(m, ell - 1)

    I0 = positive_form(1 - p)  # int (1 - x)^-p P_l
    I1 = positive_form(2 - p)  # int (1 - x)^(1-p) P_l
    I0_stated = 2 ** (1 - p) * sp.gamma(1 - p) * sp.gamma(ell + p) / (sp.gamma(p) * sp.gamma(ell + 2 - p))
    J = I0 - I1  # int x (1 - x)^-p P_l,  x = 1 - (1 - x)
    mom0 = sp.integrate(u ** (-p), (u, 0, 2), conds="none")  # int (1 - x)^-p dx
    mom1 = sp.integrate((1 - u) * u ** (-p), (u, 0, 2), conds="none")  # int x (1 - x)^-p dx
    mu = sp.simplify(mom1 / mom0)
    printed15 = sp.Rational(3, 2) * q1 / (nu0 * ell * (ell + 1)) * J
    solution = sp.Rational(3, 2) * q1 / (nu0 * ell * (ell + 1)) * (J - mu * I0)

    def gs(e):
        return sp.simplify(sp.gammasimp(rf_to_gamma(e).subs(ell, m + 1))).subs(m, ell - 1)

    printed16 = rf_to_gamma(cl_printed())
    stated = rf_to_gamma(cl_stationary())
    # --- the x-space form of the stationary l >= 1 rows: nu_r G = (3/2) Q_1 (x - mu) + c, c fixed by int G dx = 0
    Q1s = sp.Symbol("Q_1", positive=True)
    cvec = sp.symbols("c_0:3")
    nu_poly = sum(c * x ** i for i, c in enumerate(cvec))
    mu_s = sp.Symbol("mu", real=True)
    rows_x = sp.Matrix([sp.expand(sp.integrate(sp.legendre(k, x) * nu_poly * sp.Rational(3, 2) * Q1s * (x - mu_s) / nu_poly,
                                               (x, -1, 1))) for k in range(4)])

    # --- independent exact checks: P_l as a polynomial, int x^k (1 - x)^-p by the binomial expansion of x = 1 - (1 - x)
    def exact_cl_scaled(l: int, pv: sp.Rational, printed: bool, moments: list) -> sp.Rational:
        """2^p C_l (Q_1 = nu_0 = 1) in rational arithmetic; moments[k] = 2^(p-1) int x^k (1 - x)^-p dx."""
        poly = sp.Poly(sp.legendre_poly(l, x), x)
        Jl = sum(c * moments[k + 1] for (k,), c in poly.terms())
        Il = sum(c * moments[k] for (k,), c in poly.terms())
        return sp.Rational(3, 2) / (l * (l + 1)) * 2 * (Jl if printed else Jl - mu_power_law(pv) * Il)

    LMAX = 40
    exact_claims = []
    for pv in (sp.Rational(1, 3), sp.Rational(1, 2), sp.Rational(2, 3)):
        # int x^k (1 - x)^-p dx = 2^(1-p) sum_i binom(k, i) (-1)^i 2^i/(i - p + 1)  (binomial expansion of x = 1 - (1 - x))
        moments = [sum(sp.binomial(k, i) * (-1) ** i * sp.Integer(2) ** i / (i - pv + 1) for i in range(k + 1))
                   for k in range(LMAX + 2)]
        got = sp.Matrix([exact_cl_scaled(l, pv, False, moments) for l in range(1, LMAX + 1)])
        want = sp.Matrix([sp.expand_func(rf_to_gamma(2 ** pv * cl_stationary(l, pv, 1, 1))) for l in range(1, LMAX + 1)])
        exact_claims.append(Claim(f"exact (rational, 2^-p factored out) for l = 1..{LMAX} at p = {pv}: stationary closed form",
                                  got, want))
        got = sp.Matrix([exact_cl_scaled(l, pv, True, moments) for l in range(1, LMAX + 1)])
        want = sp.Matrix([sp.expand_func(rf_to_gamma(2 ** pv * cl_printed(l, pv, 1, 1))) for l in range(1, LMAX + 1)])
        exact_claims.append(Claim(f"exact for l = 1..{LMAX} at p = {pv}: printed (16) is printed (15)", got, want))
    p_irr = 1 / sp.sqrt(5)  # an irrational exponent, checked by quadrature at 30 digits
    with mpmath.workdps(45):  # independent quadrature of (15) with the mu term; 1 - x = s^(1/(1-p)) makes it smooth
        pm = mpmath.mpf(1) / mpmath.sqrt(5)
        mum = pm / (2 - pm)

        def integrand(s_, l):
            xv = 1 - s_ ** (1 / (1 - pm))
            return (xv - mum) * mpmath.legendre(l, xv) / (1 - pm)

        quad = sp.Matrix([sp.Float(mpmath.mpf(3) / (2 * l * (l + 1)) * mpmath.quad(
            lambda s_, l=l: integrand(s_, l), [0, 2 ** (1 - pm)]), 35) for l in (1, 2, 3, 5, 8)])
    quad_want = sp.Matrix([cl_stationary(l, p_irr, 1, 1) for l in (1, 2, 3, 5, 8)])
    asym_const = 3 * q1 / (2 ** p * nu0) * 2 * (1 - p) / (2 - p) * sp.gamma(1 - p) / sp.gamma(p)
    asym_const_printed = 3 * q1 / (2 ** p * nu0) * sp.gamma(1 - p) / sp.gamma(p)
    gamma_ratio = sp.gamma(ell + p - 1) / sp.gamma(ell - p + 3)
    return Derivation(
        id="relative_diffusion.stationary_solution",
        title="The stationary spectrum of the generalised BGK model for nu_r = nu_0 (1 - x)^p (002 eqs. (15), (16))",
        module="relative_diffusion",
        sources=("002 eq. (14)", "002 eq. (15)", "002 eq. (16)", "review eq. (77)", "002 Sec. 4"),
        premises=[
            Premise("the stationary l >= 1 rows of (14), with G(x) = sum_{k>=1} C_k k(k+1)(2k+1)/2 P_k(x), "
                    "int nu_r P_l G dx = Q_1 delta_l1 for l >= 1"),
            Premise("nu_r(x) = nu_0 (1 - x)^p, 0 < p < 1 (002 Sec. 4)", sp.Eq(sp.Symbol("nu_r"), nu0 * (1 - x) ** p, evaluate=False)),
            Premise("P_l(x) = 2F1(-l, l+1; 1; (1 - x)/2) (DLMF 18.5.7 with alpha = beta = 0)",
                    sp.Eq(sp.Symbol("P_l"), sp.Sum(coef * ((1 - x) / 2) ** j, (j, 0, ell)), evaluate=False)),
            Premise("Pfaff-Saalschuetz (DLMF 16.4.3): a balanced terminating 3F2 at 1",
                    sp.Eq(sp.hyper([-n_, al, be], [ga, fifth], 1), saal, evaluate=False)),
            Premise("Gamma(l + a)/Gamma(l + b) ~ l^(a - b) as l -> oo (DLMF 5.11.12)"),
        ],
        steps=[
            Step("the l >= 1 rows fix nu_r G up to a constant: nu_r G = (3/2) Q_1 (x - mu); G has no P_0 part, so "
                 "int (x - mu)/nu_r dx = 0", sp.Eq(sp.Symbol("mu"), sp.Integral(x / sp.Symbol("nu_r"), (x, -1, 1))
                                                  / sp.Integral(1 / sp.Symbol("nu_r"), (x, -1, 1)), evaluate=False)),
            Step("projecting G: C_l = 3 Q_1/(2 l (l+1)) int (x - mu) P_l / nu_r dx (the print drops mu)",
                 sp.Eq(sp.Symbol("C_l"), solution, evaluate=False)),
            Step("int (1 - x)^a P_l term by term: 2^(a+1)/(a+1) 3F2(-l, l+1, a+1; 1, a+2; 1), balanced",
                 sp.Eq(sp.Symbol("I_l(a)"), I_of_b.subs(b, sp.Symbol("a") + 1), evaluate=False)),
            Step("the stationary closed form", sp.Eq(sp.Symbol("C_l"), cl_stationary(), evaluate=False)),
            Step("row l = 0: dC_0/dt = 3 Q_1 mu, so the monopole takes the fraction mu = p/(2-p) of the sum-rule rate 3 Q_1; "
                 "the l >= 1 spectrum is stationary and summable (C_l ~ l^(2p-4)), so the rest, 3 Q_1 (1 - mu), is carried "
                 "to l -> oo (nu_r L^2 F is 0 * oo at x = 1)",
                 sp.Eq(sp.Symbol("dC_0/dt"), 3 * Q1s * mu_power_law(), evaluate=False)),
        ],
        claims=[
            Claim("x-space rows: int P_l nu_r [(3/2) Q_1 (x - mu)/nu_r] dx = Q_1 delta_l1 - 3 Q_1 mu delta_l0 (l = 0..3)",
                  rows_x, sp.Matrix([-3 * Q1s * mu_s, Q1s, 0, 0])),
            Claim("int (1 - x)^a ((1 - x)/2)^j dx = 2^(a+1)/(a+j+1) (term by term; u = 1 - x)", moment_j, 2 ** b / (b + j)),
            Claim("1/(a + 1 + j) = (a+1)_j / ((a+1) (a+2)_j): the series is a 3F2", term_ratio, 0),
            Claim("the 3F2 is balanced (Saalschuetzian)", fifth, 1),
            Claim("reversal of a rising factorial: (-1)^l (1 - a - l)_l = (a)_l (l >= 1)", reversal, 0),
            Claim("the Saalschuetz value with the reversal applied", rf_to_gamma(saal - saal_rev).subs(ell, m + 1), 0, symbolic=False,
                  domain={b: (0.05, 0.95), m: (0, 30)}),
            Claim("int (1 - x)^-p P_l dx = 2^(1-p) Gamma(1-p) Gamma(l+p) / (Gamma(p) Gamma(l+2-p))", gs(I0 - I0_stated), 0,
                  domain=P_DOMAIN),
            Claim("mu = int x/nu_r / int 1/nu_r = p/(2 - p)", mu, mu_power_law()),
            Claim("the print's (16) is its (15) evaluated (symbolic l)", gs(printed15 - printed16), 0, domain=P_DOMAIN),
            Claim("the stationary solution in closed form (symbolic l)", gs(solution - stated), 0, domain=P_DOMAIN),
            Claim("its dipole without Gamma(p): <C_1> = 6 Q_1/(2^p nu_0 (2-p)^2 (3-p))",
                  sp.simplify(sp.gammasimp(rf_to_gamma(cl_stationary(1)) - cl1_stationary())), 0, domain=P_DOMAIN),
            Claim("the printed (16) at l = 1 without Gamma(p): 3 Q_1 (2-p+p^2)/(2^(p+1) nu_0 (1-p)(2-p)(3-p))",
                  sp.simplify(sp.gammasimp(rf_to_gamma(cl_printed(1)) - cl1_printed())), 0, domain=P_DOMAIN),
            Claim("printed / stationary = (2 - p)(l^2 + l - p(1 - p)) / (2 (1 - p) l (l + 1)) (symbolic l)",
                  gs(printed16 / stated), (2 - p) * (ell ** 2 + ell - p * (1 - p)) / (2 * (1 - p) * ell * (ell + 1)), domain=P_DOMAIN),
            *exact_claims,
            Claim("30-digit quadrature at irrational p = 1/sqrt(5), l = 1, 2, 3, 5, 8", quad, quad_want, symbolic=False),
            Claim("large l: C_l / [Gamma(l+p-1)/Gamma(l-p+3)] is the constant of the l^(2p-4) asymptote", gs(stated / gamma_ratio),
                  asym_const),
            Claim("printed asymptote constant 3 Q_1 Gamma(1-p)/(2^p nu_0 Gamma(p))",
                  sp.limit(gs(printed16 / gamma_ratio / asym_const_printed), ell, sp.oo), 1),
        ],
        errata=[Erratum(
            "002 eq. (15)",
            "<C_l> = (3/2) Q_1/(l(l+1)) int x P_l(x)/nu_r(x) dx; hence (16) "
            "3 Q_1/2^p (p(p-1)/(l(l+1)) + 1) Gamma(1-p) Gamma(l+p-1)/(Gamma(p) Gamma(l-p+3))",
            "<C_l> = (3/2) Q_1/(l(l+1)) int (x - mu) P_l(x)/nu_r(x) dx, mu = int x/nu_r / int 1/nu_r; for nu_r = nu_0 (1-x)^p: "
            "mu = p/(2-p) and <C_l> = 3 Q_1/(2^p nu_0) 2(1-p)/(2-p) Gamma(1-p) Gamma(l+p-1)/(Gamma(p) Gamma(l-p+3))",
            "(15) solves (14) only if (14) also held for l = 0, which it cannot (the k = 0 column of (14) vanishes and the "
            "monopole grows); the l >= 1 rows leave an additive constant in nu_r G that int G dx = 0 fixes. "
            "The printed form leaves a residual (3/2) Q_1 (m/2) int nu_r P_l dx, m = int x/nu_r, in every row l >= 1",
            printed_expr=cl_printed(), corrected_expr=cl_stationary())],
        kernels=[
            KernelSpec("cl_power_law", cl_stationary(), (ell, p, q1, nu0), "002 eq. (16)",
                       "stationary <C_l> of 002 eq. (14) for nu_r = nu0 (1 - x)^p (the corrected (16)); f units, source q1 = Q_1",
                       domain=P_DOMAIN),
            KernelSpec("cl1_power_law", cl1_stationary(), (p, q1, nu0), "002 eq. (16)",
                       "stationary dipole <C_1> of 002 eq. (14) for nu_r = nu0 (1 - x)^p, Gamma(p) cancelled (exact as p -> 0)",
                       domain={p: (0.05, 0.95), q1: (0.1, 3.0), nu0: (0.1, 3.0)}),
            KernelSpec("cl1_power_law_printed", cl1_printed(), (p, q1, nu0), "002 eq. (16)",
                       "002 eq. (16) as printed at l = 1, Gamma(p) cancelled (exact as p -> 0)",
                       domain={p: (0.05, 0.95), q1: (0.1, 3.0), nu0: (0.1, 3.0)}),
            KernelSpec("cl_power_law_printed", cl_printed(), (ell, p, q1, nu0), "002 eq. (16)",
                       "002 eq. (16) as printed (it does not solve (14); see the errata) -- the grey lines of 002 Fig. 2",
                       domain=P_DOMAIN),
            KernelSpec("cl_power_law_asymptote", asym_const * ell ** (2 * p - 4), (ell, p, q1, nu0), "002 eq. (16)",
                       "large-l asymptote of the stationary <C_l>: const * l^(2p-4)", domain=P_DOMAIN),
            KernelSpec("monopole_rate", 3 * q1 * mu_power_law(), (p, q1), "002 eq. (14)",
                       "dC_0/dt = 3 Q_1 p/(2-p) in the stationary state (row l = 0 of (14))",
                       domain={p: (0.05, 0.95), q1: (0.1, 3.0)}),
        ],
    )


# ----------------------------------------------------------------------------- relative scattering rate, time-dependent
def _coeffs_to_s(e: sp.Expr, P: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """Write the coefficients of P(x) and P'(x) in a linear form ``c0 P + c1 P'`` in s = sqrt((1 - x)/2), x = 1 - 2 s^2
    (s > 0); P(x) and P'(x) stay as they are."""
    e = sp.expand(e)
    dP = sp.Derivative(P, x)
    c1 = e.coeff(dP)
    c0 = sp.expand(e - c1 * dP).coeff(P)
    if sp.expand(e - c0 * P - c1 * dP) != 0:
        raise ValueError("not linear in P and P'")

    def to_s(c):
        return sp.expand(sp.powsimp(sp.expand(c.subs(x, 1 - 2 * s ** 2))))

    return to_s(c0) * P + to_s(c1) * dP


@derivation("relative_diffusion.relative_scattering")
def _relative_scattering() -> Derivation:
    s = sp.Symbol("s", positive=True)  # s = sin(psi/2) = sqrt((1 - x)/2), psi the opening angle of the pair
    a = sp.Symbol("a", positive=True)  # exponent of the weak basis P_l s^a
    lsym = sp.Symbol("l", integer=True, nonnegative=True)
    t = sp.Symbol("t", nonnegative=True)
    sx = sp.sqrt((1 - x) / 2)
    dx_ds = sp.diff(1 - 2 * s ** 2, s)  # -4 s: int_{-1}^{1} f dx = int_0^1 f(1 - 2 s^2) 4 s ds

    def integral_s(f_s):
        """int_{-1}^{1} f dx for f written in s: int_0^1 f 4 s ds (x from 1 to -1 as s from 0 to 1)."""
        return sp.integrate(sp.expand(-f_s * dx_ds), (s, 0, 1))

    def in_s(f_x):
        return sp.expand(sp.powsimp(sp.expand(f_x.subs(x, 1 - 2 * s ** 2))))

    K = 3
    Cs = sp.symbols(f"C_0:{K + 1}")
    F = sum((2 * k + 1) * Cs[k] * sp.legendre(k, x) for k in range(K + 1)) / (4 * sp.pi)
    cvec = sp.symbols("c_0:3")
    nu_r = sum(c * x ** i for i, c in enumerate(cvec))  # a generic polynomial rate

    def W_poly(l_, k_):
        return k_ * (k_ + 1) * sp.Rational(2 * k_ + 1, 2) * sp.integrate(
            sp.expand(nu_r * sp.legendre(l_, x) * sp.legendre(k_, x)), (x, -1, 1))

    Wm = sp.Matrix(K + 1, K + 1, lambda l_, k_: sp.expand(W_poly(l_, k_)))
    # --- 1. the source-free rows: dC_l/dt = 2 pi int P_l (-nu_r L^2 F) dx
    rows = sp.Matrix([sp.expand(2 * sp.pi * sp.integrate(sp.expand(-sp.legendre(l_, x) * nu_r * legendre_operator(F)),
                                                          (x, -1, 1))) for l_ in range(K + 1)])
    # --- 2a. the weak form for a polynomial rate
    weak_lhs = sp.Matrix(K + 1, K + 1, lambda l_, k_: sp.expand(sp.integrate(
        sp.expand(sp.legendre(l_, x) * nu_r * legendre_operator(sp.legendre(k_, x))), (x, -1, 1))))
    weak_rhs = sp.Matrix(K + 1, K + 1, lambda l_, k_: sp.expand(sp.integrate(
        sp.expand(legendre_operator(sp.legendre(l_, x) * nu_r) * sp.legendre(k_, x)), (x, -1, 1))))
    W_over = sp.Matrix(K + 1, K + 1, lambda l_, k_: sp.expand(
        k_ * (k_ + 1) * sp.integrate(sp.expand(nu_r * sp.legendre(l_, x) * sp.legendre(k_, x)), (x, -1, 1))))
    weak_rows = sp.Matrix([sp.expand(2 * sp.pi * sp.integrate(sp.expand(legendre_operator(sp.legendre(l_, x) * nu_r) * F),
                                                               (x, -1, 1))) for l_ in range(K + 1)])
    # --- 2b. the weak form for nu_r = s^j (odd j: not a polynomial in x), the integrals done in s
    weak_s_claims = []
    for jj in (1, 2, 3, 4):
        nu_j = sx ** jj
        lhs = sp.Matrix(K + 1, K + 1, lambda l_, k_, nu_j=nu_j: integral_s(
            in_s(sp.legendre(l_, x) * nu_j * legendre_operator(sp.legendre(k_, x)))))
        rhs = sp.Matrix(K + 1, K + 1, lambda l_, k_, nu_j=nu_j: integral_s(
            in_s(legendre_operator(sp.legendre(l_, x) * nu_j) * sp.legendre(k_, x))))
        Wj = sp.Matrix(K + 1, K + 1, lambda l_, k_, nu_j=nu_j: k_ * (k_ + 1) * integral_s(
            in_s(nu_j * sp.legendre(l_, x) * sp.legendre(k_, x))))
        weak_s_claims.append(Claim(
            f"weak form for nu_r = s^{jj} (exact, in s on [0, 1]): int L^2(P_l s^{jj}) P_k dx = int P_l s^{jj} L^2 P_k dx "
            f"(l, k = 0..{K})", rhs, lhs))
        weak_s_claims.append(Claim(
            f"... = k(k+1) int s^{jj} P_l P_k dx = 2 W_lk/(2k+1) for nu_r = s^{jj}", lhs, Wj))
    # --- 3. the closed form of the weak basis L^2(P s^a)
    P = sp.Function("P")(x)
    dP = sp.Derivative(P, x)
    legendre_eq = (2 * x * dP - lsym * (lsym + 1) * P) / (1 - x ** 2)  # P'' from Legendre's equation
    L_basis = sp.expand(legendre_operator(P * sx ** a).subs(sp.Derivative(P, (x, 2)), legendre_eq))

    def closed(Pe, dPe, s_=s, a_=a, l_=lsym):
        """L^2(P_l s^a) = s^a [l(l+1) P + 2 a (1 - s^2) P'] - (a/4) [a - (a+2) s^2] s^(a-2) P."""
        return (s_ ** a_ * (l_ * (l_ + 1) * Pe + 2 * a_ * (1 - s_ ** 2) * dPe)
                - a_ / 4 * (a_ - (a_ + 2) * s_ ** 2) * s_ ** (a_ - 2) * Pe)

    closed_s = closed(P, dP)
    closed_x_over = sp.expand(sp.powsimp(sp.expand(closed(P, dP, s_=sx) / sx ** a)))
    basis_x_over = sp.expand(sp.powsimp(sp.expand(L_basis / sx ** a)))
    concrete = []
    for av in (sp.Integer(1), sp.Integer(2), sp.Integer(3), sp.Rational(1, 2)):
        got = sp.Matrix([in_s(legendre_operator(sp.legendre(l_, x) * sx ** av)) for l_ in range(7)])
        want = sp.Matrix([sp.expand(closed(sp.legendre(l_, x), sp.diff(sp.legendre(l_, x), x), a_=av, l_=l_)
                                    .subs(x, 1 - 2 * s ** 2)) for l_ in range(7)])
        concrete.append(Claim(f"closed form at a = {av}, l = 0..6 (sympy.legendre)", got, want))
    flux = _coeffs_to_s((1 - x ** 2) * sp.diff(P * sx ** a, x), P, s)
    # --- 4. the transition matrix from pair averages
    M0 = sp.Matrix(7, 7, lambda l_, l0: sp.Rational(2 * l0 + 1, 2) * sp.integrate(
        sp.legendre(l_, x) * sp.legendre(l0, x), (x, -1, 1)))
    dM0 = sp.Matrix(K + 1, K + 1, lambda l_, l0: sp.expand(sp.Rational(2 * l0 + 1, 2) * sp.integrate(
        sp.expand(sp.legendre(l_, x) * (-nu_r * legendre_operator(sp.legendre(l0, x)))), (x, -1, 1))))
    # --- 5. power conservation: sum over every l that P_l nu_r P_k reaches (deg nu_r + k <= 5 < 7)
    LSUM = 6
    power = sp.Matrix(1, K + 1, lambda _, k_: sp.expand(sum((2 * l_ + 1) * W_poly(l_, k_) for l_ in range(LSUM + 1))))
    power_stated = sp.Matrix(1, K + 1, lambda _, k_: sp.expand(k_ * (k_ + 1) * (2 * k_ + 1) * nu_r.subs(x, 1)))
    # --- 6. the pair-angle diffusion
    g = sp.Function("g")(x)
    nuf = sp.Function("nu_r")(x)
    generator = sp.expand(-nuf * legendre_operator(g))
    drift = -2 * x * nuf
    variance = 2 * nuf * (1 - x ** 2)
    nu_pl = nu0 * (1 - x) ** p
    psi_of_x = sp.acos(x)  # the opening angle; Ito: drift b psi' + (sigma^2/2) psi'', variance rate sigma^2 psi'^2
    psi_drift = drift * sp.diff(psi_of_x, x) + variance / 2 * sp.diff(psi_of_x, x, 2)
    psi_var = variance * sp.diff(psi_of_x, x) ** 2
    u = sp.Function("u_l0")(x, t)
    l0 = sp.Symbol("l_0", integer=True, nonnegative=True)
    Pl = sp.legendre(lsym, x)  # P_l(x), unevaluated (symbolic l)
    Mdef = sp.Eq(sp.Symbol("M_l,l0(t)"), (2 * l0 + 1) / sp.Integer(2) * sp.Integral(Pl * u, (x, -1, 1)), evaluate=False)
    # --- the weak integrand for any rate phi(y), y = ln s (what numerics.relative_scattering.weak_integrand evaluates):
    # int L^2(P phi) u dx = int I u dy, dx = 4 s^2 dy (x from 1 to -1 as y from -oo to 0)
    yv = sp.Symbol("y", negative=True)
    phi = sp.Function("phi")
    sy = sp.exp(yv)
    xy = 1 - 2 * sy ** 2
    u_y = sp.Function("U")(yv)  # P(x(y)) as a function of y, to differentiate through x(y)
    # L^2 g = -d/dx (1 - x^2) dg/dx with d/dx = (dx/dy)^-1 d/dy, dx/dy = -4 s^2
    ddx = lambda g: sp.diff(g, yv) / sp.diff(xy, yv)  # noqa: E731
    g_y = u_y * phi(yv)
    L2g = -ddx((1 - xy ** 2) * ddx(g_y))
    lhs_y = sp.expand(sp.simplify(4 * sy ** 2 * L2g))
    # express U' = dP/dx * dx/dy and U'' through P', P'' and eliminate P'' with Legendre's equation
    Px, dPx, d2Px = sp.symbols("P_x dP_x d2P_x")
    dU = dPx * sp.diff(xy, yv)
    d2U = d2Px * sp.diff(xy, yv) ** 2 + dPx * sp.diff(xy, yv, 2)
    lhs_sub = lhs_y.subs(sp.Derivative(u_y, (yv, 2)), d2U).subs(sp.Derivative(u_y, yv), dU).subs(u_y, Px)
    lhs_sub = sp.expand(lhs_sub.subs(d2Px, (2 * xy * dPx - lsym * (lsym + 1) * Px) / (1 - xy ** 2)))
    fy, fyy = sp.Derivative(phi(yv), yv), sp.Derivative(phi(yv), (yv, 2))
    I_stated = (4 * sy ** 2 * lsym * (lsym + 1) * Px * phi(yv) + 2 * fy * (1 - xy ** 2) * dPx
                - Px * ((1 - sy ** 2) * fyy - 2 * sy ** 2 * fy))
    weak_y = sp.simplify(lhs_sub - sp.expand(I_stated))
    pl_identity = sp.Matrix([sp.expand((1 - x ** 2) * sp.diff(sp.legendre(k_, x), x)
                                       - k_ * (sp.legendre(k_ - 1, x) - x * sp.legendre(k_, x))) for k_ in range(1, 9)])
    nu_sym = sp.Function("nu_r")(x)
    Ft = sp.Function("F")(x, t)
    return Derivation(
        id="relative_diffusion.relative_scattering",
        title="The time-dependent generalised BGK model: transition rates W[nu_r], their weak form, and the pair-angle "
              "diffusion",
        module="relative_diffusion",
        sources=("002 eq. (12)", "002 eq. (13)", "002 eq. (14)", "002 eq. (A1)"),
        premises=[
            Premise("homogeneous sky (no gradient source): the J = 0 part of <f1 f2> obeys dF/dt = -nu_r(x) L^2 F, "
                    "(12)-(13) projected as in relative_diffusion.stationary_equation",
                    sp.Eq(sp.Derivative(Ft, t), nu_sym * sp.Derivative((1 - x ** 2) * sp.Derivative(Ft, x), x),
                          evaluate=False)),
            Premise("F(x) = (1/4 pi) sum_k (2k+1) C_k P_k(x), C_l = 2 pi int P_l F dx (A1)",
                    sp.Eq(sp.Function("F")(x), F, evaluate=False)),
            Premise("s = sin(psi/2) = sqrt((1 - x)/2), psi the opening angle: x = 1 - 2 s^2, 1 - x^2 = 4 s^2 (1 - s^2), "
                    "dx = -4 s ds", sp.Eq(s, sx, evaluate=False)),
            Premise("Legendre's equation", sp.Eq((1 - x ** 2) * sp.Derivative(P, (x, 2)),
                                                 2 * x * dP - lsym * (lsym + 1) * P, evaluate=False)),
            Premise("pair transition matrix: u_l0(x, t) = E[P_l0(p1(-t).p2(-t)) | n1.n2 = x], the J = 0 pair correlation of a "
                    "homogeneous statistically isotropic pure-l0 sky, normalised to u_l0(x, 0) = P_l0(x); "
                    "M_l,l0(t) = C_l(t)/C_l0(0)", Mdef),
        ],
        steps=[
            Step("project on P_l: dC_l/dt = -sum_k W_lk C_k, W_lk = k(k+1)(2k+1)/2 int nu_r P_l P_k dx (eq. (14) without "
                 "the source)", sp.Eq(sp.Symbol("dC_1/dt"), rows[1], evaluate=False)),
            Step("weak form: integrate by parts twice; the boundary terms carry (1 - x^2) and vanish, so "
                 "sum_k W_lk C_k = 2 pi int L^2(P_l nu_r) F dx -- the rate of C_l needs F only, no sum over k",
                 sp.Eq(sp.Symbol("sum_k W_lk C_k"), 2 * sp.pi * sp.Integral(
                     -sp.Derivative((1 - x ** 2) * sp.Derivative(Pl * nu_sym, x), x) * sp.Function("F")(x), (x, -1, 1)),
                     evaluate=False)),
            Step("the weak basis: L^2(P_l s^a) in closed form (Legendre's equation eliminates P'')",
                 sp.Eq(sp.Symbol("L^2(P_l s^a)"), closed_s, evaluate=False)),
            Step("its flux (1 - x^2) d/dx(P s^a) = s^a (1 - s^2) (4 s^2 P' - a P) vanishes at s = 0 (a > 0) and s = 1: the "
                 "weak form holds for nu_r = s^a, every a > 0",
                 sp.Eq(sp.Symbol("flux"), s ** a * (1 - s ** 2) * (4 * s ** 2 * dP - a * P), evaluate=False)),
            Step("for nu_r = nu_0 (1 - x)^p = nu_0 2^p s^(2p) this is the basis with a = 2p; the singular term ~ s^(a-2) "
                 "is integrable against dx = 4 s ds for a > 0", sp.Eq(nu_pl.subs(x, 1 - 2 * s ** 2), nu0 * 2 ** p * s ** (2 * p),
                                                                   evaluate=False)),
            Step("pair averages: M_l,l0(t) = (2 l0 + 1)/2 int P_l u_l0 dx = [exp(-W t)]_l,l0, M(0) = 1, dM/dt(0) = -W; by the "
                 "weak form dM_l,l0/dt = -(2 l0 + 1)/2 int L^2(P_l nu_r) u_l0 dx at every t: each backtracked pair "
                 "contributes L^2(P_l nu_r) at its opening angle"),
            Step("power: sum_l (2l+1) W_lk = k(k+1)(2k+1) nu_r(1), so sum_l (2l+1) C_l is conserved iff nu_r(1) = 0"),
            Step("pair-angle diffusion: -nu_r L^2 = b d/dx + (sigma^2/2) d^2/dx^2 with drift b = -2 x nu_r, variance rate "
                 "sigma^2 = 2 nu_r (1 - x^2); for psi = arccos x: drift nu_r cot psi, variance rate 2 nu_r",
                 sp.Eq(sp.Symbol("b/sigma^2"), -x / (1 - x ** 2), evaluate=False)),
        ],
        claims=[
            Claim("1 - x^2 = 4 s^2 (1 - s^2) and s = sqrt((1 - x)/2) at x = 1 - 2 s^2",
                  sp.Matrix([in_s(1 - x ** 2), in_s(sx)]), sp.Matrix([4 * s ** 2 * (1 - s ** 2), s])),
            Claim(f"matrix form: 2 pi int P_l (-nu_r L^2 F) dx = -sum_k W_lk C_k, W_lk = k(k+1)(2k+1)/2 int nu_r P_l P_k dx "
                  f"(nu_r = c0 + c1 x + c2 x^2, l, k = 0..{K})", rows, -Wm * sp.Matrix(Cs)),
            Claim(f"weak form (polynomial nu_r): int L^2(P_l nu_r) P_k dx = int P_l nu_r L^2 P_k dx (l, k = 0..{K})",
                  weak_rhs, weak_lhs),
            Claim("... = k(k+1) int nu_r P_l P_k dx = 2 W_lk/(2k+1)", weak_lhs, W_over),
            Claim("sum_k W_lk C_k = 2 pi int L^2(P_l nu_r) F dx (generic C_k): the rate of C_l needs F only",
                  weak_rows, Wm * sp.Matrix(Cs)),
            *weak_s_claims,
            Claim("closed form of L^2(P s^a), divided by s^a, in x (P'' eliminated by Legendre's equation)",
                  basis_x_over, closed_x_over),
            Claim("closed form of L^2(P s^a) with its coefficients written in s = sqrt((1 - x)/2): "
                  "s^a [l(l+1) P + 2 a (1 - s^2) P'] - (a/4) [a - (a+2) s^2] s^(a-2) P",
                  _coeffs_to_s(L_basis, P, s), closed_s),
            *concrete,
            Claim("flux: (1 - x^2) d/dx (P s^a) = s^a (1 - s^2) (4 s^2 P' - a P)", flux,
                  s ** a * (1 - s ** 2) * (4 * s ** 2 * dP - a * P)),
            Claim("nu_0 (1 - x)^p = nu_0 2^p s^(2p): the basis with a = 2p", nu_pl.subs(x, 1 - 2 * s ** 2),
                  nu0 * 2 ** p * s ** (2 * p)),
            Claim("the singular term is integrable: int_0^1 s^(a-2) 4 s ds = 4/a (a > 0)",
                  sp.integrate(s ** (a - 2) * 4 * s, (s, 0, 1), conds="none"), 4 / a),
            Claim("weak integrand for any rate phi(y), y = ln s: 4 s^2 L^2(P phi) = 4 s^2 l(l+1) P phi + 2 phi_y (1 - x^2) P' "
                  "- P [(1 - s^2) phi_yy - 2 s^2 phi_y] (regular at s -> 0; numerics.relative_scattering.weak_integrand)",
                  weak_y, 0),
            Claim("(1 - x^2) P_l' = l (P_(l-1) - x P_l) (l = 1..8): the P' term without division",
                  pl_identity, sp.zeros(8, 1)),
            Claim("M_l,l0(0) = (2 l0 + 1)/2 int P_l P_l0 dx = delta_l,l0 (l, l0 = 0..6)", M0, sp.eye(7)),
            Claim(f"dM_l,l0/dt(0) = (2 l0 + 1)/2 int P_l (-nu_r L^2 P_l0) dx = -W_l,l0 (l, l0 = 0..{K})", dM0, -Wm),
            Claim(f"power: sum_(l=0..{LSUM}) (2l+1) W_lk = k(k+1)(2k+1) nu_r(1) (k = 0..{K}; P_l nu_r P_k has degree <= 5)",
                  power, power_stated),
            Claim("generator: -nu_r L^2 g = nu_r [(1 - x^2) g'' - 2 x g'] (undefined g, nu_r)", generator,
                  nuf * ((1 - x ** 2) * sp.diff(g, x, 2) - 2 * x * sp.diff(g, x))),
            Claim("... = b g' + (sigma^2/2) g'' with drift b = -2 x nu_r, variance rate sigma^2 = 2 nu_r (1 - x^2)",
                  generator, sp.expand(drift * sp.diff(g, x) + variance / 2 * sp.diff(g, x, 2))),
            Claim("nu_r = nu_0 (1 - x)^p: drift / variance rate = -x/(1 - x^2), independent of nu_0 and p",
                  (drift / variance).subs(nuf, nu_pl), -x / (1 - x ** 2), domain={x: (-0.95, 0.95)}),
            Claim("... and for every nu_r(x)", drift / variance, -x / (1 - x ** 2)),
            Claim("opening angle psi = arccos x (Ito): drift nu_r x/sqrt(1 - x^2) = nu_r cot psi, variance rate 2 nu_r",
                  sp.Matrix([psi_drift, psi_var]), sp.Matrix([nuf * x / sp.sqrt(1 - x ** 2), 2 * nuf])),
        ],
    )
