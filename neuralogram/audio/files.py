"""Audio files, decoded block by block under the gate's rules; :func:`to_model_rate`, from an array or a file.

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from .gate import _BLOCK, MAX_FILE_SECONDS, MAX_SR, MIN_SR, PAPER_SR, _Samples, check_positive, check_sr
from .resampler import _RESAMPLE_CHUNK_SECONDS, _resample_read

__all__ = ["to_model_rate", "read_model_rate", "load_audio"]

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
