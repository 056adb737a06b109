"""The derivation registry: every formula the workbench reproduces is a record here.

A :class:`Derivation` holds

* a stable ``id`` (``"diffusion.bgk_tensor"``) and a title,
* its ``sources``: the equations as printed, named the same way everywhere
  (``"review eq. (53)"``, ``"002 eq. (2)"``, ``"slides \\"Diffusion Approximation\\""``),
* the ``premises`` it starts from (text plus SymPy objects),
* ``steps``: the derivation, step by step, for notebooks and reports,
* ``claims``: pairs *derived* / *stated* of SymPy objects; :meth:`Derivation.check`
  proves each claim,
* ``kernels``: the expressions exported to generated numeric code, and
* ``errata``: printed form, corrected form and a one-line reason wherever the
  printed equation disagrees with the derivation.

Records are built lazily (a build does the symbolic work) and cached.  Modules
register builders with :func:`derivation`; :func:`get` builds one record,
:func:`all_records` builds them all in registration order.

How a claim is proved
---------------------
1. *symbolic*: ``derived - stated`` is simplified to zero by a short ladder of
   SymPy simplifications (``expand``, ``cancel``, ``trigsimp``, ``simplify``).  When the
   claim carries polynomial ``constraints`` (e.g. a unit vector, ``bx**2+by**2+bz**2-1``),
   the numerator of the difference is reduced modulo the Groebner basis of the
   constraints instead; a zero remainder is a proof on the constraint variety.
2. *numeric*: where SymPy cannot decide it within SYMBOLIC_SECONDS of CPU time, the
   difference is evaluated with mpmath at 30 significant digits at 20 seeded random points
   of the claim's domain (sampled at that precision) and must vanish to 1e-25 relative to
   the size of the stated side.  A claim about undefined functions has no numeric check;
   its symbolic step runs without a time limit.  Which method proves a claim may depend on
   the machine; whether it passes does not.
3. *rounded*: a printed number (``4.5e-4``) is compared with the derived value rounded
   to the number of significant digits the print shows.

The result says which method proved each claim.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

#: Seed files, keyed by the short names used in equation references.
SEEDS: dict[str, str] = {
    "review": "000_217de6367548d4c1.txt",
    "slides": "001_b5507de8e30f6ac3.txt",
    "002": "002_0654370600ada3c4.txt",
    "003": "003_2314aef03b31a8d7.txt",
    "004": "004_90013a3dc05ee45c.txt",
}

NUMERIC_DIGITS = 30
NUMERIC_POINTS = 20
NUMERIC_TOLERANCE = sp.Float("1e-25", NUMERIC_DIGITS)


def seed_file(reference: str) -> str:
    """Seed file name for an equation reference such as ``"review eq. (53)"``."""
    key = reference.split()[0]
    if key not in SEEDS:
        raise ValueError(f"reference {reference!r}: unknown seed {key!r}; known: {sorted(SEEDS)}")
    return SEEDS[key]


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Premise:
    """A starting point of a derivation: words, and the SymPy object they describe."""

    text: str
    expr: object = None


@dataclass(frozen=True)
class Step:
    """One step of a derivation, shown in notebooks and reports."""

    text: str
    expr: object = None


@dataclass
class Claim:
    """``derived`` must equal ``stated``.

    ``domain`` maps each free symbol to ``(low, high)`` for numeric sampling (defaults:
    ``(0.1, 3)`` for positive symbols, ``(-2, 2)`` otherwise); a callable ``sampler``
    taking a :class:`random.Random` and returning a ``{symbol: value}`` dict overrides it
    (use it where the symbols are constrained, e.g. unit vectors).  ``rounded_digits``
    marks a comparison with a number printed to that many significant digits.
    """

    name: str
    derived: object
    stated: object
    domain: Mapping[sp.Symbol, tuple[float, float]] = field(default_factory=dict)
    constraints: Sequence[sp.Expr] = ()
    sampler: Callable[[random.Random], dict] | None = None
    rounded_digits: int | None = None
    symbolic: bool = True


@dataclass(frozen=True)
class Erratum:
    """A printed equation that the derivation corrects."""

    equation: str
    printed: str
    corrected: str
    reason: str
    printed_expr: object = None
    corrected_expr: object = None


@dataclass(frozen=True)
class KernelSpec:
    """An expression exported as a generated numeric kernel.

    ``args`` fixes the argument order of the generated function; ``domain`` gives the
    ranges used to test the kernel against mpmath.
    """

    name: str
    expr: object
    args: tuple[sp.Symbol, ...]
    equation: str
    summary: str
    domain: Mapping[sp.Symbol, tuple[float, float]] = field(default_factory=dict)
    sampler: Callable[[random.Random], dict] | None = None


@dataclass
class ClaimResult:
    name: str
    passed: bool
    method: str
    detail: str = ""


@dataclass
class CheckResult:
    id: str
    sources: tuple[str, ...]
    passed: bool
    claims: list[ClaimResult]
    seconds: float  # building the record (the symbolic derivation) plus proving its claims

    def as_dict(self) -> dict:
        """JSON-ready form (used by ``aniso check --json`` and the report)."""
        return {"id": self.id, "sources": list(self.sources), "method": self.method, "passed": self.passed,
                "seconds": round(self.seconds, 3),
                "claims": [{"name": c.name, "passed": c.passed, "method": c.method, "detail": c.detail}
                           for c in self.claims]}

    @property
    def method(self) -> str:
        """The weakest method any claim needed (symbolic < rounded < numeric)."""
        methods = {c.method.split()[0] for c in self.claims}
        for m in ("failed", "numeric", "rounded", "symbolic"):
            if m in methods:
                return m
        return "none"


@dataclass
class Derivation:
    id: str
    title: str
    module: str
    sources: tuple[str, ...]
    premises: list[Premise]
    steps: list[Step]
    claims: list[Claim]
    kernels: list[KernelSpec] = field(default_factory=list)
    errata: list[Erratum] = field(default_factory=list)
    build_seconds: float = 0.0

    @property
    def seed_files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(seed_file(s) for s in self.sources))

    def check(self) -> CheckResult:
        """Prove every claim; see the module docstring for the methods."""
        start = time.perf_counter()
        results = [prove(self.id, c) for c in self.claims]
        seconds = time.perf_counter() - start + self.build_seconds
        return CheckResult(self.id, self.sources, all(r.passed for r in results), results, seconds)


# --------------------------------------------------------------------------- proofs
def _as_matrix(obj) -> sp.Matrix:
    if isinstance(obj, sp.MatrixBase):
        return sp.Matrix(obj)
    if isinstance(obj, (list, tuple)):
        return sp.Matrix(obj)
    return sp.Matrix([[sp.sympify(obj)]])


#: CPU seconds (of this process, not wall-clock: another process's load does not use them up) a claim's symbolic
#: simplification may take before the claim is checked numerically instead.  The budget decides *how* a claim is
#: checked, never whether it passes: every claim's numeric check works at NUMERIC_DIGITS with points sampled at
#: that precision (tests/theory/test_registry.py checks every record with the symbolic step switched off).
SYMBOLIC_SECONDS = 8.0


class _SymbolicTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Abort a SymPy simplification after ``seconds`` of this process's CPU time (ITIMER_PROF; main thread only,
    elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum, frame):
        raise _SymbolicTimeout()

    previous = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _symbolic_zero_limited(expr: sp.Expr, constraints: Sequence[sp.Expr]) -> bool:
    try:
        with _time_limit(SYMBOLIC_SECONDS):
            return _symbolic_zero(expr, constraints)
    except _SymbolicTimeout:
        return False


def _symbolic_zero(expr: sp.Expr, constraints: Sequence[sp.Expr]) -> bool:
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    if constraints:
        num, _ = sp.fraction(sp.together(expr))
        num = sp.expand(num)
        if num == 0:
            return True
        gens = sorted(set().union(*(c.free_symbols for c in constraints)), key=str)
        gb = sp.groebner(list(constraints), *gens, order="grevlex")
        _, rem = sp.reduced(num, list(gb.exprs), *gens, order="grevlex")
        return sp.expand(rem) == 0
    for simp in (sp.expand, sp.cancel, lambda e: sp.expand(sp.trigsimp(e)),
                 lambda e: sp.cancel(sp.expand(sp.expand_trig(e))), sp.simplify):
        try:
            if simp(expr) == 0:
                return True
        except _SymbolicTimeout:
            raise
        except Exception:  # pragma: no cover - a simplifier gave up; try the next
            continue
    return False


def _claim_seed(claim_id: str) -> int:
    return int.from_bytes(hashlib.sha256(claim_id.encode()).digest()[:8], "big")


def sample_point(symbols: Iterable[sp.Symbol], domain, sampler, rng: random.Random) -> dict:
    """A random point for numeric checks (shared with the kernel tests)."""
    point: dict = dict(sampler(rng)) if sampler is not None else {}
    for s in sorted(symbols, key=str):
        if s in point:
            continue
        if s in domain:
            lo, hi = domain[s]
        elif s.is_positive:
            lo, hi = 0.1, 3.0
        else:
            lo, hi = -2.0, 2.0
        if s.is_integer:  # an integer in [lo, hi] that the symbol's assumptions allow (n >= 1 if positive)
            low = max(math.ceil(lo), 1 if s.is_positive else 0 if s.is_nonnegative else math.ceil(lo))
            point[s] = sp.Integer(rng.randint(low, max(low, math.floor(hi))))
        else:
            point[s] = sp.Float(repr(rng.uniform(lo, hi)), NUMERIC_DIGITS)
    return point


def _numeric_zero(claim_id: str, claim: Claim, diff: sp.Matrix, stated: sp.Matrix) -> tuple[bool, str]:
    rng = random.Random(_claim_seed(claim_id))
    free = diff.free_symbols | stated.free_symbols
    worst = 0.0
    with mpmath.workdps(NUMERIC_DIGITS + 10):
        for _ in range(NUMERIC_POINTS if free else 1):  # a claim without symbols needs one evaluation
            pt = sample_point(free, claim.domain, claim.sampler, rng)
            for d, s in zip(diff, stated):
                dv = sp.N(d.subs(pt), NUMERIC_DIGITS + 5)
                sv = sp.N(s.subs(pt), NUMERIC_DIGITS + 5)
                if not (dv.is_number and sv.is_number) or not (dv.is_finite and sv.is_finite):
                    return False, f"difference did not evaluate to a finite number at {pt}: {dv}"
                err = abs(dv) / max(sp.Float(1), abs(sv))
                worst = max(worst, float(err))
                if err > NUMERIC_TOLERANCE:
                    return False, f"|difference| = {float(err):.3e} at {pt}"
    return True, f"max relative difference {worst:.1e}"


def _rounded_match(claim: Claim) -> tuple[bool, str]:
    derived = float(sp.N(sp.sympify(claim.derived), NUMERIC_DIGITS))
    stated = float(sp.N(sp.sympify(claim.stated), NUMERIC_DIGITS))
    digits = claim.rounded_digits
    if derived == 0:
        return stated == 0, f"derived 0, printed {stated:g}"
    exponent = math.floor(math.log10(abs(derived)))
    rounded = round(derived, -exponent + digits - 1)
    ok = math.isclose(rounded, stated, rel_tol=1e-12)
    return ok, f"derived {derived:.6g} rounds to {rounded:.{digits}g}; printed {stated:g}"


def prove(record_id: str, claim: Claim) -> ClaimResult:
    """Prove one claim: symbolic if SymPy can decide it, else mpmath at 30 digits."""
    claim_id = f"{record_id}:{claim.name}"
    if claim.rounded_digits is not None:
        ok, detail = _rounded_match(claim)
        method = f"rounded ({claim.rounded_digits} significant digits)"
        return ClaimResult(claim.name, ok, method if ok else "failed", detail)
    derived, stated = _as_matrix(claim.derived), _as_matrix(claim.stated)
    if derived.shape != stated.shape:
        return ClaimResult(claim.name, False, "failed", f"shapes differ: {derived.shape} vs {stated.shape}")
    diff = derived - stated
    # a claim about undefined functions (y(l), F(x)) has no numeric check: it gets no time limit, so that load can
    # never turn it into a failure; every other claim falls back to the numeric check after SYMBOLIC_SECONDS
    only_symbolic = bool(diff.atoms(AppliedUndef) or stated.atoms(AppliedUndef))
    zero = _symbolic_zero if only_symbolic else _symbolic_zero_limited
    if claim.symbolic and all(zero(d, claim.constraints) for d in diff):
        how = "symbolic (remainder modulo constraints)" if claim.constraints else "symbolic"
        return ClaimResult(claim.name, True, how)
    if only_symbolic:
        return ClaimResult(claim.name, False, "failed", "not proved symbolically, and a claim about undefined "
                           "functions has no numeric check")
    ok, detail = _numeric_zero(claim_id, claim, diff, stated)
    free = diff.free_symbols | stated.free_symbols
    method = f"numeric (mpmath, {NUMERIC_DIGITS} digits, {NUMERIC_POINTS} points)" if free else \
        f"numeric (mpmath, {NUMERIC_DIGITS} digits, exact constants)"
    return ClaimResult(claim.name, ok, method if ok else "failed", detail)


# --------------------------------------------------------------------------- registry
@dataclass
class _Entry:
    id: str
    module: str
    builder: Callable[[], Derivation]
    record: Derivation | None = None


_REGISTRY: dict[str, _Entry] = {}

#: Theory modules, in the order the registry lists them (one generated kernel module each).
MODULES = ("geometry", "diffusion", "compton_getting", "observation", "relative_diffusion", "hierarchy", "qlt", "wigner")


def derivation(id: str):
    """Decorator: register a builder returning a :class:`Derivation` under ``id``."""

    def wrap(builder: Callable[[], Derivation]):
        module = id.split(".")[0]
        if module not in MODULES:
            raise ValueError(f"derivation id {id!r}: module {module!r} not in {MODULES}")
        if id in _REGISTRY:
            raise ValueError(f"derivation id {id!r} registered twice")
        _REGISTRY[id] = _Entry(id, module, builder)
        return builder

    return wrap


def _load_modules() -> None:
    import importlib

    for m in MODULES:
        importlib.import_module(f"theory.{m}")


def ids() -> list[str]:
    """Every registered derivation id: modules in ``MODULES`` order, records in registration order."""
    _load_modules()
    order = {m: i for i, m in enumerate(MODULES)}
    return sorted(_REGISTRY, key=lambda i: order[_REGISTRY[i].module])


def get(id: str) -> Derivation:
    """Build (once) and return the record ``id``."""
    _load_modules()
    if id not in _REGISTRY:
        raise ValueError(f"derivation id {id!r} unknown; known ids: {', '.join(_REGISTRY)}")
    entry = _REGISTRY[id]
    if entry.record is None:
        start = time.perf_counter()
        record = entry.builder()
        if record.id != id:
            raise RuntimeError(f"builder for {id!r} returned record {record.id!r}")
        record.build_seconds = time.perf_counter() - start
        entry.record = record
    return entry.record


def all_records(module: str | None = None) -> list[Derivation]:
    return [get(i) for i in ids() if module is None or i.split(".")[0] == module]


def errata() -> list[tuple[str, Erratum]]:
    """Every erratum of every record, with the record id."""
    return [(r.id, e) for r in all_records() for e in r.errata]


def srepr_sha256(expr) -> str:
    """SHA-256 of the expression's ``srepr``: the key of a generated kernel."""
    return hashlib.sha256(sp.srepr(expr).encode()).hexdigest()
