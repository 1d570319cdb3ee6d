"""Where the package keeps generated files, and how it writes them without leaving half-written files.

The cache folder is ``$NEURALOGRAM_CACHE`` or ``~/.cache/neuralogram``. Generated corpora and probe results
are stored under a name that contains a hash of every parameter that made them, so a change of parameters
(or of the model) never reuses a stale file.

Book: ``book/04_data.ipynb`` (corpora) and the probe chapters (cached probe results).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "param_hash", "atomic_path"]


def cache_dir(*parts: str) -> Path:
    """Return (and create) ``$NEURALOGRAM_CACHE/<parts...>``.

    Book: ``book/04_data.ipynb``.
    """
    root = Path(os.environ.get("NEURALOGRAM_CACHE", Path.home() / ".cache" / "neuralogram")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def param_hash(params: dict, length: int = 12) -> str:
    """A short, stable hash of a JSON-serialisable parameter dict (key order does not matter).

    Book: ``book/04_data.ipynb``.
    """
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Nothing half-written is ever left at ``path``: on error the temporary file is removed.

    Examples
    --------
    >>> with atomic_path("out.npz") as tmp:      # doctest: +SKIP
    ...     np.savez(tmp, x=x)

    Book: ``book/04_data.ipynb``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix, so that writers that add one (np.savez adds ".npz") write exactly to ``tmp``.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
