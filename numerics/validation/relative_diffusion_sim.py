"""Relative diffusion in the backtracked 002 ensemble (002 Sec. 3, Figs. 1-2; eqs. (3), (6), (7), (16)).

For each gradient direction (along and across B0) the gradient ansatz of 002 eq. (4) gives the ensemble
spectrum <C_l>(T):

* the **C_1 ratio**: <C_1> over the standard-diffusion dipole from <r><r> (002 Sec. 3; review eq. (68)),
  with the finite-ensemble bias of the mean map removed, and its jackknife error.  002 says the ensemble
  dipole is the larger one (by about an order of magnitude across B0);
* the **shape** C-hat_l / C-hat_1 at the last time (002 Fig. 2: Omega T = 100), C-hat = <C_l> minus the
  noise floor (numerics.backtracking.skymaps: eq. (9) counts the resolved power as noise too), against the stationary
  spectrum of the generalised BGK model for nu_r ∝ (1 - x)^p (the corrected 002 eq. (16),
  ``relative_diffusion.cl``) with p fitted (least squares over the l whose C-hat exceeds 3 standard errors;
  error from Delta chi^2 = 1, inflated by sqrt(chi^2/dof) when that exceeds 1);
* the **sum rule** (6) and the **monopole** (7): with K^s = <r r>/2T and K~^s of eq. (8) measured on the same
  trajectories they are identities (Parseval) and hold to the quadrature of the maps; against the TGK
  tensor (the asymptotic K^s) they measure how far the ensemble is from the diffusive limit.

The verdict tests what the paper claims: <C_1> exceeds the standard-diffusion C_1 for both gradients (by
more than ``K_SIGMA`` jackknife errors of the difference), and (6) and (7) hold as identities to 1 %.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from numerics import relative_diffusion
from numerics.validation.base import Comparison, Spec, integer_ticks, jackknife, save_figure

__all__ = ["relative_diffusion_comparison", "fit_p", "K_SIGMA"]

K_SIGMA = 2.0
IDENTITY_TOLERANCE = 0.01


def fit_p(ell, ratio, err):
    """Least-squares p of C_l/C_1 = cl(l, p)/cl(1, p) (stationary 002 eq. (16)); returns (p, p_err, chi2, dof)."""
    ell, ratio, err = map(np.asarray, (ell, ratio, err))

    def model(p):
        return relative_diffusion.cl(ell, p) / relative_diffusion.cl(1, p)

    def chi2(p):
        return float(np.sum(((ratio - model(p)) / err) ** 2))

    grid = np.linspace(0.02, 0.98, 97)
    p0 = grid[int(np.argmin([chi2(p) for p in grid]))]
    res = minimize_scalar(chi2, bounds=(max(0.01, p0 - 0.02), min(0.99, p0 + 0.02)), method="bounded")
    p, c2 = float(res.x), float(res.fun)
    dof = max(1, ell.size - 1)
    # Delta chi^2 = 1 from the curvature
    h = 1e-3
    curv = (chi2(min(p + h, 0.995)) - 2 * c2 + chi2(max(p - h, 0.005))) / h ** 2
    p_err = float(np.sqrt(2.0 / curv)) if curv > 0 else np.nan
    p_err *= max(1.0, np.sqrt(c2 / dof))
    return p, p_err, c2, dof


def relative_diffusion_comparison(ens, figdir=None, k_sigma: float = K_SIGMA) -> Comparison:
    """The C_1 ratios, the fitted p, and eqs. (6)-(7) on a stored 002-like ensemble (numerics.backtracking.storage.Ensemble)."""
    from numerics.backtracking import simreport

    K_fick = simreport.fick_tensor(ens)
    d = ens.diffusion()
    T = ens.times
    k = T.size - 1
    omega_t = T * ens.config.omega_ref
    maps_all = ens.maps()  # (R, K, 6, Npix)
    R = maps_all.shape[0]
    measured, expected, per = {}, {}, {}
    ratios_ok, identities = [], []
    from numerics.backtracking import skymaps

    for g_raw in ens.config.gradients:
        g = np.asarray(g_raw, float) / np.linalg.norm(g_raw)
        label = simreport.gradient_label(g, ens.config.regular)
        c = skymaps.gradient_coefficients(g, K_fick)

        def stats(mask, c=c):
            sp = skymaps.ensemble_spectrum(ens.cross_cl[mask], ens.moments[mask], maps_all[mask], c, nside=ens.nside)
            std = sp.standard_unbiased if mask.sum() > 1 else sp.standard
            return np.concatenate([sp.mean[k, 1:2] / std[k, 1:2], sp.mean[k, 1:2], std[k, 1:2],
                                   sp.mean[k, 1:2] - std[k, 1:2]])

        (ratio, c1, c1_std, excess_c1), (ratio_err, c1_err, c1_std_err, excess_err) = (
            tuple(x) for x in jackknife(stats, R))
        sp = ens.spectrum(gradient=g, K=K_fick)
        hat = sp.mean[k] - sp.noise_floor[k]
        sig = np.abs(hat) > 3 * sp.sem[k]
        ell = sp.ell
        use = (ell >= 2) & sig & (hat > 0)
        shape, shape_err = hat / hat[1], sp.sem[k] / abs(hat[1])
        if use.sum() >= 2 and hat[1] > 0:
            p, p_err, chi2, dof = fit_p(ell[use], shape[use], shape_err[use])
        else:
            p = p_err = chi2 = np.nan
            dof = 0
        # (6) and (7) with the Fick term off (the large-T forms)
        sp_r = ens.spectrum(gradient=g, K=None, standard=False)
        lhs6 = sp_r.total_power.mean(axis=0) / (4 * np.pi)
        rhs6_identity = 2 * T * np.einsum("i,kij,j->k", g, d.symmetric, g)
        tgk_sym = 0.5 * (d.tgk + np.swapaxes(d.tgk, 1, 2))
        rhs6_asymptotic = 2 * T * np.einsum("i,kij,j->k", g, tgk_sym, g)
        lhs7 = sp_r.mean[:, 0] / (4 * np.pi)
        rhs7_identity = 2 * T * np.einsum("i,kij,j->k", g, d.symmetric - d.relative, g)
        dev6 = float(np.max(np.abs(lhs6 / rhs6_identity - 1)))
        dev7 = float(np.max(np.abs(lhs7 / rhs7_identity - 1)))
        identities += [dev6, dev7]
        # the claim <C_1> > C_1(standard) is tested on the difference: its jackknife error is well behaved where the
        # ratio's is not (across B0 the standard dipole 3|K.g| is small and noisy, so the ratio's error is skewed)
        ratios_ok.append(excess_c1 / excess_err if np.isfinite(excess_err) and excess_err > 0 else np.nan)
        per[label] = dict(sp=sp, hat=hat, shape=shape, shape_err=shape_err, use=use, p=p)
        measured[label] = {
            "omega_t": float(omega_t[k]), "C1": c1, "C1_err": c1_err, "C1_standard": c1_std, "C1_standard_err": c1_std_err,
            "c1_ratio": ratio, "c1_ratio_err": ratio_err, "C1_excess": excess_c1, "C1_excess_err": excess_err,
            "C1_excess_sigma": ratios_ok[-1],
            "p": p, "p_err": p_err, "chi2": chi2, "dof": dof, "fit_ells": ell[use],
            "shape": shape, "shape_err": shape_err, "noise_floor": float(sp.noise_floor[k]), "noise_eq9": float(sp.noise[k]),
            "sum_rule_6": {"lhs": lhs6, "rhs_identity": rhs6_identity, "rhs_tgk": rhs6_asymptotic, "max_rel_dev_identity": dev6,
                           "rel_dev_tgk_last": float(lhs6[k] / rhs6_asymptotic[k] - 1)},
            "monopole_7": {"lhs": lhs7, "rhs_identity": rhs7_identity, "max_rel_dev_identity": dev7},
        }
        expected[label] = {"c1_ratio": "> 1 (002 Sec. 3)", "shape_fit": "stationary 002 eq. (16), p fitted"}
    labels = list(measured)
    par = next((lab for lab in labels if "∥" in lab), labels[0])
    perp = next((lab for lab in labels if "⊥" in lab), labels[-1])
    measured["c1_ratio_parallel"] = measured[par]["c1_ratio"]
    measured["c1_ratio_perpendicular"] = measured[perp]["c1_ratio"]
    measured["c1_ratio_parallel_err"] = measured[par]["c1_ratio_err"]
    measured["c1_ratio_perpendicular_err"] = measured[perp]["c1_ratio_err"]
    measured["p"] = measured[par]["p"]
    measured["p_err"] = measured[par]["p_err"]
    measured["p_perpendicular"] = measured[perp]["p"]
    measured["p_perpendicular_err"] = measured[perp]["p_err"]
    excess = np.array(ratios_ok, float)
    # error: the smaller excess <C_1> - C_1(standard) in units of its error, mapped so that pass <=> error <= 1
    worst_ratio = float(np.nanmin(excess)) if np.any(np.isfinite(excess)) else np.nan
    worst_identity = max(identities)
    error = max(k_sigma / worst_ratio if worst_ratio > 0 else np.inf, worst_identity / IDENTITY_TOLERANCE)
    figs = _figure(per, ens, figdir) if figdir is not None else []
    return Comparison(
        name="relative_diffusion",
        title="Relative diffusion: ensemble vs standard-diffusion dipole, the spectrum's shape against 002 eq. (16), eqs. (6)-(7)",
        measured=measured, expected=expected, error=float(error), tolerance=1.0,
        method=(f"{R} realizations of '{ens.config.name}' at Omega T = {omega_t[k]:.3g}; gradient ansatz with the measured "
                "TGK tensor in the Fick term; C_1 ratio against the bias-corrected mean-map spectrum, jackknife errors; "
                f"error = max(k/z_min, dev/{IDENTITY_TOLERANCE:g}) with z_min the smaller excess (<C_1> - C_1 std)/err of the two "
                f"gradients (k = {k_sigma:g}) and dev the largest relative deviation of the identities (6), (7); pass if <= 1. "
                "p from a least-squares fit of C-hat_l/C-hat_1 (noise floor removed) over the l with C-hat > 3 sem."),
        figures=figs,
        notes="(6) and (7) against the TGK tensor are reported (rel_dev_tgk_last), not tested: the ensemble is not yet diffusive.",
    )


def _figure(per, ens, figdir):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for j, (label, d) in enumerate(per.items()):
        ell = d["sp"].ell
        pos = (ell >= 1) & (d["shape"] > 0)
        ax.errorbar(ell[pos], d["shape"][pos], yerr=d["shape_err"][pos], fmt="o", ms=3, color=f"C{j}",
                    label=rf"{label}: $\hat C_\ell/\hat C_1$")
        if np.isfinite(d["p"]):
            fine = np.arange(1, ell[-1] + 1)
            ax.plot(fine, relative_diffusion.cl(fine, d["p"]) / relative_diffusion.cl(1, d["p"]), color=f"C{j}", lw=1,
                    label=f"stationary solution of 002 (14) (corrected (16)), p = {d['p']:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    integer_ticks(ax)
    ax.set_xlabel(r"$\ell$")
    ax.set_ylabel(r"$\hat C_\ell/\hat C_1$")
    ax.set_title(rf"{ens.realizations} realizations, $\Omega T$ = {ens.times[-1] * ens.config.omega_ref:.3g}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    figs = save_figure(fig, figdir, "relative_diffusion")
    plt.close(fig)
    return figs


def _run(ensembles, figdir, scale, progress):
    return relative_diffusion_comparison(ensembles["002"], figdir)


SPEC = Spec("relative_diffusion", _run, ensembles=("002",), headline=(
    "p", "p_err", "c1_ratio_parallel", "c1_ratio_parallel_err", "c1_ratio_perpendicular", "c1_ratio_perpendicular_err",
    "p_perpendicular", "p_perpendicular_err"))
