"""``neuralogram compute``: the neuralogram of an audio file, saved as ``.npz`` (and drawn as ``.png``).

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ..audio import read_model_rate
from ..cache import atomic_path
from ..checkpoints import DEFAULT_MODEL, load_model
from ..transform import check_layer, neuralogram_8k, sort_indices, spectrogram_overview

__all__ = ["register"]


def _cmd_compute(args) -> int:
    try:
        # resolve once: the model by name, the file into 8 kHz mono (streamed, validated); then pass them down
        model, info = load_model(args.model or DEFAULT_MODEL)
        mode = "fast" if args.fast else "exact"
        t0 = time.perf_counter()
        x8, finfo = read_model_rate(args.input, target_sr=model.config.sr, progress=not args.quiet)
        N, times = neuralogram_8k(x8, model, window=args.window, hop=args.hop, layer=args.layer, mode=mode,
                                  batch_size=args.batch_size, device=args.device, pad_end=args.pad_end,
                                  progress=not args.quiet)
        elapsed = time.perf_counter() - t0
        duration, sr = finfo["duration_s"], finfo["sr"]
        perm = sort_indices(N)
        meta = {"input": str(args.input), "sr": sr, "channels": finfo["channels"], "duration_s": duration,
                "model": info["name"], "model_hash": info["hash"], "layer": check_layer(model, args.layer),
                "window": args.window, "hop": args.hop, "mode": mode, "pad_end": bool(args.pad_end)}
        with atomic_path(args.output) as tmp:
            np.savez(tmp, N=N, times=times, perm=perm, meta=np.array(json.dumps(meta)))
        if args.png:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from ..viz.plotting import neuralogram_figure

            S, st = spectrogram_overview(x8)
            fig = neuralogram_figure(N, times, S=S, spec_times=st, order=perm if args.sort else None,
                                     title=f"{Path(args.input).name} — {info['name']}, {meta['layer']}, "
                                           f"window {args.window:g} s, hop {args.hop:g} s ({meta['mode']})")
            with atomic_path(args.png) as tmp:
                fig.savefig(tmp, dpi=110, format="png")
            plt.close(fig)
    except ValueError as err:
        print(f"neuralogram compute: error: {err}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{args.input}: {duration:.1f} s at {sr} Hz -> N {N.shape[0]} x {N.shape[1]} "
              f"({elapsed:.1f} s, {duration / max(elapsed, 1e-9):.0f}x real time) -> {args.output}"
              + (f", {args.png}" if args.png else ""))
    return 0


def register(subparsers) -> None:
    """Add ``neuralogram compute IN.wav -o OUT.npz [--png OUT.png] [--model NAME] [--window 2] [--hop 0.5] ...``.

    The ``.npz`` holds ``N`` (E, T) float32, ``times`` (T,) seconds, ``perm`` (the time-sorted order) and
    ``meta`` (JSON: input, rate, channels, model name and hash, layer, window, hop, mode).

    Book: ``book/06_neuralogram.ipynb``.
    """
    p = subparsers.add_parser("compute", help="the neuralogram of an audio file",
                              description="Compute the neuralogram of an audio file (any rate; stereo averaged).")
    p.add_argument("input", help="audio file (anything soundfile reads: wav, flac, ogg, mp3, ...)")
    p.add_argument("-o", "--output", required=True, help="output .npz (N, times, perm, meta)")
    p.add_argument("--png", help="also draw spectrogram above neuralogram to this PNG")
    p.add_argument("--model", help=f"shipped model name or checkpoint path (default: {DEFAULT_MODEL})")
    p.add_argument("--window", type=float, default=2.0, help="context window in seconds (<= 2)")
    p.add_argument("--hop", type=float, default=0.5, help="hop in seconds")
    p.add_argument("--layer", default=None, help="trunk layer (default conv5_4)")
    p.add_argument("--fast", action="store_true", help="fast mode: trunk once, pool per window")
    p.add_argument("--pad-end", action="store_true", help="add a zero-padded window covering the end")
    p.add_argument("--sort", action="store_true", help="draw the PNG with dimensions sorted by peak time")
    p.add_argument("--batch-size", type=int, default=16, help="windows per forward pass (exact mode)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default cpu)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_compute)
