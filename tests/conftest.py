import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its cache files under a temporary folder, never into the user's cache."""
    monkeypatch.setenv("NEURALOGRAM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and a second thread that spins while another process holds the
    cores made these tests 100x slower on a busy 2-core machine. Use with ``pytestmark`` or ``autouse``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A 3-class packed corpus of tones (300 / 900 / 2000 Hz) with a little noise: learnable in seconds."""
    from neuralogram.data.store import Clip, write_store

    path = tmp_path_factory.mktemp("corpus") / "tiny.h5"
    rng = np.random.default_rng(0)
    t = np.arange(8000 * 3) / 8000

    def clip(i):
        k = i % 3
        x = 0.5 * np.sin(2 * np.pi * [300, 900, 2000][k] * t + rng.uniform(0, 6)) + 0.05 * rng.standard_normal(t.size)
        return Clip(f"c{i:03d}", x.astype(np.float32), [k], "eval" if i % 5 == 0 else "train")

    write_store(path, (clip(i) for i in range(60)), label_mids=["/m/a", "/m/b", "/m/c"],
                label_names=["Low", "Mid", "High"], source="test", params={"n": 60})
    return path
