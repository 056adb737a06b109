"""Wigner 3j and 6j symbols against SymPy's exact values, their symmetries, selection rules and sums.

Reference values come from ``sympy.physics.wigner`` (exact, converted to float).  To keep the
run short, SymPy evaluates one representative of each symmetry class; every other symbol of
the exhaustive small-l sets is compared with that representative's exact value times the
textbook phase of the symmetry, so the comparison with SymPy is still exhaustive.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from sympy.physics.wigner import wigner_3j as sympy_3j
from sympy.physics.wigner import wigner_6j as sympy_6j

from numerics import wigner as W


def exact(fn, rows) -> np.ndarray:
    return np.array([float(fn(*map(int, r))) for r in rows], dtype=float)


def assert_close_to_exact(got, ref, rtol, zero_atol=1e-14):
    """Relative error <= rtol where the exact value is non-zero, |got| <= zero_atol where it is 0."""
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    assert got.shape == ref.shape
    nz = ref != 0
    rel = np.abs(got[nz] - ref[nz]) / np.abs(ref[nz])
    worst = float(rel.max()) if rel.size else 0.0
    assert worst <= rtol, f"max relative error {worst:.3e} > {rtol:.1e}"
    if (~nz).any():
        assert float(np.abs(got[~nz]).max()) <= zero_atol


def tri(a, b, c) -> bool:
    return abs(a - b) <= c <= a + b


# ----------------------------------------------------------------------------- exhaustive small l
PERMS = list(itertools.permutations(range(3)))
ODD = {p: (sum(1 for i in range(3) for j in range(i + 1, 3) if p[i] > p[j]) % 2 == 1) for p in PERMS}


def three_j_images(row):
    """The 12 images of a 3j symbol under column permutations and m -> -m, with their phases."""
    l, m = row[:3], row[3:]
    L = sum(l)
    for p in PERMS:
        for flip in (1, -1):
            sign = (-1) ** L if ODD[p] else 1
            sign *= (-1) ** L if flip == -1 else 1
            yield tuple(l[i] for i in p) + tuple(flip * m[i] for i in p), sign


def all_3j(lmax):
    return [(a, b, c, x, y, -x - y) for a in range(lmax + 1) for b in range(lmax + 1)
            for c in range(abs(a - b), min(a + b, lmax) + 1) for x in range(-a, a + 1) for y in range(-b, b + 1)
            if abs(x + y) <= c]


@pytest.fixture(scope="module")
def small_3j():
    """Every non-trivial 3j symbol with l <= 8 and its exact value via its class representative."""
    rows = all_3j(8)
    rep_of, sign_of = {}, {}
    for r in rows:
        images = list(three_j_images(r))
        rep, _ = max(images)
        sign = dict(images)[rep]
        rep_of[r], sign_of[r] = rep, sign
    reps = sorted(set(rep_of.values()))
    ref = dict(zip(reps, exact(sympy_3j, reps)))
    values = np.array([sign_of[r] * ref[rep_of[r]] for r in rows])
    return np.array(rows), values, len(reps)


def test_3j_every_symbol_up_to_l8(small_3j):
    rows, ref, n_reps = small_3j
    assert rows.shape[0] == 26757 and n_reps < 3000
    assert_close_to_exact(W.wigner_3j(*rows.T), ref, 1e-13)


def test_3j_recursion_path_every_symbol_up_to_l8(small_3j, monkeypatch):
    """The Schulten--Gordon fallback alone (every Racah sum sent to it) is exact to rounding too."""
    rows, ref, _ = small_3j
    monkeypatch.setattr(W, "RACAH_MAX_CANCELLATION", 0.5)  # sum |terms| / |sum| >= 1 always: recursion only
    assert_close_to_exact(W.wigner_3j(*rows.T), ref, 1e-13)


def test_3j_zero_every_symbol_up_to_l12():
    rows = [(a, b, c) for a in range(13) for b in range(13) for c in range(13)]
    ref = exact(lambda a, b, c: sympy_3j(a, b, c, 0, 0, 0), rows)
    got = W.wigner_3j_zero(*np.array(rows).T)
    assert_close_to_exact(got, ref, 3e-15, zero_atol=0.0)  # zeros are exact
    np.testing.assert_array_equal(W.wigner_3j(*np.array(rows).T, 0, 0, 0) == 0, ref == 0)


def six_j_images(row):
    """The 24 tetrahedral images: column permutations times upper/lower swaps in two columns."""
    up, lo = row[:3], row[3:]
    for p in PERMS:
        u, d = [up[i] for i in p], [lo[i] for i in p]
        for swap in ((), (0, 1), (0, 2), (1, 2)):
            uu, dd = list(u), list(d)
            for i in swap:
                uu[i], dd[i] = dd[i], uu[i]
            yield tuple(uu + dd)


def valid_6j(r):
    a, b, c, d, e, f = r
    return tri(a, b, c) and tri(a, e, f) and tri(d, b, f) and tri(d, e, c)


@pytest.fixture(scope="module")
def small_6j():
    rows = [r for r in itertools.product(range(7), repeat=6) if valid_6j(r)]
    rep_of = {r: min(six_j_images(r)) for r in rows}
    reps = sorted(set(rep_of.values()))
    ref = dict(zip(reps, exact(sympy_6j, reps)))
    return np.array(rows), np.array([ref[rep_of[r]] for r in rows]), len(reps)


def test_6j_every_symbol_up_to_j6(small_6j):
    rows, ref, n_reps = small_6j
    assert rows.shape[0] == 17245 and n_reps < 1500
    assert_close_to_exact(W.wigner_6j(*rows.T), ref, 1e-13)


def test_6j_recursion_path_every_symbol_up_to_j6(small_6j, monkeypatch):
    rows, ref, _ = small_6j
    monkeypatch.setattr(W, "RACAH_MAX_CANCELLATION", 0.5)
    assert_close_to_exact(W.wigner_6j(*rows.T), ref, 1e-13)


def test_6j_up_to_j8_sampled_against_sympy():
    rng = np.random.default_rng(8)
    rows = [r for r in map(tuple, rng.integers(0, 9, size=(4000, 6))) if valid_6j(r)][:300]
    assert len(rows) == 300
    assert_close_to_exact(W.wigner_6j(*np.array(rows).T), exact(sympy_6j, rows), 1e-13)


# ----------------------------------------------------------------------------- larger l, seeded samples
def sample_3j(rng, lmax, n):
    out = []
    while len(out) < n:
        l1, l2 = (int(v) for v in rng.integers(0, lmax + 1, 2))
        lo, hi = abs(l1 - l2), min(l1 + l2, lmax)
        if lo > hi:
            continue
        l3 = int(rng.integers(lo, hi + 1))
        m1, m2 = int(rng.integers(-l1, l1 + 1)), int(rng.integers(-l2, l2 + 1))
        if abs(m1 + m2) <= l3:
            out.append((l1, l2, l3, m1, m2, -m1 - m2))
    return out


def sample_6j(rng, jmax, n):
    out = []
    while len(out) < n:
        r = tuple(int(v) for v in rng.integers(0, jmax + 1, 6))
        a, b, _, d, e, _ = r
        lo3, hi3 = max(abs(a - b), abs(d - e)), min(a + b, d + e, jmax)
        lo6, hi6 = max(abs(a - e), abs(d - b)), min(a + e, d + b, jmax)
        if lo3 > hi3 or lo6 > hi6:
            continue
        out.append((a, b, int(rng.integers(lo3, hi3 + 1)), d, e, int(rng.integers(lo6, hi6 + 1))))
    return out


@pytest.mark.parametrize("lmax, n, rtol", [(40, 200, 1e-12), (100, 60, 1e-11), (300, 15, 1e-10), (1000, 6, 1e-10)])
def test_3j_random_against_sympy(lmax, n, rtol):
    rows = sample_3j(np.random.default_rng(lmax), lmax, n)
    assert_close_to_exact(W.wigner_3j(*np.array(rows).T), exact(sympy_3j, rows), rtol)


@pytest.mark.parametrize("jmax, n, rtol", [(40, 150, 1e-12), (100, 40, 1e-11), (300, 12, 1e-10), (1000, 5, 1e-10)])
def test_6j_random_against_sympy(jmax, n, rtol):
    rows = sample_6j(np.random.default_rng(jmax + 1), jmax, n)
    assert_close_to_exact(W.wigner_6j(*np.array(rows).T), exact(sympy_6j, rows), rtol)


def test_3j_zero_large_l_against_sympy():
    rng = np.random.default_rng(3)
    rows = []
    while len(rows) < 8:
        a, b = (int(v) for v in rng.integers(0, 1001, 2))
        c = int(rng.integers(abs(a - b), min(a + b, 1000) + 1))
        if (a + b + c) % 2 == 0:
            rows.append((a, b, c))
    ref = exact(lambda a, b, c: sympy_3j(a, b, c, 0, 0, 0), rows)
    assert_close_to_exact(W.wigner_3j_zero(*np.array(rows).T), ref, 3e-15)


def test_6j_with_a_2_on_the_lead_tensor_against_sympy():
    """{2 l0 l0; l lA lB}, l, l0 <= 64, lB - lA in {-2, 0, 2}: the tensor the spectrum code needs."""
    rng = np.random.default_rng(64)
    rows = []
    while len(rows) < 80:
        l, l0 = (int(v) for v in rng.integers(1, 65, 2))
        lA = int(rng.integers(abs(l - l0), l + l0 + 1))
        lB = lA + 2 * int(rng.integers(-1, 2))
        if lB >= 0 and valid_6j((2, l0, l0, l, lA, lB)):
            rows.append((2, l0, l0, l, lA, lB))
    got = W.wigner_6j(*np.array(rows).T)
    assert_close_to_exact(got, exact(sympy_6j, rows), 1e-12)
    table = W.wigner_6j_table_2(64)
    r = np.array(rows)
    np.testing.assert_array_equal(table[r[:, 3], r[:, 1], r[:, 4], (r[:, 5] - r[:, 4]) // 2 + 1], got)


def test_l3_sequence_against_sympy():
    l1, l2, m1, m2 = 37, 52, -11, 30
    l3min, seq = W.three_j_l3_sequence(np.array([l1]), np.array([l2]), np.array([m1]), np.array([m2]))
    assert int(l3min[0]) == max(abs(l1 - l2), abs(m1 + m2))
    l3 = np.arange(int(l3min[0]), l1 + l2 + 1)
    ref = exact(sympy_3j, [(l1, l2, c, m1, m2, -m1 - m2) for c in l3])
    assert seq.shape == (1, l3.size)
    assert_close_to_exact(seq[0], ref, 1e-12)


# ----------------------------------------------------------------------------- symmetries
@pytest.fixture(scope="module")
def random_3j():
    return np.array(sample_3j(np.random.default_rng(11), 60, 3000)).T


def test_3j_column_permutations(random_3j):
    l1, l2, l3, m1, m2, m3 = random_3j
    base = W.wigner_3j(l1, l2, l3, m1, m2, m3)
    phase = np.where((l1 + l2 + l3) % 2 == 0, 1.0, -1.0)
    assert np.abs(base).max() > 0.05
    cols = [(l1, m1), (l2, m2), (l3, m3)]
    for p in PERMS:
        (a, x), (b, y), (c, z) = (cols[i] for i in p)
        expected = phase * base if ODD[p] else base
        np.testing.assert_allclose(W.wigner_3j(a, b, c, x, y, z), expected, rtol=1e-12, atol=1e-15)


def test_3j_m_reversal(random_3j):
    l1, l2, l3, m1, m2, m3 = random_3j
    phase = np.where((l1 + l2 + l3) % 2 == 0, 1.0, -1.0)
    np.testing.assert_allclose(W.wigner_3j(l1, l2, l3, -m1, -m2, -m3), phase * W.wigner_3j(l1, l2, l3, m1, m2, m3),
                               rtol=1e-12, atol=1e-15)


def test_3j_regge_symmetry(random_3j):
    """Regge: (l1 l2 l3; m1 m2 m3) = (l1 (l2+l3-m1)/2 (l2+l3+m1)/2; l3-l2 (l2-l3-m1)/2-m3 (l2-l3+m1)/2+m3)."""
    l1, l2, l3, m1, m2, m3 = random_3j
    ok = (l2 + l3 + m1) % 2 == 0
    l1, l2, l3, m1, m2, m3 = (v[ok] for v in (l1, l2, l3, m1, m2, m3))
    got = W.wigner_3j(l1, (l2 + l3 - m1) // 2, (l2 + l3 + m1) // 2, l3 - l2, (l2 - l3 - m1) // 2 - m3,
                      (l2 - l3 + m1) // 2 + m3)
    np.testing.assert_allclose(got, W.wigner_3j(l1, l2, l3, m1, m2, m3), rtol=1e-11, atol=1e-15)


def test_6j_tetrahedral_symmetries():
    rows = np.array(sample_6j(np.random.default_rng(5), 50, 2000))
    base = W.wigner_6j(*rows.T)
    assert np.abs(base).max() > 0.01
    for image in six_j_images(tuple(range(6))):  # the 24 index maps
        got = W.wigner_6j(*rows[:, list(image)].T)
        np.testing.assert_allclose(got, base, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- selection rules
def test_3j_selection_rules_give_exact_zeros():
    assert float(W.wigner_3j(2, 2, 2, 1, 1, 1)) == 0.0  # m1 + m2 + m3 != 0
    assert float(W.wigner_3j(1, 1, 1, 2, -1, -1)) == 0.0  # |m1| > l1
    assert float(W.wigner_3j(1, 1, 3, 0, 0, 0)) == 0.0  # triangle
    assert float(W.wigner_3j(5, 1, 1, 0, 0, 0)) == 0.0  # triangle
    assert float(W.wigner_3j(1, 1, 1, 0, 0, 0)) == 0.0  # odd l1 + l2 + l3 with all m = 0
    l = np.arange(20)
    assert np.all(W.wigner_3j_zero(l[:, None, None], l[None, :, None], l[None, None, :])
                  [(l[:, None, None] + l[None, :, None] + l[None, None, :]) % 2 == 1] == 0.0)


def test_6j_selection_rules_give_exact_zeros():
    for args in [(1, 1, 3, 1, 1, 1), (1, 2, 1, 5, 1, 1), (3, 1, 2, 0, 1, 1), (2, 2, 2, 1, 1, 5)]:
        assert float(W.wigner_6j(*args)) == 0.0, args
        assert float(sympy_6j(*args)) == 0.0, args


def test_shapes_and_broadcasting():
    v = W.wigner_3j(np.arange(4)[:, None], 2, 2, 0, np.arange(-1, 2)[None, :], -np.arange(-1, 2)[None, :])
    assert v.shape == (4, 3) and v.dtype == np.float64
    assert W.wigner_3j_zero(2, 2, 2).shape == ()
    assert W.wigner_6j(np.ones((2, 3), int), 1, 1, 1, 1, 1).shape == (2, 3)
    assert W.wigner_3j(np.zeros((0,), int), 0, 0, 0, 0, 0).shape == (0,)
    assert float(W.wigner_3j(2.0, 2, 0, 1, -1, 0)) == pytest.approx(float(sympy_3j(2, 2, 0, 1, -1, 0)), rel=1e-15)


# ----------------------------------------------------------------------------- orthogonality and sum rules
@pytest.mark.parametrize("l1, l2", [(3, 5), (12, 12), (25, 17)])
def test_3j_orthogonality_over_l3_m3(l1, l2):
    """sum_{l3, m3} (2 l3 + 1) (l1 l2 l3; m1 m2 m3)(l1 l2 l3; m1' m2' m3) = delta_m1m1' delta_m2m2'."""
    m1, m2 = np.meshgrid(np.arange(-l1, l1 + 1), np.arange(-l2, l2 + 1), indexing="ij")
    m1, m2 = m1.ravel(), m2.ravel()
    l3 = np.arange(abs(l1 - l2), l1 + l2 + 1)
    S = W.wigner_3j(l1, l2, l3[:, None], m1[None, :], m2[None, :], -(m1 + m2)[None, :])  # (l3, pair)
    same_m3 = (m1 + m2)[:, None] == (m1 + m2)[None, :]
    gram = np.where(same_m3, ((2 * l3 + 1)[:, None] * S).T @ S, 0.0)
    np.testing.assert_allclose(gram, np.eye(m1.size), atol=1e-13)


@pytest.mark.parametrize("l1, l2, m3", [(4, 6, 1), (20, 15, -3), (30, 30, 0)])
def test_3j_orthogonality_over_m1_m2(l1, l2, m3):
    """sum_{m1, m2} (2 l3 + 1)(l1 l2 l3; m1 m2 m3)(l1 l2 l3'; m1 m2 m3) = delta_l3l3'."""
    l3 = np.arange(max(abs(l1 - l2), abs(m3)), l1 + l2 + 1)
    m1 = np.arange(-l1, l1 + 1)
    m2 = -m1 - m3
    S = W.wigner_3j(l1, l2, l3[:, None], m1[None, :], m2[None, :], m3)
    gram = (2 * l3 + 1)[:, None] * (S @ S.T)
    np.testing.assert_allclose(gram, np.eye(l3.size), atol=1e-13)


@pytest.mark.parametrize("l1, l2", [(0, 7), (10, 31), (64, 64)])
def test_3j_zero_completeness(l1, l2):
    """sum_{l3} (2 l3 + 1)(l1 l2 l3; 0 0 0)^2 = 1."""
    l3 = np.arange(abs(l1 - l2), l1 + l2 + 1)
    assert float(np.sum((2 * l3 + 1) * W.wigner_3j_zero(l1, l2, l3) ** 2)) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("a, b, c, d", [(1, 2, 2, 1), (5, 7, 6, 4), (20, 13, 17, 25), (2, 40, 40, 2)])
def test_6j_orthogonality(a, b, c, d):
    """sum_x (2x + 1)(2f + 1) {a b x; c d f}{a b x; c d f'} = delta_ff'."""
    x = np.arange(max(abs(a - b), abs(c - d)), min(a + b, c + d) + 1)
    f = np.arange(max(abs(a - d), abs(b - c)), min(a + d, b + c) + 1)
    S = W.wigner_6j(a, b, x[:, None], c, d, f[None, :])  # (x, f)
    gram = (2 * f + 1)[:, None] * (S.T * (2 * x + 1)) @ S
    np.testing.assert_allclose(gram, np.eye(f.size), atol=1e-13)


@pytest.mark.parametrize("a, b", [(1, 1), (4, 9), (30, 22)])
def test_6j_sum_rule(a, b):
    """sum_x (2x + 1) {a b x; a b f} = 1 for every f of the triangle (a, b)."""
    x = np.arange(abs(a - b), a + b + 1)
    f = np.arange(abs(a - b), a + b + 1)
    sums = np.sum((2 * x + 1)[:, None] * W.wigner_6j(a, b, x[:, None], a, b, f[None, :]), axis=0)
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)


@pytest.mark.parametrize("js", [(3, 2, 4, 2, 3, 3), (1, 2, 3, 3, 2, 1), (2, 2, 2, 2, 2, 2)])
def test_6j_as_contraction_of_four_3j(js):
    """{j1 j2 j3; j4 j5 j6} = sum_(m1..m6) (-1)^(sum_k (j_k - m_k)) (j1 j2 j3; -m1 -m2 -m3)
    (j1 j5 j6; m1 -m5 m6)(j4 j2 j6; m4 m2 -m6)(j4 j5 j3; -m4 m5 m3) (the 3j definition of the 6j symbol)."""
    j1, j2, j3, j4, j5, j6 = js
    m = np.array(list(itertools.product(*(range(-j, j + 1) for j in js))))
    m1, m2, m3, m4, m5, m6 = m.T
    phase = np.where((sum(js) - m.sum(axis=1)) % 2 == 0, 1.0, -1.0)
    terms = (phase * W.wigner_3j(j1, j2, j3, -m1, -m2, -m3) * W.wigner_3j(j1, j5, j6, m1, -m5, m6)
             * W.wigner_3j(j4, j2, j6, m4, m2, -m6) * W.wigner_3j(j4, j5, j3, -m4, m5, m3))
    assert float(np.sum(terms)) == pytest.approx(float(sympy_6j(*js)), abs=1e-14)
    assert abs(float(sympy_6j(*js))) > 0.01


# ----------------------------------------------------------------------------- bad input
BAD = [
    (r"l1=2\.5: must be an integer \(allowed range \[0, 1000\]\)", lambda: W.wigner_3j_zero(2.5, 2, 2)),
    (r"l2=-1: outside the allowed range \[0, 1000\]", lambda: W.wigner_3j_zero(1, -1, 2)),
    (r"l3=1001: outside the allowed range \[0, 1000\]", lambda: W.wigner_3j_zero(1, 1, 1001)),
    (r"l1=nan: must be finite", lambda: W.wigner_3j(float("nan"), 1, 1, 0, 0, 0)),
    (r"m2=0\.5: must be an integer \(allowed range \[-1000, 1000\]\)", lambda: W.wigner_3j(1, 1, 1, 0, 0.5, 0)),
    (r"m3=-1001: outside the allowed range \[-1000, 1000\]", lambda: W.wigner_3j(1, 1, 1, 0, 0, -1001)),
    (r"l3=-2: outside", lambda: W.wigner_3j(1, 1, -2, 0, 0, 0)),
    (r"j4=1\.5: must be an integer", lambda: W.wigner_6j(1, 1, 1, 1.5, 1, 1)),
    (r"j6=-1: outside the allowed range \[0, 1000\]", lambda: W.wigner_6j(1, 1, 1, 1, 1, -1)),
    (r"j1=5000: outside the allowed range \[0, 1000\]", lambda: W.wigner_6j(5000, 1, 1, 1, 1, 1)),
    (r"j2='x'", lambda: W.wigner_6j(1, "x", 1, 1, 1, 1)),
    (r"lmax=129: outside the allowed range \[0, 128\]", lambda: W.wigner_6j_table_2(129)),
    (r"m1, m2: \|m1\| <= l1", lambda: W.three_j_l3_sequence([1], [1], [2], [0])),
]


@pytest.mark.parametrize("pattern, call", BAD, ids=[b[0][:24] for b in BAD])
def test_bad_input_raises_value_error_naming_the_parameter(pattern, call):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_triangle_violations_are_not_errors():
    assert float(W.wigner_6j(1000, 0, 0, 0, 0, 0)) == 0.0
    assert float(W.wigner_3j(1000, 0, 0, 0, 0, 0)) == 0.0
