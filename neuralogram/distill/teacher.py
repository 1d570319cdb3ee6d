"""Distillation, part 2: the teacher's logits of every crop of a plan, cached on disk in checksummed chunks.
See :mod:`neuralogram.distill`.

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from ..audio import PAPER_SR, resample
from ..cache import atomic_path, cache_dir
from .plan import VERSION, CropPlan

#: Crops per teacher-cache chunk (a killed cache build loses at most one chunk).
CHUNK = 512


# ---------------------------------------------------------------------------------------------- the teacher
def teacher_cache_dir(plan: CropPlan, teacher_hash: str) -> Path:
    """Where :func:`teacher_logits` keeps the chunks for this plan and teacher.

    Book: ``book/05_model.ipynb``.
    """
    return cache_dir("distill") / f"teacher-{teacher_hash}-{plan.hash}"


def _digest(logits: np.ndarray, teacher_hash: str, plan_hash: str, a: int, b: int) -> str:
    h = hashlib.sha256(f"{teacher_hash}|{plan_hash}|{a}|{b}|{logits.shape}|{logits.dtype}".encode())
    h.update(np.ascontiguousarray(logits).tobytes())
    return h.hexdigest()


def _read_chunk(path: Path, teacher_hash: str, plan_hash: str, a: int, b: int, k: int) -> np.ndarray | None:
    """The chunk's logits if the file is whole and belongs to this teacher, plan and range; else None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            logits = np.asarray(z["logits"])
    except Exception:  # noqa: BLE001 - truncated zip, bad JSON, missing key: all mean "rebuild"
        return None
    ok = (meta.get("teacher") == teacher_hash and meta.get("plan") == plan_hash and meta.get("range") == [a, b]
          and logits.shape == (b - a, k) and logits.dtype == np.float32
          and meta.get("sha256") == _digest(logits, teacher_hash, plan_hash, a, b))
    return logits if ok else None


@torch.no_grad()
def _teacher_batch(plan: CropPlan, idx, teacher) -> np.ndarray:
    waves = torch.stack([torch.as_tensor(resample(plan.render(i), orig_sr=PAPER_SR, target_sr=teacher.sr),
                                         dtype=torch.float32) for i in idx])
    return teacher(teacher.frontend(waves)).float().numpy()


def teacher_logits(plan: CropPlan, teacher=None, info: dict | None = None, *, cache: bool = True,
                   batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """The teacher's logits for every crop of the plan, cached on disk.

    Each crop is rendered at 8 kHz (:meth:`CropPlan.render`), resampled to the teacher's rate with
    :func:`neuralogram.audio.resample` and run through the teacher's own front end as one 2 s window. Chunks of
    :data:`CHUNK` crops are stored under :func:`teacher_cache_dir` (named by the teacher's hash and the plan's
    hash) with a SHA-256 of their logits, teacher, plan and range; a chunk that is truncated, corrupt, or made for
    another teacher, plan or range is reported, deleted and recomputed.

    Parameters
    ----------
    plan : CropPlan
    teacher : EmbeddingNet or str, optional
        Default ``"mn04-audioset"``.
    info : dict, optional
        ``load_model``'s info of the teacher (its ``hash`` keys the cache; without it the weights are hashed).
    cache : bool
        Read and write the disk cache.
    batch_size : int
    progress : bool

    Returns
    -------
    np.ndarray, float32 [shape=(len(plan), n_classes)]

    Book: ``book/05_model.ipynb``.
    """
    from tqdm.auto import tqdm

    from ..checkpoints import model_hash, resolve_model

    teacher, info = resolve_model("mn04-audioset" if teacher is None else teacher, info)
    th = str((info or {}).get("hash") or model_hash(teacher))
    k = int(teacher.n_classes)
    folder = teacher_cache_dir(plan, th) if cache else None
    out = np.zeros((len(plan), k), np.float32)
    todo = []
    for a in range(0, len(plan), CHUNK):
        b = min(a + CHUNK, len(plan))
        if folder is not None:
            p = folder / f"chunk-{a:08d}-{b:08d}.npz"
            if p.exists():
                got = _read_chunk(p, th, plan.hash, a, b, k)
                if got is not None:
                    out[a:b] = got
                    continue
                warnings.warn(f"{p}: corrupt, truncated or made for another teacher/plan: deleted, recomputing",
                              stacklevel=2)
                p.unlink()
        todo.append((a, b))
    was = teacher.training
    teacher.eval()
    try:
        bar = tqdm(total=sum(b - a for a, b in todo), desc="teacher logits", unit="crop", disable=not progress)
        for a, b in todo:
            for s in range(a, b, batch_size):
                idx = range(s, min(s + batch_size, b))
                out[s:s + len(idx)] = _teacher_batch(plan, idx, teacher)
                bar.update(len(idx))
            if folder is not None:
                meta = {"teacher": th, "plan": plan.hash, "range": [a, b],
                        "sha256": _digest(out[a:b], th, plan.hash, a, b), "version": VERSION}
                with atomic_path(folder / f"chunk-{a:08d}-{b:08d}.npz") as tmp:
                    np.savez(tmp, logits=out[a:b], meta=np.array(json.dumps(meta)))
        bar.close()
    finally:
        teacher.train(was)
    if not np.isfinite(out).all():
        raise ValueError("the teacher produced NaN or Inf logits")
    return out


