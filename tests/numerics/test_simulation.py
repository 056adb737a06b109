"""Ensembles: presets, configuration files, seeding, storage, resume, refusal of foreign files, Dask."""
from __future__ import annotations

import math
import subprocess
import sys

import h5py
import numpy as np
import pytest

from numerics.backtracking import simulation, storage
from numerics.cli import main


def tiny(**changes):
    base = simulation.SimulationConfig(
        name="tiny", length_unit="r_g", spectrum="white-noise", n_modes=16, k_min=0.1, k_max=10.0, rms=1.0,
        regular=(0.0, 0.0, 1.0), nside=2, omega_ref=1.0, omega_t=(0.5, 1.0, 2.0), realizations=3, seed=7, lmax=4,
        gradients=((0.0, 0.0, 1.0),), fick=False)
    return base.replace(**changes) if changes else base


def read_all(path):
    with h5py.File(path, "r") as fh:
        return {k: np.asarray(fh[k]) for k in fh}, dict(fh.attrs)


# ----------------------------------------------------------------------------- presets and configuration
def test_presets_hold_the_papers_parameters():
    p = simulation.preset("ahlers-mertsch-2015", "paper").validate()
    assert p.sigma2 == 1.0 and p.gamma == pytest.approx(11 / 3) and p.spectrum == "giacalone-jokipii"
    assert 2 * math.pi / p.k_max == pytest.approx(0.01) and 2 * math.pi / p.k_min == pytest.approx(100.0)
    assert 1 / np.linalg.norm(p.regular) == pytest.approx(0.1)  # r_L = 0.1 L_c in B0
    assert (p.nside, p.realizations) == (32, 120) and max(p.omega_t) >= 100
    assert len(p.gradients) == 2 and abs(np.dot(p.gradients[0], p.gradients[1])) == 0
    q = simulation.preset("mertsch-ahlers-2019", "paper").validate()
    assert q.spectrum == "white-noise" and np.linalg.norm(q.regular) == 0 and q.rms == 1.0
    assert (q.k_min, q.k_max, q.realizations) == (1e-3, 1e2, 100) and max(q.omega_t) >= 10
    for name in simulation.PRESETS:
        quick = simulation.preset(name, "quick").validate()
        assert quick.nside < 32 and quick.realizations < 100


def test_physics_hash_ignores_only_reporting_fields():
    a = tiny()
    assert a.physics_hash() == a.replace(realizations=9, name="x", gradients=((1.0, 0.0, 0.0),)).physics_hash()
    assert a.physics_hash() != a.replace(seed=8).physics_hash()
    assert a.physics_hash() != a.replace(n_modes=17).physics_hash()


@pytest.mark.parametrize("changes, match", [
    ({"nside": 12}, "nside=12: must be a power of two"),
    ({"k_min": 10.0, "k_max": 1.0}, "need 0 < k_min < k_max"),
    ({"spectrum": "giacalone-jokipii", "sigma2": -1.0}, "sigma2=-1.0: must be >= 0"),
    ({"rigidity": 0.0}, "rigidity=0.0: must be > 0"),
    ({"rigidity": -2.0}, "rigidity"),
    ({"dt": 0.2}, r"dt=0.2: does not resolve the smallest wavelength"),
    ({"omega_t": (2.0, 1.0)}, "strictly increasing"),
    ({"realizations": 0}, "realizations"),
    ({"lmax": 5}, "lmax"),
    ({"charge": 0}, "charge"),
])
def test_bad_configuration(changes, match):
    with pytest.raises(ValueError, match=match):
        tiny(**changes).validate()


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="unknown configuration key.*colour"):
        simulation.config_from_dict({"colour": "red"})


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_config(tmp_path):
    cfg = simulation.load_config(write(tmp_path, """
preset = "mertsch-ahlers-2019"
scale = "quick"
[particles]
nside = 4
[ensemble]
realizations = 2
seed = 11
"""))
    assert (cfg.nside, cfg.realizations, cfg.seed, cfg.spectrum) == (4, 2, 11, "white-noise")
    for text, match in [("[turbulence]\nn_mode = 3\n", "unknown key 'n_mode' in \\[turbulence\\]"),
                        ("[plots]\nx = 1\n", "unknown section \\[plots\\]"),
                        ("nside = 4\n", "unknown top-level key 'nside'"),
                        ("[particles\n", "not valid TOML"),
                        ('preset = "nope"\n', "preset='nope'")]:
        with pytest.raises(ValueError, match=match):
            simulation.load_config(write(tmp_path, text))
    with pytest.raises(ValueError, match="cannot read"):
        simulation.load_config(tmp_path / "missing.toml")


# ----------------------------------------------------------------------------- seeding
def test_realization_fields_depend_only_on_master_seed_and_index():
    cfg = tiny()
    a = simulation.make_field(cfg, 2).to_arrays()
    simulation.make_field(cfg, 0)  # drawing another realization first changes nothing
    b = simulation.make_field(cfg, 2).to_arrays()
    c = simulation.make_field(cfg, 1).to_arrays()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["phases"], c["phases"])
    assert not np.array_equal(a["phases"], simulation.make_field(cfg.replace(seed=8), 2).to_arrays()["phases"])


# ----------------------------------------------------------------------------- storage, resume, refusal
def test_run_store_and_read_back(tmp_path):
    cfg = tiny()
    ens = simulation.run_ensemble(cfg, tmp_path / "r.h5", progress=False)
    assert ens.realizations == 3 and list(ens.index) == [0, 1, 2]
    assert ens.cross_cl.shape == (3, 3, 6, 6, 5) and ens.moments.shape == (3, 3, 9, 9)
    assert ens.maps().shape == (3, 3, 6, 48)
    assert np.allclose(ens.times, cfg.times, rtol=1e-2)
    data, attrs = read_all(tmp_path / "r.h5")
    assert attrs["format"] == storage.FORMAT and attrs["master_seed"] == 7
    assert "numpy" in attrs["versions"] and attrs["physics_hash"] == cfg.physics_hash()
    assert not (tmp_path / "r.h5.parts").exists()
    # the stored field is the one drawn from the seed
    f2 = simulation.make_field(cfg, 2).to_arrays()
    assert np.array_equal(data["field_phases"][2], f2["phases"])
    sp = ens.spectrum(gradient=(0, 0, 1))
    assert sp.mean.shape == (3, 5) and np.all(sp.mean[:, 1] > 0)


def test_interrupted_run_resumes_without_redoing(tmp_path, monkeypatch):
    cfg = tiny()
    reference = tmp_path / "ref.h5"
    simulation.run_ensemble(cfg, reference, progress=False)
    out = tmp_path / "r.h5"
    real = simulation.simulate_realization
    calls = []

    def interrupted(config, index, **kw):
        if index == 2:
            raise KeyboardInterrupt
        calls.append(index)
        return real(config, index, **kw)

    monkeypatch.setattr(simulation, "simulate_realization", interrupted)
    with pytest.raises(KeyboardInterrupt):
        simulation.run_ensemble(cfg, out, progress=False)
    assert not out.exists() and sorted(p.name for p in (tmp_path / "r.h5.parts").iterdir()) == ["r000000.h5", "r000001.h5"]

    def counting(config, index, **kw):
        calls.append(index)
        return real(config, index, **kw)

    monkeypatch.setattr(simulation, "simulate_realization", counting)
    simulation.run_ensemble(cfg, out, progress=False)
    assert calls == [0, 1, 2]  # 0 and 1 before the interruption, only 2 after it
    got, _ = read_all(out)
    ref, _ = read_all(reference)
    assert set(got) == set(ref) and all(np.array_equal(got[k], ref[k]) for k in ref)
    # extending the ensemble computes only the new realization and keeps the stored ones
    calls.clear()
    simulation.run_ensemble(cfg.replace(realizations=4), out, progress=False)
    assert calls == [3]
    ext, _ = read_all(out)
    assert np.array_equal(ext["cross_cl"][:3], ref["cross_cl"]) and ext["index"].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("kind", ["text", "foreign-hdf5", "other-config"])
def test_foreign_or_mismatched_files_are_refused_and_kept(tmp_path, kind):
    out = tmp_path / "r.h5"
    if kind == "text":
        out.write_text("not a results file\n")
        match = "not a readable HDF5 file"
    elif kind == "foreign-hdf5":
        with h5py.File(out, "w") as fh:
            fh["x"] = np.arange(3)
        match = "not an aniso-simulation file"
    else:
        simulation.run_ensemble(tiny(realizations=1), out, progress=False)
        match = "another configuration"
    before = out.read_bytes()
    with pytest.raises(ValueError, match=match):
        simulation.run_ensemble(tiny(seed=99), out, progress=False)
    assert out.read_bytes() == before
    assert not (tmp_path / "r.h5.parts").exists()


def test_read_refuses_what_is_not_a_results_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        storage.read(tmp_path / "none.h5")
    (tmp_path / "x.h5").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        storage.read(tmp_path / "x.h5")


# ----------------------------------------------------------------------------- Dask
def test_local_cluster_reproduces_the_single_process_run_bit_for_bit(tmp_path):
    pytest.importorskip("dask.distributed")
    cfg = tiny(realizations=4)
    simulation.run_ensemble(cfg, tmp_path / "one.h5", progress=False)
    simulation.run_ensemble(cfg, tmp_path / "two.h5", workers=2, progress=False)
    one, _ = read_all(tmp_path / "one.h5")
    two, _ = read_all(tmp_path / "two.h5")
    assert set(one) == set(two)
    for key in one:
        assert np.array_equal(one[key], two[key]), key


# ----------------------------------------------------------------------------- command line
def test_cli_simulate_from_a_config_file(tmp_path, capsys):
    cfg = write(tmp_path, """
name = "tiny"
length_unit = "r_g"
[turbulence]
spectrum = "white-noise"
n_modes = 16
k_min = 0.1
k_max = 10.0
rms = 1.0
regular = [0.0, 0.0, 1.0]
[particles]
nside = 2
omega_ref = 1.0
omega_t = [0.5, 1.0]
[ensemble]
realizations = 2
[analysis]
lmax = 4
gradients = [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
""")
    out = tmp_path / "out"
    assert main(["simulate", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    for name in ("simulation.h5", "summary.json", "evolution.png", "spectrum.png", "skymap.png", "diffusion.png"):
        assert (out / name).stat().st_size > 0
    assert "2 realizations stored" in capsys.readouterr().out
    # the figures drawn again, checked: no tick label overlaps a neighbour, no axis label sits on its axes (the sky
    # map's colour-bar label once sat on the bar)
    import matplotlib.pyplot as plt

    from numerics.backtracking import simreport, storage
    from numerics.validation.base import overlapping_tick_labels

    ens = storage.read(out / "simulation.h5")
    for plot in (simreport.plot_evolution, simreport.plot_spectrum, simreport.plot_skymap, simreport.plot_diffusion):
        fig = plot(ens)
        assert overlapping_tick_labels(fig) == [], plot.__name__
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            label = ax.xaxis.label
            if label.get_text():
                assert label.get_window_extent(renderer).y1 <= ax.get_window_extent(renderer).y0 + 0.5, plot.__name__
        plt.close(fig)


@pytest.mark.parametrize("argv, match", [
    (["simulate", "--preset", "nope"], "preset='nope'"),
    (["simulate"], "exactly one of --preset"),
    (["simulate", "--preset", "mertsch-ahlers-2019", "--nside", "12"], "nside=12"),
    (["simulate", "--preset", "mertsch-ahlers-2019", "--scale", "huge"], "scale='huge'"),
    (["simulate", "--preset", "mertsch-ahlers-2019", "--workers", "2", "--dask", "tcp://x:1"], "one or the other"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, match, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and pytest.importorskip("re").search(match, err)


def test_cli_cuda_unavailable_is_one_line():
    from numerics.backtracking import cuda as _cuda

    ok, _ = _cuda.available()
    if ok:
        pytest.skip("a CUDA device (or the simulator) is available here")
    res = subprocess.run([sys.executable, "-m", "numerics.cli", "simulate", "--preset", "mertsch-ahlers-2019", "--backend",
                          "cuda", "--realizations", "1", "--nside", "1"], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.startswith("aniso: error: cuda backend unavailable:") and res.stderr.count("\n") == 1
