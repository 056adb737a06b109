"""numerics.validation.measurements: a comparison's own measurement is stored in the data directory and reused bit
for bit; another configuration or other code is a new measurement, a tampered or damaged file an error (issue 14,
item 2, for the transition matrix)."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from numerics.validation import measurements


def _demo(calls):
    def compute():
        calls.append(1)
        return {"M": np.arange(24.0).reshape(2, 3, 4) / 7, "v": np.array([0.1, 0.2]), "x": 1 / 3, "n": 3,
                "label": "white noise", "stats": {"a": 1.5}}
    return compute


def test_stored_then_reused_bit_for_bit(tmp_path):
    calls = []
    with measurements.stored_in(tmp_path):
        a, ia = measurements.cached("demo", {"p": 1}, _demo(calls))
        b, ib = measurements.cached("demo", {"p": 1}, _demo(calls))
    assert len(calls) == 1 and not ia["reused"] and ib["reused"] and ia["path"] == ib["path"]
    assert sorted(a) == sorted(b)
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k] and type(a[k]) is type(b[k]), k


def test_other_parameters_or_other_code_are_another_measurement(tmp_path):
    calls = []
    with measurements.stored_in(tmp_path):
        measurements.cached("demo", {"p": 1}, _demo(calls))
        _, info = measurements.cached("demo", {"p": 2}, _demo(calls))
    assert len(calls) == 2 and not info["reused"] and len(list(tmp_path.glob("demo-*.h5"))) == 2
    assert measurements.measurement_key("demo", {"p": 1}, (json,)) != measurements.measurement_key("demo", {"p": 1}, (h5py,))


def test_outside_a_store_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    _, info = measurements.cached("demo", {"p": 1}, _demo(calls))
    assert calls == [1] and info["path"] is None and list(tmp_path.iterdir()) == []


def test_a_file_with_another_key_or_damaged_is_an_error_and_kept(tmp_path):
    calls = []
    with measurements.stored_in(tmp_path):
        _, info = measurements.cached("demo", {"p": 1}, _demo(calls))
    with h5py.File(info["path"], "r+") as fh:
        fh.attrs["key"] = "0" * 64
    with measurements.stored_in(tmp_path), pytest.raises(ValueError, match="another measurement"):
        measurements.cached("demo", {"p": 1}, _demo(calls))
    data = bytearray(open(info["path"], "rb").read())
    data[:8] = b"garbage!"
    open(info["path"], "wb").write(bytes(data))
    with measurements.stored_in(tmp_path), pytest.raises(ValueError, match="damaged"):
        measurements.cached("demo", {"p": 1}, _demo(calls))
    assert open(info["path"], "rb").read()[:8] == b"garbage!" and len(calls) == 1


def test_the_transition_matrix_measurement_is_reused_by_a_second_run(tmp_path):
    from numerics.validation import transition_matrix as tm

    args = (2, 16, 16, 24, (1.0,), 0, False)  # 2 fields of 16 modes at nside 16
    with measurements.stored_in(tmp_path):
        first, i1 = tm._measured(*args)
        second, i2 = tm._measured(*args)
    assert not i1["reused"] and i2["reused"]
    assert np.array_equal(first["M"], second["M"]) and first["identity_error"] == second["identity_error"]
    direct = tm.measure(2, 16, 16, 24, omega_factors=(1.0,))
    assert np.array_equal(direct["M"], second["M"])  # the stored measurement is the measurement


def test_the_compton_getting_record_round_trips_exactly(tmp_path):
    """A Simulation through the stored record and back: every number identical (JSON carries floats exactly)."""
    from numerics.validation import compton_getting_e2e as cg

    rng = np.random.default_rng(3)
    rows = [{"delta_star": rng.normal(size=3), "delta": rng.normal(size=3), "shift": rng.normal(size=3) * 1e-7,
             "rigidity_effect": float(rng.random()), "omega_t": 3.0, "budget": 0.1 / 3, "anisotropy_rms": 1e-300}]
    sim = cg.Simulation("ci", 7, [{"realization": 0, "direction": 1, "beta": rng.normal(size=3) * 1e-4,
                                   "by_time": rows}],
                        (rng.normal(size=48), np.eye(3), rng.normal(size=3), rng.normal(size=3)), 2e-16, 1.5)
    with measurements.stored_in(tmp_path):
        measurements.cached("cg-demo", {}, lambda: cg._record(sim))
        back, info = measurements.cached("cg-demo", {}, lambda: pytest.fail("recomputed"))
    again = cg._from_record(back)
    assert info["reused"] and (again.scale, again.seed, again.weight_check, again.seconds) == ("ci", 7, 2e-16, 1.5)
    for a, b in zip(sim.shown, again.shown):
        assert np.array_equal(a, b)
    c0, c1 = sim.cases[0], again.cases[0]
    assert np.array_equal(c0["beta"], c1["beta"]) and (c0["realization"], c0["direction"]) == (c1["realization"], 1)
    for k, v in c0["by_time"][0].items():
        assert np.array_equal(v, c1["by_time"][0][k]) and np.asarray(v).dtype == np.asarray(c1["by_time"][0][k]).dtype, k


# ------------------------------------------------------------------ row measurements: reused, resumed, extended
def _row_demo(calls, fail_at=None):
    """Row r is a function of r alone (as a seeded realization is); ``calls`` records each (start, stop)."""
    def compute(start, stop):
        if fail_at is not None and start >= fail_at:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of a measurement
        calls.append((start, stop))
        r = np.arange(start, stop, dtype=float)
        return {"M": np.sqrt(r)[:, None, None] * np.array([[1.0, 1 / 3], [np.pi, 1e-300]]),
                "cases": [{"r": int(i), "x": float(i) / 7} for i in range(start, stop)], "times": np.array([0.1, 0.2]),
                "label": "white noise"}
    return compute


def _same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


def test_rows_are_the_same_in_any_chunking_and_outside_a_store(tmp_path):
    calls = []
    whole, info = measurements.cached_rows("rows", {"p": 1}, 7, _row_demo(calls), rows=("M", "cases"), chunk=7)
    assert calls == [(0, 7)] and info["path"] is None and whole["M"].shape == (7, 2, 2) and len(whole["cases"]) == 7
    calls.clear()
    with measurements.stored_in(tmp_path):
        chunked, info = measurements.cached_rows("rows", {"p": 1}, 7, _row_demo(calls), rows=("M", "cases"), chunk=3)
    assert calls == [(0, 3), (3, 6), (6, 7)] and info["rows_computed"] == 7 and not info["reused"]
    _same(whole, chunked)


def test_rows_are_reused_extended_and_cut(tmp_path):
    calls = []
    with measurements.stored_in(tmp_path):
        five, _ = measurements.cached_rows("rows", {"p": 1}, 5, _row_demo(calls), rows=("M", "cases"), chunk=2)
        calls.clear()
        again, info = measurements.cached_rows("rows", {"p": 1}, 5, _row_demo(calls), rows=("M", "cases"))
        assert calls == [] and info["reused"] and info["rows_stored"] == 5
        _same(five, again)
        nine, info = measurements.cached_rows("rows", {"p": 1}, 9, _row_demo(calls), rows=("M", "cases"), chunk=3)
        assert calls == [(5, 8), (8, 9)] and info["rows_stored"] == 5 and info["rows_computed"] == 4
        calls.clear()
        three, info = measurements.cached_rows("rows", {"p": 1}, 3, _row_demo(calls), rows=("M", "cases"))
        assert calls == [] and info["reused"]
    fresh, _ = measurements.cached_rows("rows", {"p": 1}, 9, _row_demo([]), rows=("M", "cases"))
    _same(fresh, nine)
    _same(measurements.cached_rows("rows", {"p": 1}, 3, _row_demo([]), rows=("M", "cases"))[0], three)
    assert len(list(tmp_path.glob("rows-*.h5"))) == 1  # one file, grown in place


def test_an_interrupted_row_measurement_resumes_bit_for_bit(tmp_path):
    calls = []
    with measurements.stored_in(tmp_path), pytest.raises(KeyboardInterrupt):
        measurements.cached_rows("rows", {"p": 1}, 10, _row_demo(calls, fail_at=6), rows=("M", "cases"), chunk=2)
    assert calls == [(0, 2), (2, 4), (4, 6)]
    (path,) = tmp_path.glob("rows-*.h5")
    with h5py.File(path, "r") as fh:
        assert fh.attrs["rows"] == 6 and fh["M"].shape[0] == 6  # every finished chunk was written, nothing else
    calls.clear()
    with measurements.stored_in(tmp_path):
        resumed, info = measurements.cached_rows("rows", {"p": 1}, 10, _row_demo(calls), rows=("M", "cases"), chunk=2)
    assert calls == [(6, 8), (8, 10)] and info["rows_stored"] == 6
    _same(resumed, measurements.cached_rows("rows", {"p": 1}, 10, _row_demo([]), rows=("M", "cases"))[0])


def test_a_row_file_whose_count_disagrees_is_an_error(tmp_path):
    with measurements.stored_in(tmp_path):
        _, info = measurements.cached_rows("rows", {"p": 1}, 4, _row_demo([]), rows=("M", "cases"))
    with h5py.File(info["path"], "r+") as fh:
        fh.attrs["rows"] = 5
    with measurements.stored_in(tmp_path), pytest.raises(ValueError, match="damaged"):
        measurements.cached_rows("rows", {"p": 1}, 6, _row_demo([]), rows=("M", "cases"))
    with pytest.raises(ValueError, match="at least 1 row"):
        measurements.cached_rows("rows", {"p": 1}, 0, _row_demo([]), rows=("M",))


def test_a_quick_transition_matrix_extends_the_ci_one(tmp_path):
    """Fields are seeded one by one (spawn key (r,)): 3 fields are 2 stored fields and 1 new one, bit for bit the
    measurement of 3 from scratch, and the fine-resolution rows are a measurement of their own."""
    from numerics.validation import transition_matrix as tm

    with measurements.stored_in(tmp_path):
        two, i2 = tm._measured(2, 8, 16, 12, (1.0,), 0, False)
        three, i3 = tm._measured(3, 8, 16, 12, (1.0,), 1, False)
    assert i2["rows_computed"] == 2 and i3["rows_stored"] == 2 and i3["rows_computed"] == 1 and not i3["reused"]
    direct = tm.measure(3, 8, 16, 12, omega_factors=(1.0,), n_res=1)
    assert np.array_equal(direct["M"], three["M"]) and np.array_equal(direct["M_hi"], three["M_hi"])
    assert np.array_equal(two["M"], direct["M"][:, :2]) and three["identity_error"] == direct["identity_error"]


def test_the_markov_measurement_is_stored_field_by_field(tmp_path):
    """markov_closure's M(dT) (the most expensive comparison of a second quick run before it was stored): reused,
    extended, and bit for bit measure_markov."""
    from numerics.validation import markov

    kw = dict(realizations=3, nside=4, l_fit=8, n_modes=8, n_res=1)
    with measurements.stored_in(tmp_path):
        _, i3 = markov.measured("per-ln-k", [0.1, 0.2], **kw)
        four, i4 = markov.measured("per-ln-k", [0.1, 0.2], **{**kw, "realizations": 4})
        again, i5 = markov.measured("per-ln-k", [0.1, 0.2], **{**kw, "realizations": 4, "threads": 2})
    assert i3["rows_computed"] == 3 and i4["rows_stored"] == 3 and i4["rows_computed"] == 1 and i5["reused"]
    direct = markov.measure_markov("per-ln-k", [0.1, 0.2], **{**kw, "realizations": 4})
    for k in ("M", "M_hi", "vac", "K_run", "times"):
        assert np.array_equal(direct[k], four[k]) and np.array_equal(four[k], again[k]), k
    assert (direct["dt"], direct["identity_error"], direct["l_fit_hi"]) == (four["dt"], four["identity_error"],
                                                                              four["l_fit_hi"])
