"""Spectral transforms: the STFT built from the DFT, the paper's 129 x 200 linear spectrogram, and its variants.

Book: ``book/02_stft.ipynb`` (STFT, linear spectrogram) and ``book/03_linear_variants.ipynb`` (variants).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torchaudio.functional as AF

from ._validate import as_audio, check_positive, check_sr, to_mono

__all__ = ["resample", "linear_spectrogram", "LinearSpectrogram", "PAPER_SR", "PAPER_N_FFT",
           "PAPER_WIN_LENGTH", "PAPER_HOP_LENGTH"]

#: The paper's input: 8 kHz audio, 30 ms Hann window (240 samples) in a 256-point FFT, 10 ms hop (80 samples).
PAPER_SR = 8000
PAPER_N_FFT = 256
PAPER_WIN_LENGTH = 240
PAPER_HOP_LENGTH = 80
#: Floor added to the power spectrogram before the logarithm (about -60 dB re. 1).
LOG_FLOOR = 1e-6


def resample(y, *, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample with torchaudio's band-limited (windowed-sinc, anti-aliased) interpolation.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., n)]
    orig_sr, target_sr : int
        Sample rates in Hz.

    Returns
    -------
    torch.Tensor [shape=(..., round(n * target_sr / orig_sr))], float32

    Book: ``book/02_stft.ipynb``.
    """
    orig_sr, target_sr = check_sr(orig_sr), check_sr(target_sr)
    t = y if isinstance(y, torch.Tensor) else as_audio(y)
    t = t.to(torch.float32)
    if orig_sr == target_sr:
        return t
    return AF.resample(t, orig_sr, target_sr)


class LinearSpectrogram(nn.Module):
    """The paper's log-power linear spectrogram as a torchaudio-style ``nn.Module``.

    Input ``(..., n)`` samples at ``sr`` (8 kHz by default), output ``(..., n_fft // 2 + 1, n // hop_length)``:
    frame ``m`` is centred on sample ``m * hop_length`` (the signal is zero-padded by ``n_fft // 2`` on both
    sides, as ``torch.stft(center=True)`` does) and only the frames ``m = 0 .. n // hop_length - 1`` are kept,
    so a 2 s signal at 8 kHz gives exactly 200 frames, one per 10 ms. The magnitude is compressed as
    ``log(|X|^2 + 1e-6)`` (natural log of the power, floored about 60 dB below a unit-power bin).

    Book: ``book/02_stft.ipynb``.
    """

    def __init__(self, *, n_fft: int = PAPER_N_FFT, win_length: int = PAPER_WIN_LENGTH,
                 hop_length: int = PAPER_HOP_LENGTH, log_floor: float = LOG_FLOOR):
        super().__init__()
        self.n_fft = check_positive(n_fft, "n_fft", integer=True)
        self.win_length = check_positive(win_length, "win_length", integer=True)
        self.hop_length = check_positive(hop_length, "hop_length", integer=True)
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({win_length}) must be <= n_fft ({n_fft})")
        self.log_floor = float(log_floor)
        self.register_buffer("window", torch.hann_window(self.win_length, periodic=True), persistent=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.shape[-1] < self.hop_length:
            raise ValueError(f"signal has {y.shape[-1]} samples, fewer than one hop ({self.hop_length})")
        lead = y.shape[:-1]
        flat = y.reshape(-1, y.shape[-1])
        X = torch.stft(flat, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                       window=self.window, center=True, pad_mode="constant", return_complex=True)
        n_frames = y.shape[-1] // self.hop_length
        power = X[..., :n_frames].abs().square()
        S = torch.log(power + self.log_floor)
        return S.reshape(*lead, S.shape[-2], S.shape[-1])


def linear_spectrogram(y, sr: int, *, target_sr: int = PAPER_SR, n_fft: int = PAPER_N_FFT,
                       win_length: int = PAPER_WIN_LENGTH, hop_length: int = PAPER_HOP_LENGTH) -> torch.Tensor:
    """The paper's input representation: log-power linear spectrogram of ``y`` resampled to 8 kHz.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio at ``sr`` Hz. Stereo is averaged to mono.
    sr : int
        Sample rate of ``y`` in Hz; ``y`` is resampled to ``target_sr`` (anti-aliased) first.
    target_sr, n_fft, win_length, hop_length : int
        Analysis parameters; the defaults are the paper's (8 kHz, 256-point FFT, 30 ms Hann, 10 ms hop).

    Returns
    -------
    torch.Tensor [shape=(n_fft // 2 + 1, n_target // hop_length)]
        ``log(|X|^2 + 1e-6)``; 129 x 200 for 2 s of audio with the defaults.

    Book: ``book/02_stft.ipynb``.
    """
    sr = check_sr(sr)
    x = to_mono(as_audio(y))
    x = resample(x, orig_sr=sr, target_sr=target_sr)
    return LinearSpectrogram(n_fft=n_fft, win_length=win_length, hop_length=hop_length)(x)


# ---------------------------------------------------------------------------------------------------------------
# From scratch: the DFT as a matrix, windows, framing, the STFT (book/02_stft.ipynb)
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["dft_matrix", "dft", "get_window", "frame", "n_frames", "stft", "power_spectrogram", "log_power",
            "fft_frequencies", "frame_times", "LOG_FLOOR"]

_WINDOWS = ("hann", "hamming", "blackman", "rectangular")


def dft_matrix(n_fft: int, *, onesided: bool = False, dtype=torch.complex128) -> torch.Tensor:
    """The DFT as a matrix: ``F[k, n] = exp(-2 pi i k n / n_fft)``, so that ``X = F @ x``.

    Parameters
    ----------
    n_fft : int
        Transform length (> 0).
    onesided : bool
        Keep only the rows ``k = 0 .. n_fft // 2`` (a real signal's spectrum is conjugate-symmetric, so the
        other rows add nothing).

    Returns
    -------
    torch.Tensor [shape=(n_fft // 2 + 1 if onesided else n_fft, n_fft)], complex

    Book: ``book/02_stft.ipynb``.
    """
    n_fft = check_positive(n_fft, "n_fft", integer=True)
    k = torch.arange(n_fft // 2 + 1 if onesided else n_fft, dtype=torch.float64)
    n = torch.arange(n_fft, dtype=torch.float64)
    # reduce k*n modulo n_fft before scaling: the angle stays exact for large n_fft
    angle = -2 * torch.pi * torch.remainder(torch.outer(k, n), n_fft) / n_fft
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def dft(x, *, n_fft: int | None = None) -> torch.Tensor:
    """Discrete Fourier transform of the last axis by a matrix product with :func:`dft_matrix` (``O(N^2)``).

    Parameters
    ----------
    x : array-like [shape=(..., n)]
        Real or complex samples; zero-padded or truncated to ``n_fft`` (default ``n``).

    Returns
    -------
    torch.Tensor [shape=(..., n_fft)], complex128
        Equal to ``torch.fft.fft(x, n=n_fft)``.

    Book: ``book/02_stft.ipynb``.
    """
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 0 or t.shape[-1] == 0:
        raise ValueError(f"x must have at least one sample along its last axis, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("x contains NaN or Inf")
    n_fft = t.shape[-1] if n_fft is None else check_positive(n_fft, "n_fft", integer=True)
    t = t.to(torch.complex128)
    if t.shape[-1] < n_fft:
        t = torch.nn.functional.pad(t, (0, n_fft - t.shape[-1]))
    t = t[..., :n_fft]
    return t @ dft_matrix(n_fft).T


def get_window(window: str, win_length: int, *, n_fft: int | None = None, dtype=torch.float32) -> torch.Tensor:
    """A periodic (DFT-even) analysis window, zero-padded symmetrically to ``n_fft`` as ``torch.stft`` does.

    ``hann``: ``0.5 - 0.5 cos(2 pi n / L)``; ``hamming``: ``0.54 - 0.46 cos(2 pi n / L)``; ``blackman``:
    ``0.42 - 0.5 cos(2 pi n / L) + 0.08 cos(4 pi n / L)``; ``rectangular``: ones; ``n = 0 .. L - 1``, ``L = win_length``.
    The window sits at offset ``(n_fft - win_length) // 2`` inside the ``n_fft`` frame.

    Returns
    -------
    torch.Tensor [shape=(n_fft,)] (``(win_length,)`` when ``n_fft`` is None)

    Book: ``book/02_stft.ipynb``.
    """
    L = check_positive(win_length, "win_length", integer=True)
    n = torch.arange(L, dtype=torch.float64)
    c = lambda m: torch.cos(2 * torch.pi * m * n / L)  # noqa: E731
    if window == "hann":
        w = 0.5 - 0.5 * c(1)
    elif window == "hamming":
        w = 0.54 - 0.46 * c(1)
    elif window == "blackman":
        w = 0.42 - 0.5 * c(1) + 0.08 * c(2)
    elif window in ("rectangular", "boxcar", "ones"):
        w = torch.ones(L, dtype=torch.float64)
    else:
        raise ValueError(f"window must be one of {_WINDOWS}, got {window!r}")
    if n_fft is not None:
        n_fft = check_positive(n_fft, "n_fft", integer=True)
        if L > n_fft:
            raise ValueError(f"win_length ({L}) must be <= n_fft ({n_fft})")
        left = (n_fft - L) // 2
        w = torch.nn.functional.pad(w, (left, n_fft - L - left))
    return w.to(dtype)


def n_frames(n: int, *, n_fft: int, hop_length: int, center: bool = True) -> int:
    """Number of STFT frames for ``n`` samples: ``1 + n // hop_length`` when ``center`` (padding ``n_fft // 2``
    on each side, even ``n_fft``), else ``1 + (n - n_fft) // hop_length``.

    Book: ``book/02_stft.ipynb``.
    """
    n = check_positive(n, "n", integer=True)
    n_fft = check_positive(n_fft, "n_fft", integer=True)
    hop_length = check_positive(hop_length, "hop_length", integer=True)
    padded = n + 2 * (n_fft // 2) if center else n
    if padded < n_fft:
        raise ValueError(f"signal of {n} samples is shorter than n_fft={n_fft} (center={center})")
    return 1 + (padded - n_fft) // hop_length


def frame(y, *, frame_length: int, hop_length: int, center: bool = True, pad_mode: str = "constant"
          ) -> torch.Tensor:
    """Cut ``y`` into overlapping frames: frame ``m`` holds samples ``m * hop_length + j`` for
    ``j = 0 .. frame_length - 1`` of the (padded) signal.

    With ``center=True`` the signal is first padded by ``frame_length // 2`` samples on each side (zeros for
    ``pad_mode="constant"``, a mirror image for ``"reflect"``), so frame ``m`` is *centred* on the original
    sample ``m * hop_length``.

    Parameters
    ----------
    y : array-like [shape=(..., n)]
        Samples (float32 tensor after validation).
    frame_length, hop_length : int
        Frame size and step in samples.
    center : bool
        Pad so that frames are centred on ``m * hop_length``.
    pad_mode : {"constant", "reflect"}

    Returns
    -------
    torch.Tensor [shape=(..., frame_length, n_frames)]
        A strided view (no copy) of the padded signal.

    Book: ``book/02_stft.ipynb``.
    """
    frame_length = check_positive(frame_length, "frame_length", integer=True)
    hop_length = check_positive(hop_length, "hop_length", integer=True)
    if pad_mode not in ("constant", "reflect"):
        raise ValueError(f"pad_mode must be 'constant' or 'reflect', got {pad_mode!r}")
    x = y if isinstance(y, torch.Tensor) else as_audio(y, max_ndim=8)
    if center:
        p = frame_length // 2
        if pad_mode == "reflect" and x.shape[-1] <= p:
            raise ValueError(f"pad_mode='reflect' needs more than {p} samples, got {x.shape[-1]}")
        lead = x.shape[:-1]
        x = torch.nn.functional.pad(x.reshape(-1, 1, x.shape[-1]), (p, p), mode=pad_mode).reshape(*lead, -1)
    if x.shape[-1] < frame_length:
        raise ValueError(f"signal of {x.shape[-1]} samples is shorter than one frame ({frame_length})")
    return x.unfold(-1, frame_length, hop_length).transpose(-1, -2)


def stft(y, *, n_fft: int = PAPER_N_FFT, hop_length: int | None = None, win_length: int | None = None,
         window: str = "hann", center: bool = True, pad_mode: str = "constant") -> torch.Tensor:
    r"""Short-time Fourier transform from scratch: frame, window, multiply by the one-sided DFT matrix.

    .. math:: X(m, k) = \sum_{n} x[n]\, w[n - m H]\, e^{-2\pi i k (n - mH) / N}

    with hop ``H = hop_length``, ``N = n_fft`` and the window ``w`` of :func:`get_window` (frame-relative phase,
    as ``torch.stft`` and librosa use). Equal to ``torch.stft(..., center=center, pad_mode=pad_mode,
    return_complex=True)`` to float32 round-off.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio. A 2-D input is transformed channel by channel (no averaging; ``linear_spectrogram`` is the
        function that averages stereo to mono).
    n_fft : int
        DFT length; ``n_fft // 2 + 1`` frequency bins spaced ``sr / n_fft`` Hz.
    hop_length : int
        Frame step in samples (default ``win_length // 4``).
    win_length : int
        Window length in samples, ``<= n_fft`` (default ``n_fft``).
    window : {"hann", "hamming", "blackman", "rectangular"}
    center : bool
        Centre frame ``m`` on sample ``m * hop_length`` by padding ``n_fft // 2`` on each side.
    pad_mode : {"constant", "reflect"}

    Returns
    -------
    torch.Tensor [shape=(n_fft // 2 + 1, n_frames) or (channels, n_fft // 2 + 1, n_frames)], complex64
        ``n_frames = 1 + n // hop_length`` when ``center`` (see :func:`n_frames`).

    Book: ``book/02_stft.ipynb``.
    """
    x = as_audio(y)
    n_fft = check_positive(n_fft, "n_fft", integer=True)
    win_length = n_fft if win_length is None else check_positive(win_length, "win_length", integer=True)
    if win_length > n_fft:
        raise ValueError(f"win_length ({win_length}) must be <= n_fft ({n_fft})")
    hop_length = max(win_length // 4, 1) if hop_length is None else check_positive(hop_length, "hop_length",
                                                                                     integer=True)
    w = get_window(window, win_length, n_fft=n_fft)
    frames = frame(x, frame_length=n_fft, hop_length=hop_length, center=center, pad_mode=pad_mode)
    F = dft_matrix(n_fft, onesided=True, dtype=torch.complex64)
    # (K, N) @ (..., N, M): each column (one windowed frame) is multiplied by the DFT matrix
    return F @ (frames * w[:, None]).to(torch.complex64)


def power_spectrogram(y, *, n_fft: int = PAPER_N_FFT, hop_length: int = PAPER_HOP_LENGTH,
                      win_length: int = PAPER_WIN_LENGTH, window: str = "hann", center: bool = True) -> torch.Tensor:
    """``|X(m, k)|^2`` of :func:`stft` (the paper's ``X_spec``); the variants of chapter 3 are linear maps of it.

    Stereo input is averaged to mono first.

    Returns
    -------
    torch.Tensor [shape=(n_fft // 2 + 1, n_frames)], float32

    Book: ``book/03_linear_variants.ipynb``.
    """
    x = to_mono(as_audio(y))
    return stft(x, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                center=center).abs().square()


def log_power(S, *, log_floor: float = LOG_FLOOR) -> torch.Tensor:
    """The paper's magnitude compression: ``log(S + log_floor)`` of a power spectrogram ``S`` (natural log).

    Book: ``book/02_stft.ipynb``.
    """
    S = torch.as_tensor(S)
    if (S < 0).any():
        raise ValueError("a power spectrogram S must be >= 0")
    return torch.log(S + check_positive(log_floor, "log_floor"))


def fft_frequencies(*, sr: int, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each STFT bin: ``k * sr / n_fft`` for ``k = 0 .. n_fft // 2``.

    Book: ``book/02_stft.ipynb``.
    """
    sr, n_fft = check_sr(sr), check_positive(n_fft, "n_fft", integer=True)
    return np.arange(n_fft // 2 + 1) * sr / n_fft


def frame_times(n_frames: int, *, sr: int, hop_length: int) -> np.ndarray:
    """Centre time in seconds of each (centred) frame: ``m * hop_length / sr``.

    Book: ``book/02_stft.ipynb``.
    """
    n_frames = check_positive(n_frames, "n_frames", integer=True)
    return np.arange(n_frames) * check_positive(hop_length, "hop_length", integer=True) / check_sr(sr)


# ---------------------------------------------------------------------------------------------------------------
# Spectrogram variants as linear maps T of the power spectrogram (book/03_linear_variants.ipynb)
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["hz_to_mel", "mel_to_hz", "mel_filterbank", "chroma_filterbank", "logfreq_filterbank",
            "apply_filterbank", "autocorrelation_matrix", "correlogram", "fit_linear_map"]


def hz_to_mel(f, *, mel_scale: str = "htk"):
    """Hz to mel. ``htk``: ``2595 log10(1 + f / 700)``; ``slaney``: linear ``3 f / 200`` below 1 kHz, logarithmic
    above (27 / ln 6.4 mels per natural-log unit).

    Book: ``book/03_linear_variants.ipynb``.
    """
    f = np.asarray(f, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    if mel_scale != "slaney":
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {mel_scale!r}")
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m, *, mel_scale: str = "htk"):
    """Inverse of :func:`hz_to_mel`.

    Book: ``book/03_linear_variants.ipynb``.
    """
    m = np.asarray(m, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if mel_scale != "slaney":
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {mel_scale!r}")
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def _check_fb_args(sr, n_fft, f_min, f_max):
    sr, n_fft = check_sr(sr), check_positive(n_fft, "n_fft", integer=True)
    f_max = sr / 2 if f_max is None else float(f_max)
    f_min = float(check_positive(f_min, "f_min", allow_zero=True))
    if not f_min < f_max <= sr / 2:
        raise ValueError(f"need 0 <= f_min < f_max <= sr/2 = {sr / 2}, got f_min={f_min}, f_max={f_max}")
    return sr, n_fft, f_min, f_max


def _triangles(freqs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Triangles with apex ``edges[j + 1]``, feet ``edges[j]`` and ``edges[j + 2]``; shape (n_filters, n_freqs)."""
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    return np.maximum(0.0, np.minimum(lower, upper))


def mel_filterbank(*, sr: int = PAPER_SR, n_fft: int = PAPER_N_FFT, n_mels: int = 40, f_min: float = 0.0,
                   f_max: float | None = None, norm: str | None = None, mel_scale: str = "htk") -> torch.Tensor:
    """The mel map ``T_mel``: ``n_mels`` triangles equally spaced on the mel scale, one row each.

    Filter ``j`` rises linearly (in Hz) from ``f[j]`` to 1 at ``f[j+1]`` and falls to 0 at ``f[j+2]``, where
    ``f = mel_to_hz(linspace(mel(f_min), mel(f_max), n_mels + 2))``; ``norm="slaney"`` divides each filter by half
    its width in Hz (``2 / (f[j+2] - f[j])``, equal area). Same numbers as
    ``torchaudio.functional.melscale_fbanks(...).T``.

    Returns
    -------
    torch.Tensor [shape=(n_mels, n_fft // 2 + 1)], float32
        Apply as ``T @ S`` to a power spectrogram ``S`` of shape ``(n_fft // 2 + 1, n_frames)``.

    Book: ``book/03_linear_variants.ipynb``.
    """
    sr, n_fft, f_min, f_max = _check_fb_args(sr, n_fft, f_min, f_max)
    n_mels = check_positive(n_mels, "n_mels", integer=True)
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}")
    freqs = np.linspace(0, sr // 2, n_fft // 2 + 1)  # torchaudio's convention (sr // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min, mel_scale=mel_scale), hz_to_mel(f_max, mel_scale=mel_scale),
                                  n_mels + 2), mel_scale=mel_scale)
    T = _triangles(freqs, edges)
    if norm == "slaney":
        T *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(T).float()


def chroma_filterbank(*, sr: int = PAPER_SR, n_fft: int = PAPER_N_FFT, n_chroma: int = 12, f_min: float = 55.0,
                      f_max: float | None = None, a4: float = 440.0, width: float = 1.0) -> torch.Tensor:
    """The chroma map ``T_chroma``: fold every FFT bin onto the 12 pitch classes (C, C#, ..., B).

    Bin ``k`` (frequency ``f_k``) has pitch ``p_k = 12 log2(f_k / a4) + 9`` semitones above C, pitch class
    ``p_k mod 12``; it gives chroma ``c`` the weight ``exp(-d^2 / (2 s_k^2))`` with ``d`` the circular distance
    between ``p_k`` and ``c`` in semitones and ``s_k = width * max(1/2, semitones spanned by one bin at f_k)``
    (low bins are wider than a semitone and smear over several classes). Each column is normalised to sum to 1,
    so every bin's energy is shared out, not created. Bins outside ``[f_min, f_max]`` get weight 0.

    Returns
    -------
    torch.Tensor [shape=(n_chroma, n_fft // 2 + 1)], float32

    Book: ``book/03_linear_variants.ipynb``.
    """
    sr, n_fft, f_min, f_max = _check_fb_args(sr, n_fft, f_min, f_max)
    n_chroma = check_positive(n_chroma, "n_chroma", integer=True)
    a4, width = check_positive(a4, "a4"), check_positive(width, "width")
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    keep = (freqs >= max(f_min, 1e-9)) & (freqs <= f_max)
    T = np.zeros((n_chroma, freqs.size))
    f = freqs[keep]
    pitch = n_chroma * np.log2(f / a4) + 9 * n_chroma / 12           # in chroma steps above C
    bin_span = n_chroma * np.log2((f + sr / n_fft / 2) / np.maximum(f - sr / n_fft / 2, 1e-9))
    sigma = width * np.maximum(0.5, bin_span / 2)
    c = np.arange(n_chroma)[:, None]
    d = np.remainder(pitch[None, :] - c + n_chroma / 2, n_chroma) - n_chroma / 2
    W = np.exp(-0.5 * (d / sigma[None, :]) ** 2)
    T[:, keep] = W / W.sum(axis=0, keepdims=True)
    return torch.from_numpy(T).float()


def logfreq_filterbank(*, sr: int = PAPER_SR, n_fft: int = PAPER_N_FFT, f_min: float = 62.5,
                       bins_per_octave: int = 12, n_bins: int | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """A constant-Q-like map ``T_logf``: rows centred on ``f_j = f_min 2^(j / bins_per_octave)``.

    Row ``j`` is a triangle in Hz with apex ``f_j`` and feet at its neighbours ``f_{j-1}``, ``f_{j+1}`` (so the
    bandwidth grows with frequency: constant Q), widened to at least one FFT bin each side where the log spacing
    is finer than the FFT's ``sr / n_fft`` (the linear spectrogram has no more detail to give there). Each row is
    normalised to sum to 1 (a weighted average of power). A true constant-Q transform would use longer windows at
    low frequencies; a linear map of one STFT cannot add resolution, only redistribute it.

    Returns
    -------
    T : torch.Tensor [shape=(n_bins, n_fft // 2 + 1)], float32
    centres : np.ndarray [shape=(n_bins,)]
        ``f_j`` in Hz. ``n_bins`` defaults to every centre whose upper neighbour is at or below ``sr / 2``.

    Book: ``book/03_linear_variants.ipynb``.
    """
    sr, n_fft, f_min, _ = _check_fb_args(sr, n_fft, f_min, None)
    if f_min <= 0:
        raise ValueError("f_min must be > 0 for a log-frequency axis")
    B = check_positive(bins_per_octave, "bins_per_octave", integer=True)
    if n_bins is None:
        n_bins = int(np.floor(B * np.log2((sr / 2) / f_min))) - 1
    n_bins = check_positive(n_bins, "n_bins", integer=True)
    centres = f_min * 2.0 ** (np.arange(-1, n_bins + 1) / B)
    if centres[-1] > sr / 2 + 1e-9:
        raise ValueError(f"{n_bins} bins from {f_min} Hz at {B}/octave go past the Nyquist frequency {sr / 2} Hz")
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    df = sr / n_fft
    c = centres[1:-1]
    lo = np.minimum(centres[:-2], c - df)
    hi = np.maximum(centres[2:], c + df)
    T = np.maximum(0.0, np.minimum((freqs[None] - lo[:, None]) / (c - lo)[:, None],
                                   (hi[:, None] - freqs[None]) / (hi - c)[:, None]))
    T /= T.sum(axis=1, keepdims=True)
    return torch.from_numpy(T).float(), c


def apply_filterbank(T, S) -> torch.Tensor:
    """``T X_spec``: apply a ``(n_out, n_freqs)`` map to a power spectrogram ``(..., n_freqs, n_frames)``.

    Book: ``book/03_linear_variants.ipynb``.
    """
    T, S = torch.as_tensor(T), torch.as_tensor(S)
    if T.ndim != 2:
        raise ValueError(f"T must be a 2-D matrix (n_out, n_freqs), got shape {tuple(T.shape)}")
    if S.ndim < 2 or S.shape[-2] != T.shape[1]:
        raise ValueError(f"S must be (..., {T.shape[1]}, n_frames) to match T {tuple(T.shape)}, got {tuple(S.shape)}")
    return torch.einsum("fk,...km->...fm", T.to(S.dtype), S)


def autocorrelation_matrix(*, n_fft: int, max_lag: int) -> torch.Tensor:
    """The linear map from a one-sided power spectrum ``|X[k]|^2`` (``k = 0 .. n_fft // 2``) to the circular
    autocorrelation ``r[l]``, ``l = 0 .. max_lag`` (Wiener-Khinchin: ``r`` is the inverse DFT of ``|X|^2``):
    ``r[l] = (1 / N) sum_k c_k |X[k]|^2 cos(2 pi k l / N)``, ``c_k = 1`` at DC and Nyquist, 2 elsewhere.

    With frames zero-padded to ``n_fft >= 2 * frame_length`` the circular autocorrelation equals the linear one.

    Returns
    -------
    torch.Tensor [shape=(max_lag + 1, n_fft // 2 + 1)], float64

    Book: ``book/03_linear_variants.ipynb``.
    """
    n_fft = check_positive(n_fft, "n_fft", integer=True)
    max_lag = check_positive(max_lag, "max_lag", integer=True, allow_zero=True)
    if max_lag >= n_fft:
        raise ValueError(f"max_lag ({max_lag}) must be < n_fft ({n_fft})")
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    l = torch.arange(max_lag + 1, dtype=torch.float64)  # noqa: E741
    ck = torch.full_like(k, 2.0)
    ck[0] = 1.0
    if n_fft % 2 == 0:
        ck[-1] = 1.0
    return ck[None, :] * torch.cos(2 * torch.pi * torch.remainder(torch.outer(l, k), n_fft) / n_fft) / n_fft


def correlogram(y, *, sr: int, win_length: int = 2048, hop_length: int = 800, max_lag: int = 1000,
                window: str = "hann", normalize: bool = True) -> torch.Tensor:
    """Stacked short-time autocorrelation (correlogram / rhythmogram): column ``m`` is the autocorrelation of the
    windowed frame centred on sample ``m * hop_length``, lags ``0 .. max_lag`` samples.

    Computed as the paper's variants are: a power spectrogram with ``n_fft = 2 * win_length`` (zero padding, so no
    circular wrap-around), then the linear map :func:`autocorrelation_matrix`. With ``normalize`` each column is
    divided by its lag-0 value (silent frames stay 0).

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio; stereo is averaged to mono.
    sr : int
        Sample rate in Hz (validated; lags are in samples, ``lag / sr`` seconds).
    win_length, hop_length, max_lag : int
        Frame length, step and largest lag in samples; ``max_lag < win_length``.
    window : str
        Analysis window (:func:`get_window`).
    normalize : bool

    Returns
    -------
    torch.Tensor [shape=(max_lag + 1, 1 + n // hop_length)], float32

    Book: ``book/03_linear_variants.ipynb``.
    """
    check_sr(sr)
    win_length = check_positive(win_length, "win_length", integer=True)
    max_lag = check_positive(max_lag, "max_lag", integer=True)
    if max_lag >= win_length:
        raise ValueError(f"max_lag ({max_lag}) must be < win_length ({win_length})")
    x = to_mono(as_audio(y))
    n_fft = 2 * win_length
    P = stft(x, n_fft=n_fft, win_length=win_length, hop_length=hop_length, window=window).abs().square()
    R = autocorrelation_matrix(n_fft=n_fft, max_lag=max_lag).float() @ P
    if normalize:
        R = R / torch.clamp(R[:1], min=1e-12)
    return R


def fit_linear_map(X, Y, *, steps: int = 2000, lr: float = 0.1, seed: int = 0, progress: bool = False):
    """Learn ``T`` with ``Y ~ T X`` by gradient descent: a bias-free ``nn.Linear`` trained with Adam on the MSE.

    This is the paper's claim in code: one linear layer can learn a spectrogram variant from pairs
    ``(X_spec, T X_spec)``.

    Parameters
    ----------
    X : array-like [shape=(n_in, n_frames)]
        Inputs, one frame per column (e.g. power spectra).
    Y : array-like [shape=(n_out, n_frames)]
        Targets, one frame per column.
    steps : int
        Full-batch Adam steps; the learning rate decays by cosine annealing to 0.
    lr : float
        Initial learning rate.
    seed : int
        Seed of the layer's initialisation.
    progress : bool
        Show a ``tqdm`` bar.

    Returns
    -------
    W : torch.Tensor [shape=(n_out, n_in)], float32
        The learned matrix.
    losses : np.ndarray [shape=(steps,)]
        MSE at each step.

    Book: ``book/03_linear_variants.ipynb``.
    """
    from tqdm.auto import tqdm

    X, Y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(Y, dtype=torch.float32)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X (n_in, n_frames) and Y (n_out, n_frames) must share n_frames, got {tuple(X.shape)} "
                         f"and {tuple(Y.shape)}")
    if not (torch.isfinite(X).all() and torch.isfinite(Y).all()):
        raise ValueError("X and Y must be finite")
    steps = check_positive(steps, "steps", integer=True)
    g = torch.Generator().manual_seed(seed)
    layer = nn.Linear(X.shape[0], Y.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.uniform_(-1.0 / X.shape[0] ** 0.5, 1.0 / X.shape[0] ** 0.5, generator=g)
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    xs, ys = X.T.contiguous(), Y.T.contiguous()
    losses = np.empty(steps)
    for i in tqdm(range(steps), disable=not progress, desc="fit T"):
        opt.zero_grad()
        loss = torch.mean((layer(xs) - ys) ** 2)
        loss.backward()
        opt.step()
        sched.step()
        losses[i] = loss.item()
    return layer.weight.detach().clone(), losses
