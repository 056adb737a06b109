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

The scheme (``integrator="boris"``, the default) is the Boris rotation in drift-kick-drift form with a fixed step
``dt``: half a drift, one field evaluation at the midpoint, a rotation of the direction by the angle
2 arctan(|Omega| dt / 2) about Omega, half a drift.  The rotation is an exact rotation, so
|p| is conserved to round-off; each of the three maps preserves phase-space volume
(Liouville, which is what makes backtracked sky maps meaningful); the step is symmetric,
hence time reversible and second order.  ``integrator="yoshida4"`` composes three Boris steps of dt w1, dt w0,
dt w1 (w1 = 1/(2 - 2^(1/3)), w0 = 1 - 2 w1 < 0; Yoshida 1990): symmetric, hence reversible, volume preserving, and
fourth order, at three field evaluations per step (issue 14: at equal local accuracy 3-5x fewer evaluations than Boris,
numerics.validation.integrator_study).

**Backtracking** (review eq. (63)): the trajectory that arrives at the observer with
momentum direction n at t = 0 is found by integrating the *antiparticle* (charge reversed)
forward from the observer with direction -n.  After a time T it sits at r(-T) and the
cosmic ray's momentum there is p(-T) = -u, u being the antiparticle's direction.

**Step criterion**: ``dt * max(k_max, Omega_max) <= 0.5`` with Omega_max =
(|Omega_0| + 3 Omega_rms) / |R| — at least 4 pi steps per smallest wavelength and per
gyration at a field three standard deviations above its mean.  The default step is one
fifth of that bound, ``dt = 0.1 / max(k_max, Omega_max)``.  For yoshida4 the bound is 2.0 and the default 0.9
(numerics.backtracking.kernel.STEP_LIMITS, DEFAULT_STEP_FACTORS: the factors at which its local error is that of
Boris at 0.5 and at 0.1).

Field evaluation dominates the cost (one cosine per mode, particle and step).  The kernel
keeps particles in blocks of 64 (structure of arrays), loops over modes outside and over
the block inside, and evaluates cos(2 pi t) by range reduction to a quarter turn and an odd
polynomial of degree 13 (absolute error < 1e-13), which LLVM vectorises; see
``aniso bench``.
"""
from __future__ import annotations

import contextlib

import numba as nb
import numpy as np

from numerics import _validate as check
from numerics.backtracking.kernel import (
    BLOCK,
    COMPOSITIONS,
    MAX_PARTICLES,
    SIN2PI_COEFFICIENTS,
    SIN2PI_FAST_COEFFICIENTS,
    STEP_LIMIT,
    Trajectories,
    check_cosine,
    check_integrator,
    check_step,
    default_step,
    kernel_field,
    log_times,
    progress_bar,
    signed_rigidity,
    steps_for,
)

__all__ = ["Trajectories", "backtrack", "trace", "evaluate", "numba_threads", "default_step", "check_step", "log_times",
           "STEP_LIMIT", "BLOCK", "COMPOSITIONS", "composed_steps", "mode_evaluations", "counting"]

# compile-time constants of the kernels (numba freezes module globals)
_C1, _C3, _C5, _C7, _C9, _C11, _C13 = SIN2PI_COEFFICIENTS
_F1, _F3, _F5, _F7, _F9 = SIN2PI_FAST_COEFFICIENTS


@nb.njit(inline="always", fastmath={"contract"}, cache=True)
def _cos2pi(t):
    """cos(2 pi t) for any finite t: reduce to r in [-1/2, 1/2], then cos(2 pi r) = sin(2 pi (1/4 - |r|))."""
    r = t - np.rint(t)
    v = 0.25 - abs(r)
    w = v * v
    return v * (_C1 + w * (_C3 + w * (_C5 + w * (_C7 + w * (_C9 + w * (_C11 + w * _C13))))))


@nb.njit(inline="always", fastmath={"contract"}, cache=True)
def _cos2pi_fast(t):
    """cos(2 pi t) as :func:`_cos2pi` with the polynomial of degree 9 (``cosine="fast"``, absolute error < 4e-9)."""
    r = t - np.rint(t)
    v = 0.25 - abs(r)
    w = v * v
    return v * (_F1 + w * (_F3 + w * (_F5 + w * (_F7 + w * _F9))))


@nb.njit(fastmath={"contract"}, cache=True)
def _cos2pi_array(t, fast=False):
    out = np.empty_like(t)
    if fast:
        for i in range(t.size):
            out[i] = _cos2pi_fast(t[i])
    else:
        for i in range(t.size):
            out[i] = _cos2pi(t[i])
    return out


def _mode_loop(cos2pi):
    """The mode loop with the cosine ``cos2pi`` (one copy per cosine, each inlined where it is called)."""

    @nb.njit(inline="always", fastmath={"contract"})
    def add_modes(x, y, z, kx, ky, kz, ph, ax, ay, az, tx, ty, tz):
        n4 = kx.size // 4 * 4
        for n in range(0, n4, 4):
            kx0, ky0, kz0, ph0, ax0, ay0, az0 = kx[n], ky[n], kz[n], ph[n], ax[n], ay[n], az[n]
            kx1, ky1, kz1, ph1, ax1, ay1, az1 = kx[n + 1], ky[n + 1], kz[n + 1], ph[n + 1], ax[n + 1], ay[n + 1], az[n + 1]
            kx2, ky2, kz2, ph2, ax2, ay2, az2 = kx[n + 2], ky[n + 2], kz[n + 2], ph[n + 2], ax[n + 2], ay[n + 2], az[n + 2]
            kx3, ky3, kz3, ph3, ax3, ay3, az3 = kx[n + 3], ky[n + 3], kz[n + 3], ph[n + 3], ax[n + 3], ay[n + 3], az[n + 3]
            for i in range(BLOCK):
                xi = x[i]
                yi = y[i]
                zi = z[i]
                c0 = cos2pi(kx0 * xi + ky0 * yi + kz0 * zi + ph0)
                c1 = cos2pi(kx1 * xi + ky1 * yi + kz1 * zi + ph1)
                c2 = cos2pi(kx2 * xi + ky2 * yi + kz2 * zi + ph2)
                c3 = cos2pi(kx3 * xi + ky3 * yi + kz3 * zi + ph3)
                tx[i] = (((tx[i] + ax0 * c0) + ax1 * c1) + ax2 * c2) + ax3 * c3
                ty[i] = (((ty[i] + ay0 * c0) + ay1 * c1) + ay2 * c2) + ay3 * c3
                tz[i] = (((tz[i] + az0 * c0) + az1 * c1) + az2 * c2) + az3 * c3
        for n in range(n4, kx.size):
            kxn = kx[n]
            kyn = ky[n]
            kzn = kz[n]
            phn = ph[n]
            axn = ax[n]
            ayn = ay[n]
            azn = az[n]
            for i in range(BLOCK):
                c = cos2pi(kxn * x[i] + kyn * y[i] + kzn * z[i] + phn)
                tx[i] += axn * c
                ty[i] += ayn * c
                tz[i] += azn * c

    return add_modes


#: tx, ty, tz += sum_n a_n cos(2 pi (k_n . x + ph_n)) over one block: modes outside, particles inside.
#:
#: Four modes per pass over the block (issue 20): four independent cosine polynomials in flight per particle, and
#: a quarter of the loads and stores of the sums -- 27 % faster with AVX2, 12 % with AVX-512 on the development
#: machine.  The sums are still added mode by mode in order (((t + a0 c0) + a1 c1) + ...), so every result is
#: bit for bit what one mode per pass gives.  ``_add_modes_fast``: the same with the cosine of degree 9.
_add_modes = _mode_loop(_cos2pi)
_add_modes_fast = _mode_loop(_cos2pi_fast)


@nb.njit(parallel=True, fastmath={"contract"}, cache=True)
def _field_blocks(x0, y0, z0, kx, ky, kz, ph, ax, ay, az, o0, out, fast=False):
    """Omega at the points (x0, y0, z0) (length a multiple of BLOCK); wave vectors and phases in turns; ``fast``:
    the cosine of degree 9."""
    for blk in nb.prange(x0.size // BLOCK):
        s = blk * BLOCK
        bx = np.full(BLOCK, o0[0])
        by = np.full(BLOCK, o0[1])
        bz = np.full(BLOCK, o0[2])
        if fast:
            _add_modes_fast(x0[s:s + BLOCK], y0[s:s + BLOCK], z0[s:s + BLOCK], kx, ky, kz, ph, ax, ay, az, bx, by, bz)
        else:
            _add_modes(x0[s:s + BLOCK], y0[s:s + BLOCK], z0[s:s + BLOCK], kx, ky, kz, ph, ax, ay, az, bx, by, bz)
        out[0, s:s + BLOCK] = bx
        out[1, s:s + BLOCK] = by
        out[2, s:s + BLOCK] = bz


@nb.njit(parallel=True, fastmath={"contract"}, cache=True)
def _boris_blocks(state, kx, ky, kz, ph, ax, ay, az, o0, half_dt, nsteps, fast=False):
    """Advance ``state`` (6, M) = (x, y, z, ux, uy, uz) by ``nsteps`` Boris steps in place.

    ``ax, ay, az, o0`` are the field amplitudes already multiplied by dt / (2 R), so the field sum is
    directly the Boris vector t = Omega dt / (2 R); ``kx, ky, kz, ph`` are in turns (divided by 2 pi); ``fast``: the
    cosine of degree 9.
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
            if fast:
                _add_modes_fast(x, y, z, kx, ky, kz, ph, ax, ay, az, tx, ty, tz)
            else:
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


@nb.njit(parallel=True, fastmath={"contract"}, cache=True)
def composed_steps(state, kx, ky, kz, ph, ax, ay, az, o0, h, w, nsteps, fast=False):
    """Advance ``state`` by ``nsteps`` steps of the composition prod_j S(w_j h) of Boris maps, in place.

    ``state`` is the (6, n) array of positions and unit directions (n a multiple of ``BLOCK``); ``kx .. ph`` are the
    modes' wave vectors and phases as :func:`numerics.backtracking.kernel.kernel_field` gives them; ``ax, ay, az, o0``
    are the amplitudes times 1 / (2 R) (so t = (w_j h) x the field sum); ``w`` are the substep weights (summing to 1,
    e.g. ``COMPOSITIONS["yoshida4"]``); ``fast``: the cosine of degree 9 (``cosine="fast"``).  The backtracker's own
    loop; public so that studies step exactly as it does.
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
            for j in range(w.size):
                hj = w[j] * h
                half = 0.5 * hj
                for i in range(BLOCK):
                    x[i] += half * ux[i]
                    y[i] += half * uy[i]
                    z[i] += half * uz[i]
                    tx[i] = o0[0]
                    ty[i] = o0[1]
                    tz[i] = o0[2]
                if fast:
                    _add_modes_fast(x, y, z, kx, ky, kz, ph, ax, ay, az, tx, ty, tz)
                else:
                    _add_modes(x, y, z, kx, ky, kz, ph, ax, ay, az, tx, ty, tz)
                for i in range(BLOCK):
                    bx = tx[i] * hj
                    by = ty[i] * hj
                    bz = tz[i] * hj
                    s2 = 2.0 / (1.0 + bx * bx + by * by + bz * bz)
                    vx = ux[i]
                    vy = uy[i]
                    vz = uz[i]
                    px = vx + (vy * bz - vz * by)
                    py = vy + (vz * bx - vx * bz)
                    pz = vz + (vx * by - vy * bx)
                    vx += s2 * (py * bz - pz * by)
                    vy += s2 * (pz * bx - px * bz)
                    vz += s2 * (px * by - py * bx)
                    ux[i] = vx
                    uy[i] = vy
                    uz[i] = vz
                    x[i] += half * vx
                    y[i] += half * vy
                    z[i] += half * vz
        state[0, s:s + BLOCK] = x
        state[1, s:s + BLOCK] = y
        state[2, s:s + BLOCK] = z
        state[3, s:s + BLOCK] = ux
        state[4, s:s + BLOCK] = uy
        state[5, s:s + BLOCK] = uz


# ----------------------------------------------------------------------------- threads
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


def numba_threads(threads):
    """``threads`` checked against numba's thread pool (1 ... NUMBA_NUM_THREADS), or None (numba's current setting)."""
    if threads is None:
        return None
    return check.integer("threads", threads, 1, nb.config.NUMBA_NUM_THREADS)


# ----------------------------------------------------------------------------- work
def mode_evaluations(particles: int, steps: int, n_modes: int, integrator: str = "boris") -> int:
    """The work of one integration: field-mode evaluations = particles x steps x modes x field evaluations per step
    (1 for Boris, 3 for yoshida4).  The unit of ``aniso bench``'s throughput and of ``aniso run``'s estimate.

    >>> mode_evaluations(768, 1000, 256), mode_evaluations(768, 1000, 256, "yoshida4")
    (196608000, 589824000)
    """
    return int(particles) * int(steps) * int(n_modes) * len(COMPOSITIONS[check_integrator(integrator)])


_COUNTERS: list = []


@contextlib.contextmanager
def counting():
    """Count the mode evaluations of every integration inside the block (``with counting() as c: ...; c[0]``):
    how tests check the planned work of a measurement against what it really integrates."""
    c = [0]
    _COUNTERS.append(c)
    try:
        yield c
    finally:
        _COUNTERS.remove(c)


# ----------------------------------------------------------------------------- public API
def _integrate(field, positions, directions, times, dt, signed, threads, backend, progress, desc, integrator="boris",
               cosine="precise"):
    """The common driver; ``signed`` = charge * rigidity, already validated."""
    backend = check.choice("backend", backend, ("cpu", "cuda"))
    integrator = check_integrator(integrator)
    fast = check_cosine(cosine) == "fast"
    if fast and backend == "cuda":
        raise ValueError("cosine='fast': the CUDA backend has the precise cosine only (use backend='cpu')")
    rigidity = abs(signed)
    pos = check.vectors("positions", positions).reshape(-1, 3)
    dirs = check.unit_vectors("directions", directions).reshape(-1, 3)
    if pos.shape[0] == 1 and dirs.shape[0] > 1:
        pos = np.repeat(pos, dirs.shape[0], axis=0)
    if pos.shape != dirs.shape:
        raise ValueError(f"positions ({pos.shape[0]}) and directions ({dirs.shape[0]}): need one position or one per direction")
    m = dirs.shape[0]
    if m > MAX_PARTICLES:
        raise ValueError(f"directions: {m} particles (allowed at most {MAX_PARTICLES})")
    dt = default_step(field, rigidity, integrator=integrator) if dt is None else check_step(field, dt, rigidity, integrator)
    steps = steps_for(times, dt)
    threads = numba_threads(threads)
    for c in _COUNTERS:
        c[0] += mode_evaluations(m, steps[-1], field.n_modes, integrator)
    kernel = kernel_field(field, 0.5 * dt / signed)
    weights = np.asarray(COMPOSITIONS[integrator], dtype=np.float64)
    if backend == "cuda":
        from numerics.backtracking import cuda

        return cuda.integrate(kernel, pos, dirs, steps, dt, progress=progress, desc=desc, weights=tuple(weights))
    if integrator != "boris":
        kernel = kernel_field(field, 0.5 / signed)  # the composed kernel scales each substep's t by its own w dt
    mpad = -(-m // BLOCK) * BLOCK
    state = np.empty((6, mpad))
    state[:3, :m] = pos.T
    state[3:, :m] = dirs.T
    state[:, m:] = state[:, m - 1:m]
    out_pos = np.empty((steps.size, m, 3))
    out_mom = np.empty((steps.size, m, 3))
    # ~0.1 s of work per call between progress updates
    chunk = max(1, int(2e8 // max(1, mpad * max(1, kernel[0].size) * weights.size)))
    bar = progress_bar(progress, int(steps[-1]), desc)
    done = 0
    with _Threads(threads):
        for j, target in enumerate(steps):
            while done < target:
                n = int(min(chunk, target - done))
                if integrator == "boris":
                    _boris_blocks(state, *kernel, 0.5 * dt, n, fast)
                else:
                    composed_steps(state, *kernel, dt, weights, n, fast)
                done += n
                if bar is not None:
                    bar.update(n)
            out_pos[j] = state[:3, :m].T
            out_mom[j] = state[3:, :m].T
    if bar is not None:
        bar.close()
    return Trajectories(times=steps * dt, positions=out_pos, momenta=out_mom, dt=dt, steps=steps)


def trace(field, positions, directions, times, *, dt=None, rigidity=1.0, charge=1, threads=None, backend="cpu",
          progress=False, integrator="boris", cosine="precise") -> Trajectories:
    """Integrate particles forward in time through a static field (Boris, fixed step).

    Parameters
    ----------
    field : numerics.backtracking.turbulence.PlaneWaveField
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
        "cuda" runs the same scheme on an NVIDIA GPU (numerics.backtracking.cuda).
    progress : bool
        Show a tqdm progress bar over steps.
    integrator : {"boris", "yoshida4"}
        The Boris step, or its fourth-order composition (three field evaluations per step; default step factor
        0.9, bound 2.0: numerics.backtracking.kernel.STEP_LIMITS).
    cosine : {"precise", "fast"}
        The field's cosine: the polynomial of degree 13 (absolute error < 1e-13, the default) or of degree 9
        (< 4e-9, CPU only; faster: numerics.backtracking.kernel.COSINE_ERRORS).

    Returns
    -------
    Trajectories
    """
    signed = signed_rigidity(rigidity, charge)
    return _integrate(field, positions, directions, times, dt, signed, threads, backend, progress, "trace", integrator,
                      cosine)


def backtrack(field, directions, times, *, dt=None, rigidity=1.0, charge=1, observer=(0.0, 0.0, 0.0), threads=None,
              backend="cpu", progress=False, integrator="boris", cosine="precise") -> Trajectories:
    """Backtrack cosmic rays that arrive at ``observer`` with momentum ``directions``.

    Integrates the antiparticle (charge -> -charge) from the observer with direction
    -n and returns, at each backtracking time T, the position r(-T) and the cosmic ray's
    momentum direction p(-T) (review eq. (63): f(0, r_obs, n) = f(-T, r(-T), p(-T))).
    Parameters as :func:`trace`; ``times`` are backtracking times T > 0.

    Examples
    --------
    In a uniform field the backtracked orbit is the helix run backwards:

    >>> from numerics.backtracking.turbulence import PlaneWaveField
    >>> field = PlaneWaveField.uniform((0.0, 0.0, 1.0))
    >>> tr = backtrack(field, [[1.0, 0.0, 0.0]], [np.pi], dt=np.pi / 4000)
    >>> np.round(tr.momenta[0, 0], 6) + 0.0  # half a gyration back, the direction is reversed
    array([-1.,  0.,  0.])
    """
    signed = signed_rigidity(rigidity, charge)
    obs = check.vectors("observer", observer).reshape(3)
    dirs = check.unit_vectors("directions", directions).reshape(-1, 3)
    tr = _integrate(field, obs, -dirs, times, dt, -signed, threads, backend, progress, "backtrack", integrator, cosine)
    return Trajectories(times=tr.times, positions=tr.positions - obs, momenta=-tr.momenta, dt=tr.dt, steps=tr.steps)


def evaluate(field, points, *, threads=None, cosine="precise") -> np.ndarray:
    """Omega at ``points`` (..., 3) with the integrator's own vectorised kernel (polynomial cosine: ``cosine`` as in
    :func:`trace`)."""
    fast = check_cosine(cosine) == "fast"
    pts = check.vectors("points", points)
    shape = pts.shape
    flat = pts.reshape(-1, 3)
    m = flat.shape[0]
    mpad = -(-max(m, 1) // BLOCK) * BLOCK
    xyz = np.zeros((3, mpad))
    xyz[:, :m] = flat.T
    kernel = kernel_field(field, 1.0)
    out = np.empty((3, mpad))
    with _Threads(numba_threads(threads)):
        _field_blocks(xyz[0], xyz[1], xyz[2], *kernel, out, fast)
    return out[:, :m].T.reshape(shape)
