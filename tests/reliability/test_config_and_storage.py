"""Issue 15, items 5 and 8: wrong types in a configuration, unusable output paths and damaged result files end in a
one-line error (exit 2), never a traceback, a silently accepted value or an altered file."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from numerics.backtracking import config, simulation, storage

TINY = """
name = {name}
length_unit = "r_g"
[turbulence]
spectrum = "white-noise"
n_modes = 8
k_min = 0.1
k_max = 10.0
rms = {rms}
sigma2 = {sigma2}
regular = [0.0, 0.0, 1.0]
[particles]
nside = 1
omega_ref = 1.0
omega_t = [0.5, 1.0]
[ensemble]
realizations = 2
[analysis]
fick = {fick}
"""
GOOD = dict(name='"tiny"', rms="1.0", sigma2="1.0", fick="true")


def _aniso(*args):
    return subprocess.run([sys.executable, "-m", "numerics.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("key,value,needle", [
    ("sigma2", '"big"', "sigma2='big': must be a number"),
    ("name", "42", "name=42: must be a string"),
    ("rms", "true", "rms=True: must be a number"),
    ("fick", "1", "fick=1: must be true or false"),
    ("name", '".."', "name='..': must be a non-empty name"),
])
def test_a_wrong_type_is_one_line_naming_the_key(tmp_path, key, value, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY.format(**{**GOOD, key: value}))
    res = _aniso("simulate", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-progress")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and needle in res.stderr, res.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_good_configuration_runs(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY.format(**GOOD))
    assert simulation.load_config(cfg).validate().rms == 1.0


def test_an_endless_config_file_is_refused():
    with pytest.raises(ValueError, match="larger than"):
        simulation.load_config("/dev/zero")


@pytest.mark.parametrize("args", [("spectrum", "hierarchy", "--lmax", "5"), ("spectrum", "qlt", "--lmax", "4")])
@pytest.mark.parametrize("where", ["file", "under-file"])
def test_an_unusable_out_is_one_line_before_any_work(tmp_path, args, where):
    f = tmp_path / "f"
    f.write_text("x")
    out = f if where == "file" else f / "sub"
    res = _aniso(*args, "--out", str(out))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and str(out) in res.stderr, res.stderr
    assert res.stdout == "" and f.read_text() == "x"


def _tiny_ensemble(tmp_path):
    cfg = config.preset("mertsch-ahlers-2019", "quick").replace(name="flip", nside=1, n_modes=8, realizations=2,
                                                                 omega_t=(0.5, 1.0))
    path = tmp_path / "e.h5"
    simulation.run_ensemble(cfg, path, progress=False)
    return path


@pytest.mark.parametrize("dataset", ["directions", "times", "cross_cl"])
def test_a_flipped_byte_in_any_dataset_is_detected_and_the_file_kept(tmp_path, dataset):
    import h5py

    path = _tiny_ensemble(tmp_path)
    with h5py.File(path, "r") as fh:
        assert fh[dataset].fletcher32
        offset = fh[dataset].id.get_chunk_info(0).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset + 3] ^= 0x10
    path.write_bytes(bytes(raw))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="damaged"):
        storage.read(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_an_intact_file_reads_back(tmp_path):
    ens = storage.read(_tiny_ensemble(tmp_path))
    assert ens.realizations == 2 and np.all(np.isfinite(ens.cross_cl))


TEXT_FIELDS = ("name", "length_unit", "spectrum")


@pytest.mark.parametrize("field", [f.name for f in __import__("dataclasses").fields(config.SimulationConfig)])
def test_every_key_refuses_every_wrong_type_by_name(field):
    """Every configuration key, given each value of the wrong kind: a ValueError naming the key (a text value is the
    right kind for the text keys; spectrum still refuses it as an unknown spectrum)."""
    import dataclasses

    base = config.preset("ahlers-mertsch-2015", "quick")
    for value in ("text", [1.0, "a"], {"a": 1}, True, None, [[1.0, 0.0]], float("nan")):
        if value is None and field in ("dt", "step_factor", "lmax"):
            continue  # None means the default there
        if value is True and field == "fick":
            continue
        if value == "text" and field in ("name", "length_unit"):
            continue
        with pytest.raises(ValueError, match=field):
            dataclasses.replace(base, **{field: value}).validate()
