"""Every generated kernel against a direct 30-digit mpmath evaluation of its SymPy expression.

Parametrised over every KernelSpec of every derivation record; 20 seeded random points
each, relative error <= 1e-12 (relative to the largest entry of a vector/matrix result).
"""
from __future__ import annotations

import importlib
import random

import numpy as np
import pytest
import sympy as sp

from theory import registry
from theory.registry import sample_point

SPECS = [(r.module, r.id, k) for r in registry.all_records() for k in r.kernels]
POINTS = 20
RTOL = 1e-12


@pytest.mark.parametrize("module,rid,spec", SPECS, ids=[f"{m}.{k.name}" for m, _, k in SPECS])
def test_kernel_matches_mpmath(module, rid, spec):
    fn = getattr(importlib.import_module(f"numerics.kernels.{module}"), spec.name)
    rng = random.Random(f"kernel:{rid}:{spec.name}")
    expr = sp.Matrix(spec.expr) if isinstance(spec.expr, sp.MatrixBase) else sp.Matrix([spec.expr])
    for _ in range(POINTS):
        pt = sample_point(spec.args, spec.domain, spec.sampler, rng)
        exact = np.array([complex(sp.N(e.subs(pt), 30)) for e in expr], dtype=complex)
        assert np.all(np.abs(exact.imag) == 0)
        exact = exact.real.reshape(expr.shape)
        got = np.asarray(fn(*[float(pt[a]) for a in spec.args]), dtype=float)
        got = got.reshape(expr.shape)
        scale = max(np.max(np.abs(exact)), np.finfo(float).tiny)
        err = np.max(np.abs(got - exact)) / scale
        assert err <= RTOL, f"{spec.name} at {pt}: relative error {err:.3e}"


@pytest.mark.parametrize("module,rid,spec", SPECS, ids=[f"{m}.{k.name}" for m, _, k in SPECS])
def test_kernel_broadcasts_like_a_ufunc(module, rid, spec):
    fn = getattr(importlib.import_module(f"numerics.kernels.{module}"), spec.name)
    rng = random.Random(f"broadcast:{spec.name}")
    pts = [sample_point(spec.args, spec.domain, spec.sampler, rng) for _ in range(6)]
    arrays = [np.array([float(p[a]) for p in pts]).reshape(2, 3) for a in spec.args]
    batch = np.asarray(fn(*arrays))
    expr_shape = spec.expr.shape if isinstance(spec.expr, sp.MatrixBase) else ()
    trailing = tuple(s for s in expr_shape if s != 1) if len(expr_shape) == 2 and expr_shape[1] == 1 else expr_shape
    assert batch.shape == (2, 3) + tuple(trailing)
    for idx, p in enumerate(pts):
        single = np.asarray(fn(*[float(p[a]) for a in spec.args]))
        np.testing.assert_allclose(batch.reshape((6,) + single.shape)[idx], single, rtol=1e-15, atol=0)


def test_every_kernel_docstring_carries_provenance():
    for module, rid, spec in SPECS:
        fn = getattr(importlib.import_module(f"numerics.kernels.{module}"), spec.name)
        doc = fn.__doc__
        assert f"derivation: {rid}" in doc
        assert f"equation: {spec.equation}" in doc
        assert f"srepr-sha256: {registry.srepr_sha256(spec.expr)}" in doc
        assert f"sympy: {sp.__version__}" in doc
