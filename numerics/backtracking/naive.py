"""A deliberately plain Boris integrator: the baseline that ``aniso bench`` measures the backtracker against.

One particle per loop iteration (``numba.prange`` over particles), and for each step and each mode the exact
``np.cos(k_n . r + beta_n)`` -- what a physicist would write first, compiled by numba with the same threads.
It is the same scheme as :func:`numerics.backtracking.boris.trace` (drift half a step, the Boris rotation with
t = Omega dt / (2 R), drift half a step) and agrees with it to the accuracy of the backtracker's cosine (tested),
so the ratio of the two rates is the gain of the backtracker's structure of arrays, blocking and vectorised cosine
(issue 20), independent of the machine's absolute speed.  It is not used for physics.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from numerics.backtracking.kernel import field_arrays, signed_rigidity

__all__ = ["trace"]


@nb.njit(parallel=True, cache=True)
def _naive_steps(state, k, a, beta, o0, half_dt, nsteps):
    """Advance ``state`` (M, 6) = (x, y, z, ux, uy, uz) by ``nsteps`` Boris steps; ``a`` and ``o0`` are already
    multiplied by dt / (2 R)."""
    for p in nb.prange(state.shape[0]):
        x, y, z = state[p, 0], state[p, 1], state[p, 2]
        ux, uy, uz = state[p, 3], state[p, 4], state[p, 5]
        for _ in range(nsteps):
            x += half_dt * ux
            y += half_dt * uy
            z += half_dt * uz
            tx, ty, tz = o0[0], o0[1], o0[2]
            for n in range(k.shape[0]):
                c = np.cos(k[n, 0] * x + k[n, 1] * y + k[n, 2] * z + beta[n])
                tx += a[n, 0] * c
                ty += a[n, 1] * c
                tz += a[n, 2] * c
            s2 = 2.0 / (1.0 + tx * tx + ty * ty + tz * tz)
            px = ux + (uy * tz - uz * ty)
            py = uy + (uz * tx - ux * tz)
            pz = uz + (ux * ty - uy * tx)
            ux += s2 * (py * tz - pz * ty)
            uy += s2 * (pz * tx - px * tz)
            uz += s2 * (px * ty - py * tx)
            x += half_dt * ux
            y += half_dt * uy
            z += half_dt * uz
        state[p, 0], state[p, 1], state[p, 2] = x, y, z
        state[p, 3], state[p, 4], state[p, 5] = ux, uy, uz


def trace(field, positions, directions, steps: int, dt: float, *, rigidity=1.0, charge=1) -> np.ndarray:
    """The state (M, 6) = (position, direction) after ``steps`` Boris steps of ``dt`` from ``positions`` (M, 3)
    with unit ``directions`` (M, 3), forward in time, for the charge ``charge`` at ``rigidity`` (as
    :func:`numerics.backtracking.boris.trace`; no step check, no recording: a benchmark baseline)."""
    signed = signed_rigidity(rigidity, charge)
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps={steps}: must be >= 0")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt={dt!r}: must be a positive finite number")
    k, a, beta, o0 = field_arrays(field)
    scale = 0.5 * dt / signed
    state = np.ascontiguousarray(np.hstack([np.asarray(positions, dtype=np.float64).reshape(-1, 3),
                                            np.asarray(directions, dtype=np.float64).reshape(-1, 3)]))
    _naive_steps(state, np.ascontiguousarray(k), np.ascontiguousarray(a * scale), np.ascontiguousarray(beta),
                 np.ascontiguousarray(o0 * scale), 0.5 * dt, steps)
    return state
