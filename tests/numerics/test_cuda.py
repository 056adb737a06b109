"""The CUDA backend (numerics.backtracking.cuda) against the CPU backend (numerics.backtracking.boris._boris_blocks).

Same scheme, but not bit for bit: LLVM on the CPU and the CUDA compiler contract different
multiply-adds into FMAs (and numba's CUDA simulator, which runs the kernel as Python, contracts
none), so single steps differ by an ulp or so and the trajectories agree to round-off.

Three situations:
- numba's CUDA simulator (a subprocess with NUMBA_ENABLE_CUDASIM=1, set before numba is imported):
  always runs, small problems;
- a real GPU: a bigger comparison and the benchmark, skipped where there is none;
- neither: ``available()`` says why in one line and ``integrate`` refuses before any work.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from numba.core import config as numba_config

from numerics.backtracking import boris as backtrack
from numerics.backtracking import cuda as _cuda

ROOT = Path(__file__).resolve().parents[2]
SIMULATED = bool(numba_config.ENABLE_CUDASIM)  # this process itself runs under the simulator


def plane_waves(n_modes, seed, k_range=(0.5, 5.0), rms=1.0, regular=(0.3, -0.2, 1.0)):
    """A duck-typed plane-wave field: random directions, |k| log-uniform, amplitudes perpendicular to k."""
    rng = np.random.default_rng(seed)
    k = rng.normal(size=(n_modes, 3))
    k *= (np.geomspace(*k_range, n_modes) / np.linalg.norm(k, axis=1))[:, None]
    a = np.cross(k, rng.normal(size=(n_modes, 3)))
    a *= rms * np.sqrt(2.0 / n_modes) / np.linalg.norm(a, axis=1)[:, None]
    return types.SimpleNamespace(wavevectors=k, amplitudes=a, phases=rng.uniform(0.0, 2.0 * np.pi, n_modes),
                                 regular=np.array(regular))


def directions(n, seed):
    u = np.random.default_rng(seed).normal(size=(n, 3))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def run_in_simulator(code: str, timeout=120) -> dict:
    """Run ``code`` (which prints one JSON line last) under numba's CUDA simulator; return that JSON."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "ANISO_NO_PROGRESS": "1"}
    prelude = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"simulator subprocess failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


SIM_CODE = """
import json, types
import numpy as np
from numerics.backtracking import boris as backtrack, cuda as _cuda
exec({helpers!r})
out = {{"available": list(_cuda.available())}}
field = plane_waves(8, seed=11)
dirs = directions(8, seed=12)
dt = backtrack.default_step(field)
times = np.array([13, 30]) * dt
cpu = backtrack.backtrack(field, dirs, times, dt=dt)
gpu = backtrack.backtrack(field, dirs, times, dt=dt, backend="cuda")
out["steps"] = [gpu.steps.tolist(), cpu.steps.tolist()]
out["times_equal"] = bool(np.array_equal(gpu.times, cpu.times))
out["shape"] = list(gpu.positions.shape)
out["dpos"] = float(np.abs(gpu.positions - cpu.positions).max())
out["dmom"] = float(np.abs(gpu.momenta - cpu.momenta).max())
out["identical_fraction"] = float(np.mean(gpu.positions == cpu.positions))
out["norm_err"] = float(np.abs(np.linalg.norm(gpu.momenta, axis=2) - 1.0).max())
out["travel"] = float(np.linalg.norm(gpu.positions[-1], axis=1).min() / gpu.times[-1])
# 136 particles, 13 modes (padded to 16), one-step rounds in particle groups of 32: bit-identical to one big launch
field = plane_waves(13, seed=21)
dirs = directions(136, seed=22)
dt = backtrack.default_step(field)
times = np.array([3, 7]) * dt
whole = backtrack.trace(field, np.zeros(3), dirs, times, dt=dt, backend="cuda")
_cuda.TPB = 32
_cuda.FIRST_ROUND_EVALS = 1.0
_cuda.LAUNCH_SECONDS = 1e-9
split = backtrack.trace(field, np.zeros(3), dirs, times, dt=dt, backend="cuda", progress=True)
cpu = backtrack.trace(field, np.zeros(3), dirs, times, dt=dt)
out["split_identical"] = bool(np.array_equal(split.positions, whole.positions) and np.array_equal(split.momenta, whole.momenta))
out["split_dpos"] = float(np.abs(split.positions - cpu.positions).max())
out["split_dmom"] = float(np.abs(split.momenta - cpu.momenta).max())
# the fourth-order composition runs in the same kernel
field = plane_waves(8, seed=51)
dirs = directions(8, seed=52)
dt = backtrack.default_step(field, integrator="yoshida4")
times = np.array([5, 12]) * dt
cpu = backtrack.backtrack(field, dirs, times, dt=dt, integrator="yoshida4")
gpu = backtrack.backtrack(field, dirs, times, dt=dt, integrator="yoshida4", backend="cuda")
boris_cpu = backtrack.backtrack(field, dirs, times, dt=dt / 3)
out["y4_dpos"] = float(np.abs(gpu.positions - cpu.positions).max())
out["y4_dmom"] = float(np.abs(gpu.momenta - cpu.momenta).max())
out["y4_vs_boris"] = float(np.abs(gpu.momenta - boris_cpu.momenta).max())
out["y4_travel"] = float(np.linalg.norm(gpu.positions[-1], axis=1).min() / gpu.times[-1])
out["bench"] = _cuda.bench(8, 40, 2)
print(json.dumps(out))
"""


def _helpers_source() -> str:
    import inspect

    return inspect.getsource(plane_waves) + "\n" + inspect.getsource(directions)


@pytest.fixture(scope="module")
def simulated() -> dict:
    return run_in_simulator(SIM_CODE.format(helpers=_helpers_source()))


def test_simulator_is_available(simulated):
    assert simulated["available"] == [True, _cuda.SIMULATOR]


def test_simulator_agrees_with_cpu(simulated):
    # 8 particles, 8 modes, 30 steps, recorded at steps 13 and 30; the simulator contracts no FMAs, the CPU does
    assert simulated["steps"][0] == simulated["steps"][1] == [13, 30]
    assert simulated["times_equal"]
    assert simulated["shape"] == [2, 8, 3]
    assert 0.5 < simulated["travel"] <= 1.0  # moved (at unit speed, along curved paths): not a comparison of start values
    assert simulated["dpos"] <= 1e-12
    assert simulated["dmom"] <= 1e-12
    assert simulated["norm_err"] <= 1e-13


def test_simulator_yoshida4_agrees_with_cpu(simulated):
    # 8 particles, 8 modes, 12 steps of three substeps each; a different scheme (Boris at dt/3) differs far more,
    # so the agreement is the composition's, not a coincidence of short trajectories
    assert 0.5 < simulated["y4_travel"] <= 1.0
    assert simulated["y4_dpos"] <= 1e-12
    assert simulated["y4_dmom"] <= 1e-12
    assert simulated["y4_vs_boris"] > 1e3 * max(simulated["y4_dmom"], 1e-15)


def test_simulator_chunking_and_groups_do_not_change_results(simulated):
    assert simulated["split_identical"]
    assert simulated["split_dpos"] <= 1e-12
    assert simulated["split_dmom"] <= 1e-12


def test_simulator_bench(simulated):
    res = simulated["bench"]
    assert res["device"] == _cuda.SIMULATOR
    assert (res["n_modes"], res["n_particles"], res["n_steps"]) == (8, 40, 2)
    assert res["particle_steps_per_s"] > 0 and res["mode_evals_per_s"] == pytest.approx(8 * res["particle_steps_per_s"])
    assert len(res["times_s"]) == 3 and res["seconds"] == pytest.approx(sorted(res["times_s"])[1])


def test_import_is_lazy():
    code = ("import sys; sys.path.insert(0, %r); import numerics.backtracking.cuda; "
            "print('numba.cuda' in sys.modules)") % str(ROOT)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


def test_plan_bounds_each_round():
    dev = _cuda._Device.__new__(_cuda._Device)
    dev.m, dev.cost, dev.tpb = 10_000, 100, 128
    assert dev.plan(1e9, 5) == (5, 10_000)  # capped by the steps left
    assert dev.plan(1e7, 1_000) == (10, 10_000)  # 1e6 per step
    steps, group = dev.plan(2e5, 1_000)  # one step of everything is too much: particle groups
    assert steps == 1 and group % 128 == 0 and group * dev.cost <= 2e5
    assert dev.plan(1.0, 1_000) == (1, 128)  # never below one block


def _gpu_or_skip():
    ok, reason = _cuda.available()
    if SIMULATED:
        pytest.skip("this process runs under the CUDA simulator; the GPU comparison needs a real GPU")
    if not ok:
        pytest.skip(f"no GPU: {reason}")
    return reason


def test_gpu_agrees_with_cpu():
    _gpu_or_skip()
    field = plane_waves(256, seed=31)
    dirs = directions(4096, seed=32)
    dt = backtrack.default_step(field)
    times = np.array([50, 200]) * dt
    cpu = backtrack.backtrack(field, dirs, times, dt=dt)
    gpu = backtrack.backtrack(field, dirs, times, dt=dt, backend="cuda")
    np.testing.assert_array_equal(gpu.steps, cpu.steps)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-11)
    np.testing.assert_allclose(gpu.momenta, cpu.momenta, rtol=0, atol=1e-11)
    assert np.abs(np.linalg.norm(gpu.momenta, axis=2) - 1.0).max() <= 1e-13
    dt4 = backtrack.default_step(field, integrator="yoshida4")
    cpu = backtrack.backtrack(field, dirs, times / dt * dt4, dt=dt4, integrator="yoshida4")
    gpu = backtrack.backtrack(field, dirs, times / dt * dt4, dt=dt4, integrator="yoshida4", backend="cuda")
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-11)
    np.testing.assert_allclose(gpu.momenta, cpu.momenta, rtol=0, atol=1e-11)


def test_gpu_bench():
    reason = _gpu_or_skip()
    res = _cuda.bench(n_modes=64, n_particles=1 << 14, n_steps=4)
    assert res["device"] == reason
    assert res["particle_steps_per_s"] > 0 and res["mode_evals_per_s"] == pytest.approx(64 * res["particle_steps_per_s"])
    assert len(res["times_s"]) == 3


def test_unavailable_without_gpu():
    ok, reason = _cuda.available()
    if ok:
        pytest.skip(f"a CUDA device is usable here ({reason})")
    assert isinstance(reason, str) and reason.strip() and "\n" not in reason
    field = plane_waves(4, seed=41)
    dirs = directions(3, seed=42)
    kernel = backtrack.kernel_field(field, 0.05)
    with pytest.raises(_cuda.CudaUnavailable, match=r"^cuda backend unavailable: ") as exc:
        _cuda.integrate(kernel, np.zeros((3, 3)), dirs, np.array([1, 2]), 0.1)
    assert str(exc.value) == f"cuda backend unavailable: {reason}"
    with pytest.raises(_cuda.CudaUnavailable, match=r"^cuda backend unavailable: "):
        backtrack.backtrack(field, dirs, [1.0], backend="cuda")
    with pytest.raises(_cuda.CudaUnavailable, match=r"^cuda backend unavailable: "):
        _cuda.bench(8, 64, 2)
