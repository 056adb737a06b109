"""Tables and figures of a stored backtracking ensemble (``aniso simulate``, notebook 04).

Everything here reads a :class:`numerics.backtracking.storage.Ensemble` and draws with matplotlib /
healpy; no physics is computed that the ensemble's spectra and moments do not hold.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fick_tensor", "gradient_spectra", "gradient_label", "write", "table",
           "summary", "plot_evolution", "plot_spectrum", "plot_skymap",
           "plot_diffusion"]


def fick_tensor(ens) -> np.ndarray:
    """The tensor K used in the Fick term of 002 eq. (4): the measured running (TGK) tensor at the
    last recorded time if ``config.fick`` is true, else zero."""
    if not ens.config.fick:
        return np.zeros((3, 3))
    return np.asarray(ens.diffusion().tgk[-1])


def _unit(g):
    g = np.asarray(g, dtype=float)
    return g / np.linalg.norm(g)


def gradient_spectra(ens) -> dict:
    """{label: EnsembleSpectrum} for each configured gradient direction (unit gradient, n = 1)."""
    K = fick_tensor(ens)
    out = {}
    for g in ens.config.gradients:
        out[gradient_label(g, ens.config.regular)] = ens.spectrum(gradient=_unit(g), K=K)
    return out


def gradient_label(g, regular) -> str:
    """The legend label of gradient ``g`` relative to the regular field ``regular`` (parallel, perpendicular, angle)."""
    g = _unit(g)
    b = np.asarray(regular, dtype=float)
    if np.linalg.norm(b) == 0:
        return "gradient " + "(" + ", ".join(f"{x:g}" for x in g) + ")"
    c = abs(float(g @ _unit(b)))
    if c > 1 - 1e-12:
        return "gradient ∥ B0"
    if c < 1e-12:
        return "gradient ⊥ B0"
    return f"gradient at {np.degrees(np.arccos(c)):.0f}° to B0"


def summary(ens) -> dict:
    """A JSON-able summary: per gradient and time, <C_0>, <C_1> and its error, the standard-diffusion C_1,
    the noise level, and the running diffusion tensors."""
    cfg = ens.config
    omega_t = ens.times * cfg.omega_ref
    res = {"config": cfg.name, "realizations": ens.realizations, "nside": cfg.nside, "omega_t": omega_t.tolist(),
           "gradients": {}}
    for label, sp in gradient_spectra(ens).items():
        res["gradients"][label] = {
            "C0": sp.mean[:, 0].tolist(), "C1": sp.mean[:, 1].tolist(), "C1_err": sp.sem[:, 1].tolist(),
            "C1_standard": None if sp.standard is None else sp.standard[:, 1].tolist(),
            "noise": np.asarray(sp.noise).tolist(),
            "total_power_over_4pi": (sp.total_power.mean(axis=0) / (4 * np.pi)).tolist(),
        }
    d = ens.diffusion()
    res["diffusion"] = {"symmetric_last": np.asarray(d.symmetric[-1]).tolist(), "tgk_last": np.asarray(d.tgk[-1]).tolist(),
                        "relative_last": np.asarray(d.relative[-1]).tolist()}
    return res


def _plt():
    import matplotlib.pyplot as plt  # the backend is the caller's (inline in Jupyter; Agg without a display)

    return plt


def plot_evolution(ens, path=None, ells=range(2, 10)):
    """<C_l>(T) as in 002 Fig. 1: dipole, monopole, l = 2..9, standard-diffusion dipole and noise level."""
    plt = _plt()
    spectra = gradient_spectra(ens)
    omega_t = ens.times * ens.config.omega_ref
    fig, axes = plt.subplots(1, len(spectra), figsize=(5.5 * len(spectra), 4.2), squeeze=False)
    for ax, (label, sp) in zip(axes[0], spectra.items()):
        ax.errorbar(omega_t, sp.mean[:, 1], yerr=sp.sem[:, 1], color="k", label=r"$\langle C_1\rangle$")
        ax.plot(omega_t, sp.mean[:, 0], color="tab:blue", label=r"$\langle C_0\rangle$")
        for j, ell in enumerate(ells):
            if ell < sp.mean.shape[1]:
                ax.plot(omega_t, sp.mean[:, ell], color="tab:green", alpha=0.4 + 0.6 * j / max(1, len(ells) - 1), lw=1,
                        label=r"$\langle C_\ell\rangle$, $2\leq\ell\leq9$" if j == 0 else None)
        if sp.standard is not None:
            ax.plot(omega_t, sp.standard[:, 1], color="m", ls="--", label=r"$C_1$ from $\langle r\rangle\langle r\rangle$")
        ax.plot(omega_t, sp.noise, color="r", ls=":", label=r"noise $\mathcal{N}$ (002 eq. 9)")
        ax.plot(omega_t, sp.noise_floor, color="r", ls="-.", lw=1, label="noise floor (resolved power removed)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\Omega T$")
        ax.set_ylabel(r"$\langle C_\ell\rangle$ [" + ens.config.length_unit + r"$^2|\nabla n/n|^2$]")
        ax.set_title(f"{label} ({ens.realizations} realizations)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _finish(fig, path)


def plot_spectrum(ens, path=None, time_index=-1):
    """C-hat_l / C-hat_1 with error bars at one recorded time (002 Fig. 2, 003 Fig. 1)."""
    plt = _plt()
    spectra = gradient_spectra(ens)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ell = None
    for label, sp in spectra.items():
        hat = sp.hat[time_index]
        err = sp.hat_err[time_index]
        ell = np.arange(hat.size)
        ratio = hat / hat[1]
        ax.errorbar(ell[1:], ratio[1:], yerr=err[1:] / abs(hat[1]), fmt="o", ms=3, label=label)
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\ell$")
    ax.set_ylabel(r"$\hat C_\ell/\hat C_1$")
    omega_t = ens.times[time_index] * ens.config.omega_ref
    ax.set_title(rf"$\Omega T$ = {omega_t:.3g}; $\hat C_\ell = \langle C_\ell\rangle - \mathcal{{N}}$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)


def plot_skymap(ens, path=None, realization=0, time_index=-1):
    """Mollweide view of one realization's relative intensity (first gradient, 002 eq. (4))."""
    import healpy as hp

    from numerics.backtracking import skymaps

    plt = _plt()
    g = _unit(ens.config.gradients[0])
    c = skymaps.gradient_coefficients(g, fick_tensor(ens))
    x = ens.maps(times=[time_index % ens.times.size])[realization, 0].astype(float)
    m = c @ x  # the map is linear in X = (r, p): dI = X . c
    fig = plt.figure(figsize=(10, 4.6))
    unit = f"relative intensity [{ens.config.length_unit} " + r"$|\nabla n/n|$]"
    for sub, (values, title) in enumerate(((m - m.mean(), "relative intensity (monopole removed)"),
                                           (hp.remove_dipole(m), "dipole removed")), start=1):
        hp.mollview(values, fig=fig.number, sub=(1, 2, sub), title=title, cbar=False)
        ax = plt.gca()  # healpy's colour bar puts its label on the bar; ours goes below it
        fig.colorbar(ax.get_images()[0], ax=ax, orientation="horizontal", fraction=0.05, pad=0.04, label=unit)
    fig.suptitle(rf"realization {int(ens.index[realization])}, $\Omega T$ = {ens.times[time_index] * ens.config.omega_ref:.3g}; "
                 r"pixel = momentum direction $\hat p$ (arrival from $-\hat p$)")
    return _finish(fig, path)


def plot_diffusion(ens, path=None):
    """The running diffusion tensor: <r_i r_j>/2T, the TGK tensor's parallel/perpendicular/antisymmetric parts,
    and the relative tensor of 002 eq. (8)."""
    plt = _plt()
    d = ens.diffusion()
    omega_t = ens.times * ens.config.omega_ref
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(omega_t, d.tgk[:, 2, 2], "k-", label=r"$K_{zz}$ (TGK)")
    ax.plot(omega_t, 0.5 * (d.tgk[:, 0, 0] + d.tgk[:, 1, 1]), "b-", label=r"$(K_{xx}+K_{yy})/2$ (TGK)")
    ax.plot(omega_t, np.abs(d.antisymmetric[:, 0, 1]), "g-", label=r"$|K^A_{xy}|$")
    ax.plot(omega_t, d.symmetric[:, 2, 2], "k--", label=r"$\langle z^2\rangle/2T$")
    ax.plot(omega_t, 0.5 * (d.symmetric[:, 0, 0] + d.symmetric[:, 1, 1]), "b--", label=r"$\langle x^2+y^2\rangle/4T$")
    ax.plot(omega_t, np.trace(d.relative, axis1=1, axis2=2) / 3, "r:", label=r"tr $\tilde K^s/3$ (002 eq. 8)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\Omega T$")
    ax.set_ylabel(r"$K$ [" + ens.config.length_unit + r"$\cdot c$]")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _finish(fig, path)


def _finish(fig, path):
    if path is None:
        return fig
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path


def write(ens, out, seconds: float | None = None) -> dict:
    """Write ``summary.json`` (:func:`summary`, with ``seconds``) and the four figures (evolution, spectrum, sky map,
    diffusion) of ``ens`` into ``out``, all five or none; returns the summary."""
    import json
    from pathlib import Path

    from numerics.files import atomic_write_all

    out = Path(out)
    summ = summary(ens)
    summ["seconds"] = seconds
    writers = {out / "summary.json": lambda tmp: Path(tmp).write_text(json.dumps(summ, indent=2))}
    for name, plot in (("evolution.png", plot_evolution), ("spectrum.png", plot_spectrum), ("skymap.png", plot_skymap),
                       ("diffusion.png", plot_diffusion)):
        writers[out / name] = lambda tmp, plot=plot: plot(ens, tmp)
    atomic_write_all(writers)  # all five or none (a full disk leaves the previous ones)
    return summ


def table(summ: dict) -> str:
    """The dipole table of a :func:`summary`: per recorded Omega T and gradient, <C_1>, its standard-diffusion value
    and the noise level."""
    lines = [f"{'Omega T':>9s} " + " ".join(f"{lab[:22]:>34s}" for lab in summ["gradients"]),
             f"{'':>9s} " + " ".join(f"{'<C1>':>11s} {'C1 std.diff.':>11s} {'noise':>10s}" for _ in summ["gradients"])]
    for j, wt in enumerate(summ["omega_t"]):
        row = []
        for g in summ["gradients"].values():
            std = g["C1_standard"][j] if g["C1_standard"] is not None else float("nan")
            row.append(f"{g['C1'][j]:11.4g} {std:11.4g} {g['noise'][j]:10.3g}")
        lines.append(f"{wt:9.3g} " + " ".join(row))
    return "\n".join(lines)
