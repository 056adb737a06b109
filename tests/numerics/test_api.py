"""Physics of the public API: properties that hold for every input, and known numbers."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics import compton_getting as cg
from numerics import diffusion as dif
from numerics import observation as obs

finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def unit_vectors(draw):
    v = np.array([draw(st.floats(-1, 1, **finite)) for _ in range(3)])
    n = np.linalg.norm(v)
    if n < 1e-3:
        v, n = np.array([0.0, 0.0, 1.0]), 1.0
    return v / n


@settings(max_examples=200, deadline=None, derandomize=True)
@given(nu=st.floats(1e-3, 1e3, **finite), omega=st.floats(-1e3, 1e3, **finite), b=unit_vectors())
def test_bgk_tensor_inverts_the_stationary_dipole_operator(nu, omega, b):
    """3 K (nu + Omega bhat x) = 1: the defining relation of (51) with d_t Phi = 0."""
    K = dif.bgk_tensor(nu, omega, b)
    cross = np.array([np.cross(omega * b, e) for e in np.eye(3)]).T  # A w = Omega bhat x w
    np.testing.assert_allclose(3 * K @ (nu * np.eye(3) + cross), np.eye(3), atol=1e-10)
    sym = (K + K.T) / 2
    assert np.all(np.linalg.eigvalsh(sym) > 0)
    np.testing.assert_allclose(K @ b, b / (3 * nu), rtol=1e-10, atol=1e-14)  # parallel diffusion 1/(3 nu)


def test_bgk_broadcasts_over_rates_and_fields():
    nu = np.array([0.5, 1.0, 2.0])[:, None]
    b = np.array([[0, 0, 1.0], [1.0, 0, 0]])
    K = dif.bgk_tensor(nu, 1.5, b)
    assert K.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(K[1, 0], dif.bgk_tensor(1.0, 1.5, [0, 0, 1.0]))


def test_antisymmetric_sign_and_rates():
    K = dif.bgk_tensor(1.0, 2.0, [0, 0, 1])
    assert K[0, 1] == pytest.approx(1 / (3 * dif.nu_axial(1.0, 2.0))) and K[0, 1] > 0
    assert K[0, 0] == pytest.approx(1 / (3 * dif.nu_perp(1.0, 2.0)))
    assert dif.nu_perp(1.0, 2.0) == pytest.approx(5.0) and dif.nu_axial(1.0, 2.0) == pytest.approx(2.5)


def test_fick_and_standard_dipole_power():
    K = dif.bgk_tensor(1.0, 0.0, [0, 0, 1])  # isotropic 1/3
    g = np.array([0.0, 0.3, 0.4])
    np.testing.assert_allclose(dif.fick_dipole(K, g), g)
    assert dif.standard_dipole_power(K, g) == pytest.approx(4 * np.pi * (0.5 / 3) ** 2)


def test_compton_getting_numbers():
    assert np.linalg.norm(cg.dipole_shift([0, 0, 1e-4], 2.7)) == pytest.approx(4.7e-4)
    mean = cg.solar_yearly_mean(2.7)
    expected = 4.7 * 29.8 / cg.C_KM_S * np.cos(np.radians(23.4) / 2) ** 2
    np.testing.assert_allclose(mean, [0, expected, 0], atol=1e-18)
    assert round(float(np.linalg.norm(mean)), 5) == 4.5e-4  # review below eq. (62)
    np.testing.assert_allclose(cg.solar_yearly_mean(2.7, frame="sidereal"), 0.0, atol=0)
    # eq. (61) at t = 0 points along (0, cos eps, sin eps)
    d0 = cg.solar_dipole(0.0, 2.7, frame="sidereal")
    eps = np.radians(23.4)
    np.testing.assert_allclose(d0 / np.linalg.norm(d0), [0, np.cos(eps), np.sin(eps)], atol=1e-15)


def test_solar_dipole_vectorised_over_phase():
    ph = np.linspace(0, 2 * np.pi, 7)
    out = cg.solar_dipole(ph, 2.7, frame="solar")
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out[3], cg.solar_dipole(ph[3], 2.7, frame="solar"))


def test_galactic_motions_against_known_directions():
    m = cg.galactic_motions()
    # the Galactic rotation direction l = 90 deg lies near RA 318 deg, Dec +48.3 deg (Cygnus)
    assert m["galactic_rotation"]["ra_deg"] == pytest.approx(318.0, abs=0.1)
    assert m["galactic_rotation"]["dec_deg"] == pytest.approx(48.33, abs=0.05)
    assert m["galactic_rotation"]["projected_amplitude"] == pytest.approx(2.29e-3, rel=2e-3)
    for name in ("lsr_apex", "ism_flow"):
        assert 1e-4 <= m[name]["projected_amplitude"] < 1e-3


def test_dipole_alm_roundtrip_and_healpy_convention():
    from numerics.validation.analytic import dipole_alm_healpy

    d = np.array([1e-3, -2e-3, 5e-4])
    a11, a10 = obs.alm_from_dipole(d)
    np.testing.assert_allclose(obs.dipole_from_alm(a11, a10), d, rtol=1e-14)
    assert dipole_alm_healpy().verdict == "pass"


def test_east_west_callable_acceptance_matches_uniform_kernel():
    np.testing.assert_allclose(obs.east_west_step(40.0, acceptance=lambda th: 1.0), obs.east_west_step(40.0),
                               rtol=1e-10)
    # a cos(theta) acceptance weights small zenith angles: smaller step
    assert obs.east_west_step(40.0, acceptance=np.cos) < obs.east_west_step(40.0)


def test_declination_average_against_quadrature():
    from scipy.integrate import quad

    lo, hi = np.radians(-10.0), np.radians(70.0)
    mean_cos = quad(lambda d: np.cos(d) ** 2, lo, hi)[0] / (np.sin(hi) - np.sin(lo))
    assert obs.declination_average_factor(-10.0, 70.0) == pytest.approx(mean_cos, rel=1e-12)
    assert obs.dipole_coupling(-90.0, 90.0) == pytest.approx(1.0)


def test_noise_levels():
    assert obs.noise_uniform(0.29, 3.2e11) == pytest.approx(4 * np.pi * 0.29**2 / 3.2e11)
    # eq. (31) on a uniform pixelisation reproduces eq. (32)
    npix, f, ntot = 3072, 0.25, 1e8
    n_fov = int(f * npix)
    level = obs.noise_level(np.full(n_fov, ntot / n_fov), 4 * np.pi / npix)
    assert level == pytest.approx(float(obs.noise_uniform(n_fov / npix, ntot)), rel=1e-12)


def test_local_rotation_is_orthogonal():
    R = obs.local_rotation(np.array([0.0, 33.0, 270.0]), 19.0)
    assert R.shape == (3, 3, 3)
    for r in R:
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-15)


def test_motion_table_matches_theory():
    """numerics and theory keep the Sec. 3.2 motions separately (theory must not import numerics)."""
    from theory import compton_getting as tcg

    assert set(cg.MOTIONS) == set(tcg.MOTIONS)
    for name, values in cg.MOTIONS.items():
        assert values == tuple(float(x) for x in tcg.MOTIONS[name])
