"""Validation of the generated kernels against independent numerics.

Each comparison is a function returning a :class:`Comparison`: the measured and expected
values, the error, the tolerance and a verdict, plus an optional figure.  ``aniso run``
runs them all and writes the report.
"""
from numerics.validation.core import COMPARISONS, Comparison, run_all

__all__ = ["COMPARISONS", "Comparison", "run_all"]
