"""Real recordings: ESC-50 and the Free Spoken Digit Dataset (FSDD), hash-checked, split, mapped to AudioSet.

Two small public sets of real, labelled sound that nobody on this project made:

* **ESC-50** (Piczak 2015; CC BY-NC 3.0, the ESC-10 part CC BY): 5 s clips at 44.1 kHz of 50 environmental
  classes. The full set has 2000 clips; the copy beside the project (``../shared/real/esc50-subset``) holds 414
  of them, 8-12 per class, as lossless FLAC.
* **FSDD** (Jakobovski et al.; CC BY-SA 4.0): 3000 spoken digits 0-9, 6 male speakers x 50 takes, 8 kHz WAV.

Where the data are looked for (``root=``, ``$NEURALOGRAM_DATA``, ``../shared/real``, the cache) is said in
:mod:`.real_sources`; when none holds the set, :class:`RealDataMissing` says where it looked and gives the
exact call that fetches it.

**Hashes.** Every clip's *audio content* is checked against the committed manifest (:mod:`.real_manifest`, which
says why content and why per file): the first 16 hex digits of the SHA-256 of its decoded 16-bit samples
(:func:`pcm_sha256`). The check is lazy: :meth:`RealClip.load` hashes the samples it has just read (no second pass
over the disk) and refuses a clip whose samples differ, naming the file; :func:`verify` checks a whole list
eagerly. The manifest holds the 3414 clips present here; the other 1586 clips of the full ESC-50 are read
unchecked (:func:`verify` counts them).

**Downloads.** ``download=True`` fetches the public GitHub repositories at pinned commits with ``pooch`` into
the cache. GitHub builds its archives on request and their bytes have changed over time (two different
checksums of the same ESC-50 commit's archive circulate in public code), so an archive checksum would break
downloads without protecting anything the per-clip content hashes do not; the archive's own SHA-256 can still be
pinned (:func:`fetch`'s ``known_hash``), and every extracted clip that the manifest knows is verified before the set is used.

**Splits** (``split="train"`` / ``"test"``). ESC-50's five folds cannot be used here (400 of the 414 clips are in
fold 4), so clips are split by their source recording (``src_file``: the takes A, B, ... cut from one Freesound
recording stay on one side): within each class the sources are ranked by a hash of their id and the first
``round(0.3 n)`` (at least 1, at most ``n - 1``) are held out; a class with a single source (the subset's
washing machine) keeps it for training. FSDD is split by speaker: ``FSDD_TEST_SPEAKERS`` are held out.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..cache import atomic_path, cache_dir
from .real_manifest import HASH_CHARS as _HASH_CHARS
from .real_manifest import pcm_sha256, read_manifest, write_manifest
from .real_manifest import read_pcm as _read_pcm
from .real_meta import (AUDIOSET_ANCESTORS, ESC50_AUDIOSET, ESC50_CLASSES, FSDD_SPEAKERS,  # noqa: F401
                        FSDD_TEST_SPEAKERS, FSDD_WORDS, MALE_SPEECH, SPEECH, SPEECH_CLASSES, TEST_FRACTION,
                        _GENDER_SPEECH, _check_split, audioset_ancestors, esc50_audioset, esc50_split)
from .real_sources import (_ARCHIVES, _SR, _TITLE, ESC50_COMMIT, ESC50_URL, FSDD_COMMIT,  # noqa: F401
                           FSDD_URL, RealDataMissing, _esc50_csv, _find, _how_to_get, data_roots)

__all__ = ["ESC50_AUDIOSET", "ESC50_CLASSES", "ESC50_COMMIT", "ESC50_URL", "FSDD_COMMIT", "FSDD_URL",
           "FSDD_SPEAKERS", "FSDD_TEST_SPEAKERS", "SPEECH", "MALE_SPEECH", "SPEECH_CLASSES", "TEST_FRACTION",
           "AUDIOSET_ANCESTORS", "RealClip", "ClipList", "RealDataMissing", "esc50", "fsdd", "esc50_split",
           "esc50_audioset", "audioset_ancestors",
           "fetch", "verify", "pcm_sha256", "data_roots", "FSDD_WORDS", "fsdd_words"]

# ------------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class RealClip:
    """One real recording and its metadata (the audio is read by :meth:`load`).

    Attributes
    ----------
    dataset : {"esc50", "fsdd"}
    name : str
        File name without extension (``4-182395-A-0``, ``7_theo_12``): the manifest key.
    path : Path
    label : str
        ESC-50 category (``"dog"``) or the spoken digit (``"7"``).
    target : int
        Class index: ESC-50 target 0-49, or the digit 0-9.
    group : str
        What the split keeps together: ESC-50's ``src_file`` or FSDD's speaker.
    split : {"train", "test"}
    sr : int
        Sample rate of the file in Hz (44100 or 8000).
    audioset : tuple of (mid, display name)
        The clip's AudioSet labels (ESC-50: the mapped class; FSDD: Speech and the speaker's gendered speech).
    meta : dict
        ESC-50: ``fold``, ``take``, ``esc10``; FSDD: ``take``, ``gender``, ``accent``.

    Book: ``book/14_real_world.ipynb``.
    """

    dataset: str
    name: str
    path: Path
    label: str
    target: int
    group: str
    split: str
    sr: int
    audioset: tuple
    meta: Mapping = field(default_factory=dict, compare=False)

    def load(self, *, verify: bool = True) -> np.ndarray:
        """The clip as float32 mono in [-1, 1) at ``self.sr``, its content checked against the manifest.

        Parameters
        ----------
        verify : bool
            Compare the SHA-256 of the decoded samples with the committed manifest (default). Clips the manifest
            does not know (the full ESC-50 beyond the 414 here) are read unchecked.

        Returns
        -------
        np.ndarray [shape=(n,)], float32

        Raises
        ------
        ValueError
            The file cannot be decoded, has another sample rate, or its samples differ from the manifest's.

        Book: ``book/14_real_world.ipynb``.
        """
        pcm, sr = _read_pcm(self.path)
        if sr != self.sr:
            raise ValueError(f"{self.path}: sample rate {sr} Hz, expected {self.sr} Hz for {_TITLE[self.dataset]}")
        if verify:
            _check_hash(self.dataset, self.name, self.path, pcm, sr)
        y = pcm.astype(np.float32) / 32768.0
        return y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]


class ClipList(list):
    """A list of :class:`RealClip` that also says where the data were read from (``root``, ``origin``).

    Book: ``book/14_real_world.ipynb``.
    """

    def __init__(self, clips=(), *, root: Path | None = None, origin: str = ""):
        super().__init__(clips)
        self.root = root
        self.origin = origin

    def split(self, split: str) -> "ClipList":
        """The clips of one split (``"train"`` or ``"test"``)."""
        _check_split(split)
        return ClipList([c for c in self if c.split == split], root=self.root, origin=self.origin)

    def __repr__(self) -> str:
        counts = {s: sum(c.split == s for c in self) for s in ("train", "test")}
        return f"ClipList({len(self)} clips, {counts}, from {self.origin}: {self.root})"


# ------------------------------------------------------------------------------------------------- hashes
_MANIFEST: dict | None = None


def _manifest() -> dict:
    """The committed manifest, ``{dataset: {name: hash}}``, read once (:func:`.real_manifest.read_manifest`)."""
    global _MANIFEST
    if _MANIFEST is None:
        _MANIFEST = read_manifest()
    return _MANIFEST


def _check_hash(dataset: str, name: str, path: Path, pcm: np.ndarray, sr: int) -> bool:
    want = _manifest().get(dataset, {}).get(name)   # a data set or clip without a committed hash: unchecked
    if want is None:
        return False
    got = pcm_sha256(pcm, sr)[:_HASH_CHARS]
    if got != want:
        raise ValueError(f"{path}: its audio does not match the committed manifest (sha256 {got}..., expected "
                         f"{want}...): the file is corrupt or another version. Delete it and get the data again "
                         f"({_how_to_get(dataset)}).")
    return True


def verify(clips: Sequence[RealClip], *, progress: bool = False) -> dict:
    """Read every clip and check its content hash; refuse the list at the first clip that differs.

    Parameters
    ----------
    clips : sequence of RealClip
    progress : bool
        Show a ``tqdm`` bar.

    Returns
    -------
    dict
        ``checked`` (clips whose hash matched), ``unknown`` (clips the manifest does not list, read unchecked),
        ``missing`` (manifest entries of these data sets that are not in ``clips``; 0 for a complete copy).

    Raises
    ------
    ValueError
        A clip is unreadable or its samples differ from the manifest (the message names the file).

    Book: ``book/14_real_world.ipynb``.
    """
    from tqdm.auto import tqdm

    checked = unknown = 0
    for c in tqdm(clips, desc="verify", disable=not progress, leave=False):
        pcm, sr = _read_pcm(c.path)
        if _check_hash(c.dataset, c.name, c.path, pcm, sr):
            checked += 1
        else:
            unknown += 1
    names = {(c.dataset, c.name) for c in clips}
    datasets = {c.dataset for c in clips}
    missing = sum((ds, n) not in names for ds in datasets for n in _manifest()[ds])
    return {"checked": checked, "unknown": unknown, "missing": missing}


def _write_manifest(esc50_root, fsdd_root, path) -> Path:
    """Regenerate ``real_manifest.csv`` from complete local copies (a maintainer's tool, not used at run time);
    prints the digest to record as ``real_manifest.MANIFEST_SHA256``."""
    print("MANIFEST_SHA256 =", write_manifest(list(esc50(root=esc50_root)) + list(fsdd(root=fsdd_root)), path))
    return Path(path)


# ------------------------------------------------------------------------------------------------- loaders
def _locate(dataset: str, root, download: bool) -> tuple[Path, str]:
    """The folder that holds ``dataset`` and where it was found: fetched into the cache first when ``download``."""
    if download:
        return _find(dataset, fetch(dataset))[0], "cache (download)"
    return _find(dataset, root)


def _audio_file(audio_dir: Path, filename: str) -> Path | None:
    stem = Path(filename).stem
    for ext in (".wav", ".flac"):
        p = audio_dir / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


def esc50(split: str | None = None, *, root=None, download: bool = False) -> ClipList:
    """The ESC-50 clips (the 414-clip subset here, or the full 2000 when downloaded) with their metadata.

    Parameters
    ----------
    split : {None, "train", "test"}
        ``None``: all clips; otherwise the source-recording split (:func:`esc50_split`).
    root : str or Path, optional
        Read only this folder (it, its ``esc50-subset/`` or an ``ESC-50*/`` inside it).
    download : bool
        Fetch the public source into the cache first when it is not there (:func:`fetch`), and read that copy.

    Returns
    -------
    ClipList of RealClip
        Sorted by file name; ``label`` is the ESC-50 category, ``group`` the ``src_file``, ``audioset`` the mapped
        label (:data:`ESC50_AUDIOSET`).

    Raises
    ------
    RealDataMissing
        No copy found (the message says where it looked and the call that downloads it).
    ValueError
        ``esc50.csv`` is malformed, names a class that is not ESC-50's, or lists clips whose audio is missing.

    Book: ``book/14_real_world.ipynb``.
    """
    _check_split(split)
    d, origin = _locate("esc50", root, download)
    meta = _esc50_csv(d)
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"filename", "fold", "target", "category", "esc10", "src_file", "take"}
    if not rows or not need <= set(rows[0]):
        raise ValueError(f"{meta}: expected the columns {sorted(need)}, got {sorted(rows[0]) if rows else 'no rows'}")
    clips, missing = [], []
    for i, r in enumerate(rows, start=2):
        try:
            t = int(r["target"])
            if ESC50_AUDIOSET[t][1] != r["category"]:
                raise ValueError
        except (ValueError, IndexError):
            raise ValueError(f"{meta}, line {i}: target {r['target']!r} / category {r['category']!r} is not one of "
                             "ESC-50's 50 classes") from None
        p = _audio_file(d / "audio", r["filename"])
        if p is None:
            missing.append(r["filename"])
            continue
        clips.append((r, t, p))
    if missing:
        raise ValueError(f"{d}: {len(missing)} clips listed in {meta.name} have no audio file in audio/ (e.g. "
                         f"{missing[:3]}); the copy is incomplete — get it again ({_how_to_get('esc50')})")
    assign = esc50_split([r["src_file"] for r, _, _ in clips], [t for _, t, _ in clips])
    out = []
    for r, t, p in clips:
        _, _, as_name, mid, _ = ESC50_AUDIOSET[t]
        out.append(RealClip("esc50", p.stem, p, r["category"], t, r["src_file"], assign[r["src_file"]],
                            _SR["esc50"], ((mid, as_name),),
                            {"fold": int(r["fold"]), "take": r["take"], "esc10": r["esc10"] == "True"}))
    out.sort(key=lambda c: c.name)
    clips = ClipList(out, root=d, origin=origin)
    return clips if split is None else clips.split(split)


def fsdd(split: str | None = None, *, root=None, download: bool = False) -> ClipList:
    """The Free Spoken Digit Dataset's recordings with their metadata.

    Parameters
    ----------
    split : {None, "train", "test"}
        ``None``: all; ``"test"``: the held-out speakers :data:`FSDD_TEST_SPEAKERS`; ``"train"``: the others.
    root : str or Path, optional
        Read only this folder (it, its ``fsdd/`` or a ``free-spoken-digit-dataset*/`` inside it).
    download : bool
        Fetch the public source into the cache first when it is not there (:func:`fetch`), and read that copy.

    Returns
    -------
    ClipList of RealClip
        ``label`` the digit as a string, ``target`` the digit, ``group`` the speaker, ``audioset`` Speech and the
        speaker's gendered speech class, ``meta`` take, gender, accent.

    Raises
    ------
    RealDataMissing
        No copy found.
    ValueError
        A recording whose name is not ``{digit}_{speaker}_{take}.wav`` or whose speaker is not FSDD's, or a
        ``speakers.csv`` that disagrees with :data:`FSDD_SPEAKERS`.

    Book: ``book/14_real_world.ipynb``.
    """
    _check_split(split)
    d, origin = _locate("fsdd", root, download)
    speakers_csv = d / "speakers.csv"
    if speakers_csv.is_file():
        with open(speakers_csv, newline="") as f:
            for r in csv.DictReader(f):
                known = FSDD_SPEAKERS.get(r.get("speaker"))
                if known is None or known != (r.get("gender"), r.get("accent")):
                    raise ValueError(f"{speakers_csv}: row {r} disagrees with FSDD's speakers {FSDD_SPEAKERS}")
    out = []
    for p in sorted((d / "recordings").iterdir()):
        if p.suffix.lower() not in (".wav", ".flac") or p.name.startswith("."):
            continue
        parts = p.stem.split("_")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) != 1 or not parts[2].isdigit():
            raise ValueError(f"{p}: not an FSDD recording name ({{digit}}_{{speaker}}_{{take}}.wav)")
        digit, speaker, take = parts
        if speaker not in FSDD_SPEAKERS:
            raise ValueError(f"{p}: unknown speaker {speaker!r} (FSDD @ {FSDD_COMMIT[:7]} has "
                             f"{sorted(FSDD_SPEAKERS)})")
        gender, accent = FSDD_SPEAKERS[speaker]
        out.append(RealClip("fsdd", p.stem, p, digit, int(digit), speaker,
                            "test" if speaker in FSDD_TEST_SPEAKERS else "train", _SR["fsdd"],
                            (SPEECH, _GENDER_SPEECH[gender]), {"take": int(take), "gender": gender, "accent": accent}))
    if not out:
        raise RealDataMissing(f"{d / 'recordings'} holds no recordings. To get them: {_how_to_get('fsdd')}.")
    clips = ClipList(out, root=d, origin=origin)
    return clips if split is None else clips.split(split)


# ------------------------------------------------------------------------------------------------- download
def fetch(dataset: str, *, dest=None, url: str | None = None, known_hash: str | None = None,
             progress: bool = True) -> Path:
    """Fetch a public source with ``pooch`` (pinned commit), unpack it and verify every clip the manifest knows.

    Does nothing when a verified copy is already in ``dest``. The archive is deleted once its clips are verified.

    Parameters
    ----------
    dataset : {"esc50", "fsdd"}
    dest : str or Path, optional
        Where to put it; default ``$NEURALOGRAM_CACHE/real``.
    url : str, optional
        Another location of the same archive (a mirror); default the pinned GitHub archive (:data:`ESC50_URL`,
        :data:`FSDD_URL`).
    known_hash : str, optional
        ``"sha256:<hex>"`` of the archive, checked by pooch before unpacking (default: not pinned, see the module
        docstring; the clips' content hashes are checked either way).
    progress : bool
        Show pooch's progress bar.

    Returns
    -------
    Path
        The folder that now holds the data set (pass it as ``root=`` to :func:`esc50` / :func:`fsdd`).

    Raises
    ------
    ValueError
        Unknown data set, an archive whose hash differs from ``known_hash``, or an unpacked clip that is corrupt
        (the unpacked copy is then removed).

    Book: ``book/14_real_world.ipynb``.
    """
    import pooch

    if dataset not in _ARCHIVES:
        raise ValueError(f"dataset must be one of {sorted(_ARCHIVES)}, got {dataset!r}")
    a = _ARCHIVES[dataset]
    dest = Path(dest).expanduser() if dest is not None else cache_dir("real")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{dataset}-{a['commit'][:7]}"
    marker = target / ".verified"
    if marker.is_file():
        return dest
    fname = f"{dataset}-{a['commit'][:7]}.zip"
    try:
        archive = pooch.retrieve(url or a["url"], known_hash=known_hash or a["known_hash"], fname=fname,
                                 path=dest, progressbar=progress)
    except ValueError as err:   # pooch: hash mismatch (it has already deleted the file)
        raise ValueError(f"download of {_TITLE[dataset]} refused: {err}") from None
    if target.exists():
        shutil.rmtree(target)
    tmp = dest / f".{target.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    import zipfile

    try:
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    except zipfile.BadZipFile as err:
        Path(archive).unlink(missing_ok=True)
        raise ValueError(f"{archive}: not a zip archive ({err}); removed it, try again") from None
    try:
        clips = (esc50 if dataset == "esc50" else fsdd)(root=tmp)
        report = verify(clips, progress=progress)
    except (ValueError, RealDataMissing) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        Path(archive).unlink(missing_ok=True)
        raise ValueError(f"the downloaded {_TITLE[dataset]} was refused and removed: {err}") from None
    os.replace(tmp, target)
    with atomic_path(marker) as m:
        Path(m).write_text(f"{a['url']}\n{report}\n")
    Path(archive).unlink(missing_ok=True)
    return dest


# ------------------------------------------------------------------------------------------------- words

def fsdd_words(*, takes=range(0, 50, 5), speakers=None, seconds: float = 1.0, split: str | None = None,
               root=None, download: bool = False):
    """FSDD's spoken digits as a word set for the semantics probe: real words by real speakers.

    Every selected take of every digit by every selected speaker, each clip centred in ``seconds`` (padded with
    zeros, or cropped around its centre when longer: :func:`neuralogram.data.speech_commands.fit_length`), at
    FSDD's 8 kHz. The design is balanced (the same takes of all ten digits for every speaker), so chance levels
    are exact.

    Parameters
    ----------
    takes : iterable of int
        Take numbers 0-49 to use for each (digit, speaker); default every fifth take (10 per digit and speaker).
    speakers : iterable of str, optional
        Default: all six (or the speakers of ``split``).
    seconds : float
        Clip length in seconds (1.0, like Speech Commands).
    split : {None, "train", "test"}
        Restrict to the training or held-out speakers of :func:`fsdd`.
    root, download
        As for :func:`fsdd`.

    Returns
    -------
    neuralogram.data.speech_commands.WordSet
        ``word`` the digit's name (``"seven"``), ``speaker`` the speaker's name, ``kind`` ``""`` (all six
        speakers are male: there is no second kind to tell apart), ``source="fsdd"``.

    Raises
    ------
    RealDataMissing
        FSDD is not on this machine (the message says how to get it).
    ValueError
        Unknown speakers, takes outside 0-49, or a (digit, speaker, take) missing from the copy found.

    Book: ``book/11_semantics.ipynb``.
    """
    from ..audio import check_positive
    from .speech_commands import WordSet, fit_length

    takes = sorted({int(t) for t in takes})
    if not takes or takes[0] < 0 or takes[-1] > 49:
        raise ValueError(f"takes must be numbers 0-49, got {takes}")
    seconds = check_positive(seconds, "seconds")
    clips = fsdd(split, root=root, download=download)
    known = sorted({c.group for c in clips})
    speakers = known if speakers is None else list(dict.fromkeys(speakers))
    unknown = sorted(set(speakers) - set(known))
    if unknown:
        raise ValueError(f"unknown FSDD speaker(s) {unknown} for split={split!r}; choose from {known}")
    index = {(c.target, c.group, int(c.meta.get("take", -1))): c for c in clips}
    sr = clips[0].sr
    n = int(round(seconds * sr))
    audio, word, speaker = [], [], []
    for d in range(10):
        for s in speakers:
            for t in takes:
                c = index.get((d, s, t))
                if c is None:
                    raise ValueError(f"FSDD recording {d}_{s}_{t} is missing from {clips.root}")
                audio.append(fit_length(c.load(), n))
                word.append(FSDD_WORDS[d])
                speaker.append(s)
    return WordSet(np.stack(audio), sr, word, speaker, [""] * len(word), source="fsdd",
                   params=dict(takes=takes, speakers=speakers, seconds=float(seconds), split=split))
