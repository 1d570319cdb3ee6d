"""The gate's rules: sample rates, sample formats, layout and values; :func:`as_audio` and :func:`to_mono`.

The rules are listed in :mod:`neuralogram.audio`'s docstring; every public function that takes a waveform applies
them through :func:`as_audio` (or streams through :class:`_Samples`, block by block).

Book: ``book/01_signals.ipynb``.
"""
from __future__ import annotations

import math
import os
from numbers import Real

import numpy as np
import torch

__all__ = ["PAPER_SR", "MIN_SR", "MAX_SR", "MAX_CHANNELS", "MAX_FILE_SECONDS", "as_audio", "check_positive",
           "check_sr", "to_mono"]

#: The model's sample rate (Hz): the paper's 8 kHz. Every default rate in the package is this constant.
PAPER_SR = 8000
#: The lowest and highest sample rates accepted (Hz), for arguments and file headers alike.
MIN_SR, MAX_SR = 1000, 384000
#: The most channels an array may have along a short axis; see the layout rule in the module docstring.
MAX_CHANNELS = 8
#: The longest file read (seconds): 24 h (its 8 kHz mono version is 2.8 GB).
MAX_FILE_SECONDS = 24 * 3600
_BLOCK = 1 << 20  # samples per block when converting, scanning or averaging long input


def check_positive(value, name: str, *, integer: bool = False, allow_zero: bool = False):
    """Return ``value`` if it is a finite positive number, else raise ``ValueError`` naming ``name``.

    Book: ``book/01_signals.ipynb``.
    """
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


def check_sr(sr, *, name: str = "sample rate sr") -> int:
    """Validate a sample rate in Hz (an integer from :data:`MIN_SR` to :data:`MAX_SR`) and return it as ``int``.

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_positive(sr, name, integer=True)
    if not MIN_SR <= sr <= MAX_SR:
        raise ValueError(f"{name} = {sr} Hz is outside the supported range {MIN_SR}..{MAX_SR} Hz")
    return sr


# ---------------------------------------------------------------------------------------------------------------
# the rules: sample formats and layout
# ---------------------------------------------------------------------------------------------------------------
def _pcm_rule(dtype, name: str):
    """``(offset, scale)`` turning samples of ``dtype`` into floats, ``(x - offset) / scale``; None for floats."""
    if isinstance(dtype, torch.dtype):
        if dtype.is_complex:
            kind = "c"
        elif dtype.is_floating_point:
            kind = "f"
        elif dtype == torch.bool:
            kind = "b"
        else:
            info = torch.iinfo(dtype)
            kind, bits = ("i" if info.min < 0 else "u"), info.bits
    else:
        dtype = np.dtype(dtype)
        kind, bits = dtype.kind, 8 * dtype.itemsize
    if kind == "f":
        return None
    if kind == "i" and bits in (8, 16, 32):
        return 0.0, float(2 ** (bits - 1))
    if kind == "u" and bits == 8:
        return 128.0, 128.0
    if kind == "c":
        raise ValueError(f"{name} must be real-valued audio, got complex samples ({dtype})")
    if kind == "b":
        raise ValueError(f"{name} must be audio samples, got a boolean array")
    if kind in "iu":
        raise ValueError(f"{name} has dtype {dtype}, which is not a PCM sample format: int8/int16/int32 are scaled "
                         f"by 2**(bits-1) and uint8 is offset binary; convert it to float in [-1, 1] first")
    raise ValueError(f"{name} must be numeric audio samples, got dtype {dtype}")


def _layout(shape, name: str) -> str:
    """``"first"`` for ``(channels, n)``, ``"last"`` for soundfile's ``(n, channels)``; refuse what could be both."""
    r, c = shape
    if r <= MAX_CHANNELS < c:
        return "first"
    if c <= MAX_CHANNELS < r:
        return "last"
    if r <= MAX_CHANNELS and c <= MAX_CHANNELS:
        raise ValueError(f"{name} has shape {tuple(shape)}: ambiguous, it could be (channels, n) = {r} channels of "
                         f"{c} samples or (n, channels) = {c} channels of {r} samples; pass mono audio as a 1-D "
                         f"array, or more than {MAX_CHANNELS} samples")
    return "first"  # both long: rows are channels (or the sounds of a batch), time is the last axis


class _Samples:
    """Audio that passed the gate's checks of type, rank and layout, converted to float32 only block by block."""

    def __init__(self, y, name: str = "y", max_ndim: int = 2, min_samples: int = 1):
        if isinstance(y, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(y, "read"):
            raise ValueError(f"{name} must be an array of audio samples, got {type(y).__name__} (read files with "
                             f"neuralogram.audio.load_audio)")
        if isinstance(y, torch.Tensor):
            data = y
        else:
            try:
                data = np.asarray(y)
            except (ValueError, TypeError) as err:  # ragged nested lists
                raise ValueError(f"{name} must be a rectangular array of audio samples ({err})") from None
        self.rule = _pcm_rule(data.dtype, name)
        shape = tuple(data.shape)
        if len(shape) == 0:
            raise ValueError(f"{name} must be a 1-D waveform (n,) or 2-D (channels, n), got a scalar")
        if len(shape) > max_ndim:
            allowed = "(n,)" if max_ndim == 1 else "(n,) or (channels, n)"
            raise ValueError(f"{name} must have shape {allowed}, got {shape} (rank {len(shape)})")
        self.channels_last = False
        if 0 in shape:
            raise ValueError(f"{name} is empty (shape {shape}): no audio samples")
        if len(shape) == 2 and max_ndim == 2:
            self.channels_last = _layout(shape, name) == "last"
        elif len(shape) >= 2 and shape[-1] <= MAX_CHANNELS < shape[-2]:
            raise ValueError(f"{name} has shape {shape}: the last axis must be time, but it looks like (n, channels) "
                             f"(soundfile's layout); transpose it")
        self.data, self.name = data, name
        self.n = shape[0] if self.channels_last else shape[-1]
        self.lead = shape[1:] if self.channels_last else shape[:-1]
        if self.n < min_samples:
            raise ValueError(f"{name} has {self.n} samples; at least {min_samples} are needed")

    def block(self, lo: int, hi: int) -> torch.Tensor:
        """Samples ``[lo, hi)`` (inside the signal) as float32 ``(..., hi - lo)``, time last; checked finite."""
        d = self.data
        seg = d[lo:hi] if self.channels_last else d[..., lo:hi]
        if isinstance(seg, torch.Tensor):
            t = seg.to(torch.float32)
        else:
            t = torch.from_numpy(np.ascontiguousarray(seg, dtype=np.float32))
        if self.channels_last:
            t = t.T
        if self.rule is not None:
            t = (t - self.rule[0]) / self.rule[1]
        bad = ~torch.isfinite(t)
        if bad.any():
            first = lo + int(bad.reshape(-1, t.shape[-1]).any(0).nonzero()[0])
            raise ValueError(f"{self.name} contains NaN or Inf sample(s) (the first at sample {first})")
        return t

    def whole(self) -> torch.Tensor:
        """All samples as one float32 tensor ``(..., n)`` (no copy for a float32 tensor or array)."""
        if self.rule is None and not self.channels_last:
            d = self.data
            t = d if isinstance(d, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(d, dtype=np.float32))
            t = t.to(torch.float32)
            for lo in range(0, self.n, _BLOCK):  # the NaN scan in blocks: no full-size boolean copy
                chunk = t[..., lo:lo + _BLOCK]
                if not torch.isfinite(chunk).all():
                    self.block(lo, min(self.n, lo + _BLOCK))  # raises, naming the first bad sample
            return t
        out = torch.empty(*self.lead, self.n, dtype=torch.float32)
        for lo in range(0, self.n, _BLOCK):
            hi = min(self.n, lo + _BLOCK)
            out[..., lo:hi] = self.block(lo, hi)
        return out

    def mono_reader(self):
        """``read(lo, hi)``: mono float32 samples ``[lo, hi)``, zeros outside the signal."""
        n = self.n

        def read(lo, hi):
            out = torch.zeros(hi - lo, dtype=torch.float32)
            for a in range(max(lo, 0), min(hi, n), _BLOCK):
                b = min(hi, n, a + _BLOCK)
                blk = self.block(a, b)
                out[a - lo:b - lo] = blk.mean(dim=0) if blk.ndim == 2 else blk
            return out

        return read


def as_audio(y, *, name: str = "y", max_ndim: int = 2, min_samples: int = 1) -> torch.Tensor:
    """Validate a waveform and return it as a float32 torch tensor (no copy when already one).

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio samples, time on the last axis; soundfile's ``(n, channels)`` is transposed (the layout rule of
        the module docstring). Integer PCM is scaled (int16 / 32768; uint8 is offset binary).
    name : str
        The argument's name, used in error messages.
    max_ndim : int
        Highest rank accepted (1 for mono only, 2 for ``(channels, n)``; above 2 the leading axes are a batch
        and time is always last).
    min_samples : int
        Fewest samples accepted along time.

    Raises
    ------
    ValueError
        Empty input, NaN or Inf samples, rank 0 or above ``max_ndim``, an ambiguous 2-D shape, a dtype that is
        not an audio sample format.

    Book: ``book/01_signals.ipynb``.
    """
    return _Samples(y, name, max_ndim, min_samples).whole()


def to_mono(y: torch.Tensor) -> torch.Tensor:
    """Average the channels of a ``(channels, n)`` signal; a 1-D signal is returned unchanged.

    This is the library-wide convention for stereo input: channels are averaged (as librosa's
    ``to_mono`` does) before any transform.

    Book: ``book/01_signals.ipynb``.
    """
    return y.mean(dim=0) if y.ndim == 2 else y
