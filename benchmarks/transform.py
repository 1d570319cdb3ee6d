"""The neuralogram of one hour of audio: exact and fast mode against real time, memory and the FLOP floor.

Measured in this one run, on this machine, with the default model (``neuralogram.DEFAULT_MODEL``, E = 500; a random
network of the same shape if no checkpoint is shipped yet — the time does not depend on the weights):

* the real-time factor (audio seconds per wall second) of ``neuralogram(..., mode="exact")`` and ``"fast"``,
  hop 0.5 s, window 2 s (targets: exact >= 30x, fast >= 100x);
* the peak resident memory of each mode, each run in a fresh child process (target <= 1.5 GB);
* the **FLOP floor**: the time the conv trunk alone needs for the same 7,200 windows, their 129 x 200
  spectrograms already in memory, at its best batch size (measured here on a sample of windows and
  scaled); exact / floor says how much the transform adds around the network (resampling, framing, STFT,
  batching). Fast mode runs the trunk once over the whole signal, so it can be *below* the floor;
* **against an earlier commit** (``--against REV``, default the commit before the package was re-laid out for
  issue 10): that commit's package is extracted with ``git archive`` into a temporary folder, and the exact mode
  of both versions runs on the same ``--compare-minutes`` of signal, alternately in fresh processes
  (``--repeats`` times each, the fastest run of each counts); the ratio new / old of the exact-mode times is
  printed (1.00 = no change; below 1 = faster now).

    .venv/bin/python benchmarks/transform.py [--minutes 60] [--threads 2] [--model NAME]
                                             [--against REV] [--compare-minutes 10] [--repeats 3]

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def make_signal(minutes: float, sr: int = 8000) -> np.ndarray:
    """A deterministic hour-like test signal: pink-ish noise bursts, a slow chirp and clicks (float32, 8 kHz)."""
    n = int(minutes * 60 * sr)
    rng = np.random.default_rng(0)
    y = np.empty(n, np.float32)
    block = 60 * sr
    for b0 in range(0, n, block):  # in blocks: no float64 copy of the hour
        b1 = min(n, b0 + block)
        t = np.arange(b0, b1) / sr
        env = 0.05 + 0.1 * (np.sin(2 * np.pi * t / 7.0) > 0)
        f = 200 + 1800 * (0.5 + 0.5 * np.sin(2 * np.pi * t / 300.0))
        phase = 2 * np.pi * np.cumsum(f) / sr
        y[b0:b1] = (env * rng.standard_normal(b1 - b0) + 0.2 * np.sin(phase)).astype(np.float32)
        y[b0:b1:sr // 4] += 0.8
    return y


def _load(name):
    from neuralogram.checkpoints import available_models, load_model
    from neuralogram.model import ModelConfig, NeuralogramNet

    if name in available_models():
        model, info = load_model(name)
        return model, info["name"]
    torch.manual_seed(0)
    return NeuralogramNet(ModelConfig(n_classes=40, embedding_size=500)).eval(), "random E=500 (no checkpoint shipped)"


ROOT = Path(__file__).resolve().parent.parent
#: The last commit before the package was re-laid out (issue 10): what --against compares with by default. (The
#: file moves first reached history in 2051600, whose parent this is; the layout itself is 944fc94.)
PRE_REFACTOR = "b92e5e0"


def _child(mode, minutes, threads, name, q, root=None, save=True):
    sys.path.insert(0, str(root or ROOT))  # this checkout, or another version of the package (see --against)
    os.environ.setdefault("NEURALOGRAM_MODELS", str(ROOT / "data" / "models"))  # the same models for both
    torch.set_num_threads(threads)
    import inspect

    import neuralogram
    from neuralogram import neuralogram as transform

    old_api = "sr" in list(inspect.signature(transform).parameters)[:2]  # (y, sr, model) before issue 10

    def run(y):
        return transform(y, 8000, model, mode=mode) if old_api else transform(y, model, sr=8000, mode=mode)

    model, label = _load(name)
    y = make_signal(minutes)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(y[: 8000 * 20])  # warm-up (allocator, kernels)
    t0 = time.perf_counter()
    N, times = run(y)
    dt = time.perf_counter() - t0
    if save:
        np.save(f"/tmp/neuralogram-bench-{mode}.npy", N)
    q.put({"mode": mode, "seconds": dt, "shape": list(N.shape), "model": label, "package": neuralogram.__file__,
           "checksum": float(np.abs(N).sum()), "rss_before_mb": rss0 / 1024,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def run_child(mode, minutes, threads, name, root=None, save=True):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(mode, minutes, threads, name, q, root, save))
    p.start()
    p.join()
    if p.exitcode != 0 or q.empty():
        raise RuntimeError(f"the {mode}-mode child ({root or ROOT}) failed with exit code {p.exitcode}")
    return q.get()


def against(rev, minutes, threads, name, repeats):
    """Exact-mode seconds of this checkout and of commit ``rev`` on the same signal, alternating fresh processes."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="neuralogram-bench-") as tmp:
        archive = subprocess.run(["git", "archive", rev, "neuralogram"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        times = {"old": [], "new": []}
        sums = {}
        for _ in range(repeats):
            for which, root in (("old", Path(tmp)), ("new", None)):
                r = run_child("exact", minutes, threads, name, root=root, save=False)
                times[which].append(r["seconds"])
                sums[which] = r["checksum"]
                assert (which == "old") == r["package"].startswith(tmp), r["package"]
    return sha, times, sums


@torch.inference_mode()
def flop_floor(minutes, threads, name, n_windows):
    """Seconds the trunk alone needs for ``n_windows`` ready spectrograms, at its best batch size."""
    from neuralogram.audio import resample

    torch.set_num_threads(threads)
    model, _ = _load(name)
    y = torch.from_numpy(make_signal(2.5))
    if model.sr != 8000:
        y = resample(y, orig_sr=8000, target_sr=model.sr)
    W, H = int(2 * model.sr), model.sr // 2
    segs = torch.stack([y[s:s + W] for s in range(0, 256 * H, H)])
    S = model.frontend(segs).contiguous()  # 256 ready windows: the network's own input
    best = None
    for bs in (1, 2, 4, 8, 16, 32, 64):
        model.features(S[:bs])  # warm-up
        reps = max(2, 512 // bs)
        t0 = time.perf_counter()
        for r in range(reps):
            model.features(S[(r * bs) % 256:(r * bs) % 256 + bs])
        per = (time.perf_counter() - t0) / (reps * bs)
        print(f"  trunk only, batch {bs:3d}: {per * 1e3:6.2f} ms/window")
        if best is None or per < best[1]:
            best = (bs, per)
    gflop = model.count_flops() / 1e9
    return best, gflop


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--model", default=None, help="a shipped model (default: neuralogram.DEFAULT_MODEL)")
    ap.add_argument("--against", default=PRE_REFACTOR, help="git revision to compare the exact mode with ('' skips)")
    ap.add_argument("--compare-minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compare-only", action="store_true", help="only the comparison with --against")
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's package, also when run as a plain script
    if args.model is None:
        from neuralogram import DEFAULT_MODEL

        args.model = DEFAULT_MODEL
    if args.compare_only:
        return _report_against(args, {})
    audio_s = args.minutes * 60
    print(f"one signal of {args.minutes:g} min at 8 kHz (resampled to the network's rate by the transform), window 2 s, "
          f"hop 0.5 s; torch {torch.__version__}, "
          f"{args.threads} thread(s), {os.cpu_count()} CPU(s)")
    res = {m: run_child(m, args.minutes, args.threads, args.model) for m in ("exact", "fast")}
    n_windows = res["exact"]["shape"][1]
    print(f"model: {res['exact']['model']}; neuralogram {res['exact']['shape'][0]} x {n_windows}")
    (bs, per), gflop = flop_floor(args.minutes, args.threads, args.model, n_windows)
    floor = per * n_windows
    print(f"FLOP floor: trunk alone, best batch {bs}: {per * 1e3:.2f} ms/window x {n_windows} windows = {floor:.1f} s "
          f"({gflop:.2f} GFLOP/window -> {gflop / per:.1f} GFLOP/s)")
    ex = np.load("/tmp/neuralogram-bench-exact.npy")
    fa = np.load("/tmp/neuralogram-bench-fast.npy")
    from neuralogram.transform import fast_vs_exact

    d = fast_vs_exact(ex, fa)
    targets = {"exact": 30, "fast": 100}
    print(f"{'mode':6s} {'wall (s)':>9s} {'x real time':>12s} {'target':>7s} {'/ floor':>8s} {'peak RSS':>9s}")
    ok = True
    for m in ("exact", "fast"):
        r = res[m]
        rtf = audio_s / r["seconds"]
        met = rtf >= targets[m] and r["peak_rss_mb"] <= 1536
        ok &= met
        print(f"{m:6s} {r['seconds']:9.1f} {rtf:11.1f}x {targets[m]:6d}x {r['seconds'] / floor:8.2f} "
              f"{r['peak_rss_mb']:7.0f} MB  {'meets' if met else 'MISSES'} the targets")
    print(f"fast vs exact: relative error {d['rel_error']:.3f}, correlation {d['corr']:.4f}, median per-frame "
          f"correlation {d['median_column_corr']:.4f}; speed-up {res['exact']['seconds'] / res['fast']['seconds']:.1f}x")
    summary = {"exact_rtf": audio_s / res["exact"]["seconds"], "fast_rtf": audio_s / res["fast"]["seconds"],
               "exact_peak_rss_mb": res["exact"]["peak_rss_mb"], "fast_peak_rss_mb": res["fast"]["peak_rss_mb"],
               "exact_over_floor": res["exact"]["seconds"] / floor, "fast_vs_exact": d}
    if args.against:
        _report_against(args, summary)
    else:
        print(json.dumps(summary))
    return 0 if ok else 1


def _report_against(args, summary: dict) -> int:
    """Run :func:`against` and print its line and ``summary`` (as JSON) with the comparison added."""
    sha, t, sums = against(args.against, args.compare_minutes, args.threads, args.model, args.repeats)
    ratio = min(t["new"]) / min(t["old"])
    print(f"exact mode, {args.compare_minutes:g} min, this checkout vs {args.against} ({sha}), {args.repeats} "
          f"alternating runs each: new {', '.join(f'{x:.1f}' for x in t['new'])} s, old "
          f"{', '.join(f'{x:.1f}' for x in t['old'])} s -> ratio new/old of the fastest runs {ratio:.3f} "
          f"(same result: sum |N| {sums['new']:.6g} vs {sums['old']:.6g})")
    summary.update(against=sha, exact_seconds_new=t["new"], exact_seconds_old=t["old"], exact_ratio_new_old=ratio)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
