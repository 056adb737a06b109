"""The kernels-against-independent-numerics validations of `aniso run` pass."""
from __future__ import annotations

import matplotlib
import pytest

from numerics.validation import analytic

COMPARISONS = {spec.name: spec for spec in analytic.SPECS}

matplotlib.use("Agg")


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison_passes(name, tmp_path):
    comp = COMPARISONS[name].run({}, tmp_path / "figures", "ci", False)
    assert comp.verdict == "pass", f"{name}: error {comp.error} > tolerance {comp.tolerance}"
    for fig in comp.figures:
        assert (tmp_path / fig).stat().st_size > 1000


def test_compton_getting_error_is_second_order():
    comp = analytic.compton_getting_boost(None)
    # a tenfold beta must raise the first-order formula's relative error about a hundredfold
    assert 50 < comp.measured["error_ratio"] < 200

# the report itself (aniso run at the ci scale) is tested in tests/validation/test_main_job.py
