"""Tags: the network's output probabilities, averaged over the windows of an excerpt.

A tag is what the classifier head says about a window: the embedding of the window (the neuralogram's column,
:func:`neuralogram.transform.embed_segments`) through ``fc1 -> fc2 -> fc3`` and the model's output activation, a
per-label sigmoid for ``loss="bce"`` (the shipped models) or a softmax for ``loss="mse"`` (the paper's). An
excerpt longer than the model's 2 s context is tagged by averaging the probabilities of its windows:

.. math::  \\bar p_c = \\frac{1}{T} \\sum_{k=1}^{T} \\sigma\\big(f(N[:, k])\\big)_c

Book: ``book/05_model.ipynb`` (tags of music and speech) and ``book/10_timbre.ipynb`` (the timbre probe).
"""
from __future__ import annotations

import numpy as np
import torch

from .audio import as_audio, check_positive, check_sr, to_model_rate
from .checkpoints import resolve_model
from .transform import embed_segments, neuralogram, window_starts

__all__ = ["label_names_of", "probabilities", "tag", "tag_set"]


def label_names_of(model, info=None) -> list[str]:
    """The names of the model's outputs: ``info["label_names"]`` (from :func:`neuralogram.load_model`), else the
    stand-in corpus's label space.

    Book: ``book/05_model.ipynb``.
    """
    names = (info or {}).get("label_names")
    if names is None:
        from .data.standin.corpus import label_names

        names = label_names()
    names = list(names)
    if len(names) != model.n_classes:
        raise ValueError(f"the model has {model.n_classes} outputs but {len(names)} label names; pass the "
                         "info of load_model")
    return names


@torch.no_grad()
def probabilities(model, N) -> np.ndarray:
    """Output probabilities of every column of a neuralogram ``N`` (E, T) taken at the embedding layer (``conv5_4`` for the VGG): shape (T, C).

    The head runs in eval mode (no dropout); the model's training flag is restored.

    Book: ``book/05_model.ipynb``.
    """
    N = np.asarray(N, dtype=np.float32)
    if N.ndim != 2 or N.shape[0] != model.embedding_size:
        raise ValueError(f"N must be ({model.embedding_size}, T) embeddings of the embedding layer ({model.embedding_layer}), got {N.shape}")
    was = model.training
    model.eval()
    try:
        emb = torch.from_numpy(np.ascontiguousarray(N.T)).to(next(model.parameters()).device)
        return model.output_activation(model.head(emb)).double().cpu().numpy()
    finally:
        model.train(was)


def tag(y, model, *, sr: int, info=None, top_k: int = 5, window: float = 2.0, hop: float = 2.0) -> dict:
    """Tags of one excerpt: the output probabilities of every ``window``-second window, averaged.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        The excerpt at ``sr`` Hz (a signal shorter than the window is zero-padded to one window).
    model : EmbeddingNet or str
        A model, or the name of a shipped model (then ``info`` is loaded with it).
    sr : int
        Sample rate of ``y`` in Hz.
    info : dict, optional
        ``load_model``'s info (its ``label_names``); default: the stand-in label space.
    top_k : int
        How many tags to list.
    window, hop : float
        Window and hop in seconds (:func:`neuralogram.neuralogram`).

    Returns
    -------
    dict
        ``probs`` (C,) float64 mean probabilities, ``labels`` (C,) names, ``top`` list of ``(label, p)`` for the
        ``top_k`` largest, ``embedding`` (E,) mean embedding, ``n_windows``.

    Examples
    --------
    >>> model, info = load_model("vgg19-e500-standin")                          # doctest: +SKIP
    >>> tag(y, model, sr=8000, info=info)["top"][:2]                             # doctest: +SKIP
    [('Music', 0.41), ('Violin, fiddle', 0.37)]

    Book: ``book/05_model.ipynb`` and ``book/10_timbre.ipynb``.
    """
    model, info = resolve_model(model, info)
    top_k = check_positive(top_k, "top_k", integer=True)
    names = label_names_of(model, info)
    N, _ = neuralogram(y, model, sr=sr, window=window, hop=hop)
    p = probabilities(model, N).mean(0)
    order = np.argsort(-p, kind="stable")[:top_k]
    return dict(probs=p, labels=names, top=[(names[i], float(p[i])) for i in order], embedding=N.mean(1),
                n_windows=int(N.shape[1]))


def tag_set(audio, model, *, sr: int, window: float = 2.0, hop: float = 2.0, batch_size: int | None = None,
            progress: bool = False):
    """:func:`tag` for a batch of equally long excerpts, the windows of all excerpts embedded together.

    Parameters
    ----------
    audio : np.ndarray [shape=(n, samples)]
        Excerpts at ``sr`` Hz, each at least ``window`` seconds long.
    model : EmbeddingNet or str
    sr : int
        Sample rate of ``audio`` in Hz.
    window, hop : float
        Seconds.
    batch_size, progress
        See :func:`neuralogram.transform.embed_segments`.

    Returns
    -------
    probs : np.ndarray [shape=(n, C)], float32
        Output probabilities averaged over each excerpt's windows.
    emb : np.ndarray [shape=(n, E)], float32
        Embeddings averaged over each excerpt's windows.

    Book: ``book/10_timbre.ipynb``.
    """
    model, _ = resolve_model(model)
    x = as_audio(audio, name="audio").numpy()  # the audio gate: numeric, finite, rank <= 2
    if x.ndim != 2:
        raise ValueError(f"audio must be (n_excerpts, samples), got shape {x.shape}")
    sr = check_sr(sr)
    window, hop = check_positive(window, "window"), check_positive(hop, "hop")
    msr, longest = model.sr, model.max_window_seconds
    if sr != msr:
        x = np.stack([to_model_rate(row, sr=sr, target_sr=msr).numpy() for row in x])
    if longest is not None and window > longest + 1e-9:
        raise ValueError(f"window ({window} s) is longer than the model's context ({longest} s)")
    if x.shape[1] < int(round(window * msr)):
        raise ValueError(f"excerpts of {x.shape[1] / msr:.3f} s are shorter than the window ({window} s)")
    starts = window_starts(x.shape[1], sr=msr, window=window, hop=hop)
    # the excerpts end to end: window s of excerpt i starts at i * L + s and never crosses into excerpt i + 1
    every = (np.arange(x.shape[0])[:, None] * x.shape[1] + starts[None, :]).ravel()
    E = embed_segments(x.reshape(-1), every, model, window=window, batch_size=batch_size, progress=progress)
    P = probabilities(model, E)
    T = len(starts)
    return (P.reshape(x.shape[0], T, -1).mean(1).astype(np.float32),
            E.T.reshape(x.shape[0], T, -1).mean(1).astype(np.float32))
