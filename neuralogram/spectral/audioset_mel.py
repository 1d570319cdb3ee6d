"""The front end of the AudioSet network mn04 (EfficientAT): pre-emphasis, STFT, Kaldi mel bank, log, fixed scaling.

Every step is a fact of the implementation the weights were trained with (F. Schmid et al., ICASSP 2023), so that
:class:`neuralogram.mobilenet.MobileNetAudioSet` sees exactly the input it learned on:

1. pre-emphasis ``p[n] = y[n+1] - 0.97 y[n]``: a *valid* convolution with the kernel ``[-0.97, 1]``, one sample
   shorter than ``y`` (a first-order high-pass that tilts the spectrum up by about 6 dB per octave);
2. ``torch.stft`` with ``n_fft=1024``, a symmetric (``periodic=False``) Hann window of 800 samples (25 ms at 32 kHz)
   zero-padded to 1024, hop 320 (10 ms), ``center=True`` (reflect padding by 512): frame ``m`` is centred on
   sample ``m * 320`` of ``p``, and ``n`` samples give ``1 + (n - 1) // 320`` frames (5 s: 500, 10 s: 1000);
3. power ``re^2 + im^2`` of the 513 bins;
4. 128 triangular mel filters from 0 to 15 kHz, as Kaldi builds them
   (``torchaudio.compliance.kaldi.get_mel_banks``: triangles on the mel scale over 512 bins, no area
   normalisation), with a zero column added for the Nyquist bin;
5. ``log(mel + 1e-5)``, then ``(x + 4.5) / 5`` (a fixed normalisation to roughly zero mean, unit spread).

Book: ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["AudioSetMel"]


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


class AudioSetMel(nn.Module):
    """Log-mel front end of the EfficientAT AudioSet networks, as a torchaudio-style ``nn.Module``.

    Parameters
    ----------
    sr : int
        Sample rate of the input in Hz (32000).
    n_fft : int
        FFT size in samples (1024: 513 bins, 31.25 Hz apart).
    win_length : int
        Hann window length in samples (800 = 25 ms), zero-padded to ``n_fft``.
    hop_length : int
        Frame hop in samples (320 = 10 ms).
    n_mels : int
        Mel bands (128).
    f_min, f_max : float
        Edges of the mel bank in Hz (0 and 15000).
    preemphasis : float
        Pre-emphasis coefficient (0.97).

    Input ``(batch, n)`` or ``(n,)`` samples at ``sr``; output ``(batch, 1, n_mels, 1 + (n - 1) // hop_length)``
    (a 1-D input is a batch of one), the network's input.

    Examples
    --------
    >>> mel = AudioSetMel()
    >>> mel(torch.zeros(2, 32000)).shape
    torch.Size([2, 1, 128, 100])

    Book: ``book/13_audioset_net.ipynb``.
    """

    def __init__(self, *, sr: int = 32000, n_fft: int = 1024, win_length: int = 800, hop_length: int = 320,
                 n_mels: int = 128, f_min: float = 0.0, f_max: float = 15000.0, preemphasis: float = 0.97):
        super().__init__()
        from torchaudio.compliance.kaldi import get_mel_banks

        self.sr = _positive_int(sr, "sr")
        self.n_fft = _positive_int(n_fft, "n_fft")
        self.win_length = _positive_int(win_length, "win_length")
        self.hop_length = _positive_int(hop_length, "hop_length")
        self.n_mels = _positive_int(n_mels, "n_mels")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({win_length}) must be <= n_fft ({n_fft})")
        if self.n_fft % 2:
            raise ValueError(f"n_fft must be even (Kaldi's mel bank covers n_fft / 2 bins), got {n_fft}")
        if not (0 <= f_min < f_max <= sr / 2):
            raise ValueError(f"need 0 <= f_min < f_max <= sr / 2 = {sr / 2:g} Hz, got f_min={f_min}, f_max={f_max}")
        if not 0 <= preemphasis < 1:
            raise ValueError(f"preemphasis must be in [0, 1), got {preemphasis!r}")
        self.f_min, self.f_max, self.preemphasis = float(f_min), float(f_max), float(preemphasis)
        self.register_buffer("window", torch.hann_window(self.win_length, periodic=False), persistent=False)
        out = get_mel_banks(self.n_mels, self.n_fft, float(self.sr), self.f_min, self.f_max,
                            100.0, -500.0, 1.0)   # vtln_low, vtln_high, vtln_warp_factor = 1 (no warping)
        bank = out[0] if isinstance(out, tuple) else out   # (n_mels, n_fft // 2); older torchaudio adds centres
        #: (n_mels, n_fft // 2 + 1) mel filters, zero on the Nyquist bin
        self.register_buffer("mel_fb", F.pad(bank.float(), (0, 1)), persistent=False)

    @property
    def min_samples(self) -> int:
        """The shortest input: the reflect padding of ``center=True`` needs more than ``n_fft // 2`` samples after
        pre-emphasis (514 at the defaults: 16 ms at 32 kHz)."""
        return self.n_fft // 2 + 2

    def extra_repr(self) -> str:
        return (f"sr={self.sr}, n_fft={self.n_fft}, win_length={self.win_length}, hop_length={self.hop_length}, "
                f"n_mels={self.n_mels}, f_min={self.f_min:g}, f_max={self.f_max:g}, preemphasis={self.preemphasis:g}")

    def _check(self, y) -> torch.Tensor:
        if isinstance(y, np.ndarray):
            y = torch.from_numpy(y)
        if not isinstance(y, torch.Tensor):
            raise ValueError(f"waveform must be a torch.Tensor or np.ndarray, got {type(y).__name__}")
        if not y.is_floating_point():
            raise ValueError(f"waveform must be floating point, got {y.dtype}")
        if y.ndim == 1:
            y = y[None]
        if y.ndim != 2:
            raise ValueError(f"waveform must have shape (batch, n) or (n,), got {tuple(y.shape)}")
        if y.shape[-1] < self.min_samples:
            raise ValueError(f"waveform has {y.shape[-1]} samples; the front end needs at least {self.min_samples} "
                             f"({self.min_samples / self.sr * 1000:g} ms at {self.sr} Hz)")
        if not torch.isfinite(y).all():
            raise ValueError("waveform contains NaN or Inf")
        return y

    def _preemphasis(self, y: torch.Tensor) -> torch.Tensor:
        """``y[n] - a y[n - 1]`` for n >= 1: the valid convolution with ``[-a, 1]``, one sample shorter (a difference
        of two views: a 2-tap ``conv1d`` costs as much as the STFT on a CPU)."""
        return y[..., 1:] - self.preemphasis * y[..., :-1]

    def _mel(self, power: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(self.mel_fb.to(power.dtype), power)
        return (torch.log(mel + 1e-5) + 4.5) / 5.0

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Network input ``(batch, 1, n_mels, frames)`` of waveforms ``(batch, n)`` or ``(n,)`` at :attr:`sr`."""
        y = self._check(y)
        p = self._preemphasis(y)
        X = torch.stft(p, self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                       window=self.window.to(y.dtype), center=True, pad_mode="reflect", normalized=False,
                       return_complex=True)
        power = X.real.square() + X.imag.square()
        return self._mel(power)[:, None]

    def frames(self, x: torch.Tensor, f0: int, f1: int) -> torch.Tensor:
        """Frames ``f0 .. f1-1`` of the whole 1-D signal ``x``, shape ``(n_mels, f1 - f0)``: the fast neuralogram's
        input, computed chunk by chunk.

        Frame ``m`` is centred on sample ``m * hop_length`` of the pre-emphasised signal (as in :meth:`forward`),
        which is taken as zero outside ``0 .. n - 2``; the STFT runs with ``center=False`` on the slice
        ``[f0 * hop - n_fft // 2, (f1 - 1) * hop + n_fft // 2)``. Frames whose support lies inside the signal equal
        :meth:`forward`'s to float rounding; the first and last two frames differ, because :meth:`forward` pads by
        reflection where this method pads with zeros (the convention of every ``spec_frames``).

        Parameters
        ----------
        x : torch.Tensor [shape=(n,)]
            The whole signal at :attr:`sr`.
        f0, f1 : int
            First and one-past-last frame; ``f0`` may be negative and ``f1`` beyond the end (zero frames).

        Returns
        -------
        torch.Tensor [shape=(n_mels, f1 - f0)]

        Book: ``book/13_audioset_net.ipynb``.
        """
        if not isinstance(x, torch.Tensor) or x.ndim != 1 or not x.is_floating_point():
            raise ValueError(f"x must be a 1-D floating-point torch.Tensor, got "
                             f"{getattr(x, 'shape', type(x).__name__)} {getattr(x, 'dtype', '')}")
        for name, v in (("f0", f0), ("f1", f1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name} must be an integer frame index, got {v!r}")
        f0, f1 = int(f0), int(f1)
        if f1 <= f0:
            raise ValueError(f"need f0 < f1, got f0={f0}, f1={f1}")
        hop, half = self.hop_length, self.n_fft // 2
        a, b = f0 * hop - half, (f1 - 1) * hop + half   # frame m covers p[m hop - n_fft/2, m hop + n_fft/2)
        n_p = x.numel() - 1                              # the pre-emphasised signal is one sample shorter
        seg = torch.zeros(b - a, dtype=x.dtype, device=x.device)
        lo, hi = max(a, 0), min(b, n_p)
        if hi > lo:
            seg[lo - a:hi - a] = self._preemphasis(x[lo:hi + 1])
        X = torch.stft(seg, self.n_fft, hop_length=hop, win_length=self.win_length,
                       window=self.window.to(device=x.device, dtype=x.dtype), center=False, return_complex=True)
        power = torch.view_as_real(X).square().sum(-1)
        return self._mel(power)[:, :f1 - f0]
