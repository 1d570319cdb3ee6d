"""The chapters that read the real recordings must run where the recordings are absent.

ESC-50, FSDD and UrbanSound8K are not in the repository (``neuralogram/data/real_sources.py`` says where they are
looked for). On Binder, on Colab or in a fresh clone the loaders raise ``RealDataMissing``. Every call in a
chapter's code that loads one of them must therefore sit under one of the book's guards: in the body of a ``try``
that catches ``RealDataMissing``, or in the body (not the ``else``) of an ``if`` that asks ``have(...)`` (chapter
13) or ``HAVE_REAL`` (chapter 14). This static check takes a second; running a chapter without the recordings
(``NEURALOGRAM_NO_SHARED=1`` and an empty ``NEURALOGRAM_CACHE``) is what shows that the cells using their results
are skipped too.

Book: ``book/11_semantics.ipynb``, ``book/13_audioset_net.ipynb``, ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
#: calls that read a real set (directly, or inside the package function named)
LOADERS = {"esc50", "fsdd", "fsdd_words", "urbansound8k", "heldout_figures", "real_world_probe"}
#: the chapters known to read them: the check must find loader calls in each
READERS = {"11_semantics", "13_audioset_net", "14_real_world"}
GUARD_NAMES = {"have", "HAVE_REAL"}


def _name(func) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _catches_missing(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(t is not None and _name(t) == "RealDataMissing" for t in types)


def _guarded(path: list) -> bool:
    """Whether the innermost node of ``path`` (root first) lies under a guard."""
    for parent, child in zip(path, path[1:]):
        if isinstance(parent, ast.Try) and child in parent.body and any(map(_catches_missing, parent.handlers)):
            return True
        if isinstance(parent, ast.If) and child in parent.body and any(
                _name(n) in GUARD_NAMES for n in ast.walk(parent.test) if isinstance(n, (ast.Name, ast.Attribute))):
            return True
    return False


def loader_calls(source: str) -> list[tuple[int, str, bool]]:
    """``(line, loader, guarded)`` for each call of a :data:`LOADERS` function in ``source``."""
    found = []

    def visit(node, path):
        path = path + [node]
        if isinstance(node, ast.Call) and _name(node.func) in LOADERS:
            found.append((node.lineno, _name(node.func), _guarded(path)))
        for child in ast.iter_child_nodes(node):
            visit(child, path)

    lines = [line for line in source.split("\n") if not line.lstrip().startswith(("%", "!"))]
    visit(ast.parse("\n".join(lines)), [])
    return found


def chapter_calls(path: Path) -> list[tuple[str, int, str, bool]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(cell.get("id", str(k)), *call) for k, cell in enumerate(cells) if cell["cell_type"] == "code"
            for call in loader_calls("".join(cell["source"]))]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_real_data_load_is_guarded(path):
    calls = chapter_calls(path)
    if path.stem in READERS:
        assert calls, f"{path.name}: no loader call found; the check would pass without looking"
    bare = [f"cell {cid}, line {line}: {name}()" for cid, line, name, ok in calls if not ok]
    assert not bare, f"{path.name}: real recordings read without a guard: {bare}"


def test_the_readers_are_all_found():
    found = {p.stem for p in CHAPTERS if chapter_calls(p)}
    assert READERS <= found, READERS - found


def test_the_check_tells_guarded_from_bare():
    src = "\n".join([
        "esc = real.esc50()",                                     # bare
        "try:",
        "    words = real.fsdd_words()",                          # guarded
        "except real.RealDataMissing:",
        "    words = None",
        "try:",
        "    us = urbansound.urbansound8k()",                     # bare: the wrong exception
        "except ValueError:",
        "    pass",
        "if have('ESC-50'):",
        "    f = transfer.heldout_figures(net, info)",            # guarded
        "else:",
        "    esc = real.esc50()",                                 # bare: the else branch
        "if HAVE_REAL:",
        "    r = rw.real_world_probe(net)",                       # guarded
        "if True:",
        "    d = real.fsdd('test')",                              # bare: not a guard
    ])
    assert [(line, ok) for line, _, ok in loader_calls(src)] == [
        (1, False), (3, True), (7, False), (11, True), (13, False), (15, True), (17, False)]
