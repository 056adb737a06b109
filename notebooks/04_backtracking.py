# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — Backtracking cosmic rays through plane-wave turbulence
#
# This notebook runs the test-particle side of the workbench — the simulation of 002 Sec. 3 — and shows how its
# parts fit together:
#
# 1. the **turbulence** (`numerics.backtracking.turbulence`): a Giacalone–Jokipii sum of plane waves on a regular field;
# 2. the **integrator** (`numerics.backtracking.boris`): the Boris step, its order, its conservation laws and the step criterion;
# 3. **backtracking one realization**: trajectories from ballistic to diffusive, and the sky maps that Liouville's
#    theorem (review eq. (63)) makes of them — the gradient ansatz of 002 eq. (4) and the homogeneous dipole of the
#    thought experiment of review Sec. 4.4 (`numerics.backtracking.skymaps`);
# 4. an **ensemble** (`numerics.backtracking.simulation`, `.storage`, `.simreport`): the evolution of
#    $\langle C_\ell\rangle$ (002 Fig. 1), the spectrum $\hat C_\ell/\hat C_1$ (002 Fig. 2), the running diffusion tensor and the
#    sum rules 002 eqs. (6), (7), (9);
# 5. **resuming** an ensemble with more realizations;
# 6. the **homogeneous dipole** in the ensemble: power moves to small scales while the total is kept (a preview of
#    the small-scale theorem; the statistical test is not done here).
#
# All numerics live in `numerics`; the notebook only calls, prints and plots.
#
# **Conventions:** $c = 1$, so a time is a length. Lengths and times in units of the coherence length $L_c$; magnetic
# fields as gyrofrequency vectors $\boldsymbol\Omega = q\mathbf B/p$ (units $1/L_c$), so the Larmor radius in the regular
# field is $r_L = 1/\Omega_0$. The 002 set-up has $r_L = 0.1\,L_c$, i.e. $\Omega_0 = 10/L_c$; times are quoted as $\Omega T$
# with $\Omega = \Omega_0$. A sky-map pixel $i$ sits at the HEALPix (RING) centre $\hat{\mathbf n}_{0,i}$, the CR momentum
# at the observer (the arrival direction is $-\hat{\mathbf n}_{0,i}$; the power spectra do not depend on that choice).
#
# **Sources:** *002* = M. Ahlers & P. Mertsch, "Origin of small-scale anisotropies in Galactic cosmic rays",
# ApJL 815 (2015) L2, Sec. 3; *review* = M. Ahlers & P. Mertsch, Prog. Part. Nucl. Phys. 94 (2017) 184, Sec. 4.4
# (eqs. (63)–(71)); J. Giacalone & J. R. Jokipii, ApJ 520 (1999) 204 (the plane-wave model).
#
# Set `ANISO_SMALL=1` for a fast run (fewer directions, shorter trajectories, a tiny ensemble).

# %%
import os
import shutil
import tempfile
import time
from pathlib import Path

import healpy as hp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from numerics.backtracking import boris as bt
from numerics.backtracking import simreport, simulation, skymaps
from numerics.backtracking.turbulence import PlaneWaveField

SMALL = os.environ.get("ANISO_SMALL") == "1"
T_START = time.perf_counter()
np.set_printoptions(precision=5, suppress=False, linewidth=110)

PRESET = simulation.preset("ahlers-mertsch-2015", "quick")
OMEGA0 = PRESET.omega_ref  # |Omega_0| = 10 / L_c: r_L = 0.1 L_c
Z_HAT, X_HAT = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])  # B0 along z

# %% [markdown]
# ## 1. The turbulence (002 Sec. 3)
#
# The field is a regular part along $\hat{\mathbf z}$ plus $N$ plane waves (Giacalone & Jokipii 1999; 002 Sec. 3),
#
# $$\boldsymbol\Omega(\mathbf r) = \Omega_0\hat{\mathbf z} + \sum_{n=1}^N\mathbf a_n\cos(\mathbf k_n\cdot\mathbf r + \beta_n),
#   \qquad \mathbf a_n\perp\mathbf k_n,\qquad |\mathbf a_n|^2\propto\frac{k_n^3}{1+(k_nL_c)^{\gamma}},\quad\gamma = \tfrac{11}{3},$$
#
# with $|\mathbf k_n|$ log-spaced between $2\pi/(100\,L_c)$ and $2\pi/(0.01\,L_c)$, isotropic directions, random polarisation
# angles and phases, and $\tfrac12\sum_n|\mathbf a_n|^2 = \sigma^2\Omega_0^2$ with $\sigma^2 = 1$. Since the modes are
# log-spaced, a mode carries $E(k_n)\,\Delta k_n\propto E(k_n)\,k_n$: the energy spectrum is
# $E(k)\propto k^2/(1+(kL_c)^{11/3})$ — Kolmogorov, $k^{-5/3}$, above $1/L_c$. Per logarithmic interval the energy peaks at
# $k L_c = (3/(\gamma-3))^{1/\gamma}\approx1.5$; the particles resonate with $k\sim1/r_L = 10/L_c$.
#
# The field below is realization 0 of the preset `ahlers-mertsch-2015` (`simulation.make_field`: seed
# `SeedSequence(2015, spawn_key=(0,))`), i.e. the first field of the ensemble of Sec. 4.

# %%
field = simulation.make_field(PRESET, 0)
print(field)
print(f"Omega_0 = {np.linalg.norm(field.regular):g} / L_c  ->  r_L = {1 / np.linalg.norm(field.regular):g} L_c; "
      f"mean |delta Omega|^2 / Omega_0^2 = {field.mean_square / OMEGA0 ** 2:.15f} (sigma^2 = {PRESET.sigma2:g})")
print(f"{field.n_modes} modes, k in [{field.k_min:.5g}, {field.k_max:.5g}] / L_c "
      f"(lambda in [{2 * np.pi / field.k_max:g}, {2 * np.pi / field.k_min:g}] L_c)")

# %% [markdown]
# ### Energy per mode
#
# `field.energy_per_mode()` returns $(|\mathbf k_n|, |\mathbf a_n|^2/2)$. Left: the energy per mode against the requested
# $\propto k^3/(1+(kL_c)^{11/3})$ (normalised to $\sigma^2\Omega_0^2$); right: the same divided by $k_n\,\Delta\ln k$, i.e. the
# realised $E(k_n)$ against $E(k)\propto k^2/(1+(kL_c)^{11/3})$. The amplitudes of this model are fixed by the spectrum
# (only directions, polarisations and phases are random), so the points lie on the curve to round-off.

# %%
k_n, e_n = field.energy_per_mode()
dlnk = np.log(field.k_max / field.k_min) / (field.n_modes - 1)
shape = k_n ** 3 / (1 + (k_n * PRESET.coherence_length) ** PRESET.gamma)
requested = shape * field.mean_square / shape.sum()

fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
axes[0].loglog(k_n, e_n, "o", ms=3, mfc="none", label=r"$|\mathbf{a}_n|^2/2$ (realised)")
axes[0].loglog(k_n, requested, "k-", lw=1, label=r"$\propto k^3/(1+(kL_c)^{11/3})$")
axes[0].set_ylabel(r"energy per mode [$L_c^{-2}$]")
axes[1].loglog(k_n, e_n / (k_n * dlnk), "o", ms=3, mfc="none", label=r"$E(k_n) = |\mathbf{a}_n|^2/(2k_n\Delta\ln k)$")
axes[1].loglog(k_n, requested / (k_n * dlnk), "k-", lw=1, label=r"$\propto k^2/(1+(kL_c)^{11/3})$")
k_lo, k_hi = k_n[k_n < 0.3], k_n[k_n > 3]
axes[1].loglog(k_lo, 2 * (e_n / (k_n * dlnk))[k_n < 0.3][-1] * (k_lo / k_lo[-1]) ** 2, "--", color="grey", lw=1, label=r"$k^2$")
axes[1].loglog(k_hi, 2 * (e_n / (k_n * dlnk))[k_n > 3][0] * (k_hi / k_hi[0]) ** (-5 / 3), ":", color="grey", lw=1.5,
               label=r"$k^{-5/3}$")
axes[1].set_ylabel(r"$E(k)$ [$L_c^{-1}$]")
for ax in axes:
    ax.axvline(1 / PRESET.coherence_length, color="C2", lw=0.8, ls="--")
    ax.axvline(OMEGA0, color="C3", lw=0.8, ls="--")
    ax.text(1.1 / PRESET.coherence_length, ax.get_ylim()[0] * 3, r"$1/L_c$", color="C2")
    ax.text(1.1 * OMEGA0, ax.get_ylim()[0] * 3, r"$1/r_L$", color="C3")
    ax.set_xlabel(r"$k$ [$1/L_c$]")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
fig.suptitle(f"Giacalone-Jokipii spectrum of 002 Sec. 3: {field.n_modes} log-spaced modes")
plt.tight_layout()
plt.show()
print(f"sum of the energies per mode = {e_n.sum():.12g} (sigma^2 Omega_0^2 = {PRESET.sigma2 * OMEGA0 ** 2:g}); "
      f"max relative deviation from the requested shape: {np.max(np.abs(e_n / requested - 1)):.1e}")
print(f"most energetic mode: k = {k_n[np.argmax(e_n)]:.3g} / L_c (expected (3/(gamma-3))^(1/gamma) = "
      f"{(3 / (PRESET.gamma - 3)) ** (1 / PRESET.gamma):.3g} / L_c)")

# %% [markdown]
# ### A slice of $|\delta\mathbf B|$
#
# $|\delta\boldsymbol\Omega|/\Omega_0 = |\delta\mathbf B|/B_0$ on the $x$–$z$ plane through the observer (`field.turbulent`, i.e.
# `field.evaluate` minus the regular part), over $20\,L_c$ and zoomed to $1\,L_c$: structure on the scale of a few $L_c$
# (where the energy is), and Kolmogorov roughness down to $\lambda_{\min} = 0.01\,L_c$. With $\sigma^2 = 1$ the turbulent
# field is as strong as the regular one, so the local field direction differs substantially from $\hat{\mathbf z}$.

# %%
NGRID = 151 if SMALL else 301
fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
for ax, half in zip(axes, (10.0, 0.5)):
    s = np.linspace(-half, half, NGRID)
    X, Z = np.meshgrid(s, s)
    pts = np.stack([X, np.zeros_like(X), Z], axis=-1)
    db = np.linalg.norm(field.turbulent(pts), axis=-1) / OMEGA0
    im = ax.imshow(db, origin="lower", extent=(-half, half, -half, half), cmap="magma")
    fig.colorbar(im, ax=ax, shrink=0.85, label=r"$|\delta\mathbf{B}|/B_0$")
    ax.set_xlabel(r"$x$ [$L_c$]")
    ax.set_ylabel(r"$z$ [$L_c$] ($\parallel B_0$)")
    ax.set_title(rf"$y = 0$, ${2 * half:g}\,L_c$ across; slice mean of $|\delta B|^2/B_0^2$ = {np.mean(db ** 2):.2f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### $\nabla\cdot\delta\mathbf B = 0$
#
# $\nabla\cdot\boldsymbol\Omega = -\sum_n(\mathbf k_n\cdot\mathbf a_n)\sin(\mathbf k_n\cdot\mathbf r+\beta_n)$ vanishes because every
# $\mathbf a_n\perp\mathbf k_n$. `field.divergence` evaluates it at random points in a box of $200\,L_c$; the natural scale
# of a derivative of the field is $\sum_n k_n|\mathbf a_n|$ (the rms curl is shown for comparison).

# %%
pts = np.random.default_rng(4).uniform(-100.0, 100.0, (2000 if SMALL else 20000, 3))
scale = np.sum(np.linalg.norm(field.wavevectors, axis=1) * np.linalg.norm(field.amplitudes, axis=1))
div = field.divergence(pts)
curl = np.linalg.norm(field.curl(pts), axis=1)
print(f"sum_n k_n |a_n| = {scale:.4g} / L_c^2")
print(f"max |div Omega| / sum_n k_n|a_n| = {np.max(np.abs(div)) / scale:.2e}   (round-off)")
print(f"rms |curl Omega| / sum_n k_n|a_n| = {np.sqrt(np.mean(curl ** 2)) / scale:.2e}   (a genuine derivative)")

# %% [markdown]
# ## 2. The integrator (`numerics.backtracking.boris`)
#
# The equations of motion at unit speed (review Sec. 4.4; rigidity $R$ relative to the reference particle) are
#
# $$\dot{\mathbf r} = \hat{\mathbf p},\qquad \dot{\hat{\mathbf p}} = \hat{\mathbf p}\times\boldsymbol\Omega(\mathbf r)/R .$$
#
# The Boris step in drift–kick–drift form: half a drift $\mathbf r_{1/2} = \mathbf r + \hat{\mathbf p}\,dt/2$; the kick
# with $\mathbf t = \boldsymbol\Omega(\mathbf r_{1/2})\,dt/2R$, $\hat{\mathbf p}' = \hat{\mathbf p} + \hat{\mathbf p}\times\mathbf t$,
# $\hat{\mathbf p}^+ = \hat{\mathbf p} + \frac{2}{1+t^2}\hat{\mathbf p}'\times\mathbf t$ — an exact rotation about
# $\boldsymbol\Omega$ by $2\arctan(|\Omega|dt/2)$; half a drift with $\hat{\mathbf p}^+$. Hence
#
# * $|\mathbf p|$ is conserved to round-off;
# * each sub-step preserves phase-space volume (a shear in $\mathbf r$, a rotation of $\hat{\mathbf p}$ that depends on
#   $\mathbf r$ only): the discrete map obeys Liouville's theorem, which is what makes backtracked sky maps meaningful;
# * the step is symmetric, hence time reversible and of second order. In a uniform field the only error is the
#   rotation angle: per step $\Omega dt - 2\arctan(\Omega dt/2)\simeq(\Omega dt)^3/12$, after a time $T$ a phase lag
#   $\simeq T\Omega^3dt^2/12$.
#
# **Backtracking** (review eq. (63)): $f(0,\mathbf r_\oplus,\hat{\mathbf p}) = f(-T,\mathbf r(-T),\hat{\mathbf p}(-T))$; the
# trajectory that arrives with momentum $\hat{\mathbf n}$ is found by integrating the *antiparticle* forward from the
# observer with direction $-\hat{\mathbf n}$ (`bt.backtrack` does this and returns $\mathbf r(-T)$, $\hat{\mathbf p}(-T)$).
#
# ### Second order: the helix in a uniform field
#
# $\boldsymbol\Omega = \hat{\mathbf z}$ (units $1/L_c$), $\hat{\mathbf p}_0 = (1,0,1)/\sqrt2$, traced to $T = 10$ with five steps; the
# error of the position against the exact helix
# $\mathbf r(t) = (s\sin\Omega t/\Omega,\ s(\cos\Omega t-1)/\Omega,\ p_zt)$, $s = p_x$, and the phase-lag estimate
# $s\,n[\Omega dt - 2\arctan(\Omega dt/2)]$ ($n$ steps).

# %%
uniform = PlaneWaveField.uniform((0.0, 0.0, 1.0))
p0 = np.array([1.0, 0.0, 1.0]) / np.sqrt(2)
T_HELIX = 10.0
DTS = np.array([0.2, 0.1, 0.05, 0.025, 0.0125])
err, lag, pdev = [], [], []
for dt in DTS:
    tr = bt.trace(uniform, [0.0, 0.0, 0.0], [p0], [T_HELIX], dt=dt)
    t, s = tr.times[0], p0[0]
    exact = np.array([s * np.sin(t), s * (np.cos(t) - 1), p0[2] * t])
    err.append(np.linalg.norm(tr.positions[0, 0] - exact))
    lag.append(s * tr.steps[0] * (dt - 2 * np.arctan(dt / 2)))
    pdev.append(abs(np.linalg.norm(tr.momenta[0, 0]) - 1))
err, lag = np.array(err), np.array(lag)
slope = np.polyfit(np.log(DTS), np.log(err), 1)[0]

fig, ax = plt.subplots(figsize=(6, 4.2))
ax.loglog(DTS, err, "o-", label=f"Boris (fitted slope {slope:.3f})")
ax.loglog(DTS, lag, "k--", lw=1, label=r"phase lag $s\,n[\Omega dt-2\arctan(\Omega dt/2)]$")
ax.loglog(DTS, T_HELIX * DTS ** 2 / 12 * p0[0], ":", color="grey", label=r"$sT\Omega^3dt^2/12$")
ax.set_xlabel(r"$dt$ [$1/\Omega$]")
ax.set_ylabel(r"$|\mathbf{r} - \mathbf{r}_{\rm helix}|$ at $\Omega T = 10$")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
plt.show()
for dt, e, g, p in zip(DTS, err, lag, pdev):
    print(f"dt = {dt:7.4f}: error {e:.4e}, phase-lag estimate {g:.4e}, ||p| - 1| = {p:.1e}")
print(f"fitted order: {slope:.4f}; successive orders: {np.log2(err[:-1] / err[1:])}")

# %% [markdown]
# ### $|\mathbf p|$ and reversibility in the turbulent field
#
# 64 random directions traced through the field of Sec. 1 with the default step; $\max||\hat{\mathbf p}|-1|$ at ten times
# up to the last step. Then the backtracked end points are traced forward again with the same step: they must come
# back to the observer with the original directions (time reversibility, to round-off accumulated over the steps).

# %%
N_STEPS_P = 20_000 if SMALL else 100_000
dt0 = bt.default_step(field)
dirs64 = np.random.default_rng(2).normal(size=(64, 3))
dirs64 /= np.linalg.norm(dirs64, axis=1, keepdims=True)
t0 = time.perf_counter()
tr = bt.trace(field, [0.0, 0.0, 0.0], dirs64, np.linspace(0.1, 1.0, 10) * N_STEPS_P * dt0, dt=dt0)
wall = time.perf_counter() - t0
dev = np.max(np.abs(np.linalg.norm(tr.momenta, axis=-1) - 1), axis=1)
print(f"default step dt = {dt0:.4g} L_c (Omega_0 dt = {OMEGA0 * dt0:.4g}); {tr.steps[-1]} steps x 64 particles x "
      f"{field.n_modes} modes in {wall:.2f} s")
print("max ||p| - 1| at steps", tr.steps.tolist(), ":", dev)

back = bt.backtrack(field, dirs64, [10.0 / OMEGA0])
fwd = bt.trace(field, back.positions[-1], back.momenta[-1], [back.times[-1]], dt=back.dt)
print(f"backtracked to Omega T = {OMEGA0 * back.times[-1]:g} ({back.steps[-1]} steps) and traced forward again: "
      f"max |r| = {np.max(np.abs(fwd.positions[0])):.1e} L_c, max |p - n| = {np.max(np.abs(fwd.momenta[0] - dirs64)):.1e}")

# %% [markdown]
# ### The step criterion
#
# A step must resolve the smallest wavelength and the gyration: $dt\cdot\max(k_{\max},\Omega_{\max})\le0.5$ with
# $\Omega_{\max} = (|\Omega_0| + 3\Omega_{\rm rms})/R$; the default is a fifth of that bound,
# $dt = 0.1/\max(k_{\max},\Omega_{\max})$. Here $k_{\max} = 2\pi/0.01\,L_c\approx628/L_c$ dominates. An unresolved step is refused:

# %%
print(f"k_max = {field.k_max:.4g} / L_c, Omega_max = {np.linalg.norm(field.regular) + 3 * field.rms:g} / L_c, "
      f"default dt = {bt.default_step(field):.4g} L_c, largest allowed dt = {bt.STEP_LIMIT / field.k_max:.4g} L_c")
for bad_field, bad_dt in ((field, 0.01), (PlaneWaveField.uniform((0.0, 0.0, 100.0)), 0.01)):
    try:
        bt.backtrack(bad_field, [[0.0, 0.0, 1.0]], [1.0], dt=bad_dt)
    except ValueError as exc:
        print("ValueError:", exc)

# %% [markdown]
# ### How large a step the observables allow (the step-size study)
#
# The bound says what a step must resolve; what the *observables* need is measured
# (`numerics.validation.step_study`, issue 14): the ensembles of `aniso run` are backtracked on the same fields at
# step factors $f = dt\cdot\max(k_{\max},\Omega_{\max})$ from 0.05 to the bound 0.5, and each headline observable's
# change against $f = 0.05$ is compared with its statistical error at the papers' size. The bias of the Boris step
# is of second order, $a\,(f^2 - f_0^2)$, fitted over all factors with a jackknife error (the differences between
# steps are not noise-free: the trajectories decorrelate). A factor is accepted when the fitted bias plus two errors
# is below a third of the paper-scale error; each preset takes the largest accepted factor as its `step_factor`.
# The committed tables (`results/step-study/`), shown here without running anything:

# %%
import json as _json

STUDY = next((d / "results" / "step-study" for d in (Path.cwd(), *Path.cwd().parents)
              if (d / "results" / "step-study").is_dir()), None)
if STUDY is None:
    print("results/step-study not found (run from inside the repository checkout)")
else:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    for ax, fam in zip(axes, ("002", "003")):
        res = _json.loads((STUDY / f"{fam}-quick.json").read_text())
        f = np.array([r["factor"] for r in res["rows"]])
        for k, fit in res["fits"].items():
            sp = fit["sigma_paper"]
            b = np.array([r["bias"][k]["bias"] for r in res["rows"]]) / sp
            e = np.array([r["bias"][k]["bias_err"] for r in res["rows"]]) / sp
            line = ax.errorbar(f, b, e, marker="o", ms=3, capsize=2, lw=0.8, label=k)
            ax.plot(f, fit["a"] * (f ** 2 - f[0] ** 2) / sp, color=line[0].get_color(), lw=0.6, ls="--")
        ax.axhspan(-1 / 3, 1 / 3, color="0.85", zorder=0)
        ax.axvline(res["chosen_factor"], color="k", lw=0.8, ls=":")
        ax.set(xlabel="step factor f = dt max(k_max, Omega_max)", ylabel="bias / sigma_paper",
               title=f"{fam}: {res['realizations']} fields, chosen f = {res['chosen_factor']:g}")
        ax.legend(fontsize=7, ncol=2)
        print(f"--- {fam} ({res['config']}) ---")
        print((STUDY / f"{fam}-quick.md").read_text())
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ### A fourth-order integrator (issue 14)
#
# The Boris map $S(h)$ is symmetric, so its composition $S(w_1h)\,S(w_0h)\,S(w_1h)$ with
# $w_1 = 1/(2-2^{1/3})$, $w_0 = 1-2w_1$ (Yoshida 1990) is of fourth order, and still reversible and volume preserving;
# it costs three field evaluations per step. `numerics.validation.integrator_study` measures the rms error of the
# momentum directions against a reference trajectory (a 16x finer fourth-order run) as a function of the field
# evaluations per unit time, on the first field of each quick ensemble. Left of each curve's kink the error is
# $\propto h^2$ (Boris) or $h^4$; at the same error as Boris at today's factor 0.1 the composition needs 3-5x fewer
# evaluations. At late times the trajectories have decorrelated from the reference (chaos) and no integrator is
# "accurate": there the observables decide (`step_study --integrators`: the same fields with both integrators). They
# have not been shown to allow it yet — on 002, K∥ and the parallel C₁ ratio of yoshida4 at 0.9 differ from the finest
# Boris run by 2.7σ and 2.9σ — so the presets keep Boris at 0.1 and yoshida4 is an option.

# %%
if STUDY is not None and (STUDY / "integrator.json").exists():
    res = _json.loads((STUDY / "integrator.json").read_text())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (fam, f) in zip(axes, res["fields"].items()):
        for k, t in enumerate(f["omega_t"]):
            if f["equal_accuracy"][k]["decorrelated"]:
                continue
            for scheme, marker in (("boris", "o"), ("yoshida4", "s"), ("suzuki4", "^")):
                rows = [r for r in f["rows"] if r["scheme"] == scheme]
                ax.loglog([r["evaluations_per_unit_time"] for r in rows], [r["direction_error"][k] for r in rows],
                          marker=marker, ms=3, lw=0.8, label=f"{scheme}, Omega T = {t:g}")
        ax.set(xlabel="field evaluations per unit time", ylabel="rms direction error", title=fam)
        ax.legend(fontsize=7)
    fig.tight_layout()
    plt.show()
    print((STUDY / "integrator.md").read_text())
    for fam in ("002", "003"):
        check = STUDY / f"{fam}-quick-integrators.md"
        if check.exists():
            print(f"--- observables, {fam}: Boris 0.1 against yoshida4 0.9 on the same fields ---")
            print(check.read_text())

# %% [markdown]
# ## 3. Backtracking one realization
#
# ### Trajectories
#
# The twelve HEALPix $n_{\rm side} = 1$ directions, backtracked through the field of Sec. 1 and recorded at many times.
# Three regimes (review Fig. 12, 002 Fig. 1): **ballistic** for $\Omega T\ll1$, $|\mathbf r(-T)| = T$; **helical** for
# $\Omega T\gtrsim1$ — gyration with radius $\lesssim r_L = 0.1\,L_c$ about the *local* field, which with $\sigma^2 = 1$ is
# tilted from $\hat{\mathbf z}$ by the large-scale modes; **diffusive** once the particles have been scattered by the
# resonant modes and have wandered over several $L_c$, $|\mathbf r|\propto\sqrt T$, with faster transport along
# $B_0$ than across (002 Fig. 1 puts the transition at $\Omega T\sim100$).

# %%
OMEGA_T_TRAJ = 100.0 if SMALL else 1000.0
N_TRAJ = 1000 if SMALL else 5000
dirs12 = skymaps.directions(1)
traj = bt.backtrack(field, dirs12, np.linspace(OMEGA_T_TRAJ / N_TRAJ, OMEGA_T_TRAJ, N_TRAJ) / OMEGA0)
ot = traj.times * OMEGA0
print(f"{dirs12.shape[0]} directions, {traj.times.size} recorded times up to Omega T = {ot[-1]:g} "
      f"({traj.steps[-1]} steps of dt = {traj.dt:.3g} L_c)")

fig = plt.figure(figsize=(17, 5.5))
panels = ((ot[-1], r"$\Omega T\leq$" + f"{ot[-1]:g} (axes not to scale)"), (10.0, r"zoom: $\Omega T\leq10$ (to scale)"))
for j, (ot_max, title) in enumerate(panels):
    ax = fig.add_subplot(1, 3, j + 1, projection="3d")
    sel = ot <= ot_max
    for i in range(dirs12.shape[0]):
        r = traj.positions[sel, i]
        ax.plot(np.r_[0, r[:, 0]], np.r_[0, r[:, 1]], np.r_[0, r[:, 2]], lw=0.7, color=f"C{i % 10}")
    ax.scatter([0], [0], [0], color="k", s=20)
    if j == 1:
        ax.set_aspect("equal")
    ax.set_xlabel(r"$x$ [$L_c$]")
    ax.set_ylabel(r"$y$ [$L_c$]")
    ax.set_zlabel(r"$z$ [$L_c$]")
    ax.set_title(title)
ax = fig.add_subplot(1, 3, 3)
dist = np.linalg.norm(traj.positions, axis=-1)
for i in range(dirs12.shape[0]):
    ax.loglog(ot, dist[:, i], lw=0.7, color=f"C{i % 10}")
ax.loglog(ot, ot / OMEGA0, "k--", lw=1.2, label=r"ballistic $|\mathbf{r}| = T$")
late = ot >= ot[-1] / 10
ax.loglog(ot[late], np.sqrt(np.mean(dist[-1] ** 2)) * np.sqrt(ot[late] / ot[-1]), "k:", lw=1.5, label=r"$\propto\sqrt{T}$")
ax.set_xlabel(r"$\Omega T$")
ax.set_ylabel(r"$|\mathbf{r}(-T)|$ [$L_c$]")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
fig.subplots_adjust(wspace=0.5)
plt.show()
omega_obs = field.evaluate([0.0, 0.0, 0.0])
print(f"field at the observer: Omega(0) = {omega_obs} / L_c, |Omega(0)| = {np.linalg.norm(omega_obs):.3g} / L_c, "
      f"angle to z: {np.degrees(np.arccos(omega_obs[2] / np.linalg.norm(omega_obs))):.0f} deg")

# %% [markdown]
# ### Sky maps of one realization
#
# All HEALPix directions ($n_{\rm side} = 8$; 4 with `ANISO_SMALL`) backtracked through the same field. With the phase-space
# density at $-T$ assumed known, Liouville's theorem (review eq. (63)) gives the relative intensity
# $\delta I = (4\pi f - n)/n$ of every pixel:
#
# * **gradient ansatz** (002 eq. (4), review eq. (66), $\delta f(-T)$ dropped):
#   $4\pi f(-T) = n + [\mathbf r(-T) - 3\hat{\mathbf p}(-T)\mathbf K]\nabla n$, so
#   $\delta I_i = \mathbf r_i(-T)\cdot\mathbf g - 3\hat{\mathbf p}_i(-T)\cdot\mathbf K\mathbf g$ with $\mathbf g = \nabla n/n$
#   (`skymaps.gradient_map`). For the Fick term we use this realization's running diffusion tensor at the last time
#   (`skymaps.summarize` → `skymaps.running_diffusion`, the Taylor–Green–Kubo form
#   $K_{ij} = -\langle n_{0i}r_j(-T)\rangle$);
# * **homogeneous dipole** (the thought experiment of review Sec. 4.4):
#   $f(-T)\propto1 + \hat{\mathbf p}\cdot\boldsymbol\Phi$ everywhere, so $\delta I_i = \hat{\mathbf p}_i(-T)\cdot\boldsymbol\Phi$
#   (`skymaps.dipole_map`).
#
# At $\Omega T\ll1$ both are pure dipoles ($\mathbf r(-T)\cdot\mathbf g = -T\hat{\mathbf n}_0\cdot\mathbf g$, and
# $\hat{\mathbf n}_0\cdot\boldsymbol\Phi$). As $T$ grows, directions far apart see different fields and their momenta
# decorrelate, while neighbouring directions stay
# correlated longer: the maps develop structure on ever smaller angular scales. The gradient maps keep a large
# dipole ($\mathbf r(-T)\cdot\mathbf g$ grows like $\sqrt T$ on average); the dipole-ansatz map, a rearrangement of the values
# of the initial dipole, breaks up.
#
# Shown with the monopole removed (the map mean, $\bar{\mathbf r}(-T)\cdot\mathbf g$, is a realization-dependent offset).
# Two things in the first columns come from this particular field. (i) At early times the Fick term dominates the
# gradient maps: $3|\mathbf K\mathbf g|$ is of order $L_c|\mathbf g|$ while $|\mathbf r(-T)\cdot\mathbf g|\le T$, so they are
# dipoles along $\mathbf K\mathbf g$, which in a single realization need not be along $\mathbf g$: the modes of a few $L_c$,
# where the energy is, tilt the *local* mean field away from $\hat{\mathbf z}$ (see the field at the observer printed
# above), and the particles diffuse along the tilted field — large off-diagonal elements of this realization's
# tensor; the ensemble tensor of Sec. 4 is the one that respects the symmetry about $B_0$. (ii) By $\Omega T = 1$ the
# momenta have turned by about $|\Omega(0)|T$ radians about the local field: the homogeneous-dipole map is still a
# pure dipole, but rotated away from $\boldsymbol\Phi$.

# %%
NSIDE_SKY = 4 if SMALL else 8
dirs_sky = skymaps.directions(NSIDE_SKY)
sky_times = bt.log_times(OMEGA0, 0.1, 100.0, 31)  # Omega T = 0.1 ... 100, ten per decade
t0 = time.perf_counter()
sky = bt.backtrack(field, dirs_sky, sky_times)
print(f"{dirs_sky.shape[0]} directions backtracked to Omega T = {OMEGA0 * sky.times[-1]:g} in {time.perf_counter() - t0:.1f} s")
one = skymaps.summarize(sky.positions, sky.momenta, dirs_sky, keep_maps=False)
run1 = skymaps.running_diffusion(one["moments"][None], sky.times, one["means"][None])
K_ONE = run1.tgk[-1]
print(f"this realization's running TGK tensor at Omega T = {OMEGA0 * sky.times[-1]:g} [L_c]:\n{K_ONE}")
print(f"3 K g for g = z: {3 * K_ONE @ Z_HAT}, for g = x: {3 * K_ONE @ X_HAT}  [L_c |g|]")

SHOW_OT = (0.1, 1.0, 10.0, 100.0)
show_idx = [int(np.argmin(np.abs(OMEGA0 * sky.times - x))) for x in SHOW_OT]
rows = [(r"gradient $\parallel B_0$", lambda k: skymaps.gradient_map(sky.positions[k], sky.momenta[k], Z_HAT, K_ONE)),
        (r"gradient $\perp B_0$", lambda k: skymaps.gradient_map(sky.positions[k], sky.momenta[k], X_HAT, K_ONE)),
        (r"homogeneous dipole $\Phi = \hat{z}$", lambda k: skymaps.dipole_map(sky.momenta[k], Z_HAT))]
fig = plt.figure(figsize=(20, 10))
for r, (name, make) in enumerate(rows):
    for c, k in enumerate(show_idx):
        m = make(k)
        hp.mollview(m - m.mean(), fig=fig.number, sub=(len(rows), len(show_idx), r * len(show_idx) + c + 1),
                    title=rf"{name}, $\Omega T$ = {OMEGA0 * sky.times[k]:.3g}", cmap="RdBu_r",
                    unit=r"$L_c|\nabla n/n|$" if r < 2 else r"$|\Phi|$")
plt.show()

# %% [markdown]
# The power spectra of the dipole-ansatz map (`skymaps.power_spectra`) make the same point quantitatively: at
# $\Omega T = 0.1$ and 1 nearly all power is in $\ell = 1$ ($C_1 = 4\pi|\Phi|^2/9$), later it spreads to higher $\ell$; once
# the momenta of neighbouring pixels are uncorrelated the map is white noise of variance $|\Phi|^2/3$ per pixel,
# $C_\ell\to4\pi|\Phi|^2/(3N_{\rm pix})$.

# %%
cl_dip = skymaps.power_spectra(skymaps.dipole_map(sky.momenta, Z_HAT))  # (K, lmax + 1)
fig, ax = plt.subplots(figsize=(6.5, 4.2))
for j, k in enumerate(show_idx):
    ax.semilogy(np.arange(1, cl_dip.shape[1]), np.maximum(cl_dip[k, 1:], 1e-12), "o-", ms=3, color=f"C{j}",
                label=rf"$\Omega T$ = {OMEGA0 * sky.times[k]:.3g}")
ax.axhline(4 * np.pi / 9, color="grey", ls="--", lw=1, label=r"$4\pi|\Phi|^2/9$")
ax.axhline(4 * np.pi / (3 * dirs_sky.shape[0]), color="grey", ls=":", lw=1, label=r"$4\pi|\Phi|^2/(3N_{\rm pix})$")
ax.set_xlabel(r"$\ell$")
ax.set_ylabel(r"$C_\ell$")
ax.set_ylim(1e-6, 3)
ax.set_title(r"one realization, homogeneous dipole $\Phi = \hat{z}$")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
plt.show()

# %% [markdown]
# ## 4. An ensemble (002 Sec. 3, Figs. 1 and 2)
#
# 002 averages over 120 fields at $n_{\rm side} = 32$; here the preset's `quick` scale (12 fields at $n_{\rm side} = 8$,
# about a minute on two cores; with `ANISO_SMALL` three fields of 32 modes at $n_{\rm side} = 4$).
# `simulation.run_ensemble` backtracks every realization, reduces it with `skymaps.summarize` — the $6\times6$ cross spectra
# of the maps $\mathbf X = (\mathbf r(-T), \hat{\mathbf p}(-T))$, their pixel moments and the maps — and stores everything with
# the configuration and seeds in one HDF5 file. Since every map of interest is linear in $\mathbf X$, the spectrum for any
# gradient, tensor $\mathbf K$ or dipole follows afterwards from the stored cross spectra.
#
# What `simreport` shows (for the gradient $\parallel$ and $\perp$ to $B_0$, with the Fick term built from the measured running
# tensor at the last time):
#
# * `plot_evolution` — 002 Fig. 1: $\langle C_1\rangle$, $\langle C_0\rangle$ and $\langle C_\ell\rangle$, $2\le\ell\le9$,
#   against $\Omega T$; the standard-diffusion dipole from $\langle\mathbf r_1\rangle\langle\mathbf r_2\rangle$
#   (002 Sec. 3, review eq. (68)), and the noise level $\mathcal N\simeq\frac{4\pi}{N_{\rm pix}}2TK^s_{ij}g_ig_j$ (002 eq. (9));
# * `plot_spectrum` — 002 Fig. 2: $\hat C_\ell/\hat C_1$ with $\hat C_\ell = \langle C_\ell\rangle - \mathcal N$ at the last time;
# * `plot_diffusion` — the running diffusion tensor $\langle r_ir_j\rangle/2T$, the Taylor–Green–Kubo tensor and the relative tensor
#   $\tilde K^s$ of 002 eq. (8);
# * `plot_skymap` — realization 0 at the last time, with the dipole removed.

# %%
CONFIG = PRESET
if SMALL:
    CONFIG = PRESET.replace(name="ahlers-mertsch-2015/small", nside=4, realizations=3, n_modes=32,
                            omega_t=np.geomspace(0.1, 100.0, 7).tolist())
OUT = Path(tempfile.mkdtemp(prefix="aniso_nb04_")) / "ensemble.h5"
t0 = time.perf_counter()
ens = simulation.run_ensemble(CONFIG, OUT, progress=False)
T_ENSEMBLE = time.perf_counter() - t0
print(f"{CONFIG.name}: {ens.realizations} realizations, nside {ens.nside}, {CONFIG.n_modes} modes, "
      f"{ens.times.size} times (Omega T = {OMEGA0 * ens.times[0]:.3g} ... {OMEGA0 * ens.times[-1]:.3g}) in {T_ENSEMBLE:.1f} s")
print(f"stored in {OUT.name}: master seed {ens.attrs['master_seed']}, physics hash {ens.attrs['physics_hash'][:12]}, "
      f"realizations {ens.index.tolist()}")

# %%
simreport.plot_evolution(ens)
plt.show()

# %%
simreport.plot_spectrum(ens)
plt.show()

# %%
simreport.plot_diffusion(ens)
plt.show()

# %%
simreport.plot_skymap(ens)
plt.show()

# %% [markdown]
# ### Numbers at the last time
#
# * the ratio of the ensemble dipole $\langle C_1\rangle$ to the standard-diffusion one (spectrum of the ensemble-mean map;
#   `standard_unbiased` removes its finite-ensemble bias $(\langle C_1\rangle - C_1^{\rm std})/R$): 002 finds the ensemble
#   dipole larger, by about an order of magnitude for the gradient $\perp B_0$;
# * the **sum rule** 002 eq. (6), $\frac{1}{4\pi}\sum_\ell(2\ell+1)\langle C_\ell\rangle\simeq2TK^s_{ij}g_ig_j$, for the pure
#   gradient term ($\mathbf K = 0$ in the ansatz, as in eq. (6)). The left side is `total_power`
#   $= 4\pi\langle(\mathbf r\cdot\mathbf g)^2\rangle_{\rm pix}$ (Parseval: the pixel quadrature of $\int\delta I^2d\Omega$, all
#   $\ell$), the right side `running_diffusion(...).symmetric`
#   $= \langle r_ir_j\rangle/2T$ from the same pixel moments — **they agree by construction**, to round-off; the physics of
#   eq. (6) is that $\langle r_ir_j\rangle/2T$ tends to a constant $K^s$ (see `plot_diffusion`). The sum over the resolved
#   $\ell\le\ell_{\max}$ shows how much of the power sits above $\ell_{\max}$ (mostly noise);
# * eq. (7), $\frac{1}{4\pi}\langle C_0\rangle = 2T(K^s - \tilde K^s)_{ij}g_ig_j$ at finite $T$: the right side is
#   $\langle(\bar{\mathbf r}\cdot\mathbf g)^2\rangle$ exactly (pixel means), the left side comes from the harmonic analysis of the map,
#   whose iterations let the power above $\ell_{\max}$ alias into $a_{00}$ — they agree to that accuracy, not to round-off;
# * the noise level $\mathcal N$ of eq. (9) (here `noise` $=\langle$`total_power`$\rangle/N_{\rm pix}$, equal to eq. (9) by the same
#   identity) against the mean $\langle C_\ell\rangle$ over the upper half of the resolved multipoles.

# %%
spectra = simreport.gradient_spectra(ens)
diff = ens.diffusion()
T_LAST = ens.times[-1]
ell = np.arange(ens.config.ell_max + 1)
rows = ["| | ⟨C_1⟩ ± sem | C_1 standard | C_1 standard (unbiased) | ratio ⟨C_1⟩/standard | ratio (unbiased) | ⟨C_0⟩ | noise N |",
        "|---|---|---|---|---|---|---|---|"]
for label, sp in spectra.items():
    rows.append(f"| {label} | {sp.mean[-1, 1]:.4g} ± {sp.sem[-1, 1]:.2g} | {sp.standard[-1, 1]:.4g} | "
                f"{sp.standard_unbiased[-1, 1]:.4g} | {sp.mean[-1, 1] / sp.standard[-1, 1]:.3g} | "
                f"{sp.mean[-1, 1] / sp.standard_unbiased[-1, 1]:.3g} | {sp.mean[-1, 0]:.4g} | {sp.noise[-1]:.3g} |")
display(Markdown(f"Ω T = {OMEGA0 * T_LAST:g}, {ens.realizations} realizations, Fick term with the measured K "
                 f"(units L_c² |∇n/n|²)\n\n" + "\n".join(rows)))

rows = ["| gradient | (1/4π) Σ_all (2ℓ+1)⟨C_ℓ⟩ (eq. 6, Parseval) | 2T K^s g g | (1/4π) Σ_{ℓ≤ℓmax} (2ℓ+1)⟨C_ℓ⟩ | "
        "(1/4π)⟨C_0⟩ | 2T (K^s − K̃^s) g g (eq. 7) | N | (4π/N_pix) 2T K^s g g (eq. 9) | ⟨C_ℓ⟩ for ℓ > ℓmax/2 |",
        "|---|---|---|---|---|---|---|---|---|"]
for name, g in (("∥ B0", Z_HAT), ("⊥ B0", X_HAT)):
    sp = ens.spectrum(gradient=g, standard=False)  # K = 0: the pure r.g term of eq. (6)
    lhs = sp.total_power.mean(axis=0)[-1] / (4 * np.pi)
    rhs = 2 * T_LAST * g @ diff.symmetric[-1] @ g
    resolved = np.sum((2 * ell + 1) * sp.mean[-1]) / (4 * np.pi)
    mono = 2 * T_LAST * g @ (diff.symmetric[-1] - diff.relative[-1]) @ g
    high = sp.mean[-1, ell > ens.config.ell_max / 2].mean()
    rows.append(f"| {name} | {lhs:.6g} | {rhs:.6g} | {resolved:.4g} | {sp.mean[-1, 0] / (4 * np.pi):.6g} | {mono:.6g} | "
                f"{sp.noise[-1]:.4g} | {4 * np.pi / sp.npix * rhs:.4g} | {high:.4g} |")
display(Markdown(f"Ω T = {OMEGA0 * T_LAST:g}, Fick term off (units L_c² |∇n/n|²)\n\n" + "\n".join(rows)))

# %% [markdown]
# Two remarks on the noise level. Eq. (9) counts the whole pixel variance $\langle\delta I^2\rangle$ as shot noise. At early
# times that variance is the smooth Fick dipole (hence the flat $\mathcal N$ at small $\Omega T$ in `plot_evolution`, where it
# is no noise at all); at the last time a sizeable part of it is still resolved structure (the dipole and low $\ell$), so
# the high-$\ell$ floor of $\langle C_\ell\rangle$ lies below $\mathcal N$ (last column vs. $\mathcal N$ above) and
# $\hat C_\ell = \langle C_\ell\rangle - \mathcal N$ turns negative at the higher $\ell$ — those points are missing from the
# log-scale `plot_spectrum`. Eq. (9) is an asymptotic estimate; at $n_{\rm side} = 8$ and $\Omega T = 100$ it is a rough one.

# %% [markdown]
# ## 5. Resuming
#
# Realization $i$ draws its field from `SeedSequence(seed, spawn_key=(i,))`, independent of how many realizations run and
# where. `run_ensemble` keeps what is stored (the file carries a hash of the physics part of the configuration; the
# number of realizations is not part of it) and computes only what is missing. Asking for one more realization:

# %%
CONFIG_MORE = CONFIG.replace(realizations=CONFIG.realizations + 1)
t0 = time.perf_counter()
ens_more = simulation.run_ensemble(CONFIG_MORE, OUT, progress=False)
T_RESUME = time.perf_counter() - t0
print(f"{ens_more.realizations} realizations stored ({ens_more.index.tolist()}); this call took {T_RESUME:.1f} s, "
      f"the first {T_ENSEMBLE:.1f} s for {ens.realizations} ({T_ENSEMBLE / ens.realizations:.1f} s each)")
print("same physics hash:", ens_more.attrs["physics_hash"] == ens.attrs["physics_hash"],
      "| the stored realizations are unchanged:", bool(np.array_equal(ens_more.cross_cl[:ens.realizations], ens.cross_cl)))
print("files in the output folder:", sorted(p.name for p in OUT.parent.iterdir()))

# %% [markdown]
# ## 6. The homogeneous dipole in the ensemble (review Sec. 4.4)
#
# The same ensemble, read for the homogeneous dipole $\delta I = \hat{\mathbf p}(-T)\cdot\boldsymbol\Phi$ with
# $\boldsymbol\Phi = \hat{\mathbf z}$ (`ens.spectrum(dipole=...)`). At $T\to0$ the map is the dipole
# $\hat{\mathbf n}_0\cdot\boldsymbol\Phi$ with
# $C_1 = 4\pi|\Phi|^2/9$; with growing $T$ the power moves from $\ell = 1$ to higher multipoles.
#
# By Liouville's theorem the map takes the values of the initial dipole at the backtracked momenta. In one realization
# the map $\hat{\mathbf n}_0\mapsto\hat{\mathbf p}(-T)$ at a fixed observer need not preserve solid angle, but the measure
# "uniform in position × isotropic in direction" is invariant under the flow and the field ensemble is statistically
# homogeneous, so the **ensemble average** of the total power is conserved (review Sec. 4.4, the thought experiment
# as used in the discussion of the relative scattering rate: $\partial_t\int d\hat{\mathbf p}\,\langle f^2\rangle = 0$):
#
# $$\sum_{\ell\ge0}(2\ell+1)\langle C_\ell\rangle = 4\pi\,\big\langle(\hat{\mathbf p}(-T)\cdot\boldsymbol\Phi)^2\big\rangle
#   = \frac{4\pi|\Phi|^2}{3}.$$
#
# Below: $\langle C_\ell\rangle$ for $\ell = 1\ldots6$ with standard errors, and the total power (`total_power`, all $\ell$)
# next to the sum over the resolved $\ell\le\ell_{\max}$. `total_power` is a sum over pixel centres, which integrates
# $(\hat{\mathbf n}\cdot\boldsymbol\Phi)^2$ only to $O(n_{\rm side}^{-2})$ ($-0.6\,\%$ at $n_{\rm side} = 4$, $-0.15\,\%$ at 8);
# its value at $T\to0$, $4\pi\langle n_{0z}^2\rangle_{\rm pix}$ (from the stored pixel moments), is printed as the reference.
# Whether the total stays at $4\pi/3$ within its errors over a large ensemble is the subject of a separate statistical
# test; here it is only displayed.

# %%
dip = ens_more.spectrum(dipole=Z_HAT)
ot_e = OMEGA0 * ens_more.times
ell = np.arange(dip.mean.shape[1])
total = dip.total_power.mean(axis=0)
total_sem = dip.total_power.std(axis=0, ddof=1) / np.sqrt(dip.n_realizations)
resolved = ((2 * ell + 1) * dip.mean).sum(axis=1)

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
for l in range(1, 7):
    axes[0].errorbar(ot_e, dip.mean[:, l], yerr=dip.sem[:, l], marker="o", ms=3, capsize=2, label=rf"$\ell = {l}$")
axes[0].plot(ot_e, dip.standard[:, 1], "k--", lw=1, label=r"$C_1$ of the ensemble-mean map")
axes[0].plot(ot_e, dip.noise, "r:", label=r"noise $\mathcal{N}$")
axes[0].set_yscale("log")
axes[0].set_ylabel(r"$\langle C_\ell\rangle$ [$|\Phi|^2$]")
axes[0].set_title(rf"homogeneous dipole $\Phi = \hat{{z}}\parallel B_0$ ({dip.n_realizations} realizations)")
axes[1].errorbar(ot_e, total / (4 * np.pi / 3), yerr=total_sem / (4 * np.pi / 3), marker="o", ms=3, capsize=2,
                 label=r"$\Sigma_{{\rm all}\ \ell}(2\ell+1)\langle C_\ell\rangle$ (total_power)")
axes[1].plot(ot_e, resolved / (4 * np.pi / 3), "s--", ms=3, label=r"$\Sigma_{\ell\leq\ell_{\max}}(2\ell+1)\langle C_\ell\rangle$")
axes[1].axhline(1.0, color="grey", lw=1)
axes[1].set_ylabel(r"power $/\,(4\pi|\Phi|^2/3)$")
axes[1].set_title(r"total power: conserved on average; it leaves $\ell\leq\ell_{\max}$")
for ax in axes:
    ax.set_xscale("log")
    ax.set_xlabel(r"$\Omega T$")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

print(f"4 pi |Phi|^2 / 3 = {4 * np.pi / 3:.6f}; its pixel quadrature 4 pi <n0_z^2>_pix = "
      f"{4 * np.pi * ens_more.moments[0, 0, 8, 8]:.6f} (nside {ens_more.nside})")
print(" Omega T | total_power (mean +- sem) | /(4pi/3) - 1 |  resolved sum | <C_1>      | <C_2>      | <C_6>")
for k in range(ot_e.size):
    print(f"{ot_e[k]:8.3g} | {total[k]:.6f} +- {total_sem[k]:.6f}  | {total[k] / (4 * np.pi / 3) - 1:+.2e}    | "
          f"{resolved[k]:.6f}      | {dip.mean[k, 1]:.4e} | {dip.mean[k, 2]:.4e} | {dip.mean[k, 6]:.4e}")

# %% [markdown]
# ## 7. Summary
#
# * **Turbulence:** the Giacalone–Jokipii field of 002 Sec. 3 has exactly the requested $E(k)\propto k^2/(1+(kL_c)^{11/3})$ on its
#   log-spaced modes, $\sigma^2 = 1$ to round-off, and is divergence-free to round-off.
# * **Integrator:** the Boris step converges at second order (the whole error in a uniform field is the phase lag of the
#   rotation angle), conserves $|\mathbf p|$ to round-off over $10^5$ steps in the turbulent field ($2\times10^4$
#   with `ANISO_SMALL`), retraces its steps
#   backwards, and refuses steps that do not resolve $k_{\max}$ or the gyration.
# * **One realization:** trajectories go from ballistic to helical (about the local field) to diffusive; the sky maps of
#   002 eq. (4) keep a dominant dipole with structure on top, the homogeneous-dipole map of review Sec. 4.4 breaks up
#   and its power moves to higher $\ell$.
# * **Ensemble:** `run_ensemble` → `storage` → `simreport` reproduces the quantities of 002 Figs. 1–2; the sum rules
#   (6) and (9) hold identically (Parseval on the same pixel moments), (7) to the accuracy of the harmonic analysis,
#   and the ensemble dipole exceeds the standard-diffusion one. The noise level (9) overestimates the high-$\ell$ floor
#   at this resolution and time. Resuming computes only the missing realization and leaves the stored ones bit-identical.
# * **Homogeneous dipole:** the resolved power falls while the ensemble-mean total power stays near $4\pi|\Phi|^2/3$
#   — the rearrangement that Liouville's theorem implies.

# %%
shutil.rmtree(OUT.parent)  # the temporary ensemble file; comment this out to keep it
print(f"notebook run time {time.perf_counter() - T_START:.1f} s (ANISO_SMALL={int(SMALL)})")
