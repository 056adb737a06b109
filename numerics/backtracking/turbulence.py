"""Static isotropic turbulence as a finite sum of plane waves (Giacalone & Jokipii 1999; 002 Sec. 3, 003 Secs. 3-4).

The field is stored as gyrofrequency vectors ``Omega = q B / p`` (c = 1), in units of 1/length, where the
length is the one the caller measures positions and wavenumbers in (for example L_c or r_g):

.. math::

    \\mathbf\\Omega(\\mathbf r) = \\mathbf\\Omega_0 + \\sum_{n=1}^{N} \\mathbf a_n \\cos(\\mathbf k_n\\cdot\\mathbf r + \\beta_n),
    \\qquad \\mathbf a_n \\perp \\mathbf k_n,
    \\qquad \\overline{|\\delta\\mathbf\\Omega|^2} = \\tfrac12\\sum_n |\\mathbf a_n|^2 .

The overline is the spatial mean (exact for pairwise distinct wave vectors).  The random models
(:meth:`PlaneWaveField.from_spectrum` and the two named spectra) draw

* ``|k_n|`` log-spaced from ``k_min`` to ``k_max``, both included (``numpy.geomspace``; mode n has the n-th
  wavenumber, in increasing order);
* directions ``k_n/|k_n|`` isotropic: ``cos(theta)`` uniform in [-1, 1], ``phi`` uniform in [0, 2 pi);
* ``a_n = |a_n| (cos(psi_n) e_theta + sin(psi_n) e_phi)`` with ``psi_n`` uniform in [0, 2 pi), where
  ``(k_hat, e_theta, e_phi)`` is the spherical basis built from the drawn angles (orthonormal for every
  direction, the poles included);
* phases ``beta_n`` uniform in [0, 2 pi);
* amplitudes ``|a_n|^2 proportional to E(k_n) k_n``, with ``E(k)`` the energy per unit wavenumber and
  ``k_n`` the width of the n-th log-spaced cell (up to the constant log step), normalised so that
  ``sum_n |a_n|^2 / 2 = rms^2`` exactly (to round-off).

Named spectra:

* Giacalone & Jokipii (1999), 002 Sec. 3: ``|delta B_n|^2 proportional to k_n^3 / (1 + (k_n L_c)^gamma)``, i.e.
  ``E(k) proportional to k^2 / (1 + (k L_c)^gamma)`` (Kolmogorov ``E ~ k^(-5/3)`` above ``1/L_c`` for
  ``gamma = 11/3``), with the mean square fixed to ``sigma2 |Omega_0|^2``;
* band-limited white noise of 003 Sec. 3 (used in 003 Sec. 4): ``E(k)`` constant for ``k_out <= k <= k_in``
  (003 eq. (3.12) with ``g(k) = g_out``: ``<omega^2> = 8 pi g_out (k_in - k_out)``).

Random numbers: ``numpy.random.default_rng(seed)`` draws, in this order and each as one vector of
length ``n_modes``: ``cos(theta)``, ``phi``, ``psi``, ``beta`` (``Generator.uniform``).  The same seed
gives the same field; a ``Generator`` passed as seed is advanced by ``4 n_modes`` uniforms.

This is the numpy reference implementation (exact ``np.cos``); the backtracker has its own fast
evaluation.

References
----------
- 002 Sec. 3: Ahlers & Mertsch, ApJL 815 (2015) L2 -- the simulation setup.
- 003 Sec. 3 and Sec. 4: Mertsch & Ahlers, JCAP (2019) -- band-limited white noise, eq. (3.12).
- J. Giacalone and J. R. Jokipii, ApJ 520 (1999) 204 -- the plane-wave model.

Examples
--------
>>> f = PlaneWaveField.giacalone_jokipii(64, 0.1, 100.0, sigma2=1.0, regular=(0, 0, 1), seed=1)
>>> bool(abs(f.mean_square - 1.0) < 1e-12), f.spectrum
(True, 'giacalone-jokipii')
>>> pts = np.random.default_rng(2).uniform(-50, 50, (1000, 3))
>>> bool(np.max(np.abs(f.divergence(pts))) < 1e-12 * np.sum(np.linalg.norm(f.wavevectors, axis=1)
...                                                         * np.linalg.norm(f.amplitudes, axis=1)))
True
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from numerics import _validate as check

__all__ = ["PlaneWaveField", "MAX_MODES", "PERPENDICULAR_TOL"]

#: Largest number of modes.
MAX_MODES = 100_000
#: Largest allowed ``|k_n . a_n| / (|k_n| |a_n|)`` of an explicitly given field.
PERPENDICULAR_TOL = 1e-12
#: Temporaries of the modal sums hold at most this many float64 numbers per array (8 MB; a few such arrays are alive at once).
_CHUNK_ELEMENTS = 1_000_000
_SPECTRA = ("giacalone-jokipii", "white-noise", "user", "explicit")
_KEYS = ("wavevectors", "amplitudes", "phases", "regular")


def _scalar(name: str, value) -> float:
    arr = check.finite(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name}={check.show(value)}: expected a single real number, got shape {arr.shape}")
    return float(arr)


def _nonnegative(name: str, value) -> float:
    x = _scalar(name, value)
    if x < 0:
        raise ValueError(f"{name}={x!r}: must be >= 0 (allowed range [0, inf))")
    return x


def _band(n_modes, lo, hi, lo_name: str, hi_name: str) -> tuple[int, float, float]:
    n = check.finite("n_modes", n_modes)
    if n.ndim != 0 or n != np.round(n) or not 2 <= n <= MAX_MODES:
        raise ValueError(f"n_modes={n_modes!r}: must be an integer in [2, {MAX_MODES}] "
                         f"(log-spaced modes from {lo_name} to {hi_name} need n_modes >= 2 and {lo_name} < {hi_name})")
    a, b = _scalar(lo_name, lo), _scalar(hi_name, hi)
    if not 0 < a < b:
        raise ValueError(f"{lo_name}={a!r}, {hi_name}={b!r}: need 0 < {lo_name} < {hi_name} (wavenumbers in 1/length)")
    return int(n), a, b


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator | np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed={seed!r}: expected an integer >= 0, a numpy.random.SeedSequence or a numpy.random.Generator")


def _regular(value) -> np.ndarray:
    arr = check.vectors("regular", value)
    if arr.shape != (3,):
        raise ValueError(f"regular={check.show(value)}: expected one 3-vector (shape (3,)), got shape {arr.shape}")
    return arr


def _frozen(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, dtype=np.float64, order="C", copy=True)
    out.setflags(write=False)
    return out


class PlaneWaveField:
    """Static field ``Omega(r) = Omega_0 + sum_n a_n cos(k_n . r + beta_n)`` (see the module docstring).

    Immutable; the arrays are read-only float64, C-contiguous copies.

    Parameters
    ----------
    wavevectors : array (N, 3), 0 <= N <= 100000 -- ``k_n`` in 1/length, nonzero (N = 0: a uniform field,
        see :meth:`uniform`)
    amplitudes : array (N, 3) -- ``a_n`` (gyrofrequency, 1/length), ``|k_n . a_n| <= 1e-12 |k_n| |a_n|``
    phases : array (N,) -- ``beta_n`` in radians, finite
    regular : 3-vector -- ``Omega_0`` (gyrofrequency, 1/length); default zero

    Attributes
    ----------
    wavevectors, amplitudes, phases, regular : the arrays above
    spectrum : str -- 'giacalone-jokipii', 'white-noise', 'user' (:meth:`from_spectrum`) or 'explicit'
    """

    __slots__ = ("wavevectors", "amplitudes", "phases", "regular", "spectrum")

    def __init__(self, wavevectors, amplitudes, phases, regular=(0.0, 0.0, 0.0)):
        k = check.finite("wavevectors", wavevectors)
        if k.ndim != 2 or k.shape[1] != 3 or not 0 <= k.shape[0] <= MAX_MODES:
            raise ValueError(f"wavevectors={check.show(wavevectors)}: expected shape (N, 3) with 0 <= N <= {MAX_MODES}, "
                             f"got shape {k.shape}")
        n = k.shape[0]
        a = check.finite("amplitudes", amplitudes)
        if a.shape != (n, 3):
            raise ValueError(f"amplitudes={check.show(amplitudes)}: expected shape ({n}, 3) like wavevectors, got shape {a.shape}")
        beta = check.finite("phases", phases)
        if beta.shape != (n,):
            raise ValueError(f"phases={check.show(phases)}: expected shape ({n},), got shape {beta.shape}")
        kn = np.linalg.norm(k, axis=1)
        if np.any(kn == 0):
            raise ValueError(f"wavevectors: mode(s) {np.flatnonzero(kn == 0)[:5].tolist()} have k = 0 (allowed |k_n| > 0)")
        dot = np.abs(np.einsum("ij,ij->i", k, a))
        bad = dot > PERPENDICULAR_TOL * kn * np.linalg.norm(a, axis=1)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            rel = dot[i] / (kn[i] * np.linalg.norm(a[i]))
            raise ValueError(f"amplitudes: a_n not perpendicular to k_n (mode {i}: |k.a|/(|k||a|) = {rel:.3g}; "
                             f"allowed <= {PERPENDICULAR_TOL:g}, the field must be divergence-free)")
        self._set(k, a, beta, _regular(regular), "explicit")

    def _set(self, k, a, beta, regular, label):
        for name, value in zip(_KEYS, (k, a, beta, regular)):
            object.__setattr__(self, name, _frozen(value))
        object.__setattr__(self, "spectrum", label)

    def __setattr__(self, name, value):
        raise AttributeError(f"PlaneWaveField is immutable (cannot set {name!r})")

    def __delattr__(self, name):
        raise AttributeError(f"PlaneWaveField is immutable (cannot delete {name!r})")

    def __repr__(self) -> str:
        return (f"PlaneWaveField(spectrum={self.spectrum!r}, n_modes={self.n_modes}, k_min={self.k_min:.6g}, "
                f"k_max={self.k_max:.6g}, rms={self.rms:.6g}, regular={self.regular.tolist()})")

    # ------------------------------------------------------------------ construction
    @classmethod
    def uniform(cls, regular=(0.0, 0.0, 1.0)) -> PlaneWaveField:
        """The uniform field ``Omega_0`` without turbulence (no modes; label 'explicit').

        >>> PlaneWaveField.uniform((0, 0, 2)).evaluate([[1.0, 2.0, 3.0]])
        array([[0., 0., 2.]])
        """
        return cls(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), regular)

    @classmethod
    def from_spectrum(cls, spectrum, n_modes, k_min, k_max, *, rms, regular=(0.0, 0.0, 0.0), seed) -> PlaneWaveField:
        """Random isotropic field with energy spectrum ``E(k)`` (label 'user').

        Parameters
        ----------
        spectrum : callable -- ``E(k)`` (any units: only its shape matters), vectorised over a numpy array of
            wavenumbers; must return finite values >= 0 with a positive sum over the modes
        n_modes : int in [2, 100000]
        k_min, k_max : float, 0 < k_min < k_max -- smallest and largest ``|k_n|`` (1/length), both included
        rms : float >= 0 -- ``sqrt(sum |a_n|^2 / 2)``, the rms of the turbulent part (gyrofrequency, 1/length)
        regular : 3-vector -- ``Omega_0`` (gyrofrequency, 1/length)
        seed : int >= 0, numpy.random.SeedSequence or numpy.random.Generator

        Returns
        -------
        PlaneWaveField

        Examples
        --------
        >>> f = PlaneWaveField.from_spectrum(lambda k: k ** -1.5, 32, 1.0, 10.0, rms=2.0, seed=7)
        >>> round(f.rms, 12), f.spectrum
        (2.0, 'user')
        >>> PlaneWaveField.from_spectrum(lambda k: -k, 32, 1.0, 10.0, rms=2.0, seed=7)
        Traceback (most recent call last):
        ValueError: spectrum: E(k) must be >= 0 at every mode (found -1 at k = 1)
        """
        if not callable(spectrum):
            raise ValueError(f"spectrum={spectrum!r}: expected a callable E(k) (vectorised over a numpy array)")
        return cls._random(spectrum, n_modes, k_min, k_max, ("k_min", "k_max"), rms=_nonnegative("rms", rms),
                           regular=_regular(regular), seed=seed, label="user")

    @classmethod
    def giacalone_jokipii(cls, n_modes, k_min, k_max, *, sigma2, regular, coherence_length=1.0, gamma=11 / 3,
                          seed) -> PlaneWaveField:
        """The Giacalone & Jokipii (1999) spectrum of 002 Sec. 3 (label 'giacalone-jokipii').

        ``|a_n|^2 proportional to k_n^3 / (1 + (k_n L_c)^gamma)`` (002 Sec. 3, log-spaced k_n), i.e.
        ``E(k) proportional to k^2 / (1 + (k L_c)^gamma)``, with ``sum |a_n|^2 / 2 = sigma2 |Omega_0|^2``.

        Parameters
        ----------
        n_modes : int in [2, 100000]
        k_min, k_max : float, 0 < k_min < k_max -- in 1/length (002 uses k = 2 pi / lambda with
            lambda from 0.01 L_c to 100 L_c)
        sigma2 : float >= 0 -- turbulence level ``mean |delta Omega|^2 / |Omega_0|^2``
        regular : 3-vector -- ``Omega_0`` (gyrofrequency, 1/length); must be nonzero unless ``sigma2 == 0``,
            since the turbulence is normalised to it (use :meth:`from_spectrum` with ``rms`` for a field
            without a regular part)
        coherence_length : float > 0 -- ``L_c`` (length)
        gamma : float > 0 -- 11/3 for Kolmogorov
        seed : int >= 0, numpy.random.SeedSequence or numpy.random.Generator

        Returns
        -------
        PlaneWaveField
        """
        n_modes, k_min, k_max = _band(n_modes, k_min, k_max, "k_min", "k_max")
        sigma2 = _nonnegative("sigma2", sigma2)
        b0 = _regular(regular)
        lc = float(check.positive("coherence_length", _scalar("coherence_length", coherence_length)))
        g = float(check.positive("gamma", _scalar("gamma", gamma)))
        b0sq = float(b0 @ b0)
        if sigma2 > 0 and b0sq == 0:
            raise ValueError(f"regular={check.show(b0)}: |regular| must be > 0 when sigma2={sigma2!r} > 0 (the turbulence "
                             "is normalised to sigma2 |regular|^2; use from_spectrum(..., rms=...) for no regular field)")

        def energy(k):
            return k ** 2 / (1.0 + (k * lc) ** g)

        return cls._random(energy, n_modes, k_min, k_max, ("k_min", "k_max"), rms=float(np.sqrt(sigma2 * b0sq)),
                           regular=b0, seed=seed, label="giacalone-jokipii")

    @classmethod
    def white_noise(cls, n_modes, k_out, k_in, *, rms, regular=(0.0, 0.0, 0.0), seed) -> PlaneWaveField:
        """Band-limited white noise of 003 Sec. 3: ``E(k)`` constant on ``[k_out, k_in]`` (label 'white-noise').

        ``|a_n|^2 proportional to k_n`` (log-spaced k_n); 003 Sec. 4 uses ``k_out r_g = 1e-3``,
        ``k_in r_g = 1e2``, no regular field.  The white-noise level of 003 eq. (3.12) is
        ``g_out = rms^2 / (8 pi (k_in - k_out))`` (``numerics.qlt.g_out_from_rms``).

        Parameters
        ----------
        n_modes : int in [2, 100000]
        k_out, k_in : float, 0 < k_out < k_in -- the band (1/length)
        rms : float >= 0 -- rms of the turbulent part (gyrofrequency, 1/length)
        regular : 3-vector -- ``Omega_0`` (gyrofrequency, 1/length)
        seed : int >= 0, numpy.random.SeedSequence or numpy.random.Generator

        Returns
        -------
        PlaneWaveField
        """
        return cls._random(np.ones_like, n_modes, k_out, k_in, ("k_out", "k_in"), rms=_nonnegative("rms", rms),
                           regular=_regular(regular), seed=seed, label="white-noise")

    @classmethod
    def _random(cls, energy, n_modes, lo, hi, names, *, rms, regular, seed, label) -> PlaneWaveField:
        n, lo, hi = _band(n_modes, lo, hi, *names)
        rng = _rng(seed)
        k = np.geomspace(lo, hi, n)
        k[0], k[-1] = lo, hi
        e = np.asarray(energy(k.copy()), dtype=float)
        try:
            e = np.broadcast_to(e, k.shape)
        except ValueError:
            raise ValueError(f"spectrum: E(k) returned shape {e.shape} for k of shape {k.shape}") from None
        if not np.all(np.isfinite(e)):
            i = int(np.flatnonzero(~np.isfinite(e))[0])
            raise ValueError(f"spectrum: E(k) must be finite at every mode (found {e[i]!r} at k = {k[i]:.6g})")
        if np.any(e < 0):
            i = int(np.flatnonzero(e < 0)[0])
            raise ValueError(f"spectrum: E(k) must be >= 0 at every mode (found {e[i]:.6g} at k = {k[i]:.6g})")
        w = e * k
        if not w.sum() > 0:
            raise ValueError(f"spectrum: E(k) is zero at every mode in [{lo:.6g}, {hi:.6g}] (need a positive sum)")
        # draw order (documented in the module docstring): cos(theta), phi, psi, beta
        cos_t = rng.uniform(-1.0, 1.0, n)
        phi = rng.uniform(0.0, 2 * np.pi, n)
        psi = rng.uniform(0.0, 2 * np.pi, n)
        beta = rng.uniform(0.0, 2 * np.pi, n)
        sin_t = np.sqrt(np.maximum(0.0, 1.0 - cos_t ** 2))
        cp, sp = np.cos(phi), np.sin(phi)
        khat = np.stack([sin_t * cp, sin_t * sp, cos_t], axis=1)
        e_theta = np.stack([cos_t * cp, cos_t * sp, -sin_t], axis=1)
        e_phi = np.stack([-sp, cp, np.zeros(n)], axis=1)
        mag = np.sqrt(2.0 * rms ** 2 * w / w.sum())
        amp = mag[:, None] * (np.cos(psi)[:, None] * e_theta + np.sin(psi)[:, None] * e_phi)
        field = cls(k[:, None] * khat, amp, beta, regular)
        object.__setattr__(field, "spectrum", label)
        return field

    @classmethod
    def from_arrays(cls, arrays, *, spectrum="explicit") -> PlaneWaveField:
        """Inverse of :meth:`to_arrays`: a mapping with exactly the keys 'wavevectors', 'amplitudes', 'phases',
        'regular' (validated like the constructor).  ``spectrum`` restores the label (stored separately,
        e.g. as an HDF5 attribute); one of 'giacalone-jokipii', 'white-noise', 'user', 'explicit'."""
        try:
            keys = set(arrays.keys())
        except AttributeError:
            raise ValueError(f"arrays={type(arrays).__name__}: expected a mapping with keys {', '.join(_KEYS)}") from None
        if keys != set(_KEYS):
            raise ValueError(f"arrays: keys {sorted(keys)}; expected exactly {list(_KEYS)} "
                             f"(missing {sorted(set(_KEYS) - keys)}, unknown {sorted(keys - set(_KEYS))})")
        label = check.choice("spectrum", spectrum, _SPECTRA)
        field = cls(*(np.asarray(arrays[key]) for key in _KEYS))
        object.__setattr__(field, "spectrum", label)
        return field

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The defining arrays as plain (writeable) float64 copies: 'wavevectors' (N, 3), 'amplitudes' (N, 3),
        'phases' (N,), 'regular' (3,).  The label :attr:`spectrum` is not included (store it as an attribute)."""
        return {key: np.array(getattr(self, key)) for key in _KEYS}

    # ------------------------------------------------------------------ derived quantities
    @property
    def n_modes(self) -> int:
        return self.phases.shape[0]

    @property
    def k_min(self) -> float:
        """Smallest ``|k_n|`` (1/length); nan for a field without modes."""
        return float(np.linalg.norm(self.wavevectors, axis=1).min()) if self.n_modes else math.nan

    @property
    def k_max(self) -> float:
        """Largest ``|k_n|`` (1/length); nan for a field without modes."""
        return float(np.linalg.norm(self.wavevectors, axis=1).max()) if self.n_modes else math.nan

    @property
    def mean_square(self) -> float:
        """Spatial mean of ``|Omega - Omega_0|^2`` = ``sum_n |a_n|^2 / 2`` (1/length^2)."""
        return 0.5 * float(np.sum(self.amplitudes ** 2))

    @property
    def rms(self) -> float:
        """``sqrt(mean_square)``, the rms of the turbulent part (1/length)."""
        return float(np.sqrt(self.mean_square))

    @property
    def omega_rms_total(self) -> float:
        """``sqrt(|Omega_0|^2 + mean_square)`` (1/length)."""
        return float(np.sqrt(self.regular @ self.regular + self.mean_square))

    def energy_per_mode(self) -> tuple[np.ndarray, np.ndarray]:
        """``(|k_n|, |a_n|^2 / 2)`` in mode order (1/length, 1/length^2); the second sums to :attr:`mean_square`."""
        return np.linalg.norm(self.wavevectors, axis=1), 0.5 * np.sum(self.amplitudes ** 2, axis=1)

    # ------------------------------------------------------------------ evaluation
    def _modal_sum(self, points, func, coeffs: np.ndarray) -> np.ndarray:
        """``sum_n coeffs[n] func(k_n . r + beta_n)`` at ``points`` (..., 3) -> (..., coeffs.shape[1])."""
        pts = check.vectors("points", points)
        shape = pts.shape[:-1]
        flat = pts.reshape(-1, 3)
        out = np.zeros((flat.shape[0], coeffs.shape[1]))
        if self.n_modes == 0:
            return out.reshape(shape + (coeffs.shape[1],))
        step = max(1, _CHUNK_ELEMENTS // self.n_modes)
        kt = np.ascontiguousarray(self.wavevectors.T)
        for start in range(0, flat.shape[0], step):
            arg = flat[start:start + step] @ kt
            arg += self.phases
            func(arg, out=arg)
            np.matmul(arg, coeffs, out=out[start:start + step])
        return out.reshape(shape + (coeffs.shape[1],))

    def evaluate(self, points) -> np.ndarray:
        """``Omega(r)`` at ``points`` (..., 3) (length) -> (..., 3) (gyrofrequency, 1/length).

        Exact ``np.cos``; chunked so that temporaries stay below ~64 MB for any number of points.
        """
        return self.turbulent(points) + self.regular

    def turbulent(self, points) -> np.ndarray:
        """``Omega(r) - Omega_0 = sum_n a_n cos(k_n . r + beta_n)`` at ``points`` (..., 3) -> (..., 3) (1/length)."""
        return self._modal_sum(points, np.cos, self.amplitudes)

    def divergence(self, points) -> np.ndarray:
        """Analytic ``div Omega = -sum_n (k_n . a_n) sin(k_n . r + beta_n)`` at ``points`` (..., 3) -> (...)
        (1/length^2); zero to round-off since ``a_n`` is perpendicular to ``k_n``."""
        kdota = -np.einsum("ij,ij->i", self.wavevectors, self.amplitudes)[:, None]
        return self._modal_sum(points, np.sin, kdota)[..., 0]

    def curl(self, points) -> np.ndarray:
        """Analytic ``curl Omega = -sum_n (k_n x a_n) sin(k_n . r + beta_n)`` at ``points`` (..., 3) -> (..., 3)
        (1/length^2)."""
        return self._modal_sum(points, np.sin, -np.cross(self.wavevectors, self.amplitudes))
