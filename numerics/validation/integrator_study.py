"""Does a fourth-order integrator pay?  Boris against its fourth-order compositions, in mode evaluations per accuracy.

Issue 14, item 1, second half.  The backtracker's step (:mod:`numerics.backtracking.boris`) is the Boris
drift-kick-drift map S(h): symmetric (S(-h) = S(h)^-1: the Cayley rotation and the half drifts are each
reversible), volume preserving and second order.  Symmetric compositions of it are of fourth order:

* ``yoshida4`` (Yoshida 1990, the "triple jump", = Forest-Ruth): S(w1 h) S(w0 h) S(w1 h),
  w1 = 1/(2 - 2^(1/3)), w0 = 1 - 2 w1 (a backward substep): 3 field evaluations per step;
* ``suzuki4`` (Suzuki 1990, the fractal composition): S(p h)^2 S((1 - 4p) h) S(p h)^2, p = 1/(4 - 4^(1/3)):
  5 evaluations per step, much smaller error constant.

Each inherits reversibility and volume preservation (compositions of maps that have them, symmetric weights).
The cost is the number of field evaluations (mode evaluations = evaluations x modes x particles), the accuracy the
rms error of the momentum directions (what a sky map is made of) and of the positions (times k_max) at fixed
backtracking times, against a reference at a 16x finer step of ``suzuki4``.  The comparison is
at equal accuracy: the cost of each scheme interpolated (log-log) to the error of Boris at today's default step
factor 0.1, divided into Boris's own cost there; > 1 means the composition would pay.

Run ``python -m numerics.validation.integrator_study --out results/step-study`` (a few minutes on 2 cores); the
result is ``integrator.json`` and ``integrator.md`` there.  The step factor here is h max(k_max, Omega_max) of the
*whole* step; factors above the backtracker's bound 0.5 are part of the study (a composition's substeps are
different anyway) and are not a setting of the backtracker.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from numerics.backtracking.boris import composed_steps
from numerics.backtracking.kernel import BLOCK, COMPOSITIONS, kernel_field, step_scales

__all__ = ["SCHEMES", "weights", "integrate", "study", "table_md"]

_P = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
#: substep weights of each scheme (fractions of the step; they sum to 1): the backtracker's two and Suzuki's
SCHEMES = {**COMPOSITIONS, "suzuki4": (_P, _P, 1.0 - 4.0 * _P, _P, _P)}
#: the step factors h max(k_max, Omega_max) studied per scheme
FACTORS = {"boris": (0.025, 0.05, 0.1, 0.2, 0.3, 0.5), "yoshida4": (0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 2.0, 2.5),
           "suzuki4": (0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0)}
REFERENCE = ("suzuki4", 0.05)  # scheme and factor of the reference trajectories
#: a direction error above this means the trajectories have decorrelated from the reference (chaos): the error then
#: measures the divergence of neighbouring trajectories, not the integrator's accuracy, and no gain is read off
DECORRELATED = 0.1
DEFAULT = ("boris", 0.1)


def weights(scheme: str) -> np.ndarray:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r}: must be one of {sorted(SCHEMES)}")
    return np.asarray(SCHEMES[scheme], float)


def integrate(field, directions, times, factor: float, scheme: str = "boris", rigidity: float = 1.0):
    """Backtrack ``directions`` (M, 3) from the origin (antiparticle, as ``boris.backtrack``) with ``scheme`` at the
    step ``factor / max(k_max, Omega_max)`` (shortened so that each interval between the ``times`` is a whole number
of steps: every scheme and factor reaches exactly the same times); returns (positions, momenta) of shape
    (K, M, 3) (the cosmic ray's p(-T) = -u) and the field evaluations per particle at the last time."""
    w = weights(scheme)
    if not (factor > 0 and math.isfinite(factor)):
        raise ValueError(f"factor={factor!r}: must be a positive number")
    k_max, omega_max = step_scales(field, rigidity)
    h = factor / max(k_max, omega_max)
    times = np.asarray(times, float)
    dirs = -np.asarray(directions, float).reshape(-1, 3)
    m = dirs.shape[0]
    mpad = -(-m // BLOCK) * BLOCK
    state = np.zeros((6, mpad))
    state[3:, :m] = dirs.T
    state[3:, m:] = dirs[-1:].T
    kern = kernel_field(field, 0.5 / -rigidity)
    pos = np.empty((times.size, m, 3))
    mom = np.empty((times.size, m, 3))
    evaluations, last = 0, 0.0
    for j, t in enumerate(times):  # each interval in whole steps of at most h: every scheme reaches the same times
        n = max(1, math.ceil((t - last) / h * (1 - 1e-12)))
        composed_steps(state, *kern, (t - last) / n, w, n)
        evaluations += n * w.size
        last = t
        pos[j] = state[:3, :m].T
        mom[j] = -state[3:, :m].T
    return pos, mom, times, evaluations


def _fields(scale: str = "quick"):
    """The first field of the 002 and of the 003 ensemble of ``aniso run`` and their recorded Omega T."""
    from numerics.backtracking import config as cfgmod
    from numerics.validation import pipeline

    out = {}
    for name, omega_t in (("002", (1.0, 10.0, 100.0)), ("003", (0.1, 1.0, 10.0))):
        cfg = pipeline.ensemble_config(name, scale)
        out[name] = (cfgmod.make_field(cfg, 0), np.asarray(omega_t) / cfg.omega_ref, omega_t, cfg.rigidity,
                     cfg.n_modes)
    return out


def study(particles: int = 256, seed: int = 14, progress: bool = True) -> dict:
    """Errors and costs of every scheme and factor (module docstring) on the 002 and 003 fields."""
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(particles, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    result = {"particles": particles, "seed": seed, "reference": list(REFERENCE), "schemes": {k: list(v) for k, v in
                                                                                              SCHEMES.items()},
              "fields": {}}
    for name, (field, times, omega_t, rigidity, n_modes) in _fields().items():
        k_max, omega_max = step_scales(field, rigidity)
        t0 = time.perf_counter()
        ref_pos, ref_mom, _, _ = integrate(field, dirs, times, REFERENCE[1], REFERENCE[0], rigidity)
        check_pos, check_mom, _, _ = integrate(field, dirs, times, 2 * REFERENCE[1], REFERENCE[0], rigidity)
        rows = []
        for scheme, factors in FACTORS.items():
            for f in factors:
                pos, mom, recorded, evals = integrate(field, dirs, times, f, scheme, rigidity)
                rows.append({
                    "scheme": scheme, "factor": f, "evaluations_per_unit_time": evals / float(recorded[-1]),
                    "mode_evaluations_per_particle_and_unit_time": evals / float(recorded[-1]) * n_modes,
                    "direction_error": np.sqrt(np.mean(np.sum((mom - ref_mom) ** 2, axis=2), axis=1)).tolist(),
                    "position_error_k_max": (k_max * np.sqrt(np.mean(np.sum((pos - ref_pos) ** 2, axis=2), axis=1))).tolist(),
                })
                if progress:
                    print(f"{name} {scheme:9s} {f:5.3f}  direction error {rows[-1]['direction_error']}", flush=True)
        result["fields"][name] = {
            "omega_t": list(omega_t), "k_max": k_max, "omega_max": omega_max, "limited_by": "k_max" if k_max >= omega_max
            else "Omega_max", "n_modes": n_modes,
            "reference_self_error": np.sqrt(np.mean(np.sum((check_mom - ref_mom) ** 2, axis=2), axis=1)).tolist(),
            "rows": rows, "equal_accuracy": _equal_accuracy(rows, len(times)), "seconds": time.perf_counter() - t0}
    return result


def _equal_accuracy(rows, n_times) -> list[dict]:
    """Per recorded time: each scheme's cost (evaluations per unit time) at the direction error of Boris at the default
    factor (log-log interpolation between the factors that bracket it), and Boris's cost over it (the gain)."""
    out = []
    base = next(r for r in rows if (r["scheme"], r["factor"]) == DEFAULT)
    for k in range(n_times):
        target = base["direction_error"][k]
        gains = {}
        for scheme in SCHEMES:
            pts = sorted((r["evaluations_per_unit_time"], r["direction_error"][k]) for r in rows if r["scheme"] == scheme)
            cost = None
            for (c0, e0), (c1, e1) in zip(pts, pts[1:]):  # costs ascending, errors descending
                if e1 <= target <= e0 and e0 > 0 and e1 > 0:
                    x = (math.log(target) - math.log(e1)) / (math.log(e0) - math.log(e1)) if e0 != e1 else 0.0
                    cost = math.exp(math.log(c1) + x * (math.log(c0) - math.log(c1)))
                    break
            if cost is None and pts and pts[0][1] <= target:  # already more accurate at its cheapest factor
                gains[scheme] = {"cost": pts[0][0], "gain_at_least": base["evaluations_per_unit_time"] / pts[0][0]}
                continue
            gains[scheme] = {"cost": cost, "gain": None if cost is None else base["evaluations_per_unit_time"] / cost}
        out.append({"target_direction_error": target, "schemes": gains, "decorrelated": bool(target > DECORRELATED)})
    return out


def _orders(rows, scheme, k) -> float:
    """The fitted slope of log(direction error) against log(factor) over the scheme's factors (the order)."""
    pts = [(r["factor"], r["direction_error"][k]) for r in rows if r["scheme"] == scheme and r["direction_error"][k] > 0]
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def table_md(result: dict) -> str:
    lines = ["# Boris against its fourth-order compositions", "",
             f"{result['particles']} directions (seed {result['seed']}), the first field of each `aniso run` quick ensemble; "
             f"reference {result['reference'][0]} at factor {result['reference'][1]}.  Error: rms |p - p_ref| of the "
             "momentum directions.  Cost: field evaluations per unit backtracking time (x n_modes x particles = mode "
             "evaluations).  Gain: Boris's cost at factor 0.1 over the scheme's cost at Boris's error there.", ""]
    for name, f in result["fields"].items():
        lines += [f"## {name} (step limited by {f['limited_by']}: k_max = {f['k_max']:.4g}, Omega_max = "
                  f"{f['omega_max']:.4g}; reference's own error {', '.join(f'{e:.1e}' for e in f['reference_self_error'])})",
                  "", "| scheme | factor | evals/unit time | " + " | ".join(f"error at Omega T = {t:g}" for t in f["omega_t"])
                  + " |", "|---|---|---|" + "---|" * len(f["omega_t"])]
        for r in f["rows"]:
            lines.append(f"| {r['scheme']} | {r['factor']:g} | {r['evaluations_per_unit_time']:.4g} | "
                         + " | ".join(f"{e:.2e}" for e in r["direction_error"]) + " |")
        lines += ["", "| Omega T | Boris error at 0.1 | " + " | ".join(f"gain of {s}" for s in SCHEMES if s != "boris")
                  + " | fitted orders (boris, yoshida4, suzuki4) |", "|---|---|" + "---|" * (len(SCHEMES) - 1) + "---|"]
        for k, (t, eq) in enumerate(zip(f["omega_t"], f["equal_accuracy"])):
            cells = []
            for s in SCHEMES:
                if s == "boris":
                    continue
                g = eq["schemes"][s]
                cells.append("decorrelated" if eq["decorrelated"] else f">= {g['gain_at_least']:.2f}"
                             if "gain_at_least" in g else ("n/a" if g["gain"] is None else f"{g['gain']:.2f}"))
            orders = ", ".join(f"{_orders(f['rows'], s, k):.2f}" for s in SCHEMES)
            lines.append(f"| {t:g} | {eq['target_direction_error']:.2e} | " + " | ".join(cells) + f" | {orders} |")
        lines.append("")
    lines.append(f"'decorrelated': Boris's error there exceeds {DECORRELATED} -- the trajectories have diverged from the "
                 "reference (chaos), so the error measures that divergence, not the integrator; the sky-map statistics "
                 "at such times are what the step-size study and the integrator check of the observables test.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m numerics.validation.integrator_study", description=__doc__.split("\n")[0])
    p.add_argument("--particles", type=int, default=256)
    p.add_argument("--out", default="results/step-study")
    a = p.parse_args(argv)
    if a.particles < 1:
        p.error(f"--particles={a.particles}: must be >= 1")
    t0 = time.perf_counter()
    res = study(a.particles)
    from numerics import provenance

    res.update(seconds=time.perf_counter() - t0, machine=provenance.machine(), commit=provenance.commit())
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from numerics.files import atomic_write

    atomic_write(out / "integrator.json", lambda tmp: Path(tmp).write_text(json.dumps(res, indent=1) + "\n"))
    atomic_write(out / "integrator.md", lambda tmp: Path(tmp).write_text(table_md(res)))
    print(f"wrote {out / 'integrator.json'} and integrator.md ({res['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
