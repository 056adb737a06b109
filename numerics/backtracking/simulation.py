"""Ensembles of backtracking simulations: one realization, a resumable ensemble, local or on Dask.

One *realization* is one turbulent field; for it the HEALPix pixel centres (RING order) are
backtracked from the observer and, at each recorded time, the six maps X = (r, p(-T)) are
reduced to their 6 x 6 cross power spectra, pixel moments and the maps themselves
(:func:`numerics.backtracking.skymaps.summarize`).  Every sky map that is linear in X — the gradient
ansatz of 002 eq. (4) for any gradient and tensor K, the homogeneous dipole of review
Sec. 4.4 — is then a quadratic form of the stored spectra.

The configuration (:class:`SimulationConfig`, presets, seeding) is :mod:`numerics.backtracking.config`; its
names are re-exported here.
"""
from __future__ import annotations

import numpy as np

from numerics import _validate as check
from numerics.backtracking.config import (
    PRESETS,
    SCALES,
    SimulationConfig,
    config_from_dict,
    load_config,
    make_field,
    preset,
    realization_seed,
)

__all__ = ["SimulationConfig", "PRESETS", "SCALES", "preset", "load_config", "config_from_dict", "make_field",
           "simulate_realization", "run_ensemble", "realization_seed", "check_run_arguments"]


def simulate_realization(config, index: int, *, threads=None, backend="cpu", progress=False) -> dict:
    """Backtrack realization ``index`` and reduce it (numerics.backtracking.skymaps.summarize); a dict of arrays.

    ``config`` may be a SimulationConfig or its ``to_dict()`` (what Dask workers receive).
    """
    from numerics.backtracking import boris, skymaps

    if isinstance(config, dict):
        config = config_from_dict(config)
    fld = make_field(config, index)
    dirs = skymaps.directions(config.nside)
    tr = boris.backtrack(fld, dirs, config.times, dt=config.step(fld), rigidity=config.rigidity, charge=config.charge,
                             threads=threads, backend=backend, progress=progress, integrator=config.integrator,
                             cosine=config.cosine)
    out = skymaps.summarize(tr.positions, tr.momenta, dirs, lmax=config.ell_max)
    arrays = fld.to_arrays()
    out.update({f"field_{k}": np.asarray(v) for k, v in arrays.items() if np.ndim(v) > 0})
    out["times"] = tr.times
    out["dt"] = np.float64(tr.dt)
    out["index"] = np.int64(index)
    return out


def _worker_task(config_dict, index, threads):
    """Run on a Dask worker: one realization with ``threads`` numba threads, no progress bar."""
    return simulate_realization(config_dict, index, threads=threads, backend="cpu", progress=False)


# ----------------------------------------------------------------------------- ensembles
def check_run_arguments(config, *, workers=None, dask_address=None, threads=None, backend="cpu"):
    """Validate the arguments of :func:`run_ensemble` (ValueError; cuda.CudaUnavailable for an unavailable GPU)
    before any work; returns (workers, threads, backend) normalised."""
    if not isinstance(config, SimulationConfig):
        raise ValueError(f"config={config!r}: expected a SimulationConfig")
    config.validate()
    backend = check.choice("backend", backend, ("cpu", "cuda"))
    if workers is not None and dask_address is not None:
        raise ValueError("workers and dask_address: give one or the other")
    if workers is not None:
        workers = check.integer("workers", workers, 1, 1024)
    if dask_address is not None:
        _check_scheduler(dask_address)
    if threads is not None:
        if workers is None and dask_address is None:
            from numerics.backtracking import boris

            threads = boris.numba_threads(threads)
        else:
            threads = check.integer("threads", threads, 1, 1024)
    if backend == "cuda":
        if config.cosine != "precise":
            raise ValueError(f"cosine={config.cosine!r}: the CUDA backend has the precise cosine only (use the cpu "
                             "backend)")
        if workers is not None or dask_address is not None:
            raise ValueError("backend='cuda' runs in this process; it cannot be combined with workers or dask_address")
        from numerics.backtracking import cuda

        ok, reason = cuda.available()
        if not ok:
            raise cuda.CudaUnavailable(f"cuda backend unavailable: {reason}")
    return workers, threads, backend


def _check_scheduler(address) -> None:
    """ValueError unless a TCP Dask scheduler answers at ``address`` (``tcp://host:port`` or ``host:port``; other
    protocols are left to Dask), before any work: an unreachable one would otherwise fail after the derivation
    checks, with a traceback after Dask's 30 s connect timeout."""
    import socket
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address:
        raise ValueError(f"dask_address={address!r}: expected a scheduler address such as 'tcp://host:8786'")
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ValueError(f"dask_address={address!r}: expected tcp://host:port")
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise ValueError(f"dask_address={address!r}: no scheduler at {host}:{port} "
                         f"({exc.strerror or type(exc).__name__})") from None


def run_ensemble(config: SimulationConfig, out, *, workers=None, dask_address=None, threads=None, backend="cpu",
                 progress=True):
    """Run (or resume) the ensemble and store it in the HDF5 file ``out``.

    Realizations already stored in ``out`` or in its journal ``<out>.parts/`` are not
    recomputed; each new realization is written to the journal atomically as soon as it is
    done, and ``out`` is rewritten atomically at the end.  An interrupted run (Ctrl-C, a
    killed process) therefore leaves either the old ``out`` or nothing, plus the journal,
    and the next call resumes.  A foreign or corrupt ``out``, or one made with another
    configuration, is an error and is left untouched.

    ``workers=N`` starts a dask.distributed LocalCluster with N single-threaded worker
    processes; ``dask_address`` sends the realizations to an existing Dask scheduler (give its
    workers one thread each, or pass ``threads`` numba threads per task).  The
    numbers are the same either way (seeding per realization, fixed particle blocks).

    Returns the :class:`numerics.backtracking.storage.Ensemble` read back from ``out`` as ``config`` asks
    (storage.read with config: its reporting settings and its first ``config.realizations`` realizations, where
    ``out`` holds more).  One process at a time runs into ``out``: another gets numerics.files.InUse (a
    ValueError) before any work.
    """
    from numerics.files import exclusive

    workers, threads, backend = check_run_arguments(config, workers=workers, dask_address=dask_address,
                                                     threads=threads, backend=backend)
    with exclusive(out):  # a second process on the same file: InUse (exit 2), not the same work done twice
        return _run_locked(config, out, workers, dask_address, threads, backend, progress)


def _run_locked(config, out, workers, dask_address, threads, backend, progress):
    from numerics.backtracking import storage

    journal = storage.Journal(out, config)  # refuses a foreign/corrupt/mismatched file before any work
    missing = [i for i in range(config.realizations) if i not in journal.done]
    if missing:
        bar = _bar(progress, len(missing), config)
        try:
            if workers is None and dask_address is None:
                for i in missing:
                    journal.add(simulate_realization(config, i, threads=threads, backend=backend,
                                                     progress=progress and len(missing) == 1))
                    _tick(bar)
            else:
                _run_dask(config, missing, journal, workers, dask_address, threads, bar)
        finally:
            if bar is not None:
                bar.close()
    journal.consolidate()
    return storage.read(out, config=config)


def _bar(progress, total, config):
    if not progress:
        return None
    import os

    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"{config.name}: realizations", unit="field",
                disable=os.environ.get("ANISO_NO_PROGRESS") == "1")


def _tick(bar):
    if bar is not None:
        bar.update(1)


def _run_dask(config, missing, journal, workers, dask_address, threads, bar):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RuntimeError("dask.distributed is not installed: pip install 'aniso-workbench[distributed]'") from None
    cluster = None
    if workers is not None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(dask_address, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"dask_address={dask_address!r}: no scheduler at {dask_address} ({exc})") from None
    # one numba thread per task unless asked: Dask already runs one task per worker thread, and numba's
    # default (workqueue) threading layer must not be entered from several threads of one process at once
    threads = 1 if threads is None else threads
    try:
        cfg = config.to_dict()
        futures = [client.submit(_worker_task, cfg, i, threads, key=f"aniso-{config.physics_hash()[:12]}-{i}", pure=False)
                   for i in missing]
        for fut in as_completed(futures):
            journal.add(fut.result())
            _tick(bar)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
