"""environment.yml (Binder) is requirements.txt's pins with a CPU-only torch, and says so (tools/binder-env.py).

Book: ``README.md`` (Run it in the browser).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(path):
    return [ln.split("#")[0].strip() for ln in path.read_text().splitlines()
            if ln.split("#")[0].strip() and not ln.strip().startswith("-")]


def test_environment_yml_is_up_to_date():
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "binder-env.py"), "--check"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


def test_same_pins_cpu_torch_no_cuda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = [p for p in pip if not p.startswith("-")]
    assert not [p for p in pinned if re.match(r"(nvidia-|cuda-|triton)", p)], "CUDA packages in the Binder env"
    req = _pins(ROOT / "requirements.txt")
    torch = next(p for p in req if p.startswith("torch=="))
    assert f"{torch}+cpu" in pinned and "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    kept = [p for p in req if not re.match(r"(nvidia-|cuda-|triton)", p)]
    assert len(kept) == len(pinned) and all(p in pinned or f"{p}+cpu" in pinned for p in kept)
    assert (ROOT / "postBuild").is_file(), "postBuild installs requirements-nodeps.txt without dependencies"
