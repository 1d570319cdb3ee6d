"""neuralogram: stacked neural-network embeddings of audio (Verma, Chafe & Berger), and the book that teaches them.

A neuralogram is to a neural network what a spectrogram is to the DFT: slide a window over a signal, embed
each window with a trained network, and stack the embeddings over time.

The modules follow the book: :mod:`.audio` and :mod:`.signals` (Part I), :mod:`.spectral` (chapters 2-3),
:mod:`.data` (4), :mod:`.model`, :mod:`.checkpoints` and :mod:`.train` (5), :mod:`.transform` (6),
:mod:`.probes` (7-12), :mod:`.viz` (figures, widgets) and :mod:`.cli` (the ``neuralogram`` command).

Book: ``book/intro.md``.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .checkpoints import DEFAULT_MODEL, available_models, load_model  # noqa: E402
from .transform import neuralogram, sort_indices  # noqa: E402

__all__ = ["DEFAULT_MODEL", "available_models", "load_model", "neuralogram", "sort_indices", "__version__"]
