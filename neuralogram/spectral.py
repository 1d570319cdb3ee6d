"""Spectral transforms: the STFT built from the DFT, the paper's 129 x 200 linear spectrogram, and its variants.

Book: ``book/02_stft.ipynb`` (STFT, linear spectrogram) and ``book/03_linear_variants.ipynb`` (variants).
"""
from __future__ import annotations

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
