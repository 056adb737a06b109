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
# # 03 — Small-scale anisotropies in quasi-linear theory
#
# This notebook walks through the derivation records of `theory/qlt.py` (003 Secs. 2–3 and 5, read with
# 004 Sec. 3) and the numerics of `numerics/qlt.py`:
#
# 1. the **pair propagator**: the angular power spectrum at time $t$ follows from the spectrum at an
#    earlier time $t_0 = t - \Delta T$ through the ensemble-averaged product of the single-particle
#    propagators $U^A_{t,t_0}$, $U^{B*}_{t,t_0}$ of two arrival directions $\hat{\boldsymbol p}_A$, $\hat{\boldsymbol p}_B$.
#    Projected on Legendre polynomials this is the **mixing matrix** (003 eq. (3.6))
#
#    $$M_{\ell\ell_0}(t,t_0) = \frac{1}{4\pi}\int d\hat{\boldsymbol p}_A\int d\hat{\boldsymbol p}_B\,
#      P_\ell(\hat{\boldsymbol p}_A\cdot\hat{\boldsymbol p}_B)\,\langle U^A_{t,t_0}U^{B*}_{t,t_0}\rangle\,
#      \frac{2\ell_0+1}{4\pi}P_{\ell_0}(\hat{\boldsymbol p}_A\cdot\hat{\boldsymbol p}_B),$$
#
#    which at second order in the turbulence is $M = 1 + 2M^{(1a)} + M^{(1c,0)} + M^{(1c,2)}$ (diagrams (1a) = (1b):
#    both field insertions on one particle; (1c): one on each, split by (3.20) into a monopole and a
#    quadrupole part of the projector $\delta_{ij} - \hat k_i\hat k_j$);
# 2. the **transition matrix** (3.5) $A_{\ell\ell_0} = \lim_{t_0\to t}(\delta_{\ell\ell_0} - M_{\ell\ell_0})/(t - t_0)$;
# 3. the **steady state** (3.7) $A_{\ell\ell_0}C^{\rm stdy}_{\ell_0} = \frac{8\pi}{3}K|\nabla\bar f|^2\,\delta_{\ell1}$
#    (the print has $8\pi/9$; derived in the record `qlt.steady_state`): the gradient feeds the dipole, the turbulence
#    redistributes power over $\ell$;
# 4. the partial-sky records of `theory/wigner.py` and `numerics/partial_sky.py` (review Appendix A), if present;
# 5. the **errata** of these modules.
#
# As in notebooks 01 and 02 each record is shown with its premises and steps and proved by `check()`;
# all logic lives in `theory` (SymPy) and `numerics`, the notebook only displays, plots and demonstrates.
#
# **Conventions:** $c = 1$; wavenumbers, $g_{\rm out}$ and rates are in one inverse length, times in that length.
# The turbulence is isotropic, $\langle\tilde\omega_i(\boldsymbol k)\tilde\omega^*_j(\boldsymbol k')\rangle
# = g(k)k^{-2}(\delta_{ij}-\hat k_i\hat k_j)\delta(\boldsymbol k-\boldsymbol k')$ (3.12), and band-limited **white noise**,
# $g(k) = g_{\rm out}$ on $[k_{\rm out}, k_{\rm in}]$, so $\langle\omega^2\rangle = 8\pi g_{\rm out}(k_{\rm in}-k_{\rm out})$.
# $\alpha = k_{\rm in}\Delta T$ and $\beta = k_{\rm out}\Delta T$. Every $M - 1$ is $g_{\rm out}\Delta T$ times a function of
# $(\alpha,\beta)$; the paper's limit ($k_{\rm in}\to\infty$ at fixed $\alpha$) is $\beta\to0$. The steady state scales
# as ${\rm source}/g_{\rm out}$ with source $= \frac{8\pi}{3}K|\nabla\bar f|^2$ (corrected); plots use source $= g_{\rm out} = 1$.
#
# **Sources:** *003* = P. Mertsch & M. Ahlers, "Cosmic ray small-scale anisotropies in quasi-linear theory",
# JCAP (2019); *004* = the same work as ICRC 2019 proceedings (another notation: $k_0, k_1, G$);
# *review* = M. Ahlers & P. Mertsch, Prog. Part. Nucl. Phys. 94 (2017) 184, Appendix A (multipole coupling matrix).
#
# Set `ANISO_SMALL=1` for a fast run (smaller $\ell_{\max}$, fewer $\alpha$ points; the record checks are the same).

# %%
import functools
import os
import time

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
from IPython.display import Markdown, display
from matplotlib.colors import LogNorm, SymLogNorm

import numerics.qlt as nq
import theory.qlt as tq
from theory import registry
from theory.display import errata_markdown
from theory.display import show as show_record

SMALL = os.environ.get("ANISO_SMALL") == "1"
T_START = time.perf_counter()
np.set_printoptions(precision=5, suppress=False, linewidth=110)

K_OUT_TINY = 1e-9  # k_out for "beta -> 0" with k_in = 1 and delta_t = alpha (beta = 1e-9 alpha)

# %% [markdown]
# The display helper `theory.display.show`: `show(id)` renders a record's premises and steps
# and runs its `check()` once, keeping the result in `RESULTS`.

# %%
RESULTS = {}
show = functools.partial(show_record, results=RESULTS)

# %% [markdown]
# ## 1. The turbulence (003 eq. (3.12), Sec. 4)
#
# The angular integral of the projector $\delta_{ij}-\hat k_i\hat k_j$ is $\frac{8\pi}{3}\delta_{ij}$, so
# $\langle\omega^2\rangle = 8\pi\int g\,dk$ and $g$ has the dimension of a wavenumber. For the test-particle
# set-up of 003 Sec. 4 ($k_{\rm out}r_g = 10^{-3}$, $k_{\rm in}r_g = 10^2$, $r_g = 1/\Omega_{\rm rms}$) the white-noise
# level is $g_{\rm out}r_g = 1/(8\pi\cdot 99.999)$.

# %%
show("qlt.turbulence_normalisation");

# %%
print(f"g_out r_g for 003 Sec. 4: {float(nq.g_out_from_rms(1.0, 1e-3, 1e2)):.6e}  (1/(8 pi 99.999) = {1 / (8 * np.pi * 99.999):.6e})")

# %% [markdown]
# ## 2. $\Lambda_\ell$ and $M^{(1a)}$ (003 eqs. (3.13)–(3.17))
#
# Diagram (1a) takes both field insertions on one particle; by (3.15) only $\Lambda_0$ and $\Lambda_2$ enter,
# $M^{(1a)}_{\ell\ell_0} = -\frac{8\pi}{3}\delta_{\ell\ell_0}(\Lambda_0 - \Lambda_2/2)\,\ell(\ell+1)$. For white noise
# $\Lambda_\ell = g_{\rm out}\Delta T\int_0^\alpha J_\ell(y)[1/\max(y,\beta) - 1/\alpha]dy$ with $J_\ell = \int_0^x j_\ell$, and
# the combination is $\frac83(\Lambda_0-\Lambda_2/2) = g_{\rm out}\Delta T\,[B(\alpha) - B(\beta)]$ with the bracket
#
# $$B(a) = 2a\,{}_2F_3\!\left(\tfrac12,\tfrac12;\tfrac32,\tfrac32,\tfrac32;-\tfrac{a^2}{4}\right) - {\rm Si}\,a
#   - \frac{\cos a}{a} + \frac{\sin a}{a^2}.$$
#
# The printed (3.16) has $g_{\rm out}r/k_{\rm out}$ in front (it must be $\propto\Delta T$ for the limit (3.5) to exist)
# and $+a^2\sin a$ in place of $\sin a/a^2$ — **erratum**: the printed bracket diverges like $-1/a$ for $a\to0$ and
# grows like $a^2$ for $a\to\infty$, while $B \simeq 4a/3$ for $a\ll1$ and $B\simeq\pi(\ln a + \gamma_E - \frac12)$ for
# $1\ll a$, the regimes stated in (3.17).

# %%
show("qlt.lambda_l");

# %% [markdown]
# ### Numerical check
#
# `nq.lambda_l([0, 2], delta_t, k_out, k_in)` by quadrature of the $J_\ell$ integrals (no closed form used),
# with $k_{\rm in} = 1$, $\Delta T = \alpha$ and $k_{\rm out} = 10^{-9}$ (so $\beta = 10^{-9}\alpha$), against the closed form
# $B(\alpha) - B(\beta)$ of the record, evaluated with mpmath (`tq.m1a_bracket` lambdified), the two asymptotes of
# (3.17) and the printed bracket (absolute value: it changes sign).

# %%
bracket = sp.lambdify(tq.alpha, tq.m1a_bracket(), "mpmath")
bracket_printed = sp.lambdify(tq.alpha, tq.m1a_bracket_printed(), "mpmath")

alphas_l = np.logspace(-2, 3, 60 if SMALL else 200)
lam = nq.lambda_l(np.array([0, 2])[:, None], alphas_l[None, :], K_OUT_TINY, 1.0)
b_num = (8 / 3) * (lam[0] - lam[1] / 2) / alphas_l  # g_out = 1, delta_t = alpha
with mpmath.workdps(30):
    b_closed = np.array([float(bracket(mpmath.mpf(float(a))) - bracket(mpmath.mpf(float(a * K_OUT_TINY))))
                         for a in alphas_l])
    b_alpha_only = np.array([float(bracket(mpmath.mpf(float(a)))) for a in alphas_l])
    b_printed = np.array([float(bracket_printed(mpmath.mpf(float(a)))) for a in alphas_l])

fig, ax = plt.subplots(figsize=(7, 4.5))
ax.plot(alphas_l, b_num, "o", ms=3, mfc="none", label=r"numerics: $\frac{8}{3}(\Lambda_0-\Lambda_2/2)/(g_{\rm out}\Delta T)$")
ax.plot(alphas_l, b_closed, "-", label=r"corrected (3.16): $B(\alpha) - B(\beta)$ (mpmath)")
small_a = alphas_l < 3
large_a = alphas_l > 2
ax.plot(alphas_l[small_a], 4 * alphas_l[small_a] / 3, "k--", lw=1, label=r"$4\alpha/3$ ($\alpha\ll1$)")
ax.plot(alphas_l[large_a], np.pi * (np.log(alphas_l[large_a]) + np.euler_gamma - 0.5), "k:", lw=1.5,
        label=r"$\pi(\ln\alpha + \gamma_E - 1/2)$ ($1\ll\alpha$)")
ax.plot(alphas_l, np.abs(b_printed), "-", color="C3", lw=0.8, alpha=0.7, label=r"printed bracket of (3.16), $|\cdot|$")
ax.plot(alphas_l[alphas_l < 1], 1 / alphas_l[alphas_l < 1], "--", color="C3", lw=0.8, label=r"$1/\alpha$")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(1e-3, 1e7)
ax.set_xlabel(r"$\alpha = k_{\rm in}\Delta T$")
ax.set_ylabel("bracket")
ax.set_title(r"$M^{(1a)} = -\pi g_{\rm out}\Delta T\,[B(\alpha)-B(\beta)]\,\ell(\ell+1)\,\delta_{\ell\ell_0}$")
ax.legend(fontsize=7, loc="upper left")
ax.grid(alpha=0.3, which="both")
plt.show()

print(f"numerics vs closed form B(alpha) - B(beta): max relative deviation {np.max(np.abs(b_num / b_closed - 1)):.2e}")
print(f"numerics vs B(alpha) alone (beta = 1e-9 alpha ignored): max relative deviation "
      f"{np.max(np.abs(b_num / b_alpha_only - 1)):.2e}")
for a_show in (0.01, 1.0, 50.0, 1000.0):
    i = int(np.argmin(np.abs(alphas_l - a_show)))
    print(f"alpha = {alphas_l[i]:8.3g}: B = {b_closed[i]:.6g}, printed bracket = {b_printed[i]:.6g}")

# %% [markdown]
# ## 3. $\kappa_{\ell_A\ell_B}$ (003 eqs. (3.18)–(3.22), (3.24))
#
# Diagram (1c) connects the two particles. With ballistic paths each time integral is
# $h_\ell(k,\Delta T) = \int_0^{\Delta T}j_\ell(k\tau)d\tau = J_\ell(k\Delta T)/k$, and the $k$-measure of (3.19) is
# $\int dk\,g(k)$, so
# $\kappa_{\ell_A\ell_B} = \int dk\,g\,h_{\ell_A}h_{\ell_B} = g_{\rm out}\Delta T\int_\beta^\alpha J_{\ell_A}J_{\ell_B}x^{-2}dx$
# (the second line of (3.22); the first line and 004 (3.15) carry an extra $1/k^2$ — **erratum**). The record
# also proves the positive Neumann-type series $J_\ell = \sum_kc_k(\ell)j_{\ell+2k+1}$ the numerics use, and the
# scaling that corrects (3.24): $M^{(1c)}/\Delta T\sim\alpha^{1+2|\ell-\ell_0|}$ for $\alpha\ll1$ and a constant for $1\ll\alpha$.

# %%
show("qlt.kappa");

# %% [markdown]
# ### $\kappa_{\ell_A\ell_B}$ at $\alpha = 50$
#
# `nq.kappa(lA, lB, ...)` broadcasts over the multipoles. $J_\ell(x)$ is tiny for $x\ll\ell$ and of order $1/\ell$ beyond, so
# $\kappa$ falls off once $\ell_A$ or $\ell_B$ exceeds $\alpha$; the band $|\ell_A - \ell_B|\lesssim$ few carries most weight.

# %%
ALPHA_K = 50.0
L_K = 40
ls_k = np.arange(L_K + 1)
kap = nq.kappa(ls_k[:, None], ls_k[None, :], ALPHA_K, K_OUT_TINY, 1.0) / ALPHA_K  # / (g_out dT)
fig, ax = plt.subplots(figsize=(5.8, 4.8))
im = ax.imshow(np.log10(kap), origin="lower", cmap="viridis")
fig.colorbar(im, ax=ax, label=r"$\log_{10}\,\kappa_{\ell_A\ell_B}/(g_{\rm out}\Delta T)$")
ax.set_xlabel(r"$\ell_B$")
ax.set_ylabel(r"$\ell_A$")
ax.set_title(rf"$\kappa_{{\ell_A\ell_B}}$ at $\alpha = {ALPHA_K:g}$, $\beta\to0$")
plt.show()
print(f"kappa/(g_out dT): min {kap.min():.3e}, max {kap.max():.3e}, all positive: {bool(np.all(kap > 0))}, "
      f"symmetric: {bool(np.allclose(kap, kap.T, rtol=1e-13, atol=0))}")
print("diagonal at lA = 0, 1, 2, 10, 20, 40:", kap[[0, 1, 2, 10, 20, 40], [0, 1, 2, 10, 20, 40]])

# %% [markdown]
# ## 4. The mixing matrices (003 eqs. (3.6), (3.15), (3.19)–(3.23))
#
# The record integrates (3.6) with (3.13) and (3.19) **exactly** over the three unit vectors
# ($\hat{\boldsymbol k}$, $\hat{\boldsymbol p}_A$, $\hat{\boldsymbol p}_B$) for all $\ell,\ell_0\le2$ and every
# $\kappa_{\ell_A\ell_B}$ that reaches them, and
# compares coefficient by coefficient with the Wigner-3j/6j forms (3.15), (3.21), (3.23) — including the phase
# $i^{\ell_A+\ell_B}$ of (3.23). It also proves that $\boldsymbol L^A + \boldsymbol L^B$ annihilates every function of
# $\hat{\boldsymbol p}_A\cdot\hat{\boldsymbol p}_B$, which is why the total power $\sum_\ell(2\ell+1)C_\ell$ is conserved. (This
# check takes ~20 s.)

# %%
show("qlt.mixing_matrices");

# %% [markdown]
# ### Heat maps
#
# `nq.mixing_matrices(lmax, delta_t, k_out, k_in)` returns $M^{(1a)}$, $M^{(1c,0)}$, $M^{(1c,2)}$ (rows $\ell$,
# columns $\ell_0$). Shown divided by $g_{\rm out}\Delta T$ (a function of $\alpha$ alone for $\beta\to0$), on a symmetric
# log scale: $2M^{(1a)}$ (diagonal, negative: the loss $\propto\ell(\ell+1)$), $M^{(1c,0)}$ (non-negative: gain),
# $M^{(1c,2)}$ (both signs), and the **power transfer** $(2\ell+1)(M-1)_{\ell\ell_0}/(2\ell_0+1)$: the fraction of the power in
# $\ell_0$ moved to $\ell$ per step. At $\alpha = 50$ the couplings reach much farther off the diagonal than at $\alpha = 10$.

# %%
LMAX_M = 30
ALPHAS_M = (10.0, 50.0)
ls_m = np.arange(LMAX_M + 1)
w_m = 2 * ls_m + 1
fig, axes = plt.subplots(len(ALPHAS_M), 4, figsize=(17, 4.2 * len(ALPHAS_M)))
for row, alpha_m in enumerate(ALPHAS_M):
    mm = nq.mixing_matrices(LMAX_M, alpha_m, K_OUT_TINY, 1.0)  # delta_t = alpha, g_out = 1
    second = 2 * mm["1a"] + mm["1c0"] + mm["1c2"]
    panels = [(2 * mm["1a"], r"$2M^{(1a)}$"), (mm["1c0"], r"$M^{(1c,0)}$"), (mm["1c2"], r"$M^{(1c,2)}$"),
              (w_m[:, None] * second / w_m[None, :], r"$(2\ell+1)(M-1)_{\ell\ell_0}/(2\ell_0+1)$")]
    for col, (mat, title) in enumerate(panels):
        ax = axes[row, col]
        v = mat / alpha_m
        vmax = np.abs(v).max()
        im = ax.imshow(v, origin="lower", cmap="RdBu_r",
                       norm=SymLogNorm(linthresh=1e-6 * vmax, vmin=-vmax, vmax=vmax, base=10))
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_title(title + rf"$/(g_{{\rm out}}\Delta T)$, $\alpha = {alpha_m:g}$", fontsize=9)
        ax.set_xlabel(r"$\ell_0$")
        ax.set_ylabel(r"$\ell$")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Conservation of the total power
#
# On the diagonal $\hat{\boldsymbol p}_A = \hat{\boldsymbol p}_B$ the three second-order diagrams combine to a rotation
# generator acting on a rotation-invariant state, so
# $\sum_\ell(2\ell+1)(2M^{(1a)} + M^{(1c,0)} + M^{(1c,2)})_{\ell\ell_0} = 0$ for every $\ell_0$ — up to what couplings carry
# beyond the truncation $\ell_{\max}$: the $\kappa_{\ell_A\ell_B}$ that matter reach $|\ell - \ell_0|\sim\alpha$, so the
# column sums vanish only for $\ell_0$ well below $\ell_{\max} - \alpha$. Column $\ell_0 = 0$ vanishes identically (factors
# $\ell(\ell+1)\delta_{\ell\ell_0}$ and $\ell_0(\ell_0+1)$), row $\ell = 0$ does not: power flows into the monopole. Below,
# the column sums relative to $\sum_\ell(2\ell+1)|\ldots|$; the printout also checks the signs: gains off the diagonal,
# losses on it, so $A$ is a proper rate matrix.

# %%
LMAXS_C = (30, 64) if SMALL else (30, 64, 128)
fig, ax = plt.subplots(figsize=(7, 4.3))
for i, alpha_m in enumerate(ALPHAS_M):
    for j, lm in enumerate(LMAXS_C):
        mm = nq.mixing_matrices(lm, alpha_m, K_OUT_TINY, 1.0)
        second = 2 * mm["1a"] + mm["1c0"] + mm["1c2"]
        w = 2 * np.arange(lm + 1) + 1
        rel = np.abs(w @ second) / np.maximum((w[:, None] * np.abs(second)).sum(axis=0), 1e-300)
        ax.semilogy(np.arange(1, lm + 1), np.maximum(rel[1:], 1e-18), ["-", "--", ":"][j], color=f"C{i}",
                    label=rf"$\alpha = {alpha_m:g}$, $\ell_{{\max}} = {lm}$")
        cut = lm // 4
        print(f"alpha = {alpha_m:4g}, lmax = {lm:3d}: column 0 max |.| = {np.abs(second[:, 0]).max():.1e}; "
              f"max relative column sum for 1 <= l0 <= {cut}: {rel[1:cut + 1].max():.1e}; at l0 = lmax: {rel[-1]:.2e}; "
              f"off-diagonal entries >= 0: {bool(np.all(second - np.diag(np.diag(second)) >= 0))}, "
              f"diagonal (l >= 1) < 0: {bool(np.all(np.diag(second)[1:] < 0))}")
ax.set_xlabel(r"$\ell_0$")
ax.set_ylabel(r"$|\sum_\ell(2\ell+1)(M-1)_{\ell\ell_0}|\,/\,\sum_\ell(2\ell+1)|(M-1)_{\ell\ell_0}|$")
ax.set_title("column sums: zero up to truncation")
ax.set_ylim(1e-18, 2)
ax.legend(fontsize=7)
ax.grid(alpha=0.3, which="both")
plt.show()

# %% [markdown]
# ## 5. The transition matrix and the steady state (003 eqs. (3.4)–(3.7), Sec. 5)
#
# $A = -(2M^{(1a)} + M^{(1c,0)} + M^{(1c,2)})/\Delta T$ is exactly $g_{\rm out}$ times a matrix of $(\alpha,\beta)$. Column 0
# vanishes, so $C_0$ drops out of the rows $\ell\ge1$: the steady state is the solution of the $\ell\ge1$ block of (3.7),
# and the $\ell = 0$ row is **not** stationary — conservation forces $dC_0/dt = 3\times$source (all injected power ends in
# the monopole, as the sum rule 002 eq. (6) says).
# $C^{\rm stdy}_\ell = ({\rm source}/g_{\rm out})\,c_\ell(\alpha, k_{\rm out}/k_{\rm in})$.

# %%
show("qlt.steady_state");

# %% [markdown]
# ### Steady-state spectra (003 Fig. 2)
#
# `nq.steady_state(lmax, alpha, k_out, k_in=inf)` returns $C_1..C_{\ell_{\max}}$ for source $= g_{\rm out} = 1$ (the conservative
# truncation, see below). Upper panel: for $\alpha = 5\ldots200$ (003 Fig. 2, upper panel). Lower panel: the same plus
# a flat noise floor $\mathcal N = 10^{-4}$ in the same units (003 Fig. 2, lower panel, adds $\mathcal N\simeq1.5\times10^{-9}$ in
# the units of the data: since $C\propto{\rm source}/g_{\rm out}$, the noise level relative to $C_1$ is what matters; here
# $\mathcal N/C_1\sim$ few $10^{-3}$, i.e. the floor takes over around $\ell\sim10$ as in the paper).

# %%
LMAX_SS = 32 if SMALL else 128
ALPHAS_SS = (5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
NOISE = 1e-4
ls_ss = np.arange(1, LMAX_SS + 1)
spectra = {a: nq.steady_state(LMAX_SS, a, 1.0, float("inf")) for a in ALPHAS_SS}

fig, axes = plt.subplots(2, 1, figsize=(7, 8), sharex=True)
for i, (a, c) in enumerate(spectra.items()):
    axes[0].plot(ls_ss, c, color=f"C{i}", label=rf"$\alpha = {a:g}$")
    axes[1].plot(ls_ss, c + NOISE, color=f"C{i}", label=rf"$\alpha = {a:g}$")
axes[1].axhline(NOISE, color="grey", ls="--", lw=1, label=rf"noise $\mathcal{{N}} = {NOISE:g}$")
axes[0].set_title(r"steady state $C^{\rm stdy}_\ell$ [source$/g_{\rm out}$], $\beta\to0$")
axes[1].set_title("with a flat noise floor")
for ax in axes:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel(r"$C_\ell$")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
axes[1].set_xlabel(r"$\ell$")
plt.show()

lq = [l for l in (1, 2, 5, 10, 20, 30, 60, 100) if l <= LMAX_SS]
rows = ["| α | " + " | ".join(f"C_{l}" for l in lq) + " | C_10/C_1 | local slope d ln C/d ln ℓ at ℓ = 20 | monotonic |",
        "|---|" + "---|" * (len(lq) + 3)]
for a, c in spectra.items():
    slope = np.log(c[20] / c[18]) / np.log(21 / 19)
    rows.append(f"| {a:g} | " + " | ".join(f"{c[l - 1]:.4e}" for l in lq)
                + f" | {c[9] / c[0]:.4f} | {slope:.3f} | {bool(np.all(np.diff(c) < 0))} |")
display(Markdown(f"ℓ_max = {LMAX_SS}, conservative closure\n\n" + "\n".join(rows)))

# %% [markdown] What the table shows: $C_1$ — the overall normalisation — falls with $\alpha$, as 003 says. The *shape*, however,
# does **not** steepen with $\alpha$ beyond $\alpha\approx10$: $C_{10}/C_1$ grows again from $\alpha = 10$ to $200$ and the local
# slope at $\ell = 20$ stays between about $-2.4$ and $-2.7$ without a trend, whereas 003 Sec. 5 describes the spectrum as falling
# off "much faster" with increasing $\alpha$. (For $\alpha\ge100$ the numbers at $\ell_{\max} = 128$ are not yet converged, see
# the truncation study below.)
#
# ### Where the injected power goes: the monopole
#
# With $A$ from `nq.transition_matrix` (source $= g_{\rm out} = 1$): $dC_0/dt = -\sum_{k\ge1}A_{0k}C_k$. The conservative
# closure keeps row 0 untouched and the columns conservative, so the rate is exactly $3$; the absorbing closure loses the
# power carried beyond $\ell_{\max}$.

# %%
for a in (10.0, 50.0):
    A_full = nq.transition_matrix(LMAX_SS, a, K_OUT_TINY, 1.0)  # delta_t = alpha, k_in = 1, g_out = 1
    for closure in ("conservative", "absorbing"):
        c = nq.steady_state(LMAX_SS, a, K_OUT_TINY, 1.0, closure=closure)
        rate = -(A_full[0, 1:] @ c)
        print(f"alpha = {a:4g}, lmax = {LMAX_SS}, {closure:12s}: dC_0/dt = {rate:.12f} x source")

# %% [markdown]
# ### Truncation: conservative vs absorbing closure
#
# Any $\ell_{\max}$ cuts couplings: they reach $|\ell-\ell_0|\sim\alpha$. `closure="absorbing"` keeps them in the loss rates (power
# leaving $\ell\le\ell_{\max}$ is lost); but the chain in $\ell$ is recurrent — the lost power would come back and end in the
# monopole — so the absorbing system underestimates $C_\ell$ and converges only slowly. `closure="conservative"` (the default)
# drops the cut couplings from gain and loss alike, so that the columns stay conservative; it converges fast once
# $\ell_{\max}\gtrsim\alpha$. Also shown: $\alpha = 200$, where $\ell_{\max} = 128$ is not enough.

# %%
LMAXS_T = (16, 32, 64) if SMALL else (16, 32, 64, 128)
ALPHAS_T = (10.0, 50.0, 200.0)
rows = ["| α | ℓ_max | C_1 conservative | C_1 absorbing | C_10 conservative | C_10 absorbing |",
        "|---|---|---|---|---|---|"]
trunc = {}
for a in ALPHAS_T:
    for lm in LMAXS_T:
        cc = nq.steady_state(lm, a, 1.0, float("inf"), closure="conservative")
        ca = nq.steady_state(lm, a, 1.0, float("inf"), closure="absorbing")
        trunc[a, lm] = (cc, ca)
        rows.append(f"| {a:g} | {lm} | {cc[0]:.8f} | {ca[0]:.8f} | {cc[9]:.6e} | {ca[9]:.6e} |")
display(Markdown("\n".join(rows)))
for a in ALPHAS_T:
    l1, l2 = LMAXS_T[-2], LMAXS_T[-1]
    for k, name in ((0, "conservative"), (1, "absorbing")):
        d1 = trunc[a, l2][k][0] / trunc[a, l1][k][0] - 1
        print(f"alpha = {a:4g}, {name:12s}: C_1(lmax={l2}) / C_1(lmax={l1}) - 1 = {d1:+.2e}")

# %% [markdown]
# ### Finite $k_{\rm in}$
#
# At fixed $\alpha = 50$ the spectrum depends on $k_{\rm out}/k_{\rm in}$ through $\beta = \alpha k_{\rm out}/k_{\rm in}$.
# With $k_{\rm out} = 1$ and $k_{\rm in}/k_{\rm out} = 10^2, 10^3, 10^5, \infty$ it tends to the paper's limit. The deviation
# is not $O(\beta)$ but $O(\beta^3)$: modes much longer than the path deflect both particles alike. In units of
# $g_{\rm out}\Delta T$: as $\beta$ grows, $2M^{(1a)}$ changes by $+\frac{8\pi}{3}\beta\,\ell(\ell+1)$ on the diagonal
# ($B(\beta)\simeq4\beta/3$ is subtracted) and $M^{(1c,0)}$ by $-\frac{8\pi}{3}\beta\,\ell(\ell+1)$ ($\kappa_{00}$ loses
# $\int_0^\beta J_0^2x^{-2}dx\simeq\beta$, and $\kappa_{00}$ enters $M^{(1c,0)}_{\ell\ell}$ with weight $\frac{8\pi}{3}\ell(\ell+1)$);
# every other $\kappa_{\ell_A\ell_B}$ changes by $O(\beta^{\ell_A+\ell_B+1})$, the first of them at $\beta^3$.

# %%
ALPHA_F = 50.0
LMAX_F = 32 if SMALL else 64
ratios = (1e2, 1e3, 1e5, float("inf"))
spec_f = {r: nq.steady_state(LMAX_F, ALPHA_F, 1.0, r) for r in ratios}
ls_f = np.arange(1, LMAX_F + 1)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for i, r in enumerate(ratios):
    lab = r"$k_{\rm in}/k_{\rm out} = \infty$" if np.isinf(r) else rf"$k_{{\rm in}}/k_{{\rm out}} = 10^{{{int(np.log10(r))}}}$"
    axes[0].loglog(ls_f, spec_f[r], ["-", "--", "-.", ":"][i], color=f"C{i}", label=lab)
    if not np.isinf(r):
        dev = np.abs(spec_f[r] / spec_f[float("inf")] - 1)
        axes[1].semilogy(ls_f, np.maximum(dev, 1e-17), "o-", ms=3, color=f"C{i}", label=lab)
axes[0].set_ylabel(r"$C^{\rm stdy}_\ell$ [source$/g_{\rm out}$]")
axes[0].set_title(rf"$\alpha = {ALPHA_F:g}$, $\ell_{{\max}} = {LMAX_F}$")
axes[1].set_ylabel(r"$|C_\ell/C_\ell(k_{\rm in}=\infty) - 1|$")
axes[1].set_title(r"approach to the limit $\beta\to0$")
for ax in axes:
    ax.set_xlabel(r"$\ell$")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
plt.show()
for r in ratios[:-1]:
    dev = spec_f[r] / spec_f[float("inf")] - 1
    print(f"k_in/k_out = {r:8.0e} (beta = {ALPHA_F / r:.1e}): C_l/C_l(inf) - 1 at l = 1, 2, 10, 30: {dev[[0, 1, 9, 29]]}; "
          f"divided by beta^3: {dev[[0, 9]] / (ALPHA_F / r) ** 3}")

# %% [markdown]
# ## 5b. Any isotropic spectrum (derivation `qlt.general_spectrum`)
#
# 003 computes everything for white noise and names that, with the free $\alpha$, as its main limitation. The time
# integrals reduce to one-dimensional $k$ integrals for **any** $g(k)$: with the tail $T(k) = \int_k^{k_{\rm in}} g/k'^2\,dk'$,
# $\Lambda_\ell = \int_0^{k_{\rm in}\Delta T} J_\ell(y)\,T(y/\Delta T)\,dy$ and
# $\kappa_{\ell_A\ell_B} = \Delta T\int g(x/\Delta T)\,J_{\ell_A}J_{\ell_B}\,x^{-2}dx$. White noise and power laws are special
# cases with closed-form tails; a simulation's own field of plane waves is $g = \sum_n c_n\delta(k-k_n)$ with
# $c_n = |a_n|^2/16\pi$, so theory and test particles can use *the same* spectrum (`nq.Spectrum.from_field`).
# Short $\Delta T$ is ballistic for every spectrum, $M^{(1a)} = -\ell(\ell+1)\langle\omega^2\rangle\Delta T^2/6$; long $\Delta T$
# gives the constant rate $M^{(1a)}/\Delta T\to-\pi^2\ell(\ell+1)\int g/k\,dk$, while $M^{(1c)}$ stays bounded.

# %%
show("qlt.general_spectrum");

# %% [markdown]
# ### The single-particle rate against $\Delta T$ for three spectra of the same $\Omega_{\rm rms}$
#
# $\nu(\Delta T) = \frac{16\pi}{3}(\Lambda_0-\Lambda_2/2)/\Delta T$ (diagram (1a) is the decay of one particle's multipole $\ell$
# at $\nu\ell(\ell+1)/2$, 003 eq. (2.13)) on 003's band $[10^{-3}, 10^2]/r_g$ with $\Omega_{\rm rms} = 1/r_g$: white noise
# (equal power per unit $k$), equal power per $\ln k$ ($g\propto k^{-1}$) and Kolmogorov ($g\propto k^{-5/3}$). QLT's rate
# is a constant only where $\Delta T$ exceeds the correlation time of *every* mode, $\Delta T\gg1/k_{\rm out}$; below that
# it keeps growing, and $K = 1/(3\nu)$ depends on $\Delta T$ — the free parameter of 003 in another guise. Dotted: the
# ballistic $\langle\omega^2\rangle\Delta T/3$ and the long-$\Delta T$ limits $2\pi^2\int g/k\,dk$.

# %%
def unit_rms(spec_fn):
    s = spec_fn(1.0)
    return spec_fn(1.0 / s.mean_square)


def nu_of(spec, dt):
    """QLT's single-particle scattering rate at dT (1/r_g)."""
    lam = nq.lambda_l([0, 2], dt, spectrum=spec)
    return (16 * np.pi / 3) * (lam[0] - lam[1] / 2) / dt


BAND = (1e-3, 1e2)
SPECTRA = {
    "white noise (per unit k)": unit_rms(lambda g: nq.Spectrum.white_noise(*BAND, g)),
    "per ln k (g ~ 1/k)": unit_rms(lambda g: nq.Spectrum.power_law(*BAND, -1.0, g)),
    "Kolmogorov (g ~ k^-5/3)": unit_rms(lambda g: nq.Spectrum.power_law(*BAND, -5 / 3, g)),
}
dts = np.geomspace(1e-4, 10.0, 25 if SMALL else 60)
fig, ax = plt.subplots(figsize=(7, 4.5))
for i, (label, spec) in enumerate(SPECTRA.items()):
    ax.loglog(dts, [nu_of(spec, d) for d in dts], color=f"C{i}", label=label)
    ks = np.geomspace(*BAND, 4001)
    g_over_k = np.trapezoid(spec.g(ks) / ks, ks)
    ax.axhline(2 * np.pi ** 2 * g_over_k, color=f"C{i}", ls=":", lw=0.8)
    k_at = [1.0 / (3 * nu_of(spec, a / BAND[1])) for a in (10.0, 50.0, 150.0)]
    print(f"{label:26s}: K = 1/(3 nu) at alpha = 10, 50, 150: " + ", ".join(f"{k:.3g}" for k in k_at) + " r_g")
ax.loglog(dts, dts / 3, "k:", lw=0.8, label=r"ballistic $\langle\omega^2\rangle\Delta T/3$")
ax.set_ylim(1e-5, 1e3)
ax.set_xlabel(r"$\Delta T\ [r_g]$")
ax.set_ylabel(r"$\nu(\Delta T)\ [1/r_g]$")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
plt.show()

# %% [markdown]
# ### Steady-state shapes, and a simulated field's own spectrum
#
# The steady state of (3.7) for the three spectra at $\alpha = 50$ (normalised to $C_1$): the *shape* hardly depends on the
# spectrum ($\hat C_2/\hat C_1\approx0.21$), its level does. The discrete spectrum of one `PlaneWaveField` of the
# backtracker (256 log-spaced modes, as the 003 ensembles) gives the same transition matrix as the continuous band
# to the accuracy of its mode grid.

# %%
LMAX_G = 16 if SMALL else 48
fig, ax = plt.subplots(figsize=(6.5, 4.2))
for i, (label, spec) in enumerate(SPECTRA.items()):
    c = nq.steady_state(LMAX_G, 50.0, spectrum=spec)
    ax.loglog(np.arange(1, LMAX_G + 1), c / c[0], "o-", ms=3, color=f"C{i}",
              label=f"{label}: C_2/C_1 = {c[1] / c[0]:.3f}, C_1/s = {c[0]:.3g} r_g")
ax.set_xlabel(r"$\ell$")
ax.set_ylabel(r"$C_\ell/C_1$")
ax.set_title(r"QLT steady state at $\alpha = k_{\rm in}\Delta T = 50$", fontsize=9)
ax.legend(fontsize=7)
plt.show()

from numerics.backtracking.turbulence import PlaneWaveField  # noqa: E402

field = PlaneWaveField.white_noise(256, *BAND, rms=1.0, seed=2019)
disc = nq.Spectrum.from_field(field)
cont = SPECTRA["white noise (per unit k)"]
for d in (0.1, 0.5):
    A_d, A_c = nq.transition_matrix(8, d, spectrum=disc), nq.transition_matrix(8, d, spectrum=cont)
    print(f"dT = {d} r_g: max |A_field - A_band| / max |A_band| = {np.max(np.abs(A_d - A_c)) / np.max(np.abs(A_c)):.3g} "
          f"({disc!r})")

# %% [markdown]
# ## 6. Partial sky (review Appendix A)
#
# Ground-based observatories see a declination band and cannot reconstruct the $m = 0$ moments. The pseudo
# moments of a band $[\delta_{\min},\delta_{\max}]$ mix $\ell$ at fixed $m$ through
# $T^m_{\ell\ell'} = \int_{\rm band}Y^*_{\ell m}Y_{\ell'm}d\Omega$ (review (A.1), Wigner-3j sums), and the expected
# pseudo spectrum of an isotropic Gaussian sky with the $m = 0$ moments removed is
# $\langle C_\ell\rangle = \sum_{\ell'}M_{\ell\ell'}\langle\hat C_{\ell'}\rangle$ (review (30), (A.2)). The records of
# `theory/wigner.py` prove (A.1), (27) and (A.2) exactly for small $\ell$ (shown only when the module is registered).

# %%
WIGNER = "wigner" in registry.MODULES
if WIGNER:
    for rec in registry.all_records("wigner"):
        show(rec.id)
else:
    display(Markdown("*`wigner` is not in `theory.registry.MODULES`: its records are not shown.*"))

# %% [markdown]
# ### Transfer matrices of IceCube- and HAWC-like bands
#
# `numerics.partial_sky.transfer(lmax, dec_min, dec_max)` for an IceCube-like band $[-90°, -25°]$, a HAWC-like band
# $[-26°, 64°]$ and a wide band $[-90°, 30°]$; and the pseudo spectrum $\sum_{\ell'}M_{\ell\ell'}C^{\rm stdy}_{\ell'}$ of the
# QLT steady state at $\alpha = 50$, relative to the true one, against the sky fraction $f_{\rm sky}$. Entries near
# $\ell_{\max}$ miss the couplings to $\ell' > \ell_{\max}$, so the ratio is shown for $\ell\le\ell_{\max}/2$. White in the heat
# maps: entries below $10^{-7}$ of the largest (row and column 0 vanish; $M$ is a sum of squares, non-negative up to rounding).

# %%
try:
    import numerics.partial_sky as ps
except ImportError:  # the partial-sky numerics are not part of this checkout
    ps = None
    display(Markdown("*`numerics.partial_sky` is missing: section skipped.*"))

if ps is not None:
    BANDS = {"IceCube-like": (-90.0, -25.0), "HAWC-like": (-26.0, 64.0), "wide band": (-90.0, 30.0)}
    LMAX_P = LMAX_SS
    c_true = np.concatenate([[0.0], spectra[50.0][:LMAX_P]])  # column 0 of M vanishes: C_0 does not enter
    fig, axes = plt.subplots(1, len(BANDS) + 1, figsize=(5 * (len(BANDS) + 1), 4.2))
    for i, (name, (d1, d2)) in enumerate(BANDS.items()):
        Mp = ps.transfer(LMAX_P, d1, d2)
        vmax = Mp.max()  # non-negative up to rounding (a sum of squares); row and column 0 vanish
        im = axes[i].imshow(np.ma.masked_less(Mp, 1e-7 * vmax), origin="lower", cmap="magma",  # white: < 1e-7 max
                            norm=LogNorm(vmin=1e-7 * vmax, vmax=vmax))
        fig.colorbar(im, ax=axes[i], shrink=0.85)
        axes[i].set_title(rf"{name} $[{d1:g}°, {d2:g}°]$: $M_{{\ell\ell'}}$", fontsize=9)
        axes[i].set_xlabel(r"$\ell'$")
        axes[i].set_ylabel(r"$\ell$")
        pseudo = Mp @ c_true
        f_sky = (np.sin(np.radians(d2)) - np.sin(np.radians(d1))) / 2
        lp = np.arange(1, LMAX_P // 2 + 1)
        axes[-1].plot(lp, pseudo[lp] / c_true[lp], "o-", ms=3, color=f"C{i}", label=f"{name}")
        axes[-1].axhline(f_sky, color=f"C{i}", ls=":", lw=1)
        print(f"{name:12s} [{d1:g}, {d2:g}]: f_sky = {f_sky:.4f}; min entry {Mp.min():.2e}; "
              f"pseudo/true at l = 1, 2, 3, 10: {(pseudo[[1, 2, 3, 10]] / c_true[[1, 2, 3, 10]])}")
    axes[-1].set_xscale("log")
    axes[-1].set_xlabel(r"$\ell$")
    axes[-1].set_ylabel(r"$\langle C_\ell\rangle_{\rm pseudo}/C^{\rm stdy}_\ell$")
    axes[-1].set_title(r"QLT steady state, $\alpha = 50$ (dotted: $f_{\rm sky}$)", fontsize=9)
    axes[-1].legend(fontsize=8)
    axes[-1].grid(alpha=0.3, which="both")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 7. Errata of these modules
#
# The records of `qlt` (and `wigner`, if registered) that correct a printed equation (the entries of `registry.errata()`
# whose record id starts with `qlt` or `wigner`; taken here from `registry.all_records(module)` so that the other
# modules' records need not be built — the full run checks that both agree).

# %%
ERRATA_MODULES = ("qlt", "wigner") if WIGNER else ("qlt",)
ours = [(r.id, e) for m in ERRATA_MODULES for r in registry.all_records(m) for e in r.errata]
if not SMALL:  # builds every record of every module (tens of seconds)
    assert ours == [(rid, e) for rid, e in registry.errata() if rid.startswith(tuple(m + "." for m in ERRATA_MODULES))]
display(Markdown(errata_markdown(ours)))

# %% [markdown]
# ## 8. Summary
#
# * **Turbulence:** $\langle\omega^2\rangle = 8\pi\int g\,dk$; for white noise every second-order quantity is
#   $g_{\rm out}\Delta T$ times a
#   function of $\alpha = k_{\rm in}\Delta T$ and $\beta = k_{\rm out}\Delta T$, and the transition matrix $A$ is $g_{\rm out}$
#   times a matrix of
#   $(\alpha,\beta)$ — no further limit is needed at this order; the paper's limit is $\beta\to0$.
# * **$M^{(1a)}$:** only $\Lambda_0$, $\Lambda_2$ enter; the bracket of (3.16) is
#   $B(a) = 2a\,{}_2F_3 - {\rm Si}\,a - \cos a/a + \sin a/a^2$
#   (printed: $+a^2\sin a$, and a prefactor not $\propto\Delta T$). The quadrature of `numerics.qlt` matches the closed form,
#   and $B$ follows $4\alpha/3$ and $\pi(\ln\alpha + \gamma_E - \frac12)$ as (3.17) says.
# * **$\kappa$:** the measure is $\int dk\,g(k)$ (the first line of (3.22) and 004 (3.15) have an extra $k^{-2}$), and
#   $M^{(1c)}/\Delta T\sim\alpha^{1+2|\ell-\ell_0|}$, not $\alpha^{2+2|\ell-\ell_0|}$ (3.24).
# * **Mixing matrices:** (3.15), (3.21), (3.23) — Wigner 3j/6j structure and the phase $i^{\ell_A+\ell_B}$ — agree with exact
#   integration; columns conserve $\sum_\ell(2\ell+1)C_\ell$ up to truncation, column 0 vanishes, and the monopole absorbs
#   the injected power at $3\times$source.
# * **Steady state:** $C^{\rm stdy}_\ell = ({\rm source}/g_{\rm out})\,c_\ell(\alpha)$ falls monotonically in $\ell$; its
#   normalisation falls
#   with $\alpha$, but its shape beyond $\alpha\approx10$ does not steepen (contrary to the wording of 003 Sec. 5). The
#   conservative closure converges fast once $\ell_{\max}\gtrsim\alpha$ (not yet for $\alpha = 200$ at $\ell_{\max} = 128$); the
#   absorbing
#   one drifts and leaks injected power; finite $k_{\rm in}/k_{\rm out}$ changes
#   the spectrum only by $O(\beta^3)$, $\beta = \alpha k_{\rm out}/k_{\rm in}$ (the $O(\beta)$ parts of $M^{(1a)}$ and
#   $M^{(1c,0)}$ cancel).
# * **Any spectrum:** the same algebra holds for any isotropic $g(k)$ (record `qlt.general_spectrum`); the
#   single-particle rate of QLT is constant only for $\Delta T\gg1/k_{\rm out}$, so for 003's band $K = 1/(3\nu)$ is a
#   function of $\Delta T$ for every spectrum, while the steady state's *shape* barely depends on the spectrum.
# * **Partial sky:** the band transfer matrices of review (A.2) move power between neighbouring multipoles and scale
#   it roughly by $f_{\rm sky}$; the $m = 0$ loss is largest at low $\ell$.
#
# ### Summary of the checks run above

# %%
print(f"{len(RESULTS)} records checked, "
      f"{sum(r.passed for r in RESULTS.values())} passed, "
      f"{sum(len(r.claims) for r in RESULTS.values())} claims in total")
for rid, r in RESULTS.items():
    print(f"  {'PASS' if r.passed else 'FAIL'}  {rid:42s} {r.method:9s} {r.seconds:5.1f} s")
print(f"notebook run time {time.perf_counter() - T_START:.1f} s (ANISO_SMALL={int(SMALL)})")
