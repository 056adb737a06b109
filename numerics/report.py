"""The main job (``aniso run``): derivation checks, kernel freshness, validations, report.

The report directory holds ``index.html``, ``summary.md``, ``results.json``,
``errata.md`` and ``figures/*.png``.  It is assembled in a temporary directory beside
the target and moved into place at the end, so an interrupted run never leaves a
half-written report.
"""
from __future__ import annotations

import html
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from tqdm import tqdm


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


def run(out: Path, progress: bool = True) -> dict:
    """Run the whole pipeline and write the report to ``out``; returns the results dict."""
    import matplotlib

    matplotlib.use("Agg")
    from numerics import codegen
    from numerics.validation import COMPARISONS, run_all
    from theory import registry

    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        start = time.perf_counter()
        checks = list(run_checks(progress))
        stale = codegen.check()
        stages = tqdm(total=len(COMPARISONS), desc="validations", unit="comparison", disable=not progress,
                      leave=False)

        def tick(name):
            stages.set_postfix_str(name)
            stages.update(1)

        comparisons = run_all(tmp / "figures", progress=tick)
        stages.close()
        errata = [{"derivation": rid, "equation": e.equation, "printed": e.printed, "corrected": e.corrected,
                   "reason": e.reason} for rid, e in registry.errata()]
        results = {
            "passed": all(c.passed for c in checks) and not stale and all(c.verdict == "pass"
                                                                            for c in comparisons.values()),
            "checks": [c.as_dict() for c in checks],
            "kernels": {"fresh": not stale, "stale": [str(s) for s in stale]},
            "comparisons": {name: comp.as_dict() for name, comp in comparisons.items()},
            "errata": errata,
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "seconds": round(time.perf_counter() - start, 2),
        }
        (tmp / "results.json").write_text(json.dumps(results, indent=2))
        (tmp / "errata.md").write_text(_errata_md(errata))
        (tmp / "summary.md").write_text(_summary_md(results))
        (tmp / "index.html").write_text(_index_html(results))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return results


def _errata_md(errata) -> str:
    lines = ["| equation | printed | corrected | reason | derivation |", "|---|---|---|---|---|"]
    for e in errata:
        cells = [e["equation"], f"${e['printed']}$", f"${e['corrected']}$", e["reason"], f"`{e['derivation']}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _summary_md(results) -> str:
    ok = "PASS" if results["passed"] else "FAIL"
    lines = [f"# Anisotropy workbench report — {ok}", "",
             f"Run took {results['seconds']} s. Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
             "", "## Derivation checks", "", "| id | sources | method | status | seconds |", "|---|---|---|---|---|"]
    for c in results["checks"]:
        lines.append(f"| `{c['id']}` | {'; '.join(c['sources'])} | {c['method']} | "
                     f"{'proved' if c['passed'] else 'FAILED'} | {c['seconds']:.2f} |")
    lines += ["", "## Kernels", "", "fresh" if results["kernels"]["fresh"] else
              "STALE:\n" + "\n".join(f"- {s}" for s in results["kernels"]["stale"]),
              "", "## Validations", "", "| comparison | error | tolerance | verdict | method |", "|---|---|---|---|---|"]
    for c in results["comparisons"].values():
        lines.append(f"| {c['title']} | {_fmt(c['error'])} | {_fmt(c['tolerance'])} | {c['verdict']} | {c['method']} |")
    for name, c in results["comparisons"].items():
        if c["notes"]:
            lines.append(f"\n*{name}*: {c['notes']}")
        for fig in c["figures"]:
            lines.append(f"\n![{name}]({fig})")
    lines += ["", "## Errata", "", _errata_md(results["errata"])]
    return "\n".join(lines) + "\n"


def _index_html(results) -> str:
    e = html.escape
    ok = "PASS" if results["passed"] else "FAIL"
    rows = "".join(f"<tr><td><code>{e(c['id'])}</code></td><td>{e('; '.join(c['sources']))}</td><td>{e(c['method'])}"
                   f"</td><td class={'ok' if c['passed'] else 'bad'}>{'proved' if c['passed'] else 'FAILED'}</td>"
                   f"<td>{c['seconds']:.2f}</td></tr>" for c in results["checks"])
    comps = ""
    for name, c in results["comparisons"].items():
        figs = "".join(f'<img src="{e(f)}" alt="{e(name)}">' for f in c["figures"])
        comps += (f"<section><h3>{e(c['title'])}</h3><p>error {_fmt(c['error'])}, tolerance {_fmt(c['tolerance'])}: "
                  f"<b class={'ok' if c['verdict'] == 'pass' else 'bad'}>{c['verdict']}</b></p>"
                  f"<p>{e(c['method'])}</p><p>{e(c['notes'])}</p>"
                  f"<details><summary>values</summary><pre>{e(json.dumps(c['measured'], indent=1))}\n"
                  f"{e(json.dumps(c['expected'], indent=1))}</pre></details>{figs}</section>")
    errata = "".join(f"<tr><td>{e(x['equation'])}</td><td><code>{e(x['printed'])}</code></td><td><code>{e(x['corrected'])}</code></td>"
                     f"<td>{e(x['reason'])}</td><td><code>{e(x['derivation'])}</code></td></tr>" for x in results["errata"])
    kern = "fresh" if results["kernels"]["fresh"] else "STALE: " + e("; ".join(results["kernels"]["stale"]))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Anisotropy workbench report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:90%}}.ok{{color:green}}.bad{{color:#b00}}img{{max-width:100%}}</style>
</head><body><h1>Anisotropy workbench report — <span class={'ok' if results['passed'] else 'bad'}>{ok}</span></h1>
<p>Run took {results['seconds']} s. {e(', '.join(f'{k} {v}' for k, v in results['versions'].items()))}</p>
<h2>Derivation checks</h2><table><tr><th>id</th><th>sources</th><th>method</th><th>status</th><th>s</th></tr>{rows}</table>
<h2>Kernels</h2><p>{kern}</p><h2>Validations</h2>{comps}
<h2>Errata</h2><table><tr><th>equation</th><th>printed</th><th>corrected</th><th>reason</th><th>derivation</th></tr>{errata}</table>
</body></html>
"""
