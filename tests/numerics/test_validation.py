"""The kernels-against-independent-numerics validations of `aniso run` pass."""
from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib
import pytest

from numerics.validation import analytic

COMPARISONS = {spec.name: spec for spec in analytic.SPECS}

matplotlib.use("Agg")


@pytest.mark.filterwarnings("error::numerics.validation.base.FigureWarning")  # e.g. overlapping tick labels
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


def test_overlapping_tick_labels_are_caught():
    """matplotlib's default labels of a log axis from 25 to 800 (2x10^1, 3x10^1, ...) overlap; integer_ticks fixes
    them, and save_figure warns about the former."""
    import matplotlib.pyplot as plt
    import numpy as np

    from numerics.validation.base import FigureWarning, integer_ticks, overlapping_tick_labels, save_figure

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.semilogx([25, 50, 100, 200, 400, 800], np.arange(6))
    assert overlapping_tick_labels(fig)
    with pytest.warns(FigureWarning, match="overlapping tick labels"):
        save_figure(fig, Path(tempfile.mkdtemp()), "bad")
    integer_ticks(ax)
    assert overlapping_tick_labels(fig) == []
    plt.close(fig)
