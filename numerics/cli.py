"""The ``aniso`` command line::

    aniso --version                       the version and, from a git checkout, the commit
    aniso check [--id ID ...] [--json]   prove every derivation (exit 1 if one fails)
    aniso build [--check]                 write the generated kernels / check they are fresh
    aniso run [--out DIR] [--scale S]     the main job: checks, kernel freshness, validations, report
    aniso bench [--json] [--only NAME] [--baseline CMD]   kernel and backtracker throughput
    aniso simulate --preset NAME [--scale quick|paper] | --config FILE.toml  [--out DIR]
                   [--workers N | --dask ADDRESS] [--backend cpu|cuda] [--threads N] [--realizations N]
                   [--cosine precise|fast]
    aniso spectrum relative-diffusion --p P [--p P ...] --lmax L [--form stationary|printed] [--out DIR]
    aniso spectrum hierarchy --t T [--t T ...] --lmax L [--nu NU] [--out DIR]
    aniso spectrum qlt --alpha A [--alpha A ...] --lmax L [--kout K --kin K] [--index N] [--noise N] [--out DIR]

Bad input prints one line on stderr and exits 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


class _Version(argparse.Action):
    """``--version``: the text is computed when asked for (it runs git), not on every invocation."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from numerics import provenance

        print(provenance.version())  # on stdout, as argparse's own version action does
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_check(args) -> int:
    from numerics.report import run_checks
    from theory import registry

    ids = args.id or None
    if ids:
        known = set(registry.ids())
        for i in ids:
            if i not in known:
                raise ValueError(f"--id={i!r}: unknown derivation id; known: {', '.join(sorted(known))}")
    start = time.perf_counter()
    results = []
    if not args.json:
        print(f"{'id':38s} {'source':44s} {'method':9s} {'status':7s} {'seconds':>7s}")
    for res in run_checks(progress=False, ids=ids):
        results.append(res)
        if not args.json:
            source = "; ".join(res.sources)
            source = source if len(source) <= 44 else source[:41] + "..."
            status = "proved" if res.passed else "FAILED"
            print(f"{res.id:38s} {source:44s} {res.method:9s} {status:7s} {res.seconds:7.2f}", flush=True)
            for c in res.claims:
                if not c.passed:
                    print(f"    claim failed: {c.name}: {c.detail}")
    total = time.perf_counter() - start
    failed = [r.id for r in results if not r.passed]
    if args.json:
        print(json.dumps({"seconds": total, "failed": failed, "checks": [r.as_dict() for r in results]}, indent=2))
    else:
        print(f"{len(results) - len(failed)}/{len(results)} derivations proved in {total:.1f} s")
    return 1 if failed else 0


def _cmd_build(args) -> int:
    from numerics import codegen

    def progress(module):
        print(f"deriving and generating {module} ...", file=sys.stderr, flush=True)

    if args.check:
        stale = codegen.check(progress)
        for s in stale:
            print(s)
        if stale:
            print(f"{len(stale)} stale kernel(s); run `aniso build` and commit numerics/kernels/", file=sys.stderr)
            return 1
        print("kernels are fresh")
        return 0
    written = codegen.write_all(progress)
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_run(args) -> int:
    from numerics import report

    if args.workers is not None and args.dask is not None:
        raise ValueError("--workers and --dask: give one or the other")
    print(f"aniso run --scale {args.scale}: derivation checks, kernel freshness, the validations -> {args.out}",
          flush=True)
    planned = []

    def announce(est):
        planned.append(est)
        print(est.text() if est is not None else "no estimate of the wall time for a GPU or Dask run (the calibration "
              "measures this process's CPU backtracker)", flush=True)

    results = report.run(Path(args.out), progress=not args.no_progress, scale=args.scale, data_dir=args.data,
                         workers=args.workers, dask_address=args.dask, threads=args.threads, backend=args.backend,
                         only=args.only, announce=announce)
    checks = results["checks"]
    print(f"derivations proved: {sum(c['passed'] for c in checks)}/{len(checks)}")
    print(f"kernels fresh: {results['kernels']['fresh']}")
    for s in results["kernels"]["stale"]:
        print(f"  {s}")
    for name, c in results["comparisons"].items():
        tail = "" if c["outcome"] == "pass" else f" ({c['outcome']})"
        print(f"{name:28s} error {report.fmt(c['error']):>9s} (tolerance {report.fmt(c['tolerance'])}): {c['verdict']}{tail}")
    from numerics.validation.registry import COMPARISONS

    for name in results["groups"]["backtracker"]:
        c = results["comparisons"][name]
        print(f"  {name}: {report.headline(c, COMPARISONS[name].headline)}")
        print(f"    agrees with theory: {report.agreement_text(c)}")
    guess = f"; estimated {planned[0].seconds:.0f} s" if planned and planned[0] is not None else ""
    print(f"report: {Path(args.out).resolve() / 'index.html'} ({results['timing']['total_s']} s{guess})")
    print(results["outcome"])
    return 0 if results["passed"] else 1


def _cmd_spectrum(args) -> int:
    from numerics import spectra

    if args.out:  # an unusable --out fails here, before any work and without creating anything
        out = Path(args.out)
        base = next(a for a in (out, *out.parents) if a.exists())
        if not base.is_dir():
            raise ValueError(f"--out={str(out)!r}: {str(base)!r} exists and is not a directory")
        if not os.access(base, os.W_OK):
            raise ValueError(f"--out={str(out)!r}: {str(base)!r} is not writable")

    if args.model == "qlt":
        table = spectra.qlt(args.lmax, args.alpha or [50.0], args.kout, args.kin, args.g_out, args.source, args.index,
                            args.noise, progress=True)
    elif args.model == "relative-diffusion":
        table = spectra.relative_diffusion(args.lmax, args.p or [0.5], args.form)
    else:
        table = spectra.hierarchy(args.lmax, args.t or [2.0], args.nu)
    print(table.text())
    if args.out:
        csv, png = table.write(args.out)
        print(f"wrote {csv} and {png}")
    return 0


def _cmd_simulate(args) -> int:
    from numerics.backtracking import simreport, simulation
    from numerics.files import exclusive

    if (args.preset is None) == (args.config is None):
        raise ValueError("give exactly one of --preset NAME and --config FILE.toml")
    if args.workers is not None and args.dask is not None:
        raise ValueError("--workers and --dask: give one or the other")
    if args.config is not None:
        if args.scale is not None:
            raise ValueError("--scale goes with --preset; in a config file write scale = \"...\" at the top level")
        config = simulation.load_config(args.config)
    else:
        config = simulation.preset(args.preset, args.scale or "quick")
    changes = {k: getattr(args, k) for k in ("realizations", "seed", "nside", "cosine") if getattr(args, k) is not None}
    if changes.get("cosine", "precise") != config.cosine == "precise":  # its own default --out, never the precise one's
        changes["name"] = f"{config.name}-{changes['cosine']}-cosine"
    if changes:
        config = config.replace(**changes)
    simulation.check_run_arguments(config, workers=args.workers, dask_address=args.dask, threads=args.threads,
                                   backend=args.backend)  # validates the configuration too
    out = Path(args.out or Path("aniso-simulation") / config.name.replace("/", "-"))
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out={str(out)!r}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    results = out / "simulation.h5"
    where = f"{args.workers} local Dask workers" if args.workers else (f"Dask scheduler {args.dask}" if args.dask else
                                                                         f"this process ({args.backend})")
    print(f"aniso simulate: {config.name}, {config.realizations} realizations x {12 * config.nside ** 2} particles, "
          f"{len(config.omega_t)} times to Omega T = {config.omega_t[-1]:g}, on {where} -> {results}", flush=True)
    t0 = time.perf_counter()
    with exclusive(results, "--out"):  # the ensemble and its figures: one process at a time
        if args.backend == "cpu" and args.workers is None and args.dask is None:  # once the output is ours
            from numerics import estimate

            print(estimate.for_simulation(config, results, args.threads).text(), flush=True)
            t0 = time.perf_counter()
        ens = simulation.run_ensemble(config, results, workers=args.workers, dask_address=args.dask,
                                      threads=args.threads, backend=args.backend, progress=not args.no_progress)
        seconds = time.perf_counter() - t0
        print(simreport.table(simreport.write(ens, out, seconds)))
    stored = ens.attrs["stored_realizations"]
    more = f" (it holds {stored}; the first {ens.realizations} are used)" if stored > ens.realizations else ""
    print(f"{ens.realizations} realizations stored in {results}{more} ({seconds:.1f} s); figures and summary.json "
          f"in {out}")
    return 0



def _cmd_bench(args) -> int:
    from numerics import bench

    try:  # progress lines on stderr; stdout stays the table or the JSON
        result = bench.run(args.only, progress=True, baseline=args.baseline, baseline_name=args.baseline_name)
    except RuntimeError as exc:  # the external baseline failed part-way: one line, nothing on stdout
        print(f"aniso: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for k, v in result.get("benchmarks", {}).items():
        print(f"{k:50s} {v['best_s'] * 1e3:8.1f} ms  ({v['per_element_ns']:.0f} ns/element)")
    m = result["machine"]
    code = m["codegen"]
    print(f"backtrack (Boris, float64, median of repeats) on {m['cpu_model']} ({' '.join(m['simd']) or 'no SIMD flags'}; "
          f"code for {code['cpu_name']}, {'with' if code['avx512'] else 'without'} AVX-512); "
          "naive: one particle per loop, np.cos per mode, same field, particles and threads:")
    for r in result["backtrack"]:
        naive = (f"  naive {r['naive_mode_evals_per_s']:.3g}/s  ratio {r['ratio']:.1f}x" if "ratio" in r else "")
        if "baseline" in r:
            naive += (f"  {r['baseline']} {r['baseline_mode_evals_per_s']:.3g}/s ({r['baseline_ratio']:.1f}x naive; "
                      f"backtracker {r['over_baseline']:.2f}x it)")
        print(f"  {r['backend']:4s} {r.get('cosine', 'precise'):7s} threads={r['threads']!s:4s} modes={r['modes']:5d}  "
              f"{r['particle_steps_per_s']:.3g} particle-steps/s  {r['mode_evals_per_s']:.3g} mode evaluations/s{naive}")
    if not result["cuda"]["available"]:
        print(f"  cuda: unavailable ({result['cuda']['detail']})")
    return 0


def main(argv=None) -> int:
    from numerics import hierarchy, qlt
    from numerics import relative_diffusion as rd
    from numerics.backtracking import config
    from numerics.backtracking.cuda import CudaUnavailable
    from numerics.bench import GROUPS
    from numerics.validation import registry
    from numerics.validation.base import SCALES

    parser = _Parser(prog="aniso", description="Anisotropy workbench: derive, check, generate, validate.")
    parser.add_argument("--version", action=_Version, help="print the version (and the commit, from a checkout)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("check", help="prove every derivation record")
    p.add_argument("--id", action="append", help="check only this derivation id (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("build", help="generate numerics/kernels from the derivation records")
    p.add_argument("--check", action="store_true", help="regenerate in memory; fail naming stale kernels")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("run", help="the main job: checks, kernel freshness, validations and the report")
    p.add_argument("--out", default="aniso-report", help="report directory (default: ./aniso-report)")
    p.add_argument("--scale", default="quick", choices=SCALES,
                   help="size of the backtracking validations: quick (default, < 10 min on 2 cores), ci, paper")
    p.add_argument("--data", help="where the ensembles are stored and reused (default: <out>/../aniso-data)")
    p.add_argument("--workers", type=int, help="simulate the ensembles on a local Dask cluster with N workers")
    p.add_argument("--dask", help="address of an existing Dask scheduler for the ensembles")
    p.add_argument("--backend", choices=["cpu", "cuda"], default="cpu", help="integrator backend (default cpu)")
    p.add_argument("--threads", type=int, help="numba threads per realization")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this backtracking comparison "
                   f"(repeatable): {', '.join(registry.names('backtracker'))}")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("spectrum", help="relative-diffusion, hierarchical-evolution or QLT spectra: table, CSV and PNG")
    p.add_argument("model", choices=["relative-diffusion", "hierarchy", "qlt"])
    p.add_argument("--lmax", type=int, required=True, help="largest multipole: relative-diffusion <= "
                   f"{rd.LMAX_CLOSED_FORM:g}, hierarchy <= {hierarchy.LMAX}, qlt in [2, {qlt.LMAX}]")
    p.add_argument("--p", type=float, action="append", help="relative-diffusion exponent in (0, 1) (repeatable)")
    p.add_argument("--form", choices=["stationary", "printed"], default="stationary",
                   help="solution of 002 eq. (14) (default) or 002 eq. (16) as printed")
    p.add_argument("--t", type=float, action="append",
                   help=f"hierarchy: time t >= 0 with nu t <= {hierarchy.TAU_MAX:g} (repeatable; default 2)")
    p.add_argument("--nu", type=float, default=1.0, help="hierarchy: rate scale nu > 0 (default 1)")
    p.add_argument("--alpha", type=float, action="append",
                   help=f"qlt: alpha = k_in dT in [{qlt.ALPHA_MIN:g}, {qlt.ALPHA_MAX:g}] (repeatable; default 50)")
    p.add_argument("--kout", type=float, default=1.0, help="qlt: outer wavenumber k_out > 0 (default 1)")
    p.add_argument("--kin", type=float, help="qlt: inner wavenumber k_in > k_out (default: the limit k_in -> inf)")
    p.add_argument("--g-out", dest="g_out", type=float, default=1.0, help="qlt: white-noise level g_out > 0 (default 1)")
    p.add_argument("--index", type=float, help="qlt: a power law g = g_out (k/k_out)^index instead of white noise "
                   f"(|index| <= {qlt.INDEX_MAX:g}, e.g. -1 equal power per ln k, -5/3 Kolmogorov; needs --kin)")
    p.add_argument("--source", type=float, default=1.0,
                   help="qlt: s = (8 pi/3) K |grad f|^2 > 0 (corrected 003 (3.7); default 1)")
    p.add_argument("--noise", type=float, help="qlt: also show C_l + N for a flat noise power N >= 0")
    p.add_argument("--out", help="write <model>.csv and <model>.png here")
    p.set_defaults(func=_cmd_spectrum)
    p = sub.add_parser("bench", help="kernel and backtracker benchmarks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--only", choices=GROUPS, help="run only this group")
    p.add_argument("--baseline", metavar="CMD", help="a second, external baseline for the backtracker, run in the "
                   "same run: a command with {modes} {threads} {particles} {steps} that prints a JSON line with "
                   "mode_evals_per_s (e.g. a CRPropa 3 build; see README)")
    p.add_argument("--baseline-name", default="external", help="its name in the table and the JSON")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("simulate", help="backtracking ensembles through synthetic turbulence (HDF5, figures)")
    p.add_argument("--preset", help=f"one of {', '.join(config.PRESETS)} (002 Sec. 3, 003 Sec. 4)")
    p.add_argument("--scale", help=f"one of {', '.join(config.SCALES)} (default quick; minutes on 2 cores)")
    p.add_argument("--config", help="a TOML file ([turbulence], [particles], [ensemble], [analysis]; see README)")
    p.add_argument("--out", help="output directory (default ./aniso-simulation/<preset>-<scale>)")
    p.add_argument("--workers", type=int, help="start a local Dask cluster with N worker processes")
    p.add_argument("--dask", help="address of an existing Dask scheduler (e.g. tcp://host:8786)")
    p.add_argument("--backend", choices=["cpu", "cuda"], default="cpu", help="integrator backend (default cpu)")
    p.add_argument("--threads", type=int, help="numba threads per realization (default: all here; 1 per Dask task)")
    p.add_argument("--realizations", type=int, help="override the number of realizations")
    p.add_argument("--seed", type=int, help="override the master seed")
    p.add_argument("--nside", type=int, help="override the HEALPix nside")
    p.add_argument("--cosine", choices=["precise", "fast"], help="the field's cosine: precise (degree 13, error < 1e-13, "
                   "the default) or fast (degree 9, < 4e-9, CPU only; another physics hash: the default --out gains -fast-cosine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_simulate)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, CudaUnavailable) as exc:
        print(f"aniso: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that cannot be written (a regular file, read-only, no space left): one line
        where = f" {str(exc.filename)!r}:" if exc.filename else ""
        print(f"aniso: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aniso: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
