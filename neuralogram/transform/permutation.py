"""The learned shuffling pattern: the order of the embedding dimensions by where they peak (:func:`sort_indices`),
applied to a neuralogram, saved and loaded.

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..cache import atomic_path

__all__ = ["sort_indices", "apply_permutation", "save_permutation", "load_permutation"]


# ---------------------------------------------------------------------------------------------------------------
# the learned shuffling pattern
# ---------------------------------------------------------------------------------------------------------------
def _check_N(N):
    N = N.detach().cpu().numpy() if isinstance(N, torch.Tensor) else np.asarray(N)
    if N.ndim != 2 or 0 in N.shape:
        raise ValueError(f"N must be a non-empty (E, T) neuralogram, got shape {N.shape}")
    if not np.issubdtype(N.dtype, np.number) or not np.isfinite(N).all():
        raise ValueError("N must hold finite numbers")
    return N


def sort_indices(N, *, key=None, threshold: float = 0.1, descending: bool = False, return_n_active: bool = False):
    """The paper's shuffling pattern: order the embedding dimensions by where their peak activation falls.

    Dimension ``e`` peaks at frame ``t_e = argmax_t N[e, t]``; active dimensions are ordered by ``key[t_e]``
    (ties by the larger peak first). A dimension is **dormant** when its peak is at most ``threshold`` times the
    largest value of ``N`` (``max_t N[e, t] <= threshold * max N``); dormant dimensions come last, strongest
    first. The paper sorts a chirp's neuralogram by frequency (``key`` = the chirp's frequency at each frame) and
    an impulse train's by period.

    Parameters
    ----------
    N : np.ndarray [shape=(E, T)]
        A neuralogram (non-negative for the ReLU layers).
    key : array-like [shape=(T,)], optional
        The value to sort by at each frame (time, a probe frequency, a period). Default: the frame index (time).
    threshold : float
        Relative dormancy threshold in [0, 1). Default 0.1.
    descending : bool
        Sort active dimensions by decreasing key (e.g. "highest periods first").
    return_n_active : bool
        Also return the number of active dimensions (they are ``perm[:n_active]``).

    Returns
    -------
    perm : np.ndarray [shape=(E,)], int64
        A permutation of ``0 .. E-1``: ``N[perm]`` (or :func:`apply_permutation`) is the sorted neuralogram.

    Book: ``book/06_neuralogram.ipynb``.
    """
    N = _check_N(N)
    E, T = N.shape
    threshold = float(threshold)
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if key is None:
        key = np.arange(T, dtype=np.float64)
    else:
        key = np.asarray(key, dtype=np.float64)
        if key.shape != (T,):
            raise ValueError(f"key must have one value per frame, shape ({T},), got {key.shape}")
        if not np.isfinite(key).all():
            raise ValueError("key contains NaN or Inf")
    peak = N.max(axis=1).astype(np.float64)
    top = peak.max()
    active = peak > threshold * top if top > 0 else np.zeros(E, bool)
    k = key[N.argmax(axis=1)]
    if descending:
        k = -k
    act = np.flatnonzero(active)
    dor = np.flatnonzero(~active)
    act = act[np.lexsort((-peak[act], k[act]))]
    dor = dor[np.argsort(-peak[dor], kind="stable")]
    perm = np.concatenate([act, dor]).astype(np.int64)
    return (perm, len(act)) if return_n_active else perm


def _check_perm(perm, E=None):
    p = np.asarray(perm)
    if p.ndim != 1 or not np.issubdtype(p.dtype, np.integer):
        raise ValueError(f"a permutation must be a 1-D integer array, got shape {p.shape} dtype {p.dtype}")
    if not np.array_equal(np.sort(p), np.arange(len(p))):
        raise ValueError("not a permutation of 0 .. E-1 (an index is missing or repeated)")
    if E is not None and len(p) != E:
        raise ValueError(f"the permutation orders {len(p)} dimensions but N has {E} (another model or layer?)")
    return p.astype(np.int64)


def apply_permutation(N, perm):
    """Reorder the rows of ``N`` (E, T) with a permutation from :func:`sort_indices` (``N[perm]``).

    Book: ``book/06_neuralogram.ipynb``.
    """
    N = _check_N(N)
    return N[_check_perm(perm, N.shape[0])]


def save_permutation(path, perm, *, meta: dict | None = None) -> Path:
    """Save a permutation (and JSON-able ``meta``, e.g. the model name/hash and the probe) to ``.npz``, atomically.

    Book: ``book/06_neuralogram.ipynb``.
    """
    p = _check_perm(perm)
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"permutations are saved as .npz, got {path.name!r}")
    with atomic_path(path) as tmp:
        np.savez(tmp, perm=p, meta=np.array(json.dumps(meta or {}, default=str)))
    return path


def load_permutation(path, *, return_meta: bool = False):
    """Load a permutation saved by :func:`save_permutation` (checked to be one).

    Book: ``book/06_neuralogram.ipynb``.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            p = _check_perm(z["perm"])
            meta = json.loads(str(z["meta"])) if "meta" in z else {}
    except (OSError, KeyError, ValueError, EOFError, TypeError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a saved permutation ({type(err).__name__}: {err})") from None
    return (p, meta) if return_meta else p
