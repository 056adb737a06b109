"""CUDA backend of the backtracker: the Boris scheme of :mod:`numerics.backtracking.boris` on an NVIDIA GPU.

Units as in :mod:`numerics.backtracking.boris` (c = 1; positions and times in the caller's length unit).

The scheme is that of ``boris._boris_blocks``, operation for operation, in float64: half a
drift; the Boris vector t = o0 + sum_n a_n cos2pi(k_n . x + ph_n) with the same polynomial
cosine (range reduction by rint, odd polynomial of degree 13, the same coefficients); the
rotation v' = v + v x t, v+ = v + s v' x t with s = 2 / (1 + t^2); half a drift.  Wave vectors
and phases are in turns and amplitudes are pre-scaled by dt / (2 R) (``kernel.kernel_field``).
Results agree with the CPU backend to round-off, not bit for bit: the CUDA compiler and LLVM on
the CPU contract different multiply-adds into FMAs.  The fourth-order composition ``yoshida4`` (substeps
dt w1, dt w0, dt w1) runs in the same kernel: each substep's drift is w half_dt and its t is w times the field
sum (both exact for Boris, w = 1).

Layout: one GPU thread per particle, the state (x, y, u) in registers for all the steps of one
launch; the modes (7 float64 each: kx, ky, kz, ph, ax, ay, az) staged through shared memory in
tiles of ``TILE`` modes, loaded cooperatively by the block (every thread of a block reads the
same mode at the same time, a broadcast).  The host launches chunks of steps sized to take
about ``LAUNCH_SECONDS`` each (measured as it goes), so that a progress bar updates between
launches and no launch comes near a display driver's watchdog; when even one step of all the
particles is too long, the particles are split into groups.  Chunking never changes the result:
the state goes through global memory unchanged between launches.

Needs numba's CUDA target with an NVIDIA driver and libNVVM (a CUDA toolkit, or the
``numba-cuda[cu12]`` package from PyPI); :func:`available` says whether it is usable and why
not.  With ``NUMBA_ENABLE_CUDASIM=1`` set before numba is imported, everything runs in numba's
CUDA simulator (slow; for tests).  Nothing here touches CUDA at import time.
"""
from __future__ import annotations

import functools
import math
import time
import warnings

import numpy as np

__all__ = ["available", "integrate", "bench", "CudaUnavailable", "TPB", "TILE", "UNROLL", "LAUNCH_SECONDS"]

TPB = 128  # threads (particles) per block
TILE = 128  # modes per shared-memory tile: 7 * 128 * 8 B = 7 KiB per block
UNROLL = 8  # the mode loop runs in unrolled groups; modes are padded with zero amplitudes to a multiple (exact: fma(0, c, t) = t)
LAUNCH_SECONDS = 0.25  # wall time aimed at for one round of launches
FIRST_ROUND_EVALS = 1e9  # work of the first round (mode evaluations), before the device's rate is known
GROWTH = 4.0  # a round's work budget grows at most this much from one round to the next
_STEP_OVERHEAD = 12  # the drift and rotation of one particle step, counted in mode evaluations
SIMULATOR = "CUDA simulator"  # available()'s device name under NUMBA_ENABLE_CUDASIM=1

# numba.cuda, set on first use by _boris_kernel.  The kernel must find it as a module global: the
# simulator runs kernels as Python and swaps module globals that are numba.cuda for its fake module.
cuda = None


class CudaUnavailable(RuntimeError):
    """The CUDA backend cannot run here; the message is ``"cuda backend unavailable: <reason>"``."""


def _one_line(exc) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    text = " ".join(lines[:2]) if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return text if len(text) <= 200 else text[:197] + "..."


@functools.cache
def available() -> tuple[bool, str]:
    """(True, device name) when the CUDA backend can run here, else (False, a one-line reason); never raises."""
    try:
        from numba.core import config

        if config.ENABLE_CUDASIM:
            return True, SIMULATOR
        from numba import cuda
    except Exception as exc:  # any failure means "not available"
        return False, f"numba.cuda cannot be imported: {_one_line(exc)}"
    try:
        ok = bool(cuda.is_available())
    except Exception as exc:
        return False, f"numba.cuda cannot load the CUDA driver: {_one_line(exc)}"
    if not ok:
        try:
            from numba.cuda.cudadrv.driver import driver

            count = driver.get_device_count()
        except Exception as exc:
            return False, f"numba.cuda cannot load the CUDA driver: {_one_line(exc)}"
        if count == 0:
            return False, "no CUDA-capable GPU detected"
        return False, f"numba.cuda finds {count} GPU(s) but none it supports"
    try:
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        major, minor = dev.compute_capability
    except Exception as exc:
        return False, f"numba.cuda cannot open the GPU: {_one_line(exc)}"
    missing = _missing_toolkit()
    if missing:
        return False, f"{name}: numba.cuda cannot compile kernels: {missing}"
    return True, f"{name} (compute capability {major}.{minor})"


def _missing_toolkit() -> str:
    """What of libNVVM / libdevice numba cannot find ("" when both are there, or when it cannot tell)."""
    hint = "install a CUDA toolkit and set CUDA_HOME, or pip install 'numba-cuda[cu12]'"
    try:
        from numba.cuda.cudadrv import nvvm

        if not nvvm.is_available():
            return f"libNVVM not found ({hint})"
    except Exception:  # another numba.cuda implementation: let the first compilation tell
        return ""
    try:
        from numba.cuda.cuda_paths import get_cuda_paths

        if get_cuda_paths()["libdevice"].info is None:
            return f"libdevice not found ({hint})"
    except Exception:
        return ""
    return ""


def _require():
    ok, reason = available()
    if not ok:
        raise CudaUnavailable(f"cuda backend unavailable: {reason}")
    return reason


@functools.cache
def _boris_kernel():
    """Compile (lazily, once) and return the Boris kernel."""
    global cuda
    from numba import cuda as numba_cuda
    from numba import float64, uint64
    from numba.core import config

    cuda = numba_cuda

    from numerics.backtracking.kernel import SIN2PI_COEFFICIENTS

    _C1, _C3, _C5, _C7, _C9, _C11, _C13 = SIN2PI_COEFFICIENTS

    if config.ENABLE_CUDASIM:
        rint = np.rint  # the simulator runs the kernel as Python
    else:
        from numba.cuda import libdevice

        rint = libdevice.rint  # cvt.rni.f64: round half to even, as numpy.rint on the CPU

    tile = TILE
    unroll = UNROLL

    @cuda.jit(device=True, inline=True)
    def cos2pi(t):
        r = t - rint(t)
        v = 0.25 - abs(r)
        w = v * v
        return v * (_C1 + w * (_C3 + w * (_C5 + w * (_C7 + w * (_C9 + w * (_C11 + w * _C13))))))

    @cuda.jit
    def boris(state, modes, n_modes, o0x, o0y, o0z, half_dt, w0, w1, nsub, nsteps, first, count):
        """Advance particles first .. first + count - 1 of ``state`` (6, M) by ``nsteps`` steps, each the composition
        of ``nsub`` Boris steps of dt w0 (nsub = 1: w0 = 1, the Boris step itself, operation for operation) or of
        dt w0, dt w1, dt w0 (nsub = 3: yoshida4); the amplitudes are scaled by dt / (2 R), the substep's t by w."""
        sm = cuda.shared.array((7, tile), float64)
        tid = cuda.threadIdx.x
        nthreads = cuda.blockDim.x
        i = first + cuda.blockIdx.x * nthreads + tid
        last = first + count - 1
        j = i if i < last else last  # threads past the end shadow the last particle: every thread must reach syncthreads
        x = state[0, j]
        y = state[1, j]
        z = state[2, j]
        ux = state[3, j]
        uy = state[4, j]
        uz = state[5, j]
        for step in range(nsteps * nsub):
            sub = step % nsub
            w = w1 if sub == 1 else w0
            hd = w * half_dt  # exact for w = 1
            x += hd * ux
            y += hd * uy
            z += hd * uz
            tx = o0x
            ty = o0y
            tz = o0z
            for base in range(0, n_modes, tile):
                cnt = n_modes - base if n_modes - base < tile else tile  # a multiple of unroll
                cuda.syncthreads()  # the previous tile is no longer read
                for q in range(tid, cnt, nthreads):
                    for r in range(7):
                        sm[r, q] = modes[r, base + q]
                cuda.syncthreads()
                # groups of `unroll` modes, unrolled; unsigned indices spare the negative-index wraparound,
                # and adjacent modes are read as 16-byte broadcasts (LDS.128)
                for g in range(uint64(cnt) // uint64(unroll)):
                    for u in range(unroll):
                        n = g * uint64(unroll) + uint64(u)
                        c = cos2pi(sm[0, n] * x + sm[1, n] * y + sm[2, n] * z + sm[3, n])
                        tx += sm[4, n] * c
                        ty += sm[5, n] * c
                        tz += sm[6, n] * c
            tx *= w  # exact for w = 1
            ty *= w
            tz *= w
            s2 = 2.0 / (1.0 + tx * tx + ty * ty + tz * tz)
            # Boris: v' = v + v x t ;  v+ = v + s v' x t  with s = 2 / (1 + t^2)
            px = ux + (uy * tz - uz * ty)
            py = uy + (uz * tx - ux * tz)
            pz = uz + (ux * ty - uy * tx)
            ux += s2 * (py * tz - pz * ty)
            uy += s2 * (pz * tx - px * tz)
            uz += s2 * (px * ty - py * tx)
            x += hd * ux
            y += hd * uy
            z += hd * uz
        if i <= last:
            state[0, i] = x
            state[1, i] = y
            state[2, i] = z
            state[3, i] = ux
            state[4, i] = uy
            state[5, i] = uz

    return boris


class _Device:
    """The field and the particle state on the device, and launches over particle groups."""

    def __init__(self, kernel, state, weights=(1.0,)):
        from numba import cuda

        weights = tuple(float(w) for w in weights)
        if len(weights) == 1 and weights[0] == 1.0:
            self.w0, self.w1, self.nsub = 1.0, 1.0, 1
        elif len(weights) == 3 and weights[0] == weights[2]:
            self.w0, self.w1, self.nsub = weights[0], weights[1], 3
        else:
            raise ValueError(f"weights={weights!r}: the CUDA kernel composes (1,) or symmetric (w0, w1, w0) only")
        kx, ky, kz, ph, ax, ay, az, o0 = kernel
        n = int(np.asarray(kx).size)
        self.n_modes = -(-n // UNROLL) * UNROLL  # padded with zero modes (k = 0, ph = 0, a = 0), which add exactly 0
        modes = np.zeros((7, max(self.n_modes, UNROLL)))
        for c, arr in enumerate((kx, ky, kz, ph, ax, ay, az)):
            modes[c, :n] = np.asarray(arr, dtype=np.float64).reshape(-1)
        self.o0 = tuple(float(v) for v in np.asarray(o0, dtype=np.float64).reshape(3))
        self.m = state.shape[1]
        self.tpb = min(TPB, 32 * -(-self.m // 32))
        self.modes = cuda.to_device(modes)
        self.state = cuda.to_device(np.ascontiguousarray(state, dtype=np.float64))
        self.boris = _boris_kernel()
        self.cost = self.nsub * (self.n_modes + _STEP_OVERHEAD)  # per particle step, in mode evaluations

    def advance(self, half_dt, nsteps, group):
        """Launch ``nsteps`` steps over all particles, ``group`` particles per launch (asynchronous)."""
        from numba.core.errors import NumbaPerformanceWarning

        with warnings.catch_warnings():
            # numba warns about grids under 128 blocks; a small problem has a small grid, and that is fine
            warnings.simplefilter("ignore", NumbaPerformanceWarning)
            for first in range(0, self.m, group):
                count = min(group, self.m - first)
                blocks = -(-count // self.tpb)
                self.boris[blocks, self.tpb](self.state, self.modes, self.n_modes, *self.o0, half_dt, self.w0, self.w1,
                                             self.nsub, nsteps, first, count)

    def plan(self, budget, remaining):
        """(steps, group) for a round of about ``budget`` mode evaluations, at most ``remaining`` steps."""
        per_step = self.m * self.cost
        if per_step <= budget:
            return int(max(1, min(remaining, budget // per_step))), self.m
        group = int(budget // self.cost) // self.tpb * self.tpb
        return 1, int(min(self.m, max(self.tpb, group)))


def _synchronize():
    from numba import cuda

    cuda.synchronize()


def integrate(kernel, pos, dirs, steps, dt, progress=False, desc="", weights=(1.0,)):
    """Integrate on the GPU; arguments and result as ``boris._integrate`` (a ``kernel.Trajectories``).

    Parameters
    ----------
    kernel : tuple
        ``kernel.kernel_field(field, 0.5 * dt / rigidity)`` = (kx, ky, kz, ph, ax, ay, az, o0).
    pos, dirs : (M, 3)
        Start positions (length units) and unit directions.
    steps : (K,) int
        Strictly increasing step counts at which the state is recorded.
    dt : float
        The step (length units).
    progress : bool
        tqdm bar over steps (``desc`` its label).
    weights : (1,) or (3,)
        The composition (``kernel.COMPOSITIONS``): (1.0,) Boris, (w1, w0, w1) yoshida4.

    Raises
    ------
    CudaUnavailable
        (a RuntimeError) ``"cuda backend unavailable: <reason>"`` when :func:`available` is False, before any work.
    """
    _require()
    from numerics.backtracking.kernel import Trajectories, progress_bar

    pos = np.asarray(pos, dtype=np.float64).reshape(-1, 3)
    dirs = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    m = dirs.shape[0]
    dev = _Device(kernel, np.concatenate([pos.T, dirs.T]), weights)
    half_dt = 0.5 * float(dt)
    dev.advance(half_dt, 0, dev.m)  # compiles the kernel (first use) outside the timed rounds; changes nothing
    _synchronize()
    out_pos = np.empty((steps.size, m, 3))
    out_mom = np.empty((steps.size, m, 3))
    bar = progress_bar(progress, int(steps[-1]), desc)
    budget = FIRST_ROUND_EVALS
    done = 0
    try:
        for j, target in enumerate(steps):
            while done < target:
                n, group = dev.plan(budget, int(target - done))
                start = time.perf_counter()
                dev.advance(half_dt, n, group)
                _synchronize()
                elapsed = time.perf_counter() - start
                rate = float(n) * dev.m * dev.cost / max(elapsed, 1e-6)  # an underestimate for short rounds: safe
                budget = max(float(dev.cost * dev.tpb), min(GROWTH * budget, rate * LAUNCH_SECONDS))
                done += n
                if bar is not None:
                    bar.update(n)
            state = dev.state.copy_to_host()
            out_pos[j] = state[:3].T
            out_mom[j] = state[3:].T
    finally:
        if bar is not None:
            bar.close()
    return Trajectories(times=steps * dt, positions=out_pos, momenta=out_mom, dt=dt, steps=steps)


def _random_field(n_modes, rng):
    """Unit-rms isotropic plane waves with |k| in [1, 10) (amplitudes perpendicular to k), for :func:`bench`."""
    k = rng.normal(size=(n_modes, 3))
    k *= (np.exp(rng.uniform(0.0, math.log(10.0), n_modes)) / np.linalg.norm(k, axis=1))[:, None]
    a = np.cross(k, rng.normal(size=(n_modes, 3)))
    a *= math.sqrt(2.0 / max(n_modes, 1)) / np.linalg.norm(a, axis=1)[:, None]
    return k, a, rng.uniform(0.0, 2.0 * math.pi, n_modes)


def bench(n_modes=256, n_particles=1 << 20, n_steps=20) -> dict:
    """GPU throughput of the Boris kernel: median wall time of 3 timed runs after a warm-up launch.

    A run advances ``n_particles`` particles by ``n_steps`` steps through ``n_modes`` random
    plane waves, in launches of about ``LAUNCH_SECONDS`` each (planned from the warm-up launch's
    rate, so no launch nears a display watchdog), device synchronised before and after.  Returns
    a dict with the device, the sizes, ``launches`` (per run), ``seconds`` (median), ``times_s``,
    ``particle_steps_per_s`` and ``mode_evals_per_s`` (= particle_steps_per_s * n_modes).
    Raises CudaUnavailable (a RuntimeError) when the backend is unavailable.
    """
    n_modes = int(n_modes)
    n_particles = int(n_particles)
    n_steps = int(n_steps)
    if n_modes < 1 or n_particles < 1 or n_steps < 1:
        raise ValueError(f"n_modes={n_modes}, n_particles={n_particles}, n_steps={n_steps}: each must be >= 1")
    device = _require()
    rng = np.random.default_rng(12345)
    k, a, beta = _random_field(n_modes, rng)
    dt = 0.01
    two_pi = 2.0 * math.pi
    kernel = (*(k[:, c] / two_pi for c in range(3)), np.mod(beta, two_pi) / two_pi,
              *(a[:, c] * 0.5 * dt for c in range(3)), np.array([0.0, 0.0, 0.5 * dt]))
    u = rng.normal(size=(n_particles, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    dev = _Device(kernel, np.concatenate([np.zeros((3, n_particles)), u.T]))
    half_dt = 0.5 * dt
    dev.advance(half_dt, 0, dev.m)  # compiles
    _synchronize()
    n, group = dev.plan(FIRST_ROUND_EVALS, n_steps)
    start = time.perf_counter()
    dev.advance(half_dt, n, group)  # warm-up launch(es): clocks up, and the rate that plans the timed runs
    _synchronize()
    rate = float(n) * dev.m * dev.cost / max(time.perf_counter() - start, 1e-6)
    budget = max(float(dev.cost * dev.tpb), rate * LAUNCH_SECONDS)
    chunks = []
    left = n_steps
    while left > 0:
        n, group = dev.plan(budget, left)
        chunks.append((n, group))
        left -= n
    times = []
    for _ in range(3):
        start = time.perf_counter()
        for n, group in chunks:
            dev.advance(half_dt, n, group)
        _synchronize()
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    particle_steps = float(n_particles) * n_steps / seconds
    launches = sum(-(-dev.m // group) for _, group in chunks)
    return {"device": device, "n_modes": n_modes, "n_particles": n_particles, "n_steps": n_steps,
            "threads_per_block": dev.tpb, "tile": TILE, "launches": launches, "seconds": seconds,
            "times_s": [float(t) for t in times], "particle_steps_per_s": particle_steps,
            "mode_evals_per_s": particle_steps * n_modes}
