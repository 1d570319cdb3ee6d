"""AudioSet: the official metadata parsers, the clip download (yt-dlp, Hugging Face mirror, local folder),
and packing into the 8 kHz store that training reads.

The paper trains on AudioSet's *balanced* subset: 22,160 ten-second YouTube segments chosen so that each of
the 527 labels has at least about 59 examples, evaluated on the 20,371-segment eval set. Google publishes
only metadata (which video, which ten seconds, which labels); the audio must be fetched from YouTube or from a
mirror, and many videos have disappeared since 2017. Everything here is built so that holes in the data are
counted and reported, never fatal, and nothing half-written is ever left on disk.

Layout of a download folder ``OUT``::

    OUT/metadata/class_labels_indices.csv, balanced_train_segments.csv, eval_segments.csv, ontology.json
    OUT/audio/balanced_train/<YTID>.flac      OUT/audio/eval/<YTID>.flac
    OUT/download_report.json                  OUT/pack_report.json
    OUT/audioset-balanced-8k-<param hash>.h5  (the packed store, see :mod:`neuralogram.store`)

The command line is ``neuralogram data audioset --source {youtube,huggingface,local} --subset balanced
--out OUT``.

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import soundfile as sf

from .cache import atomic_path, param_hash

__all__ = [
    "OFFICIAL_FILES", "Label", "Segment", "OntologyEntry", "Ontology", "ParseReport", "ParsedList",
    "read_labels", "read_segments", "read_ontology", "labels_to_multihot", "write_fixture_metadata",
    "fetch_metadata", "ClipUnavailable", "download_clips", "fetch_youtube_clip", "download_huggingface",
    "scan_local", "load_clip", "pack", "find_audio", "register_cli", "SUBSETS",
]

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
_MID_RE = re.compile(r"^/[a-z]/[0-9A-Za-z_]+$")
_YTID_RE = re.compile(r"^[0-9A-Za-z_-]{11}$")


# ----------------------------------------------------------------------------------------------------------
# Metadata parsers
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    """One row of ``class_labels_indices.csv``: the output index, the machine id and the display name.

    Book: ``book/04_data.ipynb``.
    """

    index: int
    mid: str
    name: str


@dataclass(frozen=True)
class Segment:
    """One row of a segment list: a YouTube id, the segment's start and end (seconds) and its label mids.

    Book: ``book/04_data.ipynb``.
    """

    ytid: str
    start: float
    end: float
    mids: tuple[str, ...]

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def clip_id(self) -> str:
        """``<YTID>_<start in ms>``, unique within AudioSet (a video can hold several segments)."""
        return f"{self.ytid}_{int(round(self.start * 1000))}"


@dataclass
class ParseReport:
    """What a parser did with a file: rows kept, lines skipped (with the reason) and unknown mids.

    ``declared`` holds the counts a segment list announces in its ``#`` header
    (``num_ytids``, ``num_segs``, ``num_unique_labels``, ``num_positive_labels``).

    Book: ``book/04_data.ipynb``.
    """

    path: str
    n_rows: int = 0
    skipped: list = field(default_factory=list)          # [(line number, reason), ...]
    unknown_mids: Counter = field(default_factory=Counter)
    declared: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.unknown_mids

    def summary(self) -> str:
        s = f"{Path(self.path).name}: {self.n_rows} rows kept, {len(self.skipped)} lines skipped"
        if self.unknown_mids:
            s += f", {sum(self.unknown_mids.values())} unknown label(s) ({len(self.unknown_mids)} distinct mids)"
        return s


class ParsedList(list):
    """A list of parsed records with the :class:`ParseReport` of the file they came from in ``.report``.

    Book: ``book/04_data.ipynb``.
    """

    def __init__(self, items=(), report: ParseReport | None = None):
        super().__init__(items)
        self.report = report


def _check_errors(errors: str) -> str:
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    return errors


def _open_text(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"AudioSet metadata file not found: {path}")
    return path, path.open(newline="", encoding="utf-8")


def read_labels(path, *, errors: str = "raise") -> ParsedList:
    """Parse ``class_labels_indices.csv``: a header ``index,mid,display_name`` then one row per label.

    Display names are double-quoted in the published file (``"Male speech, man speaking"``); the CSV reader
    handles quoted commas. Indices must run 0, 1, 2, ... (they are the model's output units), mids must look
    like ``/m/09x0r`` and be unique.

    Parameters
    ----------
    path : str or Path
    errors : {"raise", "skip"}
        ``"raise"``: a malformed row raises ``ValueError`` naming the file and line. ``"skip"``: the row is
        left out and recorded in ``result.report.skipped``. (Skipping a row renumbers nothing: a gap in the
        indices is itself reported.)

    Returns
    -------
    ParsedList of Label, with ``.report`` (:class:`ParseReport`).

    Book: ``book/04_data.ipynb``.
    """
    _check_errors(errors)
    path, fh = _open_text(path)
    report = ParseReport(str(path))
    out: list[Label] = []
    seen: set[str] = set()
    with fh:
        rows = csv.reader(fh)
        try:
            header = next(rows)
        except StopIteration:
            raise ValueError(f"{path}: empty file, expected the header 'index,mid,display_name'") from None
        if [h.strip() for h in header] != ["index", "mid", "display_name"]:
            raise ValueError(f"{path}:1: expected the header 'index,mid,display_name', got {','.join(header)!r}")
        for row in rows:
            line = rows.line_num
            if not row or all(not c.strip() for c in row):
                continue
            problem = None
            if len(row) != 3:
                problem = f"expected 3 fields (index,mid,display_name), got {len(row)}: {row}"
            else:
                idx, mid, name = (c.strip() for c in row)
                if not re.fullmatch(r"\d+", idx):
                    problem = f"index {idx!r} is not a non-negative integer"
                elif not _MID_RE.match(mid):
                    problem = f"mid {mid!r} does not look like an AudioSet machine id (/m/...)"
                elif not name:
                    problem = "empty display_name"
                elif mid in seen:
                    problem = f"duplicate mid {mid}"
                elif int(idx) != len(out):
                    problem = f"index {idx} out of sequence (expected {len(out)})"
            if problem:
                if errors == "raise":
                    raise ValueError(f"{path}:{line}: {problem}")
                report.skipped.append((line, problem))
                continue
            out.append(Label(int(idx), mid, name))
            seen.add(mid)
    report.n_rows = len(out)
    if not out:
        raise ValueError(f"{path}: no labels found")
    return ParsedList(out, report)


def _label_index(labels) -> dict[str, int]:
    """mid -> output index from a list of :class:`Label`, a ``{mid: index}`` dict, or a list of mids."""
    if isinstance(labels, Mapping):
        return dict(labels)
    labels = list(labels)
    if labels and isinstance(labels[0], Label):
        return {lab.mid: lab.index for lab in labels}
    return {m: i for i, m in enumerate(labels)}


_HEADER_COUNT_RE = re.compile(r"(num_\w+)=(\d+)")


def read_segments(path, *, labels=None, errors: str = "raise") -> ParsedList:
    """Parse a segment list (``balanced_train_segments.csv``, ``unbalanced_train_segments.csv``,
    ``eval_segments.csv``).

    The published format: header lines starting with ``#`` (creation date; ``num_ytids=..., num_segs=...``;
    the column names), then one segment per line::

        --PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"

    with a space after each comma and the label list quoted (a single mid is quoted too).

    Parameters
    ----------
    path : str or Path
    labels : list of Label, dict {mid: index} or None
        If given, every mid must be in it. With ``errors="raise"`` an unknown mid raises ``ValueError``;
        with ``errors="skip"`` it is dropped from its segment and counted in ``report.unknown_mids`` (a
        segment left with no known label is skipped).
    errors : {"raise", "skip"}
        What to do with a malformed row: raise ``ValueError`` naming the file and line, or skip it and
        record ``(line, reason)`` in ``report.skipped``.

    Returns
    -------
    ParsedList of Segment, with ``.report``; ``report.declared`` holds the header's counts.

    Book: ``book/04_data.ipynb``.
    """
    _check_errors(errors)
    index = _label_index(labels) if labels is not None else None
    path, fh = _open_text(path)
    report = ParseReport(str(path))
    out: list[Segment] = []
    with fh:
        for line_no, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text:
                continue
            if text.startswith("#"):
                report.declared.update({k: int(v) for k, v in _HEADER_COUNT_RE.findall(text)})
                continue
            problem = None
            try:
                row = next(csv.reader([text], skipinitialspace=True))
            except csv.Error as err:
                row, problem = [], f"unparsable CSV ({err})"
            seg = None
            if problem is None and len(row) != 4:
                problem = f"expected 4 fields (YTID, start_seconds, end_seconds, \"mid,...\"), got {len(row)}"
            elif problem is None:
                ytid, start, end, mids = (c.strip() for c in row)
                mid_list = tuple(m.strip() for m in mids.split(",") if m.strip())
                try:
                    t0, t1 = float(start), float(end)
                except ValueError:
                    t0 = t1 = float("nan")
                if not _YTID_RE.match(ytid):
                    problem = f"YTID {ytid!r} is not an 11-character YouTube id"
                elif not (math.isfinite(t0) and math.isfinite(t1)):
                    problem = f"start/end {start!r}, {end!r} are not numbers"
                elif not 0 <= t0 < t1:
                    problem = f"segment [{t0}, {t1}] s is empty or negative"
                elif not mid_list:
                    problem = "empty label list"
                elif bad := [m for m in mid_list if not _MID_RE.match(m)]:
                    problem = f"malformed mid(s) {bad}"
                else:
                    seg = Segment(ytid, t0, t1, mid_list)
            if seg is not None and index is not None:
                unknown = [m for m in seg.mids if m not in index]
                if unknown:
                    if errors == "raise":
                        raise ValueError(f"{path}:{line_no}: label(s) {unknown} not in the label file "
                                         f"(class_labels_indices.csv)")
                    report.unknown_mids.update(unknown)
                    known = tuple(m for m in seg.mids if m in index)
                    if not known:
                        problem, seg = f"no known label left (unknown: {unknown})", None
                    else:
                        seg = Segment(seg.ytid, seg.start, seg.end, known)
            if problem:
                if errors == "raise":
                    raise ValueError(f"{path}:{line_no}: {problem}: {text!r}")
                report.skipped.append((line_no, problem))
                continue
            out.append(seg)
    report.n_rows = len(out)
    return ParsedList(out, report)


def labels_to_multihot(mids: Iterable[str], labels) -> np.ndarray:
    """The multi-hot target of a label list: ``y[index[mid]] = 1``.

    Parameters
    ----------
    mids : iterable of str
        Machine ids, e.g. ``segment.mids``.
    labels : list of Label, dict {mid: index} or list of mids
        The label space (``C`` labels; 527 for AudioSet).

    Returns
    -------
    np.ndarray [shape=(C,)], uint8

    Raises
    ------
    ValueError
        A mid that is not in the label space.

    Book: ``book/04_data.ipynb``.
    """
    index = _label_index(labels)
    y = np.zeros(len(index), np.uint8)
    for m in mids:
        if m not in index:
            raise ValueError(f"label {m!r} is not in the label space ({len(index)} labels)")
        y[index[m]] = 1
    return y


@dataclass(frozen=True)
class OntologyEntry:
    """One node of ``ontology.json``. ``restrictions`` may hold ``"abstract"`` (a grouping node never used
    as a label) and ``"blacklist"`` (too ambiguous to label reliably).

    Book: ``book/04_data.ipynb``.
    """

    id: str
    name: str
    description: str = ""
    citation_uri: str = ""
    positive_examples: tuple[str, ...] = ()
    child_ids: tuple[str, ...] = ()
    restrictions: tuple[str, ...] = ()


class Ontology:
    """The AudioSet ontology as a directed acyclic graph (a node may have several parents).

    ``ontology[mid]`` is an :class:`OntologyEntry`; :meth:`children`, :meth:`parents`, :meth:`ancestors`,
    :meth:`descendants`, :meth:`roots` and :meth:`depth` navigate it.

    Book: ``book/04_data.ipynb``.
    """

    def __init__(self, entries: Sequence[OntologyEntry], report: ParseReport | None = None):
        self.entries = {e.id: e for e in entries}
        self.report = report
        self._parents: dict[str, list[str]] = {m: [] for m in self.entries}
        for e in entries:
            for c in e.child_ids:
                if c in self._parents:
                    self._parents[c].append(e.id)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, mid) -> bool:
        return mid in self.entries

    def __iter__(self):
        return iter(self.entries.values())

    def __getitem__(self, mid: str) -> OntologyEntry:
        try:
            return self.entries[mid]
        except KeyError:
            raise KeyError(f"{mid!r} is not in the ontology") from None

    def children(self, mid: str) -> list[OntologyEntry]:
        return [self.entries[c] for c in self[mid].child_ids if c in self.entries]

    def parents(self, mid: str) -> list[OntologyEntry]:
        self[mid]
        return [self.entries[p] for p in self._parents[mid]]

    def _walk(self, mid: str, step) -> list[OntologyEntry]:
        seen, order, todo = set(), [], [mid]
        while todo:
            for nxt in step(todo.pop(0)):
                if nxt.id not in seen:
                    seen.add(nxt.id)
                    order.append(nxt)
                    todo.append(nxt.id)
        return order

    def ancestors(self, mid: str) -> list[OntologyEntry]:
        """All nodes above ``mid`` (parents first, then their parents, ...), each once."""
        return self._walk(mid, self.parents)

    def descendants(self, mid: str) -> list[OntologyEntry]:
        """All nodes below ``mid`` (breadth first), each once."""
        return self._walk(mid, self.children)

    def roots(self) -> list[OntologyEntry]:
        """The top-level categories (nodes with no parent)."""
        return [e for m, e in self.entries.items() if not self._parents[m]]

    def depth(self, mid: str) -> int:
        """Length of the longest path from a root down to ``mid`` (a root has depth 0)."""
        parents = self._parents[self[mid].id]
        return 0 if not parents else 1 + max(self.depth(p) for p in parents)

    def path_names(self, mid: str) -> list[str]:
        """Names from a root down to ``mid`` along first parents, e.g. ``['Animal', ..., 'Bark']``."""
        names, cur = [self[mid].name], mid
        while self._parents[cur]:
            cur = self._parents[cur][0]
            names.append(self.entries[cur].name)
        return names[::-1]


_ONTOLOGY_KEYS = ("id", "name", "description", "citation_uri", "positive_examples", "child_ids", "restrictions")


def read_ontology(path, *, errors: str = "raise") -> Ontology:
    """Parse ``ontology.json``: a JSON list of objects with keys ``id, name, description, citation_uri,
    positive_examples, child_ids, restrictions``.

    An entry without ``id`` or ``name``, a duplicate id, or a ``child_ids`` entry that names no node raises
    ``ValueError`` naming the file and entry (``errors="raise"``) or is skipped and reported in
    ``ontology.report.skipped`` as ``(entry number, reason)`` (``errors="skip"``).

    Book: ``book/04_data.ipynb``.
    """
    _check_errors(errors)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"AudioSet ontology not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of ontology entries, got {type(data).__name__}")
    report = ParseReport(str(path))

    def fail(i, problem):
        if errors == "raise":
            raise ValueError(f"{path}: entry {i}: {problem}")
        report.skipped.append((i, problem))

    entries: list[OntologyEntry] = []
    ids: set[str] = set()
    for i, d in enumerate(data):
        if not isinstance(d, dict):
            fail(i, f"expected an object, got {type(d).__name__}")
            continue
        if not d.get("id") or not d.get("name"):
            fail(i, f"missing 'id' or 'name' (keys: {sorted(d)})")
            continue
        if d["id"] in ids:
            fail(i, f"duplicate id {d['id']}")
            continue
        extra = {k: tuple(d.get(k) or ()) for k in ("positive_examples", "child_ids", "restrictions")}
        entries.append(OntologyEntry(str(d["id"]), str(d["name"]), str(d.get("description", "")),
                                     str(d.get("citation_uri", "")), **extra))
        ids.add(d["id"])
    for i, e in enumerate(entries):
        dangling = [c for c in e.child_ids if c not in ids]
        if dangling:
            fail(i, f"{e.id} ({e.name}) names unknown child id(s) {dangling}")
    report.n_rows = len(entries)
    return Ontology(entries, report)


# ----------------------------------------------------------------------------------------------------------
# Fixtures in the published format (for tests, and for the book when the real files are absent)
# ----------------------------------------------------------------------------------------------------------
_FIXTURE_LABELS = [  # real mids and names, a small connected corner of the ontology
    ("/m/09x0r", "Speech"), ("/m/05zppz", "Male speech, man speaking"),
    ("/m/02zsn", "Female speech, woman speaking"), ("/m/0jbk", "Animal"),
    ("/m/068hy", "Domestic animals, pets"), ("/m/0bt9lr", "Dog"), ("/m/05tny_", "Bark"),
    ("/m/04rlf", "Music"), ("/m/04szw", "Musical instrument"), ("/m/0fx80y", "Plucked string instrument"),
    ("/m/0342h", "Guitar"), ("/m/03kmc9", "Siren"), ("/m/01v_m0", "Sine wave"),
]
_FIXTURE_TREE = {  # parent -> children, plus two abstract grouping nodes that are not labels
    "/m/0dgw9r": ["/m/09l8g"], "/m/09l8g": ["/m/09x0r"], "/m/09x0r": ["/m/05zppz", "/m/02zsn"],
    "/m/0jbk": ["/m/068hy"], "/m/068hy": ["/m/0bt9lr"], "/m/0bt9lr": ["/m/05tny_"],
    "/m/04rlf": ["/m/04szw"], "/m/04szw": ["/m/0fx80y"], "/m/0fx80y": ["/m/0342h"],
}
_FIXTURE_ABSTRACT = {"/m/0dgw9r": "Human sounds", "/m/09l8g": "Human voice"}
_FIXTURE_SEGMENTS = {
    "balanced_train_segments.csv": [
        ("--PJHxphWEs", 30.0, 40.0, ["/m/09x0r", "/m/05zppz"]),
        ("--ZhevVpy1s", 50.0, 60.0, ["/m/0342h"]),
        ("--aE2O5G5WE", 0.0, 10.0, ["/m/04rlf", "/m/04szw", "/m/0fx80y", "/m/0342h"]),
        ("-0BIyqJj9ZU", 30.0, 40.0, ["/m/0jbk", "/m/068hy", "/m/0bt9lr", "/m/05tny_"]),
        ("-0RWZT-miFs", 420.0, 430.0, ["/m/03kmc9"]),
        ("-0jeONf82dE", 21.0, 31.0, ["/m/01v_m0"]),
    ],
    "eval_segments.csv": [
        ("--4gqARaEJE", 0.0, 10.0, ["/m/09x0r", "/m/02zsn"]),
        ("--BfvyPmVMo", 20.0, 30.0, ["/m/04rlf"]),
        ("--U7joUcTCo", 0.0, 10.0, ["/m/0bt9lr", "/m/05tny_"]),
    ],
}


def _segment_line(ytid, start, end, mids) -> str:
    return f'{ytid}, {start:.3f}, {end:.3f}, "{",".join(mids)}"\n'


def write_fixture_metadata(directory) -> Path:
    """Write a tiny AudioSet metadata set in exactly the published format into ``directory``.

    13 labels (real mids and names, some with commas in quotes), 6 balanced-train and 3 eval segments
    (label lists of one and of several mids, a space after each comma, ``#`` header lines), and a
    15-node ontology with two abstract grouping nodes. Used by the tests and by the book when the real files
    are not available.

    Returns
    -------
    Path
        ``directory``.

    Book: ``book/04_data.ipynb``.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with atomic_path(d / "class_labels_indices.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            fh.write("index,mid,display_name\n")
            for i, (mid, name) in enumerate(_FIXTURE_LABELS):
                fh.write(f'{i},{mid},"{name}"\n')
    for fname, segs in _FIXTURE_SEGMENTS.items():
        n_pos = sum(len(s[3]) for s in segs)
        n_lab = len({m for s in segs for m in s[3]})
        with atomic_path(d / fname) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("# Segments csv created Sun Mar  5 10:54:31 2017\n")
                fh.write(f"# num_ytids={len(segs)}, num_segs={len(segs)}, num_unique_labels={n_lab}, "
                         f"num_positive_labels={n_pos}\n")
                fh.write("# YTID, start_seconds, end_seconds, positive_labels\n")
                for s in segs:
                    fh.write(_segment_line(*s))
    names = dict(_FIXTURE_LABELS) | _FIXTURE_ABSTRACT
    onto = [{"id": mid, "name": name, "description": f"{name} (fixture entry).", "citation_uri": "",
             "positive_examples": [], "child_ids": _FIXTURE_TREE.get(mid, []),
             "restrictions": ["abstract"] if mid in _FIXTURE_ABSTRACT else []} for mid, name in names.items()]
    with atomic_path(d / "ontology.json") as tmp:
        tmp.write_text(json.dumps(onto, indent=1), encoding="utf-8")
    return d


# ----------------------------------------------------------------------------------------------------------
# Download: metadata, then clips from one of three sources
# ----------------------------------------------------------------------------------------------------------
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
    """The clip no longer exists at its source (video removed, private, blocked): counted as *missing*."""


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


# ----------------------------------------------------------------------------------------------------------
# Packing: decode, check, resample to 8 kHz, write the store
# ----------------------------------------------------------------------------------------------------------
class _Rejected(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


def load_clip(path, *, expected_seconds: float | None = None, silence_db: float = -60.0,
              min_seconds: float = 1.0) -> tuple[np.ndarray, dict]:
    """Decode one clip with soundfile, check it, and return it as mono float32 at 8 kHz.

    Checks, in order: the file decodes (``unreadable``); it holds as many frames as its header announces
    (``truncated``); no NaN/Inf (``nan``); at least ``min_seconds`` long (``too_short``); its peak is above
    ``silence_db`` dBFS (``silent``). A failed check raises ``ValueError`` whose message starts with the
    kind, e.g. ``"silent: peak -inf dBFS"``. Stereo is averaged to mono; any sample rate is resampled.

    Why not simply keep every 6th sample of a 48 kHz file? Decimation without a low-pass folds everything
    between 4 and 24 kHz (cymbals, hiss, sibilants) back into 0-4 kHz as aliases that are not in the sound.
    :func:`neuralogram.store.resample_to_8k` uses torchaudio's windowed-sinc resampler, whose low-pass removes
    that band first.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32 at 8 kHz
    info : dict
        ``sr`` (original rate), ``channels``, ``seconds`` and ``flags`` (e.g. ``["stereo", "resampled"]``).

    Book: ``book/04_data.ipynb``.
    """
    from .store import resample_to_8k

    try:
        return _load_clip(Path(path), expected_seconds, silence_db, min_seconds, resample_to_8k)
    except _Rejected as err:
        raise ValueError(f"{err.kind}: {err} ({path})") from None


def _load_clip(path, expected_seconds, silence_db, min_seconds, resample_to_8k):
    try:
        info = sf.info(str(path))
    except Exception as err:  # noqa: BLE001 - libsndfile raises several types
        raise _Rejected("unreadable", f"cannot open as audio ({type(err).__name__}: {err})") from None
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001 - the header was fine, the data stops early or is corrupt
        raise _Rejected("truncated", f"decoding failed part-way ({type(err).__name__}: {err})") from None
    flags = []
    short_by = _wav_missing_bytes(path)
    if short_by:
        raise _Rejected("truncated", f"WAV data chunk is {short_by} bytes shorter than its header announces")
    if info.frames > 0 and x.shape[0] < 0.99 * info.frames:
        raise _Rejected("truncated", f"header announces {info.frames} frames, file holds {x.shape[0]}")
    if x.shape[0] == 0:
        raise _Rejected("truncated", "no audio frames")
    if not np.isfinite(x).all():
        raise _Rejected("nan", f"{int((~np.isfinite(x)).sum())} NaN/Inf samples")
    seconds = x.shape[0] / sr
    if seconds < min_seconds:
        raise _Rejected("too_short", f"{seconds:.2f} s < {min_seconds} s")
    peak = float(np.abs(x).max())
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_db < silence_db:
        raise _Rejected("silent", f"peak {peak_db:.1f} dBFS < {silence_db} dBFS")
    if x.shape[1] > 1:
        flags.append("stereo")
    if sr != 8000:
        flags.append("resampled")
    if expected_seconds and seconds < 0.9 * expected_seconds:
        flags.append("short")
    y = resample_to_8k(x.T, sr)  # (channels, n) -> averaged to mono, anti-aliased to 8 kHz
    if expected_seconds and y.size > int(round((expected_seconds + 0.5) * 8000)):
        y = y[: int(round(expected_seconds * 8000))]
        flags.append("trimmed")
    return np.ascontiguousarray(y, dtype=np.float32), {"sr": int(sr), "channels": int(x.shape[1]),
                                                       "seconds": round(seconds, 3), "flags": flags}


def pack(splits: Mapping[str, tuple[Sequence[Segment], object]], labels: Sequence[Label], out_path, *,
         workers: int = 2, silence_db: float = -60.0, source: str = "audioset-balanced",
         params: dict | None = None, report_path=None, progress: bool = True) -> dict:
    """Decode, check, resample and write AudioSet clips into one packed store (:func:`store.write_store`).

    Parameters
    ----------
    splits : dict
        ``{"train": (segments, audio_dir), "eval": (segments, audio_dir)}``; each segment's audio is looked up
        in its folder by the naming rules of :func:`find_audio` (``<YTID>.<ext>`` or ``<YTID>_<...>.<ext>``).
    labels : list of Label
        The label space (527 labels): targets are multi-hot rows over it (:func:`labels_to_multihot`).
    out_path : str or Path
        The HDF5 store to write (atomically).
    workers : int
        Threads decoding and resampling in parallel (order is preserved).
    silence_db : float
        Clips whose peak is below this level (dBFS) are rejected as silent.

    Returns
    -------
    dict
        The pack report: ``kept`` per split, ``rejected`` ``{kind: [clip_id, ...]}`` for ``missing``,
        ``unreadable``, ``truncated``, ``nan``, ``too_short``, ``silent``; ``flagged`` ``{flag: count}``
        (``stereo``, ``resampled``, ``short``, ``trimmed``); ``source_rates`` ``{Hz: count}``; ``path``.

    Book: ``book/04_data.ipynb``.
    """
    from tqdm.auto import tqdm

    from .store import Clip, write_store

    for split in splits:
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    index = _label_index(labels)
    mids = [lab.mid for lab in labels]
    names = [lab.name for lab in labels]
    report = {"kept": {}, "rejected": {k: [] for k in ("missing", "unreadable", "truncated", "nan",
                                                          "too_short", "silent")},
              "flagged": Counter(), "source_rates": Counter()}

    folders = {}

    def work(item):
        split, seg, folder = item
        path = folders[folder].get(seg.ytid)
        if path is None:
            return split, seg, None, ("missing", "no audio file")
        try:
            y, info = _load_clip(path, seg.duration, silence_db, 1.0, _resample())
        except _Rejected as err:
            return split, seg, None, (err.kind, str(err))
        return split, seg, (y, info), None

    items = [(split, seg, Path(folder)) for split, (segs, folder) in splits.items() for seg in segs]
    for _, _, folder in items:
        if folder not in folders:
            folders[folder] = _index_folder(folder) if folder.is_dir() else {}
    details = {}

    def decoded(pool):
        chunk = 64 * max(1, int(workers))  # bounded look-ahead: at most `chunk` decoded clips in memory
        for i in range(0, len(items), chunk):
            yield from pool.map(work, items[i:i + chunk])

    def clips():
        with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
            for split, seg, ok, bad in tqdm(decoded(pool), total=len(items), desc="pack",
                                            disable=not progress):
                if bad is not None:
                    report["rejected"][bad[0]].append(seg.clip_id)
                    details[seg.clip_id] = bad[1]
                    continue
                y, info = ok
                report["kept"][split] = report["kept"].get(split, 0) + 1
                report["source_rates"][info["sr"]] += 1
                report["flagged"].update(info["flags"])
                yield Clip(seg.clip_id, y, [index[m] for m in seg.mids if m in index], split)

    path = write_store(out_path, clips(), label_mids=mids, label_names=names, source=source,
                       params=params or {})
    report["flagged"] = dict(report["flagged"])
    report["source_rates"] = {str(k): v for k, v in sorted(report["source_rates"].items())}
    report["details"] = details
    report["path"] = str(path)
    if report_path is not None:
        _write_report(Path(report_path), report)
    return report


def _wav_missing_bytes(path) -> int:
    """For a RIFF/WAVE file, how many bytes of the ``data`` chunk its header announces but the file lacks
    (libsndfile silently shortens such files instead of failing). 0 for complete files and other formats."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        size = os.fstat(fh.fileno()).st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            n = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return max(0, pos + 8 + n - size) if n != 0xFFFFFFFF else 0
            pos += 8 + n + (n & 1)
    return 0


def _resample():
    from .store import resample_to_8k
    return resample_to_8k


# ----------------------------------------------------------------------------------------------------------
# The command: neuralogram data audioset ...
# ----------------------------------------------------------------------------------------------------------
def _summary(title: str, r: dict) -> str:
    lines = [f"{title}: {r.get('available', 0)} of {r['requested']} clips available "
             f"({r['already_present']} already there, {r['downloaded']} new), "
             f"{len(r['missing'])} missing, {len(r['failed'])} failed"]
    for f in r["failed"][:5]:
        lines.append(f"    failed {f['ytid']}: {f['error']}")
    if len(r["failed"]) > 5:
        lines.append(f"    ... {len(r['failed']) - 5} more in the report")
    return "\n".join(lines)


def run(args) -> int:
    """Run ``neuralogram data audioset``: fetch the metadata, download the clips, pack them; print and save
    the reports. Returns the exit status.

    Book: ``book/04_data.ipynb``.
    """
    out = Path(args.out)
    meta = out / "metadata"
    if args.source == "local" and not args.local_dir:
        raise SystemExit("--source local needs --local-dir DIR (a folder of audio files named by YTID)")
    if args.source == "youtube" and not args.skip_download:
        import importlib.util
        if not (shutil.which("yt-dlp") or importlib.util.find_spec("yt_dlp")):
            raise SystemExit("--source youtube needs yt-dlp: pip install yt-dlp")
        if not shutil.which("ffmpeg"):
            raise SystemExit("--source youtube needs ffmpeg on the PATH (yt-dlp uses it to cut and convert)")
    if args.source == "huggingface" and not args.skip_download:
        import importlib.util
        if not importlib.util.find_spec("datasets"):
            raise SystemExit("--source huggingface needs the 'datasets' package: pip install datasets")
    files = SUBSETS[args.subset]
    hashes = fetch_metadata(meta, names=["class_labels_indices.csv", *files.values(), "ontology.json"],
                            copy_from=args.metadata_dir)
    labels = read_labels(meta / "class_labels_indices.csv")
    seg_lists = {}
    for split, fname in files.items():
        segs = read_segments(meta / fname, labels=labels, errors="skip")
        print(segs.report.summary())
        seg_lists[split] = (fname, segs[: args.limit] if args.limit else segs)
    dl = {"metadata_sha256": hashes, "source": args.source, "splits": {}}
    dirs = {}
    for split, (fname, segs) in seg_lists.items():
        folder = Path(args.local_dir) if args.source == "local" else out / "audio" / _AUDIO_DIR[fname]
        dirs[split] = (segs, folder)
        if args.skip_download or args.source == "local":
            r = scan_local(segs, folder) if folder.is_dir() else {
                "requested": len(segs), "already_present": 0, "downloaded": 0,
                "missing": sorted({s.ytid for s in segs}), "failed": [], "available": 0}
        elif args.source == "youtube":
            r = download_clips(segs, folder, fetch=fetch_youtube_clip, workers=args.workers)
        else:
            r = download_huggingface(fname, folder, wanted=[s.ytid for s in segs], workers=args.workers)
        print(_summary(f"{fname} ({args.source})", r))
        dl["splits"][split] = r
    _write_report(out / "download_report.json", dl)
    print(f"download report: {out / 'download_report.json'}")
    if args.no_pack:
        return 0
    params = {"subset": args.subset, "source": args.source, "limit": args.limit, "sr": 8000,
              "silence_db": args.silence_db, "metadata_sha256": hashes,
              "n_segments": {s: len(v[1]) for s, v in seg_lists.items()}}
    store_path = out / f"audioset-{args.subset}-8k-{param_hash(params)}.h5"
    rep = pack(dirs, labels, store_path, workers=args.workers, silence_db=args.silence_db,
               source=f"audioset-{args.subset}", params=params, report_path=out / "pack_report.json")
    rej = {k: len(v) for k, v in rep["rejected"].items() if v}
    print(f"packed {rep['kept']} clips into {store_path}; rejected {rej or 'none'}; flagged {rep['flagged']}")
    print(f"pack report: {out / 'pack_report.json'}")
    return 0


def register_cli(subparsers) -> None:
    """Add ``audioset`` to ``neuralogram data``: download the metadata and clips, then pack them.

    Book: ``book/04_data.ipynb``.
    """
    p = subparsers.add_parser(
        "audioset", help="download AudioSet (metadata + clips) and pack it at 8 kHz",
        description="Download the AudioSet balanced subset (balanced_train + eval segments) from YouTube "
                    "(yt-dlp), the Hugging Face mirror agkphysics/AudioSet, or a local folder, then pack it "
                    "into one 8 kHz HDF5 store with 527-dim multi-hot labels. Resumable: run it again to "
                    "continue; missing and failed clips are counted in OUT/download_report.json.")
    p.add_argument("--source", choices=["youtube", "huggingface", "local"], required=True)
    p.add_argument("--subset", choices=sorted(SUBSETS), default="balanced")
    p.add_argument("--out", required=True, help="output folder (metadata/, audio/, reports, the packed store)")
    p.add_argument("--workers", type=int, default=4, help="parallel downloads / decoders (default 4)")
    p.add_argument("--limit", type=int, default=None, help="only the first N segments of each list")
    p.add_argument("--local-dir", default=None, help="with --source local: folder of audio files named by YTID")
    p.add_argument("--metadata-dir", default=None,
                   help="copy the metadata from this folder instead of downloading it (hashes still checked)")
    p.add_argument("--skip-download", action="store_true", help="only pack what is already on disk")
    p.add_argument("--no-pack", action="store_true", help="download only")
    p.add_argument("--silence-db", type=float, default=-60.0, help="reject clips whose peak is below this")
    p.set_defaults(func=run)
