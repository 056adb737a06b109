"""Quasi-linear theory of the pair propagator: Lambda_l, kappa, the transition matrix and the steady state
(003 Secs. 2-3 and 5; derivations ``qlt.*``).

Units: c = 1; wavenumbers, ``g_out`` and rates in any one inverse length, times in that length.  For
band-limited white noise ``g(k) = g_out`` on ``[k_out, k_in]`` (derivation ``qlt.turbulence_normalisation``:
``<omega^2> = 8 pi g_out (k_in - k_out)``, see :func:`g_out_from_rms`), with ``alpha = k_in dT`` and
``beta = k_out dT``,

.. math::

    \\Lambda_\\ell = g_{out}\\,\\Delta T\\int_0^\\alpha J_\\ell(y)\\Big[\\frac{1}{\\max(y,\\beta)}-\\frac1\\alpha\\Big]dy,
    \\qquad
    \\kappa_{\\ell_A\\ell_B} = g_{out}\\,\\Delta T\\int_\\beta^\\alpha \\frac{J_{\\ell_A}(x)J_{\\ell_B}(x)}{x^2}\\,dx,

``J_l(x) = int_0^x j_l`` (computed from the series ``J_l = sum_k c_k(l) j_{l+2k+1}``, generated kernel
``neumann_coefficient``, whose terms are all positive for x < l, so small values keep their relative
accuracy).  The integrals use Gauss-Legendre panels of width <= pi (20 nodes each), split at beta.

The mixing matrices are those of (3.15), (3.21) and (3.23) (checked coefficient by coefficient against
exact integration in ``qlt.mixing_matrices``); the Wigner factors depend only on ``lmax`` and are
cached, so a sweep over alpha recomputes only the kappa integrals.

Any isotropic spectrum (derivation ``qlt.general_spectrum``).  :class:`Spectrum` describes ``g(k)`` of (3.12):
white noise, power laws, tables, a vectorised callable, or the discrete spectrum of one
:class:`numerics.backtracking.turbulence.PlaneWaveField` (:meth:`Spectrum.from_field`).  With the tail
``T(k) = int_k^k_in g(k')/k'^2 dk'`` (constant below k_out),

.. math::

    \\Lambda_\\ell = \\int_0^{k_{in}\\Delta T} J_\\ell(y)\\,T(y/\\Delta T)\\,dy, \\qquad
    \\kappa_{\\ell_A\\ell_B} = \\Delta T\\int g(x/\\Delta T)\\,\\frac{J_{\\ell_A}(x)J_{\\ell_B}(x)}{x^2}\\,dx,

and for a field of plane waves ``g = sum_n c_n delta(k - k_n)``, ``c_n = |a_n|^2/(16 pi)``, so
``kappa = sum_n c_n J_lA(k_n dT) J_lB(k_n dT)/k_n^2``.  Every public function takes ``spectrum=`` in place of
``(k_out, k_in, g_out)``; white noise gives the same numbers either way.

Steady state.  Column 0 of the transition matrix vanishes and its columns are conservative,
``sum_l (2l+1) A_{l l0} = 0``: the monopole grows at ``dC_0/dt = 3 source`` and only ``C_l, l >= 1`` are
stationary.  :func:`steady_state` returns those, ``C_1 .. C_lmax``, truncated conservatively (see there).
They depend only on ``alpha``,
``k_out/k_in`` and ``source/g_out``; ``k_in = inf`` gives the paper's limit (beta -> 0).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.special import gammaln, roots_legendre

from numerics import _validate as check
from numerics.kernels import qlt as _k
from numerics.wigner import wigner_3j_zero, wigner_6j

__all__ = ["Spectrum", "lambda_l", "kappa", "mixing_matrices", "transition_matrix", "steady_state",
           "steady_state_from_rates", "g_out_from_rms", "j_integral", "clear_caches", "check_lmax", "LMAX", "ELL_MAX",
           "ALPHA_MAX", "ALPHA_MIN", "INDEX_MAX"]

#: Largest lmax of the transition matrix and the steady state.
LMAX = 128
#: Largest multipole of Lambda_l and kappa (lA, lB <= 2 LMAX enter the transition matrix).
ELL_MAX = 2 * LMAX
#: Largest alpha = k_in dT (the quadrature grows linearly with alpha).
ALPHA_MAX = 1.0e3
#: Smallest alpha = k_in dT: below it Lambda_l ~ alpha^(2l+...) cancels to rounding in the quadrature (at 1e-16 it
#: came out negative) and the steady state's dipole ~ 1/alpha^3 leaves float64.
ALPHA_MIN = 1.0e-8
#: Largest |index| of :meth:`Spectrum.power_law`.
INDEX_MAX = 10.0

_NODES = 20
_GL_X, _GL_W = roots_legendre(_NODES)


def g_out_from_rms(omega_rms, k_out, k_in):
    """White-noise level ``g_out = Omega_rms^2 / (8 pi (k_in - k_out))`` (derivation ``qlt.turbulence_normalisation``).

    >>> round(float(g_out_from_rms(1.0, 1e-3, 1e2)), 8)   # 003 Sec. 4, in units of 1/r_g
    0.00039789
    """
    omega_rms = check.positive("omega_rms", omega_rms)
    k_out, k_in = _band(k_out, k_in)
    return _k.g_out_from_rms(omega_rms, k_out, k_in)


def _band(k_out, k_in, allow_infinite=False):
    k_out = check.positive("k_out", k_out)
    if k_out.size == 0:
        raise ValueError("k_out=[]: expected a number or a non-empty array")
    if np.ndim(k_out) == 0:
        k_out = float(k_out)
    given = k_in
    if allow_infinite and isinstance(k_in, (float, np.floating)) and np.isposinf(k_in):
        k_in = np.asarray(np.inf)  # the paper's limit k_in -> inf
    elif allow_infinite:
        try:
            k_in = check.positive("k_in", k_in)
        except ValueError:
            raise ValueError(f"k_in={check.show(given)}: must be > k_out "
                             f"(allowed range (k_out, {check.HUGE:g}] or inf, the paper's limit)") from None
    else:
        k_in = check.positive("k_in", k_in)
    if np.any(k_in <= k_out):
        raise ValueError(f"k_in={check.show(given)}: must be > k_out = {check.show(k_out)} "
                         "(allowed range (k_out, inf))")
    return k_out, k_in


def _panels(lo: float, hi: float, breaks=(), degree: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [lo, hi], split at ``breaks``.

    Panels are at most pi wide (J_l oscillates like sin x); where the integrand behaves like x^degree
    (x below ~degree) they shrink to 10 x/(degree + 1), so that x^degree varies by at most e^10 across a
    panel; the first panel [0, x0] with x0 = min(pi, 0.1 alpha, 0.1 (degree + 1)) takes the rest (exact for
    degree < 40, and below 1e-40 of the total above that).
    """
    cuts = [lo, hi] + [b for b in breaks if lo < b < hi]
    x0 = min(np.pi, 0.1 * hi, 0.1 * (degree + 1))
    if lo < x0 < hi:
        cuts.append(x0)
    cuts = sorted(set(cuts))
    edges = [lo]
    for a, b in zip(cuts[:-1], cuts[1:]):
        e = a
        while e < b:
            width = np.pi if e < x0 * (1 - 1e-12) else min(np.pi, 10.0 * e / (degree + 1))
            e = min(b, e + width)
            if b - e < 1e-9 * width:
                e = b
            edges.append(e)
    e = np.asarray(edges)
    half = 0.5 * np.diff(e)[:, None]
    mid = 0.5 * (e[1:] + e[:-1])[:, None]
    return (mid + half * _GL_X).ravel(), (half * _GL_W).ravel()


def _sph_jn_table(nmax: int, x: np.ndarray) -> np.ndarray:
    """j_n(x) for n = 0..nmax at x > 0 (shape (nmax+1, len(x))) by Miller's downward recurrence.

    Started well above max(nmax, x), rescaled against overflow, normalised to j_0 = sin x/x or
    j_1 (whichever is larger); relative accuracy ~1e-15 wherever the value is a normal double.
    """
    top = max(nmax, float(x.max()))
    start = int(top + 10.0 * top ** (1 / 3) + 30)
    out = np.zeros((nmax + 1, x.size))
    inv = 1.0 / x
    f_next = np.zeros_like(x)
    f = np.full_like(x, 1e-280)
    for n in range(start, 0, -1):
        f_prev = (2 * n + 1) * inv * f - f_next
        big = np.abs(f_prev) > 1e250
        if big.any():
            f_prev[big] *= 1e-250
            f[big] *= 1e-250
            if n <= nmax:
                out[n:, big] *= 1e-250
        f_next, f = f, f_prev
        if n - 1 <= nmax:
            out[n - 1] = f
    j0 = np.sin(x) * inv
    j1 = (j0 - np.cos(x)) * inv
    use0 = np.abs(j0) >= np.abs(j1)
    scale = np.where(use0, j0 / np.where(use0, out[0], 1.0), j1 / np.where(use0, 1.0, out[1] if nmax >= 1 else 1.0))
    return out * scale


@functools.lru_cache(maxsize=8)
def _series_matrix(lmax: int, nmax: int) -> np.ndarray:
    """c[l, n] with J_l = sum_n c[l, n] j_n (n = l + 2k + 1 <= nmax)."""
    c = np.zeros((lmax + 1, nmax + 1))
    for l in range(lmax + 1):
        ks = np.arange(0, (nmax - l - 1) // 2 + 1)
        c[l, l + 2 * ks + 1] = _k.neumann_coefficient(l, ks)
    return c


def j_integral(lmax: int, x) -> np.ndarray:
    """``J_l(x) = int_0^x j_l(y) dy`` for l = 0..lmax at the points ``x`` (shape (lmax+1, len(x))).

    >>> from scipy.special import sici
    >>> bool(abs(j_integral(2, [2.5])[0, 0] - sici(2.5)[0]) < 1e-14)
    True
    """
    lmax = check.integer("lmax", lmax, 0, ELL_MAX + 2)
    x = check.finite("x", x).ravel()
    if np.any(x < 0) or np.any(x > ALPHA_MAX):
        raise ValueError(f"x={check.show(x)}: outside the allowed range [0, {ALPHA_MAX:g}]")
    out = np.zeros((lmax + 1, x.size))
    small = (x > 0) & (x < 1e-8)  # the leading term x^(l+1)/((l+1)(2l+1)!!), exact to O(x^2) < 1e-16 relative
    if small.any():
        ell = np.arange(lmax + 1)[:, None]
        log_dfact = gammaln(2 * ell + 2) - ell * np.log(2.0) - gammaln(ell + 1)  # ln (2l+1)!!
        out[:, small] = np.exp((ell + 1) * np.log(x[small])[None, :] - np.log(ell + 1.0) - log_dfact)
    pos = x >= 1e-8  # (the recurrences of the table overflow for tiny x)
    if pos.any():
        xp = x[pos]
        xmax = float(xp.max())
        # j_n(x) < 1e-40 of its peak once n > x + 20 x^(1/3) + 60: the series is complete to double precision
        nmax = int(max(lmax + 1, xmax + 20 * xmax ** (1 / 3)) + 60)
        out[:, pos] = _series_matrix(lmax, nmax) @ _sph_jn_table(nmax, xp)
    return out


# ----------------------------------------------------------------------------- spectra
_GRADE = 2.0  # ratio of the graded panels above a band edge (a power law x^p is resolved to ~1e-30 per panel)
_PROBE = 513  # points at which a callable g is checked before any work


def _check_band(k_out, k_in):
    """Validated finite band 0 < k_out < k_in (floats)."""
    k_out = check.positive("k_out", k_out, single=True) if np.ndim(k_out) == 0 else None
    if k_out is None:
        raise ValueError("k_out: must be a single number")
    if np.ndim(k_in) != 0:
        raise ValueError("k_in: must be a single number")
    k_in = check.positive("k_in", k_in, single=True)
    if not k_in > k_out:
        raise ValueError(f"k_in={k_in!r}: must be > k_out = {k_out!r} (allowed range (k_out, inf))")
    return k_out, k_in


def _check_g(values, where, name="g"):
    values = np.asarray(values, dtype=float)
    if values.shape != np.shape(where):
        raise ValueError(f"{name}: must return an array of the shape of its argument (got {values.shape} for "
                         f"{np.shape(where)})")
    bad = (~np.isfinite(values) | (values < 0)).ravel()
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}: must be finite and >= 0 on [k_out, k_in] "
                         f"(g({np.ravel(where)[i]:.6g}) = {values.ravel()[i]!r})")
    return values


class Spectrum:
    """An isotropic turbulence spectrum ``g(k)`` in 003's convention (3.12),
    ``<omega~_i(k) omega~_j*(k')> = g(k)/k^2 (delta_ij - k_i k_j) delta(k - k')``, zero outside ``[k_out, k_in]``.

    Units: c = 1; k, k_out, k_in in 1/length, g in 1/length (``<omega^2> = 8 pi int g dk``, :attr:`mean_square`).
    Derivation ``qlt.general_spectrum``.

    Constructors
    ------------
    ``Spectrum(g, k_out, k_in)`` -- a vectorised callable ``g(k)`` (``k`` a float array; finite, >= 0)
    :meth:`white_noise`, :meth:`power_law`, :meth:`tabulated`, :meth:`from_modes`, :meth:`from_field`.

    Attributes
    ----------
    kind : 'white-noise', 'power-law', 'tabulated', 'callable' or 'discrete'
    k_out, k_in : the support (for a discrete spectrum the smallest and largest mode)
    modes : for 'discrete', ``(k_n, c_n)`` with ``g = sum_n c_n delta(k - k_n)``; otherwise None

    >>> s = Spectrum.power_law(1e-3, 1e2, -5/3, g_out=2.0)
    >>> bool(abs(s.g(1e-3) - 2.0) < 1e-15), s.kind
    (True, 'power-law')
    >>> Spectrum.tabulated([1.0, 1.0, 2.0], [1.0, 1.0, 1.0])
    Traceback (most recent call last):
    ...
    ValueError: k=[1., 1., 2.]: must be strictly increasing
    """

    __slots__ = ("kind", "k_out", "k_in", "params", "modes", "_g", "_tail", "_breaks", "_mean_square")

    def __init__(self, g, k_out, k_in):
        if not callable(g):
            raise ValueError(f"g={g!r}: must be a vectorised callable g(k) (use Spectrum.tabulated for arrays)")
        k_out, k_in = _check_band(k_out, k_in)
        probe = np.geomspace(k_out, k_in, _PROBE)
        try:
            values = g(probe)
        except Exception as exc:  # noqa: BLE001 -- any failure of the user's callable is bad input
            raise ValueError(f"g: calling it on an array of k failed ({type(exc).__name__}: {exc})") from None
        _check_g(values, probe)
        edges = _log_edges(k_out, k_in)

        def checked(k):
            k = np.asarray(k, float)
            inside = (k >= k_out) & (k <= k_in)
            return np.where(inside, _check_g(g(np.where(inside, k, k_out)), k), 0.0)

        xs, ws, panel = _gl_on(edges)
        vals = checked(xs)
        # panel integrals of g/k^2 and of g, for the tail (suffix sums) and the mean square
        per = np.bincount(panel, ws * vals / xs ** 2, minlength=len(edges) - 1)
        suffix = np.concatenate([np.cumsum(per[::-1])[::-1], [0.0]])
        mean_square = 8 * np.pi * float(np.sum(ws * vals))

        def tail(k):
            k = np.clip(np.asarray(k, float), k_out, k_in)
            j = np.clip(np.searchsorted(edges, k, side="right") - 1, 0, len(edges) - 2)
            top = edges[j + 1]
            half = 0.5 * (top - k)
            nodes = (k + half)[..., None] + half[..., None] * _GL_X
            part = np.sum(_GL_W * checked(nodes) / nodes ** 2, axis=-1) * half
            return part + suffix[j + 1]

        self._set("callable", k_out, k_in, {}, checked, tail, (), mean_square)

    # ------------------------------------------------------------------ constructors
    def _set(self, kind, k_out, k_in, params, g, tail, breaks, mean_square, modes=None):
        for name, value in (("kind", kind), ("k_out", float(k_out)), ("k_in", float(k_in)), ("params", dict(params)),
                            ("modes", modes), ("_g", g), ("_tail", tail),
                            ("_breaks", np.asarray(breaks, float)), ("_mean_square", float(mean_square))):
            object.__setattr__(self, name, value)
        return self

    def __setattr__(self, name, value):
        raise AttributeError("Spectrum is immutable")

    @classmethod
    def _new(cls, *args, **kwargs) -> Spectrum:
        return object.__new__(cls)._set(*args, **kwargs)

    @classmethod
    def white_noise(cls, k_out, k_in, g_out=1.0) -> Spectrum:
        """Band-limited white noise ``g = g_out`` on ``[k_out, k_in]`` (003 Sec. 3; the closed forms of records
        ``qlt.lambda_l`` and ``qlt.kappa``).  ``g_out`` > 0 in 1/length (:func:`g_out_from_rms`)."""
        k_out, k_in = _check_band(k_out, k_in)
        g_out = check.positive("g_out", g_out, single=True) if np.ndim(g_out) == 0 else _scalar_error("g_out")
        return cls._white(k_out, k_in, g_out)

    @classmethod
    def _white(cls, k_out: float, k_in: float, g_out: float) -> Spectrum:
        """Unvalidated white noise; k_out = 0 is allowed (the paper's limit beta -> 0 of steady_state)."""
        def g(k):
            k = np.asarray(k, float)
            return np.where((k >= k_out) & (k <= k_in), g_out, 0.0)

        def tail(k):
            k = np.clip(np.asarray(k, float), k_out, k_in)
            return g_out * (1.0 / k - 1.0 / k_in)

        return cls._new("white-noise", k_out, k_in, {"g_out": g_out}, g, tail, (), 8 * np.pi * g_out * (k_in - k_out))

    @classmethod
    def power_law(cls, k_out, k_in, index, g_out=1.0) -> Spectrum:
        """``g = g_out (k/k_out)^index`` on ``[k_out, k_in]``: index 0 is white noise, -1 equal power per ln k,
        -5/3 Kolmogorov, -3/2 Kraichnan (the energy per unit k is proportional to g).  ``index`` finite, |index| <= 10.
        Tail and mean square from the generated kernels ``power_law_tail``, ``power_law_mean_square``."""
        k_out, k_in = _check_band(k_out, k_in)
        index = check.in_range("index", index, -INDEX_MAX, INDEX_MAX, single=True) if np.ndim(index) == 0 else _scalar_error("index")
        g_out = check.positive("g_out", g_out, single=True) if np.ndim(g_out) == 0 else _scalar_error("g_out")

        def g(k):
            k = np.asarray(k, float)
            inside = (k >= k_out) & (k <= k_in)
            return np.where(inside, g_out * (np.where(inside, k, k_out) / k_out) ** index, 0.0)

        def tail(k):
            return _k.power_law_tail(np.clip(np.asarray(k, float), k_out, k_in), k_out, k_in, index, g_out)

        ms = float(_k.power_law_mean_square(k_out, k_in, index, g_out))
        return cls._new("power-law", k_out, k_in, {"index": index, "g_out": g_out}, g, tail, (), ms)

    @classmethod
    def tabulated(cls, k, g) -> Spectrum:
        """``g`` given at the nodes ``k`` (strictly increasing, > 0), linear in k between them, zero outside
        ``[k[0], k[-1]]``.  At least two nodes; every g finite and >= 0, not all zero."""
        k = check.positive("k", k)
        if k.ndim != 1 or k.size < 2:
            raise ValueError(f"k={check.show(k)}: must be a 1-d array of at least 2 wavenumbers")
        if np.any(np.diff(k) <= 0):
            raise ValueError(f"k={check.show(k)}: must be strictly increasing")
        gv = check.finite("g", g)
        if gv.shape != k.shape:
            raise ValueError(f"g: must have the shape of k ({k.shape}), got {gv.shape}")
        if np.any(gv < 0) or not np.any(gv > 0):
            raise ValueError(f"g={check.show(gv)}: must be >= 0 and not all zero")
        k, gv = k.astype(float), gv.astype(float)
        # on [k_i, k_i+1]: g = a_i + b_i k, so int g/k^2 = a_i (1/k - 1/k_i+1) + b_i ln(k_i+1/k)
        b = np.diff(gv) / np.diff(k)
        a = gv[:-1] - b * k[:-1]
        seg = a * (1 / k[:-1] - 1 / k[1:]) + b * np.log(k[1:] / k[:-1])
        suffix = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])

        def g_fn(x):
            x = np.asarray(x, float)
            return np.interp(x, k, gv, left=0.0, right=0.0)

        def tail(x):
            x = np.clip(np.asarray(x, float), k[0], k[-1])
            i = np.clip(np.searchsorted(k, x, side="right") - 1, 0, k.size - 2)
            return a[i] * (1 / x - 1 / k[i + 1]) + b[i] * np.log(k[i + 1] / x) + suffix[i + 1]

        ms = 8 * np.pi * float(np.sum(0.5 * (gv[1:] + gv[:-1]) * np.diff(k)))
        return cls._new("tabulated", k[0], k[-1], {"k": k, "g": gv}, g_fn, tail, k, ms)

    @classmethod
    def from_modes(cls, wavenumbers, weights) -> Spectrum:
        """The discrete spectrum ``g = sum_n c_n delta(k - k_n)`` (``wavenumbers`` k_n > 0 in 1/length, ``weights``
        c_n >= 0 in 1/length^2, not all zero); ``8 pi c_n`` is the mean square a mode carries."""
        kn = check.positive("wavenumbers", wavenumbers).ravel().astype(float)
        cn = check.finite("weights", weights).ravel().astype(float)
        if kn.size == 0:
            raise ValueError("wavenumbers: empty (a spectrum needs at least one mode)")
        if cn.shape != kn.shape:
            raise ValueError(f"weights: must have one entry per wavenumber ({kn.size}), got {cn.size}")
        if np.any(cn < 0) or not np.any(cn > 0):
            raise ValueError(f"weights={check.show(cn)}: must be >= 0 and not all zero")
        order = np.argsort(kn, kind="stable")
        kn, cn = kn[order], cn[order]
        share = cn / kn ** 2
        suffix = np.concatenate([np.cumsum(share[::-1])[::-1], [0.0]])

        def g(k):
            raise ValueError("g: a discrete spectrum is a sum of delta functions (use .modes)")

        def tail(k):
            return suffix[np.searchsorted(kn, np.asarray(k, float), side="right")]

        return cls._new("discrete", kn[0], kn[-1], {}, g, tail, kn, 8 * np.pi * cn.sum(), modes=(kn, cn))

    @classmethod
    def from_field(cls, field) -> Spectrum:
        """The spectrum of one :class:`numerics.backtracking.turbulence.PlaneWaveField` realisation: ``c_n = |a_n|^2/(16 pi)`` at
        ``k_n = |k_n|`` (averaged over directions, polarisations and phases, the field's modes give (3.12) with this
        g; derivation ``qlt.general_spectrum``), so theory and simulation use the same spectrum.  The field must have
        modes and no regular part (003's QLT has none)."""
        for attr in ("wavevectors", "amplitudes", "regular"):
            if not hasattr(field, attr):
                raise ValueError(f"field={field!r}: expected a PlaneWaveField")
        if field.wavevectors.shape[0] == 0:
            raise ValueError("field: has no modes (an empty field has no spectrum)")
        if np.any(np.asarray(field.regular) != 0):
            raise ValueError(f"field: has a regular part Omega_0 = {check.show(field.regular)}; 003's QLT has none "
                             "(allowed: Omega_0 = 0)")
        kn = np.linalg.norm(field.wavevectors, axis=1)
        cn = np.sum(np.asarray(field.amplitudes) ** 2, axis=1) / (16 * np.pi)
        return cls.from_modes(kn, cn)

    # ------------------------------------------------------------------ evaluation
    def g(self, k):
        """``g(k)`` (1/length) at the wavenumbers ``k`` (1/length); zero outside the band."""
        return self._g(np.asarray(k, float))

    def tail(self, k):
        """``T(k) = int_k^k_in g(k')/k'^2 dk'`` (dimensionless); constant below k_out, zero above k_in."""
        return self._tail(np.asarray(k, float))

    @property
    def mean_square(self) -> float:
        """``<omega^2> = 8 pi int g dk`` (1/length^2); :attr:`rms` is its square root."""
        return self._mean_square

    @property
    def rms(self) -> float:
        return float(np.sqrt(self._mean_square))

    def __repr__(self) -> str:
        extra = "".join(f", {key}={val:g}" for key, val in self.params.items() if np.ndim(val) == 0)
        n = f", {self.modes[0].size} modes" if self.modes is not None else ""
        return f"Spectrum({self.kind}, k_out={self.k_out:g}, k_in={self.k_in:g}{extra}{n})"


def _scalar_error(name):
    raise ValueError(f"{name}: must be a single number")


def _log_edges(k_out: float, k_in: float) -> np.ndarray:
    """Panel edges in k with ratio <= sqrt(2) (20-point Gauss-Legendre is exact to double precision for smooth g)."""
    n = max(1, int(np.ceil(2 * np.log2(k_in / k_out))))
    return np.geomspace(k_out, k_in, n + 1)


def _gl_on(edges: np.ndarray):
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    panel = np.repeat(np.arange(len(edges) - 1), _NODES)
    return (mid + half * _GL_X).ravel(), (half * _GL_W).ravel(), panel


def _need_band(k_out, k_in) -> None:
    if k_out is None or k_in is None:
        raise ValueError("k_out, k_in: give the white-noise band (k_out, k_in[, g_out]) or spectrum=")


def _as_spectrum(spectrum, k_out, k_in, g_out) -> Spectrum:
    """The spectrum argument, or white noise from (k_out, k_in, g_out); both at once is an error."""
    if spectrum is None:
        _need_band(k_out, k_in)
        return Spectrum.white_noise(k_out, k_in, g_out)
    if not isinstance(spectrum, Spectrum):
        raise ValueError(f"spectrum={spectrum!r}: must be a numerics.qlt.Spectrum")
    if k_out is not None or k_in is not None:
        raise ValueError("k_out, k_in: give either the white-noise band or spectrum=, not both")
    return spectrum


def _integrals(spec: Spectrum, delta_t: float, lmax_j: int) -> tuple[np.ndarray, np.ndarray]:
    """(Lambda_l, kappa_{lA lB}) for l, lA, lB <= lmax_j at one dT (derivation ``qlt.general_spectrum``)."""
    alpha, beta = spec.k_in * delta_t, spec.k_out * delta_t
    grade = []
    if beta > 0:  # power laws steep at the lower edge: panels growing by _GRADE from beta up to pi
        top = min(np.pi, alpha)
        e = beta * _GRADE
        while e < top:
            grade.append(e)
            e *= _GRADE
    breaks = [beta, *grade, *(spec._breaks * delta_t)]
    xs, ws = _panels(0.0, alpha, breaks, degree=2 * lmax_j + 2)
    if spec.modes is None:
        J = j_integral(lmax_j, xs)
        lam = J @ (ws * spec.tail(xs / delta_t))
        inside = xs >= beta
        Jin = J[:, inside]
        kap = (Jin * (ws[inside] * delta_t * spec.g(xs[inside] / delta_t) / xs[inside] ** 2)) @ Jin.T
    else:
        kn, cn = spec.modes
        J = j_integral(lmax_j, np.concatenate([xs, kn * delta_t]))
        lam = J[:, :xs.size] @ (ws * spec.tail(xs / delta_t))
        Jn = J[:, xs.size:]
        kap = (Jn * (cn / kn ** 2)) @ Jn.T
    return lam, 0.5 * (kap + kap.T)


def _dimensionless(lmax_j: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """(Lambda_l, kappa_{lA lB}) / (g_out dT) of white noise, for l <= lmax_j: functions of (alpha, beta) alone."""
    return _integrals(Spectrum._white(beta, alpha, 1.0), 1.0, lmax_j)


def _check_reach(spec: Spectrum, delta_t) -> None:
    reach, least = spec.k_in * np.max(delta_t), spec.k_in * np.min(delta_t)
    if reach > ALPHA_MAX or least < ALPHA_MIN:
        raise ValueError(f"delta_t={check.show(delta_t)}: k_in delta_t is outside [{ALPHA_MIN:g}, {ALPHA_MAX:g}] "
                         f"(allowed range [{ALPHA_MIN / spec.k_in:.4g}, {ALPHA_MAX / spec.k_in:.4g}] "
                         f"for k_in = {spec.k_in:g})")


def _scales(delta_t, k_out, k_in, g_out):
    delta_t = check.positive("delta_t", delta_t)
    k_out, k_in = _band(k_out, k_in)
    g_out = check.positive("g_out", g_out)
    alpha = k_in * delta_t
    if np.any(alpha > ALPHA_MAX) or np.any(alpha < ALPHA_MIN):
        raise ValueError(f"delta_t={check.show(delta_t)}: alpha = k_in delta_t = {float(np.max(alpha)):.4g} is outside "
                         f"[{ALPHA_MIN:g}, {ALPHA_MAX:g}] (allowed range [{ALPHA_MIN:g}/k_in, {ALPHA_MAX:g}/k_in])")
    return delta_t, k_out, k_in, g_out


def _per_delta_t(delta_t, spectrum, lmax_j):
    """{dT: (Lambda, kappa)} for every distinct dT, validated against the spectrum's reach."""
    delta_t = check.positive("delta_t", delta_t)
    _check_reach(spectrum, delta_t)
    return delta_t, {float(d): _integrals(spectrum, float(d), lmax_j) for d in np.unique(delta_t)}


def lambda_l(ell, delta_t, k_out=None, k_in=None, g_out=1.0, *, spectrum=None):
    """Lambda_l(dT) of 003 eq. (3.14) (vectorised over ``ell`` and ``delta_t``; dimensionless).

    Parameters
    ----------
    ell : int or array of int, 0 <= ell <= 256
    delta_t : float or array, with 1e-8 <= k_in delta_t <= 1e3 (ALPHA_MIN, ALPHA_MAX) (a time: units of the length)
    k_out, k_in : floats, 0 < k_out < k_in -- the band of a white-noise spectrum (or ``spectrum=``)
    g_out : float, > 0 -- the white-noise level (3.12)
    spectrum : :class:`Spectrum`, optional -- any isotropic spectrum instead of (k_out, k_in, g_out)

    Notes
    -----
    Only Lambda_0 and Lambda_2 enter M^(1a) (3.15).  For white noise and k_out dT -> 0,
    ``(8/3)(Lambda_0 - Lambda_2/2)/(g_out dT) -> 2 a 2F3(1/2,1/2;3/2,3/2,3/2;-a^2/4) - Si a - cos a/a + sin a/a^2``
    with a = alpha (the corrected (3.16)).
    """
    ell = check.integers("ell", ell, 0, ELL_MAX)
    if spectrum is not None:
        spec = _as_spectrum(spectrum, k_out, k_in, g_out)
        delta_t, table = _per_delta_t(delta_t, spec, int(np.max(ell)) if np.size(ell) else 0)
        ell, dt = np.broadcast_arrays(ell, delta_t)
        out = np.empty(ell.shape)
        for d, (lam, _) in table.items():
            sel = dt == d
            out[sel] = lam[ell[sel]]
        return out
    _need_band(k_out, k_in)
    delta_t, k_out, k_in, g_out = _scales(delta_t, k_out, k_in, g_out)
    ell, dt, ko, ki, g = np.broadcast_arrays(ell, delta_t, k_out, k_in, g_out)
    out = np.empty(ell.shape)
    lmax = int(ell.max()) if ell.size else 0
    for key in set(zip(dt.ravel(), ko.ravel(), ki.ravel())):
        sel = (dt == key[0]) & (ko == key[1]) & (ki == key[2])
        lam, _ = _dimensionless(lmax, key[2] * key[0], key[1] * key[0])
        out[sel] = lam[ell[sel]] * key[0] * g[sel]
    return out


def kappa(l_a, l_b, delta_t, k_out=None, k_in=None, g_out=1.0, *, spectrum=None):
    """kappa_{lA lB}(dT) as it enters (3.21) and (3.23): ``int dk g(k) h_lA h_lB``, h_l = int_0^dT j_l(k tau) dtau.

    Vectorised over ``l_a``, ``l_b`` and ``delta_t`` (integers 0..256); see :func:`lambda_l` for the other
    parameters.  Symmetric in (l_a, l_b) and positive on the diagonal.
    """
    l_a = check.integers("l_a", l_a, 0, ELL_MAX)
    l_b = check.integers("l_b", l_b, 0, ELL_MAX)
    if spectrum is not None:
        spec = _as_spectrum(spectrum, k_out, k_in, g_out)
        lmax = int(max(np.max(l_a), np.max(l_b))) if np.size(l_a) and np.size(l_b) else 0
        delta_t, table = _per_delta_t(delta_t, spec, lmax)
        la, lb, dt = np.broadcast_arrays(l_a, l_b, delta_t)
        out = np.empty(la.shape)
        for d, (_, kap) in table.items():
            sel = dt == d
            out[sel] = kap[la[sel], lb[sel]]
        return out
    _need_band(k_out, k_in)
    delta_t, k_out, k_in, g_out = _scales(delta_t, k_out, k_in, g_out)
    la, lb, dt, ko, ki, g = np.broadcast_arrays(l_a, l_b, delta_t, k_out, k_in, g_out)
    out = np.empty(la.shape)
    lmax = int(max(la.max(), lb.max())) if la.size else 0
    for key in set(zip(dt.ravel(), ko.ravel(), ki.ravel())):
        sel = (dt == key[0]) & (ko == key[1]) & (ki == key[2])
        _, kap = _dimensionless(lmax, key[2] * key[0], key[1] * key[0])
        out[sel] = kap[la[sel], lb[sel]] * key[0] * g[sel]
    return out


# ----------------------------------------------------------------------------- Wigner algebra (cached per lmax)
@functools.lru_cache(maxsize=4)
def _geometry(lmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of kappa in M^(1c,0) and M^(1c,2) (eqs. (3.21), (3.23)).

    Returns ``G0[l, l0, lA]`` (coefficient of kappa_{lA lA}) and ``G2[l, l0, lA, d]`` (coefficient of
    kappa_{lA, lA + 2d - 2}, d = 0, 1, 2), and the index array of lB.
    """
    L = np.arange(lmax + 1)
    LA = np.arange(2 * lmax + 1)
    l, l0, la = np.meshgrid(L, L, LA, indexing="ij")
    w_a = wigner_3j_zero(l, la, l0)
    G0 = (8 * np.pi / 3) * (2 * la + 1) * w_a ** 2 * (2 * l0 + 1) * l0 * (l0 + 1)
    G2 = np.zeros(l.shape + (3,))
    pref0 = np.zeros(lmax + 1)
    w_00 = wigner_3j_zero(L, 2, L)
    nz = L >= 1
    pref0[nz] = (4 * np.pi / 3) * L[nz] * (L[nz] + 1) * (2 * L[nz] + 1) / w_00[nz] * (-1.0) ** L[nz]
    for d in range(3):
        lb = la + 2 * d - 2
        ok = (lb >= 0) & (lb <= 2 * lmax) & (w_a != 0) & (l0 >= 1)
        lb_c = np.clip(lb, 0, 2 * lmax)
        w_b = np.where(ok, wigner_3j_zero(l, lb_c, l0), 0.0)
        ok &= w_b != 0
        idx = np.nonzero(ok)
        six = wigner_6j(2, l0[idx], l0[idx], l[idx], la[idx], lb_c[idx])
        phase = (-1.0) ** ((la[idx] + lb_c[idx]) // 2)  # i^(lA + lB), lA + lB even
        G2[idx + (d,)] = (pref0[l0[idx]] * phase * (2 * la[idx] + 1) * (2 * lb_c[idx] + 1) * six
                          * wigner_3j_zero(2, la[idx], lb_c[idx]) * w_a[idx] * w_b[idx])
    return G0, G2




def _assemble(lmax: int, lam: np.ndarray, kap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M^(1a), M^(1c,0), M^(1c,2)) from Lambda_l (l <= 2) and kappa_{lA lB} (lA, lB <= 2 lmax)."""
    G0, G2 = _geometry(lmax)
    L = np.arange(lmax + 1)
    m1a = np.diag(-(8 * np.pi / 3) * (lam[0] - lam[2] / 2) * L * (L + 1))
    m1c0 = G0 @ np.diag(kap)
    LA = np.arange(2 * lmax + 1)
    m1c2 = np.zeros_like(m1c0)
    for d in range(3):
        lb = np.clip(LA + 2 * d - 2, 0, 2 * lmax)
        m1c2 += G2[..., d] @ kap[LA, lb]
    return m1a, m1c0, m1c2


def _mixing_dimensionless(lmax: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M^(1a), M^(1c,0), M^(1c,2)) / (g_out dT) of white noise."""
    return _assemble(lmax, *_dimensionless(2 * lmax, alpha, beta))


def _alpha(alpha):
    """alpha = k_in dT in [ALPHA_MIN, ALPHA_MAX] (the one bound of the module, used by the CLI too)."""
    a = check.finite("alpha", alpha)
    if np.any(a < ALPHA_MIN) or np.any(a > ALPHA_MAX):
        raise ValueError(f"alpha={check.show(alpha)}: outside the allowed range [{ALPHA_MIN:g}, {ALPHA_MAX:g}]")
    return a


def clear_caches() -> None:
    """Forget the cached Wigner-symbol geometry and series matrices (what a cold :func:`steady_state` recomputes)."""
    _geometry.cache_clear()
    _series_matrix.cache_clear()


def check_lmax(lmax) -> int:
    """``lmax`` of the transition matrix and the steady state, checked: an integer in [2, LMAX]."""
    return check.integer("lmax", lmax, 2, LMAX)


def mixing_matrices(lmax, delta_t, k_out=None, k_in=None, g_out=1.0, *, spectrum=None) -> dict[str, np.ndarray]:
    """The second-order mixing matrices M^(1a), M^(1c,0), M^(1c,2) of (3.15), (3.21), (3.23), l, l0 = 0..lmax.

    Returns a dict with keys ``"1a"`` (one of the two equal diagrams (1a), (1b)), ``"1c0"`` and ``"1c2"``; the
    full matrix is ``M = 1 + 2 M^(1a) + M^(1c,0) + M^(1c,2)``.  Rows are l, columns l0.  The spectrum is the
    white-noise band (k_out, k_in, g_out) or ``spectrum=`` (a :class:`Spectrum`); ``delta_t`` a single number.
    """
    lmax = check_lmax(lmax)
    spec = _as_spectrum(spectrum, k_out, k_in, g_out)
    if np.ndim(delta_t) or np.ndim(g_out):
        raise ValueError("mixing_matrices: delta_t and g_out must be scalars")
    dt = check.positive("delta_t", delta_t, single=True)
    _check_reach(spec, dt)
    m1a, m1c0, m1c2 = _assemble(lmax, *_integrals(spec, dt, 2 * lmax))
    return {"1a": m1a, "1c0": m1c0, "1c2": m1c2}


def transition_matrix(lmax, delta_t, k_out=None, k_in=None, g_out=1.0, *, spectrum=None) -> np.ndarray:
    """The transition matrix A = (1 - M)/dT of (3.5), l, l0 = 0..lmax (a rate: 1/time).

    At second order in the turbulence, for white noise A is exactly ``g_out`` times a function of alpha = k_in dT
    and beta = k_out dT.  Column 0 vanishes; ``sum_l (2l+1) A_{l l0} = 0`` up to the power that couplings carry
    beyond lmax.  Parameters as :func:`mixing_matrices`.

    >>> A = transition_matrix(8, 0.5, 1e-3, 10.0)
    >>> bool(np.all(A[:, 0] == 0) and A[1, 1] > 0)
    True
    """
    M = mixing_matrices(lmax, delta_t, k_out, k_in, g_out, spectrum=spectrum)
    return -(2 * M["1a"] + M["1c0"] + M["1c2"]) / float(delta_t)


def steady_state_from_rates(A, source=1.0, closure="conservative") -> np.ndarray:
    """The steady state of (3.7), ``sum_{l0 >= 1} A_{l l0} C_l0 = source delta_{l1}`` for l >= 1, from any transition
    matrix ``A`` (square, rows l and columns l0 = 0..n-1, a rate: 1/time), e.g. ``(1 - M(dT))/dT`` of a *measured*
    propagator.  Returns C_1..C_{n-1} in units of source x time.  ``closure`` as in :func:`steady_state`
    ("conservative": what a column loses beyond the truncation stays at l0).  Raises ValueError for a matrix that is
    not square (n >= 3), not finite, singular, or gives non-positive power.

    >>> A = transition_matrix(16, 0.1, 1e-3, 1e2)
    >>> bool(np.allclose(steady_state_from_rates(A), steady_state(16, 10.0, 1e-3, 1e2), rtol=1e-12))
    True
    """
    A = check.finite("A", A)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 3:
        raise ValueError(f"A=array of shape {A.shape}: expected a square matrix with at least 3 rows (l = 0..2)")
    source = check.positive("source", source, single=True) if np.ndim(source) == 0 else _scalar_error("source")
    check.choice("closure", closure, ("conservative", "absorbing"))
    return _solve_steady(A, source, closure, "A")


def _solve_steady(A: np.ndarray, source: float, closure: str, what: str) -> np.ndarray:
    lmax = A.shape[0] - 1
    if closure == "conservative":
        w = 2.0 * np.arange(lmax + 1) + 1
        A = A - np.diag((w @ A) / w)  # what the column loses beyond lmax stays at l0
    rhs = np.zeros(lmax)
    rhs[0] = source
    try:
        C = np.linalg.solve(A[1:, 1:], rhs)
    except np.linalg.LinAlgError:
        raise ValueError(f"{what}: the rates restricted to l, l0 >= 1 are singular (no decay: no steady state)") from None
    if not np.all(np.isfinite(C)) or np.any(C <= 0):
        bad = int(np.argmax(~np.isfinite(C) | (C <= 0))) + 1
        raise ValueError(f"{what}, lmax={lmax}: the truncated steady state has non-positive power at l = {bad} "
                         f"(C_l = {C[bad - 1]:.3g}); raise lmax or lower alpha")
    return C


def steady_state(lmax, alpha=None, k_out=None, k_in=None, g_out=1.0, source=1.0, closure="conservative", *,
                 spectrum=None, delta_t=None) -> np.ndarray:
    """Steady-state spectrum of (3.7), ``C_l`` for **l = 1..lmax** (an array of length lmax).

    Parameters
    ----------
    lmax : int, 2 <= lmax <= 128
    alpha : float, ALPHA_MIN = 1e-8 <= alpha <= 1e3 -- k_in dT (white noise; with ``spectrum=`` it means delta_t = alpha/k_in)
    k_out, k_in : the white-noise band, 0 < k_out < k_in; ``k_in = inf`` is the paper's limit (k_out dT -> 0)
    g_out : float, > 0 -- the spectral level; C scales as source/g_out
    source : float, > 0 -- ``s = (8 pi/3) K |grad f|^2`` of (3.7) (corrected; the print has 8 pi/9, see the errata)
    closure : ``"conservative"`` (default) or ``"absorbing"`` -- how the couplings to l > lmax are truncated
    spectrum : :class:`Spectrum`, optional -- any isotropic spectrum instead of (k_out, k_in, g_out); then give
        ``delta_t`` (1e-8 <= k_in delta_t <= 1e3) or ``alpha``, and C is in units of source x time

    Notes
    -----
    The monopole is not stationary (it grows at dC_0/dt = 3 source).

    Truncation.  The couplings reach |l - l0| ~ alpha, so any lmax cuts some.  ``"absorbing"`` keeps them in
    the loss rates (power that leaves l <= lmax is lost); the chain is recurrent in l, that power would come
    back, and C_l then converges only like lmax^-0.2 (C_1 at alpha = 50 is still 57 % low at lmax = 128).
    ``"conservative"`` drops them from gain and loss alike (the columns keep sum_l (2l+1) A_{l l0} = 0); it
    converges fast once lmax exceeds ~alpha: C_1 changes by < 1e-6 between lmax = 64 and 128 at alpha = 50
    and by < 1e-10 at alpha = 10 from lmax = 32, but by 1.8 % at alpha = 100 and 7 % at alpha = 200.
    Raises ValueError if the truncated system gives non-positive power.

    Examples
    --------
    >>> c = steady_state(32, 10.0, 1.0, float("inf"))
    >>> round(float(c[0]), 6), bool(np.all(np.diff(c) < 0))
    (0.054293, True)
    """
    lmax = check_lmax(lmax)
    source = check.positive("source", source, single=True) if np.ndim(source) == 0 else _scalar_error("source")
    check.choice("closure", closure, ("conservative", "absorbing"))
    if spectrum is not None:
        spec = _as_spectrum(spectrum, k_out, k_in, g_out)
        if (alpha is None) == (delta_t is None):
            raise ValueError("delta_t, alpha: give exactly one of them with spectrum= (alpha means delta_t = alpha/k_in)")
        if alpha is not None:
            if np.ndim(alpha):
                _scalar_error("alpha")
            delta_t = float(_alpha(alpha)) / spec.k_in
        elif np.ndim(delta_t):
            _scalar_error("delta_t")
        dt = check.positive("delta_t", delta_t, single=True)
        _check_reach(spec, dt)
        m1a, m1c0, m1c2 = _assemble(lmax, *_integrals(spec, dt, 2 * lmax))
        return _solve_steady(-(2 * m1a + m1c0 + m1c2) / dt, source, closure, f"delta_t={dt:g}")
    if delta_t is not None:
        raise ValueError("delta_t: only with spectrum= (white noise takes alpha = k_in delta_t)")
    given = alpha
    alpha = float(_alpha(alpha)) if np.ndim(alpha) == 0 else None
    if alpha is None:
        raise ValueError(f"alpha={check.show(given)}: must be a single number (call once per alpha)")
    k_out, k_in = _band(k_out, k_in, allow_infinite=True)
    g_out = check.positive("g_out", g_out, single=True)
    beta = 0.0 if np.isinf(k_in) else alpha * float(k_out) / float(k_in)
    m1a, m1c0, m1c2 = _mixing_dimensionless(lmax, alpha, beta)
    return _solve_steady(-g_out * (2 * m1a + m1c0 + m1c2), source, closure, f"alpha={alpha:g}")
