"""The naive baseline of ``aniso bench`` (numerics.backtracking.naive) integrates what the backtracker integrates."""
from __future__ import annotations

import numpy as np
import pytest

from numerics.backtracking import boris, naive
from numerics.backtracking.turbulence import PlaneWaveField

#: the absolute error of the backtracker's cosine, as tests/numerics/test_backtrack.py checks it against numpy.cos
COS_ERROR = 1e-13


def _field():
    return PlaneWaveField.giacalone_jokipii(64, 2 * np.pi / 100, 2 * np.pi / 0.01, sigma2=1.0, regular=(0, 0, 10.0),
                                            seed=1)


def _dirs(m=100):
    d = np.random.default_rng(3).normal(size=(m, 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def _tolerance(field, dt, steps):
    """The backtracker's cosine is exact to COS_ERROR: per step its Boris vector t differs by at most
    sum_n |a_n| dt/2 times that, which turns the direction by at most twice as much; over ``steps`` steps (before
    chaos amplifies anything, 50 steps here) the directions differ by at most steps times that, the positions by dt
    times the sum of those; a factor 10 covers the float64 round-off of the 64-term sums."""
    per_step = 2 * np.sum(np.linalg.norm(field.amplitudes, axis=1)) * 0.5 * dt * COS_ERROR
    return 10 * steps * per_step + 10 * steps * np.finfo(float).eps


def test_naive_and_boris_trace_agree_to_the_backtrackers_cosine():
    field, dirs = _field(), _dirs()
    dt, steps = boris.default_step(field), 50
    tr = boris.trace(field, np.zeros(3), dirs, [steps * dt], dt=dt)
    state = naive.trace(field, np.zeros((dirs.shape[0], 3)), dirs, steps, dt)
    tol = _tolerance(field, dt, steps)
    assert tol < 1e-9  # the bound is meaningful: trajectories that differ would differ by O(dt) = 1e-3 after one step
    assert np.max(np.abs(tr.momenta[-1] - state[:, 3:])) <= tol
    assert np.max(np.abs(tr.positions[-1] - state[:, :3])) <= steps * dt * tol


def test_naive_backtracks_like_the_backtracker_with_the_antiparticle():
    field, dirs = _field(), _dirs(40)
    dt, steps = boris.default_step(field), 30
    tr = boris.backtrack(field, dirs, [steps * dt], dt=dt)
    state = naive.trace(field, np.zeros_like(dirs), -dirs, steps, dt, charge=-1)
    tol = _tolerance(field, dt, steps)
    assert np.max(np.abs(tr.momenta[-1] + state[:, 3:])) <= tol  # p(-T) = -u
    assert np.max(np.abs(tr.positions[-1] - state[:, :3])) <= steps * dt * tol


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": -1, "dt": 0.01}, "steps=-1"),
    ({"steps": 3, "dt": 0.0}, "dt=0.0"),
    ({"steps": 3, "dt": float("nan")}, "dt=nan"),
    ({"steps": 3, "dt": 0.01, "rigidity": -1.0}, "rigidity"),
])
def test_bad_input_is_a_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        naive.trace(_field(), np.zeros((1, 3)), [[0.0, 0.0, 1.0]], **kwargs)
