"""The timbre probe's excerpts: SoundFont instruments rendered alone and in 2- and 3-instrument mixtures, each from
its own generator (:func:`excerpt_rng`, seeds disjoint from the stand-in corpus's), with exact ground-truth labels;
the whole set (:func:`timbre_set`) cached on disk, keyed by its parameters and the code that makes it.

Book: ``book/10_timbre.ipynb``.
"""
from __future__ import annotations

import hashlib
import inspect

import numpy as np

from ..audio import PAPER_SR, check_positive, check_sr
from .cache import cached_arrays

__all__ = ["TIMBRE_SEED_TAG", "PEAK", "MIX_GAIN_DB", "instrument_classes", "excerpt_rng", "mix_excerpt",
           "timbre_set"]

#: First word of every timbre excerpt's seed sequence ("timb" in ASCII): the stand-in corpus seeds its clips
#: with ``(seed, index)``, so no timbre excerpt shares a generator with a training clip.
TIMBRE_SEED_TAG = 0x74696D62

#: Peak level of every excerpt (the corpus draws 0.1 .. 0.9; 0.5 is its middle).
PEAK = 0.5
#: Gain range (dB) of the second and third source of a mixture relative to the first (each at unit RMS first).
MIX_GAIN_DB = (-6.0, 0.0)


def instrument_classes() -> dict:
    """Instrument class -> its AudioSet labels (without "Music"), in the order of
    :data:`neuralogram.data.standin.soundfont.INSTRUMENTS`.

    Book: ``book/10_timbre.ipynb``.
    """
    from ..data.standin.soundfont import INSTRUMENTS

    return {k: tuple(v.labels) for k, v in INSTRUMENTS.items()}


def excerpt_rng(seed: int, n_sources: int, *index: int) -> np.random.Generator:
    """The generator of one probe excerpt: ``default_rng([TIMBRE_SEED_TAG, seed, n_sources, *index])``.

    ``index`` is ``(class, i + 1)`` for single instrument ``i`` of a class and ``(j + 1,)`` for mixture ``j``
    (never ending in 0, so no two excerpts share a seed sequence after NumPy's zero padding).

    Book: ``book/10_timbre.ipynb``.
    """
    for v, name in ((seed, "seed"), (n_sources, "n_sources"), *((i, "index") for i in index)):
        check_positive(v, name, integer=True, allow_zero=True)
    return np.random.default_rng([TIMBRE_SEED_TAG, int(seed), int(n_sources), *map(int, index)])


def mix_excerpt(instruments, rng, *, duration: float = 4.0, sr: int = PAPER_SR, gains_db=None):
    """Render one excerpt: a random part for each instrument, mixed, with its ground-truth labels.

    Each part (:func:`neuralogram.data.standin.soundfont.render_instrument`) is scaled to unit RMS, then by its gain
    (the first source 0 dB, the others drawn from ``MIX_GAIN_DB`` unless ``gains_db`` is given); the sum is scaled to
    a peak of ``PEAK`` (0.5).

    Parameters
    ----------
    instruments : sequence of str
        Distinct names from :data:`neuralogram.data.standin.soundfont.INSTRUMENTS` (1 or more).
    rng : np.random.Generator
        Draws the parts and the gains (:func:`excerpt_rng`).
    duration : float
        Seconds.
    sr : int
        Sample rate in Hz.
    gains_db : sequence of float, optional
        One gain per instrument in dB.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),)], float32
    labels : list of str
        AudioSet display names: every instrument's labels, then "Music".
    gains_db : list of float

    Book: ``book/10_timbre.ipynb``.
    """
    from ..data.standin.soundfont import render_instrument

    classes = instrument_classes()
    instruments = list(instruments)
    if not instruments:
        raise ValueError("instruments must name at least one instrument")
    unknown = [n for n in instruments if n not in classes]
    if unknown:
        raise ValueError(f"unknown instrument(s) {unknown}; known: {list(classes)}")
    if len(set(instruments)) != len(instruments):
        raise ValueError(f"instruments must be distinct, got {instruments}")
    duration = check_positive(duration, "duration")
    sr = check_sr(sr)
    if gains_db is None:
        gains_db = [0.0] + [float(rng.uniform(*MIX_GAIN_DB)) for _ in instruments[1:]]
    gains_db = [float(g) for g in gains_db]
    if len(gains_db) != len(instruments):
        raise ValueError(f"gains_db needs one gain per instrument ({len(instruments)}), got {len(gains_db)}")
    n = int(round(duration * sr))
    mix = np.zeros(n, np.float64)
    for name, g in zip(instruments, gains_db):
        y = render_instrument(name, rng, duration=duration, sr=sr).astype(np.float64)[:n]
        rms = np.sqrt(np.mean(y ** 2))
        if rms > 0:
            mix[: y.size] += y / rms * 10 ** (g / 20)
    peak = np.abs(mix).max()
    y = (mix / peak * PEAK if peak > 0 else mix).astype(np.float32)
    labels = []
    for name in instruments:
        labels += [lab for lab in classes[name] if lab not in labels]
    return y, labels + ["Music"], [round(g, 3) for g in gains_db]


def _code_hash() -> str:
    """Hash of what makes the excerpts: a change to the renderer or the mixer makes a new set."""
    from ..data.standin import soundfont

    h = hashlib.sha256()
    for obj in (soundfont, mix_excerpt, excerpt_rng, timbre_set):
        h.update(inspect.getsource(obj).encode())
    h.update(repr((TIMBRE_SEED_TAG, PEAK, MIX_GAIN_DB)).encode())
    return h.hexdigest()[:12]


def timbre_set(n_per_class: int = 10, seed: int = 0, duration: float = 4.0, *, n_mixtures: int = 30,
               sr: int = PAPER_SR, cache: bool = True, progress: bool = False) -> dict:
    """The probe set: single-instrument excerpts of every instrument class plus 2- and 3-instrument mixtures.

    Singles: ``n_per_class`` excerpts of each of the 17 classes, excerpt ``i`` of class ``c`` made by
    ``excerpt_rng(seed, 1, c, i + 1)``. Mixtures: ``n_mixtures`` of 2 and ``n_mixtures`` of 3 distinct
    instruments drawn uniformly, mixture ``j`` of ``k`` made by ``excerpt_rng(seed, k, j + 1)``. These seed
    sequences start with :data:`TIMBRE_SEED_TAG`, so they are disjoint from the stand-in corpus's ``(seed, i)``.
    The set is cached on disk, keyed by its parameters and the source code that makes it.

    Parameters
    ----------
    n_per_class : int
        Single-instrument excerpts per class (>= 1).
    seed : int
        Seed of the whole set (>= 0).
    duration : float
        Length of every excerpt in seconds (>= 2, the model's context).
    n_mixtures : int
        Mixtures of 2 and of 3 instruments (each; 0 for singles only).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    dict
        ``audio`` (n, round(duration * sr)) float32; ``instruments`` list of lists of names (first = loudest);
        ``labels`` list of lists of AudioSet names (ground truth, with "Music"); ``gains_db`` list of lists;
        ``n_sources`` (n,) int; ``classes`` the instrument names in class order; ``y`` (n,) class index of singles
        (-1 for mixtures); ``sr`` and the parameters.

    Book: ``book/10_timbre.ipynb``.
    """
    from tqdm.auto import tqdm

    n_per_class = check_positive(n_per_class, "n_per_class", integer=True)
    seed = check_positive(seed, "seed", integer=True, allow_zero=True)
    n_mixtures = check_positive(n_mixtures, "n_mixtures", integer=True, allow_zero=True)
    duration = float(check_positive(duration, "duration"))
    if duration < 2.0:
        raise ValueError(f"duration must be at least 2 s (the model's context window), got {duration}")
    sr = check_sr(sr)
    classes = list(instrument_classes())
    params = dict(n_per_class=n_per_class, seed=seed, duration=duration, n_mixtures=n_mixtures, sr=sr)

    def compute():
        jobs = [([name], excerpt_rng(seed, 1, c, i + 1)) for c, name in enumerate(classes) for i in range(n_per_class)]
        for k in (2, 3):
            for j in range(n_mixtures):
                rng = excerpt_rng(seed, k, j + 1)
                jobs.append(([classes[int(c)] for c in rng.choice(len(classes), size=k, replace=False)], rng))
        audio, labels, gains = [], [], []
        for names, rng in tqdm(jobs, desc="timbre set", unit="excerpt", disable=not progress, leave=False):
            y, labs, g = mix_excerpt(names, rng, duration=duration, sr=sr)
            audio.append(y)
            labels.append(labs)
            gains.append(g)
        return dict(audio=np.stack(audio), instruments=[names for names, _ in jobs], labels=labels,
                    gains_db=gains)

    out = cached_arrays("timbre-set", params, _code_hash(), compute, cache=cache)
    out = dict(out)
    n_src = np.array([len(x) for x in out["instruments"]])
    out.update(params, classes=classes, n_sources=n_src,
               y=np.array([classes.index(x[0]) if len(x) == 1 else -1 for x in out["instruments"]]))
    return out
