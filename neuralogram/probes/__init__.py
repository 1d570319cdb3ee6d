"""Probe experiments (Part IV): the paper's probing signals turned into measured numbers with baselines.

Book: ``book/07_pitch.ipynb`` .. ``book/12_summary.ipynb``.
"""
from __future__ import annotations

from ._common import down_up_chirp, embed_windows, impulse_train_sweep
from .baseline import random_init_model, reestimate_batchnorm

__all__ = ["down_up_chirp", "embed_windows", "impulse_train_sweep", "random_init_model", "reestimate_batchnorm"]

from .pitch import pitch_compare, pitch_metrics, pitch_probe, pitch_run, peak_order  # noqa: E402
from .rhythm import pattern_probe, regime_change, rhythm_compare, rhythm_probe, rhythm_run  # noqa: E402
from .size import size_probe  # noqa: E402

__all__ += ["pitch_compare", "pitch_metrics", "pitch_probe", "pitch_run", "peak_order", "pattern_probe",
            "regime_change", "rhythm_compare", "rhythm_probe", "rhythm_run", "size_probe"]
from .timbre import tag, timbre_compare, timbre_metrics, timbre_probe, timbre_set  # noqa: E402
__all__ += ["tag", "timbre_compare", "timbre_metrics", "timbre_probe", "timbre_set"]
from . import semantics  # noqa: E402,F401  (book/11_semantics.ipynb: semantics.semantics_probe, ...)
