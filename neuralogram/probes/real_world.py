"""Does it hear the real world? Tags of real held-out recordings, measured for any model.

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

**FSDD, held-out speakers** (:data:`neuralogram.data.real.FSDD_TEST_SPEAKERS`): each spoken digit is tagged in four
conditions (:data:`CONDITIONS`):

* ``"as recorded"``: the trimmed recording alone (0.14-2.3 s): the window is the clip's own length when it is
  shorter than 2 s (the transform's short-window path: nothing is added to the sound; clips under 0.16 s are
  centred in 0.16 s), and 2 s windows every 1.5 s when it is longer;
* ``"in 2 s of silence"``: the clip centred in 2 s of digital zeros (one 2 s window: the model's context, and what
  tagging a short clip with a 2 s window does);
* ``"floor -60 dB"``, ``"floor -30 dB"``: the 2 s excerpt of the previous condition plus white Gaussian noise over
  all of it, its RMS 60 dB (30 dB) below the RMS of the clip's own samples (a speech-to-noise ratio of 60 dB and
  30 dB; the noise of each clip is seeded by its name).

*Speech rate*: the fraction of clips whose top tag (the most probable of all the model's labels) is a speech class,
AudioSet's Speech or one of its children (:data:`neuralogram.data.real.SPEECH_CLASSES`). *Male rate*: the fraction
whose most probable of the gendered speech labels the model has (Male, Female, Child speech) is Male speech (all
FSDD speakers are men).

**ESC-50, held-out sources** (:func:`neuralogram.data.real.esc50`, ``split="test"``): every 5 s clip is tagged with
three 2 s windows, at 0, 1.5 and 3 s (:data:`HOP`), which cover it. A clip's score for ESC-50 class ``c`` is the probability of the AudioSet label that
class maps to (:data:`neuralogram.data.real.ESC50_AUDIOSET`); a class whose label the model does not have scores
nothing (``-inf``): it can never be predicted and its AP is 0 (a miss). *Top-1*: the clip's class has the highest
score of the 50 (50-way, as ESC-50 is usually scored). *Top tag*: the clip's label is the model's top tag among
*all* its labels (open set), *top-5 tags*: among its five most probable. *mAP*: the mean over the classes with
held-out clips of the average precision of the class's score (``neuralogram.train.average_precision``).
Baseline: MFCCs of the same 8 kHz input (20 coefficients, mean and standard deviation over frames: the package's
one recipe, ``probes.semantics.mfcc_stats``) and a multinomial logistic regression trained on the ESC-50 training split (:func:`mfcc_baseline`).

**Calibration.** Expected calibration error in 15 equal-width bins of the predicted probability
(``neuralogram.calibration``), in its two readings: ``top``, each clip's top tag and whether it is one of the clip's
labels, and ``all``, every (clip, label) pair of the model's labels,

.. math::  \\mathrm{ECE} = \\sum_{b=1}^{15} \\frac{n_b}{n} \\big| \\mathrm{acc}_b - \\mathrm{conf}_b \\big| .

Measured on stand-in clips the model never saw and, separately, on the real held-out clips of ESC-50 and of FSDD
(its held-out speakers in 2 s of silence), whose targets are their AudioSet labels in the model's label set: an ESC-50
clip of a class the model has no label for has no positive label, so any confident tag on it counts against
calibration (the doubt a model should show on sound it has no name for). Tags and ECE are computed from cached
window *logits*, so a model whose card has a temperature (:func:`model_temperature`) is measured before
(``T = 1``) and after calibration from the same forward passes.

The window logits come from the model's head (:func:`window_logits`), not from ``neuralogram.tagging.tag``, which
returns window-averaged probabilities: temperature scaling needs the logits of each window.

Book: ``book/13_real_world.ipynb``.
"""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import torch

from ..cache import atomic_path, cache_dir, param_hash
from ..checkpoints import resolve_model
from ..data import real
from ..transform import neuralogram

__all__ = ["CONDITIONS", "N_BINS", "HOP", "VERSION", "model_rate_audio", "window_logits", "tag_probs", "condition_audio", "clip_logits",
           "model_temperature", "fsdd_logits", "fsdd_metrics", "esc50_metrics", "mfcc_baseline",
           "calibration_summary", "real_targets", "standin_logits", "trained_on_real", "real_world_probe",
           "summary_rows"]

CONDITIONS = ("as recorded", "in 2 s of silence", "floor -60 dB", "floor -30 dB")
#: Bins of the expected calibration error.
N_BINS = 15
#: Bump when a definition changes: cached logits are keyed by it.
VERSION = 2
#: Seconds between the 2 s windows of a clip longer than 2 s: windows at 0, 1.5 and 3 s cover a 5 s ESC-50 clip.
HOP = 1.5
_CONTEXT = 2.0     # seconds: the models' window
_MIN_WINDOW = 0.16  # seconds: the transform's shortest window
_BATCH = 64         # windows per forward pass: 15-40 % less CPU than 16 on 2 cores, the same logits bit for bit


# ------------------------------------------------------------------------------------------------- tagging
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

    Book: ``book/13_real_world.ipynb``.
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

    Book: ``book/13_real_world.ipynb``.
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

    sr = model.config.sr
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

    Book: ``book/13_real_world.ipynb``.
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
    """Real clips at the model's rate: a clip recorded at ``sr`` as it is (FSDD), any other read from the package's
    one cache of real clips at 8 kHz (:func:`neuralogram.data.mixed.real_at_8k`: resampled once with
    ``neuralogram.audio.resample`` and kept as 16-bit WAV, the files the mixed training corpus is made from).

    Resampling a 5 s ESC-50 clip from 44.1 kHz takes longer than tagging it, and every model, the baseline, the
    chapter and the training corpus need the same 8 kHz signals.

    Parameters
    ----------
    clips : sequence of RealClip
    sr : int
        The model's rate in Hz (8000: the rate of the cache).
    progress : bool

    Returns
    -------
    list of np.ndarray [shape=(n_i,)], float32

    Book: ``book/13_real_world.ipynb``.
    """
    import soundfile as sf
    from tqdm.auto import tqdm

    from ..audio import PAPER_SR
    from ..data.mixed import real_at_8k

    if sr != PAPER_SR:
        raise ValueError(f"the real clips are cached at {PAPER_SR} Hz, not {sr} Hz")
    return [c.load() if c.sr == sr else sf.read(str(real_at_8k(c)), dtype="float32", always_2d=False)[0]
            for c in tqdm(list(clips), desc=f"to {sr} Hz", disable=not progress, leave=False)]


def _compute_logits(clips, model, *, condition, seed, hop, progress):
    out = [None] * len(clips)
    long_ = []   # (row, signal of 2 s or more at the model's rate): batched
    sr = model.config.sr
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

    Book: ``book/13_real_world.ipynb``.
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

    Book: ``book/13_real_world.ipynb``.
    """
    t = getattr(model, "temperature", None)
    if t is not None and float(t) != 1.0:
        return float(t)
    cal = (info or {}).get("calibration") or {}
    return float(cal.get("temperature", 1.0))


# ------------------------------------------------------------------------------------------------- FSDD
def _select(clips, n_per_digit):
    """Takes ``0 .. n_per_digit - 1`` of every (speaker, digit): a fixed, balanced subset (all when None)."""
    if n_per_digit is None:
        return list(clips)
    return [c for c in clips if c.meta["take"] < n_per_digit]


def fsdd_logits(model, info=None, *, clips=None, n_per_digit: int | None = None, conditions=CONDITIONS,
                seed: int = 0, cache: bool = True, progress: bool = False) -> dict:
    """Window logits of FSDD's held-out speakers in each condition (:func:`clip_logits`).

    Parameters
    ----------
    model : str, Path or EmbeddingNet
    info : dict, optional
    clips : sequence of RealClip, optional
        Default ``real.fsdd("test")``.
    n_per_digit : int, optional
        Only takes ``0 .. n_per_digit - 1`` of each speaker and digit (a balanced subset; 50 = all).
    conditions : sequence of str
    seed : int
    cache, progress : bool

    Returns
    -------
    dict
        ``clips`` (those tagged), ``logits`` {condition: list of (n_windows, n_labels)}.

    Book: ``book/13_real_world.ipynb``.
    """
    model, info = resolve_model(model, info)
    clips = _select(real.fsdd("test") if clips is None else clips, n_per_digit)
    return dict(clips=clips, logits={c: clip_logits(clips, model, info, condition=c, seed=seed, cache=cache,
                                                    progress=progress) for c in conditions})


def fsdd_metrics(probs: np.ndarray, label_mids, label_names=None) -> dict:
    """Speech rate, male rate and the most frequent top tags of FSDD clips' tags.

    Parameters
    ----------
    probs : np.ndarray [shape=(n_clips, n_labels)]
    label_mids : sequence of str
        The model's label ids.
    label_names : sequence of str, optional
        For ``top_tags``.

    Returns
    -------
    dict
        ``speech_rate`` (top tag a speech class), ``male_rate`` (Male speech the most probable gendered speech
        label; NaN when the model has no Male speech label), ``top_tags`` [(name, fraction)] most frequent first,
        ``n`` clips, ``speech_labels`` (how many speech classes the model has).

    Book: ``book/13_real_world.ipynb``.
    """
    P = np.asarray(probs, dtype=np.float64)
    mids = list(label_mids)
    if P.ndim != 2 or P.shape[1] != len(mids) or len(P) == 0:
        raise ValueError(f"probs must be (n_clips > 0, {len(mids)}), got {P.shape}")
    speech = np.isin(mids, [m for m, _ in real.SPEECH_CLASSES])
    top = P.argmax(1)
    gendered = np.array([mids.index(m) for m in _GENDERED if m in mids], dtype=int)
    male = real.MALE_SPEECH[0]
    male_rate = (float(np.mean(gendered[P[:, gendered].argmax(1)] == mids.index(male))) if male in mids
                 else float("nan"))
    names = list(label_names) if label_names is not None else mids
    counts = Counter(names[k] for k in top)
    return dict(speech_rate=float(speech[top].mean()), male_rate=male_rate, n=int(len(P)),
                top_tags=[(k, v / len(P)) for k, v in counts.most_common()], speech_labels=int(speech.sum()))


_GENDERED = ("/m/05zppz", "/m/02zsn", "/m/0ytgt")   # Male, Female, Child speech


# ------------------------------------------------------------------------------------------------- ESC-50
def _class_scores(probs, label_mids):
    """(n, 50) scores of the ESC-50 classes from tags; -inf where the model lacks the class's label."""
    mids = list(label_mids)
    S = np.full((len(probs), 50), -np.inf)
    have = np.zeros(50, bool)
    for t, _, _, mid, _ in real.ESC50_AUDIOSET:
        if mid in mids:
            S[:, t] = probs[:, mids.index(mid)]
            have[t] = True
    return S, have


def esc50_metrics(probs: np.ndarray, label_mids, targets, label_names=None) -> dict:
    """Top-1 (50-way), top tag and top-5 tags (open set), mAP, per-class AP and the confusion matrix.

    Parameters
    ----------
    probs : np.ndarray [shape=(n_clips, n_labels)]
        Tags of the clips.
    label_mids : sequence of str
    targets : sequence of int
        ESC-50 class of each clip.
    label_names : sequence of str, optional

    Returns
    -------
    dict
        ``top1``, ``top_tag``, ``top5_tags``, ``mAP`` (over the classes with clips), ``per_class_ap`` (50,) (NaN
        for a class without clips, 0 for a class the model cannot name), ``n_classes_evaluated``, ``in_labels``
        (how many of the 50 the model can name), ``confusion`` (50, 50) rows = true class, columns = predicted
        class (50-way; a model that can name none predicts nothing), ``predicted`` (n,) (-1 = none),
        ``top_tags`` (n,) the model's top tag names, ``n``.

    Book: ``book/13_real_world.ipynb``.
    """
    from ..train import average_precision

    P = np.asarray(probs, dtype=np.float64)
    mids = list(label_mids)
    targets = np.asarray(targets, dtype=int)
    if P.ndim != 2 or P.shape[1] != len(mids) or len(P) != len(targets) or len(P) == 0:
        raise ValueError(f"probs {P.shape}, {len(mids)} label ids and {len(targets)} targets do not fit")
    if targets.min() < 0 or targets.max() > 49:
        raise ValueError("targets must be ESC-50 classes 0..49")
    S, have = _class_scores(P, mids)
    pred = S.argmax(1) if have.any() else np.full(len(P), -1)
    conf = np.zeros((50, 50), int)
    np.add.at(conf, (targets[pred >= 0], pred[pred >= 0]), 1)
    Y = np.zeros((len(P), 50), bool)
    Y[np.arange(len(P)), targets] = True
    ap = average_precision(np.where(np.isfinite(S), S, 0.0), Y)
    ap[~have & Y.any(0)] = 0.0                      # a class the model cannot name: a miss
    class_mid = np.array([row[3] for row in real.ESC50_AUDIOSET])[targets]
    order = np.argsort(-P, axis=1, kind="stable")
    top5 = np.asarray(mids)[order[:, :5]]
    names = list(label_names) if label_names is not None else mids
    return dict(top1=float(np.mean(pred == targets)), top_tag=float(np.mean(top5[:, 0] == class_mid)),
                top5_tags=float(np.mean((top5 == class_mid[:, None]).any(1))), mAP=float(np.nanmean(ap)),
                per_class_ap=ap, n_classes_evaluated=int(np.isfinite(ap).sum()), in_labels=int(have.sum()),
                confusion=conf, predicted=pred, top_tags=[names[k] for k in order[:, 0]], n=int(len(P)))


def mfcc_baseline(train=None, test=None, *, C: float = 1.0, cache: bool = True, progress: bool = False) -> dict:
    """MFCC + logistic regression on ESC-50: trained on the training split, scored like a model's tags.

    Parameters
    ----------
    train, test : sequence of RealClip, optional
        Default ``real.esc50("train")`` and ``real.esc50("test")``.
    C : float
        Inverse L2 strength of scikit-learn's ``LogisticRegression`` (features standardised first).
    cache, progress : bool

    Returns
    -------
    dict
        :func:`esc50_metrics` of the classifier's class probabilities (its labels are the 50 mapped AudioSet
        labels), plus ``probs`` (n_test, 50) and ``n_train``.

    Book: ``book/13_real_world.ipynb``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tqdm.auto import tqdm

    train = list(real.esc50("train") if train is None else train)
    test = list(real.esc50("test") if test is None else test)
    params = dict(data="esc50-mfcc", clips=hashlib.sha256(" ".join(c.name for c in train + test).encode()
                                                          ).hexdigest()[:16], version=VERSION)
    path = cache_dir("probes") / f"real-mfcc-{param_hash(params)}.npz"
    if cache and path.is_file():
        with np.load(path) as z:
            X = z["X"]
    else:
        from ..spectral import linear_spectrogram
        from .semantics import mfcc_stats

        audio = model_rate_audio(train + test, progress=progress)
        X = np.stack([mfcc_stats(torch.exp(linear_spectrogram(y, sr=8000)).double())
                      for y in tqdm(audio, desc="MFCC", disable=not progress, leave=False)])
        if cache:
            with atomic_path(path) as tmp:
                np.savez(tmp, X=X)
    ytr = np.array([c.target for c in train])
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    clf.fit(X[:len(train)], ytr)
    P = np.zeros((len(test), 50))
    P[:, clf.classes_] = clf.predict_proba(X[len(train):])
    out = esc50_metrics(P, [row[3] for row in real.ESC50_AUDIOSET], [c.target for c in test],
                        label_names=[row[2] for row in real.ESC50_AUDIOSET])
    out.update(probs=P, n_train=len(train))
    return out


# ------------------------------------------------------------------------------------------------- calibration
def calibration_summary(probs, targets, *, n_bins: int = N_BINS) -> dict:
    """Both readings of the expected calibration error and their reliability diagrams
    (``neuralogram.calibration.expected_calibration_error`` and ``reliability``, 15 bins).

    Parameters
    ----------
    probs, targets : np.ndarray [shape=(n_clips, n_labels)]
        Tags and 0/1 truth.
    n_bins : int

    Returns
    -------
    dict
        ``ece_top`` (top tag of each clip: is it one of the clip's labels?), ``ece_all`` (every clip-label pair),
        ``diagram_top``, ``diagram_all`` (``reliability``'s dicts), ``n_clips``.

    Book: ``book/13_real_world.ipynb``.
    """
    from ..calibration import expected_calibration_error, reliability

    out = {"n_clips": int(len(probs))}
    for kind in ("top", "all"):
        out[f"ece_{kind}"] = expected_calibration_error(probs, targets, n_bins=n_bins, kind=kind)
        out[f"diagram_{kind}"] = reliability(probs, targets, n_bins=n_bins, kind=kind)
    return out


def real_targets(clips, label_mids) -> np.ndarray:
    """0/1 targets of real clips in a model's label set: the clip's AudioSet labels that the model has.

    Returns
    -------
    np.ndarray [shape=(len(clips), len(label_mids))], float32

    Book: ``book/13_real_world.ipynb``.
    """
    index = {m: i for i, m in enumerate(label_mids)}
    Y = np.zeros((len(clips), len(index)), np.float32)
    for r, c in enumerate(clips):
        for mid, _ in c.audioset:
            if mid in index:
                Y[r, index[mid]] = 1
    return Y


def standin_logits(model, info=None, *, store=None, cache: bool = True) -> dict:
    """Logits and targets of stand-in clips the model never saw: the centred 2 s of every clip of ``store``.

    Parameters
    ----------
    model : str, Path or EmbeddingNet
    info : dict, optional
    store : PackedStore, optional
        Default: the probes' stand-in corpus (``probes.baseline.default_corpus()``: 200 clips of seed 123; the
        shipped models were trained on seed 0), every clip of which is held out.
    cache : bool

    Returns
    -------
    dict
        ``logits`` (n, n_labels), ``targets`` (n, n_labels) (the store's labels mapped to the model's by id; labels
        the store does not use are 0), ``corpus`` (file name).

    Book: ``book/13_real_world.ipynb``.
    """
    model, info = resolve_model(model, info)
    if store is None:
        from .baseline import default_corpus

        store = default_corpus()
    mids = list(info["label_mids"])
    index = {m: i for i, m in enumerate(mids)}
    Y = np.zeros((len(store), len(mids)), np.float32)
    for i in range(len(store)):
        for k in np.flatnonzero(store.labels[i]):
            if store.label_mids[k] in index:
                Y[i, index[store.label_mids[k]]] = 1
    if store.sr != model.config.sr:
        raise ValueError(f"{store.path.name} is at {store.sr} Hz, the model at {model.config.sr} Hz")
    W = int(round(_CONTEXT * store.sr))

    def compute():
        crops = []
        for i in range(len(store)):
            x = store.clip(i)
            x = np.pad(x, (0, max(0, W - x.size)))
            a = (x.size - W) // 2
            crops.append(x[a:a + W])
        return np.concatenate(_batched_logits(crops, model, hop=_CONTEXT))

    params = dict(model=info["hash"], data="standin", corpus=store.path.name, n=len(store), version=VERSION)
    path = cache_dir("probes") / f"real-standin-{param_hash(params)}.npz"
    if cache and path.is_file():
        with np.load(path) as z:
            Z = z["logits"]
    else:
        Z = compute()
        if cache:
            with atomic_path(path) as tmp:
                np.savez(tmp, logits=Z)
    return dict(logits=Z, targets=Y, corpus=store.path.name)


# ------------------------------------------------------------------------------------------------- all of it
def trained_on_real(info: dict) -> bool:
    """Whether a model's card says it was trained with real recordings: its training corpus lists the real data
    (``info["train"]["corpus_params"]["real"]``, what ``data.mixed`` records) or ``info["train"]["real_data"]``.

    Book: ``book/13_real_world.ipynb``.
    """
    train = (info or {}).get("train") or {}
    params = train.get("corpus_params") or {}
    return bool(train.get("real_data") or (isinstance(params, dict) and params.get("real")))


def real_world_probe(model, info=None, *, n_per_digit: int | None = None, standin: bool = True,
                     cache: bool = True, progress: bool = False) -> dict:
    """Every real-world number of one model: FSDD in all conditions, ESC-50, calibration before and after.

    The tags are the model's calibrated probabilities when its card has a temperature
    (:func:`model_temperature`), else its own outputs; ``calibration`` has both.

    Parameters
    ----------
    model : str, Path or EmbeddingNet
    info : dict, optional
    n_per_digit : int, optional
        FSDD subset (takes per speaker and digit); default all 50.
    standin : bool
        Also measure calibration on held-out stand-in clips (:func:`standin_logits`).
    cache, progress : bool

    Returns
    -------
    dict
        ``name``, ``n_labels``, ``real_data`` (:func:`trained_on_real`), ``temperature``, ``fsdd`` {condition:
        :func:`fsdd_metrics`}, ``esc50`` (:func:`esc50_metrics`), ``calibration`` {``"esc50"``, ``"fsdd"`` (in 2 s
        of silence), ``"standin"``: {``"before"``, ``"after"``: :func:`calibration_summary`}} (``"after"`` only with
        a temperature), and the data behind them (``fsdd_clips``, ``fsdd_probs`` {condition: (n, C)},
        ``esc50_clips``, ``esc50_probs``).

    Raises
    ------
    RealDataMissing
        The real recordings are not on this machine (the message says how to get them).

    Book: ``book/13_real_world.ipynb``.
    """
    model, info = resolve_model(model, info)
    mids, names, loss = list(info["label_mids"]), list(info["label_names"]), model.config.loss
    T = model_temperature(model, info)
    temps = {"before": 1.0, **({"after": T} if T != 1.0 else {})}
    fs = fsdd_logits(model, info, n_per_digit=n_per_digit, cache=cache, progress=progress)
    es_clips = list(real.esc50("test"))
    es_logits = clip_logits(es_clips, model, info, cache=cache, progress=progress)
    fs_probs = {c: tag_probs(z, loss=loss, temperature=T) for c, z in fs["logits"].items()}
    es_probs = tag_probs(es_logits, loss=loss, temperature=T)
    out = dict(name=info.get("name", "?"), n_labels=len(mids), real_data=trained_on_real(info), temperature=T,
               fsdd={c: fsdd_metrics(p, mids, names) for c, p in fs_probs.items()},
               esc50=esc50_metrics(es_probs, mids, [c.target for c in es_clips], names),
               fsdd_clips=fs["clips"], fsdd_probs=fs_probs, esc50_clips=es_clips, esc50_probs=es_probs)
    cond = "in 2 s of silence" if "in 2 s of silence" in fs["logits"] else next(iter(fs["logits"]))
    cal = {"esc50": {k: calibration_summary(tag_probs(es_logits, loss=loss, temperature=t), real_targets(es_clips, mids))
                     for k, t in temps.items()},
           "fsdd": {k: calibration_summary(tag_probs(fs["logits"][cond], loss=loss, temperature=t),
                                           real_targets(fs["clips"], mids)) for k, t in temps.items()}}
    if standin:
        from ..calibration import apply_temperature

        st = standin_logits(model, info, cache=cache)
        cal["standin"] = {k: calibration_summary(apply_temperature(st["logits"], t, loss=loss), st["targets"])
                          for k, t in temps.items()}
        cal["standin_corpus"] = st["corpus"]
    out["calibration"] = cal
    return out


def summary_rows(results, baseline: dict | None = None) -> list[dict]:
    """One row per model (and one for the MFCC baseline) of the numbers the issue's "done when" names.

    Parameters
    ----------
    results : sequence of dict
        :func:`real_world_probe` outputs.
    baseline : dict, optional
        :func:`mfcc_baseline`.

    Returns
    -------
    list of dict
        ``model``, ``real data``, ``labels``, ``ESC-50 named`` (of the 50), ``speech: <condition>`` for each
        condition, ``male`` (in 2 s of silence), ``ESC top-1``, ``ESC mAP``, ``top tag``, ``top-5 tags``, ``ECE stand-in`` and
        ``ECE real`` (top-label, the model's tags: calibrated when it has a temperature).

    Book: ``book/13_real_world.ipynb``.
    """
    rows = []
    for r in results:
        row = {"model": r["name"], "real data": "yes" if r["real_data"] else "no", "labels": r["n_labels"],
               "ESC-50 named": r["esc50"]["in_labels"]}
        for c, m in r["fsdd"].items():
            row[f"speech: {c}"] = m["speech_rate"]
        f = r["fsdd"]
        row["male"] = (f["in 2 s of silence"] if "in 2 s of silence" in f else next(iter(f.values())))["male_rate"]
        e = r["esc50"]
        row.update({"ESC top-1": e["top1"], "ESC mAP": e["mAP"], "top tag": e["top_tag"], "top-5 tags": e["top5_tags"]})
        cal = r["calibration"]
        pick = "after" if "after" in cal["esc50"] else "before"
        row["ECE stand-in"] = cal["standin"][pick]["ece_top"] if "standin" in cal else float("nan")
        row["ECE ESC-50"] = cal["esc50"][pick]["ece_top"]
        row["ECE FSDD"] = cal["fsdd"][pick]["ece_top"]
        rows.append(row)
    if baseline is not None:
        rows.append({"model": "MFCC + logistic regression", "real data": "ESC-50 train", "labels": 50,
                     "ESC-50 named": 50, "ESC top-1": baseline["top1"], "ESC mAP": baseline["mAP"],
                     "top tag": baseline["top_tag"], "top-5 tags": baseline["top5_tags"]})
    return rows
