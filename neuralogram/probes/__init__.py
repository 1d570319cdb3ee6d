"""Probe experiments (Part IV): the paper's probing signals turned into measured numbers with baselines.

Book: ``book/07_pitch.ipynb`` .. ``book/12_summary.ipynb``.
"""
from __future__ import annotations

from .baseline import random_init_model, reestimate_batchnorm

__all__ = ["random_init_model", "reestimate_batchnorm"]
