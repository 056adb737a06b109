"""Sphinx extension of the workbench's documentation: the pages that are generated, not written.

At ``builder-inited`` it writes, under ``docs/generated/`` (not committed; rewritten on every build):

* ``theory/<topic>.md`` -- one page per theory module: every derivation record of the registry with its id,
  sources (the printed equations), premises, steps, claims (derived and stated, in LaTeX) and the method that
  proved each claim in *this* build (``Derivation.check``), its generated kernels and its errata;
* ``errata.md`` -- the errata table of the whole registry (``theory.display.errata_markdown``);
* ``api/<module>.md`` -- an autodoc page per public module of ``numerics`` and ``theory.registry`` (a module is
  public when no part of its dotted name starts with ``_``);
* ``notebooks/*`` -- the notebooks, which myst-nb reads and executes (``ANISO_SMALL=1``): the jupytext ``.py`` file,
  or the notebook the test suite executed (``docs/_build/executed/<name>.ipynb``, written by
  ``tests/notebooks/test_notebooks.py``) where that was executed from this very source -- the notebook's text and
  every ``.py`` file of ``theory/`` and ``numerics/`` (:func:`source_key`) -- so CI executes each notebook once;
* ``guide/*.md`` -- the README's sections on installing, the main job and its report, backtracking and the API
  (the README stays the one source; its links to files of the repository are rewritten for the site).

It also escapes ``|`` in docstrings (``|x|`` is an absolute value there, never a reStructuredText substitution)
outside inline literals and maths, for the rendered page only.

The generation is plain Python (``generate(outdir)``) so that the tests can check the pages without Sphinx.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import re
import shutil
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parents[2]
#: the theory topics, in the order of the papers' argument (module of theory/ -> heading)
TOPICS = {
    "diffusion": "Standard diffusion",
    "compton_getting": "The Compton–Getting effect",
    "observation": "Observational relations",
    "geometry": "Geometry",
    "relative_diffusion": "Relative diffusion (002)",
    "hierarchy": "Hierarchical evolution (review Sec. 4.4)",
    "qlt": "Quasi-linear theory (003)",
    "wigner": "Wigner symbols",
}
#: public modules documented in the API reference besides those of numerics
EXTRA_API = ("theory.registry",)


def _text(text) -> str:
    """Record text in MyST: escaped where Markdown would read it as syntax."""
    from theory.display import md_escape

    return md_escape(text)


def _math(expr) -> str:
    """A display-maths block of a SymPy object, an Eq or a tuple of them ('' for None)."""
    if expr is None:
        return ""
    parts = expr if isinstance(expr, tuple) else (expr,)
    body = ",\\quad ".join(sp.latex(e) for e in parts if e is not None)
    return f"\n$$\n{body}\n$$\n" if body else ""


def _claim_side(obj) -> str:
    if isinstance(obj, (int, float)):
        return f"${obj:g}$"
    try:
        return "$" + sp.latex(sp.sympify(obj)).replace("|", r"\vert ") + "$"
    except (sp.SympifyError, TypeError):
        return _text(obj)


def record_section(rec, result) -> str:
    """The Markdown of one derivation record and the result of its check."""
    out = [f"(record-{rec.id})=", f"## {_text(rec.title)}", "",
           f"`{rec.id}` · sources: " + "; ".join(_text(s) for s in rec.sources)
           + f" · proved: **{'yes' if result.passed else 'NO'}** (weakest method: {result.method})", ""]
    for heading, items in (("Premises", rec.premises), ("Steps", rec.steps)):
        if not items:
            continue
        out += [f"**{heading}**", ""]
        for k, item in enumerate(items, 1):
            out += [f"{k}. {_text(item.text)}", _math(item.expr)]
        out.append("")
    out += ["**Claims**", "", "| claim | stated | proved by |", "|---|---|---|"]
    by_name = {c.name: c for c in result.claims}
    for claim in rec.claims:
        r = by_name[claim.name]
        stated = _claim_side(claim.stated) if not isinstance(claim.stated, sp.MatrixBase) else "(a matrix)"
        out.append(f"| {_text(claim.name)} | {stated} | {_text(r.method) if r.passed else '**failed**'} |")
    out.append("")
    if rec.kernels:
        out += ["**Generated kernels**", ""]
        out += [f"- `numerics.kernels.{rec.module}.{k.name}` ({_text(k.equation)}): {_text(k.summary)}"
                for k in rec.kernels]
        out.append("")
    if rec.errata:
        out += [f"**Errata**: {len(rec.errata)} (see {{doc}}`../errata`)", ""]
    return "\n".join(out)


def theory_pages(outdir: Path) -> dict[str, list[str]]:
    """Write one page per topic; returns topic -> record ids written (every record of the registry, once)."""
    from theory import registry

    (outdir / "theory").mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {}
    modules = {}
    for rid in registry.ids():
        modules.setdefault(rid.split(".")[0], []).append(rid)
    unknown = sorted(set(modules) - set(TOPICS))
    if unknown:
        raise ValueError(f"theory modules without a docs topic: {unknown}; add them to aniso_docs.TOPICS")
    for topic, heading in TOPICS.items():
        ids = modules.get(topic, [])
        doc = importlib.import_module(f"theory.{topic}").__doc__ or ""
        lines = [f"# {heading}", "", _text(doc.strip().splitlines()[0]) if doc.strip() else "", "",
                 f"{len(ids)} derivation records, each proved while these pages were built.", ""]
        for rid in ids:
            rec = registry.get(rid)
            lines.append(record_section(rec, rec.check()))
        (outdir / "theory" / f"{topic}.md").write_text("\n".join(lines) + "\n")
        written[topic] = ids
    index = ["# Derivations", "",
             "Every formula the workbench uses is a derivation record (`theory.registry`): its premises, its steps, "
             "the claims it proves and how. These pages are generated from the registry on every build of the "
             "documentation, and every claim on them was proved during that build.", "",
             "```{toctree}", ":maxdepth: 1", "", *[f"{t}" for t in TOPICS], "```", ""]
    (outdir / "theory" / "index.md").write_text("\n".join(index))
    return written


def errata_page(outdir: Path) -> int:
    """Write the errata table; returns its number of rows."""
    from theory import registry
    from theory.display import errata_markdown

    errata = registry.errata()
    text = ("# Errata\n\nWhere a printed equation of the papers disagrees with its derivation: the record, the "
            "equation, the printed and the corrected form and why (generated from `theory.registry.errata()`).\n\n"
            + errata_markdown(errata))
    (outdir / "errata.md").write_text(text)
    return len(errata)


def public_modules() -> list[str]:
    """The public modules of ``numerics`` (no part of the name private), and ``EXTRA_API``."""
    import numerics

    names = ["numerics"]
    for info in pkgutil.walk_packages(numerics.__path__, prefix="numerics."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names) + list(EXTRA_API)


def api_pages(outdir: Path) -> list[str]:
    """Write one autodoc page per public module and an index; returns the module names."""
    (outdir / "api").mkdir(parents=True, exist_ok=True)
    names = public_modules()
    for name in names:
        # a package's own page shows its docstring; its re-exported names are documented where they are defined
        is_package = hasattr(importlib.import_module(name), "__path__")
        page = [f"# `{name}`", "", "```{eval-rst}", f".. automodule:: {name}",
                "   :no-members:" if is_package else "   :members:", "```", ""]
        (outdir / "api" / f"{name}.md").write_text("\n".join(page))
    groups = {"The physics API": [n for n in names if n.count(".") == 1 and n != "numerics.cli"] + ["numerics"],
              "Generated kernels": [n for n in names if n.startswith("numerics.kernels")],
              "Backtracking": [n for n in names if n.startswith("numerics.backtracking")],
              "Validation": [n for n in names if n.startswith("numerics.validation")],
              "Command line and derivation registry": ["numerics.cli", *EXTRA_API]}
    index = ["# API reference", "",
             "Every public module, from its docstrings (numpydoc). A name starting with `_` is private to its module, "
             "a module starting with `_` to its package; neither is documented here.", ""]
    for heading, mods in groups.items():
        index += [f"## {heading}", "", "```{toctree}", ":maxdepth: 1", "", *sorted(set(mods)), "```", ""]
    (outdir / "api" / "index.md").write_text("\n".join(index))
    listed = {m for mods in groups.values() for m in mods}
    missing = sorted(set(names) - listed)
    if missing:
        raise ValueError(f"public modules in no API group: {missing}")
    return names


#: where the test suite leaves the notebooks it executed, for the documentation to render
EXECUTED = ROOT / "docs" / "_build" / "executed"


def source_key(notebook: Path) -> str:
    """SHA-256 of a notebook's text and of every ``.py`` file of ``theory/`` and ``numerics/``: an executed
    notebook is rendered only if nothing it could have run has changed since."""
    h = hashlib.sha256(Path(notebook).read_bytes())
    for package in ("theory", "numerics"):
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def store_executed(nb, notebook: Path) -> Path:
    """Write an executed notebook (an ``nbformat`` node) where :func:`notebook_copies` looks, keyed by
    :func:`source_key`; atomically, so an interrupted test leaves no half-written notebook."""
    import nbformat

    nb.metadata["aniso_docs"] = {"source_key": source_key(notebook)}
    EXECUTED.mkdir(parents=True, exist_ok=True)
    out = EXECUTED / f"{Path(notebook).stem}.ipynb"
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return out


def executed_for(notebook: Path) -> Path | None:
    """The stored executed notebook of ``notebook`` when it is current and has outputs, else None."""
    path = EXECUTED / f"{Path(notebook).stem}.ipynb"
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    current = nb.get("metadata", {}).get("aniso_docs", {}).get("source_key") == source_key(notebook)
    has_outputs = any(c.get("outputs") for c in nb.get("cells", []) if c.get("cell_type") == "code")
    return path if current and has_outputs else None


def notebook_copies(outdir: Path) -> dict[str, str]:
    """Copy each notebook (the executed one where current, else its jupytext source); returns name -> the copy's
    suffix (``.ipynb``: rendered as executed by the tests; ``.py``: executed by myst-nb during the build)."""
    (outdir / "notebooks").mkdir(parents=True, exist_ok=True)
    copies = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.py")):
        source = executed_for(path) or path
        shutil.copyfile(source, outdir / "notebooks" / (path.stem + source.suffix))
        copies[path.stem] = source.suffix
    return copies


#: guide pages from the README: name -> (title, [(first heading, heading it ends before), ...])
GUIDE = {
    "install": ("Installing and running", [("## Set-up and the two commands", "### The main job"),
                                           ("## Notebooks in JupyterLab", "## Layout")]),
    "main-job": ("The main job and its report", [("### The main job", "## Backtracking simulations")]),
    "backtracking": ("Backtracking simulations", [("## Backtracking simulations", "## Notebooks in JupyterLab")]),
    "api-tour": ("A tour of the public API", [("## Public API", "## Papers"), ("## Papers", None)]),
}


def readme_section(text: str, start: str, end: str | None) -> str:
    """The README between the heading line ``start`` and the heading line ``end`` (or the end), with its first
    heading left out and relative links rewritten for a page two levels below ``docs/``."""
    lines = text.splitlines()
    try:
        i = lines.index(start)
        j = lines.index(end, i + 1) if end else len(lines)
    except ValueError as exc:
        raise ValueError(f"README.md has no heading {exc.args[0].split()[0]!r} ... the docs' GUIDE names it") from exc
    body = "\n".join(lines[i + 1:j])
    return re.sub(r"\]\(([^)#:]+)\)", lambda m: "](" + _site_link(m.group(1)) + ")", body)


def _site_link(target: str) -> str:
    """A README link, seen from ``docs/generated/guide/``: committed results -> the results page, the changelog ->
    its page, any other file -> a download."""
    if target.startswith("results/"):
        return "../../results.md"
    if target == "CHANGELOG.md":
        return "../../changelog.md"
    if (ROOT / target).is_file():
        return "path:../../../" + target
    raise ValueError(f"README.md links to {target!r}, which the documentation cannot show; add it to _site_link")


def guide_pages(outdir: Path) -> list[str]:
    """Write the guide pages from the README; returns their names."""
    (outdir / "guide").mkdir(parents=True, exist_ok=True)
    readme = (ROOT / "README.md").read_text()
    for name, (title, sections) in GUIDE.items():
        parts = [f"# {title}", ""]
        for k, (start, end) in enumerate(sections):
            if k:
                parts += ["", "#" * 2 + " " + start.lstrip("# "), ""]
            parts.append(readme_section(readme, start, end))
        (outdir / "guide" / f"{name}.md").write_text("\n".join(parts) + "\n")
    return list(GUIDE)


_LITERAL = re.compile(r"(``.+?``|:math:`[^`]*`|`[^`]*`)")


def escape_bars(lines: list[str]) -> None:
    """Escape ``|`` in place outside inline literals, roles and ``.. math::`` blocks (see the module docstring)."""
    in_math, math_indent = False, 0
    for k, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if in_math:
            if stripped and indent <= math_indent:
                in_math = False
            else:
                continue
        if stripped.startswith(".. math::"):
            in_math, math_indent = True, indent
            continue
        if "|" in line:
            pieces = _LITERAL.split(line)
            lines[k] = "".join(p if n % 2 else p.replace("|", r"\|") for n, p in enumerate(pieces))


def _process_docstring(app, what, name, obj, options, lines) -> None:
    escape_bars(lines)


def generate(outdir: Path) -> dict:
    """Write every generated page under ``outdir`` (emptied first)."""
    outdir = Path(outdir)
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    return {"theory": theory_pages(outdir), "errata": errata_page(outdir), "api": api_pages(outdir),
            "notebooks": notebook_copies(outdir), "guide": guide_pages(outdir)}


def _builder_inited(app) -> None:
    generate(Path(app.srcdir) / "generated")


def setup(app):
    app.connect("builder-inited", _builder_inited)
    app.connect("autodoc-process-docstring", _process_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def check_site(html: Path) -> list[str]:
    """What a built site lacks (empty: complete): an API page per public module, every derivation record on its
    topic page, the errata table with a row per erratum, every notebook rendered with at least one figure."""
    from theory import registry

    html = Path(html)
    problems = []
    for name in public_modules():
        if not (html / "generated" / "api" / f"{name}.html").is_file():
            problems.append(f"no API page for {name}")
    for rid in registry.ids():
        page = html / "generated" / "theory" / f"{rid.split('.')[0]}.html"
        anchor = "record-" + re.sub(r"[^a-z0-9]+", "-", rid.lower())  # docutils' id of the target (record-<id>)=
        if not page.is_file() or f'id="{anchor}"' not in page.read_text():
            problems.append(f"derivation record {rid} is not on {page.name}")
    errata = html / "generated" / "errata.html"
    rows = errata.read_text().count("<tr") - 1 if errata.is_file() else -1
    if rows != len(registry.errata()):
        problems.append(f"the errata page has {rows} rows, the registry {len(registry.errata())} errata")
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.py")):
        page = html / "generated" / "notebooks" / f"{path.stem}.html"
        if not page.is_file():
            problems.append(f"notebook {path.stem} is not rendered")
        elif "<img" not in page.read_text():
            problems.append(f"notebook {path.stem} is rendered without a figure (not executed?)")
    return problems


if __name__ == "__main__":  # python docs/_ext/aniso_docs.py docs/_build/html: exit 1 naming what the site lacks
    import sys

    found = check_site(Path(sys.argv[1]))
    for line in found:
        print(f"docs: {line}", file=sys.stderr)
    print("docs: the site is complete" if not found else f"docs: {len(found)} problems")
    sys.exit(1 if found else 0)
