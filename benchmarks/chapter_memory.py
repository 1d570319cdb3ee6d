"""Peak memory of each chapter, against Binder's 2 GB: executes every chapter as the book build does (nbclient)
and samples the kernel's resident memory (RSS) every 0.2 s, alone and with its child processes (the stand-in
corpus is generated in worker processes).

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/chapter_memory.py [book/07_pitch.ipynb ...]

Prints one line per chapter (peak kernel RSS, peak kernel + children RSS, wall time) and exits 1 if a chapter
failed or went over the budget (``--budget-mb``, default 2048). Chapters run in book/ with the caches as they are
(set ``NEURALOGRAM_CACHE`` to an empty folder to measure a cold start).

Book: every chapter (``book/NN_*.ipynb``); Binder set-up in ``environment.yml`` / ``README.md``.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


class _Sampling(NotebookClient):
    """nbclient that samples the kernel's memory while the notebook runs."""

    peak_kernel = 0
    peak_tree = 0

    async def async_execute(self, **kw):
        self._sampler = None
        return await super().async_execute(**kw)

    async def async_start_new_kernel_client(self, *a, **kw):
        out = await super().async_start_new_kernel_client(*a, **kw)
        pid = self.km.provisioner.process.pid if getattr(self.km, "provisioner", None) else None
        if pid:
            self._sampler = asyncio.ensure_future(self._sample(psutil.Process(pid)))
        return out

    async def _sample(self, proc: psutil.Process):
        while True:
            try:
                rss = proc.memory_info().rss
                tree = rss
                for child in proc.children(recursive=True):
                    try:
                        tree += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.peak_kernel = max(self.peak_kernel, rss)
            self.peak_tree = max(self.peak_tree, tree)
            await asyncio.sleep(0.2)


def measure(path: Path, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = _Sampling(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as err:  # noqa: BLE001  (report the chapter, go on with the next)
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:160] if str(err).strip() else ''}"
    return {"chapter": path.name, "kernel_mb": client.peak_kernel / 2**20, "tree_mb": client.peak_tree / 2**20,
            "seconds": time.perf_counter() - t0, "error": error}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", type=Path, help="default: every book/NN_*.ipynb")
    ap.add_argument("--budget-mb", type=float, default=2048.0)
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = ap.parse_args(argv)
    chapters = args.chapters or sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'chapter':28s} {'kernel MB':>10s} {'+children':>10s} {'wall s':>8s}  (budget {args.budget_mb:.0f} MB)")
    bad = 0
    for path in chapters:
        r = measure(path.resolve(), args.timeout)
        over = max(r["kernel_mb"], r["tree_mb"]) > args.budget_mb
        bad += bool(r["error"]) or over
        note = (" OVER BUDGET" if over else "") + (f"  FAILED {r['error']}" if r["error"] else "")
        print(f"{r['chapter']:28s} {r['kernel_mb']:10.0f} {r['tree_mb']:10.0f} {r['seconds']:8.0f}{note}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
