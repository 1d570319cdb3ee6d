"""What a network knows about real recordings it never trained on: clip embeddings and tags, zero-shot top-1 and a
linear probe, for any embedding network (the paper's VGG, the AudioSet network mn04) and any band.

* **How a network hears a clip.** The clip, at the network's rate (:func:`clip_audio`), is cut into the
  neuralogram's windows: a network with a longest window (the VGG: its 2 s context) hears 2 s windows every
  ``hop`` seconds, a clip shorter than 2 s centred in one window; a network that pools globally over any length
  (mn04, trained on whole 10 s AudioSet clips) hears the whole clip as one window. The clip's embedding is the mean
  of the neuralogram's columns, its tags the mean of the windows' output probabilities (the model's calibration
  temperature applied).
* **Bands.** ``"full"``: the file resampled to the network's rate (44.1 -> 32 kHz for mn04). ``"8k"``: the file
  through the paper's 8 kHz first (the package's one cache of real clips at 8 kHz), then up to the network's rate:
  what the book's band costs a network that heard 16 kHz of bandwidth. For the VGG (8 kHz) the two are the same.
* **Zero-shot top-1**: among the AudioSet labels that name the data set's classes (ESC-50's
  :data:`~neuralogram.data.real.ESC50_AUDIOSET`, UrbanSound8K's
  :data:`~neuralogram.data.urbansound.URBANSOUND_AUDIOSET`), the highest-scoring one must be the clip's.
* **Linear probe**: standardised embeddings -> scikit-learn's ``LogisticRegression``, trained on one split
  (UrbanSound8K fold 1), its ``C`` chosen by grouped cross-validation *within* that split (the groups are source
  recordings), tested once on the other split (fold 2).

Book: ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..audio import PAPER_SR, resample
from ..checkpoints import resolve_model
from ..transform import embed_segments, window_starts
from .cache import cached_arrays, model_key

__all__ = ["BANDS", "clip_audio", "clip_window", "clip_outputs", "zero_shot", "linear_probe", "mfcc_clip_features",
           "heldout_figures"]

#: The bands a clip can be heard in (see the module docstring).
BANDS = ("full", "8k")
#: Bump when what :func:`clip_outputs` computes changes.
VERSION = 1
_BATCH = None  # exact mode chooses by measurement


def _check_band(band):
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    return band


def clip_audio(clip, *, sr: int, band: str = "full") -> np.ndarray:
    """A real clip as float32 mono at ``sr`` Hz, heard through ``band`` (``"full"`` or ``"8k"``).

    Book: ``book/13_audioset_net.ipynb``.
    """
    _check_band(band)
    if band == "8k":   # the book's band: the package's one cache of real clips at 8 kHz, then the network's rate
        from .real_tags import model_rate_audio

        return np.asarray(model_rate_audio([clip], sr=sr)[0], dtype=np.float32)
    y, rate = clip.load(), clip.sr
    if rate != sr:
        y = resample(y, orig_sr=rate, target_sr=sr)
    return np.asarray(y, dtype=np.float32)


def clip_window(model, n_samples: int) -> float:
    """The window (s) in which ``model`` hears a clip of ``n_samples`` at its rate: the whole clip for a network
    that accepts any length, else its context (2 s).

    Book: ``book/13_audioset_net.ipynb``.
    """
    if model.max_window_seconds is None:
        return max(n_samples / model.sr, model.min_window_seconds)
    return model.context_seconds


@torch.no_grad()
def _outputs(clips, model, band, hop, progress):
    from tqdm.auto import tqdm

    emb, probs = [None] * len(clips), [None] * len(clips)
    groups = {}   # (clip length, window) -> rows: clips of one length share their window grid and one batch loop
    audio = [clip_audio(c, sr=model.sr, band=band) for c in tqdm(clips, desc="clips", disable=not progress,
                                                                  leave=False)]
    for i, y in enumerate(audio):
        groups.setdefault((len(y), clip_window(model, len(y))), []).append(i)
    was = model.training
    model.eval()
    try:
        for (n, window), rows in tqdm(groups.items(), desc="embedding", disable=not progress, leave=False):
            local = window_starts(n, sr=model.sr, window=window, hop=hop)
            for b in range(0, len(rows), 256):
                part = rows[b:b + 256]
                x = np.concatenate([audio[i] for i in part])
                starts = (np.arange(len(part))[:, None] * n + local[None, :]).ravel()
                N = embed_segments(x, starts, model, window=window, batch_size=_BATCH)   # (C, windows)
                P = model.output_activation(model.head(torch.from_numpy(np.ascontiguousarray(N.T)))).double().numpy()
                T = len(local)
                for k, i in enumerate(part):
                    emb[i] = N[:, k * T:(k + 1) * T].mean(1)
                    probs[i] = P[k * T:(k + 1) * T].mean(0)
    finally:
        model.train(was)
    return np.stack(emb).astype(np.float32), np.stack(probs)


def clip_outputs(clips, model, info=None, *, band: str = "full", hop: float = 1.0, cache: bool = True,
                 progress: bool = False) -> dict:
    """Embeddings and tags of real clips, as the module docstring says a network hears them; cached on disk.

    Parameters
    ----------
    clips : sequence of RealClip
    model : str or EmbeddingNet
        A network or a shipped model's name.
    info : dict, optional
        ``load_model``'s info (its ``hash`` keys the cache; without it the weights are hashed).
    band : {"full", "8k"}
    hop : float
        Seconds between windows for a network with a 2 s context (ignored by whole-clip networks).
    cache, progress : bool

    Returns
    -------
    dict
        ``emb`` (n, C) float32, the mean embedding of each clip; ``probs`` (n, K) float64, its mean tags.

    Book: ``book/13_audioset_net.ipynb``.
    """
    model, info = resolve_model(model, info)
    clips = list(clips)
    if not clips:
        raise ValueError("no clips given")
    import hashlib

    names = hashlib.sha256(" ".join(f"{c.dataset}/{c.name}" for c in clips).encode()).hexdigest()[:16]
    params = dict(clips=names, band=_check_band(band), hop=float(hop), temperature=float(model.temperature),
                  version=VERSION)

    def compute():
        e, p = _outputs(clips, model, band, hop, progress)
        return {"emb": e, "probs": p}

    return cached_arrays("transfer", params, model_key(model, info), compute, cache=cache)


def zero_shot(probs, label_mids, targets, class_mids) -> dict:
    """Zero-shot top-1: for each clip, the class whose mapped AudioSet label scores highest among the mapped ones.

    Parameters
    ----------
    probs : np.ndarray [shape=(n, K)]
        Tags of the clips.
    label_mids : sequence of str [K]
        The model's label ids.
    targets : sequence of int [n]
        The class of each clip (an index into ``class_mids``).
    class_mids : sequence of str
        The AudioSet label id of each class.

    Returns
    -------
    dict
        ``top1``; ``in_labels``, how many classes the model can name (a class it cannot name is never predicted);
        ``predicted`` (n,) class indices (-1: the model names none); ``confusion`` (classes, classes).

    Book: ``book/13_audioset_net.ipynb``.
    """
    P = np.asarray(probs, dtype=np.float64)
    targets = np.asarray(targets, dtype=int)
    index = {m: k for k, m in enumerate(label_mids)}
    if P.ndim != 2 or P.shape[1] != len(index) or len(P) != len(targets) or not len(P):
        raise ValueError(f"probs {P.shape}, {len(index)} label ids and {len(targets)} targets do not fit")
    cols = np.array([index.get(m, -1) for m in class_mids])
    if targets.min() < 0 or targets.max() >= len(cols):
        raise ValueError(f"targets must be class indices 0 .. {len(cols) - 1}")
    S = np.where(cols[None, :] >= 0, P[:, np.maximum(cols, 0)], -np.inf)
    pred = S.argmax(1) if (cols >= 0).any() else np.full(len(P), -1)
    conf = np.zeros((len(cols), len(cols)), int)
    np.add.at(conf, (targets[pred >= 0], pred[pred >= 0]), 1)
    return dict(top1=float(np.mean(pred == targets)), in_labels=int((cols >= 0).sum()), predicted=pred,
                confusion=conf)


def linear_probe(X_train, y_train, X_test, y_test, *, groups=None, Cs=(0.01, 0.1, 1.0), seed: int = 0) -> dict:
    """A linear probe: standardise, logistic regression, ``C`` chosen by grouped 3-fold cross-validation on the
    training split alone, then one score on the test split.

    Parameters
    ----------
    X_train, X_test : np.ndarray [shape=(n, d)]
    y_train, y_test : sequence of int
    groups : sequence, optional
        Source recording of each training clip: cross-validation folds never split a group.
    Cs : sequence of float
        The inverse regularisation strengths tried.
    seed : int

    Returns
    -------
    dict
        ``accuracy`` (test), ``C`` (chosen), ``cv_accuracy`` (its mean cross-validated accuracy), ``predicted``,
        ``per_class`` (test accuracy of each class present).

    Book: ``book/13_audioset_net.ipynb``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, X_test = np.asarray(X_train, np.float64), np.asarray(X_test, np.float64)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if X_train.ndim != 2 or X_test.ndim != 2 or X_train.shape[1] != X_test.shape[1]:
        raise ValueError(f"features must be 2-D with one width, got {X_train.shape} and {X_test.shape}")
    if len(X_train) != len(y_train) or len(X_test) != len(y_test):
        raise ValueError("one label per clip is needed")
    if not (np.isfinite(X_train).all() and np.isfinite(X_test).all()):
        raise ValueError("features hold NaN or Inf")
    g = np.arange(len(y_train)) if groups is None else np.asarray(groups)

    def make(C):
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-3, max_iter=3000, random_state=seed))

    cv = {C: float(cross_val_score(make(C), X_train, y_train, groups=g, cv=GroupKFold(3)).mean()) for C in Cs}
    best = max(cv, key=lambda C: (cv[C], -C))
    clf = make(best).fit(X_train, y_train)
    pred = clf.predict(X_test)
    per = {int(k): float(np.mean(pred[y_test == k] == k)) for k in np.unique(y_test)}
    return dict(accuracy=float(np.mean(pred == y_test)), C=float(best), cv_accuracy=cv[best], predicted=pred,
                per_class=per)


def mfcc_clip_features(clips, *, cache: bool = True, progress: bool = False) -> np.ndarray:
    """The MFCC baseline's features of whole clips at 8 kHz: the package's one MFCC recipe
    (:func:`neuralogram.probes.representations.mfcc_stats`, mean and standard deviation of 20 MFCCs).

    Returns
    -------
    np.ndarray [shape=(n, 40)], float32

    Book: ``book/13_audioset_net.ipynb``.
    """
    import hashlib

    from tqdm.auto import tqdm

    from ..spectral import linear_spectrogram
    from .representations import mfcc_stats

    clips = list(clips)
    names = hashlib.sha256(" ".join(f"{c.dataset}/{c.name}" for c in clips).encode()).hexdigest()[:16]

    def compute():
        X = [mfcc_stats(torch.exp(linear_spectrogram(clip_audio(c, sr=PAPER_SR, band="8k"), sr=PAPER_SR)).double())
             for c in tqdm(clips, desc="MFCC", disable=not progress, leave=False)]
        return {"X": np.stack(X)}

    return cached_arrays("transfer-mfcc", dict(clips=names, version=VERSION), "none", compute, cache=cache)["X"]


def heldout_figures(model, info=None, *, probe: dict | None = None, cache: bool = True) -> dict:
    """One network's figures on the real clips that no shipped network trained on, heard through the 8 kHz band.

    ESC-50's held-out split: zero-shot top-1 among the 50 mapped labels (``band="8k"``). UrbanSound8K (8 kHz files):
    the fold 1 -> 2 linear probe on clip embeddings (2 s windows every 2 s) and fold-2 zero-shot top-1 among the 10
    mapped labels. The chirp 4000 -> 1 -> 4000 Hz of 60 s (hop 0.5 s): chapter 7's ridge R^2 and tuning width
    (:func:`neuralogram.probes.pitch.pitch_metrics`). These are the distillation targets that
    ``benchmarks/real_audio.py`` prints per model.

    Parameters
    ----------
    model : str or EmbeddingNet
    info : dict, optional
        ``load_model``'s info.
    probe : dict, optional
        :func:`linear_probe`'s result for this network on UrbanSound8K fold 1 -> 2, when already computed.
    cache : bool

    Returns
    -------
    dict
        ``"ESC-50 zero-shot"``, ``"US8K probe"``, ``"US8K zero-shot"``, ``"chirp ridge R^2"``, ``"tuning width"``.

    Book: ``book/13_audioset_net.ipynb``.
    """
    from ..data import real, urbansound
    from . import pitch

    model, info = resolve_model(model, info)
    esc, us = real.esc50("test"), urbansound.urbansound8k()
    fold1, fold2 = us.split("train"), us.split("test")
    y2 = [c.target for c in fold2]
    if probe is None:
        E1 = clip_outputs(fold1, model, info, hop=2.0, cache=cache)["emb"]
        E2 = clip_outputs(fold2, model, info, hop=2.0, cache=cache)["emb"]
        probe = linear_probe(E1, [c.target for c in fold1], E2, y2, groups=[c.group for c in fold1])
    esc_p = clip_outputs(esc, model, info, band="8k", cache=cache)["probs"]
    us_p = clip_outputs(fold2, model, info, cache=cache)["probs"]        # the files are 8 kHz: the 8 kHz band
    run = pitch.pitch_run(model, info, duration=60.0, hop=0.5, cache=cache)
    m = pitch.pitch_metrics(run["N"], run["freqs"], run["down"])
    return {"ESC-50 zero-shot": zero_shot(esc_p, info["label_mids"], [c.target for c in esc],
                                          [row[3] for row in real.ESC50_AUDIOSET])["top1"],
            "US8K probe": probe["accuracy"],
            "US8K zero-shot": zero_shot(us_p, info["label_mids"], y2,
                                        [row[3] for row in urbansound.URBANSOUND_AUDIOSET])["top1"],
            "chirp ridge R^2": m["ridge_r2"], "tuning width": m["tuning_width"]}
