"""Rendering derivation records in Jupyter (used by the notebooks; needs IPython, imported lazily)."""
from __future__ import annotations

import re

import sympy as sp

from theory import registry


def md_escape(text) -> str:
    """Escape Markdown syntax in plain record text."""
    return re.sub(r"([\\`*_|<>\[\]#$])", r"\\\1", str(text))


def is_maths(text: str) -> bool:
    """Whether a printed/corrected errata string is maths (LaTeX commands, sub- or superscripts) or plain words."""
    return any(c in text for c in "\\^_")


def errata_cell(text) -> str:
    """One errata table cell in Markdown: maths in ``$...$`` (with ``|`` as ``\\vert``), plain words escaped."""
    text = str(text)
    return "$" + text.replace("|", r"\vert ") + "$" if is_maths(text) else md_escape(text)


def errata_markdown(errata) -> str:
    """A Markdown table of ``(record id, Erratum)`` pairs (``registry.errata()``): record, equation, printed,
    corrected, reason; maths only where the text is maths."""
    rows = ["| record | equation | printed | corrected | reason |", "|---|---|---|---|---|"]
    for rid, e in errata:
        rows.append(f"| `{rid}` | {md_escape(e.equation)} | {errata_cell(e.printed)} | {errata_cell(e.corrected)} | "
                    f"{md_escape(e.reason)} |")
    return "\n".join(rows) + "\n"


def show_expr(expr) -> None:
    """Render None, a SymPy object, an Eq or a tuple of them."""
    from IPython.display import Math, display

    for e in expr if isinstance(expr, tuple) else (expr,):
        if e is not None:
            display(Math(sp.latex(e)))


def show(record_id: str, results: dict | None = None) -> registry.CheckResult:
    """Render a record's premises and steps, run its ``check()`` once and show the claims as a table.

    The result is returned and, when ``results`` is given, stored there under ``record_id``.
    """
    from IPython.display import Markdown, display

    rec = registry.get(record_id)
    display(Markdown(f"### {md_escape(rec.title)}\n`{rec.id}` — sources: "
                     + "; ".join(md_escape(s) for s in rec.sources)))
    for heading, items in (("Premises", rec.premises), ("Steps", rec.steps)):
        display(Markdown(f"**{heading}**"))
        for k, item in enumerate(items, 1):
            display(Markdown(f"({k}) {md_escape(item.text)}"))
            show_expr(item.expr)
    res = rec.check()
    if results is not None:
        results[record_id] = res
    rows = ["| claim | passed | method | detail |", "|---|---|---|---|"]
    rows += [f"| {md_escape(c.name)} | {'✓' if c.passed else '✗'} | {c.method} | {md_escape(c.detail)} |"
             for c in res.claims]
    display(Markdown("\n".join(rows) + f"\n\n**{'PASSED' if res.passed else 'FAILED'}** "
                     f"(weakest method: {res.method}; {res.seconds:.1f} s including the build)"))
    return res
