"""Tagging real recordings: the window logits of real clips, in the FSDD conditions or as recorded, cached.

Every number here is computed from the model's *tags*: the output probabilities of every window of a clip,
averaged over the clip's windows,

.. math::  \\bar p_c = \\frac{1}{K} \\sum_{k=1}^{K} \\sigma\\big(f(N[:, k]) / \\tau\\big)_c ,

where :math:`N` is the clip's neuralogram (:func:`neuralogram.neuralogram`, exact mode, :math:`K` windows),
:math:`f` the network's fully connected head, :math:`\\sigma` its output activation and :math:`\\tau` the
temperature of its card (1 when it has none): chapter 5's ``tag`` (the head applied to the neuralogram's
columns). There is no embedding loop here: every window goes through the package's one loop,
:func:`neuralogram.transform.embed_segments`, either inside :func:`neuralogram.neuralogram` (one clip) or directly
with the windows of many equally long clips in one call (the clips laid end to end, each with its own window
starts, as ``neuralogram.tagging.tag_set`` does).

The window logits come from the model's head (:func:`window_logits`), not from ``neuralogram.tagging.tag``, which
returns window-averaged probabilities: temperature scaling needs the logits of each window.

The conditions and the windows of each data set are described in :mod:`.real_world`, which measures with these
logits.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from ..cache import atomic_path, cache_dir, param_hash
from ..checkpoints import resolve_model
from ..transform import neuralogram

__all__ = ["CONDITIONS", "HOP", "VERSION", "model_rate_audio", "window_logits", "tag_probs", "condition_audio",
           "clip_logits", "model_temperature"]

#: The FSDD conditions (:mod:`.real_world`'s docstring says what each one tags).
CONDITIONS = ("as recorded", "in 2 s of silence", "floor -60 dB", "floor -30 dB")
#: Bump when a definition changes: cached logits are keyed by it.
VERSION = 2
#: Seconds between the 2 s windows of a clip longer than 2 s: windows at 0, 1.5 and 3 s cover a 5 s ESC-50 clip.
#: Chapter 13's transfer figures (:func:`.transfer.clip_outputs`) read clips every 1 s; on ESC-50's 133 held-out
#: clips the two readings differ by a few clips' answers (chapter 14 prints both).
HOP = 1.5
_CONTEXT = 2.0     # seconds: the models' window
_MIN_WINDOW = 0.16  # seconds: the transform's shortest window
_BATCH = 64         # windows per forward pass: 15-40 % less CPU than 16 on 2 cores, the same logits bit for bit


@torch.no_grad()
def window_logits(y, model, *, sr: int, window: float = 2.0, hop: float = 0.5) -> np.ndarray:
    """The logits of every window of ``y``: :func:`neuralogram.neuralogram`, then the model's head.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Audio at ``sr`` Hz.
    model : EmbeddingNet
    sr : int
        Sample rate in Hz (resampled to the model's 8 kHz by the transform).
    window, hop : float
        Seconds.

    Returns
    -------
    np.ndarray [shape=(n_windows, n_labels)], float32

    Book: ``book/14_real_world.ipynb``.
    """
    N, _ = neuralogram(y, model=model, sr=sr, window=window, hop=hop)
    return _head(model, N)


def _head(model, N):
    was = model.training
    model.eval()
    try:
        return model.head(torch.from_numpy(np.ascontiguousarray(N.T))).numpy().astype(np.float32)
    finally:
        model.train(was)


def tag_probs(logits, *, loss: str = "bce", temperature: float = 1.0) -> np.ndarray:
    """A clip's tags from its window logits: the output activation of ``logits / temperature``, averaged over
    the windows (``neuralogram.calibration.apply_temperature``; ``temperature=1`` is the network's own output).

    Parameters
    ----------
    logits : np.ndarray [shape=(n_windows, n_labels)] or a list of them (one per clip)
    loss : {"bce", "mse"}
        The model's ``config.loss`` (sigmoid or softmax outputs).
    temperature : float

    Returns
    -------
    np.ndarray [shape=(n_labels,)] or [shape=(n_clips, n_labels)], float64

    Book: ``book/14_real_world.ipynb``.
    """
    from ..calibration import apply_temperature

    if isinstance(logits, np.ndarray) and logits.ndim == 2:
        return apply_temperature(logits, temperature, loss=loss).mean(0)
    return np.stack([apply_temperature(z, temperature, loss=loss).mean(0) for z in logits])


@torch.no_grad()
def _batched_logits(signals, model, *, hop: float) -> list:
    """Window logits of many signals at the model's rate, each at least 2 s long: signals of one length are laid
    end to end and all their windows (:func:`neuralogram.transform.window_starts` of each, 2 s every ``hop``)
    embedded in one call of :func:`neuralogram.transform.embed_segments`, the package's embedding loop, that
    :func:`neuralogram.neuralogram` also uses; no window crosses from one signal into the next."""
    from ..transform import embed_segments, window_starts

    sr = model.sr
    W = int(round(_CONTEXT * sr))
    out = [None] * len(signals)
    by_len = {}
    for i, y in enumerate(signals):
        if len(y) < W:
            raise ValueError(f"internal: signal {i} is shorter than the 2 s window")
        by_len.setdefault(len(y), []).append(i)
    for n, rows in by_len.items():
        local = window_starts(n, sr=sr, window=_CONTEXT, hop=hop)
        for b in range(0, len(rows), 256):
            part = rows[b:b + 256]
            x = np.concatenate([np.asarray(signals[i], np.float32) for i in part])
            starts = (np.arange(len(part))[:, None] * n + local[None, :]).ravel()
            Z = _head(model, embed_segments(x, starts, model, batch_size=_BATCH))
            for k, i in enumerate(part):
                out[i] = Z[k * len(local):(k + 1) * len(local)]
    return out


def condition_audio(y: np.ndarray, *, sr: int, condition: str, name: str = "", seed: int = 0):
    """The excerpt a condition tags (:data:`CONDITIONS`, module docstring) and its window in seconds.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The recording at ``sr`` Hz.
    sr : int
    condition : str
        One of :data:`CONDITIONS`.
    name : str
        Seeds the noise (with ``seed``), so that every clip gets its own, reproducible noise.
    seed : int

    Returns
    -------
    x : np.ndarray [shape=(m,)], float32
    window : float
        Seconds.

    Book: ``book/14_real_world.ipynb``.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D signal, got shape {y.shape}")
    n = y.size
    if condition == "as recorded":
        return y, (_CONTEXT if n / sr >= _CONTEXT else max(_MIN_WINDOW, n / sr))
    W = max(int(round(_CONTEXT * sr)), n)
    x = np.zeros(W, np.float32)
    a = (W - n) // 2
    x[a:a + n] = y
    if condition.startswith("floor"):
        db = float(condition.split()[1])
        rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
        rng = np.random.default_rng([seed, int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)])
        x += (rms * 10 ** (db / 20) * rng.standard_normal(W)).astype(np.float32)
    return x, _CONTEXT


def model_rate_audio(clips, *, sr: int = 8000, progress: bool = False) -> list:
    """Real clips at the model's rate, through the book's 8 kHz band: a clip recorded at 8 kHz as it is (FSDD), any
    other read from the package's one cache of real clips at 8 kHz (:func:`neuralogram.data.mixed.real_at_8k`:
    resampled once with ``neuralogram.audio.resample`` and kept as 16-bit WAV, the files the mixed training corpus is
    made from); for a network at another rate (mn04: 32 kHz) the 8 kHz signal is then resampled to ``sr``.

    Resampling a 5 s ESC-50 clip from 44.1 kHz takes longer than tagging it, and every model, the baseline, the
    chapter and the training corpus need the same 8 kHz signals.

    Parameters
    ----------
    clips : sequence of RealClip
    sr : int
        The model's rate in Hz (8000, the rate of the cache, or any other).
    progress : bool

    Returns
    -------
    list of np.ndarray [shape=(n_i,)], float32

    Book: ``book/14_real_world.ipynb``.
    """
    import soundfile as sf
    from tqdm.auto import tqdm

    from ..audio import PAPER_SR
    from ..data.mixed import real_at_8k

    from ..audio import check_sr, resample

    sr = check_sr(sr)
    out = [c.load() if c.sr == PAPER_SR else sf.read(str(real_at_8k(c)), dtype="float32", always_2d=False)[0]
           for c in tqdm(list(clips), desc=f"to {PAPER_SR} Hz", disable=not progress, leave=False)]
    if sr != PAPER_SR:   # a network that hears another rate hears the book's band: 8 kHz, then its own rate
        out = [resample(y, orig_sr=PAPER_SR, target_sr=sr).numpy() for y in out]
    return out


def _compute_logits(clips, model, *, condition, seed, hop, progress):
    out = [None] * len(clips)
    long_ = []   # (row, signal of 2 s or more at the model's rate): batched
    sr = model.sr
    audio = model_rate_audio(clips, sr=sr, progress=progress)
    for i, (c, y) in enumerate(zip(clips, audio)):
        if condition is None:
            x, window = y, _CONTEXT
        else:
            x, window = condition_audio(y, sr=sr, condition=condition, name=c.name, seed=seed)
        if window == _CONTEXT and x.size >= int(round(_CONTEXT * sr)):
            long_.append((i, x))
        else:   # shorter than the context: one window of the clip's own length (or centred in 2 s, see above)
            out[i] = window_logits(x, model, sr=sr, window=window, hop=hop)
    for (i, _), z in zip(long_, _batched_logits([x for _, x in long_], model, hop=hop)):
        out[i] = z
    return out


def clip_logits(clips, model, info=None, *, condition: str | None = None, seed: int = 0, hop: float = HOP,
                cache: bool = True, progress: bool = False) -> list:
    """Window logits of real clips, in a condition (FSDD) or as they are (ESC-50: ``condition=None``).

    Cached per model, data set and condition *per clip*: a later call with more clips computes only the new ones
    (the chapter's subset and the benchmark's full set share their work).

    Parameters
    ----------
    clips : sequence of RealClip
    model : str, Path or EmbeddingNet
    info : dict, optional
        ``load_model``'s info (its ``hash`` keys the cache); needed with a model object when ``cache``.
    condition : str, optional
        One of :data:`CONDITIONS`; ``None`` tags each clip with 2 s windows every ``hop`` seconds (a clip shorter
        than 2 s is centred in one window).
    seed : int
        Seed of the noise conditions.
    hop : float
        Seconds between windows when a clip is longer than 2 s (default :data:`HOP`: three windows cover a 5 s
        ESC-50 clip).
    cache, progress : bool

    Returns
    -------
    list of np.ndarray [shape=(n_windows_i, n_labels)], float32
        One per clip, in the order of ``clips``.

    Book: ``book/14_real_world.ipynb``.
    """
    model, info = resolve_model(model, info)
    clips = list(clips)
    if not cache:
        return _compute_logits(clips, model, condition=condition, seed=seed, hop=hop, progress=progress)
    if not info or "hash" not in info:
        raise ValueError("cache=True needs the info of load_model (its 'hash'); pass info= or cache=False")
    dataset = {c.dataset for c in clips}
    params = dict(model=info["hash"], data=sorted(dataset), condition=condition, seed=seed, hop=hop, version=VERSION)
    path = cache_dir("probes") / f"real-{param_hash(params)}.npz"
    have = {}
    if path.is_file():
        with np.load(path) as z:   # each z[...] reads the whole array: read it once
            off, logits, names = z["offsets"], z["logits"], z["names"]
        have = {n: logits[off[k]:off[k + 1]] for k, n in enumerate(names)}
    todo = [c for c in clips if c.name not in have]
    if todo:
        for c, z in zip(todo, _compute_logits(todo, model, condition=condition, seed=seed, hop=hop,
                                              progress=progress)):
            have[c.name] = z
        names = sorted(have)
        with atomic_path(path) as tmp:
            np.savez(tmp, names=np.array(names), logits=np.concatenate([have[n] for n in names]),
                     offsets=np.cumsum([0] + [len(have[n]) for n in names]))
    return [have[c.name] for c in clips]


def model_temperature(model, info=None) -> float:
    """The temperature that calibrates a model: ``model.temperature``, which ``load_model`` sets from the
    checkpoint's ``calibration`` (1 when it has none), else ``info["calibration"]["temperature"]``.

    Book: ``book/14_real_world.ipynb``.
    """
    t = getattr(model, "temperature", None)
    if t is not None and float(t) != 1.0:
        return float(t)
    cal = (info or {}).get("calibration") or {}
    return float(cal.get("temperature", 1.0))
