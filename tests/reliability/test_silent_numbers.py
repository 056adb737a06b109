"""Issue 15, item 2 (part): numbers that used to come out silently wrong are now right or refused."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from numerics import hierarchy
from numerics.backtrack import backtrack
from numerics.turbulence import PlaneWaveField


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
    negative number, bypass the check and return the start state)."""
    field = PlaneWaveField.white_noise(4, 0.1, 1.0, rms=0.1, seed=1)
    with pytest.raises(ValueError, match="steps"):
        backtrack(field, np.array([[0.0, 0.0, 1.0]]), [1.0], dt=dt)
