"""Temporary alias of :mod:`neuralogram.data.standin.corpus` (issue 10): ``book/05_model.ipynb`` imports this path
until its imports move with the new layout; deleted then. New code imports ``neuralogram.data.standin.corpus``.

Book: ``book/04_data.ipynb``.
"""
from .data.standin.corpus import *  # noqa: F401,F403
from .data.standin.corpus import __all__  # noqa: F401
