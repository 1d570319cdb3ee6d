"""The transform itself: the one embedding loop (:func:`embed_segments`), its exact and fast modes,
:func:`neuralogram` and :func:`neuralogram_8k`, and the measures beside it (:func:`fast_vs_exact`,
:func:`spectrogram_overview`). The conventions are set out in :mod:`neuralogram.transform`.

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch

from ..audio import PAPER_SR, check_positive, to_model_rate
from ..checkpoints import check_device
from ..spectral import LinearSpectrogram
from .windows import _check_model, _check_window, _check_window_hop, check_layer, window_starts

__all__ = ["neuralogram", "neuralogram_8k", "embed_segments", "chosen_batch_sizes", "fast_vs_exact",
           "spectrogram_overview", "AUTO_BATCHES"]

_FAST_CHUNK = 4000  # frames per fast-mode chunk (40 s); rounded down to a multiple of the network's stride


# ---------------------------------------------------------------------------------------------------------------
# the transform
# ---------------------------------------------------------------------------------------------------------------
def _segments(x: torch.Tensor, starts, W: int) -> torch.Tensor:
    """(len(starts), W) windows of ``x``; samples outside the signal are zeros."""
    n = x.numel()
    if all(0 <= s and s + W <= n for s in (int(starts[0]), int(starts[-1]))):
        return torch.stack([x[s:s + W] for s in starts])
    out = torch.zeros(len(starts), W, dtype=x.dtype)
    for i, s in enumerate(starts):
        s = int(s)
        a, b = max(s, 0), min(s + W, n)
        if b > a:
            out[i, a - s:b - s] = x[a:b]
    return out


@contextlib.contextmanager
def _eval_on(model, device):
    """Run ``model`` in eval mode on ``device`` (default: where it is); restore its training flag afterwards."""
    device = check_device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.to(device).eval()
    try:
        yield device
    finally:
        model.train(was_training)


def _as_8k(y8k) -> torch.Tensor:
    """A 1-D float32 tensor view of audio already at the model's rate (validated by the entry point)."""
    x = y8k if isinstance(y8k, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(y8k, dtype=np.float32))
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"y8k must be non-empty mono audio at the model's rate, shape (n,), got {tuple(x.shape)}; "
                         "use neuralogram.audio.to_model_rate")
    return x.to(torch.float32)


def embed_segments(y8k, starts, model, *, window: float | None = None, layer: str | None = None,
                   batch_size: int | None = None, device=None, progress: bool = False) -> np.ndarray:
    """The embedding of each window ``y8k[s : s + W]``, ``s`` in ``starts``: the one embedding loop of the package.

    Each window's spectrogram (:class:`~neuralogram.spectral.LinearSpectrogram`) goes through the trunk and the
    feature map of ``layer`` is averaged over frequency and time (:meth:`NeuralogramNet.embed`), ``batch_size``
    windows per forward pass. :func:`neuralogram` (exact mode), the probes, tagging and the widgets all call it.

    Parameters
    ----------
    y8k : np.ndarray or torch.Tensor [shape=(n,)]
        Mono audio at the model's rate (8 kHz), already validated (:func:`neuralogram.audio.to_model_rate`).
    starts : array-like of int [shape=(T,)]
        First sample of each window. A window may lie partly (or wholly) outside the signal: zeros there.
    model : NeuralogramNet
        Put in eval mode (and on ``device``) for the call; its training flag is restored.
    window : float, optional
        Window length in seconds (default: the model's context, 2 s); ``W = round(window * 8000)`` samples.
    layer : str, optional
        Trunk layer (:func:`check_layer`; default ``conv5_4``).
    batch_size : int, optional
        Windows per forward pass; ``None`` (default): chosen by measurement on this machine (see :func:`_exact`).
    device : str or torch.device, optional
        Default: the model's device.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    np.ndarray [shape=(C, T)], float32
        Column ``k`` is the embedding of the window starting at ``starts[k]``.

    Book: ``book/06_neuralogram.ipynb``.
    """
    _check_model(model)
    x = _as_8k(y8k)
    W = int(round(model.sr * (model.context_seconds if window is None else _check_window(window, model))))
    starts = np.asarray(starts)
    if starts.ndim != 1 or starts.size == 0 or not np.issubdtype(starts.dtype, np.integer):
        raise ValueError(f"starts must be a non-empty 1-D array of sample indices, got shape {starts.shape} "
                         f"dtype {starts.dtype}")
    layer = check_layer(model, layer)
    batch_size = _check_batch(batch_size)
    with _eval_on(model, device) as dev:
        return _exact(x, starts, W, model, layer, batch_size, dev, progress)


def _check_batch(batch_size):
    return None if batch_size is None else check_positive(batch_size, "batch_size", integer=True)


#: The batch sizes exact mode tries when it chooses its own (``batch_size=None``).
AUTO_BATCHES = (4, 8, 16, 32)
_CHOSEN: dict = {}


def chosen_batch_sizes() -> dict:
    """The batch sizes exact mode chose by measurement in this process: ``{(network, window samples, device,
    threads): (batch, {batch: ms per window})}``.

    Book: ``book/06_neuralogram.ipynb``.
    """
    return dict(_CHOSEN)


def _batch_key(model, W, device):
    arch = tuple(sorted((k, str(v)) for k, v in model.architecture().items()))
    return (arch, W, str(device), torch.get_num_threads())


@torch.inference_mode()
def _exact(x, starts, W, model, layer, batch_size, device, progress):
    """Each window's front end and trunk, ``batch_size`` windows at a time.

    ``batch_size=None`` lets the machine decide: the fastest batch depends on the cache sizes, the thread count
    and the network (on the 2-core machine the VGG E = 500 ran at 2.4 ms per window with batches of 8 against 3.5
    at 16 in one measurement, the opposite in another; wide batches spill the caches). So the first call for a
    network, window length, device and thread count with windows enough runs its first windows in batches of 4,
    8, 16 and 32, each size three times (the first run of a new shape pays one-time kernel set-up), keeps the
    faster of the last two runs of each per window, and continues with the fastest size, which later calls reuse
    (:func:`chosen_batch_sizes`). Nothing is computed twice: the trial batches are real windows of the call. A
    call with fewer windows than the trial needs uses 8 (CPU) or 64 (GPU) until a choice exists.
    """
    from tqdm.auto import tqdm

    n = len(starts)
    key = _batch_key(model, W, device)
    plan = [b for b in AUTO_BATCHES for _ in range(3)]   # each size three times: the last two are timed
    trial = batch_size is None and key not in _CHOSEN and n >= 2 * sum(plan)
    if batch_size is not None:
        fixed = batch_size
    elif key in _CHOSEN:
        fixed = _CHOSEN[key][0]
    else:
        fixed = 64 if device.type == "cuda" else 8
    timings, out, b0, step = {}, None, 0, 0
    bar = tqdm(total=n, disable=not progress, desc="embedding windows", leave=False)
    while b0 < n:
        if trial and step == len(plan):     # the trial is over: keep the fastest
            fixed = min(timings, key=timings.get)
            _CHOSEN[key] = (fixed, {b: 1e3 * t for b, t in timings.items()})
            trial = False
        bs = plan[step] if trial else fixed
        t0 = time.perf_counter()
        seg = _segments(x, starts[b0:b0 + bs], W).to(device)
        e = model.embed(model.frontend(seg), layer).float()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        e = e.cpu()
        if trial and step % 3:
            timings[bs] = min(timings.get(bs, np.inf), (time.perf_counter() - t0) / len(e))
        if out is None:
            out = torch.empty(e.shape[1], n, dtype=torch.float32)
        out[:, b0:b0 + len(e)] = e.T
        b0 += len(e)
        step += 1
        bar.update(len(e))
    bar.close()
    return out.numpy()


@torch.inference_mode()
def _fast(x, starts, W, model, layer, device, progress, chunk_frames=_FAST_CHUNK):
    from tqdm.auto import tqdm

    hop = model.frame_hop
    L = W // hop  # frames per window (the exact window's spectrogram has n_win // hop frames too)
    sf = np.round(np.asarray(starts) / hop).astype(np.int64)  # window start frames
    f_lo, f_hi = int(sf.min()), int(sf.max()) + L
    total = f_hi - f_lo
    stride, margin = model.time_stride, model.fast_margin
    chunk = max(stride, chunk_frames // stride * stride)
    cols = []
    for c0 in tqdm(range(0, total, chunk), disable=not progress, desc="neuralogram (fast)", leave=False):
        c1 = min(total, c0 + chunk)
        e0, e1 = max(0, c0 - margin), min(total, c1 + margin)
        S = model.spec_frames(x, f_lo + e0, f_lo + e1)
        fmap = model.features(S[None, None].to(device), layer)
        g = fmap.mean(dim=2)[0].float().cpu().double()  # (C, columns) averaged over frequency
        k0 = (c0 - e0) // stride
        cols.append(g[:, k0:k0 + math.ceil((c1 - c0) / stride)])
    G = torch.cat(cols, dim=1)  # column j covers frames [16 j, 16 j + 16) of the padded range
    n_cols = G.shape[1]
    lengths = torch.clamp(total - torch.arange(n_cols) * stride, max=stride).double()
    cum = torch.cat([torch.zeros(G.shape[0], 1, dtype=torch.float64), torch.cumsum(G * lengths, dim=1)], dim=1)

    def integral(p):  # integral of the piecewise-constant column function over frames [0, p)
        p = torch.as_tensor(p, dtype=torch.int64)
        j = torch.clamp(p // stride, max=n_cols - 1)
        return cum[:, j] + (p - j * stride).double() * G[:, j]

    u = torch.as_tensor(sf - f_lo)
    N = (integral(u + L) - integral(u)) / L
    return N.float().numpy()


def neuralogram(y, model, *, sr: int | None = None, window: float = 2.0, hop: float = 0.5, layer: str | None = None,
                mode: str = "exact", batch_size: int | None = None, device=None, pad_end: bool = False,
                progress: bool = False):
    """The neuralogram of ``y``: the embedding of every ``window``-second window, every ``hop`` seconds.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)], or a path, bytes or a seekable file object
        Audio at ``sr`` Hz, any length. Stereo (channels, n) is averaged to mono (soundfile's (n, channels) too;
        see :mod:`neuralogram.audio` for the rules). A file is streamed from disk, never held whole.
    sr : int
        Sample rate of ``y`` (required for arrays; for a file, ``None`` or the file's own rate); the signal is
        resampled to the model's 8 kHz (:func:`neuralogram.audio.to_model_rate`).
    model : NeuralogramNet
        A trained network (:func:`neuralogram.load_model`); it is put in eval mode for the call and restored.
    window : float
        Context window in seconds, 0.16 <= window <= the model's context (2 s). Default 2.0.
    hop : float
        Seconds between window starts (> 0). Default 0.5 (the paper's).
    layer : str or None
        Trunk layer whose feature map is globally averaged: ``None`` = ``conv5_4`` (the embedding, E rows), or any
        of ``model.layer_names`` from ``conv1_1`` to ``conv5_4`` / ``pool1`` .. ``pool4`` (that layer's channels).
    mode : {"exact", "fast"}
        ``"exact"``: each window's spectrogram through the network (the definition). ``"fast"``: the trunk once
        over the whole spectrogram, feature map averaged over each window's frames (window starts rounded to the
        10 ms frame grid).
    batch_size : int, optional
        Windows per forward pass in exact mode; ``None`` (default): the fastest of 4, 8, 16 and 32, measured on
        the first windows the first time a network runs here (:func:`chosen_batch_sizes`; the best size depends
        on the caches, the thread count and the network).
    device : str or torch.device, optional
        Where to run; default the model's device. The model is moved there.
    pad_end : bool
        Add a last window, zero-padded, when the full windows leave the end of the signal uncovered.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    N : np.ndarray [shape=(C, T)], float32
        Column ``k`` is the embedding of window ``k`` (C = E for conv5_4).
    times : np.ndarray [shape=(T,)], float64
        Window centres in seconds (``(k * hop + window / 2)`` with hop and window rounded to samples at 8 kHz).
        See the module docstring for the windows of short signals and ``pad_end``.

    Raises
    ------
    ValueError
        Empty input, NaN/Inf, a window longer than the model's context or shorter than 0.16 s, a hop of zero or
        less, an unknown layer or mode, a model that takes another input shape.

    Examples
    --------
    >>> model, info = neuralogram.load_model("vgg19-e500-standin")       # doctest: +SKIP
    >>> N, t = neuralogram.neuralogram(y, model, sr=44100)               # doctest: +SKIP
    >>> N.shape, t[:3]                                                   # doctest: +SKIP
    ((500, 57), array([1. , 1.5, 2. ]))

    Book: ``book/06_neuralogram.ipynb``.
    """
    _check_args(model, window, hop, layer, mode, batch_size)  # cheap checks before the resampling
    x = to_model_rate(y, sr=sr, target_sr=model.sr, progress=progress)  # the one validation of the audio
    return neuralogram_8k(x, model, window=window, hop=hop, layer=layer, mode=mode, batch_size=batch_size,
                          device=device, pad_end=pad_end, progress=progress)


def _check_args(model, window, hop, layer, mode, batch_size):
    _check_model(model)
    window, hop = _check_window_hop(window, hop, model)
    layer = model.check_layer(layer)
    if mode not in ("exact", "fast"):
        raise ValueError(f"mode must be 'exact' or 'fast', got {mode!r}")
    return window, hop, layer, _check_batch(batch_size)


def neuralogram_8k(y8k, model, *, window: float = 2.0, hop: float = 0.5, layer: str | None = None,
                   mode: str = "exact", batch_size: int | None = None, device=None, pad_end: bool = False,
                   progress: bool = False):
    """:func:`neuralogram` of audio already at the model's rate: what it runs after resampling.

    Entry points that resolve their audio once (the CLI reading a file with
    :func:`neuralogram.audio.read_model_rate`, a widget that resamples its signal once and recomputes on every
    slider move) call this with the 8 kHz mono signal; the parameters and results are those of
    :func:`neuralogram`.

    Parameters
    ----------
    y8k : np.ndarray or torch.Tensor [shape=(n,)]
        Mono audio at the model's rate (:func:`neuralogram.audio.to_model_rate`).

    Returns
    -------
    N : np.ndarray [shape=(C, T)], float32
    times : np.ndarray [shape=(T,)], float64

    Book: ``book/06_neuralogram.ipynb``.
    """
    window, hop, layer, batch_size = _check_args(model, window, hop, layer, mode, batch_size)
    x = _as_8k(y8k)
    W = int(round(window * model.sr))
    starts = window_starts(x.numel(), sr=model.sr, window=window, hop=hop, pad_end=pad_end)
    with _eval_on(model, device) as dev:
        if mode == "exact":
            N = _exact(x, starts, W, model, layer, batch_size, dev, progress)
        else:
            N = _fast(x, starts, W, model, layer, dev, progress)
    return N, (starts + W / 2) / model.sr


def fast_vs_exact(N_exact: np.ndarray, N_fast: np.ndarray) -> dict:
    """How far the fast mode is from the exact one: relative error and correlations.

    Returns
    -------
    dict
        ``rel_error`` = ||fast - exact||_F / ||exact||_F; ``corr`` = Pearson correlation of all entries;
        ``median_column_corr`` = median over frames of the correlation of the two embedding vectors;
        ``max_abs`` = the largest absolute difference.

    Book: ``book/06_neuralogram.ipynb``.
    """
    A, B = np.asarray(N_exact, np.float64), np.asarray(N_fast, np.float64)
    if A.shape != B.shape:
        raise ValueError(f"shapes differ: exact {A.shape} vs fast {B.shape}")
    rel = float(np.linalg.norm(B - A) / max(np.linalg.norm(A), 1e-30))
    corr = float(np.corrcoef(A.ravel(), B.ravel())[0, 1])
    Ac, Bc = A - A.mean(0), B - B.mean(0)
    col = (Ac * Bc).sum(0) / np.maximum(np.linalg.norm(Ac, axis=0) * np.linalg.norm(Bc, axis=0), 1e-30)
    return {"rel_error": rel, "corr": corr, "median_column_corr": float(np.median(col)),
            "max_abs": float(np.abs(B - A).max())}


def spectrogram_overview(y8k, *, max_frames: int = 3000, chunk_frames: int = 20000):
    """The paper's log spectrogram of a signal of any length, averaged in time to at most ``max_frames`` columns.

    ``y8k`` is mono audio at the model's rate (:func:`neuralogram.audio.to_model_rate`), as for
    :func:`neuralogram_8k`. Computed per chunk (bounded memory). Returns ``(S (129, frames), times (frames,) s)``,
    ``times`` being the centre of each averaged group of 10 ms frames. For 30 s and ``max_frames >= 3000``: the
    plain 129 x 3000.

    Book: ``book/06_neuralogram.ipynb``.
    """
    x = _as_8k(y8k)
    spec = LinearSpectrogram()
    n_fr = x.numel() // spec.hop_length
    if n_fr < 1:
        raise ValueError(f"signal of {x.numel()} samples at 8 kHz is shorter than one 10 ms frame")
    group = max(1, math.ceil(n_fr / check_positive(max_frames, "max_frames", integer=True)))
    chunk = max(group, chunk_frames // group * group)
    parts = []
    with torch.inference_mode():
        for f0 in range(0, n_fr, chunk):
            f1 = min(n_fr, f0 + chunk)
            S = spec.frames(x, f0, f1)
            k = (f1 - f0) // group
            full = S[:, :k * group].reshape(S.shape[0], k, group).mean(-1)
            if (f1 - f0) % group:
                full = torch.cat([full, S[:, k * group:].mean(-1, keepdim=True)], 1)
            parts.append(full)
    S = torch.cat(parts, 1).numpy()
    t = (np.arange(S.shape[1]) * group + (group - 1) / 2) * spec.hop_length / PAPER_SR
    return S, t
