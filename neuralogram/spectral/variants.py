"""Spectrogram variants as linear maps ``T`` of the power spectrogram: mel, chroma, log-frequency, the
correlogram, and a linear layer that learns ``T`` from examples (chapter 3).

Book: ``book/03_linear_variants.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..audio import PAPER_SR, as_audio, check_positive, check_sr, to_mono
from .stft import PAPER_N_FFT, PAPER_HOP_LENGTH, PAPER_WIN_LENGTH, fft_frequencies, stft

__all__ = ["power_spectrogram", "hz_to_mel", "mel_to_hz", "mel_filterbank", "chroma_filterbank",
           "logfreq_filterbank", "apply_filterbank", "autocorrelation_matrix", "correlogram", "fit_linear_map"]


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
