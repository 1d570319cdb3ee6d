"""AudioSet: the published metadata (:mod:`.metadata`), the download of the clips (:mod:`.download`) and their
packing into the 8 kHz store (:mod:`.pack`). Everything is re-exported here.

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

from . import download as _download, metadata as _metadata, pack as _pack
from .download import *  # noqa: F401,F403
from .metadata import *  # noqa: F401,F403
from .pack import *  # noqa: F401,F403

__all__ = [*_metadata.__all__, *_download.__all__, *_pack.__all__]
