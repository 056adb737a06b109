"""Issue 15, item 2 (part): numbers that used to come out silently wrong are now right or refused."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from numerics import hierarchy
from numerics.backtracking.boris import backtrack
from numerics.backtracking.turbulence import PlaneWaveField


@pytest.mark.parametrize("ell", [1, 1_660_000, 2_000_000, 123_456_789, 10 ** 9])
def test_hierarchy_ratio_is_exact_for_every_accepted_ell(ell):
    """18/((2l+1)(l+1)(l+2)) against exact rational arithmetic (int64 overflowed above l ~ 1.66e6: ratio(2e6) was
    -7.4e-18 and ratio(1e9) negative)."""
    exact = Fraction(18, (2 * ell + 1) * (ell + 1) * (ell + 2))
    got = float(hierarchy.ratio(ell))
    assert got > 0 and abs(got / float(exact) - 1) <= 4 * np.finfo(float).eps


@pytest.mark.parametrize("dt", [1e-20, 1e-300])
def test_a_step_count_beyond_int64_is_refused(dt):
    """dt = 1e-20 for T = 1 needs 1e20 steps: refused with the MAX_STEPS message (the int64 count used to wrap to a
    negative number, bypass the check and return the start state); dt = 1e-300 is below the smallest magnitude
    (numerics._validate.TINY) and refused by name before that."""
    field = PlaneWaveField.white_noise(4, 0.1, 1.0, rms=0.1, seed=1)
    with pytest.raises(ValueError, match="steps" if dt > 1e-100 else r"dt=.*allowed range"):
        backtrack(field, np.array([[0.0, 0.0, 1.0]]), [1.0], dt=dt)


@pytest.mark.parametrize("nu,omega", [(1e200, 1e-200), (1e-200, 0.0), (1e-300, 1e-300), (3.0, 1e250)])
def test_bgk_tensor_beyond_the_magnitude_bounds_is_refused(nu, omega):
    """nu = 1e200 used to give K_xx = 0; inputs beyond [1e-100, 1e100] in magnitude are now refused by name."""
    from numerics import diffusion

    with pytest.raises(ValueError, match=r"(nu|omega)=.*allowed range"):
        diffusion.bgk_tensor(nu, omega, [0.6, 0.0, 0.8])


@pytest.mark.parametrize("nu,omega", [(1e99, 1e-99), (1e-99, 0.0), (1e-99, 1e-99), (3.0, 1e99), (1e-100, 1.0)])
def test_bgk_tensor_at_extreme_rates_is_exact(nu, omega):
    """BGK's K is (1/3) times a function of (nu, Omega) homogeneous of degree -1: at the extremes of the allowed
    magnitudes it must equal the tensor at (1, Omega/nu) scaled exactly, not 0 or NaN."""
    from numerics import diffusion

    b = np.array([0.6, 0.0, 0.8])
    s = max(nu, abs(omega))
    ref = diffusion.bgk_tensor(nu / s, omega / s, b) / s
    got = diffusion.bgk_tensor(nu, omega, b)
    assert np.all(np.isfinite(got)) and np.allclose(got, ref, rtol=1e-14, atol=0.0)
    assert got[0, 0] > 0
    if omega / nu < 1e-100:  # no field to speak of: isotropic, K = 1/(3 nu) to rounding (K_A ~ Omega/nu^2 remains)
        assert np.allclose(got, np.eye(3) / (3 * nu), rtol=1e-15, atol=1e-15 / (3 * nu))


def test_bgk_tensor_that_would_overflow_is_refused():
    """nu = 1e-320 (subnormal) without a field: K = 1/(3 nu) ~ 3e319 is not a float64; refused, not NaN."""
    from numerics import diffusion

    with pytest.raises(ValueError, match=r"nu=.*allowed range \[1e-100, 1e\+100\]"):
        diffusion.bgk_tensor(1e-320, 0.0, [0.0, 0.0, 1.0])


def test_the_alpha_bound_is_one_closed_interval():
    """Issue 15, item 8 (part): alpha = k_in dT in [ALPHA_MIN, ALPHA_MAX], the same bound in steady_state (white noise
    and any spectrum) as in the CLI and the docstrings (steady_state used to refuse alpha = ALPHA_MAX itself; alpha
    below 1e-8 used to give a negative Lambda_l, and alpha = 5e-324 exhausted the memory)."""
    from numerics import qlt

    for call in (lambda a: qlt.steady_state(8, a, 1e-3, 1e2), lambda a: qlt.steady_state(
            8, a, spectrum=qlt.Spectrum.white_noise(1e-3, 1e2))):
        for refused in (qlt.ALPHA_MAX * (1 + 1e-12), 0.0, qlt.ALPHA_MIN * (1 - 1e-12), 5e-324):
            with pytest.raises(ValueError, match=r"alpha=.*\[1e-08, 1000\]"):
                call(refused)
        for edge in (qlt.ALPHA_MIN, qlt.ALPHA_MAX):
            try:
                call(edge)
            except ValueError as exc:  # lmax = 8 is far too small at the edges; refused for that, not for the range
                assert "allowed range" not in str(exc), exc


@pytest.mark.parametrize("form", ["stationary", "printed"])
@pytest.mark.parametrize("p", [1e-4, 1e-10, 1e-15, 1e-17, 1e-40, 0.5, 1 - 1e-9])
def test_relative_diffusion_spectrum_is_accurate_for_every_accepted_p(form, p):
    """<C_l> against 120-digit mpmath for l = 1, 2, 5: the dipole used to divide two vanishing factors ((p)_(4-2p) and
    1/Gamma(p)): 0.08 % off at p = 1e-15, inf below p ~ 1e-17.  The tolerance is 64 eps (a few gamma function
    evaluations, each good to a few eps)."""
    import mpmath as mp

    from numerics import relative_diffusion as rd

    def exact(ell):
        q = mp.mpf(p)
        stationary = 6 * (1 - q) * mp.gamma(1 - q) / (2 ** q * (2 - q) * mp.rf(ell + q - 1, 4 - 2 * q) * mp.gamma(q))
        if form == "stationary":
            return stationary
        return stationary * (2 - q) * (ell ** 2 + ell - q * (1 - q)) / (2 * (1 - q) * ell * (ell + 1))

    with np.errstate(all="raise"):
        got = rd.cl(np.array([1, 2, 5]), p, form=form)
    with mp.workdps(120):  # p = 1e-40 next to 1 needs more than 40 digits in the reference
        want = np.array([float(exact(ell)) for ell in (1, 2, 5)])
    assert np.all(np.isfinite(got)) and np.max(np.abs(got / want - 1)) <= 64 * np.finfo(float).eps
