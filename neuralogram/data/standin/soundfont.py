"""Real sampled instruments, offline: MIDI rendered with the General MIDI SoundFont that ``pretty_midi`` ships
(``TimGM6mb.sf2``) through TinySoundFont.

:func:`render_midi` renders any :class:`pretty_midi.PrettyMIDI`; :func:`random_part` composes a random part
(notes, chords, rhythms and registers that suit the instrument) for the stand-in corpus and the timbre probe;
:data:`INSTRUMENTS` maps each instrument class to its General MIDI program and AudioSet display names.

Book: ``book/04_data.ipynb`` (stand-in corpus), ``book/06_neuralogram.ipynb`` (Fig. 1 music) and
``book/10_timbre.ipynb``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ...audio import PAPER_SR

__all__ = ["Instrument", "INSTRUMENTS", "soundfont_path", "render_midi", "random_part", "render_instrument"]


@dataclass(frozen=True)
class Instrument:
    """An instrument class: GM program (``None`` for the drum kit), pitch range (MIDI), playing style, and
    the AudioSet display names its sound is labelled with.

    Book: ``book/04_data.ipynb``.
    """

    program: int | None
    low: int
    high: int
    style: str                    # "chords", "melody", "bass", "sustained", "arpeggio", "drums"
    labels: tuple


#: instrument class -> how to play it. Every class is also labelled "Music".
INSTRUMENTS = {
    "piano": Instrument(0, 36, 96, "chords", ("Piano",)),
    "harpsichord": Instrument(6, 41, 89, "arpeggio", ("Harpsichord",)),
    "marimba": Instrument(12, 48, 96, "melody", ("Marimba, xylophone",)),
    "tubular bells": Instrument(14, 55, 84, "melody", ("Tubular bells",)),
    "organ": Instrument(19, 36, 84, "sustained", ("Organ",)),
    "acoustic guitar": Instrument(25, 40, 79, "arpeggio", ("Acoustic guitar", "Guitar")),
    "electric guitar": Instrument(29, 40, 84, "chords", ("Electric guitar", "Guitar")),
    "bass guitar": Instrument(33, 28, 55, "bass", ("Bass guitar",)),
    "violin": Instrument(40, 55, 96, "melody", ("Violin, fiddle",)),
    "cello": Instrument(42, 36, 72, "melody", ("Cello",)),
    "harp": Instrument(46, 36, 96, "arpeggio", ("Harp",)),
    "trumpet": Instrument(56, 55, 82, "melody", ("Trumpet",)),
    "saxophone": Instrument(65, 49, 80, "melody", ("Saxophone",)),
    "clarinet": Instrument(71, 50, 89, "melody", ("Clarinet",)),
    "flute": Instrument(73, 60, 96, "melody", ("Flute",)),
    "synthesizer": Instrument(81, 36, 84, "melody", ("Synthesizer",)),
    "drum kit": Instrument(None, 35, 81, "drums", ("Drum kit", "Drum")),
}


def soundfont_path() -> str:
    """Path of the General MIDI SoundFont shipped inside ``pretty_midi`` (TimGM6mb.sf2, GPL).

    Book: ``book/04_data.ipynb``.
    """
    import pretty_midi

    p = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
    if not os.path.isfile(p):
        raise FileNotFoundError(f"the SoundFont is missing from pretty_midi ({p})")
    return p


def _synth(sr: int):
    """A fresh synthesiser: a reused one keeps voice and LFO state between calls, so renders would depend
    on what was rendered before (loading the 6 MB SoundFont takes about 25 ms)."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sr, gain=-6.0)
    sfid = synth.sfload(soundfont_path())
    return synth, sfid


def render_midi(pm, *, sr: int = 16000, duration: float | None = None, stereo: bool = False) -> np.ndarray:
    """Render a :class:`pretty_midi.PrettyMIDI` with TinySoundFont.

    Parameters
    ----------
    pm : pretty_midi.PrettyMIDI
    sr : int
        Render rate in Hz (resample afterwards with an anti-aliasing filter for 8 kHz; TinySoundFont
        interpolates linearly, so rendering straight at 8 kHz would alias bright instruments).
    duration : float, optional
        Length in seconds; default: the end of the last note plus 0.5 s of release.
    stereo : bool
        Return (2, n) instead of the mono mix (n,).

    Returns
    -------
    np.ndarray, float32

    Book: ``book/06_neuralogram.ipynb``.
    """
    synth, sfid = _synth(int(sr))
    events = []
    for ci, inst in enumerate(pm.instruments):
        chan = 9 if inst.is_drum else ci % 9 + (ci >= 9)
        synth.program_select(chan, sfid, 128 if inst.is_drum else 0, 0 if inst.is_drum else inst.program,
                             is_drums=inst.is_drum)
        events += [(n.start, 1, chan, n.pitch, n.velocity) for n in inst.notes]
        events += [(n.end, 0, chan, n.pitch, 0) for n in inst.notes]
    if duration is None:
        duration = max([e[0] for e in events], default=0.0) + 0.5
    if not duration > 0:
        raise ValueError(f"duration must be positive, got {duration}")
    n_total, pos = int(round(duration * sr)), 0
    out = np.zeros((n_total, 2), np.float32)
    for t, on, chan, key, vel in sorted(events, key=lambda e: (e[0], e[1])):
        i = min(n_total, max(0, int(round(t * sr))))
        if i > pos:
            out[pos:i] = np.frombuffer(synth.generate(i - pos), np.float32).reshape(-1, 2)
            pos = i
        if on:
            synth.noteon(chan, key, vel)
        else:
            synth.noteoff(chan, key)
    if n_total > pos:
        out[pos:] = np.frombuffer(synth.generate(n_total - pos), np.float32).reshape(-1, 2)
    return out.T.copy() if stereo else out.mean(axis=1)


_TRIADS = [(0, 4, 7), (0, 3, 7), (0, 4, 7, 11), (0, 3, 7, 10), (0, 5, 7), (0, 4, 7, 10)]
_SCALES = [(0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9), (0, 3, 5, 7, 10)]
_DRUM_PATTERNS = [  # 16 steps: kick 36, snare 38, closed hat 42, open hat 46, ride 51, tom 45
    {36: "x...x...x...x...", 38: "....x.......x...", 42: "x.x.x.x.x.x.x.x."},
    {36: "x.....x...x.....", 38: "....x.......x...", 42: "xxxxxxxxxxxxxxxx"},
    {36: "x..x..x...x.....", 38: "....x..x....x...", 46: "..x...x...x...x."},
    {36: "x.......x.......", 38: "........x.......", 51: "x..x..x..x..x..x"},
    {36: "x...x...x...x...", 45: "..x...x...x...xx", 42: "x.x.x.x.x.x.x.x."},
]


def random_part(name: str, rng, *, duration: float, bpm: float | None = None):
    """A random part for instrument class ``name`` filling ``duration`` seconds: a :class:`pretty_midi.PrettyMIDI`.

    Chords for piano and electric guitar, arpeggios for harp, harpsichord and acoustic guitar, melodies
    (stepwise, in a random scale and register) for the solo instruments, a root line for the bass, long notes
    for the organ, and 16-step patterns with random fills for the drum kit.

    Book: ``book/04_data.ipynb``.
    """
    import pretty_midi

    if name not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {name!r}; known: {sorted(INSTRUMENTS)}")
    ins = INSTRUMENTS[name]
    bpm = float(bpm or rng.uniform(70, 160))
    beat = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    part = pretty_midi.Instrument(program=ins.program or 0, is_drum=ins.program is None, name=name)
    pm.instruments.append(part)
    t0 = -rng.uniform(0, 2 * beat)                         # start mid-phrase, like a crop of a longer piece
    end = duration + 0.1

    def note(v, k, a, b):
        if b > 0 and a < end:
            part.notes.append(pretty_midi.Note(int(np.clip(v, 1, 127)), int(k), max(0.0, a), b))

    if ins.style == "drums":
        pat = dict(_DRUM_PATTERNS[rng.integers(len(_DRUM_PATTERNS))])
        step = beat / 4
        for s in range(int((end - t0) / step) + 1):
            t = t0 + s * step
            for key, row in pat.items():
                if row[s % 16] == "x" or rng.uniform() < 0.04:
                    note(rng.integers(70, 120), key, t, t + 0.1)
        return pm
    lo, hi = ins.low, ins.high
    scale = _SCALES[rng.integers(len(_SCALES))]
    root = int(rng.integers(lo, max(lo + 1, hi - 12)))
    pitches = [p for p in range(lo, hi + 1) if (p - root) % 12 in scale]
    t = t0
    if ins.style in ("chords", "sustained"):
        length = beat * (rng.choice([1, 2, 4]) if ins.style == "chords" else rng.choice([2, 4, 8]))
        while t < end:
            base = int(rng.integers(lo, max(lo + 1, hi - 12)))
            for iv in _TRIADS[rng.integers(len(_TRIADS))]:
                note(rng.integers(60, 110), base + iv, t, t + 0.95 * length)
            t += length
    elif ins.style == "arpeggio":
        step = beat / rng.choice([2, 3, 4])
        while t < end:
            base = int(rng.integers(lo, max(lo + 1, hi - 19)))
            chord = [base + iv for iv in _TRIADS[rng.integers(len(_TRIADS))]] + [base + 12]
            for k in (chord if rng.uniform() < 0.5 else chord + chord[-2:0:-1]):
                note(rng.integers(55, 105), k, t, t + step * rng.uniform(1.0, 3.0))
                t += step
    elif ins.style == "bass":
        while t < end:
            k = pitches[rng.integers(len(pitches))]
            for _ in range(int(rng.choice([2, 4]))):
                d = beat * rng.choice([0.5, 1.0])
                note(rng.integers(80, 115), k + int(rng.choice([0, 0, 12, 7])), t, t + 0.9 * d)
                t += d
    else:  # melody: a random walk on the scale, with rests
        i = int(rng.integers(len(pitches)))
        while t < end:
            d = beat * rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 2.0])
            if rng.uniform() > 0.1:
                note(rng.integers(60, 115), pitches[i], t, t + d * rng.uniform(0.7, 1.0))
            i = int(np.clip(i + rng.integers(-3, 4), 0, len(pitches) - 1))
            t += d
    return pm


def render_instrument(name: str, rng, *, duration: float, sr: int = PAPER_SR) -> np.ndarray:
    """A random part of instrument class ``name`` rendered to mono float32 at ``sr`` Hz.

    Book: ``book/04_data.ipynb``.
    """
    from ...audio import resample

    pm = random_part(name, rng, duration=duration)
    y = render_midi(pm, sr=16000, duration=duration)
    if sr != 16000:
        y = resample(y, orig_sr=16000, target_sr=sr).numpy()
    n = int(round(duration * sr))
    return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)
