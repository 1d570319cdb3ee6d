"""Speech from espeak-ng, offline: the library and its voices ship in the ``espeakng-loader`` wheel.

We drive ``libespeak-ng`` with :mod:`ctypes` in retrieval mode (no audio device): the synthesiser hands its
22,050 Hz samples to a callback, which collects them. A *speaker* is a language plus one of espeak-ng's voice
variants (``m1``..``m8``, ``f1``..``f5``, ``Annie``, ``zac``, ...) plus a pitch and a rate; the variant's
declared gender and pitch range decide whether its speech is labelled Male, Female or Child speech.
Child speech is an approximation: espeak-ng has one child-like variant (``zac``), so we add female variants
with the pitch parameter raised to its top.

Book: ``book/04_data.ipynb`` (the stand-in corpus) and ``book/11_semantics.ipynb`` (spoken words).
"""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

from ...audio import PAPER_SR

__all__ = ["Speaker", "SPEAKERS", "LANGUAGES", "WORDS", "speak", "random_sentence", "available"]

ESPEAK_SR = 22050

#: voice variants by the label their speech gets (from each variant file's ``gender`` and ``pitch`` lines).
#: Left out: the variants whose output differs from run to run with the same input (measured: f2, f3, f5,
#: Alicia, whisperf, sandro, victor), which would make the corpus irreproducible.
VARIANTS = {
    "male": ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Andy", "Lee", "Storm", "Denis", "Diogo",
             "Henrique", "Hugo", "Marco", "antonio", "croak", "michel", "miguel", "travis",
             "Mike", "david", "ian", "paul", "quincy", "robert", "john", "norbert", "iven", "gustave"],
    "female": ["f1", "f4", "Andrea", "Annie", "anika", "aunty", "belinda", "linda",
               "steph", "steph2", "steph3", "grandma"],
    "child": ["zac"],
}

#: a few common words per language, enough to make varied sentences
WORDS = {
    "en": "the house is very old and the garden is green we walk to the river every morning she said that "
          "music makes people happy one two three four five yes no stop go left right up down".split(),
    "de": "das Haus ist sehr alt und der Garten ist grün wir gehen jeden Morgen zum Fluss sie sagte dass "
          "Musik die Menschen froh macht eins zwei drei vier fünf ja nein".split(),
    "fr": "la maison est très vieille et le jardin est vert nous allons à la rivière chaque matin elle a dit "
          "que la musique rend les gens heureux un deux trois quatre cinq oui non".split(),
    "es": "la casa es muy vieja y el jardín es verde caminamos al río cada mañana ella dijo que la música hace "
          "feliz a la gente uno dos tres cuatro cinco sí no".split(),
    "it": "la casa è molto vecchia e il giardino è verde camminiamo al fiume ogni mattina lei ha detto che "
          "la musica rende felici le persone uno due tre quattro cinque sì no".split(),
    "pt": "a casa é muito velha e o jardim é verde andamos até o rio todas as manhãs ela disse que a música "
          "deixa as pessoas felizes um dois três quatro cinco sim não".split(),
    "nl": "het huis is heel oud en de tuin is groen wij lopen elke ochtend naar de rivier zij zei dat muziek "
          "mensen blij maakt een twee drie vier vijf ja nee".split(),
    "sv": "huset är mycket gammalt och trädgården är grön vi går till floden varje morgon hon sa att musik "
          "gör människor glada ett två tre fyra fem ja nej".split(),
}
LANGUAGES = sorted(WORDS)


@dataclass(frozen=True)
class Speaker:
    """An espeak-ng speaker: language, voice variant, pitch (0-100) and rate (words per minute).

    Book: ``book/04_data.ipynb``.
    """

    language: str
    variant: str
    pitch: int = 50
    rate: int = 170

    @property
    def voice(self) -> str:
        return f"{self.language}+{self.variant}"

    @property
    def kind(self) -> str:
        """``"male"``, ``"female"`` or ``"child"``."""
        if self.variant in VARIANTS["child"] or (self.variant in VARIANTS["female"] and self.pitch >= 90):
            return "child"
        return "male" if self.variant in VARIANTS["male"] else "female"


def _speakers():
    out = []
    for lang in LANGUAGES:
        for kind, variants in VARIANTS.items():
            for v in variants:
                out.append(Speaker(lang, v))
        for v in ("f1", "f4", "Annie", "anika", "linda"):
            out.append(Speaker(lang, v, pitch=95))            # raised pitch: child-like (see module docstring)
    return tuple(out)


#: every speaker the stand-in corpus draws from (languages x variants, plus raised-pitch child-like voices)
SPEAKERS = _speakers()

_lib = None
_lock = threading.Lock()
_chunks: list = []
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _collect(wav, n, events):
    if n > 0 and wav:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
    return 0


_callback = _CALLBACK(_collect)


def available() -> bool:
    """True when espeak-ng can be loaded (the ``espeakng-loader`` wheel is installed)."""
    try:
        _library()
        return True
    except (ImportError, OSError, RuntimeError):
        return False


def _library():
    global _lib
    if _lib is None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        sr = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2 = synchronous
        if sr != ESPEAK_SR:
            raise RuntimeError(f"espeak-ng initialisation failed (returned {sr})")
        lib.espeak_SetSynthCallback(_callback)
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        _lib = lib
    return _lib


def speak(text: str, speaker: Speaker = Speaker("en", "m3"), *, sr: int = PAPER_SR) -> np.ndarray:
    """Synthesise ``text`` with ``speaker``; float32 audio in [-1, 1] at ``sr`` Hz.

    Parameters
    ----------
    text : str
        What to say (UTF-8; espeak-ng reads it in the speaker's language).
    speaker : Speaker
    sr : int
        Output sample rate in Hz (espeak-ng makes 22,050 Hz; resampled with an anti-aliasing filter).

    Book: ``book/04_data.ipynb``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    if speaker.language not in WORDS and not isinstance(speaker.language, str):
        raise ValueError(f"unknown language {speaker.language!r}")
    lib = _library()
    with _lock:
        _chunks.clear()
        if lib.espeak_SetVoiceByName(speaker.voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {speaker.voice!r}")
        lib.espeak_SetParameter(1, int(speaker.rate), 0)       # espeakRATE
        lib.espeak_SetParameter(3, int(speaker.pitch), 0)      # espeakPITCH
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, 1, 0, 0, None, None)   # POS_CHARACTER, espeakCHARS_AUTO
        lib.espeak_Synchronize()
        if err != 0:
            raise RuntimeError(f"espeak-ng failed to synthesise {text!r} (error {err})")
        y = np.concatenate(_chunks) if _chunks else np.zeros(0, np.int16)
    y = y.astype(np.float32) / 32768.0
    if sr != ESPEAK_SR and y.size:
        from ...audio import resample

        y = resample(y, orig_sr=ESPEAK_SR, target_sr=sr).numpy()
    return y.astype(np.float32)


def random_sentence(rng, language: str, n_words: tuple[int, int] = (3, 9)) -> str:
    """A random sequence of common words of ``language`` (one of :data:`LANGUAGES`).

    Book: ``book/04_data.ipynb``.
    """
    if language not in WORDS:
        raise ValueError(f"unknown language {language!r}; known: {LANGUAGES}")
    k = int(rng.integers(n_words[0], n_words[1] + 1))
    return " ".join(rng.choice(WORDS[language], size=k))
