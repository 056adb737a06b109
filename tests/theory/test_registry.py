"""Every derivation record proves its claims; the prover can fail; errata are real disagreements.

Parametrised over the registry: a new derivation gets these tests for free.
"""
from __future__ import annotations

import re

import pytest
import sympy as sp

from theory import registry
from theory.registry import Claim, prove

IDS = registry.ids()


@pytest.mark.parametrize("rid", IDS)
def test_record_check_proves_every_claim(rid):
    result = registry.get(rid).check()
    failed = [(c.name, c.detail) for c in result.claims if not c.passed]
    assert result.passed, f"{rid}: claims not proved: {failed}"
    assert result.claims, f"{rid} has no claims"
    assert all(c.method.split()[0] in {"symbolic", "numeric", "rounded"} for c in result.claims)


@pytest.mark.parametrize("rid", IDS)
def test_record_metadata(rid):
    rec = registry.get(rid)
    assert rec.id == rid
    assert rec.module == rid.split(".")[0]
    assert rec.sources and rec.premises
    for s in rec.sources:
        assert re.fullmatch(r'(review|slides|002|003|004) (eq\. \([A-Z]?\d+(\.\d+)?\)|".+"|Sec\. .+)', s), s


@pytest.mark.parametrize("rid", IDS)
def test_cited_equations_exist_in_the_seed_text(rid, seeds_dir):
    """Each 'eq. (N)' a record cites is printed with that number in the seed file it names."""
    rec = registry.get(rid)
    for source in rec.sources:
        text = (seeds_dir / registry.seed_file(source)).read_text()
        m = re.search(r"eq\. \(([A-Z]?\d+(?:\.\d+)?)\)", source)
        if m:
            n = re.escape(m.group(1))
            assert re.search(rf"\\tag\{{{n}\}}|\({n}\)", text), f"{source} not found in {registry.seed_file(source)}"
        else:
            title = re.search(r'"(.+)"', source)
            if title:
                assert title.group(1).replace(" ", "") in text.replace(" ", ""), source


def test_registry_lists_every_module_and_ids_are_unique():
    assert len(IDS) == len(set(IDS))
    modules = {i.split(".")[0] for i in IDS}
    assert {"diffusion", "compton_getting", "observation", "geometry"} <= modules


# ----------------------------------------------------------------------------- the prover can fail
x = sp.Symbol("x", positive=True)


def test_false_symbolic_claim_fails():
    res = prove("test", Claim("sin^2 + cos^2 = 2", sp.sin(x) ** 2 + sp.cos(x) ** 2, 2))
    assert not res.passed and res.method == "failed"


def test_false_claim_fails_numerically_when_symbolic_is_skipped():
    res = prove("test", Claim("near miss", sp.exp(x), 1 + x + x**2 / 2 + x**3 / 6, symbolic=False))
    assert not res.passed
    assert "difference" in res.detail


def test_true_claim_proved_numerically_when_symbolic_is_skipped():
    res = prove("test", Claim("identity", sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x), symbolic=False))
    assert res.passed and res.method.startswith("numeric (mpmath, 30 digits, 20 points)")


def test_rounded_claim_checks_the_printed_digits():
    assert prove("t", Claim("ok", sp.Float("4.4798e-4"), sp.Float("4.5e-4"), rounded_digits=2)).passed
    assert not prove("t", Claim("bad", sp.Float("4.4798e-4"), sp.Float("4.4e-4"), rounded_digits=2)).passed


def test_constraint_reduction_needs_the_constraint():
    a, b = sp.symbols("a b", real=True)
    claim = Claim("a^2 = 1 - b^2 on the circle", a**2, 1 - b**2, constraints=(a**2 + b**2 - 1,))
    assert prove("t", claim).passed
    # without the constraint the same identity is false
    assert not prove("t", Claim("free", a**2, 1 - b**2)).passed


def test_shape_mismatch_fails():
    assert not prove("t", Claim("shapes", sp.Matrix([1, 2]), sp.Matrix([1, 2, 3]))).passed


# ----------------------------------------------------------------------------- errata
ERRATA = registry.errata()


@pytest.mark.parametrize("rid,erratum", ERRATA, ids=[f"{r}:{e.equation}" for r, e in ERRATA])
def test_erratum_is_a_real_disagreement(rid, erratum):
    assert erratum.printed != erratum.corrected and erratum.reason
    if erratum.printed_expr is None or erratum.corrected_expr is None:
        pytest.skip("printed form is text only")
    claim = Claim("printed == corrected", erratum.printed_expr, erratum.corrected_expr)
    assert not prove(rid, claim).passed, f"{erratum.equation}: the printed form is actually correct"


def test_known_errata_are_recorded():
    eqs = {e.equation for _, e in ERRATA}
    assert "review eq. (18)" in eqs
    assert "review eq. (53)" in eqs


@pytest.mark.parametrize("rid", IDS)
def test_steps_and_premises_hold_expressions_not_booleans(rid):
    """An evaluated Eq of two matrices collapses to True/False: every shown expression must survive."""
    rec = registry.get(rid)
    for item in [*rec.premises, *rec.steps]:
        exprs = item.expr if isinstance(item.expr, tuple) else (item.expr,)
        for e in exprs:
            assert not isinstance(e, (bool, sp.logic.boolalg.BooleanAtom)), f"{rid}: {item.text!r} holds {e!r}"


def test_ids_follow_module_order():
    order = [registry.MODULES.index(i.split(".")[0]) for i in IDS]
    assert order == sorted(order)


def test_aniso_check_exits_1_when_a_derivation_fails(monkeypatch, capsys):
    from numerics import cli

    bad = registry.Derivation(id="geometry.deliberately_false", title="false", module="geometry",
                              sources=("review eq. (2)",), premises=[registry.Premise("none")], steps=[],
                              claims=[Claim("1 = 2", sp.Integer(1), sp.Integer(2))])
    monkeypatch.setitem(registry._REGISTRY, bad.id, registry._Entry(bad.id, "geometry", lambda: bad))
    assert cli.main(["check", "--id", bad.id]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "claim failed: 1 = 2" in out
    assert cli.main(["check", "--id", "geometry.sphere_moments"]) == 0
