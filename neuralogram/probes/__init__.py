"""Probe experiments (Part IV): the paper's probing signals turned into measured numbers with baselines.

One module per probe: :mod:`.pitch` (chapter 7), :mod:`.size` (8), :mod:`.rhythm` (9), :mod:`.timbre` (10),
:mod:`.semantics` (11); :mod:`.baseline` makes the random-initialised twin, :mod:`.cache` stores results.
Beside their probe: :mod:`.timbre_excerpts` (timbre's excerpt set), :mod:`.representations` and
:mod:`.separation` (the features and metrics of the semantics probe).

Book: ``book/07_pitch.ipynb`` .. ``book/12_reproduced.ipynb``.
"""
from __future__ import annotations

from . import pitch, rhythm, semantics, size, timbre  # noqa: F401
from .baseline import random_init_model, reestimate_batchnorm
from .pitch import peak_order, pitch_compare, pitch_metrics, pitch_probe, pitch_run
from .rhythm import pattern_probe, regime_change, rhythm_compare, rhythm_probe, rhythm_run
from .size import size_probe
from .timbre import timbre_compare, timbre_metrics, timbre_probe, timbre_set

__all__ = ["random_init_model", "reestimate_batchnorm", "pitch_compare", "pitch_metrics",
           "pitch_probe", "pitch_run", "peak_order", "pattern_probe", "regime_change", "rhythm_compare",
           "rhythm_probe", "rhythm_run", "size_probe", "timbre_compare", "timbre_metrics", "timbre_probe",
           "timbre_set"]
