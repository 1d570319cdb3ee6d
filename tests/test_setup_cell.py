"""Every chapter opens with the same set-up cell, generated from ``_config.yml`` by ``tools/sync_setup_cell.py``."""
import ast
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("sync_setup_cell", ROOT / "tools" / "sync_setup_cell.py")
sync = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync)


def _chapters():
    """The committed chapters (a chapter being written joins once it is committed; git absent: every chapter)."""
    try:
        out = subprocess.run(["git", "ls-files", "book"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        tracked = {ROOT / line for line in out.splitlines()}
    except (OSError, subprocess.CalledProcessError):
        return sync.chapters()
    return [p for p in sync.chapters() if p in tracked] or sync.chapters()


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_first_code_cell_is_the_generated_setup_cell(chapter):
    nb = json.loads(chapter.read_text(encoding="utf-8"))
    _, cell = sync.first_code_cell(nb)
    assert "".join(cell["source"]) == sync.setup_source(), f"run: python tools/sync_setup_cell.py {chapter.name}"
    assert cell["metadata"].get("tags") == ["hide-input"]


def test_setup_cell_is_plain_python_from_the_config_url(tmp_path):
    src = sync.setup_source()
    ast.parse(src)                                    # valid Python: no !shell or %magic lines
    assert not any(line.lstrip().startswith(("!", "%")) for line in src.splitlines())
    url = sync.repository_url()
    assert src.count(url) == 1 and url.startswith("https://")
    cfg = tmp_path / "_config.yml"
    cfg.write_text("title: x\nrepository:\n  path_to_book: ''\n  url: https://example.org/me/my-fork  # a fork\n")
    other = sync.setup_source(sync.repository_url(cfg))
    assert '"https://example.org/me/my-fork"' in other and "/content/my-fork[book]" in other
    with pytest.raises(ValueError, match="repository.url"):
        (tmp_path / "bad.yml").write_text("title: x\n")
        sync.repository_url(tmp_path / "bad.yml")


def test_sync_splits_an_old_setup_cell_and_is_idempotent(tmp_path):
    old = ('# Setup: on Colab, fetch the book\nimport os, sys\nif "google.colab" in sys.modules:\n    !git clone x\n'
           '%matplotlib inline\nimport numpy as np\nimport neuralogram\ntorch.set_num_threads(2)\n'
           'print(f"neuralogram {neuralogram.__version__} | numpy {np.__version__}")\n')
    nb = {"cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# Title"]},
                    {"cell_type": "code", "id": "c", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": old.splitlines(keepends=True)}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path / "01_x.ipynb"
    p.write_text(json.dumps(nb))
    assert not sync.sync(p, sync.setup_source())
    cells = json.loads(p.read_text())["cells"]
    assert "".join(cells[1]["source"]) == sync.setup_source() and cells[1]["metadata"]["tags"] == ["hide-input"]
    assert "".join(cells[2]["source"]) == "import numpy as np\nimport neuralogram" and cells[2]["id"] == "c-imports"
    assert sync.sync(p, sync.setup_source()) and len(json.loads(p.read_text())["cells"]) == 3
