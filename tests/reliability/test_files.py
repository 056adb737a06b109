"""numerics.files: results are written whole or not at all, with the umask's permissions, and what a killed writer
left behind is removed by the next writer (issue 15, items 7 and 8)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from numerics import files


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_results_get_the_umask_permissions(tmp_path, umask_022):
    path = files.atomic_write(tmp_path / "a.json", lambda tmp: Path(tmp).write_text("{}"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # tempfile alone would leave 0600
    d = files.atomic_directory(tmp_path / "report")
    assert stat.S_IMODE(d.stat().st_mode) == 0o755  # mkdtemp alone would leave 0700


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def boom(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, boom)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_killed_writers_leftovers_are_removed_a_live_ones_kept(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    stale = tmp_path / f".a.png.{dead}.xyz.tmp"
    stale.write_bytes(b"")
    busy = tmp_path / f".a.png.{live}.abc.tmp"
    busy.write_bytes(b"")
    stale_dir = tmp_path / f".report.{dead}.q1w2"
    stale_dir.mkdir()
    (stale_dir / "results.json").write_text("{}")
    files.atomic_write(tmp_path / "a.png", lambda tmp: Path(tmp).write_bytes(b"png"))
    assert not stale.exists() and busy.exists()
    files.atomic_directory(tmp_path / "report")
    assert not stale_dir.exists()


def test_swap_in_never_has_neither(tmp_path, monkeypatch):
    """A kill between the two renames leaves the old report complete (aside), never nothing."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "index.html").write_text("old")
    new = files.atomic_directory(out)
    (new / "index.html").write_text("new")
    real_replace = os.replace
    calls = []

    def killed_on_second(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt  # SIGINT between "old aside" and "new in"
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", killed_on_second)
    with pytest.raises(KeyboardInterrupt):
        files.swap_in(new, out)
    monkeypatch.setattr(files.os, "replace", real_replace)
    kept = [p for p in tmp_path.iterdir() if (p / "index.html").exists() and (p / "index.html").read_text() == "old"]
    assert len(kept) == 1  # the old report is complete on disk
    files.swap_in(new, out)
    assert (out / "index.html").read_text() == "new"
