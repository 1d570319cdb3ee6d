"""Does it hear the real world? Tags of real held-out recordings, measured for any model.

Every number here is computed from the model's *tags* (:mod:`.real_tags`: the output probabilities of every
window of a clip, averaged over the clip's windows, from window logits cached per clip).

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
one recipe, ``probes.representations.mfcc_stats``) and a multinomial logistic regression trained on the ESC-50 training split (:func:`mfcc_baseline`).

**Calibration.** Expected calibration error in 15 equal-width bins of the predicted probability
(``neuralogram.calibration``), in its two readings: ``top``, each clip's top tag and whether it is one of the clip's
labels, and ``all``, every (clip, label) pair of the model's labels,

.. math::  \\mathrm{ECE} = \\sum_{b=1}^{15} \\frac{n_b}{n} \\big| \\mathrm{acc}_b - \\mathrm{conf}_b \\big| .

Measured on stand-in clips the model never saw and, separately, on the real held-out clips of ESC-50 and of FSDD
(its held-out speakers in 2 s of silence), whose targets are their AudioSet labels in the model's label set: an ESC-50
clip of a class the model has no label for has no positive label, so any confident tag on it counts against
calibration (the doubt a model should show on sound it has no name for). On ESC-50 the top-tag reading is also
given with the *ontology* targets (``calibration["esc50_ontology"]``): the mapped label's ancestors among the model's
labels count as right too, so a network whose top tag for a dog's bark is *Animal* is not scored wrong for naming the
parent (AudioSet's labels form a hierarchy; a distilled student often names the parent). Tags and ECE are computed
from cached window *logits*, so a model whose card has a temperature (:func:`model_temperature`) is measured before
(``T = 1``) and after calibration from the same forward passes.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import torch

from ..cache import atomic_path, cache_dir, param_hash
from ..checkpoints import resolve_model
from ..data import real
from .real_tags import (_CONTEXT, CONDITIONS, HOP, VERSION, _batched_logits, clip_logits,  # noqa: F401
                        condition_audio, model_rate_audio, model_temperature, tag_probs, window_logits)

__all__ = ["CONDITIONS", "N_BINS", "HOP", "VERSION", "model_rate_audio", "window_logits", "tag_probs", "condition_audio", "clip_logits",
           "model_temperature", "fsdd_logits", "fsdd_metrics", "esc50_metrics", "mfcc_baseline",
           "calibration_summary", "real_targets", "standin_logits", "trained_on_real", "real_world_probe",
           "summary_rows"]

#: Bins of the expected calibration error.
N_BINS = 15


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

    Book: ``book/14_real_world.ipynb``.
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

    Book: ``book/14_real_world.ipynb``.
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

    Book: ``book/14_real_world.ipynb``.
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

    Book: ``book/14_real_world.ipynb``.
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
        from .representations import mfcc_stats

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

    Book: ``book/14_real_world.ipynb``.
    """
    from ..calibration import expected_calibration_error, reliability

    out = {"n_clips": int(len(probs))}
    for kind in ("top", "all"):
        out[f"ece_{kind}"] = expected_calibration_error(probs, targets, n_bins=n_bins, kind=kind)
        out[f"diagram_{kind}"] = reliability(probs, targets, n_bins=n_bins, kind=kind)
    return out


def real_targets(clips, label_mids, *, ancestors: bool = False) -> np.ndarray:
    """0/1 targets of real clips in a model's label set: the clip's AudioSet labels that the model has.

    Parameters
    ----------
    clips : sequence of RealClip
    label_mids : sequence of str
        The model's labels.
    ancestors : bool
        Also count the labels' ancestors in the AudioSet ontology (``data.real.audioset_ancestors``): a dog's clip
        is then also *Domestic animals, pets* and *Animal*, so a top tag *Animal* is right (the *ontology* reading
        of the calibration error).

    Returns
    -------
    np.ndarray [shape=(len(clips), len(label_mids))], float32

    Book: ``book/14_real_world.ipynb``.
    """
    index = {m: i for i, m in enumerate(label_mids)}
    Y = np.zeros((len(clips), len(index)), np.float32)
    for r, c in enumerate(clips):
        for mid, _ in c.audioset:
            for m in (mid, *(real.audioset_ancestors(mid) if ancestors else ())):
                if m in index:
                    Y[r, index[m]] = 1
    return Y


def standin_logits(model, info=None, *, store=None, split: str | None = None, cache: bool = True,
                   progress: bool = False) -> dict:
    """Logits and targets of stand-in clips the model never saw: the centred 2 s of every clip of ``store`` (or of
    one of its splits).

    Parameters
    ----------
    model : str, Path or EmbeddingNet
    info : dict, optional
    store : PackedStore, optional
        Default: the probes' stand-in corpus (``probes.baseline.default_corpus()``: 200 clips of seed 123; the
        shipped models were trained on seed 0), every clip of which is held out.
    split : {None, "train", "eval"}
        Every clip of ``store`` (``None``) or one of its splits (``PackedStore.indices``): a model trained on
        ``store`` itself never saw its ``"eval"`` clips (what ``probes.real_card`` calibrates on).
    cache : bool
    progress : bool
        A progress bar over the clips.

    Returns
    -------
    dict
        ``logits`` (n, n_labels), ``targets`` (n, n_labels) (the store's labels mapped to the model's by id; labels
        the store does not use are 0), ``corpus`` (file name).

    Book: ``book/14_real_world.ipynb``.
    """
    model, info = resolve_model(model, info)
    if store is None:
        from .baseline import default_corpus

        store = default_corpus()
    rows = store.indices(split)
    mids = list(info["label_mids"])
    index = {m: i for i, m in enumerate(mids)}
    Y = np.zeros((len(rows), len(mids)), np.float32)
    for r, i in enumerate(rows):
        for k in np.flatnonzero(store.labels[i]):
            if store.label_mids[k] in index:
                Y[r, index[store.label_mids[k]]] = 1
    W = int(round(_CONTEXT * store.sr))

    def compute():
        from tqdm.auto import tqdm

        crops = []
        for i in tqdm(rows, desc="stand-in clips", disable=not progress):
            x = store.clip(i)
            x = np.pad(x, (0, max(0, W - x.size)))
            a = (x.size - W) // 2
            crops.append(x[a:a + W])
        if store.sr != model.sr:   # a network at another rate (mn04) hears the corpus's band, resampled
            from ..audio import resample

            crops = list(resample(np.stack(crops), orig_sr=store.sr, target_sr=model.sr).numpy())
        return np.concatenate(_batched_logits(crops, model, hop=_CONTEXT))

    params = dict(model=info["hash"], data="standin", corpus=store.path.name, n=len(store), version=VERSION)
    if split is not None:
        params["split"] = split
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

    Book: ``book/14_real_world.ipynb``.
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
        :func:`fsdd_metrics`}, ``esc50`` (:func:`esc50_metrics`), ``calibration`` {``"esc50"``, ``"esc50_ontology"``
        (the same clips, the labels' ontology ancestors counted as right: :func:`real_targets`), ``"fsdd"`` (in 2 s
        of silence), ``"standin"``: {``"before"``, ``"after"``: :func:`calibration_summary`}} (``"after"`` only with
        a temperature), and the data behind them (``fsdd_clips``, ``fsdd_probs`` {condition: (n, C)},
        ``esc50_clips``, ``esc50_probs``).

    Raises
    ------
    RealDataMissing
        The real recordings are not on this machine (the message says how to get them).

    Book: ``book/14_real_world.ipynb``.
    """
    model, info = resolve_model(model, info)
    mids, names, loss = list(info["label_mids"]), list(info["label_names"]), model.loss
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
           "esc50_ontology": {k: calibration_summary(tag_probs(es_logits, loss=loss, temperature=t),
                                                     real_targets(es_clips, mids, ancestors=True))
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

    Book: ``book/14_real_world.ipynb``.
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
