"""How far classes separate in a representation: silhouette, k-NN accuracy and a linear probe with whole groups
held out (GroupKFold), all of them together (:func:`word_speaker_metrics`, the numbers of :data:`METRICS`), and
2-D maps (:func:`project`). Features are standardised first; scikit-learn runs on one thread.

Book: ``book/11_semantics.ipynb``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "silhouette", "knn_accuracy", "linear_probe", "word_speaker_metrics", "project"]

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

