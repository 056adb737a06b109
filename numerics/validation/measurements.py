"""Measurements of ``aniso run`` that are not ensembles, stored in the data directory like the ensembles.

A comparison that simulates its own setup (the transition matrix, ...) asks :func:`cached` for its measurement:
outside a store it is computed; inside ``with stored_in(data_dir):`` (what ``aniso run`` does) it is read from
``data_dir/<name>-<key[:12]>.h5`` when there, else computed and written there (atomically, one process at a time:
:mod:`numerics.files`).  The key hashes the measurement's name, its parameters and the source code of the modules
that compute it, so a changed configuration *or* changed code is a clean recomputation under a new name, never a
silent mix; a file under the right name whose stored key differs (edited, or from a hash collision) is an error.

A measurement made of independent rows -- one per field realization, each from its own seed, so that the first n
rows of a larger measurement *are* the measurement of n -- is stored row by row (:func:`cached_rows`), like an
ensemble: the key leaves the row count out, a run that asks for more rows than are stored computes only the missing
ones and writes the file after every chunk (an interrupted run resumes from its last chunk; a larger one extends a
smaller one: a quick transition matrix extends the ci one), and one that asks for fewer reads the first rows.

A measurement is a flat dict of numpy arrays, numbers and JSON-able values (text, lists, dicts of numbers); arrays
are HDF5 datasets (Fletcher-32 checksummed), numbers attributes, the rest JSON text, with the key, the parameters
(JSON) and the measuring machine in attributes.  Floats survive the round trip exactly (JSON writes repr).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import inspect
import io
import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["stored_in", "cached", "cached_rows", "rows_stored", "measurement_key", "FORMAT"]

FORMAT = "aniso-measurement"
_STORE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("aniso_measurement_store", default=None)


@contextlib.contextmanager
def stored_in(data_dir):
    """Within the block, :func:`cached` reads and writes measurements in ``data_dir``."""
    token = _STORE.set(Path(data_dir))
    try:
        yield Path(data_dir)
    finally:
        _STORE.reset(token)


def measurement_key(name: str, params: dict, modules=()) -> str:
    """sha256 of the name, the parameters (JSON, sorted) and the source of ``modules`` (module objects)."""
    h = hashlib.sha256()
    h.update(json.dumps({"name": name, "params": params, "format": FORMAT}, sort_keys=True).encode())
    for m in modules:
        h.update(inspect.getsource(m).encode())
    return h.hexdigest()


def _image(key: str, name: str, params: dict, result: dict, extra: dict | None = None) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        fh.attrs.update(format=FORMAT, name=name, key=key, params=json.dumps(params, sort_keys=True),
                        machine=json.dumps({"platform": platform.platform(), "cpus": os.cpu_count()}),
                        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(extra or {}))
        for k, v in result.items():
            arr = np.asarray(v) if not isinstance(v, (dict, list, tuple)) else np.asarray(None)
            if arr.dtype.kind not in "biufc":  # text, dicts, lists: JSON in a string dataset (no 64 kB attribute limit)
                fh.create_dataset(k, data=json.dumps(v))
                fh[k].attrs["json"] = True
            elif arr.ndim == 0:
                fh.attrs[f"value:{k}"] = arr.item()
            else:
                fh.create_dataset(k, data=arr, fletcher32=bool(arr.size), **({"compression": "gzip"} if arr.ndim >= 3 else {}))
    return buf.getvalue()


def _read(path: Path, key: str, with_attrs: bool = False):
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            if fh.attrs.get("format") != FORMAT or fh.attrs.get("key") != key:
                raise ValueError(f"measurement={str(path)!r}: holds another measurement (key "
                                 f"{str(fh.attrs.get('key'))[:12]} != {key[:12]}); move it away")
            out = {k: (json.loads(fh[k][()].decode()) if fh[k].attrs.get("json") else np.asarray(fh[k])) for k in fh}
            for a, v in fh.attrs.items():
                if a.startswith("value:"):
                    out[a[6:]] = v.item() if hasattr(v, "item") else v
            if with_attrs:
                return out, {a: (v.item() if hasattr(v, "item") else v) for a, v in fh.attrs.items()}
            return out
    except (OSError, KeyError) as exc:
        raise ValueError(f"measurement={str(path)!r}: damaged ({type(exc).__name__}: {str(exc)[:160]}); "
                         "move it away to measure again") from None


def rows_stored(data_dir, name: str, params: dict, rows, modules=()) -> int:
    """How many rows of the :func:`cached_rows` measurement (``name``, ``params``, ``rows``, ``modules``) are stored
    in ``data_dir`` (0 when none, or when the file there is unreadable or holds another key): what ``aniso run``'s
    estimate leaves out.  Reads the file's attributes only."""
    import h5py

    key = measurement_key(name, {**params, "by_rows": sorted(rows)}, modules)
    path = Path(data_dir) / f"{name}-{key[:12]}.h5"
    try:
        with h5py.File(path, "r") as fh:
            if fh.attrs.get("format") != FORMAT or fh.attrs.get("key") != key:
                return 0
            return int(fh.attrs.get("rows", 0))
    except (OSError, ValueError, TypeError):
        return 0


def cached(name: str, params: dict, compute: Callable[[], dict], *, modules=()) -> tuple[dict, dict]:
    """``(measurement, info)``: ``compute()``'s dict, from the active store when it holds it (:func:`stored_in`).

    ``info`` = {"path": str or None, "reused": bool, "seconds": float}.
    """
    store = _STORE.get()
    t0 = time.perf_counter()
    if store is None:
        return compute(), {"path": None, "reused": False, "seconds": round(time.perf_counter() - t0, 2)}
    from numerics.files import exclusive, write_bytes

    key = measurement_key(name, params, modules)
    path = store / f"{name}-{key[:12]}.h5"
    with exclusive(path, "measurement"):
        if path.exists():
            return _read(path, key), {"path": str(path), "reused": True, "seconds": round(time.perf_counter() - t0, 2)}
        result = compute()
        write_bytes(path, _image(key, name, params, result))
    return result, {"path": str(path), "reused": False, "seconds": round(time.perf_counter() - t0, 2)}


def _rows_of(result: dict, rows, path) -> int:
    """The common length of the row entries of ``result`` (an error naming ``path`` when they differ)."""
    lengths = {k: len(result[k]) for k in rows}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"measurement={str(path)!r}: row entries of different lengths {lengths}")
    return next(iter(lengths.values()))


def _head(result: dict, rows, n: int) -> dict:
    return {k: (v[:n] if k in rows else v) for k, v in result.items()}


def _join(a: dict | None, b: dict, rows) -> dict:
    if a is None:
        return dict(b)
    out = dict(a)
    for k in rows:
        out[k] = (list(a[k]) + list(b[k])) if isinstance(a[k], list) else np.concatenate([np.asarray(a[k]), np.asarray(b[k])])
    return out


def cached_rows(name: str, params: dict, n: int, compute: Callable[[int, int], dict], *, rows, modules=(),
                chunk: int | None = None, progress: bool = False, desc: str | None = None,
                unit: str = "field") -> tuple[dict, dict]:
    """``(measurement, info)`` of ``n`` rows: ``compute(start, stop)`` returns a dict whose entries named in ``rows``
    hold one entry per row ``start .. stop-1`` (numpy arrays along their first axis, or lists) and whose other
    entries are the same for every call.  Row r must depend on r alone (its own seed), so that any chunking gives the
    same rows bit for bit.

    Outside a store the rows are computed in chunks and joined.  Inside ``stored_in(data_dir)`` the file
    ``<name>-<key[:12]>.h5`` (key: name, parameters and modules, *not* n) holds the rows done so far: more than n
    are cut to the first n, fewer are extended chunk by chunk, the file rewritten (atomically) after each chunk, so
    a run killed at any point loses at most one chunk.  ``chunk`` defaults to n/50 (at least 1).

    ``info`` = {"path", "reused" (nothing computed), "rows_stored" (before the call), "rows_computed",
    "seconds" (this call), "compute_seconds" (all the rows', over every call that computed them)}.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"rows={n}: a row measurement needs at least 1 row")
    rows = tuple(rows)
    chunk = max(1, -(-n // 50)) if chunk is None else max(1, int(chunk))
    from numerics.files import exclusive, write_bytes

    store = _STORE.get()
    t0 = time.perf_counter()
    key = measurement_key(name, {**params, "by_rows": sorted(rows)}, modules)
    path = None if store is None else store / f"{name}-{key[:12]}.h5"
    with contextlib.nullcontext() if path is None else exclusive(path, "measurement"):
        result, done, spent = None, 0, 0.0
        if path is not None and path.exists():
            result, attrs = _read(path, key, with_attrs=True)
            done = _rows_of(result, rows, path)
            if done != attrs.get("rows"):
                raise ValueError(f"measurement={str(path)!r}: damaged (holds {done} rows, says {attrs.get('rows')}); "
                                 "move it away to measure again")
            spent = float(attrs.get("compute_seconds", 0.0))
        stored = done
        bar = None
        if progress and done < n:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, initial=done, desc=desc or name, unit=unit, leave=False,
                       disable=os.environ.get("ANISO_NO_PROGRESS") == "1")
        try:
            while done < n:
                stop = min(n, done + chunk)
                c0 = time.perf_counter()
                part = compute(done, stop)
                got = _rows_of(part, rows, name)
                if got != stop - done:
                    raise RuntimeError(f"{name}: compute({done}, {stop}) returned {got} rows")
                spent += time.perf_counter() - c0
                result, done = _join(result, part, rows), stop
                if path is not None:
                    write_bytes(path, _image(key, name, params, result, {"rows": done, "compute_seconds": spent,
                                                                          "by_rows": json.dumps(list(rows))}))
                if bar is not None:
                    bar.update(stop - bar.n)
        finally:
            if bar is not None:
                bar.close()
    return _head(result, rows, n), {"path": None if path is None else str(path), "reused": stored >= n,
                                    "rows_stored": stored, "rows_computed": max(0, n - stored),
                                    "seconds": round(time.perf_counter() - t0, 2), "compute_seconds": round(spent, 2)}
