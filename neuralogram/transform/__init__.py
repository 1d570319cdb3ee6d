"""The Neuralogram transform: embeddings of sliding windows of arbitrarily long audio, stacked over time.

Where the STFT projects each windowed frame onto sinusoids,

.. math::  X(m, \\omega) = \\sum_n x[n]\\, w[n - mH]\\, e^{-j\\omega n},

the neuralogram projects each windowed *context* onto the embedding space of a trained network :math:`\\mathcal{E}`,

.. math::  N(k, j) = \\mathcal{E}_j\\big(\\mathrm{spec}(x[kH' + n]),\\ 0 \\le n < W\\big),

with a context window :math:`W` (2 s, the model's input), a hop :math:`H'` (0.5 s in the paper) and the embedding
index :math:`j = 1 .. E` in place of the frequency :math:`\\omega`.

Conventions (all in the model's rate, 8 kHz; ``W = round(window * sr)``, ``H = round(hop * sr)`` samples):

* **Windows.** Window ``k`` covers samples ``[kH, kH + W)``, ``k = 0 .. T-1`` with ``T = floor((n - W) / H) + 1``:
  only windows that lie inside the signal (on 30.0 s: ``(30 - 2) / 0.5 + 1 = 57`` frames). With ``pad_end=True``
  one more window may start past the last full one so that the end of the signal is covered,
  ``T = ceil((n - W) / H) + 1``, and its missing samples are zeros.
* **Times.** ``times[k]`` is the window's centre, ``(kH + W / 2) / sr`` seconds (1.0, 1.5, ... for the defaults).
* **Short signals.** A signal shorter than the window gives one frame: it is zero-padded on both sides to ``W``
  (centred in the window) and its time is the centre of the padded window, about ``n / (2 sr)``.
* **Short windows.** ``window`` may be shorter than the model's 2 s context (down to 16 spectrogram frames,
  0.16 s: one time step of conv5): the window's own, shorter spectrogram is fed to the fully convolutional trunk,
  whose global average pool does not care about the length; no silence is invented. Longer windows are refused.
* **Input.** Any sample rate (resampled to 8 kHz with torchaudio's anti-aliased windowed sinc, in chunks, so
  the result equals resampling the whole signal at once); stereo ``(channels, n)`` is averaged to mono.
* **Memory.** Only the 8 kHz mono signal is held (115 MB per hour); spectrograms and feature maps are made per
  batch of windows (exact) or per 40 s chunk (fast), so an hour runs in bounded memory.

Modes: ``"exact"`` (default) computes each window's spectrogram and runs the network on it, exactly the paper's
definition; ``"fast"`` runs the trunk once over the spectrogram of the whole signal (in overlapping chunks whose
margins exceed the receptive field, so chunking changes nothing) and averages the feature map over each window's
frames. The two differ at the window edges (zero padding inside each window versus the real neighbours); the
chapter and ``benchmarks/transform.py`` measure the difference and the speed-up.

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

from .embedding import (AUTO_BATCHES, _CHOSEN, _FAST_CHUNK, _as_8k, _batch_key, _check_args, _check_batch,
                        _eval_on, _exact, _fast, _segments, chosen_batch_sizes, embed_segments, fast_vs_exact,
                        neuralogram, neuralogram_8k, spectrogram_overview)
from .permutation import _check_N, _check_perm, apply_permutation, load_permutation, save_permutation, sort_indices
from .windows import (CONV5_STRIDE, MIN_WINDOW_FRAMES, _check_model, _check_window, _check_window_hop, check_layer,
                      window_starts, window_times)

__all__ = ["neuralogram", "neuralogram_8k", "embed_segments", "window_starts", "window_times", "sort_indices",
           "apply_permutation", "save_permutation", "load_permutation", "fast_vs_exact", "spectrogram_overview",
           "MIN_WINDOW_FRAMES", "CONV5_STRIDE"]
