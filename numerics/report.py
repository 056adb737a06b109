"""The main job (``aniso run``): derivation checks, kernel freshness, validations, report.

The report directory holds ``index.html``, ``summary.md``, ``results.json``,
``errata.md`` and ``figures/*.png``.  It is assembled in a temporary directory beside
the target and moved into place at the end, so an interrupted run never leaves a
half-written report.
"""
from __future__ import annotations

import html
import json
import platform
import re
import shutil
import time
from pathlib import Path

from tqdm import tqdm

from numerics import provenance
from numerics.files import atomic_directory, exclusive, swap_in, write_error


def _versions() -> dict:
    import healpy
    import matplotlib
    import numba
    import numpy
    import scipy
    import sympy

    import numerics

    return {"aniso-workbench": numerics.__version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "sympy": sympy.__version__, "numba": numba.__version__,
            "healpy": healpy.__version__, "matplotlib": matplotlib.__version__}


def run_checks(progress: bool = True, ids=None):
    """Run every derivation check; yields CheckResult objects in registry order."""
    from theory import registry

    chosen = ids or registry.ids()
    bar = tqdm(chosen, desc="derivation checks", unit="record", disable=not progress, leave=False)
    for rid in bar:
        bar.set_postfix_str(rid)
        yield registry.get(rid).check()


def run(out: Path, progress: bool = True, *, scale: str = "quick", data_dir=None, workers=None, dask_address=None,
        threads=None, backend: str = "cpu", only=None, announce=None) -> dict:
    """Run the whole pipeline and write the report to ``out``; returns the results dict.

    ``scale`` ("ci", "quick", "paper") sizes the six backtracking comparisons
    (:mod:`numerics.validation.pipeline`); their ensembles are stored in ``data_dir`` (default
    ``<out>/../aniso-data``) and reused when their configuration matches.  ``workers``/``dask_address``/
    ``threads``/``backend`` say where the ensembles run (``numerics.backtracking.simulation.run_ensemble``).  ``only``
    (names of backtracking comparisons) runs a subset.  Arguments are checked before any work.  ``announce``: called
    with the :class:`numerics.estimate.Estimate` of the run (CPU backend in this process; None otherwise) after the
    arguments are checked and before the work starts.
    """
    from numerics import _validate as check
    from numerics.backtracking import simulation
    from numerics.validation import pipeline, registry
    from numerics.validation.base import check_scale

    check_scale(scale)
    if only is not None:
        for name in only:
            check.choice("comparison", name, registry.names("backtracker"))
    simulation.check_run_arguments(pipeline.ensemble_config("002", scale), workers=workers, dask_address=dask_address,
                                   threads=threads, backend=backend)
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r}: exists and is not a directory")
    data_dir = Path(data_dir).resolve() if data_dir is not None else out.parent / "aniso-data"
    if data_dir.exists() and not data_dir.is_dir():
        raise ValueError(f"data_dir={str(data_dir)!r}: exists and is not a directory")
    with exclusive(out):  # a second run into the same report: InUse (exit 2) before any work
        if announce is not None:
            from numerics import estimate

            local = backend == "cpu" and workers is None and dask_address is None
            announce(estimate.for_run(scale, data_dir, only, threads) if local else None)
        return _run_locked(out, scale, data_dir, only, workers, dask_address, threads, backend, progress)


def _run_locked(out, scale, data_dir, only, workers, dask_address, threads, backend, progress) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    from numerics import codegen
    from numerics.validation import pipeline, registry
    from theory import registry as derivations

    tmp = atomic_directory(out)
    try:
        start = time.perf_counter()
        checks = list(run_checks(progress))
        t_checks = time.perf_counter()
        stale = codegen.check()
        t_kernels = time.perf_counter()
        sim_names = registry.names("backtracker") if only is None else list(only)
        stages = tqdm(total=len(registry.names("analytic")) + len(sim_names), desc="validations", unit="comparison",
                      disable=not progress, leave=False)

        def tick(name):
            stages.set_postfix_str(name)
            stages.update(1)

        everything, ensembles = pipeline.run_comparisons(
            tmp / "figures", scale, data_dir, only=only, workers=workers, dask_address=dask_address, threads=threads,
            backend=backend, progress=progress, tick=tick)
        stages.close()
        t_validations = time.perf_counter()
        comparisons = {n: c for n, c in everything.items() if registry.COMPARISONS[n].kind == "analytic"}
        simulated = {n: c for n, c in everything.items() if registry.COMPARISONS[n].kind == "backtracker"}
        errata = [{"derivation": rid, "equation": e.equation, "printed": e.printed, "corrected": e.corrected,
                   "reason": e.reason} for rid, e in derivations.errata()]
        everything = {**comparisons, **simulated}
        entries = {name: entry(comp) for name, comp in everything.items()}
        results = {
            "passed": all(c.passed for c in checks) and not stale and all(
                e["outcome"] in ("pass", "known disagreement") for e in entries.values()),
            "scale": scale,
            "checks": [c.as_dict() for c in checks],
            "kernels": {"fresh": not stale, "stale": [str(s) for s in stale]},
            "comparisons": entries,
            "groups": {"backtracker": list(simulated), "numerics": list(comparisons)},
            "ensembles": ensembles,
            "errata": errata,
            "versions": _versions(),
            "machine": {**provenance.machine(backend), "backend": backend, "workers": workers, "dask": dask_address},
            "commit": provenance.commit(),
        }
        ensembles_s = sum(float(i.get("seconds") or 0.0) for i in ensembles.values())
        results["timing"] = {
            "checks_s": round(t_checks - start, 2), "kernels_s": round(t_kernels - t_checks, 2),
            "ensembles_s": round(ensembles_s, 2), "comparisons_s": round(t_validations - t_kernels - ensembles_s, 2),
            "report_s": None, "total_s": None}
        results["outcome"] = outcome_line(results)
        # the pages quote the total up to here; writing them (maths rendered to SVG) is timed as report_s
        t_report = time.perf_counter()
        results["seconds"] = round(t_report - start, 2)
        (tmp / "errata.md").write_text(_errata_md(errata))
        (tmp / "summary.md").write_text(_summary_md(results))
        (tmp / "index.html").write_text(_index_html(results))
        now = time.perf_counter()
        results["timing"].update(report_s=round(now - t_report, 2), total_s=round(now - start, 2))
        (tmp / "results.json").write_text(json.dumps(results, indent=2, allow_nan=False))
        swap_in(tmp, out)
    except OSError as exc:  # e.g. a full disk while the report is assembled: the old report stays, the new one goes
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.filename and str(exc.filename).startswith(str(tmp)):
            raise write_error(exc, out) from None  # name the report, not its temporary
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return results


#: what ``results.json`` holds: its top-level keys, and the keys each of the named ones holds at least (a committed
#: report, e.g. results/paper/, is checked against it: :func:`schema_problems`)
RESULTS_SCHEMA = {
    "passed": (), "scale": (), "checks": (), "kernels": ("fresh", "stale"), "comparisons": (),
    "groups": ("backtracker", "numerics"), "ensembles": (), "errata": (), "versions": ("aniso-workbench", "python"),
    "machine": ("platform", "cpus", "cpu_model", "simd", "gpu_model", "backend"), "commit": ("id", "dirty"),
    "timing": ("checks_s", "kernels_s", "ensembles_s", "comparisons_s", "report_s", "total_s"), "seconds": (),
    "outcome": (),
}
#: the keys of each ``ensembles`` entry and of each ``comparisons`` entry (besides its headline numbers)
ENSEMBLE_KEYS = ("config", "path", "reused", "realizations", "nside", "physics_hash", "seconds")
COMPARISON_KEYS = ("verdict", "passed", "outcome", "error", "tolerance", "measured", "expected", "figures")


def schema_problems(results: dict) -> list[str]:
    """What ``results`` (a loaded results.json) lacks or has beyond :data:`RESULTS_SCHEMA`; empty when it matches."""
    out = [f"missing key {k!r}" for k in RESULTS_SCHEMA if k not in results]
    out += [f"unknown key {k!r} (from another version of aniso run?)" for k in results if k not in RESULTS_SCHEMA]
    for k, subkeys in RESULTS_SCHEMA.items():
        if subkeys and isinstance(results.get(k), dict):
            out += [f"missing key {k}.{s}" for s in subkeys if s not in results[k]]
    for name, e in (results.get("ensembles") or {}).items():
        out += [f"missing key ensembles.{name}.{s}" for s in ENSEMBLE_KEYS if s not in e]
    for name, c in (results.get("comparisons") or {}).items():
        out += [f"missing key comparisons.{name}.{s}" for s in COMPARISON_KEYS if s not in c]
    return out


def _errata_md(errata) -> str:
    """The errata table in Markdown: maths in $...$ only where the text is maths (theory.display.errata_cell)."""
    from theory.display import errata_cell, md_escape

    lines = ["| equation | printed | corrected | reason | derivation |", "|---|---|---|---|---|"]
    for e in errata:
        lines.append(f"| {md_escape(e['equation'])} | {errata_cell(e['printed'])} | {errata_cell(e['corrected'])} | "
                     f"{md_escape(e['reason'])} | `{e['derivation']}` |")
    return "\n".join(lines) + "\n"


#: TeX that matplotlib's mathtext does not know, and the nearest it does
_MATHTEXT = ((r"\tfrac", r"\frac"), (r"\dfrac", r"\frac"))


def maths_html(text: str) -> str:
    """``text`` for the HTML report: maths (theory.display.is_maths) pre-rendered as inline SVG by matplotlib's
    mathtext, so the page needs neither a network nor a script; plain words, or TeX that mathtext cannot parse
    (shown as its source in ``<code>``), escaped."""
    import io

    from theory.display import is_maths

    if not is_maths(text):
        return html.escape(text)
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    tex = re.sub(r"\\[td]?frac(\d)(\d)", r"\\frac{\1}{\2}", text)  # \tfrac13: TeX's short form
    tex = re.sub(r"\\(boldsymbol|mathbf|mathrm|mathcal)\\([A-Za-z]+)", r"\\\1{\\\2}", tex)  # \boldsymbol\delta
    for old, new in _MATHTEXT:
        tex = tex.replace(old, new)
    buf = io.BytesIO()
    try:
        mathtext.math_to_image(f"${tex}$", buf, format="svg", prop=FontProperties(size=11))
    except ValueError:
        return f"<code>{html.escape(text)}</code>"
    svg = buf.getvalue().decode()
    svg = svg[svg.index("<svg"):]
    return f'<span class=maths title="{html.escape(text)}">{svg}</span>'


def agreement_text(c: dict) -> str:
    """'yes' / 'NO' / 'n/a', and the statement with its tolerance, for a results.json entry."""
    agrees = c.get("agrees")
    word = "n/a" if agrees is None else "yes" if agrees else "NO"
    return f"{word}: {c['agreement']}" if c.get("agreement") else word


def _ok(c: dict) -> str:
    """The CSS class of an entry's verdict."""
    return "ok" if c.get("passed", c["verdict"] == "pass") else "bad"


def outcome_line(results: dict) -> str:
    """The outcome in full, as the title of the report, its summary and the last line of ``aniso run`` state it:
    "PASS — 14 pass, 1 known disagreement (qlt)" or "FAIL — 13 pass, 1 known disagreement (qlt), 1 FAIL (x); 1
    derivation not proved; stale kernels".  PASS exactly when every derivation is proved, the kernels are fresh and
    every comparison passes or fails as its documented known disagreement (the exit status of ``aniso run``)."""
    by = {}
    for name, c in results["comparisons"].items():
        by.setdefault("pass" if c["outcome"] == "pass" else
                      "known disagreement" if c["outcome"] == "known disagreement" else "FAIL", []).append(name)
    passing = by.get("pass", [])
    comps = results["comparisons"]
    caveats = [f"{what}: {', '.join(names)}" for what, names in (
        ("not converged", [n for n in passing if comps[n].get("converged") is False]),
        ("disagrees with theory", [n for n in passing if comps[n].get("agrees") is False])) if names]
    parts = [f"{len(passing)} pass" + (f" ({'; '.join(caveats)})" if caveats else "")]
    for key in ("known disagreement", "FAIL"):
        if by.get(key):
            parts.append(f"{len(by[key])} {key}{'s' if key != 'FAIL' and len(by[key]) > 1 else ''} ({', '.join(by[key])})")
    line = ", ".join(parts)
    unproved = [c["id"] for c in results["checks"] if not c["passed"]]
    if unproved:
        line += f"; {len(unproved)} derivation{'s' if len(unproved) > 1 else ''} not proved ({', '.join(unproved)})"
    if not results["kernels"]["fresh"]:
        line += "; stale kernels"
    return f"{'PASS' if results['passed'] else 'FAIL'} — {line}"


def entry(comp) -> dict:
    """The results.json entry of a :class:`~numerics.validation.base.Comparison`: ``as_dict()`` with its outcome
    ('pass', 'known disagreement' or 'FAIL') and, for a comparison that establishes a disagreement, the finding."""
    from numerics.validation.registry import COMPARISONS

    out = comp.as_dict()
    spec = COMPARISONS[comp.name]
    out["outcome"] = spec.outcome(out)
    if spec.known_disagreement is not None:
        out["known_disagreement"] = spec.known_disagreement.finding
    return out


def fmt(x) -> str:
    """A measured number as the report prints it: 3 significant digits, "n/a" for a missing one."""
    if x is None:
        return "n/a"
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _reading(name: str, r: dict) -> str:
    """One reading of a comparison with several ('white-noise: alpha >= 150, chi2/dof = 88, C2/C1 = 0.05 ± 0.05')."""
    alpha = r.get("alpha_bound") or (f"alpha = {fmt(r.get('alpha'))}"
                                     + (f" ± {fmt(r['alpha_err'])}" if r.get("alpha_err") is not None else ""))
    shape = f"C2/C1 = {fmt(r.get('shape_c2_c1'))} ± {fmt(r.get('shape_c2_c1_err'))}" if "shape_c2_c1" in r else ""
    parts = [alpha, f"chi2/dof = {fmt(r.get('chi2_dof'))}", shape, r.get("verdict") or ""]
    return f"{name}: " + ", ".join(p for p in parts if p)


def headline(c: dict, names) -> str:
    """'p = 0.28 ± 0.2, ...': the headline numbers of a comparison entry, errors paired with their values; a value at
    the edge of its fit range is shown as the bound it is (``measured['<key>_bound']``), per-reading entries (a dict of
    dicts) one reading after the other."""
    keys = [k for k in names if k in c]
    parts = []
    for k in keys:
        if k.endswith(("_err", "_sem")) and k[:-4] in keys:
            continue
        if isinstance(c[k], dict):
            parts.extend(_reading(name, r) for name, r in c[k].items() if isinstance(r, dict))
            continue
        bound = (c.get("measured") or {}).get(f"{k}_bound")
        if bound:
            parts.append(str(bound))
            continue
        err = next((c[k + suffix] for suffix in ("_err", "_sem") if k + suffix in keys), None)
        parts.append(f"{k} = {fmt(c[k])}" + (f" ± {fmt(err)}" if err is not None else ""))
    return "; ".join(parts) if any(isinstance(c[k], dict) for k in keys) else ", ".join(parts)


def _groups(results):
    from numerics.validation.registry import COMPARISONS

    comps = results["comparisons"]
    back = [(n, comps[n], COMPARISONS[n].headline) for n in results["groups"]["backtracker"]]
    num = [(n, comps[n], ()) for n in results["groups"]["numerics"]]
    return back, num


def _summary_md(results) -> str:
    back, num = _groups(results)
    lines = [f"# Anisotropy workbench report — {results['outcome']}", "",
             f"Scale `{results['scale']}`; the run took {results['seconds']} s. Versions: "
             + ", ".join(f"{k} {v}" for k, v in results["versions"].items()), "",
             "## Kernels against the backtracker", "",
             "The verdict is the comparison's own test (its method says what error and tolerance mean); whether the "
             "measurement agrees with theory is stated separately, with its tolerance.", "",
             "| comparison | headline | error | tolerance | verdict | agrees with theory | outcome |",
             "|---|---|---|---|---|---|---|"]
    for name, c, heads in back:
        lines.append(f"| {name} | {headline(c, heads)} | {fmt(c['error'])} | {fmt(c['tolerance'])} | {c['verdict']} | "
                     f"{agreement_text(c)} | {c['outcome']} |")
    for name, c, _ in back:
        if c.get("known_disagreement"):
            lines += ["", f"Known disagreement ({name}): {c['known_disagreement']}."]
    lines += ["", "Ensembles:", ""]
    for key, e in results["ensembles"].items():
        lines.append(f"- {key}: `{e['config']}`, {e['realizations']} realizations, "
                     f"{'reused' if e['reused'] else 'simulated'} ({e['seconds']} s), `{e['path']}`")
    for name, c, _ in back:
        lines += ["", f"### {c['title']}", "", f"Method: {c['method']}", ""]
        if c.get("convergence"):
            lines += [f"Convergence: {c['convergence']}.", ""]
        if c["notes"]:
            lines += [c["notes"], ""]
        lines += [f"![{name}]({fig})" for fig in c["figures"]]
    lines += ["", "## Derivation checks", "", "| id | sources | method | status | seconds |", "|---|---|---|---|---|"]
    for c in results["checks"]:
        lines.append(f"| `{c['id']}` | {'; '.join(c['sources'])} | {c['method']} | "
                     f"{'proved' if c['passed'] else 'FAILED'} | {c['seconds']:.2f} |")
    lines += ["", "## Kernels", "", "fresh" if results["kernels"]["fresh"] else
              "STALE:\n" + "\n".join(f"- {s}" for s in results["kernels"]["stale"]),
              "", "## Kernels against independent numerics", "",
              "| comparison | error | tolerance | verdict | method |", "|---|---|---|---|---|"]
    for _name, c, _ in num:
        lines.append(f"| {c['title']} | {fmt(c['error'])} | {fmt(c['tolerance'])} | {c['verdict']} | {c['method']} |")
    for name, c, _ in num:
        if c["notes"]:
            lines.append(f"\n*{name}*: {c['notes']}")
        for fig in c["figures"]:
            lines.append(f"\n![{name}]({fig})")
    lines += ["", "## Errata", "", _errata_md(results["errata"])]
    return "\n".join(lines) + "\n"


def _index_html(results) -> str:
    e = html.escape
    rows = "".join(f"<tr><td><code>{e(c['id'])}</code></td><td>{e('; '.join(c['sources']))}</td><td>{e(c['method'])}"
                   f"</td><td class={'ok' if c['passed'] else 'bad'}>{'proved' if c['passed'] else 'FAILED'}</td>"
                   f"<td>{c['seconds']:.2f}</td></tr>" for c in results["checks"])
    back, num = _groups(results)

    def section(name, c, heads):
        figs = "".join(f'<img src="{e(f)}" alt="{e(name)}">' for f in c["figures"])
        head = f"<p><b>{e(headline(c, heads))}</b></p>" if heads else ""
        secs = f" ({c['seconds']} s)" if c.get("seconds") is not None else ""
        conv = f"<p>Convergence: {e(c['convergence'])}.</p>" if c.get("convergence") else ""
        return (f"<section id={e(name)}><h3>{e(c['title'])}</h3>{head}<p>error {fmt(c['error'])}, tolerance "
                f"{fmt(c['tolerance'])}: <b class={_ok(c)}>{c['verdict']}</b>{secs}; agrees with theory: "
                f"{e(agreement_text(c))}</p>{conv}<p>{e(c['method'])}</p><p>{e(c['notes'])}</p>"
                f"<details><summary>values</summary><pre>{e(json.dumps(c['measured'], indent=1))}\n"
                f"{e(json.dumps(c['expected'], indent=1))}</pre></details>{figs}</section>")

    table = "".join(f"<tr><td><a href='#{e(n)}'>{e(n)}</a></td><td>{e(headline(c, h))}</td><td>{fmt(c['error'])}</td>"
                    f"<td>{fmt(c['tolerance'])}</td><td class={_ok(c)}>{c['verdict']}</td>"
                    f"<td class={'bad' if c.get('agrees') is False else 'ok'}>{e(agreement_text(c))}</td>"
                    f"<td>{e(c['outcome'])}</td></tr>" for n, c, h in back)
    known = "".join(f"<p><b>Known disagreement ({e(n)}):</b> {e(c['known_disagreement'])}.</p>" for n, c, _ in back
                    if c.get("known_disagreement"))
    ens = "".join(f"<li>{e(k)}: <code>{e(v['config'])}</code>, {v['realizations']} realizations, "
                  f"{'reused' if v['reused'] else 'simulated'} ({v['seconds']} s), <code>{e(v['path'])}</code></li>"
                  for k, v in results["ensembles"].items())
    comps = (f"<h2>Kernels against the backtracker</h2><table><tr><th>comparison</th><th>headline</th><th>error</th>"
             f"<th>tolerance</th><th>verdict</th><th>agrees with theory</th><th>outcome</th></tr>{table}</table>"
             "<p>The verdict is the comparison's own test (its method says what error and tolerance mean); whether the "
             f"measurement agrees with theory is stated separately, with its tolerance.</p>{known}<p>Ensembles:</p><ul>{ens}</ul>"
             + "".join(section(n, c, h) for n, c, h in back)
             + "<h2>Kernels against independent numerics</h2>" + "".join(section(n, c, h) for n, c, h in num))
    errata = "".join(f"<tr><td>{e(x['equation'])}</td><td>{maths_html(x['printed'])}</td><td>{maths_html(x['corrected'])}</td>"
                     f"<td>{e(x['reason'])}</td><td><code>{e(x['derivation'])}</code></td></tr>" for x in results["errata"])
    kern = "fresh" if results["kernels"]["fresh"] else "STALE: " + e("; ".join(results["kernels"]["stale"]))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Anisotropy workbench report — {e(results['outcome'])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:90%}}.ok{{color:green}}.bad{{color:#b00}}img{{max-width:100%}}</style>
</head><body><h1>Anisotropy workbench report — <span class={'ok' if results['passed'] else 'bad'}>{e(results['outcome'])}</span></h1>
<p>Scale {e(results['scale'])}; the run took {results['seconds']} s.
{e(', '.join(f'{k} {v}' for k, v in results['versions'].items()))}</p>
{comps}
<h2>Derivation checks</h2><table><tr><th>id</th><th>sources</th><th>method</th><th>status</th><th>s</th></tr>{rows}</table>
<h2>Kernels</h2><p>{kern}</p>
<h2>Errata</h2><table><tr><th>equation</th><th>printed</th><th>corrected</th><th>reason</th><th>derivation</th></tr>{errata}</table>
</body></html>
"""
