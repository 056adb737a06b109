"""The ``aniso`` command line.

    aniso check [--id ID ...] [--json]   prove every derivation (exit 1 if one fails)
    aniso build [--check]                 write the generated kernels / check they are fresh
    aniso run [--out DIR] [--scale S]     the main job: checks, kernel freshness, validations, report
    aniso bench [--json] [--only NAME]    kernel and backtracker throughput
    aniso simulate --preset NAME [--scale quick|paper] | --config FILE.toml  [--out DIR]
                   [--workers N | --dask ADDRESS] [--backend cpu|cuda] [--threads N] [--realizations N]
    aniso spectrum relative-diffusion --p P [--p P ...] --lmax L [--form stationary|printed] [--out DIR]
    aniso spectrum hierarchy --t T [--t T ...] --lmax L [--nu NU] [--out DIR]
    aniso spectrum qlt --alpha A [--alpha A ...] --lmax L [--kout K --kin K] [--index N] [--noise N] [--out DIR]

Bad input prints one line on stderr and exits 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


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
    results = report.run(Path(args.out), progress=not args.no_progress, scale=args.scale, data_dir=args.data,
                         workers=args.workers, dask_address=args.dask, threads=args.threads, backend=args.backend,
                         only=args.only)
    checks = results["checks"]
    print(f"derivations proved: {sum(c['passed'] for c in checks)}/{len(checks)}")
    print(f"kernels fresh: {results['kernels']['fresh']}")
    for s in results["kernels"]["stale"]:
        print(f"  {s}")
    for name, c in results["comparisons"].items():
        tail = "" if c["outcome"] == c["verdict"] else f" ({c['outcome']})"
        print(f"{name:28s} error {report.fmt(c['error']):>9s} (tolerance {report.fmt(c['tolerance'])}): {c['verdict']}{tail}")
    from numerics.validation.registry import COMPARISONS

    for name in results["groups"]["backtracker"]:
        print(f"  {name}: {report.headline(results['comparisons'][name], COMPARISONS[name].headline)}")
    print(f"report: {Path(args.out).resolve() / 'index.html'} ({results['seconds']} s)")
    return 0 if results["passed"] else 1


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename: never a half-written result."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _spectrum_qlt(args) -> int:
    import numpy as np

    from numerics import qlt

    if args.lmax is None or not 2 <= args.lmax <= qlt.LMAX:
        raise ValueError(f"--lmax={args.lmax}: outside the allowed range [2, {qlt.LMAX}] for qlt")
    alphas = args.alpha or [50.0]
    for a in alphas:
        if not 0 < a <= qlt.ALPHA_MAX:
            raise ValueError(f"--alpha={a:g}: outside the allowed range (0, {qlt.ALPHA_MAX:g}]")
    if args.noise is not None and not (np.isfinite(args.noise) and args.noise >= 0):
        raise ValueError(f"--noise={args.noise:g}: a noise power must be >= 0 (allowed range [0, inf))")
    k_in = np.inf if args.kin is None else args.kin
    spectrum = None
    if args.index is not None:  # a power law g = g_out (k/k_out)^index: validated before any work
        if args.kin is None:
            raise ValueError("--kin: required with --index (a power law needs a finite band [k_out, k_in])")
        spectrum = qlt.Spectrum.power_law(args.kout, k_in, args.index, args.g_out)
        qlt.steady_state(2, alphas[0], spectrum=spectrum, source=args.source)  # validates source, alpha
    else:
        qlt._band(args.kout, k_in, allow_infinite=True)  # validates the band before any work
        qlt.steady_state(2, alphas[0], args.kout, k_in, args.g_out, args.source)  # validates g_out, source
    ells = np.arange(1, int(args.lmax) + 1)
    cols = {}
    for a in alphas:
        print(f"alpha = {a:g} ...", file=sys.stderr, flush=True)
        cols[f"alpha={a:g}"] = (qlt.steady_state(int(args.lmax), a, args.kout, k_in, args.g_out, args.source)
                                if spectrum is None else
                                qlt.steady_state(int(args.lmax), a, spectrum=spectrum, source=args.source))
    band = "k_in -> inf (the paper's limit)" if np.isinf(k_in) else f"k_out = {args.kout:g}, k_in = {k_in:g}"
    if spectrum is None:
        title = (f"QLT steady state C_l (003 eq. 3.7), white noise, {band}, source/g_out = {args.source / args.g_out:g}; "
                 "the monopole grows at dC_0/dt = 3 source")
    else:
        title = (f"QLT steady state C_l (003 eq. 3.7), g = g_out (k/k_out)^{args.index:g}, {band}, g_out = {args.g_out:g}, "
                 f"source = {args.source:g}, dT = alpha/k_in; the monopole grows at dC_0/dt = 3 source")
    names = list(cols)
    if args.noise is not None:
        for n in list(names):
            cols[f"{n}+N"] = cols[n] + args.noise
        names = list(cols)
    print(title)
    print(f"{'l':>5s} " + " ".join(f"{n:>18s}" for n in names))
    for i, ell in enumerate(ells):
        print(f"{ell:5d} " + " ".join(f"{cols[n][i]:18.10e}" for n in names))
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(args.out)
        table = np.column_stack([ells] + [cols[n] for n in names])
        _atomic_write(out / "qlt.csv", lambda tmp: np.savetxt(tmp, table, delimiter=",", header="l," + ",".join(names),
                                                              comments="", fmt=["%d"] + ["%.12e"] * len(names)))
        panels = 2 if args.noise is not None else 1
        fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5), squeeze=False)
        for a in alphas:
            axes[0, 0].loglog(ells, cols[f"alpha={a:g}"], label=f"alpha = {a:g}")
            if panels == 2:
                axes[0, 1].loglog(ells, cols[f"alpha={a:g}+N"], label=f"alpha = {a:g}")
        axes[0, 0].set_title("steady state", fontsize=9)
        if panels == 2:
            axes[0, 1].axhline(args.noise, color="k", ls=":", label=f"noise N = {args.noise:g}")
            axes[0, 1].set_title("steady state + noise", fontsize=9)
        for ax in axes[0]:
            ax.set_xlabel("multipole l")
            ax.set_ylabel("C_l")
            ax.legend(fontsize=8)
        fig.suptitle(title, fontsize=8)
        fig.tight_layout()
        _atomic_write(out / "qlt.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
        print(f"wrote {out / 'qlt.csv'} and {out / 'qlt.png'}")
    return 0


def _cmd_spectrum(args) -> int:
    import numpy as np

    from numerics import hierarchy
    from numerics import relative_diffusion as rd

    if args.model == "qlt":
        return _spectrum_qlt(args)
    high = rd.LMAX_CLOSED_FORM if args.model == "relative-diffusion" else hierarchy.LMAX
    if args.lmax is None or not 1 <= args.lmax <= high:
        raise ValueError(f"--lmax={args.lmax}: outside the allowed range [1, {high}] for {args.model}")
    ells = np.arange(1, int(args.lmax) + 1)
    if args.model == "relative-diffusion":
        values = args.p or [0.5]
        rd.cl(1, np.array(values))  # validates p before any work
        cols = {f"p={p:g}": rd.cl(ells, p, form=args.form) for p in values}
        title = f"Stationary <C_l> of the generalised BGK model ({args.form} form), nu_r ~ (1 - x)^p, Q_1 = 1"
        ylabel = "<C_l> / <C_1>"
        normalise = True
    else:
        values = args.t or [2.0]
        hierarchy.total_power(np.array(values), args.nu)  # validates t, nu before any work
        spec = hierarchy.spectrum(int(args.lmax), np.array(values), args.nu)
        cols = {f"nu*t={t * args.nu:g}": spec[i] for i, t in enumerate(values)}
        cols["asymptotic ratio"] = hierarchy.ratio(ells)
        title = f"Hierarchical evolution, C_l(0) = delta_l1 (nu = {args.nu:g}); last column: lim <C_l>/<C_1>"
        ylabel = "<C_l>(t) / C_1(0)"
        normalise = False
    names = list(cols)
    print(title)
    print(f"{'l':>5s} " + " ".join(f"{n:>18s}" for n in names))
    for i, ell in enumerate(ells):
        print(f"{ell:5d} " + " ".join(f"{cols[n][i]:18.10e}" for n in names))
    if args.model == "hierarchy":
        for t in values:
            print(f"sum_l (2l+1) <C_l>(t = {t:g}) = {float(hierarchy.total_power(t, args.nu)):.12g} (3 C_1 at t = 0)")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(args.out)
        stem = args.model
        table = np.column_stack([ells] + [cols[n] for n in names])
        _atomic_write(out / f"{stem}.csv", lambda tmp: np.savetxt(tmp, table, delimiter=",", header="l," + ",".join(names),
                                                                   comments="", fmt=["%d"] + ["%.12e"] * len(names)))
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for n in names:
            y = cols[n] / cols[n][0] if normalise else cols[n]
            ax.loglog(ells, y, "--" if n == "asymptotic ratio" else "-", label=n)
        ax.set_xlabel("multipole l")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=8)
        fig.tight_layout()
        _atomic_write(out / f"{stem}.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
        print(f"wrote {out / (stem + '.csv')} and {out / (stem + '.png')}")
    return 0


def _cmd_simulate(args) -> int:
    from numerics.backtracking import simreport, simulation

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
    changes = {k: getattr(args, k) for k in ("realizations", "seed", "nside") if getattr(args, k) is not None}
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
    ens = simulation.run_ensemble(config, results, workers=args.workers, dask_address=args.dask, threads=args.threads,
                                  backend=args.backend, progress=not args.no_progress)
    seconds = time.perf_counter() - t0
    summ = simreport.summary(ens)
    summ["seconds"] = seconds
    _atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(json.dumps(summ, indent=2)))
    for name, plot in (("evolution.png", simreport.plot_evolution), ("spectrum.png", simreport.plot_spectrum),
                       ("skymap.png", simreport.plot_skymap), ("diffusion.png", simreport.plot_diffusion)):
        _atomic_write(out / name, lambda tmp, plot=plot: plot(ens, tmp))
    print(f"{'Omega T':>9s} " + " ".join(f"{lab[:22]:>34s}" for lab in summ["gradients"]))
    print(f"{'':>9s} " + " ".join(f"{'<C1>':>11s} {'C1 std.diff.':>11s} {'noise':>10s}" for _ in summ["gradients"]))
    for j, wt in enumerate(summ["omega_t"]):
        row = []
        for g in summ["gradients"].values():
            std = g["C1_standard"][j] if g["C1_standard"] is not None else float("nan")
            row.append(f"{g['C1'][j]:11.4g} {std:11.4g} {g['noise'][j]:10.3g}")
        print(f"{wt:9.3g} " + " ".join(row))
    print(f"{ens.realizations} realizations stored in {results} ({seconds:.1f} s); figures and summary.json in {out}")
    return 0


def _bench_backtrack(threads_list=None, modes=(64, 256, 1024), repeats=5):
    """Particle-steps/s and mode evaluations/s of the Boris kernel (CPU; and CUDA when a GPU is present)."""
    import numba
    import numpy as np

    from numerics.backtracking import boris as backtrack
    from numerics.backtracking.turbulence import PlaneWaveField

    threads_list = threads_list or sorted({1, numba.config.NUMBA_NUM_THREADS})
    dirs = np.random.default_rng(3).normal(size=(4096, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    rows = []
    for n in modes:
        field = PlaneWaveField.giacalone_jokipii(n, 2 * np.pi / 100, 2 * np.pi / 0.01, sigma2=1.0, regular=(0, 0, 10.0), seed=1)
        dt = backtrack.default_step(field)
        steps = max(4, int(1e9 / (dirs.shape[0] * n)))  # 1e9 mode evaluations per timed run
        backtrack.backtrack(field, dirs[:64], [dt], dt=dt)  # compile / warm
        for threads in threads_list:
            rates = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                backtrack.backtrack(field, dirs, [steps * dt], dt=dt, threads=threads)
                rates.append(dirs.shape[0] * steps / (time.perf_counter() - t0))
            ps = float(np.median(rates))
            rows.append({"backend": "cpu", "threads": threads, "modes": n, "particles": dirs.shape[0], "steps": steps,
                         "repeats": repeats, "particle_steps_per_s": ps, "mode_evals_per_s": ps * n,
                         "spread": [float(min(rates) * n), float(max(rates) * n)]})
    from numerics.backtracking import cuda as _cuda

    ok, reason = _cuda.available()
    if ok and reason != _cuda.SIMULATOR:
        for n in modes:
            res = _cuda.bench(n, 1 << 20, 200)
            rows.append({"backend": "cuda", "threads": None, "modes": n, **res})
    return rows, (ok, reason)


def _cmd_bench(args) -> int:
    import os
    import platform

    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": platform.processor()}
    if args.only == "backtrack":
        rows, (ok, reason) = _bench_backtrack()
        result = {"machine": machine, "backtrack": rows, "cuda": {"available": ok, "detail": reason}}
        _print_backtrack(result, args.json)
        return 0
    result = {"machine": machine, **_bench_kernels()}
    rows, (ok, reason) = _bench_backtrack()
    result["backtrack"] = rows
    result["cuda"] = {"available": ok, "detail": reason}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result["benchmarks"].items():
            print(f"{k:50s} {v['best_s'] * 1e3:8.1f} ms  ({v['per_element_ns']:.0f} ns/element)")
        _print_backtrack(result, False)
    return 0


def _print_backtrack(result, as_json):
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print("backtrack (Boris, float64, median of repeats):")
    for r in result["backtrack"]:
        print(f"  {r['backend']:4s} threads={r['threads']!s:4s} modes={r['modes']:5d}  "
              f"{r['particle_steps_per_s']:.3g} particle-steps/s  {r['mode_evals_per_s']:.3g} mode evaluations/s")
    if not result["cuda"]["available"]:
        print(f"  cuda: unavailable ({result['cuda']['detail']})")


def _bench_kernels() -> dict:
    import numpy as np

    from numerics import compton_getting, diffusion

    rng = np.random.default_rng(1)
    n = 1_000_000
    b = rng.normal(size=(n, 3))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    nu = rng.uniform(0.1, 2.0, n)
    om = rng.uniform(-3, 3, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    out = {}
    from numerics import hierarchy, relative_diffusion

    ells = np.arange(1, 10_001)[:, None]
    ps = np.linspace(0.01, 0.99, 100)[None, :]
    times = np.logspace(-3, 2, 1000)
    hierarchy.spectrum(100, times[:3])  # compile the numba part outside the timing
    from numerics import partial_sky, qlt, wigner

    def qlt_cold():
        qlt._geometry.cache_clear()
        qlt._series_matrix.cache_clear()
        return qlt.steady_state(64, 50.0, 1.0, np.inf)

    kolmogorov = qlt.Spectrum.power_law(1e-3, 1e2, -5 / 3)

    def qlt_power_law_cold():
        qlt._geometry.cache_clear()
        qlt._series_matrix.cache_clear()
        return qlt.steady_state(64, delta_t=0.5, spectrum=kolmogorov)

    sweep = np.geomspace(5.0, 200.0, 10)

    def qlt_sweep():
        return [qlt.steady_state(64, a, 1.0, np.inf) for a in sweep]

    # the {2 l0 l0; l lA lB} symbols of M^(1c,2) at lmax = 64 (lB = lA - 2, lA, lA + 2; triangles and parity allowed)
    L6 = np.arange(65)
    l6, l06, la6, d6 = (a.ravel() for a in np.meshgrid(L6, L6, np.arange(129), np.array([-2, 0, 2]), indexing="ij"))
    lb6 = la6 + d6
    keep = ((lb6 >= 0) & (np.abs(l6 - l06) <= la6) & (la6 <= l6 + l06) & (np.abs(l6 - l06) <= lb6) & (lb6 <= l6 + l06)
            & ((l6 + l06 + la6) % 2 == 0) & (l06 >= 1))
    six_args = (2, l06[keep], l06[keep], l6[keep], la6[keep], lb6[keep])
    qlt_sweep()  # warm the Wigner tensors for the sweep
    cases = {
        "diffusion.bgk_tensor (1e6 tensors)": (n, lambda: diffusion.bgk_tensor(nu, om, b)),
        "compton_getting.solar_dipole solar (1e6 phases)": (n, lambda: compton_getting.solar_dipole(phase, 2.7)),
        "compton_getting.dipole_shift (1e6 vectors)": (n, lambda: compton_getting.dipole_shift(b * 1e-4, 2.7)),
        "relative_diffusion.cl (l = 1..1e4 x 100 p)": (10 ** 6, lambda: relative_diffusion.cl(ells, ps)),
        "relative_diffusion.solve (lmax = 200, p = 1/2)": (200, lambda: relative_diffusion.solve(lambda x: (1 - x) ** 0.5, 200)),
        "hierarchy.spectrum (l <= 100 x 1000 times)": (100_000, lambda: hierarchy.spectrum(100, times)),
        "qlt.steady_state cold (lmax = 64, alpha = 50; Wigner tensors, kappa, solve)": (64, qlt_cold),
        "qlt.steady_state alpha sweep (lmax = 64, 10 alphas in [5, 200])": (10, qlt_sweep),
        "qlt.steady_state cold, power law (lmax = 64, g ~ k^-5/3 on [1e-3, 1e2], dT = 0.5)": (64, qlt_power_law_cold),
        f"wigner.wigner_6j tensor {{2 l0 l0; l lA lB}}, lmax = 64 ({int(keep.sum())} symbols)":
            (int(keep.sum()), lambda: wigner.wigner_6j(*six_args)),
        "partial_sky.transfer (lmax = 100, band [-25, 65] deg)": (101 * 101, lambda: partial_sky.transfer(100, -25.0, 65.0)),
    }
    for name, (count, fn) in cases.items():
        best = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            best.append(time.perf_counter() - t0)
        out[name] = {"best_s": min(best), "per_element_ns": min(best) / count * 1e9}
    return {"benchmarks": out}


def main(argv=None) -> int:
    parser = _Parser(prog="aniso", description="Anisotropy workbench: derive, check, generate, validate.")
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
    p.add_argument("--scale", default="quick", choices=["ci", "quick", "paper"],
                   help="size of the backtracking validations: quick (default, < 10 min on 2 cores), ci, paper")
    p.add_argument("--data", help="where the ensembles are stored and reused (default: <out>/../aniso-data)")
    p.add_argument("--workers", type=int, help="simulate the ensembles on a local Dask cluster with N workers")
    p.add_argument("--dask", help="address of an existing Dask scheduler for the ensembles")
    p.add_argument("--backend", choices=["cpu", "cuda"], default="cpu", help="integrator backend (default cpu)")
    p.add_argument("--threads", type=int, help="numba threads per realization")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this backtracking comparison (repeatable): diffusion_tensor, relative_diffusion, "
                        "qlt, small_scale_theorem, compton_getting, transition_matrix")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("spectrum", help="relative-diffusion, hierarchical-evolution or QLT spectra: table, CSV and PNG")
    p.add_argument("model", choices=["relative-diffusion", "hierarchy", "qlt"])
    p.add_argument("--lmax", type=int, help="largest multipole (required)")
    p.add_argument("--p", type=float, action="append", help="relative-diffusion exponent in (0, 1) (repeatable)")
    p.add_argument("--form", choices=["stationary", "printed"], default="stationary",
                   help="solution of 002 eq. (14) (default) or 002 eq. (16) as printed")
    p.add_argument("--t", type=float, action="append", help="hierarchy: time t >= 0 (repeatable)")
    p.add_argument("--nu", type=float, default=1.0, help="hierarchy: rate scale nu > 0 (default 1)")
    p.add_argument("--alpha", type=float, action="append", help="qlt: alpha = k_in dT in (0, 1000] (repeatable)")
    p.add_argument("--kout", type=float, default=1.0, help="qlt: outer wavenumber k_out > 0 (default 1)")
    p.add_argument("--kin", type=float, help="qlt: inner wavenumber k_in > k_out (default: the limit k_in -> inf)")
    p.add_argument("--g-out", dest="g_out", type=float, default=1.0, help="qlt: white-noise level g_out > 0 (default 1)")
    p.add_argument("--index", type=float, help="qlt: a power law g = g_out (k/k_out)^index instead of white noise "
                   "(|index| <= 10, e.g. -1 equal power per ln k, -5/3 Kolmogorov; needs --kin)")
    p.add_argument("--source", type=float, default=1.0,
                   help="qlt: s = (8 pi/3) K |grad f|^2 > 0 (corrected 003 (3.7); default 1)")
    p.add_argument("--noise", type=float, help="qlt: also show C_l + N for a flat noise power N >= 0")
    p.add_argument("--out", help="write <model>.csv and <model>.png here")
    p.set_defaults(func=_cmd_spectrum)
    p = sub.add_parser("bench", help="kernel and backtracker benchmarks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--only", choices=["backtrack"], help="run only this group")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("simulate", help="backtracking ensembles through synthetic turbulence (HDF5, figures)")
    p.add_argument("--preset", help="ahlers-mertsch-2015 (002 Sec. 3) or mertsch-ahlers-2019 (003 Sec. 4)")
    p.add_argument("--scale", help="quick (default; minutes on 2 cores) or paper (the papers' ensembles)")
    p.add_argument("--config", help="a TOML file ([turbulence], [particles], [ensemble], [analysis]; see README)")
    p.add_argument("--out", help="output directory (default ./aniso-simulation/<preset>-<scale>)")
    p.add_argument("--workers", type=int, help="start a local Dask cluster with N worker processes")
    p.add_argument("--dask", help="address of an existing Dask scheduler (e.g. tcp://host:8786)")
    p.add_argument("--backend", choices=["cpu", "cuda"], default="cpu", help="integrator backend (default cpu)")
    p.add_argument("--threads", type=int, help="numba threads per realization (default: all here; 1 per Dask task)")
    p.add_argument("--realizations", type=int, help="override the number of realizations")
    p.add_argument("--seed", type=int, help="override the master seed")
    p.add_argument("--nside", type=int, help="override the HEALPix nside")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_simulate)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"aniso: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if str(exc).startswith("cuda backend unavailable"):
            print(f"aniso: error: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("aniso: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
