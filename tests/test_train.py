import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neuralogram.checkpoints import export_model, load_model, read_checkpoint, save_checkpoint
from neuralogram.data.store import CropDataset, PackedStore
from neuralogram.train import (average_precision, batch_augment, chance_map, mean_average_precision,
                              random_ranking_map, train)

ROOT = Path(__file__).resolve().parent.parent


def test_average_precision_known_values():
    import numpy as np
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    perfect = labels.astype(float)
    assert mean_average_precision(perfect, labels) == pytest.approx(1.0)
    worst = np.array([[0.1, 0.0], [0.9, 0.0], [0.2, 0.0], [0.8, 1.0]])
    ap = average_precision(worst, labels)
    assert ap[0] == pytest.approx((1 / 3 + 2 / 4) / 2)   # positives ranked 3rd and 4th
    assert chance_map(labels) == pytest.approx((0.5 + 0.25) / 2)


def _ap_of_random_orders(y, n_draws, rng):
    """The AP of ``n_draws`` uniformly random orders of the 0/1 vector ``y`` (vectorised)."""
    import numpy as np
    order = np.argsort(rng.random((n_draws, len(y))), axis=1)
    hits = y[order]                                                   # (draws, n): positives in rank order
    precision = np.cumsum(hits, axis=1) / np.arange(1, len(y) + 1)
    return (precision * hits).sum(1) / y.sum()


def test_random_ranking_map_matches_shuffles_and_edge_cases():
    import itertools
    import numpy as np
    rng = np.random.default_rng(0)
    n = 20
    labels = np.zeros((n, 7), dtype=int)
    for c, k in enumerate((1, 2, 3, 5, 10, 19)):          # column 6 has no positive: left out
        labels[rng.choice(n, k, replace=False), c] = 1
    expected = random_ranking_map(labels, per_class=True)
    assert np.isnan(expected[6]) and np.isfinite(expected[:6]).all()
    # the vectorised AP is the package's (sklearn's) AP for random scores without ties
    scores = rng.random((n, 7))
    for c in range(6):
        y_sorted = labels[np.argsort(-scores[:, c]), c]
        prec = np.cumsum(y_sorted) / np.arange(1, n + 1)
        assert (prec * y_sorted).sum() / y_sorted.sum() == pytest.approx(average_precision(scores, labels)[c])
    # the mean over many seeded shuffles: 40,000 orders per class, standard error <= 0.0013
    for c in range(6):
        ap = _ap_of_random_orders(labels[:, c], 40_000, np.random.default_rng(100 + c))
        assert abs(ap.mean() - expected[c]) < 4 * ap.std() / np.sqrt(len(ap)) + 1e-9, (c, ap.mean(), expected[c])
        assert abs(ap.mean() - expected[c]) < 0.005
    # the mAP: the mean over the classes with positives, far above the constant output's (the prevalence)
    assert random_ranking_map(labels) == pytest.approx(expected[:6].mean())
    assert random_ranking_map(labels) > chance_map(labels) + 0.05
    # chance_map is the constant output's mAP (every clip tied), as its docstring says
    assert mean_average_precision(np.zeros((n, 7)), labels) == pytest.approx(chance_map(labels))
    # mAP of random scores through the package's metric: 300 seeded draws, within 4 standard errors
    draws = [mean_average_precision(np.random.default_rng(s).random((n, 7)), labels) for s in range(300)]
    assert abs(np.mean(draws) - random_ranking_map(labels)) < 4 * np.std(draws) / np.sqrt(len(draws))
    # exact on a small case: all 5! orders of 2 positives among 5
    y = np.array([1, 1, 0, 0, 0])
    aps = []
    for perm in itertools.permutations(range(5)):
        hits = y[list(perm)]
        aps.append((np.cumsum(hits) / np.arange(1, 6) * hits).sum() / 2)
    assert random_ranking_map(y[:, None]) == pytest.approx(np.mean(aps), abs=1e-12)
    # edge cases: one positive (H_n / n), every clip positive (1), a single clip, no positives at all
    one = np.zeros((20, 1)); one[3] = 1
    assert random_ranking_map(one) == pytest.approx(sum(1 / r for r in range(1, 21)) / 20)
    assert random_ranking_map(one) == pytest.approx(0.1799, abs=1e-4)    # against chance_map's 0.05
    assert random_ranking_map(np.ones((20, 3))) == pytest.approx(1.0)
    assert random_ranking_map(np.ones((1, 1))) == pytest.approx(1.0)
    assert np.isnan(random_ranking_map(np.zeros((5, 2))))
    # bool labels as 0/1; and at many clips it tends to the prevalence (chance_map)
    assert random_ranking_map(labels.astype(bool)) == pytest.approx(random_ranking_map(labels))
    big = np.zeros((100_000, 1)); big[:10_000] = 1
    assert random_ranking_map(big) == pytest.approx(chance_map(big), abs=2e-3)
    with pytest.raises(ValueError):
        random_ranking_map(np.ones(5))


def test_training_learns_and_resume_is_bit_identical(tiny_corpus, tmp_path):
    torch.set_num_threads(1)
    kw = dict(embedding_size=16, width=0.0625, batch_size=8, lr=3e-3, seed=3, progress=False)
    straight = train(tiny_corpus, tmp_path / "a", epochs=3, **kw)
    assert straight["mAP"] > straight["chance_mAP"] + 0.2, straight
    train(tiny_corpus, tmp_path / "b", epochs=2, **kw)
    resumed = train(tiny_corpus, tmp_path / "b", epochs=3, resume=True, **kw)
    a = read_checkpoint(tmp_path / "a" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "b" / "last.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["train_loss"] == straight["train_loss"]
    log = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in log] == [1, 2, 3]


def test_resume_refuses_other_config(tiny_corpus, tmp_path):
    train(tiny_corpus, tmp_path, epochs=1, embedding_size=16, width=0.0625, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="trained with config"):
        train(tiny_corpus, tmp_path, epochs=2, embedding_size=32, width=0.0625, batch_size=8, resume=True,
              progress=False)


def test_export_load_and_card(tiny_corpus, tmp_path):
    out = tmp_path / "models" / "tiny.pt"
    train(tiny_corpus, tmp_path / "run", epochs=1, embedding_size=16, width=0.0625, batch_size=8,
          export=str(out), command="neuralogram train ...", progress=False)
    model, info = load_model(out)
    assert info["label_names"] == ["Low", "Mid", "High"] and model.config.embedding_size == 16
    card = out.with_suffix(".md").read_text()
    assert "eval mAP" in card and "chance level" in card and "neuralogram train ..." in card
    assert len(json.loads(out.with_suffix(".json").read_text())["history"]) == 1


def test_balanced_from_and_init_record(tiny_corpus, tmp_path):
    """balanced_from: uniform epochs first, then class-balanced; a fine-tuned card names the run it started from."""
    torch.set_num_threads(1)
    kw = dict(embedding_size=16, width=0.0625, batch_size=8, lr=3e-3, seed=3, progress=False)
    train(tiny_corpus, tmp_path / "uniform", epochs=1, command="neuralogram train stage-one", **kw)
    train(tiny_corpus, tmp_path / "late", epochs=1, balanced=True, balanced_from=1, **kw)
    train(tiny_corpus, tmp_path / "bal", epochs=1, balanced=True, **kw)
    sd = {n: read_checkpoint(tmp_path / n / "last.pt")["state_dict"] for n in ("uniform", "late", "bal")}
    assert all(torch.equal(sd["uniform"][k], sd["late"][k]) for k in sd["uniform"])       # epoch 0 was uniform
    assert not all(torch.equal(sd["uniform"][k], sd["bal"][k]) for k in sd["uniform"])    # balanced differs
    with pytest.raises(ValueError, match="balanced_from"):
        train(tiny_corpus, tmp_path / "late", epochs=2, balanced=True, balanced_from=0, resume=True, **kw)
    with pytest.raises(ValueError, match="needs balanced=True"):
        train(tiny_corpus, tmp_path / "x", epochs=1, balanced_from=2, **kw)
    out = tmp_path / "tuned.pt"
    train(tiny_corpus, tmp_path / "tuned", epochs=1, init_from=str(tmp_path / "uniform" / "last.pt"),
          export=str(out), command="neuralogram train stage-two", **kw)
    card = out.with_suffix(".md").read_text()
    assert "stage-two" in card and "initialised from" in card and "trained 1 epochs by `neuralogram train stage-one`" in card


def test_batch_augment_masks_and_mixes():
    torch.manual_seed(0)
    spec = torch.randn(6, 1, 129, 200)
    target = torch.eye(6)
    same = batch_augment(spec, target)
    assert same[0] is spec and same[1] is target                       # both off: nothing drawn, nothing changed
    masked, t = batch_augment(spec, target, spec_masks=2)
    assert torch.equal(t, target)
    fill = spec.mean(dim=(-2, -1), keepdim=True).expand_as(spec)
    changed = masked != spec
    assert changed.any() and torch.allclose(masked[changed], fill[changed])   # masked cells hold the clip's mean
    mixed, t = batch_augment(spec, target, mixup_alpha=0.4)
    assert mixed.shape == spec.shape and torch.allclose(t.sum(1), torch.ones(6))   # one-hot targets stay sums of 1
    assert (t.diagonal() >= 0.5 - 1e-6).all()                           # each clip keeps the larger share
    assert not torch.equal(mixed, spec)
    for bad in (dict(mixup_alpha=-1.0), dict(spec_masks=-1), dict(spec_masks=1.5)):
        with pytest.raises(ValueError, match="mixup_alpha must be"):
            batch_augment(spec, target, **bad)


def test_batch_augment_short_windows_keep_the_loudest_frames():
    torch.manual_seed(0)
    spec = torch.full((4, 1, 129, 200), -10.0)
    for i, at in enumerate((0, 50, 120, 185)):
        spec[i, :, :, at:at + 10] = 0.0                                 # a 0.1 s sound at a different place
    target = torch.eye(4)
    assert batch_augment(spec, target, p_short=0.0)[0].shape[-1] == 200
    lengths = set()
    for _ in range(20):
        short, t = batch_augment(spec, target, p_short=1.0)
        L = short.shape[-1]
        lengths.add(L)
        assert 16 <= L < 200 and torch.equal(t, target)
        assert ((short == 0).sum(dim=(1, 2, 3)) == 129 * 10).all()   # every clip kept its whole sound
    assert len(lengths) > 5
    with pytest.raises(ValueError, match="p_short"):
        batch_augment(spec, target, p_short=1.5)


def test_batch_augment_resume_is_exact_and_recorded(tiny_corpus, tmp_path):
    torch.set_num_threads(1)
    kw = dict(embedding_size=16, width=0.0625, batch_size=8, lr=3e-3, seed=3, progress=False, mixup_alpha=0.4,
              spec_masks=1, crop_top_db=20.0, p_short=0.5)
    train(tiny_corpus, tmp_path / "a", epochs=2, **kw)
    train(tiny_corpus, tmp_path / "b", epochs=1, **kw)
    train(tiny_corpus, tmp_path / "b", epochs=2, resume=True, **kw)
    a, b = (read_checkpoint(tmp_path / r / "last.pt") for r in "ab")
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert (a["train"]["mixup_alpha"], a["train"]["spec_masks"], a["train"]["crop_top_db"]) == (0.4, 1, 20.0)
    with pytest.raises(ValueError, match="mixup_alpha=0.4 then"):
        train(tiny_corpus, tmp_path / "b", epochs=3, resume=True, **dict(kw, mixup_alpha=0.0))


def test_checkpoint_errors(tiny_corpus, tmp_path):
    out = tmp_path / "m.pt"
    train(tiny_corpus, tmp_path / "run", epochs=1, embedding_size=16, width=0.0625, batch_size=8,
          export=str(out), progress=False)
    ckpt = read_checkpoint(out)
    # weights that do not match the config: the error names both
    bad = dict(ckpt, config=dict(ckpt["config"], embedding_size=32))
    save_checkpoint(tmp_path / "mismatch.pt", bad)
    with pytest.raises(ValueError, match=r"do not match the config.*conv5_4.*\(16, .*\(32"):
        load_model(tmp_path / "mismatch.pt")
    # a truncated file
    data = out.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(tmp_path / "trunc.pt")

    # a file that would run code when unpickled is refused by weights_only=True
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    torch.save({"format": "neuralogram-checkpoint-v1", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refused"):
        load_model(tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="unknown model"):
        load_model("no-such-model")
    # labels of the wrong width
    save_checkpoint(tmp_path / "labels.pt", dict(ckpt, label_names=["a", "b"]))
    with pytest.raises(ValueError, match="2 label names"):
        load_model(tmp_path / "labels.pt")


def test_empty_split_is_refused(tmp_path):
    import numpy as np
    from neuralogram.data.store import Clip, write_store
    p = write_store(tmp_path / "c.h5", [Clip("a", np.zeros(100, np.float32) + 0.1, [0], "train")],
                    label_mids=["/m/x"], label_names=["X"], source="t")
    with pytest.raises(ValueError, match="'eval' split is empty"):
        CropDataset(PackedStore(p), split="eval")
    with pytest.raises(ValueError, match="empty"):
        write_store(tmp_path / "d.h5", [], label_mids=["/m/x"], label_names=["X"], source="t")
    assert not (tmp_path / "d.h5").exists()


@pytest.mark.slow
def test_ddp_two_cpu_processes(tiny_corpus, tmp_path):
    """torchrun with 2 gloo processes: the loss falls and both ranks hold identical weights."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "neuralogram", "train", "--corpus", str(tiny_corpus), "--out", str(tmp_path / "ddp"),
           "--embedding-size", "16", "--width", "0.0625", "--epochs", "3", "--batch-size", "4", "--lr", "3e-3"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert len(log) == 3 and all(h["world_size"] == 2 for h in log)
    assert log[-1]["train_loss"] < log[0]["train_loss"]
    for h in log:
        a, b = h["rank_param_checksums"]
        assert a == b
