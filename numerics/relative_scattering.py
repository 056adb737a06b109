"""The relative scattering rate nu_r(x) of 002's generalised BGK model, measured from backtracked pairs (issue 17).

Units: whatever the caller's time unit is (rates are per that unit); angles are dimensionless.

The model (002 eqs. (12)-(14), derivation ``relative_diffusion.relative_scattering``).  Without a gradient the J = 0
part F(x, t) of the pair correlation <f1 f2> obeys dF/dt = -nu_r(x) L^2 F, x = p1.p2 and L^2 the Legendre operator
-d/dx (1 - x^2) d/dx, so that dC_l/dt = -sum_k W_lk C_k with W_lk = k(k+1)(2k+1)/2 int nu_r P_l P_k dx.  For a
homogeneous sky with power only at l0, F is proportional to

.. math:: u_{\\ell_0}(x, t) = \\langle P_{\\ell_0}(\\mathbf p_1(-t)\\cdot\\mathbf p_2(-t))\\rangle_{\\mathbf n_1\\cdot
          \\mathbf n_2 = x},

the average over pairs of arrival directions n1, n2 with opening cosine x of the Legendre polynomial of their
backtracked momenta (u(x, 0) = P_l0(x)); the transition matrix is M_{l l0}(t) = (2 l0 + 1)/2 int P_l u_l0 dx.

The weak form.  L^2 is self-adjoint on [-1, 1], so the rate of every C_l needs u alone, no sum over k:

.. math:: \\frac{d}{dt}\\int P_\\ell\\, u\\, dx = -\\int L^2(P_\\ell\\,\\nu_r)\\, u\\, dx .

In y = ln s, s = sin(psi/2) = sqrt((1 - x)/2) (dx = 4 s^2 dy), for nu_r = phi(s):

.. math:: \\int L^2(P_\\ell\\phi)\\,u\\,dx = \\int I_\\ell[\\phi]\\,u\\,dy,\\quad
          I_\\ell[\\phi] = 4 s^2 \\ell(\\ell+1) P_\\ell\\phi + 2\\ell\\phi_y (P_{\\ell-1} - x P_\\ell)
          - P_\\ell[(1 - s^2)\\phi_{yy} - 2 s^2 \\phi_y],

(:func:`weak_integrand`; for phi = s^a it is the closed form of claim 3 of the derivation record times 4 s^2), which is
regular at s -> 0: the measurement resolves every angular scale down to the smallest pair angle, with no truncation in
l.  The pairs sit at Gauss-Legendre nodes in y on equal panels of [ln s_lo, 0] (:func:`pair_nodes`), each node with
``n_orient`` random orientations (:func:`pair_directions`), so u is sampled where the integrals need it.

The inversion.  With nu_r = sum_j c_j phi_j, integrating the weak form over a time window [t_a, t_b] (Simpson's rule
on the recorded times) gives one linear equation per row l and column l0:

.. math:: \\int P_\\ell\\,[u(t_b) - u(t_a)]\\,dx = -\\sum_j c_j \\int_{t_a}^{t_b}\\!dt\\int I_\\ell[\\phi_j]\\,u\\,dy ,

solved by bounded (non-negative) weighted least squares (:func:`invert`); the basis is cubic B-splines in y, zero below
ln s_lo (so nu_r(1) = 0 unless the constant basis function, whose coefficient is nu_r(1) itself and may take either
sign, says otherwise): non-negative and C^2 -- the regularisation is the basis.  Errors by bootstrap over the
realizations; chi^2 of the best nu_r with the standard errors of the equations is the test of the model's structure.
:func:`fit_power_law` fits nu_0 (1 - x)^p the same way.
"""
from __future__ import annotations

import numpy as np
from scipy.special import eval_legendre

from numerics import _validate as check

__all__ = ["pair_nodes", "pair_directions", "pair_legendre", "weak_integrand", "SplineRate", "rate_system",
           "power_law_system", "invert", "fit_power_law", "rate_from_table", "model_pair_correlation",
           "simpson_weights", "MIN_REALIZATIONS"]

#: the smallest ensemble :func:`invert` accepts (bootstrap and standard errors need a few fields)
MIN_REALIZATIONS = 4


# ---------------------------------------------------------------------------------------------- geometry
def pair_nodes(s_lo: float, n_panels: int, per_panel: int = 4, *, s_mid: float = 0.05, n_outer: int = 3,
               per_outer: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Pair half-angle sines ``s`` (ascending) and weights ``w`` for ``int g dy`` over y = ln s in [ln s_lo, 0].

    Gauss-Legendre with ``per_panel`` nodes on each of ``n_panels`` equal panels in y on [ln s_lo, ln s_mid] (every
    angular scale alike), and ``per_outer`` nodes on each of ``n_outer`` equal panels in s on [s_mid, 1] (there
    dx = 4 s ds carries most of the measure and the integrands are polynomials of modest degree in s; weights
    converted to dy = ds/s).  With the defaults and 8 panels of 4 nodes from s_lo = 1e-8, the pair quadrature gives
    M(0) = (2 l0 + 1)/2 int P_l P_l0 dx = delta to 4e-6 for l, l0 <= 8."""
    s_lo = check.in_range("s_lo", s_lo, 1e-14, 0.5, single=True)
    s_mid = check.in_range("s_mid", s_mid, 0.0, 1.0, closed=False, single=True)
    if s_lo >= s_mid:
        raise ValueError(f"s_lo={s_lo!r}: must be below s_mid = {s_mid!r}")
    n_panels = check.integer("n_panels", n_panels, 1, 1000)
    per_panel = check.integer("per_panel", per_panel, 1, 64)
    n_outer = check.integer("n_outer", n_outer, 1, 1000)
    per_outer = check.integer("per_outer", per_outer, 1, 64)

    def rule(lo, hi, n, k):
        g, gw = np.polynomial.legendre.leggauss(k)
        edges = np.linspace(lo, hi, n + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        return (mid[:, None] + half[:, None] * g[None, :]).ravel(), (half[:, None] * gw[None, :]).ravel()

    y, wy = rule(np.log(s_lo), np.log(s_mid), n_panels, per_panel)
    so, ws = rule(s_mid, 1.0, n_outer, per_outer)
    return np.concatenate([np.exp(y), so]), np.concatenate([wy, ws / so])


def pair_directions(s, n_orient: int, seed) -> np.ndarray:
    """Arrival directions of the pairs: shape (2 Q n_orient, 3), the first Q n_orient the n1 (node-major), the rest
    the n2 at half-angle sine s_q from their n1; n1 uniform on the sphere, the azimuth of n2 about n1 uniform
    (the rotation average that projects on J = 0).  ``seed``: anything numpy.random.default_rng accepts."""
    s = check.in_range("s", s, 0.0, 1.0, closed=True)
    if s.ndim != 1 or s.size < 1 or np.any(s <= 0):
        raise ValueError(f"s={check.show(s)}: expected a 1-d array of half-angle sines in (0, 1]")
    n_orient = check.integer("n_orient", n_orient, 1, 1_000_000)
    rng = np.random.default_rng(seed)
    Q = s.size
    n1 = rng.normal(size=(Q, n_orient, 3))
    n1 /= np.linalg.norm(n1, axis=-1, keepdims=True)
    a = rng.normal(size=(Q, n_orient, 3))
    a -= np.sum(a * n1, axis=-1, keepdims=True) * n1
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    psi = 2.0 * np.arcsin(s)[:, None, None]
    n2 = np.cos(psi) * n1 + np.sin(psi) * a
    n2 /= np.linalg.norm(n2, axis=-1, keepdims=True)
    return np.concatenate([n1.reshape(-1, 3), n2.reshape(-1, 3)])


def pair_legendre(momenta, n_nodes: int, n_orient: int, l0max: int) -> np.ndarray:
    """u_l0 at each node: the mean over orientations of P_l0(p1.p2), l0 = 1..l0max; ``momenta`` (..., 2 Q n_orient, 3)
    in the order of :func:`pair_directions`; returns (..., Q, l0max).  1 - p1.p2 is computed as |p1 - p2|^2/2, so a
    pair at s = 1e-10 keeps its relative precision."""
    p = np.asarray(momenta, float)
    half = n_nodes * n_orient
    if p.shape[-2:] != (2 * half, 3):
        raise ValueError(f"momenta=array of shape {p.shape}: expected (..., {2 * half}, 3)")
    d = p[..., :half, :] - p[..., half:, :]
    one_minus_x = 0.5 * np.sum(d * d, axis=-1)
    x = np.clip(1.0 - one_minus_x, -1.0, 1.0).reshape(p.shape[:-2] + (n_nodes, n_orient))
    ls = np.arange(1, l0max + 1)
    return eval_legendre(ls, x[..., None]).mean(axis=-2)


# ---------------------------------------------------------------------------------------------- weak form
def weak_integrand(l: int, s, phi, phi_y, phi_yy) -> np.ndarray:
    """I_l[phi](s) of the module docstring: int L^2(P_l phi) u dx = int I_l[phi] u dy, y = ln s, for nu_r = phi(s)
    with its y-derivatives ``phi_y``, ``phi_yy`` (arrays broadcasting against ``s``)."""
    l = check.integer("l", l, 0, 10_000)
    s = check.in_range("s", s, 0.0, 1.0)
    phi, phi_y, phi_yy = (check.finite(n, v) for n, v in (("phi", phi), ("phi_y", phi_y), ("phi_yy", phi_yy)))
    try:
        np.broadcast_shapes(s.shape, phi.shape, phi_y.shape, phi_yy.shape)
    except ValueError:
        raise ValueError(f"phi, phi_y, phi_yy: shapes {phi.shape}, {phi_y.shape}, {phi_yy.shape} do not broadcast against "
                         f"s of shape {s.shape}") from None
    x = 1.0 - 2.0 * s * s
    P = eval_legendre(l, x)
    out = 4.0 * s * s * l * (l + 1) * P * phi - P * ((1.0 - s * s) * phi_yy - 2.0 * s * s * phi_y)
    if l >= 1:
        out = out + 2.0 * l * phi_y * (eval_legendre(l - 1, x) - x * P)
    return out


class SplineRate:
    """nu_r(s) = c_const + sum_j c_j B_j(ln s): cubic B-splines on ``n_basis`` equal knot intervals of [ln s_lo, 0]
    (knots continued beyond 0, so the basis is not clamped at s = 1), each C^2 and zero below ln s_lo; the constant
    (``constant=True``, the first coefficient) is nu_r(1)."""

    def __init__(self, s_lo: float, n_basis: int, constant: bool = True):
        from scipy.interpolate import BSpline

        self.s_lo = check.in_range("s_lo", s_lo, 1e-14, 0.5, single=True)
        self.n_basis = check.integer("n_basis", n_basis, 1, 200)
        self.constant = bool(constant)
        y0 = np.log(self.s_lo)
        h = -y0 / self.n_basis
        knots = y0 + h * np.arange(self.n_basis + 4)
        self._splines = [BSpline.basis_element(knots[j:j + 5], extrapolate=False) for j in range(self.n_basis)]
        self.knots = knots

    @property
    def size(self) -> int:
        return self.n_basis + (1 if self.constant else 0)

    def basis(self, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(phi, phi_y, phi_yy), each (size, len(s))."""
        y = np.log(np.asarray(s, float))
        rows = []
        for b in self._splines:
            vals = [np.nan_to_num(b(y)), np.nan_to_num(b.derivative(1)(y)), np.nan_to_num(b.derivative(2)(y))]
            rows.append(vals)
        out = np.array(rows).transpose(1, 0, 2)  # (3, n_basis, Q)
        if self.constant:
            const = np.zeros((3, 1, y.size))
            const[0] = 1.0
            out = np.concatenate([const, out], axis=1)
        return out[0], out[1], out[2]

    def lower_bounds(self) -> np.ndarray:
        """-inf for the constant (nu_r(1) is measured, either sign), 0 for the B-spline coefficients."""
        lb = np.zeros(self.size)
        if self.constant:
            lb[0] = -np.inf
        return lb

    def at_s(self, coef, s) -> np.ndarray:
        """nu_r at half-angle sines ``s`` (precise at any small angle) for coefficients ``coef`` (size,) or (n, size)."""
        return np.asarray(coef, float) @ self.basis(np.asarray(s, float))[0]

    def __call__(self, coef, x) -> np.ndarray:
        """nu_r at cosines ``x`` for coefficients ``coef`` (size,) or (n, size) -> (..., len(x))."""
        x = np.asarray(x, float)
        s = np.sqrt(np.clip((1.0 - x) / 2.0, 1e-300, 1.0))
        phi = self.basis(s)[0]
        return np.asarray(coef, float) @ phi


def simpson_weights(times) -> np.ndarray:
    """Weights of the composite Simpson rule on equally spaced ``times`` (an odd number, >= 3)."""
    t = check.finite("times", times)
    if t.ndim != 1 or t.size < 3 or t.size % 2 == 0:
        raise ValueError(f"times={check.show(times)}: Simpson's rule needs an odd number >= 3 of times")
    h = np.diff(t)
    if np.any(h <= 0) or not np.allclose(h, h[0], rtol=1e-9, atol=0.0):
        raise ValueError(f"times={check.show(times)}: must be increasing and equally spaced")
    w = np.ones(t.size)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w * h[0] / 3.0


def _check_U(U, s, w, times):
    U = check.finite("U", U)
    s = np.asarray(s, float)
    if U.ndim != 4 or U.shape[1] != np.size(times) or U.shape[2] != s.size or np.size(w) != s.size:
        raise ValueError(f"U=array of shape {U.shape}: expected (realizations, {np.size(times)} times, {s.size} nodes, "
                         "l0max)")
    return U


def rate_system(U, s, w, times, basis: SplineRate, lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """The window's linear equations per realization: ``y`` (R, lmax+1, l0max) = int P_l [u(t_b) - u(t_a)] dx and
    ``B`` (R, lmax+1, l0max, basis.size) = int dt int I_l[phi_j] u dy (Simpson in t over ``times``, the window's
    equally spaced times, an odd number); the model says y = -B c.  ``U``: (R, len(times), Q, l0max) of
    :func:`pair_legendre` at the nodes ``s``, ``w`` of :func:`pair_nodes`."""
    lmax = check.integer("lmax", lmax, 0, 1000)
    U = _check_U(U, s, w, times)
    wt = simpson_weights(times)
    phi, phi_y, phi_yy = basis.basis(s)
    x = 1.0 - 2.0 * np.asarray(s) ** 2
    ls = np.arange(lmax + 1)
    Pw = eval_legendre(ls[:, None], x[None, :]) * (4.0 * np.asarray(s) ** 2 * w)[None, :]  # (L+1, Q): dx weights
    y = np.einsum("lq,rqk->rlk", Pw, U[:, -1] - U[:, 0])
    I = np.stack([weak_integrand(l, s, phi, phi_y, phi_yy) for l in ls]) * w  # (L+1, J, Q)
    Ubar_t = np.einsum("t,rtqk->rqk", wt, U)  # time integral per node
    B = np.einsum("ljq,rqk->rlkj", I, Ubar_t)
    return y, B


def power_law_system(U, s, w, times, p: float, lmax: int) -> np.ndarray:
    """``B`` (R, lmax+1, l0max) of :func:`rate_system` for the single basis function nu_r = (1 - x)^p = 2^p s^(2p),
    with the part of the y-integral below the smallest node (u -> u at the first node, P_l -> 1) added in closed form:
    int_{-oo}^{y_lo} I_l u dy ~ -a s_lo^a u(s_lo), a = 2p."""
    p = check.in_range("p", p, 0.0, 2.0, closed=False, single=True)
    U = _check_U(U, s, w, times)
    wt = simpson_weights(times)
    a = 2.0 * p
    s = np.asarray(s, float)
    phi = 2.0 ** p * s ** a
    I = np.stack([weak_integrand(l, s, phi, a * phi, a * a * phi) for l in range(lmax + 1)]) * w  # (L+1, Q)
    Ubar_t = np.einsum("t,rtqk->rqk", wt, U)
    B = np.einsum("lq,rqk->rlk", I, Ubar_t)
    # tail below the lowest panel edge y_e: I_l -> -a^2 2^p s^a, int_{-oo}^{y_e} = -a 2^p s_e^a.  The rule does not carry
    # its edges; the first node's weight is of the order of its distance to the edge, so s_e ~ s[0] exp(-w[0])
    s_edge = s[0] * np.exp(-w[0])
    tail = -a * 2.0 ** p * s_edge ** a * Ubar_t[:, 0, :]  # (R, l0max)
    return B + tail[:, None, :]


# ---------------------------------------------------------------------------------------------- inversion
def _flatten(y, B):
    R = y.shape[0]
    return y.reshape(R, -1), B.reshape(R, y[0].size, -1)


def _solve(yb, Bb, sigma, lb, penalty=0.0):
    from scipy.optimize import lsq_linear

    A = -Bb / sigma[:, None]
    b = yb / sigma
    J = A.shape[1]
    if penalty > 0 and J >= 3:
        D = np.diff(np.eye(J), 2, axis=0)  # second differences of the coefficients (a P-spline penalty)
        lam = penalty * float(np.trace(A.T @ A)) / J
        A = np.vstack([A, np.sqrt(lam) * D])
        b = np.concatenate([b, np.zeros(D.shape[0])])
    res = lsq_linear(A, b, bounds=(lb, np.full(lb.size, np.inf)), method="bvls", lsmr_tol="auto")
    return res.x


def invert(y, B, lower_bounds, *, n_boot: int = 200, seed: int = 0, penalty="auto", sigma=None) -> dict:
    """Weighted bounded least squares of y = -B c over the realizations' means, with bootstrap errors.

    ``y`` (R, ...) and ``B`` (R, ..., J) from :func:`rate_system`; ``lower_bounds`` (J,) (:meth:`SplineRate.lower_bounds`).
    The weights are the standard errors of the equations' residuals y_r + B_r c over the realizations at a first fit
    (errors in both y and B: the residual carries both), or ``sigma`` (the shape of y[0]) when given -- so that fits
    of the same equations with other bases share their weights and their chi^2 can be compared.  ``penalty``: weight
    of a second-difference (P-spline) penalty on the coefficients, relative to the mean diagonal of the weighted
    normal matrix; ``"auto"`` takes the largest of 1e-8, 1e-7, ..., 1 whose chi^2 exceeds that of 1e-8 by at most
    sqrt(2 dof) (one standard deviation of chi^2: the smoothest rate the data cannot tell from the best one).  The
    penalty only decides where the data do not -- at scales where u does not change -- so ``cov`` (the linearised
    covariance of the coefficients without the penalty) says where the rate is measured.

    Returns ``coef`` (J,), ``boot`` (n_boot, J) (realizations resampled with replacement, same weights and penalty),
    ``cov`` (J, J) (without the penalty; a tiny ridge keeps it finite where the data say nothing), ``penalty``,
    ``chi2``, ``dof`` (equations minus the coefficients not at a bound), ``chi2_dof``, ``chi2_dof_null_sd`` (sd of
    chi^2/dof for correlated Gaussian residuals with the realizations' correlations), ``z`` (residual / sigma per
    equation, the shape of y[0]), ``sigma``, ``R``.  ValueError for fewer than :data:`MIN_REALIZATIONS` realizations or
    non-finite input.
    """
    y = check.finite("y", y)
    B = check.finite("B", B)
    R = y.shape[0] if y.ndim else 0
    if R < MIN_REALIZATIONS:
        raise ValueError(f"realizations={R}: the inversion needs at least {MIN_REALIZATIONS} realizations "
                         "(standard errors and bootstrap)")
    if B.shape[:-1] != y.shape:
        raise ValueError(f"B=array of shape {B.shape}: expected {y.shape} + (n_basis,)")
    lb = np.asarray(lower_bounds, float)
    if lb.shape != (B.shape[-1],):
        raise ValueError(f"lower_bounds={check.show(lower_bounds)}: expected {B.shape[-1]} bounds")
    n_boot = check.integer("n_boot", n_boot, 0, 100_000)
    if not (isinstance(penalty, str) and penalty == "auto"):
        penalty = check.in_range("penalty", penalty, 0.0, 1e6, single=True)
    yr, Br = _flatten(y, B)
    ym, Bm = yr.mean(axis=0), Br.mean(axis=0)
    floor = 1e-12 * max(float(np.max(np.abs(ym))), float(np.max(np.abs(Bm))), 1e-300)

    def sigma_at(c):  # standard error of each equation's residual over the realizations
        return np.maximum((yr + Br @ c).std(axis=0, ddof=1) / np.sqrt(R), floor)

    def fit(sig):
        if penalty != "auto":
            return penalty, _solve(ym, Bm, sig, lb, penalty)
        grid = [10.0 ** k for k in range(-8, 1)]
        fits = [_solve(ym, Bm, sig, lb, pen) for pen in grid]
        chis = [float(np.sum(((ym + Bm @ c) / sig) ** 2)) for c in fits]
        allowed = chis[0] + np.sqrt(2.0 * max(1, ym.size - lb.size))
        k = max(i for i, c in enumerate(chis) if c <= allowed)
        return grid[k], fits[k]

    if sigma is not None:
        sigma = check.positive("sigma", sigma).ravel()
        if sigma.size != ym.size:
            raise ValueError(f"sigma=array of shape {np.shape(sigma)}: expected {y.shape[1:]}")
        penalty, coef = fit(sigma)
    else:
        # the weights from a smooth first fit (a rough one would amplify the noise of B into sigma), then once more
        sigma = sigma_at(_solve(ym, Bm, np.ones(ym.size), lb, 1e-2))
        _, coef = fit(sigma)
        sigma = sigma_at(coef)
        penalty, coef = fit(sigma)
    resid = (ym + Bm @ coef) / sigma
    at_bound = np.isclose(coef, lb) & np.isfinite(lb)
    dof = max(1, ym.size - int(np.sum(~at_bound)))
    chi2 = float(np.sum(resid ** 2))
    d = yr + Br @ coef
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.nan_to_num(np.corrcoef(d, rowvar=False))
    null_sd = float(np.sqrt(2.0 * np.sum(rho ** 2)) / dof)
    A = Bm / sigma[:, None]
    N = A.T @ A
    cov = np.linalg.inv(N + 1e-12 * np.trace(N) / N.shape[0] * np.eye(N.shape[0]))
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, coef.size))
    for b in range(n_boot):
        idx = rng.integers(0, R, R)
        boot[b] = _solve(yr[idx].mean(axis=0), Br[idx].mean(axis=0), sigma, lb, penalty)
    return dict(coef=coef, boot=boot, cov=cov, penalty=penalty, chi2=chi2, dof=dof, chi2_dof=chi2 / dof,
                chi2_dof_null_sd=null_sd, z=resid.reshape(y.shape[1:]), sigma=sigma.reshape(y.shape[1:]), R=R)


def fit_power_law(U, s, w, times, lmax: int, sigma, *, constant: bool = False, p_grid=None, n_boot: int = 200,
                  seed: int = 0) -> dict:
    """nu_r = nu_0 (1 - x)^p (+ nu_1 with ``constant``: then nu_r(1) = nu_1) fitted to the window's equations
    (:func:`power_law_system`) with the equations' standard errors ``sigma`` (shape (lmax+1, l0max), e.g. from
    :func:`invert`): the linear coefficients by least squares at each p (nu_0 >= 0; nu_1 either sign), p by the smallest
    chi^2 (grid, then bounded refinement); bootstrap over the realizations for the errors.  Returns ``p``, ``nu0``,
    ``nu1`` (0 without ``constant``), ``chi2``, ``dof``, ``chi2_dof``, the bootstrap samples ``p_boot``, ``nu0_boot``,
    ``nu1_boot`` and their standard deviations ``p_err``, ``nu0_err``, ``nu1_err``, and ``chi2_profile`` on ``p_grid``."""
    from scipy.optimize import lsq_linear, minimize_scalar

    U = _check_U(U, s, w, times)
    R = U.shape[0]
    if R < MIN_REALIZATIONS:
        raise ValueError(f"realizations={R}: the fit needs at least {MIN_REALIZATIONS} realizations")
    lmax = check.integer("lmax", lmax, 0, 1000)
    sig = check.positive("sigma", sigma).ravel()
    if sig.size != (lmax + 1) * U.shape[-1]:
        raise ValueError(f"sigma=array of shape {np.shape(sigma)}: expected ({lmax + 1}, {U.shape[-1]})")
    grid = np.linspace(0.05, 1.5, 59) if p_grid is None else check.in_range("p_grid", p_grid, 0.0, 2.0, closed=False)
    n_boot = check.integer("n_boot", n_boot, 0, 100_000)
    s = np.asarray(s, float)
    ls = np.arange(lmax + 1)
    x = 1.0 - 2.0 * s ** 2
    Pw = eval_legendre(ls[:, None], x[None, :]) * (4.0 * s ** 2 * w)[None, :]
    yr = np.einsum("lq,rqk->rlk", Pw, U[:, -1] - U[:, 0]).reshape(R, -1)
    Ubar_t = np.einsum("t,rtqk->rqk", simpson_weights(times), U)
    # the constant rate: I_l[1] = 4 s^2 l (l + 1) P_l
    Bc = np.einsum("lq,rqk->rlk", Pw * (ls * (ls + 1))[:, None], Ubar_t).reshape(R, -1)
    cache = {}

    def Bp(p):
        key = round(float(p), 12)
        if key not in cache:
            cache[key] = power_law_system(U, s, w, times, p, lmax).reshape(R, -1)
        return cache[key]

    def solve(idx, p):
        ym = yr[idx].mean(axis=0) / sig
        cols = [-Bp(p)[idx].mean(axis=0) / sig] + ([-Bc[idx].mean(axis=0) / sig] if constant else [])
        A = np.stack(cols, axis=1)
        lo = [0.0] + ([-np.inf] if constant else [])
        res = lsq_linear(A, ym, bounds=(lo, [np.inf] * len(lo)), method="bvls")
        c = res.x
        return float(np.sum((ym - A @ c) ** 2)), float(c[0]), float(c[1]) if constant else 0.0

    def best(idx):
        c = [solve(idx, p)[0] for p in grid]
        i = int(np.argmin(c))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        r = minimize_scalar(lambda p: solve(idx, p)[0], bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
        p = float(r.x)
        return (p,) + solve(idx, p)[1:] + (solve(idx, p)[0],)

    full = np.arange(R)
    p, nu0, nu1, c2 = best(full)
    rng = np.random.default_rng(seed)
    boot = np.array([best(rng.integers(0, R, R))[:3] for _ in range(n_boot)]).reshape(n_boot, 3)
    dof = max(1, yr.shape[1] - (3 if constant else 2))
    err = boot.std(axis=0, ddof=1) if n_boot > 1 else np.full(3, np.nan)
    return dict(p=p, nu0=nu0, nu1=nu1, chi2=c2, dof=dof, chi2_dof=c2 / dof, p_boot=boot[:, 0], nu0_boot=boot[:, 1],
                nu1_boot=boot[:, 2], p_err=float(err[0]), nu0_err=float(err[1]), nu1_err=float(err[2]),
                chi2_profile=np.array([solve(full, q)[0] for q in grid]), p_grid=grid)


# ---------------------------------------------------------------------------------------------- tables, the model
def rate_from_table(x, values, *, tail_exponent: float = 0.5):
    """A callable nu_r(x) from a table: linear interpolation in ln s (s = sqrt((1 - x)/2)) between the points, the
    power law (1 - x)^tail_exponent below the smallest angle (continuous there), constant beyond the largest; for
    :func:`numerics.relative_diffusion.solve`.  ``x`` strictly inside [-1, 1) and increasing angles not required
    (sorted here); ``values`` finite and > 0; ``tail_exponent`` in (0, 1)."""
    x = check.finite("x", x)
    v = check.finite("values", values)
    if x.ndim != 1 or x.size < 2 or v.shape != x.shape:
        raise ValueError(f"x={check.show(x)}, values={check.show(values)}: expected two 1-d arrays of the same length >= 2")
    if np.any(x < -1.0) or np.any(x >= 1.0):
        raise ValueError(f"x={check.show(x)}: cosines must lie in [-1, 1) (allowed range [-1, 1))")
    if np.any(v <= 0):
        raise ValueError(f"values={check.show(values)}: a scattering rate must be > 0 (found {check.show(v[v <= 0])})")
    q = check.in_range("tail_exponent", tail_exponent, 0.0, 1.0, closed=False, single=True)
    order = np.argsort(-x)  # increasing s
    ys = 0.5 * np.log((1.0 - x[order]) / 2.0)
    lv = np.log(v[order])

    def nu(xx):
        xx = np.asarray(xx, float)
        s2 = np.clip((1.0 - xx) / 2.0, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            yy = 0.5 * np.log(s2)
        out = np.exp(np.interp(yy, ys, lv))
        below = yy < ys[0]
        out = np.where(below, np.exp(lv[0] + 2.0 * q * (yy - ys[0])), out)
        return np.where(s2 == 0.0, 0.0, out)

    return nu


def model_pair_correlation(p: float, nu0: float, l0max: int, times, s, *, kmax: int = 600) -> np.ndarray:
    """u_l0(x(s), t) of the model itself, dF/dt = -nu_r L^2 F with nu_r = nu0 (1 - x)^p, from u(x, 0) = P_l0(x):
    the Galerkin solution C(t) = exp(-W t) e_l0 truncated at ``kmax`` (exact matrix elements by Gauss-Jacobi;
    W = D^-1/2 (D^1/2 S D^1/2) D^1/2 with S symmetric positive, so the exponential comes from one symmetric
    eigendecomposition).  Returns (len(times), len(s), l0max).  Rows l <= L << kmax of the truncated dynamics obey the
    weak form exactly, so this is the test case of the inversion with a known answer."""
    from scipy.special import roots_jacobi

    p = check.in_range("p", p, 0.0, 1.0, closed=False, single=True)
    nu0 = check.positive("nu0", nu0, single=True)
    l0max = check.integer("l0max", l0max, 1, 100)
    kmax = check.integer("kmax", kmax, l0max + 1, 4000)
    t = np.atleast_1d(check.in_range("times", times, 0.0, 1e12))
    s = np.atleast_1d(check.in_range("s", s, 0.0, 1.0))
    xg, wg = roots_jacobi(kmax + 2, p, 0.0)
    ks = np.arange(kmax + 1)
    P = eval_legendre(ks[:, None], xg[None, :])
    S = (P * wg) @ P.T * nu0  # int nu_r P_l P_k dx, exact (degree <= 2 kmax)
    d = ks * (ks + 1) * (2 * ks + 1) / 2.0  # W_lk = S_lk d_k; column k = 0 vanishes
    sq = np.sqrt(d[1:])
    lam, V = np.linalg.eigh(sq[:, None] * S[1:, 1:] * sq[None, :])  # the k >= 1 block, symmetric positive
    x = 1.0 - 2.0 * np.asarray(s, float) ** 2
    Px = eval_legendre(ks[:, None], x[None, :])  # (K+1, Q)
    out = np.empty((t.size, x.size, l0max))
    for i, tt in enumerate(t):
        decay = np.exp(-lam * tt)
        with np.errstate(divide="ignore", invalid="ignore"):
            integral = np.where(lam * tt > 1e-12, -np.expm1(-lam * tt) / np.where(lam > 0, lam, 1.0), tt)
        for l0 in range(1, l0max + 1):
            v = V[l0 - 1] * sq[l0 - 1]  # V^T D^1/2 e_l0
            c = np.empty(kmax + 1)
            c[1:] = (V @ (decay * v)) / sq  # C_b(t) = D^-1/2 V e^-Lt V^T D^1/2 e_l0
            cint = (V @ (integral * v)) / sq  # int_0^t C_b dt
            c[0] = -(S[0, 1:] * d[1:]) @ cint  # dC_0/dt = -sum_k W_0k C_k, C_0(0) = 0
            out[i, :, l0 - 1] = ((2 * ks + 1) / (2 * l0 + 1) * c) @ Px
    return out


def stationary_spectrum(nu_r_of_s, lmax: int, *, s_lo: float = 1e-12, tail_exponent: float = 0.5) -> np.ndarray:
    """<C_l>/Q_1, l = 1..lmax, of the stationary rows of 002 eq. (14) for a measured (tabulated, not smooth) rate.

    The same solution as :func:`numerics.relative_diffusion.solve` (derivation ``relative_diffusion.stationary_solution``:
    C_l = 3 Q_1/(2 l (l+1)) int (x - mu) P_l / nu_r dx, mu = int x/nu_r / int 1/nu_r), but integrated in y = ln s on
    the dense pair rule (:func:`pair_nodes`: 48 panels of 8 nodes from ``s_lo``, 8 outer panels of 16), so that a rate
    with kinks, or one that is a table, is handled (``solve`` needs a smooth rate and checks it); below ``s_lo`` nu_r
    is continued as the power law (1 - x)^tail_exponent (its part of the integrals in closed form).  ``nu_r_of_s``: the
    rate as a callable of the half-angle sine s = sqrt((1 - x)/2) (x itself rounds to 1 below s ~ 1e-8), > 0 and finite
    on the nodes (ValueError otherwise).  For nu_r = (1 - x)^p it agrees with
    :func:`numerics.relative_diffusion.cl` to ~1e-6 (tested)."""
    lmax = check.integer("lmax", lmax, 1, 200)
    q = check.in_range("tail_exponent", tail_exponent, 0.0, 1.0, closed=False, single=True)
    s_lo = check.in_range("s_lo", s_lo, 1e-14, 1e-3, single=True)
    s, w = pair_nodes(s_lo, 48, 8, n_outer=8, per_outer=16)
    x = 1.0 - 2.0 * s ** 2
    v = np.asarray(nu_r_of_s(s), float)
    if v.shape != x.shape or not np.all(np.isfinite(v)) or np.any(v <= 0):
        bad = s[~(np.isfinite(v) & (v > 0))] if v.shape == x.shape else s
        raise ValueError(f"nu_r must be finite and > 0 on (-1, 1): it is not at s = {check.show(bad[:3])} (a measured "
                         "rate that vanishes at some angle has no stationary spectrum)")
    dx = 4.0 * s ** 2 * w
    # below s_lo (x -> 1, P_l -> 1): int_0^s_lo 4 s ds / nu in closed form
    tail = 4.0 * s[0] ** (2 * q) * s_lo ** (2 - 2 * q) / (v[0] * (2.0 - 2.0 * q))  # nu = v0 (s/s0)^(2q) below s_lo
    inv0 = np.sum(dx / v) + tail
    inv1 = np.sum(dx * x / v) + tail
    mu = inv1 / inv0
    ls = np.arange(1, lmax + 1)
    P = eval_legendre(ls[:, None], x[None, :])
    return 1.5 / (ls * (ls + 1)) * ((P * ((x - mu) * dx / v)[None, :]).sum(axis=1) + (1.0 - mu) * tail)
