"""How long before it starts: the wall-time estimate that ``aniso run`` and ``aniso simulate`` print first.

The planned work is counted, the speed is measured here, now:

* backtracking -- every ensemble's missing realizations and every comparison's own measurement
  (:attr:`numerics.validation.base.Spec.work`; rows already stored in the data directory are left out), in mode
  evaluations (:func:`numerics.backtracking.boris.mode_evaluations`), divided by the rate of a short calibration of
  the backtracker on this machine (:func:`calibrate`, a fraction of a second);
* everything else -- the derivation checks, the analytic comparisons, the sky-map analyses and the report -- as
  the seconds it took on the reference machine (:data:`REFERENCE`), scaled by how much slower a short SymPy probe
  (:func:`probe`) runs here than there.

An estimate, not a promise: a busy machine is slower than it was while calibrating (the progress bars then say
more), and a GPU or a Dask cluster is not what the calibration measured (no estimate is printed for them).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Estimate", "calibrate", "probe", "for_run", "for_simulation", "REFERENCE"]

#: measured on the reference machine (the 2-core AMD EPYC, Zen 4, AVX-512, of issue 19's session, idle; two ci runs,
#: fresh and with everything stored): the SymPy probe's seconds, and the seconds of what the calibration does not
#: cover -- the derivation checks with the kernel freshness check and the analytic comparisons, the report, and the
#: backtracking comparisons' analyses besides their backtracking (all of them together, per scale; quick from a
#: second quick run on a loaded machine, paper a guess: nobody has run it)
REFERENCE = {
    "probe_s": 0.071,
    "checks_s": 73.0,
    "report_s": 1.0,
    "analysis_s": {"ci": 16.0, "quick": 24.0, "paper": 120.0},
}


@dataclass
class Estimate:
    """The planned parts: (label, seconds) in ``parts``; ``rate`` the calibrated mode evaluations per second."""

    parts: list = field(default_factory=list)
    rate: float = float("nan")
    slowdown: float = 1.0

    @property
    def seconds(self) -> float:
        return float(sum(s for _, s in self.parts))

    def add(self, label: str, seconds: float) -> None:
        if seconds > 0:
            self.parts.append((label, float(seconds)))

    def text(self) -> str:
        """One line: the total and its largest parts, e.g. 'estimated wall time ~6 min (checks 1.3 min, 002 ...)'."""
        if not self.parts:
            return "estimated wall time on this machine: nothing to compute (every part is stored)"
        big = sorted(self.parts, key=lambda p: -p[1])[:4]
        detail = ", ".join(f"{label} {_fmt(s)}" for label, s in big)
        return (f"estimated wall time on this machine ~{_fmt(self.seconds)} ({detail}; backtracker calibrated at "
                f"{self.rate:.2g} mode evaluations/s; a busy machine is slower)")


def _fmt(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def probe() -> float:
    """Seconds of a fixed SymPy workload (expansion, factorisation, simplification; best of three):
    how fast symbolic work runs here, relative to :data:`REFERENCE`."""
    import sympy as sp

    x, y = sp.symbols("x y")
    best = float("inf")
    for _ in range(3):
        sp.core.cache.clear_cache()
        t0 = time.perf_counter()
        sp.factor(sp.expand((x + 2 * y + 1) ** 7 * (x - y) ** 3))
        sp.simplify(sp.sin(x) ** 2 + sp.cos(x) ** 2 + sp.exp(x) * sp.exp(y) / sp.exp(x + y))
        best = min(best, time.perf_counter() - t0)
    return best


def calibrate(threads=None, seconds: float = 0.3) -> float:
    """Mode evaluations per second of the CPU backtracker (Boris, a 256-mode field, 768 particles) with ``threads``
    numba threads (default: all), measured for about ``seconds`` after a warm-up."""
    from numerics.backtracking import boris, skymaps
    from numerics.backtracking.turbulence import PlaneWaveField

    field_ = PlaneWaveField.giacalone_jokipii(256, 2 * np.pi / 100.0, 2 * np.pi / 0.1, sigma2=1.0,
                                               regular=np.array([0.0, 0.0, 1.0]), seed=1)
    dirs = skymaps.directions(8)  # 768 particles, 12 blocks
    dt = boris.default_step(field_)
    boris.backtrack(field_, dirs, [4 * dt], dt=dt, threads=threads)  # compile (or load the cache), warm up
    steps, spent = 16, 0.0
    while True:
        t0 = time.perf_counter()
        boris.backtrack(field_, dirs, [steps * dt], dt=dt, threads=threads)
        spent = time.perf_counter() - t0
        if spent >= seconds or steps >= 1 << 20:
            break
        steps = int(steps * min(16.0, max(2.0, 1.2 * seconds / max(spent, 1e-6))))
    return boris.mode_evaluations(dirs.shape[0], steps, field_.n_modes) / spent


def _ensemble_evals(config, path) -> float:
    """Mode evaluations of the realizations of ``config`` that ``path`` (its results file) does not hold yet."""
    from numerics.backtracking import boris, kernel, simulation, storage

    stored = 0
    try:
        if path.exists() or Path(str(path) + ".parts").exists():
            stored = sum(1 for i in storage.Journal(path, config).done if i < config.realizations)
    except (OSError, ValueError, KeyError):  # a foreign or damaged file: the run itself says so, in one line
        stored = 0
    missing = max(0, config.realizations - stored)
    if missing == 0:
        return 0.0
    steps = kernel.steps_for(config.times, config.step(simulation.make_field(config, 0)))[-1]
    return missing * boris.mode_evaluations(12 * config.nside ** 2, steps, config.n_modes, config.integrator)


def for_simulation(config, path, threads=None) -> Estimate:
    """The estimate of ``aniso simulate``: the realizations of ``config`` not yet stored in ``path``."""
    est = Estimate(rate=calibrate(threads))
    est.add(config.name, _ensemble_evals(config, Path(path)) / est.rate)
    return est


def for_run(scale: str, data_dir, only=None, threads=None) -> Estimate:
    """The estimate of ``aniso run --scale scale`` with its data in ``data_dir`` (``only``: as ``aniso run --only``)."""
    from numerics.validation import measurements, pipeline, registry

    names = registry.names("backtracker") if only is None else tuple(only)
    est = Estimate(rate=calibrate(threads))
    est.slowdown = probe() / REFERENCE["probe_s"]
    est.add("checks", REFERENCE["checks_s"] * est.slowdown)
    est.add("report", REFERENCE["report_s"] * est.slowdown)
    seen = set()
    for n in names:
        spec = registry.COMPARISONS[n]
        for key in spec.ensembles:
            if key in seen:
                continue
            seen.add(key)
            cfg = pipeline.ensemble_config(key, scale)
            evals = _ensemble_evals(cfg, pipeline.ensemble_path(cfg, data_dir))
            est.add(f"ensemble {key}", evals / est.rate)
        for w in (spec.work(scale) if spec.work is not None else ()):
            done = measurements.rows_stored(Path(data_dir), *w.stored) if w.stored is not None else 0
            est.add(w.label, max(0, w.rows - done) * w.evals_per_row / est.rate)
        est.add(f"{n} analysis", REFERENCE["analysis_s"][scale] * est.slowdown / len(registry.names("backtracker")))
    return est
