"""Figures shared by the chapters: spectrograms with time in seconds and frequency in Hz, waveforms, matrices.

Book: ``book/01_signals.ipynb`` (waveforms), ``book/02_stft.ipynb`` (:func:`specshow`) and
``book/03_linear_variants.ipynb`` (:func:`matshow`); used by every later chapter.
"""
from __future__ import annotations

import numpy as np

from ..audio import PAPER_SR

__all__ = ["specshow", "waveshow", "matshow", "PITCH_CLASSES"]

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _to_numpy(S) -> np.ndarray:
    if hasattr(S, "detach"):
        S = S.detach().cpu().numpy()
    S = np.asarray(S)
    if np.iscomplexobj(S):
        raise ValueError("specshow needs a real array: pass |X|, |X|^2 or log|X|^2, not the complex STFT")
    return S


def _label(ax, im, xlabel, ylabel, title, cbar_label):
    """Axis labels, title and (unless ``cbar_label`` is None or False) a colour bar with that label."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if cbar_label is not None and cbar_label is not False:
        cb = ax.figure.colorbar(im, ax=ax, pad=0.01)
        if cbar_label:
            cb.set_label(cbar_label)
    return im


def _edges(centres: np.ndarray, log: bool = False) -> np.ndarray:
    """Cell edges halfway between centres (geometric halfway for a log axis)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    if log:
        lc = np.log(c)
        mid = np.exp((lc[1:] + lc[:-1]) / 2)
        return np.concatenate([[c[0] ** 2 / mid[0]], mid, [c[-1] ** 2 / mid[-1]]])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def specshow(S, *, sr: int = PAPER_SR, hop_length: int = 80, n_fft: int | None = None, ax=None,
             y_axis: str = "linear", y_coords=None, x_coords=None, cmap: str = "magma", colorbar: bool = True,
             cbar_label: str | None = "log power", title: str | None = None, vmin=None, vmax=None):
    """Draw a spectrogram-like image with time (s) across and frequency (Hz) up.

    Parameters
    ----------
    S : np.ndarray or torch.Tensor [shape=(n_bins, n_frames)]
        Real values (e.g. ``linear_spectrogram`` output).
    sr, hop_length : int
        Frame ``m`` is drawn centred on ``m * hop_length / sr`` seconds.
    n_fft : int
        For ``y_axis="linear"``: bin ``k`` is at ``k * sr / n_fft`` Hz (default ``2 * (n_bins - 1)``).
    ax : matplotlib Axes
        Where to draw (default: a new figure).
    y_axis : {"linear", "log", "mel", "chroma", "lag", "index"}
        ``linear``: FFT bins in Hz. ``log``/``mel``: rows at ``y_coords`` Hz (log axis for ``log``).
        ``chroma``: rows labelled C .. B. ``lag``: rows are lags ``0, 1, ...`` samples, shown in ms.
        ``index``: row numbers.
    y_coords, x_coords : array-like
        Explicit row centres (Hz for log/mel) and frame times (s).
    cmap, colorbar, cbar_label, title, vmin, vmax
        Appearance.

    Returns
    -------
    matplotlib.collections.QuadMesh or AxesImage

    Book: ``book/02_stft.ipynb``.
    """
    import matplotlib.pyplot as plt

    S = _to_numpy(S)
    if S.ndim != 2 or 0 in S.shape:
        raise ValueError(f"S must be a non-empty 2-D array (n_bins, n_frames), got shape {S.shape}")
    n_bins, n_frames = S.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    t = np.arange(n_frames) * hop_length / sr if x_coords is None else np.asarray(x_coords, float)
    x_edges = _edges(t)
    label = "frequency (Hz)"
    if y_axis == "linear":
        n_fft = 2 * (n_bins - 1) if n_fft is None else n_fft
        y = np.arange(n_bins) * sr / n_fft if y_coords is None else np.asarray(y_coords, float)
        im = ax.imshow(S, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                       extent=[x_edges[0], x_edges[-1], *_edges(y)[[0, -1]]])
    elif y_axis in ("log", "mel"):
        if y_coords is None:
            raise ValueError(f"y_axis={y_axis!r} needs y_coords (the centre frequency of each row, in Hz)")
        y = np.asarray(y_coords, float)
        im = ax.pcolormesh(x_edges, _edges(y, log=y_axis == "log"), S, cmap=cmap, vmin=vmin, vmax=vmax,
                           shading="flat")
        if y_axis == "log":
            ax.set_yscale("log", base=2)
            from matplotlib.ticker import ScalarFormatter
            ax.yaxis.set_major_formatter(ScalarFormatter())
    elif y_axis in ("chroma", "index", "lag"):
        im = ax.imshow(S, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                       extent=[x_edges[0], x_edges[-1], -0.5, n_bins - 0.5])
        if y_axis == "chroma":
            ax.set_yticks(range(n_bins))
            ax.set_yticklabels([PITCH_CLASSES[i % 12] for i in range(n_bins)])
            label = "pitch class"
        elif y_axis == "lag":
            ticks = ax.get_yticks()
            ticks = ticks[(ticks >= 0) & (ticks < n_bins)]
            ax.set_yticks(ticks)
            ax.set_yticklabels([f"{1e3 * v / sr:g}" for v in ticks])
            label = "lag (ms)"
        else:
            label = "index"
    else:
        raise ValueError(f"y_axis must be one of linear, log, mel, chroma, lag, index; got {y_axis!r}")
    return _label(ax, im, "time (s)", label, title, colorbar and (cbar_label or ""))


def waveshow(y, *, sr: int, ax=None, max_points: int = 20000, color: str = "C0", title: str | None = None,
             offset: float = 0.0):
    """Plot a waveform against time in seconds; long signals are drawn as their min/max envelope.

    Parameters
    ----------
    y : array-like [shape=(n,)]
    sr : int
        Sample rate in Hz.
    ax : matplotlib Axes
    max_points : int
        Above this many samples, plot the min and max of ``max_points // 2`` equal blocks (so no peak is lost).
    offset : float
        Time in seconds of the first sample.

    Book: ``book/01_signals.ipynb``.
    """
    import matplotlib.pyplot as plt

    y = _to_numpy(y).astype(float).ravel()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.2))
    if y.size > max_points:
        n_blocks = max_points // 2
        edges = np.linspace(0, y.size, n_blocks + 1).astype(int)
        lo = np.minimum.reduceat(y, edges[:-1])
        hi = np.maximum.reduceat(y, edges[:-1])
        t = offset + (edges[:-1] + edges[1:]) / 2 / sr
        ax.fill_between(t, lo, hi, color=color, linewidth=0.5)
    else:
        ax.plot(offset + np.arange(y.size) / sr, y, color=color, linewidth=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.margins(x=0)
    if title:
        ax.set_title(title)
    return ax


def matshow(M, *, ax=None, title: str | None = None, x_coords=None, xlabel: str = "input index",
            ylabel: str = "output row", cmap: str = "viridis", colorbar: bool = True, vmin=None, vmax=None):
    """Show a matrix (e.g. a filterbank ``T``, shape ``(n_out, n_in)``) with row 0 at the bottom.

    ``x_coords`` (e.g. the FFT bin frequencies in Hz) relabels the columns.

    Book: ``book/03_linear_variants.ipynb``.
    """
    import matplotlib.pyplot as plt

    M = _to_numpy(M)
    if M.ndim != 2:
        raise ValueError(f"M must be 2-D, got shape {M.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    if x_coords is None:
        extent = [-0.5, M.shape[1] - 0.5, -0.5, M.shape[0] - 0.5]
    else:
        xe = _edges(np.asarray(x_coords, float))
        extent = [xe[0], xe[-1], -0.5, M.shape[0] - 0.5]
    im = ax.imshow(M, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, extent=extent,
                   interpolation="nearest")
    return _label(ax, im, xlabel, ylabel, title, "" if colorbar else None)


# ---------------------------------------------------------------------------------------------------------------
# Part III (transform): the neuralogram and the paper's Fig. 1 layout (chapter 6).
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["neuralogram_show", "neuralogram_figure"]


def neuralogram_show(N, times, *, ax=None, order=None, n_active: int | None = None, cmap: str = "magma",
                     colorbar: bool = True, vmin=0.0, vmax=None, title: str | None = None,
                     cbar_label: str | None = "activation", xlabel: str = "time (s)", ylabel: str | None = None,
                     row_scale: bool = False):
    """Draw a neuralogram (E, T) with time (s) across and the embedding index up: the one neuralogram renderer.

    Convention (the book's, as for a spectrogram's frequency bins): the first drawn row is at the **bottom**. Drawn
    sorted, the first dimension of ``order`` (the earliest peak for :func:`neuralogram.sort_indices`) is the bottom
    row and the dormant dimensions are at the top.

    Parameters
    ----------
    N : np.ndarray [shape=(E, T)]
    times : array-like [shape=(T,)]
        Frame centres in seconds (the second output of :func:`neuralogram.neuralogram`), or any other evenly spaced
        coordinate of the columns (with ``xlabel``): the columns are drawn as equal-width cells from the first to the
        last, so an unevenly spaced coordinate (a log rate, say) would put its ticks in the wrong places; draw such
        columns against time and add the other coordinate as a secondary axis.
    order : array-like of int, optional
        Rows to draw, bottom to top: a permutation (:func:`neuralogram.sort_indices`) or a selection of rows.
    n_active : int, optional
        With ``order``: draw a line above the first ``n_active`` (active) rows; the rest are dormant.
    vmin, vmax : float
        Colour range; ``vmax`` defaults to the 99.5th percentile, so a few hot cells do not wash out the rest.
    xlabel, ylabel : str
        Axis labels (``ylabel`` defaults to "embedding index", "(sorted)" when ``order`` is given).
    row_scale : bool
        Scale each drawn row to its own range (0 at its minimum, 1 at its peak), so that *where* a dimension
        responds shows whatever its level: the view for tuning (a diagonal after sorting). The colour bar then
        reads "fraction of the row's range".

    Book: ``book/06_neuralogram.ipynb`` and ``book/13_audioset_net.ipynb`` (``row_scale``).
    """
    import matplotlib.pyplot as plt

    N = _to_numpy(N)
    t = np.asarray(times, dtype=float)
    if N.ndim != 2 or 0 in N.shape:
        raise ValueError(f"N must be a non-empty (E, T) array, got shape {N.shape}")
    if t.shape != (N.shape[1],):
        raise ValueError(f"times must have one entry per frame ({N.shape[1]}), got shape {t.shape}")
    if order is not None:
        order = np.asarray(order)
        if (order.ndim != 1 or order.size == 0 or order.size > N.shape[0] or not np.issubdtype(order.dtype, np.integer)
                or len(np.unique(order)) != order.size or order.min() < 0 or order.max() >= N.shape[0]):
            raise ValueError(f"order must list distinct rows of N (at most {N.shape[0]}), got shape {order.shape}")
        N = N[order]
    if row_scale:
        lo, hi = N.min(1, keepdims=True), N.max(1, keepdims=True)
        N = (N - lo) / np.maximum(hi - lo, 1e-12)
        vmin, vmax = 0.0, 1.0
        cbar_label = "fraction of the row's range" if cbar_label == "activation" else cbar_label
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    if vmax is None:
        vmax = max(float(np.percentile(N, 99.5)), 1e-12)
    xe = _edges(t) if t.size > 1 else np.array([t[0] - 0.25, t[0] + 0.25])
    im = ax.imshow(N, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                   extent=[xe[0], xe[-1], -0.5, N.shape[0] - 0.5])
    if order is not None and n_active is not None and 0 < n_active < N.shape[0]:
        ax.axhline(n_active - 0.5, color="w", lw=0.8, ls="--")
    ylabel = ylabel if ylabel is not None else "embedding index" + (" (sorted)" if order is not None else "")
    return _label(ax, im, xlabel, ylabel, title, colorbar and (cbar_label or ""))


def rate_axis(ax, times, rates, *, marks=(1, 2, 5, 10, 20, 30, 50, 100, 200, 500, 1000), label: str = "rate (Hz)"):
    """Add a top axis of rates (Hz) to a plot drawn against time, for a sweep whose rate is not linear in time.

    The ticks are the ``marks`` inside the sweep's range, placed at the times the sweep reaches them, interpolated
    in the period ``1 / rate`` (linear in time for the book's impulse sweeps, so exact there). A locator in rate
    units would pile the ticks up where the rate climbs fastest.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn against ``times`` (s).
    times, rates : array-like [shape=(T,)]
        Window centres (s) and the sweep's rate (Hz) at each.

    Returns
    -------
    The secondary axis.

    Book: ``book/09_rhythm.ipynb`` and ``book/13_audioset_net.ipynb``.
    """
    times, rates = np.asarray(times, float), np.asarray(rates, float)
    if times.shape != rates.shape or times.ndim != 1 or times.size < 2 or not np.all(rates > 0):
        raise ValueError(f"times and rates must be matching 1-D arrays of positive rates, got {times.shape}, "
                         f"{rates.shape}")
    keep = [r for r in marks if rates.min() <= r <= rates.max()]
    period = 1 / rates
    k = np.argsort(period)
    sec = ax.secondary_xaxis("top")
    sec.set_xticks([float(np.interp(1 / r, period[k], times[k])) for r in keep], [f"{r:g}" for r in keep])
    sec.set_xlabel(label)
    return sec


__all__ += ["rate_axis"]


def neuralogram_figure(N, times, *, S=None, spec_times=None, sr: int = PAPER_SR, hop_length: int = 80, order=None,
                       n_active: int | None = None, title: str | None = None, fig=None, figsize=(10, 6.5),
                       height_ratios=(1, 1.3)):
    """The paper's Fig. 1 layout: spectrogram (top) above the neuralogram (bottom) on one time axis in seconds.

    Parameters
    ----------
    N : np.ndarray [shape=(E, T)] and times [shape=(T,)]
        The neuralogram and its frame centres (s).
    S : np.ndarray [shape=(129, frames)], optional
        The log spectrogram; frame ``m`` is at ``m * hop_length / sr`` s unless ``spec_times`` is given.
        Without ``S`` only the neuralogram is drawn.
    order, n_active
        Draw the neuralogram sorted (see :func:`neuralogram_show`); unsorted by default.
    fig : matplotlib Figure, optional
        Draw into this (empty) figure, e.g. from a widget.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` is the spectrogram (if any), the next image axis the neuralogram; they share x.

    Book: ``book/06_neuralogram.ipynb``.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=figsize)
    if S is None:
        ax = fig.subplots(1, 1)
        neuralogram_show(N, times, ax=ax, order=order, n_active=n_active, title=title)
        return fig
    ax0, ax1 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": list(height_ratios)})
    S = _to_numpy(S)
    specshow(S, sr=sr, hop_length=hop_length, ax=ax0, x_coords=spec_times,
             title=f"spectrogram ({S.shape[0]} x {S.shape[1]})")
    ax0.set_xlabel("")
    Nn = _to_numpy(N)
    drawn = "" if order is None else (", sorted" if len(order) == Nn.shape[0] else f", {len(order)} rows drawn, sorted")
    neuralogram_show(Nn, times, ax=ax1, order=order, n_active=n_active,
                     title=f"neuralogram ({Nn.shape[0]} x {Nn.shape[1]}{drawn})")
    st = np.arange(S.shape[1]) * hop_length / sr if spec_times is None else np.asarray(spec_times, float)
    ax1.set_xlim(*_edges(st)[[0, -1]])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
