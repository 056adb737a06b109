"""The ``wigner.*`` derivation records: every claim proved, sources well formed, and the claims can fail.

Until ``"wigner"`` is listed in ``theory.registry.MODULES`` the fixture lists it for the duration of
this module only and removes the records again afterwards, so the rest of the suite sees the
registry unchanged.  Once it is listed, ``tests/theory/test_registry.py`` covers the records too.
"""
from __future__ import annotations

import importlib
import re
import sys

import pytest
import sympy as sp
from sympy.physics.wigner import clebsch_gordan

from theory import registry
from theory.registry import Claim, prove

IDS = ["wigner.clebsch_gordan_singlet", "wigner.partial_sky_coupling", "wigner.partial_sky_dipole",
       "wigner.transfer_matrix", "wigner.symbols"]


@pytest.fixture(scope="module")
def wig(request):
    added = "wigner" not in registry.MODULES
    if added:
        registry.MODULES = registry.MODULES + ("wigner",)
    try:
        module = importlib.import_module("theory.wigner")
        yield module
    finally:
        if added:
            for rid in [i for i, e in registry._REGISTRY.items() if e.module == "wigner"]:
                del registry._REGISTRY[rid]
            registry.MODULES = tuple(m for m in registry.MODULES if m != "wigner")
            sys.modules.pop("theory.wigner", None)


@pytest.fixture(scope="module")
def records(wig):
    return {rid: registry.get(rid) for rid in IDS}


def test_the_module_registers_exactly_these_records(wig):
    assert sorted(i for i in registry.ids() if i.startswith("wigner.")) == sorted(IDS)


@pytest.mark.parametrize("rid", IDS)
def test_every_claim_is_proved_symbolically(records, rid):
    result = records[rid].check()
    failed = [(c.name, c.detail) for c in result.claims if not c.passed]
    assert result.passed, f"{rid}: claims not proved: {failed}"
    assert len(result.claims) >= 3
    assert {c.method.split()[0] for c in result.claims} == {"symbolic"}
    assert records[rid].errata == []


@pytest.mark.parametrize("rid", IDS)
def test_sources_are_well_formed_and_printed_in_the_seeds(records, rid, seeds_dir):
    rec = records[rid]
    assert rec.module == "wigner" and rec.sources and rec.premises and rec.steps
    for source in rec.sources:
        assert re.fullmatch(r'(review|slides|002|003|004) (eq\. \([A-Z]?\d+(\.\d+)?\)|".+"|Sec\. .+)', source), source
        text = (seeds_dir / registry.seed_file(source)).read_text()
        m = re.search(r"eq\. \(([A-Z]?\d+(?:\.\d+)?)\)", source)
        if m:
            n = re.escape(m.group(1))
            assert re.search(rf"\\tag\{{{n}\}}|\({n}\)", text), source
        else:
            title = re.search(r'"(.+)"', source).group(1)
            assert title.replace(" ", "") in text.replace(" ", ""), source


def test_appendix_equations_are_printed_where_the_records_say(seeds_dir):
    """(A.1) and (A.2) cannot be cited as 'eq. (A.1)' (the source pattern has no dot after the letter):
    the records cite the appendix title, under which both are printed."""
    text = (seeds_dir / registry.seed_file("review")).read_text()
    start = text.index("Appendix A. Multipole Coupling Matrix")
    assert "\\tag{A.1}" in text[start:start + 2000] and "(A.2)" in text[start:start + 2000]
    text = (seeds_dir / registry.seed_file("002")).read_text()
    assert "(A1)$$" in text and "\\tag{A2}" in text


# ----------------------------------------------------------------------------- the claims can fail
def test_a2_with_a_different_phase_fails():
    """(-1)^l1 in place of (-1)^(l1 - m1) is wrong for odd m1."""
    derived = sp.Matrix([clebsch_gordan(l, l, 0, m, -m, 0) for l in range(3) for m in range(-l, l + 1)])
    wrong = sp.Matrix([sp.Integer(-1) ** l / sp.sqrt(2 * l + 1) for l in range(3) for m in range(-l, l + 1)])
    right = sp.Matrix([sp.Integer(-1) ** (l - m) / sp.sqrt(2 * l + 1) for l in range(3) for m in range(-l, l + 1)])
    assert not prove("t", Claim("wrong phase", derived, wrong)).passed
    assert prove("t", Claim("printed phase", derived, right)).passed


def test_a1_with_the_opposite_sign_fails(wig):
    l = 1
    coupled = sum(clebsch_gordan(l, l, 0, m, -m, 0) * wig.Y(l, m, 1) * wig.Y(l, -m, 2) for m in range(-l, l + 1))
    flipped = -sp.sqrt(3) / (4 * sp.pi) * sp.legendre(l, wig.cos_gamma()) * sp.Integer(-1) ** l
    res = prove("t", Claim("sign flipped", coupled, flipped, constraints=wig.UNIT_CIRCLES, sampler=wig._two_points))
    assert not res.passed


def test_coupling_without_the_phase_or_with_1_over_4pi_fails(wig):
    s1, s2 = wig.s1, wig.s2
    stated = (3 * (s2 - s1) + s1 ** 3 - s2 ** 3) / 4
    t11 = wig.coupling_printed(1, 1, 1)
    assert prove("t", Claim("(27)", t11, stated, domain=wig.BAND)).passed
    assert not prove("t", Claim("(27) negated", -t11, stated, domain=wig.BAND)).passed
    assert not prove("t", Claim("(27) / 4 pi", t11 / (4 * sp.pi), stated, domain=wig.BAND)).passed
    # (A.1) without its (-1)^m is the negative of the direct integral for odd m
    assert not prove("t", Claim("no phase", -wig.coupling_printed(1, 2, 1), wig.coupling_direct(1, 2, 1),
                                domain=wig.BAND)).passed


def test_transfer_without_the_m0_term_fails(wig):
    l, lp = 2, 1
    first = wig.transfer_printed(l, lp) + wig.coupling_printed(l, lp, 0) ** 2 / (2 * l + 1)
    expect = sp.expand(sum(wig.coupling_direct(l, lp, m) ** 2 for m in (-1, 1)) / (2 * l + 1))
    assert prove("t", Claim("(A.2)", wig.transfer_printed(l, lp), expect, domain=wig.BAND)).passed
    assert not prove("t", Claim("(A.2) without the last term", first, expect, domain=wig.BAND)).passed
