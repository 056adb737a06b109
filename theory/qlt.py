"""Quasi-linear theory of the pair propagator (003 Secs. 2-3 and 5, read with 004 Sec. 3).

Conventions (003, c = 1, no regular field).  The turbulent gyrovector is
``omega(r) = int d^3k omega~(k) exp(i k.r)`` with the isotropic spectrum (3.12)

    <omega~_i(k) omega~_j*(k')> = g(k)/k^2 (delta_ij - k_i k_j/k^2) delta(k - k'),

so ``<omega^2> = 8 pi int g(k) dk`` and ``g`` has the dimension 1/length.  Band-limited white
noise is ``g = g_out`` on ``[k_out, k_in]``.  ``alpha = k_in dT`` and ``beta = k_out dT``.

With ``J_l(x) = int_0^x j_l(y) dy`` (spherical Bessel j_l) every quantity is ``g_out dT`` times a
function of ``(alpha, beta)``:

    Lambda_l(dT)     = g_out dT int_0^alpha J_l(y) [1/max(y, beta) - 1/alpha] dy      (3.14)
    kappa_{lA lB}(dT) = g_out dT int_beta^alpha J_lA(x) J_lB(x) / x^2 dx               (3.22, second line)

and the transition matrix ``A = -(2 M^(1a) + M^(1c,0) + M^(1c,2))/dT`` of (3.5) is ``g_out`` times a
matrix of ``(alpha, beta)`` alone.  The paper's limit (k_in -> oo at fixed alpha) is beta -> 0.

What the derivation finds (errata): the prefactor and the bracket of (3.16) (the correct form is
``-pi g_out dT [2 a 2F3 - Si a - cos a / a + sin a / a^2]`` l(l+1)); the first line of (3.22) and
004 (3.15) put g/k^2 in front of dimensional time integrals (kappa would have the dimension
length^2); (3.24) has one power of alpha too many for M^(1c)/dT.  The 3j/6j structure of (3.21) and
(3.23), including the phase i^(lA+lB), is confirmed by exact integration over three unit vectors.
"""
from __future__ import annotations

import functools

import mpmath
import sympy as sp
from sympy.physics.wigner import wigner_3j, wigner_6j

from theory.geometry import random_unit_vector, sphere_integral
from theory.registry import Claim, Derivation, Erratum, KernelSpec, Premise, Step, derivation

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", positive=True)
a = sp.Symbol("a", positive=True)  # alpha or beta: a dimensionless k dT
k = sp.Symbol("k", positive=True)
tau = sp.Symbol("tau", positive=True)
dT = sp.Symbol("dT", positive=True)
g_out = sp.Symbol("g_out", positive=True)
k_out = sp.Symbol("k_out", positive=True)
k_in = sp.Symbol("k_in", positive=True)
omega_rms = sp.Symbol("omega_rms", positive=True)
alpha = sp.Symbol("alpha", positive=True)
beta = sp.Symbol("beta", positive=True)
lam = sp.Symbol("lambda", positive=True)  # a length rescaling
ell = sp.Symbol("ell", integer=True, nonnegative=True)
n_k = sp.Symbol("n", integer=True, nonnegative=True)
source = sp.Symbol("s", positive=True)

A_VEC = sp.symbols("a_x a_y a_z", real=True)
B_VEC = sp.symbols("b_x b_y b_z", real=True)
K_HAT = (sp.Integer(0), sp.Integer(0), sp.Integer(1))  # isotropy: the k-hat integral is 4 pi times k-hat = z

EQ316 = "003 eq. (3.16)"


# ----------------------------------------------------------------------------- building blocks
def sph_jn(l: int, z: sp.Expr = x) -> sp.Expr:
    """Spherical Bessel function j_l(z) in elementary form."""
    return sp.expand_func(sp.jn(l, z))


def j_integral(l: int, z: sp.Expr = x) -> sp.Expr:
    """J_l(z) = int_0^z j_l: J_0 = Si, J_1 = 1 - sin z / z, (l+1) J_{l+1} = l J_{l-1} - (2l+1) j_l (l >= 1)."""
    Js = [sp.Si(z), 1 - sp.sin(z) / z]
    for m in range(1, l):
        Js.append(sp.simplify((m * Js[m - 1] - (2 * m + 1) * sph_jn(m, z)) / (m + 1)))
    return Js[l]


def hyper_si(z: sp.Expr = a) -> sp.Expr:
    """int_0^z Si(x)/x dx = z 2F3(1/2, 1/2; 3/2, 3/2, 3/2; -z^2/4)."""
    half, three_half = sp.Rational(1, 2), sp.Rational(3, 2)
    return z * sp.hyper([half, half], [three_half] * 3, -z ** 2 / 4)


def lambda_g(l: int, z: sp.Expr = a) -> sp.Expr:
    """G_l(z) = int_0^z J_l(x) (1/x - 1/z) dx for l = 0, 2 (closed forms): Lambda_l = g_out dT [G_l(alpha) - G_l(beta)]."""
    if l == 0:
        return hyper_si(z) - sp.Si(z) + (1 - sp.cos(z)) / z
    if l == 2:
        int_j1_over_x = sp.Si(z) / 2 + sp.cos(z) / (2 * z) - sp.sin(z) / (2 * z ** 2)
        int_j2 = (sp.Si(z) - 3 * sph_jn(1, z)) / 2
        y2 = 2 + sp.cos(z) - 3 * sp.sin(z) / z  # int_0^z x j_2(x) dx
        return (hyper_si(z) - 3 * int_j1_over_x) / 2 - int_j2 + y2 / z
    raise ValueError(f"l={l}: closed forms are recorded for l = 0 and 2 only")


def m1a_bracket(z: sp.Expr = alpha) -> sp.Expr:
    """(8/3)(G_0 - G_2/2): M^(1a) = -pi g_out dT [bracket(alpha) - bracket(beta)] l(l+1) delta_{l l0}."""
    return 2 * hyper_si(z) - sp.Si(z) - sp.cos(z) / z + sp.sin(z) / z ** 2


def m1a_bracket_printed(z: sp.Expr = alpha) -> sp.Expr:
    """The bracket of (3.16) as printed."""
    return -sp.cos(z) / z + 2 * hyper_si(z) + z ** 2 * sp.sin(z) - sp.Si(z)


def neumann_coefficient(l=ell, kk=n_k) -> sp.Expr:
    """c_k(l) in J_l(x) = sum_k c_k(l) j_{l+2k+1}(x)."""
    return (2 * l + 4 * kk + 3) / (l + 1) * sp.rf(l / sp.Integer(2) + 1, kk) / sp.rf(l / sp.Integer(2) + sp.Rational(3, 2), kk)


def neumann_coefficient_kernel(l=ell, kk=n_k) -> sp.Expr:
    """The same c_k(l) with half-step Pochhammer symbols, (z)_(1/2) = Gamma(z + 1/2)/Gamma(z): no overflow at large k."""
    half = sp.Rational(1, 2)
    return (2 * l + 4 * kk + 3) / (l + 1) * sp.rf(l * half + 1, half) / sp.rf(l * half + kk + 1, half)


def _ang(vec, i: int, f: sp.Expr) -> sp.Expr:
    """L_i f = -i eps_ijk v_j d f / d v_k (003 below (2.2)); tangential, so exact on polynomial extensions."""
    return sp.expand(-sp.I * sum(sp.LeviCivita(i, j, m) * vec[j] * sp.diff(f, vec[m])
                                 for j in range(3) for m in range(3) if i not in (j, m) and j != m))


def _dot(u, v):
    return sum(ui * vi for ui, vi in zip(u, v))


def _sphere2(expr: sp.Expr) -> sp.Expr:
    """Integral of a polynomial in a and b over two unit spheres."""
    poly = sp.Poly(sp.expand(expr), *A_VEC)
    total = sp.Integer(0)
    for (p, q, r), coeff in poly.terms():
        inner = sphere_integral(coeff, B_VEC)
        if inner != 0:
            total += inner * sphere_integral(A_VEC[0] ** p * A_VEC[1] ** q * A_VEC[2] ** r, A_VEC)
    return sp.expand(total)


def _tensor(part: str):
    """delta_ij - k_i k_j split as in (3.20): 'full', 'mono' = (2/3) delta, 'quad' = delta/3 - k k."""
    def t(i, j):
        d = sp.Integer(1 if i == j else 0)
        kk = K_HAT[i] * K_HAT[j]
        return {"full": d - kk, "mono": sp.Rational(2, 3) * d, "quad": d / 3 - kk}[part]
    return t


@functools.lru_cache(maxsize=None)
def _operator_on_legendre(l0: int, which: str, part: str) -> sp.Expr:
    """T_ij L^X_i L^Y_j P_l0(a.b) with k-hat = z (which = 'AB' for diagram (1c), 'AA' for (1a))."""
    P = sp.legendre(l0, _dot(A_VEC, B_VEC))
    t = _tensor(part)
    second = B_VEC if which == "AB" else A_VEC
    total = sp.Integer(0)
    for i in range(3):
        for j in range(3):
            if t(i, j) != 0:
                total += t(i, j) * _ang(A_VEC, i, _ang(second, j, P))
    return sp.expand(total)


def geometric_1c(l: int, l0: int, la: int, lb: int, part: str) -> sp.Expr:
    """Coefficient of kappa_{lA lB} in M^(1c)_{l l0}, by exact integration of (3.6) with (3.19).

    (1c) = -sum kappa (-i)^lA i^lB (2lA+1)(2lB+1) int dk P_lA(k.a) P_lB(k.b) T_ij L^A_i L^B_j, acting on the
    initial state (2 l0 + 1)/(4 pi) P_l0(a.b) and projected with (1/4 pi) int da int db P_l(a.b).
    """
    integrand = (sp.legendre(l, _dot(A_VEC, B_VEC)) * sp.legendre(la, _dot(K_HAT, A_VEC))
                 * sp.legendre(lb, _dot(K_HAT, B_VEC)) * _operator_on_legendre(l0, "AB", part))
    value = 4 * sp.pi * _sphere2(integrand)
    pref = -(-sp.I) ** la * sp.I ** lb * (2 * la + 1) * (2 * lb + 1) * (2 * l0 + 1) / (16 * sp.pi ** 2)
    return sp.nsimplify(sp.expand(pref * value))


def geometric_1a(l: int, l0: int, la: int) -> sp.Expr:
    """Coefficient of Lambda_lA in M^(1a)_{l l0} from (3.6) and (3.13), by exact integration."""
    integrand = (sp.legendre(l, _dot(A_VEC, B_VEC)) * sp.legendre(la, _dot(K_HAT, A_VEC))
                 * _operator_on_legendre(l0, "AA", "full"))
    value = 4 * sp.pi * _sphere2(integrand)
    pref = -(2 * la + 1) * sp.I ** la * (2 * l0 + 1) / (16 * sp.pi ** 2)
    return sp.nsimplify(sp.expand(pref * value))


def printed_1c0(l: int, l0: int, la: int, lb: int) -> sp.Expr:
    """Coefficient of kappa_{lA lB} in (3.21)."""
    if la != lb:
        return sp.Integer(0)
    return sp.Rational(8, 3) * sp.pi * (2 * la + 1) * wigner_3j(l, la, l0, 0, 0, 0) ** 2 * (2 * l0 + 1) * l0 * (l0 + 1)


def printed_1c2(l: int, l0: int, la: int, lb: int) -> sp.Expr:
    """Coefficient of kappa_{lA lB} in (3.23) (zero for l0 = 0, where l0(l0+1) vanishes)."""
    if l0 == 0:
        return sp.Integer(0)
    return sp.nsimplify(sp.Rational(4, 3) * sp.pi * l0 * (l0 + 1) * (2 * l0 + 1) / wigner_3j(l0, 2, l0, 0, 0, 0)
                        * (-1) ** l0 * sp.I ** (la + lb) * (2 * la + 1) * (2 * lb + 1) * wigner_6j(2, l0, l0, l, la, lb)
                        * wigner_3j(2, la, lb, 0, 0, 0) * wigner_3j(l, la, l0, 0, 0, 0) * wigner_3j(l, lb, l0, 0, 0, 0))


def _scaling_exponent(expr: sp.Expr, subs: dict) -> sp.Expr:
    """d in expr(lambda-scaled) = lambda^d expr (a dimension check: lengths scale as lambda)."""
    ratio = sp.simplify(expr.subs(subs, simultaneous=True) / expr)
    return sp.simplify(sp.expand_log(sp.log(ratio), force=True) / sp.log(lam))


# ----------------------------------------------------------------------------- 1. normalisation
@derivation("qlt.turbulence_normalisation")
def _normalisation() -> Derivation:
    n = sp.symbols("n_x n_y n_z", real=True)
    proj = sp.Matrix(3, 3, lambda i, j: (1 if i == j else 0) - n[i] * n[j])
    unit = n[0] ** 2 + n[1] ** 2 + n[2] ** 2 - 1
    ang = proj.applyfunc(lambda e: sphere_integral(e, n))
    g = sp.Function("g")
    mean_sq = 8 * sp.pi * sp.Integral(g(k), (k, k_out, k_in))
    white = sp.integrate(8 * sp.pi * g_out, (k, k_out, k_in))
    g_from_rms = omega_rms ** 2 / (8 * sp.pi * (k_in - k_out))
    return Derivation(
        id="qlt.turbulence_normalisation",
        title="Isotropic turbulence tensor (3.12): g(k) and the RMS gyrofrequency",
        module="qlt",
        sources=("003 eq. (3.12)", "003 eq. (2.2)", "003 Sec. 4", "004 eq. (2.2)"),
        premises=[
            Premise("omega(r) = q dB(r)/p_0 = int d^3k omega~(k) exp(i k.r) (the convention that makes (3.13) and (3.19) "
                    "come out as printed)"),
            Premise("(3.12): <omega~_i(k) omega~_j*(k')> = g(k)/k^2 (delta_ij - k_i k_j) delta(k - k')",
                    sp.Eq(sp.Symbol("Phi_ij"), sp.Function("g")(k) / k ** 2 * proj, evaluate=False)),
            Premise("band-limited white noise: g(k) = g_out for k_out <= k < k_in, 0 otherwise"),
        ],
        steps=[
            Step("<omega_i(r) omega_j(r')> = int d^3k g/k^2 (delta_ij - k_i k_j) exp(i k.(r - r')); at r = r' the "
                 "angular integral of the projector is (8 pi/3) delta_ij", sp.Eq(sp.Symbol("I_ij"), ang, evaluate=False)),
            Step("<omega^2> = int dk k^2 (g/k^2) 4 pi (2) = 8 pi int g dk", sp.Eq(sp.Symbol("Omega_rms")**2, mean_sq,
                                                                               evaluate=False)),
            Step("white noise: g_out = Omega_rms^2 / (8 pi (k_in - k_out)); for 003 Sec. 4 (k_out r_g = 1e-3, "
                 "k_in r_g = 1e2, r_g = 1/Omega_rms) g_out r_g = 1/(8 pi 99.999)", sp.Eq(g_out, g_from_rms, evaluate=False)),
            Step("dimensions (c = 1): omega ~ 1/length, omega~ ~ length^2, so g ~ 1/length, like k"),
        ],
        claims=[
            Claim("trace of the projector is 2 on the unit sphere", proj.trace(), 2, constraints=(unit,),
                  sampler=lambda rng: dict(zip(n, random_unit_vector(rng)))),
            Claim("angular integral of the projector: (8 pi/3) delta_ij", ang, sp.Rational(8, 3) * sp.pi * sp.eye(3)),
            Claim("white noise: <omega^2> = 8 pi g_out (k_in - k_out)", white, 8 * sp.pi * g_out * (k_in - k_out)),
            Claim("one Cartesian component carries a third: <omega_z^2> = Omega_rms^2/3",
                  ang[2, 2] / (4 * sp.pi * 2) * omega_rms ** 2, omega_rms ** 2 / 3),
        ],
        kernels=[KernelSpec("g_out_from_rms", g_from_rms, (omega_rms, k_out, k_in), "003 eq. (3.12)",
                            "white-noise level g_out = Omega_rms^2/(8 pi (k_in - k_out)) for a band [k_out, k_in]",
                            sampler=lambda rng: {omega_rms: sp.Float(rng.uniform(0.1, 10), 30),
                                                 k_out: sp.Float(rng.uniform(1e-4, 1.0), 30),
                                                 k_in: sp.Float(rng.uniform(2.0, 1e3), 30)})],
    )


# ----------------------------------------------------------------------------- 2. Lambda_l and M^(1a)
@derivation("qlt.lambda_l")
def _lambda_l() -> Derivation:
    D = sp.Symbol("D", positive=True)
    T = sp.Symbol("T", positive=True)
    nn = 3
    fubini_lhs = sp.integrate(sp.integrate(tau ** nn, (tau, 0, T)), (T, 0, D))
    fubini_rhs = sp.integrate((D - tau) * tau ** nn, (tau, 0, D))
    jj = {l: a * j_integral(l, a) - sp.integrate(sp.expand(y * sph_jn(l, y)), (y, 0, a)) for l in (0, 2)}  # int_0^a (a-y) j_l
    G0, G2 = lambda_g(0), lambda_g(2)
    bracket = m1a_bracket(a)
    small = sp.series(bracket, a, 0, 4).removeO()
    log_int = sp.integrate(sp.log(x) * sp.sin(x) / x, (x, 0, sp.oo))
    m1a = -sp.Rational(8, 3) * sp.pi * (sp.Symbol("Lambda_0") - sp.Symbol("Lambda_2") / 2) * ell * (ell + 1)
    corrected = -sp.pi * g_out * dT * (m1a_bracket(alpha) - m1a_bracket(beta)) * ell * (ell + 1)
    printed = -sp.pi * g_out / k_out * sp.Symbol("r") * m1a_bracket_printed(alpha) * ell * (ell + 1)
    return Derivation(
        id="qlt.lambda_l",
        title="Lambda_l (3.14) for white noise, M^(1a) (3.15)-(3.16) and its alpha regimes (3.17)",
        module="qlt",
        sources=("003 eq. (3.13)", "003 eq. (3.14)", "003 eq. (3.15)", EQ316, "003 eq. (3.17)", "004 eq. (3.11)",
                 "004 eq. (3.14)"),
        premises=[
            Premise("(3.14): Lambda_l(dT) = int_0^dT dT' int_0^T' dtau int dk g(k) j_l(k tau)"),
            Premise("(3.15): M^(1a)_{l l0} = -(8 pi/3) delta_{l l0} (Lambda_0 - Lambda_2/2) l(l+1) (derived from (3.13) in "
                    "record qlt.mixing_matrices)", sp.Eq(sp.Symbol("M1a"), m1a, evaluate=False)),
            Premise("white noise g = g_out on [k_out, k_in]; alpha = k_in dT, beta = k_out dT"),
        ],
        steps=[
            Step("the time integrals: int_0^D dT int_0^T dtau F(tau) = int_0^D (D - tau) F(tau) dtau"),
            Step("k tau = x s: int_0^dT (dT - tau) j_l(k tau) dtau = JJ_l(k dT)/k^2 with JJ_l(z) = int_0^z (z - y) j_l(y) dy"),
            Step("Lambda_l = g_out dT int_beta^alpha JJ_l(x)/x^2 dx = g_out dT [G_l(alpha) - G_l(beta)], "
                 "G_l(z) = int_0^z J_l(x)/x dx - JJ_l(z)/z (parts; JJ_l' = J_l)"),
            Step("int_0^z Si(x)/x dx = z 2F3(1/2,1/2; 3/2,3/2,3/2; -z^2/4); J_2 = (Si - 3 j_1)/2"),
            Step("(8/3)(G_0 - G_2/2): the bracket of the corrected (3.16)", sp.Eq(sp.Symbol("B"), bracket, evaluate=False)),
            Step("M^(1a)_{l l0} = -pi g_out dT [B(alpha) - B(beta)] l(l+1) delta_{l l0}; M^(1a)/dT depends on alpha and "
                 "beta only, and for beta = k_out dT -> 0 on alpha only", sp.Eq(sp.Symbol("M1a"), corrected, evaluate=False)),
            Step("regimes (3.17): B ~ 4 alpha/3 (alpha << 1); B ~ pi (ln alpha + gamma - 1/2) (1 << alpha); with beta >> 1 "
                 "B(alpha) - B(beta) -> pi ln(alpha/beta) = pi ln(k_in/k_out), a constant"),
        ],
        claims=[
            Claim("time integrals (tau^3 as test function)", fubini_lhs, fubini_rhs),
            Claim("G_0: d/dz G_0 = JJ_0(z)/z^2", sp.diff(G0, a), jj[0] / a ** 2),
            Claim("G_2: d/dz G_2 = JJ_2(z)/z^2", sp.diff(G2, a), jj[2] / a ** 2),
            Claim("G_0(0) = 0 and G_2(0) = 0", sp.Matrix([sp.limit(G0, a, 0), sp.limit(G2, a, 0)]), sp.zeros(2, 1)),
            Claim("JJ_2'' = j_2", sp.diff(jj[2], a, 2), sph_jn(2, a)),
            Claim("(8/3)(G_0 - G_2/2) is the bracket B", sp.Rational(8, 3) * (G0 - G2 / 2), bracket),
            Claim("(3.17), alpha << 1: B = 4 alpha/3 - 2 alpha^3/135 + O(alpha^5)", small,
                  sp.Rational(4, 3) * a - sp.Rational(2, 135) * a ** 3),
            Claim("(3.17), 1 << alpha: 2 int_0^z Si/x = 2 Si(z) ln z - 2 int_0^z ln x sin x / x dx (derivatives agree)",
                  sp.diff(2 * hyper_si(a), a), sp.diff(2 * sp.Si(a) * sp.log(a), a) - 2 * sp.log(a) * sp.sin(a) / a),
            Claim("(3.17), 1 << alpha: int_0^oo ln x sin x / x dx = -pi gamma/2, so B -> pi (ln alpha + gamma - 1/2)",
                  log_int, -sp.pi * sp.EulerGamma / 2),
        ],
        errata=[Erratum(
            EQ316,
            "M^(1a) = -pi (g_out/k_out) r delta_{l l0} {-cos(alpha)/alpha + 2 alpha 2F3(1/2,1/2;3/2,3/2,3/2;-alpha^2/4) "
            "+ alpha^2 sin(alpha) - Si(alpha)} l(l+1)",
            "M^(1a) = -pi g_out dT delta_{l l0} {2 alpha 2F3(1/2,1/2;3/2,3/2,3/2;-alpha^2/4) - Si(alpha) - cos(alpha)/alpha "
            "+ sin(alpha)/alpha^2} l(l+1), with dT = alpha/k_in (minus the same bracket at beta = k_out dT at finite k_in)",
            "the prefactor must be proportional to dT for the limit (3.5) to exist (the stray 'r' over k_out is g_out dT); "
            "'alpha^2 sin(alpha)' is sin(alpha)/alpha^2: only then does the bracket vanish like 4 alpha/3 for alpha << 1, "
            "as (3.17) states (the printed one diverges like -1/alpha)",
            printed_expr=printed, corrected_expr=corrected)],
    )


# ----------------------------------------------------------------------------- 3. kappa
@derivation("qlt.kappa")
def _kappa() -> Derivation:
    c = sp.Symbol("c", real=True)  # cosine
    rayleigh = [sp.simplify(sp.integrate(sp.expand(sp.exp(sp.I * x * c) * sp.legendre(l, c)), (c, -1, 1)) / 2)
                for l in range(4)]
    Js = [j_integral(l) for l in range(5)]
    # the series coefficients: with h = l/2 and z = h + n + 3/2 SymPy reduces the Gamma ratio to a rational function
    h, zz, nr = sp.Symbol("h", positive=True), sp.Symbol("z", positive=True), sp.Symbol("n", positive=True)
    ratio = sp.gammasimp((neumann_coefficient(2 * h, nr + 1) / neumann_coefficient(2 * h, nr)).rewrite(sp.gamma))
    ratio = sp.expand_func(sp.simplify(ratio.subs(h, zz - nr - sp.Rational(3, 2))))
    ratio = sp.simplify(ratio.subs(zz, h + nr + sp.Rational(3, 2)))
    nn = 2 * h + 2 * nr + 1  # the order l + 2k + 1 of the k-th term
    # derivative of sum_k c_k j_{n_k}: j_n' = (n j_{n-1} - (n+1) j_{n+1})/(2n+1); coefficient of j_{n_k + 1}
    telescoping = -(nn + 1) / (2 * nn + 1) + ratio * (nn + 2) / (2 * nn + 5)
    first = neumann_coefficient(ell, 0) * (ell + 1) / (2 * ell + 3)
    with mpmath.workdps(40):
        z = mpmath.mpf("2.5")
        total = mpmath.mpf(0)
        for kk in range(40):
            coef = mpmath.mpf(2 * 0 + 4 * kk + 3) * mpmath.rf(1, kk) / mpmath.rf(mpmath.mpf(3) / 2, kk)
            total += coef * mpmath.sqrt(mpmath.pi / (2 * z)) * mpmath.besselj(2 * kk + 1 + mpmath.mpf(1) / 2, z)
        neumann_value = sp.Float(total, 35)
    # dimension check: lengths scale by lambda, k by 1/lambda, g by 1/lambda
    scale = {g_out: g_out / lam, k_out: k_out / lam, k_in: k_in / lam, dT: dT * lam, k: k / lam}
    h_dim = sp.Function("J_A")(k * dT) / k  # int_0^dT j(k tau) dtau
    line1_dim = g_out / k ** 2 * h_dim * h_dim.subs(sp.Function("J_A"), sp.Function("J_B")) * k  # integrand x dk
    line2_dim = g_out / k ** 2 * sp.Function("J_A")(k * dT) * sp.Function("J_B")(k * dT) * k
    small = {l: sp.series(Js[l], x, 0, l + 3).removeO() for l in range(4)}
    lead = {l: x ** (l + 1) / ((l + 1) * sp.factorial2(2 * l + 1)) for l in range(4)}
    h0 = sp.Si(k * dT) / k  # h_0(k, dT) = int_0^dT j_0(k tau) dtau: the integrands of kappa_00 per dk
    corrected = g_out * h0 ** 2
    printed = g_out / k ** 2 * h0 ** 2
    return Derivation(
        id="qlt.kappa",
        title="kappa_{lA lB} (3.22): what enters (3.21) and (3.23), closed forms and a stable series",
        module="qlt",
        sources=("003 eq. (3.18)", "003 eq. (3.19)", "003 eq. (3.22)", "003 eq. (3.24)", "004 eq. (3.15)",
                 "004 eq. (3.16)"),
        premises=[
            Premise("Rayleigh: exp(i z c) = sum_l (2l+1) i^l j_l(z) P_l(c) (the 'free wave expansion' of (3.19))"),
            Premise("(3.18) with ballistic paths r_A(t') = r_sun - (t - t') p_A: each time integral is "
                    "h_l(k, dT) = int_0^dT j_l(k tau) dtau = J_l(k dT)/k"),
            Premise("d^3k = k^2 dk dk-hat and (3.12): the k-measure of (3.19) is int dk g(k), the angular part gives "
                    "the 3j/6j algebra (record qlt.mixing_matrices)"),
        ],
        steps=[
            Step("kappa_{lA lB} = int dk g(k) h_lA h_lB = int dk g(k)/k^2 J_lA(k dT) J_lB(k dT) (the second line of (3.22))"),
            Step("white noise: kappa_{lA lB} = g_out dT int_beta^alpha J_lA(x) J_lB(x) x^-2 dx (alpha = k_in dT, "
                 "beta = k_out dT): kappa/dT is a function of alpha and beta"),
            Step("J_l(x) = sum_k c_k(l) j_{l+2k+1}(x), c_k = (2l+4k+3)/(l+1) (l/2+1)_k/(l/2+3/2)_k: positive terms for "
                 "x < l, fast convergence once l + 2k > x; used by numerics.qlt"),
            Step("alpha << 1: J_l ~ x^(l+1)/((l+1)(2l+1)!!), kappa_{lA lB}/dT ~ alpha^(lA+lB+1); the smallest lA + lB "
                 "that (3.21)/(3.23) allow is 2|l - l0|, so M^(1c)/dT ~ alpha^(1+2|l-l0|); for 1 << alpha the x^-2 "
                 "tail converges and M^(1c)/dT tends to a constant"),
        ],
        claims=[
            Claim("Rayleigh projections: (1/2) int exp(i x c) P_l(c) dc = i^l j_l(x), l = 0..3", sp.Matrix(rayleigh),
                  sp.Matrix([sp.I ** l * sph_jn(l) for l in range(4)])),
            Claim("J_l' = j_l, l = 0..4", sp.Matrix([sp.diff(J, x) for J in Js]), sp.Matrix([sph_jn(l) for l in range(5)])),
            Claim("J_l(0) = 0, l = 0..4", sp.Matrix([sp.limit(J, x, 0) for J in Js]), sp.zeros(5, 1)),
            Claim("series: c_0(l) (l+1)/(2l+3) = 1", first, 1),
            Claim("series: c_{k+1}/c_k = (n+1)(2n+5)/((2n+1)(n+2)), n = l + 2k + 1 (symbolic l, k)", ratio,
                  (nn + 1) * (2 * nn + 5) / ((2 * nn + 1) * (nn + 2))),
            Claim("series: so the derivative telescopes to j_l (the j_{n+1} coefficients cancel)", telescoping, 0),
            Claim("series: the overflow-free form of c_k(l) used by the kernel is the same number",
                  neumann_coefficient_kernel(ell, n_k).rewrite(sp.gamma), neumann_coefficient(ell, n_k).rewrite(sp.gamma),
                  domain={ell: (0, 300), n_k: (0, 300)}),
            Claim("series at x = 5/2 (l = 0, 40 terms) equals Si(5/2)", neumann_value, sp.Si(sp.Rational(5, 2))),
            Claim("alpha << 1: J_l = x^(l+1)/((l+1)(2l+1)!!) + O(x^(l+3)), l = 0..3", sp.Matrix([small[l] for l in range(4)]),
                  sp.Matrix([lead[l] for l in range(4)])),
            Claim("dimension: the second line of (3.22) is dimensionless (like M)", _scaling_exponent(line2_dim, scale), 0),
            Claim("dimension: g/k^2 with the dimensional h of 004 (3.15) has dimension length^2",
                  _scaling_exponent(line1_dim, scale), 2),
        ],
        kernels=[KernelSpec("neumann_coefficient", neumann_coefficient_kernel(ell, n_k), (ell, n_k), "003 eq. (3.22)",
                            "c_k(l) in J_l(x) = int_0^x j_l = sum_{k>=0} c_k(l) j_{l+2k+1}(x)",
                            domain={ell: (0, 300), n_k: (0, 300)})],
        errata=[
            Erratum("003 eq. (3.22)",
                    "kappa = int dk g(k)/k^2 h_lA(k, dT) h_lB(k, dT) = (g_out/k_out) int_1^{k_in/k_out} dk' k'^-2 "
                    "int_0^{k' k_out dT} dt j_lA int_0^{k' k_out dT} dtau j_lB",
                    "kappa = int dk g(k) h_lA h_lB with h_l(k, dT) = int_0^dT j_l(k tau) dtau; equivalently "
                    "int dk g(k)/k^2 J_lA(k dT) J_lB(k dT), J_l(z) = int_0^z j_l (the second line, which is right)",
                    "the two lines disagree by k^2 when h_l is the time integral of 004 (3.15): with g/k^2 the first line "
                    "has the dimension length^2, while M must be dimensionless; (3.19) fixes the measure int dk g(k)",
                    printed_expr=printed, corrected_expr=corrected),
            Erratum("004 eq. (3.15)",
                    "kappa = int dk g(k)/k^2 int_0^dT dtau_A j_lA(k tau_A) int_0^dT dtau_B j_lB(k tau_B)",
                    "kappa = int dk g(k) int_0^dT dtau_A j_lA(k tau_A) int_0^dT dtau_B j_lB(k tau_B)",
                    "same k^2 as 003 (3.22): the dimensional time integrals already carry the 1/k of each d(k tau)"),
            Erratum("003 eq. (3.24)",
                    "M^(1c)/dT ~ alpha^(2+2|l-l0|) (alpha << 1), ~ alpha (1 << alpha << k_in/k_out)",
                    "M^(1c)/dT ~ alpha^(1+2|l-l0|) (alpha << 1), -> const (1 << alpha << k_in/k_out); the printed powers "
                    "are those of M^(1c) itself at fixed k_in",
                    "kappa/dT = g_out int_beta^alpha J J x^-2 dx ~ alpha^(lA+lB+1) with lA + lB >= 2|l - l0|, and the x^-2 "
                    "tail converges; (3.17) for M^(1a)/dT is consistent with this normalisation, (3.24) is not"),
        ],
    )


# ----------------------------------------------------------------------------- 4. the M matrices
MIXING_LMAX = 2  # exact six-dimensional integration for every (l, l0) <= 2 (all couplings that reach them)


@derivation("qlt.mixing_matrices")
def _mixing() -> Derivation:
    F = sp.Function("F")
    X = _dot(A_VEC, B_VEC)
    cross = [A_VEC[1] * B_VEC[2] - A_VEC[2] * B_VEC[1], A_VEC[2] * B_VEC[0] - A_VEC[0] * B_VEC[2],
             A_VEC[0] * B_VEC[1] - A_VEC[1] * B_VEC[0]]
    LL = sp.Matrix(3, 3, lambda i, j: _ang(A_VEC, i, _ang(B_VEC, j, F(X))))
    LL_stated = sp.Matrix(3, 3, lambda i, j: sp.Subs(sp.Derivative(F(y), y, 2), y, X).doit() * cross[i] * cross[j]
                          - sp.Subs(sp.Derivative(F(y), y), y, X).doit() * (X * (1 if i == j else 0) - B_VEC[i] * A_VEC[j]))
    J_total = sp.Matrix([sp.expand(_ang(A_VEC, i, F(X)) + _ang(B_VEC, i, F(X))) for i in range(3)])
    claims = [
        Claim("L^A_i L^B_j F(a.b) = F'' (a x b)_i (a x b)_j - F' (x delta_ij - b_i a_j)", LL, LL_stated),
        Claim("the total angular momentum L^A + L^B annihilates every F(a.b)", J_total, sp.zeros(3, 1)),
    ]
    rows_1a = []
    for l in range(MIXING_LMAX + 1):
        for l0 in range(MIXING_LMAX + 1):
            derived = sp.Matrix([geometric_1a(l, l0, la) for la in range(5)])
            stated = sp.Matrix([(-sp.Rational(8, 3) * sp.pi if la == 0 else sp.Rational(4, 3) * sp.pi if la == 2 else 0)
                                * l * (l + 1) * (1 if l == l0 else 0) for la in range(5)])
            rows_1a.append((l, l0, derived, stated))
    claims += [Claim(f"(3.15): coefficients of Lambda_0..4 in M^(1a)_{{{l}{l0}}}", d, s) for l, l0, d, s in rows_1a]
    n_terms = 0
    for l in range(MIXING_LMAX + 1):
        for l0 in range(MIXING_LMAX + 1):
            pairs = [(la, lb) for la in range(abs(l - l0), l + l0 + 1) for lb in range(abs(l - l0), l + l0 + 1)]
            d0 = sp.Matrix([geometric_1c(l, l0, la, lb, "mono") for la, lb in pairs])
            s0 = sp.Matrix([printed_1c0(l, l0, la, lb) for la, lb in pairs])
            d2 = sp.Matrix([geometric_1c(l, l0, la, lb, "quad") for la, lb in pairs])
            s2 = sp.Matrix([printed_1c2(l, l0, la, lb) for la, lb in pairs])
            n_terms += len(pairs)
            claims.append(Claim(f"(3.21): coefficients of kappa_(lA lB) in M^(1c,0)_{{{l}{l0}}}, |l-l0| <= lA, lB <= l+l0",
                                d0, s0))
            claims.append(Claim(f"(3.23): coefficients of kappa_(lA lB) in M^(1c,2)_{{{l}{l0}}} with phase i^(lA+lB)",
                                d2, s2))
    return Derivation(
        id="qlt.mixing_matrices",
        title="The mixing matrices M^(1a), M^(1c,0), M^(1c,2) from (3.6), (3.13), (3.19) and the split (3.20)",
        module="qlt",
        sources=("003 eq. (3.6)", "003 eq. (3.13)", "003 eq. (3.15)", "003 eq. (3.19)", "003 eq. (3.20)",
                 "003 eq. (3.21)", "003 eq. (3.23)", "004 eq. (3.11)", "004 eq. (3.12)", "004 eq. (3.13)"),
        premises=[
            Premise("(3.6): M_{l l0} = (1/4 pi) int dp_A int dp_B P_l(p_A.p_B) <U^A U^B*> (2 l0 + 1)/(4 pi) P_l0(p_A.p_B)"),
            Premise("second order in omega with unperturbed straight paths; the angular momenta L act on the initial state "
                    "(the operator order of (3.13) and (3.19)), L_i = -i eps_ijk p_j d/dp_k"),
            Premise("(3.13): (1a) = -sum_lA (2lA+1) i^lA Lambda_lA int dk P_lA(k.p_A) (delta_ij - k_i k_j) L^A_i L^A_j"),
            Premise("(3.19): (1c) = -sum kappa_{lA lB} (-i)^lA i^lB (2lA+1)(2lB+1) int dk P_lA(k.p_A) P_lB(k.p_B) "
                    "(delta_ij - k_i k_j) L^A_i L^B_j (the m-sums done by the addition theorem)"),
            Premise("(3.20): delta_ij - k_i k_j = (2/3) delta_ij + (delta_ij/3 - k_i k_j)"),
        ],
        steps=[
            Step("by isotropy the k-hat integral is 4 pi times the integrand at k-hat = z; the remaining integrals over "
                 "p_A and p_B are of polynomials and are done exactly (sphere moments)"),
            Step("L^A_i L^B_j acting on P_l0(x), x = p_A.p_B, gives the tensor of the first claim; contracted with the "
                 "split (3.20) and projected on P_l this yields, coefficient by coefficient, (3.21) and (3.23)"),
            Step("selection rules found: M^(1a) takes only Lambda_0 and Lambda_2; M^(1c,0) only kappa_{lA lA} with "
                 "(l lA l0) a 3j triangle with even sum; M^(1c,2) only |lA - lB| <= 2, lA + lB even; the phase of (3.23) is "
                 "i^(lA+lB) (the (-1)^lA relative to (3.19)'s i^(lB-lA) comes from the angular algebra)"),
            Step("conservation: on the diagonal p_A = p_B the three second-order diagrams combine to "
                 "-(1/2) int int C_ij (L^A + L^B)_i (L^A + L^B)_j, which annihilates the rotation-invariant initial state "
                 "(second claim); so sum_l (2l+1) (M - 1)_{l l0} = 0 for every l0: the total power is conserved"),
            Step("columns l0 = 0 of 2 M^(1a) + M^(1c) vanish (factors l(l+1) delta_{l l0} and l0(l0+1)); row l = 0 "
                 "does not: power flows into the monopole"),
        ],
        claims=claims,
    )


# ----------------------------------------------------------------------------- 5. steady state
@derivation("qlt.steady_state")
def _steady() -> Derivation:
    n = 4
    Asym = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"A_{i}{j}") if j > 0 else 0)
    # conservation: sum_l (2l+1) A_{l l0} = 0 fixes row 0
    for j in range(1, n):
        Asym[0, j] = -sum((2 * i + 1) * Asym[i, j] for i in range(1, n))
    sub = Asym[1:, 1:]
    rhs = sp.Matrix([source] + [0] * (n - 2))
    C = sub.LUsolve(rhs)
    monopole_rate = sp.simplify(-(Asym[0, 1:] * C)[0])
    # scaling: A = g_out a(alpha, beta) -> C = (s/g_out) c(alpha, beta)
    a_mat = sp.Matrix(2, 2, sp.symbols("a_11 a_12 a_21 a_22"))
    c_scaled = sp.simplify((g_out * a_mat).LUsolve(sp.Matrix([source, 0])))
    # the source: the right-hand side of (3.3) with dr/dT = -p and K_ij = K delta_ij, projected as (1.1)
    gv = sp.symbols("g_x g_y g_z", real=True)
    K_iso, f_bar = sp.Symbol("K", positive=True), sp.Symbol("fbar", positive=True)
    rhs33 = ((f_bar - 3 * K_iso * _dot(A_VEC, gv)) * (-_dot(B_VEC, gv))
             + (-_dot(A_VEC, gv)) * (f_bar - 3 * K_iso * _dot(B_VEC, gv)))
    projected = [sp.simplify(_sphere2(sp.legendre(lv, _dot(A_VEC, B_VEC)) * rhs33) / (4 * sp.pi)) for lv in range(4)]
    g2 = sum(gi ** 2 for gi in gv)
    return Derivation(
        id="qlt.steady_state",
        title="The transition matrix (3.5) and the steady state (3.7): what it depends on, and the monopole",
        module="qlt",
        sources=("003 eq. (3.4)", "003 eq. (3.5)", "003 eq. (3.7)", "003 Sec. 5", "004 eq. (3.7)"),
        premises=[
            Premise("(3.5): A = lim (1 - M)/dT with M = M^(0) + 2 M^(1a) + M^(1c,0) + M^(1c,2)"),
            Premise("(3.3) with dr/dT = -p and K_ij = K delta_ij, projected on P_l(pA.pB) as (1.1): "
                    "(1/4 pi) int dpA int dpB P_l (...)"),
            Premise("(3.7): A C = s delta_{l1}, s the l = 1 projection of the right-hand side of (3.3)"),
            Premise("record qlt.mixing_matrices: sum_l (2l+1) A_{l l0} = 0 and A_{l 0} = 0"),
        ],
        steps=[
            Step("every M - 1 is g_out dT times a function of (alpha, beta), so A = g_out a(alpha, beta) exactly (no "
                 "further limit needed at second order); the paper's limit k_in -> oo at fixed alpha is beta -> 0"),
            Step("column 0 of A vanishes, so C_0 drops out of the rows l >= 1: the steady state is C_l, l >= 1, the solution "
                 "of the l >= 1 block; the l = 0 row cannot be stationary: dC_0/dt = 3 s (all injected power ends in the "
                 "monopole, as sum rule 002 (6) says)"),
            Step("the right-hand side of (3.3) is -fbar (pA + pB).g + 6 K (pA.g)(pB.g); with int dp p_i p_j = (4 pi/3) "
                 "delta_ij its projection (1.1) is 6 K (4 pi/3)^2 |g|^2 / (4 pi) = (8 pi/3) K |grad f|^2 at l = 1 and 0 at "
                 "every other l (the fbar terms are odd in one momentum)"),
            Step("C^stdy_l = (s / g_out) c_l(alpha, k_out/k_in); in the limit it depends on alpha and s/g_out = "
                 "(8 pi/3) K |grad f|^2 / g_out only -- not on k_out, k_in or dT separately. With g_out fixed, "
                 "<omega^2> = 8 pi g_out (k_in - k_out) grows without bound in that limit."),
        ],
        claims=[
            Claim("conservative A with A_{l0} = 0: the steady state feeds the monopole at dC_0/dt = 3 s (generic 4x4)",
                  monopole_rate, 3 * source),
            Claim("scaling: solving g_out a C = s e_1 gives C = (s/g_out) a^-1 e_1", c_scaled,
                  source / g_out * a_mat.LUsolve(sp.Matrix([1, 0]))),
            Claim("the source of (3.4)/(3.7): projections l = 0..3 of the right-hand side of (3.3)", sp.Matrix(projected),
                  sp.Matrix([0, sp.Rational(8, 3) * sp.pi * K_iso * g2, 0, 0])),
        ],
        errata=[Erratum(
            "003 eqs. (3.4), (3.7)",
            "A C = (8 pi/9) K |grad f|^2 delta_{l1}",
            "A C = (8 pi/3) K |grad f|^2 delta_{l1}",
            "projecting the right-hand side of (3.3) (with dr/dT = -p) as (1.1) gives 6 K (4 pi/9)|grad f|^2 = "
            "(8 pi/3) K |grad f|^2; two checks agree: the columns of A conserve sum (2l+1) C_l, so the total power "
            "grows at 3 s, and by Parseval 4 pi <(g.r)^2> grows at 8 pi K |g|^2 = 3 (8 pi/3) K |g|^2; and with the "
            "dipole's own decay alone (rate 1/(3K)) the steady C_1 = s 3K/2 is the Fick dipole (4 pi/9)|3 K g|^2 only "
            "for s = (8 pi/3) K |g|^2 (numerics.validation.qlt_sim measures the first on test particles)"),
            Erratum(
            "003 Sec. 5",
            "a constant noise power of N ~ 1.5 x 10^9 (also 004 Sec. 5)",
            "N ~ 1.5 x 10^-9",
            "a relative-intensity map with |dI| <= 1 has sum_l (2l+1) C_l = 4 pi <dI^2> <= 4 pi, so no C_l can "
            "exceed 4 pi; the observed spectra of Fig. 2 lie near 1e-9 (the minus sign is lost in the text)")],
    )


# ----------------------------------------------------------------------------- 6. any isotropic spectrum
class exprel(sp.Function):
    """``(exp(z) - 1)/z``, continuous at z = 0 (value 1); generated code calls ``scipy.special.exprel``.

    It keeps the power-law closed forms finite and accurate through the logarithmic cases (index -1 of the
    mean square, index 1 of the tail), where the textbook forms divide 0 by 0.
    """

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.One

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return (sp.exp(z) - 1) / z

    def fdiff(self, argindex=1):
        z = self.args[0]
        return (sp.exp(z) - exprel(z)) / z

    def _eval_evalf(self, prec):
        z = self.args[0].evalf(mpmath.libmp.prec_to_dps(prec) + 5)
        if not z.is_number or not z.is_real:
            return None
        with mpmath.workprec(prec + 20):
            zm = mpmath.mpf(str(z))
            value = mpmath.mpf(1) if zm == 0 else mpmath.expm1(zm) / zm
        return sp.Float(value, mpmath.libmp.prec_to_dps(prec))


kk = sp.Symbol("kprime", positive=True)
index = sp.Symbol("n", real=True)  # power-law index of g(k)


def power_law_tail(kv: sp.Expr = k, n: sp.Expr = index) -> sp.Expr:
    """T(k) = int_k^k_in g(k')/k'^2 dk' for g = g_out (k/k_out)^n (k_out <= k <= k_in), finite at n = 1."""
    L = sp.log(k_in / kv)
    return g_out * (kv / k_out) ** n / kv * L * exprel((n - 1) * L)


def power_law_mean_square(n: sp.Expr = index) -> sp.Expr:
    """<omega^2> = 8 pi int_k_out^k_in g dk for g = g_out (k/k_out)^n, finite at n = -1."""
    L = sp.log(k_in / k_out)
    return 8 * sp.pi * g_out * k_out * L * exprel((n + 1) * L)


def jj_integral(l: int, z: sp.Expr = a) -> sp.Expr:
    """JJ_l(z) = int_0^z (z - y) j_l(y) dy = z J_l(z) - int_0^z y j_l(y) dy (closed form, l = 0..2)."""
    return z * j_integral(l, z) - sp.integrate(sp.expand(y * sph_jn(l, y)), (y, 0, z))


@derivation("qlt.general_spectrum")
def _general_spectrum() -> Derivation:
    D = sp.Symbol("D", positive=True)  # the time interval dT in the substitution claim
    T = sp.Function("T")
    g = sp.Function("g")
    jj = {l: jj_integral(l) for l in range(3)}
    # 1. the substitution tau = y/k: (D - tau) j_l(k tau) integrated over tau is JJ_l(k D)/k^2
    sub_derived = sp.Matrix([sp.diff(jj[l].subs(a, k * D) / k ** 2, D, 2) for l in range(3)])
    sub_start = sp.Matrix([sp.limit(jj[l], a, 0) for l in range(3)] + [sp.limit(sp.diff(jj[l], a), a, 0) for l in range(3)])
    # 2. parts: d/dk[-T(k) JJ_0(k dT)] with T' = -g/k^2
    jj0 = jj[0].subs(a, k * dT)
    parts = sp.diff(-T(k) * jj0, k).subs(sp.Derivative(T(k), k), -g(k) / k ** 2)
    parts_stated = g(k) / k ** 2 * jj0 - T(k) * dT * j_integral(0, k * dT)
    # 3. white noise: T(y/dT) = g_out dT (1/y - 1/alpha) for y >= beta
    white_tail = sp.integrate(g_out / kk ** 2, (kk, k, k_in))
    white_in_y = sp.simplify(white_tail.subs(k, y / dT).subs(k_in, alpha / dT))
    # 4./5. power law
    tail = power_law_tail()
    gp = g_out * (k / k_out) ** index
    ms = power_law_mean_square()
    # 6. a plane wave with a random polarisation angle psi about k-hat = z
    psi = sp.Symbol("psi", real=True)
    amp = sp.Symbol("A", positive=True)
    avec = [amp * sp.cos(psi), amp * sp.sin(psi), 0]
    pol = sp.Matrix(3, 3, lambda i, j: sp.integrate(avec[i] * avec[j], (psi, 0, 2 * sp.pi)) / (2 * sp.pi))
    proj = sp.Matrix(3, 3, lambda i, j: (1 if i == j else 0) - K_HAT[i] * K_HAT[j])
    # 7. limits
    short = sp.Matrix([sp.series(jj[l], a, 0, l + 3).removeO() for l in range(3)])
    short_stated = sp.Matrix([a ** (l + 2) / ((l + 1) * (l + 2) * sp.factorial2(2 * l + 1)) for l in range(3)])
    j_inf = sp.Matrix([sp.integrate(sph_jn(l, y), (y, 0, sp.oo)) for l in (0, 2)])
    omega2 = sp.Symbol("Omega2", positive=True)  # <omega^2>
    return Derivation(
        id="qlt.general_spectrum",
        title="Lambda_l and kappa for any isotropic spectrum g(k): one-dimensional k integrals, white noise, power laws, "
              "a field's own discrete spectrum, and the short- and long-dT limits",
        module="qlt",
        sources=("003 eq. (3.12)", "003 eq. (3.14)", "003 eq. (3.22)", "004 eq. (3.15)"),
        premises=[
            Premise("(3.12) with any g(k) >= 0 on [k_out, k_in] (zero outside); <omega^2> = 8 pi int g dk "
                    "(record qlt.turbulence_normalisation)"),
            Premise("(3.14): Lambda_l(dT) = int_0^dT dT' int_0^T' dtau int dk g(k) j_l(k tau) (Fubini: record qlt.lambda_l)"),
            Premise("(3.22), second line: kappa_{lA lB}(dT) = int dk g(k) h_lA h_lB, h_l = J_l(k dT)/k (record qlt.kappa)"),
            Premise("a plane-wave field Omega = sum_n a_n cos(k_n.r + beta_n) with isotropic directions k-hat_n, "
                    "polarisation angles and phases (numerics.backtracking.turbulence.PlaneWaveField)"),
        ],
        steps=[
            Step("tau = y/k: int_0^dT (dT - tau) j_l(k tau) dtau = JJ_l(k dT)/k^2, JJ_l(z) = int_0^z (z - y) j_l(y) dy "
                 "(both sides vanish with their first derivative at dT = 0 and have the second derivative j_l(k dT)), so "
                 "Lambda_l = int dk g(k)/k^2 JJ_l(k dT)"),
            Step("parts with the tail T(k) = int_k^k_in g(k')/k'^2 dk' (T' = -g/k^2, T(k_in) = 0, JJ_l(0) = 0, JJ_l' = J_l): "
                 "Lambda_l = dT int dk T(k) J_l(k dT) = int_0^{k_in dT} J_l(y) T(y/dT) dy -- one integral of J_l against a "
                 "monotone weight; T is constant (= T(k_out)) below k_out"),
            Step("kappa_{lA lB} = dT int_{k_out dT}^{k_in dT} g(x/dT) J_lA(x) J_lB(x) x^-2 dx"),
            Step("white noise: T(y/dT) = g_out dT (1/max(y, beta) - 1/alpha): the white-noise forms of records qlt.lambda_l "
                 "and qlt.kappa are the special case g = g_out (Lambda/(g_out dT), kappa/(g_out dT) depend on alpha, beta)"),
            Step("power law g = g_out (k/k_out)^n: T(k) = g_out (k/k_out)^n/k L exprel((n - 1) L), L = ln(k_in/k), and "
                 "<omega^2> = 8 pi g_out k_out L_0 exprel((n + 1) L_0), L_0 = ln(k_in/k_out) (exprel(z) = (e^z - 1)/z); "
                 "n = -1 is equal power per ln k, n = -5/3 Kolmogorov, n = -3/2 Kraichnan"),
            Step("a field's own spectrum: averaged over polarisation angle and phase, a mode of amplitude |a_n| contributes "
                 "<omega_i omega_j> = (|a_n|^2/4) (delta_ij - k_i k_j) cos(k.dr); averaged over isotropic directions this "
                 "is (3.12) with g(k) = sum_n c_n delta(k - k_n), c_n = |a_n|^2/(16 pi) (8 pi c_n = |a_n|^2/2, the mode's "
                 "mean square). Then Lambda_l = sum_n c_n JJ_l(k_n dT)/k_n^2 and kappa = sum_n c_n J_lA J_lB (k_n dT)/k_n^2: "
                 "the same theory for exactly the spectrum a simulation uses"),
            Step("short dT (k_in dT << 1): JJ_l(x) ~ x^(l+2)/((l+1)(l+2)(2l+1)!!), so Lambda_0 = dT^2 <omega^2>/(16 pi) and "
                 "M^(1a) = -l(l+1) <omega^2> dT^2/6 (ballistic: deflection angle^2 ~ omega^2 dT^2, independent of g's "
                 "shape); Lambda_l ~ dT^(l+2) int g k^l dk, kappa_{lA lB} ~ dT^(lA+lB+2) int g k^(lA+lB) dk"),
            Step("long dT (k_out dT >> 1): J_l(x) -> J_l(oo) (J_0(oo) = pi/2, J_2(oo) = pi/4) and JJ_l(x) = x J_l(oo) + "
                 "O(1), so Lambda_l -> dT J_l(oo) int g/k dk and M^(1a)/dT -> -pi^2 l(l+1) int g/k dk (white noise: "
                 "pi^2 g_out ln(k_in/k_out), record qlt.lambda_l), while kappa -> J_lA(oo) J_lB(oo) int g/k^2 dk stays "
                 "bounded: M^(1c)/dT -> 0"),
        ],
        claims=[
            Claim("substitution: d^2/dD^2 [JJ_l(k D)/k^2] = j_l(k D), l = 0..2", sub_derived,
                  sp.Matrix([sph_jn(l, k * D) for l in range(3)])),
            Claim("substitution: JJ_l(0) = 0 and JJ_l'(0) = 0, l = 0..2", sub_start, sp.zeros(6, 1)),
            Claim("JJ_l' = J_l, l = 0..2", sp.Matrix([sp.diff(jj[l], a) for l in range(3)]),
                  sp.Matrix([j_integral(l, a) for l in range(3)])),
            Claim("parts: d/dk[-T(k) JJ_0(k dT)] = g/k^2 JJ_0(k dT) - dT T(k) J_0(k dT) when T' = -g/k^2", parts,
                  parts_stated),
            Claim("white noise: T(y/dT) = g_out dT (1/y - 1/alpha) for y >= beta", white_in_y,
                  g_out * dT * (1 / y - 1 / alpha)),
            Claim("power law: T' = -g/k^2", sp.diff(tail.rewrite(sp.exp), k), -gp / k ** 2,
                  domain={index: (-3, 3), k: (0.5, 2), k_out: (0.1, 0.5), k_in: (2, 5), g_out: (0.1, 3)}),
            Claim("power law: T(k_in) = 0", tail.subs(k, k_in), 0),
            Claim("power law: d<omega^2>/dk_in = 8 pi g(k_in)", sp.diff(ms.rewrite(sp.exp), k_in),
                  8 * sp.pi * gp.subs(k, k_in), domain={index: (-3, 3), k_out: (0.1, 0.5), k_in: (2, 5), g_out: (0.1, 3)}),
            Claim("power law: <omega^2> = 0 for k_in = k_out", ms.subs(k_in, k_out), 0),
            Claim("power law, n = 0 is white noise: T and <omega^2>", sp.Matrix([tail.subs(index, 0).rewrite(sp.exp),
                                                                                  ms.subs(index, 0).rewrite(sp.exp)]),
                  sp.Matrix([g_out * (1 / k - 1 / k_in), 8 * sp.pi * g_out * (k_in - k_out)])),
            Claim("power law, n = -1 (per ln k): <omega^2> = 8 pi g_out k_out ln(k_in/k_out)", ms.subs(index, -1),
                  8 * sp.pi * g_out * k_out * sp.log(k_in / k_out)),
            Claim("a mode's polarisation average: <a_i a_j> = (|a|^2/2)(delta_ij - k_i k_j), k-hat = z", pol,
                  amp ** 2 / 2 * proj),
            Claim("short dT: JJ_l(x) = x^(l+2)/((l+1)(l+2)(2l+1)!!) + O(x^(l+4)), l = 0..2", short, short_stated),
            Claim("short dT: M^(1a) = -(8 pi/3) (dT^2/2) (<omega^2>/(8 pi)) l(l+1) = -l(l+1) <omega^2> dT^2/6",
                  -sp.Rational(8, 3) * sp.pi * dT ** 2 / 2 * omega2 / (8 * sp.pi), -omega2 * dT ** 2 / 6),
            Claim("long dT: J_0(oo) = pi/2, J_2(oo) = pi/4", j_inf, sp.Matrix([sp.pi / 2, sp.pi / 4])),
            Claim("long dT: JJ_0(x) - x pi/2 + 1 = x R(x), R(x) = Si x - pi/2 + cos x/x", jj[0] - a * sp.pi / 2 + 1,
                  a * (sp.Si(a) - sp.pi / 2 + sp.cos(a) / a)),
            Claim("long dT: R' = -cos x/x^2 and Si(oo) = pi/2, so R(x) = int_x^oo cos t/t^2 dt, |x R(x)| <= 1: "
                  "JJ_0(x) = x pi/2 + O(1)", sp.Matrix([sp.diff(sp.Si(a) + sp.cos(a) / a, a), sp.limit(sp.Si(a), a, sp.oo)]),
                  sp.Matrix([-sp.cos(a) / a ** 2, sp.pi / 2])),
            Claim("long dT: M^(1a)/dT -> -(8 pi/3)(J_0(oo) - J_2(oo)/2) l(l+1) int g/k = -pi^2 l(l+1) int g/k",
                  -sp.Rational(8, 3) * sp.pi * (j_inf[0] - j_inf[1] / 2), -sp.pi ** 2),
        ],
        kernels=[
            KernelSpec("power_law_tail", tail, (k, k_out, k_in, index, g_out), "003 eq. (3.14)",
                       "T(k) = int_k^k_in g(k')/k'^2 dk' for g = g_out (k/k_out)^n on [k_out, k_in] (dimensionless)",
                       domain={k: (0.5, 2), k_out: (0.1, 0.5), k_in: (2, 50), index: (-3, 3), g_out: (0.1, 3)}),
            KernelSpec("power_law_mean_square", ms, (k_out, k_in, index, g_out), "003 eq. (3.12)",
                       "<omega^2> = 8 pi int g dk for g = g_out (k/k_out)^n on [k_out, k_in] (1/length^2)",
                       domain={k_out: (0.01, 1), k_in: (2, 1e3), index: (-3, 3), g_out: (0.1, 3)}),
        ],
    )
