"""Issue 15, items 1, 3 and 4, and the kill/interrupt cases: a full disk, changed reporting settings on a stored
ensemble, two runs into one output, and SIGKILL/SIGINT at random points of ``aniso simulate`` followed by a resume.

Every case runs the real command line in a subprocess.  The full disk is a 256 kB tmpfs where this process may mount
one (root), and otherwise a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) that makes the kernel refuse writes past
it in the same way (EFBIG instead of ENOSPC); either way the writes fail at the operating-system level, not in a
patched Python function.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TINY = """
name = "tiny"
length_unit = "r_g"
[turbulence]
spectrum = "white-noise"
n_modes = 8
k_min = 0.1
k_max = 10.0
rms = 1.0
regular = [0.0, 0.0, 1.0]
[particles]
nside = 2
omega_ref = 1.0
omega_t = [0.5, 1.0, 2.0]
[ensemble]
realizations = {realizations}
[analysis]
fick = {fick}
gradients = {gradients}
"""


def _config(tmp_path, realizations=3, fick="true", gradients="[[0.0, 0.0, 1.0]]", name="c.toml"):
    cfg = tmp_path / name
    cfg.write_text(TINY.format(realizations=realizations, fick=fick, gradients=gradients))
    return cfg


def _cmd(*args):
    return [sys.executable, "-m", "numerics.cli", *args]


def _env():
    return {**os.environ, "MPLBACKEND": "Agg", "ANISO_NO_PROGRESS": "1"}


def _aniso(*args, preexec=None):
    return subprocess.run(_cmd(*args), capture_output=True, text=True, env=_env(), preexec_fn=preexec)


def _one_line_error(res, says: str) -> bool:
    """Exit 2, no traceback, and the error on the last line of stderr (progress lines may come before it)."""
    lines = res.stderr.strip().splitlines()
    return (res.returncode == 2 and "Traceback" not in res.stderr and bool(lines)
            and lines[-1].startswith("aniso: error:") and says in lines[-1])


def _tree(root: Path) -> dict:
    """{relative path: sha256} of every file under root (hidden ones included)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _leftovers(root: Path) -> list[str]:
    """Temporaries and locks (a journal ``<file>.parts/rNNNNNN.h5`` holds whole realizations: it is not one)."""
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------------------------- a full disk
def _mount_tmpfs(where: Path, kb: int) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def _fsize_limit(nbytes: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return preexec


@pytest.fixture
def small_disk(tmp_path):
    """(directory, preexec_fn, what the error says): a place where writing a few hundred kB fails — a tmpfs where
    one can be mounted, else a file-size limit."""
    disk = tmp_path / "disk"
    if _mount_tmpfs(disk, 256):
        yield disk, None, "no space left on device"
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    else:
        disk.mkdir(exist_ok=True)
        yield disk, _fsize_limit(60_000), "cannot write it"


def _fill(disk: Path, leave_kb: int) -> None:
    """Fill a tmpfs up to ``leave_kb`` kB free (nothing to do under a file-size limit, which is per file)."""
    st = os.statvfs(disk)
    if st.f_blocks * st.f_frsize > 10**7:  # not the small tmpfs
        return
    free = st.f_bavail * st.f_frsize
    (disk / "ballast").write_bytes(b"\0" * max(0, free - leave_kb * 1024))


def test_simulate_on_a_full_disk_is_one_line_and_leaves_nothing_half_written(tmp_path, small_disk):
    disk, preexec, says = small_disk
    cfg = _config(tmp_path, realizations=2)
    _fill(disk, 40)
    res = _aniso("simulate", "--config", str(cfg), "--out", str(disk / "sim"), "--no-progress", preexec=preexec)
    assert _one_line_error(res, says), (res.returncode, res.stderr[-2000:])  # before: SIGSEGV (rc 139) on the tmpfs
    assert str(disk / "sim") in res.stderr
    assert _leftovers(disk) == [] and not (disk / "sim" / "simulation.h5").exists()
    (disk / "ballast").unlink(missing_ok=True)
    res = _aniso("simulate", "--config", str(cfg), "--out", str(disk / "sim"), "--no-progress")
    assert res.returncode == 0, res.stderr  # what was stored before the disk filled up resumes
    assert _leftovers(disk) == [] and not (disk / "sim" / "simulation.h5.parts").exists()


def test_a_full_disk_leaves_a_stored_ensemble_and_its_figures_as_they_were(tmp_path, small_disk):
    """The ensemble is first written with room to spare; extending it on the full disk fails cleanly."""
    disk, preexec, says = small_disk
    out = disk / "sim"
    assert _aniso("simulate", "--config", str(_config(tmp_path, realizations=1)), "--out", str(out),
                  "--no-progress").returncode == 0
    before = _tree(out)
    _fill(disk, 8)
    res = _aniso("simulate", "--config", str(_config(tmp_path, realizations=2)), "--out", str(out), "--no-progress",
                 preexec=preexec)
    assert _one_line_error(res, says), res.stderr
    after = {k: v for k, v in _tree(out).items() if not k.startswith("simulation.h5.parts/")}  # new, whole parts
    assert after == before and _leftovers(disk) == []


def test_spectrum_on_a_full_disk_writes_both_files_or_neither(tmp_path, small_disk):
    disk, preexec, says = small_disk
    _fill(disk, 12)  # room for the CSV (~1 kB), not for the PNG (~30 kB)
    out = disk / "q"
    res = _aniso("spectrum", "qlt", "--alpha", "50", "--lmax", "40", "--out", str(out),
                 preexec=preexec if preexec is None else _fsize_limit(10_000))
    assert _one_line_error(res, says), res.stderr
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == []  # before: qlt.csv without qlt.png


# ------------------------------------------------------------------------------- changed reporting settings
def test_changed_reporting_settings_and_fewer_realizations_apply_to_the_stored_ensemble(tmp_path):
    out = tmp_path / "sim"
    first = _aniso("simulate", "--config", str(_config(tmp_path, realizations=3)), "--out", str(out), "--no-progress")
    assert first.returncode == 0, first.stderr
    stored = hashlib.sha256((out / "simulation.h5").read_bytes()).hexdigest()
    from numerics.backtracking.simreport import gradient_label

    cfg = _config(tmp_path, realizations=2, fick="false", gradients="[[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]]",
                  name="d.toml")
    labels = sorted(gradient_label(g, (0.0, 0.0, 1.0)) for g in ((1.0, 0.0, 0.0), (1.0, 0.0, 1.0)))
    assert labels != [gradient_label((0.0, 0.0, 1.0), (0.0, 0.0, 1.0))]
    res = _aniso("simulate", "--config", str(cfg), "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "2 realizations stored" in res.stdout and "it holds 3; the first 2 are used" in res.stdout, res.stdout
    summ = json.loads((out / "summary.json").read_text())
    assert summ["realizations"] == 2  # before: 3, the stored count
    assert sorted(summ["gradients"]) == labels, sorted(summ["gradients"])  # before: the stored gradient
    assert hashlib.sha256((out / "simulation.h5").read_bytes()).hexdigest() == stored  # nothing recomputed


def test_the_first_n_realizations_are_those_a_run_of_n_stores(tmp_path):
    from numerics.backtracking import simulation, storage

    cfg3 = simulation.load_config(_config(tmp_path, realizations=3))
    big = simulation.run_ensemble(cfg3, tmp_path / "a.h5", progress=False)
    small = simulation.run_ensemble(cfg3.replace(realizations=2), tmp_path / "b.h5", progress=False)
    head = storage.read(tmp_path / "a.h5", config=cfg3.replace(realizations=2))
    assert big.realizations == 3 and head.realizations == 2 == small.realizations
    for name in ("cross_cl", "moments", "means", "index"):
        np.testing.assert_array_equal(getattr(head, name), getattr(small, name))
    np.testing.assert_array_equal(head.maps(), small.maps())
    np.testing.assert_array_equal(head.dataset("field_wavevectors"), small.dataset("field_wavevectors"))
    with pytest.raises(ValueError, match="holds 2 of the first 3"):
        storage.read(tmp_path / "b.h5", config=cfg3)
    with pytest.raises(ValueError, match="another configuration"):
        storage.read(tmp_path / "b.h5", config=cfg3.replace(seed=cfg3.seed + 1))


# ------------------------------------------------------------------------------------------ concurrent runs
def _wait_for(path: Path, proc, seconds=120.0):
    end = time.monotonic() + seconds  # only bounds a hung test; no verdict depends on it
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_a_second_run_into_the_same_output_is_refused_while_the_first_works(tmp_path):
    out = tmp_path / "sim"
    cfg = _config(tmp_path, realizations=40)
    first = subprocess.Popen(_cmd("simulate", "--config", str(cfg), "--out", str(out), "--no-progress"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        assert _wait_for(out / "simulation.h5.parts", first), "the first run never started its journal"
        second = _aniso("simulate", "--config", str(cfg), "--out", str(out), "--no-progress")
        assert _one_line_error(second, f"is in use by process {first.pid}"), second.stderr  # before: FileNotFoundError
    finally:
        stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert _aniso("simulate", "--config", str(cfg), "--out", str(out), "--no-progress").returncode == 0  # lock freed
    assert not (out / ".simulation.h5.lock").exists()


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path):
    from numerics import files

    target = tmp_path / "x.h5"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from numerics import files\n"
        f"with files.exclusive({str(target)!r}):\n    print('held', flush=True); time.sleep(600)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(files.InUse, match=f"in use by process {holder.pid}"):
            with files.exclusive(target):
                pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait()
    with files.exclusive(target):  # the kernel released the lock with the process
        with files.exclusive(target):  # re-entrant in one process
            pass


# ---------------------------------------------------------------------------------- SIGKILL and SIGINT
@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The 6-realization ensemble run without interruption: (config file, its results)."""
    tmp = tmp_path_factory.mktemp("reference")
    cfg = _config(tmp, realizations=6)
    assert _aniso("simulate", "--config", str(cfg), "--out", str(tmp / "ref"), "--no-progress").returncode == 0
    return cfg, tmp / "ref" / "simulation.h5"


@pytest.mark.parametrize("sig,seed", [(signal.SIGKILL, 1), (signal.SIGINT, 3)])
def test_killed_at_a_random_point_then_resumed_is_bit_for_bit(tmp_path, reference_run, sig, seed):
    """A seeded random kill point: after k stored realizations, k drawn from 0..5 (seed 1: k = 2, seed 3: k = 4)."""
    from numerics.backtracking import storage

    cfg, ref = reference_run
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cmd("simulate", "--config", str(cfg), "--out", str(out), "--no-progress"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert _wait_for(out / "simulation.h5.parts", proc) or proc.poll() is not None
    parts = out / "simulation.h5.parts"
    target = np.random.default_rng(seed).integers(0, 6)  # kill after a random number of stored realizations
    while proc.poll() is None and len(list(parts.glob("r*.h5"))) < target:
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    if sig == signal.SIGINT and proc.returncode != 0:
        assert proc.returncode == 130 and b"interrupted" in err and b"Traceback" not in err, err
    res = _aniso("simulate", "--config", str(cfg), "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stderr
    a, b = storage.read(ref), storage.read(out / "simulation.h5")
    for name in ("index", "cross_cl", "moments", "means"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.maps(), b.maps())
    assert _leftovers(out) == []


@pytest.mark.parametrize("sig,seed", [(signal.SIGKILL, 4), (signal.SIGINT, 5)])
def test_aniso_run_killed_leaves_the_previous_report_whole(tmp_path, sig, seed):
    """``aniso run`` killed at a seeded random moment of its first seconds (the derivation checks, report being
    assembled beside the old one): the previous report is untouched, and what the killed run left is removed by
    the next run's first step (numerics.files.atomic_directory)."""
    from numerics import files

    out = tmp_path / "aniso-report"
    out.mkdir()
    (out / "results.json").write_text('{"previous": true}')
    before = _tree(out)
    proc = subprocess.Popen(_cmd("run", "--scale", "ci", "--out", str(out), "--no-progress"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert _wait_for(tmp_path / ".aniso-report.lock", proc), "the run never took its lock"
    time.sleep(float(np.random.default_rng(seed).uniform(0.0, 2.0)))
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    assert _tree(out) == before
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and b"interrupted" in err and b"Traceback" not in err, err
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # cleaned up on the way out
    with files.exclusive(out):  # what the next run does first: a killed holder's lock is free, its temporaries go
        files.atomic_directory(out).rmdir()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("address,says", [("tcp://127.0.0.1:1", "no scheduler at 127.0.0.1:1"),
                                          ("tcp://h:port", "expected tcp://host:port")])
def test_an_unreachable_dask_scheduler_is_one_line_before_any_work(tmp_path, address, says):
    """Before: an OSError traceback after Dask's 30 s connect timeout (and for aniso run, after the derivation checks)."""
    out = tmp_path / "sim"
    res = _aniso("simulate", "--config", str(_config(tmp_path)), "--dask", address, "--out", str(out), "--no-progress")
    assert _one_line_error(res, says), res.stderr
    assert not out.exists()
