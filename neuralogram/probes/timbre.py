"""The timbre probe (paper section 3.2): do the network's tags name the instruments that are playing?

The paper: "our trained architecture can produce categories much richer than the AudioSet label (eg, piano,
drums, vocals, 'cello, pop song)"; it shows no number. This module makes the claim measurable on excerpts whose
ground truth is known exactly because we render them ourselves: single instruments and 2- and 3-instrument
mixtures of the SoundFont instruments of :mod:`neuralogram.data.standin.soundfont`, with the AudioSet labels that
:data:`neuralogram.data.standin.corpus.SOURCES` gives each instrument (plus "Music").

Held-out excerpts
    Every excerpt is made from its own generator seeded by ``(TIMBRE_SEED_TAG, seed, n_sources, ...)``: a seed
    sequence whose first word is a tag that no corpus seed uses, while the stand-in corpus seeds clip ``i`` with
    ``(seed, i)``. The notes, rhythms, registers, tempi and gains are therefore new; the *sounds* (the SoundFont's
    samples) are necessarily the ones the model was trained on, as they would be for a piano in AudioSet.

Tags
    :func:`neuralogram.tagging.tag` averages the network's output probabilities over the 2 s windows of an excerpt
    (the neuralogram of :func:`neuralogram.transform.neuralogram` followed by the fully connected head and the
    model's output activation: per-label sigmoids for the shipped models (``loss="bce"``), each label's probability on its own;
    a softmax for models trained with the paper's loss (``loss="mse"``), whose probabilities share a sum of 1,
    so that a clip with two true labels ideally gives each about 1/2.

Metrics (:func:`timbre_metrics`)
    top-1 / top-3 accuracy on single instruments (labels ranked without the generic "Music"); a 17-way
    instrument confusion matrix and per-class recall; recall@k on mixtures (``k`` = number of sources + 1 for
    "Music"); tags above a threshold that are not in the ground truth ("extras": what the model names beyond the
    truth), with precision and recall at that threshold; chance levels for each.

Random baseline
    A random-initialised network's output layer is meaningless, so its tags are compared with **chance** (exact
    combinatorial top-k chance), and the fair random net (:func:`~neuralogram.probes.baseline.random_init_model`)
    is compared at the **embedding** level: cross-validated instrument identification from the embeddings
    (:func:`instrument_decoding`: logistic regression and nearest centroid) of the trained net, of its random twin,
    and of the input itself (mean and standard deviation over time of the log spectrogram).

Book: ``book/10_timbre.ipynb``.
"""
from __future__ import annotations

import warnings
from math import comb

import numpy as np

from ..audio import check_positive
from ..checkpoints import resolve_model
from ..tagging import label_names_of, tag_set
from .cache import cached_arrays, model_key
# the excerpt set lives in its own module; its names stay importable from here
from .timbre_excerpts import (  # noqa: F401
    MIX_GAIN_DB, PEAK, TIMBRE_SEED_TAG, _code_hash, excerpt_rng, instrument_classes, mix_excerpt, timbre_set)

__all__ = ["TIMBRE_SEED_TAG", "TIMBRE_DEFAULTS", "instrument_classes", "excerpt_rng", "mix_excerpt", "timbre_set",
           "timbre_run", "default_threshold", "timbre_metrics", "topk_chance",
           "spectrogram_features", "instrument_decoding", "timbre_probe", "timbre_compare"]

#: The probe set and windows used by the book: 10 excerpts of 4 s per instrument (170), 30 two-instrument and
#: 30 three-instrument mixtures; two non-overlapping 2 s windows per excerpt.
TIMBRE_DEFAULTS = dict(n_per_class=10, seed=0, duration=4.0, n_mixtures=30, window=2.0, hop=2.0)


def timbre_run(model, info=None, *, n_per_class: int = 10, seed: int = 0, duration: float = 4.0,
               n_mixtures: int = 30, window: float = 2.0, hop: float = 2.0, subset: str = "all", cache: bool = True,
               progress: bool = False) -> dict:
    """Tags and embeddings of the probe set (:func:`timbre_set`) for one model, cached on disk.

    The cache key is every parameter plus the model's hash (``info["hash"]``, or a hash of the weights for a
    model without info, such as a random-initialised twin).

    Parameters
    ----------
    model : EmbeddingNet or str
    info : dict, optional
    n_per_class, seed, duration, n_mixtures
        The set (:func:`timbre_set`).
    window, hop : float
        Seconds.
    subset : {"all", "singles"}
        Run every excerpt, or only the single-instrument ones (enough for the embedding-level baseline).

    Returns
    -------
    dict
        ``probs`` (n, C), ``emb`` (n, E) float32 in the set's order (``rows`` (n,) says which excerpts of the set
        they are); ``label_names``; the parameters.

    Book: ``book/10_timbre.ipynb``.
    """
    model, info = resolve_model(model, info)
    if subset not in ("all", "singles"):
        raise ValueError(f"subset must be 'all' or 'singles', got {subset!r}")
    names = label_names_of(model, info)
    params = dict(n_per_class=int(n_per_class), seed=int(seed), duration=float(duration),
                  n_mixtures=int(n_mixtures), window=float(window), hop=float(hop), subset=subset,
                  set_code=_code_hash())

    def compute():
        ts = timbre_set(n_per_class, seed, duration, n_mixtures=n_mixtures, cache=cache, progress=progress)
        rows = np.arange(len(ts["instruments"])) if subset == "all" else np.flatnonzero(ts["n_sources"] == 1)
        P, E = tag_set(ts["audio"][rows], model, sr=ts["sr"], window=window, hop=hop, progress=progress)
        return dict(probs=P, emb=E, rows=rows, label_names=names)

    return cached_arrays("timbre", params, model_key(model, info), compute, cache=cache)


# ---------------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------------
def topk_chance(n_labels: int, n_true: int, k: int) -> float:
    """Probability that at least one of ``n_true`` true labels is among ``k`` labels drawn at random from
    ``n_labels``: :math:`1 - \\binom{n - m}{k} / \\binom{n}{k}`.

    Book: ``book/10_timbre.ipynb``.
    """
    n_labels = check_positive(n_labels, "n_labels", integer=True)
    n_true = check_positive(n_true, "n_true", integer=True, allow_zero=True)
    k = check_positive(k, "k", integer=True, allow_zero=True)
    if n_true > n_labels or k > n_labels:
        raise ValueError(f"need n_true <= n_labels and k <= n_labels, got {n_true}, {k} of {n_labels}")
    return 1.0 - comb(n_labels - n_true, k) / comb(n_labels, k)


def default_threshold(model) -> float:
    """The probability above which a tag counts as named: 0.5 for per-label sigmoid outputs (``loss="bce"``, each
    label's probability on its own), 0.1 for the paper's softmax (``loss="mse"``, probabilities sharing a sum of 1:
    about five times the uniform 1/48).

    Book: ``book/10_timbre.ipynb``.
    """
    model, _ = resolve_model(model)
    return 0.5 if model.loss == "bce" else 0.1


def timbre_metrics(probs, label_names, instruments, *, classes: dict | None = None, threshold: float = 0.5,
                   generic: str = "Music") -> dict:
    """Every timbre number from tag probabilities and the known instruments of each excerpt.

    Ground truth of an excerpt: the labels of its instruments (``classes``) plus ``generic`` ("Music").

    * **Single instruments** (excerpts with one instrument): labels are ranked by probability without
      ``generic``; ``top1`` / ``top3`` = fraction of excerpts with one of the instrument's labels in the first 1 /
      3 (for the guitars, "Guitar" counts: it is a true tag of both). **Instrument identity**: each class is
      scored by the largest probability of its *own* labels (those no other class has, so not "Guitar"); the
      prediction is the best-scoring class; ``confusion[true, predicted]`` counts excerpts, ``per_class_recall``
      is its normalised diagonal and ``instrument_accuracy`` its trace over the total.
    * **Mixtures** (2 or more instruments): with ``k`` = number of instruments + 1 (for ``generic``), ``recall_at_k``
      is the mean over mixtures of the fraction of instruments with one of their labels in the top ``k`` of all
      labels; ``recall_at_k_by_n`` splits it by the number of instruments and ``recall_at_k_secondary`` counts only
      the instruments after the first (the quieter ones, which a single weak label would miss);
      ``generic_in_top_k`` is how often ``generic`` is in the top ``k``. An instrument with two labels (the
      guitars, the drum kit) can fill two of the ``k`` places, so ``instrument_recall`` also ranks the *classes*
      by the score used for identity and counts the instruments among the top ``K`` classes (``K`` = number of
      instruments; chance ``K`` / number of classes, ``chance_instrument_recall``).
    * **Beyond the truth**: tags with ``p > threshold``. ``extras_per_excerpt`` (singles / mixtures): mean number
      of such tags that are *not* in the ground truth; ``frac_with_extra``: fraction of excerpts with at least one;
      ``extra_counts`` (C,): how often each label was an extra; ``precision`` and ``recall`` of the thresholded
      tags against the ground truth (micro-averaged over all excerpts).
    * **Chance**: ``chance_top1``, ``chance_top3``, ``chance_recall_at_k`` (random rankings, exact) and
      ``chance_instrument`` (1 / number of classes).

    Parameters
    ----------
    probs : np.ndarray [shape=(n, C)]
        Tag probabilities of ``n`` excerpts.
    label_names : sequence of str [length C]
    instruments : sequence of sequences of str [length n]
        The instruments of each excerpt (first = loudest).
    classes : dict, optional
        Instrument -> its labels (without ``generic``); default :func:`instrument_classes`.
    threshold : float
        Probability above which a label counts as named (0 < threshold < 1). 0.5 ("more likely than not") suits
        per-label sigmoid outputs; see :func:`default_threshold`.
    generic : str
        The label every excerpt has; left out of the single-instrument ranking.

    Returns
    -------
    dict
        Floats as above, plus ``confusion`` (K, K) int, ``per_class_recall`` (K,), ``class_names`` (K,),
        ``extra_counts`` (C,) int, ``n_singles`` and ``n_mixed`` (how many excerpts of each kind).

    Book: ``book/10_timbre.ipynb``.
    """
    P = np.asarray(probs, dtype=np.float64)
    names = list(label_names)
    instruments = [list(x) for x in instruments]
    classes = instrument_classes() if classes is None else {k: tuple(v) for k, v in classes.items()}
    if P.ndim != 2 or P.shape[1] != len(names):
        raise ValueError(f"probs must be (n, C) with C = len(label_names) = {len(names)}, got shape {P.shape}")
    if P.shape[0] != len(instruments):
        raise ValueError(f"probs has {P.shape[0]} rows but instruments lists {len(instruments)} excerpts")
    if not np.isfinite(P).all():
        raise ValueError("probs contains NaN or Inf")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    index = {n: i for i, n in enumerate(names)}
    missing = sorted({lab for labs in classes.values() for lab in labs if lab not in index})
    if missing:
        raise ValueError(f"labels of the instrument classes are not in label_names: {missing}")
    for x in instruments:
        if not x:
            raise ValueError("every excerpt needs at least one instrument")
        bad = [n for n in x if n not in classes]
        if bad:
            raise ValueError(f"unknown instrument(s) {bad}; known: {list(classes)}")
    g = index.get(generic)
    C, K = len(names), len(classes)
    cls_names = list(classes)
    true_idx = {c: [index[lab] for lab in labs] for c, labs in classes.items()}
    # a class's own labels: the ones no other class has (the guitars share "Guitar")
    count = {}
    for labs in classes.values():
        for lab in labs:
            count[lab] = count.get(lab, 0) + 1
    own_idx = [[index[lab] for lab in classes[c] if count[lab] == 1] or true_idx[c] for c in cls_names]

    singles = [i for i, x in enumerate(instruments) if len(x) == 1]
    mixes = [i for i, x in enumerate(instruments) if len(x) > 1]
    out = dict(n_singles=len(singles), n_mixed=len(mixes), threshold=float(threshold), class_names=cls_names)
    nan = float("nan")
    # --- single instruments
    non_generic = np.array([j for j in range(C) if j != g])
    n_ng = non_generic.size
    if singles:
        rank = non_generic[np.argsort(-P[np.ix_(singles, non_generic)], axis=1, kind="stable")]
        hits = {k: np.mean([bool(set(rank[r, :k]) & set(true_idx[instruments[i][0]])) for r, i in enumerate(singles)])
                for k in (1, 3)}
        scores = np.stack([P[singles][:, idx].max(1) for idx in own_idx], axis=1)       # (n_singles, K)
        pred = scores.argmax(1)
        truth = np.array([cls_names.index(instruments[i][0]) for i in singles])
        conf = np.zeros((K, K), np.int64)
        np.add.at(conf, (truth, pred), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(conf.sum(1) > 0, np.diag(conf) / np.maximum(conf.sum(1), 1), np.nan)
        out.update(top1=float(hits[1]), top3=float(hits[3]), instrument_accuracy=float(np.trace(conf) / len(singles)),
                   confusion=conf, per_class_recall=recall.astype(np.float64),
                   chance_top1=float(np.mean([topk_chance(n_ng, len(true_idx[instruments[i][0]]), min(1, n_ng))
                                              for i in singles])),
                   chance_top3=float(np.mean([topk_chance(n_ng, len(true_idx[instruments[i][0]]), min(3, n_ng))
                                              for i in singles])),
                   chance_instrument=1.0 / K)
    else:
        out.update(top1=nan, top3=nan, instrument_accuracy=nan, confusion=np.zeros((K, K), np.int64),
                   per_class_recall=np.full(K, np.nan), chance_top1=nan, chance_top3=nan, chance_instrument=1.0 / K)
    # --- mixtures
    if mixes:
        rec, rec_sec, gen_in, chance, by_n, inst_rec, inst_chance = [], [], [], [], {}, [], []
        for i in mixes:
            x = instruments[i]
            k = min(len(x) + (g is not None), C)
            top = set(np.argsort(-P[i], kind="stable")[:k])
            found = [bool(top & set(true_idx[c])) for c in x]
            rec.append(np.mean(found))
            rec_sec += found[1:]
            by_n.setdefault(len(x), []).append(np.mean(found))
            gen_in.append(g in top if g is not None else False)
            chance.append(np.mean([topk_chance(C, len(true_idx[c]), k) for c in x]))
            score = np.array([P[i, idx].max() for idx in own_idx])          # one score per class
            top_cls = {cls_names[j] for j in np.argsort(-score, kind="stable")[:len(x)]}
            inst_rec.append(np.mean([c in top_cls for c in x]))
            inst_chance.append(len(x) / K)
        out.update(recall_at_k=float(np.mean(rec)), recall_at_k_secondary=float(np.mean(rec_sec)),
                   recall_at_k_by_n={int(n): float(np.mean(v)) for n, v in sorted(by_n.items())},
                   generic_in_top_k=float(np.mean(gen_in)), chance_recall_at_k=float(np.mean(chance)),
                   instrument_recall=float(np.mean(inst_rec)), chance_instrument_recall=float(np.mean(inst_chance)))
    else:
        out.update(recall_at_k=nan, recall_at_k_secondary=nan, recall_at_k_by_n={}, generic_in_top_k=nan,
                   chance_recall_at_k=nan, instrument_recall=nan, chance_instrument_recall=nan)
    # --- beyond the truth
    named = P > threshold
    truth = np.zeros_like(named)
    for i, x in enumerate(instruments):
        for c in x:
            truth[i, true_idx[c]] = True
        if g is not None:
            truth[i, g] = True
    extra = named & ~truth
    n_extra = extra.sum(1)
    for part, rows in (("singles", singles), ("mixtures", mixes)):
        out[f"extras_per_excerpt_{part}"] = float(n_extra[rows].mean()) if rows else nan
        out[f"frac_with_extra_{part}"] = float((n_extra[rows] > 0).mean()) if rows else nan
    tp = float((named & truth).sum())
    out.update(extra_counts=extra.sum(0).astype(np.int64),
               precision=tp / named.sum() if named.sum() else nan, recall=tp / truth.sum(),
               tags_per_excerpt=float(named.sum(1).mean()))
    return out


# ---------------------------------------------------------------------------------------------------------------
# embedding-level comparison
# ---------------------------------------------------------------------------------------------------------------
def spectrogram_features(audio, *, sr: int) -> np.ndarray:
    """The input baseline: mean and standard deviation over time of each excerpt's log spectrogram.

    Parameters
    ----------
    audio : np.ndarray [shape=(n, samples)]
    sr : int

    Returns
    -------
    np.ndarray [shape=(n, 258)], float32
        129 means then 129 standard deviations of :func:`neuralogram.spectral.linear_spectrogram` (log power).

    Book: ``book/10_timbre.ipynb``.
    """
    from ..spectral import linear_spectrogram

    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"audio must be (n_excerpts, samples), got shape {x.shape}")
    out = []
    for row in x:  # one at a time: a 2-D input would be read as (channels, n) and averaged to mono
        S = linear_spectrogram(row, sr=sr).numpy()
        out.append(np.concatenate([S.mean(1), S.std(1)]))
    return np.stack(out).astype(np.float32)


def instrument_decoding(X, y, *, method: str = "logreg", n_splits: int = 5, seed: int = 0) -> dict:
    """Cross-validated accuracy of instrument identity decoded from features ``X``.

    Features are standardised (fitted on each training fold only), then classified by a multinomial logistic
    regression (``"logreg"``, ``C = 1``, lbfgs to a tolerance of 1e-3) or by the nearest class centroid
    (``"centroid"``). Folds are stratified and shuffled with ``seed``.

    Parameters
    ----------
    X : np.ndarray [shape=(n, D)]
    y : np.ndarray [shape=(n,)], int
    method : {"logreg", "centroid"}
    n_splits : int
        Folds (>= 2 and at most the smallest class count).

    Returns
    -------
    dict
        ``accuracy`` (mean over folds), ``std`` (over folds), ``folds`` (list), ``chance`` (1 / number of classes).

    Book: ``book/10_timbre.ipynb``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import NearestCentroid
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.size:
        raise ValueError(f"X must be (n, D) and y (n,), got {X.shape} and {y.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or Inf")
    n_splits = check_positive(n_splits, "n_splits", integer=True)
    _, counts = np.unique(y, return_counts=True)
    if counts.size < 2:
        raise ValueError("y must hold at least two classes")
    if n_splits < 2 or n_splits > counts.min():
        raise ValueError(f"n_splits must be between 2 and the smallest class count ({counts.min()}), got {n_splits}")
    if method == "logreg":
        clf = LogisticRegression(C=1.0, tol=1e-3, max_iter=1000)
    elif method == "centroid":
        clf = NearestCentroid()
    else:
        raise ValueError(f"method must be 'logreg' or 'centroid', got {method!r}")
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    # one BLAS thread: these problems are tiny, and threads that spin while competing for the cores made the
    # cross-validation 15x slower on a busy 2-core machine
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.filterwarnings("ignore", message=".*zero standard deviation.*")  # silent ReLUs within a class
        scores = cross_val_score(make_pipeline(StandardScaler(), clf), X, y, cv=cv)
    return dict(accuracy=float(scores.mean()), std=float(scores.std()), folds=[float(s) for s in scores],
                chance=1.0 / counts.size)


def timbre_probe(model, info=None, *, tags: bool = True, threshold: float | None = None, cache: bool = True,
                 progress: bool = False, **params) -> dict:
    """All timbre numbers for one model: :func:`timbre_run` (cached), :func:`timbre_metrics` and the decoding
    accuracy of instrument identity from its embeddings (``decode_logreg``, ``decode_centroid``).

    Parameters
    ----------
    model : EmbeddingNet or str
    info : dict, optional
    tags : bool
        Compute the tag metrics (on every excerpt). ``False`` runs the single instruments only and returns the
        decoding accuracies: the right choice for a random-initialised net, whose output layer means nothing.
    threshold : float, optional
        See :func:`timbre_metrics`; default :func:`default_threshold` of the model.
    params
        :func:`timbre_run`'s set and window parameters (defaults: :data:`TIMBRE_DEFAULTS`).

    Returns
    -------
    dict

    Book: ``book/10_timbre.ipynb``.
    """
    model, info = resolve_model(model, info)
    p = {**TIMBRE_DEFAULTS, **params}
    run = timbre_run(model, info, subset="all" if tags else "singles", cache=cache, progress=progress, **p)
    ts = timbre_set(p["n_per_class"], p["seed"], p["duration"], n_mixtures=p["n_mixtures"], cache=cache)
    rows = np.asarray(run["rows"])
    out = {}
    if tags:
        out = timbre_metrics(run["probs"], run["label_names"], [ts["instruments"][i] for i in rows],
                             threshold=default_threshold(model) if threshold is None else threshold)
    s = ts["y"][rows] >= 0
    for method in ("logreg", "centroid"):
        out[f"decode_{method}"] = instrument_decoding(run["emb"][s], ts["y"][rows][s], method=method)["accuracy"]
    out.update(model=(info or {}).get("name", "unnamed"), embedding_size=int(model.embedding_size), **p)
    return out


def timbre_compare(names=None, *, threshold: float | None = None, corpus=None, seed: int = 0, cache: bool = True,
                   progress: bool = False, **params) -> dict:
    """:func:`timbre_probe` for each shipped model and its fair random twin, plus the spectrogram baseline.

    Parameters
    ----------
    names : list of str, optional
        Shipped models (default: all of :func:`neuralogram.available_models`), largest embedding first.
    corpus, seed
        For :func:`~neuralogram.probes.baseline.random_init_model` (batch norm re-estimated on the stand-in).

    Returns
    -------
    dict
        ``trained`` and ``random``: lists of :func:`timbre_probe` dicts (the random twins' have only the decoding
        accuracies: their output layer is meaningless); ``spectrogram``: decoding accuracies from
        :func:`spectrogram_features` (``logreg``, ``centroid``); ``names``, ``E``.

    Book: ``book/10_timbre.ipynb``.
    """
    from ..checkpoints import load_model
    from .baseline import compare_with_twin
    from .size import shipped_by_size

    rows = shipped_by_size(names)
    if not rows:
        raise ValueError("no shipped models to compare (data/models is empty); pass names= of checkpoints")
    p = {**TIMBRE_DEFAULTS, **params}
    out = dict(names=[], E=[], trained=[], random=[])
    for E, name in rows:
        model, info = load_model(name)
        out["names"].append(name)
        out["E"].append(E)
        both = compare_with_twin(timbre_probe, model, info, corpus=corpus, twin_seed=seed, twin_params={"tags": False},
                                 threshold=threshold, cache=cache, progress=progress, **p)
        out["trained"].append(both["trained"])
        out["random"].append(both["random"])
    ts = timbre_set(p["n_per_class"], p["seed"], p["duration"], n_mixtures=p["n_mixtures"], cache=cache)
    s = ts["y"] >= 0
    F = spectrogram_features(ts["audio"][s], sr=ts["sr"])
    out["spectrogram"] = {m: instrument_decoding(F, ts["y"][s], method=m)["accuracy"] for m in ("logreg", "centroid")}
    return out
