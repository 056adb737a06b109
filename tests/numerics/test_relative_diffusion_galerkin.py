"""relative_diffusion.galerkin: the truncated rows of 002 eq. (14) converge to the stationary closed form like
lmax^-(2 - 2p).

The closed form (rd.cl, rd.monopole_rate) and the truncation share no code: the truncation integrates the matrix
elements by Gauss-Jacobi quadrature and solves the linear system as it stands.  The tested statements are the
convergence order (the error falls by q = 2^-(2-2p) when lmax doubles: the stationary C_l fall like l^(2p-4), so the
power (2l+1) C_l beyond lmax is ~ lmax^(2p-2)) and a Richardson step with that order, which must remove most
of the error.  Tolerances:

* the 0.03 band on e(2L)/e(L) - q: the observed deviations are next-order terms, largest at L = 80 (0.009 at p = 2/3,
  0.0035 at 1/3, 0.0015 at 1/2; monopole row <= 0.004) and shrinking as L doubles; a neighbouring order is well
  outside it (1/L instead of L^-(2-2p) changes q by 0.10 at p = 1/3 and by 0.13 at p = 2/3; 1/L^2 at p = 1/2 by 0.25);
* Richardson with order q leaves <= 0.026 of e(320) (p = 2/3; 0.015 of the monopole row's e(160)), against 1/10;
  a step with the wrong order leaves 0.4 to 0.5 of it;
* the printed (16) is >= 300 times further from the Richardson value than the stationary form is, against 10.
"""
from __future__ import annotations

import numpy as np
import pytest

from numerics import relative_diffusion as rd


@pytest.mark.parametrize("p", [1 / 3, 0.5, 2 / 3])
def test_converges_like_lmax_to_the_2p_minus_2_to_the_stationary_form(p):
    stationary = float(rd.cl(2, p) / rd.cl(1, p))
    printed = float(rd.cl(2, p, form="printed") / rd.cl(1, p, form="printed"))
    r = {L: (lambda c: c[1] / c[0])(rd.galerkin(L, p)[0]) for L in (80, 160, 320)}
    e = {L: r[L] - stationary for L in r}
    q = 2.0 ** -(2 - 2 * p)
    assert abs(e[160] / e[80] - q) < 0.03 and abs(e[320] / e[160] - q) < 0.03
    richardson = (r[320] - q * r[160]) / (1 - q)
    assert abs(richardson - stationary) < abs(e[320]) / 10
    assert abs(richardson - printed) > 10 * abs(richardson - stationary)  # the printed (16) is not the limit


@pytest.mark.parametrize("p", [1 / 3, 0.5, 2 / 3])
def test_monopole_row_tends_to_the_monopole_rate(p):
    rates = {L: rd.galerkin(L, p)[1] for L in (80, 160)}
    exact = float(rd.monopole_rate(p))
    q = 2.0 ** -(2 - 2 * p)
    assert abs((rates[160] - exact) / (rates[80] - exact) - q) < 0.03
    assert abs((rates[160] - q * rates[80]) / (1 - q) - exact) < abs(rates[160] - exact) / 10


@pytest.mark.parametrize("args,pattern", [((0, 0.5), "lmax=0"), ((10, 1.0), "p=1.0"), ((10, 0.0), "p=0.0"),
                                          ((2.5, 0.5), "lmax=2.5"), ((2001, 0.5), "lmax=2001"), ((10, np.nan), "p=nan"),
                                          (([10, 20], 0.5), "lmax="), ((10, [0.3, 0.5]), "p=")])
def test_bad_input(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        rd.galerkin(*args)


def test_the_first_coefficient_is_positive_and_the_spectrum_falls():
    c, _ = rd.galerkin(50, 0.5)
    assert c.shape == (50,) and np.all(np.diff(c[:10]) < 0) and c[0] > 0
