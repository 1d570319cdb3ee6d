"""Distillation, part 1: the sources (8 kHz recordings and probe signals, never a held-out clip) and the fixed
crop plan (which 2 s crop, how augmented, mixed with what). See :mod:`neuralogram.distill`.

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from ..audio import PAPER_SR
from ..cache import param_hash
from ..data.real_sources import RealDataMissing

#: The crop length: the student's 2 s context.
CROP_SECONDS = 2.0
_CROP = int(CROP_SECONDS * PAPER_SR)
#: Bump when what a crop sounds like or what the teacher computes changes (it is part of every cache key).
VERSION = 1
_AUG_STREAM = 0xD15


class DistillDataMissing(RealDataMissing, ValueError):
    """A data set the distillation plan needs is not here; the message names it and says how to get it.

    Book: ``book/05_model.ipynb``.
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

    Book: ``book/05_model.ipynb``.
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

    Book: ``book/05_model.ipynb``.
    """
    if src.kind == "array":
        return np.asarray(src.ref, np.float32)
    if src.kind == "probe":
        return _probe_audio(src.ref)
    if src.kind == "store":
        from ..data.store import PackedStore

        path, i = src.ref
        if path not in _STORES:
            _STORES[path] = PackedStore(path)
        return np.asarray(_STORES[path].clip(int(i)), np.float32)
    if src.kind == "real":
        clip = src.ref
        if clip.sr == PAPER_SR:
            return clip.load()
        import soundfile as sf

        from ..data.mixed import real_at_8k

        y, sr = sf.read(str(real_at_8k(clip)), dtype="float32", always_2d=False)
        return y if y.ndim == 1 else y.mean(1)
    raise ValueError(f"source {src.id}: unknown kind {src.kind!r}")


_PROBE_KINDS = ("tone", "chirp", "impulses", "noise", "silence")


def _probe_audio(p: dict) -> np.ndarray:
    from .. import signals

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

    Book: ``book/05_model.ipynb``.
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


def _real_group(clip) -> str:
    """What a plan's validation split keeps together: the recording (ESC-50, UrbanSound8K) or speaker and digit."""
    return f"{clip.dataset}/{clip.group}" + (f"/{clip.label}" if clip.dataset == "fsdd" else "")


def real_sources(*, esc50: bool = True, fsdd: bool = True, urbansound: bool = True) -> list[Source]:
    """The training parts of the real sets as sources: ESC-50's train split, FSDD's training speakers and
    UrbanSound8K fold 1. Nothing is read but metadata (ESC-50 is resampled to 8 kHz when first cropped).

    Raises
    ------
    DistillDataMissing
        A set is not here: the message names it and says how to get it.

    Book: ``book/05_model.ipynb``.
    """
    from ..data import real
    from ..data.mixed import BACKGROUND_CLASSES
    from ..data.urbansound import urbansound8k

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
            out.append(Source(f"{c.dataset}/{c.name}", _n8k(c), _real_group(c), "real", c,
                              background=c.dataset == "esc50" and c.label in BACKGROUND_CLASSES))
    return out


def standin_sources(store_path) -> list[Source]:
    """The train-split clips of a packed stand-in corpus (``standin_corpus(...)``) as sources.

    Book: ``book/05_model.ipynb``.
    """
    from ..data.store import PackedStore

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

    Book: ``book/05_model.ipynb``.
    """
    out = real_sources() if real else []
    if standin_clips:
        from ..data.standin.corpus import standin_corpus

        out += standin_sources(standin_corpus(standin_clips, standin_seed, 4.0, progress=progress))
    out += probe_sources(n_probes, seed=probe_seed)
    return out


def check_no_held_out(sources: Sequence[Source]) -> None:
    """Raise ``ValueError`` when a source is a held-out clip: ESC-50's test split, UrbanSound8K beyond fold 1 or
    an FSDD test speaker (read from the data sets' own metadata where they are here).

    Book: ``book/05_model.ipynb``.
    """
    from ..data import real
    from ..data.real_meta import FSDD_TEST_SPEAKERS

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

    Book: ``book/05_model.ipynb``.
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
        from ..data.augment import AugmentConfig

        return self.augment or AugmentConfig()

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "augment"}
        d["views"] = [list(kv) for kv in self.views]
        d["augment"] = self.augment_config().to_dict()
        return d


def _part(group: str, seed: int, val_fraction: float) -> str:
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 16 ** 8
    return "val" if h < val_fraction else "train"


def validation_clips(*, seed: int = 0, val_fraction: float = 0.1) -> dict:
    """The real recordings in the validation part of a plan with this ``seed`` and ``val_fraction``
    (:class:`PlanConfig`): never trained on, not held out, so a recipe may be chosen on them.

    Returns
    -------
    dict
        ``"esc50"``, ``"fsdd"``, ``"urbansound8k"`` -> list of RealClip (the training parts' clips whose group
        falls in the validation part).

    Raises
    ------
    DistillDataMissing
        A set is not here (as :func:`real_sources`).

    Book: ``book/05_model.ipynb``.
    """
    out = {"esc50": [], "fsdd": [], "urbansound8k": []}
    for s in real_sources():
        if _part(s.group, seed, val_fraction) == "val":
            out[s.ref.dataset].append(s.ref)
    return out


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

    Book: ``book/05_model.ipynb``.
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
            from ..data.augment import Augmenter, Background

            bgs = []
            for sid in self._background_ids():
                from ..data.mixed import real_at_8k

                bgs.append(Background(str(real_at_8k(self.sources[sid].ref))))
            self._augmenter = Augmenter(self.config.augment_config(), sr=PAPER_SR, backgrounds=bgs,
                                        seed=self.augment_seed)
        return self._augmenter

    def render(self, i: int) -> np.ndarray:
        """Crop ``i`` as float32 at 8 kHz, 16000 samples: window, mixture, augmentation (deterministic).

        Book: ``book/05_model.ipynb``.
        """
        from ..data.augment import mix

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


