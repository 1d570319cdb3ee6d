"""The representations of spoken words that the semantics probe compares (:data:`REPRESENTATIONS`): the
network's embedding of each word's window (:func:`embed_words`), MFCC statistics (:func:`mfcc_stats`, the package's
one MFCC recipe, :func:`mfcc_features`) and the ordered log-mel segments (:func:`logmel_features`).

Book: ``book/11_semantics.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..audio import PAPER_SR
from ..nets import EmbeddingNet
from ..transform import embed_segments

__all__ = ["REPRESENTATIONS", "window_batch", "embed_words", "mfcc_stats", "mfcc_features", "logmel_features"]

#: name -> one-line description of each representation the probe compares
REPRESENTATIONS = {
    "trained": "trained network, embedding (pooled conv5_4)",
    "random-init": "same network, random weights (batch norm re-estimated)",
    "mfcc": "20 MFCCs, mean + std over time (40 numbers)",
    "log-mel": "40-band log-mel, 10 x 0.1 s segments (400 numbers)",
}


# ---------------------------------------------------------------------------------------------------------------
# Representations
# ---------------------------------------------------------------------------------------------------------------
def _check_wordset(wordset, min_clips: int = 1):
    from ..data.speech_commands import WordSet

    if not isinstance(wordset, WordSet):
        raise ValueError(f"wordset must be a WordSet (speech_commands.synthetic_words or load_words), "
                         f"got {type(wordset).__name__}")
    if len(wordset) < min_clips:
        raise ValueError(f"wordset has {len(wordset)} clip(s); this needs at least {min_clips}")
    return wordset


def window_batch(wordset, *, window: float = 2.0, sr: int = PAPER_SR) -> torch.Tensor:
    """The network's input for every clip: resampled to ``sr`` and centred in ``window`` seconds of zeros.

    Returns
    -------
    torch.Tensor [shape=(n_clips, round(window * sr))], float32

    Book: ``book/11_semantics.ipynb``.
    """
    from ..data.speech_commands import place_in_window

    ws = _check_wordset(wordset)
    return torch.from_numpy(place_in_window(ws.audio, sr=ws.sr, window=window, target_sr=sr))


@torch.no_grad()
def embed_words(wordset, model: EmbeddingNet, *, layer=None, batch_size: int | None = None) -> np.ndarray:
    """The embedding of each word's 2 s window (the word centred, see :func:`window_batch`).

    The windows are laid end to end and embedded by :func:`neuralogram.transform.embed_segments` (one window per
    clip), so a word's features are the neuralogram column of its window.

    Returns
    -------
    np.ndarray [shape=(n_clips, E)], float32

    Book: ``book/11_semantics.ipynb``.
    """
    if not isinstance(model, EmbeddingNet):
        raise ValueError(f"model must be an embedding network (a NeuralogramNet or a MobileNetAudioSet), got "
                         f"{type(model).__name__}")
    x = window_batch(wordset, window=model.context_seconds, sr=model.sr)
    starts = np.arange(x.shape[0], dtype=np.int64) * x.shape[1]
    return embed_segments(x.reshape(-1), starts, model, layer=layer, batch_size=batch_size).T.copy()


def _log_mel_of(power, n_mels: int) -> np.ndarray:
    """``log(T_mel |X|^2 + 1e-6)`` of power spectrograms (..., 129, frames), in the power's dtype."""
    from ..spectral import mel_filterbank

    power = torch.as_tensor(power)
    mel = torch.einsum("fk,...kt->...ft", mel_filterbank(n_mels=n_mels).to(power.dtype), power)
    return torch.log(mel + 1e-6).numpy()


def _log_mel(wordset, n_mels: int):
    """(n, n_mels, 200) log-mel spectrogram of the 2 s windows (same STFT as the network's input)."""
    from ..spectral import LinearSpectrogram

    power = torch.exp(LinearSpectrogram()(window_batch(wordset)))   # the network's input, back to power
    return _log_mel_of(power, n_mels)


def mfcc_stats(power, *, n_mfcc: int = 20, n_mels: int = 40) -> np.ndarray:
    """MFCCs of power spectrograms, mean and standard deviation over their frames (a bag of frames).

    ``MFCC = DCT-II (orthonormal) of log(T_mel |X|^2 + 1e-6)``, the first ``n_mfcc`` coefficients per frame, with
    ``neuralogram.spectral.mel_filterbank``: the package's one MFCC recipe (:func:`mfcc_features` of 2 s word
    windows, ``probes.real_world.mfcc_baseline`` of whole clips of any length).

    Parameters
    ----------
    power : torch.Tensor or np.ndarray [shape=(..., 129, n_frames)]
        Power spectrogram(s) of the network's STFT (8 kHz, 30 ms Hann, 10 ms hop, 256-point FFT):
        ``exp(neuralogram.spectral.linear_spectrogram(y, sr=sr))``. Computed in its dtype.
    n_mfcc, n_mels : int
        Coefficients kept; mel bands.

    Returns
    -------
    np.ndarray [shape=(..., 2 * n_mfcc)], float32
        The means of the coefficients, then their standard deviations.

    Book: ``book/11_semantics.ipynb`` and ``book/14_real_world.ipynb``.
    """
    from scipy.fft import dct

    if not 1 <= int(n_mfcc) <= int(n_mels):
        raise ValueError(f"n_mfcc must be between 1 and n_mels ({n_mels}), got {n_mfcc}")
    c = dct(_log_mel_of(power, n_mels), type=2, norm="ortho", axis=-2)[..., :n_mfcc, :]
    return np.concatenate([c.mean(-1), c.std(-1)], -1).astype(np.float32)


def mfcc_features(wordset, *, n_mfcc: int = 20, n_mels: int = 40) -> np.ndarray:
    """MFCCs of each 2 s window, mean and standard deviation over the 200 frames (a bag of frames).

    :func:`mfcc_stats` of the windows' power spectrograms, computed with the network's own STFT (8 kHz, 30 ms
    Hann, 10 ms hop).

    Returns
    -------
    np.ndarray [shape=(n_clips, 2 * n_mfcc)], float32

    Book: ``book/11_semantics.ipynb``.
    """
    from ..spectral import LinearSpectrogram

    if not 1 <= int(n_mfcc) <= int(n_mels):
        raise ValueError(f"n_mfcc must be between 1 and n_mels ({n_mels}), got {n_mfcc}")
    return mfcc_stats(torch.exp(LinearSpectrogram()(window_batch(wordset))), n_mfcc=n_mfcc, n_mels=n_mels)


def logmel_features(wordset, *, n_mels: int = 40, n_segments: int = 10, seconds: float = 1.0) -> np.ndarray:
    """The log-mel spectrogram of the central ``seconds`` of each window, averaged in ``n_segments`` time segments.

    Unlike :func:`mfcc_features` (and the network's global pooling) this keeps the order of the sounds.

    Returns
    -------
    np.ndarray [shape=(n_clips, n_mels * n_segments)], float32

    Book: ``book/11_semantics.ipynb``.
    """
    L = _log_mel(wordset, n_mels)
    n_frames = int(round(seconds * 100))
    if not 1 <= n_segments <= n_frames <= L.shape[2]:
        raise ValueError(f"need 1 <= n_segments ({n_segments}) <= frames in {seconds} s ({n_frames}) <= 200")
    a = (L.shape[2] - n_frames) // 2
    segs = np.array_split(L[:, :, a:a + n_frames], n_segments, axis=2)
    return np.stack([s.mean(2) for s in segs], 2).reshape(len(L), -1).astype(np.float32)
