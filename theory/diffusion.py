"""Standard diffusion in the BGK approximation (review Sec. 3.1; 002 Sec. 2; slides).

Units: c = 1; the particle speed ``v`` (``beta`` in the slides) is kept symbolic and
is 1 for the relativistic particles of the papers; rates (``nu``, ``Omega``) are in
inverse units of the caller's time unit, so the diffusion tensor is in
length^2/time.  ``Omega = q B_0 / p`` is the *signed* gyrofrequency: the rotation
vector is ``Omega * Bhat`` (review eq. (35): ``Omega = e B_0 / p_0``).

Records
-------
``diffusion.moment_equations``
    monopole and dipole moments of the BGK-Vlasov equation, review eqs. (50)-(51).
``diffusion.bgk_tensor``
    the stationary dipole equation solved for an arbitrary unit vector B-hat:
    review eq. (53) = 002 eq. (2) with nu_par = nu, nu_perp = nu + Omega^2/nu,
    nu_A = Omega + nu^2/Omega; the sign of the antisymmetric term follows.
``diffusion.bgk_matrix_form``
    the matrix form of the slides ("Diffusion Approximation") for B-hat = e_z.
``diffusion.gaussian_green_function``
    the Gaussian (54) solves the diffusion equation (52), is normalised and spreads
    as <r_i r_j> = 2 t K^s_ij.
``diffusion.fick_dipole``
    Fick's law (55) and the dipole delta = 3 K grad ln n (56), with review (48)-(49).
``diffusion.standard_dipole_power``
    C_1 / (4 pi) = |K grad n / n|^2, 002 eq. (3).
"""
from __future__ import annotations

import random

import sympy as sp

from theory.geometry import (
    N_SPHERICAL,
    N_VEC,
    nx,
    ny,
    nz,
    phi,
    random_unit_vector,
    sphere_integral,
    spherical_integral,
    theta,
)
from theory.registry import Claim, Derivation, Erratum, KernelSpec, Premise, Step, derivation

# ----------------------------------------------------------------------------- symbols
nu = sp.Symbol("nu", positive=True)  # BGK relaxation rate
Omega = sp.Symbol("Omega", real=True)  # signed gyrofrequency q B0 / p
v = sp.Symbol("v", positive=True)  # particle speed (c = 1)
t = sp.Symbol("t", positive=True)
bx, by, bz = sp.symbols("b_x b_y b_z", real=True)
B_HAT = sp.Matrix([bx, by, bz])
UNIT = bx**2 + by**2 + bz**2 - 1

phi_m = sp.Symbol("phi", positive=True)  # monopole  phi = int dp f   (review eq. 45)
Phi = sp.Matrix(sp.symbols("Phi_x Phi_y Phi_z", real=True))  # dipole  (review eq. 46)
grad_phi = sp.Matrix(sp.symbols("g_x g_y g_z", real=True))  # grad phi at the point
dt_phi = sp.Symbol(r"\partial_t\phi", real=True)
dt_Phi = sp.Matrix(sp.symbols(r"\partial_t\Phi_x \partial_t\Phi_y \partial_t\Phi_z", real=True))
# G[j, k] = d_j Phi_k
G = sp.Matrix(3, 3, lambda j, k: sp.Symbol(f"G_{'xyz'[j]}{'xyz'[k]}", real=True))


def levi_civita_matrix(vec: sp.Matrix) -> sp.Matrix:
    """The matrix E with E[i, j] = epsilon_ijk vec_k."""
    return sp.Matrix(3, 3, lambda i, j: sum(sp.LeviCivita(i, j, k) * vec[k] for k in range(3)))


def cross_matrix(vec: sp.Matrix) -> sp.Matrix:
    """The matrix A with A w = vec x w, built from SymPy's cross product."""
    cols = [vec.cross(sp.eye(3)[:, j]) for j in range(3)]
    return sp.Matrix.hstack(*cols)


def _unit_sampler(rng: random.Random) -> dict:
    return dict(zip((bx, by, bz), random_unit_vector(rng)))


def _rates():
    nu_par = nu
    nu_perp = nu + Omega**2 / nu
    nu_A = Omega + nu**2 / Omega
    return nu_par, nu_perp, nu_A


def tensor_from_rates(nu_par, nu_perp, nu_A, bhat=B_HAT, speed=v) -> sp.Matrix:
    """Review eq. (53), times v^2 (slides): the tensor in terms of the three rates."""
    eye = sp.eye(3)
    bb = bhat * bhat.T
    return speed**2 * (bb / (3 * nu_par) + (eye - bb) / (3 * nu_perp) + levi_civita_matrix(bhat) / (3 * nu_A))


def bgk_tensor_expr(bhat=B_HAT, speed=v) -> sp.Matrix:
    """The BGK tensor in a form regular at Omega = 0 (equal to eq. (53) for |bhat| = 1)."""
    eye = sp.eye(3)
    bb = bhat * bhat.T
    den = nu**2 + Omega**2
    return speed**2 / 3 * (bb / nu + nu * (eye - bb) / den + Omega * levi_civita_matrix(bhat) / den)


# ----------------------------------------------------------------------------- records
def _unit_sphere_power(expr, P):
    """Replace (P^2 nx^2 + P^2 ny^2 + P^2 nz^2)**e by P**(2e): we are on |n| = 1."""
    base = P**2 * nx**2 + P**2 * ny**2 + P**2 * nz**2
    return expr.replace(lambda e: e.is_Pow and sp.expand(e.base - base) == 0, lambda e: P ** (2 * e.exp))


def moment_equations():
    """Monopole and dipole moments of the BGK-Vlasov equation, truncated at l = 1."""
    px, py, pz = sp.symbols("p_x p_y p_z", real=True)
    P = sp.Symbol("p", positive=True)
    pvec = sp.Matrix([px, py, pz])
    pabs = sp.sqrt(px**2 + py**2 + pz**2)
    # truncated phase-space density, review normalisation phi = int f dp-hat
    f = (phi_m + 3 * (pvec.dot(Phi)) / pabs) / (4 * sp.pi)
    grad_p_f = sp.Matrix([sp.diff(f, c) for c in (px, py, pz)])
    Omega_vec = Omega * B_HAT
    force = pvec.cross(Omega_vec).dot(grad_p_f)  # p-dot . grad_p f with p-dot = p x Omega
    on_sphere = {px: P * nx, py: P * ny, pz: P * nz}
    force = sp.simplify(_unit_sphere_power(force.subs(on_sphere), P))
    f_n = (phi_m + 3 * N_VEC.dot(Phi)) / (4 * sp.pi)
    dt_f = (dt_phi + 3 * N_VEC.dot(dt_Phi)) / (4 * sp.pi)
    streaming = v * (N_VEC.dot(grad_phi) + 3 * (N_VEC.T * G * N_VEC)[0]) / (4 * sp.pi)
    bgk = nu * (f_n - phi_m / (4 * sp.pi))
    vlasov = dt_f + streaming + force + bgk  # = 0
    monopole = sphere_integral(vlasov)
    dipole = sp.Matrix([sphere_integral(n_i * vlasov) for n_i in N_VEC])
    return vlasov, force, monopole, dipole


@derivation("diffusion.moment_equations")
def _moment_equations() -> Derivation:
    vlasov, force, monopole, dipole = moment_equations()
    div_Phi = G.trace()
    stated_50 = dt_phi + v * div_Phi
    stated_51 = dt_Phi + v / 3 * grad_phi + (Omega * B_HAT).cross(Phi) + nu * Phi
    return Derivation(
        id="diffusion.moment_equations",
        title="Monopole and dipole moments of the BGK-Vlasov equation",
        module="diffusion",
        sources=("review eq. (50)", "review eq. (51)", 'slides "Diffusion Approximation"'),
        premises=[
            Premise("Vlasov equation with BGK collision term (review eqs. (33)-(35), (42); slides): "
                    "d_t f + v p-hat.grad f + (p x Omega).grad_p f = -nu (f - phi/(4 pi))"),
            Premise("truncation at the dipole, review normalisation (45)-(46): f = (phi + 3 p-hat.Phi)/(4 pi)",
                    (phi_m + 3 * N_VEC.dot(Phi)) / (4 * sp.pi)),
            Premise("equation of motion p-dot = p x Omega, Omega = Omega B-hat (review below eq. (33))"),
        ],
        steps=[
            Step("force term (p x Omega).grad_p f on the truncated f, on the unit sphere", force),
            Step("integrate the equation over p-hat: the monopole equation (50)", sp.Eq(monopole, 0, evaluate=False)),
            Step("integrate p-hat times the equation: the dipole equation (51)", sp.Eq(dipole, sp.zeros(3, 1), evaluate=False)),
        ],
        claims=[
            Claim("monopole equation, review eq. (50)", monopole, stated_50),
            Claim("dipole equation, review eq. (51)", dipole, stated_51),
        ],
    )


def solve_stationary_dipole():
    """Solve (51) with d_t Phi = 0 for Phi, and read off K from d_t phi = -v div Phi."""
    _, _, _, dipole = moment_equations()
    stationary = dipole.subs(dict(zip(dt_Phi, (0, 0, 0))))
    sol = sp.solve(list(stationary), list(Phi), dict=True)[0]
    Phi_sol = sp.Matrix([sol[c] for c in Phi])
    # d_t phi = -v div Phi = div (K grad phi)  =>  Phi = -(K / v) grad phi for constant K
    K = -v * Phi_sol.jacobian(grad_phi)
    return Phi_sol, sp.simplify(K)


@derivation("diffusion.bgk_tensor")
def _bgk_tensor() -> Derivation:
    Phi_sol, K = solve_stationary_dipole()
    nu_par, nu_perp, nu_A = _rates()
    stated = tensor_from_rates(nu_par, nu_perp, nu_A)
    regular = bgk_tensor_expr()
    K_sym = (K + K.T) / 2
    K_anti = (K - K.T) / 2
    printed_nu_A = Omega + nu**2 * sp.Symbol("k_par") ** 2 / Omega
    return Derivation(
        id="diffusion.bgk_tensor",
        title="BGK diffusion tensor for a regular field along an arbitrary unit vector",
        module="diffusion",
        sources=("review eq. (53)", "002 eq. (2)", 'slides "Diffusion Approximation"'),
        premises=[
            Premise("stationary dipole equation: (51) with d_t Phi = 0"),
            Premise("continuity (50): d_t phi = -v div Phi, to be written as div(K grad phi) (52)"),
            Premise("B-hat is a unit vector", sp.Eq(UNIT, 0, evaluate=False)),
        ],
        steps=[
            Step("solve (nu + Omega B-hat x) Phi = -(v/3) grad phi for Phi", sp.Eq(Phi, Phi_sol, evaluate=False)),
            Step("K = -v dPhi/d(grad phi)", sp.Eq(sp.MatrixSymbol("K", 3, 3), K, evaluate=False)),
            Step("BGK rates", (sp.Eq(sp.Symbol(r"\nu_\parallel"), nu_par, evaluate=False),
                               sp.Eq(sp.Symbol(r"\nu_\perp"), nu_perp, evaluate=False),
                               sp.Eq(sp.Symbol(r"\nu_A"), nu_A, evaluate=False))),
            Step("antisymmetric part: + epsilon_ijk B_k v^2 Omega / (3 (nu^2 + Omega^2)), i.e. "
                 "+epsilon_ijk B_k/(3 nu_A) for Omega > 0 along B-hat", K_anti),
        ],
        claims=[
            Claim("K = review eq. (53) with the BGK rates", K, stated, constraints=(UNIT,),
                  sampler=_unit_sampler, domain={Omega: (0.1, 3.0)}),
            Claim("kernel form (regular at Omega = 0) = eq. (53)", regular, stated, constraints=(UNIT,),
                  sampler=_unit_sampler, domain={Omega: (0.1, 3.0)}),
            Claim("antisymmetric part = +epsilon_ijk B_k / (3 nu_A)", K_anti,
                  v**2 * levi_civita_matrix(B_HAT) / (3 * nu_A), constraints=(UNIT,), sampler=_unit_sampler,
                  domain={Omega: (0.1, 3.0)}),
            Claim("symmetric part = parallel + perpendicular terms", K_sym,
                  tensor_from_rates(nu_par, nu_perp, sp.oo), constraints=(UNIT,), sampler=_unit_sampler),
            Claim("002 form: nu_perp/nu_par = 1 + Omega^2/nu_par^2", nu_perp / nu_par, 1 + Omega**2 / nu_par**2),
            Claim("002 form: nu_A/Omega = 1 + nu_par^2/Omega^2", nu_A / Omega, 1 + nu_par**2 / Omega**2),
        ],
        kernels=[
            KernelSpec("bgk_tensor", regular, (nu, Omega, bx, by, bz, v), "review eq. (53); 002 eq. (2)",
                       "BGK diffusion tensor K_ij (length^2/time) for rate nu, signed gyrofrequency Omega "
                       "along the unit vector (b_x, b_y, b_z), particle speed v (c = 1).",
                       domain={Omega: (-3.0, 3.0)}, sampler=_unit_sampler),
            KernelSpec("nu_perp", nu_perp, (nu, Omega), "review eq. (53)",
                       "perpendicular BGK rate nu + Omega^2/nu", domain={Omega: (-3.0, 3.0)}),
            KernelSpec("nu_axial", nu_A, (nu, Omega), "review eq. (53)",
                       "axial BGK rate Omega + nu^2/Omega (Omega != 0)", domain={Omega: (0.1, 3.0)}),
        ],
        errata=[
            Erratum("review eq. (53)", r"\nu_A = \Omega + \nu_\parallel^2 k_\parallel^2/\Omega",
                    r"\nu_A = \Omega + \nu_\parallel^2/\Omega",
                    "PDF-conversion artefact: a stray k_par^2 in the text below (53); 002 and the slides have "
                    "nu_A = Omega + nu^2/Omega, which the derivation gives",
                    printed_expr=printed_nu_A, corrected_expr=nu_A),
        ],
    )


@derivation("diffusion.bgk_matrix_form")
def _bgk_matrix_form() -> Derivation:
    _, K = solve_stationary_dipole()
    K_z = sp.simplify(K.subs({bx: 0, by: 0, bz: 1}))
    nu_par, nu_perp, nu_A = _rates()
    slides = v**2 / 3 * sp.Matrix([[1 / nu_perp, 1 / nu_A, 0], [-1 / nu_A, 1 / nu_perp, 0], [0, 0, 1 / nu_par]])
    return Derivation(
        id="diffusion.bgk_matrix_form",
        title="Matrix form of the BGK tensor for B-hat = e_z",
        module="diffusion",
        sources=('slides "Diffusion Approximation"',),
        premises=[Premise("the derived BGK tensor (diffusion.bgk_tensor) with B-hat = e_z, beta = v")],
        steps=[Step("K(B-hat = e_z)", K_z)],
        claims=[Claim("slides' matrix (beta^2/3)[[1/nu_perp, 1/nu_A, 0], [-1/nu_A, 1/nu_perp, 0], [0, 0, 1/nu_par]]",
                      K_z, slides, domain={Omega: (0.1, 3.0)})],
    )


@derivation("diffusion.gaussian_green_function")
def _gaussian() -> Derivation:
    x, y, z = sp.symbols("x y z", real=True)
    r = sp.Matrix([x, y, z])
    k = sp.symbols("k_11 k_12 k_13 k_22 k_23 k_33", real=True)
    Ks = sp.Matrix([[k[0], k[1], k[2]], [k[1], k[3], k[4]], [k[2], k[4], k[5]]])
    a = sp.symbols("a_1 a_2 a_3", real=True)
    Ka = sp.Matrix([[0, a[2], -a[1]], [-a[2], 0, a[0]], [a[1], -a[0], 0]])
    Kfull = Ks + Ka
    det = Ks.det()
    adj = Ks.adjugate()
    quad = (r.T * adj * r)[0] / det  # r^T (K^s)^-1 r
    green = sp.exp(-quad / (4 * t)) / ((4 * sp.pi * t) ** sp.Rational(3, 2) * sp.sqrt(det))
    grad = sp.Matrix([sp.diff(green, c) for c in (x, y, z)])
    flux = Kfull * grad
    residual = sp.diff(green, t) - sum(sp.diff(flux[i], c) for i, c in enumerate((x, y, z)))
    residual_over_green = sp.cancel(sp.expand(residual / green))

    # normalisation and spread for K^s diagonal in its eigenbasis (a rotation maps any K^s there)
    k1, k2, k3 = sp.symbols("kappa_1 kappa_2 kappa_3", positive=True)
    diag = sp.exp(-(x**2 / k1 + y**2 / k2 + z**2 / k3) / (4 * t)) / ((4 * sp.pi * t) ** sp.Rational(3, 2)
                                                                       * sp.sqrt(k1 * k2 * k3))
    def integrate3(expr):
        return sp.simplify(sp.integrate(expr, (x, -sp.oo, sp.oo), (y, -sp.oo, sp.oo), (z, -sp.oo, sp.oo)))

    norm = integrate3(diag)
    spread_xx = integrate3(x**2 * diag)
    spread_xy = integrate3(x * y * diag)
    return Derivation(
        id="diffusion.gaussian_green_function",
        title="The Gaussian (54) solves the diffusion equation (52)",
        module="diffusion",
        sources=("review eq. (52)", "review eq. (54)"),
        premises=[
            Premise("diffusion equation (52) with a constant tensor K = K^s + K^a (K^s symmetric, K^a antisymmetric)"),
            Premise("candidate (54): exp(-r^T (K^s)^-1 r / 4t) / ((4 pi t)^(3/2) sqrt(det K^s))", green),
        ],
        steps=[
            Step("(d_t phi - div(K grad phi)) / phi, simplified; the antisymmetric part drops out",
                 residual_over_green),
            Step("in the eigenbasis of K^s: total number and spread", sp.Matrix([norm, spread_xx, spread_xy])),
        ],
        claims=[
            Claim("(54) solves (52) for any symmetric K^s and antisymmetric K^a", residual_over_green, 0),
            Claim("normalisation: int phi d^3r = 1", norm, 1),
            Claim("spread <x^2> = 2 t kappa_1 (<r_i r_j> = 2 t K^s_ij)", spread_xx, 2 * t * k1),
            Claim("no cross-correlation in the eigenbasis: <x y> = 0", spread_xy, 0),
        ],
    )


@derivation("diffusion.fick_dipole")
def _fick() -> Derivation:
    Phi_sol, K = solve_stationary_dipole()
    p = sp.Symbol("p", positive=True)
    # relative intensity from the truncated f, arrival direction n = -p-hat (review eq. (48))
    f_of_phat = (phi_m + 3 * N_VEC.dot(Phi)) / (4 * sp.pi)
    intensity = sp.expand(4 * sp.pi * f_of_phat.subs({nx: -nx, ny: -ny, nz: -nz}, simultaneous=True) / phi_m)
    delta = sp.Matrix([sp.diff(intensity, c) for c in N_VEC])  # I = 1 + delta . n
    delta_fick = sp.simplify(delta.subs(dict(zip(Phi, Phi_sol))).subs(v, 1))
    n_cr = p**2 * phi_m  # review eq. (47)
    grad_ln_n = grad_phi * p**2 / n_cr  # gradient at fixed p
    stated = 3 * K.subs(v, 1) * grad_ln_n
    return Derivation(
        id="diffusion.fick_dipole",
        title="Fick's law and the diffusive dipole delta = 3 K grad ln n",
        module="diffusion",
        sources=("review eq. (48)", "review eq. (49)", "review eq. (55)", "review eq. (56)",
                 'slides "Summary : Dipole Anisotropy"'),
        premises=[
            Premise("stationary dipole (diffusion.bgk_tensor), v = 1"),
            Premise("relative intensity I(n) = 4 pi f(-n) / phi with n the arrival direction (48)"),
            Premise("n_CR = p^2 phi (47)", sp.Eq(sp.Symbol("n_CR"), n_cr, evaluate=False)),
        ],
        steps=[
            Step("I(n) for the truncated f", intensity),
            Step("dipole vector: delta = -3 Phi / phi (49)", delta),
            Step("Fick's law: Phi = -K grad phi (55)", sp.Eq(Phi, Phi_sol.subs(v, 1), evaluate=False)),
        ],
        claims=[
            Claim("delta = -3 Phi / phi, review eq. (49)", delta, -3 * Phi / phi_m),
            Claim("Fick's law, review eq. (55): Phi = -K grad phi", Phi_sol.subs(v, 1), -K.subs(v, 1) * grad_phi,
                  constraints=(UNIT,), sampler=_unit_sampler),
            Claim("delta = 3 K grad ln n_CR, review eq. (56)", delta_fick, stated,
                  constraints=(UNIT,), sampler=_unit_sampler),
        ],
    )


@derivation("diffusion.standard_dipole_power")
def _dipole_power() -> Derivation:
    w = sp.Matrix(sp.symbols("w_x w_y w_z", real=True))  # w = K grad n / n
    # 002: 4 pi <f> = n - 3 p-hat . K grad n, delta I = (4 pi f - n)/n = -3 p-hat . w
    delta_I = -3 * N_SPHERICAL.dot(w)
    alm = {m: spherical_integral(sp.conjugate(sp.Ynm(1, m, theta, phi).expand(func=True)) * delta_I)
           for m in (-1, 0, 1)}
    C1 = sp.simplify(sum(sp.expand(a * sp.conjugate(a)) for a in alm.values()) / 3)
    return Derivation(
        id="diffusion.standard_dipole_power",
        title="Dipole power of standard diffusion",
        module="diffusion",
        sources=("002 eq. (3)",),
        premises=[
            Premise("quasi-stationary Fick solution 4 pi <f> = n - 3 p-hat . K grad n (002 above eq. (3))"),
            Premise("C_l = (2l+1)^-1 sum_m |a_lm|^2 of delta I (review eq. (29))"),
        ],
        steps=[Step("a_1m of delta I = -3 p-hat . w, w = K grad n / n", sp.Matrix([alm[m] for m in (-1, 0, 1)])),
               Step("C_1", C1)],
        claims=[Claim("C_1/(4 pi) = |K grad n / n|^2", C1 / (4 * sp.pi), w.dot(w))],
    )
