"""``python -m neuralogram``: the ``neuralogram`` command (:mod:`neuralogram.cli`).

Book: ``book/06_neuralogram.ipynb``.
"""
import sys

from .cli import main

sys.exit(main())
