"""Observational dipole relations (review Sec. 2): dipole <-> a_1m, East-West step,
declination averaging, partial-sky dipole coupling, shot noise, the local frame.

Angles at this API are in degrees (declinations in [-90, 90], zenith angles in [0, 90]);
the generated kernels work in radians.
"""
from __future__ import annotations

import numpy as np

from numerics import _validate as check
from numerics.kernels import observation as _k

__all__ = ["dipole_from_alm", "alm_from_dipole", "east_west_step", "declination_average_factor", "dipole_coupling",
           "noise_level", "noise_uniform", "local_rotation"]


def dipole_from_alm(a11, a10) -> np.ndarray:
    """Dipole vector (delta_0h, delta_6h, delta_N) from a_11 (complex) and a_10 (real), review eq. (18)
    with the corrected m = 0 prefactor sqrt(3/(4 pi)) (see the errata).  Condon-Shortley phase, as healpy."""
    a11 = check.finite("a11", a11, allow_complex=True)
    a10 = check.finite("a10", a10, allow_complex=True)
    if np.any(np.abs(a10.imag) > 1e-12 * np.maximum(1.0, np.abs(a10))):
        raise ValueError(f"a10={a10!r}: must be real (a_10 of a real map is real)")
    return _k.dipole_from_alm(a11.real, a11.imag, a10.real)


def alm_from_dipole(delta) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`dipole_from_alm`: (a_11, a_10) of the map 1 + delta . n."""
    d = check.vectors("delta", delta)
    a11 = (-d[..., 0] + 1j * d[..., 1]) / np.sqrt(3.0 / (2.0 * np.pi))
    a10 = d[..., 2] / np.sqrt(3.0 / (4.0 * np.pi))
    return a11, a10


#: Smallest theta_max of :func:`east_west_step`: the uniform-acceptance formula subtracts nearly equal numbers for
#: small angles (relative error ~ 1e-16/theta^2: 3e-10 at 0.1 deg) and is 0/0 as theta -> 0.
THETA_MIN_DEG = 0.1


def east_west_step(theta_max_deg, acceptance=None) -> np.ndarray:
    """Effective right-ascension step Delta alpha (rad) of the East-West method, review eq. (23).

    ``acceptance`` is a callable A(theta) of the zenith angle in radians; ``None`` means a uniform
    acceptance out to ``theta_max_deg`` (generated kernel).  A callable is integrated with
    ``scipy.integrate.quad``.
    """
    tmax = check.finite("theta_max_deg", theta_max_deg)
    if np.any(tmax < THETA_MIN_DEG) or np.any(tmax >= 90.0):
        raise ValueError(f"theta_max_deg={check.show(theta_max_deg)}: outside the allowed range [{THETA_MIN_DEG:g}, 90) "
                         "deg")
    if acceptance is None:
        return _k.east_west_step_uniform(np.radians(tmax))
    if not callable(acceptance):
        raise ValueError(f"acceptance={acceptance!r}: must be a callable A(theta) or None")
    from scipy.integrate import quad

    def one(t):
        num = quad(lambda th: acceptance(th) * np.sin(th) ** 2, 0.0, t)[0]
        den = quad(lambda th: acceptance(th) * np.sin(th), 0.0, t)[0]
        if den <= 0:
            raise ValueError(f"acceptance: integral of A(theta) sin(theta) over [0, {np.degrees(t):g} deg] is {den:g}; "
                             "must be > 0")
        return 2.0 / np.pi * num / den

    return np.vectorize(one, otypes=[float])(np.radians(tmax))


def _band(dec_min_deg, dec_max_deg):
    lo = check.in_range("dec_min_deg", dec_min_deg, -90.0, 90.0, unit=" deg")
    hi = check.in_range("dec_max_deg", dec_max_deg, -90.0, 90.0, unit=" deg")
    if np.any(lo >= hi):
        raise ValueError(f"dec_min_deg={dec_min_deg!r}, dec_max_deg={dec_max_deg!r}: need dec_min_deg < dec_max_deg")
    return np.radians(lo), np.radians(hi)


def declination_average_factor(dec_min_deg, dec_max_deg) -> np.ndarray:
    """A~_1 / A_1 of a declination-averaged dipole over [dec_min, dec_max], review eq. (25)."""
    return _k.declination_average_factor(*_band(dec_min_deg, dec_max_deg))


def dipole_coupling(dec_min_deg, dec_max_deg) -> np.ndarray:
    """K'_1111 of a uniform-exposure declination band, review eq. (27)."""
    return _k.dipole_coupling(*_band(dec_min_deg, dec_max_deg))


def noise_level(n_events, pixel_area, weights=None) -> float:
    """Shot-noise level N = (1/4 pi) sum_i w_i^2 dOmega^2 / n_i over the pixels of the FOV, review eq. (31)."""
    n = check.positive("n_events", n_events)
    area = check.positive("pixel_area", pixel_area)
    w = np.ones_like(n) if weights is None else check.finite("weights", weights)
    if w.shape != n.shape:
        raise ValueError(f"weights: shape {w.shape} differs from n_events {n.shape}")
    return float(np.sum(w**2 * area**2 / n) / (4.0 * np.pi))


def noise_uniform(f_sky, n_total) -> np.ndarray:
    """Shot-noise level 4 pi f_sky^2 / n_tot of a uniform exposure, review eq. (32)."""
    f = check.in_range("f_sky", f_sky, 0.0, 1.0)
    if np.any(f == 0):
        raise ValueError(f"f_sky={f_sky!r}: outside the allowed range (0, 1]")
    return _k.noise_uniform(f, check.positive("n_total", n_total))


def local_rotation(sidereal_angle_deg, latitude_deg) -> np.ndarray:
    """R(t) of review eq. (7): n_local = R n_equatorial, for sidereal angle omega t and latitude (degrees)."""
    a = check.finite("sidereal_angle_deg", sidereal_angle_deg)
    lat = check.in_range("latitude_deg", latitude_deg, -90.0, 90.0, unit=" deg")
    return _k.local_rotation(np.radians(a), np.radians(lat))
