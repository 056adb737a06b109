"""The configuration of a backtracking ensemble: :class:`SimulationConfig`, the papers' presets, TOML files, seeding.

Seeding: realization ``i`` draws its field from ``numpy.random.SeedSequence(seed,
spawn_key=(i,))`` — the i-th child of the master seed — so its numbers do not depend on how
many realizations run, in which order, or on which worker.  The field is the only random
input.

Presets (lengths in the unit named by ``length_unit``):

``ahlers-mertsch-2015`` (002 Sec. 3): L_c = 1, B0 along z with r_L = 0.1 L_c (Omega_0 = 10),
sigma^2 = 1, Giacalone-Jokipii spectrum with gamma = 11/3, lambda in [0.01, 100] L_c, 256
modes, backtracking to Omega_0 T = 100; paper scale nside 32 and 120 realizations.

``mertsch-ahlers-2019`` (003 Sec. 4): r_g = 1 in the RMS turbulent field (Omega_rms = 1), no
regular field, band-limited white noise with k_out r_g = 1e-3 and k_in r_g = 1e2, 256 modes,
backtracking to Omega t = 20; paper scale nside 32 and 100 realizations.

The number of modes and the paper-scale nside of 003 are not printed in the papers; they
are our choice.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass

import numpy as np

from numerics import _validate as check

__all__ = ["SimulationConfig", "PRESETS", "SCALES", "preset", "load_config", "config_from_dict", "make_field",
           "realization_seed"]

PRESETS = ("ahlers-mertsch-2015", "mertsch-ahlers-2019")
SCALES = ("quick", "paper")
SPECTRA = ("giacalone-jokipii", "white-noise", "table")
MAX_NSIDE = 256
MAX_REALIZATIONS = 100_000
#: largest configuration file read (a TOML configuration is a few hundred bytes; /dev/zero must not hang the reader)
MAX_CONFIG_BYTES = 1 << 20

# the type each field must have (bool is not a number here: ``rms = true`` is a mistake, not 1.0)
_STR = ("name", "length_unit", "spectrum", "integrator", "cosine")
_REAL = ("k_min", "k_max", "sigma2", "rms", "coherence_length", "gamma", "rigidity", "omega_ref")
_INT = ("n_modes", "nside", "charge", "realizations", "seed")
_REAL_LISTS = ("regular", "table_k", "table_e", "omega_t")


def _is_real(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_types(cfg) -> None:
    """ValueError naming the field whose value has the wrong type (before any arithmetic can raise TypeError)."""
    def bad(name, want):
        raise ValueError(f"{name}={getattr(cfg, name)!r}: must be {want}")

    for name in _STR:
        if not isinstance(getattr(cfg, name), str):
            bad(name, "a string")
    for name in _REAL:
        if not _is_real(getattr(cfg, name)):
            bad(name, "a number")
    for name in _INT:
        if not _is_int(getattr(cfg, name)):
            bad(name, "an integer")
    for name, value in (("dt", cfg.dt), ("step_factor", cfg.step_factor), ("lmax", cfg.lmax)):
        if value is not None and not (_is_int(value) if name == "lmax" else _is_real(value)):
            bad(name, "an integer" if name == "lmax" else "a number" + " (or absent)")
    for name in _REAL_LISTS:
        value = getattr(cfg, name)
        if not isinstance(value, (tuple, list)) or not all(_is_real(v) for v in value):
            bad(name, "a list of numbers")
    g = cfg.gradients
    if not isinstance(g, (tuple, list)) or not all(isinstance(v, (tuple, list)) and all(_is_real(x) for x in v) for v in g):
        bad("gradients", "a list of 3-vectors of numbers")
    if not isinstance(cfg.fick, bool):
        bad("fick", "true or false")
    parts = cfg.name.split("/")
    if not cfg.name.strip() or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"name={cfg.name!r}: must be a non-empty name whose '/'-separated parts are not empty, '.' or "
                         "'..' (it names the default output directory)")


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines an ensemble; stored with the results (JSON) and hashed for resume.

    Turbulence (numerics.backtracking.turbulence.PlaneWaveField): ``spectrum`` one of
    'giacalone-jokipii' (``sigma2``, ``coherence_length``, ``gamma``), 'white-noise'
    (``rms``) or 'table' (``rms`` and a tabulated energy spectrum E(k) at ``table_k``,
    ``table_e``, interpolated log-log); ``n_modes`` modes log-spaced in [k_min, k_max];
    ``regular`` = Omega_0.  Fields are gyrofrequencies (1/length) of the reference
    particle; the simulated particle has ``rigidity`` (> 0, relative) and ``charge`` (+1/-1).

    Particles: HEALPix ``nside`` directions, backtracked by ``integrator`` ('boris' or its fourth-order composition
    'yoshida4', numerics.backtracking.boris) with step ``dt``, or (``dt`` None) with the step
    ``step_factor / max(k_max, Omega_max)`` (``step_factor`` None: the integrator's default in
    numerics.backtracking.kernel.DEFAULT_STEP_FACTORS, at most its STEP_LIMITS entry), and recorded at ``omega_t``
    (backtracking times in units of 1/``omega_ref``).  ``cosine``: the field's polynomial cosine, 'precise'
    (degree 13, |error| < 1e-13, the default) or 'fast' (degree 9, < 4e-9, CPU only; numerics.backtracking.kernel.
    COSINE_ERRORS) -- a different physics hash, so the two never mix in one ensemble.

    Analysis: ``lmax`` (None: 2 nside), the ``gradients`` reported by ``aniso simulate``
    and whether the gradient ansatz includes the Fick term -3 p.K.g with the measured
    K (``fick``).
    """

    name: str = "custom"
    length_unit: str = "L_c"
    spectrum: str = "giacalone-jokipii"
    n_modes: int = 256
    k_min: float = 2 * math.pi / 100.0
    k_max: float = 2 * math.pi / 0.01
    sigma2: float = 1.0
    rms: float = 1.0
    coherence_length: float = 1.0
    gamma: float = 11.0 / 3.0
    regular: tuple = (0.0, 0.0, 10.0)
    table_k: tuple = ()
    table_e: tuple = ()
    nside: int = 8
    rigidity: float = 1.0
    charge: int = 1
    dt: float | None = None
    step_factor: float | None = None
    integrator: str = "boris"
    cosine: str = "precise"
    omega_ref: float = 10.0
    omega_t: tuple = tuple(np.geomspace(0.1, 100.0, 16).tolist())
    realizations: int = 16
    seed: int = 2015
    lmax: int | None = None
    gradients: tuple = ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0))
    fick: bool = True

    # ----------------------------------------------------------------- derived
    @property
    def times(self) -> np.ndarray:
        """Backtracking times T (length units, c = 1)."""
        return np.asarray(self.omega_t, dtype=float) / self.omega_ref

    @property
    def ell_max(self) -> int:
        return 2 * self.nside if self.lmax is None else int(self.lmax)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return json.loads(json.dumps(d))  # tuples -> lists, plain types

    def physics_hash(self) -> str:
        """SHA-256 of everything that determines one realization's numbers (not ``realizations``, ``name``,
        ``gradients``, ``fick``: those only choose how many realizations and how they are reported)."""
        import hashlib

        from numerics.backtracking import kernel

        d = self.to_dict()
        for key in ("realizations", "name", "gradients", "fick"):
            d.pop(key)
        # the step factor in effect, so that a changed default is a new physics, never a silent mix; at 0.1 (the only
        # factor before it was a setting) it is left out, which keeps the ensembles stored before then valid
        factor = d.pop("step_factor")
        integrator = d.pop("integrator")
        if d["dt"] is None:
            factor = kernel.DEFAULT_STEP_FACTORS.get(integrator, 0.0) if factor is None else float(factor)
            if factor != _FACTOR_BEFORE_SETTING or integrator != "boris":
                d["step_factor"] = factor
        if integrator != "boris":  # likewise: Boris, the only integrator before it was a setting, is left out
            d["integrator"] = integrator
        if d.pop("cosine") != "precise":  # and the precise cosine, the only one before it was a setting
            d["cosine"] = self.cosine
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def replace(self, **changes) -> SimulationConfig:
        return config_from_dict({**self.to_dict(), **changes})

    def validate(self) -> SimulationConfig:
        """Check every field (ValueError naming the parameter) and that the step resolves the field."""
        _check_types(self)
        check.choice("spectrum", self.spectrum, SPECTRA)
        check.integers("n_modes", self.n_modes, 2, 100_000)
        k_min = check.positive("k_min", self.k_min, single=True)
        k_max = check.positive("k_max", self.k_max, single=True)
        if not k_min < k_max:
            raise ValueError(f"k_min={k_min:g}, k_max={k_max:g}: need 0 < k_min < k_max")
        if self.sigma2 < 0 or not math.isfinite(self.sigma2):
            raise ValueError(f"sigma2={self.sigma2!r}: must be >= 0 (allowed range [0, inf))")
        if self.rms < 0 or not math.isfinite(self.rms):
            raise ValueError(f"rms={self.rms!r}: must be >= 0 (allowed range [0, inf))")
        check.positive("coherence_length", self.coherence_length)
        check.positive("gamma", self.gamma)
        check.vectors("regular", self.regular)
        if len(self.regular) != 3:
            raise ValueError(f"regular={self.regular!r}: expected a 3-vector")
        if self.spectrum == "table":
            tk = check.positive("table_k", self.table_k)
            te = check.finite("table_e", self.table_e)
            if tk.ndim != 1 or tk.size < 2 or tk.shape != te.shape or np.any(np.diff(tk) <= 0) or np.any(te < 0):
                raise ValueError("table_k, table_e: need two equally long lists, table_k strictly increasing and > 0, "
                                 "table_e >= 0")
            if k_min < tk[0] or k_max > tk[-1]:
                raise ValueError(f"table_k: the table [{tk[0]:g}, {tk[-1]:g}] must cover [k_min, k_max] = [{k_min:g}, {k_max:g}]")
        nside = check.integer("nside", self.nside, 1, MAX_NSIDE)
        if nside & (nside - 1):
            raise ValueError(f"nside={self.nside!r}: must be a power of two in [1, {MAX_NSIDE}]")
        check.positive("rigidity", self.rigidity)
        if self.charge not in (1, -1):
            raise ValueError(f"charge={self.charge!r}: must be +1 or -1")
        check.positive("omega_ref", self.omega_ref)
        omega_t = check.positive("omega_t", self.omega_t)
        if omega_t.ndim != 1 or omega_t.size == 0 or np.any(np.diff(omega_t) <= 0):
            raise ValueError(f"omega_t={check.show(self.omega_t)}: need a non-empty, strictly increasing list of times > 0")
        check.integers("realizations", self.realizations, 1, MAX_REALIZATIONS)
        check.integers("seed", self.seed, 0, 2**63 - 1)
        if self.lmax is not None:
            check.integers("lmax", self.lmax, 0, 2 * nside)
        g = check.vectors("gradients", self.gradients)
        if g.ndim != 2 or np.any(np.linalg.norm(g, axis=1) == 0):
            raise ValueError(f"gradients={self.gradients!r}: expected a list of non-zero 3-vectors")
        if not isinstance(self.fick, bool):
            raise ValueError(f"fick={self.fick!r}: must be true or false")
        from numerics.backtracking import kernel

        if self.dt is not None and self.step_factor is not None:
            raise ValueError(f"dt={self.dt!r}, step_factor={self.step_factor!r}: give the step (dt) or its factor "
                             "(step_factor), not both")
        kernel.check_integrator(self.integrator)
        kernel.check_cosine(self.cosine)
        kernel.check_step_factor(self.step_factor, self.integrator)
        kernel.steps_for(self.times, self.step(make_field(self, 0)))
        return self

    def step(self, field=None) -> float:
        """The backtracking step: ``dt`` (checked against the field), else ``step_factor`` (None:
        numerics.backtracking.kernel.DEFAULT_STEP_FACTOR) over max(k_max, Omega_max) of ``field`` (default: the
        field of realization 0)."""
        from numerics.backtracking import kernel

        fld = make_field(self, 0) if field is None else field
        if self.dt is not None:
            return kernel.check_step(fld, self.dt, self.rigidity, self.integrator)
        return kernel.default_step(fld, self.rigidity, self.step_factor, self.integrator)


#: the step factor of every ensemble stored before ``step_factor`` was a setting (physics_hash)
_FACTOR_BEFORE_SETTING = 0.1

_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(SimulationConfig))
_TOML_SECTIONS = {
    "turbulence": ("spectrum", "n_modes", "k_min", "k_max", "sigma2", "rms", "coherence_length", "gamma", "regular",
                   "table_k", "table_e"),
    "particles": ("nside", "rigidity", "charge", "dt", "step_factor", "integrator", "cosine", "omega_ref", "omega_t"),
    "ensemble": ("realizations", "seed"),
    "analysis": ("lmax", "gradients", "fick"),
}
_TOP_LEVEL = ("name", "length_unit", "preset", "scale")


def _tuplify(value):
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def config_from_dict(d: dict) -> SimulationConfig:
    """A validated-keys SimulationConfig from a flat dict (unknown keys: ValueError)."""
    unknown = sorted(set(d) - set(_FIELD_NAMES))
    if unknown:
        raise ValueError(f"unknown configuration key(s) {', '.join(unknown)}; allowed: {', '.join(_FIELD_NAMES)}")
    kwargs = {k: _tuplify(v) for k, v in d.items()}
    for key in ("n_modes", "nside", "realizations", "seed", "charge"):
        if key in kwargs and isinstance(kwargs[key], float) and kwargs[key].is_integer():
            kwargs[key] = int(kwargs[key])
    return SimulationConfig(**kwargs)


def preset(name: str, scale: str = "quick") -> SimulationConfig:
    """The papers' configurations (module docstring) at ``scale`` 'quick' (minutes on 2 cores) or 'paper'."""
    check.choice("preset", name, PRESETS)
    check.choice("scale", scale, SCALES)
    quick = scale == "quick"
    if name == "ahlers-mertsch-2015":
        return SimulationConfig(
            name=f"{name}/{scale}", length_unit="L_c", spectrum="giacalone-jokipii", n_modes=256,
            k_min=2 * math.pi / 100.0, k_max=2 * math.pi / 0.01, sigma2=1.0, coherence_length=1.0, gamma=11.0 / 3.0,
            regular=(0.0, 0.0, 10.0), nside=8 if quick else 32, rigidity=1.0, omega_ref=10.0,
            omega_t=tuple(np.geomspace(0.1, 100.0, 13 if quick else 16).tolist()),
            realizations=12 if quick else 120, seed=2015, gradients=((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)), fick=True)
    return SimulationConfig(
        name=f"{name}/{scale}", length_unit="r_g", spectrum="white-noise", n_modes=256, k_min=1e-3, k_max=1e2, rms=1.0,
        regular=(0.0, 0.0, 0.0), nside=16 if quick else 32, rigidity=1.0, omega_ref=1.0,
        omega_t=tuple(np.geomspace(0.1, 20.0, 12 if quick else 16).tolist()),
        realizations=10 if quick else 100, seed=2019, gradients=((0.0, 0.0, 1.0),), fick=False)


def load_config(path) -> SimulationConfig:
    """Read a TOML file: optional top-level ``preset``/``scale`` as the base, then sections
    [turbulence], [particles], [ensemble], [analysis] (keys as SimulationConfig); unknown keys are errors."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ValueError(f"config={str(path)!r}: larger than {MAX_CONFIG_BYTES} bytes; not a configuration file")
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"config={str(path)!r}: not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"config={str(path)!r}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config={str(path)!r}: not valid TOML ({exc})") from None
    flat = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            if key not in _TOML_SECTIONS:
                raise ValueError(f"config={str(path)!r}: unknown section [{key}]; allowed: "
                                 f"{', '.join('[' + s + ']' for s in _TOML_SECTIONS)}")
            for sub, v in value.items():
                if sub not in _TOML_SECTIONS[key]:
                    raise ValueError(f"config={str(path)!r}: unknown key {sub!r} in [{key}]; allowed: "
                                     f"{', '.join(_TOML_SECTIONS[key])}")
                flat[sub] = v
        elif key in _TOP_LEVEL:
            flat[key] = value
        else:
            raise ValueError(f"config={str(path)!r}: unknown top-level key {key!r}; allowed: {', '.join(_TOP_LEVEL)} "
                             f"and the sections {', '.join('[' + s + ']' for s in _TOML_SECTIONS)}")
    base_name = flat.pop("preset", None)
    scale = flat.pop("scale", "quick")
    base = preset(base_name, scale).to_dict() if base_name is not None else {}
    if base_name is None:
        check.choice("scale", scale, SCALES)
    return config_from_dict({**base, **flat})


def realization_seed(config: SimulationConfig, index: int) -> np.random.SeedSequence:
    """The seed of realization ``index``: child ``(index,)`` of the master seed."""
    return np.random.SeedSequence(int(config.seed), spawn_key=(int(index),))


def make_field(config: SimulationConfig, index: int):
    """The turbulent field of realization ``index``."""
    from numerics.backtracking.turbulence import PlaneWaveField

    rng = np.random.default_rng(realization_seed(config, index))
    common = dict(regular=tuple(config.regular), seed=rng)
    if config.spectrum == "giacalone-jokipii":
        return PlaneWaveField.giacalone_jokipii(config.n_modes, config.k_min, config.k_max, sigma2=config.sigma2,
                                                coherence_length=config.coherence_length, gamma=config.gamma, **common)
    if config.spectrum == "white-noise":
        return PlaneWaveField.white_noise(config.n_modes, config.k_min, config.k_max, rms=config.rms, **common)
    log_k = np.log(np.asarray(config.table_k, dtype=float))
    table_e = np.asarray(config.table_e, dtype=float)

    def spectrum(k):
        return np.interp(np.log(k), log_k, table_e)

    return PlaneWaveField.from_spectrum(spectrum, config.n_modes, config.k_min, config.k_max, rms=config.rms, **common)
