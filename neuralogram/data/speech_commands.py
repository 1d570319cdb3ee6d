"""Spoken words for the semantics probe (paper section 3.5): the Speech Commands dataset when a reader has it,
otherwise the same ten command words spoken by many espeak-ng voices.

The Speech Commands layout (v0.01 and v0.02; Warden, 2018, arXiv:1804.03209)::

    ROOT/
      yes/0a7c2a8d_nohash_0.wav       one folder per word; <speaker hash>_nohash_<take>.wav,
      yes/0a7c2a8d_nohash_1.wav       16 kHz, mono, 16 bit, at most 1 s
      no/...
      validation_list.txt             relative paths ("yes/0a7c2a8d_nohash_0.wav"), one a line
      testing_list.txt
      _background_noise_/*.wav        long noise recordings, not words
      LICENSE, README.md, ...

A file listed in ``validation_list.txt`` is in the ``"validation"`` split, one in ``testing_list.txt`` in
``"testing"``, every other word file in ``"train"``; the dataset assigns the lists by a hash of the speaker, so a
speaker is never in two splits. Folders whose name starts with ``_`` are not words.

Clip conventions (the same for real and synthetic words):

* every clip is brought to exactly ``seconds = 1.0`` s at ``sr`` Hz (16 kHz, the dataset's rate): a shorter clip is
  zero-padded equally on both sides (centred), a longer one is cropped around its centre (:func:`fit_length`);
* the network's context is 2 s at 8 kHz: :func:`place_in_window` resamples a 1 s clip to 8 kHz and centres it in a
  2 s window of zeros (0.5 s of silence on each side), so the word sits in the middle of the 200 spectrogram frames.

Book: ``book/11_semantics.ipynb``.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import PAPER_SR, check_positive, check_sr, resample

__all__ = ["CORE_WORDS", "SC_RATE", "Item", "WordSet", "list_items", "read_clip", "load_words", "balanced_subset",
           "background_noise_files", "fit_length", "place_in_window", "synthetic_words", "synthetic_speakers"]

#: The ten command words of Speech Commands (the ones its keyword-spotting task uses).
CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
#: Speech Commands' sample rate in Hz.
SC_RATE = 16000
_LISTS = {"validation": "validation_list.txt", "testing": "testing_list.txt"}
SPLITS = ("train", "validation", "testing")


@dataclass(frozen=True)
class Item:
    """One Speech Commands file: ``path``, ``word``, ``speaker`` (the hash before ``_nohash_``), ``split``
    (``"train"``, ``"validation"`` or ``"testing"``) and ``take`` (the number after ``_nohash_``).

    Book: ``book/11_semantics.ipynb``.
    """

    path: str
    word: str
    speaker: str
    split: str
    take: int = 0


@dataclass
class WordSet:
    """A set of 1 s spoken words with their labels, the input of :mod:`neuralogram.probes.semantics`.

    Attributes
    ----------
    audio : np.ndarray [shape=(n, round(seconds * sr))], float32
        One clip a row, already padded/cropped to the same length (see the module docstring).
    sr : int
        Sample rate in Hz.
    word, speaker : np.ndarray [shape=(n,)], str
    kind : np.ndarray [shape=(n,)], str
        ``"male"``, ``"female"``, ``"child"`` (espeak-ng voices) or ``""`` (unknown, real recordings).
    source : str
        ``"espeak-ng"`` or ``"speech-commands"``.
    params : dict
        How the set was made (for the record and for cache keys).

    Book: ``book/11_semantics.ipynb``.
    """

    audio: np.ndarray
    sr: int
    word: np.ndarray
    speaker: np.ndarray
    kind: np.ndarray
    source: str = "unknown"
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        self.audio = np.asarray(self.audio, dtype=np.float32)
        self.word, self.speaker, self.kind = (np.asarray(a, dtype=str) for a in (self.word, self.speaker, self.kind))
        if self.audio.ndim != 2:
            raise ValueError(f"audio must be (n_clips, n_samples), got shape {self.audio.shape}")
        n = self.audio.shape[0]
        for name in ("word", "speaker", "kind"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one label per clip ({n}), got shape {getattr(self, name).shape}")
        if not np.isfinite(self.audio).all():
            raise ValueError("audio contains NaN or Inf")
        self.sr = check_sr(self.sr)

    def __len__(self) -> int:
        return self.audio.shape[0]

    @property
    def words(self) -> list[str]:
        """The distinct words, in order of first appearance."""
        return list(dict.fromkeys(self.word.tolist()))

    @property
    def speakers(self) -> list[str]:
        """The distinct speakers, in order of first appearance."""
        return list(dict.fromkeys(self.speaker.tolist()))

    def fingerprint(self) -> str:
        """A short hash of the audio and the labels (a cache key that changes when the set does)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.audio).tobytes())
        for a in (self.word, self.speaker, self.kind):
            h.update("\0".join(a.tolist()).encode())
        h.update(str(self.sr).encode())
        return h.hexdigest()[:12]

    def subset(self, mask) -> "WordSet":
        """The clips selected by a boolean mask or an index array."""
        idx = np.arange(len(self))[mask]
        return WordSet(self.audio[idx], self.sr, self.word[idx], self.speaker[idx], self.kind[idx], self.source,
                       {**self.params, "subset": len(idx)})


# ---------------------------------------------------------------------------------------------------------------
# Clip conventions
# ---------------------------------------------------------------------------------------------------------------
def fit_length(y, n: int) -> np.ndarray:
    """Centre ``y`` in exactly ``n`` samples: zero-pad both sides equally (the extra sample, if any, at the end),
    or crop around the centre.

    Parameters
    ----------
    y : np.ndarray [shape=(m,)]
    n : int
        Output length in samples.

    Returns
    -------
    np.ndarray [shape=(n,)], float32

    Book: ``book/11_semantics.ipynb``.
    """
    n = check_positive(n, "n", integer=True)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    m = y.size
    if m >= n:
        a = (m - n) // 2
        return y[a:a + n].copy()
    out = np.zeros(n, np.float32)
    a = (n - m) // 2
    out[a:a + m] = y
    return out


def place_in_window(audio, *, sr: int, window: float = 2.0, target_sr: int = PAPER_SR) -> np.ndarray:
    """Resample clips to ``target_sr`` and centre each in a ``window``-second frame of zeros.

    This is how a 1 s word meets the network's 2 s context: 0.5 s of silence, the word, 0.5 s of silence.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_clips, n_samples) or (n_samples,)]
        Clips at ``sr`` Hz, at most ``window`` seconds long.
    sr, target_sr : int
        Sample rates in Hz (the network's is 8000).
    window : float
        The context in seconds.

    Returns
    -------
    np.ndarray [shape=(n_clips, round(window * target_sr))], float32

    Book: ``book/11_semantics.ipynb``.
    """
    sr, target_sr = check_sr(sr), check_sr(target_sr)
    window = check_positive(window, "window")
    x = np.asarray(audio, dtype=np.float32)
    one = x.ndim == 1
    x = np.atleast_2d(x)
    if x.ndim != 2:
        raise ValueError(f"audio must be (n_clips, n_samples), got shape {np.shape(audio)}")
    if x.shape[1] / sr > window + 1e-9:
        raise ValueError(f"clips of {x.shape[1] / sr:.3f} s do not fit in a {window} s window")
    r = resample(x, orig_sr=sr, target_sr=target_sr).numpy()
    n = int(round(window * target_sr))
    out = np.stack([fit_length(row, n) for row in r]) if len(r) else np.zeros((0, n), np.float32)
    return out[0] if one else out


# ---------------------------------------------------------------------------------------------------------------
# The real dataset
# ---------------------------------------------------------------------------------------------------------------
def _root(root) -> Path:
    if root is None or (isinstance(root, str) and not root.strip()):
        raise ValueError("root must be the path of a Speech Commands folder")
    p = Path(root).expanduser()
    if not p.is_dir():
        raise ValueError(f"no Speech Commands folder at {str(p)!r} (expected ROOT/<word>/<speaker>_nohash_<n>.wav)")
    return p


def _choose(given, allowed: list, noun: str, where: str = "") -> list:
    """``given`` (one name, several, or None for all of ``allowed``) as a list, every name checked."""
    if given is None:
        return list(allowed)
    given = [given] if isinstance(given, str) else list(given)
    unknown = [g for g in given if g not in allowed]
    if unknown:
        raise ValueError(f"unknown {noun}(s) {unknown}{where}; the {noun}s there are {allowed}")
    return given


def _word_folders(root: Path) -> list[str]:
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))


def list_items(root, *, words=None, splits=None) -> list[Item]:
    """The word files of a Speech Commands folder, with word, speaker and split.

    Parameters
    ----------
    root : str or Path
        The dataset folder (the one holding ``yes/``, ``no/``, ..., ``validation_list.txt``).
    words : iterable of str, optional
        Only these words (default: every word folder; ``_background_noise_`` is never a word).
    splits : iterable of str, optional
        Only these splits, from ``"train"``, ``"validation"``, ``"testing"`` (default: all).

    Returns
    -------
    list of Item
        Sorted by word, then file name. A missing list file makes its split empty (with a warning): every file
        is then ``"train"``.

    Raises
    ------
    ValueError
        The folder does not exist, a requested word has no folder, or an unknown split is named.

    Book: ``book/11_semantics.ipynb``.
    """
    root = _root(root)
    have = _word_folders(root)
    words = _choose(words, have, "word", f" in {str(root)!r}")
    splits = _choose(splits, list(SPLITS), "split")
    listed = {}
    for split, fname in _LISTS.items():
        f = root / fname
        if not f.is_file():
            warnings.warn(f"{fname} not found in {root}: no file is put in the {split!r} split", stacklevel=2)
            continue
        for line in f.read_text().splitlines():
            line = line.strip().replace("\\", "/")
            if line:
                listed[line] = split
    items = []
    for w in words:
        for wav in sorted((root / w).glob("*.wav")):
            stem = wav.stem
            speaker, sep, take = stem.partition("_nohash_")
            if not sep:
                speaker, take = stem, "0"
            split = listed.get(f"{w}/{wav.name}", "train")
            if split in splits:
                items.append(Item(str(wav), w, speaker, split, int(take) if take.isdigit() else 0))
    return items


def background_noise_files(root) -> list[str]:
    """Paths of the long noise recordings in ``ROOT/_background_noise_`` (empty if the folder is absent).

    Book: ``book/11_semantics.ipynb``.
    """
    d = _root(root) / "_background_noise_"
    return sorted(str(p) for p in d.glob("*.wav")) if d.is_dir() else []


def read_clip(path, *, sr: int = SC_RATE, seconds: float = 1.0) -> np.ndarray:
    """Read one audio file as mono float32 at ``sr`` Hz, centred in exactly ``seconds`` (:func:`fit_length`).

    Raises
    ------
    ValueError
        The file is missing, unreadable, empty, or holds NaN/Inf samples (the message names the file).

    Book: ``book/11_semantics.ipynb``.
    """
    import soundfile as sf

    sr = check_sr(sr)
    seconds = check_positive(seconds, "seconds")
    path = str(path)
    if not os.path.isfile(path):
        raise ValueError(f"no such audio file: {path!r}")
    try:
        y, file_sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError/RuntimeError for anything it cannot decode
        raise ValueError(f"cannot read {path!r} as audio: {err}") from None
    if y.shape[0] == 0:
        raise ValueError(f"{path!r} holds no samples")
    y = y.mean(axis=1)
    if not np.isfinite(y).all():
        raise ValueError(f"{path!r} contains NaN or Inf samples")
    if file_sr != sr:
        y = resample(y, orig_sr=int(file_sr), target_sr=sr).numpy()
    return fit_length(y, int(round(seconds * sr)))


def load_words(items, *, sr: int = SC_RATE, seconds: float = 1.0, on_error: str = "skip"):
    """Read the files of ``items`` into a :class:`WordSet`, skipping (and reporting) the unreadable ones.

    Parameters
    ----------
    items : list of Item
        From :func:`list_items` or :func:`balanced_subset`.
    sr : int
        Sample rate in Hz of the returned clips.
    seconds : float
        Clip length (1 s, the dataset's).
    on_error : {"skip", "raise"}
        ``"skip"``: leave an unreadable file out and list it; ``"raise"``: raise its ``ValueError``.

    Returns
    -------
    wordset : WordSet
        ``kind`` is ``""`` (the dataset does not label gender).
    skipped : list of (path, reason)

    Book: ``book/11_semantics.ipynb``.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    items = list(items)
    if not items:
        raise ValueError("items is empty: nothing to load")
    if not all(isinstance(it, Item) for it in items):
        raise ValueError("items must be Item records (see list_items)")
    audio, kept, skipped = [], [], []
    for it in items:
        try:
            audio.append(read_clip(it.path, sr=sr, seconds=seconds))
            kept.append(it)
        except ValueError as err:
            if on_error == "raise":
                raise
            skipped.append((it.path, str(err)))
    if not kept:
        raise ValueError(f"none of the {len(items)} files could be read; first error: {skipped[0][1]}")
    ws = WordSet(np.stack(audio), sr, [it.word for it in kept], [it.speaker for it in kept], [""] * len(kept),
                 "speech-commands", {"n_items": len(items), "n_skipped": len(skipped), "seconds": seconds})
    return ws, skipped


def balanced_subset(items, *, words=CORE_WORDS, n_speakers: int = 30, seed: int = 0, split=None) -> list[Item]:
    """One take of every word in ``words`` by each of ``n_speakers`` speakers who said all of them.

    A balanced design (the same speakers for every word) makes the word and speaker labels independent, as in
    :func:`synthetic_words`. Speakers are drawn at random (seeded) among those with every word; each one's
    take with the smallest number is used.

    Raises
    ------
    ValueError
        Fewer than ``n_speakers`` speakers said every word.

    Book: ``book/11_semantics.ipynb``.
    """
    words = [words] if isinstance(words, str) else list(words)
    n_speakers = check_positive(n_speakers, "n_speakers", integer=True)
    best: dict = {}
    for it in items:
        if it.word in words and (split is None or it.split == split):
            k = (it.speaker, it.word)
            if k not in best or it.take < best[k].take:
                best[k] = it
    said = {s for s, _ in best}
    full = sorted(s for s in said if all((s, w) in best for w in words))
    if len(full) < n_speakers:
        raise ValueError(f"only {len(full)} speakers said all of {words}"
                         f"{'' if split is None else f' in the {split!r} split'}; asked for {n_speakers}")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(full, size=n_speakers, replace=False).tolist())
    return [best[s, w] for w in words for s in chosen]


# ---------------------------------------------------------------------------------------------------------------
# The offline fallback: espeak-ng voices
# ---------------------------------------------------------------------------------------------------------------
def synthetic_speakers(n_speakers: int, seed: int = 0, *, language: str = "en"):
    """``n_speakers`` distinct espeak-ng speakers: voice variant, pitch (30-75) and rate (80-160 words per minute,
    slower than espeak-ng's default 175, so a word lasts about 0.4-0.7 s as in Speech Commands).

    Variants are drawn without replacement from every reproducible variant of :data:`neuralogram.data.standin.speech.VARIANTS`
    (44 of them: 31 male, 12 female, 1 child), alternating male and female/child so that a small set is balanced
    (the first 26 speakers are half and half), and reused, with other pitches and rates, beyond 44 speakers.

    Returns
    -------
    list of (speaker_id, Speaker, gain_db)
        ``speaker_id`` is ``"<variant>-p<pitch>-r<rate>"``; ``gain_db`` (-12..0 dB) plays the role of each
        speaker's microphone level.

    Book: ``book/11_semantics.ipynb``.
    """
    from .standin.speech import VARIANTS, Speaker

    n_speakers = check_positive(n_speakers, "n_speakers", integer=True)
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n_speakers:
        # male and female/child variants alternate, so a small set is balanced (13 female/child, 31 male)
        males = rng.permutation(VARIANTS["male"]).tolist()
        others = rng.permutation(VARIANTS["female"] + VARIANTS["child"]).tolist()
        order = [v for pair in zip(males, others) for v in pair] + males[len(others):]
        for v in order:
            if len(out) == n_speakers:
                break
            pitch, rate = int(rng.integers(30, 76)), int(rng.integers(80, 161))
            sid = f"{v}-p{pitch}-r{rate}"
            if sid in seen:
                continue
            seen.add(sid)
            out.append((sid, Speaker(language, str(v), pitch=pitch, rate=rate), float(rng.uniform(-12, 0))))
    return out


def _synthesise(words, speakers, sr, n):
    """Speak every word with every speaker (word-major rows). Called in a fresh process (see synthetic_words).

    Each word is made at espeak-ng's own rate, trimmed, normalised and centred there; all clips are then
    resampled to ``sr`` in one batch (one resampling kernel instead of one per word).
    """
    from .standin.speech import ESPEAK_SR, speak

    n_native = int(round(n * ESPEAK_SR / sr))
    audio = np.zeros((len(words) * len(speakers), n_native), np.float32)
    i = 0
    for w in words:
        for _, spk, gain_db in speakers:
            y = speak(w, spk, sr=ESPEAK_SR)
            nz = np.flatnonzero(np.abs(y) > 1e-3)          # trim espeak-ng's leading/trailing silence
            y = y[nz[0]:nz[-1] + 1].astype(np.float64) if nz.size else y.astype(np.float64)
            n_fade = min(int(0.01 * ESPEAK_SR), y.size // 2)  # 10 ms raised-cosine fades: no click at the cuts
            if n_fade > 0:
                ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n_fade) + 0.5) / n_fade)
                y[:n_fade] *= ramp
                y[-n_fade:] *= ramp[::-1]
            peak = float(np.abs(y).max()) if y.size else 0.0
            if peak > 0:
                y = y / peak * 0.7 * 10 ** (gain_db / 20)
            audio[i] = fit_length(y, n_native)
            i += 1
    if sr != ESPEAK_SR:
        audio = resample(audio, orig_sr=ESPEAK_SR, target_sr=sr).numpy()
    return np.stack([fit_length(a, n) for a in audio]) if audio.shape[1] != n else audio


def _synthesise_main(job: str, out: str) -> None:
    """Entry point of the child process: read the job (JSON), write the audio (npy)."""
    import json

    from .standin.speech import Speaker

    j = json.loads(Path(job).read_text())
    speakers = [(sid, Speaker(lang, var, pitch=p, rate=r), g) for sid, lang, var, p, r, g in j["speakers"]]
    np.save(out, _synthesise(j["words"], speakers, j["sr"], j["n"]))


def _synthesise_fresh(words, speakers, sr, n) -> np.ndarray:
    """Run :func:`_synthesise` in a fresh Python process, so its output depends on its arguments only."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="neuralogram-words-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "audio.npy"
        job.write_text(json.dumps(dict(words=list(words), sr=int(sr), n=int(n), speakers=[
            (sid, s.language, s.variant, int(s.pitch), int(s.rate), float(g)) for sid, s, g in speakers])))
        env = dict(os.environ)
        pkg_parent = str(Path(__file__).resolve().parents[2])  # the folder that holds neuralogram/
        env["PYTHONPATH"] = os.pathsep.join([pkg_parent, *filter(None, [env.get("PYTHONPATH")])])
        code = ("import sys; from neuralogram.data.speech_commands import _synthesise_main; "
                "_synthesise_main(sys.argv[1], sys.argv[2])")
        res = subprocess.run([sys.executable, "-c", code, str(job), str(out)], env=env, capture_output=True,
                             text=True)
        if res.returncode != 0 or not out.is_file():
            tail = (res.stderr or "").strip().splitlines()[-3:]
            raise RuntimeError(f"espeak-ng word synthesis failed (exit {res.returncode}): {' | '.join(tail)}")
        return np.load(out)


def synthetic_words(words=CORE_WORDS, n_speakers: int = 30, seed: int = 0, *, sr: int = SC_RATE,
                    seconds: float = 1.0, cache: bool = True) -> WordSet:
    """The offline stand-in for Speech Commands: every word in ``words`` spoken by ``n_speakers`` espeak-ng voices.

    Each speaker (:func:`synthetic_speakers`: an English voice variant with its own pitch, rate and level) says
    each word once. A word is trimmed of espeak-ng's silence, faded in and out over 10 ms, peak-normalised to 0.7
    times the speaker's gain and centred in ``seconds`` (:func:`fit_length`), like a Speech Commands clip. Rows are word-major: all speakers
    of ``words[0]``, then of ``words[1]``, ...

    The audio is made in a fresh process (espeak-ng carries state from one utterance to the next, so the same
    call in a busy process could give different samples) and cached under ``$NEURALOGRAM_CACHE/words``, keyed by
    the parameters and the source of the speech modules.

    Parameters
    ----------
    words : iterable of str
        Default: the ten command words of Speech Commands (:data:`CORE_WORDS`).
    n_speakers : int
        Number of distinct voices.
    seed : int
        Seeds the voices (variant, pitch, rate, level).
    sr : int
        Sample rate in Hz (16 kHz, the dataset's).
    seconds : float
        Clip length.

    Returns
    -------
    WordSet
        ``source="espeak-ng"``; ``kind`` is each voice's male / female / child label.

    Book: ``book/11_semantics.ipynb``.
    """
    from ..cache import atomic_path, cache_dir, param_hash
    from .standin import speech

    words = [words] if isinstance(words, str) else list(words)
    if not words:
        raise ValueError("words is empty")
    for w in words:
        if not isinstance(w, str) or not w.strip() or len(w.split()) != 1:
            raise ValueError(f"each word must be a single non-empty word, got {w!r}")
    if len(set(words)) != len(words):
        raise ValueError(f"words must be distinct, got {words}")
    sr = check_sr(sr)
    seconds = check_positive(seconds, "seconds")
    speakers = synthetic_speakers(n_speakers, seed)
    n = int(round(seconds * sr))
    code = inspect.getsource(speech) + inspect.getsource(_synthesise) + inspect.getsource(fit_length)
    src = hashlib.sha256(code.encode()).hexdigest()[:12]
    params = dict(words=words, n_speakers=int(n_speakers), seed=int(seed), sr=sr, seconds=float(seconds))
    path = cache_dir("words") / f"espeak-{param_hash({**params, 'source': src})}.npy"
    audio = None
    if cache and path.is_file():
        try:
            audio = np.load(path, allow_pickle=False)
            if audio.shape != (len(words) * len(speakers), n):
                audio = None
        except (OSError, ValueError):
            audio = None
    if audio is None:
        if not speech.available():
            raise ValueError("espeak-ng is not available (install the espeakng-loader wheel), and no cached word "
                             "set exists: point load_words at a Speech Commands folder instead")
        audio = _synthesise_fresh(words, speakers, sr, n)
        if cache:
            with atomic_path(path) as tmp:
                np.save(tmp, audio)
    word = [w for w in words for _ in speakers]
    sid = [s for _ in words for s, _, _ in speakers]
    kind = [spk.kind for _ in words for _, spk, _ in speakers]
    return WordSet(audio, sr, word, sid, kind, "espeak-ng", params)
