"""Sky maps of backtracked cosmic rays and their angular power spectra (002 eqs. (1)-(9) and Sec. 3;
review Sec. 4.4, eqs. (63)-(71)).

Units: c = 1. Positions, times and diffusion tensors in one reference length ``L`` that the caller names
(``L_c`` or ``r_g``): positions and times in ``L``, the diffusion tensor ``K`` in ``L`` (= ``L^2/T`` for
c = 1), the gradient ``g = grad n / n`` in ``1/L``; momentum directions, dipole vectors, relative
intensities and power spectra are dimensionless.

Sky maps.  Pixel ``i`` of a map is the HEALPix (RING order) pixel centre ``n0_i`` = the CR momentum
direction ``p-hat(0)`` at the observer (the origin); the arrival direction is ``-n0_i``.  The spectra do
not depend on that choice (``n -> -n`` multiplies ``a_lm`` by ``(-1)^l``).  A backtracker returns
``r_i(-T)`` and ``p_i(-T)`` (the CR's position and unit momentum direction a time ``T`` earlier); by
Liouville's theorem (review eq. (63)) the relative intensity ``dI = (4 pi f - n)/n`` follows from an
assumed distribution at ``-T``:

* gradient ansatz, 002 eq. (4) / review eq. (66) with ``delta f(-T)`` dropped:
  ``dI_i = r_i(-T).g - 3 p_i(-T).(K g)``;
* homogeneous dipole (review Sec. 4.4, the thought experiment): ``dI_i = p_i(-T).Phi``.

Both are linear in the 6-vector ``X_i = (r_x, r_y, r_z, p_x, p_y, p_z)`` of each pixel,
``dI_i = X_i.c``, with ``c = (g, -3 K g)`` (since ``p.(K g) = p_a K_ab g_b``) or ``c = (0, 0, 0, Phi)``
(:func:`gradient_coefficients`, :func:`dipole_coefficients`).  Hence one realization at one time is
summarised by the 6x6 matrix of cross spectra ``S_l[a, b]`` of the six maps ``X_a``, and
``C_l = c^T S_l c`` for ANY gradient, diffusion tensor or dipole afterwards (:func:`summarize`,
:func:`ensemble_spectrum`).

Conventions.  ``C_l = (2l+1)^-1 sum_m |a_lm|^2`` of ``dI`` (no monopole removed, nothing normalised),
``a_lm`` from ``healpy.map2alm(pol=False)`` with healpy's default ``iter = 3`` Jacobi iterations
(:data:`ANAFAST_ITER`) and without ring or pixel weights (those need downloaded data files);
``lmax <= 2 nside``, default ``2 nside``.  Measured accuracy of this analysis: a pure dipole map at
nside 16 gives ``C_1`` to 1.5e-6 relative and leaks < 1e-12 ``C_1`` into ``l >= 2`` (the error falls
like ``nside^-2``).

Moments.  Per realization and time, :func:`summarize` also stores the pixel averages (1/Npix) sum_i of
``Y_a Y_b`` and of ``Y_a`` for the 9-vector ``Y = (r(-T), p(-T), n0)`` (blocks 0:3, 3:6, 6:9).  By
Parseval, ``sum_{all l} (2l+1) C_l = int dI^2 dOmega = 4 pi c^T <X X^T>_pix c`` (pixel sum as the
quadrature), which counts power above ``lmax``; the same moments give the running diffusion tensors
(:func:`running_diffusion`) and thus 002 eqs. (6)-(9).

References
----------
* 002: M. Ahlers & P. Mertsch, ApJL 815 (2015) L2, eqs. (1)-(9), Sec. 3.
* review: M. Ahlers & P. Mertsch, Prog. Part. Nucl. Phys. 94 (2017) 184, Sec. 4.4, eqs. (63)-(71).
* K. M. Gorski et al., ApJ 622 (2005) 759 (HEALPix); healpy (A. Zonca et al., JOSS 4 (2019) 1298).
"""
from __future__ import annotations

from dataclasses import dataclass

import healpy as hp
import numpy as np

from numerics import _validate as check
from numerics.stats import mean_sem

__all__ = ["directions", "gradient_coefficients", "dipole_coefficients", "intensity", "intensity_from_maps",
           "gradient_map", "dipole_map", "power_spectra", "cross_spectra", "summarize", "ensemble_spectrum",
           "EnsembleSpectrum", "running_diffusion", "RunningDiffusion", "ANAFAST_ITER", "NSIDE_MAX"]

#: Jacobi iterations of ``healpy.map2alm`` (healpy's default); used by every spectrum in this module.
ANAFAST_ITER = 3
#: Largest HEALPix resolution accepted.
NSIDE_MAX = 1024

_R, _P, _N0 = slice(0, 3), slice(3, 6), slice(6, 9)


# --------------------------------------------------------------------------------------------- validation
def _nside(nside) -> int:
    try:
        value = int(nside)
        ok = float(nside) == value
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or value < 1 or value > NSIDE_MAX or value & (value - 1):
        raise ValueError(f"nside={nside!r}: must be a power of two in [1, {NSIDE_MAX}]")
    return value


def _nside_of_npix(name: str, npix: int) -> int:
    nside = int(round(np.sqrt(npix / 12.0)))
    if npix < 12 or 12 * nside * nside != npix or nside & (nside - 1) or nside > NSIDE_MAX:
        raise ValueError(f"{name}: last axis has {npix} pixels; a HEALPix map has 12 nside^2 pixels with nside "
                         f"a power of two in [1, {NSIDE_MAX}]")
    return nside


def _lmax(lmax, nside: int) -> int:
    if lmax is None:
        return 2 * nside
    try:
        value = int(lmax)
        ok = float(lmax) == value
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or value < 0 or value > 2 * nside:
        raise ValueError(f"lmax={lmax!r}: must be an integer in [0, {2 * nside}] (2 nside for nside = {nside})")
    return value


def _shape(name: str, arr: np.ndarray, expected: tuple, labels: str) -> None:
    """Raise unless ``arr.shape`` matches ``expected`` (None = any length)."""
    ok = arr.ndim == len(expected) and all(e is None or s == e for s, e in zip(arr.shape, expected))
    if not ok:
        want = ", ".join("?" if e is None else str(e) for e in expected)
        raise ValueError(f"{name}=array of shape {arr.shape}: expected shape ({labels}) = ({want})")


def _coefficients(coefficients) -> np.ndarray:
    c = check.finite("coefficients", coefficients)
    _shape("coefficients", c, (6,), "6,")
    return c


def _tensor(K) -> np.ndarray:
    if K is None:
        return np.zeros((3, 3))
    K = check.finite("K", K)
    _shape("K", K, (3, 3), "3, 3")
    return K


# ----------------------------------------------------------------------------------------------- geometry
def directions(nside) -> np.ndarray:
    """Unit vectors of the HEALPix pixel centres in RING order, shape ``(12 nside^2, 3)`` (``healpy.pix2vec``).

    Parameters
    ----------
    nside : int
        HEALPix resolution, a power of two in [1, 1024].

    Examples
    --------
    >>> directions(1).shape
    (12, 3)
    >>> directions(12)
    Traceback (most recent call last):
    ...
    ValueError: nside=12: must be a power of two in [1, 1024]
    """
    nside = _nside(nside)
    return np.column_stack(hp.pix2vec(nside, np.arange(12 * nside * nside)))


_directions = directions  # summarize() has an argument of that name


def gradient_coefficients(gradient, K=None) -> np.ndarray:
    """``c = (g, -3 K g)`` of the gradient ansatz ``dI = r(-T).g - 3 p(-T).(K g)`` (002 eq. (4), review eq. (66)).

    Parameters
    ----------
    gradient : array_like, shape (3,)
        ``g = grad n / n`` in ``1/L``.
    K : array_like, shape (3, 3), optional
        Diffusion tensor in ``L`` (c = 1); the index order is ``(K g)_a = K_ab g_b``.  Default zero.

    Examples
    --------
    >>> gradient_coefficients([0.0, 0.0, 1.0], np.diag([1.0, 2.0, 3.0])).tolist()
    [0.0, 0.0, 1.0, -0.0, -0.0, -9.0]
    """
    g = check.finite("gradient", gradient)
    _shape("gradient", g, (3,), "3,")
    return np.concatenate([g, -3.0 * (_tensor(K) @ g)])


def dipole_coefficients(dipole) -> np.ndarray:
    """``c = (0, 0, 0, Phi)`` of the homogeneous dipole ``dI = p(-T).Phi`` (review Sec. 4.4); ``Phi`` dimensionless."""
    phi = check.finite("dipole", dipole)
    _shape("dipole", phi, (3,), "3,")
    return np.concatenate([np.zeros(3), phi])


def _momenta(momenta) -> np.ndarray:
    return check.unit_vectors("momenta", momenta, tol=1e-6)


def intensity(positions, momenta, coefficients) -> np.ndarray:
    """Relative intensity ``dI_i = X_i.c = r_i.c[:3] + p_i.c[3:]``, shape ``(..., Npix)``.

    Parameters
    ----------
    positions : array_like, shape (..., Npix, 3)
        ``r_i(-T)`` in ``L``.
    momenta : array_like, same shape
        Unit momentum directions ``p_i(-T)`` (|p| = 1 within 1e-6).
    coefficients : array_like, shape (6,)
        From :func:`gradient_coefficients` or :func:`dipole_coefficients`.
    """
    r = check.vectors("positions", positions)
    p = _momenta(momenta)
    if r.shape != p.shape:
        raise ValueError(f"momenta=array of shape {p.shape}: must have the shape of positions {r.shape}")
    c = _coefficients(coefficients)
    return r @ c[:3] + p @ c[3:]


def intensity_from_maps(maps, coefficients) -> np.ndarray:
    """``dI = sum_a c_a X_a`` from stored X maps (shape ``(..., 6, Npix)``, as in :func:`summarize`), shape ``(..., Npix)``."""
    x = check.finite("maps", maps)
    if x.ndim < 2 or x.shape[-2] != 6:
        raise ValueError(f"maps=array of shape {x.shape}: expected shape (..., 6, Npix)")
    return np.einsum("...an,a->...n", x, _coefficients(coefficients))


def gradient_map(positions, momenta, gradient, K=None) -> np.ndarray:
    """``dI = r(-T).g - 3 p(-T).(K g)`` (002 eq. (4)), shape ``(..., Npix)``; units as in :func:`gradient_coefficients`."""
    return intensity(positions, momenta, gradient_coefficients(gradient, K))


def dipole_map(momenta, dipole) -> np.ndarray:
    """``dI = p(-T).Phi`` (review Sec. 4.4), shape ``(..., Npix)``; ``momenta`` unit vectors ``(..., Npix, 3)``."""
    p = _momenta(momenta)
    phi = check.finite("dipole", dipole)
    _shape("dipole", phi, (3,), "3,")
    return p @ phi


# ----------------------------------------------------------------------------------------------- spectra
def _alm(m: np.ndarray, lmax: int) -> np.ndarray:
    return hp.map2alm(m, lmax=lmax, iter=ANAFAST_ITER, pol=False, use_weights=False)


def power_spectra(maps, lmax=None) -> np.ndarray:
    """``C_l = (2l+1)^-1 sum_m |a_lm|^2`` of one map or a stack of maps (HEALPix RING, ``healpy.anafast``).

    Parameters
    ----------
    maps : array_like, shape (..., Npix)
        ``Npix = 12 nside^2``; every map along the leading axes is analysed on its own (pol=False).
    lmax : int, optional
        In [0, 2 nside]; default ``2 nside``.

    Returns
    -------
    ndarray, shape (..., lmax + 1)

    >>> n = directions(8)
    >>> cl = power_spectra(n @ [0.0, 0.0, 3.0])      # C_1 = 4 pi |Phi|^2 / 9
    >>> round(float(cl[1] / (4 * np.pi)), 4), bool(cl[2:].max() < 1e-9)
    (1.0, True)
    """
    m = check.finite("maps", maps)
    if m.ndim == 0:
        raise ValueError(f"maps={maps!r}: expected an array of shape (..., Npix)")
    nside = _nside_of_npix("maps", m.shape[-1])
    lmax = _lmax(lmax, nside)
    flat = m.reshape(-1, m.shape[-1])
    out = np.empty((flat.shape[0], lmax + 1))
    for i, row in enumerate(flat):
        out[i] = hp.anafast(row, lmax=lmax, iter=ANAFAST_ITER, pol=False)
    return out.reshape(m.shape[:-1] + (lmax + 1,))


def cross_spectra(maps, lmax=None) -> np.ndarray:
    """Cross spectra ``S_l[a, b] = (2l+1)^-1 sum_m a_lm^(a) a_lm^(b)*`` of ``n`` maps, shape ``(n, n, lmax + 1)``.

    ``map2alm`` runs once per map, ``healpy.alm2cl`` once per pair ``a <= b``; the result is exactly
    symmetric and ``c^T S_l c`` equals ``power_spectra(c . maps)`` to rounding (the analysis is linear).

    Parameters
    ----------
    maps : array_like, shape (n, Npix)
    lmax : int, optional
        In [0, 2 nside]; default ``2 nside``.
    """
    m = check.finite("maps", maps)
    if m.ndim != 2:
        raise ValueError(f"maps=array of shape {m.shape}: expected shape (n, Npix)")
    nside = _nside_of_npix("maps", m.shape[-1])
    lmax = _lmax(lmax, nside)
    alms = [_alm(row, lmax) for row in m]
    out = np.empty((len(alms), len(alms), lmax + 1))
    for a in range(len(alms)):
        for b in range(a, len(alms)):
            out[a, b] = out[b, a] = hp.alm2cl(alms[a], alms[b], lmax=lmax)
    return out


def summarize(positions, momenta, directions=None, lmax=None, *, keep_maps: bool = True) -> dict:
    """Everything the ensemble statistics need from ONE realization at K recorded times.

    Parameters
    ----------
    positions : array_like, shape (K, Npix, 3)
        ``r_i(-T_k)`` in ``L``, pixel ``i`` in HEALPix RING order.
    momenta : array_like, shape (K, Npix, 3)
        Unit momentum directions ``p_i(-T_k)``.
    directions : array_like, shape (Npix, 3), optional
        The starting directions ``n0_i = p_i(0)`` (default :func:`directions` of the map's nside).
    lmax : int, optional
        In [0, 2 nside]; default ``2 nside``.
    keep_maps : bool
        Store the X maps (the largest item; :func:`ensemble_spectrum` needs them only for the
        standard-diffusion spectrum).

    Returns
    -------
    dict
        ``cross_cl`` (K, 6, 6, lmax+1) float64: :func:`cross_spectra` of the six maps ``X = (r, p)``;
        ``moments`` (K, 9, 9) float64: ``(1/Npix) sum_i Y_a Y_b`` with ``Y = (r(-T), p(-T), n0)``;
        ``means`` (K, 9) float64: ``(1/Npix) sum_i Y_a``;
        ``maps`` (K, 6, Npix) float32: the X maps (only if ``keep_maps``).
    """
    r = check.vectors("positions", positions)
    _shape("positions", r, (None, None, 3), "K, Npix, 3")
    p = _momenta(momenta)
    if p.shape != r.shape:
        raise ValueError(f"momenta=array of shape {p.shape}: must have the shape of positions {r.shape} (K, Npix, 3)")
    nside = _nside_of_npix("positions", r.shape[1])
    lmax = _lmax(lmax, nside)
    if directions is None:
        n0 = _directions(nside)
    else:
        n0 = check.unit_vectors("directions", directions, tol=1e-6)
        _shape("directions", n0, (r.shape[1], 3), "Npix, 3")
    x = np.concatenate([r, p], axis=-1).transpose(0, 2, 1)          # (K, 6, Npix)
    y = np.concatenate([r, p, np.broadcast_to(n0, r.shape)], axis=-1)  # (K, Npix, 9)
    npix = r.shape[1]
    out = {
        "cross_cl": np.stack([cross_spectra(xk, lmax) for xk in x]) if len(x) else np.empty((0, 6, 6, lmax + 1)),
        "moments": np.einsum("kia,kib->kab", y, y) / npix,
        "means": y.mean(axis=1),
    }
    if keep_maps:
        out["maps"] = x.astype(np.float32)
    return out


# ----------------------------------------------------------------------------------------- ensemble level
@dataclass(frozen=True, eq=False)
class EnsembleSpectrum:
    """Ensemble statistics of ``C_l`` for one coefficient vector (see :func:`ensemble_spectrum`).

    Shapes use R realizations, K recorded times and L = lmax.

    Attributes
    ----------
    ell : (L+1,) multipoles.
    cl : (R, K, L+1) ``C_l`` of each realization.
    mean, sem : (K, L+1) ``<C_l>`` and its standard error over realizations (ddof 1; nan for R = 1).
    total_power : (R, K) ``4 pi c^T <X X^T>_pix c = sum_{all l} (2l+1) C_l`` (Parseval; includes l > L).
    noise : (K,) shot-noise level ``N = (4 pi / Npix) <dI^2>`` (002 eq. (9), review eq. (71)).
    noise_floor : (K,) the white-noise level that remains once the resolved power is taken out,
        ``(<total_power> - sum_{l<=L} (2l+1) <C_l>) / (Npix - (L+1)^2)`` (see Notes).
    hat, hat_err : (K, L+1) ``C-hat = <C_l> - N`` (002 Sec. 3) and its error = ``sem``.
    noise_var : (K, L+1) the paper's ``var(C-hat) = 2 N^2 / (2l+1)`` divided by R.
    standard : (K, L+1) or None, the spectrum of the ensemble-mean map (``<r_1><r_2>``, review eq. (68)).
    standard_unbiased : (K, L+1) or None, ``(R standard - mean) / (R - 1)`` (nan for R = 1).
    n_realizations, npix : int.
    """

    ell: np.ndarray
    cl: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    total_power: np.ndarray
    noise: np.ndarray
    noise_floor: np.ndarray
    hat: np.ndarray
    hat_err: np.ndarray
    noise_var: np.ndarray
    standard: np.ndarray | None
    standard_unbiased: np.ndarray | None
    n_realizations: int
    npix: int


def ensemble_spectrum(cross_cl, moments, maps, coefficients, *, nside=None) -> EnsembleSpectrum:
    """``<C_l>``, its noise level and estimator, and the standard-diffusion spectrum, for ``dI = X.c``.

    Parameters
    ----------
    cross_cl : array_like, shape (R, K, 6, 6, L+1)
        Stacked ``summarize(...)["cross_cl"]`` of R realizations.
    moments : array_like, shape (R, K, 9, 9)
        Stacked ``summarize(...)["moments"]``.
    maps : array_like, shape (R, K, 6, Npix), or None
        Stacked ``summarize(...)["maps"]``; needed only for ``standard``.
    coefficients : array_like, shape (6,)
        From :func:`gradient_coefficients` or :func:`dipole_coefficients`.
    nside : int, optional
        Required when ``maps`` is None (for ``Npix`` in the noise level); must agree with ``maps`` otherwise.

    Returns
    -------
    EnsembleSpectrum

    Notes
    -----
    ``C_l = c^T S_l c`` per realization.  The noise level generalises 002 eq. (9) to the whole map,
    ``N = (4 pi / Npix) <dI^2>`` (pixel and ensemble mean square, i.e. ``<total_power> / Npix``): white noise
    of pixel variance ``s^2`` has ``<C_l> = 4 pi s^2 / Npix`` at every l, and for the gradient ansatz at large T,
    ``<dI^2> -> <(r.g)^2> = 2 T K^s_ij g_i g_j``, which is eq. (9).  ``hat = <C_l> - N`` (002 Sec. 3).

    Two errors are reported.  ``hat_err = sem`` is the sample standard error of ``<C_l>`` over the R
    realizations; it is the honest one, since it contains the noise fluctuations as well as the cosmic
    (realization-to-realization) variance.  ``noise_var = 2 N^2 / ((2l+1) R)`` is the paper's formula
    (002 Sec. 3, review after eq. (71): noise only, no cosmic variance) for the mean of R maps; for pure
    white noise ``sem^2`` and ``noise_var`` agree.

    Eq. (9) counts the whole pixel variance as noise, including the resolved dipole and low multipoles, so
    where those carry much of the power it lies above the flat high-l floor of ``<C_l>``.  ``noise_floor``
    separates them: for a map made of a signal band-limited to l <= L plus white noise of level N per mode,
    Parseval gives ``total_power = sum_{l<=L} (2l+1) S_l + Npix N`` and ``sum_{l<=L} (2l+1) <C_l> =
    sum_{l<=L} (2l+1) S_l + (L+1)^2 N``; the difference is ``(Npix - (L+1)^2) N``.  Power of the true sky
    above L counts as noise in it, as it does in any map of Npix pixels.

    ``standard`` follows 002 Sec. 3 / review eq. (68): ``<r_1 r_2> -> <r_1><r_2>``, i.e. the spectrum of the
    ensemble-mean map ``mean_R(X).c``.  With finitely many realizations its expectation exceeds the true
    standard spectrum by ``(<C_l> - C_l^std) / R``; ``standard_unbiased = (R standard - <C_l>)/(R - 1)``
    removes that bias (it can be negative where the standard spectrum is small).
    """
    S = check.finite("cross_cl", cross_cl)
    if S.ndim != 5 or S.shape[2:4] != (6, 6) or S.shape[-1] < 1:
        raise ValueError(f"cross_cl=array of shape {S.shape}: expected shape (R, K, 6, 6, L+1)")
    R, K, L1 = S.shape[0], S.shape[1], S.shape[-1]
    if R < 1:
        raise ValueError("cross_cl: needs at least one realization (R >= 1), got R = 0")
    M = check.finite("moments", moments)
    _shape("moments", M, (R, K, 9, 9), "R, K, 9, 9")
    c = _coefficients(coefficients)
    if maps is not None:
        X = np.asarray(maps)
        _shape("maps", X, (R, K, 6, None), "R, K, 6, Npix")
        map_nside = _nside_of_npix("maps", X.shape[-1])
        if nside is not None and _nside(nside) != map_nside:
            raise ValueError(f"nside={nside!r}: disagrees with the maps (nside = {map_nside})")
        nside = map_nside
    elif nside is None:
        raise ValueError("nside=None: required when maps is None (a power of two in [1, 1024])")
    else:
        nside = _nside(nside)
    npix = 12 * nside * nside
    lmax = L1 - 1
    if lmax > 2 * nside:
        raise ValueError(f"cross_cl: lmax = {lmax} exceeds 2 nside = {2 * nside} (allowed range [0, {2 * nside}])")

    ell = np.arange(L1)
    cl = np.einsum("a,rkabl,b->rkl", c, S, c)
    mean, sem = mean_sem(cl)
    total = 4.0 * np.pi * np.einsum("a,rkab,b->rk", c, M[:, :, :6, :6], c)
    noise = total.mean(axis=0) / npix
    resolved = np.einsum("l,kl->k", 2 * ell + 1.0, mean)
    noise_floor = (total.mean(axis=0) - resolved) / (npix - L1 * L1)
    hat = mean - noise[:, None]
    noise_var = 2.0 * noise[:, None] ** 2 / ((2 * ell + 1) * R)
    standard = unbiased = None
    if maps is not None:
        mean_map = X.mean(axis=0, dtype=np.float64)                   # (K, 6, Npix)
        mean_map = check.finite("maps", mean_map)                      # any inf/nan in maps shows up here
        standard = power_spectra(np.einsum("kan,a->kn", mean_map, c), lmax) if K else np.empty((0, L1))
        unbiased = (R * standard - mean) / (R - 1) if R > 1 else np.full_like(standard, np.nan)
    return EnsembleSpectrum(ell=ell, cl=cl, mean=mean, sem=sem, total_power=total, noise=noise,
                            noise_floor=noise_floor, hat=hat,
                            hat_err=sem, noise_var=noise_var, standard=standard, standard_unbiased=unbiased,
                            n_realizations=R, npix=npix)


@dataclass(frozen=True, eq=False)
class RunningDiffusion:
    """Running diffusion tensors at the recorded times (see :func:`running_diffusion`); each (K, 3, 3) in ``L``.

    ``symmetric`` = <r_i r_j>/(2T); ``tgk`` = the running Taylor-Green-Kubo tensor ``int_0^T <v_i(s) v_j(0)> ds``
    = -<n0_i r_j(-T)>; ``antisymmetric`` = (tgk - tgk^T)/2; ``relative`` = 002 eq. (8) at finite T.  The
    ``*_sem`` fields are standard errors over realizations (ddof 1; nan for one realization).
    """

    times: np.ndarray
    symmetric: np.ndarray
    symmetric_sem: np.ndarray
    tgk: np.ndarray
    tgk_sem: np.ndarray
    antisymmetric: np.ndarray
    antisymmetric_sem: np.ndarray
    relative: np.ndarray
    relative_sem: np.ndarray
    n_realizations: int


def running_diffusion(moments, times, means) -> RunningDiffusion:
    """Running diffusion tensors from the pixel moments of R realizations at K backtracking times.

    Parameters
    ----------
    moments : array_like, shape (R, K, 9, 9)
        Stacked ``summarize(...)["moments"]`` (blocks ``r(-T)``, ``p(-T)``, ``n0``).
    times : array_like, shape (K,)
        Backtracking times ``T_k > 0`` in ``L`` (c = 1).
    means : array_like, shape (R, K, 9)
        Stacked ``summarize(...)["means"]``.

    Returns
    -------
    RunningDiffusion
        ``symmetric``, ``tgk``, ``antisymmetric``, ``relative`` (K, 3, 3) and their ``*_sem``.

    Notes
    -----
    ``symmetric = <r_i r_j>/(2T)`` (pixel and ensemble average) tends to ``K^s`` of 002 eq. (6).

    ``tgk``: with c = 1 the CR's velocity is its momentum direction, ``v(0) = n0`` and
    ``r(-T) = -int_{-T}^0 v(t) dt``, so

    .. math::

        -\\langle n_{0i}\\, r_j(-T)\\rangle = \\int_{-T}^0 \\langle v_i(0) v_j(t)\\rangle dt
        = \\int_0^T \\langle v_i(s) v_j(0)\\rangle ds = K_{ij}(T).

    The second step is stationarity: in a static, statistically homogeneous field ensemble the measure
    "uniform in position x isotropic in direction" is invariant under the flow (Liouville, |p| conserved),
    so ``<v_i(0) v_j(-s)> = <v_i(s) v_j(0)>`` once averaged over the isotropic starting directions (the
    equal-area HEALPix pixels) and over realizations (which, by homogeneity, replace an average over the
    observer's position).  ``K_ij(T)`` tends to the full diffusion tensor (symmetric and antisymmetric
    parts) of 002 eq. (2); for ballistic motion ``r(-T) = -n0 T`` it is ``T delta_ij / 3``.  Sign check:
    for a positive charge gyrating in ``B_0 z-hat`` without scattering, ``tgk_xy = (1 - cos Omega T)/(3 Omega)``,
    whose time average ``1/(3 Omega)`` is eq. (2)'s ``eps_xyz / (3 nu_A)`` with ``nu_A = Omega``.

    ``relative``: ``(1/Npix^2) sum_ab (r_a - r_b)_i (r_a - r_b)_j = 2 <r_i r_j>_pix - 2 rbar_i rbar_j`` with
    ``rbar`` the realization's pixel-mean position, so 002 eq. (8) (which divides by 4T) at finite T is
    ``(<r_i r_j>_pix - rbar_i rbar_j)/(2T)``, averaged over realizations.  Then 002 eq. (7) reads
    ``(1/4 pi) <C_0> = <(rbar.g)^2> = 2T (symmetric - relative)_ij g_i g_j`` at every T, up to
    the quadrature of ``map2alm`` (pixel sums with 3 iterations: power above lmax leaks into a_00 at the
    1e-4 level at nside 8, percent level at nside 4).
    """
    M = check.finite("moments", moments)
    if M.ndim != 4 or M.shape[2:] != (9, 9) or M.shape[0] < 1:
        raise ValueError(f"moments=array of shape {M.shape}: expected shape (R, K, 9, 9) with R >= 1")
    R, K = M.shape[:2]
    t = check.positive("times", times)
    _shape("times", t, (K,), "K,")
    mu = check.finite("means", means)
    _shape("means", mu, (R, K, 9), "R, K, 9")
    two_t = 2.0 * t[None, :, None, None]
    rr = M[:, :, _R, _R]
    sym = rr / two_t
    tgk = -M[:, :, _N0, _R]  # [i, j] = -<n0_i r_j(-T)>
    anti = 0.5 * (tgk - np.swapaxes(tgk, -1, -2))
    rbar = mu[:, :, _R]
    rel = (rr - rbar[..., :, None] * rbar[..., None, :]) / two_t
    (sym, sym_e), (tgk, tgk_e), (anti, anti_e), (rel, rel_e) = map(mean_sem, (sym, tgk, anti, rel))
    return RunningDiffusion(times=t, symmetric=sym, symmetric_sem=sym_e, tgk=tgk, tgk_sem=tgk_e, antisymmetric=anti,
                            antisymmetric_sem=anti_e, relative=rel, relative_sem=rel_e, n_realizations=R)
