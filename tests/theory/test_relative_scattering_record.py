"""relative_diffusion.relative_scattering: the closed form of the weak basis L^2(P_l s^a) and the weak form, checked
numerically and independently of SymPy's proof (tests/theory/test_registry.py proves every claim of the record).

s = sqrt((1 - x)/2) = sin(psi/2); L^2 g = -d/dx[(1 - x^2) dg/dx]; the closed form is

    L^2(P_l s^a) = s^a [l(l+1) P_l + 2 a (1 - s^2) P_l'] - (a/4) [a - (a+2) s^2] s^(a-2) P_l.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, special

from theory import registry
from theory import relative_diffusion as rd

RID = "relative_diffusion.relative_scattering"
A = 0.86  # a non-integer exponent: nu_r = s^a is not a polynomial in x


def _s(x):
    return np.sqrt((1 - x) / 2)


def _dlegendre(l, x):
    """P_l'(x) from the recurrence (1 - x^2) P_l' = l (P_(l-1) - x P_l)."""
    return l * (special.eval_legendre(l - 1, x) - x * special.eval_legendre(l, x)) / (1 - x ** 2)


def closed_form(l, a, x, singular=True):
    """The closed form of L^2(P_l s^a) (with ``singular=False``: without the s^(a-2) term, a deliberately wrong form)."""
    s = _s(x)
    P, dP = special.eval_legendre(l, x), _dlegendre(l, x)
    out = s ** a * (l * (l + 1) * P + 2 * a * (1 - s ** 2) * dP)
    if singular:
        out = out - a / 4 * (a - (a + 2) * s ** 2) * s ** (a - 2) * P
    return out


def finite_difference(l, a, x, h=1e-3):
    """-d/dx[(1 - x^2) g'] = -(1 - x^2) g'' + 2 x g' for g = P_l s^a, five-point stencils (step scaled to 1 - x)."""
    h = h * np.minimum(1.0, 1 - x)

    def g(y):
        return special.eval_legendre(l, y) * _s(y) ** a

    g1 = (g(x - 2 * h) - 8 * g(x - h) + 8 * g(x + h) - g(x + 2 * h)) / (12 * h)
    g2 = (-g(x - 2 * h) + 16 * g(x - h) - 30 * g(x) + 16 * g(x + h) - g(x + 2 * h)) / (12 * h ** 2)
    return -(1 - x ** 2) * g2 + 2 * x * g1


XS = np.array([-0.93, -0.6, -0.27, 0.05, 0.41, 0.77, 0.95])


def test_closed_form_agrees_with_finite_differences():
    exact = closed_form(5, A, XS)
    fd = finite_difference(5, A, XS)
    scale = np.max(np.abs(exact))
    np.testing.assert_allclose(fd, exact, rtol=1e-6, atol=1e-6 * scale)
    # the singular term matters: without it the form is off by far more than the tolerance
    wrong = closed_form(5, A, XS, singular=False)
    assert np.max(np.abs(wrong - fd)) > 1e-2 * scale


def test_the_recorded_closed_form_is_this_one():
    """The claim the record proves, evaluated at l = 5, a = 0.86, is the numpy form above (to rounding)."""
    rec = registry.get(RID)
    claim = next(c for c in rec.claims if c.name.startswith("closed form of L^2(P s^a) with its coefficients"))
    (P,) = claim.stated.atoms(sp.core.function.AppliedUndef)
    s, a, l = (next(v for v in claim.stated.free_symbols if v.name == n) for n in ("s", "a", "l"))
    x = rd.x
    P5 = sp.legendre(5, x)
    expr = claim.stated.subs(sp.Derivative(P, x), sp.diff(P5, x)).subs(P, P5).subs({l: 5, a: sp.Float(A, 30)})
    f = sp.lambdify(x, expr.subs(s, sp.sqrt((1 - x) / 2)), "numpy")
    np.testing.assert_allclose(f(XS), closed_form(5, A, XS), rtol=1e-12, atol=0)


def _quad_s(f):
    """int_{-1}^{1} f(x) dx = int_0^1 f(1 - 2 s^2) 4 s ds, with s = t^(1/a) so that the singular term of the weak
    basis (~ s^(a-2) 4 s ds = (4/a) dt) is smooth in t."""
    def integrand(t):
        s = t ** (1 / A)
        return f(1 - 2 * s ** 2, s) * 4 * s * s / (A * t)  # ds = s dt/(a t)

    val, _ = integrate.quad(integrand, 0, 1, epsabs=0, epsrel=1e-11, limit=200)
    return val


def test_weak_form_by_quadrature_for_a_non_polynomial_rate():
    """int P_2 nu_r L^2 P_3 dx = int L^2(P_2 nu_r) P_3 dx for nu_r = s^0.86 (quadrature in s)."""
    l, k = 2, 3
    lhs = _quad_s(lambda x, s: special.eval_legendre(l, x) * s ** A * k * (k + 1) * special.eval_legendre(k, x))
    rhs = _quad_s(lambda x, s: closed_form(l, A, x) * special.eval_legendre(k, x))
    assert abs(lhs) > 1e-3  # not a trivial 0 = 0
    assert abs(rhs - lhs) <= 1e-9 * abs(lhs)
    # the left side exactly: P_2 P_3 is a polynomial in s^2, each term integrates to 4/(a + 2 + 2n)
    ss = sp.Symbol("s", positive=True)
    poly = sp.Poly(sp.expand(k * (k + 1) * sp.legendre(l, 1 - 2 * ss ** 2) * sp.legendre(k, 1 - 2 * ss ** 2)), ss)
    exact = sum(float(c) * 4 / (A + n + 2) for (n,), c in poly.terms())
    assert abs(lhs - exact) <= 1e-12 * abs(exact)
    # without the singular term the identity fails
    wrong = _quad_s(lambda x, s: closed_form(l, A, x, singular=False) * special.eval_legendre(k, x))
    assert abs(wrong - lhs) > 1e-3 * abs(lhs)


@pytest.mark.parametrize("prefix", ["closed form of L^2(P s^a)", "flux:", "generator:"])
def test_claims_about_undefined_functions_are_proved_symbolically(prefix):
    rec = registry.get(RID)
    claims = [c for c in rec.claims if c.name.startswith(prefix)]
    assert claims
    for c in claims:
        res = registry.prove(RID, c)
        assert res.passed and res.method == "symbolic", (c.name, res.detail)
