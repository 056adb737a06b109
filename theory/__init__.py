"""Symbolic derivations of the Ahlers-Mertsch papers (SymPy and mpmath only).

``theory.registry`` lists every formula as a derivation record with a ``check()``
that proves it; ``numerics`` never imports this package at run time.
"""
from theory.registry import all_records, errata, get, ids

__all__ = ["all_records", "errata", "get", "ids"]
