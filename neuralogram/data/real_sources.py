"""Where the real recordings come from and where they are looked for.

Pinned public sources (:data:`ESC50_URL`, :data:`FSDD_URL`: GitHub archives at fixed commits) and the folders
searched, in order (the first folder that holds the set wins):

1. ``root=`` when given (only there);
2. ``$NEURALOGRAM_DATA``: a folder holding ``esc50-subset/`` (or an ``ESC-50*/`` download) and ``fsdd/`` (or a
   ``free-spoken-digit-dataset*/`` download);
3. ``../shared/real`` beside the repository (skipped when ``$NEURALOGRAM_NO_SHARED=1``);
4. the cache, ``$NEURALOGRAM_CACHE/real``, where ``download=True`` puts the public sources.

When none holds the set, :class:`RealDataMissing` says where it looked and gives the exact call that fetches it.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ESC50_COMMIT", "ESC50_URL", "FSDD_COMMIT", "FSDD_URL", "RealDataMissing", "data_roots"]

# ------------------------------------------------------------------------------------------------- sources
#: karolpiczak/ESC-50, the last commit of ``master`` (2000 clips in ``audio/``, labels in ``meta/esc50.csv``).
ESC50_COMMIT = "33c8ce9eb2cf0b1c2f8bcf322eb349b6be34dbb6"
ESC50_URL = f"https://github.com/karolpiczak/ESC-50/archive/{ESC50_COMMIT}.zip"
#: Jakobovski/free-spoken-digit-dataset at the commit of the copy in ``../shared/real/fsdd`` (3000 recordings).
FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.zip"
_ARCHIVES = {
    "esc50": dict(url=ESC50_URL, commit=ESC50_COMMIT, size="about 650 MB", known_hash=None),
    "fsdd": dict(url=FSDD_URL, commit=FSDD_COMMIT, size="about 25 MB", known_hash=None),
}
_SR = {"esc50": 44100, "fsdd": 8000}
_TITLE = {"esc50": "ESC-50", "fsdd": "the Free Spoken Digit Dataset (FSDD)", "urbansound8k": "UrbanSound8K"}

class RealDataMissing(FileNotFoundError):
    """A real data set is not on this machine; the message says where it was looked for and how to get it.

    Book: ``book/14_real_world.ipynb``.
    """


# ------------------------------------------------------------------------------------------------- where
def _repo_shared() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "real"


def data_roots() -> list[tuple[str, Path]]:
    """The folders searched for real data, in order: ``$NEURALOGRAM_DATA``, ``../shared/real``, the cache.

    Returns
    -------
    list of (origin, Path)
        ``origin`` is ``"NEURALOGRAM_DATA"``, ``"../shared/real"`` or ``"cache"``. ``../shared/real`` is left out
        when ``$NEURALOGRAM_NO_SHARED`` is set to anything but ``""`` or ``"0"``.

    Book: ``book/14_real_world.ipynb``.
    """
    roots = []
    env = os.environ.get("NEURALOGRAM_DATA")
    if env:
        roots.append(("NEURALOGRAM_DATA", Path(env).expanduser()))
    if os.environ.get("NEURALOGRAM_NO_SHARED", "") in ("", "0"):
        roots.append(("../shared/real", _repo_shared()))
    roots.append(("cache", _cache_root()))
    return roots


def _cache_root() -> Path:
    root = Path(os.environ.get("NEURALOGRAM_CACHE", Path.home() / ".cache" / "neuralogram")).expanduser()
    return root / "real"   # not created here: looking for data must not make folders


def _esc50_dirs(root: Path):
    """Folders under ``root`` that may hold ESC-50 (the subset layout or the GitHub archive's)."""
    yield root
    yield root / "esc50-subset"
    yield root / "esc50"
    if root.is_dir():
        for p in sorted(root.glob("ESC-50*")):
            yield p
        for p in sorted(root.glob("esc50-*/ESC-50*")):   # fetch(): cache/real/esc50-<commit>/ESC-50-<commit>
            yield p


def _fsdd_dirs(root: Path):
    yield root
    yield root / "fsdd"
    if root.is_dir():
        for p in sorted(root.glob("free-spoken-digit-dataset*")):
            yield p
        for p in sorted(root.glob("fsdd-*/free-spoken-digit-dataset*")):
            yield p


def _esc50_csv(d: Path) -> Path | None:
    for p in (d / "esc50.csv", d / "meta" / "esc50.csv"):
        if p.is_file() and (d / "audio").is_dir():
            return p
    return None


def _find(dataset: str, root) -> tuple[Path, str]:
    roots = [("root", Path(root).expanduser())] if root is not None else data_roots()
    looked = []
    for origin, r in roots:
        for d in (_esc50_dirs(r) if dataset == "esc50" else _fsdd_dirs(r)):
            ok = _esc50_csv(d) is not None if dataset == "esc50" else (d / "recordings").is_dir()
            if ok:
                return d, origin
        looked.append(f"{origin} ({r}{'' if r.is_dir() else ': no such folder'})")
    what = ("esc50-subset/ (audio/ and esc50.csv) or ESC-50-*/ (audio/ and meta/esc50.csv)" if dataset == "esc50"
            else "fsdd/ or free-spoken-digit-dataset-*/ with recordings/")
    raise RealDataMissing(f"{_TITLE[dataset]} was not found: looked for {what} in " + "; ".join(looked)
                          + f". To get it: {_how_to_get(dataset)}.")


def _how_to_get(dataset: str) -> str:
    a = _ARCHIVES[dataset]
    return (f"`from neuralogram.data import real; real.{dataset}(download=True)` downloads {a['size']} from "
            f"{a['url'].split('/archive/')[0]} @ {a['commit'][:7]} into {_cache_root()} (online), or set "
            f"NEURALOGRAM_DATA to a folder that holds a copy")
