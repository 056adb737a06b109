"""Observational conventions: local frame, dipole <-> a_1m, East-West, declination average,
partial-sky dipole coupling and shot noise (review Sec. 2, eqs. (2)-(32)).

Angles in radians; declinations delta in [-pi/2, pi/2]; ``s = sin(delta)``.
The spherical harmonics are SymPy's ``Ynm`` (Condon-Shortley phase), evaluated at
``(theta, phi) = (pi/2 - delta, alpha)`` as in review eq. (14); healpy uses the same
convention, which ``tests/numerics`` checks with ``healpy.map2alm``.
"""
from __future__ import annotations

import sympy as sp

from theory.geometry import N_SPHERICAL, phi, spherical_integral, theta
from theory.registry import Claim, Derivation, Erratum, KernelSpec, Premise, Step, derivation

alpha, dec = sp.symbols("alpha delta", real=True)
lat = sp.Symbol("Phi_lat", real=True)  # geographic latitude
wt = sp.Symbol("omega_t", real=True)  # sidereal angle omega t
az, zen = sp.symbols("varphi vartheta", real=True)  # local azimuth (N -> E) and zenith angle
dec1, dec2 = sp.symbols("delta_1 delta_2", real=True)
s1, s2 = sp.sin(dec1), sp.sin(dec2)


def n_equatorial(a=alpha, d=dec) -> sp.Matrix:
    """Review eq. (2)."""
    return sp.Matrix([sp.cos(a) * sp.cos(d), sp.sin(a) * sp.cos(d), sp.sin(d)])


def n_local(az_=az, zen_=zen) -> sp.Matrix:
    """Review eq. (5): azimuth from north increasing to the east, zenith angle."""
    return sp.Matrix([sp.cos(az_) * sp.sin(zen_), -sp.sin(az_) * sp.sin(zen_), sp.cos(zen_)])


def local_rotation(angle=wt, latitude=lat) -> sp.Matrix:
    """Review eq. (7): n' = R(t) n, with ``angle = omega t`` (observer at longitude 0)."""
    c, s = sp.cos(angle), sp.sin(angle)
    sl, cl = sp.sin(latitude), sp.cos(latitude)
    return sp.Matrix([[-c * sl, -s * sl, cl], [s, -c, 0], [c * cl, s * cl, sl]])


@derivation("observation.local_rotation")
def _local_rotation() -> Derivation:
    R = local_rotation()
    zenith = R.T * n_local(0, 0)
    north = R.T * n_local(0, sp.pi / 2)
    east = R.T * n_local(sp.pi / 2, sp.pi / 2)
    n0 = n_equatorial(wt, lat)
    return Derivation(
        id="observation.local_rotation",
        title="The local frame of a ground-based observer",
        module="observation",
        sources=("review eq. (2)", "review eq. (5)", "review eq. (7)"),
        premises=[Premise("equatorial unit vector (2)", n_equatorial()), Premise("local unit vector (5)", n_local()),
                  Premise("rotation (7), n' = R(t) n", R)],
        steps=[Step("the zenith n'(0, 0) in equatorial coordinates", zenith)],
        claims=[
            Claim("R is orthogonal", R.T * R, sp.eye(3)),
            Claim("det R = 1", R.det(), 1),
            Claim("zenith at alpha = omega t, delta = latitude", zenith, n0),
            Claim("local north = d n/d delta at the zenith", north, sp.diff(n0, lat)),
            Claim("local east = d n/d alpha / cos(delta) at the zenith", east, sp.diff(n0, wt) / sp.cos(lat)),
        ],
        kernels=[KernelSpec("local_rotation", R, (wt, lat), "review eq. (7)",
                            "rotation matrix R(t) of review eq. (7), n' = R n; omega_t = omega t (rad), "
                            "Phi_lat = geographic latitude (rad)",
                            domain={wt: (-7.0, 7.0), lat: (-1.5, 1.5)})],
    )


@derivation("observation.dipole_alm")
def _dipole_alm() -> Derivation:
    d = sp.Matrix(sp.symbols("d_x d_y d_z", real=True))
    dipole = d.dot(N_SPHERICAL)  # theta = pi/2 - delta, phi = alpha
    alm = {m: sp.simplify(spherical_integral(sp.conjugate(sp.Ynm(1, m, theta, phi).expand(func=True)) * dipole))
           for m in (-1, 0, 1)}
    re11, im11 = sp.re(alm[1]), sp.im(alm[1])
    a10 = alm[0]
    from_alm = sp.Matrix([-sp.sqrt(3 / (2 * sp.pi)) * re11, sp.sqrt(3 / (2 * sp.pi)) * im11,
                          sp.sqrt(3 / (4 * sp.pi)) * a10])
    printed = sp.Matrix([-sp.sqrt(3 / (2 * sp.pi)) * re11, sp.sqrt(3 / (2 * sp.pi)) * im11,
                         sp.sqrt(3 / (2 * sp.pi)) * a10])
    # kernel: delta from (Re a11, Im a11, a10)
    ra, ia, a0 = sp.symbols("re_a11 im_a11 a10", real=True)
    kernel = sp.Matrix([-sp.sqrt(3 / (2 * sp.pi)) * ra, sp.sqrt(3 / (2 * sp.pi)) * ia, sp.sqrt(3 / (4 * sp.pi)) * a0])
    return Derivation(
        id="observation.dipole_alm",
        title="Dipole vector and the l = 1 harmonic coefficients",
        module="observation",
        sources=("review eq. (17)", "review eq. (18)"),
        premises=[Premise("I = 1 + delta . n (17), a_lm = int Y*_lm I dOmega (15)", dipole)],
        steps=[Step("a_1m of delta . n", sp.Matrix([alm[-1], alm[0], alm[1]]))],
        claims=[
            Claim("delta recovered from (-Re a11, Im a11, a10) with the corrected prefactors", from_alm, d),
            Claim("reality: a_{1,-1} = -conj(a_11)", alm[-1], -sp.conjugate(alm[1])),
        ],
        kernels=[KernelSpec("dipole_from_alm", kernel, (ra, ia, a0), "review eq. (18)",
                            "dipole vector (delta_0h, delta_6h, delta_N) from Re a_11, Im a_11, a_10")],
        errata=[Erratum("review eq. (18)", r"\delta_N = \sqrt{3/(2\pi)}\, a_{10}", r"\delta_N = \sqrt{3/(4\pi)}\, a_{10}",
                        "Y_10 = sqrt(3/(4 pi)) cos(theta), so the m = 0 prefactor is sqrt(3/(4 pi)); only the m = +-1 "
                        "pair carries the factor 2 that makes sqrt(3/(2 pi))",
                        printed_expr=printed, corrected_expr=from_alm)],
    )


@derivation("observation.east_west")
def _east_west() -> Derivation:
    A = sp.Function("A")  # relative acceptance A(zenith)
    tmax = sp.Symbol("theta_max", positive=True)
    d = sp.Matrix(sp.symbols("d_x d_y d_z", real=True))
    R = local_rotation()
    intensity_dipole = (R * d).dot(n_local())  # delta . R^T n'
    # phi integrals over the East (0, pi) and West (-pi, 0) sectors; theta integrals stay symbolic
    moment = {}

    def theta_integral(expr):
        """Write int_0^theta_max dtheta sin(theta) A(theta) expr as a sum over symbols J[a, b] for
        the moments int A sin^(a+1) cos^b."""
        expr = sp.expand(expr)
        out = sp.Integer(0)
        for term in sp.Add.make_args(expr):
            coeff, a_pow, b_pow = sp.Integer(1), 0, 0
            for f in sp.Mul.make_args(term):
                base, e = f.as_base_exp()
                if base == sp.sin(zen):
                    a_pow += int(e)
                elif base == sp.cos(zen):
                    b_pow += int(e)
                else:
                    coeff *= f
            key = (a_pow + 1, b_pow)
            moment.setdefault(key, sp.Symbol(f"J_{key[0]}{key[1]}", real=True))
            out += coeff * moment[key]
        return out

    def counts(lo, hi, expr):
        return theta_integral(sp.integrate(expr, (az, lo, hi)))

    N_E = counts(0, sp.pi, 1 + intensity_dipole)
    N_W = counts(-sp.pi, 0, 1 + intensity_dipole)
    ratio = (N_E - N_W) / (N_E + N_W)
    eps = sp.Symbol("epsilon")
    ratio_first = sp.series(ratio.subs({c: eps * c for c in d}, simultaneous=True), eps, 0, 2).removeO().subs(eps, 1)
    delta_alpha = counts(0, sp.pi, sp.sin(zen) * sp.sin(az)) / counts(0, sp.pi, 1)
    dI_equator = d.dot(n_equatorial(alpha, 0))
    stated = delta_alpha * sp.diff(dI_equator, alpha).subs(alpha, wt)
    # uniform acceptance: J_{a,b} = int_0^theta_max sin^a cos^b
    uniform = {sym: sp.integrate(sp.sin(zen) ** a * sp.cos(zen) ** b, (zen, 0, tmax))
               for (a, b), sym in moment.items()}
    da_uniform = sp.simplify(delta_alpha.subs(uniform))
    da_closed = 2 / sp.pi * (tmax / 2 - sp.sin(2 * tmax) / 4) / (1 - sp.cos(tmax))
    return Derivation(
        id="observation.east_west",
        title="East-West method: the effective right-ascension step",
        module="observation",
        sources=("review eq. (20)", "review eq. (21)", "review eq. (22)", "review eq. (23)"),
        premises=[
            Premise("dipole sky I = 1 + delta . R^T(t) n' seen through an acceptance A(theta) (20)-(21)"),
            Premise("J_ab = int_0^theta_max dtheta A(theta) sin^a(theta) cos^b(theta)", A(zen)),
        ],
        steps=[Step("N_E in units of phi_iso dt E", N_E), Step("N_W", N_W),
               Step("effective step (23)", sp.Eq(sp.Symbol(r"\Delta\alpha"), delta_alpha, evaluate=False)),
               Step("uniform acceptance", sp.Eq(sp.Symbol(r"\Delta\alpha"), da_uniform, evaluate=False))],
        claims=[
            Claim("(N_E - N_W)/(N_E + N_W) = Delta alpha d(delta I)/d alpha at the meridian, first order (22)",
                  ratio_first, stated),
            Claim("uniform acceptance: Delta alpha = (2/pi)(theta_max/2 - sin(2 theta_max)/4)/(1 - cos theta_max)",
                  da_uniform, da_closed, domain={tmax: (0.05, 1.5)}),
        ],
        kernels=[KernelSpec("east_west_step_uniform", da_closed, (tmax,), "review eq. (23)",
                            "effective right-ascension step Delta alpha (rad) for a uniform acceptance "
                            "out to zenith angle theta_max (rad)", domain={tmax: (0.05, 1.55)})],
    )


@derivation("observation.declination_average")
def _declination_average() -> Derivation:
    A1, a1 = sp.symbols("A_1 alpha_1", positive=True)
    d = sp.Matrix([A1 * sp.cos(a1), A1 * sp.sin(a1), sp.Symbol("delta_N", real=True)])
    intensity = 1 + d.dot(n_equatorial())
    # (24): right-ascension projection first ...
    integrand = sp.expand((sp.exp(sp.I * alpha) * intensity).rewrite(sp.exp))
    ra_proj = sp.simplify(sp.integrate(integrand, (alpha, 0, 2 * sp.pi)) / sp.pi)
    # ... then the average over s = sin(delta) in [s1, s2], ds = cos(delta) d delta
    proj = sp.integrate(ra_proj * sp.cos(dec), (dec, dec1, dec2)) / (s2 - s1)
    ratio = sp.simplify(proj / (A1 * sp.exp(sp.I * a1)))
    c1, c2 = sp.cos(dec1), sp.cos(dec2)
    factor = (dec1 - dec2 + c1 * s1 - c2 * s2) / (2 * (s1 - s2))
    dom = {dec1: (-1.4, 0.2), dec2: (0.3, 1.5)}
    return Derivation(
        id="observation.declination_average",
        title="Declination-averaged dipole: phase kept, amplitude rescaled",
        module="observation",
        sources=("review eq. (24)", "review eq. (25)"),
        premises=[Premise("right-ascension projection (24) of I = 1 + delta . n over s = sin(delta) in [s1, s2]")],
        steps=[Step("right-ascension projection at fixed declination", ra_proj),
               Step("declination average / (A_1 exp(i alpha_1))", ratio)],
        claims=[
            Claim("phase kept: the projection at fixed delta is A_1 cos(delta) exp(i alpha_1)", ra_proj,
                  A1 * sp.cos(dec) * sp.exp(sp.I * a1)),
            Claim("amplitude rescaled by review eq. (25)", ratio, factor, domain=dom),
        ],
        kernels=[KernelSpec("declination_average_factor", factor, (dec1, dec2), "review eq. (25)",
                            "ratio A~_1/A_1 of the declination-averaged to the true equatorial dipole amplitude "
                            "for a band [delta_1, delta_2] (rad)", domain=dom)],
    )


@derivation("observation.dipole_coupling")
def _dipole_coupling() -> Derivation:
    Y = {m: sp.Ynm(1, m, theta, phi).expand(func=True) for m in (-1, 0, 1)}

    def coupling(m1, m2):
        integrand = sp.expand(sp.conjugate(Y[m1]) * Y[m2] * sp.sin(theta))
        inner = sp.integrate(integrand, (phi, 0, 2 * sp.pi))
        return sp.simplify(sp.integrate(inner, (theta, sp.pi / 2 - dec2, sp.pi / 2 - dec1)))

    k11, k1m1, km1m1 = coupling(1, 1), coupling(1, -1), coupling(-1, -1)
    stated = (3 * (s2 - s1) + s1**3 - s2**3) / 4
    dom = {dec1: (-1.5, 0.0), dec2: (0.1, 1.5)}
    return Derivation(
        id="observation.dipole_coupling",
        title="Dipole coupling matrix of a uniform declination band",
        module="observation",
        sources=("review eq. (26)", "review eq. (27)", "review eq. (28)"),
        premises=[Premise("K_{lm l'm'} = int_band Y*_lm Y_l'm' dOmega for a uniform band delta_1 < delta < delta_2")],
        steps=[Step("K'_1111", k11)],
        claims=[
            Claim("K'_1111, review eq. (27)", k11, stated, domain=dom),
            Claim("K'_1-11-1 = K'_1111", km1m1, stated, domain=dom),
            Claim("K'_111-1 = 0", k1m1, 0),
        ],
        kernels=[KernelSpec("dipole_coupling", stated, (dec1, dec2), "review eq. (27)",
                            "dipole coupling K'_1111 of a uniform band [delta_1, delta_2] (rad)", domain=dom)],
    )


@derivation("observation.shot_noise")
def _shot_noise() -> Derivation:
    # Unsold: sum_m |Y_lm|^2 = (2l+1)/(4 pi) -- the step that makes the pixel noise flat in l
    unsold = [sp.simplify(sum(sp.expand(sp.Ynm(ell, m, theta, phi).expand(func=True)
                                        * sp.conjugate(sp.Ynm(ell, m, theta, phi).expand(func=True)))
                              for m in range(-ell, ell + 1))) for ell in range(0, 7)]
    npix = sp.Symbol("N_pix", positive=True)
    fsky, ntot = sp.symbols("f_sky n_tot", positive=True)
    # <|a_lm|^2>_noise = sum_i w_i^2 dOmega^2 |Y_lm(i)|^2 / n_i; average over m with Unsold
    w, n_i, dOmega = sp.symbols("w_i n_i Delta_Omega", positive=True)
    per_pixel = w**2 * dOmega**2 * sp.Symbol("U") / n_i  # U = (2l+1)^-1 sum_m |Y_lm|^2
    per_pixel_avg = per_pixel.subs(sp.Symbol("U"), 1 / (4 * sp.pi))
    # uniform: w = 1, dOmega = 4 pi / N_pix, f_sky N_pix pixels with n_tot / (f_sky N_pix) events each
    uniform = (fsky * npix * per_pixel_avg).subs({w: 1, dOmega: 4 * sp.pi / npix, n_i: ntot / (fsky * npix)})
    stated_32 = 4 * sp.pi * fsky**2 / ntot
    icecube = stated_32.subs({fsky: sp.Rational("0.29"), ntot: sp.Float("3.2e11", 30)})
    hawc = stated_32.subs({fsky: sp.Rational("0.67"), ntot: sp.Float("4.9e10", 30)})
    return Derivation(
        id="observation.shot_noise",
        title="Pixel shot-noise level of a pseudo power spectrum",
        module="observation",
        sources=("review eq. (31)", "review eq. (32)"),
        premises=[
            Premise("pixel i holds n_i Poisson events: var(delta I_i) = 1/n_i, pixels independent"),
            Premise("a_lm = sum_i w_i dOmega Y*_lm(i) delta I_i"),
        ],
        steps=[
            Step("<|a_lm|^2> = sum_i w_i^2 dOmega^2 |Y_lm(i)|^2 / n_i"),
            Step("Unsold's theorem (2l+1)^-1 sum_m |Y_lm|^2 = 1/(4 pi) makes N_l flat: (31)", per_pixel_avg),
            Step("uniform exposure over a fraction f_sky: (32)", uniform),
        ],
        claims=[
            *[Claim(f"Unsold's theorem, l = {ell}", u, (2 * ell + 1) / (4 * sp.pi)) for ell, u in enumerate(unsold)],
            Claim("uniform exposure, review eq. (32)", uniform, stated_32),
            Claim("IceCube: n_tot = 3.2e11, f_sky = 0.29 gives N ~ 3e-12 (review Sec. 2.4)", icecube,
                  sp.Float("3e-12"), rounded_digits=1),
            Claim("HAWC: n_tot = 4.9e10, f_sky = 0.67 gives N ~ 1e-10 (review Sec. 2.4)", hawc,
                  sp.Float("1e-10"), rounded_digits=1),
        ],
        kernels=[KernelSpec("noise_uniform", stated_32, (fsky, ntot), "review eq. (32)",
                            "shot-noise level N for a uniform exposure of sky fraction f_sky with n_tot events",
                            domain={fsky: (0.05, 1.0), ntot: (1e3, 1e12)})],
    )
