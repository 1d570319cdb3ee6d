"""UrbanSound8K: urban sounds in 10 classes, in the official folds (folds 1 and 2 here, at 8 kHz).

The official data set has 8,732 excerpts of at most 4 s from 1,302 Freesound recordings, in ten folds that keep
every source recording in one fold; results are reported per fold, never over a random split of excerpts (the
excerpts of one recording are near duplicates). ``../shared/real/urbansound8k`` holds folds 1 and 2 (1,761
excerpts, 134 source recordings each), resampled to the paper's 8 kHz; the book trains its linear probes on fold 1
and tests them on fold 2. The clips are :class:`~neuralogram.data.real.RealClip` (``split`` is ``"train"`` for
fold 1 and ``"test"`` for every other fold, ``group`` the Freesound id).

:data:`URBANSOUND_AUDIOSET` maps each class to the AudioSet label that names it, for zero-shot tagging.

Book: ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import soundfile as sf

from .real import ClipList, RealClip, RealDataMissing, data_roots

__all__ = ["URBANSOUND_CLASSES", "URBANSOUND_AUDIOSET", "urbansound8k"]

#: The ten classes in classID order.
URBANSOUND_CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
                      "gun_shot", "jackhammer", "siren", "street_music")
#: classID -> (class, AudioSet display name, AudioSet mid): the label a tagger trained on AudioSet would use.
#: ``street_music`` is AudioSet's "Music" (no narrower label says "in the street").
URBANSOUND_AUDIOSET = (
    (0, "air_conditioner", "Air conditioning", "/m/025wky1"),
    (1, "car_horn", "Vehicle horn, car horn, honking", "/m/0912c9"),
    (2, "children_playing", "Children playing", "/t/dd00013"),
    (3, "dog_bark", "Bark", "/m/05tny_"),
    (4, "drilling", "Drill", "/m/01d380"),
    (5, "engine_idling", "Idling", "/m/07pb8fc"),
    (6, "gun_shot", "Gunshot, gunfire", "/m/032s66"),
    (7, "jackhammer", "Jackhammer", "/m/03p19w"),
    (8, "siren", "Siren", "/m/03kmc9"),
    (9, "street_music", "Music", "/m/04rlf"),
)

_COLUMNS = {"filename", "fold", "classID", "class", "fsID"}


def _find(root) -> tuple[Path, str]:
    roots = [("root", Path(root).expanduser())] if root is not None else data_roots()
    looked = []
    for origin, r in roots:
        for d in (r, r / "urbansound8k", r / "UrbanSound8K"):
            if (d / "urbansound8k.csv").is_file() and (d / "audio").is_dir():
                return d, origin
        looked.append(f"{origin} ({r}{'' if r.is_dir() else ': no such folder'})")
    raise RealDataMissing("UrbanSound8K was not found: looked for urbansound8k/ (audio/fold*/ and urbansound8k.csv) "
                          "in " + "; ".join(looked) + ". To get it: download the official UrbanSound8K "
                          "(urbansounddataset.weebly.com), resample folds 1-2 to 8 kHz mono FLAC under "
                          "urbansound8k/audio/fold{1,2}/ with a urbansound8k.csv (filename, fold, classID, class, "
                          "fsID), and set NEURALOGRAM_DATA to the folder that holds it")


def urbansound8k(fold: int | None = None, *, root=None) -> ClipList:
    """The UrbanSound8K excerpts found here (folds 1 and 2 in ``../shared/real``), with their metadata.

    Parameters
    ----------
    fold : int, optional
        Only this fold (1 .. 10); default every fold present.
    root : str or Path, optional
        Read only this folder (it or its ``urbansound8k/``).

    Returns
    -------
    ClipList of RealClip
        Sorted by fold, then file name; ``label`` the class, ``target`` the classID, ``group`` the Freesound id,
        ``split`` ``"train"`` for fold 1 and ``"test"`` otherwise, ``sr`` the file's rate, ``audioset`` the mapped
        label (:data:`URBANSOUND_AUDIOSET`), ``meta`` the fold, occurrence and slice. Clips are read unverified
        (no manifest of their hashes is committed).

    Raises
    ------
    RealDataMissing
        No copy found (the message says where it looked).
    ValueError
        A bad ``fold``, a malformed csv (missing columns, an unknown class) or listed files that are missing.

    Book: ``book/13_audioset_net.ipynb``.
    """
    if fold is not None and (isinstance(fold, bool) or not isinstance(fold, int) or not 1 <= fold <= 10):
        raise ValueError(f"fold must be None or an integer from 1 to 10, got {fold!r}")
    d, origin = _find(root)
    meta = d / "urbansound8k.csv"
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not _COLUMNS <= set(rows[0]):
        raise ValueError(f"{meta}: expected the columns {sorted(_COLUMNS)}, got {sorted(rows[0]) if rows else 'no rows'}")
    out, missing = [], []
    for i, r in enumerate(rows, start=2):
        try:
            t, k = int(r["classID"]), int(r["fold"])
            if URBANSOUND_CLASSES[t] != r["class"] or not 1 <= k <= 10:
                raise ValueError
        except (ValueError, IndexError):
            raise ValueError(f"{meta}, line {i}: classID {r['classID']!r} / class {r['class']!r} / fold "
                             f"{r['fold']!r} is not UrbanSound8K's") from None
        if fold is not None and k != fold:
            continue
        p = d / "audio" / r["filename"]
        if not p.is_file():
            missing.append(r["filename"])
            continue
        _, _, name, mid = URBANSOUND_AUDIOSET[t]
        out.append(RealClip("urbansound8k", p.stem, p, r["class"], t, r["fsID"], "train" if k == 1 else "test",
                            sf.info(str(p)).samplerate, ((mid, name),),
                            {"fold": k, "occurrence": r.get("occurrenceID"), "slice": r.get("sliceID")}))
    if missing:
        raise ValueError(f"{d}: {len(missing)} clips listed in {meta.name} have no audio file (e.g. {missing[:3]}); "
                         "the copy is incomplete")
    out.sort(key=lambda c: (c.meta["fold"], c.name))
    return ClipList(out, root=d, origin=origin)
