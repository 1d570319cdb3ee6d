"""The semantics probe (paper section 3.5): do spoken words, or their speakers, separate in the embedding?

The paper feeds "multiple spoken words by multiple speakers from the speech commands dataset" to the network,
draws PCA and t-SNE maps of the embeddings and sees "no observable separation of embeddings to various words or
speakers"; it suggests that "fine-tuning or transfer-learning on these features can perhaps understand and
separate these differences". This module turns the maps into numbers, for four representations of the same words:

``trained``
    the network's embedding (globally pooled conv5_4, E numbers);
``random-init``
    the same architecture with fresh weights and batch-norm statistics re-estimated on real audio
    (:func:`neuralogram.probes.baseline.random_init_model`): what the architecture gives without learning;
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
import torch

from ..audio import PAPER_SR
from ..checkpoints import resolve_model
from ..nets import EmbeddingNet
from ..transform import check_layer, embed_segments
from .cache import cached_arrays, model_key

__all__ = ["REPRESENTATIONS", "window_batch", "embed_words", "mfcc_stats", "mfcc_features", "logmel_features",
           "silhouette", "knn_accuracy", "linear_probe", "word_speaker_metrics", "project", "word_features", "semantics_probe",
           "semantics_compare", "metrics_table", "plot_map"]

#: name -> one-line description of each representation the probe compares
REPRESENTATIONS = {
    "trained": "trained network, embedding (pooled conv5_4)",
    "random-init": "same network, random weights (batch norm re-estimated)",
    "mfcc": "20 MFCCs, mean + std over time (40 numbers)",
    "log-mel": "40-band log-mel, 10 x 0.1 s segments (400 numbers)",
}
#: the numbers :func:`word_speaker_metrics` returns, in table order, with their chance level's key
METRICS = {
    "silhouette_word": ("silhouette by word", None),
    "silhouette_speaker": ("silhouette by speaker", None),
    "silhouette_kind": ("silhouette by speaker kind", None),
    "knn_word": ("k-NN word accuracy (speakers held out)", "chance_word"),
    "knn_speaker": ("k-NN speaker accuracy (words held out)", "chance_speaker"),
    "knn_kind": ("k-NN kind accuracy (speakers held out)", "chance_kind"),
    "probe_word": ("linear probe word accuracy (speakers held out)", "chance_word"),
    "probe_speaker": ("linear probe speaker accuracy (words held out)", "chance_speaker"),
    "probe_silhouette_word": ("silhouette by word after the linear probe", None),
}
SEMANTICS_VERSION = 2   # numbers and maps
FEATURES_VERSION = 1    # features


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


# ---------------------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------------------
def _check_xy(X, labels, groups=None):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be (n_samples, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or Inf")
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have one entry per row of X ({X.shape[0]}), got shape {labels.shape}")
    n_classes = np.unique(labels).size
    if n_classes < 2:
        raise ValueError("labels must contain at least 2 classes")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != labels.shape:
            raise ValueError(f"groups must have one entry per row of X ({X.shape[0]}), got shape {groups.shape}")
    return X, labels, groups


def _threads1():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _one_thread(func):
    """Run a small scikit-learn computation on one BLAS/OpenMP thread.

    These problems (a few hundred clips) gain nothing from threads, and on a busy machine (a training job on the
    other core) multi-threaded BLAS spin-waits: measured 30x slower on 2 shared cores.
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


def _standardize(X):
    sd = X.std(0)
    return (X - X.mean(0)) / np.where(sd > 0, sd, 1.0)


@_one_thread
def silhouette(X, labels) -> float:
    """Silhouette score of ``labels`` on the standardised features ``X`` (Euclidean distance).

    ``s_i = (b_i - a_i) / max(a_i, b_i)``; ``a_i`` the mean distance from clip ``i`` to its own class, ``b_i`` the
    smallest mean distance to another class; the score is the mean of ``s_i``, in [-1, 1]. Every feature is
    scaled to zero mean and unit variance first (constant features stay 0), so representations of different
    scales are compared on equal terms.

    Parameters
    ----------
    X : np.ndarray [shape=(n_samples, n_features)]
    labels : np.ndarray [shape=(n_samples,)]
        At least 2 classes and fewer classes than samples.

    Book: ``book/11_semantics.ipynb``.
    """
    from sklearn.metrics import silhouette_score

    X, labels, _ = _check_xy(X, labels)
    if np.unique(labels).size >= X.shape[0]:
        raise ValueError("silhouette needs fewer classes than samples (some class must have 2 members)")
    return float(silhouette_score(_standardize(X), labels, metric="euclidean"))


def _splits(labels, groups, n_splits):
    from sklearn.model_selection import GroupKFold

    n_groups = np.unique(groups).size
    if n_groups < 2:
        raise ValueError("groups must contain at least 2 groups (e.g. 2 speakers) to hold one out")
    return list(GroupKFold(n_splits=min(int(n_splits), n_groups)).split(np.zeros(len(labels)), labels, groups))


@_one_thread
def knn_accuracy(X, labels, groups, *, k: int = 5, n_splits: int = 5) -> float:
    """Cross-validated k-nearest-neighbour accuracy with whole groups held out (GroupKFold).

    Each fold standardises the features on its training part and classifies every held-out clip by the majority
    label of its ``k`` nearest training clips (Euclidean). With ``groups`` = speakers, the test words are spoken by
    voices the classifier has never heard.

    Parameters
    ----------
    X : np.ndarray [shape=(n_samples, n_features)]
    labels, groups : np.ndarray [shape=(n_samples,)]
    k : int
        Neighbours.
    n_splits : int
        Folds (at most the number of groups).

    Returns
    -------
    float
        Accuracy over all held-out clips, in [0, 1].

    Book: ``book/11_semantics.ipynb``.
    """
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, labels, groups = _check_xy(X, labels, groups)
    if groups is None:
        raise ValueError("groups is required (which clips belong together, e.g. the speaker)")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    correct = 0
    for tr, te in _splits(labels, groups, n_splits):
        clf = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=min(int(k), len(tr))))
        correct += int((clf.fit(X[tr], labels[tr]).predict(X[te]) == labels[te]).sum())
    return correct / len(labels)


@_one_thread
def linear_probe(X, labels, groups, *, C: float = 1.0, n_splits: int = 5):
    """Cross-validated accuracy of a logistic regression on ``X`` with whole groups held out (GroupKFold).

    The probe is ``StandardScaler -> LogisticRegression(C)`` (multinomial, L2 penalty, scikit-learn's default
    ``C = 1``), fitted on the training folds only.

    Returns
    -------
    accuracy : float
        Over all held-out clips, in [0, 1].
    proba : np.ndarray [shape=(n_samples, n_classes)]
        The held-out class probabilities of every clip, classes in sorted order (a class missing from a training
        fold gets 0): the probe's output, a point on the probability simplex, to measure (silhouette) or draw (PCA)
        how far the probe separates the classes. A confidently classified clip sits at its class's corner.

    Book: ``book/11_semantics.ipynb``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, labels, groups = _check_xy(X, labels, groups)
    if groups is None:
        raise ValueError("groups is required (which clips belong together, e.g. the speaker)")
    if not (isinstance(C, (int, float)) and not isinstance(C, bool) and C > 0):
        raise ValueError(f"C must be a positive number, got {C!r}")
    classes = np.unique(labels)
    proba = np.zeros((len(labels), classes.size))
    correct = 0
    for tr, te in _splits(labels, groups, n_splits):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=float(C), max_iter=2000))
        clf.fit(X[tr], labels[tr])
        proba[np.ix_(te, np.searchsorted(classes, clf.classes_))] = clf.predict_proba(X[te])
        correct += int((clf.predict(X[te]) == labels[te]).sum())
    return correct / len(labels), proba


@_one_thread
def word_speaker_metrics(X, word, speaker, kind=None, *, k: int = 5, n_splits: int = 5, C: float = 1.0,
                         return_proba: bool = False):
    """All the numbers of the semantics probe for one representation ``X`` (see the module docstring).

    Parameters
    ----------
    X : np.ndarray [shape=(n_clips, n_features)]
    word, speaker : np.ndarray [shape=(n_clips,)]
        Labels; every speaker should say several words and every word be said by several speakers.
    kind : np.ndarray [shape=(n_clips,)], optional
        Speaker kind (male / female / child); empty strings or ``None`` skip the kind numbers (NaN).
    k, n_splits, C
        See :func:`knn_accuracy` and :func:`linear_probe`.
    return_proba : bool
        Also return the word probe's held-out probabilities (n_clips, n_words).

    Returns
    -------
    dict of float
        The keys of :data:`METRICS`, the chance levels ``chance_word`` (majority word fraction),
        ``chance_speaker`` (majority speaker fraction) and ``chance_kind`` (majority kind fraction), and
        ``n_clips``, ``n_words``, ``n_speakers``, ``n_features``.

    Book: ``book/11_semantics.ipynb``.
    """
    X, word, speaker = _check_xy(X, word, speaker)
    if np.unique(speaker).size < 2:
        raise ValueError("speaker must contain at least 2 speakers")

    def chance(lab):
        return float(np.unique(lab, return_counts=True)[1].max() / len(lab))

    out = dict(n_clips=int(X.shape[0]), n_words=int(np.unique(word).size), n_speakers=int(np.unique(speaker).size),
               n_features=int(X.shape[1]), chance_word=chance(word), chance_speaker=chance(speaker))
    out["silhouette_word"] = silhouette(X, word)
    out["silhouette_speaker"] = silhouette(X, speaker)
    out["knn_word"] = knn_accuracy(X, word, speaker, k=k, n_splits=n_splits)
    out["knn_speaker"] = knn_accuracy(X, speaker, word, k=k, n_splits=n_splits)
    acc, proba = linear_probe(X, word, speaker, C=C, n_splits=n_splits)
    out["probe_word"] = acc
    out["probe_silhouette_word"] = silhouette(proba, word)
    out["probe_speaker"], _ = linear_probe(X, speaker, word, C=C, n_splits=n_splits)
    kind = None if kind is None else np.asarray(kind, dtype=str)
    if kind is not None and (kind == "").any():
        kind = None
    if kind is not None and np.unique(kind).size >= 2:
        out["silhouette_kind"] = silhouette(X, kind)
        out["knn_kind"] = knn_accuracy(X, kind, speaker, k=k, n_splits=n_splits)
        out["chance_kind"] = chance(kind)
    else:
        out.update(silhouette_kind=float("nan"), knn_kind=float("nan"), chance_kind=float("nan"))
    return (out, proba) if return_proba else out


@_one_thread
def project(X, method: str = "pca", *, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """A 2-D map of the standardised features: PCA or t-SNE (scikit-learn, fixed ``random_state``).

    t-SNE starts from the PCA map (``init="pca"``) with the given ``perplexity`` (clamped below the number of
    samples), so the same input gives the same map.

    Returns
    -------
    np.ndarray [shape=(n_samples, 2)]

    Book: ``book/11_semantics.ipynb``.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 3:
        raise ValueError(f"X must be (n_samples >= 3, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or Inf")
    Z = _standardize(X)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(Z)
    if method == "tsne":
        p = float(min(perplexity, (X.shape[0] - 1) / 3))
        return TSNE(n_components=2, perplexity=p, init="pca", random_state=seed, learning_rate="auto",
                    max_iter=1000).fit_transform(Z)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


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


def metrics_table(results: dict, keys=tuple(METRICS)) -> str:
    """A plain-text table of the probe's numbers: one row per metric (with its chance level), one column per result.

    Rows that are NaN in every column (speaker kind, when the word set does not label it) are left out.

    Parameters
    ----------
    results : dict
        ``{column title: semantics_probe result}``.

    Book: ``book/11_semantics.ipynb``.
    """
    if not results:
        raise ValueError("results is empty")
    cols = list(results)
    w = max(12, *(len(c) for c in cols))
    lines = [f"{'':48s}" + "".join(f"{c:>{w + 1}s}" for c in cols) + f"{'chance':>9s}"]
    for key in keys:
        label, chance_key = METRICS[key]
        if all(np.isnan(float(results[c][key])) for c in cols):
            continue                      # e.g. speaker kind, unknown for real recordings
        vals = "".join(f"{float(results[c][key]):>{w + 1}.3f}" for c in cols)
        ch = float(results[cols[0]][chance_key]) if chance_key else float("nan")
        lines.append(f"{label:48s}{vals}{'' if np.isnan(ch) else f'{ch:9.3f}'}")
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
