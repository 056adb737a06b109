"""The Compton-Getting effect (review Sec. 3.2, eqs. (57)-(62)).

Vectors are in equatorial coordinates (x towards 0h, y towards 6h, z north); ``beta``
is the observer's velocity in units of c relative to the frame in which the cosmic
rays are isotropic; ``spectral_index`` is Gamma of n_CR ~ E^-Gamma.

.. math:: \\boldsymbol\\delta = \\boldsymbol\\delta^\\star + (2 + \\Gamma)\\boldsymbol\\beta
   \\qquad\\text{(review eq. (60); derivation ``compton_getting.dipole_shift``)}
"""
from __future__ import annotations

import numpy as np

from numerics import _validate as check
from numerics.kernels import compton_getting as _k

__all__ = ["C_KM_S", "dipole_shift", "solar_dipole", "solar_yearly_mean", "motion_dipole", "galactic_motions",
           "MOTIONS"]

C_KM_S = 299792.458  # speed of light, km/s

#: Motions of review Sec. 3.2: speed (km/s), Galactic (l, b) in degrees of the direction of motion.
#: The Sun's circular velocity points to l = 90 deg (the review prints l = 270 deg: see the errata).
MOTIONS = {
    "galactic_rotation": (220.0, 90.0, 0.0),
    "lsr_apex": (18.0, 47.9, 23.8),
    "ism_flow": (23.2, 5.25, 12.0),
}


def _index(spectral_index):
    return check.in_range("spectral_index", spectral_index, 0.0, 10.0)


def dipole_shift(beta, spectral_index) -> np.ndarray:
    """Compton-Getting dipole shift (2 + Gamma) beta for velocity vector(s) ``beta`` (..., 3), |beta| < 1.

    >>> dipole_shift([1e-4, 0, 0], 2.7)
    array([0.00047, 0.     , 0.     ])
    >>> dipole_shift([1.0, 0, 0], 2.7)
    Traceback (most recent call last):
    ValueError: beta=[1., 0., 0.]: |beta| = 1.0 must be < 1 (allowed range [0, 1))
    """
    b = check.velocities("beta", beta)
    g = _index(spectral_index)
    return _k.dipole_shift(b[..., 0], b[..., 1], b[..., 2], g)


def _solar_args(spectral_index, v_orbit_km_s, obliquity_deg):
    g = _index(spectral_index)
    v = check.in_range("v_orbit_km_s", v_orbit_km_s, 0.0, C_KM_S, closed=False)
    eps = check.in_range("obliquity_deg", obliquity_deg, 0.0, 90.0)
    return g, v / C_KM_S, np.radians(eps)


def solar_dipole(phase, spectral_index, v_orbit_km_s=29.8, obliquity_deg=23.4, frame="solar") -> np.ndarray:
    """Solar CG dipole at orbital phase ``phase`` = omega_orb t (rad), review eqs. (61) (sidereal) and (62) (solar).

    The phase counts from the epoch at which the mean Sun stands at right ascension 180 deg.
    Returns an array of shape broadcast(phase) + (3,).
    """
    ph = check.finite("phase", phase)
    frame = check.choice("frame", frame, ("solar", "sidereal"))
    g, beta, eps = _solar_args(spectral_index, v_orbit_km_s, obliquity_deg)
    fn = _k.solar_dipole_solar if frame == "solar" else _k.solar_dipole_sidereal
    return fn(ph, g, beta, eps)


def solar_yearly_mean(spectral_index, v_orbit_km_s=29.8, obliquity_deg=23.4, frame="solar") -> np.ndarray:
    """Yearly mean of the solar CG dipole: (0, cos^2(eps/2), 0) (2+Gamma) v/c in the solar frame,
    (0, 0, 0) in the sidereal frame (review below eqs. (61) and (62)).

    >>> float(np.linalg.norm(solar_yearly_mean(2.7)))  # review: 4.5e-4
    0.00044797...
    >>> solar_yearly_mean(2.7, frame="lunar")
    Traceback (most recent call last):
    ValueError: frame='lunar': must be one of 'solar', 'sidereal'
    """
    frame = check.choice("frame", frame, ("solar", "sidereal"))
    g, beta, eps = _solar_args(spectral_index, v_orbit_km_s, obliquity_deg)
    fn = _k.solar_yearly_mean_solar if frame == "solar" else _k.solar_yearly_mean_sidereal
    return fn(g, beta, eps)


def motion_dipole(speed_km_s, l_deg, b_deg, spectral_index=2.7) -> dict:
    """CG dipole of a motion towards Galactic (l, b), in equatorial coordinates.

    The direction is converted with ``healpy.Rotator(coord=["G", "C"])``.  Returns a dict with
    ``vector`` (equatorial 3-vector), ``amplitude`` = (2 + Gamma) v/c, ``projected_amplitude``
    (onto the equatorial plane, what ground-based experiments see), ``ra_deg`` and ``dec_deg``.
    """
    import healpy as hp

    v = check.in_range("speed_km_s", speed_km_s, 0.0, C_KM_S, closed=False, single=True)
    l = check.finite("l_deg", l_deg, single=True)
    b = check.in_range("b_deg", b_deg, -90.0, 90.0, single=True)
    g = check.in_range("spectral_index", spectral_index, 0.0, 10.0, single=True)
    rot = hp.Rotator(coord=["G", "C"])
    n_gal = hp.ang2vec(float(l), float(b), lonlat=True)
    n_eq = np.asarray(rot(n_gal))
    vec = dipole_shift(n_eq * float(v) / C_KM_S, g)
    ra, dec = hp.vec2ang(n_eq, lonlat=True)
    return {
        "vector": vec,
        "amplitude": float(np.linalg.norm(vec)),
        "projected_amplitude": float(np.hypot(vec[0], vec[1])),
        "ra_deg": float(ra[0] % 360.0),
        "dec_deg": float(dec[0]),
    }


def galactic_motions(spectral_index=2.7) -> dict[str, dict]:
    """The CG dipoles of review Sec. 3.2: Galactic rotation, LSR apex, ISM flow."""
    return {name: motion_dipole(v, l, b, spectral_index) for name, (v, l, b) in MOTIONS.items()}
