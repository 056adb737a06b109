"""Writing result files so that a crash, a full disk, Ctrl-C or SIGKILL never leaves a half-written one.

Temporary files and directories are created beside their target with the writing process's id in their name
(``.<target>.<pid>.<random>``), so that a later writer can tell the leftovers of a killed process (its pid is gone)
from those of a live one and remove them.  Results get the permissions the umask gives new files (``tempfile``
creates 0600 files and 0700 directories).
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "atomic_write_all", "write_bytes", "atomic_directory", "swap_in", "remove_leftovers", "exclusive",
           "InUse", "write_error"]


class InUse(ValueError):
    """Another live process holds the lock on a result (:func:`exclusive`)."""


def write_error(exc: OSError, path) -> OSError:
    """``exc`` as an OSError that names the result being written (not a temporary) and says what happened."""
    reason = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return OSError(exc.errno, f"cannot write it: {reason}", str(path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(path) -> list[Path]:
    """Remove the temporary siblings ``.<name>.<pid>.*`` of ``path`` whose process no longer exists (a killed
    writer's); a live process's are kept.  Returns what was removed."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    prefix = f".{path.name}."
    for p in path.parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        pid = p.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def atomic_write(path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path`` (atomic on POSIX).

    On any failure (an exception, KeyboardInterrupt) the temporary file is removed and ``path`` is left as it was;
    a killed writer's temporary file is removed by the next write to ``path``.  An OSError (a full disk, a
    read-only directory) is raised as one that names ``path``.  Returns ``path``.
    """
    return atomic_write_all({path: write})[0]


def atomic_write_all(writers: dict) -> list[Path]:
    """Write several files all or none: ``{path: write}``, each ``write(tmp)`` on a temporary file beside its path;
    only when every one has been written are they renamed into place (renames need no space, so a full disk
    leaves none of them new).  On failure every temporary is removed and the paths are left as they were."""
    paths = [Path(p) for p in writers]
    temps: list[Path] = []
    try:
        for path, write in zip(paths, writers.values()):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                remove_leftovers(path)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
                os.close(fd)
                temps.append(Path(tmp))
                write(tmp)
                os.chmod(tmp, 0o666 & ~_umask())
            except OSError as exc:
                raise write_error(exc, path) from None
        for path, tmp in zip(paths, temps):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return paths


def write_bytes(path, data: bytes) -> Path:
    """``data`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_directory(path) -> Path:
    """A new empty directory beside ``path`` to assemble it in (then :func:`swap_in`); a killed run's are removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def swap_in(new, path) -> Path:
    """Put the directory ``new`` in place of the directory ``path``: the old one is renamed aside first, then ``new``
    renamed in, then the old one deleted, so that at every moment one of them is complete on disk (a kill between
    the two renames leaves the old one at ``.<name>.<pid>.old``, which the next :func:`atomic_directory` removes)."""
    new, path = Path(new), Path(path)
    aside = None
    if path.exists():
        aside = path.parent / f".{path.name}.{os.getpid()}.old"
        os.replace(path, aside)
    os.replace(new, path)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return path


_HELD: dict[str, int] = {}


@contextlib.contextmanager
def exclusive(path, what: str = "out"):
    """Hold an advisory lock on the result ``path`` (``flock`` on ``<dir>/.<name>.lock``, which records the holder's
    pid) for the duration of the block; another process gets :class:`InUse` ("... is in use by process N") at once
    instead of computing the same thing twice and colliding.  Re-entrant within one process.  The lock dies with
    its process (a killed run never leaves a lock that blocks the next one)."""
    import fcntl

    path = Path(path).absolute()
    key = str(path)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield path
        finally:
            _HELD[key] -= 1
        return
    lock = path.parent / f".{path.name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InUse(f"{what}={str(path)!r}: is in use by process {holder} (another aniso run or simulate); "
                        "wait for it to finish or choose another path") from None
        try:  # the holder before us may have removed the lock file after we opened it: then lock the new one
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[key] = 1
        yield path
    finally:
        _HELD.pop(key, None)
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)
