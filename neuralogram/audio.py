"""The one audio gate: validation, mono, reading files, and the one resampler.

Every public function that takes a waveform calls :func:`as_audio`, so that bad input fails early with a
message naming the problem (empty, NaN/Inf, wrong rank, non-positive rate) instead of deep inside torch.
Files are read with soundfile (:func:`load_audio`, or :func:`read_model_rate`, which streams a file of any
length into the model's rate in bounded memory). Every change of sample rate in the package goes through
:func:`resample` (torchaudio's anti-aliased windowed sinc, computed in chunks), and every "mono at the
model's rate" through :func:`to_model_rate`.

Book: every chapter (first introduced in ``book/01_signals.ipynb``; resampling in ``book/02_stft.ipynb``,
files in ``book/06_neuralogram.ipynb``).
"""
from __future__ import annotations

import io
import math
import os
from numbers import Real
from pathlib import Path

import numpy as np
import torch

__all__ = ["PAPER_SR", "as_audio", "check_positive", "check_sr", "to_mono", "resample", "to_model_rate",
           "read_model_rate", "load_audio"]

#: The model's sample rate (Hz): the paper's 8 kHz. Every default rate in the package is this constant.
PAPER_SR = 8000
_RESAMPLE_CHUNK_SECONDS = 30.0


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


def resample(y, *, orig_sr: int, target_sr: int, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
             progress: bool = False) -> torch.Tensor:
    """Resample along the last axis with torchaudio's band-limited (windowed-sinc, anti-aliased) interpolation.

    The one resampler of the package. Signals longer than two chunks are resampled chunk by chunk: chunks start
    at multiples of ``orig_sr / gcd(orig_sr, target_sr)`` input samples and carry enough neighbouring samples for
    the interpolation kernel, so the result equals ``torchaudio.functional.resample`` of the whole signal (to
    float rounding) while the working memory stays at a few chunks. Shorter signals are resampled in one call.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., n)]
        Audio; validated by :func:`as_audio` (leading axes are kept, e.g. channels or a batch of clips).
    orig_sr, target_sr : int
        Sample rates in Hz.
    chunk_seconds : float
        Chunk length in seconds of input.
    progress : bool
        Show a tqdm bar over the chunks.

    Returns
    -------
    torch.Tensor [shape=(..., ceil(n * target_sr / orig_sr))], float32

    Book: ``book/02_stft.ipynb``.
    """
    orig_sr, target_sr = check_sr(orig_sr), check_sr(target_sr)
    return _resample(as_audio(y, max_ndim=8), orig_sr, target_sr, chunk_seconds, progress)


def to_model_rate(y, *, sr: int, target_sr: int = PAPER_SR, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
                  progress: bool = False) -> torch.Tensor:
    """Mono audio at the model's rate: validated (:func:`as_audio`), stereo averaged (:func:`to_mono`), resampled
    (:func:`resample`).

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
    sr : int
        Rate of ``y`` (Hz).
    target_sr : int
        The model's rate (8000 Hz).

    Returns
    -------
    torch.Tensor [shape=(ceil(n * target_sr / sr),)], float32

    Book: ``book/06_neuralogram.ipynb``.
    """
    sr, target_sr = check_sr(sr), check_sr(target_sr)
    return _resample(to_mono(as_audio(y)), sr, target_sr, chunk_seconds, progress)


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


def read_model_rate(path, *, target_sr: int = PAPER_SR, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
                    progress: bool = False):
    """Stream an audio file into mono at the model's rate, without ever holding the file's own samples whole.

    Blocks are read with soundfile, averaged over channels and resampled like :func:`resample` (the same
    samples as reading the whole file and resampling it). An hour of 44.1 kHz stereo needs the 115 MB of its
    8 kHz version, not the 1.3 GB of its float32 samples.

    Returns
    -------
    x : torch.Tensor [shape=(n_8k,)], float32
    info : dict
        ``sr``, ``channels``, ``frames`` and ``duration_s`` of the file.

    Raises
    ------
    ValueError
        As :func:`load_audio`.

    Book: ``book/06_neuralogram.ipynb``.
    """
    import soundfile as sf

    target_sr = check_sr(target_sr)
    label = str(path)
    if not Path(path).is_file():
        raise ValueError(f"cannot read {label}: no such file")
    try:
        f = sf.SoundFile(path)
    except Exception as err:
        return _read_error(label, err)
    with f:
        sr, n, ch = int(f.samplerate), int(f.frames), int(f.channels)
        if n == 0:
            raise ValueError(f"{label} holds no audio samples")
        info = {"sr": sr, "channels": ch, "frames": n, "duration_s": n / sr}

        def read(lo, hi):
            a, b = max(lo, 0), min(hi, n)
            out = torch.zeros(hi - lo, dtype=torch.float32)
            if b > a:
                f.seek(a)
                block = f.read(b - a, dtype="float32", always_2d=True)
                out[a - lo:a - lo + len(block)] = torch.from_numpy(block.mean(axis=1))
            return out

        if sr == target_sr:
            x = read(0, n)
        else:
            x = _resample_stream(read, n, sr, target_sr, chunk_seconds, progress)
    if not torch.isfinite(x).all():
        raise ValueError(f"{label} contains NaN or Inf samples")
    return x, info


def _read_error(label, err):
    import re

    import soundfile as sf

    kinds = ", ".join(sorted(sf.available_formats()))
    why = re.sub(r"^Error opening .*?: ", "", str(err).strip()) or type(err).__name__
    raise ValueError(f"cannot read {label} as audio ({why}). soundfile reads {kinds}; convert it first "
                     f"(e.g. with ffmpeg or sox).") from None


def load_audio(source, *, name: str | None = None):
    """Read an audio file with soundfile: a path, raw bytes (e.g. an upload) or a file-like object.

    Returns
    -------
    y : np.ndarray [shape=(n,) or (channels, n)], float32
    sr : int

    Raises
    ------
    ValueError
        A file that does not exist, that soundfile cannot decode (naming the formats it reads), or that holds
        no samples.

    Book: ``book/06_neuralogram.ipynb``.
    """
    import soundfile as sf

    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "the uploaded file")
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise ValueError(f"cannot read {label}: no such file")
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    try:
        data, sr = sf.read(source, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError / TypeError for foreign data
        _read_error(label, err)
    if data.shape[0] == 0:
        raise ValueError(f"{label} holds no audio samples")
    y = data[:, 0] if data.shape[1] == 1 else np.ascontiguousarray(data.T)
    return y, int(sr)
