"""``neuralogram distill``: train the paper's VGG on the AudioSet network's outputs (:func:`neuralogram.distill.distill`).

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from .options import add_run_options, add_schedule_options

__all__ = ["register"]


def _plan(args):
    from ..distill import CropPlan, PlanConfig, check_no_held_out, default_sources

    sources = default_sources(standin_clips=args.standin_clips, standin_seed=args.standin_seed,
                              n_probes=args.probes, probe_seed=args.plan_seed, real=not args.no_real)
    check_no_held_out(sources)
    try:
        views = tuple((k, int(n)) for k, n in (kv.split("=") for kv in args.views_per_kind.split(",") if kv))
    except ValueError:
        raise ValueError(f"--views-per-kind must read KIND=N,KIND=N (e.g. esc50=8,fsdd=1), got "
                         f"{args.views_per_kind!r}") from None
    return CropPlan(sources, PlanConfig(n_views=args.views, views=views, p_clean=args.p_clean, p_mix=args.p_mix,
                                        val_fraction=args.val_fraction, seed=args.plan_seed),
                    augment_seed=args.plan_seed)


def _main(args) -> int:
    import torch

    from ..distill import distill, teacher_logits

    if args.threads:
        torch.set_num_threads(args.threads)
    command = "neuralogram " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if args.command is None else args.command
    plan = _plan(args)
    print(f"crop plan {plan.hash}: {len(plan)} crops ({len(plan.indices('train'))} train, "
          f"{len(plan.indices('val'))} validation) of {len(plan.sources)} sources", flush=True)
    if args.teacher_only:
        teacher_logits(plan, args.teacher)
        return 0
    distill(plan, args.out, teacher=args.teacher, embedding_size=args.embedding_size, width=args.width,
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, temperature=args.temperature,
            loss=args.loss, seed=args.seed, resume=args.resume, steps_per_epoch=args.steps_per_epoch,
            num_workers=args.workers, us8k_every=args.us8k_every, export=args.export, command=command,
            init_from=args.init_from, lr_schedule=args.lr_schedule)
    return 0


def register(subparsers) -> None:
    """Add ``neuralogram distill``.

    Book: ``book/05_model.ipynb``.
    """
    p = subparsers.add_parser("distill", help="train the VGG on the AudioSet network's outputs (distillation)",
                              description="Distil mn04-audioset into the paper's VGG: a fixed plan of 2 s crops of "
                              "the real training sets, the stand-in corpus, mixtures, augmentations and probe "
                              "signals, labelled by the teacher (cached), then the student trained on them.")
    p.add_argument("--out", required=True, help="run folder (last.pt, metrics.jsonl)")
    p.add_argument("--teacher", default="mn04-audioset", help="the teacher (shipped name or path)")
    g = p.add_argument_group("crop plan")
    g.add_argument("--views", type=int, default=4, help="crops per source of a kind --views-per-kind does not list")
    g.add_argument("--views-per-kind", default="esc50=8,urbansound8k=4,fsdd=1,standin=2,probe=2",
                   help="crops per source by kind (default: %(default)s)")
    g.add_argument("--p-clean", type=float, default=0.25, help="probability that a crop is left as recorded")
    g.add_argument("--p-mix", type=float, default=0.3, help="probability that another crop is a two-source mixture")
    g.add_argument("--val-fraction", type=float, default=0.1, help="fraction of source groups for validation")
    g.add_argument("--plan-seed", type=int, default=0)
    g.add_argument("--probes", type=int, default=1000, help="probe-like signals (tones, chirps, impulses, noise, "
                   "silence)")
    g.add_argument("--standin-clips", type=int, default=4000, help="stand-in corpus size (0: none)")
    g.add_argument("--standin-seed", type=int, default=0)
    g.add_argument("--no-real", action="store_true", help="leave out ESC-50, FSDD and UrbanSound8K")
    g.add_argument("--teacher-only", action="store_true", help="build the teacher cache and stop")
    s = p.add_argument_group("student")
    s.add_argument("--embedding-size", type=int, default=500)
    s.add_argument("--width", type=float, default=0.125)
    s.add_argument("--loss", choices=["bce", "mse-logits"], default="bce")
    s.add_argument("--temperature", type=float, default=1.0)
    add_schedule_options(s)
    s.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                   help="Adam's learning rate: constant, or decayed to 0 by a cosine over --epochs")
    s.add_argument("--init-from", default=None, metavar="MODEL",
                   help="start from this model's weights (shipped name or checkpoint; same architecture)")
    s.add_argument("--us8k-every", type=int, default=0,
                   help="UrbanSound8K fold 2 zero-shot top-1 every N epochs (0: only with --export)")
    add_run_options(p, resume_help="continue from OUT/last.pt (refused if the recipe changed)")
    p.add_argument("--export", default=None, help="write the shipped model (data/models/NAME.pt) and its card")
    p.add_argument("--command", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_main, prog=p.prog)
