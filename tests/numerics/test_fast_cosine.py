"""The backtracker's opt-in cosine of degree 9 (``cosine="fast"``, issue 20): its error bound, the kernel built on it
(its sums are checked bit for bit against one mode per pass in test_backtrack), what it does to trajectories, and that
the default (``"precise"``) and every stored ensemble are untouched."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from numerics.backtracking import boris as bt
from numerics.backtracking import config, kernel, simulation
from numerics.backtracking.turbulence import PlaneWaveField

ROOT = Path(__file__).resolve().parents[2]


def gj(n_modes, seed=1):
    return PlaneWaveField.giacalone_jokipii(n_modes, 2 * np.pi / 100, 2 * np.pi / 0.01, sigma2=1.0,
                                           regular=(0, 0, 10.0), seed=seed)


def test_fast_cosine_error_is_within_its_stated_bound_and_not_the_precise_one():
    t = np.concatenate([np.linspace(-3, 3, 200_001), np.random.default_rng(0).uniform(-1e6, 1e6, 200_000)])
    ref = np.cos(2 * np.pi * (t - np.rint(t)))
    err = np.max(np.abs(bt._cos2pi_array(t, True) - ref))
    assert err < kernel.COSINE_ERRORS["fast"] == 4e-9
    # the bound is close to what the polynomial does (not a loose number), and far above the precise cosine's
    assert err > kernel.COSINE_ERRORS["fast"] / 4 and err > 1e4 * kernel.COSINE_ERRORS["precise"]
    assert np.max(np.abs(bt._cos2pi_array(t) - ref)) < kernel.COSINE_ERRORS["precise"]


def test_fast_field_evaluation_error_follows_from_the_cosine_bound():
    field = gj(100, seed=11)
    pts = np.random.default_rng(1).normal(scale=20.0, size=(1000, 3))
    ref = field.evaluate(pts)
    fast = bt.evaluate(field, pts, cosine="fast")
    amp = np.abs(field.amplitudes).sum(axis=0)  # per component: |sum a_n (c_n - cos)| <= 4e-9 sum |a_n|
    assert np.all(np.max(np.abs(fast - ref), axis=0) < kernel.COSINE_ERRORS["fast"] * amp + 1e-13 * amp.sum())
    assert not np.array_equal(fast, bt.evaluate(field, pts))  # a different kernel, not the precise one again


@pytest.mark.parametrize("integrator", ["boris", "yoshida4"])
def test_fast_trajectories_differ_by_the_field_error_far_below_the_step_error(integrator):
    """Over 32 default steps (under a tenth of a gyration in the mean field) the direction difference from the
    precise kernel is bounded by the field error integrated over the time, T max|dOmega| with
    max|dOmega| <= 4e-9 sum|a_n|, and is less than a tenth of the median step error (the change when the step is
    halved: measured 1/1000 of it for Boris, 1/40 for yoshida4) -- the accuracy budget the degree-9 cosine spends.
    The fast trajectories are deterministic and independent of the thread count; 128 directions."""
    field = gj(64, seed=5)
    dirs = np.random.default_rng(2).normal(size=(128, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    dt = bt.default_step(field, integrator=integrator)
    T = 32 * dt
    a = bt.backtrack(field, dirs, [T], dt=dt, integrator=integrator, threads=1)
    half = bt.backtrack(field, dirs, [T], dt=dt / 2, integrator=integrator, threads=1)
    f1 = bt.backtrack(field, dirs, [T], dt=dt, integrator=integrator, threads=1, cosine="fast")
    f2 = bt.backtrack(field, dirs, [T], dt=dt, integrator=integrator, threads=2, cosine="fast")
    assert np.array_equal(f1.momenta, f2.momenta) and np.array_equal(f1.positions, f2.positions)
    assert a.times[0] == half.times[0] == f1.times[0]
    bound = T * kernel.COSINE_ERRORS["fast"] * np.abs(field.amplitudes).sum()
    diff = np.max(np.linalg.norm(f1.momenta - a.momenta, axis=-1))
    step_error = np.median(np.linalg.norm(half.momenta - a.momenta, axis=-1))
    assert 0 < diff < bound and diff < 0.1 * step_error
    assert np.max(np.abs(np.linalg.norm(f1.momenta, axis=-1) - 1)) < 1e-13  # still an exact rotation


@pytest.mark.parametrize("call", [
    lambda c: bt.trace(gj(8), [0, 0, 0], [[1.0, 0, 0]], [1.0], cosine=c),
    lambda c: bt.backtrack(gj(8), [[1.0, 0, 0]], [1.0], cosine=c),
    lambda c: bt.evaluate(gj(8), [[0.0, 0, 0]], cosine=c),
])
@pytest.mark.parametrize("bad", ["fastest", "", None, 9, ["fast"]])
def test_bad_cosine_is_refused_naming_the_parameter(call, bad):
    with pytest.raises(ValueError, match=r"cosine=.*must be one of 'precise', 'fast'"):
        call(bad)


def test_fast_cosine_on_cuda_is_refused_before_any_work():
    with pytest.raises(ValueError, match="cosine='fast': the CUDA backend has the precise cosine only"):
        bt.backtrack(gj(8), [[1.0, 0, 0]], [1.0], backend="cuda", cosine="fast")
    cfg = config.preset("ahlers-mertsch-2015", "quick").replace(cosine="fast")
    with pytest.raises(ValueError, match="cosine='fast': the CUDA backend has the precise cosine only"):
        simulation.check_run_arguments(cfg, backend="cuda")


def test_the_cosine_is_a_setting_in_the_physics_hash_and_the_default_keeps_stored_hashes():
    """The precise cosine, the only one before it was a setting, leaves every stored hash as it was: the 003 quick
    ensemble's hash recorded in results/003-fig1/results.json (written by an earlier commit) is still the
    default config's.  The fast cosine is another physics: its realizations never mix with the precise ones."""
    from numerics.validation import qlt_sim

    recorded = json.loads((ROOT / "results/003-fig1/results.json").read_text())["ensembles"]["003"]["physics_hash"]
    cfg = qlt_sim.qlt_config("quick")
    assert cfg.cosine == "precise" and cfg.physics_hash() == recorded
    assert cfg.replace(cosine="fast").physics_hash() != recorded
    cfg.replace(cosine="fast").validate()
    with pytest.raises(ValueError, match=r"cosine='exact': must be one of 'precise', 'fast'"):
        cfg.replace(cosine="exact").validate()
    with pytest.raises(ValueError, match=r"cosine=9: must be a string"):
        cfg.replace(cosine=9).validate()


def test_the_cosine_is_read_from_a_toml_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('preset = "ahlers-mertsch-2015"\nscale = "quick"\n[particles]\ncosine = "fast"\n')
    assert config.load_config(path).cosine == "fast"
    path.write_text('preset = "ahlers-mertsch-2015"\nscale = "quick"\n[particles]\ncosine = "quick"\n')
    with pytest.raises(ValueError, match="cosine='quick'"):
        config.load_config(path).validate()


def test_bench_times_both_cosines_in_the_same_run():
    from numerics import bench

    rows, _ = bench.backtrack(threads_list=[1], modes=(8,), repeats=1)
    assert [r["cosine"] for r in rows if r["backend"] == "cpu"] == ["precise", "fast"]
    assert rows[0]["naive_mode_evals_per_s"] == rows[1]["naive_mode_evals_per_s"]  # one baseline, shared
    with pytest.raises(ValueError, match="cosine='degree9'"):
        bench.backtrack(threads_list=[1], modes=(8,), repeats=1, cosines=("degree9",))


def test_cli_simulate_fast_cosine_on_cuda_exits_2_with_one_line(tmp_path, capsys):
    from numerics.cli import main

    assert main(["simulate", "--preset", "ahlers-mertsch-2015", "--cosine", "fast", "--backend", "cuda",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cosine='fast': the CUDA backend has the precise cosine only" in err[0]
    assert not (tmp_path / "o").exists()  # refused before any work


def test_cli_simulate_fast_cosine_gets_its_own_default_output(tmp_path, monkeypatch, capsys):
    """``--cosine fast`` on a preset names the ensemble (and so its default --out) apart from the precise one, which
    would otherwise refuse the mix; the run itself is not needed to see it, so the simulation is stopped at once."""
    from numerics import cli

    seen = {}

    def stop(config, **kw):
        seen["name"] = config.name
        raise ValueError("stopped by the test")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(simulation, "check_run_arguments", stop)
    assert cli.main(["simulate", "--preset", "ahlers-mertsch-2015", "--cosine", "fast"]) == 2
    assert seen["name"] == config.preset("ahlers-mertsch-2015", "quick").name + "-fast-cosine"
    assert cli.main(["simulate", "--preset", "ahlers-mertsch-2015", "--cosine", "precise"]) == 2
    assert seen["name"] == config.preset("ahlers-mertsch-2015", "quick").name
