"""The Compton-Getting effect (review Sec. 3.2, eqs. (57)-(62); slides "Compton-Getting Effect").

Conventions: c = 1, ``beta = v/c`` the observer's velocity relative to the frame where
the cosmic rays are isotropic; ``Gamma`` the spectral index of n_CR ~ p^-Gamma, so the
isotropic phase-space density goes as phi ~ p^(-2-Gamma) (review eq. (47)).
Vectors are in equatorial coordinates (review eq. (2)): x towards 0h, y towards 6h,
z north.  ``phase = omega_orb t`` (rad) counts from the epoch at which the mean Sun
stands at right ascension pi (review: alpha_sun = omega_orbit t + pi).
"""
from __future__ import annotations

import sympy as sp

from theory.geometry import N_SPHERICAL, spherical_integral
from theory.observation import local_rotation
from theory.registry import Claim, Derivation, Erratum, KernelSpec, Premise, Step, derivation

Gamma = sp.Symbol("Gamma", positive=True)
beta = sp.Symbol("beta", positive=True)  # |v|/c
eps_obl = sp.Symbol("epsilon", positive=True)  # obliquity of the ecliptic
phase = sp.Symbol("phase", real=True)  # omega_orb t
C_KM_S = sp.Integer(299792458) / 1000  # speed of light in km/s (exact by definition)


def _deg(x) -> sp.Expr:
    return sp.Rational(str(x)) * sp.pi / 180


@derivation("compton_getting.dipole_shift")
def _dipole_shift() -> Derivation:
    px, py, pz = sp.symbols("p_x p_y p_z", real=True)
    P = sp.Symbol("p", positive=True)
    A = sp.Symbol("A", positive=True)
    small = sp.Symbol("varepsilon", positive=True)  # book-keeping: beta and Phi* are first order
    b = sp.Matrix(sp.symbols("beta_x beta_y beta_z", real=True))
    c = sp.Matrix(sp.symbols("c_x c_y c_z", real=True))  # Phi*(p) = c p^(-2-Gamma)
    pvec = sp.Matrix([px, py, pz])
    pabs = sp.sqrt(px**2 + py**2 + pz**2)
    phi_star = A * pabs ** (-2 - Gamma)
    f_star = (phi_star + 3 * small * pvec.dot(c) * pabs ** (-3 - Gamma)) / (4 * sp.pi)
    # Lorentz invariance f(p) = f*(p*), p* = p + p beta (57), expanded to first order (58)
    shifted = f_star.subs({px: px + small * pabs * b[0], py: py + small * pabs * b[1], pz: pz + small * pabs * b[2]},
                          simultaneous=True)
    f_obs = sp.series(shifted, small, 0, 2).removeO()
    on_sphere = {px: P * N_SPHERICAL[0], py: P * N_SPHERICAL[1], pz: P * N_SPHERICAL[2]}
    f_obs = sp.simplify(f_obs.subs(on_sphere))
    phi_obs = spherical_integral(f_obs)
    Phi_obs = sp.Matrix([spherical_integral(N_SPHERICAL[i] * f_obs) for i in range(3)])
    phi_s = A * P ** (-2 - Gamma)
    Phi_s = small * c * P ** (-2 - Gamma)
    dphi_dlnp = P * sp.diff(phi_s, P)
    delta_obs = (-3 * Phi_obs / phi_obs).applyfunc(lambda e: sp.series(e, small, 0, 2).removeO())
    delta_star = -3 * Phi_s / phi_s
    printed_slides = Phi_s + (2 + Gamma) * small * b
    return Derivation(
        id="compton_getting.dipole_shift",
        title="Compton-Getting dipole shift from the Lorentz invariance of f",
        module="compton_getting",
        sources=("review eq. (57)", "review eq. (58)", "review eq. (59)", "review eq. (60)",
                 'slides "Compton-Getting Effect"'),
        premises=[
            Premise("Lorentz invariance f(p) = f*(p*) with p* = p + p beta + O(beta^2) (57)"),
            Premise("plasma frame: phi* = A p^(-2-Gamma), dipole Phi* = c p^(-2-Gamma); beta and Phi* first order",
                    f_star),
        ],
        steps=[
            Step("f in the observer frame to first order (58), on the sphere p = p n", f_obs),
            Step("monopole phi = int f dOmega", phi_obs),
            Step("dipole Phi = int n f dOmega (59)", Phi_obs),
        ],
        claims=[
            Claim("phi = phi* to first order", phi_obs, phi_s),
            Claim("Phi = Phi* + (beta/3) d phi*/d ln p, review eq. (59)", Phi_obs, Phi_s + small * b / 3 * dphi_dlnp),
            Claim("delta = delta* + (2 + Gamma) beta, review eq. (60)", delta_obs, delta_star + (2 + Gamma) * small * b),
        ],
        kernels=[KernelSpec("dipole_shift", (2 + Gamma) * b, (b[0], b[1], b[2], Gamma), "review eq. (60)",
                            "Compton-Getting dipole shift (2 + Gamma) beta for observer velocity beta = v/c",
                            domain={b[0]: (-0.5, 0.5), b[1]: (-0.5, 0.5), b[2]: (-0.5, 0.5), Gamma: (0.0, 4.0)})],
        errata=[Erratum('slides "Compton-Getting Effect"',
                        r"\Phi = \Phi^* + \tfrac13\beta\,\partial\phi^*/\partial\ln p = \Phi^* + (2+\Gamma)\beta",
                        r"\boldsymbol\delta = \boldsymbol\delta^* + (2+\Gamma)\boldsymbol\beta "
                        r"\quad(\Phi = \Phi^* - (2+\Gamma)\boldsymbol\beta\,\phi/3)",
                        "the last equality mixes the dipole moment Phi with the dipole vector delta = -3 Phi/phi",
                        printed_expr=printed_slides, corrected_expr=Phi_obs)],
    )


def earth_velocity_direction() -> sp.Matrix:
    """Unit vector of the Earth's orbital velocity, equatorial coordinates, circular orbit."""
    lam = phase + sp.pi  # ecliptic longitude of the mean Sun
    sun = sp.Matrix([sp.cos(lam), sp.sin(lam), 0])
    earth = -sun  # heliocentric Earth position (ecliptic coordinates, unit radius)
    vel = sp.diff(earth, phase)
    vel = sp.simplify(vel / sp.sqrt(vel.dot(vel)))
    # ecliptic -> equatorial: an active rotation by +epsilon about the x (equinox) axis;
    # SymPy's rot_axis1 is the passive (frame) rotation, hence the minus sign.
    return sp.simplify(sp.rot_axis1(-eps_obl) * vel)


def solar_dipole_sidereal() -> sp.Matrix:
    return (2 + Gamma) * beta * earth_velocity_direction()


def solar_dipole_solar() -> sp.Matrix:
    """delta'' = R^T((omega_sol/omega) t) R(t) delta_SCG with omega = omega_sol + omega_orb."""
    w_sol, w_orb, t, Phi = sp.symbols("omega_sol omega_orb t Phi_lat", real=True)
    R_t = local_rotation((w_sol + w_orb) * t, Phi)
    R_sol = local_rotation(w_sol * t, Phi)
    d = solar_dipole_sidereal().subs(phase, w_orb * t)
    out = sp.simplify(sp.expand_trig(sp.simplify(R_sol.T * R_t * d)))
    return sp.simplify(out.subs(t, phase / w_orb))


@derivation("compton_getting.solar_sidereal")
def _solar_sidereal() -> Derivation:
    d = solar_dipole_sidereal()
    stated = (2 + Gamma) * beta * sp.Matrix([-sp.sin(phase), sp.cos(eps_obl) * sp.cos(phase),
                                             sp.sin(eps_obl) * sp.cos(phase)])
    mean = sp.simplify(sp.integrate(d, (phase, 0, 2 * sp.pi)) / (2 * sp.pi))
    return Derivation(
        id="compton_getting.solar_sidereal",
        title="Solar Compton-Getting dipole in the sidereal frame",
        module="compton_getting",
        sources=("review eq. (61)", "review eq. (7)"),
        premises=[
            Premise("circular orbit; the mean Sun at ecliptic longitude omega_orb t + pi (review Sec. 3.2)"),
            Premise("CG dipole (2 + Gamma) beta along the Earth's velocity (compton_getting.dipole_shift)"),
            Premise("ecliptic -> equatorial: rotation by the obliquity about the equinox axis (sympy.rot_axis1)"),
        ],
        steps=[Step("Earth velocity direction, equatorial", earth_velocity_direction()),
               Step("yearly mean", mean)],
        claims=[Claim("review eq. (61)", d, stated),
                Claim("yearly mean vanishes in the sidereal frame", mean, sp.zeros(3, 1))],
        kernels=[
            KernelSpec("solar_dipole_sidereal", d, (phase, Gamma, beta, eps_obl), "review eq. (61)",
                       "solar CG dipole (sidereal frame, equatorial axes) at orbital phase omega_orb t (rad)",
                       domain={phase: (-7.0, 7.0), Gamma: (1.0, 4.0), beta: (1e-5, 1e-3), eps_obl: (0.0, 0.6)}),
            KernelSpec("solar_yearly_mean_sidereal", mean, (Gamma, beta, eps_obl), "review below eq. (61)",
                       "yearly mean of the solar CG dipole in the sidereal frame",
                       domain={Gamma: (1.0, 4.0), beta: (1e-5, 1e-3), eps_obl: (0.0, 0.6)}),
        ],
    )


@derivation("compton_getting.solar_frame")
def _solar_frame() -> Derivation:
    d2 = solar_dipole_solar()
    amp = (2 + Gamma) * beta
    stated = amp * sp.Matrix([-sp.sin(eps_obl / 2) ** 2 * sp.sin(2 * phase),
                              sp.cos(eps_obl / 2) ** 2 - sp.sin(eps_obl / 2) ** 2 * sp.cos(2 * phase),
                              sp.sin(eps_obl) * sp.cos(phase)])
    mean = sp.simplify(sp.integrate(stated, (phase, 0, 2 * sp.pi)) / (2 * sp.pi))
    numbers = {Gamma: sp.Rational("2.7"), beta: sp.Rational("29.8") / C_KM_S, eps_obl: _deg("23.4")}
    size = sp.sqrt(mean.dot(mean)).subs(numbers)
    direction_hours = (sp.atan2(mean[1], mean[0]) * 12 / sp.pi).subs(numbers)
    return Derivation(
        id="compton_getting.solar_frame",
        title="Solar Compton-Getting dipole in the solar frame and its yearly mean",
        module="compton_getting",
        sources=("review eq. (62)", "review eq. (7)"),
        premises=[Premise("delta'' = R^T((omega_sol/omega) t) R(t) delta_SCG, omega = omega_sol + omega_orb (6)"),
                  Premise("R(t) of review eq. (7); delta_SCG of review eq. (61) (compton_getting.solar_sidereal)")],
        steps=[Step("delta''", d2), Step("yearly mean", mean),
               Step("|<delta''>| for Gamma = 2.7, v = 29.8 km/s, epsilon = 23.4 deg", sp.N(size, 6))],
        claims=[
            Claim("review eq. (62)", d2, stated),
            Claim("yearly mean delta_SCG (0, cos^2(epsilon/2), 0)", mean,
                  amp * sp.Matrix([0, sp.cos(eps_obl / 2) ** 2, 0])),
            Claim("|<delta''_SCG>| = 4.5e-4 (review below eq. (62))", size, sp.Float("4.5e-4"), rounded_digits=2),
            Claim("<delta''_SCG> points to t = 6 h", direction_hours, 6),
        ],
        kernels=[
            KernelSpec("solar_dipole_solar", stated, (phase, Gamma, beta, eps_obl), "review eq. (62)",
                       "solar CG dipole in the solar frame at orbital phase omega_orb t (rad)",
                       domain={phase: (-7.0, 7.0), Gamma: (1.0, 4.0), beta: (1e-5, 1e-3), eps_obl: (0.0, 0.6)}),
            KernelSpec("solar_yearly_mean_solar", mean, (Gamma, beta, eps_obl), "review below eq. (62)",
                       "yearly mean of the solar CG dipole in the solar frame",
                       domain={Gamma: (1.0, 4.0), beta: (1e-5, 1e-3), eps_obl: (0.0, 0.6)}),
        ],
    )


# IAU Galactic system (J2000 / FK5 values): north Galactic pole and the Galactic
# longitude of the north celestial pole.
RA_NGP, DEC_NGP, L_NCP = _deg("192.85948"), _deg("27.12825"), _deg("122.93192")


def galactic_to_equatorial() -> sp.Matrix:
    """r_eq = T r_gal, composed of SymPy axis rotations from the three defining angles.

    SymPy's ``rot_axis*`` are passive rotations; active rotations are their inverses.
    T = Rz(alpha_NGP) Ry(pi/2 - delta_NGP) Rz(pi - l_NCP) (active) puts the Galactic
    z axis on the NGP and gives the celestial pole the Galactic longitude l_NCP.
    """
    return sp.rot_axis3(-RA_NGP) * sp.rot_axis2(-(sp.pi / 2 - DEC_NGP)) * sp.rot_axis3(-(sp.pi - L_NCP))


def galactic_direction(l, b) -> sp.Matrix:
    return sp.Matrix([sp.cos(b) * sp.cos(l), sp.cos(b) * sp.sin(l), sp.sin(b)])


#: Sec. 3.2 motions: (speed km/s, l deg, b deg, printed projected amplitude or None)
MOTIONS = {
    "galactic_rotation": (220, 90, 0),
    "lsr_apex": ("18.0", "47.9", "23.8"),
    "ism_flow": ("23.2", "5.25", "12.0"),
}


def projected_amplitude(speed_km_s, l_deg, b_deg, gamma=sp.Rational("2.7")):
    """(2 + Gamma) v/c projected onto the equatorial plane, and the direction's (RA, Dec)."""
    T = galactic_to_equatorial()
    n = T * galactic_direction(_deg(l_deg), _deg(b_deg))
    amp = (2 + gamma) * sp.Rational(str(speed_km_s)) / C_KM_S
    return amp * sp.sqrt(n[0] ** 2 + n[1] ** 2), sp.atan2(n[1], n[0]), sp.asin(n[2])


@derivation("compton_getting.galactic_motions")
def _galactic_motions() -> Derivation:
    T = galactic_to_equatorial()
    ngp = T * sp.Matrix([0, 0, 1])
    ncp_gal = T.T * sp.Matrix([0, 0, 1])
    gc_ra = sp.atan2((T * sp.Matrix([1, 0, 0]))[1], (T * sp.Matrix([1, 0, 0]))[0]) * 180 / sp.pi + 360
    amp_rot, ra_rot, dec_rot = projected_amplitude(*MOTIONS["galactic_rotation"])
    amp_rot_printed_dir, _, _ = projected_amplitude(220, 270, 0)
    amp_lsr, _, _ = projected_amplitude(*MOTIONS["lsr_apex"])
    amp_ism, _, _ = projected_amplitude(*MOTIONS["ism_flow"])
    return Derivation(
        id="compton_getting.galactic_motions",
        title="Compton-Getting amplitudes of the Galactic rotation, the LSR apex and the ISM flow",
        module="compton_getting",
        sources=("review eq. (60)",),
        premises=[
            Premise("CG dipole (2 + Gamma) beta with Gamma = 2.7 (review eq. (60))"),
            Premise("Galactic -> equatorial rotation from the IAU pole (alpha, delta)_NGP = (192.85948, 27.12825) deg "
                    "and l_NCP = 122.93192 deg, composed of SymPy axis rotations", T),
            Premise("motions (review Sec. 3.2): v0 = 220 km/s along the Galactic rotation (l = 90, b = 0); "
                    "LSR apex 18.0 km/s to (47.9, 23.8); ISM flow 23.2 km/s to (5.25, 12.0)"),
        ],
        steps=[Step("projected amplitudes (rotation, LSR, ISM)",
                    sp.Matrix([sp.N(amp_rot, 6), sp.N(amp_lsr, 6), sp.N(amp_ism, 6)]))],
        claims=[
            Claim("T is a rotation", T.T * T, sp.eye(3), symbolic=False),
            Claim("T maps the Galactic z axis to the NGP", ngp, galactic_direction(RA_NGP, DEC_NGP), symbolic=False),
            Claim("the celestial pole sits at l = l_NCP, b = delta_NGP", ncp_gal,
                  galactic_direction(L_NCP, DEC_NGP), symbolic=False),
            Claim("the Galactic centre lies at alpha ~ 266 deg (review Sec. 3.3)", gc_ra, 266, rounded_digits=3),
            Claim("Galactic rotation: projected CG amplitude 2.3e-3 (printed 2.4e-3)", amp_rot,
                  sp.Float("2.3e-3"), rounded_digits=2),
            Claim("the projection is the same for l = 270 deg (the printed direction)", amp_rot_printed_dir,
                  amp_rot, symbolic=False),
            Claim("LSR apex: projected CG amplitude at the 1e-4 level", sp.floor(sp.log(amp_lsr, 10)), -4),
            Claim("ISM flow: projected CG amplitude at the 1e-4 level", sp.floor(sp.log(amp_ism, 10)), -4),
        ],
        errata=[
            Erratum("review Sec. 3.2 (below eq. (60))", r"v_0 \approx 220\ \mathrm{km/s}\ \text{pointing into}\ l \approx 270^\circ",
                    r"l \approx 90^\circ",
                    "the Sun's circular velocity points in the direction of Galactic rotation, l = 90 deg; "
                    "the equatorial-plane projection of the amplitude is the same for both",
                    printed_expr=galactic_direction(_deg(270), 0), corrected_expr=galactic_direction(_deg(90), 0)),
            Erratum("review Sec. 3.2 (below eq. (60))", r"\delta_{GC} \simeq 2.4\times10^{-3}",
                    r"\delta_{GC} \simeq 2.3\times10^{-3}",
                    "(2 + 2.7) x 220/299792.458 x cos(48.3 deg) = 2.29e-3; 2.4e-3 would need v0 ~ 230 km/s",
                    printed_expr=sp.Float("2.4e-3"), corrected_expr=amp_rot),
        ],
    )
