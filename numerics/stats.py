"""Ensemble statistics shared by the test-particle stack and the validations (numpy only)."""
from __future__ import annotations

import numpy as np

__all__ = ["mean_sem"]


def mean_sem(x, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean (ddof = 1) over ``axis`` (the realizations).

    The error is nan for fewer than two realizations (there is no spread to estimate), never 0.

    >>> m, e = mean_sem([1.0, 2.0, 3.0])
    >>> float(m), round(float(e), 6)  # s = 1, sem = 1/sqrt(3)
    (2.0, 0.57735)
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, x.std(axis=axis, ddof=1) / np.sqrt(n)
