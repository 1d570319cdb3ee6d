"""``neuralogram compute``: the neuralogram of an audio file, saved as ``.npz`` (and drawn as ``.png``).

File handling: every check that can fail is made before the computation (the output names end in ``.npz`` and
``.png``, are not the input file, also through links or relative paths, are not directories or read-only files,
and their folder exists and takes a new file; the device exists; window, hop, layer and batch size are valid).
The results are written to temporary files and renamed into place together at the end, with the permissions a
new file gets (``0644`` under the usual umask): after any failure nothing is changed and nothing is left
behind. Every user error prints one line, ``neuralogram compute: error: ...``, and exits with status 2.

Book: ``book/06_neuralogram.ipynb``.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ..audio import read_model_rate
from ..cache import atomic_path
from ..checkpoints import DEFAULT_MODEL, check_device, load_model
from ..transform import _check_args, check_layer, neuralogram_8k, sort_indices, spectrogram_overview

__all__ = ["register"]

_PROG = "neuralogram compute"


def _output_path(name: str, *, suffix: str, option: str, inputs: list) -> Path:
    """The file ``name`` will be written to (a link's target), after every check that writing it could fail."""
    p = Path(name)
    if p.suffix.lower() != suffix:
        why = " (numpy would write another file, NAME.npz)" if suffix == ".npz" else ""
        raise ValueError(f"{option} {name}: the file name must end in {suffix}{why}")
    real = Path(os.path.realpath(p))
    for other in inputs:
        same = real == Path(os.path.realpath(other))
        if not same and real.exists() and Path(other).exists():
            same = os.path.samefile(real, other)  # a hard link
        if same:
            raise ValueError(f"{option} {name} is the same file as {other}: refusing to overwrite it")
    if real.is_dir():
        raise ValueError(f"{option} {name} is a directory; give a file name ending in {suffix}")
    if real.exists() and not real.is_file():
        raise ValueError(f"{option} {name} exists and is not a regular file")
    if real.is_file() and not real.stat().st_mode & 0o222:
        raise ValueError(f"{option} {name} exists and is read-only; remove it or choose another name")
    if not real.parent.is_dir():
        raise ValueError(f"{option} {name}: the folder {real.parent} does not exist")
    try:  # can a new file be made there? (the result is renamed into place from a temporary file)
        fd, probe = tempfile.mkstemp(prefix=f".{real.stem}.probe-", dir=real.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{option} {name}: cannot write in {real.parent} ({err.strerror})") from None
    return real


def _compute(args) -> int:
    # every check that can fail, before the computation
    if not Path(args.input).is_file():
        raise ValueError(f"cannot read {args.input}: " + ("not a regular file" if Path(args.input).exists()
                                                          else "no such file"))
    out = _output_path(args.output, suffix=".npz", option="-o", inputs=[args.input])
    png = None
    if args.png:
        png = _output_path(args.png, suffix=".png", option="--png", inputs=[args.input])
        if png == out:
            raise ValueError(f"--png {args.png} and -o {args.output} name the same file")
    device = check_device(args.device)
    model, info = load_model(args.model or DEFAULT_MODEL)
    mode = "fast" if args.fast else "exact"
    _check_args(model, args.window, args.hop, args.layer, mode, args.batch_size)

    # resolve once: the file into 8 kHz mono (streamed, validated); then pass it down
    t0 = time.perf_counter()
    x8, finfo = read_model_rate(args.input, target_sr=model.sr, progress=not args.quiet)
    N, times = neuralogram_8k(x8, model, window=args.window, hop=args.hop, layer=args.layer, mode=mode,
                              batch_size=args.batch_size, device=device, pad_end=args.pad_end,
                              progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    duration, sr = finfo["duration_s"], finfo["sr"]
    perm, n_active = sort_indices(N, return_n_active=True)
    meta = {"input": str(args.input), "sr": sr, "channels": finfo["channels"], "duration_s": duration,
            "model": info["name"], "model_hash": info["hash"], "layer": check_layer(model, args.layer),
            "window": args.window, "hop": args.hop, "mode": mode, "pad_end": bool(args.pad_end),
            "n_active": int(n_active)}
    with contextlib.ExitStack() as written:  # both files renamed into place at the end, or neither
        tmp = written.enter_context(atomic_path(out))
        with open(tmp, "wb") as fh:  # a file object: numpy writes exactly here, appending nothing
            np.savez(fh, N=N, times=times, perm=perm, meta=np.array(json.dumps(meta)))
        if png is not None:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from ..viz.plotting import neuralogram_figure

            S, st = spectrogram_overview(x8)
            fig = neuralogram_figure(N, times, S=S, spec_times=st, order=perm if args.sort else None,
                                     n_active=n_active if args.sort else None,
                                     title=f"{Path(args.input).name} — {info['name']}, {meta['layer']}, "
                                           f"window {args.window:g} s, hop {args.hop:g} s ({meta['mode']})")
            try:
                fig.savefig(written.enter_context(atomic_path(png)), dpi=110, format="png")
            finally:
                plt.close(fig)
    if not args.quiet:
        print(f"{args.input}: {duration:.1f} s at {sr} Hz -> N {N.shape[0]} x {N.shape[1]} "
              f"({elapsed:.1f} s, {duration / max(elapsed, 1e-9):.0f}x real time) -> {args.output}"
              + (f", {args.png}" if args.png else ""))
    return 0


def _cmd_compute(args) -> int:
    def one_line(message, category, *rest, **kw):  # warnings (e.g. a truncated WAV) as one line each
        print(f"{_PROG}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default", UserWarning)
        warnings.showwarning = one_line
        try:
            return _compute(args)
        except ValueError as err:
            msg = " ".join(str(err).split())
        except OSError as err:  # e.g. the disk filled up while writing
            msg = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
        except KeyboardInterrupt:
            print(f"{_PROG}: interrupted; nothing was written", file=sys.stderr)
            return 130
    print(f"{_PROG}: error: {msg}", file=sys.stderr)
    return 2


def register(subparsers) -> None:
    """Add ``neuralogram compute IN.wav -o OUT.npz [--png OUT.png] [--model NAME] [--window 2] [--hop 0.5] ...``.

    The ``.npz`` holds ``N`` (E, T) float32, ``times`` (T,) seconds, ``perm`` (the time-sorted order: the active
    dimensions first) and ``meta`` (JSON: input, rate, channels, model name and hash, layer, window, hop, mode,
    ``n_active``).

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
    p.add_argument("--sort", action="store_true",
                   help="draw the PNG with dimensions sorted by peak time (a dashed line above the active ones)")
    p.add_argument("--batch-size", type=int, default=16, help="windows per forward pass (exact mode)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default cpu)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_compute, prog=p.prog)
