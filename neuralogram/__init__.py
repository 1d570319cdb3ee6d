"""neuralogram: stacked neural-network embeddings of audio (Verma, Chafe & Berger), and the book that teaches them.

A neuralogram is to a neural network what a spectrogram is to the DFT: slide a window over a signal, embed
each window with a trained network, and stack the embeddings over time.

Book: ``book/intro.md``.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .checkpoints import available_models, load_model  # noqa: E402

__all__ = ["available_models", "load_model", "__version__"]

try:  # the transform module is added in Part III; keep the package importable without it
    from .transform import neuralogram, sort_indices  # noqa: F401

    __all__ += ["neuralogram", "sort_indices"]
except ImportError:  # pragma: no cover
    pass
