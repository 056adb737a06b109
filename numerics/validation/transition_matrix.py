"""The QLT transition matrix itself: M_{l l0}(dT) of 003 eq. (3.6) measured by backtracking (issue comparison 6).

Units: c = 1; wavenumbers in units of ``k_in`` (so ``k_in = 1``), lengths and times in ``1/k_in``, the
turbulent field as a gyrofrequency in ``k_in`` (``omega_rms``); M is dimensionless.

Definition.  003 eq. (3.6) is the power that lands at multipole l a time dT = t - t0 later when the sky at t0
had power only at l0, averaged over the turbulence: if ``<f_A f_B>(t0) = C_l0 (2 l0 + 1)/(4 pi) P_l0(pA.pB)``,
then ``<C_l>(t) = M_{l l0} C_l0``.  At second order in the turbulence (straight unperturbed trajectories, no
regular field) ``M = 1 + 2 M^(1a) + M^(1c,0) + M^(1c,2)`` (003 eqs. (3.11), (3.15), (3.21), (3.23)),
:func:`numerics.qlt.mixing_matrices` for band-limited white noise.

Measurement.  A spatially homogeneous sky ``f(p) = sum_m a_m Y_{l0 m}(p)`` (real orthonormal harmonics, a_m
independent with variance C_l0) is seen at the observer, by Liouville, as ``f(p(-dT; n))`` with ``p(-dT; n)``
the backtracked momentum of the cosmic ray that arrives with momentum n.  Averaging over the a_m exactly,

.. math:: \\langle C_\\ell\\rangle_a = C_{\\ell_0}\\sum_m C_\\ell[Y_{\\ell_0 m}\\circ \\mathbf p(-\\Delta T)],
          \\qquad M_{\\ell\\ell_0} = \\Big\\langle\\sum_m C_\\ell[Y_{\\ell_0 m}\\circ\\mathbf p(-\\Delta T)]
          \\Big\\rangle_{\\rm field},

one number per field realization and entry; the mean over R realizations is compared with QLT and the
standard error of the mean (ddof = 1) is the error.  ``C_l`` is ``(2l+1)^-1 sum_m a_lm^2`` of a least-squares
fit of the pixel map (HEALPix RING pixel centres) by the real harmonics up to ``l_fit`` (:class:`Analysis`):
exact for band-limited maps (the dT = 0 identity ``sum_m C_l(Y_{l0 m}) = delta_{l l0}`` holds to ~2e-14 for
l <= l_fit, measured in every run; off the diagonal the round-off floor is ~1e-30), and the power of the
backtracked maps above ``l_fit``, which would alias, is far below the errors (the same fields backtracked at 2 nside
and l_fit + 8 moves single realizations by < 0.3 sigma, ``measured['resolution_check_sigma']``).  Per realization
``sum_l (2l+1) M_{l l0} = 2 l0 + 1`` exactly (``sum_m Y_{l0 m}(p)^2`` is constant), so power is conserved
realization by realization, as QLT's columns are.

Perturbative regime.  The first-order term vanishes identically (a deflection is perpendicular to p), so
``M - 1 = c2 omega^2 + c4 omega^4 + ...`` realization by realization and ``sigma/(M - 1)`` does not depend on
omega_rms: a weak field costs no precision.  The fourth order is measured with the same fields scaled by
``s = CHECK_FACTOR`` as ``[(M(s omega) - 1)/s^2 - (M(omega) - 1)]/(s^2 - 1)`` and reported in units of the errors.
The expansion is not uniform in d = |l - l0|: for alpha << d the second-order entry needs one insertion of multipole
~d (~ 1/(2d + 1)!!) and the fourth order two of ~d/2, so their ratio grows roughly like
``(omega dT)^2 [(2d+1)!!/((d+1)!!)^2]^2`` (~ 2e3 (omega dT)^2 at d = 9).  Measured at omega_rms = 5e-4 k_in
(2000 fields): the fourth order is at most 7e-4 of the second (alpha = 3, far entries) and 0.12 sigma; with the same
fields at 8 x omega_rms (omega dT up to 0.04) QLT misses by up to 5.5 sigma.  Hence the weak field.

Time step.  dT is split into N_STEPS = 100 Boris steps at every alpha (dt = 0.01, 0.03, 0.1 / k_in).  The default
step of :mod:`numerics.backtracking.boris`, 0.1/k_max, resolves the wavelengths but not the far off-diagonal entries: those
come from high multipoles of the deflection, ~ (k tau)^l near tau = dT, which the midpoint rule underestimates by
~ l^2/(12 N^2) in power; with the default (10 steps at alpha = 1) M_{l l0} at |l - l0| = 9 is 7 % low (measured on
the same fields against 200 steps, converging like 1/N^2 at 10, 20, 40 steps; 10 sigma in 2000 fields), with 100
steps ~0.07 %.

Spectrum.  The plane waves sit at the geometric centres of n equal logarithmic cells of [k_out, k_in] with
|a_n|^2 proportional to k_n (:func:`white_noise_field`, :func:`mode_grid`; directions, polarisations and phases
from ``PlaneWaveField.white_noise``).  ``PlaneWaveField.white_noise`` itself puts modes at both band edges with a
full cell each; the extra half cell at k_in is an O(1/n) excess that the k_in-dominated far entries feel (QLT for
that grid differs from the continuous band by ~4 sigma of a 64-field ensemble with 256 modes).  The second-order
prediction for the simulated discrete spectrum (:func:`discrete_spectrum_matrix`) is reported next to the
continuous one.

Parameters: ``k_out/k_in = 1e-2``, alpha = k_in dT = 1, 3, 10, ``omega_rms = 5e-4 k_in``, l0 = 1..6, l = 0..10
(198 entries); column l0 = 0 is exactly delta_{l0} in both (a constant sky stays constant) and is checked
separately.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from numerics import qlt
from numerics.validation.base import Comparison, Spec, Work, check_scale, mean_sem, save_figure

__all__ = ["transition_matrix", "real_harmonics", "Analysis", "qlt_matrix", "discrete_spectrum_matrix", "measure",
           "mode_grid", "white_noise_field",
           "deviation_sigma", "SIZES", "ALPHAS", "K_SIGMA", "L0_MAX", "LMAX", "K_OUT", "K_IN", "OMEGA_DT_PER_ALPHA",
           "SEED", "QLT_WEIGHTS", "work"]

#: alpha = k_in dT of the three recorded times
ALPHAS = (1.0, 3.0, 10.0)
#: largest initial multipole l0 (columns 0..L0_MAX) and largest measured l (rows 0..LMAX)
L0_MAX = 6
LMAX = 10
#: the white-noise band (units of k_in)
K_IN = 1.0
K_OUT = 0.01
#: Boris steps per dT (dt = alpha/(100 k_in) <= the default 0.1/k_in of numerics.backtracking.boris; module docstring)
N_STEPS = 100
#: omega_rms dT / alpha = omega_rms / k_in (so omega_rms dT = 5e-3 at alpha = 10).  Small because the expansion is not
#: uniform in |l - l0| (module docstring); twice this, the fourth order already reaches 0.09 sigma of a 64-field ensemble.
OMEGA_DT_PER_ALPHA = 5.0e-4
#: the field-strength factor of the perturbative check (same seeds)
CHECK_FACTOR = 8.0
#: master seed; realization r uses SeedSequence(SEED).spawn(R)[r]
SEED = 20190306
#: weights of (1a), (1c,0), (1c,2) in M - 1 (003 Sec. 3: M = 1 + 2 M^(1a) + M^(1c,0) + M^(1c,2))
QLT_WEIGHTS = {"1a": 2.0, "1c0": 1.0, "1c2": 1.0}
#: the entries compared: l = 0..LMAX, l0 = 1..L0_MAX, at each alpha
N_ENTRIES = (LMAX + 1) * L0_MAX * len(ALPHAS)
#: tolerance on the largest |deviation| in standard errors.  Bonferroni over the N_ENTRIES = 198 entries: for
#: Gaussian errors P(max |z| > 5) <= 198 x 5.7e-7 = 1.1e-4; the margin over the 4.6 sigma of a 1e-3
#: family-wise rate covers the Student-t tails of R - 1 >= 63 degrees of freedom (198 x P(|t_63| > 5) = 1e-3)
#: and the skewness of the per-realization values (quadratic forms of the field: skewness up to 1.9).  Calibrated
#: on 2000 fields cut into 31 independent ensembles of 64: their max |z| ranged from 1.2 to 4.0 (sd of z 1.03).
K_SIGMA = 5.0

#: realizations R, HEALPix nside, number of plane waves, l_fit of the analysis, whether to run the
#: perturbative check (same seeds, omega x CHECK_FACTOR) and the resolution check (first n_res realizations
#: at 2 nside).  Wall time on the 2-core machine: ci ~25 s, quick ~70 s, paper ~27 min.
SIZES = {
    "ci": dict(realizations=64, nside=16, n_modes=256, l_fit=24, check=True, n_res=0),
    "quick": dict(realizations=200, nside=16, n_modes=256, l_fit=24, check=True, n_res=8),
    "paper": dict(realizations=2000, nside=16, n_modes=1024, l_fit=24, check=True, n_res=32),
}


# ---------------------------------------------------------------------------------------------- harmonics
def real_harmonics(lmax: int, vectors) -> np.ndarray:
    """Real orthonormal spherical harmonics ``Y_i(n)``, i = l^2 + (0 | 2m - 1 | 2m) for (m = 0 | cos | sin), l <= lmax.

    ``Y_{l0} = Y_l^0``, ``Y_{l,2m-1} = sqrt(2) Re Y_l^m``, ``Y_{l,2m} = sqrt(2) Im Y_l^m`` (m = 1..l) with
    ``Y_l^m`` from :func:`scipy.special.sph_harm_y` (Condon-Shortley phase; orthonormal on the sphere).
    ``vectors`` are unit vectors (..., 3) (not renormalised); returns shape ``((lmax+1)^2, N)`` with N the number
    of vectors.  sum_m Y_{lm}(n)^2 = (2l+1)/(4 pi) for every n (addition theorem).
    """
    from scipy.special import sph_harm_y

    lmax = int(lmax)
    if lmax < 0:
        raise ValueError(f"lmax={lmax!r}: must be an integer >= 0")
    v = np.asarray(vectors, dtype=float).reshape(-1, 3)
    theta = np.arccos(np.clip(v[:, 2], -1.0, 1.0))
    phi = np.mod(np.arctan2(v[:, 1], v[:, 0]), 2 * np.pi)
    ls = np.concatenate([np.full(l + 1, l) for l in range(lmax + 1)])
    ms = np.concatenate([np.arange(l + 1) for l in range(lmax + 1)])
    y = sph_harm_y(ls[:, None], ms[:, None], theta[None, :], phi[None, :])
    out = np.empty(((lmax + 1) ** 2, v.shape[0]))
    j = 0
    for l in range(lmax + 1):
        out[l * l] = y[j].real
        for m in range(1, l + 1):
            out[l * l + 2 * m - 1] = np.sqrt(2.0) * y[j + m].real
            out[l * l + 2 * m] = np.sqrt(2.0) * y[j + m].imag
        j += l + 1
    return out


@dataclass(frozen=True)
class Analysis:
    """Least-squares harmonic analysis of HEALPix maps up to ``l_fit``: ``a = projector @ map``.

    ``projector = (Y Y^T)^-1 Y`` with Y the real harmonics (:func:`real_harmonics`) at the pixel centres of
    :func:`numerics.backtracking.skymaps.directions` (RING order); exact for maps band-limited to l_fit.
    """

    nside: int
    l_fit: int
    directions: np.ndarray
    projector: np.ndarray

    @classmethod
    def build(cls, nside: int, l_fit: int) -> Analysis:
        from numerics.backtracking import skymaps

        dirs = skymaps.directions(nside)
        if (l_fit + 1) ** 2 > dirs.shape[0] // 2:
            raise ValueError(f"l_fit={l_fit}: (l_fit + 1)^2 must not exceed half the {dirs.shape[0]} pixels of nside {nside}")
        y = real_harmonics(l_fit, dirs)
        return cls(nside, l_fit, dirs, np.linalg.solve(y @ y.T, y))

    def mixing(self, momenta, lmax: int = LMAX, l0max: int = L0_MAX) -> np.ndarray:
        """``sum_m C_l[Y_{l0 m} o p]`` for l = 0..lmax (rows), l0 = 0..l0max (columns).

        ``momenta``: unit vectors of shape (..., Npix, 3) (p(-dT) at the pixels); returns (..., lmax+1, l0max+1).
        """
        if lmax > self.l_fit:
            raise ValueError(f"lmax={lmax}: must not exceed l_fit = {self.l_fit}")
        p = np.asarray(momenta, dtype=float)
        lead = p.shape[:-2]
        npix = self.directions.shape[0]
        if p.shape[-2:] != (npix, 3):
            raise ValueError(f"momenta=array of shape {p.shape}: expected (..., {npix}, 3)")
        n0 = (l0max + 1) ** 2
        maps = real_harmonics(l0max, p.reshape(-1, 3)).reshape(n0, -1, npix).transpose(1, 0, 2).reshape(-1, npix)
        a2 = (maps @ self.projector[:(lmax + 1) ** 2].T) ** 2  # one BLAS call for every map and slice
        cl = np.add.reduceat(a2, np.arange(lmax + 1) ** 2, axis=1) / (2 * np.arange(lmax + 1) + 1.0)
        m = np.add.reduceat(cl.reshape(-1, n0, lmax + 1), np.arange(l0max + 1) ** 2, axis=1)
        return np.swapaxes(m, -1, -2).reshape(lead + (lmax + 1, l0max + 1))


# ---------------------------------------------------------------------------------------------- theory
def qlt_matrix(delta_t: float, omega_rms: float, *, lmax: int = LMAX, l0max: int = L0_MAX, k_out: float = K_OUT,
               k_in: float = K_IN, weights: dict | None = None) -> np.ndarray:
    """QLT ``M = 1 + sum_key w_key M^(key)`` (default weights :data:`QLT_WEIGHTS`), rows l = 0..lmax, columns 0..l0max.

    ``delta_t`` in ``1/k_in``; ``omega_rms`` in ``k_in``; white noise on [k_out, k_in] with
    ``g_out = omega_rms^2/(8 pi (k_in - k_out))`` (:func:`numerics.qlt.g_out_from_rms`).
    """
    w = QLT_WEIGHTS if weights is None else weights
    g = float(qlt.g_out_from_rms(omega_rms, k_out, k_in))
    mm = qlt.mixing_matrices(max(lmax, 2), delta_t, k_out, k_in, g)
    M = np.eye(max(lmax, 2) + 1) + sum(w.get(key, 0.0) * mm[key] for key in ("1a", "1c0", "1c2"))
    return M[:lmax + 1, :l0max + 1]


def discrete_spectrum_matrix(delta_t: float, wavenumbers, powers, *, lmax: int = LMAX,
                             l0max: int = L0_MAX) -> np.ndarray:
    """The second-order M for a field of plane waves with |k| = ``wavenumbers`` and mean squares ``powers``
    (|a_n|^2/2), isotropic directions and polarisations: the discrete spectrum ``g = sum_n c_n delta(k - k_n)`` with
    ``8 pi c_n = powers`` (:meth:`numerics.qlt.Spectrum.from_modes`, derivation ``qlt.general_spectrum``), exact
    (no band width).  Units as :func:`qlt_matrix`."""
    spec = qlt.Spectrum.from_modes(wavenumbers, np.asarray(powers, float) / (8 * np.pi))
    mm = qlt.mixing_matrices(max(lmax, 2), delta_t, spectrum=spec)
    M = np.eye(max(lmax, 2) + 1) + sum(QLT_WEIGHTS[key] * mm[key] for key in QLT_WEIGHTS)
    return M[:lmax + 1, :l0max + 1]


def deviation_sigma(mean: np.ndarray, sem: np.ndarray, model: np.ndarray) -> np.ndarray:
    """(mean - model)/sem entry by entry over the compared columns l0 = 1..L0_MAX; shape (..., LMAX+1, L0_MAX)."""
    return (mean[..., 1:] - model[..., 1:]) / sem[..., 1:]


# ---------------------------------------------------------------------------------------------- simulation
def mode_grid(n_modes: int, grid: str = "centres") -> tuple[np.ndarray, np.ndarray]:
    """|k_n| (units of k_in) and relative mean squares (summing to 1) of an n-mode white-noise field on [K_OUT, K_IN].

    ``grid="centres"``: k_n at the geometric centres of n equal logarithmic cells, |a_n|^2 proportional to k_n (a
    midpoint rule for the band, error O(cell^2)); ``grid="edges"``: the grid of
    :meth:`numerics.backtracking.turbulence.PlaneWaveField.white_noise` (geomspace with both band edges, each a full cell: a
    rectangle rule whose extra half cell at k_in is an O(cell) error).
    """
    if grid == "centres":
        edges = np.geomspace(K_OUT, K_IN, n_modes + 1)
        k = np.sqrt(edges[1:] * edges[:-1])
    elif grid == "edges":
        k = np.geomspace(K_OUT, K_IN, n_modes)
    else:
        raise ValueError(f"grid={grid!r}: must be 'centres' or 'edges'")
    return k, k / k.sum()


def white_noise_field(n_modes: int, omega_rms: float, seed):
    """White noise on [K_OUT, K_IN] with rms ``omega_rms`` (units of k_in) on the 'centres' grid (:func:`mode_grid`).

    Directions, polarisations and phases are those of ``PlaneWaveField.white_noise(n_modes, K_OUT, K_IN,
    rms=omega_rms, seed=seed)`` (same draws); only |k_n| and |a_n| move to the cell centres.
    """
    from numerics.backtracking.turbulence import PlaneWaveField

    base = PlaneWaveField.white_noise(n_modes, K_OUT, K_IN, rms=1.0, seed=seed)
    k, w = mode_grid(n_modes, "centres")
    khat = base.wavevectors / np.linalg.norm(base.wavevectors, axis=1, keepdims=True)
    ahat = base.amplitudes / np.linalg.norm(base.amplitudes, axis=1, keepdims=True)
    amp = np.sqrt(2.0 * omega_rms ** 2 * w)
    return PlaneWaveField(k[:, None] * khat, amp[:, None] * ahat, base.phases)


def measure(realizations: int, nside: int = 16, n_modes: int = 256, l_fit: int = 24, *, omega_factors=(1.0,),
            seed: int = SEED, n_res: int = 0, progress: bool = False) -> dict:
    """Backtrack ``realizations`` white-noise fields (:func:`white_noise_field`) and return per-realization matrices.

    Field r uses ``SeedSequence(seed).spawn(realizations)[r]`` (spawn key (r,), the same for every count, so the
    first n realizations of a larger measurement are the measurement of n); every factor in ``omega_factors`` re-uses
    the same draws with omega_rms = OMEGA_DT_PER_ALPHA k_in x factor.  Returns a dict with ``M`` of shape
    (len(omega_factors), R, len(ALPHAS), LMAX+1, L0_MAX+1), ``M_hi`` (the first ``n_res`` realizations at factor 1
    analysed at 2 nside and l_fit + 8), ``times`` (dT, 1/k_in), ``dt`` (the steps, dT/N_STEPS), ``identity_error``
    (max |M(dT = 0) - delta| of the analysis), ``omega_rms`` and ``seconds``.
    """
    t0 = time.perf_counter()
    rows = _rows(0, realizations, nside, n_modes, l_fit, tuple(omega_factors), seed, progress=progress)
    out = dict(rows, M=np.moveaxis(rows["M"], 0, 1))
    out["M_hi"] = _rows(0, n_res, 2 * nside, n_modes, l_fit + 8, (1.0,), seed)["M"][:, 0] if n_res else \
        np.empty((0, len(ALPHAS), LMAX + 1, L0_MAX + 1))
    out["seconds"] = time.perf_counter() - t0
    return out


@functools.lru_cache(maxsize=4)
def _analysis(nside: int, l_fit: int) -> tuple[Analysis, float]:
    """The analysis at (nside, l_fit) and its identity error max |M(dT = 0) - delta| (checked for every l <= l_fit;
    the realizations are analysed for l <= LMAX)."""
    ana = Analysis.build(nside, l_fit)
    return ana, float(np.max(np.abs(ana.mixing(ana.directions[None], l_fit)[0] - np.eye(l_fit + 1)[:, :L0_MAX + 1])))


def _rows(start: int, stop: int, nside: int, n_modes: int, l_fit: int, omega_factors: tuple, seed: int, *,
          progress: bool = False) -> dict:
    """Realizations ``start .. stop-1`` (see :func:`measure`): ``M`` of shape (stop - start, len(omega_factors),
    len(ALPHAS), LMAX+1, L0_MAX+1), and ``times``, ``dt``, ``identity_error``, ``omega_rms``, ``omega_factors``."""
    from numerics.backtracking.boris import backtrack

    ana, identity_error = _analysis(nside, l_fit)
    omega = OMEGA_DT_PER_ALPHA * K_IN
    times = np.asarray(ALPHAS) / K_IN
    dts = times / N_STEPS
    M = np.empty((stop - start, len(omega_factors), len(ALPHAS), LMAX + 1, L0_MAX + 1))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=stop - start, desc="transition matrix", unit="field", leave=False)
    for r in range(start, stop):
        ss = np.random.SeedSequence(seed, spawn_key=(r,))
        mom = []
        for factor in omega_factors:
            field = white_noise_field(n_modes, omega * factor, ss)
            mom.append([backtrack(field, ana.directions, [T], dt=dt).momenta[0] for T, dt in zip(times, dts)])
        M[r - start] = ana.mixing(np.stack(mom))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return dict(M=M, times=times, dt=dts, identity_error=identity_error, omega_rms=omega,
                omega_factors=np.asarray(omega_factors, float))


def _chi2_null_sd(x: np.ndarray) -> float:
    """Standard deviation of mean(z^2) over correlated Gaussian z with the sample correlation of the columns of x
    (R, n): sqrt(2 sum_ij rho_ij^2)/n (biased upwards by ~n/R from the noise in rho)."""
    rho = np.corrcoef(x, rowvar=False)
    return float(np.sqrt(2.0 * np.sum(rho ** 2)) / x.shape[1])


def _measured(R, nside, n_modes, l_fit, factors, n_res, progress) -> tuple[dict, dict]:
    """:func:`measure`, stored row by row in the data directory of ``aniso run`` (numerics.validation.measurements.
    cached_rows): keyed by the arguments other than the counts and by the source of the modules that compute it, so
    an interrupted measurement resumes, a larger one (quick after ci) extends a smaller one, and a smaller one reads
    the first realizations of a larger one.  The fine-resolution rows (``n_res``) are a second row measurement."""
    from numerics.validation import measurements

    factors = tuple(float(f) for f in factors)
    params, hi_params, modules = _store(nside, n_modes, l_fit, factors)
    sim, info = measurements.cached_rows(
        "transition-matrix", params, R, lambda a, b: _rows(a, b, nside, n_modes, l_fit, factors, SEED), rows=("M",),
        modules=modules, progress=progress, desc="transition matrix")
    sim = dict(sim, M=np.moveaxis(sim["M"], 0, 1), seconds=info["compute_seconds"])
    sim["M_hi"] = np.empty((0, len(ALPHAS), LMAX + 1, L0_MAX + 1))
    if n_res:
        hi, hi_info = measurements.cached_rows(
            "transition-matrix", hi_params, n_res, lambda a, b: _rows(a, b, 2 * nside, n_modes, l_fit + 8, (1.0,), SEED),
            rows=("M",), modules=modules, progress=progress, desc="transition matrix (2 nside)")
        sim["M_hi"] = hi["M"][:, 0]
        sim["seconds"] += hi_info["compute_seconds"]
        info = dict(info, reused=info["reused"] and hi_info["reused"], rows_computed=info["rows_computed"],
                    hi=hi_info, seconds=round(info["seconds"] + hi_info["seconds"], 2))
    return sim, info


def _store(nside, n_modes, l_fit, factors):
    """The key parts of the two stored row measurements: (params, the resolution check's params, modules)."""
    import sys

    from numerics.backtracking import boris, kernel, turbulence

    params = dict(nside=nside, n_modes=n_modes, l_fit=l_fit, omega_factors=[float(f) for f in factors], seed=SEED)
    return params, dict(params, nside=2 * nside, l_fit=l_fit + 8, omega_factors=[1.0]), \
        (sys.modules[__name__], boris, kernel, turbulence)


def work(scale: str) -> list:
    """The backtracking of the measurement at ``scale`` (:class:`~numerics.validation.base.Work`): per realization,
    12 nside^2 directions to each of the ALPHAS' times in N_STEPS steps, once per omega factor; the resolution
    check at 2 nside."""
    from numerics.backtracking.boris import mode_evaluations

    cfg = SIZES[check_scale(scale)]
    factors = (1.0, CHECK_FACTOR) if cfg["check"] else (1.0,)
    params, hi_params, modules = _store(cfg["nside"], cfg["n_modes"], cfg["l_fit"], factors)
    one = len(ALPHAS) * mode_evaluations(12 * cfg["nside"] ** 2, N_STEPS, cfg["n_modes"])
    out = [Work("transition matrix", cfg["realizations"], len(factors) * one,
                ("transition-matrix", params, ("M",), modules))]
    if cfg["n_res"]:
        out.append(Work("transition matrix (2 nside)", cfg["n_res"], 4 * one, ("transition-matrix", hi_params, ("M",),
                                                                                modules)))
    return out


# ---------------------------------------------------------------------------------------------- comparison
def transition_matrix(figdir: Path | None = None, scale: str = "quick", progress: bool = False) -> Comparison:
    """Simulated M_{l l0}(dT) (003 eq. (3.6)) against QLT (003 eqs. (3.11)-(3.23)), entry by entry (module docstring).

    ``scale``: "ci" (64 realizations, ~25 s on 2 cores), "quick" (200, ~70 s) or "paper" (2000, ~27 min).  error = the
    largest |simulated - QLT| over the 198 entries l = 0..10, l0 = 1..6, alpha = 1, 3, 10, in standard errors of
    the mean; tolerance :data:`K_SIGMA`.
    """
    check_scale(scale)
    cfg = SIZES[scale]
    R, n_modes = cfg["realizations"], cfg["n_modes"]
    factors = (1.0, CHECK_FACTOR) if cfg["check"] else (1.0,)
    sim, stored = _measured(R, cfg["nside"], n_modes, cfg["l_fit"], factors, cfg["n_res"], progress)
    omega, times = sim["omega_rms"], sim["times"]
    one = np.eye(LMAX + 1)[:, :L0_MAX + 1]
    M = sim["M"][0]
    mean, sem = mean_sem(M)
    model = np.stack([qlt_matrix(T, omega) for T in times])
    dev = deviation_sigma(mean, sem, model)  # (alpha, l, l0 = 1..L0_MAX)
    max_dev = float(np.max(np.abs(dev)))
    worst = np.unravel_index(int(np.argmax(np.abs(dev))), dev.shape)
    chi2_dof = (dev ** 2).reshape(len(ALPHAS), -1).mean(axis=1)
    chi2_sd = [_chi2_null_sd(M[:, j, :, 1:].reshape(R, -1)) for j in range(len(ALPHAS))]
    signal = np.abs(model - one)[..., 1:]
    snr = signal / sem[..., 1:]
    sig = snr > 5  # significantly non-zero entries
    rel = np.abs(mean[..., 1:] - model[..., 1:]) / signal
    off = sig & ~np.eye(LMAX + 1, L0_MAX, -1, dtype=bool)[None]
    centred = M[..., 1:] - mean[..., 1:]
    skew_of_mean = np.mean(centred ** 3, axis=0) / np.mean(centred ** 2, axis=0) ** 1.5 / np.sqrt(R)
    column0 = float(np.max(np.abs(mean[..., 0] - one[:, 0])))
    # QLT for the discrete spectra: the simulated one (cell centres) and PlaneWaveField.white_noise's (band edges)
    discrete = {grid: np.stack([discrete_spectrum_matrix(T, *mode_grid(n_modes, grid)) for T in times])
                for grid in ("centres", "edges")}
    for grid in discrete:  # the weights sum to 1: scale the deviation from 1 to omega^2
        discrete[grid] = one + (discrete[grid] - one) * omega ** 2
    shift = {g: float(np.max(np.abs(deviation_sigma(d, sem, model)))) for g, d in discrete.items()}
    dev_discrete = float(np.max(np.abs(deviation_sigma(mean, sem, discrete["centres"]))))
    measured = {
        "max_dev_sigma": max_dev,
        "max_dev_entry": {"alpha": ALPHAS[worst[0]], "l": int(worst[1]), "l0": int(worst[2]) + 1},
        "chi2_per_dof": {f"alpha={a:g}": float(c) for a, c in zip(ALPHAS, chi2_dof)},
        "chi2_per_dof_null_sd": {f"alpha={a:g}": s for a, s in zip(ALPHAS, chi2_sd)},
        "n_entries": int(dev.size),
        "n_significant": int(sig.sum()),
        "max_rel_dev_significant": float(np.max(rel[sig])) if sig.any() else None,
        "max_rel_dev_significant_offdiagonal": float(np.max(rel[off])) if off.any() else None,
        "signal_over_sigma": {"min": float(snr.min()), "median": float(np.median(snr)), "max": float(snr.max())},
        "max_abs_skewness_of_mean": float(np.max(np.abs(skew_of_mean))),
        "M": mean, "M_sem": sem, "deviation_sigma": dev,
        "qlt_discrete_shift_sigma": shift,
        "max_dev_sigma_vs_discrete_spectrum": dev_discrete,
        "column0_max_abs_error": column0,
        "monopole_row_max_dev_sigma": float(np.max(np.abs(dev[:, 0]))),
        "identity_error_dT0": sim["identity_error"],
        "R": R, "nside": cfg["nside"], "l_fit": cfg["l_fit"], "n_modes": n_modes, "alpha": list(ALPHAS),
        "k_out_over_k_in": K_OUT / K_IN, "omega_rms_over_k_in": omega, "omega_rms_dT": (omega * times).tolist(),
        "dT_k_in": (times * K_IN).tolist(), "dt_k_in": (sim["dt"] * K_IN).tolist(), "seed": SEED, "seconds": sim["seconds"],
        "stored": stored,
    }
    notes = [f"largest deviation {max_dev:.2f} sigma at alpha = {ALPHAS[worst[0]]:g}, l = {worst[1]}, l0 = {worst[2] + 1}; "
             "chi2/dof " + ", ".join(f"{c:.2f} (null sd {s:.2f})" for c, s in zip(chi2_dof, chi2_sd))
             + " for alpha = " + ", ".join(f"{a:g}" for a in ALPHAS) + " (the entries share realizations: correlated)"]
    if cfg["check"]:
        s = CHECK_FACTOR
        quartic = ((sim["M"][1] - one) / s ** 2 - (M - one)) / (s ** 2 - 1)
        q_mean, q_sem = mean_sem(quartic)
        q_sig = q_mean[..., 1:] / sem[..., 1:]
        mean_s, sem_s = mean_sem(sim["M"][1])
        dev_s = deviation_sigma(mean_s, sem_s, np.stack([qlt_matrix(T, omega * s) for T in times]))
        q_rel = np.abs(q_mean[..., 1:] / (model - one)[..., 1:])
        measured.update(quartic_over_sigma=q_sig, max_quartic_over_sigma=float(np.max(np.abs(q_sig))),
                        max_quartic_relative={f"alpha={a:g}": float(np.max(q_rel[j])) for j, a in enumerate(ALPHAS)},
                        max_quartic_significance=float(np.max(np.abs(q_mean[..., 1:] / q_sem[..., 1:]))),
                        max_dev_sigma_at_check_strength=float(np.max(np.abs(dev_s))))
        notes.append(f"fourth order, from the same fields at {s:g} x omega_rms: at most {measured['max_quartic_over_sigma']:.2g} "
                     f"sigma at the compared strength (detected at up to {measured['max_quartic_significance']:.2g} of its own "
                     f"errors); at {s:g} x omega_rms QLT is off by up to {measured['max_dev_sigma_at_check_strength']:.3g} sigma")
    if cfg["n_res"]:
        change = (sim["M_hi"] - M[:cfg["n_res"]])[..., 1:] / sem[..., 1:]
        measured["resolution_check_sigma"] = float(np.max(np.abs(change)))
        measured["resolution_mean_shift_sigma"] = float(np.max(np.abs(change.mean(axis=0))))
        notes.append(f"the first {cfg['n_res']} fields backtracked and analysed at nside {2 * cfg['nside']}, l_fit "
                     f"{cfg['l_fit'] + 8}: entries move by at most {measured['resolution_check_sigma']:.2g} sigma in one field, "
                     f"{measured['resolution_mean_shift_sigma']:.2g} sigma on average")
    notes.append(f"QLT for the simulated {n_modes}-mode spectrum (cell centres) differs from the continuous band by at most "
                 f"{shift['centres']:.2g} sigma (deviation from it {dev_discrete:.3g} sigma); on PlaneWaveField.white_noise's "
                 f"grid (band edges, full end cells) the shift would be {shift['edges']:.2g} sigma")
    notes.append(f"column l0 = 0 (a constant sky) is delta_l0 to {column0:.1e}; the dT = 0 identity holds to "
                 f"{sim['identity_error']:.1e}; QLT has no other exact zero (no parity rule in l + l0: M^(1a) is diagonal, "
                 "(1c) fills every entry); the monopole row M_0l0 > 0 (a sky without monopole acquires one at the observer: "
                 "n -> p(-dT) does not preserve solid angle at one point, Liouville holds in phase space) agrees to "
                 f"{measured['monopole_row_max_dev_sigma']:.2g} sigma")
    figs = _figures(figdir, mean, sem, model, dev, times, omega) if figdir is not None else []
    g = qlt.g_out_from_rms(omega, K_OUT, K_IN)
    terms = {f"alpha={a:g}": {k: v[:LMAX + 1, :L0_MAX + 1] for k, v in qlt.mixing_matrices(LMAX, T, K_OUT, K_IN, g).items()}
             for a, T in zip(ALPHAS, times)}
    return Comparison(
        name="transition_matrix",
        title="QLT transition matrix M_ll0(dT) (003 eq. (3.6)) vs. backtracked homogeneous skies",
        measured=measured,
        expected={"M": model, "M_discrete_spectrum": discrete["centres"], "terms": terms},
        error=max_dev, tolerance=K_SIGMA,
        method=(f"{R} white-noise fields ({n_modes} plane waves at log-cell centres, k_out/k_in = {K_OUT / K_IN:g}, "
                f"omega_rms = {omega:g} k_in, SeedSequence({SEED}).spawn); the {12 * cfg['nside'] ** 2} HEALPix directions "
                f"(nside {cfg['nside']}) backtracked (Boris, {N_STEPS} steps of dT/{N_STEPS}) to dT = alpha/k_in, alpha = "
                f"{', '.join(f'{a:g}' for a in ALPHAS)}; M_ll0 = sum_m C_l of the maps Y_l0m(p(-dT)) (real harmonics, "
                f"least-squares fit to l = {cfg['l_fit']}), averaged over fields; sigma = standard error of the mean (ddof "
                f"1).  error = max |M_sim - M_QLT|/sigma over the {dev.size} entries l = 0..{LMAX}, l0 = 1..{L0_MAX} at 3 "
                f"alphas; tolerance {K_SIGMA:g} sigma (Bonferroni over {dev.size} entries: false alarm ~1e-4 for Gaussian "
                "errors, ~1e-3 for Student-t tails)"),
        figures=figs,
        notes="; ".join(notes),
    )


def _figures(figdir, mean, sem, model, dev, times, omega):
    import matplotlib.pyplot as plt

    ls = np.arange(LMAX + 1)
    fig, axes = plt.subplots(len(ALPHAS), L0_MAX, figsize=(2.6 * L0_MAX, 2.4 * len(ALPHAS)), sharex=True)
    for j, a in enumerate(ALPHAS):
        for k in range(1, L0_MAX + 1):
            ax = axes[j, k - 1]
            d = mean[j, :, k] - (ls == k)
            q = model[j, :, k] - (ls == k)
            e = sem[j, :, k]
            neg = d < 0
            ax.errorbar(ls[~neg], d[~neg], yerr=e[~neg], fmt="o", ms=3, color="C0", label="simulation" if k == 1 else None)
            ax.errorbar(ls[neg], -d[neg], yerr=e[neg], fmt="s", mfc="none", ms=4, color="C3",
                        label="simulation, -(M - 1)" if k == 1 else None)
            ax.plot(ls, np.abs(q), "k-", lw=0.8, label="QLT |M - 1|" if k == 1 else None)
            ax.set_yscale("log")
            ax.set_ylim(np.abs(q[q != 0]).min() * 0.2, np.abs(q).max() * 5)
            ax.axvline(k, color="0.8", lw=0.6, zorder=0)
            ax.set_title(rf"$\alpha$ = {a:g}, $\ell_0$ = {k}: max {np.max(np.abs(dev[j, :, k - 1])):.1f}$\sigma$", fontsize=8)
            if j == len(ALPHAS) - 1:
                ax.set_xlabel(r"$\ell$")
            if k == 1:
                ax.set_ylabel(rf"$|M_{{\ell\ell_0}} - \delta|$, $\omega\Delta T$ = {omega * times[j]:.2g}", fontsize=8)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("QLT mixing matrix (003 eq. (3.6)): backtracked homogeneous skies (points, 1 sem) vs. "
                 r"$2M^{(1a)} + M^{(1c,0)} + M^{(1c,2)}$ (lines)", fontsize=10)
    fig.tight_layout()
    figs = save_figure(fig, figdir, "transition_matrix")
    plt.close(fig)
    fig, axes = plt.subplots(1, len(ALPHAS), figsize=(4 * len(ALPHAS), 4.2))
    for j, a in enumerate(ALPHAS):
        im = axes[j].imshow(dev[j], origin="lower", cmap="coolwarm", vmin=-K_SIGMA, vmax=K_SIGMA, aspect="auto",
                            extent=(0.5, L0_MAX + 0.5, -0.5, LMAX + 0.5))
        axes[j].set_xlabel(r"$\ell_0$")
        axes[j].set_title(rf"$\alpha$ = {a:g}: $\chi^2$/dof = {np.mean(dev[j] ** 2):.2f}")
    axes[0].set_ylabel(r"$\ell$")
    fig.colorbar(im, ax=axes, label=r"$(M_{\rm sim} - M_{\rm QLT})/\sigma$")
    figs += save_figure(fig, figdir, "transition_matrix_sigma")
    plt.close(fig)
    return figs


def _run(ensembles, figdir, scale, progress):
    return transition_matrix(figdir, scale=scale, progress=progress)


SPEC = Spec("transition_matrix", _run, sizes=SIZES, headline=("max_dev_sigma",), work=work)
