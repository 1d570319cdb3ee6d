"""What the real recordings are: ESC-50's classes mapped to AudioSet, FSDD's speakers and words, and the rule that
splits each set into training and held-out clips.

No files are read here: these are the tables and the split rule that :mod:`neuralogram.data.real` applies to
the clips it finds.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Sequence

__all__ = ["ESC50_AUDIOSET", "ESC50_CLASSES", "FSDD_SPEAKERS", "FSDD_TEST_SPEAKERS", "FSDD_WORDS", "SPEECH",
           "MALE_SPEECH", "SPEECH_CLASSES", "TEST_FRACTION", "AUDIOSET_ANCESTORS", "audioset_ancestors",
           "esc50_audioset", "esc50_split"]

#: Fraction of each ESC-50 class's source recordings held out (``split="test"``).
TEST_FRACTION = 0.3

#: FSDD's speakers (its ``metadata.py``): gender, accent. All six are men.
FSDD_SPEAKERS = {
    "jackson": ("male", "USA/neutral"),
    "nicolas": ("male", "BEL/French"),
    "theo": ("male", "USA/neutral"),
    "yweweler": ("male", "DEU/German"),
    "george": ("male", "GRC/Greek"),
    "lucas": ("male", "DEU/German"),
}
#: Held-out FSDD speakers: one of each accent that has two speakers, so the other stays in training.
FSDD_TEST_SPEAKERS = ("lucas", "theo")

# ------------------------------------------------------------------------------------------------- AudioSet
def _read_csv(name: str) -> list[dict]:
    """Rows of a table beside this module (data, not code)."""
    with open(Path(__file__).with_name(name), newline="") as f:
        return list(csv.DictReader(f))


#: AudioSet's Speech and its children (``ontology.json``): the "speech classes" of the FSDD measurements.
SPEECH = ("/m/09x0r", "Speech")
MALE_SPEECH = ("/m/05zppz", "Male speech, man speaking")
SPEECH_CLASSES = (
    SPEECH,
    MALE_SPEECH,
    ("/m/02zsn", "Female speech, woman speaking"),
    ("/m/0ytgt", "Child speech, kid speaking"),
    ("/m/01h8n0", "Conversation"),
    ("/m/02qldy", "Narration, monologue"),
    ("/m/0261r1", "Babbling"),
    ("/m/0brhx", "Speech synthesizer"),
)
_GENDER_SPEECH = {"male": MALE_SPEECH, "female": ("/m/02zsn", "Female speech, woman speaking")}

#: ESC-50's 50 classes -> one AudioSet label each (all 50 among AudioSet's 527 labels, checked against the
#: ontology by ``tests/test_real.py``): (target, ESC-50 category, AudioSet display name, mid, note), read from the
#: table ``esc50_audioset.csv`` beside this module. The note says why when no AudioSet class is the same thing. Rule: the class of the *sound source* where AudioSet has
#: one (Dog, not Bark); the sound itself where two ESC-50 classes would otherwise share a label (rooster, hen).
ESC50_AUDIOSET = tuple((int(r["target"]), r["category"], r["audioset_name"], r["mid"], r["note"])
                       for r in _read_csv("esc50_audioset.csv"))
#: ESC-50's category names in target order.
ESC50_CLASSES = tuple(row[1] for row in ESC50_AUDIOSET)


def esc50_audioset() -> list[dict]:
    """The ESC-50 -> AudioSet table as a list of dicts (``target, category, audioset_name, mid, note``).

    Returns
    -------
    list of dict
        One row per ESC-50 class, in target order; ``note`` is empty where the AudioSet class is the same thing.

    Book: ``book/14_real_world.ipynb``.
    """
    return [dict(target=t, category=c, audioset_name=n, mid=m, note=note) for t, c, n, m, note in ESC50_AUDIOSET]


#: Every AudioSet label the real datasets map to (ESC-50's 50, the speech classes, UrbanSound8K's 10) -> its
#: ancestors in the AudioSet ontology that are themselves among the 527 labels (parents first), read from the table
#: ``audioset_ancestors.csv`` beside this module (derived from ``ontology.json``; checked against it by
#: ``tests/test_real.py``). A dog's clip is also *Domestic animals, pets* and *Animal*.
AUDIOSET_ANCESTORS = {r["mid"]: tuple(r["ancestors"].split()) for r in _read_csv("audioset_ancestors.csv")}


def audioset_ancestors(mid: str) -> tuple:
    """The ancestors of one mapped AudioSet label that are AudioSet labels themselves (parents first).

    Parameters
    ----------
    mid : str
        An AudioSet label id that a real dataset maps to (a key of :data:`AUDIOSET_ANCESTORS`).

    Returns
    -------
    tuple of str
        Their mids; empty for a label at the top of the ontology (Speech, Wind, Engine, ...).

    Raises
    ------
    KeyError
        ``mid`` is not one of the labels the real datasets map to (the message says which are).

    Book: ``book/13_audioset_net.ipynb`` (calibration, read two ways).
    """
    try:
        return AUDIOSET_ANCESTORS[mid]
    except KeyError:
        raise KeyError(f"{mid!r} is not an AudioSet label the real datasets map to; the table "
                       f"audioset_ancestors.csv covers {len(AUDIOSET_ANCESTORS)} labels (ESC-50, speech, "
                       "UrbanSound8K)") from None


#: The spoken digits as words, indexed by the digit.
FSDD_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


# ------------------------------------------------------------------------------------------------- splits
def _check_split(split):
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")


def _rank(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def esc50_split(src_files: Sequence[str], targets: Sequence[int], *, test_fraction: float = TEST_FRACTION
                ) -> dict[str, str]:
    """Assign each ESC-50 source recording to ``"train"`` or ``"test"``, per class, by a hash of its id.

    Within each class the distinct sources are ranked by ``sha256("esc50:" + src_file)`` and the first
    ``round(test_fraction * n)`` (at least 1 and at most ``n - 1``; none when ``n == 1``) are held out, so every
    class with two or more sources has clips on both sides and all takes of one source stay together. A source
    listed under two classes is held out if either class holds it out.

    Parameters
    ----------
    src_files : sequence of str
        ``src_file`` of every clip.
    targets : sequence of int
        Class of every clip (same length).
    test_fraction : float
        In (0, 1).

    Returns
    -------
    dict
        ``src_file -> "train" | "test"``.

    Book: ``book/14_real_world.ipynb``.
    """
    if len(src_files) != len(targets):
        raise ValueError(f"src_files and targets differ in length ({len(src_files)} vs {len(targets)})")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    by_class: dict[int, set] = {}
    for s, t in zip(src_files, targets):
        by_class.setdefault(int(t), set()).add(str(s))
    out = {str(s): "train" for s in src_files}
    for t, sources in by_class.items():
        ranked = sorted(sources, key=lambda s: (_rank(f"esc50:{s}"), s))
        n = len(ranked)
        k = 0 if n < 2 else min(max(int(round(test_fraction * n)), 1), n - 1)
        for s in ranked[:k]:
            out[s] = "test"
    return out
