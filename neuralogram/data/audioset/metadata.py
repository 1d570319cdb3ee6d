"""AudioSet's published metadata: the label list, the segment lists and the ontology, parsed and checked.

The paper trains on AudioSet's *balanced* subset: 22,160 ten-second YouTube segments chosen so that each of
the 527 labels has at least about 59 examples, evaluated on the 20,371-segment eval set. Google publishes
only metadata (which video, which ten seconds, which labels); the audio is fetched by :mod:`.download` and
packed by :mod:`.pack`. Parsers count and report malformed lines instead of failing on the first one.

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["Label", "Segment", "OntologyEntry", "Ontology", "ParseReport", "ParsedList", "read_labels",
           "read_segments", "read_ontology", "labels_to_multihot"]

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
        records = _csv_records(fh, path)
        try:
            _, header = next(records)
        except StopIteration:
            raise ValueError(f"{path}: empty file, expected the header 'index,mid,display_name'") from None
        if [h.strip() for h in header] != ["index", "mid", "display_name"]:
            raise ValueError(f"{path}:1: expected the header 'index,mid,display_name', got {','.join(header)!r}")
        for (line, end), row in records:
            if not row or all(not c.strip() for c in row):
                continue
            problem = None
            if end > line:
                problem = f"a quoted field spans lines {line}-{end} (a quote left open?)"
            elif len(row) != 3:
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


def _csv_records(fh, path):
    """``((first line, last line), row)`` for each CSV record of ``fh``, strictly parsed: an unterminated quote,
    which would swallow the rest of the file into one field, raises ``ValueError`` naming the line it opens on."""
    rows = csv.reader(fh, strict=True)
    start = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as err:
            raise ValueError(f"{path}:{start}: malformed CSV in the record starting on this line, probably an "
                             f"unterminated quote ({err})") from None
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not UTF-8 text ({err})") from None
        yield (start, rows.line_num), row
        start = rows.line_num + 1


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
        for line_no, raw in _text_lines(fh, path):
            text = raw.strip()
            if not text:
                continue
            if text.startswith("#"):
                report.declared.update({k: int(v) for k, v in _HEADER_COUNT_RE.findall(text)})
                continue
            problem = None
            try:
                row = next(csv.reader([text], skipinitialspace=True, strict=True))
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


def _text_lines(fh, path):
    """``(line number, line)`` of a text file; ``ValueError`` for bytes that are not UTF-8."""
    try:
        yield from enumerate(fh, start=1)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None


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
        cycle = self._find_cycle()
        if cycle:
            raise ValueError("the ontology has a cycle: " + " -> ".join(f"{m} ({self.entries[m].name})"
                                                                          for m in cycle[:-1]) + f" -> {cycle[-1]}")

    def _find_cycle(self) -> list[str] | None:
        """A child-link path that returns to its start, or None: the graph must be acyclic (depth and
        path_names walk it upwards)."""
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in self.entries:
            if root in state:
                continue
            path, stack = [], [(root, iter(self.entries[root].child_ids))]
            state[root] = 1
            path.append(root)
            while stack:
                node, children = stack[-1]
                for c in children:
                    if c not in self.entries:
                        continue
                    if state.get(c) == 1:
                        return path[path.index(c):] + [c]
                    if c not in state:
                        state[c] = 1
                        path.append(c)
                        stack.append((c, iter(self.entries[c].child_ids)))
                        break
                else:
                    state[node] = 2
                    path.pop()
                    stack.pop()
        return None

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
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
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
        if not isinstance(d["id"], str) or not isinstance(d["name"], str):
            fail(i, f"'id' and 'name' must be strings, got {type(d['id']).__name__} and {type(d['name']).__name__}")
            continue
        if d["id"] in ids:
            fail(i, f"duplicate id {d['id']}")
            continue
        lists = {k: d.get(k) or [] for k in ("positive_examples", "child_ids", "restrictions")}
        wrong = [k for k, v in lists.items() if not isinstance(v, list) or not all(isinstance(x, str) for x in v)]
        if wrong:
            fail(i, f"{wrong[0]} must be a list of strings, got {d.get(wrong[0])!r:.80}")
            continue
        extra = {k: tuple(v) for k, v in lists.items()}
        entries.append(OntologyEntry(str(d["id"]), str(d["name"]), str(d.get("description", "")),
                                     str(d.get("citation_uri", "")), **extra))
        ids.add(d["id"])
    for i, e in enumerate(entries):
        dangling = [c for c in e.child_ids if c not in ids]
        if dangling:
            fail(i, f"{e.id} ({e.name}) names unknown child id(s) {dangling}")
    report.n_rows = len(entries)
    try:
        return Ontology(entries, report)
    except ValueError as err:  # a cycle: no entry can be skipped to break it reliably, whatever ``errors`` says
        raise ValueError(f"{path}: {err}") from None
