"""``neuralogram train``: train the paper's VGG on a packed corpus (:func:`neuralogram.train.train`).

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from .options import add_run_options, add_schedule_options

__all__ = ["register"]


def _resolve_corpus(args):
    if args.corpus == "mixed":
        from ..data.mixed import mixed_corpus
        return mixed_corpus(standin_clips=args.standin_clips, standin_seed=args.standin_seed,
                            standin_seconds=args.standin_seconds)
    if args.corpus == "standin":
        from ..data.standin.corpus import standin_corpus
        return standin_corpus(n_clips=args.standin_clips, seed=args.standin_seed,
                              clip_seconds=args.standin_seconds)
    return args.corpus


def _main(args) -> int:
    import torch

    from ..train import train

    torch.set_num_threads(args.threads) if args.threads else None
    command = "neuralogram " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if args.command is None else args.command
    corpus = _resolve_corpus(args)
    train(corpus, args.out, embedding_size=args.embedding_size, width=args.width, loss=args.loss,
          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, resume=args.resume,
          balanced=args.balanced, balanced_from=args.balanced_from, steps_per_epoch=args.steps_per_epoch, num_workers=args.workers,
          device=args.device, export=args.export, command=command, init_from=args.init_from,
          train_from=args.train_from, crop_top_db=args.crop_top_db, mixup_alpha=args.mixup,
          spec_masks=args.spec_masks, p_short=args.p_short)
    return 0


def register(subparsers) -> None:
    """Add ``neuralogram train``.

    Book: ``book/05_model.ipynb``.
    """
    p = subparsers.add_parser("train", help="train the VGG on a packed corpus",
                              description="Train the paper's VGG on a packed corpus (AudioSet or the stand-in).")
    p.add_argument("--corpus", required=True, help="path of a packed .h5 corpus, 'standin' for the cached stand-in, or 'mixed' for "
                   "the cached mixed corpus (neuralogram.data.mixed: stand-in + real recordings)")
    p.add_argument("--standin-clips", type=int, default=4000)
    p.add_argument("--standin-seed", type=int, default=0)
    p.add_argument("--standin-seconds", type=float, default=4.0)
    p.add_argument("--out", required=True, help="run folder (last.pt, metrics.jsonl)")
    p.add_argument("--embedding-size", type=int, default=500)
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--loss", choices=["mse", "bce"], default="mse")
    add_schedule_options(p)
    p.add_argument("--balanced", action="store_true", help="class-balanced sampling")
    p.add_argument("--balanced-from", type=int, default=0,
                   help="with --balanced: the first epoch (0-based) that samples class-balanced (uniform before)")
    add_run_options(p, resume_help="continue from OUT/last.pt")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--init-from", default=None, help="start from this checkpoint's weights (name or path); "
                   "output rows are matched by label name")
    p.add_argument("--train-from", default=None, help="freeze the trunk layers before this one (e.g. conv5_1)")
    p.add_argument("--crop-top-db", type=float, default=None,
                   help="draw training crops among those within this many dB of the clip's loudest crop")
    p.add_argument("--mixup", type=float, default=0.0, help="mixup's Beta(alpha, alpha) (0: off)")
    p.add_argument("--spec-masks", type=int, default=0, help="SpecAugment: frequency and time masks per clip (0: off)")
    p.add_argument("--p-short", type=float, default=0.0,
                   help="probability that a batch is cut to a random shorter window (0.16-2 s; 0: off)")
    p.add_argument("--export", default=None, help="write the shipped model (and its card) here at the end")
    p.add_argument("--command", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_main, prog=p.prog)
