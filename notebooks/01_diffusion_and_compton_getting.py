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
# # 01 — Standard diffusion and the Compton–Getting effect
#
# This notebook walks through the derivation records of the workbench for
#
# 1. **standard diffusion** in the BGK approximation: the moment equations, the diffusion
#    tensor $K_{ij}$ for a regular field along an arbitrary $\hat{\boldsymbol B}$, its matrix form,
#    the Gaussian Green's function, Fick's law and the dipole power $C_1$;
# 2. the **Compton–Getting (CG) effect**: the dipole shift $(2+\Gamma)\boldsymbol\beta$, the solar
#    CG dipole through the year in the sidereal and solar frames, and the CG dipoles of the
#    Galactic motions;
# 3. the **observational relations** used to turn a sky map into a dipole: the local frame,
#    $\delta \leftrightarrow a_{1m}$, the East–West method, declination averaging, the dipole
#    coupling of a partial sky and the shot-noise level;
# 4. the **errata**: where a printed equation disagrees with its derivation.
#
# Each record is shown with its premises and steps and is proved by `check()` (symbolic where
# SymPy decides it, else mpmath at 30 digits, or a rounded comparison with a printed number).
# All logic lives in `theory` (SymPy) and `numerics` (generated NumPy kernels); this notebook
# only displays and plots.
#
# **Units:** $c = 1$. Rates $\nu$, $\Omega$ are in an arbitrary inverse time unit, so $K$ is in
# length²/time with length = $c\,\times$ time. $\Omega = qB_0/p$ is the signed gyrofrequency.
# Vectors on the sky are equatorial: $x$ towards 0h, $y$ towards 6h, $z$ north.
#
# **Sources** (named the same way in every record):
# *review* = M. Ahlers & P. Mertsch, "Origin of small-scale anisotropies in Galactic cosmic rays",
# Prog. Part. Nucl. Phys. 94 (2017) 184;
# *002* = M. Ahlers & P. Mertsch, "Small-scale anisotropies of cosmic rays from relative diffusion",
# ApJL 815 (2015) L2;
# *slides* = M. Ahlers, "Cosmic Ray Anisotropies: Observation & Interpretation" (Georges Lemaître
# Chair 2023 lecture slides), cited by slide title, e.g. "Diffusion Approximation".

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import numerics.compton_getting as cg
import numerics.diffusion as diff
import numerics.observation as obs
from theory import registry
from theory.display import errata_markdown
from theory.display import show as show_record

np.set_printoptions(precision=5, suppress=False, linewidth=110)

# %% [markdown]
# The display helper `theory.display.show`: `show(id)` renders a record's premises and steps and runs its
# `check()` once, keeping the result in `RESULTS`.

# %%
RESULTS = {}
show = functools.partial(show_record, results=RESULTS)


# %% [markdown]
# ## 1. Standard diffusion (review Sec. 3.1; 002 Sec. 2)
#
# Truncating the phase-space density at the dipole, $f = (\phi + 3\hat{\boldsymbol p}\cdot\boldsymbol\Phi)/4\pi$,
# the BGK–Vlasov equation gives a monopole and a dipole equation.

# %%
show("diffusion.moment_equations");

# %% [markdown]
# The stationary dipole equation, solved for $\boldsymbol\Phi$, defines the diffusion tensor.

# %%
show("diffusion.bgk_tensor");

# %%
show("diffusion.bgk_matrix_form");

# %%
show("diffusion.gaussian_green_function");

# %%
show("diffusion.fick_dipole");

# %%
show("diffusion.standard_dipole_power");

# %% [markdown]
# ### The BGK tensor, numerically
#
# The generated kernel `numerics.diffusion.bgk_tensor` for $\nu = 1$, $\Omega = 1$ and a field at
# 45° in the $x$–$z$ plane, $\hat{\boldsymbol B} = (\sin 45°, 0, \cos 45°)$, split into its symmetric
# and antisymmetric parts; then Fick's dipole $\boldsymbol\delta = 3K\nabla\ln n$ and
# $C_1 = 4\pi|K\nabla n/n|^2$ for a gradient along $-x$ (arbitrary length unit).

# %%
bhat_45 = np.array([np.sin(np.pi / 4), 0.0, np.cos(np.pi / 4)])
K = diff.bgk_tensor(nu=1.0, omega=1.0, bhat=bhat_45)
print("K =\n", K)
print("symmetric part (K + K^T)/2 =\n", (K + K.T) / 2)
print("antisymmetric part (K - K^T)/2 =\n", (K - K.T) / 2)
grad_ln_n = np.array([-1.0, 0.0, 0.0])
print("Fick dipole delta = 3 K grad ln n =", diff.fick_dipole(K, grad_ln_n))
print("C_1 = 4 pi |K grad n / n|^2 =", diff.standard_dipole_power(K, grad_ln_n))

# %% [markdown]
# For $\hat{\boldsymbol B} = \boldsymbol e_z$ the tensor holds $K_\parallel = K_{zz} = 1/(3\nu_\parallel)$,
# $K_\perp = K_{xx} = 1/(3\nu_\perp)$ and $K_A = K_{xy} = 1/(3\nu_A)$. Against $\Omega/\nu$
# (in units of $c^2/\nu$): $K_\parallel$ stays at $1/3$, $K_\perp$ falls as $(\nu/\Omega)^2$, and
# $K_A$ peaks at $\Omega = \nu$. The markers are $1/(3\nu_\perp)$ and $1/(3\nu_A)$ from the rate
# kernels `nu_perp`, `nu_axial`.

# %%
ratio = np.logspace(-2, 2, 400)
K_z = diff.bgk_tensor(nu=1.0, omega=ratio, bhat=[0.0, 0.0, 1.0])
marks = np.logspace(-2, 2, 9)

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(ratio, K_z[:, 2, 2], label=r"$K_\parallel = K_{zz} = 1/(3\nu_\parallel)$")
ax.plot(ratio, K_z[:, 0, 0], label=r"$K_\perp = K_{xx} = 1/(3\nu_\perp)$")
ax.plot(ratio, K_z[:, 0, 1], label=r"$K_A = K_{xy} = 1/(3\nu_A)$")
ax.plot(marks, 1 / (3 * diff.nu_perp(1.0, marks)), "o", color="C1", mfc="none", label=r"$1/(3\,\nu_\perp)$ kernel")
ax.plot(marks, 1 / (3 * diff.nu_axial(1.0, marks)), "s", color="C2", mfc="none", label=r"$1/(3\,\nu_A)$ kernel")
ax.set_xscale("log")
ax.set_xlabel(r"$\Omega/\nu$")
ax.set_ylabel(r"$K\ [c^2/\nu]$")
ax.set_title(r"BGK diffusion coefficients, $\hat B = e_z$")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## 2. The Compton–Getting effect (review Sec. 3.2)

# %%
show("compton_getting.dipole_shift");

# %%
show("compton_getting.solar_sidereal");

# %%
show("compton_getting.solar_frame");

# %%
show("compton_getting.galactic_motions");

# %% [markdown]
# ### CG dipoles of the Galactic motions
#
# From `numerics.compton_getting.galactic_motions()` with $\Gamma = 2.7$: the full amplitude
# $(2+\Gamma)v/c$, its projection onto the equatorial plane (what ground-based arrays see), and the
# equatorial direction of the motion.

# %%
rows = ["| motion | v [km/s] | (l, b) [deg] | amplitude | projected amplitude | RA [deg] | Dec [deg] |",
        "|---|---|---|---|---|---|---|"]
for name, m in cg.galactic_motions().items():
    v, l, b = cg.MOTIONS[name]
    rows.append(f"| {name.replace('_', ' ')} | {v:g} | ({l:g}, {b:g}) | {m['amplitude']:.3e} | "
                f"{m['projected_amplitude']:.3e} | {m['ra_deg']:.1f} | {m['dec_deg']:.1f} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ### The solar CG dipole through one year
#
# `solar_dipole(phase, 2.7, frame=...)` for $v_\oplus = 29.8$ km/s and obliquity 23.4°; phase
# $\omega_{\rm orb}t$ from the epoch at which the mean Sun stands at RA 180°. In the sidereal frame the
# dipole turns once a year and averages to zero; in the solar frame it keeps a mean
# $(2+\Gamma)\beta\cos^2(\epsilon/2)$ towards 6h, $|\langle\delta''\rangle| \simeq 4.5\times10^{-4}$.
# Dashed lines: the yearly means from `solar_yearly_mean` (in the sidereal panel all three lie on zero).

# %%
DAYS_PER_YEAR = 365.25
phase = np.linspace(0.0, 2 * np.pi, 731)
days = phase / (2 * np.pi) * DAYS_PER_YEAR
labels = (r"$\delta_x$ (0h)", r"$\delta_y$ (6h)", r"$\delta_z$ (N)")

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, frame in zip(axes, ("sidereal", "solar")):
    d = cg.solar_dipole(phase, 2.7, frame=frame)
    mean = cg.solar_yearly_mean(2.7, frame=frame)
    for i, lab in enumerate(labels):
        ax.plot(days, 1e4 * d[:, i], color=f"C{i}", label=lab)
        ax.axhline(1e4 * mean[i], color=f"C{i}", ls="--", lw=1)
    ax.set_title(f"{frame} frame")
    ax.set_xlabel("days since the mean Sun at RA 180°")
    ax.set_xlim(0, DAYS_PER_YEAR)
    ax.grid(alpha=0.3)
axes[0].set_ylabel(r"solar CG dipole [$10^{-4}$]")
axes[0].legend(fontsize=8)
plt.show()

for frame in ("sidereal", "solar"):
    m = cg.solar_yearly_mean(2.7, frame=frame)
    print(f"{frame:8s} yearly mean = {m},  |mean| = {np.linalg.norm(m):.3e}")

# %% [markdown]
# ## 3. Observational relations (review Sec. 2)

# %%
show("observation.local_rotation");

# %%
show("observation.dipole_alm");

# %%
show("observation.east_west");

# %%
show("observation.declination_average");

# %%
show("observation.dipole_coupling");

# %%
show("observation.shot_noise");

# %% [markdown]
# ### Numbers
#
# A Tibet-like declination band $-10° < \delta < 70°$: the amplitude factor $\tilde A_1/A_1$ of the
# declination-averaged dipole (eq. (25)) and the coupling $K'_{1111}$ (eq. (27)); and the IceCube
# shot-noise level for $f_{\rm sky} = 0.29$, $n_{\rm tot} = 3.2\times10^{11}$ (eq. (32); review: $\sim3\times10^{-12}$).

# %%
print("declination-average factor A~_1/A_1 (-10, 70 deg):", obs.declination_average_factor(-10, 70))
print("dipole coupling K'_1111        (-10, 70 deg):", obs.dipole_coupling(-10, 70))
print("shot noise N (IceCube, f_sky = 0.29, n = 3.2e11):", obs.noise_uniform(0.29, 3.2e11))

# %% [markdown]
# ## 4. Errata
#
# Every place where a printed equation disagrees with its derivation, from `theory.registry.errata()`.

# %%
display(Markdown(errata_markdown(registry.errata())))

# %% [markdown]
# ### Summary of the checks run above

# %%
print(f"{len(RESULTS)} records checked, "
      f"{sum(r.passed for r in RESULTS.values())} passed, "
      f"{sum(len(r.claims) for r in RESULTS.values())} claims in total")
for rid, r in RESULTS.items():
    print(f"  {'PASS' if r.passed else 'FAIL'}  {rid:40s} {r.method:9s} {r.seconds:5.1f} s")
