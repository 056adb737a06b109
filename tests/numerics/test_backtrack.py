"""The Boris integrator and backtracking (numerics.backtracking.boris): exact helix, order, |p|, reversibility."""
from __future__ import annotations

import math

import numpy as np
import pytest

from numerics import diffusion
from numerics.backtracking import boris as bt
from numerics.backtracking import skymaps
from numerics.backtracking.turbulence import PlaneWaveField


def uniform(omega=(0.0, 0.0, 1.0)):
    return PlaneWaveField.uniform(omega)


def turbulent(n_modes=32, seed=5, regular=(0.0, 0.0, 1.0)):
    return PlaneWaveField.giacalone_jokipii(n_modes, 0.1, 10.0, sigma2=1.0, regular=regular, seed=seed)


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- the polynomial cosine
def test_cos2pi_polynomial_accuracy():
    # the polynomial itself: against numpy on the reduced argument, over a wide range of turns
    t = np.concatenate([np.linspace(-3, 3, 200_001), np.random.default_rng(0).uniform(-1e6, 1e6, 200_000)])
    got = bt._cos2pi_array(t)
    ref = np.cos(2 * np.pi * (t - np.rint(t)))
    assert np.max(np.abs(got - ref)) < 1e-13
    # exact special values to the polynomial's accuracy
    assert abs(bt._cos2pi_array(np.array([0.0]))[0] - 1) < 1e-13
    assert abs(bt._cos2pi_array(np.array([0.5]))[0] + 1) < 1e-13
    assert abs(bt._cos2pi_array(np.array([0.25]))[0]) < 1e-15


def test_kernel_field_matches_reference_evaluation():
    field = turbulent(n_modes=100, seed=11)
    pts = np.random.default_rng(1).normal(scale=20.0, size=(1000, 3))
    fast = bt.evaluate(field, pts)
    ref = field.evaluate(pts)
    scale = np.abs(field.amplitudes).sum() + np.linalg.norm(field.regular)
    assert np.max(np.abs(fast - ref)) < 1e-13 * scale * 10


# ----------------------------------------------------------------------------- exact solutions in a uniform field
def test_uniform_field_boris_rotation_is_exact():
    """In a uniform field the Boris step rotates by exactly 2 arctan(Omega dt/2) per step; positions follow."""
    omega, dt, n = 1.3, 0.05, 1000
    p0 = unit([0.6, 0.0, 0.8])
    tr = bt.trace(uniform((0, 0, omega)), [0, 0, 0], [p0], [n * dt], dt=dt)
    theta = 2 * math.atan(omega * dt / 2) * n  # p' = p x Omega: clockwise about +z
    pe = np.array([p0[0] * math.cos(theta), -p0[0] * math.sin(theta), p0[2]])
    assert np.max(np.abs(tr.momenta[0, 0] - pe)) < 1e-12


def helix_error(dt, T=10.0, omega=1.0):
    p0 = unit([1.0, 0.0, 1.0])
    tr = bt.trace(uniform((0, 0, omega)), [0, 0, 0], [p0], [T], dt=dt)
    s, t = p0[0], tr.times[0]
    exact = np.array([s * math.sin(omega * t) / omega, s * (math.cos(omega * t) - 1) / omega, p0[2] * t])
    return np.linalg.norm(tr.positions[0, 0] - exact)


def test_helix_phase_error_converges_at_second_order():
    errs = [helix_error(dt) for dt in (0.1, 0.05, 0.025, 0.0125)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - 2.0) < 0.05), orders


# ----------------------------------------------------------------------------- conservation and reversibility
def test_momentum_norm_conserved_over_a_million_steps():
    field = turbulent(n_modes=8, seed=3)
    dirs = unit(np.random.default_rng(2).normal(size=(64, 3)))
    dt = 0.04
    tr = bt.trace(field, [0, 0, 0], dirs, [1e6 * dt], dt=dt)
    assert tr.steps[0] == 1_000_000
    assert np.max(np.abs(np.linalg.norm(tr.momenta[0], axis=1) - 1)) < 1e-12


def test_forward_then_backward_returns_to_start():
    field = turbulent(n_modes=64, seed=7)
    dirs = unit(np.random.default_rng(4).normal(size=(100, 3)))
    back = bt.backtrack(field, dirs, [2.0, 5.0])
    fwd = bt.trace(field, back.positions[-1], back.momenta[-1], [back.times[-1]], dt=back.dt)
    assert np.max(np.abs(fwd.positions[0])) < 1e-10
    assert np.max(np.abs(fwd.momenta[0] - dirs)) < 1e-10


def test_backtracking_reverses_the_charge():
    """A positive charge in B along +z gyrates clockwise seen from +z; backtracked it runs the circle backwards."""
    dt = 0.5 * math.pi / 2000  # the recorded time is exactly a quarter gyration
    fwd = bt.trace(uniform(), [0, 0, 0], [[1.0, 0, 0]], [0.5 * math.pi], dt=dt)
    back = bt.backtrack(uniform(), [[1.0, 0, 0]], [0.5 * math.pi], dt=dt)
    assert np.allclose(fwd.momenta[0, 0], [0, -1, 0], atol=1e-6)  # p' = p x Omega
    assert np.allclose(back.momenta[0, 0], [0, 1, 0], atol=1e-6)  # a quarter turn earlier it pointed along +y
    assert np.allclose(back.positions[0, 0], [-1, -1, 0], atol=1e-6)  # r(t) = (sin t, cos t - 1, 0) at t = -pi/2
    neg = bt.backtrack(uniform(), [[1.0, 0, 0]], [0.5 * math.pi], dt=dt, charge=-1)
    assert np.allclose(neg.momenta[0, 0], [0, -1, 0], atol=1e-6)


def test_results_do_not_depend_on_threads_or_batch():
    """Fixed particle blocks: a particle's numbers are the same alone, in a batch, with 1 or 2 threads (bit for bit)."""
    field = turbulent(n_modes=48, seed=9)
    dirs = skymaps.directions(4)
    a = bt.backtrack(field, dirs, [0.5, 1.0], threads=1)
    b = bt.backtrack(field, dirs, [0.5, 1.0], threads=2)
    c = bt.backtrack(field, dirs[17:18], [0.5, 1.0], threads=2)
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.momenta, b.momenta)
    assert np.array_equal(a.positions[:, 17:18], c.positions)


def test_running_tensor_in_a_uniform_field_has_the_bgk_sign():
    """End to end: backtracked HEALPix directions in B0 along z give the antisymmetric TGK tensor whose time
    average over a gyration is the BGK axial term K_xy = 1/(3 Omega) of 002 eq. (2) as nu -> 0."""
    omega = 2.0
    dirs = skymaps.directions(8)
    times = np.linspace(0.05, 2 * math.pi / omega, 64)
    tr = bt.backtrack(uniform((0, 0, omega)), dirs, times, dt=1e-3)
    s = skymaps.summarize(tr.positions, tr.momenta, dirs, lmax=2, keep_maps=False)
    d = skymaps.running_diffusion(s["moments"][None], tr.times, s["means"][None])
    expected = (1 - np.cos(omega * tr.times)) / (3 * omega)
    assert np.max(np.abs(d.tgk[:, 0, 1] - expected)) < 1e-3 / omega  # pixel-centre quadrature of <n n^T> = I/3
    bgk = diffusion.bgk_tensor(1e-9, omega, [0, 0, 1.0])
    y, t = d.tgk[:, 0, 1], tr.times
    average = np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2 / (t[-1] - t[0])
    assert abs(average - bgk[0, 1]) < 0.02 * abs(bgk[0, 1])


# ----------------------------------------------------------------------------- the step criterion and bad input
def test_unresolved_steps_are_refused():
    field = turbulent(n_modes=8)  # k_max = 10
    with pytest.raises(ValueError, match=r"smallest wavelength.*dt \* k_max <= 0.5"):
        bt.backtrack(field, [[1.0, 0, 0]], [1.0], dt=0.06)
    strong = uniform((0, 0, 100.0))
    with pytest.raises(ValueError, match=r"gyration.*Omega_max"):
        bt.backtrack(strong, [[1.0, 0, 0]], [1.0], dt=0.01)
    assert bt.default_step(field) == pytest.approx(0.1 / max(field.k_max, 1 + 3 * field.rms))


@pytest.mark.parametrize("kwargs, match", [
    ({"directions": [[1.0, 1.0, 0]]}, "unit vector"),
    ({"times": [2.0, 1.0]}, "strictly increasing"),
    ({"times": [-1.0]}, "must be > 0"),
    ({"rigidity": 0.0}, "rigidity"),
    ({"rigidity": -1.0}, "rigidity"),
    ({"charge": 2}, "charge"),
    ({"backend": "opencl"}, "backend"),
    ({"threads": 0}, "threads"),
    ({"field": "not a field"}, "PlaneWaveField"),
])
def test_bad_input(kwargs, match):
    args = {"field": turbulent(n_modes=4), "directions": [[1.0, 0, 0]], "times": [1.0], **kwargs}
    with pytest.raises(ValueError, match=match):
        bt.backtrack(args.pop("field"), args.pop("directions"), args.pop("times"), **args)


def test_the_step_map_preserves_phase_space_volume():
    """Liouville: the Jacobian of (x, u) -> Boris^n (x, u) in R^6 has determinant 1 (central differences)."""
    field = turbulent(n_modes=32, seed=13)
    dt = 0.02
    kernel = bt.kernel_field(field, 0.5 * dt)
    x0 = np.array([0.3, -0.2, 0.1, *unit([0.2, 0.5, -0.8])])

    def flow(z):
        state = np.repeat(z[:, None], bt.BLOCK, axis=1).copy()
        bt._boris_blocks(state, *kernel, 0.5 * dt, 200)
        return state[:, 0]

    eps = 1e-6
    jac = np.empty((6, 6))
    for j in range(6):
        e = np.zeros(6)
        e[j] = eps
        jac[:, j] = (flow(x0 + e) - flow(x0 - e)) / (2 * eps)
    assert abs(np.linalg.det(jac) - 1) < 1e-6


def test_bench_reports_the_issue_keys():
    from numerics import bench

    rows, (ok, reason) = bench.backtrack(threads_list=[1], modes=(8,), repeats=1)
    assert rows[0]["backend"] == "cpu" and rows[0]["modes"] == 8 and rows[0]["threads"] == 1
    assert rows[0]["mode_evals_per_s"] == pytest.approx(8 * rows[0]["particle_steps_per_s"])
    assert rows[0]["particle_steps_per_s"] > 0 and isinstance(reason, str) and reason
    # the naive baseline, measured in the same run (issue 20): its rate and the ratio the README quotes
    assert rows[0]["naive_mode_evals_per_s"] > 0 and rows[0]["naive_steps"] >= 2
    assert rows[0]["ratio"] == pytest.approx(rows[0]["mode_evals_per_s"] / rows[0]["naive_mode_evals_per_s"], rel=1e-12)


# ----------------------------------------------------------------------------- the fourth-order composition
def test_yoshida4_helix_error_converges_at_fourth_order():
    def err(dt, T=10.0):
        p0 = unit([1.0, 0.0, 1.0])
        tr = bt.trace(uniform(), [0, 0, 0], [p0], [T], dt=dt, integrator="yoshida4")
        s, t = p0[0], tr.times[0]
        exact = np.array([s * math.sin(t), s * (math.cos(t) - 1), p0[2] * t])
        return np.linalg.norm(tr.positions[0, 0] - exact)

    errs = [err(dt) for dt in (0.2, 0.1, 0.05)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - 4.0) < 0.1), orders
    assert errs[1] < 0.02 * helix_error(0.1)  # at the same step (3x the evaluations) 127x below Boris


def test_yoshida4_in_turbulence_converges_at_fourth_order():
    """Against a 4x finer yoshida4 run: the error falls 16x per halving (Boris: 4x), in a turbulent field."""
    field = turbulent(n_modes=32, seed=21)
    dirs = unit(np.random.default_rng(8).normal(size=(64, 3)))
    k = max(field.k_max, 1 + 3 * field.rms)
    T = 400 * 0.1 / k  # a short time (a few wavelengths): the local error, before trajectories decorrelate
    ref = bt.backtrack(field, dirs, [T], dt=T / 800, integrator="yoshida4").momenta[0]
    e = [np.abs(bt.backtrack(field, dirs, [T], dt=T / n, integrator="yoshida4").momenta[0] - ref).max() for n in (50, 100)]
    assert 16 / 1.5 < e[0] / e[1] < 16 * 1.5, e


def test_yoshida4_is_reversible_deterministic_and_keeps_the_norm():
    field = turbulent(n_modes=64, seed=7)
    dirs = unit(np.random.default_rng(4).normal(size=(100, 3)))
    back = bt.backtrack(field, dirs, [2.0, 5.0], integrator="yoshida4")
    fwd = bt.trace(field, back.positions[-1], back.momenta[-1], [back.times[-1]], dt=back.dt, integrator="yoshida4")
    assert np.max(np.abs(fwd.positions[0])) < 1e-10
    assert np.max(np.abs(fwd.momenta[0] - dirs)) < 1e-10
    assert np.max(np.abs(np.linalg.norm(back.momenta, axis=2) - 1)) < 1e-13
    one = bt.backtrack(field, dirs, [2.0, 5.0], integrator="yoshida4", threads=1)
    alone = bt.backtrack(field, dirs[17:18], [2.0, 5.0], integrator="yoshida4", threads=2)
    assert np.array_equal(one.positions, back.positions) and np.array_equal(one.momenta, back.momenta)
    assert np.array_equal(alone.momenta, back.momenta[:, 17:18])


def test_yoshida4_step_map_preserves_phase_space_volume():
    field = turbulent(n_modes=32, seed=13)
    dt = 0.05
    kernel = bt.kernel_field(field, 0.5)
    w = np.asarray(bt.COMPOSITIONS["yoshida4"])
    x0 = np.array([0.3, -0.2, 0.1, *unit([0.2, 0.5, -0.8])])

    def flow(z):
        state = np.repeat(z[:, None], bt.BLOCK, axis=1).copy()
        bt.composed_steps(state, *kernel, dt, w, 100)
        return state[:, 0]

    eps = 1e-6
    jac = np.empty((6, 6))
    for j in range(6):
        e = np.zeros(6)
        e[j] = eps
        jac[:, j] = (flow(x0 + e) - flow(x0 - e)) / (2 * eps)
    assert abs(np.linalg.det(jac) - 1) < 1e-6


def test_yoshida4_bounds_and_bad_input():
    field = turbulent(n_modes=8)  # k_max = 10
    assert bt.default_step(field, integrator="yoshida4") == pytest.approx(0.9 / max(field.k_max, 1 + 3 * field.rms))
    bt.backtrack(field, [[1.0, 0, 0]], [1.0], dt=0.19, integrator="yoshida4")  # above Boris's bound, within its own
    with pytest.raises(ValueError, match=r"dt \* k_max <= 2.0 for integrator 'yoshida4'"):
        bt.backtrack(field, [[1.0, 0, 0]], [1.0], dt=0.21, integrator="yoshida4")
    with pytest.raises(ValueError, match=r"integrator='rk4': must be one of"):
        bt.backtrack(field, [[1.0, 0, 0]], [1.0], integrator="rk4")


# ----------------------------------------------------------------------------- the mode loop, four modes per pass
@pytest.mark.parametrize("cosine", ["precise", "fast"])
@pytest.mark.parametrize("n_modes", [2, 3, 4, 7, 64, 257])
def test_four_modes_per_pass_sum_bit_for_bit_like_one_mode_per_pass(n_modes, cosine):
    """The kernel evaluates four modes per pass over a block (issue 20); the sum is still accumulated mode by mode in
    order, so Omega is bit for bit what a loop of one mode per pass gives (same cosine, same FMA contraction),
    including the remainder of n_modes modulo 4 -- with either cosine (``cosine="fast"``: the same loop)."""
    import numba as nb

    from numerics.backtracking.kernel import kernel_field

    cos2pi = bt._cos2pi if cosine == "precise" else bt._cos2pi_fast

    @nb.njit(fastmath={"contract"})
    def one_mode_per_pass(x, y, z, kx, ky, kz, ph, ax, ay, az, o0):
        out = np.empty((3, x.size))
        for i in range(x.size):
            tx, ty, tz = o0[0], o0[1], o0[2]
            for n in range(kx.size):
                c = cos2pi(kx[n] * x[i] + ky[n] * y[i] + kz[n] * z[i] + ph[n])
                tx += ax[n] * c
                ty += ay[n] * c
                tz += az[n] * c
            out[0, i], out[1, i], out[2, i] = tx, ty, tz
        return out

    field = PlaneWaveField.giacalone_jokipii(n_modes, 2 * np.pi / 100, 2 * np.pi / 0.01, sigma2=1.0,
                                            regular=(0, 0, 10.0), seed=n_modes)
    pts = np.random.default_rng(n_modes).uniform(-3, 3, size=(200, 3))
    ref = one_mode_per_pass(*(np.ascontiguousarray(c) for c in pts.T), *kernel_field(field, 1.0))
    assert np.array_equal(bt.evaluate(field, pts, cosine=cosine), ref.T)
