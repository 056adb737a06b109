"""Argument validation shared by the public numeric API.

Every check raises ``ValueError`` naming the parameter, the offending value and the
allowed range, before any work starts.

Magnitudes: a real input is finite and at most :data:`HUGE` in magnitude, and a quantity that must be positive
is at least :data:`TINY`.  No physical input in the workbench's units comes near either bound, and inside them the
kernels' products and quotients of a few inputs stay inside float64 (1e-308 .. 1.8e308), so a result is a number,
never an overflow to inf or a 0/0 (hostile-input property tests, tests/reliability/test_properties.py).
"""
from __future__ import annotations

import numpy as np

#: largest magnitude of any real input
HUGE = 1e100
#: smallest value of an input that must be positive
TINY = 1e-100


def show(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value)
    if arr.size <= 6:
        return " ".join(np.array2string(arr, precision=6, separator=", ").split())  # one line
    return f"array of shape {arr.shape}"


def _single(name: str, value, arr: np.ndarray):
    """``arr`` as a Python float, or ValueError if ``value`` is not a single number."""
    if arr.ndim != 0:
        raise ValueError(f"{name}={show(value)}: expected a single number, not an array of shape {arr.shape}")
    return float(arr)


def finite(name: str, value, *, allow_complex: bool = False, single: bool = False):
    """``value`` as a float (or complex) array with only finite entries (``single``: a Python float, and an array
    is refused)."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name}={value!r}: expected a real number or array of real numbers, not text")
    try:
        arr = np.asarray(value, dtype=complex if allow_complex else float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: expected a real number or array of real numbers") from None
    if single:
        _single(name, value, arr)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)] if arr.ndim else arr
        raise ValueError(f"{name}={show(value)}: must be finite (found {show(bad)})")
    if np.any(np.abs(arr) > HUGE):
        raise ValueError(f"{name}={show(value)}: magnitude above {HUGE:g} (allowed range [-{HUGE:g}, {HUGE:g}])")
    return float(arr) if single else arr


def positive(name: str, value, *, single: bool = False):
    arr = np.asarray(finite(name, value, single=single))
    if np.any(arr < TINY):
        raise ValueError(f"{name}={show(value)}: must be > 0 (allowed range [{TINY:g}, {HUGE:g}])")
    return float(arr) if single else arr


def in_range(name: str, value, low: float, high: float, *, closed: bool = True, unit: str = "", single: bool = False):
    arr = np.asarray(finite(name, value, single=single))
    ok = (arr >= low) & (arr <= high) if closed else (arr > low) & (arr < high)
    if not np.all(ok):
        lb, rb = ("[", "]") if closed else ("(", ")")
        raise ValueError(f"{name}={show(value)}: outside the allowed range {lb}{low}, {high}{rb}{unit}")
    return float(arr) if single else arr


def vectors(name: str, value) -> np.ndarray:
    """A 3-vector or an array of 3-vectors (last axis of length 3)."""
    arr = finite(name, value)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name}={show(value)}: expected shape (3,) or (..., 3), got {arr.shape}")
    return arr


def unit_vectors(name: str, value, tol: float = 1e-9) -> np.ndarray:
    arr = vectors(name, value)
    norm = np.linalg.norm(arr, axis=-1)
    if np.any(np.abs(norm - 1.0) > tol):
        raise ValueError(f"{name}={show(value)}: must be a unit vector (|{name}| = {show(norm)}; "
                         f"allowed |{name}| = 1 within {tol:g})")
    return arr


def velocities(name: str, value) -> np.ndarray:
    arr = vectors(name, value)
    speed = np.linalg.norm(arr, axis=-1)
    if np.any(speed >= 1.0):
        raise ValueError(f"{name}={show(value)}: |{name}| = {show(speed)} must be < 1 (allowed range [0, 1))")
    return arr


def choice(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"{name}={value!r}: must be one of {', '.join(map(repr, options))}")
    return value


def integer(name: str, value, low: int, high: int) -> int:
    """A single integer in [low, high] (an array is refused)."""
    if np.ndim(value) != 0:
        raise ValueError(f"{name}={show(value)}: expected a single integer in [{low}, {high}]")
    return int(integers(name, value, low, high))


def integers(name: str, value, low: int, high: int) -> np.ndarray:
    """Integer-valued entries in [low, high] (floats such as 3.0 are accepted, 2.5 is not)."""
    arr = finite(name, value)
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name}={show(value)}: must be an integer (allowed range [{low}, {high}])")
    if np.any(arr < low) or np.any(arr > high):
        raise ValueError(f"{name}={show(value)}: outside the allowed range [{low}, {high}]")
    return arr.astype(np.int64)
