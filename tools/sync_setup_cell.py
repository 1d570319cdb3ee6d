"""Write the chapters' set-up cell: the same first code cell in every chapter, generated from ``_config.yml``.

The repository URL lives in one place, ``repository.url`` of ``_config.yml``; this script turns it into the cell
that, on Colab, clones the book and pip-installs the package (plain Python, no ``!``/``%`` magics, which Pygments
cannot lex), and everywhere makes the package importable and prints the versions used. The cell carries the
``hide-input`` tag, so the rendered page folds it.

    python tools/sync_setup_cell.py            # rewrite the first code cell of every book/NN_*.ipynb
    python tools/sync_setup_cell.py --check    # exit 1 if a chapter's cell differs (tests/test_setup_cell.py)
    python tools/sync_setup_cell.py book/15_hear.ipynb   # only these chapters

A chapter whose first code cell is still the old set-up (it starts with the ``# Setup`` comment and also holds the
chapter's imports) is split: the set-up part is replaced, the chapter's own lines (imports, and anything else
after the old set-up) move to a new second cell.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAGS = ["hide-input"]
MARK = "# Set-up (the same in every chapter, written by tools/sync_setup_cell.py from _config.yml)"

TEMPLATE = '''{mark}:
# on Colab, fetch the book and install it; everywhere, import the package from this checkout
# and print the versions used.
import os, subprocess, sys
REPOSITORY = "{url}"
if "google.colab" in sys.modules:
    if not os.path.isdir("{clone}"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPOSITORY,
                        "{clone}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e",
                        "{clone}[book]"], check=True)
    os.chdir("{clone}/book")
if os.path.isdir("../neuralogram") and os.path.abspath("..") not in sys.path:
    sys.path.insert(0, os.path.abspath(".."))
import matplotlib, numpy, torch, neuralogram
torch.set_num_threads(min(2, os.cpu_count() or 1))
print(f"neuralogram {{neuralogram.__version__}} | numpy {{numpy.__version__}} | "
      f"torch {{torch.__version__}} | matplotlib {{matplotlib.__version__}} | "
      f"Python {{sys.version.split()[0]}}")'''


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """``repository.url`` of the book's ``_config.yml`` (read without a YAML dependency: two indented keys)."""
    text = config.read_text(encoding="utf-8")
    m = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*[\"']?([^\s\"'#]+)", text, flags=re.M)
    if not m:
        raise ValueError(f"{config}: no repository.url")
    return m.group(1).rstrip("/")


def setup_source(url: str | None = None) -> str:
    """The set-up cell's source for the repository at ``url`` (default: ``_config.yml``'s)."""
    url = url or repository_url()
    clone = "/content/" + url.rsplit("/", 1)[-1].removesuffix(".git")
    return TEMPLATE.format(mark=MARK, url=url, clone=clone)


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def first_code_cell(nb: dict) -> tuple[int, dict]:
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            return i, cell
    raise ValueError("no code cell")


_OLD_SETUP_END = re.compile(r"^%matplotlib inline\s*$", flags=re.M)
_DROP = re.compile(r"^(torch\.set_num_threads\(.*\)|%matplotlib inline)\s*$")


def _chapter_lines(old: str) -> str:
    """The chapter's own lines of an old set-up cell: what follows the Colab block, minus what the new cell does."""
    m = _OLD_SETUP_END.search(old)
    rest = old[m.end():] if m else ""
    lines = [ln for ln in rest.splitlines() if not _DROP.match(ln)]
    # the old cell printed the versions it imported; the set-up cell prints them now
    text = "\n".join(lines).strip("\n")
    text = re.sub(r"\nprint\(f\"neuralogram \{neuralogram.__version__\}.*?\)\s*$", "", "\n" + text, flags=re.S)
    return text.strip("\n")


def sync(path: Path, source: str, *, check: bool = False) -> bool:
    """Make ``path``'s first code cell the set-up cell; returns True when it already was (or, with check, is)."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    i, cell = first_code_cell(nb)
    old = "".join(cell["source"])
    same = old == source and cell.get("metadata", {}).get("tags") == TAGS
    if same or check:
        return same
    if not old.startswith(MARK):
        own = _chapter_lines(old)
        if own:
            nb["cells"].insert(i + 1, {"cell_type": "code", "execution_count": None, "id": f"{cell.get('id', i)}-imports",
                                       "metadata": {}, "outputs": [], "source": own.splitlines(keepends=True)})
    cell["source"] = source.splitlines(keepends=True)
    cell["metadata"] = {**cell.get("metadata", {}), "tags": TAGS}
    cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="chapters (default: every book/NN_*.ipynb)")
    p.add_argument("--check", action="store_true", help="report chapters whose set-up cell differs; change nothing")
    args = p.parse_args(argv)
    source = setup_source()
    bad = [nb for nb in (args.notebooks or chapters()) if not sync(nb, source, check=args.check)]
    for nb in bad:
        print(f"{'differs' if args.check else 'rewrote'}: {nb}")
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
