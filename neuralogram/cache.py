"""Where the package keeps generated files, and how it writes them without leaving half-written files.

The cache folder is ``$NEURALOGRAM_CACHE`` or ``~/.cache/neuralogram``. Generated corpora and probe results
are stored under a name that contains a hash of every parameter that made them, so a change of parameters
(or of the model) never reuses a stale file.

Book: ``book/04_data.ipynb`` (corpora) and the probe chapters (cached probe results).
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import stat
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


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Nothing half-written is ever left at ``path``: on error the temporary file is removed. The result gets the
    permissions of the file it replaces, or those a new file gets (``0666`` less the umask: ``0644`` usually),
    not the ``0600`` of a temporary file. A writer that writes beside ``tmp`` instead of to it (``np.savez``
    given a name without ``.npz`` appends ``.npz``) is caught: its stray file is removed and ``ValueError`` raised,
    instead of an empty file being renamed onto ``path``.

    Examples
    --------
    >>> with atomic_path("out.npz") as tmp:      # doctest: +SKIP
    ...     np.savez(tmp, x=x)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix, so that writers that add one (np.savez adds ".npz") write exactly to ``tmp``.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)

    def strays():
        return [p for p in tmp.parent.glob(glob.escape(tmp.name) + "?*")]

    try:
        yield tmp
        extra = strays()
        if extra:
            raise ValueError(f"the writer of {path.name} wrote {extra[0].name[len(tmp.name):]!r}-suffixed files "
                             f"beside its temporary file (np.savez appends .npz to a name without it); nothing "
                             f"was written to {path}")
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode) if path.is_file() else 0o666 & ~_umask()
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        for p in [tmp, *strays()]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
        raise
