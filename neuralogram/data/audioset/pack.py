"""AudioSet packing: decode each clip, check it, resample it to 8 kHz and write the packed store that training
reads (:func:`neuralogram.data.store.write_store`).

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import soundfile as sf

from ...audio import PAPER_SR, to_model_rate
from ..store import Clip, write_store
from .download import _index_folder, _write_report
from .metadata import Label, Segment, _label_index

__all__ = ["load_clip", "pack"]

class _Rejected(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


def load_clip(path, *, expected_seconds: float | None = None, silence_db: float = -60.0,
              min_seconds: float = 1.0) -> tuple[np.ndarray, dict]:
    """Decode one clip with soundfile, check it, and return it as mono float32 at 8 kHz.

    Checks, in order: the file decodes (``unreadable``); it holds as many frames as its header announces
    (``truncated``); no NaN/Inf (``nan``); at least ``min_seconds`` long (``too_short``); its peak is above
    ``silence_db`` dBFS (``silent``). A failed check raises ``ValueError`` whose message starts with the
    kind, e.g. ``"silent: peak -inf dBFS"``. Stereo is averaged to mono; any sample rate is resampled.

    Why not simply keep every 6th sample of a 48 kHz file? Decimation without a low-pass folds everything
    between 4 and 24 kHz (cymbals, hiss, sibilants) back into 0-4 kHz as aliases that are not in the sound.
    :func:`neuralogram.audio.to_model_rate` uses torchaudio's windowed-sinc resampler, whose low-pass removes
    that band first.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32 at 8 kHz
    info : dict
        ``sr`` (original rate), ``channels``, ``seconds`` and ``flags`` (e.g. ``["stereo", "resampled"]``).

    Book: ``book/04_data.ipynb``.
    """
    try:
        return _load_clip(Path(path), expected_seconds, silence_db, min_seconds)
    except _Rejected as err:
        raise ValueError(f"{err.kind}: {err} ({path})") from None


def _load_clip(path, expected_seconds, silence_db, min_seconds):
    try:
        info = sf.info(str(path))
    except Exception as err:  # noqa: BLE001 - libsndfile raises several types
        raise _Rejected("unreadable", f"cannot open as audio ({type(err).__name__}: {err})") from None
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001 - the header was fine, the data stops early or is corrupt
        raise _Rejected("truncated", f"decoding failed part-way ({type(err).__name__}: {err})") from None
    flags = []
    short_by = _wav_missing_bytes(path)
    if short_by:
        raise _Rejected("truncated", f"WAV data chunk is {short_by} bytes shorter than its header announces")
    if info.frames > 0 and x.shape[0] < 0.99 * info.frames:
        raise _Rejected("truncated", f"header announces {info.frames} frames, file holds {x.shape[0]}")
    if x.shape[0] == 0:
        raise _Rejected("truncated", "no audio frames")
    if not np.isfinite(x).all():
        raise _Rejected("nan", f"{int((~np.isfinite(x)).sum())} NaN/Inf samples")
    seconds = x.shape[0] / sr
    if seconds < min_seconds:
        raise _Rejected("too_short", f"{seconds:.2f} s < {min_seconds} s")
    peak = float(np.abs(x).max())
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_db < silence_db:
        raise _Rejected("silent", f"peak {peak_db:.1f} dBFS < {silence_db} dBFS")
    if x.shape[1] > 1:
        flags.append("stereo")
    if sr != PAPER_SR:
        flags.append("resampled")
    if expected_seconds and seconds < 0.9 * expected_seconds:
        flags.append("short")
    y = to_model_rate(x.T, sr=sr).numpy()  # (channels, n) -> averaged to mono, anti-aliased to 8 kHz
    if expected_seconds and y.size > int(round((expected_seconds + 0.5) * PAPER_SR)):
        y = y[: int(round(expected_seconds * PAPER_SR))]
        flags.append("trimmed")
    return np.ascontiguousarray(y, dtype=np.float32), {"sr": int(sr), "channels": int(x.shape[1]),
                                                       "seconds": round(seconds, 3), "flags": flags}


def pack(splits: Mapping[str, tuple[Sequence[Segment], object]], labels: Sequence[Label], out_path, *,
         workers: int = 2, silence_db: float = -60.0, source: str = "audioset-balanced",
         params: dict | None = None, report_path=None, progress: bool = True) -> dict:
    """Decode, check, resample and write AudioSet clips into one packed store (:func:`neuralogram.data.store.write_store`).

    Parameters
    ----------
    splits : dict
        ``{"train": (segments, audio_dir), "eval": (segments, audio_dir)}``; each segment's audio is looked up
        in its folder by the naming rules of :func:`find_audio` (``<YTID>.<ext>`` or ``<YTID>_<...>.<ext>``).
    labels : list of Label
        The label space (527 labels): targets are multi-hot rows over it (:func:`labels_to_multihot`).
    out_path : str or Path
        The HDF5 store to write (atomically).
    workers : int
        Threads decoding and resampling in parallel (order is preserved).
    silence_db : float
        Clips whose peak is below this level (dBFS) are rejected as silent.

    Returns
    -------
    dict
        The pack report: ``kept`` per split, ``rejected`` ``{kind: [clip_id, ...]}`` for ``missing``,
        ``unreadable``, ``truncated``, ``nan``, ``too_short``, ``silent``; ``flagged`` ``{flag: count}``
        (``stereo``, ``resampled``, ``short``, ``trimmed``); ``source_rates`` ``{Hz: count}``; ``path``.

    Book: ``book/04_data.ipynb``.
    """
    from tqdm.auto import tqdm

    for split in splits:
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    index = _label_index(labels)
    mids = [lab.mid for lab in labels]
    names = [lab.name for lab in labels]
    report = {"kept": {}, "rejected": {k: [] for k in ("missing", "unreadable", "truncated", "nan",
                                                          "too_short", "silent")},
              "flagged": Counter(), "source_rates": Counter()}

    folders = {}

    def work(item):
        split, seg, folder = item
        path = folders[folder].get(seg.ytid)
        if path is None:
            return split, seg, None, ("missing", "no audio file")
        try:
            y, info = _load_clip(path, seg.duration, silence_db, 1.0)
        except _Rejected as err:
            return split, seg, None, (err.kind, str(err))
        return split, seg, (y, info), None

    items = [(split, seg, Path(folder)) for split, (segs, folder) in splits.items() for seg in segs]
    for _, _, folder in items:
        if folder not in folders:
            folders[folder] = _index_folder(folder) if folder.is_dir() else {}
    details = {}

    def decoded(pool):
        chunk = 64 * max(1, int(workers))  # bounded look-ahead: at most `chunk` decoded clips in memory
        for i in range(0, len(items), chunk):
            yield from pool.map(work, items[i:i + chunk])

    def clips():
        with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
            for split, seg, ok, bad in tqdm(decoded(pool), total=len(items), desc="pack",
                                            disable=not progress):
                if bad is not None:
                    report["rejected"][bad[0]].append(seg.clip_id)
                    details[seg.clip_id] = bad[1]
                    continue
                y, info = ok
                report["kept"][split] = report["kept"].get(split, 0) + 1
                report["source_rates"][info["sr"]] += 1
                report["flagged"].update(info["flags"])
                yield Clip(seg.clip_id, y, [index[m] for m in seg.mids if m in index], split)

    path = write_store(out_path, clips(), label_mids=mids, label_names=names, source=source,
                       params=params or {})
    report["flagged"] = dict(report["flagged"])
    report["source_rates"] = {str(k): v for k, v in sorted(report["source_rates"].items())}
    report["details"] = details
    report["path"] = str(path)
    if report_path is not None:
        _write_report(Path(report_path), report)
    return report


def _wav_missing_bytes(path) -> int:
    """For a RIFF/WAVE file, how many bytes of the ``data`` chunk its header announces but the file lacks
    (libsndfile silently shortens such files instead of failing). 0 for complete files and other formats."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        size = os.fstat(fh.fileno()).st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            n = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return max(0, pos + 8 + n - size) if n != 0xFFFFFFFF else 0
            pos += 8 + n + (n & 1)
    return 0
