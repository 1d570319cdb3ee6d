"""Shared pieces of the probes: the sliding-window embedding of a probe signal, and a rank correlation.

Book: ``book/07_pitch.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..audio import as_audio, check_positive, check_sr, resample, to_mono
from ..model import NeuralogramNet

__all__ = ["embed_windows", "spearman"]


def _check_layer(model: NeuralogramNet, layer):
    if layer is not None and layer not in model.conv_layer_names:
        raise ValueError(f"layer must be None (conv5_4, the embedding) or one of {model.conv_layer_names}, got {layer!r}")


@torch.no_grad()
def embed_windows(y, model: NeuralogramNet, *, sr: int, window: float = 2.0, hop: float = 0.5, layer=None,
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

    from ..spectral import LinearSpectrogram

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


def spearman(a, b) -> float:
    """Spearman rank correlation of two 1-D arrays (NaN when fewer than 3 points or a constant input).

    Book: ``book/07_pitch.ipynb``.
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
