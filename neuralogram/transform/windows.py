"""The windows of the neuralogram transform: where each window starts, its centre, and the checks of a window and
a hop against the network (the conventions are set out in :mod:`neuralogram.transform`).

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import numpy as np

from ..audio import PAPER_SR, check_positive
from ..nets import EmbeddingNet

__all__ = ["window_starts", "window_times", "check_layer", "MIN_WINDOW_FRAMES", "CONV5_STRIDE"]

#: The VGG's time downsampling at conv5 (four 2x2 pools): one feature column per 16 spectrogram frames
#: (``NeuralogramNet.time_stride``; every network declares its own).
CONV5_STRIDE = 16
#: The shortest window the VGG accepts, in spectrogram frames (one conv5 time step = 160 ms).
MIN_WINDOW_FRAMES = 16


# ---------------------------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------------------------
def _check_model(model):
    if not isinstance(model, EmbeddingNet):
        raise ValueError(f"model must be an embedding network (a NeuralogramNet or a MobileNetAudioSet, see "
                         f"neuralogram.load_model), got {type(model).__name__}")
    model.check_frontend()
    return model


def check_layer(model, layer) -> str:
    """The layer whose globally pooled feature map is the embedding: ``None`` means the network's embedding layer
    (``conv5_4`` for the VGG, ``features.16`` for mn04); see :meth:`neuralogram.nets.EmbeddingNet.check_layer`.

    Book: ``book/06_neuralogram.ipynb``.
    """
    return _check_model(model).check_layer(layer)


def _check_window(window, model) -> float:
    window = check_positive(window, "window (s)")
    longest = model.max_window_seconds
    if longest is not None and window > longest + 1e-9:
        raise ValueError(f"window={window} s is longer than the model's context ({longest:g} s, the length it was "
                         f"trained on); use window <= {longest:g}")
    shortest = model.min_window_seconds
    if window < shortest - 1e-9:
        raise ValueError(f"window={window} s is shorter than {shortest:g} s, the shortest input this network takes")
    return window


def _check_window_hop(window, hop, model):
    window = _check_window(window, model)
    hop = check_positive(hop, "hop (s)")
    if round(hop * model.sr) < 1:
        raise ValueError(f"hop={hop} s is shorter than one sample at {model.sr} Hz")
    return window, hop


def window_starts(n_samples: int, *, sr: int = PAPER_SR, window: float = 2.0, hop: float = 0.5,
                  pad_end: bool = False) -> np.ndarray:
    """First sample of every window (in samples at ``sr``), following the module's conventions.

    Parameters
    ----------
    n_samples : int
        Length of the signal at ``sr``.
    sr : int
        The model's rate (8000).
    window, hop : float
        Seconds.
    pad_end : bool
        Add a last, zero-padded window when the full windows leave the end of the signal uncovered.

    Returns
    -------
    np.ndarray [shape=(T,)], int64
        ``k * H`` for ``k = 0 .. T-1``; a signal shorter than the window gives one negative start
        ``-((W - n) // 2)``: the signal is centred in a zero-padded window.

    Book: ``book/06_neuralogram.ipynb``.
    """
    n = check_positive(n_samples, "n_samples", integer=True)
    W, H = int(round(window * sr)), int(round(hop * sr))
    if W < 1 or H < 1:
        raise ValueError(f"window ({window} s) and hop ({hop} s) must each be at least one sample at {sr} Hz")
    if n < W:
        return np.array([-((W - n) // 2)], dtype=np.int64)
    T = (n - W) // H + 1
    if pad_end and (T - 1) * H + W < n:
        T += 1
    return np.arange(T, dtype=np.int64) * H


def window_times(duration: float, *, window: float = 2.0, hop: float = 0.5, pad_end: bool = False,
                 sr: int = PAPER_SR) -> np.ndarray:
    """Centres (s) of the neuralogram's windows on a signal of ``duration`` seconds: ``len()`` is ``T``.

    ``window_times(30.0)`` has 57 entries (1.0 .. 29.0 s); ``window_times(30.5)`` has 58. (The centres of STFT
    frames are :func:`neuralogram.spectral.frame_times`.)

    Book: ``book/06_neuralogram.ipynb``.
    """
    duration = check_positive(duration, "duration (s)")
    starts = window_starts(int(round(duration * sr)), sr=sr, window=window, hop=hop, pad_end=pad_end)
    return (starts + round(window * sr) / 2) / sr
