"""The committed manifest of the real recordings: the content hash of every clip, in ``real_manifest.csv``.

Every clip's *audio content* is checked against the manifest: the SHA-256 of its decoded 16-bit samples
(:func:`pcm_sha256`), first 16 hex digits. Content rather than file bytes, because the copy here is FLAC and the
public source WAV: the samples are the same, the bytes are not. Per-file hashes (rather than one digest over the
sorted listing) are what let an error say *which* file is bad; 64 bits per file detect corruption, truncation and
another version of a file with a false-accept chance of 2^-64 (the manifest is an integrity check, not a defence
against a crafted collision). The manifest holds the 3414 clips present here; the other 1586 clips of the full
ESC-50 are read unchecked.

The file beside this module is data, not code: a header ``dataset,name,pcm_sha256`` and one row per clip (data
set, file name without extension, hash), sorted by data set and name. :data:`MANIFEST_SHA256` is the SHA-256 of
its bytes (``tests/test_real_manifest.py`` checks it); :func:`write_manifest` regenerates it from complete local
copies and returns the new digest to record here. Do not edit the file by hand.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf

from ..cache import atomic_path

__all__ = ["MANIFEST_PATH", "MANIFEST_SHA256", "HASH_CHARS", "pcm_sha256", "read_pcm", "read_manifest",
           "write_manifest"]

#: The committed manifest: ``dataset,name,pcm_sha256`` per clip.
MANIFEST_PATH = Path(__file__).with_name("real_manifest.csv")
#: SHA-256 of :data:`MANIFEST_PATH`'s bytes (what :func:`write_manifest` returned when it was written).
MANIFEST_SHA256 = "c110ddaa93b23c49879cde8f4f42204362d06b0bdab0cd6e28ce8d924399b7f2"
#: Hex digits of :func:`pcm_sha256` kept per clip.
HASH_CHARS = 16
_COLUMNS = ["dataset", "name", "pcm_sha256"]


def pcm_sha256(pcm: np.ndarray, sr: int) -> str:
    """SHA-256 (hex) of decoded 16-bit audio: ``"<sr>:<channels>:"`` followed by the little-endian samples.

    The same for a WAV and a lossless FLAC of the same samples, so one manifest checks both.

    Parameters
    ----------
    pcm : np.ndarray [shape=(n, channels)], int16
    sr : int
        Sample rate in Hz.

    Returns
    -------
    str
        64 hex digits (the manifest keeps the first 16).

    Book: ``book/14_real_world.ipynb``.
    """
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 2:
        raise ValueError(f"pcm must be int16 of shape (n, channels), got {pcm.dtype} {pcm.shape}")
    h = hashlib.sha256(f"{int(sr)}:{pcm.shape[1]}:".encode())
    h.update(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return h.hexdigest()


def read_pcm(path: Path):
    """A file's samples as decoded 16-bit integers and its rate: ``(pcm [shape=(n, channels)], int16; sr)``.

    Raises ``ValueError`` naming the file when it cannot be decoded or holds no samples.

    Book: ``book/14_real_world.ipynb``.
    """
    try:
        pcm, sr = sf.read(str(path), dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise ValueError(f"{path}: unreadable audio ({err}); the file is corrupt or truncated — delete it and "
                         "get the data again") from None
    if pcm.shape[0] == 0:
        raise ValueError(f"{path}: no audio samples (empty or truncated file)")
    return pcm, int(sr)


_MANIFEST: dict | None = None


def read_manifest(path=MANIFEST_PATH) -> dict[str, dict[str, str]]:
    """The manifest as ``{dataset: {name: hash}}`` (``"esc50"`` and ``"fsdd"``).

    Raises
    ------
    ValueError
        The file does not have the manifest's columns.

    Book: ``book/14_real_world.ipynb``.
    """
    out: dict[str, dict[str, str]] = {"esc50": {}, "fsdd": {}}
    with open(path, newline="") as f:
        rows = csv.reader(f)
        if next(rows, None) != _COLUMNS:
            raise ValueError(f"{path}: not a manifest of the real recordings (expected the columns {_COLUMNS})")
        for dataset, name, digest in rows:
            out.setdefault(dataset, {})[name] = digest
    return out


def write_manifest(clips, path=MANIFEST_PATH) -> str:
    """Hash every clip's samples and write the manifest (a maintainer's tool, not used at run time).

    Parameters
    ----------
    clips : iterable of RealClip
        Complete local copies of the data sets (``real.esc50(root=...)`` and ``real.fsdd(root=...)``).
    path : str or Path

    Returns
    -------
    str
        The SHA-256 of the written file: record it as :data:`MANIFEST_SHA256`.

    Book: ``book/14_real_world.ipynb``.
    """
    rows = sorted((c.dataset, c.name, pcm_sha256(*read_pcm(c.path))[:HASH_CHARS]) for c in clips)
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(_COLUMNS)
            w.writerows(rows)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
