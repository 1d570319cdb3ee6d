"""The packed corpus format shared by AudioSet and the offline stand-in corpus, and its PyTorch ``Dataset``.

One HDF5 file holds a whole corpus at 8 kHz mono:

=============  ==========================  ==================================================
dataset        dtype, shape                meaning
=============  ==========================  ==================================================
``audio``      int16, (total_samples,)     all clips concatenated
``offsets``    int64, (n_clips + 1,)       clip ``i`` is ``audio[offsets[i]:offsets[i+1]]``
``labels``     uint8, (n_clips, C)         multi-hot targets
``split``      uint8, (n_clips,)           0 = train, 1 = eval
``clip_ids``   str, (n_clips,)             e.g. YouTube id + start, or ``standin-000042``
``label_mids`` str, (C,)                   AudioSet machine ids (``/m/09x0r``)
``label_names``str, (C,)                   AudioSet display names (``Speech``)
=============  ==========================  ==================================================

and the attributes ``sr`` (8000), ``source`` and ``params`` (JSON). Files are written to a temporary name
and renamed at the end, so a corpus on disk is always complete.

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from ..audio import PAPER_SR, check_positive
from ..cache import atomic_path
from ..spectral import PAPER_HOP_LENGTH, LinearSpectrogram

__all__ = ["Clip", "write_store", "PackedStore", "CropDataset", "balanced_sampler", "SPLITS", "CorpusNotFoundError"]

SPLITS = {"train": 0, "eval": 1}


class CorpusNotFoundError(ValueError, FileNotFoundError):
    """No packed corpus at the path given (a ``ValueError`` like every bad input, and a ``FileNotFoundError``)."""
_STR = h5py.string_dtype("utf-8")


@dataclass
class Clip:
    """One clip to pack: float audio at 8 kHz in [-1, 1], label indices, and its split.

    Book: ``book/04_data.ipynb``.
    """

    clip_id: str
    audio: np.ndarray
    labels: Sequence[int]
    split: str = "train"
    extra: dict = field(default_factory=dict)


def write_store(path, clips: Iterable[Clip], *, label_mids: Sequence[str], label_names: Sequence[str],
                source: str, params: dict | None = None, sr: int = PAPER_SR) -> Path:
    """Write clips into a packed HDF5 store at ``path`` (atomically: complete file or nothing).

    Parameters
    ----------
    path : str or Path
    clips : iterable of Clip
        Audio must be float in [-1, 1] at ``sr``; it is stored as int16.
    label_mids, label_names : sequence of str [shape=(C,)]
        The label space; ``Clip.labels`` index into it.
    source : str
        Where the clips come from (``"standin"``, ``"audioset-balanced"``, ...).
    params : dict
        Everything needed to regenerate the corpus; stored as JSON.

    Returns
    -------
    Path

    Book: ``book/04_data.ipynb``.
    """
    if len(label_mids) != len(label_names):
        raise ValueError(f"label_mids ({len(label_mids)}) and label_names ({len(label_names)}) differ in length")
    n_classes = len(label_mids)
    if n_classes == 0:
        raise ValueError("the label space is empty")
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            audio = f.create_dataset("audio", shape=(0,), maxshape=(None,), dtype=np.int16, chunks=(1 << 16,))
            offsets, labels, splits, ids = [0], [], [], []
            for clip in clips:
                x = np.asarray(clip.audio, dtype=np.float32)
                if x.ndim != 1 or x.size == 0:
                    raise ValueError(f"clip {clip.clip_id}: audio must be a non-empty 1-D array, got {x.shape}")
                if not np.isfinite(x).all():
                    raise ValueError(f"clip {clip.clip_id}: audio contains NaN or Inf")
                if clip.split not in SPLITS:
                    raise ValueError(f"clip {clip.clip_id}: split must be one of {list(SPLITS)}, got {clip.split!r}")
                row = np.zeros(n_classes, np.uint8)
                for k in clip.labels:
                    if not 0 <= int(k) < n_classes:
                        raise ValueError(f"clip {clip.clip_id}: label index {k} outside 0..{n_classes - 1}")
                    row[int(k)] = 1
                pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype(np.int16)
                start = offsets[-1]
                audio.resize((start + pcm.size,))
                audio[start:] = pcm
                offsets.append(start + pcm.size)
                labels.append(row)
                splits.append(SPLITS[clip.split])
                ids.append(str(clip.clip_id))
            if not ids:
                raise ValueError("no clips to write: the corpus would be empty")
            f.create_dataset("offsets", data=np.asarray(offsets, np.int64))
            f.create_dataset("labels", data=np.stack(labels))
            f.create_dataset("split", data=np.asarray(splits, np.uint8))
            f.create_dataset("clip_ids", data=np.asarray(ids, dtype=object), dtype=_STR)
            f.create_dataset("label_mids", data=np.asarray(list(label_mids), dtype=object), dtype=_STR)
            f.create_dataset("label_names", data=np.asarray(list(label_names), dtype=object), dtype=_STR)
            f.attrs["sr"] = int(sr)
            f.attrs["source"] = str(source)
            f.attrs["params"] = json.dumps(params or {}, sort_keys=True, default=str)
    return path


class PackedStore:
    """Read a packed corpus. The audio is loaded into memory when ``in_memory`` (the default for files
    under 4 GB), otherwise read from disk clip by clip.

    Book: ``book/04_data.ipynb``.
    """

    def __init__(self, path, *, in_memory: bool | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise CorpusNotFoundError(f"no packed corpus at {self.path}")
        try:
            f = h5py.File(self.path, "r")
        except OSError as err:
            raise ValueError(f"{self.path} is not a readable HDF5 corpus ({err})") from None
        try:
            self._read(f, in_memory)
        except BaseException:
            f.close()
            raise

    def _read(self, f, in_memory):
        """Read and check everything but the audio samples; keep the file open when reading from disk."""
        where = self.path
        missing = [k for k in ("audio", "offsets", "labels", "split", "clip_ids", "label_mids", "label_names")
                   if k not in f]
        if missing:
            raise ValueError(f"{where} is not a packed corpus: missing datasets {missing}")
        sr = f.attrs.get("sr", PAPER_SR)
        if isinstance(sr, (bytes, str)) or not np.isscalar(sr) or int(sr) != sr or int(sr) != PAPER_SR:
            raise ValueError(f"{where}: the corpus says its audio is at {sr} Hz; packed corpora are at {PAPER_SR} Hz "
                             f"(the model's rate): repack it")
        self.sr = int(sr)
        self.source = str(f.attrs.get("source", ""))
        try:
            self.params = json.loads(f.attrs.get("params", "{}"))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: attribute params is not JSON ({err})") from None
        audio = f["audio"]
        if audio.dtype != np.int16 or audio.ndim != 1:
            raise ValueError(f"{where}: audio must be int16 of shape (total_samples,), got {audio.dtype} "
                             f"{audio.shape}")
        self.offsets = f["offsets"][:]
        self.labels = f["labels"][:]
        self.split = f["split"][:]
        self.clip_ids = [s.decode() if isinstance(s, bytes) else s for s in f["clip_ids"][:]]
        self.label_mids = [s.decode() if isinstance(s, bytes) else s for s in f["label_mids"][:]]
        self.label_names = [s.decode() if isinstance(s, bytes) else s for s in f["label_names"][:]]
        self._check(audio.shape[0])
        if in_memory is None:
            in_memory = audio.size * 2 < 4 * 2**30
        if in_memory:
            self._audio = audio[:]
            f.close()
            self._file = None
        else:
            self._audio = audio
            self._file = f

    def _check(self, total: int) -> None:
        """Offsets, labels, splits and names must agree with each other and with the audio."""
        where = self.path
        o, L, s = self.offsets, self.labels, self.split
        C = len(self.label_names)
        if len(self.label_mids) != C:
            raise ValueError(f"{where}: {len(self.label_mids)} label_mids but {C} label_names")
        if o.ndim != 1 or not np.issubdtype(o.dtype, np.integer):
            raise ValueError(f"{where}: offsets must be integers of shape (n_clips + 1,), got {o.dtype} {o.shape}")
        n = len(o) - 1
        if n < 1:
            raise ValueError(f"{where}: the corpus holds no clips")
        if o[0] != 0:
            raise ValueError(f"{where}: offsets must start at 0, got {o[0]}")
        if len(self.clip_ids) != n:
            raise ValueError(f"{where}: clip_ids has {len(self.clip_ids)} entries, but offsets define {n} clips")
        step = np.diff(o)
        if (step < 0).any():
            i = int(np.flatnonzero(step < 0)[0])
            raise ValueError(f"{where}: offsets must increase, but clip {i} ends at {o[i + 1]} before it starts "
                             f"at {o[i]}")
        if (step == 0).any():
            i = int(np.flatnonzero(step == 0)[0])
            raise ValueError(f"{where}: clip {i} ({self.clip_ids[i]}) is empty (offsets {o[i]} to {o[i + 1]})")
        if o[-1] != total:
            raise ValueError(f"{where}: offsets end at {o[-1]}, but the audio holds {total} samples")
        if L.shape != (n, C):
            raise ValueError(f"{where}: labels has shape {L.shape}, but {n} clips and {C} labels need ({n}, {C})")
        if not np.isin(L, (0, 1)).all():
            raise ValueError(f"{where}: labels must be 0 or 1 (multi-hot), found {sorted(set(np.unique(L)) - {0, 1})[:5]}")
        if s.shape != (n,):
            raise ValueError(f"{where}: split has {len(s)} entries, but there are {n} clips")
        if not np.isin(s, list(SPLITS.values())).all():
            raise ValueError(f"{where}: split must be 0 (train) or 1 (eval), found {sorted(set(np.unique(s)) - {0, 1})[:5]}")

    def __len__(self) -> int:
        return len(self.clip_ids)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def indices(self, split: str | None = None) -> np.ndarray:
        """Clip indices of a split (``"train"``, ``"eval"``) or of all clips (``None``)."""
        if split is None:
            return np.arange(len(self))
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)} or None, got {split!r}")
        return np.flatnonzero(self.split == SPLITS[split])

    def clip(self, i: int) -> np.ndarray:
        """Clip ``i`` as float32 in [-1, 1] at ``self.sr``."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return self._audio[a:b].astype(np.float32) / 32768.0

    def clip_names(self, i: int) -> list[str]:
        """Display names of clip ``i``'s labels."""
        return [self.label_names[k] for k in np.flatnonzero(self.labels[i])]

    def __repr__(self) -> str:
        hours = (self.offsets[-1] / self.sr) / 3600
        return (f"PackedStore({self.path.name!r}: {len(self)} clips, {hours:.2f} h, {self.n_classes} classes, "
                f"source={self.source!r}, train={len(self.indices('train'))}, eval={len(self.indices('eval'))})")


class CropDataset(Dataset):
    """2 s crops of a packed corpus as ``(1 x 129 x 200 spectrogram, C-dim multi-hot target)`` pairs.

    Training crops start at a random sample (``random_crop=True``) drawn from an RNG seeded by
    ``(seed, epoch, index)``, so an epoch is reproducible and resuming is exact; call :meth:`set_epoch` at the
    start of each epoch. Evaluation crops (``random_crop=False``) are the centred 2 s. Clips shorter than the
    crop are zero-padded at the end.

    With ``top_db`` (librosa's name for the same idea in ``librosa.effects.split``), a training crop is drawn
    only among the starts whose crop energy is within ``top_db`` dB of the clip's loudest crop: a 5 s ESC-50
    clip of a dog barking once, padded with digital silence, no longer yields 2 s of silence labelled "Dog".
    Steady sounds are unaffected (every crop qualifies).

    Book: ``book/04_data.ipynb``.
    """

    def __init__(self, store: PackedStore, *, split: str | None = "train", crop_seconds: float = 2.0,
                 random_crop: bool = True, seed: int = 0, top_db: float | None = None):
        self.store = store
        self.idx = store.indices(split)
        if len(self.idx) == 0:
            raise ValueError(f"{store.path.name}: the {split!r} split is empty")
        self.crop = int(round(check_positive(crop_seconds, "crop_seconds") * store.sr))
        if self.crop < PAPER_HOP_LENGTH:
            raise ValueError(f"crop_seconds={crop_seconds} is shorter than one spectrogram hop")
        self.random_crop = bool(random_crop)
        self.seed = int(seed)
        if top_db is not None:
            check_positive(top_db, "top_db")
        self.top_db = None if top_db is None else float(top_db)
        self.epoch = 0
        self.spec = LinearSpectrogram()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.idx)

    def crop_audio(self, j: int) -> np.ndarray:
        """The 2 s crop of the ``j``-th clip of this split (float32)."""
        x = self.store.clip(int(self.idx[j]))
        if x.size <= self.crop:
            return np.pad(x, (0, self.crop - x.size))
        if self.random_crop:
            rng = np.random.default_rng([self.seed, self.epoch, j])
            if self.top_db is None:
                start = int(rng.integers(0, x.size - self.crop + 1))
            else:
                c = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
                energy = c[self.crop:] - c[:-self.crop]          # of the crop starting at each sample
                ok = np.flatnonzero(energy >= energy.max() * 10 ** (-self.top_db / 10))
                start = int(ok[rng.integers(ok.size)])
        else:
            start = (x.size - self.crop) // 2
        return x[start:start + self.crop]

    def __getitem__(self, j: int):
        x = torch.from_numpy(self.crop_audio(j))
        with torch.no_grad():
            spec = self.spec(x).unsqueeze(0)
        target = torch.from_numpy(self.store.labels[self.idx[j]].astype(np.float32))
        return spec, target


def balanced_sampler(dataset: CropDataset, *, num_samples: int | None = None,
                     generator: torch.Generator | None = None) -> WeightedRandomSampler:
    """A sampler that draws clips with probability inversely proportional to their labels' frequency.

    Each clip's weight is the mean of ``1 / count(label)`` over its labels, so rare classes are seen as often
    as common ones on average (useful for AudioSet's long tail).

    Book: ``book/04_data.ipynb``.
    """
    Y = dataset.store.labels[dataset.idx].astype(np.float64)
    counts = Y.sum(0)
    inv = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    n_lab = np.maximum(Y.sum(1), 1)
    w = (Y @ inv) / n_lab
    w[w == 0] = w[w > 0].min() if (w > 0).any() else 1.0
    return WeightedRandomSampler(torch.as_tensor(w, dtype=torch.double), num_samples or len(w),
                                 replacement=True, generator=generator)
