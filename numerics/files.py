"""Writing result files so that a crash, a full disk, Ctrl-C or SIGKILL never leaves a half-written one.

Temporary files and directories are created beside their target with the writing process's id in their name
(``.<target>.<pid>.<random>``), so that a later writer can tell the leftovers of a killed process (its pid is gone)
from those of a live one and remove them.  Results get the permissions the umask gives new files (``tempfile``
creates 0600 files and 0700 directories).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "atomic_directory", "swap_in", "remove_leftovers"]


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
    a killed writer's temporary file is removed by the next write to ``path``.  Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
