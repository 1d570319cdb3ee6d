"""The rhythm probe (paper section 3.4, Fig. 4): impulse trains whose period moves linearly from 100 ms (and
from 200 ms) to 1 ms over 300 s, and the side experiment of a fixed rate with changed beat patterns.

The paper sees "a piecewise nature and abrupt ending at around 20-30 Hz ... irrespective of the start point".
Here the regime change is estimated by a stated method (:func:`regime_change`), for both start periods, for a
trained model and its random-initialised twin.

The input has a regime change of its own (:func:`input_features`): with the spectrogram's 30 ms window, slow
clicks leave empty frames between them and fast ones fill every frame. Chapter 9 measures it at 0.89-0.93 times
the rate whose period equals the window (31.0 and 30.0 Hz from the two start periods), moving with the window
length and not with the hop.

Book: ``book/09_rhythm.ipynb``.
"""
from __future__ import annotations

import numpy as np

from .. import signals
from ..audio import PAPER_SR, check_positive
from ..checkpoints import resolve_model
from ..transform import neuralogram
from .cache import cached_arrays, model_key
from .common import from_floor

__all__ = ["RHYTHM_DEFAULTS", "PATTERNS", "rhythm_run", "input_features", "regime_change", "rhythm_probe",
           "rhythm_compare", "beat_pattern", "pattern_run", "pattern_probe"]

#: The paper's probe: 300 s, period 100 ms -> 1 ms, neuralogram hop 0.5 s (597 windows).
RHYTHM_DEFAULTS = dict(duration=300.0, period_start=0.1, period_end=0.001, window=2.0, hop=0.5)


def rhythm_run(model, info=None, *, duration: float = 300.0, period_start: float = 0.1, period_end: float = 0.001,
               window: float = 2.0, hop: float = 0.5, layer=None, cache: bool = True, progress: bool = False) -> dict:
    """Compute (or load from the cache) the neuralogram of an impulse train with a linearly moving period.

    Returns
    -------
    dict
        ``N`` (E, T) activations, ``times`` (T,) window centres (s), ``rates`` (T,) impulse rate (Hz) at each
        window centre, plus the parameters.

    Book: ``book/09_rhythm.ipynb``.
    """
    model, info = resolve_model(model, info)
    params = dict(duration=float(duration), period_start=float(period_start), period_end=float(period_end),
                  window=float(window), hop=float(hop), layer=layer)

    def compute():
        y = signals.impulse_train_sweep(duration=duration, period_start=period_start, period_end=period_end,
                                        sr=model.sr)
        N, times = neuralogram(y, model, sr=model.sr, window=window, hop=hop, layer=layer, progress=progress)
        rates = 1.0 / signals.sweep_period(times, period_start=period_start, period_end=period_end,
                                           duration=duration)
        return dict(N=N, times=times, rates=rates, **params)

    return cached_arrays("rhythm", params, model_key(model, info), compute, cache=cache)


def input_features(y, *, spec=None, sr: int = PAPER_SR, window: float = 2.0, hop: float = 0.5,
                   batch_size: int = 64) -> np.ndarray:
    """The input's side of the rhythm probe: what the spectrogram itself does under a sweep, window by window.

    For each ``window``-second window every ``hop`` seconds (the windows :func:`rhythm_run` embeds), the mean and
    the standard deviation over time of every spectrogram bin; each row is shifted to start at 0, so that
    :func:`regime_change` reads the features as it reads activations.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The signal at ``sr`` (e.g. :func:`neuralogram.signals.impulse_train_sweep`).
    spec : torch.nn.Module, optional
        The spectrogram: :class:`neuralogram.spectral.LinearSpectrogram` (the paper's) by default; pass another
        window or hop to see the input's change move.
    sr : int
        Sample rate (Hz).
    window, hop : float
        Window length and hop (s).

    Returns
    -------
    np.ndarray [shape=(2 x bins, windows)]
        Rows ``0 .. bins - 1``: the mean over time; rows ``bins ..``: the standard deviation.

    Book: ``book/09_rhythm.ipynb``.
    """
    import torch

    from ..spectral import LinearSpectrogram

    y = np.asarray(y, dtype=np.float32)
    check_positive(window, "window")
    check_positive(hop, "hop")
    n_w, n_h = int(round(window * sr)), int(round(hop * sr))
    if y.ndim != 1 or y.size < n_w:
        raise ValueError(f"y must be a 1-D signal of at least one window ({n_w} samples), got shape {y.shape}")
    spec = LinearSpectrogram() if spec is None else spec
    starts = np.arange(0, y.size - n_w + 1, n_h)
    feats = []
    with torch.no_grad():
        for a in range(0, len(starts), batch_size):
            S = spec(torch.stack([torch.from_numpy(y[s:s + n_w]) for s in starts[a:a + batch_size]]))
            feats.append(torch.cat([S.mean(-1), S.std(-1)], 1).numpy())
    F = np.concatenate(feats).T
    return F - F.min(1, keepdims=True)


def _two_segment(Z: np.ndarray, min_size: int) -> tuple[int, float]:
    """Best split b of the rows of Z into Z[:b], Z[b:] minimising the within-segment sum of squares."""
    n = Z.shape[0]
    c1 = np.cumsum(Z, 0)
    c2 = np.cumsum((Z ** 2).sum(1))
    tot1, tot2 = c1[-1], c2[-1]
    best, best_b = np.inf, min_size
    for b in range(min_size, n - min_size + 1):
        s_l, s_r = c1[b - 1], tot1 - c1[b - 1]
        sse = (c2[b - 1] - (s_l @ s_l) / b) + ((tot2 - c2[b - 1]) - (s_r @ s_r) / (n - b))
        if sse < best:
            best, best_b = sse, b
    total = tot2 - (tot1 @ tot1) / n
    return best_b, float(1 - best / total) if total > 0 else 0.0


def regime_change(N, rates, *, active_threshold: float = 0.1, min_fraction: float = 0.05) -> dict:
    """Estimate the impulse rate (Hz) at which the neuralogram changes regime.

    Method (stated so it can be criticised): keep the active dimensions (peak above ``active_threshold`` of the
    largest peak), scale each by its peak so that every dimension counts equally, and split the sequence of
    embeddings into two contiguous segments so that the within-segment sum of squared deviations from each
    segment's mean is smallest (the optimal two-segment, least-squares change point; each segment holds at
    least ``min_fraction`` of the windows). The rate at the boundary is the estimate. ``explained`` is the
    fraction of the total variance the split explains (0: no change point, 1: two constant regimes).

    Also returned: ``level_rate``, the rate at which the mean scaled response ``L(t)`` (mean over active
    dimensions of ``N[d, t] / peak_d``) has lost half of its drop from the slow-rate end to the fast-rate end;
    and ``peak_rate_median``, the median rate at which the active dimensions peak.

    Parameters
    ----------
    N : np.ndarray [shape=(E, T)]
    rates : np.ndarray [shape=(T,)]
        Impulse rate in Hz at each window centre.

    Returns
    -------
    dict with ``rate`` (Hz), ``explained``, ``level_rate`` (Hz), ``peak_rate_median`` (Hz), ``n_active``.

    Book: ``book/09_rhythm.ipynb``.
    """
    N = np.asarray(N, np.float64)
    rates = np.asarray(rates, np.float64)
    if N.ndim != 2 or N.shape[1] != rates.size:
        raise ValueError(f"N must be (E, T) with T = len(rates); got N {N.shape}, rates {rates.shape}")
    if N.shape[1] < 10:
        raise ValueError(f"need at least 10 windows to find a change point, got {N.shape[1]}")
    if not np.isfinite(N).all():
        raise ValueError("N contains NaN or Inf")
    N = from_floor(N)   # a hard-swish embedding (mn04) can be negative: levels are read from its floor
    peak = N.max(1)
    active = peak > active_threshold * peak.max() if peak.max() > 0 else np.zeros(len(peak), bool)
    nan = float("nan")
    if active.sum() < 2:
        return dict(rate=nan, explained=nan, level_rate=nan, peak_rate_median=nan, n_active=int(active.sum()))
    rel = N[active] / peak[active, None]
    b, explained = _two_segment(rel.T, max(2, int(min_fraction * N.shape[1])))
    rate = float(np.sqrt(rates[b - 1] * rates[b]))  # geometric midpoint of the two windows around the split
    level = rel.mean(0)
    k = max(3, N.shape[1] // 50)
    smooth = np.convolve(np.pad(level, k // 2, mode="edge"), np.ones(k) / k, mode="valid")[: level.size]
    order = np.argsort(rates)
    lo, hi = smooth[order][: max(1, level.size // 20)].mean(), smooth[order][-max(1, level.size // 20):].mean()
    half = (lo + hi) / 2
    crossed = np.flatnonzero((smooth[order] - half) * np.sign(lo - hi) < 0)
    level_rate = float(rates[order][crossed[0]]) if crossed.size and lo != hi else nan
    t_peak = np.argmax(N[active], 1)
    return dict(rate=rate, explained=explained, level_rate=level_rate,
                peak_rate_median=float(np.median(rates[t_peak])), n_active=int(active.sum()))


def rhythm_probe(model, info=None, *, layer=None, cache: bool = True, progress: bool = False, **params) -> dict:
    """Regime-change numbers for the impulse-train sweep from each start period (100 ms and 200 ms).

    ``params`` override :data:`RHYTHM_DEFAULTS` (``period_start`` is ignored: both 0.1 and 0.2 s are run).

    Returns
    -------
    dict
        ``rate_100ms``, ``rate_200ms`` (Hz, :func:`regime_change`'s ``rate``), ``explained_100ms``,
        ``explained_200ms``, ``level_rate_100ms``, ``level_rate_200ms``, ``peak_rate_median_100ms``,
        ``peak_rate_median_200ms``, ``model``, ``layer`` and the parameters.

    Book: ``book/09_rhythm.ipynb``.
    """
    model, info = resolve_model(model, info)
    p = {**RHYTHM_DEFAULTS, **params}
    p.pop("period_start")
    out = dict(model=(info or {}).get("name", "unnamed"), layer=layer or "conv5_4", **p)
    for p0, tag in ((0.1, "100ms"), (0.2, "200ms")):
        run = rhythm_run(model, info, period_start=p0, layer=layer, cache=cache, progress=progress, **p)
        rc = regime_change(run["N"], run["rates"])
        for k in ("rate", "explained", "level_rate", "peak_rate_median"):
            out[f"{k}_{tag}"] = rc[k]
    return out


def rhythm_compare(model, info=None, *, corpus=None, seed: int = 0, layer=None, cache: bool = True,
                   pattern_params: dict | None = None, **params) -> dict:
    """:func:`rhythm_probe` and :func:`pattern_probe` for ``model`` and its fair random-initialised twin.

    ``params`` go to :func:`rhythm_probe`, ``pattern_params`` to :func:`pattern_probe` (whose float numbers are
    added with a ``pattern_`` prefix).

    Returns ``{"trained": {...}, "random": {...}}``.

    Book: ``book/09_rhythm.ipynb``.
    """
    from .baseline import compare_with_twin

    def both(m, inf, **kw):
        r = rhythm_probe(m, inf, **kw)
        pat = pattern_probe(m, inf, layer=layer, cache=cache, **(pattern_params or {}))
        r.update({f"pattern_{k}": v for k, v in pat.items() if isinstance(v, float)})
        return r

    return compare_with_twin(both, model, info, corpus=corpus, twin_seed=seed, layer=layer, cache=cache, **params)


# ------------------------------------------------------------------ fixed rate, changed pattern or emphasis
#: Beat patterns at a fixed beat rate: (beats per bar, [(onset in beats, amplitude), ...]).
PATTERNS = {
    "isochronous": (1, [(0.0, 1.0)]),
    "accent 1 of 2": (2, [(0.0, 1.0), (1.0, 0.3)]),
    "accent 1 of 3": (3, [(0.0, 1.0), (1.0, 0.3), (2.0, 0.3)]),
    "accent 1 of 4": (4, [(0.0, 1.0), (1.0, 0.3), (2.0, 0.3), (3.0, 0.3)]),
    "every 4th missing": (4, [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]),
    "swing (2:1)": (2, [(0.0, 1.0), (4 / 3, 1.0)]),
}


def beat_pattern(pattern, *, rate: float = 4.0, duration: float = 12.0, sr: int = PAPER_SR, phase: float = 0.0):
    """An impulse signal repeating a beat pattern at ``rate`` beats per second.

    Parameters
    ----------
    pattern : str or (int, list of (float, float))
        A name in :data:`PATTERNS` or ``(beats_per_bar, [(onset_in_beats, amplitude), ...])``.
    rate : float
        Beats per second (Hz).
    duration : float
        Seconds.
    phase : float
        Offset of the first bar in seconds (to measure how much a shift alone changes the embedding).

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),)], float32

    Book: ``book/09_rhythm.ipynb``.
    """
    if isinstance(pattern, str):
        if pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}; known: {list(PATTERNS)}")
        pattern = PATTERNS[pattern]
    beats, hits = pattern
    rate = check_positive(rate, "rate")
    duration = check_positive(duration, "duration")
    if not hits:
        raise ValueError("a pattern needs at least one hit")
    bar = beats / rate
    n = int(round(duration * sr))
    y = np.zeros(n, np.float32)
    starts = np.arange(phase % bar - bar, duration, bar)
    for onset, amp in hits:
        t = starts + onset / rate
        t = t[(t >= 0) & (t < duration)]
        y[np.round(t * sr).astype(np.int64).clip(0, n - 1)] += amp
    return y


def pattern_run(model, info=None, *, patterns=None, rate: float = 3.7, duration: float = 12.0, window: float = 2.0,
                hop: float = 0.13, layer=None, cache: bool = True) -> dict:
    """Mean embeddings of each beat pattern at a fixed rate, for two phases each.

    Returns
    -------
    dict
        ``names`` (P,), ``means`` (P, 2, E): the mean embedding of each pattern at phase 0 and at phase = half a
        beat (windows every ``hop`` s), ``N0`` (P, E, T) the neuralograms at phase 0. The default hop (0.13 s)
        is not a multiple of the beat or bar, so the windows fall at many positions relative to the beats and
        the mean embedding does not depend on one particular alignment; likewise the default rate (3.7 Hz, a
        270.3 ms beat) is not a multiple of the 10 ms spectrogram hop, so clicks fall at every position relative
        to the spectrogram frames (at 4 Hz every click would sit at the same point of its frame, and a shift of
        half a beat would move all of them to between two frames: a change of the *input* that has nothing to
        do with rhythm).

    Book: ``book/09_rhythm.ipynb``.
    """
    model, info = resolve_model(model, info)
    names = list(PATTERNS) if patterns is None else list(patterns)
    for nm in names:
        if nm not in PATTERNS:
            raise ValueError(f"unknown pattern {nm!r}; known: {list(PATTERNS)}")
    params = dict(patterns=names, rate=float(rate), duration=float(duration), window=float(window),
                  hop=float(hop), layer=layer)

    def compute():
        means, N0 = [], []
        for nm in names:
            row = []
            for ph in (0.0, 0.5 / rate):
                y = beat_pattern(nm, rate=rate, duration=duration, sr=model.sr, phase=ph)
                N, _ = neuralogram(y, model, sr=model.sr, window=window, hop=hop, layer=layer)
                row.append(N.mean(1))
                if ph == 0.0:
                    N0.append(N)
            means.append(np.stack(row))
        return dict(names=np.asarray(names), means=np.stack(means), N0=np.stack(N0), **params)

    return cached_arrays("pattern", params, model_key(model, info), compute, cache=cache)


def pattern_probe(model, info=None, *, layer=None, cache: bool = True, **params) -> dict:
    """How much a change of beat pattern at a fixed rate changes the embedding, against a shift of phase alone.

    ``between`` is the median cosine distance between the mean embeddings of two different patterns;
    ``within`` the median cosine distance between the same pattern at two phases (half a beat apart);
    ``ratio = between / within`` (> 1: the neuralogram tells the patterns apart beyond the effect of where the
    window falls; the paper "saw changes in the Neuralogram").

    Returns
    -------
    dict with ``between``, ``within``, ``ratio`` (float), ``distances`` (P x P list), ``names``.

    Book: ``book/09_rhythm.ipynb``.
    """
    run = pattern_run(model, info, layer=layer, cache=cache, **params)
    M = np.asarray(run["means"], np.float64)  # (P, 2, E)
    U = M / (np.linalg.norm(M, axis=-1, keepdims=True) + 1e-12)
    A = U[:, 0]
    D = 1 - A @ A.T
    P = len(A)
    iu = np.triu_indices(P, 1)
    within = 1 - np.sum(U[:, 0] * U[:, 1], -1)
    between, within_m = float(np.median(D[iu])), float(np.median(within))
    return dict(between=between, within=within_m, ratio=between / within_m if within_m > 0 else float("inf"),
                distances=D.tolist(), names=[str(n) for n in run["names"]])
