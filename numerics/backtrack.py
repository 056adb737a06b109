"""Test particles through a static plane-wave field: the Boris integrator and backtracking.

Units: c = 1, so particles move at unit speed and a time is a length.  Magnetic fields
are gyrofrequency vectors Omega = q B / p of a reference particle (units 1/length, signed
with the charge); ``rigidity`` > 0 is the particle's rigidity in units of that reference and
``charge`` = +1 or -1 its charge relative to the reference, so the particle sees
charge * Omega(r) / rigidity.

Equations of motion (review Sec. 4.4; 002 Sec. 3):

.. math::

    \\dot{\\mathbf r} = \\hat{\\mathbf p}, \\qquad
    \\dot{\\hat{\\mathbf p}} = \\hat{\\mathbf p} \\times \\boldsymbol\\Omega(\\mathbf r) / R .

The scheme is the Boris rotation in drift-kick-drift form with a fixed step ``dt``: half a
drift, one field evaluation at the midpoint, a rotation of the direction by the angle
2 arctan(|Omega| dt / 2) about Omega, half a drift.  The rotation is an exact rotation, so
|p| is conserved to round-off; each of the three maps preserves phase-space volume
(Liouville, which is what makes backtracked sky maps meaningful); the step is symmetric,
hence time reversible and second order.

**Backtracking** (review eq. (63)): the trajectory that arrives at the observer with
momentum direction n at t = 0 is found by integrating the *antiparticle* (charge reversed)
forward from the observer with direction -n.  After a time T it sits at r(-T) and the
cosmic ray's momentum there is p(-T) = -u, u being the antiparticle's direction.

**Step criterion**: ``dt * max(k_max, Omega_max) <= 0.5`` with Omega_max =
(|Omega_0| + 3 Omega_rms) / |R| — at least 4 pi steps per smallest wavelength and per
gyration at a field three standard deviations above its mean.  The default step is one
fifth of that bound, ``dt = 0.1 / max(k_max, Omega_max)``.

Field evaluation dominates the cost (one cosine per mode, particle and step).  The kernel
keeps particles in blocks of 64 (structure of arrays), loops over modes outside and over
the block inside, and evaluates cos(2 pi t) by range reduction to a quarter turn and an odd
polynomial of degree 13 (absolute error < 1e-13), which LLVM vectorises; see
``aniso bench``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numba as nb
import numpy as np

from numerics import _validate as check

__all__ = ["Trajectories", "backtrack", "trace", "default_step", "check_step", "log_times", "evaluate",
           "STEP_LIMIT", "BLOCK"]

BLOCK = 64  # particles per block; every particle sits in a full block (padding), so results do not depend on threads
STEP_LIMIT = 0.5  # dt * max(k_max, Omega_max) must not exceed this
DEFAULT_STEP_FACTOR = 0.1
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


@nb.njit(inline="always", fastmath={"contract"}, cache=True)
def _cos2pi(t):
    """cos(2 pi t) for any finite t: reduce to r in [-1/2, 1/2], then cos(2 pi r) = sin(2 pi (1/4 - |r|))."""
    r = t - np.rint(t)
    v = 0.25 - abs(r)
    w = v * v
    return v * (_C1 + w * (_C3 + w * (_C5 + w * (_C7 + w * (_C9 + w * (_C11 + w * _C13))))))


@nb.njit(fastmath={"contract"}, cache=True)
def _cos2pi_array(t):
    out = np.empty_like(t)
    for i in range(t.size):
        out[i] = _cos2pi(t[i])
    return out


@nb.njit(inline="always", fastmath={"contract"}, cache=True)
def _add_modes(x, y, z, kx, ky, kz, ph, ax, ay, az, tx, ty, tz):
    """tx, ty, tz += sum_n a_n cos(2 pi (k_n . x + ph_n)) over one block: modes outside, particles inside."""
    for n in range(kx.size):
        kxn = kx[n]
        kyn = ky[n]
        kzn = kz[n]
        phn = ph[n]
        axn = ax[n]
        ayn = ay[n]
        azn = az[n]
        for i in range(BLOCK):
            c = _cos2pi(kxn * x[i] + kyn * y[i] + kzn * z[i] + phn)
            tx[i] += axn * c
            ty[i] += ayn * c
            tz[i] += azn * c


@nb.njit(parallel=True, fastmath={"contract"}, cache=True)
def _field_blocks(x0, y0, z0, kx, ky, kz, ph, ax, ay, az, o0, out):
    """Omega at the points (x0, y0, z0) (length a multiple of BLOCK); wave vectors and phases in turns."""
    for blk in nb.prange(x0.size // BLOCK):
        s = blk * BLOCK
        bx = np.full(BLOCK, o0[0])
        by = np.full(BLOCK, o0[1])
        bz = np.full(BLOCK, o0[2])
        _add_modes(x0[s:s + BLOCK], y0[s:s + BLOCK], z0[s:s + BLOCK], kx, ky, kz, ph, ax, ay, az, bx, by, bz)
        out[0, s:s + BLOCK] = bx
        out[1, s:s + BLOCK] = by
        out[2, s:s + BLOCK] = bz


@nb.njit(parallel=True, fastmath={"contract"}, cache=True)
def _boris_blocks(state, kx, ky, kz, ph, ax, ay, az, o0, half_dt, nsteps):
    """Advance ``state`` (6, M) = (x, y, z, ux, uy, uz) by ``nsteps`` Boris steps in place.

    ``ax, ay, az, o0`` are the field amplitudes already multiplied by dt / (2 R), so the field sum is
    directly the Boris vector t = Omega dt / (2 R); ``kx, ky, kz, ph`` are in turns (divided by 2 pi).
    """
    nblocks = state.shape[1] // BLOCK
    for blk in nb.prange(nblocks):
        s = blk * BLOCK
        x = state[0, s:s + BLOCK].copy()
        y = state[1, s:s + BLOCK].copy()
        z = state[2, s:s + BLOCK].copy()
        ux = state[3, s:s + BLOCK].copy()
        uy = state[4, s:s + BLOCK].copy()
        uz = state[5, s:s + BLOCK].copy()
        tx = np.empty(BLOCK)
        ty = np.empty(BLOCK)
        tz = np.empty(BLOCK)
        for _ in range(nsteps):
            for i in range(BLOCK):
                x[i] += half_dt * ux[i]
                y[i] += half_dt * uy[i]
                z[i] += half_dt * uz[i]
                tx[i] = o0[0]
                ty[i] = o0[1]
                tz[i] = o0[2]
            _add_modes(x, y, z, kx, ky, kz, ph, ax, ay, az, tx, ty, tz)
            for i in range(BLOCK):
                bx = tx[i]
                by = ty[i]
                bz = tz[i]
                s2 = 2.0 / (1.0 + bx * bx + by * by + bz * bz)
                vx = ux[i]
                vy = uy[i]
                vz = uz[i]
                # Boris: v' = v + v x t ;  v+ = v + s v' x t  with s = 2 / (1 + t^2)
                px = vx + (vy * bz - vz * by)
                py = vy + (vz * bx - vx * bz)
                pz = vz + (vx * by - vy * bx)
                vx += s2 * (py * bz - pz * by)
                vy += s2 * (pz * bx - px * bz)
                vz += s2 * (px * by - py * bx)
                ux[i] = vx
                uy[i] = vy
                uz[i] = vz
                x[i] += half_dt * vx
                y[i] += half_dt * vy
                z[i] += half_dt * vz
        state[0, s:s + BLOCK] = x
        state[1, s:s + BLOCK] = y
        state[2, s:s + BLOCK] = z
        state[3, s:s + BLOCK] = ux
        state[4, s:s + BLOCK] = uy
        state[5, s:s + BLOCK] = uz


# ----------------------------------------------------------------------------- helpers
def _field_arrays(field):
    """Read the plane-wave arrays of ``field`` (a numerics.turbulence.PlaneWaveField or equivalent)."""
    try:
        k = np.asarray(field.wavevectors, dtype=np.float64).reshape(-1, 3)
        a = np.asarray(field.amplitudes, dtype=np.float64).reshape(-1, 3)
        beta = np.asarray(field.phases, dtype=np.float64).reshape(-1)
        o0 = np.asarray(field.regular, dtype=np.float64).reshape(3)
    except (AttributeError, ValueError, TypeError):
        raise ValueError(f"field={field!r}: expected a numerics.turbulence.PlaneWaveField (wavevectors, amplitudes, "
                         "phases, regular)") from None
    if not (k.shape[0] == a.shape[0] == beta.shape[0]):
        raise ValueError(f"field: {k.shape[0]} wave vectors, {a.shape[0]} amplitudes and {beta.shape[0]} phases differ")
    return k, a, beta, o0


def _scales(field, rigidity):
    """k_max and Omega_max = (|Omega_0| + 3 Omega_rms) / |rigidity|."""
    k, a, _, o0 = _field_arrays(field)
    k_max = float(np.max(np.linalg.norm(k, axis=1))) if k.shape[0] else 0.0
    rms = math.sqrt(0.5 * float(np.sum(a * a)))
    omega_max = (float(np.linalg.norm(o0)) + 3.0 * rms) / abs(rigidity)
    return k_max, omega_max


def default_step(field, rigidity=1.0) -> float:
    """The default step 0.1 / max(k_max, Omega_max) (module docstring), in length units."""
    rigidity = float(check.positive("rigidity", rigidity))
    k_max, omega_max = _scales(field, rigidity)
    scale = max(k_max, omega_max)
    if scale == 0.0:
        raise ValueError("field: no modes and no regular field; there is nothing to resolve and no default step")
    return DEFAULT_STEP_FACTOR / scale


def check_step(field, dt, rigidity=1.0) -> float:
    """Refuse a step that does not resolve the smallest wavelength or the gyration (ValueError)."""
    rigidity = float(check.positive("rigidity", rigidity))
    dt = float(check.positive("dt", dt))
    k_max, omega_max = _scales(field, rigidity)
    if dt * k_max > STEP_LIMIT:
        raise ValueError(f"dt={dt:g}: does not resolve the smallest wavelength 2 pi/k_max = {2 * math.pi / k_max:.4g}; "
                         f"need dt * k_max <= {STEP_LIMIT} (dt <= {STEP_LIMIT / k_max:.4g}), got {dt * k_max:.3g}")
    if dt * omega_max > STEP_LIMIT:
        raise ValueError(f"dt={dt:g}: does not resolve the gyration; need dt * Omega_max <= {STEP_LIMIT} with Omega_max = "
                         f"(|Omega_0| + 3 Omega_rms)/|rigidity| = {omega_max:.4g} (dt <= {STEP_LIMIT / omega_max:.4g})")
    return dt


def _rigidity(rigidity, charge=1) -> float:
    """The signed rigidity charge * rigidity used internally (rigidity > 0, charge = +1 or -1)."""
    r = float(check.positive("rigidity", rigidity))
    if charge not in (1, -1):
        raise ValueError(f"charge={charge!r}: must be +1 or -1 (relative to the reference particle)")
    return r * charge


def log_times(omega, t_min, t_max, n=16) -> np.ndarray:
    """``n`` backtracking times log-spaced in Omega T from ``t_min`` to ``t_max`` (both in units of 1/Omega)."""
    omega = float(check.positive("omega", omega))
    n = int(check.integers("n", n, 1, 10_000))
    t_min = float(check.positive("t_min", t_min))
    t_max = float(check.positive("t_max", t_max))
    if t_max < t_min:
        raise ValueError(f"t_min={t_min:g}, t_max={t_max:g}: need t_min <= t_max")
    return np.geomspace(t_min, t_max, n) / omega


def _steps_for(times, dt):
    times = check.positive("times", times)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times: expected a non-empty 1-d array of positive times, got shape {times.shape}")
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"times={check._show(times)}: must be strictly increasing")
    exact = np.maximum(1.0, np.rint(times / dt))  # float: a huge count must be refused, not wrapped in int64
    if not np.isfinite(exact[-1]) or exact[-1] > MAX_STEPS:
        raise ValueError(f"times: the last time needs {exact[-1]:.3g} steps of dt={dt:g} (allowed at most {MAX_STEPS})")
    steps = exact.astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"times={check._show(times)}: two recorded times round to the same step of dt={dt:g}; "
                         "use a smaller dt or more widely spaced times")
    return steps


def _kernel_field(field, scale):
    """Contiguous kernel arrays: wave vectors and phases in turns, amplitudes times ``scale``."""
    k, a, beta, o0 = _field_arrays(field)
    two_pi = 2.0 * math.pi
    ks = [np.ascontiguousarray(k[:, j] / two_pi) for j in range(3)]
    ph = np.ascontiguousarray(np.mod(beta, two_pi) / two_pi)
    amps = [np.ascontiguousarray(a[:, j] * scale) for j in range(3)]
    return (*ks, ph, *amps, np.ascontiguousarray(o0 * scale))


class _Threads:
    """Temporarily set numba's thread count."""

    def __init__(self, threads):
        self.threads = threads

    def __enter__(self):
        self.old = nb.get_num_threads()
        if self.threads is not None:
            nb.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc):
        nb.set_num_threads(self.old)


def _threads(threads):
    if threads is None:
        return None
    return int(check.integers("threads", threads, 1, nb.config.NUMBA_NUM_THREADS))


# ----------------------------------------------------------------------------- public API
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


def _integrate(field, positions, directions, times, dt, signed_rigidity, threads, backend, progress, desc):
    """The common driver; ``signed_rigidity`` = charge * rigidity, already validated."""
    backend = check.choice("backend", backend, ("cpu", "cuda"))
    rigidity = abs(signed_rigidity)
    pos = check.vectors("positions", positions).reshape(-1, 3)
    dirs = check.unit_vectors("directions", directions).reshape(-1, 3)
    if pos.shape[0] == 1 and dirs.shape[0] > 1:
        pos = np.repeat(pos, dirs.shape[0], axis=0)
    if pos.shape != dirs.shape:
        raise ValueError(f"positions ({pos.shape[0]}) and directions ({dirs.shape[0]}): need one position or one per direction")
    m = dirs.shape[0]
    if m > MAX_PARTICLES:
        raise ValueError(f"directions: {m} particles (allowed at most {MAX_PARTICLES})")
    dt = default_step(field, rigidity) if dt is None else check_step(field, dt, rigidity)
    steps = _steps_for(times, dt)
    threads = _threads(threads)
    kernel = _kernel_field(field, 0.5 * dt / signed_rigidity)
    if backend == "cuda":
        from numerics import _cuda

        return _cuda.integrate(kernel, pos, dirs, steps, dt, progress=progress, desc=desc)
    mpad = -(-m // BLOCK) * BLOCK
    state = np.empty((6, mpad))
    state[:3, :m] = pos.T
    state[3:, :m] = dirs.T
    state[:, m:] = state[:, m - 1:m]
    out_pos = np.empty((steps.size, m, 3))
    out_mom = np.empty((steps.size, m, 3))
    chunk = max(1, int(2e8 // max(1, mpad * max(1, kernel[0].size))))  # ~0.1 s of work per call between progress updates
    bar = _progress(progress, int(steps[-1]), desc)
    done = 0
    with _Threads(threads):
        for j, target in enumerate(steps):
            while done < target:
                n = int(min(chunk, target - done))
                _boris_blocks(state, *kernel, 0.5 * dt, n)
                done += n
                if bar is not None:
                    bar.update(n)
            out_pos[j] = state[:3, :m].T
            out_mom[j] = state[3:, :m].T
    if bar is not None:
        bar.close()
    return Trajectories(times=steps * dt, positions=out_pos, momenta=out_mom, dt=dt, steps=steps)


def _progress(progress, total, desc):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, disable=os.environ.get("ANISO_NO_PROGRESS") == "1")


def trace(field, positions, directions, times, *, dt=None, rigidity=1.0, charge=1, threads=None, backend="cpu",
          progress=False) -> Trajectories:
    """Integrate particles forward in time through a static field (Boris, fixed step).

    Parameters
    ----------
    field : numerics.turbulence.PlaneWaveField
        Omega(r) in units of 1/length for a reference particle.
    positions : (3,) or (M, 3)
        Start positions (length units); one position is shared by all particles.
    directions : (M, 3)
        Unit momentum directions at t = 0.
    times : (K,)
        Strictly increasing positive times at which to record the state; each is rounded
        to a whole number of steps (``Trajectories.times`` holds the recorded ones).
    dt : float, optional
        The step (length units); default ``default_step(field, rigidity)``.  A step with
        ``dt * max(k_max, Omega_max) > 0.5`` is refused (module docstring).
    rigidity : float
        Rigidity relative to the reference particle, > 0.
    charge : {+1, -1}
        Charge relative to the reference particle.
    threads : int, optional
        numba threads (default: numba's current setting).
    backend : {"cpu", "cuda"}
        "cuda" runs the same scheme on an NVIDIA GPU (numerics._cuda).
    progress : bool
        Show a tqdm progress bar over steps.

    Returns
    -------
    Trajectories
    """
    signed = _rigidity(rigidity, charge)
    return _integrate(field, positions, directions, times, dt, signed, threads, backend, progress, "trace")


def backtrack(field, directions, times, *, dt=None, rigidity=1.0, charge=1, observer=(0.0, 0.0, 0.0), threads=None,
              backend="cpu", progress=False) -> Trajectories:
    """Backtrack cosmic rays that arrive at ``observer`` with momentum ``directions``.

    Integrates the antiparticle (charge -> -charge) from the observer with direction
    -n and returns, at each backtracking time T, the position r(-T) and the cosmic ray's
    momentum direction p(-T) (review eq. (63): f(0, r_obs, n) = f(-T, r(-T), p(-T))).
    Parameters as :func:`trace`; ``times`` are backtracking times T > 0.

    Examples
    --------
    In a uniform field the backtracked orbit is the helix run backwards:

    >>> from numerics.turbulence import PlaneWaveField
    >>> field = PlaneWaveField.uniform((0.0, 0.0, 1.0))
    >>> tr = backtrack(field, [[1.0, 0.0, 0.0]], [np.pi], dt=np.pi / 4000)
    >>> np.round(tr.momenta[0, 0], 6) + 0.0  # half a gyration back, the direction is reversed
    array([-1.,  0.,  0.])
    """
    signed = _rigidity(rigidity, charge)
    obs = check.vectors("observer", observer).reshape(3)
    dirs = check.unit_vectors("directions", directions).reshape(-1, 3)
    tr = _integrate(field, obs, -dirs, times, dt, -signed, threads, backend, progress, "backtrack")
    return Trajectories(times=tr.times, positions=tr.positions - obs, momenta=-tr.momenta, dt=tr.dt, steps=tr.steps)


def evaluate(field, points, *, threads=None) -> np.ndarray:
    """Omega at ``points`` (..., 3) with the integrator's own vectorised kernel (polynomial cosine)."""
    pts = check.vectors("points", points)
    shape = pts.shape
    flat = pts.reshape(-1, 3)
    m = flat.shape[0]
    mpad = -(-max(m, 1) // BLOCK) * BLOCK
    xyz = np.zeros((3, mpad))
    xyz[:, :m] = flat.T
    kernel = _kernel_field(field, 1.0)
    out = np.empty((3, mpad))
    with _Threads(_threads(threads)):
        _field_blocks(xyz[0], xyz[1], xyz[2], *kernel, out)
    return out[:, :m].T.reshape(shape)
