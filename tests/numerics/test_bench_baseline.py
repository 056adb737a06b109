"""``aniso bench``'s second, external baseline (issue 20 item 3): a command measured in the same run.

The external program here is a stand-in written by the test (a Python script), so the arithmetic of the rows and the
handling of a misbehaving program can be checked without CRPropa."""
from __future__ import annotations

import json
import stat
import sys

import pytest

from numerics import bench


def script(tmp_path, body: str, name="fake_baseline"):
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport json, sys\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_external_rate_fills_the_placeholders_and_takes_the_last_json_line(tmp_path):
    # the stand-in echoes its arguments in the rate, so the test sees what it was given
    prog = script(tmp_path, "a = dict(zip(sys.argv[1::2], map(int, sys.argv[2::2])))\n"
                            "print('a log line, not JSON')\n"
                            "print(json.dumps({'mode_evals_per_s': 1.0}))\n"
                            "print(json.dumps({'other': 3}))\n"
                            "print(json.dumps({'mode_evals_per_s': a['m'] * 1e6 + a['t'] * 1e4 + a['p'] + a['s'] * 1e-3}))")
    rate = bench.external_rate(f"{prog} m {{modes}} t {{threads}} p {{particles}} s {{steps}}",
                               modes=256, threads=2, particles=4096, steps=7)
    assert rate == 256e6 + 2e4 + 4096 + 7e-3


@pytest.mark.parametrize("command, match", [
    ("", "non-empty command"),
    ("   ", "non-empty command"),
    ("'unclosed {modes}", "cannot be split"),
    ('echo "{" {modes}', r"not a valid template .*literal brace as \{\{ or \}\}"),
    ("python3 {modes} {rank}", r"unknown placeholder\(s\) \{rank\}"),
    ("python3 {0}", r"unknown placeholder\(s\) \{0\}"),
    ("no-such-program-aniso {modes}", "not found or not executable"),
])
def test_a_bad_baseline_command_is_refused_before_any_work(command, match):
    with pytest.raises(ValueError, match=match):
        bench.check_baseline(command)
    with pytest.raises(ValueError, match=match):  # bench.run refuses it before measuring anything
        bench.run("backtrack", baseline=command)


@pytest.mark.parametrize("body, match", [
    ("sys.exit(3)", "exit status 3"),
    ("print('no JSON here')", "no JSON line"),
    ("print(json.dumps({'mode_evals_per_s': -5}))", "no JSON line with a positive finite"),
    ("print(json.dumps({'mode_evals_per_s': 'fast'}))", "no JSON line with a positive finite"),
    ("print('{\"mode_evals_per_s\": NaN}')", "no JSON line with a positive finite"),
])
def test_a_misbehaving_baseline_program_raises_runtime_error(tmp_path, body, match):
    prog = script(tmp_path, body)
    with pytest.raises(RuntimeError, match=match):
        bench.external_rate(prog, modes=8, threads=1, particles=64, steps=2)


def test_a_baseline_that_hangs_is_stopped(tmp_path):
    prog = script(tmp_path, "import time\ntime.sleep(30)")
    with pytest.raises(RuntimeError, match="ran past 0.5 s"):
        bench.external_rate(prog, modes=8, threads=1, particles=64, steps=2, timeout=0.5)


def test_backtrack_rows_carry_the_baseline_and_its_ratios(tmp_path):
    log = tmp_path / "calls.jsonl"
    prog = script(tmp_path, f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                            "print(json.dumps({'mode_evals_per_s': 1e8 * int(sys.argv[2])}))")
    rows, _ = bench.backtrack(threads_list=[1], modes=(8,), repeats=1,
                              baseline=f"{prog} --modes {{modes}} --threads {{threads}} --particles {{particles}} "
                                       f"--steps {{steps}}", baseline_name="stand-in")
    r = rows[0]
    calls = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(calls) == 1  # once per repeat, in the same run
    assert calls[0] == ["--modes", "8", "--threads", "1", "--particles", str(r["particles"]),
                        "--steps", str(r["baseline_steps"])]
    assert r["baseline"] == "stand-in" and r["baseline_mode_evals_per_s"] == 8e8 and r["baseline_spread"] == [8e8, 8e8]
    assert r["baseline_ratio"] == pytest.approx(8e8 / r["naive_mode_evals_per_s"], rel=1e-12)
    assert r["over_baseline"] == pytest.approx(r["mode_evals_per_s"] / 8e8, rel=1e-12)


def test_cli_bench_with_a_missing_baseline_exits_2_with_one_line(capsys):
    from numerics.cli import main

    assert main(["bench", "--only", "backtrack", "--baseline", "no-such-program-aniso --modes {modes}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("aniso: error: baseline=") and "not found" in err[0]


def test_cli_bench_with_a_failing_baseline_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    from numerics import cli

    prog = script(tmp_path, "sys.exit(4)")
    real = bench.backtrack
    monkeypatch.setattr(bench, "backtrack", lambda **kw: real(threads_list=[1], modes=(8,), repeats=1,
                                                              baseline=kw["baseline"],
                                                              baseline_name=kw["baseline_name"]))
    assert cli.main(["bench", "--only", "backtrack", "--baseline", prog]) == 1
    out = capsys.readouterr()
    errors = [x for x in out.err.splitlines() if x.startswith("aniso: error")]
    assert out.out == "" and len(errors) == 1 and "exit status 4" in errors[0]



def test_machine_says_which_code_numba_generates(monkeypatch):
    """AVX2-only code measured on an AVX-512 machine (NUMBA_CPU_NAME / NUMBA_CPU_FEATURES) is recorded as such."""
    import numba

    monkeypatch.setattr(numba.config, "CPU_NAME", "haswell")
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx,+avx2,+fma,-avx512f,-avx512dq")
    assert bench.machine()["codegen"] == {"cpu_name": "haswell", "avx512": False, "features_set": True}
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx2,+avx512f")
    assert bench.machine()["codegen"]["avx512"] is True
