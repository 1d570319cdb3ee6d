"""Temporary alias of :mod:`neuralogram.probes.cache` (issue 10): ``book/05_model.ipynb`` imports this path until
its imports move with the new layout; deleted then. New code imports ``neuralogram.probes.cache``.

Book: ``book/07_pitch.ipynb``.
"""
from .cache import *  # noqa: F401,F403
from .cache import __all__  # noqa: F401
