"""The ``neuralogram`` command line (also ``python -m neuralogram``): every sub-command's argparse lives here.

``neuralogram data standin`` / ``neuralogram data audioset`` (:mod:`.data`), ``neuralogram train`` (:mod:`.train`),
``neuralogram distill`` (:mod:`.distill`),
``neuralogram compute`` (:mod:`.compute`). Each sub-command resolves its inputs (model name, audio file) once and
calls the package's functions; the package itself has no argparse.

Book: ``book/04_data.ipynb`` (data), ``book/05_model.ipynb`` (train), ``book/06_neuralogram.ipynb`` (compute).
"""
from __future__ import annotations

import argparse
import sys

from . import compute, data, distill, train

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``neuralogram compute: error: ...``, status 2), like every user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``neuralogram`` argument parser with every sub-command.

    Book: ``book/06_neuralogram.ipynb``.
    """
    parser = _Parser(prog="neuralogram", description="Neuralograms: data, training, transform.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = sub.choices
    data.register(sub)
    train.register(sub)
    distill.register(sub)
    compute.register(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``neuralogram`` command; returns its exit status.

    Book: ``book/06_neuralogram.ipynb``.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the sub-command's parser: "neuralogram compute: error: unrecognized arguments: ..."
        parser.commands.get(getattr(args, "command", None), parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as err:  # bad input: one line, status 2 (neuralogram compute reports its own)
        print(f"{getattr(args, 'prog', parser.prog)}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
