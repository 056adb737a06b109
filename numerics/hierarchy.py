"""Hierarchical evolution of the ensemble-averaged power spectrum (slides "Evolution Model").

With partial rates nu_{l -> l+1} = nu l(l+1) and <C_l>(0) = C_1 delta_l1,

.. math::

    \\partial_t \\langle C_\\ell\\rangle = -\\nu\\ell(\\ell+1)\\langle C_\\ell\\rangle
        + \\nu(\\ell-1)\\ell\\,\\frac{2\\ell-1}{2\\ell+1}\\langle C_{\\ell-1}\\rangle .

The printed product solution is a sum of exponentials with alternating signs that cancels
catastrophically long before l = 100; :func:`cl` switches per (l, T) between that residue
series (where its own cancellation estimate says it is accurate) and uniformization of the
chain (all terms positive), so every value keeps ~1e-12 relative accuracy (derivations
``hierarchy.solution`` and ``hierarchy.total_power``).

The model does not conserve sum_l (2l+1) <C_l>: power leaks to l = oo in finite time,

.. math:: \\sum_{\\ell\\ge1}(2\\ell+1)\\langle C_\\ell\\rangle(T) = 3C_1\\Big[1-\\prod_{n\\ge1}(1-e^{-2n\\nu T})^3\\Big]

(:func:`total_power`), while its late-time shape is :func:`ratio`, 18/((2l+1)(l+1)(l+2)).
"""
from __future__ import annotations

import numpy as np

from numerics import _validate as check
from numerics.kernels import hierarchy as _k

__all__ = ["cl", "spectrum", "ratio", "total_power", "LMAX", "TAU_MAX"]


def _evaluator():
    """numerics._hierarchy_eval, imported on first use: it compiles with numba, which ``import numerics`` must not load."""
    from numerics import _hierarchy_eval

    return _hierarchy_eval

#: Largest multipole of the time-dependent solution (uniformization cost grows like l^2 nu T at small T).
LMAX = 200
#: Largest nu * T: beyond it <C_l> ~ e^(-2 nu T) underflows double precision.
TAU_MAX = 300.0


def _times(t, nu):
    given = t
    t = check.finite("t", t)
    if np.any(t < 0):
        raise ValueError(f"t={check.show(given)}: must be >= 0 (allowed range [0, {TAU_MAX:g}/nu])")
    nu = check.positive("nu", nu)
    tau = t * nu
    if np.any(tau > TAU_MAX):
        raise ValueError(f"t={check.show(given)}: nu*t = {float(np.max(tau)):.4g} exceeds {TAU_MAX:g} "
                         "(<C_l> ~ exp(-2 nu t) underflows double precision)")
    return tau


def cl(ell, t, nu=1.0, c1=1.0):
    """<C_l>(t) of the hierarchical model, vectorised (ell, t, nu, c1 broadcast together).

    Parameters
    ----------
    ell : int or array of int, 1 <= ell <= 200
    t : float or array, >= 0, with nu * t <= 300
    nu : float or array, > 0 -- the rate scale, nu_l = nu l(l+1)
    c1 : float or array, > 0 -- the initial dipole power C_1(0)

    Examples
    --------
    >>> round(float(cl(1, 1.0)), 12)  # the dipole decays at 2 nu: exp(-2)
    0.135335283237
    >>> round(float(cl(5, 100.0) / cl(1, 100.0) / ratio(5)), 12)
    1.0
    """
    ell = check.integers("ell", ell, 1, LMAX)
    tau = _times(t, nu)
    c1 = check.positive("c1", c1)
    ell_b, tau_b, c1_b = np.broadcast_arrays(ell, tau, c1)
    if ell_b.size == 0:
        return np.zeros(ell_b.shape)
    uniq, inverse = np.unique(tau_b, return_inverse=True)
    y = _evaluator().hierarchy_y(int(ell_b.max()), uniq)  # (n_tau, lmax)
    vals = y[inverse.reshape(tau_b.shape), ell_b - 1]
    out = 3.0 * c1_b * vals / (2 * ell_b + 1)
    return out[()] if out.ndim == 0 else out


def spectrum(lmax, t, nu=1.0, c1=1.0) -> np.ndarray:
    """<C_l>(t) for l = 1..lmax at every time in ``t``: an array of shape (len(t), lmax)."""
    lmax = check.integer("lmax", lmax, 1, LMAX)
    tau = np.atleast_1d(_times(t, nu)).astype(float)
    c1 = check.positive("c1", c1, single=True)
    ells = np.arange(1, lmax + 1)
    return 3.0 * c1 * _evaluator().hierarchy_y(lmax, tau) / (2 * ells + 1)


def ratio(ell):
    """lim_{T->oo} <C_l>/<C_1> = 18/((2l+1)(l+1)(l+2)) (slides "Evolution Model"; any l >= 1)."""
    # in float64: the int64 product (2l+1)(l+1)(l+2) overflows above l ~ 1.66e6
    return _k.ratio(check.integers("ell", ell, 1, 10 ** 9).astype(float))


def total_power(t, nu=1.0, c1=1.0):
    """sum_{l>=1} (2l+1) <C_l>(t) = 3 c1 [1 - prod_n (1 - exp(-2 n nu t))^3]: it decays from 3 c1 to 0."""
    tau = _times(t, nu)
    return 3.0 * check.positive("c1", c1) * _evaluator().hierarchy_total(tau)
