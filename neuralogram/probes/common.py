"""Shared pieces of the probes: a rank correlation, and activations measured from their floor.

Book: ``book/07_pitch.ipynb``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["spearman", "from_floor"]


def spearman(a, b) -> float:
    """Spearman rank correlation of two 1-D arrays (NaN when fewer than 3 points or a constant input).

    Book: ``book/07_pitch.ipynb``.
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def from_floor(N) -> np.ndarray:
    """Activations measured from the lowest value the embedding can take: ``N`` itself for a ReLU embedding (the
    VGG: never negative), ``N - floor`` for mn04, whose hard-swish output reaches down to ``-3/8``. The probes'
    levels (``peak``, "above half its peak", "a tenth of the largest") are read on this scale.

    Book: ``book/13_audioset_net.ipynb``.
    """
    N = np.asarray(N, np.float64)
    lo = N.min() if N.size else 0.0
    return N - lo if lo < 0 else N
