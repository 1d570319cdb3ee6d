"""Shared pieces of the probes: a rank correlation, and the comparison of a probe with the random-init twin.

Book: ``book/07_pitch.ipynb``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["spearman"]


def spearman(a, b) -> float:
    """Spearman rank correlation of two 1-D arrays (NaN when fewer than 3 points or a constant input).

    Book: ``book/07_pitch.ipynb``.
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
