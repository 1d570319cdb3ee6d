"""AudioSet download: the official metadata files (hash-checked), then the clips from YouTube (yt-dlp), the
Hugging Face mirror, or a local folder. Holes in the data are counted and reported, never fatal, and nothing
half-written is ever left on disk.

Layout of a download folder ``OUT``::

    OUT/metadata/class_labels_indices.csv, balanced_train_segments.csv, eval_segments.csv, ontology.json
    OUT/audio/balanced_train/<YTID>.flac      OUT/audio/eval/<YTID>.flac
    OUT/download_report.json                  OUT/pack_report.json
    OUT/audioset-balanced-8k-<param hash>.h5  (the packed store, see :mod:`neuralogram.data.store`)

The command line is ``neuralogram data audioset --source {youtube,huggingface,local} --subset balanced
--out OUT`` (:mod:`neuralogram.cli.data`).

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Sequence

import soundfile as sf

from ...cache import atomic_path
from .metadata import Segment, _YTID_RE

__all__ = ["OFFICIAL_FILES", "SUBSETS", "AUDIO_EXTENSIONS", "fetch_metadata", "ClipUnavailable", "find_audio",
           "download_clips", "fetch_youtube_clip", "download_huggingface", "scan_local"]

# ----------------------------------------------------------------------------------------------------------
# Where the official files live (the one place that names them), with the sha256 of the published versions.
# ----------------------------------------------------------------------------------------------------------
_CSV_ROOT = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv"

#: name -> (official URL, sha256 or None). The CSVs have not changed since their release in March 2017.
#: ``ontology.json`` is served from the ``master`` branch of github.com/audioset/ontology, which is not a
#: frozen release, so its hash is recorded in the download report instead of being enforced.
OFFICIAL_FILES: dict[str, tuple[str, str | None]] = {
    "class_labels_indices.csv": (f"{_CSV_ROOT}/class_labels_indices.csv",
                                 "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429"),
    "balanced_train_segments.csv": (f"{_CSV_ROOT}/balanced_train_segments.csv",
                                    "3b83e5ff9ed72cfda37d4e36ce08250e107c1ea70f109f6ab6668ac200db5e94"),
    "eval_segments.csv": (f"{_CSV_ROOT}/eval_segments.csv",
                          "f7055f53935f70e74e39494a5c8c4c78f1700fce275028bd36e31186f33d45db"),
    "unbalanced_train_segments.csv": (f"{_CSV_ROOT}/unbalanced_train_segments.csv", None),
    "ontology.json": ("https://raw.githubusercontent.com/audioset/ontology/master/ontology.json", None),
}

#: subset -> {store split: segment-list file}. The eval segments are always the held-out split.
SUBSETS = {
    "balanced": {"train": "balanced_train_segments.csv", "eval": "eval_segments.csv"},
}
#: segment-list file -> audio sub-folder.
_AUDIO_DIR = {"balanced_train_segments.csv": "balanced_train", "eval_segments.csv": "eval",
              "unbalanced_train_segments.csv": "unbalanced_train"}
#: Hugging Face mirror: repo, config, and its split name for each of our segment lists.
HF_REPO, HF_CONFIG = "agkphysics/AudioSet", "balanced"
_HF_SPLIT = {"balanced_train_segments.csv": "train", "eval_segments.csv": "test"}

AUDIO_EXTENSIONS = (".flac", ".wav", ".ogg", ".opus", ".mp3", ".m4a", ".webm")

def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _urlretrieve(url: str, dest: Path) -> None:
    """Fetch ``url`` into ``dest`` (the one network call for metadata; tests replace it)."""
    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as fh:
        shutil.copyfileobj(r, fh)


def fetch_metadata(directory, *, names: Sequence[str] | None = None, copy_from=None) -> dict[str, str]:
    """Download the official metadata files into ``directory`` (skipping those already there and intact).

    Each file is written to a temporary name, its sha256 checked against :data:`OFFICIAL_FILES` where the
    published hash is known, and only then renamed into place.

    Parameters
    ----------
    directory : str or Path
    names : list of str
        Which files (keys of :data:`OFFICIAL_FILES`); default: the labels, the balanced subset's two
        segment lists and the ontology.
    copy_from : str or Path, optional
        A folder that already holds the files (copied and checked instead of downloaded).

    Returns
    -------
    dict name -> sha256 of the file now on disk.

    Raises
    ------
    ValueError
        A file whose sha256 differs from the published one (nothing is written).

    Book: ``book/04_data.ipynb``.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    names = list(names or ["class_labels_indices.csv", *SUBSETS["balanced"].values(), "ontology.json"])
    hashes = {}
    for name in names:
        if name not in OFFICIAL_FILES:
            raise ValueError(f"unknown AudioSet metadata file {name!r}; known: {sorted(OFFICIAL_FILES)}")
        url, want = OFFICIAL_FILES[name]
        final = d / name
        if final.is_file() and (want is None or _sha256(final) == want):
            hashes[name] = _sha256(final)
            continue
        with atomic_path(final) as tmp:
            if copy_from is not None:
                src = Path(copy_from) / name
                if not src.is_file():
                    raise FileNotFoundError(f"{name} not found in {copy_from}")
                shutil.copyfile(src, tmp)
            else:
                _urlretrieve(url, tmp)
            got = _sha256(tmp)
            if want is not None and got != want:
                raise ValueError(f"{name}: sha256 {got} does not match the published {want} ({url})")
        hashes[name] = got
    return hashes


class ClipUnavailable(Exception):
    """The clip no longer exists at its source (video removed, private, blocked): counted as *missing*.

    Book: ``book/04_data.ipynb``.
    """


def find_audio(directory, ytid: str) -> Path | None:
    """The audio file for ``ytid`` in ``directory``: ``<YTID>.<ext>`` or ``<YTID>_<anything>.<ext>``
    (e.g. ``<YTID>_30000.flac``), for the extensions in :data:`AUDIO_EXTENSIONS`. ``None`` if absent.

    Book: ``book/04_data.ipynb``.
    """
    d = Path(directory)
    for ext in AUDIO_EXTENSIONS:
        p = d / f"{ytid}{ext}"
        if p.is_file():
            return p
    for p in sorted(d.glob(f"{_glob_escape(ytid)}_*")):
        if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file() and not p.name.startswith("."):
            return p
    return None


def _index_folder(directory) -> dict[str, Path]:
    """YTID -> audio file for a whole folder in one listing (same naming rules as :func:`find_audio`)."""
    rank = {ext: i for i, ext in enumerate(AUDIO_EXTENSIONS)}
    found: dict[str, tuple] = {}
    with os.scandir(directory) as it:
        for e in it:
            p = Path(e.path)
            ext = p.suffix.lower()
            if ext not in rank or e.name.startswith(".") or not e.is_file():
                continue
            stem = p.stem
            ytid = stem if _YTID_RE.match(stem) else stem[:11] if len(stem) > 12 and stem[11] == "_" else None
            if ytid is None:
                continue
            key = (stem != ytid, rank[ext], p.name)   # exact name first, then by extension preference
            if ytid not in found or key < found[ytid][0]:
                found[ytid] = (key, p)
    return {y: v[1] for y, v in found.items()}


def _glob_escape(s: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", s)


_GONE_PATTERNS = re.compile(r"video unavailable|private video|has been removed|account .*terminated|"
                            r"not available in your country|copyright|this video is unavailable|"
                            r"sign in to confirm your age|members-only", re.IGNORECASE)


def fetch_youtube_clip(segment: Segment, dest: Path) -> None:
    """Download one segment's audio from YouTube with yt-dlp into ``dest`` (FLAC).

    Runs ``yt-dlp -f bestaudio --download-sections *START-END -x --audio-format flac`` (needs ``yt-dlp`` and
    ``ffmpeg`` on the PATH, or the ``yt_dlp`` Python package) in a private temporary folder and moves the
    result onto ``dest``. Raises :class:`ClipUnavailable` when YouTube says the video is gone, and
    ``RuntimeError`` for other failures.

    Book: ``book/04_data.ipynb``.
    """
    exe = shutil.which("yt-dlp")
    cmd = [exe] if exe else [sys.executable, "-m", "yt_dlp"]
    with tempfile.TemporaryDirectory(prefix=".ytdlp-", dir=Path(dest).parent) as tmpdir:
        args = cmd + ["--quiet", "--no-warnings", "--no-playlist", "--no-progress", "-f", "bestaudio/best",
                      "--download-sections", f"*{segment.start:.3f}-{segment.end:.3f}",
                      "-x", "--audio-format", "flac", "-o", os.path.join(tmpdir, "clip.%(ext)s"),
                      f"https://www.youtube.com/watch?v={segment.ytid}"]
        try:
            res = subprocess.run(args, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise RuntimeError("yt-dlp is not installed: pip install yt-dlp (and install ffmpeg)") from None
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip().splitlines()
            msg = msg[-1] if msg else f"yt-dlp exited with {res.returncode}"
            if _GONE_PATTERNS.search(res.stderr or ""):
                raise ClipUnavailable(msg)
            if "No module named yt_dlp" in msg:
                raise RuntimeError("yt-dlp is not installed: pip install yt-dlp (and install ffmpeg)")
            raise RuntimeError(msg)
        out = Path(tmpdir) / "clip.flac"
        if not out.is_file():
            raise RuntimeError("yt-dlp finished but wrote no FLAC file (is ffmpeg installed?)")
        shutil.move(str(out), dest)


def _check_decodable(path: Path) -> None:
    info = sf.info(str(path))
    if info.frames <= 0:
        raise RuntimeError(f"downloaded file holds no audio ({info.format})")


def _write_report(path: Path, report: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")


def download_clips(segments: Sequence[Segment], out_dir, *, fetch: Callable[[Segment, Path], None] | None = None,
                   workers: int = 4, limit: int | None = None, report_path=None, progress: bool = True) -> dict:
    """Download the audio of ``segments`` into ``out_dir/<YTID>.flac``: resumable, parallel, atomic.

    A clip whose file already exists is skipped (so an interrupted run resumes where it stopped). Each
    download goes to a temporary name in ``out_dir`` and is renamed into place only after the whole file
    was written and decodes (``soundfile.info``); a failure at any point leaves nothing behind. Clips that are
    gone (:class:`ClipUnavailable`) are counted as *missing*, other errors as *failed*; neither stops the run.

    Parameters
    ----------
    segments : sequence of Segment
    out_dir : str or Path
    fetch : callable(segment, dest_path) -> None
        Writes one clip's audio to ``dest_path``; default :func:`fetch_youtube_clip`.
    workers : int
        Threads downloading at once.
    limit : int, optional
        Only the first ``limit`` segments.
    report_path : str or Path, optional
        Where to write the JSON report (default ``out_dir/../download_report_<folder>.json``).

    Returns
    -------
    dict
        ``requested``, ``already_present``, ``downloaded``, ``missing`` (list of YTIDs), ``failed``
        (list of ``{"ytid", "error"}``).

    Book: ``book/04_data.ipynb``.
    """
    from tqdm.auto import tqdm

    fetch = fetch or fetch_youtube_clip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    segs = list(segments)[: limit if limit is not None else None]
    seen, todo, present = set(), [], 0
    for s in segs:
        if s.ytid in seen:
            continue
        seen.add(s.ytid)
        if (out / f"{s.ytid}.flac").is_file():
            present += 1
        else:
            todo.append(s)
    lock = threading.Lock()
    report = {"requested": len(seen), "already_present": present, "downloaded": 0, "missing": [], "failed": []}

    def one(seg: Segment):
        final = out / f"{seg.ytid}.flac"
        try:
            with atomic_path(final) as tmp:
                fetch(seg, tmp)
                _check_decodable(tmp)
        except ClipUnavailable as err:
            with lock:
                report["missing"].append(seg.ytid)
            return f"missing: {err}"
        except Exception as err:  # noqa: BLE001 - one clip's failure never stops the run
            with lock:
                report["failed"].append({"ytid": seg.ytid, "error": f"{type(err).__name__}: {err}"})
            return "failed"
        with lock:
            report["downloaded"] += 1
        return "ok"

    if todo:
        with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
            for _ in tqdm(pool.map(one, todo), total=len(todo), desc=f"download {out.name}",
                          disable=not progress):
                pass
    report["missing"].sort()
    report["failed"].sort(key=lambda r: r["ytid"])
    report["available"] = report["already_present"] + report["downloaded"]
    if report_path is not None:
        _write_report(Path(report_path), report)
    return report


def _load_hf_stream(split: str):
    """Stream the Hugging Face mirror (lazy import of ``datasets``); rows carry the undecoded FLAC bytes."""
    try:
        import datasets
    except ImportError:
        raise RuntimeError("the Hugging Face source needs the 'datasets' package: pip install datasets") from None
    try:  # recent versions of the mirror are parquet shards that need no loading script
        ds = datasets.load_dataset(HF_REPO, HF_CONFIG, split=split, streaming=True)
    except Exception as first:  # noqa: BLE001 - older `datasets` + the mirror's loading script (tar shards)
        try:
            ds = datasets.load_dataset(HF_REPO, HF_CONFIG, split=split, streaming=True, trust_remote_code=True)
        except Exception:  # noqa: BLE001
            raise RuntimeError(f"cannot stream {HF_REPO} ({HF_CONFIG}, {split}): {first}") from first
    return ds.cast_column("audio", datasets.Audio(decode=False))  # keep the FLAC bytes; soundfile decodes


def download_huggingface(segment_file: str, out_dir, *, wanted: Iterable[str] | None = None, workers: int = 4,
                         limit: int | None = None, progress: bool = True) -> dict:
    """Stream one split of the Hugging Face mirror ``agkphysics/AudioSet`` (config ``balanced``) into
    ``out_dir/<YTID>.flac``.

    The mirror was downloaded in March 2023 and holds about 18.7k of the 22,160 balanced-train clips (split
    ``train``) and 17.1k of the 20,371 eval clips (split ``test``), as FLAC, mostly at 48 kHz. Files are
    written as-is (decoded later by :func:`pack` with soundfile); existing files are skipped; each write is
    atomic and checked with ``soundfile.info``.

    Parameters
    ----------
    segment_file : str
        ``"balanced_train_segments.csv"`` or ``"eval_segments.csv"``.
    wanted : iterable of str, optional
        YTIDs to keep (others are passed over); those never seen in the stream are reported *missing*.

    Returns
    -------
    dict
        Same keys as :func:`download_clips`.

    Book: ``book/04_data.ipynb``.
    """
    from tqdm.auto import tqdm

    if segment_file not in _HF_SPLIT:
        raise ValueError(f"the Hugging Face mirror has no split for {segment_file!r}; "
                         f"choose one of {sorted(_HF_SPLIT)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = list(dict.fromkeys(wanted)) if wanted is not None else None
    if wanted is not None and limit is not None:
        wanted = wanted[:limit]
    wanted_set = set(wanted) if wanted is not None else None
    report = {"requested": len(wanted) if wanted is not None else 0, "already_present": 0, "downloaded": 0,
              "missing": [], "failed": []}
    got: set[str] = set()
    lock = threading.Lock()

    def write(ytid: str, data: bytes):
        try:
            with atomic_path(out / f"{ytid}.flac") as tmp:
                tmp.write_bytes(data)
                _check_decodable(tmp)
        except Exception as err:  # noqa: BLE001
            with lock:
                report["failed"].append({"ytid": ytid, "error": f"{type(err).__name__}: {err}"})
            return
        with lock:
            report["downloaded"] += 1

    n_taken = 0
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        futures = []
        for row in tqdm(_load_hf_stream(_HF_SPLIT[segment_file]), desc=f"huggingface {out.name}",
                        disable=not progress):
            ytid = str(row.get("video_id", ""))
            if wanted_set is not None and ytid not in wanted_set or ytid in got:
                continue
            if limit is not None and wanted is None and n_taken >= limit:
                break
            got.add(ytid)
            n_taken += 1
            if (out / f"{ytid}.flac").is_file():
                report["already_present"] += 1
            else:
                audio = row.get("audio") or {}
                data = audio.get("bytes")
                if data is None and audio.get("path") and Path(audio["path"]).is_file():
                    data = Path(audio["path"]).read_bytes()
                if not data:
                    report["failed"].append({"ytid": ytid, "error": "row holds no audio bytes"})
                else:
                    futures.append(pool.submit(write, ytid, data))
                    if len(futures) >= 8 * max(1, int(workers)):  # bound the bytes waiting to be written
                        futures.pop(0).result()
            if wanted_set is not None and len(got) == len(wanted_set):
                break
        for f in futures:
            f.result()
    if wanted is None:
        report["requested"] = len(got)
    else:
        report["missing"] = sorted(wanted_set - got)
    report["failed"].sort(key=lambda r: r["ytid"])
    report["available"] = report["already_present"] + report["downloaded"]
    return report


def scan_local(segments: Sequence[Segment], local_dir) -> dict:
    """Report which segments have an audio file in an existing local folder (files named by YTID).

    Book: ``book/04_data.ipynb``.
    """
    d = Path(local_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"--local-dir {d} is not a folder")
    ytids = list(dict.fromkeys(s.ytid for s in segments))
    index = _index_folder(d)
    found = [y for y in ytids if y in index]
    missing = sorted(set(ytids) - set(found))
    return {"requested": len(ytids), "already_present": len(found), "downloaded": 0, "missing": missing,
            "failed": [], "available": len(found)}
