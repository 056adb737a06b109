"""Bad input: a ValueError naming the parameter, the value and the allowed range, before any work."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from numerics import compton_getting as cg
from numerics import diffusion as dif
from numerics import hierarchy as hier
from numerics import observation as obs
from numerics import relative_diffusion as rd

Z = [0.0, 0.0, 1.0]

CASES = [
    ("nu", r"nu=0\.0: must be > 0", lambda: dif.bgk_tensor(0.0, 1.0, Z)),
    ("nu", r"nu=-1.*> 0", lambda: dif.bgk_tensor(-1.0, 1.0, Z)),
    ("nu nan", r"nu=nan: must be finite", lambda: dif.bgk_tensor(math.nan, 1.0, Z)),
    ("omega inf", r"omega=inf: must be finite", lambda: dif.bgk_tensor(1.0, math.inf, Z)),
    ("bhat not unit", r"bhat=.*must be a unit vector", lambda: dif.bgk_tensor(1.0, 1.0, [0, 0, 2])),
    ("bhat shape", r"bhat=.*expected shape \(3,\) or \(\.\.\., 3\)", lambda: dif.bgk_tensor(1.0, 1.0, [0, 1])),
    ("bhat nan", r"bhat=.*must be finite", lambda: dif.bgk_tensor(1.0, 1.0, [0, math.nan, 1])),
    ("bhat text", r"bhat='z'", lambda: dif.bgk_tensor(1.0, 1.0, "z")),
    ("speed", r"speed=1\.5: outside the allowed range \[0\.0, 1\.0\]", lambda: dif.bgk_tensor(1.0, 1.0, Z, 1.5)),
    ("speed zero", r"speed=.*\(0, 1\]", lambda: dif.bgk_tensor(1.0, 1.0, Z, 0.0)),
    ("nu_axial omega 0", r"omega=.*at least 1e-100", lambda: dif.nu_axial(1.0, 0.0)),
    ("K shape", r"K: expected shape", lambda: dif.fick_dipole(np.eye(2), [1, 0, 0])),
    ("beta = 1", r"beta=.*must be < 1", lambda: cg.dipole_shift([1.0, 0, 0], 2.7)),
    ("beta > 1", r"beta=.*must be < 1", lambda: cg.dipole_shift([[0, 0, 0.1], [0.8, 0.8, 0]], 2.7)),
    ("beta shape", r"beta=.*expected shape", lambda: cg.dipole_shift(0.1, 2.7)),
    ("beta inf", r"beta=.*must be finite", lambda: cg.dipole_shift([math.inf, 0, 0], 2.7)),
    ("spectral index", r"spectral_index=-1.*allowed range", lambda: cg.dipole_shift([0, 0, 0.1], -1.0)),
    ("frame", r"frame='lunar': must be one of 'solar', 'sidereal'", lambda: cg.solar_yearly_mean(2.7, frame="lunar")),
    ("v_orbit", r"v_orbit_km_s=-3.*allowed range", lambda: cg.solar_yearly_mean(2.7, v_orbit_km_s=-3)),
    ("v_orbit c", r"v_orbit_km_s=.*allowed range", lambda: cg.solar_yearly_mean(2.7, v_orbit_km_s=3e5)),
    ("obliquity", r"obliquity_deg=95.*\[0\.0, 90\.0\]", lambda: cg.solar_dipole(0.0, 2.7, obliquity_deg=95)),
    ("phase", r"phase=nan", lambda: cg.solar_dipole(math.nan, 2.7)),
    ("b_deg", r"b_deg=91.*\[-90\.0, 90\.0\]", lambda: cg.motion_dipole(20.0, 10.0, 91.0)),
    ("dec order", r"dec_min_deg=30.*dec_max_deg=10.*need dec_min_deg < dec_max_deg",
     lambda: obs.dipole_coupling(30.0, 10.0)),
    ("dec range", r"dec_max_deg=100.*\[-90\.0, 90\.0\] deg", lambda: obs.declination_average_factor(0.0, 100.0)),
    ("theta_max", r"theta_max_deg=0.*\[0\.1, 90\) deg", lambda: obs.east_west_step(0.0)),
    ("acceptance", r"acceptance=3: must be a callable", lambda: obs.east_west_step(40.0, acceptance=3)),
    ("f_sky", r"f_sky=1\.5.*\[0\.0, 1\.0\]", lambda: obs.noise_uniform(1.5, 1e6)),
    ("f_sky zero", r"f_sky=0.*\(0, 1\]", lambda: obs.noise_uniform(0.0, 1e6)),
    ("n_total", r"n_total=0.*> 0", lambda: obs.noise_uniform(0.5, 0)),
    ("n_events", r"n_events=.*> 0", lambda: obs.noise_level([10, 0, 3], 0.1)),
    ("weights shape", r"weights: shape", lambda: obs.noise_level([10, 2, 3], 0.1, weights=[1, 1])),
    ("a10 complex", r"a10=.*must be real", lambda: obs.dipole_from_alm(0.1 + 0.2j, 0.3 + 0.1j)),
    ("latitude", r"latitude_deg=-100.*\[-90\.0, 90\.0\] deg", lambda: obs.local_rotation(10.0, -100.0)),
    # relative diffusion
    ("p = 0", r"p=0\.0: outside the allowed range \(0\.0, 1\.0\)", lambda: rd.cl(3, 0.0)),
    ("p = 1", r"p=1\.0: outside the allowed range \(0\.0, 1\.0\)", lambda: rd.cl(3, 1.0)),
    ("p array", r"p=\[0\.5, 1\.5\]: outside", lambda: rd.cl(3, [0.5, 1.5])),
    ("ell 0", r"ell=0: outside the allowed range \[1, 1000000\]", lambda: rd.cl(0, 0.5)),
    ("ell fractional", r"ell=2\.5: must be an integer", lambda: rd.cl(2.5, 0.5)),
    ("ell too large", r"ell=.*outside the allowed range \[1, 1000000\]", lambda: rd.cl(10 ** 7, 0.5)),
    ("q1 negative", r"q1=-1.*> 0", lambda: rd.cl(1, 0.5, q1=-1.0)),
    ("form", r"form='paper': must be one of 'stationary', 'printed'", lambda: rd.cl(1, 0.5, form="paper")),
    ("lmax too large", r"lmax=501: outside the allowed range \[1, 500\]", lambda: rd.solve(lambda x: (1 - x) ** 0.5, 501)),
    ("lmax 0", r"lmax=0: outside the allowed range", lambda: rd.solve(lambda x: (1 - x) ** 0.5, 0)),
    ("nu_r negative", r"nu_r\(.*\) = .*must be > 0 on \(-1, 1\)", lambda: rd.solve(lambda x: (1 - x) ** 0.5 * (x + 0.5), 10)),
    ("nu_r(1) != 0", r"nu_r\(1\) = 2: must vanish", lambda: rd.solve(lambda x: 2 + 0 * x, 10)),
    ("nu_r diverges", r"\(1 - x\)\^1\.5 at x = 1: int dx/nu_r diverges", lambda: rd.solve(lambda x: (1 - x) ** 1.5, 10)),
    ("nu_r not callable", r"nu_r=3: expected a callable", lambda: rd.solve(3, 10)),
    # hierarchy
    ("t negative", r"t=-0\.5: must be >= 0", lambda: hier.cl(2, -0.5)),
    ("nu zero", r"nu=0\.0: must be > 0", lambda: hier.cl(2, 1.0, nu=0.0)),
    ("nu t too large", r"nu\*t = 400 exceeds 300", lambda: hier.cl(2, 400.0)),
    ("hierarchy ell", r"ell=201: outside the allowed range \[1, 200\]", lambda: hier.cl(201, 1.0)),
    ("hierarchy ell 0", r"ell=0: outside", lambda: hier.cl(0, 1.0)),
    ("c1", r"c1=0\.0: must be > 0", lambda: hier.cl(1, 1.0, c1=0.0)),
    ("ratio ell", r"ell=1\.5: must be an integer", lambda: hier.ratio(1.5)),
]


@pytest.mark.parametrize("label,pattern,call", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_value_error_naming_the_parameter(label, pattern, call):
    with pytest.raises(ValueError, match=pattern):
        call()


def _aniso(*args):
    return subprocess.run([sys.executable, "-m", "numerics.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args,needle", [
    (("check", "--id", "no.such"), "--id='no.such': unknown derivation id"),
    (("run", "--scale", "huge"), "invalid choice"),
    (("run", "--workers", "0"), "workers=0"),
    (("run", "--workers", "2", "--dask", "tcp://h:1"), "--workers and --dask"),
    (("run", "--only", "nope"), "comparison='nope'"),
    (("frobnicate",), "invalid choice"),
    (("build", "--bogus"), "unrecognized arguments"),
    (("spectrum", "relative-diffusion", "--p", "1.5", "--lmax", "10"), "p=[1.5]: outside the allowed range (0.0, 1.0)"),
    (("spectrum", "relative-diffusion", "--p", "0.5"), "the following arguments are required: --lmax"),
    (("spectrum", "hierarchy", "--t", "-2", "--lmax", "10"), "t=[-2.]: must be >= 0"),
    (("spectrum", "hierarchy", "--t", "1", "--lmax", "500"), "lmax=500: outside the allowed range [1, 200]"),
    (("spectrum", "hierarchy", "--t", "1", "--nu", "0", "--lmax", "5"), "nu=0.0: must be > 0"),
    (("spectrum", "cosmic", "--lmax", "5"), "invalid choice"),
])
def test_cli_bad_input_one_line_exit_2(args, needle):
    res = _aniso(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert needle in lines[0] and "Traceback" not in res.stderr
