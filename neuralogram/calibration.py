"""Calibrated tag probabilities: temperature scaling, expected calibration error, and the out-of-set rule.

A network's sigmoid outputs are scores, not probabilities: the stand-in-only models said p(Music) > 0.5 on
95 % of speech windows. Temperature scaling (Guo et al. 2017) divides every logit by one number ``T`` fitted
on held-out clips (minimum binary cross-entropy); it does not change any ranking (AP, top-1 are the same) and
makes "p = 0.8" mean "right about 80 % of the time". A calibrated model can then say when *nothing* it knows is
confident (:func:`out_of_set`): a sound with no label in its set should not be named with certainty.

Expected calibration error (ECE, 15 equal-width bins): the count-weighted mean of ``|accuracy - confidence|``
over the bins. Two readings for multi-label tags:

* ``"top"`` (the default; what a reader sees): per clip, the confidence of the top tag, and whether the top tag
  is one of the clip's labels;
* ``"all"``: every (clip, class) pair, its probability and whether the label is present (dominated by the many
  easy negatives, so it is always small).

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["OUT_OF_SET_THRESHOLD", "expected_calibration_error", "reliability", "fit_temperature",
           "apply_temperature", "out_of_set", "calibration_report"]

#: Default of :func:`out_of_set`: when no calibrated tag probability reaches it, nothing is confident.
OUT_OF_SET_THRESHOLD = 0.5


def _check(proba, labels):
    P, Y = np.asarray(proba, np.float64), np.asarray(labels)
    if P.ndim != 2 or P.shape != Y.shape or P.shape[0] == 0:
        raise ValueError(f"proba and labels must be (n_clips, n_classes) arrays of one shape, got {P.shape} and {Y.shape}")
    if not np.isfinite(P).all() or P.min() < 0 or P.max() > 1:
        raise ValueError("proba must be probabilities in [0, 1]")
    return P, Y.astype(bool)


def _conf_correct(P, Y, kind):
    if kind == "top":
        k = P.argmax(1)
        return P[np.arange(len(P)), k], Y[np.arange(len(P)), k]
    if kind == "all":
        return P.ravel(), Y.ravel()
    raise ValueError(f"kind must be 'top' or 'all', got {kind!r}")


def reliability(proba, labels, *, n_bins: int = 15, kind: str = "top") -> dict:
    """Reliability-diagram data: per equal-width confidence bin, the mean confidence, accuracy and count.

    Parameters
    ----------
    proba, labels : np.ndarray [shape=(n_clips, n_classes)]
        Probabilities and multi-hot labels.
    n_bins : int
    kind : {"top", "all"}
        See the module docstring.

    Returns
    -------
    dict
        ``edges`` (n_bins + 1), ``confidence``, ``accuracy`` (NaN in empty bins), ``count``.

    Book: ``book/14_real_world.ipynb``.
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    conf, correct = _conf_correct(*_check(proba, labels), kind)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    b = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        c = np.bincount(b, weights=conf, minlength=n_bins) / count
        a = np.bincount(b, weights=correct.astype(float), minlength=n_bins) / count
    return {"edges": edges, "confidence": c, "accuracy": a, "count": count}


def expected_calibration_error(proba, labels, *, n_bins: int = 15, kind: str = "top") -> float:
    """Expected calibration error (15 equal-width bins by default): sum over bins of count/n x |acc - conf|.

    Book: ``book/14_real_world.ipynb``.
    """
    r = reliability(proba, labels, n_bins=n_bins, kind=kind)
    m = r["count"] > 0
    return float(np.sum(r["count"][m] * np.abs(r["accuracy"][m] - r["confidence"][m])) / r["count"].sum())


def apply_temperature(logits, temperature: float, *, loss: str = "bce") -> np.ndarray:
    """Probabilities from logits divided by ``temperature``: sigmoid (``loss="bce"``) or softmax (``"mse"``).

    Book: ``book/14_real_world.ipynb``.
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    z = np.asarray(logits, np.float64) / float(temperature)
    if loss == "bce":
        return 0.5 * (1.0 + np.tanh(0.5 * z))                 # sigmoid without overflow
    if loss == "mse":
        z = z - z.max(-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(-1, keepdims=True)
    raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")


def _nll(logits, Y, T, loss, objective="all"):
    P = np.clip(apply_temperature(logits, T, loss=loss), 1e-12, 1 - 1e-12)
    if objective == "top":         # the top tag's confidence against whether it is right (what a reader sees)
        k = logits.argmax(1)
        p, y = P[np.arange(len(P)), k], Y[np.arange(len(P)), k]
        return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))
    if loss == "bce":
        return float(-np.mean(np.where(Y, np.log(P), np.log1p(-P)).sum(1)))
    Yn = Y / np.maximum(Y.sum(1, keepdims=True), 1)
    return float(-np.mean((Yn * np.log(P)).sum(1)))


def fit_temperature(logits, labels, *, loss: str = "bce", objective: str = "all", bounds=(0.05, 20.0)) -> float:
    """The temperature that minimises the cross-entropy of ``logits / T`` against ``labels`` on held-out clips.

    Parameters
    ----------
    logits, labels : np.ndarray [shape=(n_clips, n_classes)]
    loss : {"bce", "mse"}
        The model's output: per-class sigmoids (binary cross-entropy) or a softmax (cross-entropy against the
        normalised multi-hot target).
    objective : {"all", "top"}
        ``"all"``: the cross-entropy of every clip-class pair (the usual temperature scaling); ``"top"``: the
        cross-entropy of each clip's top tag (its confidence against whether it is one of the clip's labels),
        which calibrates exactly what a reader of the tags sees. The ranking is the same either way.
    bounds : (float, float)
        Search range of ``T``.

    Returns
    -------
    float

    Book: ``book/14_real_world.ipynb``.
    """
    from scipy.optimize import minimize_scalar

    Z = np.asarray(logits, np.float64)
    Y = np.asarray(labels).astype(bool)
    if Z.ndim != 2 or Z.shape != Y.shape or not len(Z):
        raise ValueError(f"logits and labels must be (n_clips, n_classes) of one shape, got {Z.shape} and {Y.shape}")
    if not np.isfinite(Z).all():
        raise ValueError("logits contain NaN or Inf")
    if objective not in ("all", "top"):
        raise ValueError(f"objective must be 'all' or 'top', got {objective!r}")
    res = minimize_scalar(lambda lt: _nll(Z, Y, math.exp(lt), loss, objective), bounds=tuple(np.log(bounds)),
                          method="bounded", options={"xatol": 1e-4})
    return float(math.exp(res.x))


def out_of_set(proba, *, threshold: float = OUT_OF_SET_THRESHOLD):
    """True where nothing is confident: the largest (calibrated) tag probability is below ``threshold``.

    Parameters
    ----------
    proba : np.ndarray [shape=(n_classes,) or (n, n_classes)]
        Calibrated probabilities of one window or of many.
    threshold : float
        In (0, 1).

    Returns
    -------
    bool or np.ndarray of bool [shape=(n,)]

    Examples
    --------
    >>> out_of_set(np.array([0.1, 0.3, 0.2]))
    True

    Book: ``book/14_real_world.ipynb``.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    P = np.asarray(proba, np.float64)
    if P.ndim not in (1, 2) or P.shape[-1] == 0 or not np.isfinite(P).all():
        raise ValueError(f"proba must be a finite (n_classes,) or (n, n_classes) array, got shape {P.shape}")
    out = P.max(-1) < threshold
    return bool(out) if P.ndim == 1 else out


def calibration_report(logits, labels, *, loss: str = "bce", objective: str = "all", n_bins: int = 15,
                       seed: int = 0, threshold: float = OUT_OF_SET_THRESHOLD) -> dict:
    """Fit ``T`` on all clips and measure ECE before and after, including an honest two-fold estimate.

    The ECE after calibration on the same clips that fitted ``T`` is optimistic (slightly); ``ece_after_2fold``
    fits ``T`` on one random half and measures on the other, both ways, and averages.

    Returns
    -------
    dict
        ``temperature``, ``ece_before``, ``ece_after``, ``ece_after_2fold`` (top-label), ``ece_all_before`` /
        ``ece_all_after`` (every clip-class pair), ``nll_before``/``nll_after``, ``n_clips``, ``n_bins``,
        ``threshold`` and ``out_of_set_rate`` (fraction of these clips where nothing is confident after).

    Book: ``book/14_real_world.ipynb``.
    """
    Z, Y = np.asarray(logits, np.float64), np.asarray(labels).astype(bool)
    T = fit_temperature(Z, Y, loss=loss, objective=objective)
    P0, P1 = apply_temperature(Z, 1.0, loss=loss), apply_temperature(Z, T, loss=loss)
    idx = np.random.default_rng(seed).permutation(len(Z))
    halves = (idx[: len(Z) // 2], idx[len(Z) // 2:])
    folds = []
    for a, b in (halves, halves[::-1]):
        Ta = fit_temperature(Z[a], Y[a], loss=loss, objective=objective)
        folds.append(expected_calibration_error(apply_temperature(Z[b], Ta, loss=loss), Y[b], n_bins=n_bins))
    return {"temperature": round(T, 4), "objective": objective, "n_clips": int(len(Z)), "n_bins": int(n_bins),
            "ece_before": round(expected_calibration_error(P0, Y, n_bins=n_bins), 4),
            "ece_after": round(expected_calibration_error(P1, Y, n_bins=n_bins), 4),
            "ece_after_2fold": round(float(np.mean(folds)), 4),
            "ece_all_before": round(expected_calibration_error(P0, Y, n_bins=n_bins, kind="all"), 4),
            "ece_all_after": round(expected_calibration_error(P1, Y, n_bins=n_bins, kind="all"), 4),
            "nll_before": round(_nll(Z, Y, 1.0, loss), 4), "nll_after": round(_nll(Z, Y, T, loss), 4),
            "nll_top_before": round(_nll(Z, Y, 1.0, loss, "top"), 4), "nll_top_after": round(_nll(Z, Y, T, loss, "top"), 4),
            "threshold": float(threshold), "out_of_set_rate": round(float(out_of_set(P1, threshold=threshold).mean()), 4)}
