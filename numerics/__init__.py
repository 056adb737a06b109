"""Numeric kernels and simulations of the anisotropy workbench.

Importing this package never imports SymPy: the kernels in ``numerics.kernels`` are
generated source, written by ``aniso build`` from the derivation records in ``theory``.
The test-particle stack (``numerics.backtracking``), the validations (``numerics.validation``), the
report, the benchmarks and the CLI load numba, healpy, h5py or matplotlib, so they are imported on first
use; ``import numerics`` loads none of them (tests/test_layout.py).
"""
import importlib
import os

# healpy (and numba's "omp" threading layer) run OpenMP regions; with the default active wait policy their idle
# threads spin, and on a machine where another process or numba's own threads hold the cores every barrier waits
# for a descheduled spinner: a 20 ms map2alm sequence was seen to take 13 s.  Passive waiting costs nothing here
# (our parallel regions are long).  A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from numerics import compton_getting, diffusion, hierarchy, observation, partial_sky, qlt, relative_diffusion, wigner

__version__ = "0.1.0"
_LAZY = ("backtracking", "validation", "report", "bench", "estimate", "codegen", "cli")
__all__ = ["compton_getting", "diffusion", "hierarchy", "observation", "partial_sky", "qlt", "relative_diffusion",
           "wigner", *_LAZY, "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"numerics.{name}")
    raise AttributeError(f"module 'numerics' has no attribute {name!r}")
