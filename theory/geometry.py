"""Sky geometry shared by the other theory modules: unit vectors and sphere integrals.

``sphere_integral`` integrates a polynomial in the components of a unit vector
``n = (nx, ny, nz)`` over the full solid angle with the exact monomial rule

.. math::

    \\int d\\Omega\\, n_x^a n_y^b n_z^c = 2\\,\\frac{\\Gamma(\\tfrac{a+1}{2})\\Gamma(\\tfrac{b+1}{2})
    \\Gamma(\\tfrac{c+1}{2})}{\\Gamma(\\tfrac{a+b+c+3}{2})}
    \\quad (a, b, c \\text{ even; zero otherwise}),

which the record ``geometry.sphere_moments`` proves against SymPy's own
integration in spherical coordinates for every monomial up to degree 4 (the degrees
the monopole/dipole moment equations need).
"""
from __future__ import annotations

import math
import random

import mpmath
import sympy as sp

from theory.registry import NUMERIC_DIGITS, Claim, Derivation, Premise, Step, derivation

theta, phi = sp.symbols("theta phi", real=True)
nx, ny, nz = sp.symbols("n_x n_y n_z", real=True)
N_VEC = sp.Matrix([nx, ny, nz])
#: The unit vector in spherical coordinates (review eq. (2) with theta = pi/2 - delta).
N_SPHERICAL = sp.Matrix([sp.sin(theta) * sp.cos(phi), sp.sin(theta) * sp.sin(phi), sp.cos(theta)])


def monomial_integral(a: int, b: int, c: int) -> sp.Expr:
    """Exact integral of ``nx**a * ny**b * nz**c`` over the unit sphere."""
    if a % 2 or b % 2 or c % 2:
        return sp.Integer(0)
    half = sp.Rational(1, 2)
    return sp.simplify(
        2 * sp.gamma(a * half + half) * sp.gamma(b * half + half) * sp.gamma(c * half + half)
        / sp.gamma((a + b + c) * half + 3 * half)
    )


def sphere_integral(expr: sp.Expr, n=(nx, ny, nz)) -> sp.Expr:
    """Integrate a polynomial in the unit-vector components ``n`` over the sphere."""
    expr = sp.expand(expr)
    poly = sp.Poly(expr, *n)
    total = sp.Integer(0)
    for (a, b, c), coeff in poly.terms():
        total += coeff * monomial_integral(a, b, c)
    return sp.expand(total)


def spherical_integral(expr: sp.Expr) -> sp.Expr:
    """Integrate an expression in (theta, phi) over the sphere with SymPy's integrator.

    The expanded integrand is a sum of terms that separate into a function of theta
    times a function of phi; each term is integrated as a product of two 1-D integrals
    (much faster than a nested 2-D integration of the whole sum).
    """
    total = sp.Integer(0)
    cache: dict = {}
    for term in sp.Add.make_args(sp.expand(expr * sp.sin(theta))):
        f_theta, f_phi, const = sp.Integer(1), sp.Integer(1), sp.Integer(1)
        for factor in sp.Mul.make_args(term):
            free = factor.free_symbols
            if theta in free and phi in free:
                raise ValueError(f"spherical_integral: factor {factor} does not separate in (theta, phi)")
            if theta in free:
                f_theta *= factor
            elif phi in free:
                f_phi *= factor
            else:
                const *= factor
        for f, var, hi in ((f_theta, theta, sp.pi), (f_phi, phi, 2 * sp.pi)):
            if (f, var) not in cache:
                cache[(f, var)] = sp.integrate(f, (var, 0, hi))
        total += const * cache[(f_theta, theta)] * cache[(f_phi, phi)]
    return sp.simplify(total)


def random_unit_vector(rng: random.Random) -> tuple:
    """A random unit vector (uniform on the sphere), for numeric samplers: SymPy Floats of 10 digits more than the
    numeric check works with (theory.registry.NUMERIC_DIGITS), so that the squares sum to 1 to that precision
    (float64 components are off the constraint by ~1e-16, far above the check's tolerance of 1e-25)."""
    digits = NUMERIC_DIGITS + 10
    z, a = rng.uniform(-1.0, 1.0), rng.uniform(0.0, 2.0 * math.pi)
    with mpmath.workdps(digits):
        z, a = mpmath.mpf(z), mpmath.mpf(a)
        s = mpmath.sqrt(1 - z * z)
        return tuple(sp.Float(c, digits) for c in (s * mpmath.cos(a), s * mpmath.sin(a), z))


@derivation("geometry.sphere_moments")
def _sphere_moments() -> Derivation:
    claims = []
    for degree in range(0, 5):
        for a in range(degree + 1):
            for b in range(degree + 1 - a):
                c = degree - a - b
                mono = nx**a * ny**b * nz**c
                direct = spherical_integral(mono.subs(dict(zip((nx, ny, nz), N_SPHERICAL))))
                claims.append(Claim(f"int n_x^{a} n_y^{b} n_z^{c} dOmega", direct, monomial_integral(a, b, c)))
    return Derivation(
        id="geometry.sphere_moments",
        title="Moments of the unit vector over the sphere",
        module="geometry",
        sources=("review eq. (2)",),
        premises=[Premise("unit vector n(alpha, delta) of review eq. (2), theta = pi/2 - delta", N_SPHERICAL)],
        steps=[
            Step("integrate each monomial in spherical coordinates with dOmega = sin(theta) dtheta dphi"),
            Step("compare with the Gamma-function rule used by sphere_integral"),
            Step("the second moment is the one the dipole equations need", sp.Eq(
                sp.Symbol(r"\int d\Omega\, n_i n_j"), sp.Rational(4, 3) * sp.pi * sp.Symbol(r"\delta_{ij}"), evaluate=False)),
        ],
        claims=claims,
    )
