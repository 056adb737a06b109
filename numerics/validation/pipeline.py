"""The runner of ``aniso run``'s comparisons (:mod:`numerics.validation.registry`), and the stored ensembles they share.

===================== ============================================ ==========================================
comparison            what is simulated                             what it tests
===================== ============================================ ==========================================
diffusion_tensor      002 ensemble (GJ turbulence, B0, r_g = 0.1)   K_par, K_perp, K_A against BGK (nu fitted)
relative_diffusion    the same ensemble                             <C_1> ratios, C-hat_l/C-hat_1 vs (16), (6), (7)
qlt                   003 ensemble (white noise, no B0)             C-hat_l against the QLT steady state, alpha
small_scale_theorem   the 002 ensemble, homogeneous dipoles          sum (2l+1) <C_l> constant in T
compton_getting       its own backtracked maps (moving observer)     delta - delta* = (2 + Gamma) beta
transition_matrix     its own homogeneous l0 skies                   M_{l l0}(dT) against QLT entry by entry
markov_closure        the 003 ensembles' first fields, homogeneous   M(dT) Markovian? QLT's M(dT); 003's closure
                      skies                                          on the measured M
relative_scattering   pairs of directions through the 002 and 003   nu_r(x) of 002's model measured: its
                      ensembles' fields, s = 1e-11 .. 1              structure, nu_r(1), p, the spectrum it predicts
===================== ============================================ ==========================================

Scales: :data:`numerics.validation.base.SCALES`.  The ensembles are stored with
:mod:`numerics.backtracking.storage` in ``data_dir`` under a name that carries the hash of their physics
(``SimulationConfig.physics_hash``), so a later run with the same configuration reuses them (and resumes an
interrupted one); a changed configuration gets a new file.  The measurements of the comparisons that simulate their
own setup (compton_getting, transition_matrix) are stored there too (:mod:`numerics.validation.measurements`, keyed
by their parameters and the source of the code that measures them, field by field: resumed and extended like the
ensembles), so a second run recomputes nothing expensive.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from numerics import _validate as check
from numerics.backtracking import simulation
from numerics.validation import measurements, registry
from numerics.validation.base import Comparison, check_scale

__all__ = ["ENSEMBLES", "ensemble_config", "ensemble_path", "load_or_simulate", "comparison_input", "outcome",
           "run_comparison", "run_comparisons"]

#: The 002 ensemble at each scale.  The paper scale is 002's (the preset: nside 32, 256 modes, 120 fields).
#: ci and quick share their physics (nside 8, 64 modes: 16 per decade of the GJ band), so quick extends a
#: stored ci ensemble; they differ in the number of fields, which sets the statistical errors (the K_perp
#: and K_A of the diffusion tensor need ~40 fields to be resolved at 3 sigma).
_SIZES_002 = {"ci": dict(nside=8, n_modes=64, realizations=48), "quick": dict(nside=8, n_modes=64, realizations=96),
              "paper": {}}


def _config_002(scale: str) -> simulation.SimulationConfig:
    base = simulation.preset("ahlers-mertsch-2015", "paper" if scale == "paper" else "quick")
    return base.replace(name="validation-002" if scale != "paper" else "validation-002-paper", **_SIZES_002[scale])


def _config_003(scale: str, reading: str = "white-noise") -> simulation.SimulationConfig:
    from numerics.validation import qlt_sim

    return qlt_sim.qlt_config(scale, reading=reading)


def _config_003_per_ln_k(scale: str) -> simulation.SimulationConfig:
    return _config_003(scale, "per-ln-k")


#: the stored ensembles: name -> scale -> SimulationConfig ("003": 003 Sec. 4's white noise read as equal power per
#: unit k; "003-per-ln-k": read as equal power per ln k)
ENSEMBLES: dict[str, Callable[[str], simulation.SimulationConfig]] = {
    "002": _config_002, "003": _config_003, "003-per-ln-k": _config_003_per_ln_k}


def ensemble_config(name: str, scale: str) -> simulation.SimulationConfig:
    """The configuration of ensemble ``name`` ("002" or "003") at ``scale``."""
    check.choice("ensemble", name, tuple(ENSEMBLES))
    check_scale(scale)
    return ENSEMBLES[name](scale)


def ensemble_path(config: simulation.SimulationConfig, data_dir) -> Path:
    """``data_dir/<name>-<physics hash[:12]>.h5``: one file per physics, whatever the realization count."""
    return Path(data_dir) / f"{config.name.replace('/', '-')}-{config.physics_hash()[:12]}.h5"


def load_or_simulate(name: str, scale: str, data_dir, *, workers=None, dask_address=None, threads=None, backend="cpu",
                     progress=True) -> tuple:
    """The stored ensemble if it holds every realization, else simulate (or resume) it.

    Returns ``(Ensemble, info)`` with info = {"config", "path", "reused", "realizations", "nside", "physics_hash",
    "seconds"}.
    """
    from numerics.backtracking import storage

    config = ensemble_config(name, scale)
    path = ensemble_path(config, data_dir)
    t0 = time.perf_counter()
    reused = False
    if path.exists():
        ens = storage.read(path)  # refuses a foreign or corrupt file
        if ens.config.physics_hash() != config.physics_hash():
            raise ValueError(f"{path}: holds another configuration; move it away or use another --data directory")
        reused = ens.realizations >= config.realizations
        if reused:  # its first config.realizations fields: the numbers do not depend on what else was run before
            ens = storage.read(path, config=config)
    if not reused:
        path.parent.mkdir(parents=True, exist_ok=True)
        ens = simulation.run_ensemble(config, path, workers=workers, dask_address=dask_address, threads=threads,
                                      backend=backend, progress=progress)
    info = {"config": config.name, "path": str(path), "reused": reused, "realizations": ens.realizations,
            "nside": int(config.nside),
            "physics_hash": config.physics_hash(), "seconds": round(time.perf_counter() - t0, 2)}
    return ens, info


def comparison_input(name: str, ensembles: dict) -> dict:
    """The ensembles comparison ``name`` reads, from ``ensembles`` (key -> ensemble): a dict keyed by its spec's
    ``ensembles`` (empty for a comparison that simulates its own setup)."""
    spec = registry.COMPARISONS[name]
    missing = [key for key in spec.ensembles if key not in ensembles]
    if missing:
        raise KeyError(f"comparison {name!r} needs the ensembles {missing}")
    return {key: ensembles[key] for key in spec.ensembles}


def outcome(name: str, entry: dict) -> str:
    """'pass', 'known disagreement' (a failure of the kind its spec documents) or 'FAIL' (:meth:`Spec.outcome`)."""
    return registry.COMPARISONS[name].outcome(entry)


def run_comparison(name: str, ensembles: dict, figdir: Path | None = None, scale: str = "quick",
                   progress: bool = False) -> Comparison:
    """Run comparison ``name`` as ``aniso run`` does: on the ensembles it reads (from ``ensembles``, key -> ensemble;
    see :func:`comparison_input`), with its headline numbers lifted and its wall time recorded (backtracking ones)."""
    spec = registry.COMPARISONS[name]
    t0 = time.perf_counter()
    comp = spec.run(comparison_input(name, ensembles), figdir, scale, progress)
    if comp.name != name:
        raise RuntimeError(f"comparison {name!r} returned a result named {comp.name!r}")
    if spec.kind == "backtracker":
        comp.headline = {k: comp.measured.get(k) for k in spec.headline}
        comp.seconds = round(time.perf_counter() - t0, 2)
    return comp


def run_comparisons(figdir: Path | None, scale: str = "quick", data_dir="aniso-data", *, only=None, workers=None,
                    dask_address=None, threads=None, backend="cpu", progress=True,
                    tick: Callable[[str], None] | None = None) -> tuple[dict[str, Comparison], dict]:
    """Run the comparisons of the registry at ``scale``: the analytic ones, then the backtracking ones (all, or the
    names in ``only``); returns (name -> Comparison, ensembles info).

    Each stored ensemble is loaded or simulated once, just before the first comparison that needs it; ``tick(name)``
    is called after each comparison.  Arguments are checked before any work.
    """
    check_scale(scale)
    backtracker = registry.names("backtracker")
    if only is not None:
        for n in only:
            check.choice("comparison", n, backtracker)
    names = [*registry.names("analytic"), *(backtracker if only is None else only)]
    simulation.check_run_arguments(ensemble_config("002", scale), workers=workers, dask_address=dask_address,
                                   threads=threads, backend=backend)
    ensembles, info, out = {}, {}, {}
    with measurements.stored_in(data_dir):  # the comparisons' own measurements are stored beside the ensembles
        for n in names:
            for key in registry.COMPARISONS[n].ensembles:
                if key not in ensembles:
                    ensembles[key], info[key] = load_or_simulate(
                        key, scale, data_dir, workers=workers, dask_address=dask_address, threads=threads,
                        backend=backend, progress=progress)
            out[n] = run_comparison(n, ensembles, figdir, scale, progress)
            if tick is not None:
                tick(n)
    return out, info
