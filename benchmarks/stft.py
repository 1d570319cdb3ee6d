"""From-scratch STFT (frame + window + DFT matrix, neuralogram.spectral.stft) against torch.stft.

Prints, measured in this one run on a 10-minute signal at the paper's settings (8 kHz, 30 ms Hann in a 256-point
FFT, 10 ms hop), the time of each, their ratio, and the largest difference relative to the peak magnitude.

    .venv/bin/python benchmarks/stft.py [--minutes 10] [--repeats 5] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from neuralogram import signals as sg
from neuralogram import spectral as sp


def best_of(fn, repeats: int) -> tuple[float, float]:
    """Median and minimum wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    sr, n_fft, win, hop = sp.PAPER_SR, sp.PAPER_N_FFT, sp.PAPER_WIN_LENGTH, sp.PAPER_HOP_LENGTH
    y = sg.noise(duration=60.0 * args.minutes, sr=sr, color="pink", seed=0)
    y += sg.down_up_chirp(duration=60.0 * args.minutes, sr=sr)
    x = torch.from_numpy(y)
    window = torch.hann_window(win)

    def ours():
        return sp.stft(x, n_fft=n_fft, win_length=win, hop_length=hop)

    def reference():
        return torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=win, window=window, center=True,
                          pad_mode="constant", return_complex=True)

    X, R = ours(), reference()
    rel = float((X - R).abs().max() / R.abs().max())
    t_ours, t_ours_min = best_of(ours, args.repeats)
    t_ref, t_ref_min = best_of(reference, args.repeats)
    print(f"signal: {args.minutes:g} min at {sr} Hz = {y.size} samples -> {X.shape[-1]} frames x {X.shape[-2]} bins; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"from-scratch stft (DFT matrix): median {t_ours * 1e3:8.1f} ms (best {t_ours_min * 1e3:.1f} ms)")
    print(f"torch.stft (FFT):               median {t_ref * 1e3:8.1f} ms (best {t_ref_min * 1e3:.1f} ms)")
    print(f"ratio from-scratch / torch.stft: {t_ours / t_ref:.2f}x (median over {args.repeats} runs)")
    print(f"max |ours - torch| / peak |torch|: {rel:.2e}")
    return t_ours / t_ref, rel


if __name__ == "__main__":
    main()
