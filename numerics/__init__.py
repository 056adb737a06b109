"""Numeric kernels and simulations of the anisotropy workbench.

Importing this package never imports SymPy: the kernels in ``numerics.kernels`` are
generated source, written by ``aniso build`` from the derivation records in ``theory``.
The simulation modules (``turbulence``, ``backtrack``, ``skymaps``, ``simulation``,
``storage``) load numba, healpy and h5py, so they are imported on first use.
"""
import importlib

from numerics import compton_getting, diffusion, hierarchy, observation, partial_sky, qlt, relative_diffusion, wigner

__version__ = "0.1.0"
_LAZY = ("turbulence", "backtrack", "skymaps", "simulation", "storage", "simreport")
__all__ = ["compton_getting", "diffusion", "hierarchy", "observation", "partial_sky", "qlt", "relative_diffusion",
           "wigner", *_LAZY, "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"numerics.{name}")
    raise AttributeError(f"module 'numerics' has no attribute {name!r}")
