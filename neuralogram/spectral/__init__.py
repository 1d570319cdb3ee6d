"""Spectral transforms: the STFT built from the DFT and the paper's linear spectrogram (:mod:`.stft`, chapter 2),
and its variants as linear maps (:mod:`.variants`, chapter 3). Everything is re-exported here.

Book: ``book/02_stft.ipynb`` and ``book/03_linear_variants.ipynb``.
"""
from __future__ import annotations

from . import stft as _stft, variants as _variants
from .stft import *  # noqa: F401,F403
from .variants import *  # noqa: F401,F403
from .audioset_mel import AudioSetMel  # noqa: F401  (mn04's front end, book/13)

__all__ = [*_stft.__all__, *_variants.__all__, "AudioSetMel"]
