"""Simulation results on disk: HDF5 (h5py), self-describing, written atomically, resumable.

Layout of a results file (``format = "aniso-simulation"``, ``format_version = 1``):

- attributes: ``config`` (JSON of numerics.backtracking.simulation.SimulationConfig), ``physics_hash``,
  ``master_seed``, ``versions`` (JSON: Python and the numeric packages), ``created``;
- ``index`` (R,): the realizations stored, ascending; realization i was drawn from
  ``SeedSequence(master_seed, spawn_key=(i,))`` (dataset ``spawn_key``);
- per realization (leading axis R): ``cross_cl`` (R, K, 6, 6, L+1), ``moments`` (R, K, 9, 9),
  ``means`` (R, K, 9), ``maps`` (R, K, 6, Npix) float32, ``field_*`` (the plane-wave arrays),
  ``dt`` (R,); and once: ``times`` (K,), ``directions`` (Npix, 3).

While a run is going, each finished realization is written to ``<file>.parts/rNNNNNN.h5``
(to a temporary name first, then renamed, so a part is complete or absent).  At the end the
stored and new realizations are written to a temporary beside ``<file>`` and renamed over it; the
journal is removed.  Nothing is pickled.

HDF5 never writes to the disk here: each file is assembled in memory and its bytes are written with
:func:`numerics.files.write_bytes`, so a full disk is one OSError naming the file, with nothing half-written
(HDF5 itself, on ENOSPC, cascades errors through its object destructors and can end the process with SIGSEGV).
One process at a time writes an output file (:func:`numerics.files.exclusive`).
"""
from __future__ import annotations

import io
import json
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Journal", "Ensemble", "read", "FORMAT", "FORMAT_VERSION"]

FORMAT = "aniso-simulation"
PART_FORMAT = "aniso-simulation-part"
FORMAT_VERSION = 1
_SHARED = ("times", "dt")


def _h5py():
    import h5py

    return h5py


def _versions() -> str:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("aniso-workbench", "numpy", "scipy", "numba", "healpy", "h5py", "sympy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return json.dumps(out, sort_keys=True)


def _image(fill) -> bytes:
    """The bytes of an HDF5 file built in memory by ``fill(fh)``."""
    buf = io.BytesIO()
    with _h5py().File(buf, "w") as fh:
        fill(fh)
    return buf.getvalue()


def _dataset(fh, key: str, data) -> None:
    """Write one dataset with a Fletcher-32 checksum (so that a flipped byte is detected on reading; HDF5 cannot
    checksum a scalar) and gzip for the large ones (3-d and up)."""
    data = np.asarray(data)
    opts = {}
    if data.ndim >= 1 and data.size:
        opts["fletcher32"] = True
        if data.ndim >= 3:
            opts.update(compression="gzip", compression_opts=1)
    fh.create_dataset(key, data=data, **opts)


def _open_checked(path: Path, expected_format: str, what: str):
    """Open an existing results file read-only, or raise ValueError saying why it is not ours."""
    h5py = _h5py()
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{what}={str(path)!r}: not a readable HDF5 file ({exc}); refusing to overwrite it") from None
    fmt = fh.attrs.get("format")
    if fmt != expected_format:
        fh.close()
        raise ValueError(f"{what}={str(path)!r}: not an {expected_format} file (format attribute {fmt!r}); "
                         "refusing to overwrite it — choose another output path")
    return fh


class Journal:
    """The realizations stored for one output file: in the file itself and in its journal."""

    def __init__(self, out, config):
        self.out = Path(out)
        self.parts = Path(str(self.out) + ".parts")
        self.config = config
        self.hash = config.physics_hash()
        self.done: dict[int, str] = {}
        if self.out.is_dir():
            raise ValueError(f"out={str(self.out)!r}: is a directory; expected the path of an HDF5 results file")
        if self.out.exists():
            with _open_checked(self.out, FORMAT, "out") as fh:
                self._check_hash(fh, self.out)
                for i in np.asarray(fh["index"]):
                    self.done[int(i)] = "file"
        if self.parts.exists():
            for part in sorted(self.parts.glob("r*.h5")):
                with _open_checked(part, PART_FORMAT, "journal entry") as fh:
                    self._check_hash(fh, part)
                    self.done.setdefault(int(fh.attrs["index"]), str(part))

    def _check_hash(self, fh, path):
        stored = fh.attrs.get("physics_hash")
        if stored != self.hash:
            raise ValueError(f"out={str(path)!r}: holds realizations of another configuration (physics hash "
                             f"{str(stored)[:12]} != {self.hash[:12]}); refusing to mix them — choose another output path")

    def add(self, result: dict) -> None:
        """Write one realization to the journal atomically."""
        from numerics.files import write_bytes

        index = int(result["index"])
        final = self.parts / f"r{index:06d}.h5"

        def fill(fh):
            fh.attrs["format"] = PART_FORMAT
            fh.attrs["format_version"] = FORMAT_VERSION
            fh.attrs["physics_hash"] = self.hash
            fh.attrs["index"] = index
            for key, value in result.items():
                _dataset(fh, key, value)

        try:
            write_bytes(final, _image(fill))
        except BaseException:
            if self.parts.is_dir() and not any(self.parts.iterdir()):
                self.parts.rmdir()  # a failed first write leaves no empty journal behind
            raise
        self.done.setdefault(index, str(final))

    def consolidate(self) -> None:
        """Write every stored realization to ``out`` atomically and remove the journal."""
        if not self.done:
            raise ValueError("nothing to store: no realization has finished")
        if all(src == "file" for src in self.done.values()):
            if self.parts.exists():
                shutil.rmtree(self.parts)
            return
        h5py = _h5py()
        order = sorted(self.done)
        rows = {}
        old = h5py.File(self.out, "r") if self.out.exists() else None
        try:
            old_pos = {int(i): j for j, i in enumerate(np.asarray(old["index"]))} if old is not None else {}
            for i in order:
                src = self.done[i]
                if src == "file":
                    rows[i] = {k: old[k][old_pos[i]] for k in old if k.startswith(_PER) or k in _PER_KEYS}
                    rows[i]["times"] = np.asarray(old["times"])
                else:
                    with h5py.File(src, "r") as fh:
                        rows[i] = {k: np.asarray(fh[k]) for k in fh}

            def fill(fh):
                fh.attrs["format"] = FORMAT
                fh.attrs["format_version"] = FORMAT_VERSION
                fh.attrs["config"] = json.dumps(self.config.to_dict(), sort_keys=True)
                fh.attrs["physics_hash"] = self.hash
                fh.attrs["master_seed"] = int(self.config.seed)
                fh.attrs["versions"] = _versions()
                fh.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                _dataset(fh, "index", np.asarray(order, dtype=np.int64))
                _dataset(fh, "spawn_key", np.asarray(order, dtype=np.int64)[:, None])
                first = rows[order[0]]
                _dataset(fh, "times", first["times"])
                from numerics.backtracking import skymaps

                _dataset(fh, "directions", skymaps.directions(self.config.nside))
                for key in first:
                    if key in ("times", "index"):
                        continue
                    _dataset(fh, key, np.stack([np.asarray(rows[i][key]) for i in order]))
            image = _image(fill)
        finally:
            if old is not None:
                old.close()
        from numerics.files import write_bytes

        write_bytes(self.out, image)
        shutil.rmtree(self.parts, ignore_errors=True)


_PER = "field_"
_PER_KEYS = ("cross_cl", "moments", "means", "maps", "dt")


@dataclass
class Ensemble:
    """A results file read back: the configuration, the recorded times and the per-realization arrays."""

    path: Path
    config: object
    attrs: dict
    index: np.ndarray
    times: np.ndarray
    directions: np.ndarray
    cross_cl: np.ndarray
    moments: np.ndarray
    means: np.ndarray
    rows: int | None = None  # the leading rows of the file in use (None: all)

    @property
    def realizations(self) -> int:
        return int(self.index.size)

    @property
    def nside(self) -> int:
        return int(self.config.nside)

    def maps(self, times=None) -> np.ndarray:
        """The stored X = (r, p) maps, (R, K, 6, Npix) float32 (optionally only the time indices ``times``)."""
        with _h5py().File(self.path, "r") as fh:
            ds = fh["maps"]
            return np.asarray(ds[:self.rows]) if times is None else np.asarray(ds[:self.rows, times])

    def dataset(self, name) -> np.ndarray:
        """A stored dataset; a per-realization one restricted to the realizations in use."""
        with _h5py().File(self.path, "r") as fh:
            per = name.startswith(_PER) or name in _PER_KEYS or name in ("index", "spawn_key")
            return np.asarray(fh[name][:self.rows] if per else fh[name])

    def spectrum(self, *, gradient=None, K=None, dipole=None, standard=True):
        """The ensemble spectrum (numerics.backtracking.skymaps.ensemble_spectrum) for the gradient ansatz
        (002 eq. (4), with tensor ``K``) or the homogeneous dipole ansatz (``dipole``)."""
        from numerics.backtracking import skymaps

        if (gradient is None) == (dipole is None):
            raise ValueError("spectrum: give exactly one of gradient= and dipole=")
        c = skymaps.gradient_coefficients(gradient, K) if gradient is not None else skymaps.dipole_coefficients(dipole)
        maps = self.maps() if standard else None
        return skymaps.ensemble_spectrum(self.cross_cl, self.moments, maps, c, nside=self.nside)

    def diffusion(self):
        """The running diffusion tensors (numerics.backtracking.skymaps.running_diffusion)."""
        from numerics.backtracking import skymaps

        return skymaps.running_diffusion(self.moments, self.times, self.means)


def read(path, config=None) -> Ensemble:
    """Read a results file written by numerics.backtracking.simulation.run_ensemble (ValueError if it is not one).

    With ``config`` (a SimulationConfig of the same physics; ValueError otherwise) the ensemble is read as that
    configuration asks: its reporting settings (``name``, ``gradients``, ``fick``: post-processing, outside the
    physics hash) and its first ``config.realizations`` realizations, even where the file holds more.
    """
    ens = _read(Path(path))
    if config is None:
        return ens
    if config.physics_hash() != ens.config.physics_hash():
        raise ValueError(f"results={str(path)!r}: holds another configuration (physics hash "
                         f"{ens.config.physics_hash()[:12]} != {config.physics_hash()[:12]})")
    n = int(np.searchsorted(ens.index, config.realizations))  # index is ascending: the first n stored
    if n < config.realizations:
        raise ValueError(f"results={str(path)!r}: holds {n} of the first {config.realizations} realizations asked for; "
                         "run the ensemble to complete it")
    ens.config, ens.rows = config, n
    ens.index, ens.cross_cl, ens.moments, ens.means = ens.index[:n], ens.cross_cl[:n], ens.moments[:n], ens.means[:n]
    return ens


def _read(path: Path) -> Ensemble:
    from numerics.backtracking.config import config_from_dict

    if not path.exists():
        raise ValueError(f"results={str(path)!r}: no such file")
    with _open_checked(path, FORMAT, "results") as fh:
        version = int(fh.attrs.get("format_version", -1))
        if version != FORMAT_VERSION:
            raise ValueError(f"results={str(path)!r}: format version {version}, this package reads {FORMAT_VERSION}")
        try:  # a damaged file: a missing dataset or attribute, a checksum or decompression failure
            config = config_from_dict(json.loads(fh.attrs["config"]))
            attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in fh.attrs.items()}
            attrs["stored_realizations"] = int(fh["index"].shape[0])
            return Ensemble(path=path, config=config, attrs=attrs, index=np.asarray(fh["index"]),
                            times=np.asarray(fh["times"]), directions=np.asarray(fh["directions"]),
                            cross_cl=np.asarray(fh["cross_cl"]), moments=np.asarray(fh["moments"]),
                            means=np.asarray(fh["means"]))
        except (OSError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"results={str(path)!r}: damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
                             "the file is left as it is") from None
