"""Is the second-order pair propagator a Markov chain?  Chapman-Kolmogorov on backtracked test particles (issue 13,
part 2).

Units: c = 1; lengths and times in r_g = 1/Omega_rms (the gyroradius in the RMS turbulent field, as in 003 Sec. 4 and
:func:`numerics.validation.qlt_sim.qlt_config`), wavenumbers in 1/r_g, rates (nu) in 1/r_g; M is dimensionless.

Definition.  003 eq. (3.6): ``M_{l l0}(dT)`` is the power at multipole l a time dT after a homogeneous sky with power
only at l0, ``<C_l>(t0 + dT) = M_{l l0}(dT) C_l0(t0)``; it is measured exactly as in
:mod:`numerics.validation.transition_matrix` (``M_{l l0} = <sum_m C_l[Y_{l0 m} o p(-dT)]>_field``, least-squares
real-harmonic fit of the HEALPix map up to ``l_fit``, :class:`~numerics.validation.transition_matrix.Analysis`), but in
the strong turbulence of 003 Sec. 4 rather than the weak field of that comparison.  M is the propagator itself
(``M(0) = 1``).  003 builds its steady state (eq. (3.7)) from ``A = (1 - M(dT))/dT``, i.e. it assumes that <C_l>
evolves as a Markov chain at resolution dT.  A Markov chain obeys Chapman-Kolmogorov,

.. math:: M(2\\Delta T) = M(\\Delta T)\\,M(\\Delta T),
          \\qquad D(\\Delta T) \\equiv M(2\\Delta T) - M(\\Delta T)\\,M(\\Delta T),

so D = 0 within errors at every dT where the closure can be exact.  Straight lines (no field) give M = 1 and D = 0; in
the ballistic regime D is non-zero already at second order in the field (``M - 1`` grows like dT^2 there, not like
dT), which the weak-field test uses as a known non-Markovian answer.

The ensembles.  For each reading of 003's "white noise" (:data:`READINGS`: E(k) constant per unit k, or per ln k) the
field of realization r is ``numerics.backtracking.simulation.make_field(qlt_config(..., reading).replace(n_modes=n_modes,
seed=seed), r)``: the same draws as the ensembles ``aniso run`` simulates (with n_modes = 256 and seed = 2019 the very
same fields as its ``qlt-validation`` ensembles), realization r seeded by ``SeedSequence(seed, spawn_key=(r,))``.

The dT grid.  Geometric with ratio 2, ``dT_j = dT_0 2^j``, so that every 2 dT but the last is on the grid and one
backtracking call per realization records all of them (plus 2 dT_max).  The Boris step is the backtracker's default
0.1/k_max (1e-3 r_g), shortened so that dT_0 is a whole number of steps; every time on the grid then is one.  The
default grids (:data:`GRIDS`, dT = 1/16 .. 64 r_g or 1/16 .. 32 r_g) run from dT nu ~ 3e-3 (white noise, K ~ 6 r_g) or
~2e-2 (per ln k, K ~ 1.3 r_g), ballistic, to dT nu ~ 3 or ~ 8.

Truncation.  The product ``M(dT) M(dT)`` sums over every intermediate multipole l'.  M is measured for rows
l = 0..l_fit and columns l0 = 0..``l_mid`` (default 2 l_fit // 3); the compared block is l, l0 = 0..L (:data:`L_CK` =
4), and the intermediate sum runs over l' = 0..l_mid.  Every entry of M is a sum of power spectra and >= 0, so the
omitted terms l' > l_mid are >= 0: the truncated product is a lower bound.  How much is omitted is reported twice:
``leak`` = the fraction of the power of the columns l0 <= L of M(dT) that sits above l_mid (1 - sum_{l <= l_mid}
(2l+1) M_{l l0}/(2 l0 + 1), exact conservation over all l), and ``tail_sigma`` = the contribution of the upper half
l' in (max(L, l_mid/2), l_mid] of the intermediate sum in units of the error of D: where it is << 1, the sum has
converged well before l_mid (rows l <= L receive little from high l').  Power above ``l_fit`` aliases into the fit;
``kept_fit`` (the fraction of a column's power within l <= l_fit) says when the backtracked maps stop being resolved,
and the optional resolution check (``n_res`` realizations again at 2 nside, l_fit x 2 capped by the pixels) measures
the change of the per-realization D (its product summed over l' <= L at both resolutions), in units of the error of D.

Estimator and errors.  R realizations; per entry the mean of M.  The product of two means is biased by
Cov/R; D uses the unbiased U-statistic ``[R^2 Mbar Mbar - sum_i M_i M_i]/(R (R - 1))`` for E[M] E[M] (identical to
the delete-one jackknife bias-corrected product, since the product is quadratic in the data).  Errors: delete-one
jackknife over realizations (:func:`numerics.validation.base.jackknife`), floored at :data:`ROUNDOFF` = 1e-12 (the
analysis' round-off; M(dT = 0) = 1 holds to ~2e-14) so that entries that are deterministic (no field) give z = 0.
Column l0 = 0 is exactly delta_l0 (a constant sky stays constant) and is left out of the tests, leaving L (L + 1) = 20
entries.  Per dT: ``max_abs_z`` (largest |D|/sigma), ``chi2_dof_diag`` (mean z^2, the entries are correlated), and
Hotelling's ``T^2 = d^T C^-1 d`` with C the jackknife covariance of the 20 entries, whose p-value
``F(p, R - p).sf((R - p) T^2/(p (R - 1)))`` accounts for the estimated covariance (only when R > p + 2).

Significance (stated once, used everywhere): the deviation at dT is significant when the largest |z| exceeds the
Bonferroni threshold :func:`z_threshold` of a family-wise false-alarm rate ``FAMILY_ALPHA`` = 1e-3 over the 20 entries
(4.06 sigma) or Hotelling's p < 1e-3.  (A plain 3 sigma on the largest of 20 entries would fire by chance at 5 % of the
dT.)  ``first_significant_nu`` is the smallest dT nu on the grid with a significant deviation; ``break_nu`` the
smallest dT nu from which every larger dT on the grid is significant (None if the last one is not).

The scattering rate.  ``K(T) = -<n . r(-T)>/3`` (pixel and field mean; the running Taylor-Green-Kubo coefficient
``int_0^T <v(0).v(-t)> dt / 3`` exactly, by stationarity, as trace/3 of ``numerics.backtracking.skymaps.running_diffusion``'s
``tgk``), and ``nu = 1/(3 K(T_max))`` at the longest recorded time 2 dT_max: the rate at which the single-particle
dipole decays if the velocity autocorrelation is exponential (003 eq. (2.13), ``qlt_sim.qlt_k``), for any shape the
rate whose diffusion coefficient is the measured one.  At T_max the running K is still rising a little (reported:
``K(T_max/2)/K(T_max)``), so nu is an upper bound by that much.  Its error is the jackknife over realizations.  The
velocity autocorrelation ``<n . p(-T)>`` and ``nu_e`` (the inverse of the time where it first falls to 1/e,
log-interpolated on the grid) are reported next to it.

Steady state from a measured M.  :func:`steady_state_from_matrix` is 003 eq. (3.7) with ``A = (1 - M(dT))/dT`` and the
conservative closure of :func:`numerics.qlt.steady_state` (what a column loses beyond the truncation stays on its
diagonal), ``A C = s delta_{l1}`` for l >= 1 (:func:`numerics.qlt.steady_state_from_rates`).

Measured (2-core AMD EPYC, 1 thread; nside 16, l_fit 24, l_mid 16, 256 modes, seed 2019, the default grids; per ln k
40 fields in 23 min, white noise 23 fields in 27 min; the first 2 / 1 again at nside 32): nu = 0.247 +- 0.014 /r_g
(per ln k; the 1/e time of <n.p> gives 0.50: far from exponential) and 0.0558 +- 0.0016 /r_g (white noise; 1/e time
the same).  D < 0 on the diagonal and significant (max |z| 8-34) at every dT of both grids, from dT nu = 0.0035
(white noise) and 0.015 (per ln k) on, so ``first_significant_nu`` = ``break_nu`` = the first grid point; relative
size max |D| / max |M(2 dT) - 1| falls from 42 % to 5 % (white noise, dT nu -> 0.45) and from 60 % to 16 % (per ln k,
dT nu -> 0.5).  The truncations are under control up to dT = 2 r_g (tail and resolution change <= 1.6 sigma); from
dT = 4 r_g (white noise) or 8 r_g (per ln k) the maps are not resolved at nside 16 (the resolution check moves D by
4-32 sigma), so those rows are no Markov test.  003's closure of the measured M(dT) gives C_2/C_1 = 0.20-0.24 at every
resolved dT (QLT's range), the time integral of the same measured M_l1(t) 0.052 (white noise) and 0.156 (per ln k).
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy import stats

from numerics import _validate as check
from numerics.validation.base import jackknife, mean_sem
from numerics.validation.qlt_sim import READINGS, qlt_config
from numerics.validation.transition_matrix import Analysis

__all__ = ["measure_markov", "measured", "work",
           "chapman_kolmogorov", "break_points", "steady_state_from_matrix", "z_threshold", "default_grid",
           "READINGS", "GRIDS", "L_CK", "FAMILY_ALPHA", "ROUNDOFF", "SEED"]

#: dT grids (r_g) per reading: ratio 2, dT nu from ~3e-3 to ~3 (white noise, nu ~ 0.05/r_g) or ~8 (per ln k, nu ~ 0.25)
GRIDS = {"white-noise": 0.0625 * 2.0 ** np.arange(11), "per-ln-k": 0.0625 * 2.0 ** np.arange(10)}
#: the compared block: l, l0 = 0..L_CK (column 0 exactly delta_l0, left out of the tests)
L_CK = 4
#: family-wise false-alarm rate of the per-dT significance test (module docstring)
FAMILY_ALPHA = 1e-3
#: round-off floor of the errors (the analysis reproduces M(0) = 1 to ~2e-14)
ROUNDOFF = 1e-12
#: master seed: the qlt-validation ensembles' (numerics.validation.qlt_sim.qlt_config)
SEED = 2019


def default_grid(reading: str) -> np.ndarray:
    """The default dT grid (r_g) of ``reading`` (:data:`GRIDS`)."""
    check.choice("reading", reading, READINGS)
    return GRIDS[reading].copy()


def z_threshold(n_entries: int, family_alpha: float = FAMILY_ALPHA) -> float:
    """Bonferroni threshold on the largest |z| of ``n_entries`` Gaussian entries, family-wise rate ``family_alpha``."""
    n = check.integer("n_entries", n_entries, 1, 10**9)
    a = check.in_range("family_alpha", family_alpha, 0.0, 1.0, closed=False, single=True)
    return float(stats.norm.isf(a / (2 * n)))


# ---------------------------------------------------------------------------------------------- measurement
def _check_grid(delta_ts) -> np.ndarray:
    dts = check.positive("delta_ts", delta_ts)
    if dts.ndim != 1 or dts.size < 1:
        raise ValueError(f"delta_ts={check.show(delta_ts)}: expected a non-empty 1-d array of times > 0 (r_g)")
    if dts.size > 1 and not np.allclose(dts[1:] / dts[:-1], 2.0, rtol=1e-12, atol=0.0):
        raise ValueError(f"delta_ts={check.show(delta_ts)}: must be geometric with ratio 2 (dT_j = dT_0 2^j), so that "
                         "2 dT is on the grid")
    return dts


def _validate(reading, delta_ts, realizations, nside, l_fit, n_modes, seed, threads, l_mid, omega_rms, n_res):
    check.choice("reading", reading, READINGS)
    dts = _check_grid(default_grid(reading) if delta_ts is None else delta_ts)
    R = check.integer("realizations", realizations, 3, 100_000)
    nside = check.integer("nside", nside, 1, 256)
    if nside & (nside - 1):
        raise ValueError(f"nside={nside}: must be a power of two in [1, 256]")
    lmax_pix = int(math.isqrt(6 * nside * nside)) - 1  # (l_fit + 1)^2 <= Npix/2 (Analysis.build)
    if lmax_pix < L_CK:
        raise ValueError(f"nside={nside}: too coarse for l_fit >= {L_CK} (need nside >= 2)")
    l_fit = check.integer("l_fit", l_fit, L_CK, lmax_pix)
    l_mid = max(2 * l_fit // 3, L_CK) if l_mid is None else check.integer("l_mid", l_mid, L_CK, l_fit)
    n_modes = check.integer("n_modes", n_modes, 2, 100_000)
    seed = check.integer("seed", seed, 0, 2**63 - 1)
    threads = check.integer("threads", threads, 1, 1024)
    omega_rms = check.in_range("omega_rms", omega_rms, 0.0, 1e3, single=True)
    n_res = check.integer("n_res", n_res, 0, R)
    if n_res and nside > 128:
        raise ValueError(f"n_res={n_res}: the resolution check runs at 2 nside; nside={nside} must be <= 128 for it")
    return dts, R, nside, l_fit, l_mid, n_modes, seed, threads, omega_rms, n_res


def _step(field, dt0: float) -> float:
    """The backtracker's default step, shortened so that dT_0 is a whole number of steps."""
    from numerics.backtracking.kernel import DEFAULT_STEP_FACTOR, default_step

    try:
        dt_max = default_step(field)
    except ValueError:  # no modes with power and no regular field: straight lines, any step is exact
        dt_max = DEFAULT_STEP_FACTOR / field.k_max if field.n_modes else dt0
    return dt0 / math.ceil(dt0 / dt_max - 1e-9)


def _observables(ana: Analysis, tr, l_mid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M (K, l_fit+1, l_mid+1), <n.p(-T)> (K,), K(T) = -<n.r(-T)>/3 (K,)) of one realization."""
    n = ana.directions
    M = np.stack([ana.mixing(p, lmax=ana.l_fit, l0max=l_mid) for p in tr.momenta])
    vac = np.einsum("kpi,pi->k", tr.momenta, n) / n.shape[0]
    K = -np.einsum("kpi,pi->k", tr.positions, n) / (3.0 * n.shape[0])
    return M, vac, K


def measure_markov(reading: str, delta_ts=None, realizations: int = 16, nside: int = 16, l_fit: int = 24,
                   n_modes: int = 256, seed: int = SEED, threads: int = 1, progress: bool = False, *,
                   l_mid: int | None = None, omega_rms: float = 1.0, n_res: int = 0) -> dict:
    """Backtrack ``realizations`` fields of 003 Sec. 4 under ``reading`` and return M(dT) for every dT of the grid.

    Parameters
    ----------
    reading : 'white-noise' (E(k) constant per unit k) or 'per-ln-k' (E proportional to 1/k), k in [1e-3, 1e2]/r_g
    delta_ts : dT grid in r_g, geometric with ratio 2 (default :func:`default_grid`)
    realizations : R >= 3 fields; realization r is ``simulation.make_field(config, r)`` (module docstring)
    nside, l_fit : HEALPix resolution of the directions and the largest multipole of the harmonic fit
        ((l_fit + 1)^2 <= 6 nside^2)
    n_modes : plane waves per field (aniso run: 256)
    seed : master seed (default 2019: the qlt-validation ensembles' fields when n_modes = 256)
    threads : numba threads of the backtracker
    progress : tqdm bar over realizations
    l_mid : largest measured column l0 = intermediate multipole of the product (default 2 l_fit // 3), in [4, l_fit]
    omega_rms : rms field in 1/r_g; 1 defines r_g (the physical case); other values rescale the field (tests use a
        weak field, 0 gives straight lines)
    n_res : the first n_res realizations are backtracked again at 2 nside and analysed at l_fit x 2 (capped by the
        pixels) for the resolution check

    Returns
    -------
    dict with ``delta_t`` (the grid, r_g), ``times`` (recorded times: the grid and 2 dT_max, r_g), ``M`` (R, K, l_fit+1,
    l_mid+1), ``M_hi`` (n_res, K, L_CK+1, L_CK+1) or None, ``vac`` (R, K) = <n.p(-T)>, ``K_run`` (R, K) in r_g,
    ``identity_error`` (max |M(0) - delta| of the analysis), ``dt`` (the step, r_g), the arguments, ``config`` (the
    SimulationConfig of the ensemble as a dict), ``realization_indices``, ``seconds``.
    """
    args = _validate(reading, delta_ts, realizations, nside, l_fit, n_modes, seed, threads, l_mid, omega_rms, n_res)
    t0 = time.perf_counter()
    rows = _rows(reading, args, 0, args[1], progress=progress)
    hi = _rows(reading, args, 0, args[-1], hi=True) if args[-1] else None
    return _assemble(reading, args, rows, hi, time.perf_counter() - t0)


def measured(reading: str, delta_ts=None, realizations: int = 16, nside: int = 16, l_fit: int = 24, n_modes: int = 256,
             seed: int = SEED, threads: int = 1, progress: bool = False, *, l_mid: int | None = None,
             omega_rms: float = 1.0, n_res: int = 0) -> tuple[dict, dict]:
    """(:func:`measure_markov`'s dict, storage info): the same measurement, stored field by field in the data
    directory of ``aniso run`` (numerics.validation.measurements.cached_rows; keyed by every argument but the counts
    and ``threads``, and by the source of the measuring modules): reused by a second run, resumed after an
    interruption, extended by a larger one; bit for bit :func:`measure_markov` (each field has its own seed)."""
    from numerics.validation import measurements

    args = _validate(reading, delta_ts, realizations, nside, l_fit, n_modes, seed, threads, l_mid, omega_rms, n_res)
    dts, R, nside, l_fit, l_mid, n_modes, seed, threads, omega_rms, n_res = args
    params, modules = _store(reading, args)
    rows, info = measurements.cached_rows(
        "markov", params, R, lambda a, b: _rows(reading, args, a, b), rows=("M", "vac", "K_run"), modules=modules,
        progress=progress, desc=f"markov {reading}")
    seconds = info["compute_seconds"]
    hi = None
    if n_res:
        hi, hi_info = measurements.cached_rows(
            "markov", {**params, "resolution_check": True}, n_res, lambda a, b: _rows(reading, args, a, b, hi=True),
            rows=("M_hi",), modules=modules, progress=progress, desc=f"markov {reading} (2 nside)")
        seconds += hi_info["compute_seconds"]
        info = dict(info, reused=info["reused"] and hi_info["reused"], hi=hi_info)
    return _assemble(reading, args, rows, hi, seconds), info


def _store(reading, args):
    """The key parts of the stored measurement (params, modules); the resolution check adds resolution_check."""
    import sys

    from numerics.backtracking import boris, kernel, turbulence
    from numerics.validation import transition_matrix

    dts, R, nside, l_fit, l_mid, n_modes, seed, threads, omega_rms, n_res = args
    params = dict(reading=reading, delta_t=dts.tolist(), nside=nside, l_fit=l_fit, l_mid=l_mid, n_modes=n_modes,
                  seed=seed, omega_rms=omega_rms)
    return params, (sys.modules[__name__], transition_matrix, boris, kernel, turbulence)


def work(reading: str, delta_ts=None, realizations: int = 16, nside: int = 16, l_fit: int = 24, n_modes: int = 256,
         seed: int = SEED, *, l_mid: int | None = None, omega_rms: float = 1.0, n_res: int = 0) -> list:
    """The backtracking of :func:`measured` with these arguments (:class:`~numerics.validation.base.Work`): per field
    12 nside^2 directions to 2 dT_max at the first field's step (2 nside for the resolution check)."""
    from numerics.backtracking import simulation
    from numerics.backtracking.boris import mode_evaluations
    from numerics.backtracking.kernel import steps_for
    from numerics.validation.base import Work

    args = _validate(reading, delta_ts, realizations, nside, l_fit, n_modes, seed, 1, l_mid, omega_rms, n_res)
    dts, R, nside, l_fit, l_mid, n_modes, seed, threads, omega_rms, n_res = args
    params, modules = _store(reading, args)
    dt = _step(simulation.make_field(_config(reading, omega_rms, n_modes, seed, R), 0), float(dts[0]))
    steps = steps_for(np.append(dts, 2.0 * dts[-1]), dt)[-1]
    out = [Work(f"markov {reading}", R, mode_evaluations(12 * nside ** 2, steps, n_modes),
                ("markov", params, ("M", "vac", "K_run"), modules))]
    if n_res:
        out.append(Work(f"markov {reading} (2 nside)", n_res, mode_evaluations(48 * nside ** 2, steps, n_modes),
                        ("markov", {**params, "resolution_check": True}, ("M_hi",), modules)))
    return out


def _config(reading, omega_rms, n_modes, seed, R):
    return qlt_config("quick", reading).replace(n_modes=n_modes, seed=seed, rms=omega_rms, realizations=R)


def _analyses(nside, l_fit, l_mid, hi):
    ana = Analysis.build(nside, l_fit)
    identity = ana.mixing(ana.directions, lmax=l_fit, l0max=l_mid)
    identity_error = float(np.max(np.abs(identity - np.eye(l_fit + 1)[:, :l_mid + 1])))
    if hi:
        return Analysis.build(2 * nside, min(2 * l_fit, int(math.isqrt(24 * nside * nside)) - 1)), identity_error
    return ana, identity_error


def _rows(reading, args, start, stop, *, hi=False, progress=False) -> dict:
    """Fields ``start .. stop-1`` of :func:`measure_markov` (``args``: its validated arguments): M, vac, K_run per field
    and the analysis's identity error and the step; with ``hi``, the resolution check's M_hi (2 nside)."""
    from numerics.backtracking import simulation
    from numerics.backtracking.boris import backtrack

    dts, R, nside, l_fit, l_mid, n_modes, seed, threads, omega_rms, n_res = args
    cfg = _config(reading, omega_rms, n_modes, seed, R)
    times = np.append(dts, 2.0 * dts[-1])
    ana, identity_error = _analyses(nside, l_fit, l_mid, hi)
    dt = _step(simulation.make_field(cfg, 0), float(dts[0]))  # one step for every field: the first field's
    n = stop - start
    out = {"M_hi": np.empty((n, times.size, L_CK + 1, L_CK + 1))} if hi else {
        "M": np.empty((n, times.size, l_fit + 1, l_mid + 1)), "vac": np.empty((n, times.size)),
        "K_run": np.empty((n, times.size))}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"markov {reading}", unit="field", leave=False)
    for r in range(start, stop):
        field = simulation.make_field(cfg, r)
        tr = backtrack(field, ana.directions, times, dt=dt, threads=threads)
        if hi:
            out["M_hi"][r - start] = np.stack([ana.mixing(p, lmax=L_CK, l0max=L_CK) for p in tr.momenta])
        else:
            out["M"][r - start], out["vac"][r - start], out["K_run"][r - start] = _observables(ana, tr, l_mid)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return dict(out, identity_error=identity_error, dt=dt, l_fit_hi=ana.l_fit if hi else l_fit)


def _assemble(reading, args, rows, hi, seconds) -> dict:
    dts, R, nside, l_fit, l_mid, n_modes, seed, threads, omega_rms, n_res = args
    cfg = _config(reading, omega_rms, n_modes, seed, R)
    return dict(reading=reading, delta_t=dts, times=np.append(dts, 2.0 * dts[-1]), M=rows["M"],
                M_hi=hi["M_hi"] if n_res else None, vac=rows["vac"], K_run=rows["K_run"],
                identity_error=rows["identity_error"], dt=rows["dt"], realizations=R, nside=nside, l_fit=l_fit,
                l_mid=l_mid, l_fit_hi=hi["l_fit_hi"] if n_res else None, n_modes=n_modes, seed=seed,
                omega_rms=omega_rms, n_res=n_res, config=cfg.to_dict(), realization_indices=np.arange(R), seconds=seconds)


# ---------------------------------------------------------------------------------------------- Chapman-Kolmogorov
def break_points(nu_dt, significant) -> tuple[float | None, float | None]:
    """(first significant dT nu, the dT nu from which every larger one on the grid is significant); None where there
    is none (no significant dT, or the last dT not significant)."""
    nu_dt = np.asarray(nu_dt, float)
    sig = np.asarray(significant, bool)
    if not sig.any():
        return None, None
    first = float(nu_dt[int(np.argmax(sig))])
    if not sig[-1]:
        return first, None
    k = sig.size - int(np.argmin(sig[::-1])) if not sig.all() else 0
    return first, float(nu_dt[k])


def _scattering_rate(vac: np.ndarray, K_run: np.ndarray, times: np.ndarray) -> dict:
    R = K_run.shape[0]
    nu, nu_err = jackknife(lambda m: 1.0 / (3.0 * K_run[m, -1].mean()), R)
    K_mean = K_run.mean(axis=0)
    v = vac.mean(axis=0)
    below = np.flatnonzero(v < math.exp(-1.0))
    nu_e = None
    if below.size and below[0] > 0:
        i = int(below[0])
        # log-log interpolation of ln(1/v) between the two grid times that bracket 1/e
        x0, x1 = math.log(times[i - 1]), math.log(times[i])
        y0, y1 = (math.log(max(-math.log(max(x, 1e-300)), 1e-300)) for x in (v[i - 1], v[i]))
        nu_e = float(math.exp(-(x0 + (0.0 - y0) * (x1 - x0) / (y1 - y0)))) if y1 != y0 else float(1.0 / times[i])
    return dict(nu=float(nu), nu_err=float(nu_err), K_run=K_mean, K_run_sem=mean_sem(K_run)[1],
                K_last=float(K_mean[-1]), K_convergence=float(K_mean[-2] / K_mean[-1]), vac=v, nu_e=nu_e)


def _product(Ma: np.ndarray, Mb: np.ndarray, L: int, lmid: int) -> np.ndarray:
    """(Ma[:L+1, :lmid+1] @ Mb[:lmid+1, :L+1]) over leading axes."""
    return Ma[..., :L + 1, :lmid + 1] @ Mb[..., :lmid + 1, :L + 1]


def _ck_one(M1: np.ndarray, M2: np.ndarray, L: int, lmid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D (bias-corrected), its jackknife error and covariance (over the entries l0 >= 1), for per-realization M(dT)
    ``M1`` and M(2 dT) ``M2`` of shape (R, ...)."""
    R = M1.shape[0]

    def plain(mask):
        a = M1[mask].mean(axis=0)
        return M2[mask].mean(axis=0)[:L + 1, :L + 1] - _product(a, a, L, lmid)

    full, err = jackknife(plain, R)
    a = M1.mean(axis=0)
    unbiased = (R * R * _product(a, a, L, lmid) - _product(M1, M1, L, lmid).sum(axis=0)) / (R * (R - 1))
    D = M2.mean(axis=0)[:L + 1, :L + 1] - unbiased
    loo = np.array([plain(np.arange(R) != i)[:, 1:].ravel() for i in range(R)])
    cov = (R - 1) / R * np.einsum("ia,ib->ab", loo - loo.mean(axis=0), loo - loo.mean(axis=0))
    return D, np.sqrt(err ** 2 + ROUNDOFF ** 2), cov


def _hotelling(d: np.ndarray, cov: np.ndarray, R: int) -> tuple[float | None, float | None]:
    """(T^2, p-value) of the hypothesis mean d = 0 with the estimated covariance cov; (None, None) if R <= p + 2."""
    p = d.size
    if R <= p + 2:
        return None, None
    cov = cov + np.eye(p) * ROUNDOFF ** 2
    t2 = float(d @ np.linalg.solve(cov, d))
    f = (R - p) * t2 / (p * (R - 1))
    return t2, float(stats.f.sf(f, p, R - p))


def chapman_kolmogorov(result: dict, L: int = L_CK, family_alpha: float = FAMILY_ALPHA) -> dict:
    """Chapman-Kolmogorov deviation ``D = M(2 dT) - M(dT) M(dT)`` on the block l, l0 = 0..L for every dT of
    ``result`` (:func:`measure_markov`) whose 2 dT is on the grid (module docstring: estimator, errors, truncation,
    significance).

    Returns a dict: ``delta_t`` (r_g), ``delta_t_nu`` (dT nu), ``nu``, ``nu_err`` (1/r_g), ``nu_e``, ``K_run``,
    ``K_last``, ``K_convergence``, ``vac``; per dT (first axis) ``D``, ``D_err``, ``z`` (L+1, L+1; column 0 is exactly
    zero and z = 0 there), ``max_abs_z``, ``worst`` (l, l0), ``n_over_3sigma``, ``chi2_dof_diag``, ``hotelling_t2``,
    ``p_value`` (None where R <= p + 2), ``significant``, ``relative`` (max |D| over max |M(2 dT) - 1| in the block),
    ``leak`` (fraction of the power of columns l0 = 0..L above l_mid), ``kept_fit`` (within l <= l_fit), ``tail_sigma``
    (upper half of the intermediate sum in units of sigma), ``resolution_shift_sigma`` (mean change of D at 2 nside in
    units of sigma, or None), ``M_mean``, ``M_sem`` (the block of M(dT)); and ``z_threshold``, ``first_significant_nu``,
    ``break_nu``, ``n_entries``, ``criterion``.
    """
    try:
        M, dts, times = result["M"], np.asarray(result["delta_t"], float), np.asarray(result["times"], float)
        vac, K_run, lmid = result["vac"], result["K_run"], int(result["l_mid"])
    except (KeyError, TypeError):
        raise ValueError("result: expected the dict returned by measure_markov (keys M, delta_t, times, vac, K_run, "
                         "l_mid)") from None
    M = check.finite("result['M']", M)
    R, n_t = M.shape[:2]
    L = int(check.integers("L", L, 1, min(lmid, M.shape[2] - 1)))
    family_alpha = check.in_range("family_alpha", family_alpha, 0.0, 1.0, closed=False, single=True)
    if R < 3 or times.size != n_t or dts.size + 1 != n_t:
        raise ValueError(f"result: inconsistent shapes (M {M.shape}, {dts.size} dT, {times.size} times) or R = {R} < 3")
    rate = _scattering_rate(np.asarray(vac, float), np.asarray(K_run, float), times)
    n_entries = L * (L + 1)
    zt = z_threshold(n_entries, family_alpha)
    w = 2.0 * np.arange(M.shape[2]) + 1
    out = {k: [] for k in ("D", "D_err", "z", "max_abs_z", "worst", "n_over_3sigma", "chi2_dof_diag", "hotelling_t2",
                           "p_value", "significant", "relative", "leak", "kept_fit", "tail_sigma",
                           "resolution_shift_sigma", "M_mean", "M_sem")}
    M_hi = result.get("M_hi")
    for j in range(dts.size):
        M1, M2 = M[:, j], M[:, j + 1]
        D, err, cov = _ck_one(M1, M2, L, lmid)
        z = D / err
        z[:, 0] = 0.0
        zb = z[:, 1:]
        worst = np.unravel_index(int(np.argmax(np.abs(zb))), zb.shape)
        t2, p = _hotelling(D[:, 1:].ravel(), cov, R)
        mean1 = M1.mean(axis=0)
        change = np.max(np.abs(M2.mean(axis=0)[:L + 1, 1:L + 1] - np.eye(L + 1)[:, 1:]))
        half = max(L, lmid // 2)  # the upper half of the intermediate sum, above the compared block
        tail = mean1[:L + 1, half + 1:lmid + 1] @ mean1[half + 1:lmid + 1, :L + 1]
        shift = None
        if M_hi is not None and len(M_hi):
            n_res = M_hi.shape[0]
            lo = M[:n_res, j + 1, :L + 1, :L + 1] - _product(M[:n_res, j], M[:n_res, j], L, L)
            hi = M_hi[:, j + 1] - _product(M_hi[:, j], M_hi[:, j], L, L)
            shift = float(np.max(np.abs((hi - lo).mean(axis=0)[:, 1:] / err[:, 1:])))
        out["D"].append(D)
        out["D_err"].append(err)
        out["z"].append(z)
        out["max_abs_z"].append(float(np.max(np.abs(zb))))
        out["worst"].append((int(worst[0]), int(worst[1]) + 1))
        out["n_over_3sigma"].append(int(np.sum(np.abs(zb) > 3)))
        out["chi2_dof_diag"].append(float(np.mean(zb ** 2)))
        out["hotelling_t2"].append(t2)
        out["p_value"].append(p)
        out["significant"].append(bool(np.max(np.abs(zb)) > zt or (p is not None and p < family_alpha)))
        out["relative"].append(float(np.max(np.abs(D[:, 1:])) / change) if change > 0 else 0.0)
        out["leak"].append(1.0 - (w[:lmid + 1] @ mean1[:lmid + 1, :L + 1]) / w[:L + 1])
        out["kept_fit"].append((w @ mean1[:, :L + 1]) / w[:L + 1])
        out["tail_sigma"].append(float(np.max(np.abs(tail[:, 1:]) / err[:, 1:])))
        out["resolution_shift_sigma"].append(shift)
        out["M_mean"].append(mean1[:L + 1, :L + 1])
        out["M_sem"].append(mean_sem(M1)[1][:L + 1, :L + 1])
    for key in ("D", "D_err", "z", "leak", "kept_fit", "M_mean", "M_sem"):
        out[key] = np.array(out[key])
    nu_dt = dts * rate["nu"]
    first, brk = break_points(nu_dt, out["significant"])
    criterion = (f"significant if max |z| > {zt:.3g} (Bonferroni, family-wise {family_alpha:g} over {n_entries} "
                 f"entries l = 0..{L}, l0 = 1..{L}) or Hotelling p < {family_alpha:g} (full jackknife covariance, "
                 f"when R > {n_entries + 2})")
    return dict(delta_t=dts, delta_t_nu=nu_dt, **rate, **out, z_threshold=zt, first_significant_nu=first, break_nu=brk,
                n_entries=n_entries, L=L, l_mid=lmid, R=R, criterion=criterion)


# ---------------------------------------------------------------------------------------------- steady state
def steady_state_from_matrix(M, delta_t: float, source: float = 1.0) -> np.ndarray:
    """Steady state of 003 eq. (3.7) from a propagator matrix ``M`` (rows l, columns l0 = 0..n-1, M(0) = 1).

    ``A = (1 - M)/delta_t`` (003 eq. (3.5) at finite dT), solved by :func:`numerics.qlt.steady_state_from_rates` with
    the conservative closure of :func:`numerics.qlt.steady_state` (``A -= diag(sum_l (2l+1) A_{l l0}/(2 l0 + 1))``:
    what a column loses beyond the truncation stays at l0): ``sum_{l0 >= 1} A_{l l0} C_l0 = source delta_{l1}`` for
    l >= 1.  Returns C_1..C_{n-1} (length n - 1), in units of ``source`` times the time unit of ``delta_t`` (> 0; r_g
    here).  ``source`` > 0 is ``(8 pi/3) K |grad f|^2`` (the corrected (3.7), errata).  Raises ValueError (naming M) if
    the system is singular or gives non-positive power.

    >>> from numerics import qlt
    >>> A = qlt.transition_matrix(16, 0.1, 1e-3, 1e2, 1.0)
    >>> c = steady_state_from_matrix(np.eye(17) - 0.1 * A, 0.1)
    >>> bool(np.allclose(c, qlt.steady_state(16, 10.0, 1e-3, 1e2, 1.0), rtol=1e-10))
    True
    """
    from numerics import qlt

    M = check.finite("M", M)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 3:
        raise ValueError(f"M=array of shape {M.shape}: expected a square matrix with at least 3 rows (l = 0..2)")
    delta_t = check.positive("delta_t", delta_t, single=True)
    source = check.positive("source", source, single=True)
    try:
        return qlt.steady_state_from_rates((np.eye(M.shape[0]) - M) / delta_t, source)
    except ValueError as exc:
        raise ValueError(f"M (rates A = (1 - M)/delta_t at delta_t={delta_t:g}): {exc}") from None
