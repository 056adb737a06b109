"""Issue 15: every public numeric function, fed hostile values (hypothesis), is correct or refuses.

For each function a valid call is written out below; hypothesis then replaces one argument at a time with a value
drawn from a hostile strategy — every float (NaN, ±inf, subnormals, ±1.8e308, -0.0 included), huge and negative
integers, non-numbers — and the call must either

* return finite numbers (no NaN, no inf) that keep the sign the function promises, or
* raise ValueError or TypeError whose message names the argument,

and nothing else: no other exception (a traceback from inside numpy, scipy or numba), no warning turned into a
silently wrong value.  Sample size: ``EXAMPLES`` draws per (function, argument), seeded (derandomize), so a run is
reproducible; the kσ language does not apply (each draw is a pass/fail case, not a statistic).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numerics import compton_getting as cg
from numerics import diffusion, hierarchy, observation, partial_sky, qlt, wigner
from numerics import relative_diffusion as rd
from numerics import relative_scattering as rsc

EXAMPLES = 60

HOSTILE_FLOATS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, 1e-300, 1e-17, 1e300, 1.7976931348623157e308,
                     -1.0, -1e300]),
    st.floats(allow_nan=True, allow_infinity=True))
HOSTILE_INTS = st.one_of(
    st.sampled_from([-1, 0, 2**31, 2**63, 10**18, 10**30]), st.integers(-10**6, 10**12))
NOT_NUMBERS = st.sampled_from(["1", None, [], {}, "nan", b"1", object()])
HOSTILE = st.one_of(HOSTILE_FLOATS, HOSTILE_INTS, NOT_NUMBERS)

B = np.array([0.0, 0.0, 1.0])
K = np.diag([2.0, 1.0, 1.0])


def _nonneg(out):
    return all(np.all(np.asarray(a) >= 0) for a in out)


def _bgk_ok(out):
    t = out[0]
    return bool(np.all(np.linalg.eigvalsh(0.5 * (t + np.swapaxes(t, -1, -2))) > 0))


# name -> (function, valid keyword arguments, sign check or None)
CASES = {
    "diffusion.bgk_tensor": (diffusion.bgk_tensor, dict(nu=1.0, omega=2.0, bhat=B), _bgk_ok),
    "diffusion.nu_perp": (diffusion.nu_perp, dict(nu=1.0, omega=2.0), _nonneg),
    "diffusion.nu_axial": (diffusion.nu_axial, dict(nu=1.0, omega=2.0), None),
    "diffusion.fick_dipole": (diffusion.fick_dipole, dict(K=K, grad_ln_n=np.array([0.0, 0.0, 1e-3])), None),
    "diffusion.standard_dipole_power": (diffusion.standard_dipole_power,
                                        dict(K=K, grad_ln_n=np.array([0.0, 0.0, 1e-3])), _nonneg),
    "compton_getting.dipole_shift": (cg.dipole_shift, dict(beta=np.array([0.0, 1e-4, 0.0]), spectral_index=2.7), None),
    "compton_getting.solar_dipole": (cg.solar_dipole, dict(phase=0.3, spectral_index=2.7, v_orbit_km_s=29.8,
                                                           obliquity_deg=23.4), None),
    "compton_getting.solar_yearly_mean": (cg.solar_yearly_mean, dict(spectral_index=2.7, v_orbit_km_s=29.8,
                                                                     obliquity_deg=23.4), None),
    "compton_getting.motion_dipole": (cg.motion_dipole, dict(speed_km_s=20.0, l_deg=30.0, b_deg=10.0,
                                                             spectral_index=2.7), None),
    "observation.dipole_from_alm": (observation.dipole_from_alm, dict(a11=0.1 + 0.2j, a10=0.3), None),
    "observation.alm_from_dipole": (observation.alm_from_dipole, dict(delta=np.array([1e-3, 0.0, 2e-3])), None),
    "observation.east_west_step": (observation.east_west_step, dict(theta_max_deg=45.0), None),
    "observation.declination_average_factor": (observation.declination_average_factor,
                                               dict(dec_min_deg=-20.0, dec_max_deg=70.0), _nonneg),
    "observation.dipole_coupling": (observation.dipole_coupling, dict(dec_min_deg=-20.0, dec_max_deg=70.0), None),
    "observation.noise_level": (observation.noise_level, dict(n_events=1e6, pixel_area=1e-3), _nonneg),
    "observation.noise_uniform": (observation.noise_uniform, dict(f_sky=0.7, n_total=1e9), _nonneg),
    "observation.local_rotation": (observation.local_rotation, dict(sidereal_angle_deg=30.0, latitude_deg=45.0), None),
    "relative_diffusion.cl": (rd.cl, dict(ell=5, p=0.5, q1=1.0, nu0=1.0), _nonneg),
    "relative_diffusion.asymptote": (rd.asymptote, dict(ell=5, p=0.5, q1=1.0, nu0=1.0), _nonneg),
    "relative_diffusion.monopole_rate": (rd.monopole_rate, dict(p=0.5, q1=1.0), None),
    "relative_diffusion.galerkin": (rd.galerkin, dict(lmax=20, p=0.5), None),
    "relative_diffusion.noise_level": (rd.noise_level, dict(n_pix=3072, t=1e6, ksg=0.1), _nonneg),
    "relative_diffusion.noise_variance": (rd.noise_variance, dict(noise=1e-6, ell=5), _nonneg),
    "relative_diffusion.cosmic_variance": (rd.cosmic_variance, dict(cl_value=1e-6, ell=5), _nonneg),
    "hierarchy.cl": (hierarchy.cl, dict(ell=5, t=2.0, nu=1.0, c1=1.0), _nonneg),
    "hierarchy.spectrum": (hierarchy.spectrum, dict(lmax=20, t=2.0, nu=1.0, c1=1.0), _nonneg),
    "hierarchy.ratio": (hierarchy.ratio, dict(ell=5), _nonneg),
    "hierarchy.total_power": (hierarchy.total_power, dict(t=2.0, nu=1.0, c1=1.0), _nonneg),
    "qlt.lambda_l": (qlt.lambda_l, dict(ell=3, delta_t=2.0, k_out=1.0, k_in=10.0, g_out=1.0), _nonneg),
    "qlt.kappa": (qlt.kappa, dict(l_a=2, l_b=3, delta_t=2.0, k_out=1.0, k_in=10.0, g_out=1.0), None),
    "qlt.steady_state": (qlt.steady_state, dict(lmax=8, alpha=20.0, k_out=1.0, k_in=50.0, g_out=1.0, source=1.0),
                         _nonneg),
    "qlt.g_out_from_rms": (qlt.g_out_from_rms, dict(omega_rms=1.0, k_out=1.0, k_in=10.0), _nonneg),
    "qlt.j_integral": (qlt.j_integral, dict(lmax=6, x=3.0), None),
    "wigner.wigner_3j_zero": (wigner.wigner_3j_zero, dict(l1=2, l2=3, l3=3), None),
    "wigner.wigner_3j": (wigner.wigner_3j, dict(l1=2, l2=3, l3=3, m1=1, m2=-1, m3=0), None),
    "wigner.wigner_6j": (wigner.wigner_6j, dict(j1=1, j2=2, j3=3, j4=2, j5=1, j6=2), None),
    "wigner.wigner_6j_table_2": (wigner.wigner_6j_table_2, dict(lmax=6), None),
    "partial_sky.band_weight_moments": (partial_sky.band_weight_moments,
                                        dict(kmax=4, dec_min_deg=-20.0, dec_max_deg=70.0), None),
    "partial_sky.coupling": (partial_sky.coupling, dict(lmax=6, m=1, dec_min_deg=-20.0, dec_max_deg=70.0), None),
    "partial_sky.transfer": (partial_sky.transfer, dict(lmax=6, dec_min_deg=-20.0, dec_max_deg=70.0), _nonneg),
    "relative_scattering.pair_nodes": (rsc.pair_nodes, dict(s_lo=1e-8, n_panels=4, per_panel=3), _nonneg),
    "relative_scattering.simpson_weights": (rsc.simpson_weights, dict(times=np.array([0.0, 0.5, 1.0])), _nonneg),
    "relative_scattering.weak_integrand": (rsc.weak_integrand, dict(l=3, s=np.array([1e-6, 0.3, 1.0]), phi=1.0,
                                                                    phi_y=0.5, phi_yy=0.25), None),
    "relative_scattering.rate_from_table": (lambda x, values, tail_exponent: rsc.rate_from_table(
        x, values, tail_exponent=tail_exponent)(np.array([-1.0, 0.0, 0.999999])),
        dict(x=np.array([0.9, 0.0, -0.9]), values=np.array([0.1, 0.5, 0.6]), tail_exponent=0.5), _nonneg),
    "relative_scattering.model_pair_correlation": (rsc.model_pair_correlation, dict(
        p=0.5, nu0=1.0, l0max=2, times=np.array([0.0, 0.1]), s=np.array([0.01, 0.5]), kmax=12), None),
    "relative_scattering.stationary_spectrum": (lambda lmax, s_lo, tail_exponent: rsc.stationary_spectrum(
        lambda s: np.sqrt(s), lmax, s_lo=s_lo, tail_exponent=tail_exponent), dict(lmax=4, s_lo=1e-8, tail_exponent=0.25),
        None),
}

PAIRS = [(name, arg) for name, (_, kwargs, _) in CASES.items() for arg in kwargs]


def _arrays(out):
    if isinstance(out, dict):
        return [a for v in out.values() for a in _arrays(v)]
    if isinstance(out, (tuple, list)):
        return [a for v in out for a in _arrays(v)]
    return [np.asarray(out)]


def _finite(arrays) -> bool:
    for a in arrays:
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            return False
        if a.dtype.kind == "O":
            return False
    return True


def test_every_valid_call_is_finite_and_keeps_its_sign():
    for name, (fn, kwargs, sign) in CASES.items():
        out = _arrays(fn(**kwargs))
        assert _finite(out), name
        assert sign is None or sign(out), name


@pytest.mark.parametrize("name,arg", PAIRS, ids=[f"{n}:{a}" for n, a in PAIRS])
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(value=HOSTILE)
def test_a_hostile_argument_gives_a_right_answer_or_a_clean_error(name, arg, value):
    fn, kwargs, sign = CASES[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # an overflow inside numpy is a wrong number in the making
            out = fn(**{**kwargs, arg: value})
    except (ValueError, TypeError) as exc:
        assert arg in str(exc) or arg.split("_")[0] in str(exc), f"{name}({arg}={value!r}): {exc!r} does not name {arg}"
        return
    arrays = _arrays(out)
    assert _finite(arrays), f"{name}({arg}={value!r}) returned a non-finite value"
    assert sign is None or sign(arrays), f"{name}({arg}={value!r}) returned a value of the wrong sign"


def census() -> dict:
    """Every (function, argument) with each of a fixed list of hostile values, classified — the closing table of
    issue 15: ``python tests/reliability/test_properties.py``."""
    rng = np.random.default_rng(15)
    values = [math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, 1e-300, 1e-17, 1e300, 1.7976931348623157e308, -1.0,
              -1e300, -1, 0, 2**31, 2**63, 10**18, 10**30, "1", None, [], {}, "nan", b"1", object(), True]
    values += list(rng.standard_normal(10) * 10.0 ** rng.integers(-300, 300, 10))
    counts = {"cases": 0, "clean errors": 0, "right answers": 0, "wrong results": 0, "tracebacks": 0}
    for name, arg in PAIRS:
        fn, kwargs, sign = CASES[name]
        for v in values:
            counts["cases"] += 1
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    out = fn(**{**kwargs, arg: v})
            except (ValueError, TypeError) as exc:
                named = arg in str(exc) or arg.split("_")[0] in str(exc)
                counts["clean errors" if named else "tracebacks"] += 1
                continue
            except Exception:  # noqa: BLE001 - counted, that is the point
                counts["tracebacks"] += 1
                continue
            arrays = _arrays(out)
            ok = _finite(arrays) and (sign is None or sign(arrays))
            counts["right answers" if ok else "wrong results"] += 1
    return counts


if __name__ == "__main__":  # pragma: no cover
    print(f"{len(CASES)} functions, {len(PAIRS)} arguments:", census())
