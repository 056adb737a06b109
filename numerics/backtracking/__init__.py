"""The test-particle stack: turbulence, the Boris integrator (CPU and CUDA), sky maps, ensembles and their storage.

========================= ============================================================================
module                    what it holds
========================= ============================================================================
``turbulence``            :class:`PlaneWaveField`: Giacalone-Jokipii, white-noise and tabulated plane waves
``kernel``                what both integrators share: step criterion, kernel field layout, ``Trajectories``
``boris``                 the CPU Boris integrator (numba): :func:`trace`, :func:`backtrack`, :func:`evaluate`
``cuda``                  the same scheme on an NVIDIA GPU (numba.cuda), used through ``backend="cuda"``
``skymaps``               HEALPix sky maps, power and cross spectra, ensemble spectra, running diffusion
``config``                :class:`SimulationConfig`, the papers' presets, TOML files, seeding
``simulation``            one realization, a resumable ensemble (local or Dask)
``storage``               the HDF5 results file and its journal (atomic, resumable)
``simreport``             summaries and figures of a stored ensemble
========================= ============================================================================

Import rule: these modules import the physics API (``numerics.*``) and each other, never ``numerics.validation``,
``numerics.report`` or ``numerics.cli``; no two import each other.  The submodules load numba, healpy or h5py,
so this package imports them on first use only; the most used names are available here too.
"""
import importlib

_NAMES = {
    "PlaneWaveField": "turbulence",
    "Trajectories": "kernel", "default_step": "kernel", "check_step": "kernel", "log_times": "kernel",
    "trace": "boris", "backtrack": "boris", "evaluate": "boris",
    "SimulationConfig": "config", "preset": "config", "load_config": "config",
    "run_ensemble": "simulation", "read": "storage",
}
_MODULES = ("turbulence", "kernel", "boris", "cuda", "skymaps", "config", "simulation", "storage", "simreport")
__all__ = [*_MODULES, *_NAMES]


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
