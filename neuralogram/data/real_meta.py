"""What the real recordings are: ESC-50's classes mapped to AudioSet, FSDD's speakers and words, and the rule that
splits each set into training and held-out clips.

No files are read here: these are the tables and the split rule that :mod:`neuralogram.data.real` applies to
the clips it finds.

Book: ``book/13_real_world.ipynb``.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

__all__ = ["ESC50_AUDIOSET", "ESC50_CLASSES", "FSDD_SPEAKERS", "FSDD_TEST_SPEAKERS", "FSDD_WORDS", "SPEECH",
           "MALE_SPEECH", "SPEECH_CLASSES", "TEST_FRACTION", "esc50_audioset", "esc50_split"]

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
#: ontology by ``tests/test_real.py``): (target, ESC-50 category, AudioSet display name, mid, note). The note
#: says why when no AudioSet class is the same thing. Rule: the class of the *sound source* where AudioSet has
#: one (Dog, not Bark); the sound itself where two ESC-50 classes would otherwise share a label (rooster, hen).
ESC50_AUDIOSET = (
    (0, "dog", "Dog", "/m/0bt9lr", ""),
    (1, "rooster", "Crowing, cock-a-doodle-doo", "/m/07qn5dc",
     "ESC-50's rooster clips crow; the source class 'Chicken, rooster' is the parent of both Crowing and Cluck "
     "and would merge rooster with hen"),
    (2, "pig", "Pig", "/m/068zj", ""),
    (3, "cow", "Cattle, bovinae", "/m/01xq0k1", ""),
    (4, "frog", "Frog", "/m/09ld4", ""),
    (5, "cat", "Cat", "/m/01yrx", ""),
    (6, "hen", "Cluck", "/m/07st89h",
     "the hens cluck; 'Chicken, rooster' (the source) would merge hen with rooster"),
    (7, "insects", "Insect", "/m/03vt0",
     "ESC-50's flying insects (flies, bees, mosquitoes) span three AudioSet leaves; 'Insect' is also the parent "
     "of Cricket (ESC-50's crickets)"),
    (8, "sheep", "Sheep", "/m/07bgp", ""),
    (9, "crow", "Crow", "/m/04s8yn", ""),
    (10, "rain", "Rain", "/m/06mb1", ""),
    (11, "sea_waves", "Waves, surf", "/m/034srq", ""),
    (12, "crackling_fire", "Crackle", "/m/07pzfmf",
     "the sound ESC-50 names; its AudioSet parent 'Fire' fits as well"),
    (13, "crickets", "Cricket", "/m/09xqv", ""),
    (14, "chirping_birds", "Bird vocalization, bird call, bird song", "/m/020bb7",
     "chirps and song of small birds; its child 'Chirp, tweet' covers single chirps only"),
    (15, "water_drops", "Drip", "/m/07r5v4s", ""),
    (16, "wind", "Wind", "/m/03m9d0z", ""),
    (17, "pouring_water", "Pour", "/m/07prgkl", ""),
    (18, "toilet_flush", "Toilet flush", "/m/01jt3m", ""),
    (19, "thunderstorm", "Thunderstorm", "/m/0jb2l", ""),
    (20, "crying_baby", "Baby cry, infant cry", "/t/dd00002", ""),
    (21, "sneezing", "Sneeze", "/m/01hsr_", ""),
    (22, "clapping", "Clapping", "/m/0l15bq", ""),
    (23, "breathing", "Breathing", "/m/0lyf6", ""),
    (24, "coughing", "Cough", "/m/01b_21", ""),
    (25, "footsteps", "Walk, footsteps", "/m/07pbtc8", ""),
    (26, "laughing", "Laughter", "/m/01j3sz", ""),
    (27, "brushing_teeth", "Toothbrush", "/m/012xff", ""),
    (28, "snoring", "Snoring", "/m/01d3sd", ""),
    (29, "drinking_sipping", "Liquid", "/m/04k94",
     "no single class fits: AudioSet has no drinking, sipping, slurping or swallowing sound; the clips are liquid "
     "drawn into the mouth, so the parent 'Liquid' is the honest label (it is also the parent of Pour and Drip)"),
    (30, "door_wood_knock", "Knock", "/m/07r4wb8", ""),
    (31, "mouse_click", "Clicking", "/m/07qc9xj",
     "no computer-mouse class ('Mouse' is the animal); the clicks are 'Clicking' (also the parent of Tick)"),
    (32, "keyboard_typing", "Computer keyboard", "/m/01m2v", ""),
    (33, "door_wood_creaks", "Creak", "/m/07qh7jl", ""),
    (34, "can_opening", "Burst, pop", "/m/07qsvvw",
     "no single class fits: nothing for opening a can; 'Burst, pop' is AudioSet's 'enclosure holding gas or liquid "
     "coming open suddenly', the tab's pop; the hiss that follows is 'Fizz', which is not one of the 527 labels"),
    (35, "washing_machine", "Whir", "/m/07s34ls",
     "no single class fits: AudioSet has no washing machine; the drum's motor whirs ('Whir'), the water sloshes "
     "('Slosh'); 'Mechanisms' is only the category"),
    (36, "vacuum_cleaner", "Vacuum cleaner", "/m/0d31p", ""),
    (37, "clock_alarm", "Alarm clock", "/m/046dlr", ""),
    (38, "clock_tick", "Tick-tock", "/m/07qjznl", ""),
    (39, "glass_breaking", "Shatter", "/m/07rn7sz", "the child of 'Glass' for breaking glass"),
    (40, "helicopter", "Helicopter", "/m/09ct_", ""),
    (41, "chainsaw", "Chainsaw", "/m/01j4z9", ""),
    (42, "siren", "Siren", "/m/03kmc9", ""),
    (43, "car_horn", "Vehicle horn, car horn, honking", "/m/0912c9", ""),
    (44, "engine", "Engine", "/m/02mk9", ""),
    (45, "train", "Train", "/m/07jdr", ""),
    (46, "church_bells", "Church bell", "/m/03w41f", ""),
    (47, "airplane", "Fixed-wing aircraft, airplane", "/m/0cmf2", ""),
    (48, "fireworks", "Fireworks", "/m/0g6b5", ""),
    (49, "hand_saw", "Sawing", "/m/01b82r", "AudioSet's 'Sawing' covers manual and motorised saws"),
)
#: ESC-50's category names in target order.
ESC50_CLASSES = tuple(row[1] for row in ESC50_AUDIOSET)


def esc50_audioset() -> list[dict]:
    """The ESC-50 -> AudioSet table as a list of dicts (``target, category, audioset_name, mid, note``).

    Returns
    -------
    list of dict
        One row per ESC-50 class, in target order; ``note`` is empty where the AudioSet class is the same thing.

    Book: ``book/13_real_world.ipynb``.
    """
    return [dict(target=t, category=c, audioset_name=n, mid=m, note=note) for t, c, n, m, note in ESC50_AUDIOSET]


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

    Book: ``book/13_real_world.ipynb``.
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
