"""The one registry of comparisons: every :class:`~numerics.validation.base.Spec`, in the report's order.

The analytic comparisons come from :data:`numerics.validation.analytic.SPECS`; each backtracking comparison's module
declares its own ``SPEC`` (what it reads, its headline keys, a known disagreement, its sizes).  To add a comparison,
write its module with a ``SPEC`` and list the module in ``_BACKTRACKER``.
"""
from __future__ import annotations

import importlib

from numerics.validation import analytic
from numerics.validation.base import Spec

__all__ = ["COMPARISONS", "names"]

#: the backtracking comparisons' modules, in the report's order (issue 6's six, issue 13's markov_closure, issue 17's
#: relative_scattering)
_BACKTRACKER = ("diffusion_sim", "relative_diffusion_sim", "qlt_sim", "small_scale", "compton_getting_e2e",
                "transition_matrix", "markov_closure", "relative_scattering")


def _collect() -> dict[str, Spec]:
    specs = list(analytic.SPECS)
    specs += [importlib.import_module(f"numerics.validation.{m}").SPEC for m in _BACKTRACKER]
    out = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"two comparisons are named {spec.name!r}")
        out[spec.name] = spec
    return out


#: name -> Spec, every comparison of ``aniso run``
COMPARISONS: dict[str, Spec] = _collect()


def names(kind: str | None = None) -> tuple[str, ...]:
    """The names of the comparisons of ``kind`` ("analytic", "backtracker" or None for all), in the report's order."""
    if kind not in (None, "analytic", "backtracker"):
        raise ValueError(f"kind={kind!r}: must be 'analytic', 'backtracker' or None")
    return tuple(n for n, s in COMPARISONS.items() if kind is None or s.kind == kind)
