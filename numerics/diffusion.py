"""Standard diffusion: the BGK tensor and the Fick's-law dipole (review Sec. 3.1; 002 Sec. 2).

Units: c = 1.  Rates ``nu`` and gyrofrequencies ``omega`` are in inverse units of a
time unit the caller chooses; tensors come out in (length unit)^2 / (time unit) with
length = c x time.  ``omega = q B0 / p`` is signed: positive when the particle gyrates
about ``+bhat`` like a positive charge in a field along ``bhat``.

.. math::

    K_{ij} = \\frac{\\hat B_i \\hat B_j}{3\\nu_\\parallel}
           + \\frac{\\delta_{ij} - \\hat B_i \\hat B_j}{3\\nu_\\perp}
           + \\frac{\\epsilon_{ijk}\\hat B_k}{3\\nu_A},
    \\quad \\nu_\\parallel = \\nu,\\ \\nu_\\perp = \\nu + \\Omega^2/\\nu,\\ \\nu_A = \\Omega + \\nu^2/\\Omega

(review eq. (53) = 002 eq. (2); derivation ``diffusion.bgk_tensor``.)
"""
from __future__ import annotations

import numpy as np

from numerics import _validate as check
from numerics.kernels import diffusion as _k

__all__ = ["bgk_tensor", "nu_perp", "nu_axial", "fick_dipole", "standard_dipole_power"]


def bgk_tensor(nu, omega, bhat, speed=1.0) -> np.ndarray:
    """BGK diffusion tensor for a regular field along ``bhat``.

    Parameters
    ----------
    nu : float or array
        BGK relaxation rate, > 0 (1/time unit).
    omega : float or array
        Signed gyrofrequency q B0 / p in the regular field (1/time unit).
    bhat : array (..., 3)
        Unit vector(s) along the regular field.
    speed : float, optional
        Particle speed in units of c, in (0, 1]; 1 for the relativistic particles of the papers.

    Returns
    -------
    array (..., 3, 3)
        K_ij in length^2/time; the leading axes broadcast ``nu``, ``omega`` and ``bhat[..., 0]``.

    Examples
    --------
    >>> bgk_tensor(1.0, 0.0, [0, 0, 1]).round(6) + 0.0    # isotropic: K = 1/(3 nu)
    array([[0.333333, 0.      , 0.      ],
           [0.      , 0.333333, 0.      ],
           [0.      , 0.      , 0.333333]])
    >>> bgk_tensor(1.0, 2.0, [0, 0, 1])[0, 1]              # +1/(3 nu_A), nu_A = Omega + nu^2/Omega
    np.float64(0.13333333333333333)
    >>> bgk_tensor(0.0, 1.0, [0, 0, 1])
    Traceback (most recent call last):
    ValueError: nu=0.0: must be > 0 (allowed range (0, inf))
    """
    nu = check.positive("nu", nu)
    omega = check.finite("omega", omega)
    b = check.unit_vectors("bhat", bhat)
    speed = check.in_range("speed", speed, 0.0, 1.0, closed=True)
    if np.any(speed == 0):
        raise ValueError(f"speed={speed!r}: outside the allowed range (0, 1]")
    # K is homogeneous of degree -1 in (nu, Omega): evaluate at rates scaled to O(1), so that nu^2 + Omega^2 can
    # neither overflow (nu = 1e200 gave K = 0) nor underflow (subnormal nu gave NaN), then divide by the scale
    scale = np.maximum(nu, np.abs(omega))
    with np.errstate(over="ignore", divide="ignore"):
        K = _k.bgk_tensor(nu / scale, omega / scale, b[..., 0], b[..., 1], b[..., 2], speed) / scale[..., None, None]
    if not np.all(np.isfinite(K)):
        raise ValueError(f"nu={check.show(nu)}, omega={check.show(omega)}: K ~ 1/(3 max(nu, |omega|)) overflows "
                         "float64 (allowed: max(nu, |omega|) >= 1/(3 x 1.8e308))")
    return K


def nu_perp(nu, omega) -> np.ndarray:
    """Perpendicular BGK rate nu + omega^2/nu (review eq. (53))."""
    return _k.nu_perp(check.positive("nu", nu), check.finite("omega", omega))


def nu_axial(nu, omega) -> np.ndarray:
    """Axial BGK rate omega + nu^2/omega (review eq. (53)); ``|omega|`` must be at least 1e-100 (it is infinite at
    omega = 0)."""
    omega = check.finite("omega", omega)
    if np.any(np.abs(omega) < check.TINY):
        raise ValueError(f"omega={check.show(omega)}: |omega| must be at least {check.TINY:g} (nu_A is infinite at "
                         f"omega = 0; allowed range [{check.TINY:g}, {check.HUGE:g}] in magnitude)")
    return _k.nu_axial(check.positive("nu", nu), omega)


def fick_dipole(K, grad_ln_n) -> np.ndarray:
    """Diffusive dipole delta = 3 K grad ln n (review eq. (56)), grad ln n in 1/length."""
    K = check.finite("K", K)
    if K.shape[-2:] != (3, 3):
        raise ValueError(f"K: expected shape (..., 3, 3), got {K.shape}")
    g = check.vectors("grad_ln_n", grad_ln_n)
    return 3.0 * np.einsum("...ij,...j->...i", K, g)


def standard_dipole_power(K, grad_ln_n) -> np.ndarray:
    """Standard-diffusion dipole power C_1 = 4 pi |K grad n / n|^2 (002 eq. (3))."""
    d = fick_dipole(K, grad_ln_n) / 3.0
    return 4.0 * np.pi * np.einsum("...i,...i->...", d, d)
