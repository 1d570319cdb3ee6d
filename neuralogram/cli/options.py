"""Options that ``neuralogram train`` and ``neuralogram distill`` share: the optimiser's schedule and the run's
resources, declared once so that the two commands spell them the same way.

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

__all__ = ["add_schedule_options", "add_run_options"]


def add_schedule_options(group, *, epochs: int = 10) -> None:
    """``--epochs``, ``--batch-size``, ``--lr`` (Adam's learning rate), ``--seed``, ``--steps-per-epoch``.

    Book: ``book/05_model.ipynb``.
    """
    group.add_argument("--epochs", type=int, default=epochs)
    group.add_argument("--batch-size", type=int, default=32)
    group.add_argument("--lr", type=float, default=1e-3)
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--steps-per-epoch", type=int, default=None)


def add_run_options(group, *, resume_help: str) -> None:
    """``--resume`` (from ``OUT/last.pt``), ``--workers`` (DataLoader processes), ``--threads`` (torch CPU threads).

    Book: ``book/05_model.ipynb``.
    """
    group.add_argument("--resume", action="store_true", help=resume_help)
    group.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    group.add_argument("--threads", type=int, default=None, help="torch CPU threads")
