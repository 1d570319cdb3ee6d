"""Data throughput: how fast the stand-in corpus is made, how fast 2 s crops become spectrograms, and whether
loading can keep up with training.

Prints, measured in one run:
  * generation   clips/s   making the stand-in corpus from scratch (``neuralogram.data.standin.corpus.standin_corpus``
                           into an empty temporary cache, so nothing is reused)
  * loading      clips/s   2 s crop -> 1 x 129 x 200 log spectrogram + target (``store.CropDataset``),
                           item by item, and batched by a ``DataLoader`` in the main process
  * training     clips/s   one Adam step of ``NeuralogramNet`` (forward + backward) on pre-loaded batches
  * the ratio loading / training (target >= 5x: the loader then uses under a fifth of the time and never
    starves the model, even with ``--workers 0``).

Usage::

    python benchmarks/data.py [--clips 200] [--clip-seconds 4] [--batch-size 32] [--batches 6]
                              [--embedding-size 500] [--width 0.125] [--corpus PATH]

Run it on an idle machine for numbers you quote (threads: ``torch.get_num_threads()``, printed).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler


def _generate_standin(n_clips: int, clip_seconds: float, seed: int) -> tuple[Path, float]:
    """Make a fresh stand-in corpus in an empty cache; return its path and the seconds it took."""
    from neuralogram.data.standin import corpus

    cache = tempfile.mkdtemp(prefix="neuralogram-bench-")
    old = os.environ.get("NEURALOGRAM_CACHE")
    os.environ["NEURALOGRAM_CACHE"] = cache
    try:
        t = time.perf_counter()
        path = corpus.standin_corpus(n_clips=n_clips, seed=seed, clip_seconds=clip_seconds)
        return Path(path), time.perf_counter() - t
    finally:
        if old is None:
            os.environ.pop("NEURALOGRAM_CACHE", None)
        else:
            os.environ["NEURALOGRAM_CACHE"] = old


def _noise_store(n_clips: int, clip_seconds: float) -> Path:
    """A store of noise clips, only for measuring loading when no stand-in generator is available."""
    from neuralogram.data.store import Clip, write_store

    rng = np.random.default_rng(0)
    path = Path(tempfile.mkdtemp(prefix="neuralogram-bench-")) / "noise.h5"
    n = int(clip_seconds * 8000)
    write_store(path, (Clip(f"n{i}", (0.1 * rng.standard_normal(n)).astype(np.float32), [i % 4],
                            "eval" if i % 10 == 0 else "train") for i in range(n_clips)),
                label_mids=[f"/m/x{i}" for i in range(4)], label_names=[f"noise {i}" for i in range(4)],
                source="benchmark-noise")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=200, help="stand-in clips to generate (default 200)")
    ap.add_argument("--clip-seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--batches", type=int, default=6, help="training steps timed (after one warm-up)")
    ap.add_argument("--embedding-size", type=int, default=500)
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--corpus", default=None, help="measure loading on this packed corpus instead")
    args = ap.parse_args()

    from neuralogram.data.store import CropDataset, PackedStore
    from neuralogram.model import ModelConfig, NeuralogramNet, loss_fn

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    gen_rate = None
    if args.corpus is None:
        try:
            path, secs = _generate_standin(args.clips, args.clip_seconds, args.seed)
            gen_rate = args.clips / secs
            print(f"generation  {gen_rate:9.1f} clips/s   ({args.clips} stand-in clips of {args.clip_seconds:g} s "
                  f"in {secs:.1f} s; {gen_rate * args.clip_seconds:.0f} s of audio per second)")
        except ImportError as err:
            print(f"generation  unavailable ({err}); measuring loading on noise clips")
            path = _noise_store(args.clips, args.clip_seconds)
    else:
        path = Path(args.corpus)
    store = PackedStore(path)
    print(f"corpus      {store}")

    ds = CropDataset(store, split="train", random_crop=True, seed=0)
    n_items = min(len(ds), 400)
    ds[0]  # warm-up (FFT plans)
    t = time.perf_counter()
    for j in range(n_items):
        spec, target = ds[j]
    item_rate = n_items / (time.perf_counter() - t)
    assert spec.shape == (1, 129, 200) and torch.isfinite(spec).all()
    print(f"loading     {item_rate:9.1f} clips/s   (one 2 s crop -> 1x129x200 spectrogram at a time)")

    n_batched = args.batch_size * max(4, args.batches)
    loader = DataLoader(ds, batch_size=args.batch_size, num_workers=0, drop_last=True,
                        sampler=RandomSampler(ds, replacement=True, num_samples=n_batched,
                                              generator=torch.Generator().manual_seed(0)))
    t = time.perf_counter()
    batches = list(loader)
    batch_rate = n_batched / (time.perf_counter() - t)
    print(f"loading     {batch_rate:9.1f} clips/s   (DataLoader, batch {args.batch_size}, main process)")

    torch.manual_seed(0)
    model = NeuralogramNet(ModelConfig(n_classes=store.n_classes, embedding_size=args.embedding_size,
                                       width=args.width)).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step(spec, target):
        loss = loss_fn(model(spec), target, "mse")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step(*batches[0])  # warm-up
    steps = [batches[i % len(batches)] for i in range(args.batches)]
    t = time.perf_counter()
    for spec, target in steps:
        step(spec, target)
    train_rate = args.batches * args.batch_size / (time.perf_counter() - t)
    print(f"training    {train_rate:9.1f} clips/s   (Adam step, E={args.embedding_size}, width {args.width}, "
          f"batch {args.batch_size}, CPU)")
    ratio = batch_rate / train_rate
    verdict = "OK" if ratio >= 5 else "BELOW TARGET: use DataLoader workers or a smaller crop cost"
    print(f"loading / training = {ratio:.1f}x   (target >= 5x) {verdict}")
    if gen_rate is not None:
        print(f"generation / training = {gen_rate / train_rate:.2f}x   (the corpus is generated once and cached)")


if __name__ == "__main__":
    main()
