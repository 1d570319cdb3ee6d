"""One place that validates audio input and numeric parameters.

Every public function that takes a waveform calls :func:`as_audio`, so that bad input fails early with a
message naming the problem (empty, NaN/Inf, wrong rank, non-positive rate) instead of deep inside torch.

Book: every chapter (first introduced in ``book/01_signals.ipynb``).
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

__all__ = ["as_audio", "check_positive", "check_sr", "to_mono"]


def check_positive(value, name: str, *, integer: bool = False, allow_zero: bool = False):
    """Return ``value`` if it is a finite positive number, else raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if integer and int(value) != value:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return int(value) if integer else value


def check_sr(sr) -> int:
    """Validate a sample rate in Hz (a positive integer) and return it as ``int``."""
    return check_positive(sr, "sample rate sr", integer=True)


def as_audio(y, *, name: str = "y", max_ndim: int = 2, min_samples: int = 1) -> torch.Tensor:
    """Validate a waveform and return it as a float32 torch tensor (no copy when already one).

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio samples. The last axis is time.
    name : str
        The argument's name, used in error messages.
    max_ndim : int
        Highest rank accepted (1 for mono only, 2 for ``(channels, n)``).
    min_samples : int
        Fewest samples accepted along time.

    Raises
    ------
    ValueError
        Empty input, NaN or Inf samples, rank 0 or above ``max_ndim``, a non-numeric dtype.
    """
    if isinstance(y, torch.Tensor):
        t = y
    else:
        arr = np.asarray(y)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"{name} must be numeric audio samples, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.integer):
            # Integer PCM: scale to [-1, 1) the way soundfile does for int16/int32.
            info = np.iinfo(arr.dtype)
            arr = arr.astype(np.float32) / float(-info.min if info.min < 0 else info.max)
        t = torch.from_numpy(np.ascontiguousarray(arr).reshape(arr.shape))  # keep a 0-d input 0-d
    if t.is_complex():
        raise ValueError(f"{name} must be real-valued audio, got a complex tensor")
    if t.ndim == 0:
        raise ValueError(f"{name} must be a 1-D waveform (n,) or 2-D (channels, n), got a scalar")
    if t.ndim > max_ndim:
        allowed = "(n,)" if max_ndim == 1 else "(n,) or (channels, n)"
        raise ValueError(f"{name} must have shape {allowed}, got {tuple(t.shape)} (rank {t.ndim})")
    if t.numel() == 0 or t.shape[-1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}): no audio samples")
    if t.shape[-1] < min_samples:
        raise ValueError(f"{name} has {t.shape[-1]} samples; at least {min_samples} are needed")
    t = t.to(torch.float32)
    if not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} contains {bad} NaN or Inf sample(s)")
    return t


def to_mono(y: torch.Tensor) -> torch.Tensor:
    """Average the channels of a ``(channels, n)`` signal; a 1-D signal is returned unchanged.

    This is the library-wide convention for stereo input: channels are averaged (as librosa's
    ``to_mono`` does) before any transform.
    """
    return y.mean(dim=0) if y.ndim == 2 else y
