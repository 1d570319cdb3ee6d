"""The one audio gate: validation, mono, reading files, and the one resampler.

Every public function that takes a waveform calls :func:`as_audio` (or streams through the same rules), so that
bad input fails early with a ``ValueError`` naming the problem instead of deep inside torch. The rules:

* **Rate.** A sample rate is an integer from :data:`MIN_SR` (1 kHz) to :data:`MAX_SR` (384 kHz), for an
  argument and for a file's header alike (a 2 KB WAV claiming 1,000,000,007 Hz is refused before any work).
* **Sample formats.** Floats are taken as they are (``[-1, 1]`` full scale). Integers are PCM: int8, int16 and
  int32 (numpy arrays and torch tensors alike) are divided by ``2**(bits - 1)`` (int16 32767 -> 0.99997);
  uint8 is offset binary, ``(x - 128) / 128`` (128 is silence, as in 8-bit WAV). Other integer types (int64,
  uint16, uint32, uint64), booleans, complex numbers and non-numbers are refused: they are not audio formats,
  and a guessed scale would give a silently wrong result.
* **Layout.** Time is the last axis: ``(n,)`` or ``(channels, n)``. A 2-D array whose *last* axis is short
  (at most :data:`MAX_CHANNELS` = 8) and whose first axis is longer, ``(n, channels)``, is soundfile's default
  layout and is transposed. An array with both axes of at most 8 could be either and is refused (the message
  names both readings). With both axes longer than 8, rows are channels (or sounds of a batch), time last.
* **Values.** Empty input, NaN and Inf are refused (checked block by block, never by a full-size copy).
* **Files** (:func:`load_audio`, :func:`read_model_rate`, and paths or file objects given to
  :func:`to_model_rate`) are decoded with soundfile. A file whose decoder stops before the frame count its
  header declares (a truncated MP3 or FLAC) is refused naming both counts, never padded with zeros. A WAV or
  AIFF whose data chunk is shorter than its header says, or an Ogg file without its end-of-stream page, holds
  valid samples up to where it stops (libsndfile knows that length before decoding): they are used, with a
  ``UserWarning`` naming the lengths. Files longer than :data:`MAX_FILE_SECONDS` (24 h) are
  refused.

Every change of sample rate in the package goes through :func:`resample`: torchaudio's anti-aliased windowed
sinc (Hann window, 6 zero crossings, roll-off 0.99), computed in chunks. For rates whose ratio reduces to large
integers (44,101 -> 8,000 Hz has gcd 1) torchaudio would build a ``(8000, 44101 + 2 w)`` kernel (1.4 GB); the
same kernel is then evaluated only where it is not zero, as a table of ``8000 x (2 w + 1)`` taps (2 MB), so any
rate resamples in bounded memory and time, equal to torchaudio's result to float rounding.

Book: every chapter (first introduced in ``book/01_signals.ipynb``; resampling in ``book/02_stft.ipynb``,
files in ``book/06_neuralogram.ipynb``).
"""
from __future__ import annotations

from .files import load_audio, read_model_rate, to_model_rate
from .gate import (MAX_CHANNELS, MAX_FILE_SECONDS, MAX_SR, MIN_SR, PAPER_SR, as_audio, check_positive, check_sr,
                   to_mono)
from .resampler import resample

__all__ = ["PAPER_SR", "MIN_SR", "MAX_SR", "MAX_CHANNELS", "MAX_FILE_SECONDS", "as_audio", "check_positive",
           "check_sr", "to_mono", "resample", "to_model_rate", "read_model_rate", "load_audio"]
