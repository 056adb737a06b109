"""``aniso spectrum``: tables of the model spectra (relative diffusion, hierarchical evolution, QLT steady state), with
their CSV file and figure.

Each builder checks every argument through the physics API (whose bounds are the only ones) before any real work
and returns a :class:`SpectrumTable`; :meth:`SpectrumTable.text` is what the command prints and
:meth:`SpectrumTable.write` writes ``<stem>.csv`` and ``<stem>.png`` atomically.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from numerics.files import atomic_write_all

__all__ = ["SpectrumTable", "relative_diffusion", "hierarchy", "qlt"]


@dataclass
class SpectrumTable:
    """Columns of C_l (name -> values at ``ells``), drawn as one log-log panel per (title, column names) of ``panels``."""

    stem: str
    title: str
    ells: np.ndarray
    columns: dict
    panels: list
    ylabel: str
    normalise: bool = False  # draw each curve divided by its value at l = 1
    noise: float | None = None  # a flat noise power, drawn in the "+ noise" panel
    notes: list = field(default_factory=list)  # lines printed after the table

    def text(self) -> str:
        names = list(self.columns)
        rows = [self.title, f"{'l':>5s} " + " ".join(f"{n:>18s}" for n in names)]
        rows += [f"{ell:5d} " + " ".join(f"{self.columns[n][i]:18.10e}" for n in names) for i, ell in enumerate(self.ells)]
        return "\n".join(rows + self.notes)

    def write(self, out) -> tuple[Path, Path]:
        """``out/<stem>.csv`` (l and every column) and ``out/<stem>.png``, both or neither (numerics.files)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(out)
        names = list(self.columns)
        table = np.column_stack([self.ells] + [self.columns[n] for n in names])
        fig, axes = plt.subplots(1, len(self.panels), figsize=(6 * len(self.panels), 4.5), squeeze=False)
        for ax, (panel_title, shown) in zip(axes[0], self.panels):
            for n in shown:
                y = self.columns[n] / self.columns[n][0] if self.normalise else self.columns[n]
                ax.loglog(self.ells, y, "--" if n == "asymptotic ratio" else "-", label=n)
            if panel_title.endswith("+ noise"):
                ax.axhline(self.noise, color="k", ls=":", label=f"noise N = {self.noise:g}")
            ax.set_title(panel_title, fontsize=9)
            ax.set_xlabel("multipole l")
            ax.set_ylabel(self.ylabel)
            ax.legend(fontsize=8)
        fig.suptitle(self.title, fontsize=8)
        fig.tight_layout()
        try:
            csv, png = atomic_write_all({  # both or neither
                out / f"{self.stem}.csv": lambda tmp: np.savetxt(
                    tmp, table, delimiter=",", header="l," + ",".join(names), comments="",
                    fmt=["%d"] + ["%.12e"] * len(names)),
                out / f"{self.stem}.png": lambda tmp: fig.savefig(tmp, dpi=120, format="png")})
        finally:
            plt.close(fig)
        return csv, png


def relative_diffusion(lmax, ps=(0.5,), form: str = "stationary") -> SpectrumTable:
    """Stationary <C_l> of the generalised BGK model for each p (:func:`numerics.relative_diffusion.cl`)."""
    from numerics import relative_diffusion as rd

    rd.cl(lmax, np.array(ps, dtype=float), form=form)  # checks lmax, p and form before any work
    ells = np.arange(1, int(lmax) + 1)
    cols = {f"p={p:g}": rd.cl(ells, p, form=form) for p in ps}
    title = f"Stationary <C_l> of the generalised BGK model ({form} form), nu_r ~ (1 - x)^p, Q_1 = 1"
    return SpectrumTable("relative-diffusion", title, ells, cols, [("", list(cols))], "<C_l> / <C_1>", normalise=True)


def hierarchy(lmax, ts=(2.0,), nu: float = 1.0) -> SpectrumTable:
    """<C_l>(t) of the hierarchical evolution for each t, and the asymptotic ratio (:mod:`numerics.hierarchy`)."""
    from numerics import hierarchy as hier

    spec = hier.spectrum(lmax, np.array(ts, dtype=float), nu)  # checks lmax, t and nu
    ells = np.arange(1, int(lmax) + 1)
    cols = {f"nu*t={t * nu:g}": spec[i] for i, t in enumerate(ts)}
    cols["asymptotic ratio"] = hier.ratio(ells)
    title = f"Hierarchical evolution, C_l(0) = delta_l1 (nu = {nu:g}); last column: lim <C_l>/<C_1>"
    notes = [f"sum_l (2l+1) <C_l>(t = {t:g}) = {float(hier.total_power(t, nu)):.12g} (3 C_1 at t = 0)" for t in ts]
    return SpectrumTable("hierarchy", title, ells, cols, [("", list(cols))], "<C_l>(t) / C_1(0)", notes=notes)


def qlt(lmax, alphas=(50.0,), k_out: float = 1.0, k_in: float | None = None, g_out: float = 1.0, source: float = 1.0,
        index: float | None = None, noise: float | None = None, progress: bool = False) -> SpectrumTable:
    """QLT steady states (:func:`numerics.qlt.steady_state`) for each alpha: white noise on [k_out, k_in] (k_in None:
    the paper's limit k_in -> oo), or a power law g = g_out (k/k_out)^index on a finite band; with ``noise``, also
    C_l + N."""
    from numerics import qlt as q

    lmax = q.check_lmax(lmax)
    k_in = np.inf if k_in is None else k_in
    spectrum = None
    if index is not None:
        if np.isinf(k_in):
            raise ValueError("k_in: required with index (a power law needs a finite band [k_out, k_in])")
        spectrum = q.Spectrum.power_law(k_out, k_in, index, g_out)

    def solve(n, alpha):
        if spectrum is None:
            return q.steady_state(n, alpha, k_out, k_in, g_out, source)
        return q.steady_state(n, alpha, spectrum=spectrum, source=source)

    for a in alphas:  # every argument checked by the library before any real work (lmax 2 is instantaneous)
        solve(2, a)
    if noise is not None and not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r}: a noise power must be >= 0 (allowed range [0, inf))")
    cols = {}
    for a in alphas:
        if progress:
            print(f"alpha = {a:g} ...", file=sys.stderr, flush=True)
        cols[f"alpha={a:g}"] = solve(lmax, a)
    ells = np.arange(1, lmax + 1)
    band = "k_in -> inf (the paper's limit)" if np.isinf(k_in) else f"k_out = {k_out:g}, k_in = {k_in:g}"
    if spectrum is None:
        title = (f"QLT steady state C_l (003 eq. 3.7), white noise, {band}, source/g_out = {source / g_out:g}; "
                 "the monopole grows at dC_0/dt = 3 source")
    else:
        title = (f"QLT steady state C_l (003 eq. 3.7), g = g_out (k/k_out)^{index:g}, {band}, g_out = {g_out:g}, "
                 f"source = {source:g}, dT = alpha/k_in; the monopole grows at dC_0/dt = 3 source")
    panels = [("steady state", list(cols))]
    if noise is not None:
        for n in list(cols):
            cols[f"{n}+N"] = cols[n] + noise
        panels.append(("steady state + noise", [n for n in cols if n.endswith("+N")]))
    return SpectrumTable("qlt", title, ells, cols, panels, "C_l", noise=noise)
