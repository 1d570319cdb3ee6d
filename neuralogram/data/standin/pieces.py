"""Whole pieces of music for the book's figures, as MIDI: render them with
:func:`neuralogram.data.standin.soundfont.render_midi`.

Kept apart from :mod:`.soundfont`, whose source is part of the stand-in corpus's code hash: a piece for a figure
must not rename every cached corpus.

Book: ``book/06_neuralogram.ipynb`` (Fig. 1) and ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["pop_piece"]


def pop_piece(*, seconds: float = 31.0, bpm: float = 120, seed: int = 0, transpose: int = 0):
    """The book's Fig. 1 music: a pop-like MIDI piece in four sections that change at 8, 16 and 24 s: piano; + bass
    and drums; + a trumpet melody; strings alone. Render it with :func:`render_midi`.

    Parameters
    ----------
    seconds : float
        Length of the piece.
    bpm : float
        Tempo of the beat (notes, bars and chords). The section boundaries stay at 8, 16 and 24 s whatever the
        tempo (a section changes at the first beat at or after them), so at 120 bpm a section is 16 beats long.
    seed : int
        Seeds the melody.
    transpose : int
        Semitones added to every pitched note.

    Returns
    -------
    pretty_midi.PrettyMIDI

    Book: ``book/06_neuralogram.ipynb`` and ``book/13_audioset_net.ipynb``.
    """
    import pretty_midi

    rng, beat = np.random.default_rng(seed), 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    piano, bass = pretty_midi.Instrument(0, name="piano"), pretty_midi.Instrument(33, name="bass")
    lead, strings = pretty_midi.Instrument(56, name="trumpet"), pretty_midi.Instrument(48, name="strings")
    drums = pretty_midi.Instrument(0, is_drum=True, name="drums")
    chords, scale = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)], [72, 74, 76, 77, 79, 81, 83, 84]

    def note(v, k, a, b):
        return pretty_midi.Note(v, k + transpose, a, b)

    for b in range(int(seconds / beat)):
        t, (bar, pos) = b * beat, divmod(b, 4)
        ch, sec = chords[bar % 4], min(3, int(t // 8))
        if sec < 3:
            piano.notes += [note(80 if pos == 0 else 60, k, t, t + 0.9 * beat) for k in ch]
        elif pos == 0:
            strings.notes += [note(75, k - 12, t, t + 4 * beat) for k in ch] + [note(70, k, t, t + 4 * beat) for k in ch]
        if sec in (1, 2):
            bass.notes.append(note(95, ch[0] - 24, t, t + 0.8 * beat))
            drums.notes += [pretty_midi.Note(110, 36 if pos in (0, 2) else 38, t, t + 0.1)]      # kick / snare
            drums.notes += [pretty_midi.Note(70, 42, t + h * beat, t + h * beat + 0.05) for h in (0, 0.5)]  # hi-hat
        if sec == 2:
            lead.notes += [note(100, scale[rng.integers(0, 8)], t + h * beat, t + (h + 0.45) * beat) for h in (0, 0.5)]
    pm.instruments += [piano, bass, lead, strings, drums]
    return pm
