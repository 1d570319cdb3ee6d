"""On-disk cache of probe results, keyed by every probe parameter and by the model's weights.

A probe result is stored as ``cache_dir("probes")/<probe>-<hash>.npz`` where ``hash`` is
``param_hash({probe parameters, model hash, PROBE_VERSION})``. The model hash is ``info["hash"]`` of a shipped
checkpoint or, for any other model (a random baseline, a model being trained), a hash of its current weights and
batch-norm buffers, so a result is never reused for a different model. ``PROBE_VERSION`` is bumped whenever the
probe code changes what it computes, so an old result is never silently stale.

Book: ``book/07_pitch.ipynb``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..cache import atomic_path, cache_dir, param_hash
from ..checkpoints import model_hash

__all__ = ["PROBE_VERSION", "model_key", "cache_path", "cached_arrays"]

#: Bump when a probe's computation changes: every cached result then gets a new key.
PROBE_VERSION = 1


def model_key(model, info: dict | None = None) -> str:
    """A cache key for ``model``: ``info["hash"]`` when it belongs to this model, else a hash of its weights.

    Book: ``book/07_pitch.ipynb``.
    """
    if info is not None and info.get("hash"):
        return str(info["hash"])
    return model_hash(model)


def cache_path(probe: str, params: dict, key: str) -> Path:
    """Where the result of ``probe`` with ``params`` on the model with cache key ``key`` is stored.

    Book: ``book/07_pitch.ipynb``.
    """
    h = param_hash({"probe": probe, "params": params, "model": key, "version": PROBE_VERSION})
    return cache_dir("probes") / f"{probe}-{h}.npz"


def cached_arrays(probe: str, params: dict, key: str, compute: Callable[[], dict], *, cache: bool = True) -> dict:
    """Return ``compute()`` (a dict of numpy arrays and JSON-able values), loading it from disk if cached.

    Arrays are stored as npz entries; everything else goes into one JSON entry. With ``cache=False`` nothing is
    read or written. The file is written atomically.

    Book: ``book/07_pitch.ipynb``.
    """
    path = cache_path(probe, params, key)
    if cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                out = {k: z[k] for k in z.files if k != "__json__"}
                out.update(json.loads(str(z["__json__"])))
            return out
        except (OSError, ValueError, KeyError):  # a corrupt file is recomputed, never trusted
            path.unlink(missing_ok=True)
    result = compute()
    if cache:
        arrays = {k: np.asarray(v) for k, v in result.items() if isinstance(v, np.ndarray)}
        meta = {k: v for k, v in result.items() if not isinstance(v, np.ndarray)}
        with atomic_path(path) as tmp:
            np.savez(tmp, __json__=np.asarray(json.dumps(meta, default=float)), **arrays)
    return result
