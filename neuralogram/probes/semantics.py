"""The semantics probe (paper section 3.5): do spoken words, or their speakers, separate in the embedding?

The paper feeds "multiple spoken words by multiple speakers from the speech commands dataset" to the network,
draws PCA and t-SNE maps of the embeddings and sees "no observable separation of embeddings to various words or
speakers"; it suggests that "fine-tuning or transfer-learning on these features can perhaps understand and
separate these differences". This module turns the maps into numbers, for four representations of the same words:

``trained``
    the network's embedding (globally pooled conv5_4, E numbers);
``random-init``
    the same architecture with fresh weights and batch-norm statistics re-estimated on crops of the synthetic
    stand-in corpus (:func:`neuralogram.probes.baseline.random_init_model`): what the architecture gives without
    learning;
``mfcc``
    20 MFCCs of the same 8 kHz window (40 mel bands, 10 ms hop), their mean and standard deviation over time:
    a classic "bag of frames" baseline that, like the network's global pooling, discards the order of the frames;
``log-mel``
    the 40-band log-mel spectrogram of the central second (where the word is), averaged in 10 segments of 0.1 s:
    a baseline that keeps the order of the sounds in the word.

and, for each, these numbers (features standardised to zero mean and unit variance first):

* **silhouette** by word, by speaker and (espeak-ng voices) by speaker kind: mean over clips of
  ``(b - a) / max(a, b)``, ``a`` the mean distance to the clip's own class, ``b`` to the nearest other class.
  1 = tight, separated clusters; 0 = no structure; negative = closer to other classes than to its own;
* **k-NN accuracy** (k = 5, Euclidean): words with the *speakers held out* (GroupKFold by speaker, so a word is
  recognised in voices never seen), speakers with the *words held out* (GroupKFold by word), kinds with speakers
  held out;
* the **linear probe**, the paper's suggested remedy in its simplest form: a logistic regression on the embedding,
  cross-validated the same way; and the silhouette of its held-out outputs (word probabilities), which says how
  much separation one linear classifier buys.

Book: ``book/11_semantics.ipynb``.
"""
from __future__ import annotations

import numpy as np

from ..checkpoints import resolve_model
from ..transform import check_layer
from .cache import cached_arrays, model_key
# the representations and the metrics live in their own modules; their names stay importable from here
from .representations import (  # noqa: F401
    REPRESENTATIONS, _check_wordset, _log_mel, _log_mel_of, embed_words, logmel_features,
    mfcc_features, mfcc_stats, window_batch)
from .separation import (  # noqa: F401
    METRICS, _check_xy, _one_thread, _splits, _standardize, _threads1, knn_accuracy,
    linear_probe, project, silhouette, word_speaker_metrics)

__all__ = ["REPRESENTATIONS", "window_batch", "embed_words", "mfcc_stats", "mfcc_features", "logmel_features",
           "silhouette", "knn_accuracy", "linear_probe", "word_speaker_metrics", "project", "word_features", "semantics_probe",
           "semantics_compare", "metrics_table", "plot_map"]

SEMANTICS_VERSION = 2   # numbers and maps
FEATURES_VERSION = 1    # features


# ---------------------------------------------------------------------------------------------------------------
# The probe, cached
# ---------------------------------------------------------------------------------------------------------------
def _features(representation, wordset, model, *, seed, corpus, layer):
    if representation == "mfcc":
        return mfcc_features(wordset)
    if representation == "log-mel":
        return logmel_features(wordset)
    if representation == "trained":
        return embed_words(wordset, model, layer=layer)
    from .baseline import random_init_model

    return embed_words(wordset, random_init_model(model, corpus, seed=seed), layer=layer)


def _random_twin_key(model, corpus, seed) -> str:
    """Cache key of the random twin: its shape, seed and batch-norm corpus (not the trained weights)."""
    import os

    if corpus is None:
        src = os.environ.get("NEURALOGRAM_PROBE_CORPUS")
        if not src:
            try:
                from ..data.standin import corpus as _corpus
                from .baseline import DEFAULT_CORPUS

                src = _corpus.standin_path(**DEFAULT_CORPUS).name   # names the generator's parameters and code
            except (ImportError, AttributeError, TypeError):
                src = "default"
    elif isinstance(corpus, (str, os.PathLike)):
        src = str(corpus)
    else:  # a tensor or an open store: hash the twin itself
        from .baseline import random_init_model

        return model_key(random_init_model(model, corpus, seed=seed))
    return f"random-init:{sorted(model.architecture().items())}:seed={seed}:{src}"


def word_features(wordset, representation: str = "trained", model=None, info=None, *, seed: int = 0, corpus=None,
                  layer=None, cache: bool = True) -> np.ndarray:
    """The features of every clip of ``wordset`` in one representation, cached on disk.

    Parameters
    ----------
    wordset : WordSet
    representation : str
        One of :data:`REPRESENTATIONS`.
    model, info
        The trained model (a ``NeuralogramNet`` or a shipped name) and its info, for ``"trained"`` and
        ``"random-init"``; ignored otherwise.
    seed, corpus
        The random twin's seed and batch-norm corpus (see ``random_init_model``).
    layer : str, optional
        A conv layer instead of conv5_4 (network representations only).

    Returns
    -------
    np.ndarray [shape=(n_clips, n_features)], float32

    Book: ``book/11_semantics.ipynb``.
    """
    return _resolve(wordset, representation, model, info, seed=seed, corpus=corpus, layer=layer,
                    cache=cache)["X"]


def _resolve(wordset, representation, model, info, *, seed, corpus, layer, cache):
    """Validate, compute or load the features; returns dict(X, key, name, wordset, params)."""
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {list(REPRESENTATIONS)}, got {representation!r}")
    if wordset is None:
        from ..data.speech_commands import synthetic_words

        wordset = synthetic_words()
    wordset = _check_wordset(wordset, min_clips=4)      # the probe's metrics need a few clips per class
    needs_model = representation in ("trained", "random-init")
    name = REPRESENTATIONS[representation]
    if needs_model:
        if model is None:
            raise ValueError(f"representation {representation!r} needs a model (a NeuralogramNet or a shipped name)")
        model, info = resolve_model(model, info)
        if layer is not None:
            check_layer(model, layer)
        name = (info or {}).get("name", "unnamed model")
    else:
        layer = None
    if representation == "trained":
        key = model_key(model, info)
    elif representation == "random-init":
        key = _random_twin_key(model, corpus, seed)
        name = f"random-init twin of {name} (seed {seed})"
    else:
        key = "features"
    fparams = dict(wordset=wordset.fingerprint(), representation=representation, layer=layer,
                   seed=int(seed) if representation == "random-init" else None, version=FEATURES_VERSION)
    X = cached_arrays("semantic-features", fparams, key, lambda: dict(
        X=_features(representation, wordset, model, seed=seed, corpus=corpus, layer=layer)), cache=cache)["X"]
    return dict(X=np.asarray(X, np.float32), key=key, name=name, wordset=wordset, params=fparams)


def semantics_probe(model=None, info=None, *, wordset=None, representation: str = "trained", seed: int = 0,
                    corpus=None, layer=None, k: int = 5, n_splits: int = 5, C: float = 1.0,
                    cache: bool = True) -> dict:
    """Features, metrics and 2-D maps of a word set for one representation (cached on disk).

    The features (:func:`word_features`, the expensive part for a network) and the numbers and maps are cached
    separately, both keyed by the word set's fingerprint, the parameters and the model (its hash; for the random
    twin: its shape, seed and batch-norm corpus).

    Parameters
    ----------
    model : EmbeddingNet or str, optional
        The trained model (or a shipped model's name); needed for ``"trained"`` and ``"random-init"`` (whose
        twin copies its shape).
    info : dict, optional
        ``load_model``'s info (its ``hash`` keys the cache).
    wordset : WordSet, optional
        Default: :func:`neuralogram.data.speech_commands.synthetic_words` (10 words x 30 espeak-ng voices).
    representation : str
        One of :data:`REPRESENTATIONS`.
    seed : int
        Seeds the random twin (weights and batch-norm crops) and the t-SNE map.
    corpus
        Where the random twin's batch-norm statistics come from (see ``random_init_model``).
    layer : str, optional
        A conv layer instead of conv5_4 (network representations only).
    k, n_splits, C
        See :func:`word_speaker_metrics`.

    Returns
    -------
    dict
        ``X`` (n, d) features, ``pca`` and ``tsne`` (n, 2) maps, ``pca_var`` (2,) explained variance ratios,
        ``probe_pca`` (n, 2) PCA map of the linear probe's held-out word probabilities, ``word``, ``speaker``,
        ``kind`` (n,) labels, the numbers of :func:`word_speaker_metrics`, ``representation``, ``model`` (a
        readable name) and ``wordset`` (the set's fingerprint).

    Examples
    --------
    >>> model, info = load_model("vgg19-e500-standin")                               # doctest: +SKIP
    >>> semantics_probe(model, info)["knn_word"]                                     # doctest: +SKIP

    Book: ``book/11_semantics.ipynb``.
    """
    from sklearn.decomposition import PCA

    f = _resolve(wordset, representation, model, info, seed=seed, corpus=corpus, layer=layer, cache=cache)
    X, ws = f["X"], f["wordset"]
    params = dict(f["params"], seed=int(seed), k=int(k), n_splits=int(n_splits), C=float(C),
                  metrics_version=SEMANTICS_VERSION)

    def compute():
        met, proba = word_speaker_metrics(X, ws.word, ws.speaker, ws.kind, k=k, n_splits=n_splits, C=C,
                                          return_proba=True)
        with _threads1():
            pca = PCA(n_components=2, random_state=seed).fit(_standardize(np.asarray(X, np.float64)))
        return dict(pca=project(X, "pca", seed=seed), tsne=project(X, "tsne", seed=seed),
                    pca_var=pca.explained_variance_ratio_.astype(np.float64), probe_pca=project(proba, "pca"),
                    word=ws.word, speaker=ws.speaker, kind=ws.kind, **met)

    out = cached_arrays("semantics", params, f["key"], compute, cache=cache)
    out.update(X=X, representation=representation, model=f["name"], wordset=params["wordset"])
    return out


def semantics_compare(model, info=None, *, wordset=None, representations=tuple(REPRESENTATIONS), **kw) -> dict:
    """:func:`semantics_probe` for several representations of the same words: ``{representation: result}``.

    Book: ``book/11_semantics.ipynb``.
    """
    if wordset is None:
        from ..data.speech_commands import synthetic_words

        wordset = synthetic_words()
    if model is not None:
        model, info = resolve_model(model, info)
    return {r: semantics_probe(model, info, wordset=wordset, representation=r, **kw) for r in representations}


def metrics_table(results: dict, keys=tuple(METRICS), *, markdown: bool = False) -> str:
    """A table of the probe's numbers: one row per metric (with its chance level), one column per result.

    Rows that are NaN in every column (speaker kind, when the word set does not label it) are left out.

    Parameters
    ----------
    results : dict
        ``{column title: semantics_probe result}``.
    keys : sequence of str
        The metrics (keys of :data:`METRICS`), in row order.
    markdown : bool
        A Markdown table (for ``IPython.display.Markdown``: it wraps on a narrow page) instead of fixed-width text.

    Book: ``book/11_semantics.ipynb``.
    """
    if not results:
        raise ValueError("results is empty")
    cols = list(results)
    rows = []
    for key in keys:
        label, chance_key = METRICS[key]
        if all(np.isnan(float(results[c][key])) for c in cols):
            continue                      # e.g. speaker kind, unknown for real recordings
        ch = float(results[cols[0]][chance_key]) if chance_key else float("nan")
        rows.append((label, [float(results[c][key]) for c in cols], ch))
    if markdown:
        lines = ["| | " + " | ".join(cols) + " | chance |", "|:--" + "|--:" * (len(cols) + 1) + "|"]
        lines += [f"| {label} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {'' if np.isnan(ch) else f'{ch:.3f}'} |"
                  for label, vals, ch in rows]
        return "\n".join(lines)
    w = max(12, *(len(c) for c in cols))
    lines = [f"{'':48s}" + "".join(f"{c:>{w + 1}s}" for c in cols) + f"{'chance':>9s}"]
    lines += [f"{label:48s}" + "".join(f"{v:>{w + 1}.3f}" for v in vals) + ("" if np.isnan(ch) else f"{ch:9.3f}")
              for label, vals, ch in rows]
    return "\n".join(lines)


def plot_map(ax, result: dict, projection: str = "pca", colour_by: str = "word", *, legend: bool = True,
             title: str | None = None, s: float = 14.0):
    """Scatter one of a probe result's 2-D maps, one colour per word, speaker or speaker kind.

    Parameters
    ----------
    ax : matplotlib Axes
    result : dict
        A :func:`semantics_probe` result.
    projection : {"pca", "tsne", "probe"}
        PCA or t-SNE of the features, or PCA of the linear probe's held-out word probabilities.
    colour_by : {"word", "speaker", "kind"}
    legend : bool
        A legend (for words and kinds; 30 speakers get none).

    Book: ``book/11_semantics.ipynb``.
    """
    import matplotlib.pyplot as plt

    keys = {"pca": "pca", "tsne": "tsne", "probe": "probe_pca"}
    if projection not in keys:
        raise ValueError(f"projection must be one of {list(keys)}, got {projection!r}")
    if colour_by not in ("word", "speaker", "kind"):
        raise ValueError(f"colour_by must be 'word', 'speaker' or 'kind', got {colour_by!r}")
    P = np.asarray(result[keys[projection]])
    labels = np.asarray(result[colour_by]).astype(str)
    classes = list(dict.fromkeys(labels.tolist()))
    if colour_by == "speaker":
        cmap = plt.get_cmap("hsv")
        colours = {c: cmap(i / max(len(classes), 1)) for i, c in enumerate(classes)}
    else:
        cmap = plt.get_cmap("tab10")
        colours = {c: cmap(i % 10) for i, c in enumerate(classes)}
    for c in classes:
        m = labels == c
        ax.scatter(P[m, 0], P[m, 1], s=s, color=colours[c], label=c or "unknown", alpha=0.8, linewidths=0)
    ax.set_xticks([]), ax.set_yticks([])
    name = {"pca": "PCA", "tsne": "t-SNE", "probe": "linear probe (held out), PCA"}[projection]
    ax.set_title(title if title is not None else f"{result.get('representation', '')}: {name}", fontsize=10)
    if legend and colour_by != "speaker":
        ax.legend(fontsize=7, markerscale=1.2, ncol=2 if len(classes) > 5 else 1, loc="best", framealpha=0.6)
    return ax
