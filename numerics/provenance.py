"""Where a result came from: the machine (CPU model, SIMD flags, cores; GPU where used) and the code (commit).

Recorded in ``aniso run``'s ``results.json`` and in ``aniso bench --json``, so a committed figure says on what it
was measured.  Everything here is best effort and never fails: what cannot be found is None.
"""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["machine", "cpu_model", "simd_flags", "commit", "gpu_model", "version"]

#: the SIMD extensions worth naming (x86 /proc/cpuinfo flags; others are absent from the list)
_SIMD = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "avx512_fp16", "asimd", "sve")


def _cpuinfo() -> dict:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out.setdefault(k.strip(), v.strip())
        elif not line.strip() and out:
            break  # the first processor is enough
    return out


def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``), or None."""
    info = _cpuinfo()
    return info.get("model name") or info.get("Model") or platform.processor() or None


def simd_flags() -> list[str]:
    """The SIMD extensions this CPU reports (a subset of /proc/cpuinfo's flags; empty where unknown)."""
    flags = set((_cpuinfo().get("flags") or _cpuinfo().get("Features") or "").split())
    return [f for f in _SIMD if f in flags]


def gpu_model() -> str | None:
    """The name of the CUDA device numba would use, or None (no CUDA, no device)."""
    try:
        from numba import cuda

        if not cuda.is_available():
            return None
        name = cuda.get_current_device().name
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 -- provenance must never fail a run
        return None


def machine(backend: str = "cpu") -> dict:
    """{"platform", "cpus", "cpu_model", "simd", "gpu_model"} (the GPU only when ``backend`` is 'cuda')."""
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "cpu_model": cpu_model(), "simd": simd_flags(),
            "gpu_model": gpu_model() if backend == "cuda" else None}


def commit() -> dict:
    """{"id": the git commit of the package's checkout or None, "dirty": whether tracked files differ from it}.

    None for an installed package outside a checkout (there is no repository to ask)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {"id": None, "dirty": None}

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"id": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"id": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"id": None, "dirty": None}


def version() -> str:
    """``aniso --version``: the package version and, from a git checkout, the commit (and whether it is modified).

    >>> version().startswith("aniso-workbench ")
    True
    """
    from numerics import __version__

    c = commit()
    if c["id"] is None:
        where = "commit unknown: not run from a git checkout"
    else:
        where = f"commit {c['id'][:12]}" + (", modified" if c["dirty"] else "")
    return f"aniso-workbench {__version__} ({where})"
