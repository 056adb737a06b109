"""Hierarchical evolution of the ensemble-averaged power spectrum (slides \"Evolution Model\").

The slides model the ensemble-averaged angular power spectrum by a linear system with
partial rates nu_{l -> l'} (slides "Evolution Model"),

    d<C_l>/dt = -nu_l <C_l> + sum_{l'} nu_{l' -> l} (2l'+1)/(2l+1) <C_l'>,   nu_l = sum_{l'} nu_{l -> l'},

and compare it with the small-scale theorem, sum_l (2l+1)<C_l> = const (slides
"Small-Scale Theorem").  In the special case nu_{l -> l'} = nu l(l+1) delta_{l', l+1} with
C_l(0) = C_1 delta_{l1}, the variables y_l = (2l+1) C_l / (3 C_1) and tau = nu T obey a
pure-birth chain, y_l' = -lambda_l y_l + lambda_{l-1} y_{l-1}, lambda_m = m(m+1).

Records
-------
``hierarchy.partial_rates``
    the weights (2l'+1)/(2l+1) make sum_l (2l+1)<C_l> conserved whenever no rate leaves
    the system (generic symbolic rates, l = 0..4); a rate out of the system drains it.
``hierarchy.solution``
    the slides' closed-form solution, corrected (the exponential stands outside the
    product over p), the explicit coefficients a_{ln} for lambda_m = m(m+1), and the
    asymptotic ratio <C_l>/<C_1> -> 18/((2l+1)(l+1)(l+2)) for symbolic l.
``hierarchy.total_power``
    sum_l (2l+1)<C_l> is *not* conserved by the model: the truncated sums decrease, and the
    infinite sum is 3 C_1 [1 - prod_n (1 - exp(-2 n nu T))^3] (Jacobi's identity): the
    chain explodes in finite time (sum_l 1/lambda_l = 1) and power leaks to l = infinity.

Kernels: ``ratio(ell)``, ``mode_coefficient(ell, n)`` (accurate in double precision for
l <= 200; see :func:`mode_coefficient_kernel_expr`) and ``total_power_term(n, tau)``.
"""
from __future__ import annotations

import random

import sympy as sp
from sympy.concrete.gosper import gosper_sum

from theory.registry import Claim, Derivation, Erratum, KernelSpec, Premise, Step, derivation

EVOLUTION = 'slides "Evolution Model"'
SMALL_SCALE = 'slides "Small-Scale Theorem"'

t, T, tau, nu = sp.symbols("t T tau nu", positive=True)
C1 = sp.Symbol("C_1", positive=True)
ell, n = sp.symbols("ell n", integer=True, positive=True)
L, N = sp.symbols("L N", integer=True, positive=True)
lp = sp.Symbol("ell'", integer=True, nonnegative=True)
j, k, m, p = sp.symbols("j k m p", integer=True, positive=True)
q = sp.Symbol("q")
y = sp.Function("y")

L_FINITE = 4  # partial_rates: l = 0..L_FINITE
L_GENERIC = 5  # solution: generic distinct rates for l = 1..L_GENERIC


def lam(x):
    """lambda_x = x (x + 1): the relaxation rate nu_x / nu of the slides."""
    return x * (x + 1)


def a_coeff(l_, n_):
    """a_{ln} = (-1)^(n-1) (2n+1) n (n+1) (l-1)! l! / ((l-n)! (l+n+1)!), gamma form."""
    return ((-1) ** (n_ - 1) * (2 * n_ + 1) * n_ * (n_ + 1) * sp.gamma(l_) * sp.gamma(l_ + 1)
            / (sp.gamma(l_ - n_ + 1) * sp.gamma(l_ + n_ + 2)))


def a_exact(l_: int, n_: int) -> sp.Rational:
    """a_{ln} for integers 1 <= n <= l, as an exact rational."""
    return sp.Integer(-1) ** (n_ - 1) * (2 * n_ + 1) * n_ * (n_ + 1) * sp.factorial(l_ - 1) * sp.factorial(l_) \
        / (sp.factorial(l_ - n_) * sp.factorial(l_ + n_ + 1))


def y_explicit(l_: int, time=tau):
    """y_l(tau) = sum_{n=1}^{l} a_{ln} exp(-n(n+1) tau)."""
    return sp.Add(*[a_exact(l_, n_) * sp.exp(-lam(n_) * time) for n_ in range(1, l_ + 1)])


def slides_solution(l_: int, rates, time=T, printed: bool = False):
    """The slides' C_l(T) for a chain with rates nu_m = rates[m-1].

    ``printed=True`` keeps the printed placement of exp(-T nu_n) inside the product over p
    (so it appears l-1 times); otherwise the exponential multiplies the product once.
    """
    pre = 3 * C1 / (2 * l_ + 1) * sp.Mul(*rates[:l_ - 1])
    total = sp.Integer(0)
    for n_ in range(1, l_ + 1):
        others = [p_ for p_ in range(1, l_ + 1) if p_ != n_]
        if printed:
            total += sp.Mul(*[sp.exp(-time * rates[n_ - 1]) / (rates[p_ - 1] - rates[n_ - 1]) for p_ in others])
        else:
            total += sp.exp(-time * rates[n_ - 1]) / sp.Mul(*[rates[p_ - 1] - rates[n_ - 1] for p_ in others])
    return pre * total


def mode_coefficient_kernel_expr():
    """a_{ln} in a form that double precision evaluates without overflow for l <= 200.

    a_{ln} = (-1)^(n-1) (2n+1) n (n+1) / ((l+n)(l+n+1)) * prod_{j=1}^{n-1} (l-j)/(l+j).  The
    product is split at h = floor((n-1)/2) into two numerator runs (RisingFactorial, printed
    as scipy.special.poch) and two denominator runs written as RisingFactorial with a
    negative count, rf(a + m, -m) = 1/rf(a, m), so every factor lies within ~1e+-254.  The
    generated code multiplies the four factors left to right in SymPy's canonical order
    (sympy 1.14: small, small, large, small), which keeps every partial product in range;
    a product of both large runs first would overflow at l ~ n ~ 200.  Checked against exact
    rationals at every 1 <= n <= l <= 200 (scipy.special.poch): worst relative error 2.5e-15.
    """
    h = sp.floor((n - 1) / 2)
    rf = sp.RisingFactorial
    pre = (-1) ** (n - 1) * (2 * n + 1) * n * (n + 1) / ((ell + n) * (ell + n + 1))
    # j = 1..h: (l-h .. l-1) / (l+1 .. l+h);  j = h+1..n-1: (l-n+1 .. l-h-1) / (l+h+1 .. l+n-1)
    return pre * rf(ell - h, h) * rf(ell + 1 + h, -h) * rf(ell - n + 1, n - 1 - h) * rf(ell + n, -(n - 1 - h))


def _mode_sampler(rng: random.Random) -> dict:
    l_ = rng.randint(1, 200)
    return {ell: sp.Integer(l_), n: sp.Integer(rng.randint(1, l_))}


def _mode_sampler_strict(rng: random.Random) -> dict:
    """1 <= n < l (the recursion needs a_{l-1,n})."""
    l_ = rng.randint(2, 60)
    return {ell: sp.Integer(l_), n: sp.Integer(rng.randint(1, l_ - 1))}


# --------------------------------------------------------------------------- partial rates
@derivation("hierarchy.partial_rates")
def _partial_rates() -> Derivation:
    Lmax = L_FINITE
    C = sp.symbols(f"C_0:{Lmax + 1}")
    rate = sp.Matrix(Lmax + 1, Lmax + 1, lambda i, jj: sp.Symbol(f"nu_{i}to{jj}", nonnegative=True))
    out = sp.symbols(f"nu_0:{Lmax + 1}toout", nonnegative=True)  # rates leaving l = 0..L

    def rhs(weighted: bool = True, leak: bool = False):
        res = []
        for l_ in range(Lmax + 1):
            nu_l = sum(rate[l_, :]) + (out[l_] if leak else 0)
            gain = sum(rate[q_, l_] * (sp.Rational(2 * q_ + 1, 2 * l_ + 1) if weighted else 1) * C[q_]
                       for q_ in range(Lmax + 1))
            res.append(-nu_l * C[l_] + gain)
        return res

    weighted = rhs()
    total = sum((2 * l_ + 1) * d for l_, d in enumerate(weighted))
    leaking = sum((2 * l_ + 1) * d for l_, d in enumerate(rhs(leak=True)))
    plain = rhs(weighted=False)
    plain_total_weighted = sum((2 * l_ + 1) * d for l_, d in enumerate(plain))
    plain_expected = 2 * sum((l_ - q_) * rate[q_, l_] * C[q_] for l_ in range(Lmax + 1) for q_ in range(Lmax + 1))
    # one transition l' -> l with an unknown weight w: which w keeps sum (2l+1) C_l fixed?
    w, r = sp.Symbol("w"), sp.Symbol("r", positive=True)
    lo = sp.Symbol("ell_0", integer=True, nonnegative=True)
    one_channel = (2 * lo + 1) * (-r * C[0]) + (2 * ell + 1) * (w * r * C[0])  # C[0] stands for <C_l'>
    w_needed = sp.solve(sp.Eq(one_channel, 0, evaluate=False), w)

    Cf, nuf, nup = sp.Function("C"), sp.Function("nu"), sp.Function("nu_partial")
    model = sp.Eq(sp.Derivative(Cf(ell, t), t),
                  -nuf(ell) * Cf(ell, t) + sp.Sum(nup(lp, ell) * (2 * lp + 1) / (2 * ell + 1) * Cf(lp, t), (lp, 0, sp.oo)),
                  evaluate=False)
    return Derivation(
        id="hierarchy.partial_rates",
        title="Partial rates: the (2l'+1)/(2l+1) weights conserve sum (2l+1)<C_l>",
        module="hierarchy",
        sources=(EVOLUTION, SMALL_SCALE),
        premises=[
            Premise("evolution model with partial rates nu_{l'->l} and nu_l = sum_l' nu_{l->l'} (slides \"Evolution Model\")",
                    model),
            Premise("small-scale theorem: sum_l (2l+1)<C_l> = const (slides \"Small-Scale Theorem\")"),
            Premise(f"finite system l = 0..{Lmax} with a generic matrix of symbolic partial rates nu_{{l->l'}} >= 0", rate),
        ],
        steps=[
            Step("d/dt sum (2l+1) C_l = sum_{l,l'} [(2l'+1) nu_{l'->l} C_l'] - sum_l (2l+1) nu_l C_l: the double sum "
                 "is the same sum over transitions counted from either end, so it cancels exactly when nu_l is the "
                 "full row sum, i.e. when no rate leaves the system"),
            Step("with rates nu_{l->out} to states outside the system, the same sum is drained by them",
                 sp.Eq(sp.Derivative(sp.Symbol("P_tot"), t), leaking, evaluate=False)),
            Step("without the weights, the unweighted sum sum_l C_l is the conserved quantity instead, and "
                 "sum (2l+1) C_l changes by 2 sum (l - l') nu_{l'->l} C_l'",
                 sp.Eq(sp.Derivative(sp.Symbol("P_tot"), t), plain_expected, evaluate=False)),
            Step("a single channel l' -> l with weight w conserves sum (2l+1) C_l only for", sp.Matrix(w_needed)),
        ],
        claims=[
            Claim(f"d/dt sum_l (2l+1) C_l = 0 for generic partial rates, l = 0..{Lmax}", total, 0),
            Claim("rates leaving the system drain it: d/dt sum (2l+1) C_l = -sum (2l+1) nu_{l->out} C_l", leaking,
                  -sum((2 * l_ + 1) * out[l_] * C[l_] for l_ in range(Lmax + 1))),
            Claim("without the weights the model conserves sum_l C_l instead", sum(plain), 0),
            Claim("without the weights d/dt sum (2l+1) C_l = 2 sum (l - l') nu_{l'->l} C_l'", plain_total_weighted,
                  plain_expected),
            Claim("the weight that conserves sum (2l+1) C_l is w = (2l'+1)/(2l+1) (unique)", sp.Matrix(w_needed),
                  sp.Matrix([(2 * lo + 1) / (2 * ell + 1)])),
        ],
    )


# --------------------------------------------------------------------------- the chain solution
@derivation("hierarchy.solution")
def _solution() -> Derivation:
    Lg = L_GENERIC
    rates = sp.symbols(f"nu_1:{Lg + 1}", positive=True)
    sol = [slides_solution(l_, rates) for l_ in range(1, Lg + 1)]
    # chain: nu_{l -> l'} = nu_l delta_{l', l+1}: dC_l/dT = -nu_l C_l + nu_{l-1} (2l-1)/(2l+1) C_{l-1}
    residual = sp.Matrix([sp.diff(sol[i], T) + rates[i] * sol[i]
                          - (rates[i - 1] * sp.Rational(2 * i + 1, 2 * i + 3) * sol[i - 1] if i else 0)
                          for i in range(Lg)])
    initial = sp.Matrix([s.subs(T, 0) for s in sol])

    # for l >= 2, C_l(0) is a sum of partial fractions: its numerator over the common denominator must vanish
    def vandermonde_numerator(l_: int):
        """sum_n V/prod_{p != n}(nu_p - nu_n) with V = prod_{p<q<=l}(nu_q - nu_p): C_l(0) = pre * this / V."""
        V = sp.Mul(*[rates[q_] - rates[p_] for p_ in range(l_) for q_ in range(p_ + 1, l_)])
        return sp.Add(*[sp.cancel(V / sp.Mul(*[rates[p_] - rates[n_] for p_ in range(l_) if p_ != n_])) for n_ in range(l_)])

    initial_numerators = sp.Matrix([initial[0]] + [vandermonde_numerator(l_) for l_ in range(2, Lg + 1)])
    # the residual is sum_n c_n(nu) exp(-T nu_n): its coefficients must vanish as rational functions
    exps = [sp.exp(-T * r) for r in rates]
    E = sp.symbols(f"E_1:{Lg + 1}")  # E_n stands for exp(-T nu_n); the residual is linear in them
    residual_coeffs = []
    for res in residual:
        linear = res.xreplace(dict(zip(exps, E)))
        if T in linear.free_symbols:
            raise RuntimeError("the residual is not a combination of the exp(-T nu_n)")
        residual_coeffs += [sp.diff(linear, e) for e in E] + [linear.subs({e: 0 for e in E})]

    # the printed placement: exp(-T nu_n) inside prod_{p != n}
    printed = [slides_solution(l_, rates, printed=True) for l_ in range(1, Lg + 1)]
    printed3, corrected3 = printed[2], sol[2]
    printed_residual3 = sp.diff(printed3, T) + rates[2] * printed3 - rates[1] * sp.Rational(5, 7) * printed[1]
    to_E = {}
    for r, e in zip(rates, E):
        to_E.update({sp.exp(-T * r): e, sp.exp(-2 * T * r): e ** 2})
    poly3 = sp.Poly(printed_residual3.xreplace(to_E), *E[:3])
    printed_residual3 = sp.Add(*[sp.factor(c) * sp.Mul(*[sp.exp(-d * T * r) for d, r in zip(mon, rates)])
                                 for mon, c in poly3.terms()])

    # y_l = (2l+1) C_l / (3 C_1), tau = nu T: the chain in y
    Cf = sp.Function("C")
    c_rhs = -nu * lam(ell) * Cf(ell) + nu * lam(ell - 1) * (2 * ell - 1) / (2 * ell + 1) * Cf(ell - 1)
    y_from_c = ((2 * ell + 1) / (3 * C1) * c_rhs).subs(
        {Cf(ell): 3 * C1 * y(ell) / (2 * ell + 1), Cf(ell - 1): 3 * C1 * y(ell - 1) / (2 * ell - 1)})
    y_rhs = nu * (-lam(ell) * y(ell) + lam(ell - 1) * y(ell - 1))

    # (c) explicit coefficients
    recursion_lhs = (lam(ell) - lam(n)) * a_coeff(ell, n)
    recursion_rhs = lam(ell - 1) * a_coeff(ell - 1, n)
    ratio_simplified = sp.gammasimp(recursion_lhs / a_coeff(ell - 1, n))
    M2 = sp.Symbol("m", integer=True, nonnegative=True)  # l = m + 2 >= 2
    gosper_closed = gosper_sum(a_coeff(ell, n), (n, 1, N))
    initial_sum_symbolic = sp.gammasimp(gosper_closed.subs(N, M2 + 2).subs(ell, M2 + 2))
    initial_sums_exact = sp.Matrix([sum(a_exact(l_, n_) for n_ in range(1, l_ + 1)) for l_ in range(2, 41)])

    # the slides' coefficient of exp(-lambda_n tau) with nu_m = m(m+1)
    def slides_coefficient(l_: int, n_: int):
        return sp.Mul(*[lam(m_) for m_ in range(1, l_)]) / sp.Mul(*[lam(p_) - lam(n_) for p_ in range(1, l_ + 1) if p_ != n_])

    pairs = [(l_, n_) for l_ in range(1, 7) for n_ in range(1, l_ + 1)]
    slides_coef = sp.Matrix([slides_coefficient(l_, n_) for l_, n_ in pairs])
    ours_coef = sp.Matrix([a_exact(l_, n_) for l_, n_ in pairs])
    prod_num = sp.product(lam(m), (m, 1, ell - 1))
    prod_den = sp.product((p - n) * (p + n + 1), (p, 1, n - 1)) * sp.product((p - n) * (p + n + 1), (p, n + 1, ell))
    symbolic_coef_ratio = sp.gammasimp(sp.combsimp(prod_num / prod_den / a_coeff(ell, n)))
    y_ode = sp.Matrix([sp.diff(y_explicit(l_), tau) + lam(l_) * y_explicit(l_) - lam(l_ - 1) * y_explicit(l_ - 1)
                       for l_ in range(1, 9)])
    # the slides' formula with nu_m = nu m(m+1) is (3 C_1/(2l+1)) y_l(nu T)
    slides_specific = sp.Matrix([slides_solution(l_, [nu * lam(m_) for m_ in range(1, 7)]) for l_ in range(1, 7)])
    ours_specific = sp.Matrix([3 * C1 / (2 * l_ + 1) * y_explicit(l_, nu * T) for l_ in range(1, 7)])

    # (d) asymptotics
    eig_ratio = lam(ell - 1) / (lam(ell) - lam(1))
    v_product = sp.product(k / (k + 2), (k, 2, ell))
    v_closed = sp.gammasimp(v_product)
    a_l1 = sp.gammasimp(a_coeff(ell, 1))
    asym = 18 / ((2 * ell + 1) * (ell + 1) * (ell + 2))
    limits = sp.Matrix([sp.limit(sp.expand(3 / sp.Integer(2 * l_ + 1) * y_explicit(l_) * sp.exp(2 * tau)), tau, sp.oo)
                        for l_ in range(2, 7)])

    return Derivation(
        id="hierarchy.solution",
        title="The chain nu_{l->l+1} = nu l(l+1): closed-form solution and asymptotic ratio",
        module="hierarchy",
        sources=(EVOLUTION,),
        premises=[
            Premise("nu_{l->l'} = nu_l delta_{l',l+1} (nu_l = nu l(l+1) = lambda_l nu), C_l(0) = C_1 delta_{l1}: "
                    "dC_l/dT = -nu_l C_l + nu_{l-1} (2l-1)/(2l+1) C_{l-1}",
                    sp.Eq(sp.Derivative(Cf(ell), T), c_rhs, evaluate=False)),
            Premise("slides' solution with the exponential outside the product over p (corrected placement), shown for l = 3",
                    sp.Eq(Cf(3), slides_solution(3, rates), evaluate=False)),
        ],
        steps=[
            Step("with y_l = (2l+1) C_l/(3 C_1) and tau = nu T: a pure-birth chain, y_1(0) = 1, y_l(0) = 0 for l >= 2",
                 sp.Eq(sp.Derivative(y(ell), tau), -lam(ell) * y(ell) + lam(ell - 1) * y(ell - 1), evaluate=False)),
            Step("generic distinct rates nu_1..nu_5: the slides' formula (corrected) leaves no residual in the ODE and "
                 "meets C_l(0) = C_1 delta_{l1}; the initial condition is the partial-fraction identity "
                 "sum_n 1/prod_{p != n}(nu_p - nu_n) = 0 for l >= 2"),
            Step("as printed, the product over p != n repeats exp(-T nu_n) l-1 times: the printed C_l(T) is the "
                 "solution at time (l-1) T; for l = 3 its ODE residual is", printed_residual3),
            Step("lambda_m = m(m+1): y_l(tau) = sum_{n=1}^{l} a_{ln} exp(-n(n+1) tau) with",
                 sp.Eq(sp.Function("a")(ell, n), a_coeff(ell, n), evaluate=False)),
            Step("recursion from the ODE, coefficient of exp(-lambda_n tau), n < l: (lambda_l - lambda_n) a_{ln} = "
                 "lambda_{l-1} a_{l-1,n}; the ratio (lambda_l - lambda_n) a_{ln}/a_{l-1,n} simplifies to",
                 ratio_simplified),
            Step("initial condition: Gosper's algorithm sums a_{ln} over n = 1..N in closed form", gosper_closed),
            Step("slowest mode exp(-lambda_1 tau): eigenvector v_l/v_{l-1} = lambda_{l-1}/(lambda_l - lambda_1) = l/(l+2), "
                 "v_1 = 1, so v_l = prod_{k=2}^{l} k/(k+2)", sp.Eq(sp.Symbol("v_ell"), v_product, evaluate=False)),
            Step("every other mode decays faster: lambda_n - lambda_1 = (n-1)(n+2) > 0 for n >= 2, so "
                 "y_l(tau) exp(lambda_1 tau) -> a_{l1} = v_l and <C_l>/<C_1> -> 3 v_l/(2l+1)"),
        ],
        claims=[
            Claim(f"corrected slides' formula solves the chain ODE, generic rates, l = 1..{Lg} (coefficient of every "
                  "exp(-T nu_n) in the residual)", sp.Matrix(residual_coeffs), sp.zeros(len(residual_coeffs), 1)),
            Claim(f"corrected slides' formula meets C_l(0) = C_1 delta_l1, generic rates, l = 1..{Lg} (for l >= 2: "
                  "numerator over the Vandermonde denominator)", initial_numerators, sp.Matrix([C1] + [0] * (Lg - 1))),
            Claim("printed placement: printed C_l(T) = corrected C_l((l-1) T), generic rates, l = 2..5",
                  sp.Matrix(printed[1:]), sp.Matrix([sol[i].subs(T, i * T) for i in range(1, Lg)])),
            Claim("printed placement still meets the initial condition (only the time dependence is off)",
                  sp.Matrix([s.subs(T, 0) for s in printed]), initial),
            Claim("y_l = (2l+1) C_l/(3 C_1) turns the C_l equations into the pure-birth chain (symbolic l)",
                  y_from_c, y_rhs),
            Claim("coefficient recursion (lambda_l - lambda_n) a_{ln} = lambda_{l-1} a_{l-1,n}, symbolic integers 1 <= n < l",
                  recursion_lhs, recursion_rhs, sampler=_mode_sampler_strict),
            Claim("a_11 = 1", a_coeff(1, 1), 1),
            Claim("initial condition sum_{n=1}^{l} a_{ln} = 0 for symbolic l = m + 2 >= 2 (Gosper)", initial_sum_symbolic, 0),
            Claim("initial condition sum_{n=1}^{l} a_{ln} = 0, exact for l = 2..40", initial_sums_exact, sp.zeros(39, 1)),
            Claim("y_l(tau) = sum_n a_{ln} exp(-lambda_n tau) solves the chain, exact for l = 1..8", y_ode, sp.zeros(8, 1)),
            Claim("a_{ln} = slides' coefficient prod_m lambda_m / prod_{p != n}(lambda_p - lambda_n), exact for l = 1..6",
                  ours_coef, slides_coef),
            Claim("a_{ln} = slides' coefficient for symbolic integers 1 <= n <= l (products via sympy, gammasimp)",
                  symbolic_coef_ratio, 1),
            Claim("slides' formula with nu_m = nu m(m+1) is 3 C_1 y_l(nu T)/(2l+1), l = 1..6", slides_specific,
                  ours_specific),
            Claim("slowest-mode eigenvector ratio lambda_{l-1}/(lambda_l - lambda_1) = l/(l+2) (symbolic l >= 2)",
                  eig_ratio, ell / (ell + 2), domain={ell: (2, 200)}),
            Claim("v_l = prod_{k=2}^{l} k/(k+2) = 6/((l+1)(l+2)) (symbolic l)", v_closed, 6 / ((ell + 1) * (ell + 2))),
            Claim("a_{l1} = 6/((l+1)(l+2)) (symbolic l)", a_l1, 6 / ((ell + 1) * (ell + 2))),
            Claim("lambda_n - lambda_1 = (n-1)(n+2): every other mode decays faster (symbolic n)", lam(n) - lam(1),
                  (n - 1) * (n + 2)),
            Claim("lim <C_l>/<C_1> = 3 a_{l1}/(2l+1) = 18/((2l+1)(l+1)(l+2)), the slides' ratio (symbolic l)",
                  3 * a_l1 / (2 * ell + 1), asym),
            Claim("lim_{T->oo} <C_l>(T)/<C_1>(T) from the explicit solution, l = 2..6", limits,
                  sp.Matrix([asym.subs(ell, l_) for l_ in range(2, 7)])),
            Claim("mode_coefficient kernel expression = a_{ln} (exact at integer points 1 <= n <= l <= 200)",
                  mode_coefficient_kernel_expr(), a_coeff(ell, n), sampler=_mode_sampler, symbolic=False),
        ],
        kernels=[
            KernelSpec("ratio", asym, (ell,), EVOLUTION,
                       "asymptotic ratio lim_{T->oo} <C_l>(T)/<C_1>(T) = 18/((2l+1)(l+1)(l+2)) of the chain "
                       "nu_{l->l+1} = nu l(l+1) started from a pure dipole", domain={ell: (1, 200)}),
            KernelSpec("mode_coefficient", mode_coefficient_kernel_expr(), (ell, n), EVOLUTION,
                       "coefficient a_{ln} of exp(-n(n+1) nu T) in y_l = (2l+1)<C_l>/(3 C_1), integers 1 <= n <= l <= 200",
                       sampler=_mode_sampler),
        ],
        errata=[Erratum(
            EVOLUTION,
            r"\langle C_\ell\rangle(T) = \frac{3C_1}{2\ell+1}\prod_{m=1}^{\ell-1}\nu_m \sum_n "
            r"\prod_{p=1(\neq n)}^{\ell} \frac{e^{-T\nu_n}}{\nu_p-\nu_n}",
            r"\langle C_\ell\rangle(T) = \frac{3C_1}{2\ell+1}\prod_{m=1}^{\ell-1}\nu_m \sum_{n=1}^{\ell} "
            r"\frac{e^{-T\nu_n}}{\prod_{p=1,p\neq n}^{\ell}(\nu_p-\nu_n)}",
            "inside the product over p != n the exponential is raised to the power l-1: the printed form is the "
            "solution at time (l-1)T and does not satisfy the evolution equation for l >= 3 (shown for l = 3); "
            "it agrees at T = 0 and for l <= 2",
            printed_expr=printed3, corrected_expr=corrected3)],
    )


# --------------------------------------------------------------------------- total power
@derivation("hierarchy.total_power")
def _total_power() -> Derivation:
    # (i) truncation: the first L equations, telescoping
    ys = sp.symbols("y_1:9")
    rhs = [-lam(l_) * ys[l_ - 1] + (lam(l_ - 1) * ys[l_ - 2] if l_ > 1 else 0) for l_ in range(1, 9)]
    telescoped = sp.Matrix([sum(rhs[:Lc]) for Lc in range(1, 9)])
    expected = sp.Matrix([-lam(Lc) * ys[Lc - 1] for Lc in range(1, 9)])
    chain_rhs = -lam(L + 1) * y(L + 1) + lam(L) * y(L)  # the (L+1)-th equation
    explicit_tele = sp.Matrix([sp.diff(sum(y_explicit(l_) for l_ in range(1, Lc + 1)), tau) + lam(Lc) * y_explicit(Lc)
                               for Lc in range(1, 7)])
    s = sp.Symbol("s", positive=True)
    duhamel = sp.Matrix([lam(l_ - 1) * sp.integrate(sp.expand(sp.exp(-lam(l_) * (tau - s)) * y_explicit(l_ - 1, s)),
                                                    (s, 0, tau)) for l_ in range(2, 6)])

    # (ii) the infinite hierarchy: exchange the sums over l and n
    t_l = sp.gamma(ell) * sp.gamma(ell + 1) / (sp.gamma(ell - n + 1) * sp.gamma(ell + n + 2))
    infinite = sp.simplify(sp.hyperexpand(sp.summation(t_l, (ell, n, sp.oo))))
    partial = gosper_sum(t_l, (ell, n, N))
    R = sp.gamma(N + 1) * sp.gamma(N + 2) / (sp.gamma(N - n + 1) * sp.gamma(N + n + 2))
    R_product = sp.gammasimp(sp.product((N + 1 - j) / (N + 1 + j), (j, 1, n)))
    R_limits = sp.Matrix([sp.limit(sp.gammasimp(R.subs(n, n_)), N, sp.oo) for n_ in range(1, 7)])
    # Fubini for finite N, exactly: sum_{l<=N} y_l = sum_{n<=N} (-1)^(n-1) (2n+1) R_n(N) e^{-lambda_n tau}
    E = sp.symbols("E_1:11")  # E_n stands for exp(-n(n+1) tau)

    def y_E(l_):
        return sum(a_exact(l_, n_) * E[n_ - 1] for n_ in range(1, l_ + 1))

    fubini_direct = sp.Matrix([sum(y_E(l_) for l_ in range(1, Nc + 1)) for Nc in range(1, 11)])
    fubini_closed = sp.Matrix([sum(sp.Integer(-1) ** (n_ - 1) * (2 * n_ + 1) * R.subs({N: Nc, n: n_}) * E[n_ - 1]
                                   for n_ in range(1, Nc + 1)) for Nc in range(1, 11)])

    S_series = sp.Sum((-1) ** (n - 1) * (2 * n + 1) * sp.exp(-lam(n) * tau), (n, 1, sp.oo))
    jacobi = sp.Eq(sp.Sum((-1) ** k * (2 * k + 1) * q ** (k * (k + 1) / 2), (k, 0, sp.oo)),
                   sp.Product((1 - q ** n) ** 3, (n, 1, sp.oo)), evaluate=False)
    # Jacobi's identity as power series to q^60, in exact integer arithmetic
    order = 60
    coeffs = [1] + [0] * order  # prod_{n<=order} (1 - q^n)^3 mod q^(order+1), integer coefficients
    for n_ in range(1, order + 1):
        for _ in range(3):
            coeffs = [c - (coeffs[i - n_] if i >= n_ else 0) for i, c in enumerate(coeffs)]
    prod_poly = sp.Add(*[c * q ** i for i, c in enumerate(coeffs)])
    theta_poly = sum((-1) ** k_ * (2 * k_ + 1) * q ** (k_ * (k_ + 1) // 2) for k_ in range(0, 12) if k_ * (k_ + 1) // 2 <= order)

    def S_n_series(time, terms=30):
        return sp.Add(*[sp.Integer(-1) ** (n_ - 1) * (2 * n_ + 1) * sp.exp(-lam(n_) * time) for n_ in range(1, terms + 1)])

    def S_product(time):
        """Truncated where 3 e^{-2 n tau} < 1e-40."""
        factors = int(47 / time) + 1
        return 1 - sp.Mul(*[(1 - sp.exp(-2 * n_ * time)) ** 3 for n_ in range(1, factors + 1)])

    def S_modular(time, factors=20):
        """1 - S = e^{tau/4} (pi/tau)^{3/2} e^{-pi^2/(4 tau)} prod (1 - e^{-2 pi^2 n/tau})^3 (eta(-1/z) = sqrt(-iz) eta(z))."""
        return 1 - sp.exp(time / 4) * (sp.pi / time) ** sp.Rational(3, 2) * sp.exp(-sp.pi ** 2 / (4 * time)) \
            * sp.Mul(*[(1 - sp.exp(-2 * sp.pi ** 2 * n_ / time)) ** 3 for n_ in range(1, factors + 1)])

    taus = (sp.Rational(1, 2), sp.Integer(2))
    series_vals = sp.Matrix([S_n_series(v) for v in taus])
    product_vals = sp.Matrix([S_product(v) for v in taus])
    small_taus = (sp.Rational(1, 5), sp.Integer(1), sp.Integer(3))
    modular_vals = sp.Matrix([S_modular(v) for v in small_taus])
    product_vals_small = sp.Matrix([S_product(v) for v in small_taus])
    bound = sp.exp(tau / 4) * (sp.pi / tau) ** sp.Rational(3, 2) * sp.exp(-sp.pi ** 2 / (4 * tau))
    bound_limit = sp.limit(bound, tau, 0, "+")
    factor_growth = sp.diff(1 - sp.exp(-2 * n * tau), tau)
    lead_series = sp.limit(sp.expand(S_n_series(tau, 5) * sp.exp(2 * tau)), tau, sp.oo)
    lead_product = sp.limit(sp.expand((1 - sp.Mul(*[(1 - sp.exp(-2 * n_ * tau)) ** 3 for n_ in range(1, 4)]))
                                      * sp.exp(2 * tau)), tau, sp.oo)
    inv_rates = sp.summation(1 / lam(ell), (ell, 1, sp.oo))
    # mean explosion time int_0^oo S dtau = sum (-1)^(n-1) (2n+1)/(n(n+1)) = sum (-1)^(n-1) (1/n + 1/(n+1))
    alt1 = sp.summation((-1) ** (n - 1) / n, (n, 1, sp.oo))
    alt2 = sp.summation((-1) ** (n - 1) / (n + 1), (n, 1, sp.oo))
    split = sp.apart((2 * n + 1) / (n * (n + 1)), n)
    legendre_at_minus_one = sp.legendre(n, -1)
    heat = sp.Sum((2 * n + 1) * sp.exp(-lam(n) * tau) * sp.legendre(n, sp.Symbol("u")), (n, 0, sp.oo))

    def heat_antipode(time, terms=30):
        return sp.Add(*[(2 * n_ + 1) * sp.exp(-lam(n_) * time) * sp.legendre(n_, -1) for n_ in range(0, terms + 1)])

    term = (-1) ** (n - 1) * (2 * n + 1) * sp.exp(-n * (n + 1) * tau)
    P_tot = sp.Symbol("P_tot")
    return Derivation(
        id="hierarchy.total_power",
        title="Total power sum (2l+1)<C_l> in the chain model: not conserved, 3 C_1 [1 - prod (1 - e^{-2n nu T})^3]",
        module="hierarchy",
        sources=(SMALL_SCALE, EVOLUTION),
        premises=[
            Premise("small-scale theorem: sum_l (2l+1)<C_l> = const for the true dynamics (slides \"Small-Scale Theorem\")"),
            Premise("chain nu_{l->l+1} = nu l(l+1), C_l(0) = C_1 delta_{l1}; y_l = (2l+1)C_l/(3C_1), tau = nu T "
                    "(hierarchy.solution): y_l' = -lambda_l y_l + lambda_{l-1} y_{l-1}",
                    sp.Eq(sp.Derivative(y(ell), tau), -lam(ell) * y(ell) + lam(ell - 1) * y(ell - 1), evaluate=False)),
            Premise("y_l(tau) = sum_{n=1}^{l} a_{ln} exp(-n(n+1) tau) (hierarchy.solution)",
                    sp.Eq(y(ell), sp.Sum(a_coeff(ell, n) * sp.exp(-lam(n) * tau), (n, 1, ell)), evaluate=False)),
            Premise("Jacobi's identity (Jacobi 1829, Fundamenta Nova): the series theta_1'(0, q) = 2 q^(1/4) sum (-1)^n (2n+1) "
                    "q^(n(n+1)) (DLMF 20.2.1) equals the product 2 q^(1/4) prod (1 - q^(2n))^3 (DLMF Sec. 20.4)", jacobi),
        ],
        steps=[
            Step("the first L equations involve only y_1..y_L (the chain only feeds upward), so truncating at l <= L "
                 "is exact; their sum telescopes", sp.Eq(sp.Derivative(sp.Sum(y(ell), (ell, 1, L)), tau),
                                                         -lam(L) * y(L), evaluate=False)),
            Step("y_1 = exp(-2 tau) > 0 and y_l(tau) = lambda_{l-1} int_0^tau exp(-lambda_l (tau - s)) y_{l-1}(s) ds > 0 "
                 "for tau > 0 by induction; so every truncated sum strictly decreases: not conserved"),
            Step("exchanging the sums needs sum_{l >= n} (l-1)! l!/((l-n)!(l+n+1)!), a Gauss 2F1(n, n+1; 2n+2; 1) sum",
                 infinite),
            Step("partial sums over l <= N (Gosper): R_n(N)/(n(n+1)) with R_n(N) = N!(N+1)!/((N-n)!(N+n+1)!) = "
                 "prod_{j=1}^{n} (N+1-j)/(N+1+j), in (0, 1] and -> 1 for each n", partial),
            Step("so sum_{l<=N} y_l = sum_{n<=N} (-1)^(n-1)(2n+1) R_n(N) e^{-n(n+1)tau}; dominated convergence "
                 "(|terms| <= (2n+1) e^{-n(n+1) tau}, summable for tau > 0) gives S(tau) = sum_l y_l",
                 sp.Eq(sp.Symbol("S"), S_series, evaluate=False)),
            Step("Jacobi's identity with q = exp(-2 tau), q^(k(k+1)/2) = exp(-k(k+1) tau): 1 - S(tau) = prod (1 - e^{-2n tau})^3",
                 sp.Eq(sp.Symbol("S"), 1 - sp.Product((1 - sp.exp(-2 * n * tau)) ** 3, (n, 1, sp.oo)), evaluate=False)),
            Step("total power: sum_l (2l+1)<C_l>(T) = 3 C_1 S(nu T)",
                 sp.Eq(P_tot, 3 * C1 * (1 - sp.Product((1 - sp.exp(-2 * n * nu * T)) ** 3, (n, 1, sp.oo))),
                       evaluate=False)),
            Step("S(0+) = 1: by the modular transformation of Dedekind's eta, 1 - S(tau) = e^{tau/4} (pi/tau)^{3/2} "
                 "e^{-pi^2/(4 tau)} prod (1 - e^{-2 pi^2 n/tau})^3 <= e^{tau/4} (pi/tau)^{3/2} e^{-pi^2/(4 tau)} -> 0", bound),
            Step("S strictly decreasing (every factor 1 - e^{-2n tau} increases with tau) and S -> 0, S ~ 3 e^{-2 tau}"),
            Step("interpretation: a pure-birth chain with sum_l 1/lambda_l = 1 < oo explodes in finite time (Feller); "
                 "S(tau) is the probability that it has not yet reached l = oo, and int_0^oo S dtau = 1 is the mean "
                 "explosion time. Power leaks to l = oo: the infinite model does NOT conserve sum (2l+1)<C_l> either, "
                 "contrary to what the small-scale theorem demands of the true dynamics"),
            Step("equivalently 1 - S(tau) = h(-1, tau) with h(u, tau) = sum_n (2n+1) e^{-n(n+1) tau} P_n(u), 4 pi times "
                 "the heat kernel of the unit sphere at angular distance arccos(u); P_n(-1) = (-1)^n",
                 sp.Eq(sp.Function("h")(sp.Symbol("u"), tau), heat, evaluate=False)),
        ],
        claims=[
            Claim("truncated at l <= L: d/dtau sum_{l=1}^{L} y_l = -lambda_L y_L, L = 1..8", telescoped, expected),
            Claim("induction base L = 1: d/dtau y_1 = -lambda_1 y_1", (-lam(1) * y(1)), -2 * y(1)),
            Claim("induction step (symbolic L): -lambda_L y_L + [equation L+1] = -lambda_{L+1} y_{L+1}",
                  -lam(L) * y(L) + chain_rhs, -lam(L + 1) * y(L + 1)),
            Claim("the explicit y_l obey it: d/dtau sum_{l<=L} y_l = -lambda_L y_L, exact for L = 1..6", explicit_tele,
                  sp.zeros(6, 1)),
            Claim("Duhamel form y_l = lambda_{l-1} int_0^tau e^{-lambda_l (tau-s)} y_{l-1}(s) ds (positivity), l = 2..5",
                  duhamel, sp.Matrix([y_explicit(l_) for l_ in range(2, 6)])),
            Claim("sum_{l>=n} (l-1)! l!/((l-n)!(l+n+1)!) = 1/(n(n+1)) for symbolic n (summation + hyperexpand)",
                  infinite, 1 / (n * (n + 1))),
            Claim("partial sum over n <= l <= N = R_n(N)/(n(n+1)), symbolic n, N (Gosper)", partial, R / (n * (n + 1))),
            Claim("R_n(N) = prod_{j=1}^{n} (N+1-j)/(N+1+j) (symbolic n, N)", R_product, R),
            Claim("R_n(N) -> 1 as N -> oo, n = 1..6", R_limits, sp.ones(6, 1)),
            Claim("Fubini at finite N: sum_{l<=N} y_l = sum_{n<=N} (-1)^(n-1)(2n+1) R_n(N) e^{-n(n+1)tau}, exact N = 1..10",
                  fubini_direct, fubini_closed),
            Claim("Jacobi's identity: prod (1-q^n)^3 = sum (-1)^k (2k+1) q^(k(k+1)/2), exact to q^60",
                  prod_poly, theta_poly),
            Claim("S(tau): n-series = 1 - prod (1 - e^{-2n tau})^3 at tau = 1/2, 2 (mpmath, 30 digits)", series_vals,
                  product_vals, symbolic=False),
            Claim("small-tau form 1 - S = e^{tau/4}(pi/tau)^{3/2} e^{-pi^2/(4tau)} prod(1 - e^{-2pi^2 n/tau})^3, "
                  "tau = 1/5, 1, 3 (mpmath)", modular_vals, product_vals_small, symbolic=False),
            Claim("S(0+) = 1: the bound e^{tau/4}(pi/tau)^{3/2} e^{-pi^2/(4 tau)} on 1 - S vanishes as tau -> 0+",
                  bound_limit, 0),
            Claim("S strictly decreasing: d/dtau (1 - e^{-2n tau}) = 2n e^{-2n tau} > 0", factor_growth,
                  2 * n * sp.exp(-2 * n * tau)),
            Claim("S ~ 3 e^{-2 tau} as tau -> oo (n-series)", lead_series, 3),
            Claim("S ~ 3 e^{-2 tau} as tau -> oo (product form)", lead_product, 3),
            Claim("sum_l 1/lambda_l = sum 1/(l(l+1)) = 1 < oo: the pure-birth chain explodes", inv_rates, 1),
            Claim("(2n+1)/(n(n+1)) = 1/n + 1/(n+1)", split, 1 / n + 1 / (n + 1)),
            Claim("mean explosion time int_0^oo S dtau = sum (-1)^(n-1)(2n+1)/(n(n+1)) = log 2 + (1 - log 2) = 1",
                  alt1 + alt2, 1),
            Claim("P_n(-1) = (-1)^n (symbolic n)", legendre_at_minus_one, (-1) ** n),
            Claim("1 - S(tau) = h(-1, tau), the sphere heat kernel series at the antipode, tau = 1/2, 2 (mpmath)",
                  sp.Matrix([heat_antipode(v) for v in taus]), sp.Matrix([1 - S_n_series(v) for v in taus]),
                  symbolic=False),
            Claim("total_power_term kernel: its sum over n is S(tau) (kernel term = n-series term)", term,
                  (-1) ** (n - 1) * (2 * n + 1) * sp.exp(-lam(n) * tau)),
        ],
        kernels=[KernelSpec("total_power_term", term, (n, tau), EVOLUTION,
                            "n-th term (-1)^(n-1)(2n+1) exp(-n(n+1) tau) of S(tau) = sum_l (2l+1)<C_l>/(3 C_1), tau = nu T; "
                            "sum over n >= 1 (S = 1 - prod_n (1 - exp(-2 n tau))^3)",
                            domain={n: (1, 20), tau: (0.01, 1.0)})],
    )
