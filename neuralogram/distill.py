"""Distillation: the paper's VGG learns AudioSet's 527 labels from the AudioSet network mn04.

AudioSet's audio cannot be downloaded here, but a network that heard all of it (mn04,
:mod:`neuralogram.mobilenet`) can label anything we can make. The student (a
:class:`~neuralogram.model.NeuralogramNet` with a 527-unit head and the teacher's labels) learns the teacher's
outputs for the same 2 s crop, the teacher hearing it as the student does: the 8 kHz crop, resampled to 32 kHz.

===================  ==========================================================================================
step                 what
===================  ==========================================================================================
sources              :class:`Source`: 8 kHz mono recordings named by id (:func:`default_sources`: the training
                     parts of ESC-50, FSDD and UrbanSound8K fold 1, the stand-in corpus's train clips, and
                     probe-like signals from :mod:`neuralogram.signals`: tones, chirps, impulse trains, noise,
                     silence). Never a held-out clip: ESC-50's test split, UrbanSound8K fold 2 and FSDD's test
                     speakers stay out (:func:`check_no_held_out`).
crop plan            :class:`CropPlan`: a few 2 s crops per source (by kind), each fixed by (source, start sample,
                     mixture partner and level, augmentation index): clean, through
                     :class:`~neuralogram.data.augment.Augmenter` (short sound, room, band limit, noise floor,
                     gain) and/or mixed with a second source (:func:`~neuralogram.data.augment.mix`). A tenth of
                     the source groups (recordings, speakers) form the validation part.
teacher cache        :func:`teacher_logits`: mn04's 527 logits of every crop, on disk under
                     ``$NEURALOGRAM_CACHE/distill`` in chunks keyed by the teacher's hash and the plan's hash,
                     each with a SHA-256 of its content; a corrupt, truncated or mismatched chunk is deleted and
                     recomputed, never used.
training             :func:`distill`: the student on :class:`DistillDataset` (log spectrogram of the crop ->
                     teacher logits), Adam, loss ``"bce"`` (sigmoid(teacher / T) as soft labels) or
                     ``"mse-logits"`` (logit matching); atomic checkpoints every epoch, exact resume, refusal
                     to resume a changed recipe.
validation           :func:`teacher_agreement` on the validation part (mAP against the teacher's labels, top-1
                     agreement) and UrbanSound8K fold 2 zero-shot top-1
                     (:func:`neuralogram.probes.transfer.zero_shot`). Never the ESC-50 held-out split.
===================  ==========================================================================================

Book: ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .audio import PAPER_SR, check_positive, resample
from .cache import atomic_path, cache_dir, param_hash
from .checkpoints import export_model, load_model, read_checkpoint, save_checkpoint
from .data.real_sources import RealDataMissing
from .model import ModelConfig, NeuralogramNet, count_flops

__all__ = ["CROP_SECONDS", "LOSSES", "Source", "PlanConfig", "CropPlan", "DistillDataMissing", "probe_sources",
           "real_sources", "standin_sources", "default_sources", "check_no_held_out", "load_source",
           "teacher_logits", "teacher_cache_dir", "DistillDataset", "distill_loss", "teacher_agreement",
           "us8k_zero_shot", "distill", "write_distill_card"]

#: The crop length: the student's 2 s context.
CROP_SECONDS = 2.0
_CROP = int(CROP_SECONDS * PAPER_SR)
#: The losses :func:`distill` offers.
LOSSES = ("bce", "mse-logits")
#: Bump when what a crop sounds like or what the teacher computes changes (it is part of every cache key).
VERSION = 1
#: Crops per teacher-cache chunk (a killed cache build loses at most one chunk).
CHUNK = 512
_AUG_STREAM = 0xD15


class DistillDataMissing(RealDataMissing, ValueError):
    """A data set the distillation plan needs is not here; the message names it and says how to get it.

    Book: ``book/13_audioset_net.ipynb``.
    """


# ---------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    """One 8 kHz mono recording the plan crops from.

    Attributes
    ----------
    id : str
        ``"esc50/NAME"``, ``"fsdd/NAME"``, ``"urbansound8k/NAME"``, ``"standin/INDEX"``, ``"probe/KIND-INDEX"``,
        or any id of your own (with ``kind="array"``).
    n_samples : int
        Length at 8 kHz (crops outside it are zeros).
    group : str
        What the validation split keeps together (source recording, speaker).
    kind : {"real", "store", "probe", "array"}
        How :func:`load_source` reads it.
    ref : object
        A RealClip, ``(store path, index)``, the probe's parameters, or the array itself.
    mixable : bool
        Whether it may be a mixture partner (probe signals are not mixed).
    background : bool
        A steady real background recording (the augmenter's real noise floors come from these).

    Book: ``book/13_audioset_net.ipynb``.
    """

    id: str
    n_samples: int
    group: str
    kind: str
    ref: Any = field(default=None, compare=False, repr=False)
    mixable: bool = True
    background: bool = False


_STORES: dict = {}


def load_source(src: Source) -> np.ndarray:
    """The audio of a source: float32 mono at 8 kHz.

    Book: ``book/13_audioset_net.ipynb``.
    """
    if src.kind == "array":
        return np.asarray(src.ref, np.float32)
    if src.kind == "probe":
        return _probe_audio(src.ref)
    if src.kind == "store":
        from .data.store import PackedStore

        path, i = src.ref
        if path not in _STORES:
            _STORES[path] = PackedStore(path)
        return np.asarray(_STORES[path].clip(int(i)), np.float32)
    if src.kind == "real":
        clip = src.ref
        if clip.sr == PAPER_SR:
            return clip.load()
        import soundfile as sf

        from .data.mixed import real_at_8k

        y, sr = sf.read(str(real_at_8k(clip)), dtype="float32", always_2d=False)
        return y if y.ndim == 1 else y.mean(1)
    raise ValueError(f"source {src.id}: unknown kind {src.kind!r}")


_PROBE_KINDS = ("tone", "chirp", "impulses", "noise", "silence")


def _probe_audio(p: dict) -> np.ndarray:
    from . import signals

    sr, d = PAPER_SR, CROP_SECONDS
    k = p["kind"]
    if k == "tone":
        y = sum(signals.sine(freq=p["freq"] * (h + 1), duration=d, sr=sr, amplitude=p["amplitude"] / (h + 1))
                for h in range(p["harmonics"]) if p["freq"] * (h + 1) < sr / 2)
    elif k == "chirp":
        y = signals.linear_chirp(f_start=p["f_start"], f_end=p["f_end"], duration=d, sr=sr, amplitude=p["amplitude"])
    elif k == "impulses":
        y = signals.impulse_train(period=p["period"], duration=d, sr=sr, amplitude=p["amplitude"])
    elif k == "noise":
        y = signals.noise(duration=d, sr=sr, color=p["color"], amplitude=p["amplitude"], seed=p["seed"])
    elif k == "silence":
        y = np.zeros(_CROP)
    else:
        raise ValueError(f"unknown probe kind {k!r}; use one of {_PROBE_KINDS}")
    return np.asarray(y, np.float32)[:_CROP]


def probe_sources(n: int, *, seed: int = 0) -> list[Source]:
    """``n`` probe-like signals of 2 s, cycling through tones (1-4 harmonics, 40-3900 Hz), linear chirps, impulse
    trains (periods 1 ms - 0.5 s), white/pink/brown noise (-70 to -10 dBFS) and digital silence, parameters drawn
    from ``(seed, index)``.

    Book: ``book/13_audioset_net.ipynb``.
    """
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"the number of probe signals must be a non-negative integer, got {n!r}")
    out = []
    for i in range(int(n)):
        rng = np.random.default_rng([int(seed), 0x9B0, i])
        kind = _PROBE_KINDS[i % len(_PROBE_KINDS)]
        amp = float(10 ** rng.uniform(-2.0, -0.3))
        p: dict = {"kind": kind, "amplitude": round(amp, 5)}
        if kind == "tone":
            p.update(freq=round(float(np.exp(rng.uniform(np.log(40), np.log(3900)))), 2),
                     harmonics=int(rng.integers(1, 5)))
        elif kind == "chirp":
            a, b = np.exp(rng.uniform(np.log(20), np.log(3990), 2))
            p.update(f_start=round(float(a), 2), f_end=round(float(b), 2))
        elif kind == "impulses":
            p.update(period=round(float(np.exp(rng.uniform(np.log(0.001), np.log(0.5)))), 6), amplitude=0.9)
        elif kind == "noise":
            p.update(color=["white", "pink", "brown"][int(rng.integers(3))], seed=int(rng.integers(2 ** 31)),
                     amplitude=round(float(10 ** rng.uniform(-3.5, -0.5)), 6))
        sid = f"probe/{kind}-{i:05d}"
        out.append(Source(sid, _CROP, sid, "probe", p, mixable=False))
    return out


def _n8k(clip) -> int:
    import soundfile as sf

    frames = sf.info(str(clip.path)).frames
    return int(math.ceil(frames * PAPER_SR / clip.sr))


def real_sources(*, esc50: bool = True, fsdd: bool = True, urbansound: bool = True) -> list[Source]:
    """The training parts of the real sets as sources: ESC-50's train split, FSDD's training speakers and
    UrbanSound8K fold 1. Nothing is read but metadata (ESC-50 is resampled to 8 kHz when first cropped).

    Raises
    ------
    DistillDataMissing
        A set is not here: the message names it and says how to get it.

    Book: ``book/13_audioset_net.ipynb``.
    """
    from .data import real
    from .data.mixed import BACKGROUND_CLASSES
    from .data.urbansound import urbansound8k

    out = []
    wanted = [("ESC-50", esc50, lambda: real.esc50("train")), ("FSDD", fsdd, lambda: real.fsdd("train")),
              ("UrbanSound8K", urbansound, lambda: urbansound8k(1))]
    for title, on, get in wanted:
        if not on:
            continue
        try:
            clips = get()
        except RealDataMissing as err:
            raise DistillDataMissing(f"distillation needs {title} (its training part): {err}") from None
        for c in clips:
            if c.split != "train":
                raise AssertionError(f"{c.dataset}/{c.name} is held out")
            group = f"{c.dataset}/{c.group}" + (f"/{c.label}" if c.dataset == "fsdd" else "")   # speaker/digit
            out.append(Source(f"{c.dataset}/{c.name}", _n8k(c), group, "real", c,
                              background=c.dataset == "esc50" and c.label in BACKGROUND_CLASSES))
    return out


def standin_sources(store_path) -> list[Source]:
    """The train-split clips of a packed stand-in corpus (``standin_corpus(...)``) as sources.

    Book: ``book/13_audioset_net.ipynb``.
    """
    from .data.store import PackedStore

    st = PackedStore(store_path)
    if st.sr != PAPER_SR:
        raise ValueError(f"{store_path}: the stand-in corpus must be at {PAPER_SR} Hz, got {st.sr}")
    out = []
    for i in st.indices("train"):
        n = int(st.offsets[i + 1] - st.offsets[i])
        out.append(Source(f"standin/{int(i):06d}", n, f"standin/{int(i):06d}", "store", (str(store_path), int(i))))
    return out


def default_sources(*, standin_clips: int = 4000, standin_seed: int = 0, n_probes: int = 1000, probe_seed: int = 0,
                    real: bool = True, progress: bool = True) -> list[Source]:
    """Every source of the shipped students: :func:`real_sources`, the stand-in corpus's train clips
    (``standin_clips`` clips of 4 s, made and cached on first use) and ``n_probes`` :func:`probe_sources`.

    Book: ``book/13_audioset_net.ipynb``.
    """
    out = real_sources() if real else []
    if standin_clips:
        from .data.standin.corpus import standin_corpus

        out += standin_sources(standin_corpus(standin_clips, standin_seed, 4.0, progress=progress))
    out += probe_sources(n_probes, seed=probe_seed)
    return out


def check_no_held_out(sources: Sequence[Source]) -> None:
    """Raise ``ValueError`` when a source is a held-out clip: ESC-50's test split, UrbanSound8K beyond fold 1 or
    an FSDD test speaker (read from the data sets' own metadata where they are here).

    Book: ``book/13_audioset_net.ipynb``.
    """
    from .data import real
    from .data.real_meta import FSDD_TEST_SPEAKERS

    ids = {s.id for s in sources}
    bad = [i for i in ids if i.startswith("fsdd/") and i.split("/", 1)[1].split("_")[1] in FSDD_TEST_SPEAKERS]
    for s in sources:
        if s.kind != "real":
            continue
        if s.ref.split != "train" or (s.ref.dataset == "urbansound8k" and s.ref.meta.get("fold") != 1):
            bad.append(s.id)
    try:
        bad += [f"esc50/{c.name}" for c in real.esc50("test") if f"esc50/{c.name}" in ids]
    except RealDataMissing:
        pass
    if bad:
        raise ValueError(f"{len(bad)} held-out clip(s) among the distillation sources, e.g. {sorted(bad)[:3]}")


# ---------------------------------------------------------------------------------------------- the crop plan
@dataclass(frozen=True)
class PlanConfig:
    """How a :class:`CropPlan` draws its crops.

    Parameters
    ----------
    n_views : int
        Crops per source of a kind that ``views`` does not list.
    views : tuple of (str, int)
        Crops per source by kind (the id's prefix): the recordings whose variety matters most get more views,
        FSDD's 2,000 near-identical short digits one each.
    p_clean : float
        Probability that a crop is left as recorded (no augmentation, no mixture).
    p_mix : float
        Of the other crops, the probability of a mixture with a second mixable source of the same part, at
        ``augment.mix_db`` dB (RMS) relative to the first.
    val_fraction : float
        Fraction of the source groups (recordings, speakers) in the validation part.
    seed : int
    augment : AugmentConfig, optional
        The augmenter's settings (default: :class:`~neuralogram.data.augment.AugmentConfig`'s).

    Book: ``book/13_audioset_net.ipynb``.
    """

    n_views: int = 4
    views: tuple = (("esc50", 8), ("urbansound8k", 4), ("fsdd", 1), ("standin", 2), ("probe", 2))
    p_clean: float = 0.25
    p_mix: float = 0.3
    val_fraction: float = 0.1
    seed: int = 0
    augment: Any = None

    def __post_init__(self):
        if isinstance(self.n_views, bool) or int(self.n_views) != self.n_views or self.n_views < 1:
            raise ValueError(f"n_views must be a positive integer, got {self.n_views!r}")
        for kind, n in self.views:
            if not isinstance(kind, str) or isinstance(n, bool) or int(n) != n or n < 0:
                raise ValueError(f"views must be (kind, non-negative integer) pairs, got {(kind, n)!r}")
        for name in ("p_clean", "p_mix", "val_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"PlanConfig.{name} must be in [0, 1], got {v!r}")

    def views_of(self, source_id: str) -> int:
        """Crops of the source with this id (its kind is the prefix before ``/``)."""
        return int(dict(self.views).get(source_id.split("/", 1)[0], self.n_views))

    def augment_config(self):
        from .data.augment import AugmentConfig

        return self.augment or AugmentConfig()

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "augment"}
        d["views"] = [list(kv) for kv in self.views]
        d["augment"] = self.augment_config().to_dict()
        return d


def _part(group: str, seed: int, val_fraction: float) -> str:
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 16 ** 8
    return "val" if h < val_fraction else "train"


class CropPlan:
    """The fixed list of 2 s crops the student trains on and the teacher labels (see the module docstring).

    Parameters
    ----------
    sources : sequence of Source
        Distinct ids.
    config : PlanConfig
    augment_seed : int
        Seed of the augmenter (its RIR bank and every draw).

    Attributes
    ----------
    crops : list of dict
        ``source``, ``start`` (sample at 8 kHz; negative: the source starts later in the window), ``part``
        (``"train"``/``"val"``), ``view``, ``augment`` (bool), and for a mixture ``mix``, ``mix_start``,
        ``mix_db``.
    hash : str
        Of the crops, the sources' lengths, the augmenter's parameters and :data:`VERSION`: the cache key.

    Book: ``book/13_audioset_net.ipynb``.
    """

    def __init__(self, sources: Sequence[Source], config: PlanConfig | None = None, *, augment_seed: int = 0):
        self.config = config or PlanConfig()
        self.sources = {s.id: s for s in sources}
        if len(self.sources) != len(sources):
            raise ValueError("source ids must be distinct")
        if not self.sources:
            raise ValueError("no sources given")
        bad = [s.id for s in sources if isinstance(s.n_samples, bool) or int(s.n_samples) < 1]
        if bad:
            raise ValueError(f"sources without audio (n_samples < 1): {bad[:3]}")
        self.augment_seed = int(augment_seed)
        self._augmenter = None
        c = self.config
        parts = {s.id: _part(s.group, c.seed, c.val_fraction) for s in sources}
        partners = {p: [s.id for s in sources if s.mixable and parts[s.id] == p] for p in ("train", "val")}
        rng = np.random.default_rng([c.seed, 0xC20])
        crops = []
        n_views = {s.id: c.views_of(s.id) for s in sources}
        for v in range(max(n_views.values())):
            for s in sources:
                if v >= n_views[s.id]:
                    continue
                crop = {"source": s.id, "start": _draw_start(rng, s.n_samples), "part": parts[s.id], "view": v}
                clean = rng.random() < c.p_clean
                pool = partners[parts[s.id]]
                if not clean and s.mixable and len(pool) > 1 and rng.random() < c.p_mix:
                    other = pool[int(rng.integers(len(pool)))]
                    if other != s.id:
                        crop.update(mix=other, mix_start=_draw_start(rng, self.sources[other].n_samples),
                                    mix_db=round(float(rng.uniform(*c.augment_config().mix_db)), 3))
                crop["augment"] = not clean
                crops.append(crop)
        if not crops:
            raise ValueError("the plan has no crops (every source kind has 0 views)")
        self.crops = crops
        lengths = sorted((s.id, int(s.n_samples)) for s in sources)
        self.hash = param_hash({"crops": crops, "lengths": lengths, "config": c.to_dict(),
                                "augment_seed": self.augment_seed, "backgrounds": self._background_ids(),
                                "sr": PAPER_SR, "crop": _CROP, "version": VERSION}, length=16)

    def __len__(self) -> int:
        return len(self.crops)

    def _background_ids(self) -> list[str]:
        return sorted(s.id for s in self.sources.values() if s.background and _part(s.group, self.config.seed,
                                                                                  self.config.val_fraction) == "train")

    def indices(self, part: str | None = None) -> np.ndarray:
        """Crop indices of one part (``"train"``, ``"val"``) or all."""
        if part not in (None, "train", "val"):
            raise ValueError(f"part must be None, 'train' or 'val', got {part!r}")
        return np.array([i for i, c in enumerate(self.crops) if part is None or c["part"] == part], dtype=np.int64)

    def summary(self) -> dict:
        """Counts of crops by source kind and part, mixtures and augmented crops (for the model card)."""
        out: dict = {}
        for c in self.crops:
            k = f"{c['source'].split('/', 1)[0]}/{c['part']}"
            out[k] = out.get(k, 0) + 1
        return {"crops": len(self.crops), "by_source_and_part": dict(sorted(out.items())),
                "mixtures": sum("mix" in c for c in self.crops), "augmented": sum(c["augment"] for c in self.crops),
                "sources": len(self.sources), "hash": self.hash, "config": self.config.to_dict()}

    @property
    def augmenter(self):
        """The :class:`~neuralogram.data.augment.Augmenter` (real noise floors: the training part's steady
        ESC-50 backgrounds), built on first use."""
        if self._augmenter is None:
            from .data.augment import Augmenter, Background

            bgs = []
            for sid in self._background_ids():
                from .data.mixed import real_at_8k

                bgs.append(Background(str(real_at_8k(self.sources[sid].ref))))
            self._augmenter = Augmenter(self.config.augment_config(), sr=PAPER_SR, backgrounds=bgs,
                                        seed=self.augment_seed)
        return self._augmenter

    def render(self, i: int) -> np.ndarray:
        """Crop ``i`` as float32 at 8 kHz, 16000 samples: window, mixture, augmentation (deterministic).

        Book: ``book/13_audioset_net.ipynb``.
        """
        from .data.augment import mix

        c = self.crops[int(i)]
        x = _window(load_source(self.sources[c["source"]]), c["start"])
        if "mix" in c:
            x = mix(x, _window(load_source(self.sources[c["mix"]]), c["mix_start"]), c["mix_db"])
        if c["augment"]:
            with warnings.catch_warnings():     # a quiet background recording is skipped: audiomentations says so
                warnings.filterwarnings("ignore", message=".*too silent to be added as noise")
                x, _ = self.augmenter(x, index=int(i), stream=_AUG_STREAM)
            x = _window(x, 0)
        return np.clip(np.asarray(x, np.float32), -1.0, 1.0)


def _draw_start(rng, n: int) -> int:
    lo, hi = min(0, n - _CROP), max(0, n - _CROP)
    return int(rng.integers(lo, hi + 1))


def _window(y: np.ndarray, start: int) -> np.ndarray:
    """``y[start:start + 2 s]``, zeros where that lies outside ``y``."""
    out = np.zeros(_CROP, np.float32)
    a, b = max(start, 0), min(start + _CROP, len(y))
    if b > a:
        out[a - start:b - start] = y[a:b]
    return out


# ---------------------------------------------------------------------------------------------- the teacher
def teacher_cache_dir(plan: CropPlan, teacher_hash: str) -> Path:
    """Where :func:`teacher_logits` keeps the chunks for this plan and teacher.

    Book: ``book/13_audioset_net.ipynb``.
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

    Book: ``book/13_audioset_net.ipynb``.
    """
    from tqdm.auto import tqdm

    from .checkpoints import model_hash, resolve_model

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


# ---------------------------------------------------------------------------------------------- the student
class DistillDataset(torch.utils.data.Dataset):
    """``(log spectrogram 1 x 129 x 200 of the 8 kHz crop, teacher logits)`` for the crops of one part.

    Book: ``book/13_audioset_net.ipynb``.
    """

    def __init__(self, plan: CropPlan, logits: np.ndarray, *, part: str | None = "train"):
        from .spectral import LinearSpectrogram

        logits = np.asarray(logits, np.float32)
        if logits.ndim != 2 or len(logits) != len(plan):
            raise ValueError(f"logits {logits.shape} do not fit the plan's {len(plan)} crops")
        self.plan, self.logits = plan, logits
        self.idx = plan.indices(part)
        if not len(self.idx):
            raise ValueError(f"the plan's {part!r} part is empty")
        self.spec = LinearSpectrogram()

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, j: int):
        i = int(self.idx[j])
        with torch.no_grad():
            spec = self.spec(torch.from_numpy(self.plan.render(i))).unsqueeze(0)
        return spec, torch.from_numpy(self.logits[i])


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, *, loss: str = "bce",
                 temperature: float = 1.0) -> torch.Tensor:
    """The distillation loss, averaged over the batch.

    ``"bce"``: binary cross-entropy of ``sigmoid(student / T)`` against the soft labels ``sigmoid(teacher / T)``,
    summed over the 527 labels and multiplied by ``T**2`` (Hinton et al. 2015: the gradients keep their scale as
    ``T`` changes). ``"mse-logits"``: the mean squared difference of the logits (Ba & Caruana 2014); ``T`` unused.

    Book: ``book/13_audioset_net.ipynb``.
    """
    if student.shape != teacher.shape:
        raise ValueError(f"student logits {tuple(student.shape)} and teacher logits {tuple(teacher.shape)} differ")
    if loss == "bce":
        T = float(temperature)
        return F.binary_cross_entropy_with_logits(student / T, torch.sigmoid(teacher / T),
                                                  reduction="none").sum(-1).mean() * T * T
    if loss == "mse-logits":
        return (student - teacher).square().mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def teacher_agreement(student_logits, teacher_logits, *, threshold: float = 0.5) -> dict:
    """How well a student agrees with its teacher on crops neither trained on.

    Returns
    -------
    dict
        ``mAP``: the student's sigmoid scores ranked against the teacher's labels (a label is the teacher's when
        its probability is at least ``threshold``, and every crop's top label is); ``chance_mAP``; ``top1``: the
        fraction of crops whose highest-scoring label is the teacher's; ``n``.

    Book: ``book/13_audioset_net.ipynb``.
    """
    from .train import average_precision, chance_map

    S, T = np.asarray(student_logits, np.float64), np.asarray(teacher_logits, np.float64)
    if S.shape != T.shape or S.ndim != 2 or not len(S):
        raise ValueError(f"student {S.shape} and teacher {T.shape} logits must be the same non-empty (n, K)")
    Y = (1 / (1 + np.exp(-T)) >= threshold)
    Y[np.arange(len(T)), T.argmax(1)] = True
    ap = average_precision(S, Y)
    return {"mAP": float(np.nanmean(ap)), "chance_mAP": chance_map(Y),
            "top1": float(np.mean(S.argmax(1) == T.argmax(1))), "n": int(len(S))}


def us8k_zero_shot(model, info=None, *, cache: bool = True) -> dict:
    """UrbanSound8K fold 2 (never trained on; the book's test fold) zero-shot top-1 among the 10 mapped labels,
    the clips heard through 8 kHz (:func:`neuralogram.probes.transfer.clip_outputs`).

    Book: ``book/13_audioset_net.ipynb``.
    """
    from .data.urbansound import URBANSOUND_AUDIOSET, urbansound8k
    from .probes.transfer import clip_outputs, zero_shot

    try:
        clips = urbansound8k(2)
    except RealDataMissing as err:
        raise DistillDataMissing(f"the validation needs UrbanSound8K fold 2: {err}") from None
    out = clip_outputs(clips, model, info, band="8k", cache=cache)
    labels = (info or {}).get("label_mids")
    zs = zero_shot(out["probs"], labels, [c.target for c in clips], [m for *_, m in URBANSOUND_AUDIOSET])
    return {"top1": zs["top1"], "in_labels": zs["in_labels"], "n": len(clips)}


@torch.no_grad()
def _predict(model, dataset, batch_size) -> np.ndarray:
    from torch.utils.data import DataLoader

    model.eval()
    return np.concatenate([model(s).numpy() for s, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False)])


def distill(plan: CropPlan, out_dir, *, teacher="mn04-audioset", teacher_info: dict | None = None,
            embedding_size: int = 500, width: float = 0.125, epochs: int = 10, batch_size: int = 32,
            lr: float = 1e-3, temperature: float = 1.0, loss: str = "bce", seed: int = 0, resume: bool = False,
            steps_per_epoch: int | None = None, num_workers: int = 0, us8k_every: int = 0,
            export: str | None = None, command: str | None = None, progress: bool = True) -> dict:
    """Train a student VGG on the teacher's logits for the crops of ``plan``.

    Parameters
    ----------
    plan : CropPlan
    out_dir : str or Path
        Receives ``last.pt`` (model, optimizer and RNG state, written atomically every epoch) and
        ``metrics.jsonl``.
    teacher, teacher_info
        The teacher network (or a shipped name) and its ``load_model`` info; its logits come from
        :func:`teacher_logits` (cached).
    embedding_size, width : int, float
        The student (:class:`~neuralogram.model.ModelConfig`, 527 outputs, sigmoid).
    epochs, batch_size, lr, seed
        Adam; every epoch visits the plan's training crops once in an order drawn from ``(seed, epoch)``.
    temperature, loss
        :func:`distill_loss`.
    resume : bool
        Continue from ``out_dir/last.pt``; bit-identical to an uninterrupted run on CPU. Refused (``ValueError``)
        when the recipe changed: plan, teacher, loss, temperature, sizes, learning rate, batch size or seed.
    steps_per_epoch : int, optional
        Cap the batches per epoch (part of the recipe).
    us8k_every : int
        Measure :func:`us8k_zero_shot` every this many epochs and after the last (0: only with ``export``).
    export : str, optional
        After the last epoch, write the shipped model and its card (:func:`write_distill_card`) there.
    command : str, optional
        The command that made the run (recorded in the card).

    Returns
    -------
    dict
        The last epoch's metrics.

    Book: ``book/13_audioset_net.ipynb``.
    """
    from torch.utils.data import DataLoader, RandomSampler

    from .checkpoints import resolve_model
    from .train import _check_resume, _check_settings

    _check_settings(epochs, batch_size, lr, 0.0, steps_per_epoch)
    check_positive(temperature, "temperature")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if isinstance(us8k_every, bool) or int(us8k_every) != us8k_every or us8k_every < 0:
        raise ValueError(f"us8k_every must be a non-negative integer, got {us8k_every!r}")
    teacher, teacher_info = resolve_model(teacher, teacher_info)
    teacher_info = dict(teacher_info or {})
    from .checkpoints import model_hash

    th = str(teacher_info.get("hash") or model_hash(teacher))
    labels = list(teacher_info.get("label_names") or [f"label {k}" for k in range(teacher.n_classes)])
    mids = list(teacher_info.get("label_mids") or labels)
    train_ds_len = len(plan.indices("train"))
    if batch_size > train_ds_len:
        raise ValueError(f"batch_size={batch_size} is larger than the plan's {train_ds_len} training crops")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    logits = teacher_logits(plan, teacher, dict(teacher_info, hash=th), progress=progress)
    train_ds = DistillDataset(plan, logits, part="train")
    val_ds = DistillDataset(plan, logits, part="val") if len(plan.indices("val")) else None

    torch.manual_seed(seed)
    config = ModelConfig(n_classes=logits.shape[1], embedding_size=embedding_size, width=width, loss="bce")
    model = NeuralogramNet(config)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    recipe = {"plan": plan.hash, "teacher": th, "loss": loss, "temperature": float(temperature),
              "embedding_size": int(embedding_size), "width": float(width), "lr": float(lr),
              "batch_size": int(batch_size), "seed": int(seed), "steps_per_epoch": steps_per_epoch}
    ckpt_path = out_dir / "last.pt"
    start, history = 0, []
    if resume and ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path)
        _check_resume(ckpt, ckpt_path, recipe)
        if ckpt["config"] != config.to_dict():
            raise ValueError(f"--resume: {ckpt_path} was trained with config {ckpt['config']}, "
                             f"but this run asks for {config.to_dict()}")
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng_state"])
        start, history = int(ckpt["epoch"]) + 1, list(ckpt.get("history", []))
    metrics = history[-1] if history else {}
    flops = count_flops(config)
    for epoch in range(start, epochs):
        sampler = RandomSampler(train_ds, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
        loader = DataLoader(train_ds, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                            drop_last=True)
        n_batches = len(loader) if steps_per_epoch is None else min(len(loader), steps_per_epoch)
        model.train()
        t0, total, seen = time.time(), 0.0, 0
        it = iter(loader)
        bar = range(n_batches)
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        for _ in bar:
            spec, target = next(it)
            out = model(spec)
            l = distill_loss(out, target, loss=loss, temperature=temperature)
            opt.zero_grad(set_to_none=True)
            l.backward()
            opt.step()
            total += float(l.detach()) * len(spec)
            seen += len(spec)
        del it
        train_time = time.time() - t0
        rng = torch.get_rng_state()            # evaluation draws nothing, but keep the state exactly
        metrics = {"epoch": epoch + 1, "train_loss": total / max(seen, 1), "train_seconds": round(train_time, 2),
                   "samples_per_s": round(seen / max(train_time, 1e-9), 2), "samples_seen": seen,
                   "gflop_per_sample": round(flops / 1e9, 4)}
        if val_ds is not None:
            S = _predict(model, val_ds, 64)
            T = logits[val_ds.idx]
            metrics["val_loss"] = float(distill_loss(torch.from_numpy(S), torch.from_numpy(T), loss=loss,
                                                     temperature=temperature))
            metrics.update({f"val_{k}": v for k, v in teacher_agreement(S, T).items()})
        last = epoch + 1 == epochs
        if (us8k_every and ((epoch + 1) % us8k_every == 0 or last)) or (export and last):
            zs = us8k_zero_shot(model.eval(), {"label_mids": mids}, cache=False)
            metrics["us8k_fold2_top1"] = zs["top1"]
        torch.set_rng_state(rng)
        history.append(metrics)
        with atomic_path(out_dir / "metrics.jsonl") as tmp:
            tmp.write_text("".join(json.dumps(h) + "\n" for h in history))
        save_checkpoint(ckpt_path, {
            "config": config.to_dict(), "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
            "epoch": epoch, "rng_state": torch.get_rng_state(), "history": history,
            "label_names": labels, "label_mids": mids,
            "train": dict(recipe, corpus="distill", teacher_name=teacher_info.get("name"), command=command,
                          plan_summary=plan.summary())})
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: train loss {metrics['train_loss']:.4f}"
                  + (f"  val mAP {metrics['val_mAP']:.3f} top-1 {metrics['val_top1']:.3f}" if val_ds else "")
                  + (f"  US8K fold 2 top-1 {metrics['us8k_fold2_top1']:.3f}" if "us8k_fold2_top1" in metrics else "")
                  + f"  {metrics['samples_per_s']:.1f} samples/s", flush=True)
    if export:
        ckpt = read_checkpoint(ckpt_path)
        ckpt["metrics"] = metrics
        ckpt["train"]["epochs"] = epochs
        if command is not None:
            ckpt["train"]["command"] = command
        ckpt["train"]["wall_seconds"] = round(sum(h["train_seconds"] for h in history), 1)
        export_model(ckpt, export)
        write_distill_card(export, ckpt, history)
    return metrics


def write_distill_card(model_path, ckpt: dict, history: list[dict]) -> Path:
    """Write a distilled student's model card: ``NAME.md`` and ``NAME.json`` (every number) beside it.

    Book: ``book/13_audioset_net.ipynb``.
    """
    model_path = Path(model_path)
    cfg, tr, last = ckpt["config"], ckpt["train"], history[-1]
    card = {"name": model_path.stem, "arch": "vgg19", "config": cfg, "train": tr, "final": last,
            "history": history, "label_names": ckpt["label_names"]}
    with atomic_path(model_path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(card, indent=1))
    ps = tr.get("plan_summary", {})
    loss_words = {"bce": f"binary cross-entropy against the teacher's sigmoid(logits / {tr['temperature']}) "
                         f"(x T^2)", "mse-logits": "mean squared error between the logits (logit matching)"}
    val = (f"{last['val_mAP']:.3f} (chance {last['val_chance_mAP']:.3f}); top-1 agreement "
           f"{last['val_top1']:.3f}" if "val_mAP" in last else "n/a")
    lines = [f"# Model card: `{model_path.stem}`", "",
             f"A 19-layer VGG (16 conv + 3 fully connected, width x{cfg['width']}) with embedding size "
             f"**E = {cfg['embedding_size']}** and AudioSet's {cfg['n_classes']} labels, distilled from the AudioSet "
             f"network `{tr.get('teacher_name') or 'mn04-audioset'}` (weights hash `{tr['teacher']}`): it learned the "
             f"teacher's outputs for 2 s crops at 8 kHz ({loss_words.get(tr['loss'], tr['loss'])}).", "",
             "| | |", "|---|---|",
             f"| crop plan | `{tr['plan']}`: {ps.get('crops')} crops of {ps.get('sources')} sources, "
             f"{ps.get('augmented')} augmented, {ps.get('mixtures')} mixtures |",
             f"| crops by source | `{json.dumps(ps.get('by_source_and_part', {}))}` |",
             f"| held out | ESC-50 test split, UrbanSound8K fold 2, FSDD test speakers (never in the plan) |",
             f"| seed | {tr['seed']} |",
             f"| command | `{tr.get('command') or '(python API)'}` |",
             f"| optimiser | Adam, lr {tr['lr']}, batch {tr['batch_size']} |",
             f"| epochs | {tr.get('epochs', last['epoch'])} |",
             f"| wall time (training) | {tr.get('wall_seconds', 0) / 60:.1f} min |",
             f"| validation part (teacher agreement) | mAP {val} |",
             f"| UrbanSound8K fold 2 zero-shot top-1 | {last.get('us8k_fold2_top1', float('nan')):.3f} |",
             f"| FLOPs per 2 s window | {last['gflop_per_sample']} GFLOP |",
             "| weights | float16 (loaded as float32) |", "",
             "## Training curve", "", "| epoch | train loss | val loss | val mAP | val top-1 |", "|---|---|---|---|---|"]
    lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h.get('val_loss', float('nan')):.4f} | "
              f"{h.get('val_mAP', float('nan')):.3f} | {h.get('val_top1', float('nan')):.3f} |" for h in history]
    with atomic_path(model_path.with_suffix(".md")) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return model_path.with_suffix(".md")
