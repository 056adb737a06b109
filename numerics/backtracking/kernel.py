"""What the CPU (:mod:`numerics.backtracking.boris`) and CUDA (:mod:`numerics.backtracking.cuda`) integrators share:
the step criterion, the kernel's field layout, the polynomial cosine's coefficients and the result type.

No numba here: the configuration checks (:meth:`SimulationConfig.validate`) use this module without compiling
anything.  Units and the step criterion: :mod:`numerics.backtracking.boris`.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from numerics import _validate as check

__all__ = ["Trajectories", "default_step", "check_step", "log_times", "signed_rigidity", "steps_for", "field_arrays",
           "kernel_field", "step_scales", "check_step_factor", "progress_bar", "SIN2PI_COEFFICIENTS", "BLOCK", "STEP_LIMIT",
           "SIN2PI_FAST_COEFFICIENTS", "COSINES", "COSINE_ERRORS", "check_cosine",
           "DEFAULT_STEP_FACTOR", "INTEGRATORS", "COMPOSITIONS", "STEP_LIMITS", "DEFAULT_STEP_FACTORS", "check_integrator",
           "MAX_PARTICLES", "MAX_STEPS"]

BLOCK = 64  # particles per block; every particle sits in a full block (padding), so results do not depend on threads

#: The integrators: the Boris step S(h) (second order) and its fourth-order symmetric composition
#: S(w1 h) S(w0 h) S(w1 h), w1 = 1/(2 - 2^(1/3)), w0 = 1 - 2 w1 (Yoshida 1990; = Forest-Ruth): three field
#: evaluations per step, reversible and volume preserving like S itself.
INTEGRATORS = ("boris", "yoshida4")
_W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
COMPOSITIONS = {"boris": (1.0,), "yoshida4": (_W1, 1.0 - 2.0 * _W1, _W1)}
#: The refused bound on dt * max(k_max, Omega_max) per integrator.  Boris: 4 pi steps per smallest wavelength and per
#: gyration.  yoshida4: 2.0, where its local error reaches Boris's at Boris's bound (numerics.validation.
#: integrator_study: rms direction error 1.4e-4 against 1.5e-4 on the 003 field, 5.6e-4 against 1.8e-3 on 002's at
#: 2.5); its default 0.9 has Boris's local error at 0.1 or less on both fields (3.0x fewer field evaluations).
STEP_LIMITS = {"boris": 0.5, "yoshida4": 2.0}
DEFAULT_STEP_FACTORS = {"boris": 0.1, "yoshida4": 0.9}
STEP_LIMIT = STEP_LIMITS["boris"]  # dt * max(k_max, Omega_max) must not exceed this (Boris)
DEFAULT_STEP_FACTOR = DEFAULT_STEP_FACTORS["boris"]


def check_integrator(integrator) -> str:
    """``integrator`` if it is one of :data:`INTEGRATORS`, else ValueError."""
    return check.choice("integrator", integrator, INTEGRATORS)
MAX_PARTICLES = 50_000_000
MAX_STEPS = 10**10

# sin(2 pi v) = v P(v^2) on |v| <= 1/4: least-squares fit at 200 Chebyshev nodes in 40-digit arithmetic
# (max |error| 4e-14 in float64; tests/numerics/test_backtrack.py checks it against numpy.cos).
_C1 = 6.2831853071772238821
_C3 = -41.341702238987460974
_C5 = 81.605249031789268302
_C7 = -76.705841115125014008
_C9 = 42.057963484804329115
_C11 = -15.079289920000344487
_C13 = 3.6550593309034874685
SIN2PI_COEFFICIENTS = (_C1, _C3, _C5, _C7, _C9, _C11, _C13)  # of v, v^3, ..., v^13
# The same fit of degree 9 (issue 20): max |error| 3.7e-9 in float64, two fused multiply-adds fewer per mode
SIN2PI_FAST_COEFFICIENTS = (6.283185189137469341, -41.341660126558731585, 81.601267628358347892,
                            -76.555028088223442189, 39.572232221569718548)  # of v, v^3, ..., v^9

#: The backtracker's cosines (``cosine=``) and the bound on their absolute error (tested against numpy.cos):
#: "precise" (degree 13, the default; every stored ensemble and reference result) and "fast" (degree 9, opt-in:
#: 17-26 % more mode evaluations per second, results/bench; a field error of at most 4e-9 times the sum of the
#: modes' amplitudes, far below the step error of either integrator).  The CUDA backend has "precise" only.
COSINES = ("precise", "fast")
COSINE_ERRORS = {"precise": 1e-13, "fast": 4e-9}


def check_cosine(cosine) -> str:
    """``cosine`` if it is one of :data:`COSINES`, else ValueError."""
    return check.choice("cosine", cosine, COSINES)


def field_arrays(field):
    """Read the plane-wave arrays of ``field`` (a numerics.backtracking.turbulence.PlaneWaveField or equivalent)."""
    try:
        k = np.asarray(field.wavevectors, dtype=np.float64).reshape(-1, 3)
        a = np.asarray(field.amplitudes, dtype=np.float64).reshape(-1, 3)
        beta = np.asarray(field.phases, dtype=np.float64).reshape(-1)
        o0 = np.asarray(field.regular, dtype=np.float64).reshape(3)
    except (AttributeError, ValueError, TypeError):
        raise ValueError(f"field={field!r}: expected a numerics.backtracking.turbulence.PlaneWaveField (wavevectors, amplitudes, "
                         "phases, regular)") from None
    if not (k.shape[0] == a.shape[0] == beta.shape[0]):
        raise ValueError(f"field: {k.shape[0]} wave vectors, {a.shape[0]} amplitudes and {beta.shape[0]} phases differ")
    return k, a, beta, o0


def _scales(field, rigidity):
    """k_max and Omega_max = (|Omega_0| + 3 Omega_rms) / |rigidity|."""
    k, a, _, o0 = field_arrays(field)
    k_max = float(np.max(np.linalg.norm(k, axis=1))) if k.shape[0] else 0.0
    rms = math.sqrt(0.5 * float(np.sum(a * a)))
    omega_max = (float(np.linalg.norm(o0)) + 3.0 * rms) / abs(rigidity)
    return k_max, omega_max


def step_scales(field, rigidity=1.0) -> tuple[float, float]:
    """``(k_max, Omega_max)``: the scales a step must resolve, ``dt * max(k_max, Omega_max)`` being the step factor
    (default :data:`DEFAULT_STEP_FACTOR`, at most :data:`STEP_LIMIT`)."""
    return _scales(field, check.positive("rigidity", rigidity, single=True))


def default_step(field, rigidity=1.0, factor=None, integrator="boris") -> float:
    """The step ``factor / max(k_max, Omega_max)`` (module docstring), in length units; ``factor`` defaults to
    the integrator's :data:`DEFAULT_STEP_FACTORS` entry and may be at most its :data:`STEP_LIMITS` entry (ValueError
    above).  The step never exceeds the bound through rounding."""
    rigidity = check.positive("rigidity", rigidity, single=True)
    factor = check_step_factor(factor, integrator)
    k_max, omega_max = _scales(field, rigidity)
    scale = max(k_max, omega_max)
    if scale == 0.0:
        raise ValueError("field: no modes and no regular field; there is nothing to resolve and no default step")
    dt = factor / scale
    while dt * scale > factor:
        dt = math.nextafter(dt, 0.0)
    return dt


def _named(integrator: str) -> str:
    return "" if integrator == "boris" else f" for integrator {integrator!r}"


def check_step_factor(factor, integrator="boris") -> float:
    """``factor`` (None: the integrator's default) if it is in (0, its step limit], else ValueError."""
    integrator = check_integrator(integrator)
    if factor is None:
        return DEFAULT_STEP_FACTORS[integrator]
    factor = check.positive("step_factor", factor, single=True)
    bound = STEP_LIMITS[integrator]
    if factor > bound:
        raise ValueError(f"step_factor={factor:g}: above the bound {bound} on dt * max(k_max, Omega_max){_named(integrator)} "
                         f"(allowed range (0, {bound}]; the step would not resolve the field)")
    return factor


def check_step(field, dt, rigidity=1.0, integrator="boris") -> float:
    """Refuse a step that does not resolve the smallest wavelength or the gyration (ValueError)."""
    integrator = check_integrator(integrator)
    rigidity = check.positive("rigidity", rigidity, single=True)
    dt = check.positive("dt", dt, single=True)
    k_max, omega_max = _scales(field, rigidity)
    bound = STEP_LIMITS[integrator]
    # the bound itself is allowed in every realization: |k| of a mode differs between fields in its last bits
    limit = bound * (1.0 + 1e-12)
    named = _named(integrator)
    if dt * k_max > limit:
        raise ValueError(f"dt={dt:g}: does not resolve the smallest wavelength 2 pi/k_max = {2 * math.pi / k_max:.4g}; "
                         f"need dt * k_max <= {bound}{named} (dt <= {bound / k_max:.4g}), got {dt * k_max:.3g}")
    if dt * omega_max > limit:
        raise ValueError(f"dt={dt:g}: does not resolve the gyration; need dt * Omega_max <= {bound}{named} with Omega_max = "
                         f"(|Omega_0| + 3 Omega_rms)/|rigidity| = {omega_max:.4g} (dt <= {bound / omega_max:.4g})")
    return dt


def signed_rigidity(rigidity, charge=1) -> float:
    """The signed rigidity charge * rigidity used internally (rigidity > 0, charge = +1 or -1)."""
    r = check.positive("rigidity", rigidity, single=True)
    if charge not in (1, -1):
        raise ValueError(f"charge={charge!r}: must be +1 or -1 (relative to the reference particle)")
    return r * charge


def log_times(omega, t_min, t_max, n=16) -> np.ndarray:
    """``n`` backtracking times log-spaced in Omega T from ``t_min`` to ``t_max`` (both in units of 1/Omega)."""
    omega = check.positive("omega", omega, single=True)
    n = check.integer("n", n, 1, 10_000)
    t_min = check.positive("t_min", t_min, single=True)
    t_max = check.positive("t_max", t_max, single=True)
    if t_max < t_min:
        raise ValueError(f"t_min={t_min:g}, t_max={t_max:g}: need t_min <= t_max")
    return np.geomspace(t_min, t_max, n) / omega


def steps_for(times, dt):
    times = check.positive("times", times)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times: expected a non-empty 1-d array of positive times, got shape {times.shape}")
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"times={check.show(times)}: must be strictly increasing")
    exact = np.maximum(1.0, np.rint(times / dt))  # float: a huge count must be refused, not wrapped in int64
    if not np.isfinite(exact[-1]) or exact[-1] > MAX_STEPS:
        raise ValueError(f"times: the last time needs {exact[-1]:.3g} steps of dt={dt:g} (allowed at most {MAX_STEPS})")
    steps = exact.astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"times={check.show(times)}: two recorded times round to the same step of dt={dt:g}; "
                         "use a smaller dt or more widely spaced times")
    return steps


def kernel_field(field, scale):
    """Contiguous kernel arrays: wave vectors and phases in turns, amplitudes times ``scale``."""
    k, a, beta, o0 = field_arrays(field)
    two_pi = 2.0 * math.pi
    ks = [np.ascontiguousarray(k[:, j] / two_pi) for j in range(3)]
    ph = np.ascontiguousarray(np.mod(beta, two_pi) / two_pi)
    amps = [np.ascontiguousarray(a[:, j] * scale) for j in range(3)]
    return (*ks, ph, *amps, np.ascontiguousarray(o0 * scale))


@dataclass(frozen=True)
class Trajectories:
    """Phase-space states recorded at ``times``.

    Attributes
    ----------
    times : (K,) recorded times (integer multiples of ``dt``), length units (c = 1)
    positions : (K, M, 3) positions; for :func:`backtrack` r(-T) relative to the origin
    momenta : (K, M, 3) unit momentum directions of the cosmic ray (for :func:`backtrack`, p(-T))
    dt : the step
    steps : (K,) step counts
    """

    times: np.ndarray
    positions: np.ndarray
    momenta: np.ndarray
    dt: float
    steps: np.ndarray


def progress_bar(progress, total, desc):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, disable=os.environ.get("ANISO_NO_PROGRESS") == "1")
