"""The ``neuralogram`` command line (also ``python -m neuralogram``).

Sub-commands are defined next to the code they run: ``neuralogram data standin`` (corpus),
``neuralogram data audioset`` (audioset), ``neuralogram train`` (train), ``neuralogram compute`` (transform).
"""
from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "build_parser"]

_DATA = ("corpus", "audioset")
_TOP = ("train", "transform")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuralogram", description="Neuralograms: data, training, transform.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    data = sub.add_parser("data", help="make or download corpora").add_subparsers(dest="data_command", metavar="SOURCE")
    for groups, target in ((_DATA, data), (_TOP, sub)):
        for mod in groups:
            try:
                importlib.import_module(f"neuralogram.{mod}").register_cli(target)
            except ImportError as err:  # an optional dependency of that sub-command is missing
                target.add_parser(mod, help=f"(unavailable: {err})")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
