"""Print how long `make book` spent executing each chapter (from jupyter-book's execution cache), slowest first.

Run by ``make book`` after the build; ``python tools/book-times.py [_build/.jupyter_cache]``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from jupyter_cache import get_cache


def main(path: str = "_build/.jupyter_cache") -> int:
    if not Path(path).is_dir():
        print(f"book-times: no execution cache at {path}")
        return 0
    cache = get_cache(path)
    seconds = {}
    for rec in sorted(cache.list_cache_records(), key=lambda r: r.created):  # the latest execution wins
        seconds[rec.uri] = (rec.data or {}).get("execution_seconds")
    rows, failed = [], []
    for rec in cache.list_project_records():
        name = Path(rec.uri).name
        if rec.traceback:
            failed.append(name)
        rows.append((None if rec.traceback else seconds.get(rec.uri), name))
    rows.sort(key=lambda r: -(r[0] or 0))
    total = sum(s or 0 for s, _ in rows)
    print("chapter execution times (s), from the cache (a chapter not re-run shows its last run):")
    for s, name in rows:
        print(f"  {'-' if s is None else f'{s:7.1f}'}  {name}")
    print(f"  {total:7.1f}  total")
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
