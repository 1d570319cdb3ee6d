"""The pitch probe (paper section 3.1, Fig. 2): the neuralogram of a chirp 4000 Hz -> 1 Hz -> 4000 Hz.

The paper sorts the embedding dimensions by where they peak and sees a diagonal: "a few filters getting
activated for a particular frequency range in a linear fashion", while "a random signal representation would
also yield the same activation pattern, but would lack the salience of the peak"; "there cease to be any
activations in the lowest frequency regions" and "only a subset of neurons gets fired". This module turns each
of those sentences into a number (see :func:`pitch_metrics`), computed for a trained model and for a fair
random-initialised baseline (:func:`neuralogram.probes.baseline.random_init_model`).

Book: ``book/07_pitch.ipynb`` (and ``book/08_embedding_size.ipynb`` for the comparison across E).
"""
from __future__ import annotations

import numpy as np

from .. import signals
from ..checkpoints import resolve_model
from .cache import cached_arrays, model_key
from ..transform import neuralogram
from .common import from_floor, spearman

__all__ = ["PITCH_DEFAULTS", "pitch_run", "pitch_metrics", "pitch_probe", "pitch_compare", "peak_order",
           "held_out_view"]

#: The full probe: 120 s chirp (60 s down, 60 s up), 2 s windows every 0.25 s -> 473 embeddings.
PITCH_DEFAULTS = dict(duration=120.0, f_high=4000.0, f_low=1.0, window=2.0, hop=0.25)


def pitch_run(model, info=None, *, duration: float = 120.0, f_high: float = 4000.0, f_low: float = 1.0,
              window: float = 2.0, hop: float = 0.25, layer=None, cache: bool = True, progress: bool = False) -> dict:
    """Compute (or load from the cache) the neuralogram of the down-up chirp.

    Parameters
    ----------
    model : EmbeddingNet or str
        A model, or the name of a shipped model (then ``info`` is loaded with it).
    info : dict, optional
        ``load_model``'s info; its ``hash`` keys the cache (else the weights are hashed).
    duration : float
        Seconds for the whole chirp (half down, half up).
    f_high, f_low : float
        Start/end and turning-point frequency in Hz.
    window, hop : float
        Neuralogram window and hop in seconds.
    layer : str, optional
        A conv layer name (default: conv5_4, the embedding).

    Returns
    -------
    dict
        ``N`` (E, T) float32 activations, ``times`` (T,) window centres in s, ``freqs`` (T,) chirp frequency at
        each window centre in Hz, ``down`` (T,) bool (window centre in the downward half), plus the parameters.

    Book: ``book/07_pitch.ipynb``.
    """
    model, info = resolve_model(model, info)
    params = dict(duration=float(duration), f_high=float(f_high), f_low=float(f_low), window=float(window),
                  hop=float(hop), layer=layer)

    def compute():
        y = signals.down_up_chirp(duration=duration, f_high=f_high, f_low=f_low, sr=model.sr)
        N, times = neuralogram(y, model, sr=model.sr, window=window, hop=hop, layer=layer, progress=progress)
        freqs = signals.down_up_frequency(times, f_high=f_high, f_low=f_low, duration=duration)
        return dict(N=N, times=times, freqs=freqs, down=times < duration / 2, **params)

    return cached_arrays("pitch", params, model_key(model, info), compute, cache=cache)


def peak_order(N, mask=None) -> np.ndarray:
    """Dimension indices sorted by the time (column) of their peak within ``mask`` (all columns by default).

    This is the paper's "shuffling pattern ... sorting via index of the pitch activations": row ``i`` of
    ``N[peak_order(N)]`` is the dimension that peaks ``i``-th.

    Book: ``book/07_pitch.ipynb``.
    """
    N = np.asarray(N)
    cols = np.arange(N.shape[1]) if mask is None else np.flatnonzero(mask)
    if cols.size == 0:
        raise ValueError("mask selects no columns")
    t_peak = cols[np.argmax(N[:, cols], axis=1)]
    return np.lexsort((np.arange(N.shape[0]), t_peak))


def pitch_metrics(N, freqs, down, *, active_threshold: float = 0.1, min_freq: float = 62.5,
                  salience_cap: float = 100.0, on_level: float = 0.5) -> dict:
    """Numbers for the paper's pitch claims, from a chirp neuralogram.

    Definitions (``peak_d`` is dimension d's largest activation over the whole chirp):

    - ``frac_active``: fraction of dimensions with ``peak_d > active_threshold * max_d peak_d`` ("only a subset
      of neurons gets fired"); the rest are dormant. ``frac_silent``: dimensions that are exactly 0 throughout.
    - ``salience``: median over active dimensions of ``peak_d / (median_t N[d, t] + peak_d / salience_cap)``:
      how far a dimension's peak stands above its typical level (capped at ``salience_cap`` for a dimension
      that is silent most of the time).
    - ``spearman_down_up``: dimensions are sorted by the time of their peak on the downward sweep (the
      sorted rank); Spearman correlation between that rank and the frequency at the same dimension's peak on
      the *upward* sweep (held out). +1: every dimension peaks at the same frequency on both sweeps, i.e. is
      tuned to a frequency; 0: no frequency tuning.
    - ``ridge_r2``: R^2 of log2(frequency) decoded from the standardised embedding by ridge regression fitted on
      the downward sweep (alpha by leave-one-out CV) and tested on the upward one (windows centred above
      ``min_freq`` Hz only, since a 2 s window straddles a wide range near the turning point). Dimensions that
      do not vary on the downward sweep (spread below 1e-3 of the median spread, or 1e-6) are left out of the fit
      (``ridge_dims``: how many were used): standardised by a ~0 spread, a unit silent on the way down but
      active on the way up would swamp the prediction.
    - ``tuning_width``: median over active dimensions of the fraction of the downward sweep during which the
      dimension is above half its downward peak (narrow tuning -> small).
    - ``on_fraction``: mean over windows of the fraction of active dimensions above ``on_level`` of their peak
      (how many "bins" a frequency is spread over).
    - ``f_cease``: the response level ``L(t)`` is the mean over active dimensions of ``N[d, t] / peak_d``;
      ``f_cease`` is the highest frequency below which ``L`` stays under half its median over the chirp
      ("there cease to be any activations in the lowest frequency regions"); it equals the lowest frequency
      seen when the response never ceases.

    Parameters
    ----------
    N : np.ndarray [shape=(E, T)]
    freqs : np.ndarray [shape=(T,)]
        Chirp frequency (Hz) at each window centre.
    down : np.ndarray [shape=(T,)], bool
        Windows of the downward sweep (the rest is the upward sweep).

    Returns
    -------
    dict of float (and ``n_dims``, ``n_active`` ints)

    Book: ``book/07_pitch.ipynb``.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    N = np.asarray(N, np.float64)
    freqs = np.asarray(freqs, np.float64)
    down = np.asarray(down, bool)
    if N.ndim != 2 or N.shape[1] != freqs.size or down.size != freqs.size:
        raise ValueError(f"N must be (E, T) with T = len(freqs) = len(down); got N {N.shape}, "
                         f"freqs {freqs.shape}, down {down.shape}")
    if down.all() or not down.any():
        raise ValueError("down must mark some (not all) windows as the downward sweep")
    if not np.isfinite(N).all():
        raise ValueError("N contains NaN or Inf")
    N = from_floor(N)   # a hard-swish embedding (mn04) can be negative: levels are read from its floor
    up = ~down
    E = N.shape[0]
    peak = N.max(1)
    gmax = peak.max()
    active = peak > active_threshold * gmax if gmax > 0 else np.zeros(E, bool)
    out = dict(n_dims=int(E), n_active=int(active.sum()), frac_active=float(active.mean()),
               frac_silent=float((peak <= 0).mean()))
    nan = float("nan")
    if active.sum() < 3:
        out.update(salience=nan, spearman_down_up=nan, ridge_r2=nan, tuning_width=nan, on_fraction=nan,
                   f_cease=nan)
        return out
    A = N[active]
    pk = A.max(1)
    out["salience"] = float(np.median(pk / (np.median(A, 1) + pk / salience_cap)))
    cols_d, cols_u = np.flatnonzero(down), np.flatnonzero(up)
    f_peak_down = freqs[cols_d[np.argmax(A[:, cols_d], 1)]]
    f_peak_up = freqs[cols_u[np.argmax(A[:, cols_u], 1)]]
    out["spearman_down_up"] = spearman(f_peak_down, f_peak_up)
    # ridge decoding: train on the downward sweep, test on the upward one
    keep = freqs >= min_freq
    tr, te = down & keep, up & keep
    X = np.log1p(N.T / (gmax + 1e-12) * 100)  # compress the heavy-tailed activations
    mu, sd = X[tr].mean(0), X[tr].std(0)
    # A dimension (nearly) constant on the down-sweep cannot be weighted by the fit, but standardising it by its
    # ~0 spread would blow up its up-sweep values (a unit silent going down, awake going up): leave it out.
    varies = sd > max(1e-6, 1e-3 * float(np.median(sd)))
    out["ridge_dims"] = int(varies.sum())
    if not varies.any():
        out.update(ridge_r2=nan, ridge_alpha=nan)
    else:
        Z = (X[:, varies] - mu[varies]) / sd[varies]
        target = np.log2(np.maximum(freqs, 1e-3))
        reg = RidgeCV(alphas=np.logspace(-2, 5, 15)).fit(Z[tr], target[tr])
        out["ridge_r2"] = float(r2_score(target[te], reg.predict(Z[te])))
        out["ridge_alpha"] = float(reg.alpha_)
    pk_down = A[:, cols_d].max(1)
    out["tuning_width"] = float(np.median((A[:, cols_d] > 0.5 * pk_down[:, None]).mean(1)))
    rel = A / pk[:, None]
    out["on_fraction"] = float((rel > on_level).mean(0).mean())
    level = rel.mean(0)
    low = level < 0.5 * np.median(level)
    order = np.argsort(freqs, kind="stable")
    f_sorted, low_sorted = freqs[order], low[order]
    n_low = int(np.argmin(low_sorted)) if not low_sorted.all() else low_sorted.size  # leading run of "low"
    out["f_cease"] = float(f_sorted[n_low - 1]) if n_low > 0 else float(f_sorted[0])
    return out


def pitch_probe(model, info=None, *, layer=None, cache: bool = True, progress: bool = False, **params) -> dict:
    """All pitch numbers for one model: :func:`pitch_run` (cached) followed by :func:`pitch_metrics`.

    ``params`` are :func:`pitch_run`'s signal/window parameters (defaults: :data:`PITCH_DEFAULTS`).

    Returns
    -------
    dict
        The numbers of :func:`pitch_metrics` plus ``model`` (its name, or ``"random"``-style label from info)
        and the parameters.

    Examples
    --------
    >>> model, info = load_model("vgg19-e500-standin")                    # doctest: +SKIP
    >>> pitch_probe(model, info)["spearman_down_up"]                        # doctest: +SKIP

    Book: ``book/07_pitch.ipynb``.
    """
    model, info = resolve_model(model, info)
    p = {**PITCH_DEFAULTS, **params}
    run = pitch_run(model, info, layer=layer, cache=cache, progress=progress, **p)
    out = pitch_metrics(run["N"], run["freqs"], run["down"])
    out.update(model=(info or {}).get("name", "unnamed"), layer=layer or "conv5_4", **p)
    return out


def pitch_compare(model, info=None, *, corpus=None, seed: int = 0, layer=None, cache: bool = True, **params) -> dict:
    """:func:`pitch_probe` for ``model`` and for its fair random-initialised twin.

    Returns
    -------
    dict
        ``{"trained": {...}, "random": {...}}``.

    Book: ``book/07_pitch.ipynb``.
    """
    from .baseline import compare_with_twin

    return compare_with_twin(pitch_probe, model, info, corpus=corpus, twin_seed=seed, layer=layer, cache=cache, **params)


def held_out_view(run: dict, sweep: str = "up", *, active_threshold: float = 0.1):
    """One sweep of a chirp run, its active dimensions sorted on the *other* sweep: a diagonal that is evidence.

    Sorted by where they peak on the sweep that is shown, any dimensions whose peaks are spread draw a diagonal,
    tuned or not; sorted by the frequency at which they peak on the other sweep, a diagonal means each dimension
    lights up again where it peaked before (the picture of ``pitch_metrics``' Spearman down / up).

    Parameters
    ----------
    run : dict
        A :func:`pitch_run` result (``N``, ``freqs``, ``down``).
    sweep : {"up", "down"}
        The sweep to show.
    active_threshold : float
        Active dimensions: whole-chirp peak above this fraction of the strongest's.

    Returns
    -------
    (Z, freqs) or (None, None)
        ``Z`` (active, columns): each active dimension on the shown sweep divided by its peak there, rows from the
        lowest peak frequency on the other sweep up; ``freqs`` (Hz), increasing. ``(None, None)`` if none is active.

    Book: ``book/08_embedding_size.ipynb``.
    """
    if sweep not in ("up", "down"):
        raise ValueError(f"sweep must be 'up' or 'down', got {sweep!r}")
    N, f, down = np.asarray(run["N"]), np.asarray(run["freqs"]), np.asarray(run["down"], bool)
    pk = N.max(1)
    act = np.flatnonzero(pk > active_threshold * pk.max()) if pk.max() > 0 else np.array([], int)
    if act.size == 0:
        return None, None
    show, other = (np.flatnonzero(down), np.flatnonzero(~down))[:: 1 if sweep == "down" else -1]
    show = show[np.argsort(f[show], kind="stable")]
    f_other = f[other[N[act][:, other].argmax(1)]]
    A = N[act[np.argsort(f_other, kind="stable")]][:, show]
    return A / np.maximum(A.max(1, keepdims=True), 1e-12), f[show]
