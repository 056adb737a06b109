"""What every comparison shares: the result type, the statistics, the figure saver, the scale vocabulary and the
spec by which a comparison declares itself to the registry (:mod:`numerics.validation.registry`).

A comparison is a function that returns a :class:`Comparison` (measured and expected values, an error, a
tolerance, a verdict, figures, notes).  Its module declares a :class:`Spec`: its name, what it needs (the stored
ensembles of :mod:`numerics.validation.pipeline` it reads, or none), the headline keys lifted to the top of the
report, a documented disagreement with a paper if it establishes one, and its problem sizes per scale.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
from scipy import stats

from numerics.stats import mean_sem

__all__ = ["Comparison", "Spec", "Work", "KnownDisagreement", "SCALES", "check_scale", "jackknife", "mean_sem", "save_figure",
           "jsonable", "sigma_equivalent", "integer_ticks",
           "overlapping_tick_labels", "FigureWarning"]

#: The problem sizes of ``aniso run --scale``: "ci" (a few minutes on 2 cores; what CI runs), "quick" (the default,
#: under 10 minutes on 2 cores) and "paper" (the papers' ensembles: hours on a workstation, minutes on a Dask cluster
#: or a GPU).  The one definition; every comparison's sizes are keyed by it.  (The presets of
#: :mod:`numerics.backtracking.config` have their own two sizes, "quick" and "paper".)
SCALES = ("ci", "quick", "paper")


def check_scale(scale: str) -> str:
    """``scale`` if it is one of :data:`SCALES`, else ValueError naming the allowed values."""
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r}: must be one of {', '.join(SCALES)}")
    return scale


@dataclass
class Comparison:
    """The result of a comparison, with two separate statements.

    * its **test** (``passed``: ``|error| <= tolerance``), what ``error`` and ``tolerance`` mean being the
      comparison's own (``method`` says it) -- for some a statistical test of the measurement, for most the
      agreement with theory itself;
    * whether the measurement **agrees with the theory** it is compared with (``agrees``), with the statement and
      its tolerance in ``agreement``; left None, the test is that statement.

    A measurement that has not converged (``converged`` False, stated in ``convergence``) says so in its verdict.
    """

    name: str
    title: str
    measured: dict
    expected: dict
    error: float
    tolerance: float
    method: str
    figures: list[str] = field(default_factory=list)
    notes: str = ""
    #: the headline numbers (a few entries of ``measured``), lifted to the top of :meth:`as_dict`
    headline: dict = field(default_factory=dict)
    seconds: float | None = None
    agrees: bool | None = None
    agreement: str = ""
    converged: bool | None = None
    convergence: str = ""

    @property
    def passed(self) -> bool:
        """The comparison's own test: ``|error| <= tolerance`` (a non-finite error fails)."""
        return bool(np.isfinite(self.error) and abs(self.error) <= self.tolerance)

    @property
    def verdict(self) -> str:
        """'pass' or 'fail', with ' (not converged)' when the measured observable has not converged."""
        return ("pass" if self.passed else "fail") + (" (not converged)" if self.converged is False else "")

    def as_dict(self) -> dict:
        d = asdict(self)
        head = d.pop("headline")
        clash = set(head) & set(d)
        if clash:
            raise ValueError(f"headline keys {sorted(clash)} clash with the fields of Comparison")
        if self.agrees is None:
            d["agrees"] = self.passed
            d["agreement"] = "its test (|error| <= tolerance) is the comparison with theory"
        d = {"name": d.pop("name"), "verdict": self.verdict, "passed": self.passed, **head, **d}
        return jsonable(d)


def jsonable(x):
    """``x`` with numpy arrays and scalars turned into lists and Python numbers, non-finite floats into None."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None  # strict JSON (no NaN/Infinity); the verdict says what a non-finite error meant
    return x


def jackknife(values_fn, n: int):
    """Delete-one jackknife over n realizations: ``(values_fn(all), error)``, values_fn(mask) -> array; error nan if n < 3."""
    full = np.asarray(values_fn(np.ones(n, bool)), dtype=float)
    if n < 3:
        return full, np.full_like(full, np.nan)
    loo = np.array([np.asarray(values_fn(np.arange(n) != i), dtype=float) for i in range(n)])
    return full, np.sqrt((n - 1) / n * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))


class FigureWarning(UserWarning):
    """A report figure has a defect a reader would see (overlapping tick labels)."""


def overlapping_tick_labels(fig) -> list[str]:
    """The tick labels of ``fig`` that overlap a neighbour on the same axis, as "axes i x: 'a' / 'b'" (drawn first)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for i, ax in enumerate(fig.axes):
        for name, axis, lim in (("x", ax.xaxis, ax.get_xlim()), ("y", ax.yaxis, ax.get_ylim())):
            lo, hi = min(lim), max(lim)
            labels = []
            for t in axis.get_ticklabels(which="both"):
                pos = t.get_position()[0 if name == "x" else 1]
                if t.get_visible() and t.get_text() and lo <= pos <= hi:
                    labels.append((t.get_window_extent(renderer), t.get_text()))
            labels.sort(key=lambda b: b[0].x0 if name == "x" else b[0].y0)
            for (a, ta), (b, tb) in zip(labels, labels[1:]):
                gap = b.x0 - a.x1 if name == "x" else b.y0 - a.y1
                if gap < -0.5:  # pixels
                    out.append(f"axes {i} {name}: {ta!r} / {tb!r}")
    return out


def save_figure(fig, figdir: Path | None, name: str) -> list[str]:
    """Save ``fig`` as ``figdir/<name>.png`` (110 dpi) and return its path relative to the report, ["figures/<name>.png"];
    nothing (an empty list) when ``figdir`` is None.  Overlapping tick labels raise a :class:`FigureWarning`."""
    if figdir is None:
        return []
    figdir.mkdir(parents=True, exist_ok=True)
    overlaps = overlapping_tick_labels(fig)
    if overlaps:
        import warnings

        warnings.warn(f"{name}.png: overlapping tick labels: {'; '.join(overlaps)}", FigureWarning, stacklevel=2)
    fig.savefig(figdir / f"{name}.png", dpi=110, bbox_inches="tight")
    return [f"figures/{name}.png"]


def integer_ticks(ax, axis: str = "x") -> None:
    """Plain labels 1, 2, 5, 10, 20, 50, ... on a logarithmic axis of multipoles or truncation orders, and none on
    its minor ticks (matplotlib's default writes 2x10^0, 3x10^0, ... which overlap)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def sigma_equivalent(chi2, dof) -> float:
    """Two-sided normal quantile of the chi^2 p-value, from its logarithm (Wilson-Hilferty where even that underflows;
    nan for dof 0)."""
    if dof <= 0 or not np.isfinite(chi2):
        return float("nan")
    from scipy.special import ndtri_exp

    log_sf = float(stats.chi2.logsf(chi2, dof))
    if not np.isfinite(log_sf):  # beyond double range: Wilson-Hilferty's normal approximation of chi^2
        return float(((chi2 / dof) ** (1 / 3) - 1 + 2 / (9 * dof)) / math.sqrt(2 / (9 * dof)))
    return float(max(0.0, -ndtri_exp(log_sf - math.log(2.0))))


@dataclass(frozen=True)
class KnownDisagreement:
    """A disagreement with a paper that a comparison establishes, like pytest's strict xfail: the comparison's verdict
    stays "fail", and the run counts as passed only if the failure is of this documented kind (``holds(entry)`` on
    the comparison's results.json entry); a pass, or a failure of another kind, is unexpected."""

    finding: str
    holds: Callable[[dict], bool]


@dataclass(frozen=True)
class Work:
    """Backtracking work a comparison will do itself (besides the stored ensembles it reads), for ``aniso run``'s
    estimate: ``rows`` units (fields) of ``evals_per_row`` mode evaluations each
    (:func:`numerics.backtracking.boris.mode_evaluations`); ``stored``: the ``(name, params, rows, modules)`` of its
    :func:`numerics.validation.measurements.cached_rows` call, so that rows already stored are not counted."""

    label: str
    rows: int
    evals_per_row: float
    stored: tuple | None = None


@dataclass(frozen=True)
class Spec:
    """How a comparison declares itself.

    * ``name``: the key in the report and in ``aniso run --only``
    * ``run``: ``(ensembles, figdir, scale, progress) -> Comparison``; ``ensembles`` maps each key of ``ensembles``
      to its stored ensemble (empty for a comparison that simulates its own setup or needs none)
    * ``kind``: "analytic" (kernels against independent numerics, no test particles) or "backtracker"
    * ``ensembles``: keys of :data:`numerics.validation.pipeline.ENSEMBLES` that ``run`` reads
    * ``headline``: keys of ``Comparison.measured`` lifted to the top of the comparison's results.json entry
    * ``known_disagreement``: see :class:`KnownDisagreement`
    * ``sizes``: scale -> the comparison's own problem size (for one that simulates its own setup), keyed by
      :data:`SCALES`
    * ``work``: ``scale -> [Work, ...]``, the backtracking it does itself at ``scale`` (None: none besides the
      ensembles)
    """

    name: str
    run: Callable
    kind: str = "backtracker"
    ensembles: tuple[str, ...] = ()
    headline: tuple[str, ...] = ()
    known_disagreement: KnownDisagreement | None = None
    sizes: Mapping[str, object] | None = None
    work: Callable[[str], list] | None = None

    def __post_init__(self):
        if self.kind not in ("analytic", "backtracker"):
            raise ValueError(f"kind={self.kind!r}: must be 'analytic' or 'backtracker'")
        if self.sizes is not None and tuple(self.sizes) != SCALES:
            raise ValueError(f"{self.name}: sizes are keyed by {tuple(self.sizes)}, expected {SCALES}")

    @classmethod
    def analytic(cls, fn: Callable[[Path | None], Comparison]) -> Spec:
        """The spec of an analytic comparison ``fn(figdir) -> Comparison``, named after the function."""
        def run(ensembles, figdir, scale, progress):
            return fn(figdir)

        return cls(fn.__name__, run, kind="analytic")

    def outcome(self, entry: dict) -> str:
        """'pass', 'known disagreement' (a failure of the documented kind) or 'FAIL' for this comparison's entry."""
        if entry.get("passed", entry["verdict"] == "pass"):
            return "pass" if self.known_disagreement is None else "FAIL (unexpected pass: review its known disagreement)"
        if self.known_disagreement is not None and self.known_disagreement.holds(entry):
            return "known disagreement"
        return "FAIL"
