"""Measurements of ``aniso run`` that are not ensembles, stored in the data directory like the ensembles.

A comparison that simulates its own setup (the transition matrix, ...) asks :func:`cached` for its measurement:
outside a store it is computed; inside ``with stored_in(data_dir):`` (what ``aniso run`` does) it is read from
``data_dir/<name>-<key[:12]>.h5`` when there, else computed and written there (atomically, one process at a time:
:mod:`numerics.files`).  The key hashes the measurement's name, its parameters and the source code of the modules
that compute it, so a changed configuration *or* changed code is a clean recomputation under a new name, never a
silent mix; a file under the right name whose stored key differs (edited, or from a hash collision) is an error.

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

__all__ = ["stored_in", "cached", "measurement_key", "FORMAT"]

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


def _image(key: str, name: str, params: dict, result: dict) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        fh.attrs.update(format=FORMAT, name=name, key=key, params=json.dumps(params, sort_keys=True),
                        machine=json.dumps({"platform": platform.platform(), "cpus": os.cpu_count()}),
                        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
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


def _read(path: Path, key: str) -> dict:
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
            return out
    except (OSError, KeyError) as exc:
        raise ValueError(f"measurement={str(path)!r}: damaged ({type(exc).__name__}: {str(exc)[:160]}); "
                         "move it away to measure again") from None


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
