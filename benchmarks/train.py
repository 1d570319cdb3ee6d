"""Training throughput on CPU: is the model busy, or does the loader starve it?

Prints, measured in one run on the same batches:
  * loader-only samples/s  (2 s crops -> 129 x 200 spectrograms, batched by the DataLoader)
  * model-only samples/s   (forward + backward + Adam on pre-loaded batches)
  * training samples/s     (both, as `neuralogram train` runs them)
  * model busy fraction = training / model-only (target >= 0.8), loader/model ratio, and GFLOP per sample.

Usage: python benchmarks/train.py [--embedding-size 500] [--width 0.125] [--batches 20] [--corpus PATH]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, RandomSampler

from neuralogram.data.store import CropDataset, PackedStore
from neuralogram.model import ModelConfig, NeuralogramNet, count_flops, loss_fn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedding-size", type=int, default=500)
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--corpus", default=None, help="packed corpus (default: a small cached stand-in corpus)")
    args = ap.parse_args()
    if args.corpus is None:
        from neuralogram.data.standin.corpus import standin_corpus
        args.corpus = standin_corpus(n_clips=400, seed=7, clip_seconds=4.0)
    store = PackedStore(args.corpus)
    ds = CropDataset(store, split="train", seed=0)
    loader = DataLoader(ds, batch_size=args.batch_size, sampler=RandomSampler(ds, replacement=True,
                        num_samples=args.batch_size * args.batches, generator=torch.Generator().manual_seed(0)),
                        drop_last=True)
    n = args.batch_size * args.batches
    model = NeuralogramNet(ModelConfig(n_classes=store.n_classes, embedding_size=args.embedding_size,
                                       width=args.width)).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step(spec, target):
        loss = loss_fn(model(spec), target, "mse")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t = time.perf_counter()
    batches = list(loader)
    loader_sps = n / (time.perf_counter() - t)

    step(*batches[0])  # warm-up
    t = time.perf_counter()
    for spec, target in batches:
        step(spec, target)
    model_sps = n / (time.perf_counter() - t)

    t = time.perf_counter()
    for spec, target in loader:
        step(spec, target)
    train_sps = n / (time.perf_counter() - t)

    gflop = count_flops(model.config) / 1e9
    print(f"threads {torch.get_num_threads()}, batch {args.batch_size}, E={args.embedding_size}, width {args.width}")
    print(f"loader-only   {loader_sps:8.1f} samples/s")
    print(f"model-only    {model_sps:8.1f} samples/s  (forward {gflop:.3f} GFLOP/sample, "
          f"~{3 * gflop * model_sps:.0f} GFLOP/s counting backward as 2x forward)")
    print(f"training      {train_sps:8.1f} samples/s")
    print(f"model busy fraction (training / model-only): {train_sps / model_sps:.2f}   (target >= 0.80)")
    print(f"loader / model throughput ratio:             {loader_sps / model_sps:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
