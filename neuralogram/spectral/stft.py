"""The STFT built from the DFT, and the paper's 129 x 200 linear spectrogram (chapter 2).

Book: ``book/02_stft.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..audio import PAPER_SR, as_audio, check_positive, check_sr, to_model_rate

__all__ = ["linear_spectrogram", "LinearSpectrogram", "PAPER_SR", "PAPER_N_FFT",
           "PAPER_WIN_LENGTH", "PAPER_HOP_LENGTH"]

#: The paper's input: 8 kHz audio (:data:`neuralogram.audio.PAPER_SR`), a 30 ms window (240 samples), 10 ms hop
#: (80 samples), 129 bins. The Hann shape and the 256-point FFT (the window zero-padded) are the book's choices for
#: what the paper leaves unsaid (chapter 2).
PAPER_N_FFT = 256
PAPER_WIN_LENGTH = 240
PAPER_HOP_LENGTH = 80
#: Floor added to the power spectrogram before the logarithm (about -60 dB re. 1).
LOG_FLOOR = 1e-6


class LinearSpectrogram(nn.Module):
    """The network's input: a log-power linear spectrogram with the paper's rate, window, hop and 129 bins, as a
    torchaudio-style ``nn.Module`` (the Hann window, zero-padded FFT and log floor are the book's choices).

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

    def frames(self, x: torch.Tensor, f0: int, f1: int) -> torch.Tensor:
        """Frames ``f0 .. f1-1`` of the spectrogram of the whole 1-D signal ``x``, shape (n_fft // 2 + 1, f1 - f0).

        Frame ``m`` is centred on sample ``m * hop_length`` with zeros outside the signal, as in :meth:`forward`,
        so a long signal can be transformed chunk by chunk (the fast neuralogram, the overview of an hour).
        """
        hop, half = self.hop_length, self.n_fft // 2
        a, b = f0 * hop - half, (f1 - 1) * hop + half  # frame m uses samples [m hop - n_fft/2, m hop + n_fft/2)
        n = x.numel()
        lo, hi = max(a, 0), min(b, n)
        if lo == a and hi == b:
            seg = x[a:b]
        else:
            seg = torch.zeros(b - a, dtype=x.dtype, device=x.device)
            if hi > lo:
                seg[lo - a:hi - a] = x[lo:hi]
        X = torch.stft(seg, n_fft=self.n_fft, hop_length=hop, win_length=self.win_length,
                       window=self.window.to(seg.device), center=False, return_complex=True)
        return torch.log(X.abs().square() + self.log_floor)[:, :f1 - f0]


def linear_spectrogram(y, *, sr: int, target_sr: int = PAPER_SR, n_fft: int = PAPER_N_FFT,
                       win_length: int = PAPER_WIN_LENGTH, hop_length: int = PAPER_HOP_LENGTH) -> torch.Tensor:
    """The paper's input representation: log-power linear spectrogram of ``y`` resampled to 8 kHz.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio at ``sr`` Hz. Stereo is averaged to mono.
    sr : int
        Sample rate of ``y`` in Hz; ``y`` is resampled to ``target_sr`` (anti-aliased) first.
    target_sr, n_fft, win_length, hop_length : int
        Analysis parameters; the defaults are the paper's rate, window length and hop (8 kHz, 30 ms, 10 ms) in the
        book's 256-point FFT of a Hann window.

    Returns
    -------
    torch.Tensor [shape=(n_fft // 2 + 1, n_target // hop_length)]
        ``log(|X|^2 + 1e-6)``; 129 x 200 for 2 s of audio with the defaults.

    Book: ``book/02_stft.ipynb``.
    """
    sr, target_sr = check_sr(sr), check_sr(target_sr)
    x = to_model_rate(y, sr=sr, target_sr=target_sr)  # the audio gate: validated, mono, resampled
    return LinearSpectrogram(n_fft=n_fft, win_length=win_length, hop_length=hop_length)(x)


# ---------------------------------------------------------------------------------------------------------------
# From scratch: the DFT as a matrix, windows, framing, the STFT (book/02_stft.ipynb)
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["dft_matrix", "dft", "get_window", "frame", "n_frames", "stft", "log_power",
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


def log_power(S, *, log_floor: float = LOG_FLOOR) -> torch.Tensor:
    """The book's magnitude compression: ``log(S + log_floor)`` of a power spectrogram ``S`` (natural log; the paper
    does not say how it compressed its spectrograms).

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
