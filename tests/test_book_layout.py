"""Every line of code a reader sees on a chapter's page fits the text column.

`book/_static/neuralogram.css` sets code in a 12.8 px monospace, which fits about 100 characters at laptop widths;
a longer line wraps at the column's edge (the code then reads as if the line had ended). The limit below leaves a
small margin. It covers code cells and the ```python blocks of exercise solutions, which a reader copies.

Book: every chapter, ``book/01_signals.ipynb`` ... ``book/15_hear.ipynb``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
MAX_CHARS = 98
SOLUTION_CODE = re.compile(r"```python\n(.*?)```", re.S)


def long_lines(path: Path) -> list[str]:
    """``"cell K: N chars: <line start>"`` for each code line longer than :data:`MAX_CHARS`."""
    out = []
    for k, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        src = "".join(cell["source"])
        blocks = [src] if cell["cell_type"] == "code" else SOLUTION_CODE.findall(src)
        out += [f"cell {k}: {len(line)} chars: {line[:60]}" for b in blocks for line in b.split("\n")
                if len(line) > MAX_CHARS]
    return out


def test_there_are_chapters():
    assert len(CHAPTERS) >= 15


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    assert not long_lines(path), f"{path.name}: code lines over {MAX_CHARS} characters wrap on the page"


def test_the_check_sees_a_long_line(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": ["x = 1\n", "y = " + "1 + " * 30 + "1"]},
                    {"cell_type": "markdown", "source": ["```python\n", "z = '" + "a" * 120 + "'\n", "```\n"]},
                    {"cell_type": "markdown", "source": ["prose " * 40]}]}
    p = tmp_path / "01_x.ipynb"
    p.write_text(json.dumps(nb), encoding="utf-8")
    found = long_lines(p)
    assert [f.split(":")[0] for f in found] == ["cell 0", "cell 1"], found
