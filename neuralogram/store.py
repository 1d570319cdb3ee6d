"""Temporary alias of :mod:`neuralogram.data.store` (issue 10): ``book/05_model.ipynb`` imports this path until
its imports move with the new layout; deleted then. New code imports ``neuralogram.data.store``.

Book: ``book/04_data.ipynb``.
"""
from .data.store import *  # noqa: F401,F403
from .data.store import __all__  # noqa: F401
