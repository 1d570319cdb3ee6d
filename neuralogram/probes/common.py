"""Shared pieces of the probes: the probe signals with their known trajectories, model resolution, and the
sliding-window embedding (a neuralogram) computed through :func:`neuralogram.transform.neuralogram` when that
module is present.

Book: ``book/07_pitch.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validate import as_audio, check_positive, check_sr, to_mono
from ..model import NeuralogramNet

__all__ = ["resolve_model", "embed_windows", "down_up_chirp", "impulse_train_sweep", "spearman"]


def resolve_model(model, info=None):
    """Accept a model name, a checkpoint path, or a ``NeuralogramNet`` (with optional ``info``).

    Returns ``(model in eval mode, info or None)``.

    Book: ``book/07_pitch.ipynb``.
    """
    if isinstance(model, NeuralogramNet):
        return model.eval(), info
    if isinstance(model, str):
        from ..checkpoints import load_model

        return load_model(model)
    raise ValueError(f"model must be a NeuralogramNet or the name of a shipped model, got {type(model).__name__}")


def _check_layer(model: NeuralogramNet, layer):
    if layer is not None and layer not in model.conv_layer_names:
        raise ValueError(f"layer must be None (conv5_4, the embedding) or one of {model.conv_layer_names}, got {layer!r}")


@torch.no_grad()
def embed_windows(y, sr: int, model: NeuralogramNet, *, window: float = 2.0, hop: float = 0.5, layer=None,
                  batch_size: int = 32, progress: bool = False):
    """The neuralogram of ``y``: embeddings of ``window``-second windows every ``hop`` seconds.

    Windows start at ``k * hop`` for every ``k`` whose window fits in the signal; each window's spectrogram is
    computed on its own (exact mode), then embedded with ``model.embed(spec, layer)``.

    Returns
    -------
    N : np.ndarray [shape=(E, n_windows)], float32
    centres : np.ndarray [shape=(n_windows,)]
        Centre of each window in seconds.

    Book: ``book/07_pitch.ipynb`` (equal, window for window, to ``neuralogram.neuralogram`` of chapter 6).
    """
    from tqdm.auto import tqdm

    from ..spectral import LinearSpectrogram, resample

    sr = check_sr(sr)
    window = check_positive(window, "window")
    hop = check_positive(hop, "hop")
    _check_layer(model, layer)
    x = to_mono(as_audio(y))
    if sr != model.config.sr:
        x = resample(x, orig_sr=sr, target_sr=model.config.sr)
    sr = model.config.sr
    n_win, n_hop = int(round(window * sr)), int(round(hop * sr))
    if n_hop < 1:
        raise ValueError(f"hop={hop} s is shorter than one sample")
    if x.numel() < n_win:
        raise ValueError(f"signal of {x.numel() / sr:.3f} s is shorter than the window ({window} s)")
    starts = np.arange(0, x.numel() - n_win + 1, n_hop)
    spec = LinearSpectrogram(hop_length=model.config.hop_length)
    model.eval()
    out = []
    for b in tqdm(range(0, len(starts), batch_size), disable=not progress, desc="windows", leave=False):
        seg = torch.stack([x[s:s + n_win] for s in starts[b:b + batch_size]])
        out.append(model.embed(spec(seg).unsqueeze(1), layer).numpy())
    N = np.concatenate(out, 0).T.astype(np.float32)
    return N, (starts + n_win / 2) / sr


def down_up_chirp(*, duration: float = 120.0, f_high: float = 4000.0, f_low: float = 1.0, sr: int = 8000,
                  amplitude: float = 0.5):
    """A linear chirp ``f_high -> f_low`` over the first half and back ``f_low -> f_high`` over the second.

    The instantaneous frequency is piecewise linear, and the phase is its exact integral (no clicks at the
    turning point): :math:`\\phi(t) = 2\\pi \\int_0^t f(\\tau)\\,d\\tau`.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),)], float32
    f : callable
        ``f(t)``, the instantaneous frequency in Hz at times ``t`` (seconds).

    Book: ``book/07_pitch.ipynb``.
    """
    try:  # the package's signal module (Part I), when present, is the one source of the probe signals
        from .. import signals as _sig

        y = _sig.down_up_chirp(f_high=f_high, f_low=f_low, duration=duration, sr=sr, amplitude=amplitude)
        return y, (lambda t: _sig.down_up_frequency(t, f_high=f_high, f_low=f_low, duration=duration))
    except ImportError:  # pragma: no cover - fallback with the same definition
        pass
    duration = check_positive(duration, "duration")
    sr = check_sr(sr)
    f_high, f_low = check_positive(f_high, "f_high"), check_positive(f_low, "f_low")
    if f_low >= f_high:
        raise ValueError(f"f_low ({f_low}) must be below f_high ({f_high})")
    if f_high > sr / 2:
        raise ValueError(f"f_high ({f_high} Hz) is above the Nyquist frequency {sr / 2} Hz")
    half = duration / 2

    def f(t):
        t = np.asarray(t, dtype=np.float64)
        u = np.abs(t - half) / half  # 1 at both ends, 0 at the turning point
        return f_low + (f_high - f_low) * np.clip(u, 0, 1)

    t = np.arange(int(round(duration * sr))) / sr
    # integral of f: f_low t + (f_high - f_low) * integral of |t - half| / half
    g = lambda s: (s - half) * np.abs(s - half) / (2 * half)  # noqa: E731  (antiderivative of |s - half|/half)
    phase = 2 * np.pi * (f_low * t + (f_high - f_low) * (g(t) - g(0.0)))
    return (amplitude * np.sin(phase)).astype(np.float32), f


def impulse_train_sweep(*, duration: float = 300.0, period_start: float = 0.1, period_end: float = 0.001,
                        sr: int = 8000, amplitude: float = 1.0):
    """Unit impulses whose period moves linearly in time from ``period_start`` to ``period_end`` seconds.

    Impulse ``k + 1`` follows impulse ``k`` after the period at the time of impulse ``k``:
    ``t[k+1] = t[k] + P(t[k])``, ``P(t) = P0 + (P1 - P0) t / duration``; each impulse is one sample (rounded to
    the nearest sample).

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),)], float32
    rate : callable
        ``rate(t) = 1 / P(t)``, the impulse rate in Hz at times ``t``.

    Book: ``book/09_rhythm.ipynb``.
    """
    try:  # the package's signal module (Part I), when present, is the one source of the probe signals
        from .. import signals as _sig

        y = _sig.impulse_train_sweep(period_start=period_start, period_end=period_end, duration=duration, sr=sr,
                                     amplitude=amplitude)
        return y, (lambda t: 1.0 / _sig.sweep_period(t, period_start=period_start, period_end=period_end,
                                                     duration=duration))
    except ImportError:  # pragma: no cover - fallback with the same definition
        pass
    duration = check_positive(duration, "duration")
    sr = check_sr(sr)
    p0, p1 = check_positive(period_start, "period_start"), check_positive(period_end, "period_end")
    if min(p0, p1) < 1.0 / sr:
        raise ValueError(f"periods must be at least one sample ({1e3 / sr:.3f} ms), got {p0} and {p1}")

    def period(t):
        return p0 + (p1 - p0) * np.clip(np.asarray(t, np.float64) / duration, 0, 1)

    # t[k+1] = t[k] + P(t[k]) is a geometric recursion in closed form: with a = (p1 - p0) / duration,
    # t + p0/a grows by the factor (1 + a) each step.
    a = (p1 - p0) / duration
    if abs(a) < 1e-15:
        times = np.arange(0.0, duration, p0)
    else:
        c = p0 / a
        k_max = int(np.ceil(np.log((duration + c) / c) / np.log1p(a))) + 2 if (duration + c) / c > 0 else 0
        times = (0.0 + c) * (1 + a) ** np.arange(max(k_max, 1)) - c
        times = times[(times >= 0) & (times < duration)]
    n = int(round(duration * sr))
    y = np.zeros(n, np.float32)
    idx = np.clip(np.round(times * sr).astype(np.int64), 0, n - 1)
    y[idx] = amplitude
    return y, (lambda t: 1.0 / period(t))


def spearman(a, b) -> float:
    """Spearman rank correlation of two 1-D arrays (NaN when fewer than 3 points or a constant input).

    Book: ``book/07_pitch.ipynb``.
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
