"""``aniso bench``: throughput of the generated kernels, the physics API and the backtracker.

Each measurement is the best (kernels) or the median (backtracker) of a few repeats, timed with
``time.perf_counter``; the figures depend on the machine and its load, so they are reported, never asserted.
:func:`run` returns a JSON-able dict: ``machine``, ``benchmarks`` (name -> best seconds and ns per element),
``backtrack`` (one row per backend, thread count and number of modes) and ``cuda`` (available, detail).
"""
from __future__ import annotations

import platform
import sys
import time
from typing import Callable

import numpy as np

__all__ = ["run", "kernels", "backtrack", "machine", "GROUPS", "BASELINE_FIELDS", "check_baseline",
           "external_rate"]

#: what ``--only`` may select
GROUPS = ("backtrack",)


def machine() -> dict:
    """The machine (numerics.provenance.machine: CPU model, SIMD flags, cores), the commit measured and ``codegen``:
    the CPU numba compiles for (LLVM's name of this one, or ``NUMBA_CPU_NAME``) and whether it may use AVX-512 --
    ``NUMBA_CPU_NAME=haswell`` with ``NUMBA_CPU_FEATURES`` lacking the avx512 features measures AVX2-only code on an
    AVX-512 machine (issue 20)."""
    import numba

    from numerics import provenance

    features = numba.config.CPU_FEATURES
    if features is None:
        import llvmlite.binding as ll

        host = ll.get_host_cpu_features()
        avx512 = bool(host.get("avx512f", False))  # a dict of feature -> bool
        name = ll.get_host_cpu_name()
    else:
        avx512 = "+avx512f" in features.split(",")
        name = numba.config.CPU_NAME or "host"
    return {**provenance.machine(), "processor": platform.processor(), "commit": provenance.commit(),
            "codegen": {"cpu_name": name, "avx512": avx512, "features_set": features is not None}}


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _kernel_cases() -> dict[str, tuple[int, Callable[[], object]]]:
    """name -> (elements, a call) for the kernels and the physics API."""
    from numerics import compton_getting, diffusion, hierarchy, partial_sky, qlt, relative_diffusion, wigner

    rng = np.random.default_rng(1)
    n = 1_000_000
    b = rng.normal(size=(n, 3))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    nu = rng.uniform(0.1, 2.0, n)
    om = rng.uniform(-3, 3, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    ells = np.arange(1, 10_001)[:, None]
    ps = np.linspace(0.01, 0.99, 100)[None, :]
    times = np.logspace(-3, 2, 1000)
    hierarchy.spectrum(100, times[:3])  # compile the numba part outside the timing

    def qlt_cold():
        qlt.clear_caches()
        return qlt.steady_state(64, 50.0, 1.0, np.inf)

    kolmogorov = qlt.Spectrum.power_law(1e-3, 1e2, -5 / 3)

    def qlt_power_law_cold():
        qlt.clear_caches()
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
    return {
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


def kernels(repeats: int = 5, progress: bool = False) -> dict:
    """``{"benchmarks": name -> {"best_s", "per_element_ns"}}``: the best of ``repeats`` timed calls of each case."""
    _say(progress, "bench: preparing the kernel cases (compiles numba, warms the Wigner tensors) ...")
    out = {}
    cases = _kernel_cases()
    for i, (name, (count, fn)) in enumerate(cases.items(), 1):
        _say(progress, f"bench [{i}/{len(cases)}] {name}")
        best = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best.append(time.perf_counter() - t0)
        out[name] = {"best_s": min(best), "per_element_ns": min(best) / count * 1e9}
    return {"benchmarks": out}


#: the placeholders a baseline command may use
BASELINE_FIELDS = ("modes", "threads", "particles", "steps")


def check_baseline(command: str) -> list[str]:
    """The argument list of a baseline command template, checked before any work: it must split as a shell would,
    use only the placeholders in :data:`BASELINE_FIELDS` and name a program that exists; otherwise ``ValueError``."""
    import shlex
    import shutil
    import string

    if not isinstance(command, str) or not command.strip():
        raise ValueError(f"baseline={command!r}: must be a non-empty command template")
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"baseline={command!r}: cannot be split into arguments ({exc})") from None
    try:
        names = {f for a in args for _, f, _, _ in string.Formatter().parse(a) if f is not None}
    except ValueError as exc:
        raise ValueError(f"baseline={command!r}: not a valid template ({exc}); write a literal brace as {{{{ or }}}}") \
            from None
    unknown = sorted(names - set(BASELINE_FIELDS))
    if unknown:
        raise ValueError(f"baseline={command!r}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                         f"allowed: {', '.join('{' + f + '}' for f in BASELINE_FIELDS)}")
    if shutil.which(args[0]) is None:
        raise ValueError(f"baseline={command!r}: program {args[0]!r} not found or not executable")
    return args


def external_rate(command: str, *, modes: int, threads: int, particles: int, steps: int, timeout: float = 600) -> float:
    """Run the baseline command once with its placeholders filled and return the ``mode_evals_per_s`` of the last
    JSON line on its standard output that holds one (a positive finite number).  A failing program, one that
    prints no such line, or one that runs past ``timeout`` seconds raises ``RuntimeError`` with what it printed."""
    import json
    import subprocess

    values = {"modes": modes, "threads": threads, "particles": particles, "steps": steps}
    args = [a.format(**values) for a in check_baseline(command)]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"baseline {' '.join(args)!r}: ran past {timeout:g} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"baseline {' '.join(args)!r}: exit status {proc.returncode}: {proc.stderr.strip()[-300:]}")
    rate = None
    for line in proc.stdout.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "mode_evals_per_s" in obj:
            rate = obj["mode_evals_per_s"]
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and np.isfinite(rate) and rate > 0):
        raise RuntimeError(f"baseline {' '.join(args)!r}: printed no JSON line with a positive finite "
                           f"mode_evals_per_s (last value {rate!r}; stdout ends {proc.stdout.strip()[-200:]!r})")
    return float(rate)


def backtrack(threads_list=None, modes=(64, 256, 1024), repeats: int = 5, progress: bool = False,
              baseline: str | None = None, baseline_name: str = "external", cosines=("precise", "fast")):
    """Particle-steps/s and mode evaluations/s of the Boris kernel (CPU; and CUDA when a GPU is present).

    Returns ``(rows, (cuda available, detail))``; each CPU row is the median of ``repeats`` runs of 1e9 mode
    evaluations through a Giacalone-Jokipii field (4096 particles), with the spread of the runs, and -- measured in
    the same run, with the same field, particles and threads -- the median rate of the naive baseline
    (:mod:`numerics.backtracking.naive`: a loop per particle with ``np.cos`` per mode, 1e8 mode evaluations a run)
    and ``ratio``, the backtracker's rate over the baseline's: the machine-independent figure to quote (issue 20).
    There is one CPU row per cosine in ``cosines`` (``cosine``: numerics.backtracking.kernel.COSINES), all timed in
    the same repeats and sharing the baselines' figures; the precise cosine's row comes first.

    ``baseline`` is an optional second baseline, an external program measured in the same run (issue 20 item 3:
    CRPropa 3 built by the user): a command template with the placeholders ``{modes}``, ``{threads}``,
    ``{particles}`` and ``{steps}``, run once per repeat between the two measurements above.  It must time its own
    work and print a JSON line holding ``mode_evals_per_s`` (the last such line of its standard output counts);
    its rate need not come from the same field, only from the same number of modes, particles and threads.  Each CPU
    row then gains ``baseline`` (``baseline_name``), ``baseline_mode_evals_per_s``, ``baseline_spread``,
    ``baseline_ratio`` (its rate over the naive one, comparable with ``ratio``) and ``over_baseline`` (the
    backtracker's rate over its).  See :func:`external_rate`.
    """
    import numba

    from numerics.backtracking import boris, cuda, naive
    from numerics.backtracking.kernel import check_cosine
    from numerics.backtracking.turbulence import PlaneWaveField

    threads_list = threads_list or sorted({1, numba.config.NUMBA_NUM_THREADS})
    cosines = tuple(check_cosine(c) for c in cosines)
    if not cosines:
        raise ValueError("cosines=(): name at least one of the backtracker's cosines")
    if baseline is not None:
        check_baseline(baseline)
    dirs = np.random.default_rng(3).normal(size=(4096, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    rows = []
    for n in modes:
        field = PlaneWaveField.giacalone_jokipii(n, 2 * np.pi / 100, 2 * np.pi / 0.01, sigma2=1.0, regular=(0, 0, 10.0), seed=1)
        dt = boris.default_step(field)
        steps = max(4, int(1e9 / (dirs.shape[0] * n)))  # 1e9 mode evaluations per timed run
        naive_steps = max(2, steps // 10)
        origin = np.zeros_like(dirs)
        for cosine in cosines:  # compile / warm
            boris.backtrack(field, dirs[:64], [dt], dt=dt, cosine=cosine)
        naive.trace(field, origin[:64], -dirs[:64], 1, dt, charge=-1)
        for threads in threads_list:
            _say(progress, f"bench backtrack: cpu, {n} modes, {threads} thread(s), {repeats} x {steps} steps "
                           f"(naive baseline: {repeats} x {naive_steps})")
            rates, naive_rates, external_rates = {c: [] for c in cosines}, [], []
            external_steps = max(2, steps // 4)  # 2.5e8 mode evaluations a run
            previous = numba.get_num_threads()
            numba.set_num_threads(threads)  # for the baseline; boris.backtrack sets its own from threads=
            try:
                for _ in range(repeats):
                    for cosine in cosines:
                        t0 = time.perf_counter()
                        boris.backtrack(field, dirs, [steps * dt], dt=dt, threads=threads, cosine=cosine)
                        rates[cosine].append(dirs.shape[0] * steps / (time.perf_counter() - t0))
                    if baseline is not None:
                        external_rates.append(external_rate(baseline, modes=n, threads=threads,
                                                            particles=dirs.shape[0], steps=external_steps))
                    t0 = time.perf_counter()  # the baseline backtracks too: the antiparticle, reversed directions
                    naive.trace(field, origin, -dirs, naive_steps, dt, charge=-1)
                    naive_rates.append(dirs.shape[0] * naive_steps / (time.perf_counter() - t0))
            finally:
                numba.set_num_threads(previous)
            naive_ps = float(np.median(naive_rates))
            ext = float(np.median(external_rates)) if baseline is not None else None
            for cosine in cosines:
                ps = float(np.median(rates[cosine]))
                rows.append({"backend": "cpu", "cosine": cosine, "threads": threads, "modes": n,
                             "particles": dirs.shape[0], "steps": steps, "repeats": repeats,
                             "particle_steps_per_s": ps, "mode_evals_per_s": ps * n,
                             "spread": [float(min(rates[cosine]) * n), float(max(rates[cosine]) * n)],
                             "naive_steps": naive_steps, "naive_mode_evals_per_s": naive_ps * n,
                             "naive_spread": [float(min(naive_rates) * n), float(max(naive_rates) * n)],
                             "ratio": ps / naive_ps})
                if baseline is not None:
                    rows[-1].update({"baseline": baseline_name, "baseline_command": baseline,
                                     "baseline_steps": external_steps, "baseline_mode_evals_per_s": ext,
                                     "baseline_spread": [float(min(external_rates)), float(max(external_rates))],
                                     "baseline_ratio": ext / (naive_ps * n), "over_baseline": ps * n / ext})
    ok, reason = cuda.available()
    if ok and reason != cuda.SIMULATOR:
        for n in modes:
            _say(progress, f"bench backtrack: cuda, {n} modes")
            res = cuda.bench(n, 1 << 20, 200)
            rows.append({"backend": "cuda", "cosine": "precise", "threads": None, "modes": n, **res})
    return rows, (ok, reason)


def run(only: str | None = None, progress: bool = False, baseline: str | None = None,
        baseline_name: str = "external") -> dict:
    """Every benchmark (or the group ``only``, one of :data:`GROUPS`); progress lines go to stderr.  ``baseline``
    and ``baseline_name``: a second, external baseline for the backtracker (:func:`backtrack`)."""
    if only is not None and only not in GROUPS:
        raise ValueError(f"only={only!r}: must be one of {', '.join(GROUPS)}")
    if baseline is not None:
        check_baseline(baseline)
    result = {"machine": machine()}
    if only is None:
        result.update(kernels(progress=progress))
    rows, (ok, reason) = backtrack(progress=progress, baseline=baseline, baseline_name=baseline_name)
    result["backtrack"] = rows
    result["cuda"] = {"available": ok, "detail": reason}
    return result
