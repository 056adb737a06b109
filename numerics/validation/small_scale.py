"""The small-scale theorem with backtracked homogeneous dipoles (review Sec. 4.4; slides "Evolution Model").

Start from a spatially homogeneous sky f = 1 + Phi.p (the thought experiment of review Sec. 4.4) and
observe it a time T later through a static, statistically homogeneous turbulent field.  By Liouville,
f(T, r, p) = f(0, p(-T)); the phase-space flow preserves volume, so the spatial mean of
int dp f^2 is constant, and in a statistically homogeneous ensemble the mean at one point equals the
spatial mean.  Hence

.. math:: \\sum_{\\ell} (2\\ell+1)\\langle C_\\ell\\rangle(T) = 4\\pi\\langle\\overline{\\delta I^2}\\rangle
          = \\frac{4\\pi}{3}|\\Phi|^2 \\quad\\text{for every } T,

while the dipole decays and the power moves to higher l.  The sum is computed from the pixel
variance (``EnsembleSpectrum.total_power``), so power above the map's l_max counts.  The hierarchical
model of the relative-diffusion issue (``numerics.hierarchy``) describes the same cascade with rates
nu l(l+1) but does not conserve the sum: it leaks power to l = oo, sum -> 3 C_1 [1 - prod(1 -
e^{-2 n nu T})^3].  We fit its nu to the simulated dipole decay and compare its spectrum and its sum.
"""
from __future__ import annotations

import numpy as np

from numerics import hierarchy
from numerics.validation.base import Comparison, Spec, integer_ticks, mean_sem, save_figure

__all__ = ["small_scale_theorem", "K_SIGMA"]

#: tolerance of the drift, in standard errors: the largest of K correlated times (Bonferroni-like at 4 sigma)
K_SIGMA = 4.0


def _quadrature_error(dirs) -> float:
    """max over 400 seeded random unit vectors u of |4 pi mean_pixels (n.u)^2 - 4 pi/3|."""
    u = np.random.default_rng(400).normal(size=(400, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return float(np.max(np.abs(4 * np.pi * np.mean((dirs @ u.T) ** 2, axis=0) - 4 * np.pi / 3)))


def _fit_nu(times, c1, c1_err, c1_0):
    """Least-squares nu of C_1(T) = C_1(0) exp(-2 nu T) over the times where the dipole has decayed to
    between 90 % and 5 % of its start (the ballistic start and the noise floor excluded)."""
    from scipy.optimize import minimize_scalar

    ratio = c1 / c1_0
    use = (ratio < 0.9) & (ratio > 0.05) & np.isfinite(c1_err) & (c1_err > 0)
    if use.sum() < 2:
        return np.nan, use

    def chi2(log_nu):
        model = c1_0 * np.exp(-2 * np.exp(log_nu) * times[use])
        return float(np.sum(((c1[use] - model) / c1_err[use]) ** 2))

    guess = np.log(np.median(-np.log(ratio[use]) / (2 * times[use])))
    res = minimize_scalar(chi2, bracket=(guess - 1, guess + 1))
    return float(np.exp(res.x)), use


def small_scale_theorem(ens, figdir=None, dipoles=None, k_sigma: float = K_SIGMA) -> Comparison:
    """Test the theorem on a stored ensemble (numerics.backtracking.storage.Ensemble) for homogeneous dipoles ``dipoles``
    (unit vectors; default: along and across the regular field, or z and x)."""
    reg = np.asarray(ens.config.regular, dtype=float)
    if dipoles is None:
        b = reg / np.linalg.norm(reg) if np.linalg.norm(reg) > 0 else np.array([0.0, 0.0, 1.0])
        a = np.cross(b, [1.0, 0.0, 0.0] if abs(b[0]) < 0.9 else [0.0, 1.0, 0.0])
        dipoles = {"dipole ∥ B0" if np.linalg.norm(reg) > 0 else "dipole z": b,
                   "dipole ⊥ B0" if np.linalg.norm(reg) > 0 else "dipole x": a / np.linalg.norm(a)}
    times = ens.times
    omega_t = times * ens.config.omega_ref
    exact = 4 * np.pi / 3
    dirs = ens.directions
    measured, expected, per = {}, {}, {}
    worst = 0.0
    for label, phi in dipoles.items():
        phi = np.asarray(phi, dtype=float) / np.linalg.norm(phi)
        sp = ens.spectrum(dipole=phi, standard=False)
        total = sp.total_power  # (R, K)
        mean, sem = mean_sem(total)
        # the pixel-centre quadrature error of int dp (p.Phi')^2 over 400 directions Phi': the ensemble-mean map is a
        # smooth function of direction, so this bounds its quadrature error at every T
        quad = _quadrature_error(dirs)
        sigma = np.sqrt(sem ** 2 + quad ** 2)
        drift = (mean - exact) / sigma
        worst = max(worst, float(np.max(np.abs(drift))))
        c1, c1_err = sp.mean[:, 1], sp.sem[:, 1]
        c1_0 = 4 * np.pi / 9  # C_1 of p.Phi with |Phi| = 1
        nu, used = _fit_nu(times, c1, c1_err, c1_0)
        lmax_h = min(sp.mean.shape[1] - 1, hierarchy.LMAX)
        # the shape: noise-floor-subtracted C-hat_l / C-hat_1 at the latest time whose C-hat_1 is still > 5 sem
        # (later, the structure is below the pixel scale and the resolved spectrum is the flat shot noise)
        hat = sp.mean - sp.noise_floor[:, None]
        significant = np.flatnonzero(hat[:, 1] > 5 * np.where(np.isfinite(sp.sem[:, 1]), sp.sem[:, 1], np.inf))
        k_late = int(significant[-1]) if significant.size else None
        model_sum = model_cl = late_shape_sim = late_shape_err = late_shape_model = None
        if np.isfinite(nu):
            model_sum = hierarchy.total_power(times, nu, c1_0)
            model_cl = hierarchy.spectrum(lmax_h, times, nu, c1_0)
            if k_late is not None:
                late_shape_sim = hat[k_late, 1:lmax_h + 1] / hat[k_late, 1]
                late_shape_err = sp.sem[k_late, 1:lmax_h + 1] / hat[k_late, 1]
                late_shape_model = model_cl[k_late] / model_cl[k_late, 0]
        resolved = np.einsum("l,kl->k", 2 * sp.ell + 1.0, sp.mean)
        per[label] = dict(phi=phi, mean=mean, sem=sem, quad=quad, drift=drift, c1=c1, c1_err=c1_err, nu=nu, used=used,
                          model_sum=model_sum, model_cl=model_cl, sp=sp, resolved=resolved, late_sim=late_shape_sim,
                          late_err=late_shape_err, late_model=late_shape_model, k_late=k_late)
        measured[label] = {
            "omega_t": omega_t, "total_power": mean, "total_power_sem": sem, "quadrature_error": quad,
            "drift_sigma": drift, "max_abs_drift_sigma": float(np.max(np.abs(drift))),
            "relative_drift_last": float(mean[-1] / exact - 1), "C1": c1, "C1_sem": c1_err,
            "resolved_power": resolved, "hierarchy_nu_fit": nu, "hierarchy_nu_fit_times": omega_t[used],
            "shape_omega_t": None if k_late is None else float(omega_t[k_late]),
            "shape_hat_over_hat1": late_shape_sim, "shape_err": late_shape_err,
            "hierarchy_total_power_last_over_exact": None if model_sum is None else float(model_sum[-1] / exact),
        }
        expected[label] = {"total_power": exact, "hierarchy_total_power": model_sum, "hierarchy_shape": late_shape_model,
                           "hierarchy_asymptotic_shape": hierarchy.ratio(np.arange(1, lmax_h + 1))}
    signed = max((per[k]["drift"] for k in per), key=lambda d: float(np.max(np.abs(d))))
    measured["drift_sigma"] = float(signed[np.argmax(np.abs(signed))])
    figs = []
    if figdir is not None:
        figs = _figure(per, omega_t, exact, ens, figdir)
    return Comparison(
        name="small_scale_theorem",
        title="Small-scale theorem: sum (2l+1) <C_l> of a backtracked homogeneous dipole is conserved",
        measured=measured, expected=expected, error=worst, tolerance=k_sigma,
        method=(f"{ens.realizations} field realizations of '{ens.config.name}' (nside {ens.nside}); the sum from the pixel "
                "variance (Parseval, all l); sigma = sqrt(sem^2 + q^2) with sem the standard error over realizations and q "
                "the pixel-quadrature error of int (p.Phi)^2 at T = 0; error = the largest |<sum> - 4 pi/3| / sigma over "
                f"the {times.size} recorded times and the dipole directions, tolerance {k_sigma:g} sigma (the times are "
                "correlated: one ensemble). The hierarchical model's nu is a least-squares fit of C_1(T) = C_1(0) exp(-2 nu T) "
                "where 0.05 < C_1/C_1(0) < 0.9."),
        figures=figs,
        notes=("The hierarchical model predicts that the sum decays (power leaks to l = oo); the simulation keeps it. "
               "Its spectrum at the same T is compared with the simulated shape C-hat_l/C-hat_1 (noise floor removed) at "
               "the latest time where C-hat_1 exceeds 5 standard errors; later the structure is below the pixel scale."),
    )


def _figure(per, omega_t, exact, ens, figdir):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for j, (label, d) in enumerate(per.items()):
        col = f"C{j}"
        axes[0].errorbar(omega_t, d["mean"] / exact, yerr=np.sqrt(d["sem"] ** 2 + d["quad"] ** 2) / exact, color=col,
                         fmt="o-", ms=3, label=f"{label}: simulated sum (pixel variance)")
        axes[0].plot(omega_t, d["resolved"] / exact, color=col, ls=":", label=f"{label}: resolved l <= {d['sp'].ell[-1]}")
        if d["model_sum"] is not None:
            axes[0].plot(omega_t, d["model_sum"] / exact, color=col, ls="--", label=f"{label}: hierarchy, nu = {d['nu']:.3g}")
        sp = d["sp"]
        for ell, ls in ((1, "-"), (2, "--"), (4, "-."), (8, ":")):
            if ell < sp.mean.shape[1]:
                axes[1].plot(omega_t, sp.mean[:, ell], color=col, ls=ls)
        if d["late_sim"] is not None:
            ells = np.arange(1, d["late_sim"].size + 1)
            wt = omega_t[d["k_late"]]
            axes[2].errorbar(ells, d["late_sim"], yerr=d["late_err"], fmt="o", color=col, ms=3,
                             label=rf"{label}: simulated $\hat C_\ell/\hat C_1$, $\Omega T$ = {wt:.3g}")
            axes[2].plot(ells, d["late_model"], "-", color=col, lw=1, label=f"hierarchy at the same T (nu = {d['nu']:.3g})")
            if j == 0:
                axes[2].plot(ells, hierarchy.ratio(ells), "k:", lw=1, label="hierarchy T -> oo: 18/((2l+1)(l+1)(l+2))")
    axes[0].axhline(1.0, color="k", lw=0.8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel(r"$\Omega T$")
    axes[0].set_ylabel(r"$\sum(2\ell+1)\langle C_\ell\rangle / (4\pi|\Phi|^2/3)$")
    axes[0].legend(fontsize=6)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(r"$\Omega T$")
    axes[1].set_ylabel(r"$\langle C_\ell\rangle$")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=f"C{j}", label=label) for j, label in enumerate(per)]
    handles += [Line2D([], [], color="k", ls=ls, label=f"l = {ell}") for ell, ls in ((1, "-"), (2, "--"), (4, "-."), (8, ":"))]
    axes[1].legend(handles=handles, fontsize=6)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    integer_ticks(axes[2])
    axes[2].set_xlabel(r"$\ell$")
    axes[2].set_ylabel(r"$\hat C_\ell/\hat C_1$ (noise floor removed)")
    axes[2].legend(fontsize=6)
    fig.suptitle(f"small-scale theorem: {ens.realizations} realizations of {ens.config.name}")
    fig.tight_layout()
    figs = save_figure(fig, figdir, "small_scale_theorem")
    plt.close(fig)
    return figs


def _run(ensembles, figdir, scale, progress):
    return small_scale_theorem(ensembles["002"], figdir)


SPEC = Spec("small_scale_theorem", _run, ensembles=("002",), headline=("drift_sigma",))
