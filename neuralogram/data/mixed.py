"""The mixed training corpus: the stand-in made acoustically real, plus real ESC-50 and FSDD recordings.

=================  ==============================================  ===================================================
part               train split                                     eval split
=================  ==============================================  ===================================================
stand-in           its train clips through :class:`~.augment.      its eval clips, clean (so the stand-in eval mAP
                   Augmenter` (a fifth kept clean; some mixed      compares with the stand-in-only models)
                   with a real ESC-50 training clip)
ESC-50             training sources (``real.esc50("train")``),     held-out sources (``real.esc50("test")``), as
                   ``esc50_copies`` copies each: the original and  recorded
                   augmented ones (some mixed with another clip)
FSDD               training speakers: 1-3 digits of one speaker    held-out speakers: one digit centred in a 2 s
                   at random onsets in 2-3 s, augmented            window, as recorded
=================  ==============================================  ===================================================

Labels are the union of the stand-in's 48 AudioSet labels and the 50 ESC-50 classes mapped to AudioSet
(:data:`~.real.ESC50_AUDIOSET`; Tick-tock, Siren, car horn and Engine are in both), so the network's output
is still AudioSet's label space. A real background recording added loud enough (SNR below
``AugmentConfig.label_background_below_db``) adds its class to the clip's labels. Background recordings and
everything mixed in come from the ESC-50 *training* sources only: no held-out source is ever heard in training.

The corpus is packed with :func:`~.store.write_store` (so :mod:`neuralogram.train` reads it unchanged) and cached
under ``$NEURALOGRAM_CACHE/corpora`` with a name that hashes its parameters and the augmentation's code.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..cache import atomic_path, cache_dir, param_hash
from . import augment as _augment
from . import real
from .augment import AugmentConfig, Augmenter, Background, mix
from .store import Clip, PackedStore, write_store

__all__ = ["BACKGROUND_CLASSES", "mixed_label_space", "mixed_params", "mixed_path", "mixed_corpus",
           "generate_mixed", "real_at_8k"]

#: ESC-50 classes whose training recordings serve as real noise floors (steady backgrounds, not events)
BACKGROUND_CLASSES = ("rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "wind", "thunderstorm",
                      "insects", "engine", "train", "airplane", "helicopter", "vacuum_cleaner", "washing_machine")
_SR = 8000


def mixed_label_space() -> tuple[list[str], list[str]]:
    """(display names, machine ids) of the mixed corpus: the stand-in labels, then the ESC-50 ones not among them.

    Book: ``book/14_real_world.ipynb``.
    """
    from .standin.corpus import label_mids, label_names

    names, mids = list(label_names()), list(label_mids())
    for _, _, name, mid, _ in real.ESC50_AUDIOSET:
        if mid not in mids:
            names.append(name)
            mids.append(mid)
    return names, mids


def real_at_8k(clip: "real.RealClip") -> Path:
    """A real clip at 8 kHz, cached as 16-bit WAV; its path: the package's one cache of real clips at the model's
    rate (the mixed corpus and ``probes.real_world.model_rate_audio`` read it).

    A clip at another rate is resampled once with ``neuralogram.audio.resample`` (the one resampler) and clipped to
    16-bit full scale (94 of the 414 ESC-50 clips here overshoot 1.0 by up to 0.44 after resampling); a clip
    already at 8 kHz (FSDD) is copied. The file is named by the clip and its content (the manifest's hash of its
    samples, else a hash of the file), so another clip of the same name never reads a stale file.

    Book: ``book/14_real_world.ipynb``.
    """
    import soundfile as sf

    from ..audio import resample

    key = real._manifest().get(clip.dataset, {}).get(clip.name) or hashlib.sha256(clip.path.read_bytes()).hexdigest()
    out = cache_dir("real8k", clip.dataset) / f"{clip.name}-{key[:16]}.wav"
    if not out.is_file():
        y = clip.load()
        if clip.sr != _SR:
            y = np.asarray(resample(y, orig_sr=clip.sr, target_sr=_SR), np.float32)
        with atomic_path(out) as tmp:
            sf.write(tmp, np.clip(y, -1, 32767 / 32768), _SR, subtype="PCM_16", format="WAV")
    return out


def _read8k(path) -> np.ndarray:
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="float32", always_2d=False)
    if sr != _SR:
        raise ValueError(f"{path}: expected {_SR} Hz, got {sr}")
    return y


def _code_hash() -> str:
    h = hashlib.sha256()
    for obj in (_augment, _make_item, _plan):
        h.update(inspect.getsource(obj).encode())
    return h.hexdigest()[:12]


def mixed_params(*, standin_clips: int = 4000, standin_seed: int = 0, standin_seconds: float = 4.0,
                 esc50_copies: int = 4, fsdd_clips: int = 800, fsdd_eval_clips: int = 200, p_clean: float = 0.2,
                 p_mix: float = 0.2, seed: int = 0, augment: AugmentConfig | None = None) -> dict:
    """The parameters that define a mixed corpus (and its cache name).

    Parameters
    ----------
    standin_clips, standin_seed, standin_seconds
        The stand-in corpus to start from (:func:`~.standin.corpus.standin_corpus`).
    esc50_copies : int
        Copies of each ESC-50 training clip: the original and ``esc50_copies - 1`` augmented ones.
    fsdd_clips : int
        Training clips made from the training speakers' digits.
    fsdd_eval_clips : int
        Held-out-speaker clips in the eval split (a fixed, balanced subset: digits x speakers).
    p_clean : float
        Probability that a stand-in training clip is kept clean.
    p_mix : float
        Probability that a training clip is mixed with a second one (stand-in with ESC-50, ESC-50 with
        ESC-50 or stand-in) at ``augment.mix_db``.
    seed : int
    augment : AugmentConfig

    Book: ``book/14_real_world.ipynb``.
    """
    for name, v in (("standin_clips", standin_clips), ("esc50_copies", esc50_copies), ("fsdd_clips", fsdd_clips),
                    ("fsdd_eval_clips", fsdd_eval_clips)):
        if isinstance(v, bool) or int(v) != v or v < (1 if name == "esc50_copies" else 0):
            raise ValueError(f"{name} must be a non-negative integer (esc50_copies >= 1), got {v!r}")
    for name, v in (("p_clean", p_clean), ("p_mix", p_mix)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    return {"standin": {"n_clips": int(standin_clips), "seed": int(standin_seed), "clip_seconds": float(standin_seconds)},
            "esc50_copies": int(esc50_copies), "fsdd_clips": int(fsdd_clips), "fsdd_eval_clips": int(fsdd_eval_clips),
            "p_clean": float(p_clean), "p_mix": float(p_mix), "seed": int(seed),
            "augment": (augment or AugmentConfig()).to_dict(), "sr": _SR, "code": _code_hash()}


def mixed_path(**kwargs) -> Path:
    """Where :func:`mixed_corpus` caches the corpus made with these parameters (see :func:`mixed_params`).

    Book: ``book/14_real_world.ipynb``.
    """
    p = mixed_params(**kwargs)
    return cache_dir("corpora") / f"mixed-{p['standin']['n_clips']}-s{p['seed']}-{param_hash(p)}.h5"


def mixed_corpus(*, progress: bool = True, workers: int | None = None, **kwargs) -> Path:
    """Path of the cached mixed corpus with these parameters (see :func:`mixed_params`), made on first use.

    Raises :class:`~.real.RealDataMissing` when ESC-50 or FSDD cannot be found (the message says how to get them).

    Book: ``book/14_real_world.ipynb``.
    """
    path = mixed_path(**kwargs)
    if not path.is_file():
        generate_mixed(path, mixed_params(**kwargs), progress=progress, workers=workers)
    return path


# ---------------------------------------------------------------------------------------------- plan
def _plan(params: dict, esc_train, esc_test, fsdd_train, fsdd_test, n_standin: int, standin_split) -> list[dict]:
    """Every clip of the corpus as a small spec (what to read, how to transform it), in order."""
    rng = np.random.default_rng([params["seed"], 0x3A1])
    items: list[dict] = []
    esc_names = [c.name for c in esc_train]
    for i in range(n_standin):
        if standin_split[i] == 1:
            items.append({"kind": "standin", "i": i, "split": "eval", "clean": True})
            continue
        it = {"kind": "standin", "i": i, "split": "train", "clean": bool(rng.random() < params["p_clean"])}
        if not it["clean"] and esc_names and rng.random() < params["p_mix"]:
            it["mix"] = ["esc50", esc_names[int(rng.integers(len(esc_names)))]]
            it["mix_db"] = float(rng.uniform(*params["augment"]["mix_db"]))
        items.append(it)
    for c in esc_train:
        for k in range(params["esc50_copies"]):
            it = {"kind": "esc50", "name": c.name, "copy": k, "split": "train", "clean": k == 0}
            if k > 0 and rng.random() < params["p_mix"]:
                if rng.random() < 0.5:
                    other = esc_names[int(rng.integers(len(esc_names)))]
                    if other != c.name:
                        it["mix"] = ["esc50", other]
                else:
                    j = int(rng.integers(n_standin))
                    if standin_split[j] == 0:
                        it["mix"] = ["standin", j]
                if "mix" in it:
                    it["mix_db"] = float(rng.uniform(*params["augment"]["mix_db"]))
            items.append(it)
    for c in esc_test:
        items.append({"kind": "esc50", "name": c.name, "copy": 0, "split": "eval", "clean": True})
    by_speaker: dict[str, list[str]] = {}
    for c in fsdd_train:
        by_speaker.setdefault(c.group, []).append(c.name)
    speakers = sorted(by_speaker)
    for k in range(params["fsdd_clips"]):
        spk = speakers[int(rng.integers(len(speakers)))]
        n = int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))
        names = [by_speaker[spk][int(j)] for j in rng.choice(len(by_speaker[spk]), n, replace=False)]
        items.append({"kind": "fsdd", "names": names, "k": k, "split": "train",
                      "seconds": float(rng.uniform(2.0, 3.0))})
    test = sorted(fsdd_test, key=lambda c: (c.meta["take"], c.target, c.group))[:params["fsdd_eval_clips"]]
    for c in test:
        items.append({"kind": "fsdd", "names": [c.name], "k": -1, "split": "eval", "seconds": 2.0})
    return items


# ---------------------------------------------------------------------------------------------- workers
_W: dict = {}


def _init_worker(params: dict, standin_path: str, esc_paths: dict, esc_labels: dict, fsdd_paths: dict,
                 backgrounds: list):
    _W.clear()
    _W.update(params=params, standin=PackedStore(standin_path), esc_paths=esc_paths, esc_labels=esc_labels,
              fsdd_paths=fsdd_paths,
              aug=Augmenter(AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                                             for k, v in params["augment"].items()}),
                            sr=_SR, backgrounds=[Background(p, tuple(l)) for p, l in backgrounds],
                            seed=params["seed"]))


def _read(kind, key):
    if kind == "standin":
        st = _W["standin"]
        return st.clip(int(key)), list(np.flatnonzero(st.labels[int(key)]))
    return _read8k(_W["esc_paths"][key]), list(_W["esc_labels"][key])


def _make_item(n: int, it: dict):
    """Clip ``n`` of the plan: (audio at 8 kHz, label indices, split, clip id)."""
    aug, p = _W["aug"], _W["params"]
    stream = {"standin": 1, "esc50": 2, "fsdd": 3}[it["kind"]]
    if it["kind"] == "fsdd":
        win = int(round(it["seconds"] * _SR))
        x = np.zeros(win, np.float32)
        ys = [_read8k(_W["fsdd_paths"][name]) for name in it["names"]]
        if it["split"] == "eval":
            y = ys[0][:win]
            a = (win - y.size) // 2
            x[a:a + y.size] = y
        else:
            # non-overlapping slots at random onsets, in order
            rng = np.random.default_rng([p["seed"], 0xF5D, it["k"]])
            lens = [min(y.size, win // len(ys)) for y in ys]
            free = win - sum(lens)
            cuts = np.sort(rng.uniform(0, free, len(ys)))
            pos = 0
            for y, L, c in zip(ys, lens, np.diff(np.concatenate([[0.0], cuts]))):
                pos += int(c)
                x[pos:pos + L] = y[:L]
                pos += L
        labels = list(_W["speech_labels"])
        cid = f"fsdd-{'-'.join(it['names'])}" + ("" if it["split"] == "eval" else f"-{it['k']}")
        if it["split"] == "train":
            x, info = _no_short(aug, x, index=it["k"], stream=stream)
            labels += [l for l in info["added_labels"] if l not in labels]
        return x, labels, it["split"], cid
    key = it["i"] if it["kind"] == "standin" else it["name"]
    x, labels = _read(it["kind"], key)
    cid = f"{it['kind']}-{key:06d}" if it["kind"] == "standin" else f"esc50-{key}-c{it['copy']}"
    if it["clean"]:
        return x, labels, it["split"], cid
    if "mix" in it:
        y, lab2 = _read(it["mix"][0], it["mix"][1])
        x = mix(x, y[:x.size], it["mix_db"])
        labels = labels + [l for l in lab2 if l not in labels]
        cid += f"+{it['mix'][0]}-{it['mix'][1]}"
    index = it["i"] if it["kind"] == "standin" else n
    x, info = aug(x, index=index, stream=stream * 16 + it.get("copy", 0))
    labels += [l for l in info["added_labels"] if l not in labels]
    return x, labels, it["split"], cid


def _no_short(aug, x, *, index, stream):
    """FSDD clips are short sounds already: augment them without the short-sound step."""
    from dataclasses import replace

    saved = aug.config
    try:
        aug.config = replace(saved, p_short=0.0)
        return aug(x, index=index, stream=stream)
    finally:
        aug.config = saved


def _init_and_block(args):
    start, items, init, speech_labels = args
    _init_worker(*init)
    _W["speech_labels"] = speech_labels
    out = []
    for j, it in enumerate(items):
        x, labels, split, cid = _make_item(start + j, it)
        out.append((np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype(np.int16),
                    sorted(int(l) for l in labels), split, cid))
    return out


#: clips per worker task
BLOCK = 300


def generate_mixed(path, params: dict, *, progress: bool = True, workers: int | None = None) -> Path:
    """Make the mixed corpus described by ``params`` (from :func:`mixed_params`) into a packed store at ``path``.

    The bytes depend on ``params`` only (every clip is drawn from generators seeded by its index), not on the
    number of worker processes. The generation time is written beside it (``NAME.json``).

    Book: ``book/14_real_world.ipynb``.
    """
    from .standin.corpus import standin_corpus

    t0 = time.time()
    workers = workers or os.cpu_count() or 1
    names, mids = mixed_label_space()
    index = {m: i for i, m in enumerate(mids)}
    sp = params["standin"]
    standin_path = standin_corpus(sp["n_clips"], sp["seed"], sp["clip_seconds"], progress=progress)
    st = PackedStore(standin_path)
    if list(st.label_mids) != mids[:len(st.label_mids)]:
        raise ValueError(f"{standin_path.name}: its labels are not the first {len(st.label_mids)} of the mixed space")
    esc_train, esc_test = real.esc50("train"), real.esc50("test")
    fsdd_all = real.fsdd()
    fsdd_train, fsdd_test = fsdd_all.split("train"), fsdd_all.split("test")
    overlap = {c.group for c in esc_train} & {c.group for c in esc_test}
    if overlap or {c.group for c in fsdd_train} & {c.group for c in fsdd_test}:
        raise ValueError(f"the real splits overlap (sources {sorted(overlap)[:3]}): held-out clips would be trained on")
    esc_paths, esc_labels = {}, {}
    for c in tqdm(list(esc_train) + list(esc_test), desc="ESC-50 at 8 kHz", disable=not progress):
        esc_paths[c.name] = str(real_at_8k(c))
        esc_labels[c.name] = [index[m] for m, _ in c.audioset]
    fsdd_paths = {c.name: str(real_at_8k(c)) for c in fsdd_all}
    speech_labels = sorted({index[m] for m, _ in fsdd_all[0].audioset})
    backgrounds = [(esc_paths[c.name], esc_labels[c.name]) for c in esc_train if c.label in BACKGROUND_CLASSES]
    items = _plan(params, esc_train, esc_test, fsdd_train, fsdd_test, len(st), st.split)
    del st
    init = (params, str(standin_path), esc_paths, esc_labels, fsdd_paths, backgrounds)
    blocks = [(a, items[a:a + BLOCK], init, speech_labels) for a in range(0, len(items), BLOCK)]
    _augment.rir_bank(n=params["augment"]["n_rirs"], rt60_range=tuple(params["augment"]["rt60_range"]), sr=_SR,
                      seed=params["seed"], progress=progress)        # made once, before the workers read it

    def clips():
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(blocks))), mp_context=ctx,
                                 max_tasks_per_child=1) as pool:
            futures = [pool.submit(_init_and_block, b) for b in blocks]
            bar = tqdm(total=len(items), desc="mixed corpus", unit="clip", disable=not progress)
            for fut in futures:
                for pcm, labels, split, cid in fut.result():
                    yield Clip(cid, pcm.astype(np.float32) / 32768, labels, split)
                    bar.update()
            bar.close()

    stored = dict(params, licences={"esc50": "CC BY-NC 3.0 (ESC-10 clips CC BY)", "fsdd": "CC BY-SA 4.0"},
                  real={"esc50_train": len(esc_train), "esc50_test": len(esc_test),
                        "fsdd_train_speakers": sorted({c.group for c in fsdd_train}),
                        "fsdd_test_speakers": sorted({c.group for c in fsdd_test})})
    out = write_store(path, clips(), label_mids=mids, label_names=names, source="mixed", params=stored)
    with atomic_path(Path(out).with_suffix(".json")) as tmp:      # how long it took, beside the corpus
        tmp.write_text(json.dumps({"generation_seconds": round(time.time() - t0, 1), "workers": workers,
                                   "n_clips": len(items)}))
    return out

