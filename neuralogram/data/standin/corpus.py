"""The offline stand-in corpus: mixtures of real sampled instruments, espeak-ng speech and synthesised
classes, labelled in AudioSet's label space (its display names and machine ids), packed in the same HDF5
format as AudioSet (:mod:`neuralogram.data.store`).

Each clip mixes 1 to 3 *sources*; a source is one instrument part (SoundFont), one speaker (espeak-ng), or one
synthesised class (:mod:`neuralogram.data.standin.synth`), and carries one or more AudioSet labels (a violin part is
"Violin, fiddle" and "Music"; a woman's voice is "Speech" and "Female speech, woman speaking"). Every clip is
made from its own random generator seeded by ``(seed, clip index)``, so the corpus is reproducible to the byte.
:func:`make_clip` regenerates any clip's labels and sources alone, and the audio of any clip without speech;
espeak-ng's voices also depend on what the same process said before, so :func:`regenerate_clip` replays the
clip's block in a fresh process, as :func:`generate_standin` made it. Every tenth clip is held out for
evaluation.

The generated file is cached under ``$NEURALOGRAM_CACHE/corpora`` with a name that hashes the parameters and
the source code of the generators, so a change to either makes a new corpus instead of reusing a stale one.

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import hashlib
import inspect
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ...audio import PAPER_SR, resampler
from ...cache import cache_dir, param_hash
from ..store import Clip, write_store
from . import soundfont, speech, synth

__all__ = ["LABELS", "SOURCES", "label_names", "label_mids", "make_clip", "regenerate_clip", "generate_standin",
           "standin_corpus", "standin_path"]

#: AudioSet display name -> machine id, for every label the stand-in uses (as in class_labels_indices.csv)
LABELS = {
    "Speech": "/m/09x0r", "Male speech, man speaking": "/m/05zppz", "Female speech, woman speaking": "/m/02zsn",
    "Child speech, kid speaking": "/m/0ytgt",
    "Music": "/m/04rlf", "Piano": "/m/05r5c", "Harpsichord": "/m/03q5t", "Marimba, xylophone": "/m/0dwsp",
    "Tubular bells": "/m/016622", "Organ": "/m/013y1f", "Guitar": "/m/0342h", "Acoustic guitar": "/m/042v_gx",
    "Electric guitar": "/m/02sgy", "Bass guitar": "/m/018vs", "Violin, fiddle": "/m/07y_7", "Cello": "/m/01xqw",
    "Harp": "/m/03m5k", "Trumpet": "/m/07gql", "Saxophone": "/m/06ncr", "Clarinet": "/m/01wy6",
    "Flute": "/m/0l14j_", "Synthesizer": "/m/0l14qv", "Drum kit": "/m/02hnl", "Drum": "/m/026t6",
    "Sine wave": "/m/01v_m0", "White noise": "/m/0chx_", "Pink noise": "/m/0cj0r", "Siren": "/m/03kmc9",
    "Beep, bleep": "/m/02fs_r", "Tick": "/m/07qjznt", "Tick-tock": "/m/07qjznl", "Clock": "/m/01x3z",
    "Buzz": "/m/07pjwq1", "Hum": "/m/07rcgpl", "Mains hum": "/m/06xkwv", "Dial tone": "/m/015jpf",
    "Busy signal": "/m/01z47d", "Telephone dialing, DTMF": "/m/02c8p", "Whistle": "/m/0l156k",
    "Engine": "/m/02mk9", "Idling": "/m/07pb8fc", "Heart sounds, heartbeat": "/m/01jg02",
    "Telephone bell ringing": "/m/07pp8cl", "Smoke detector, smoke alarm": "/m/01y3hg",
    "Chirp tone": "/m/0hdsk", "Pulse": "/m/07pt_g0", "Static": "/m/07rgkc5",
    "Vehicle horn, car horn, honking": "/m/0912c9",
}
_SPEECH_LABELS = {"male": "Male speech, man speaking", "female": "Female speech, woman speaking",
                  "child": "Child speech, kid speaking"}

#: source name -> (family, AudioSet labels); families: "speech", "instrument", "synth"
SOURCES = {"speech": ("speech", ("Speech",))}
SOURCES.update({k: ("instrument", v.labels + ("Music",)) for k, v in soundfont.INSTRUMENTS.items()})
SOURCES.update({k: ("synth", tuple(v[1])) for k, v in synth.SYNTH_CLASSES.items()})

#: how often each family is drawn for a source
FAMILY_WEIGHTS = {"speech": 0.25, "instrument": 0.40, "synth": 0.35}


def label_names() -> list[str]:
    """The stand-in label space, in a fixed order (its ``C`` output classes).

    Book: ``book/04_data.ipynb``.
    """
    return list(LABELS)


def label_mids() -> list[str]:
    """AudioSet machine ids of :func:`label_names`, in the same order.

    Book: ``book/04_data.ipynb``.
    """
    return [LABELS[n] for n in LABELS]


def _speech_source(rng, n, sr):
    spk = speech.SPEAKERS[rng.integers(len(speech.SPEAKERS))]
    spk = type(spk)(spk.language, spk.variant, pitch=spk.pitch if spk.pitch != 50 else int(rng.integers(35, 70)),
                    rate=int(rng.integers(130, 220)))
    out, pos = np.zeros(n, np.float32), int(rng.uniform(0, 0.3) * sr)
    while pos < n:
        y = speech.speak(speech.random_sentence(rng, spk.language), spk, sr=sr)
        # espeak-ng pads each utterance with silence: trim it so the pauses are ours
        nz = np.flatnonzero(np.abs(y) > 1e-3)
        y = y[nz[0]:nz[-1] + 1] if nz.size else y
        seg = y[: n - pos]
        out[pos:pos + len(seg)] = seg
        pos += len(seg) + int(rng.uniform(0.05, 0.4) * sr)
    return out, ("Speech", _SPEECH_LABELS[spk.kind]), {"speaker": spk.voice, "pitch": spk.pitch, "rate": spk.rate}


def make_clip(seed: int, index: int, *, clip_seconds: float = 4.0, sr: int = PAPER_SR, max_sources: int = 3):
    """Generate clip ``index`` of the stand-in corpus with seed ``seed``.

    Returns
    -------
    audio : np.ndarray, float32 [shape=(n,)]
        The mixture at ``sr`` Hz, peak between 0.1 and 0.9.
    labels : list of str
        AudioSet display names of every source in the mix.
    sources : list of dict
        What each source is (``name``, ``family``, gain in dB, and the speaker for speech).

    Notes
    -----
    Labels, instruments and synthesised sounds depend on ``(seed, index)`` only. espeak-ng's voices also
    depend slightly on what the process said before (a few samples of timing, a little pitch jitter), which is
    why :func:`generate_standin` makes each block of clips in a fresh process.

    Book: ``book/04_data.ipynb``.
    """
    rng = np.random.default_rng([int(seed), int(index)])
    n = int(round(clip_seconds * sr))
    k = int(rng.choice([1, 2, 3][:max_sources], p=np.array([0.5, 0.3, 0.2][:max_sources]) /
                       sum([0.5, 0.3, 0.2][:max_sources])))
    families = list(FAMILY_WEIGHTS)
    names_by_family = {f: [s for s, (fam, _) in SOURCES.items() if fam == f] for f in families}
    chosen: list[str] = []
    while len(chosen) < k:
        fam = families[rng.choice(len(families), p=list(FAMILY_WEIGHTS.values()))]
        name = names_by_family[fam][rng.integers(len(names_by_family[fam]))]
        if name not in chosen:
            chosen.append(name)
    mix = np.zeros(n, np.float64)
    labels, sources = [], []
    for i, name in enumerate(chosen):
        fam, labs = SOURCES[name]
        info = {}
        if fam == "speech":
            y, labs, info = _speech_source(rng, n, sr)
        elif fam == "instrument":
            y = soundfont.render_instrument(name, rng, duration=clip_seconds, sr=sr)
        else:
            y = synth.SYNTH_CLASSES[name][0](rng, n, sr)
        rms = np.sqrt(np.mean(np.square(y, dtype=np.float64)))
        gain_db = 0.0 if i == 0 else float(rng.uniform(-10, 0))
        if rms > 0:
            mix += y / rms * 10 ** (gain_db / 20)
        labels += [lab for lab in labs if lab not in labels]
        sources.append({"name": name, "family": fam, "gain_db": round(gain_db, 2), **info})
    peak = np.abs(mix).max()
    level = float(rng.uniform(0.1, 0.9))
    audio = (mix / peak * level if peak > 0 else mix).astype(np.float32)
    return audio, labels, sources


def _clip_split(index: int) -> str:
    return "eval" if index % 10 == 9 else "train"


#: clips generated per worker process (see :func:`generate_standin`)
BLOCK = 250


def _make_block(seed: int, start: int, stop: int, clip_seconds: float):
    """Clips ``start..stop-1``, made in a fresh process (int16 PCM, label lists)."""
    out = []
    for i in range(start, stop):
        audio, labels, _ = make_clip(seed, i, clip_seconds=clip_seconds)
        out.append((np.round(np.clip(audio, -1.0, 32767 / 32768) * 32768).astype(np.int16), labels))
    return out


def _replay(seed: int, start: int, index: int, clip_seconds: float):
    """Clips ``start..index`` in order, as :func:`_make_block` makes them in its fresh process; the last one."""
    for i in range(start, index + 1):
        out = make_clip(seed, i, clip_seconds=clip_seconds)
    return out


def regenerate_clip(seed: int, index: int, *, clip_seconds: float = 4.0):
    """Clip ``index`` of the corpus with seed ``seed``, exactly as :func:`generate_standin` makes it, without
    the corpus file.

    :func:`make_clip` alone gives every clip's labels and sources, and the audio of every clip without speech.
    A clip with speech also depends on what espeak-ng said earlier in the same process (its wave generator
    keeps state from one utterance to the next: the pitch-flutter phase, the gain control, the breath noise),
    and :func:`generate_standin` makes clips ``b..b+BLOCK-1`` one after the other in a fresh process. So for a
    clip with speech this function replays its block up to it in a fresh process: up to ``BLOCK`` clips, as long
    as generating them (about 10 s for the last clip of a block of 4 s clips, on one core).

    Returns
    -------
    audio, labels, sources
        As :func:`make_clip`; the store holds ``audio`` rounded to 16 bits.

    Book: ``book/04_data.ipynb``.
    """
    audio, labels, sources = make_clip(seed, index, clip_seconds=clip_seconds)
    if all(s["family"] != "speech" for s in sources):
        return audio, labels, sources
    start = int(index) - int(index) % BLOCK               # the block generate_standin makes it in
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_replay, seed, start, int(index), clip_seconds).result()


def generate_standin(path, *, n_clips: int = 4000, seed: int = 0, clip_seconds: float = 4.0,
                     progress: bool = True, workers: int | None = None) -> Path:
    """Generate the stand-in corpus into a packed HDF5 store at ``path`` (atomically).

    Parameters
    ----------
    path : str or Path
    n_clips : int
        Number of clips; every tenth (index 9, 19, ...) is in the ``eval`` split.
    seed : int
        Seed of the whole corpus: the same seed gives the same bytes.
    clip_seconds : float
        Length of each clip in seconds (>= 2, the model's context).
    progress : bool
        Show a ``tqdm`` bar.
    workers : int, optional
        Worker processes (default: the number of CPUs). The result does not depend on it.

    Book: ``book/04_data.ipynb``.
    """
    workers = workers or os.cpu_count() or 1
    if int(n_clips) != n_clips or n_clips < 2:
        raise ValueError(f"n_clips must be an integer >= 2 (one train and one eval clip), got {n_clips}")
    if not clip_seconds >= 2.0:
        raise ValueError(f"clip_seconds must be at least 2 s (the model's context window), got {clip_seconds}")
    names = label_names()
    index = {name: i for i, name in enumerate(names)}
    if n_clips < 10:
        split = lambda i: "eval" if i == n_clips - 1 else "train"   # noqa: E731  (tiny corpora still hold out one)
    else:
        split = _clip_split

    def clips():
        # espeak-ng keeps internal state (its pitch-flutter phase, among others) from one utterance to the
        # next, so a voice depends on what was spoken before it in the same process. Each block of BLOCK
        # clips is therefore made in a fresh process: the bytes depend on the seed only, not on the number of
        # workers or on what the calling process said earlier.
        blocks = [(b, min(b + BLOCK, int(n_clips))) for b in range(0, int(n_clips), BLOCK)]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(blocks))), mp_context=ctx,
                                 max_tasks_per_child=1) as pool:
            futures = [pool.submit(_make_block, seed, a, b, clip_seconds) for a, b in blocks]
            bar = tqdm(total=int(n_clips), desc="stand-in corpus", unit="clip", disable=not progress)
            for (a, _), fut in zip(blocks, futures):
                for j, (pcm, labels) in enumerate(fut.result()):
                    i = a + j
                    yield Clip(f"standin-{i:06d}", pcm.astype(np.float32) / 32768, [index[lab] for lab in labels],
                               split(i))
                    bar.update()
            bar.close()

    params = standin_params(n_clips=n_clips, seed=seed, clip_seconds=clip_seconds)
    return write_store(path, clips(), label_mids=label_mids(), label_names=names, source="standin", params=params)


def _code_source(obj) -> str:
    """Source of a module or function without its import statements: where a module lives does not change the
    audio it makes, so moving it does not change the hash."""
    return "\n".join(line for line in inspect.getsource(obj).splitlines()
                     if not line.lstrip().startswith(("import ", "from ")))


def _code_hash() -> str:
    """Hash of the code that makes the audio: the generators, the mixer and the resampler they call (without
    import statements). A changed generator never reuses a cached corpus."""
    h = hashlib.sha256()
    for obj in (synth, soundfont, speech, make_clip, _speech_source, resampler._resample, resampler._resample_stream,
                resampler._resample_kernel_margin):
        h.update(_code_source(obj).encode())
    h.update(repr(sorted(LABELS.items())).encode() + repr(FAMILY_WEIGHTS).encode())
    return h.hexdigest()[:12]


def standin_params(*, n_clips: int, seed: int, clip_seconds: float) -> dict:
    """Book: ``book/04_data.ipynb``."""
    return {"n_clips": int(n_clips), "seed": int(seed), "clip_seconds": float(clip_seconds), "sr": PAPER_SR,
            "generator": _code_hash()}


def standin_path(*, n_clips: int = 4000, seed: int = 0, clip_seconds: float = 4.0) -> Path:
    """Where :func:`standin_corpus` caches the corpus with these parameters.

    Book: ``book/04_data.ipynb``.
    """
    params = standin_params(n_clips=n_clips, seed=seed, clip_seconds=clip_seconds)
    return cache_dir("corpora") / f"standin-{n_clips}-s{seed}-{param_hash(params)}.h5"


def standin_corpus(n_clips: int = 4000, seed: int = 0, clip_seconds: float = 4.0, *, progress: bool = True) -> Path:
    """Path of the cached stand-in corpus with these parameters, generating it on first use.

    Book: ``book/04_data.ipynb``.
    """
    path = standin_path(n_clips=n_clips, seed=seed, clip_seconds=clip_seconds)
    if not path.is_file():
        generate_standin(path, n_clips=n_clips, seed=seed, clip_seconds=clip_seconds, progress=progress)
    return path
