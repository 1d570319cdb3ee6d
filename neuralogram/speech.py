"""Temporary alias of :mod:`neuralogram.data.standin.speech` (issue 10): ``book/05_model.ipynb`` imports this path
until its imports move with the new layout; deleted then. New code imports ``neuralogram.data.standin.speech``.

Book: ``book/04_data.ipynb``.
"""
from .data.standin.speech import *  # noqa: F401,F403
from .data.standin.speech import __all__  # noqa: F401
