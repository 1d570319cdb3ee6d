"""Widgets of Part I (signals, the STFT, spectrogram variants).

Book: ``book/01_signals.ipynb`` (:func:`signal_explorer`), ``book/02_stft.ipynb`` (:func:`stft_explorer`),
``book/03_linear_variants.ipynb`` (:func:`filterbank_explorer`).
"""
from __future__ import annotations

import numpy as np

from ..audio import PAPER_SR
from .live import live_figure, slider

__all__ = ["signal_explorer", "stft_explorer", "filterbank_explorer"]


def signal_explorer(*, sr: int = PAPER_SR):
    """Pick a probe signal of the paper, change its parameters, see its waveform and spectrogram, and hear it.

    Signals: sine, linear chirp (either way), the down-up chirp (f_high -> f_low -> f_high), an impulse train and
    its linear period sweep, white/pink/brown noise, all from :mod:`neuralogram.signals`.

    Book: ``book/01_signals.ipynb``.
    """
    import ipywidgets as W

    from .. import signals as sg
    from ..spectral import linear_spectrogram
    from .plotting import specshow, waveshow

    controls = {
        "kind": W.Dropdown(options=["sine", "chirp", "down-up chirp", "impulse train", "impulse sweep", "noise"],
                           value="chirp", description="signal"),
        "f1": slider("FloatSlider", 200.0, 1.0, sr / 2, 1.0, "f start / f (Hz)"),
        "f2": slider("FloatSlider", 3800.0, 1.0, sr / 2, 1.0, "f end (Hz)"),
        "period_ms": slider("FloatLogSlider", 100.0, 0, 2.3, 0.01, "period (ms)"),
        "duration": slider("FloatSlider", 4.0, 0.5, 20.0, 0.5, "duration (s)"),
        "color": W.Dropdown(options=["white", "pink", "brown"], value="pink", description="noise"),
    }

    def compute(kind, f1, f2, period_ms, duration, color):
        if kind == "sine":
            y = sg.sine(freq=f1, duration=duration, sr=sr)
        elif kind == "chirp":
            y = sg.linear_chirp(f_start=f1, f_end=f2, duration=duration, sr=sr)
        elif kind == "down-up chirp":
            y = sg.down_up_chirp(f_high=max(f1, f2), f_low=min(f1, f2), duration=duration, sr=sr)
        elif kind == "impulse train":
            y = sg.impulse_train(period=period_ms / 1e3, duration=duration, sr=sr, amplitude=0.8)
        elif kind == "impulse sweep":
            y = sg.impulse_train_sweep(period_start=period_ms / 1e3, period_end=0.001, duration=duration, sr=sr,
                                       amplitude=0.8)
        else:
            y = sg.noise(duration=duration, sr=sr, color=color, amplitude=0.1)
        return y, kind

    def draw(result, fig):
        y, kind = result
        ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
        waveshow(y, sr=sr, ax=ax1, title=kind)
        ax1.set_xlabel("")
        specshow(linear_spectrogram(y, sr=sr), sr=PAPER_SR, ax=ax2, colorbar=False)
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (r[0], sr), title="Probe signals",
                       figsize=(9, 5))


def stft_explorer(y=None, *, sr: int = PAPER_SR):
    """Window length, hop and FFT size sliders on a signal (default: a 2 s chirp 100 -> 3900 Hz plus two clicks):
    a long window sharpens frequency and blurs time, a short one the reverse.

    Book: ``book/02_stft.ipynb``.
    """
    import ipywidgets as W

    from .. import signals as sg
    from ..spectral import get_window, log_power, stft
    from .plotting import specshow

    if y is None:
        y = sg.linear_chirp(f_start=100, f_end=3900, duration=2.0, sr=sr, amplitude=0.4)
        y = y + sg.sine(freq=1000, duration=2.0, sr=sr, amplitude=0.2)
        y[[4000, 12000]] += 1.0  # two clicks: how sharp in time?
    y = np.asarray(y, dtype=np.float32)
    controls = {
        "win_length": slider("IntSlider", 240, 16, 2048, 8, "window (samples)"),
        "hop_length": slider("IntSlider", 80, 8, 512, 8, "hop (samples)"),
        "n_fft_exp": slider("IntSlider", 8, 4, 12, 1, "log2 n_fft"),
        "window": W.Dropdown(options=["hann", "hamming", "blackman", "rectangular"], value="hann",
                             description="window"),
    }

    def compute(win_length, hop_length, n_fft_exp, window):
        n_fft = 2 ** n_fft_exp
        if win_length > n_fft:
            raise ValueError(f"the window ({win_length}) must fit in the FFT (n_fft = {n_fft}); raise log2 n_fft")
        X = stft(y, n_fft=n_fft, win_length=win_length, hop_length=hop_length, window=window)
        return log_power(X.abs().square()), get_window(window, win_length), n_fft, win_length, hop_length

    def draw(result, fig):
        S, w, n_fft, win, hop = result
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 4]})
        ax1.plot(np.arange(win) / sr * 1e3, w.numpy())
        ax1.set_xlabel("ms")
        ax1.set_title(f"window: {1e3 * win / sr:.1f} ms")
        specshow(S, sr=sr, hop_length=hop, n_fft=n_fft, ax=ax2, vmin=float(S.max()) - 14,
                 title=f"{n_fft // 2 + 1} bins of {sr / n_fft:.1f} Hz, {S.shape[1]} frames every "
                       f"{1e3 * hop / sr:.1f} ms")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (y, sr), title="The time-frequency trade-off",
                       figsize=(10, 3.8))


def filterbank_explorer(y=None, *, sr: int = PAPER_SR):
    """Change the number of mel bands or log-frequency bins per octave and see ``T`` and ``T X_spec`` update.

    Book: ``book/03_linear_variants.ipynb``.
    """
    import ipywidgets as W

    from .. import signals as sg
    from ..spectral import (apply_filterbank, fft_frequencies, log_power, logfreq_filterbank, mel_filterbank,
                            power_spectrogram)
    from .plotting import matshow, specshow

    if y is None:
        y = sg.linear_chirp(f_start=60, f_end=3900, duration=3.0, sr=sr, amplitude=0.5)
    P = power_spectrogram(y)
    freqs = fft_frequencies(sr=sr, n_fft=256)
    controls = {
        "kind": W.Dropdown(options=["mel", "log-frequency"], value="mel", description="map"),
        "n": slider("IntSlider", 40, 4, 96, 1, "mel bands / bins per octave"),
    }

    def compute(kind, n):
        if kind == "mel":
            T, centres, y_axis = mel_filterbank(n_mels=n), None, "index"
        else:
            T, centres = logfreq_filterbank(bins_per_octave=max(1, min(n, 48)))
            y_axis = "log"
        return T, log_power(apply_filterbank(T, P)), centres, y_axis, kind

    def draw(result, fig):
        T, S, centres, y_axis, kind = result
        ax1, ax2 = fig.subplots(1, 2)
        matshow(T, ax=ax1, x_coords=freqs, xlabel="FFT bin frequency (Hz)", title=f"T ({kind}): {tuple(T.shape)}")
        specshow(S, sr=sr, hop_length=80, ax=ax2, y_axis=y_axis, y_coords=centres, title="log(T X_spec)")
        fig.tight_layout()

    return live_figure(controls, compute, draw, title="Spectrogram variants are matrices", figsize=(10, 3.6))
