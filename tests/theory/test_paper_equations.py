"""The papers' equations, transcribed here by hand (as corrected in the errata), against the records.

Known exact answers live in this one module (the pystencils habit): a transcription error
in the theory modules and one here would have to coincide for a test to pass wrongly.
"""
from __future__ import annotations

import sympy as sp

from theory import compton_getting as cg
from theory import diffusion as dif
from theory import observation as obs
from theory import registry

nu, Om, v = dif.nu, dif.Omega, dif.v
bx, by, bz = dif.bx, dif.by, dif.bz


def _zero_on_sphere(expr) -> bool:
    """expr == 0 for every unit vector (bx, by, bz): substitute bz^2 = 1 - bx^2 - by^2 via angles."""
    th, ph = sp.symbols("th ph", real=True)
    sub = {bx: sp.sin(th) * sp.cos(ph), by: sp.sin(th) * sp.sin(ph), bz: sp.cos(th)}
    return sp.simplify(sp.expand(sp.sympify(expr).subs(sub))) == 0


def test_review_53_componentwise():
    """K_ij = B_iB_j/(3 nu_par) + (delta_ij - B_iB_j)/(3 nu_perp) + eps_ijk B_k/(3 nu_A), v = 1."""
    K = registry.get("diffusion.bgk_tensor").kernels[0].expr.subs(v, 1)
    B = [bx, by, bz]
    nu_perp = nu + Om**2 / nu
    nu_A = Om + nu**2 / Om
    for i in range(3):
        for j in range(3):
            paper = B[i] * B[j] / (3 * nu) + (sp.KroneckerDelta(i, j) - B[i] * B[j]) / (3 * nu_perp) + sum(
                sp.LeviCivita(i, j, k) * B[k] for k in range(3)) / (3 * nu_A)
            assert _zero_on_sphere(sp.together(K[i, j] - paper)), (i, j)


def test_bgk_limits():
    K = registry.get("diffusion.bgk_tensor").kernels[0].expr.subs({v: 1, bx: 0, by: 0, bz: 1})
    # no field: isotropic 1/(3 nu)
    assert sp.simplify(K.subs(Om, 0) - sp.eye(3) / (3 * nu)) == sp.zeros(3, 3)
    # strong field: only the parallel component survives
    assert sp.limit(K[0, 0], Om, sp.oo) == 0
    assert sp.limit(K[0, 1], Om, sp.oo) == 0
    assert K[2, 2] == 1 / (3 * nu)
    # sign of the antisymmetric part for Omega > 0 along +z: K_xy = +Omega/(3(nu^2+Omega^2))
    assert sp.simplify(K[0, 1] - Om / (3 * (nu**2 + Om**2))) == 0


def test_review_61_and_62():
    ph, G, b, e = cg.phase, cg.Gamma, cg.beta, cg.eps_obl
    s61 = (2 + G) * b * sp.Matrix([-sp.sin(ph), sp.cos(e) * sp.cos(ph), sp.sin(e) * sp.cos(ph)])
    assert sp.simplify(cg.solar_dipole_sidereal() - s61) == sp.zeros(3, 1)
    s62 = (2 + G) * b * sp.Matrix([-sp.sin(e / 2) ** 2 * sp.sin(2 * ph),
                                   sp.cos(e / 2) ** 2 - sp.sin(e / 2) ** 2 * sp.cos(2 * ph), sp.sin(e) * sp.cos(ph)])
    assert sp.simplify(sp.expand_trig(cg.solar_dipole_solar() - s62)) == sp.zeros(3, 1)


def test_review_27_and_25():
    s1, s2 = sp.sin(obs.dec1), sp.sin(obs.dec2)
    k = registry.get("observation.dipole_coupling").kernels[0].expr
    assert sp.expand(k - sp.Rational(1, 4) * (3 * (s2 - s1) + s1**3 - s2**3)) == 0
    f = registry.get("observation.declination_average").kernels[0].expr
    c1, c2 = sp.cos(obs.dec1), sp.cos(obs.dec2)
    assert sp.simplify(f - (obs.dec1 - obs.dec2 + c1 * s1 - c2 * s2) / (2 * (s1 - s2))) == 0
    # full sky: the declination average keeps pi/4 of the amplitude, the coupling is 1
    assert sp.simplify(f.subs({obs.dec1: -sp.pi / 2, obs.dec2: sp.pi / 2})) == sp.pi / 4
    assert sp.simplify(k.subs({obs.dec1: -sp.pi / 2, obs.dec2: sp.pi / 2})) == 1


def test_review_18_corrected_prefactors():
    ra, ia, a0 = sp.symbols("re_a11 im_a11 a10", real=True)
    k = registry.get("observation.dipole_alm").kernels[0].expr
    paper = sp.sqrt(3 / (2 * sp.pi)) * sp.Matrix([-ra, ia, a0 / sp.sqrt(2)])
    assert sp.simplify(k - paper) == sp.zeros(3, 1)


def test_review_32():
    f, n = sp.symbols("f_sky n_tot", positive=True)
    assert sp.simplify(registry.get("observation.shot_noise").kernels[0].expr - 4 * sp.pi * f**2 / n) == 0


def test_east_west_uniform_small_cone():
    """For a narrow cone Delta alpha -> (2/pi)(2/3) theta_max: a limit the print does not state."""
    t = sp.Symbol("theta_max", positive=True)
    da = registry.get("observation.east_west").kernels[0].expr
    assert sp.limit(da / t, t, 0) == sp.Rational(4, 3) / sp.pi
