"""How the backtracker's step changes the headline observables: the step-size study of issue 14.

The backtracker's default step is ``dt = DEFAULT_STEP_FACTOR / max(k_max, Omega_max)``
(:mod:`numerics.backtracking.kernel`) and steps above ``STEP_LIMIT / max(k_max, Omega_max)`` are refused.  This
module measures, for an ensemble of ``aniso run`` (:data:`numerics.validation.pipeline.ENSEMBLES`), each headline
observable at several step factors on the *same* fields and directions (the realization seeds do not depend on the
step), so that the differences from the finest step are the step's bias, not noise.  The bias is compared with the
observable's statistical error at the papers' size, estimated from the study's own error as
``sigma_paper = sigma_study * sqrt(R_study / R_paper)`` (only the number of fields is scaled: the paper's larger
nside makes its error smaller still, so this is the lenient side for nside and the right one for the field variance
that dominates these observables).

The bias of an observable against the finest factor f0 is fitted with the Boris step's second-order law
``a (f^2 - f0^2)`` over all factors; its error is the delete-a-group jackknife over realizations of the paired
differences (which are *not* noise-free: in turbulence the trajectories at two steps decorrelate, so the paired
noise is comparable with the statistical error itself).  A factor is **acceptable** for an observable when the
fitted bias plus two errors is at most sigma_paper / 3 (issue 14's bound, shown to hold), **biased** when the fitted
bias minus two errors exceeds it (shown to fail), and unresolved otherwise.  The chosen factor (:func:`choose`)
keeps today's default unless it is shown biased and goes beyond it only through factors shown acceptable for
every observable.

Observables:

* "002" (002 Sec. 3: B0 + Giacalone-Jokipii, r_L = 0.1 L_c): K_par, K_perp, K_A (diffusion_tensor), the C_1 ratios
  and p of the relative-diffusion spectrum, and the small-scale theorem's total power (last time, both dipoles);
* "003" (003 Sec. 4 white noise): Chat_2/Chat_1 at the last time, alpha of the QLT fit and the running K.

The ensembles live in ``data_dir`` like those of ``aniso run`` (stored, resumable; the default factor's ensemble is
the run's own, so a data directory of ``aniso run`` at the same scale is reused).  Run it as
``python -m numerics.validation.step_study 002 --scale ci --data DIR --out results/step-study``.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from numerics import _validate as check
from numerics.validation.base import check_scale, jsonable

__all__ = ["FACTORS", "FAMILIES", "PAPER_REALIZATIONS", "step_config", "observables", "study", "second_order_fit", "choose",
           "table_md", "INTEGRATOR_CASES", "integrator_check", "integrator_table_md"]

#: the step factors dt * max(k_max, Omega_max) studied: 0.5x, 1x, 2x, 4x today's 0.1 and the refused bound 0.5
#: (8x = 0.8 is above STEP_LIMIT and cannot be run)
FACTORS = (0.05, 0.1, 0.2, 0.4, 0.5)
FAMILIES = ("002", "003")
#: the number of fields of each ensemble at the papers' size (002: 120, 003: 100)
PAPER_REALIZATIONS = {"002": 120, "003": 100}


def step_config(config, factor: float, integrator: str | None = None):
    """``config`` with the step ``factor / max(k_max, Omega_max)`` and ``integrator`` (None: the config's own): the
    config itself at its own integrator and factor, else with that ``dt`` (explicit) and a name that says them.  A
    factor above the integrator's refused bound is a ValueError."""
    from numerics.backtracking import config as cfgmod
    from numerics.backtracking import kernel

    integrator = config.integrator if integrator is None else kernel.check_integrator(integrator)
    factor = kernel.check_step_factor(factor, integrator)
    if config.dt is None and integrator == config.integrator and \
            factor == kernel.check_step_factor(config.step_factor, config.integrator):
        return config
    dt = kernel.default_step(cfgmod.make_field(config, 0), config.rigidity, factor, integrator)
    label = "" if integrator == "boris" else f"-{integrator}"
    return config.replace(dt=dt, step_factor=None, integrator=integrator, name=f"{config.name}{label}-step{factor:g}")


def observables(family: str, ens) -> dict:
    """name -> (value, standard error) of the headline observables of ``family`` on the stored ensemble ``ens``
    (the errors are those the comparisons report; for "003" the jackknife over realizations)."""
    out = {}
    if family == "002":
        from numerics.validation import diffusion_sim, relative_diffusion_sim, small_scale

        m = diffusion_sim.diffusion_tensor(ens, None).measured
        for k in ("K_par", "K_perp", "K_A"):
            out[k] = (float(m[k]), float(m[k + "_sem"]))
        m = relative_diffusion_sim.relative_diffusion_comparison(ens, None).measured
        for k in ("c1_ratio_parallel", "c1_ratio_perpendicular", "p", "p_perpendicular"):
            out[k] = (float(m[k]), float(m[k + "_err"]))
        m = small_scale.small_scale_theorem(ens, None).measured
        for label, v in m.items():
            if isinstance(v, dict) and "total_power" in v:
                key = "total_power_" + ("par" if "∥" in label or label.endswith("z") else "perp")
                out[key] = (float(v["total_power"][-1]), float(v["total_power_sem"][-1]))
    elif family == "003":
        from numerics.validation.base import jackknife

        R = ens.realizations
        vals, errs = jackknife(lambda keep: _qlt_values(_subset(ens, keep)), R)
        out = {k: (float(v), float(e)) for k, v, e in zip(("c2_over_c1", "K"), vals, errs)}
    else:
        raise ValueError(f"family={family!r}: must be one of {', '.join(FAMILIES)}")
    return out


def _qlt_values(ens) -> np.ndarray:
    """[Chat_2/Chat_1, K] at the last time of a 003 ensemble (as numerics.validation.qlt_sim measures them: Chat_l
    the noise-floor-subtracted spectrum of dI = g.r(-T), K the running TGK trace/3)."""
    from numerics.backtracking import skymaps

    g = np.asarray(ens.config.gradients[0], dtype=float)
    sp = skymaps.ensemble_spectrum(ens.cross_cl, ens.moments, None, skymaps.gradient_coefficients(g, None),
                                   nside=ens.nside)
    hat = sp.mean[-1] - sp.noise_floor[-1]
    K = np.trace(-ens.moments[:, -1, 6:9, 0:3], axis1=-2, axis2=-1).mean() / 3.0
    return np.array([hat[2] / hat[1], K])


def _subset(ens, keep):
    """The stored ensemble ``ens`` restricted to the realizations ``keep`` (a boolean mask)."""
    import copy

    keep = np.asarray(keep, dtype=bool)
    sub = copy.copy(ens)
    sub.index, sub.cross_cl, sub.moments, sub.means = ens.index[keep], ens.cross_cl[keep], ens.moments[keep], \
        ens.means[keep]
    full_maps = ens.maps

    def maps(times=None):
        return full_maps(times)[keep]

    sub.maps = maps
    return sub


def _groups(R: int, n: int) -> list[np.ndarray]:
    """``n`` delete-a-group jackknife masks (each drops one of n contiguous groups of the R realizations)."""
    masks = []
    for part in np.array_split(np.arange(R), min(n, R)):
        keep = np.ones(R, dtype=bool)
        keep[part] = False
        masks.append(keep)
    return masks


def _jk_err(samples: np.ndarray) -> float:
    """The delete-a-group jackknife standard error of an estimator from its n group-deleted values."""
    n = samples.size
    return float(np.sqrt((n - 1) / n * np.sum((samples - samples.mean()) ** 2)))


def study(family: str, scale: str = "ci", data_dir="aniso-data", factors=FACTORS, *, realizations=None, threads=None,
          groups: int = 12, progress=True) -> dict:
    """Simulate ensemble ``family`` at ``scale`` with each step factor (same seeds) and measure its observables.

    For each observable: its value and error at each factor, the bias against the finest factor with the
    delete-a-group jackknife error of that paired difference (``groups`` groups of realizations), and the fit of the
    second-order law ``bias(f) = a (f^2 - f_0^2)`` (the Boris step's order) over all factors, with its jackknife
    error.  A factor is acceptable for an observable when the fitted bias there, plus two of its errors, is at most
    sigma_paper / 3 (the bias is *shown* to be that small), biased when the fitted bias minus two errors exceeds it;
    the chosen factor is :func:`choose`'s.  Returns a JSON-able dict (module docstring).
    """
    from numerics import provenance
    from numerics.backtracking import kernel, simulation
    from numerics.validation import pipeline

    check.choice("family", family, FAMILIES)
    check_scale(scale)
    factors = sorted(float(check.positive("factors", f, single=True)) for f in factors)
    if len(factors) < 3:
        raise ValueError(f"factors={factors}: need at least three step factors (a reference and a fit)")
    groups = check.integer("groups", groups, 3, 1000)
    base = pipeline.ensemble_config(family, scale)
    if realizations is not None:
        from numerics.backtracking.config import MAX_REALIZATIONS

        base = base.replace(realizations=check.integer("realizations", realizations, 3, MAX_REALIZATIONS))
    # the Boris step's study (its second-order law is fitted), whatever integrator the preset uses
    configs = [step_config(base, f, "boris") for f in factors]  # refuses a factor above the bound before any work
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    R, R_paper = base.realizations, PAPER_REALIZATIONS[family]
    masks = _groups(R, groups)
    rows, jk = [], []
    for f, cfg in zip(factors, configs):
        path = pipeline.ensemble_path(cfg, data_dir)
        t0 = time.perf_counter()
        ens = simulation.run_ensemble(cfg, path, threads=threads, progress=progress)
        seconds = time.perf_counter() - t0
        obs = observables(family, ens)
        jk.append(_group_values(family, ens, masks))
        dt = cfg.dt if cfg.dt is not None else kernel.default_step(simulation.make_field(cfg, 0), cfg.rigidity)
        rows.append({"factor": f, "dt": dt, "seconds": round(seconds, 1), "path": str(path), "observables": obs})
    fits = {}
    for k, (_, e0) in rows[0]["observables"].items():
        sigma_paper = e0 * math.sqrt(R / R_paper)
        fit = second_order_fit(factors, [row["observables"][k][0] for row in rows], [j[k] for j in jk])
        fits[k] = {"a": fit["a"], "a_err": fit["a_err"], "sigma_paper": sigma_paper, "sigma_study": e0}
        for i, row in enumerate(rows):
            f, f_err = fit["fit"][i], fit["fit_err"][i]
            row.setdefault("bias", {})[k] = {
                "bias": fit["bias"][i], "bias_err": fit["bias_err"][i], "fit": f, "fit_err": f_err,
                "over_sigma_paper": fit["bias"][i] / sigma_paper if sigma_paper > 0 else float("inf"),
                "fit_over_sigma_paper": f / sigma_paper if sigma_paper > 0 else float("inf"),
                "acceptable": bool(abs(f) + 2 * f_err <= sigma_paper / 3),
                "biased": bool(abs(f) - 2 * f_err > sigma_paper / 3)}
    return jsonable({"family": family, "scale": scale, "config": base.name, "realizations": R,
                     "paper_realizations": R_paper, "nside": base.nside, "n_modes": base.n_modes, "groups": len(masks),
                     "integrator": "boris",
                     "default_factor": kernel.DEFAULT_STEP_FACTOR, "step_limit": kernel.STEP_LIMIT, "rows": rows,
                     "fits": fits, "chosen_factor": choose(rows, kernel.DEFAULT_STEP_FACTOR),
                     "machine": provenance.machine(), "commit": provenance.commit(),
                     "criterion": "acceptable: |a (f^2 - f0^2)| + 2 err <= sigma_paper / 3; biased: |a (f^2 - f0^2)| "
                                  "- 2 err > sigma_paper / 3; a fitted to the biases against the finest factor f0, "
                                  "sigma_paper = sigma_study sqrt(R_study / R_paper); chosen: the largest factor "
                                  "reached without a biased observable, beyond the default only through factors "
                                  "acceptable for every observable"})


#: the integrator comparison: today's Boris step, the finer reference and the fourth-order composition at its default
INTEGRATOR_CASES = (("boris", 0.05), ("boris", 0.1), ("yoshida4", 0.9))


def integrator_check(family: str, scale: str = "ci", data_dir="aniso-data", *, cases=INTEGRATOR_CASES,
                     realizations=None, threads=None, groups: int = 12, progress=True) -> dict:
    """The headline observables of ensemble ``family`` with each (integrator, step factor) of ``cases`` on the same
    fields; the first case is the reference, the second today's default.

    Per observable and case: the paired difference from the reference and from today's default, each with its
    delete-a-group jackknife error, in units of sigma_paper (the reference's error scaled to the papers' number of
    fields) and of sigma_study (the error at this scale).  A case ``keeps`` an observable when its difference from
    today's default is within today's own error at this scale (the issue's "within its error of today's values")
    and is ``consistent`` with the reference when the difference from it is within two of its paired errors.
    """
    from numerics import provenance
    from numerics.backtracking import simulation
    from numerics.validation import pipeline

    check.choice("family", family, FAMILIES)
    check_scale(scale)
    groups = check.integer("groups", groups, 3, 1000)
    base = pipeline.ensemble_config(family, scale)
    if realizations is not None:
        from numerics.backtracking.config import MAX_REALIZATIONS

        base = base.replace(realizations=check.integer("realizations", realizations, 3, MAX_REALIZATIONS))
    configs = [step_config(base, f, integ) for integ, f in cases]  # refuses a bad case before any work
    if len(configs) < 2:
        raise ValueError(f"cases={cases!r}: need a reference and today's default at least")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    R, R_paper = base.realizations, PAPER_REALIZATIONS[family]
    masks = _groups(R, groups)
    rows, jk = [], []
    for (integ, f), cfg in zip(cases, configs):
        path = pipeline.ensemble_path(cfg, data_dir)
        t0 = time.perf_counter()
        ens = simulation.run_ensemble(cfg, path, threads=threads, progress=progress)
        seconds = time.perf_counter() - t0
        rows.append({"integrator": integ, "factor": f, "dt": cfg.step(simulation.make_field(cfg, 0)),
                     "seconds": round(seconds, 1), "path": str(path), "observables": observables(family, ens)})
        jk.append(_group_values(family, ens, masks))
    for k in rows[0]["observables"]:
        sigma_study = rows[1]["observables"][k][1]
        sigma_paper = rows[0]["observables"][k][1] * math.sqrt(R / R_paper)
        for i, row in enumerate(rows):
            out = {}
            for ref, tag in ((0, "reference"), (1, "default")):
                d = row["observables"][k][0] - rows[ref]["observables"][k][0]
                err = _jk_err(np.asarray(jk[i][k]) - np.asarray(jk[ref][k]))
                out[tag] = {"difference": d, "error": err,
                            "over_sigma_paper": d / sigma_paper if sigma_paper > 0 else None,
                            "over_sigma_study": d / sigma_study if sigma_study > 0 else None}
            out["keeps"] = bool(abs(out["default"]["difference"]) <= sigma_study)
            out["consistent"] = bool(abs(out["reference"]["difference"]) <= 2 * out["reference"]["error"])
            row.setdefault("compared", {})[k] = out
    return jsonable({"family": family, "scale": scale, "config": base.name, "realizations": R,
                     "paper_realizations": R_paper, "nside": base.nside, "n_modes": base.n_modes, "groups": len(masks),
                     "cases": [list(c) for c in cases], "rows": rows, "machine": provenance.machine(),
                     "commit": provenance.commit()})


def integrator_table_md(result: dict) -> str:
    """The integrator check as a Markdown table: per observable and case, the difference from today's default in
    units of sigma_study (its error at this scale; ✓ within it) and from the reference with its paired error."""
    rows = result["rows"]
    names = list(rows[0]["observables"])
    label = [f"{r['integrator']} {r['factor']:g}" for r in rows]
    lines = ["| observable | " + f"{label[1]} (today) ± sigma_study | today vs {label[0]} ± paired err | "
             + " | ".join(f"{lab}: vs today / sigma_study; vs {label[0]} ± paired err" for lab in label[2:]) + " |",
             "|---|---|---|" + "---|" * (len(rows) - 2)]
    for k in names:
        v, e = rows[1]["observables"][k]
        c = rows[1]["compared"][k]["reference"]
        cells = [f"{c['difference']:+.3g} ± {c['error']:.2g}"]
        for r in rows[2:]:
            c = r["compared"][k]
            cells.append(f"{_num(c['default']['over_sigma_study'], '+.2f')}{' ✓' if c['keeps'] else ' ✗'}; "
                         f"{c['reference']['difference']:+.3g} ± {c['reference']['error']:.2g}")
        lines.append(f"| {k} | {v:.4g} ± {e:.2g} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{result['realizations']} fields (nside {result['nside']}, {result['n_modes']} modes), the same fields "
                 f"for every case; {result['groups']} jackknife groups for the paired errors.  ✓: within today's error "
                 "at this scale.  Wall time per ensemble (s; 0: stored): "
                 + ", ".join(f"{lab}: {r['seconds']:.0f}" for lab, r in zip(label, rows)) + ".")
    return "\n".join(lines) + "\n"


def second_order_fit(factors, values, group_values) -> dict:
    """The bias of an observable against the finest step factor and its second-order law.

    ``values[i]``: the observable at ``factors[i]`` (ascending; the first is the reference); ``group_values[i]``:
    its values on the same group-deleted sub-ensembles at each factor.  Returns lists over the factors ``bias``
    (value - value at the first factor) and ``bias_err`` (the jackknife error of that paired difference), ``fit``
    = a (f^2 - f_0^2) with ``a`` the least-squares slope over all factors, and ``fit_err`` from the jackknife of
    ``a``; and ``a``, ``a_err``.
    """
    f = np.asarray(factors, dtype=float)
    x = f ** 2 - f[0] ** 2
    b = np.asarray(values, dtype=float) - float(values[0])
    d = np.asarray(group_values, dtype=float) - np.asarray(group_values[0], dtype=float)[None, :]
    a = float(x @ b / (x @ x))
    a_err = _jk_err((x @ d) / (x @ x))
    return {"a": a, "a_err": a_err, "bias": b.tolist(), "bias_err": [_jk_err(row) for row in d],
            "fit": (a * x).tolist(), "fit_err": (a_err * x).tolist()}


def _group_values(family, ens, masks) -> dict:
    """name -> the observable's values on the group-deleted sub-ensembles ``masks``."""
    if family == "003":
        arr = np.array([_qlt_values(_subset(ens, m)) for m in masks])
        return {"c2_over_c1": arr[:, 0], "K": arr[:, 1]}
    vals = [observables(family, _subset(ens, m)) for m in masks]
    return {k: np.array([v[k][0] for v in vals]) for k in vals[0]}


def choose(rows, default: float) -> float:
    """The step factor the study supports: starting from the finest, a factor is taken when no observable is *shown
    biased* there (fitted bias minus two errors above sigma_paper / 3) and it is either at most ``default`` (today's
    step, kept unless shown biased) or *shown acceptable* for every observable (fitted bias plus two errors at most
    sigma_paper / 3); the first factor that fails ends the search."""
    best = rows[0]["factor"]
    for row in rows[1:]:
        biases = row["bias"].values()
        if any(b["biased"] for b in biases):
            break
        if row["factor"] > default and not all(b["acceptable"] for b in biases):
            break
        best = row["factor"]
    return best


def table_md(result: dict) -> str:
    """The study as a Markdown table: per observable and factor, the measured bias and the fitted second-order bias,
    both in units of sigma_paper (the fitted one with its error; ✓ where acceptable)."""
    rows = result["rows"]
    names = list(rows[0]["observables"])
    head = ("| observable | value (f = " + f"{rows[0]['factor']:g}) | sigma_paper | "
            + " | ".join(f"f = {r['factor']:g}" for r in rows[1:]) + " |")
    lines = [head, "|" + "---|" * (3 + len(rows) - 1)]
    for k in names:
        v = rows[0]["observables"][k][0]
        sp = result["fits"][k]["sigma_paper"]
        cells = []
        for r in rows[1:]:
            b = r["bias"][k]
            if sp is None or not sp > 0 or b["fit_err"] is None:
                cells.append("n/a")
                continue
            mark = " ✓" if b["acceptable"] else " ✗" if b.get("biased") else ""
            cells.append(f"{b['bias'] / sp:+.2f} ({b['fit'] / sp:+.2f} ± {b['fit_err'] / sp:.2f}){mark}")
        lines.append(f"| {k} | {_num(v, '.4g')} | {_num(sp, '.2g')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Entries: measured bias against f = {rows[0]['factor']:g} in units of sigma_paper, then in brackets the "
                 "second-order fit a (f^2 - f0^2) ± its jackknife error; ✓ (shown small): |fit| + 2 errors <= "
                 "sigma_paper / 3; ✗ (shown biased): |fit| - 2 errors > sigma_paper / 3; unmarked: not resolved. "
                 f"{result['realizations']} fields (nside {result['nside']}, {result['n_modes']} modes), "
                 f"{result['groups']} jackknife groups; sigma_paper = sigma_study sqrt({result['realizations']}/"
                 f"{result['paper_realizations']}). Chosen factor (today's {result['default_factor']:g} kept unless shown "
                 f"biased, a larger one only where shown small): {result['chosen_factor']:g}. "
                 "Wall time per ensemble (s; 0: stored): " + ", ".join(f"{r['factor']:g}: {r['seconds']:.0f}" for r in rows)
                 + ".")
    return "\n".join(lines) + "\n"


def _num(x, fmt) -> str:
    return "n/a" if x is None else format(x, fmt)


def _main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m numerics.validation.step_study", description=__doc__.split("\n")[0])
    ap.add_argument("family", choices=FAMILIES)
    ap.add_argument("--scale", default="ci")
    ap.add_argument("--data", default="aniso-data")
    ap.add_argument("--out", default="results/step-study")
    ap.add_argument("--realizations", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--factors", type=float, nargs="+", default=list(FACTORS))
    ap.add_argument("--groups", type=int, default=12)
    ap.add_argument("--integrators", action="store_true",
                    help="compare the integrators (INTEGRATOR_CASES) instead of the step factors")
    a = ap.parse_args(argv)
    try:
        t0 = time.perf_counter()
        if a.integrators:
            res = integrator_check(a.family, a.scale, a.data, realizations=a.realizations, threads=a.threads,
                                   groups=a.groups)
        else:
            res = study(a.family, a.scale, a.data, a.factors, realizations=a.realizations, threads=a.threads,
                        groups=a.groups)
        res["total_s"] = round(time.perf_counter() - t0, 1)
    except ValueError as exc:
        print(f"step_study: error: {exc}")
        return 2
    from numerics.files import atomic_write_all

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{a.family}-{a.scale}" + ("-integrators" if a.integrators else "")
    text = integrator_table_md(res) if a.integrators else table_md(res)
    texts = {out / f"{stem}.json": json.dumps(res, indent=1, allow_nan=False), out / f"{stem}.md": text}
    atomic_write_all({p: (lambda tmp, t=t: Path(tmp).write_text(t)) for p, t in texts.items()})
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
