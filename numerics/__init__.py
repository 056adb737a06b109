"""Numeric kernels and simulations of the anisotropy workbench.

Importing this package never imports SymPy: the kernels in ``numerics.kernels`` are
generated source, written by ``aniso build`` from the derivation records in ``theory``.
"""
from numerics import compton_getting, diffusion, hierarchy, observation, partial_sky, qlt, relative_diffusion, wigner

__version__ = "0.1.0"
__all__ = ["compton_getting", "diffusion", "hierarchy", "observation", "partial_sky", "qlt", "relative_diffusion",
           "wigner", "__version__"]
