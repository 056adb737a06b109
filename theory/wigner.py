"""Angular-momentum coupling: the singlet Clebsch--Gordan coefficients of 002 Appendix A, the
partial-sky coupling matrix and transfer matrix of review Appendix A, and the Wigner-symbol
identities that ``numerics.wigner`` relies on.

Conventions: SymPy's ``Ynm`` (Condon--Shortley phase), ``clebsch_gordan(j1, j2, J, m1, m2, M)
= <j1 m1 j2 m2|J M>`` (real, so <J M|j1 m1 j2 m2> is the same number), ``wigner_3j`` and
``wigner_6j`` as in Edmonds.  The partial-sky records use mu = sin(dec) (= cos theta) and a
uniform declination band s1 = sin(dec_min) < mu < s2 = sin(dec_max), with
Y_lm = lambda_lm(mu) e^(i m phi), so that

    T^m_ll' = int_band Y*_lm Y_l'm dOmega = 2 pi int_{s1}^{s2} lambda_lm lambda_l'm dmu

is a polynomial in s1, s2 and every claim is proved exactly.

What the records find: 002 (A1) and (A2) hold as printed (the phase (-1)^(l - m) of (A2)
and Y_{l,-m} = (-1)^m Y*_lm combine to the (-1)^l of (A1); the printed order Y*_lm(p1) Y_lm(p2)
is the complex conjugate of the coupled sum Y_lm(p1) Y*_lm(p2), and the sum is real).  Review
(A.1) is int w Y*_lm Y_l'm dOmega with the printed sign and normalisation, (27) is its l = l' = 1,
m = +-1 element, and (A.2) is exactly (1/(2l+1)) sum_{m != 0} (T^m_ll')^2, the expectation of
the pseudo power with the m = 0 pseudo moments set to zero.  No erratum.
"""
from __future__ import annotations

import math

import mpmath
import sympy as sp
from sympy.physics.wigner import clebsch_gordan, wigner_3j, wigner_6j

from theory.registry import NUMERIC_DIGITS, Claim, Derivation, Premise, Step, derivation

theta, phi = sp.symbols("theta varphi", real=True)
# p_i = (S_i cos phi_i, S_i sin phi_i, C_i) with S_i = sin theta_i, C_i = cos theta_i, E_i = exp(i phi_i):
# every (A1) claim is a rational function of these, proved modulo S_i^2 + C_i^2 = 1.
C1, S1, C2, S2 = sp.symbols("C_1 S_1 C_2 S_2", real=True)
E1, E2 = sp.symbols("E_1 E_2")
UNIT_CIRCLES = (S1 ** 2 + C1 ** 2 - 1, S2 ** 2 + C2 ** 2 - 1)
mu = sp.Symbol("mu", real=True)
s1, s2 = sp.symbols("s_1 s_2", real=True)

APPENDIX = 'review "Appendix A. Multipole Coupling Matrix"'
BAND = {s1: (-1.0, 0.0), s2: (0.0, 1.0)}
L_SINGLET = 6  # (A2) for every l1, l2 <= 6 and every m1, m2; (A1) for l <= 6
L_COUPLING = 3  # (A.1) and (A.2) for l, l' <= 3


def Y(l: int, m: int, point: int, conjugate: bool = False) -> sp.Expr:
    """Y_lm(p_point) (or its conjugate): SymPy's Ynm (Condon--Shortley) in the variables C, S, E of that point."""
    e = sp.Ynm(l, m, theta, phi).expand(func=True)
    if conjugate:
        e = sp.conjugate(e)
    C, S, E = (C1, S1, E1) if point == 1 else (C2, S2, E2)
    return sp.expand(e.subs({sp.sin(theta): S, sp.cos(theta): C}).subs(sp.exp(sp.I * phi), E))


def cos_gamma() -> sp.Expr:
    """p1.p2 = S1 S2 cos(phi1 - phi2) + C1 C2."""
    return S1 * S2 * (E1 / E2 + E2 / E1) / 2 + C1 * C2


def _two_points(rng) -> dict:
    """Two random directions, for numeric sampling of the (A1) claims: cos, sin and exp(i phi) to 10 digits more
    than the numeric check works with, so that S^2 + C^2 = 1 and |E| = 1 hold to that precision (float64 values
    are off by ~1e-17, which the 1e-25 tolerance rightly refuses)."""
    digits = NUMERIC_DIGITS + 10
    pt = {}
    with mpmath.workdps(digits):
        for C, S, E in ((C1, S1, E1), (C2, S2, E2)):
            th, ph = mpmath.mpf(rng.uniform(0.0, math.pi)), mpmath.mpf(rng.uniform(0.0, 2 * math.pi))
            pt.update({C: sp.Float(mpmath.cos(th), digits), S: sp.Float(mpmath.sin(th), digits),
                       E: sp.Float(mpmath.cos(ph), digits) + sp.I * sp.Float(mpmath.sin(ph), digits)})
    return pt


def singlet_printed(l1: int, m1: int, l2: int, m2: int) -> sp.Expr:
    """002 eq. (A2) as printed: <00|l1 m1 l2 -m2> = delta_l1l2 delta_m1m2 (-1)^(l1 - m1)/sqrt(2 l1 + 1)."""
    if l1 != l2 or m1 != m2:
        return sp.Integer(0)
    return sp.Integer(-1) ** (l1 - m1) / sp.sqrt(2 * l1 + 1)


def lam(l: int, m: int, x=mu) -> sp.Expr:
    """lambda_lm(mu) with Y_lm = lambda_lm(cos theta) e^(i m phi) (Condon--Shortley phase)."""
    am = abs(m)
    norm = sp.sqrt(sp.Rational(2 * l + 1, 4) / sp.pi * sp.factorial(l - am) / sp.factorial(l + am))
    val = norm * sp.assoc_legendre(l, am, x)
    return sp.expand(val if m >= 0 else (-1) ** am * val)


def band_moment(k: int) -> sp.Expr:
    """b_k0 = int w Y*_k0 dOmega of the uniform band s1 < mu < s2."""
    integral = sp.integrate(sp.legendre(k, mu), (mu, s1, s2))
    return sp.expand(2 * sp.pi * sp.sqrt(sp.Rational(2 * k + 1, 4) / sp.pi) * integral)


def coupling_direct(l: int, lp: int, m: int) -> sp.Expr:
    """T^m_ll' = int_band Y*_lm Y_l'm dOmega = 2 pi int lambda_lm lambda_l'm dmu (zero for l or l' < |m|)."""
    if abs(m) > l or abs(m) > lp:
        return sp.Integer(0)
    return sp.expand(2 * sp.pi * sp.integrate(sp.expand(lam(l, m) * lam(lp, m)), (mu, s1, s2)))


def coupling_printed(l: int, lp: int, m: int) -> sp.Expr:
    """Review eq. (A.1) as printed."""
    total = sum(band_moment(k) * sp.sqrt(sp.Integer((2 * l + 1) * (2 * lp + 1) * (2 * k + 1)) / (4 * sp.pi))
                * wigner_3j(l, lp, k, 0, 0, 0) * wigner_3j(l, lp, k, m, -m, 0) for k in range(abs(l - lp), l + lp + 1))
    return sp.expand(sp.Integer(-1) ** m * total)


def transfer_printed(l: int, lp: int) -> sp.Expr:
    """Review eq. (A.2) as printed, W_k = |b_k0|^2/(2k+1) for the azimuthally symmetric band."""
    first = sp.Rational(2 * lp + 1, 4) / sp.pi * sum(
        (2 * k + 1) * band_moment(k) ** 2 / (2 * k + 1) * wigner_3j(l, lp, k, 0, 0, 0) ** 2
        for k in range(abs(l - lp), l + lp + 1))
    return sp.expand(first - coupling_printed(l, lp, 0) ** 2 / (2 * l + 1))


def central_ratio(n: int) -> sp.Expr:
    """r_n = C(2n, n)/4^n, the table ``numerics.wigner`` builds its (l1 l2 l3; 0 0 0) from."""
    return sp.binomial(2 * n, n) / sp.Integer(4) ** n


def three_j_zero_closed_form(l1: int, l2: int, l3: int) -> sp.Expr:
    """(-1)^g sqrt(r_a r_b r_c / ((2g+1) r_g)), g = (l1+l2+l3)/2, a = g - l1, ...; 0 by the selection rules."""
    L = l1 + l2 + l3
    if L % 2 or l3 < abs(l1 - l2) or l3 > l1 + l2:
        return sp.Integer(0)
    g = L // 2
    return sp.Integer(-1) ** g * sp.sqrt(central_ratio(g - l1) * central_ratio(g - l2) * central_ratio(g - l3)
                                         / ((2 * g + 1) * central_ratio(g)))


# ----------------------------------------------------------------------------- 002 (A1), (A2)
@derivation("wigner.clebsch_gordan_singlet")
def _clebsch_gordan_singlet() -> Derivation:
    a2_claims = []
    for l1 in range(L_SINGLET + 1):
        derived, stated = [], []
        for l2 in range(L_SINGLET + 1):
            for m1 in range(-l1, l1 + 1):
                for m2 in range(-l2, l2 + 1):
                    derived.append(clebsch_gordan(l1, l2, 0, m1, -m2, 0))
                    stated.append(singlet_printed(l1, m1, l2, m2))
        a2_claims.append(Claim(f"(A2): <00|{l1} m1 l2 -m2> for every l2 <= {L_SINGLET} and every m1, m2",
                               sp.Matrix(derived), sp.Matrix(stated)))
    term_claims, a1_claims = [], []
    for l in range(L_SINGLET + 1):
        coupled = [clebsch_gordan(l, l, 0, m, -m, 0) * Y(l, m, 1) * Y(l, -m, 2) for m in range(-l, l + 1)]
        conj = [sp.Integer(-1) ** l / sp.sqrt(2 * l + 1) * Y(l, m, 1) * Y(l, m, 2, conjugate=True)
                for m in range(-l, l + 1)]
        term_claims.append(Claim(f"l = {l}: <l m l -m|00> Y_lm(p1) Y_l,-m(p2) = (-1)^l/sqrt(2l+1) Y_lm(p1) Y*_lm(p2), "
                                 "term by term", sp.Matrix(coupled), sp.Matrix(conj), sampler=_two_points))
        printed_middle = sp.Integer(-1) ** l / sp.sqrt(2 * l + 1) * sum(
            Y(l, m, 1, conjugate=True) * Y(l, m, 2) for m in range(-l, l + 1))
        printed_right = sp.Integer(-1) ** l * sp.sqrt(2 * l + 1) / (4 * sp.pi) * sp.legendre(l, cos_gamma())
        a1_claims.append(Claim(f"(A1), l = {l}: sum_m <l m l -m|00> Y_lm(p1) Y_l,-m(p2) = printed middle form",
                               sum(coupled), printed_middle, constraints=UNIT_CIRCLES, sampler=_two_points))
        a1_claims.append(Claim(f"(A1), l = {l}: middle form = (-1)^l sqrt(2l+1)/(4 pi) P_l(p1.p2) (addition theorem)",
                               printed_middle, printed_right, constraints=UNIT_CIRCLES, sampler=_two_points))
    return Derivation(
        id="wigner.clebsch_gordan_singlet",
        title="The J = 0 state of two equal angular momenta: 002 eqs. (A1) and (A2)",
        module="wigner",
        sources=("002 eq. (A1)", "002 eq. (A2)"),
        premises=[
            Premise("coupled states |J M l1 l2> = sum_{m1 m2} <l1 m1 l2 m2|J M> |l1 m1> |l2 m2>, with "
                    "<p|l m> = Y_lm(p) (Condon--Shortley) and <J M|l1 m1 l2 m2> = <l1 m1 l2 m2|J M> real"),
            Premise("002 (A2) as printed", sp.Eq(sp.Symbol("<00|l1 m1 l2 -m2>"),
                                                 sp.Symbol("delta_l1l2 delta_m1m2 (-1)^(l1-m1)/sqrt(2 l1+1)"),
                                                 evaluate=False)),
            Premise("Y_{l,-m} = (-1)^m Y*_lm, e.g. l = 2, m = 1", sp.Eq(Y(2, -1, 1), -Y(2, 1, 1, conjugate=True),
                                                                       evaluate=False)),
            Premise("directions p_i = (S_i cos phi_i, S_i sin phi_i, C_i), S_i = sin theta_i, C_i = cos theta_i, "
                    "E_i = exp(i phi_i); claims hold modulo S_i^2 + C_i^2 = 1", sp.Eq(sp.Symbol("p1.p2"), cos_gamma(),
                                                                                     evaluate=False)),
        ],
        steps=[
            Step("J = 0 forces l1 = l2 = l and m2 = -m1: <l m l -m|00> = (-1)^(l - m)/sqrt(2l + 1) -- (A2)"),
            Step("|00ll> = sum_m (-1)^(l-m)/sqrt(2l+1) Y_lm(p1) Y_l,-m(p2) "
                 "= (-1)^l/sqrt(2l+1) sum_m Y_lm(p1) Y*_lm(p2): the (-1)^m of Y_l,-m cancels the (-1)^-m of (A2)"),
            Step("the sum is real (addition theorem, (2l+1)/(4 pi) P_l(p1.p2)), so the printed order "
                 "Y*_lm(p1) Y_lm(p2) gives the same value: (A1)",
                 sp.Eq(sp.Symbol("|00ll>"), sp.Integer(-1) ** sp.Symbol("l") * sp.sqrt(2 * sp.Symbol("l") + 1)
                       / (4 * sp.pi) * sp.Function("P_l")(sp.Symbol("x")), evaluate=False)),
        ],
        claims=a2_claims + term_claims + a1_claims,
    )


# ----------------------------------------------------------------------------- review (A.1), (27)
@derivation("wigner.partial_sky_coupling")
def _partial_sky_coupling() -> Derivation:
    claims = []
    for m in range(-L_COUPLING, L_COUPLING + 1):
        n = L_COUPLING + 1
        direct = sp.Matrix([[coupling_direct(l, lp, m) for lp in range(n)] for l in range(n)])
        printed = sp.Matrix([[coupling_printed(l, lp, m) for lp in range(n)] for l in range(n)])
        claims.append(Claim(f"(A.1), m = {m}: T^m_ll' = int_band Y*_lm Y_l'm dOmega for l, l' <= {L_COUPLING}",
                            direct, printed, domain=BAND))
    full = [coupling_printed(l, lp, m).subs({s1: -1, s2: 1}) for l in range(L_COUPLING + 1)
            for lp in range(L_COUPLING + 1) for m in range(-min(l, lp), min(l, lp) + 1)]
    delta = [1 if l == lp else 0 for l in range(L_COUPLING + 1) for lp in range(L_COUPLING + 1)
             for m in range(-min(l, lp), min(l, lp) + 1)]
    claims.append(Claim("full sky (s1 = -1, s2 = 1): T^m_ll' = delta_ll'", sp.Matrix(full), sp.Matrix(delta)))
    return Derivation(
        id="wigner.partial_sky_coupling",
        title="Partial-sky multipole coupling of a uniform declination band: review eq. (A.1)",
        module="wigner",
        sources=("review eq. (26)", APPENDIX),
        premises=[
            Premise("pseudo moments a_lm = int w I Y*_lm dOmega of I = sum a^_l'm' Y_l'm' (review (26)): "
                    "K_lm,l'm' = int w Y*_lm Y_l'm' dOmega"),
            Premise("w = sum_k b_k0 Y_k0 (azimuthally symmetric), b_k0 = int w Y*_k0 dOmega; for the band",
                    sp.Eq(sp.Symbol("b_10"), band_moment(1), evaluate=False)),
            Premise("Gaunt: int Y_l1m1 Y_l2m2 Y_l3m3 dOmega = sqrt((2l1+1)(2l2+1)(2l3+1)/(4 pi)) "
                    "(l1 l2 l3; 0 0 0)(l1 l2 l3; m1 m2 m3)"),
        ],
        steps=[
            Step("Y*_lm = (-1)^m Y_l,-m, so K = delta_mm' (-1)^m sum_k b_k0 Gaunt(l' m, k 0, l -m)"),
            Step("(l' k l; m 0 -m) = (l l' k; -m m 0) (cyclic) = (l l' k; m -m 0) since (l l' k; 0 0 0) forces "
                 "l + l' + k even: (A.1), with T^m_ll' = int w Y*_lm Y_l'm dOmega real and symmetric"),
            Step("example: T^1_12 for the band", sp.Eq(sp.Symbol("T^1_12"), coupling_direct(1, 2, 1), evaluate=False)),
        ],
        claims=claims,
    )


@derivation("wigner.partial_sky_dipole")
def _partial_sky_dipole() -> Derivation:
    stated = (3 * (s2 - s1) + s1 ** 3 - s2 ** 3) / 4
    t11 = coupling_printed(1, 1, 1)
    tm = coupling_printed(1, 1, -1)
    direct = coupling_direct(1, 1, 1)
    return Derivation(
        id="wigner.partial_sky_dipole",
        title="Dipole transition elements of a uniform band, review eq. (27), from the 3j sum (A.1)",
        module="wigner",
        sources=("review eq. (27)", "review eq. (26)", APPENDIX),
        premises=[Premise("(A.1) at l = l' = 1, m = +-1: k = 0, 1, 2; only k = 0, 2 survive (l + l' + k even)"),
                  Premise("b_00 and b_20 of the band", sp.Matrix([band_moment(0), band_moment(2)]))],
        steps=[Step("T^1_11 from (A.1)", sp.Eq(sp.Symbol("T^1_11"), sp.factor(t11), evaluate=False)),
               Step("the same element as the direct integral int_band |Y_11|^2 dOmega (record "
                    "observation.dipole_coupling integrates it in (theta, phi))",
                    sp.Eq(sp.Symbol("T^1_11"), direct, evaluate=False))],
        claims=[
            Claim("(27): K'_1111 = T^1_11 from (A.1)", t11, stated, domain=BAND),
            Claim("(27): K'_1-11-1 = T^-1_11 from (A.1)", tm, stated, domain=BAND),
            Claim("T^1_11 = 2 pi int |lambda_11|^2 dmu (no sign, no 1/(4 pi))", direct, stated, domain=BAND),
        ],
    )


# ----------------------------------------------------------------------------- review (A.2)
@derivation("wigner.transfer_matrix")
def _transfer_matrix() -> Derivation:
    n = L_COUPLING + 1
    T = {m: sp.Matrix([[coupling_direct(l, lp, m) for lp in range(n)] for l in range(n)])
         for m in range(-L_COUPLING, L_COUPLING + 1)}
    expect = sp.Matrix(n, n, lambda l, lp: sp.expand(sum(T[m][l, lp] ** 2 for m in T if m != 0) / (2 * l + 1)))
    printed = sp.Matrix(n, n, lambda l, lp: transfer_printed(l, lp))
    full_sky = printed.subs({s1: -1, s2: 1})
    orth = sp.Matrix([sum(wigner_3j(l, lp, k, m, -m, 0) * wigner_3j(l, lp, kp, m, -m, 0)
                          for m in range(-min(l, lp), min(l, lp) + 1))
                      - sp.Rational(1 if k == kp else 0, 2 * k + 1)
                      for l in range(n) for lp in range(n) for k in range(abs(l - lp), l + lp + 1)
                      for kp in range(abs(l - lp), l + lp + 1)])
    return Derivation(
        id="wigner.transfer_matrix",
        title="Transfer matrix of the pseudo power spectrum without m = 0 moments: review eq. (A.2)",
        module="wigner",
        sources=("review eq. (29)", "review eq. (30)", APPENDIX),
        premises=[
            Premise("isotropic Gaussian sky: <a^_lm a^*_l'm'> = delta_ll' delta_mm' <C^_l>"),
            Premise("the m = 0 pseudo moments are set to zero (review text before (27)), so (29) becomes "
                    "C_l = (1/(2l+1)) sum_{m != 0} |a_lm|^2"),
            Premise("a_lm = sum_l' T^m_ll' a^_l'm (review (26), (A.1))"),
        ],
        steps=[
            Step("<C_l> = sum_l' <C^_l'> (1/(2l+1)) sum_{m != 0} (T^m_ll')^2: M_ll' is the bracket"),
            Step("sum over all m with sum_m (l l' k; m -m 0)(l l' k'; m -m 0) = delta_kk'/(2k+1): "
                 "(1/(2l+1)) sum_m (T^m_ll')^2 = (2l'+1)/(4 pi) sum_k |b_k0|^2 (l l' k; 0 0 0)^2; subtract m = 0"),
            Step("full sky: M = diag(2l/(2l+1)) -- only the m = 0 part of each multipole is lost", full_sky),
        ],
        claims=[
            Claim(f"(A.2) = (1/(2l+1)) sum_(m != 0) (T^m_ll')^2, every l, l' <= {L_COUPLING}", expect, printed,
                  domain=BAND),
            Claim("3j orthogonality at fixed m3 = 0 used in the step", orth, sp.zeros(orth.rows, 1)),
            Claim("full sky: M_ll' = delta_ll' 2l/(2l+1)", full_sky,
                  sp.diag(*[sp.Rational(2 * l, 2 * l + 1) for l in range(n)])),
        ],
    )


# ----------------------------------------------------------------------------- identities used by numerics.wigner
@derivation("wigner.symbols")
def _symbols() -> Derivation:
    L3, L_ORTH, L6 = 8, 3, 3
    closed = sp.Matrix([three_j_zero_closed_form(a, b, c) - wigner_3j(a, b, c, 0, 0, 0)
                        for a in range(L3 + 1) for b in range(L3 + 1) for c in range(L3 + 1)])
    parity = sp.Matrix([sum((2 * c + 1) * wigner_3j(a, b, c, 0, 0, 0) ** 2 for c in range(abs(a - b), a + b + 1))
                        for a in range(7) for b in range(7)])
    w3 = {}

    def s3(*args):
        if args not in w3:
            w3[args] = wigner_3j(*args)
        return w3[args]

    orth_m, orth_l = [], []
    for a in range(L_ORTH + 1):
        for b in range(L_ORTH + 1):
            ms = [(x, y) for x in range(-a, a + 1) for y in range(-b, b + 1)]
            for (x, y) in ms:
                for (xp, yp) in ms:
                    if x + y != xp + yp:  # one m3 in both symbols: the sum over m3 picks m3 = -m1 - m2
                        continue
                    val = sum((2 * c + 1) * s3(a, b, c, x, y, -x - y) * s3(a, b, c, xp, yp, -xp - yp)
                              for c in range(abs(a - b), a + b + 1))
                    orth_m.append(val - (1 if (x, y) == (xp, yp) else 0))
            for c in range(abs(a - b), a + b + 1):
                for cp in range(abs(a - b), a + b + 1):
                    for z in range(-min(c, cp), min(c, cp) + 1):
                        val = (2 * c + 1) * sum(s3(a, b, c, x, -x - z, z) * s3(a, b, cp, x, -x - z, z)
                                                for x in range(-a, a + 1) if abs(x + z) <= b)
                        orth_l.append(val - (1 if c == cp else 0))
    cg_rel = []
    for a in range(L_ORTH + 1):
        for b in range(L_ORTH + 1):
            for J in range(abs(a - b), a + b + 1):
                for x in range(-a, a + 1):
                    for y in range(-b, b + 1):
                        if abs(x + y) <= J:
                            cg_rel.append(clebsch_gordan(a, b, J, x, y, x + y) - sp.Integer(-1) ** (a - b + x + y)
                                          * sp.sqrt(2 * J + 1) * s3(a, b, J, x, y, -x - y))
    orth6, sum6 = [], []
    for a in range(L6 + 1):
        for b in range(L6 + 1):
            xs = range(abs(a - b), a + b + 1)
            for c in range(L6 + 1):
                for d in range(L6 + 1):
                    fs = [f for f in range(L6 + 3) if abs(a - d) <= f <= a + d and abs(b - c) <= f <= b + c]
                    for f in fs:
                        for fp in fs:
                            val = sum((2 * x + 1) * (2 * f + 1) * wigner_6j(a, b, x, c, d, f)
                                      * wigner_6j(a, b, x, c, d, fp) for x in xs)
                            orth6.append(val - (1 if f == fp else 0))
            for f in range(abs(a - b), a + b + 1):
                sum6.append(sum((2 * x + 1) * wigner_6j(a, b, x, a, b, f) for x in xs) - 1)
    zeros = [sp.zeros(len(v), 1) for v in (orth_m, orth_l, cg_rel, orth6, sum6)]
    return Derivation(
        id="wigner.symbols",
        title="Wigner 3j and 6j identities behind numerics.wigner",
        module="wigner",
        sources=(APPENDIX, "002 eq. (A2)"),
        premises=[Premise("SymPy's exact wigner_3j, wigner_6j, clebsch_gordan (Racah's formulas, Condon--Shortley)"),
                  Premise("central binomial ratio r_n = C(2n, n)/4^n", sp.Eq(sp.Symbol("r_3"), central_ratio(3),
                                                                              evaluate=False))],
        steps=[Step("(l1 l2 l3; 0 0 0) = (-1)^g sqrt[(2a)!(2b)!(2c)!/(2g+1)!] g!/(a! b! c!) with a = g - l1, ...; "
                    "(2a)!/(a!)^2 = 4^a r_a and 4^(a+b+c) = 4^g turn it into (-1)^g sqrt(r_a r_b r_c/((2g+1) r_g))",
                    sp.Eq(sp.Symbol("(2 2 2; 0 0 0)"), three_j_zero_closed_form(2, 2, 2), evaluate=False))],
        claims=[
            Claim(f"closed form of (l1 l2 l3; 0 0 0) for every l <= {L3}", closed, sp.zeros(closed.rows, 1)),
            Claim("sum_l3 (2 l3 + 1)(l1 l2 l3; 0 0 0)^2 = 1, l1, l2 <= 6", parity, sp.ones(parity.rows, 1)),
            Claim(f"sum_(l3, m3) (2 l3 + 1) 3j(m1 m2) 3j(m1' m2') = delta delta, l1, l2 <= {L_ORTH}",
                  sp.Matrix(orth_m), zeros[0]),
            Claim(f"sum_(m1, m2) (2 l3 + 1) 3j(l3 m3) 3j(l3' m3) = delta_l3l3', l1, l2 <= {L_ORTH}",
                  sp.Matrix(orth_l), zeros[1]),
            Claim(f"<l1 m1 l2 m2|L M> = (-1)^(l1 - l2 + M) sqrt(2L + 1) (l1 l2 L; m1 m2 -M), l <= {L_ORTH}",
                  sp.Matrix(cg_rel), zeros[2]),
            Claim(f"sum_x (2x + 1)(2f + 1) {{a b x; c d f}}{{a b x; c d f'}} = delta_ff', a, b, c, d <= {L6}",
                  sp.Matrix(orth6), zeros[3]),
            Claim(f"sum_x (2x + 1) {{a b x; a b f}} = 1, a, b <= {L6}", sp.Matrix(sum6), zeros[4]),
        ],
    )
