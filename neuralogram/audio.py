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

import io
import math
import os
import re
import warnings
from numbers import Real
from pathlib import Path

import numpy as np
import torch

__all__ = ["PAPER_SR", "MIN_SR", "MAX_SR", "MAX_CHANNELS", "MAX_FILE_SECONDS", "as_audio", "check_positive",
           "check_sr", "to_mono", "resample", "to_model_rate", "read_model_rate", "load_audio"]

#: The model's sample rate (Hz): the paper's 8 kHz. Every default rate in the package is this constant.
PAPER_SR = 8000
#: The lowest and highest sample rates accepted (Hz), for arguments and file headers alike.
MIN_SR, MAX_SR = 1000, 384000
#: The most channels an array may have along a short axis; see the layout rule in the module docstring.
MAX_CHANNELS = 8
#: The longest file read (seconds): 24 h (its 8 kHz mono version is 2.8 GB).
MAX_FILE_SECONDS = 24 * 3600
_RESAMPLE_CHUNK_SECONDS = 30.0
#: torchaudio kernels up to this many entries are used as they are; larger ones go through the tap table.
_TORCHAUDIO_KERNEL_MAX = 1 << 21
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


# ---------------------------------------------------------------------------------------------------------------
# the one resampler, and files
# ---------------------------------------------------------------------------------------------------------------
def _resample_kernel_margin(orig: int, new: int) -> int:
    """Input samples of context the windowed-sinc resampler needs on each side (a multiple of orig/gcd)."""
    g = math.gcd(orig, new)
    a, b = orig // g, new // g
    width = math.ceil(6 * a / (min(a, b) * 0.99))  # torchaudio's default lowpass_filter_width=6, rolloff=0.99
    need = width + a + 1
    return a * math.ceil(need / a)


def _resample(x: torch.Tensor, sr: int, target_sr: int, chunk_seconds: float, progress: bool) -> torch.Tensor:
    """:func:`resample` of an already validated float32 tensor ``(..., n)``."""
    if sr == target_sr:
        return x
    n = x.shape[-1]

    def read(lo, hi):  # samples [lo, hi) along the last axis, zeros outside
        seg = x[..., max(lo, 0):max(min(hi, n), 0)]
        return torch.nn.functional.pad(seg, (max(0, -lo), max(0, hi - max(n, lo))))

    return _resample_stream(read, n, sr, target_sr, chunk_seconds, progress)


def _resample_stream(read, n: int, sr: int, target_sr: int, chunk_seconds: float, progress: bool) -> torch.Tensor:
    """Resample a signal of ``n`` samples given as ``read(lo, hi) -> (..., hi - lo)`` (zero-filled), chunk by chunk."""
    import torchaudio.functional as AF
    from tqdm.auto import tqdm

    g = math.gcd(sr, target_sr)
    a, b = sr // g, target_sr // g
    chunk = a * max(1, int(check_positive(chunk_seconds, "chunk_seconds") * sr) // a)
    if n <= 2 * chunk:
        return AF.resample(read(0, n), sr, target_sr)
    margin = _resample_kernel_margin(sr, target_sr)
    n_out = math.ceil(n * b / a)
    out = None
    skip = margin * b // a
    for c0 in tqdm(range(0, n, chunk), disable=not progress, desc="resample", leave=False):
        c1 = min(n, c0 + chunk)
        r = AF.resample(read(c0 - margin, c1 + margin), sr, target_sr)
        if out is None:
            out = torch.empty(*r.shape[:-1], n_out, dtype=torch.float32)
        o0 = c0 * b // a
        o1 = n_out if c1 == n else c1 * b // a
        out[..., o0:o1] = r[..., skip:skip + (o1 - o0)]
    return out


def _torchaudio_kernel_is_small(orig: int, new: int) -> bool:
    """Whether torchaudio's ``(b, a + 2 w)`` resampling kernel (a, b = the rates over their gcd) is small."""
    g = math.gcd(orig, new)
    a, b = orig // g, new // g
    width = math.ceil(6 * a / (min(a, b) * 0.99))
    return b * (a + 2 * width) <= _TORCHAUDIO_KERNEL_MAX


def _sinc_taps(a: int, b: int):
    """torchaudio's windowed-sinc kernel (Hann, 6 zero crossings, roll-off 0.99) as a table of its non-zero taps.

    Output sample ``j = m b + i`` (phase ``i``) is ``sum_d x[m a + off[i] + d] * taps[i, d + w]`` for
    ``d = -w .. w``: the same weights as row ``i`` of torchaudio's ``(b, a + 2 w)`` kernel, whose other entries
    are zero (they lie beyond the 6th zero crossing, where the window is zero).
    """
    lowpass, rolloff = 6, 0.99
    base = min(a, b) * rolloff
    w = math.ceil(lowpass * a / base)
    i = torch.arange(b, dtype=torch.int64)
    off = (i * a) // b
    d = torch.arange(-w, w + 1, dtype=torch.int64)
    t = ((off[:, None] + d[None, :]).double() / a - i[:, None].double() / b) * base
    t = t.clamp(-lowpass, lowpass)
    window = torch.cos(t * math.pi / lowpass / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / torch.where(t == 0, torch.ones_like(t), t))
    return (sinc * window * (base / a)).float(), off, w


def _resample_taps(read, n: int, sr: int, target_sr: int, progress: bool, lead: int = 1) -> torch.Tensor:
    """Resample ``read(lo, hi) -> (..., hi - lo)`` (zero-filled outside ``[0, n)``) with the tap table of
    :func:`_sinc_taps`, a few periods of ``b`` outputs at a time: memory and time grow with the signal, not with
    ``sr / gcd``."""
    from tqdm.auto import tqdm

    g = math.gcd(sr, target_sr)
    a, b = sr // g, target_sr // g
    taps, off, w = _sinc_taps(a, b)
    T = taps.shape[1]
    n_out = -(-n * b // a)
    n_periods = -(-n_out // b)
    per_block = max(1, _BLOCK * 4 // (b * T * max(1, lead)))  # periods per block: ~16 MB of gathered taps
    out = None
    for p0 in tqdm(range(0, n_periods, per_block), disable=not progress, desc="resample", leave=False):
        p1 = min(n_periods, p0 + per_block)
        lo, hi = p0 * a - w, (p1 - 1) * a + int(off[-1]) + w + 1
        blk = read(lo, hi)
        if out is None:
            out = torch.empty(*blk.shape[:-1], n_out, dtype=torch.float32)
        windows = blk.unfold(-1, T, 1)  # a view: row s holds input samples lo + s .. lo + s + 2 w
        start = (torch.arange(p1 - p0, dtype=torch.int64)[:, None] * a + off[None, :]).reshape(-1)
        gathered = windows.index_select(-2, start).reshape(*blk.shape[:-1], p1 - p0, b, T)
        y = torch.einsum("...pbt,bt->...pb", gathered, taps).reshape(*blk.shape[:-1], -1)
        j0, j1 = p0 * b, min(n_out, p1 * b)
        out[..., j0:j1] = y[..., :j1 - j0]
    return out


def _resample_read(read, n: int, sr: int, target_sr: int, chunk_seconds: float, progress: bool,
                   lead: int = 1) -> torch.Tensor:
    """The one resampler on a signal given as ``read(lo, hi)``: torchaudio's conv when its kernel is small,
    otherwise the same kernel as a tap table (:func:`_resample_taps`)."""
    if _torchaudio_kernel_is_small(sr, target_sr):
        return _resample_stream(read, n, sr, target_sr, chunk_seconds, progress)
    return _resample_taps(read, n, sr, target_sr, progress, lead)


def _resample_x(x: torch.Tensor, sr: int, target_sr: int, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
                progress: bool = False) -> torch.Tensor:
    """:func:`resample` of an already validated float32 tensor ``(..., n)``, for any pair of rates."""
    if sr == target_sr:
        return x
    if _torchaudio_kernel_is_small(sr, target_sr):
        return _resample(x, sr, target_sr, chunk_seconds, progress)
    n = x.shape[-1]

    def read(lo, hi):  # samples [lo, hi) along the last axis, zeros outside
        seg = x[..., max(lo, 0):max(min(hi, n), 0)]
        return torch.nn.functional.pad(seg, (max(0, -lo), max(0, hi - max(n, lo))))

    return _resample_taps(read, n, sr, target_sr, progress, lead=math.prod(x.shape[:-1]))


def resample(y, *, orig_sr: int, target_sr: int, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
             progress: bool = False) -> torch.Tensor:
    """Resample along the last axis with torchaudio's band-limited (windowed-sinc, anti-aliased) interpolation.

    The one resampler of the package. Signals longer than two chunks are resampled chunk by chunk: chunks start
    at multiples of ``orig_sr / gcd(orig_sr, target_sr)`` input samples and carry enough neighbouring samples for
    the interpolation kernel, so the result equals ``torchaudio.functional.resample`` of the whole signal (to
    float rounding) while the working memory stays at a few chunks. Shorter signals are resampled in one call.
    Rates whose reduced ratio is large (e.g. 44,101 -> 8,000 Hz) use the same kernel as a table of its non-zero
    taps (see the module docstring), in bounded memory and time.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., n)]
        Audio; validated by :func:`as_audio` (leading axes are kept, e.g. channels or a batch of clips).
    orig_sr, target_sr : int
        Sample rates in Hz (:data:`MIN_SR` .. :data:`MAX_SR`).
    chunk_seconds : float
        Chunk length in seconds of input.
    progress : bool
        Show a tqdm bar over the chunks.

    Returns
    -------
    torch.Tensor [shape=(..., ceil(n * target_sr / orig_sr))], float32

    Book: ``book/02_stft.ipynb``.
    """
    orig_sr, target_sr = check_sr(orig_sr, name="orig_sr"), check_sr(target_sr, name="target_sr")
    check_positive(chunk_seconds, "chunk_seconds")
    return _resample_x(as_audio(y, max_ndim=8), orig_sr, target_sr, chunk_seconds, progress)


def _is_file_source(y) -> bool:
    return isinstance(y, (str, os.PathLike, bytes, bytearray, memoryview)) or (
        hasattr(y, "read") and not isinstance(y, (np.ndarray, torch.Tensor)))


def to_model_rate(y, *, sr: int | None = None, target_sr: int = PAPER_SR,
                  chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS, progress: bool = False) -> torch.Tensor:
    """Mono audio at the model's rate: validated (the rules of :func:`as_audio`), channels averaged
    (:func:`to_mono`), resampled (:func:`resample`), block by block.

    The input is never copied whole: it is converted, checked for NaN/Inf, averaged and resampled one block at a
    time, so the memory needed on top of the caller's array is the 8 kHz result (115 MB per hour) and a few
    blocks. A path, raw bytes or a seekable file object is streamed from disk the same way
    (:func:`read_model_rate`), never holding the file's own samples whole.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,), (channels, n) or (n, channels)], or a path / bytes / file object
    sr : int
        Rate of ``y`` (Hz); required for arrays. For a file, ``None`` (its header's rate) or that same rate.
    target_sr : int
        The model's rate (8000 Hz).

    Returns
    -------
    torch.Tensor [shape=(ceil(n * target_sr / sr),)], float32

    Book: ``book/06_neuralogram.ipynb``.
    """
    target_sr = check_sr(target_sr, name="target_sr")
    if _is_file_source(y):
        x, info = read_model_rate(y, target_sr=target_sr, chunk_seconds=chunk_seconds, progress=progress)
        if sr is not None and check_sr(sr) != info["sr"]:
            raise ValueError(f"sr={sr} Hz was given, but the file is {info['sr']} Hz (pass sr=None for files)")
        return x
    if sr is None:
        raise ValueError("sr (the sample rate of y in Hz) is required for an array of samples")
    sr = check_sr(sr)
    check_positive(chunk_seconds, "chunk_seconds")
    s = _Samples(y)
    if sr == target_sr:
        return s.whole() if not s.lead else s.mono_reader()(0, s.n)
    return _resample_read(s.mono_reader(), s.n, sr, target_sr, chunk_seconds, progress)


# ---------------------------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------------------------
_MP3_SLACK = 2 * 1152  # frames an MP3 header's length estimate may exceed what decodes (two MPEG frames)
_WAV_SHORT_RE = re.compile(r"^\s*data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


class _Refused(ValueError):
    pass


class _SoundFile:
    """An audio file (path, bytes or seekable file object) decoded block by block under the gate's rules."""

    def __init__(self, source, name: str | None = None):
        import soundfile as sf

        if isinstance(source, (str, os.PathLike)):
            label = name or str(source)
            p = Path(source)
            if p.exists() and not p.is_file():
                raise ValueError(f"cannot read {label}: not a regular file (a directory, device or pipe)")
            if not p.is_file():
                raise ValueError(f"cannot read {label}: no such file")
            src = str(p)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            label, src = name or "the uploaded file", io.BytesIO(bytes(source))
        elif hasattr(source, "read"):
            label, src = name or str(getattr(source, "name", "") or "the file object"), source
            seekable = getattr(source, "seekable", None)
            if not (callable(seekable) and seekable()):
                raise ValueError(f"cannot read {label}: soundfile needs a seekable file object (read a pipe into "
                                 f"io.BytesIO first)")
        else:
            raise ValueError(f"cannot read a {type(source).__name__} as audio: give a path, bytes or a file object")
        self.label = label
        try:
            self.f = sf.SoundFile(src)
        except Exception as err:  # soundfile raises LibsndfileError / RuntimeError / TypeError for foreign data
            _read_error(label, err)
        try:
            self._check_header()
        except BaseException:
            self.f.close()
            raise

    def _check_header(self):
        f, label = self.f, self.label
        self.sr, self.n, self.channels = int(f.samplerate), int(f.frames), int(f.channels)
        if not MIN_SR <= self.sr <= MAX_SR:
            raise ValueError(f"{label}: its header says {self.sr} Hz, outside the supported range {MIN_SR}..{MAX_SR} "
                             f"Hz (a corrupt header; or convert the file first, e.g. with sox or ffmpeg)")
        if self.channels < 1 or self.n <= 0:
            raise ValueError(f"{label} holds no audio samples (an empty or truncated file)")
        if self.n > MAX_FILE_SECONDS * self.sr:
            raise ValueError(f"{label}: its header declares {self.n} frames ({self.n / self.sr / 3600:.1f} h), more "
                             f"than the {MAX_FILE_SECONDS // 3600} h read at once; split the file")
        self.slack = _MP3_SLACK if f.format == "MP3" else 0
        self.info = {"sr": self.sr, "channels": self.channels, "frames": self.n, "duration_s": self.n / self.sr}
        m = _WAV_SHORT_RE.search(f.extra_info or "")
        if m and int(m.group(2)) > 0 and int(m.group(1)) not in (0xFFFFFFFF, 0x7FFFFFFF):
            declared = round(self.n * int(m.group(1)) / int(m.group(2)))
            if declared > self.n:
                warnings.warn(f"{label} is truncated: its header declares {declared} frames "
                              f"({declared / self.sr:.2f} s) but the file holds {self.n} "
                              f"({self.n / self.sr:.2f} s); using the {self.n / self.sr:.2f} s present",
                              UserWarning, stacklevel=4)
                self.info["declared_frames"] = declared
        elif "lacks an end-of-stream" in (f.extra_info or ""):
            warnings.warn(f"{label} is truncated: its last Ogg page lacks the end-of-stream mark; using the "
                          f"{self.n / self.sr:.2f} s present", UserWarning, stacklevel=4)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def blocks(self, a: int, b: int):
        """Yield ``(start, (m, channels) float32)`` blocks covering frames ``[a, b)`` of the file."""
        pos, step = a, max(1, _BLOCK // self.channels)
        try:
            self.f.seek(a)
            while pos < b:
                blk = self.f.read(min(b - pos, step), dtype="float32", always_2d=True)
                if len(blk) == 0:
                    break
                ok = np.isfinite(blk).all(axis=1)
                if not ok.all():
                    t = (pos + int(np.flatnonzero(~ok)[0])) / self.sr
                    raise _Refused(f"{self.label} contains NaN or Inf samples (the first at {t:.3f} s)")
                yield pos, blk
                pos += len(blk)
        except _Refused:
            raise
        except Exception as err:  # LibsndfileError and friends: the data stops or is corrupt part-way
            why = str(err).strip() or type(err).__name__
            raise ValueError(f"{self.label} is truncated or corrupt: decoding failed at {pos / self.sr:.2f} s of "
                             f"the {self.n / self.sr:.2f} s its header declares ({why})") from None
        if pos < b and self.n - pos > self.slack:
            raise ValueError(f"{self.label} is truncated or corrupt: its header declares {self.n} frames "
                             f"({self.n / self.sr:.2f} s) but decoding stops at frame {pos} ({pos / self.sr:.2f} s)")

    def mono(self, lo: int, hi: int) -> torch.Tensor:
        """Mono float32 samples ``[lo, hi)``, zeros outside the file."""
        out = torch.zeros(hi - lo, dtype=torch.float32)
        a, b = max(lo, 0), min(hi, self.n)
        if b > a:
            for pos, blk in self.blocks(a, b):
                out[pos - lo:pos - lo + len(blk)] = torch.from_numpy(blk.mean(axis=1) if self.channels > 1
                                                                     else blk[:, 0])
        return out

    def whole(self) -> np.ndarray:
        """Every frame, ``(n, channels)`` float32."""
        out = np.zeros((self.n, self.channels), np.float32)
        for pos, blk in self.blocks(0, self.n):
            out[pos:pos + len(blk)] = blk
        return out


def read_model_rate(path, *, target_sr: int = PAPER_SR, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
                    progress: bool = False):
    """Stream an audio file into mono at the model's rate, without ever holding the file's own samples whole.

    Blocks are read with soundfile, averaged over channels and resampled like :func:`resample` (the same
    samples as reading the whole file and resampling it). An hour of 44.1 kHz stereo needs the 115 MB of its
    8 kHz version, not the 1.3 GB of its float32 samples.

    Parameters
    ----------
    path : str, Path, bytes or a seekable binary file object

    Returns
    -------
    x : torch.Tensor [shape=(n_8k,)], float32
    info : dict
        ``sr``, ``channels``, ``frames`` and ``duration_s`` of the file (and ``declared_frames`` for a WAV
        shorter than its header says).

    Raises
    ------
    ValueError
        As :func:`load_audio`.

    Book: ``book/06_neuralogram.ipynb``.
    """
    target_sr = check_sr(target_sr, name="target_sr")
    check_positive(chunk_seconds, "chunk_seconds")
    with _SoundFile(path) as s:
        if s.sr == target_sr:
            x = s.mono(0, s.n)
        else:
            x = _resample_read(s.mono, s.n, s.sr, target_sr, chunk_seconds, progress)
    return x, s.info


def _read_error(label, err):
    import soundfile as sf

    kinds = ", ".join(sorted(sf.available_formats()))
    why = re.sub(r"^Error opening .*?: ", "", str(err).strip()) or type(err).__name__
    raise ValueError(f"cannot read {label} as audio ({why}). soundfile reads {kinds}; convert it first "
                     f"(e.g. with ffmpeg or sox).") from None


def load_audio(source, *, name: str | None = None):
    """Read an audio file with soundfile: a path, raw bytes (e.g. an upload) or a seekable file object.

    Returns
    -------
    y : np.ndarray [shape=(n,) or (channels, n)], float32
    sr : int

    Raises
    ------
    ValueError
        A file that does not exist, that soundfile cannot decode (naming the formats it reads), that holds no
        samples, whose header's rate is outside :data:`MIN_SR` .. :data:`MAX_SR`, that stops before the length
        its header declares (truncated MP3/FLAC), or that holds NaN/Inf. A WAV shorter than its header says (or
        an Ogg file without its last page) is read with a ``UserWarning`` (module docstring).

    Book: ``book/06_neuralogram.ipynb``.
    """
    with _SoundFile(source, name) as s:
        data = s.whole()
    y = data[:, 0] if data.shape[1] == 1 else np.ascontiguousarray(data.T)
    return y, s.sr
