"""The mixed corpus's label space and plan (held-out real clips never trained on), fine-tuning from a checkpoint
(init_from, train_from), the calibration temperature carried by checkpoints and how the real family fits it."""
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from neuralogram.checkpoints import load_model, read_checkpoint, save_checkpoint
from neuralogram.data import real
from neuralogram.data.mixed import _plan, mixed_label_space, mixed_params
from neuralogram.data.standin.corpus import label_names as standin_names
from neuralogram.train import train


def test_label_space_is_the_union_in_audioset_terms():
    names, mids = mixed_label_space()
    assert names[:len(standin_names())] == standin_names()           # stand-in first: its rows keep their index
    assert len(set(mids)) == len(mids) == len(names)
    esc = {row[3] for row in real.ESC50_AUDIOSET}
    assert esc <= set(mids)
    assert len(names) == len(standin_names()) + len(esc - set(mids[:len(standin_names())]))


@dataclass
class _FakeClip:
    name: str
    group: str
    split: str
    target: int = 0
    meta: dict = field(default_factory=lambda: {"take": 0})


def test_plan_keeps_held_out_clips_out_of_training():
    esc_train = [_FakeClip(f"tr{i}", f"src{i // 2}", "train") for i in range(20)]
    esc_test = [_FakeClip(f"te{i}", f"held{i}", "test") for i in range(5)]
    fsdd_train = [_FakeClip(f"{d}_spk{s}_{t}", f"spk{s}", "train", d, {"take": t})
                  for d in range(10) for s in range(2) for t in range(3)]
    fsdd_test = [_FakeClip(f"{d}_out_{t}", "out", "test", d, {"take": t}) for d in range(10) for t in range(3)]
    standin_split = np.array([i % 10 == 9 for i in range(50)], np.uint8)
    params = mixed_params(standin_clips=50, esc50_copies=3, fsdd_clips=30, fsdd_eval_clips=12, p_mix=0.9)
    items = _plan(params, esc_train, esc_test, fsdd_train, fsdd_test, 50, standin_split)
    held = {c.name for c in esc_test} | {c.name for c in fsdd_test}
    train_items = [it for it in items if it["split"] == "train"]
    used = set()
    for it in train_items:
        used |= {it.get("name")} | set(it.get("names", [])) | ({str(it["mix"][1])} if "mix" in it else set())
        if "mix" in it and it["mix"][0] == "standin":
            assert standin_split[it["mix"][1]] == 0          # stand-in eval clips are not mixed into training
    assert not used & held
    assert any("mix" in it for it in train_items)          # mixtures happen
    ev = [it for it in items if it["split"] == "eval"]
    assert sum(it["kind"] == "esc50" for it in ev) == 5 and sum(it["kind"] == "fsdd" for it in ev) == 12
    assert sum(it["kind"] == "standin" for it in ev) == 5 and all(it.get("clean", True) for it in ev)
    assert sum(it["kind"] == "esc50" for it in train_items) == 20 * 3
    assert _plan(params, esc_train, esc_test, fsdd_train, fsdd_test, 50, standin_split) == items   # deterministic


def test_mixed_params_validation():
    with pytest.raises(ValueError):
        mixed_params(esc50_copies=0)
    with pytest.raises(ValueError):
        mixed_params(p_mix=2.0)


def _relabel(src, dst, names, rows):
    """A copy of the tiny corpus with another label list (columns ``rows`` of the original, in that order)."""
    from neuralogram.data.store import Clip, PackedStore, write_store

    st = PackedStore(src)
    clips = (Clip(st.clip_ids[i], st.clip(i), [j for j, r in enumerate(rows) if r is not None and st.labels[i, r]],
                  "eval" if st.split[i] else "train") for i in range(len(st)))
    write_store(dst, clips, label_mids=[f"/m/{n}" for n in names], label_names=names, source="test")
    return dst


def test_init_from_matches_rows_by_label_and_train_from_freezes(tiny_corpus, tmp_path):
    kw = dict(embedding_size=16, width=0.0625, batch_size=8, loss="bce", progress=False)
    train(tiny_corpus, tmp_path / "base", epochs=1, **kw)
    base = read_checkpoint(tmp_path / "base" / "last.pt")
    # the new corpus: High first, a new label, then Low; Mid dropped
    corpus2 = _relabel(tiny_corpus, tmp_path / "c2.h5", ["High", "New", "Low"], [2, None, 0])
    train(corpus2, tmp_path / "ft", epochs=1, steps_per_epoch=2, lr=1e-2, init_from=str(tmp_path / "base" / "last.pt"),
          train_from="conv5_1", **kw)
    ft = read_checkpoint(tmp_path / "ft" / "last.pt")
    assert ft["train"]["init_from"] == "last" and ft["train"]["train_from"] == "conv5_1"
    sb, sf = base["state_dict"], ft["state_dict"]
    for k in sb:
        frozen = k.startswith("trunk.") and not k.startswith("trunk.conv5")
        if frozen:    # weights and batch-norm statistics of the frozen layers are unchanged
            assert torch.equal(sb[k], sf[k]), k
    assert not torch.equal(sb["trunk.conv5_1.0.weight"], sf["trunk.conv5_1.0.weight"])
    # fine-tuning was 2 steps: the copied output rows are still close to their source rows (High, Low), the new
    # label's row is neither, and its bias starts at the mean of the old biases
    w0, w1 = sb["fc3.weight"], sf["fc3.weight"]
    assert torch.allclose(w1[0], w0[2], atol=0.05) and torch.allclose(w1[2], w0[0], atol=0.05)
    assert not torch.allclose(w1[1], w0[2], atol=0.05) and not torch.allclose(w1[1], w0[0], atol=0.05)
    b0, b1 = sb["fc3.bias"], sf["fc3.bias"]
    assert abs(float(b1[1] - b0.mean())) < 0.05 and abs(float(b1[0] - b0[2])) < 0.05
    with pytest.raises(ValueError, match="train_from"):
        train(corpus2, tmp_path / "bad", epochs=1, train_from="conv9_9", **kw)
    with pytest.raises(ValueError, match="init_from"):
        train(corpus2, tmp_path / "bad2", epochs=1, init_from=str(tmp_path / "base" / "last.pt"),
              **{**kw, "embedding_size": 32})


def test_temperature_from_checkpoint(tiny_corpus, tmp_path):
    out = tmp_path / "m.pt"
    train(tiny_corpus, tmp_path / "run", epochs=1, embedding_size=16, width=0.0625, batch_size=8, loss="bce",
          progress=False, export=str(out))
    spec = torch.randn(2, 1, 129, 200)
    model, info = load_model(out)
    assert model.temperature == 1.0 and info["calibration"] is None
    p1 = model.predict_proba(spec)
    ckpt = read_checkpoint(out)
    ckpt["calibration"] = {"temperature": 2.0}
    save_checkpoint(out, ckpt)
    model, info = load_model(out)
    assert model.temperature == 2.0 and info["calibration"]["temperature"] == 2.0
    logits = model(spec)
    assert torch.allclose(model.predict_proba(spec), torch.sigmoid(logits / 2.0), atol=1e-6)
    assert torch.allclose(torch.logit(p1.double(), eps=1e-12), logits.double(), atol=1e-3)
    for bad in (0.0, -1.0, float("nan"), "2"):
        ckpt["calibration"] = {"temperature": bad}
        save_checkpoint(out, ckpt)
        with pytest.raises(ValueError, match="temperature"):
            load_model(out)


def test_calibrate_real_model_fits_on_standin_clips_and_ships_by_the_rule(tiny_corpus, tmp_path):
    import json

    from neuralogram.probes.real_card import _put_section, _shipped_temperature, calibrate_real_model

    # the rule: a fitted temperature ships only when its two-fold ECE beats T = 1
    assert _shipped_temperature({"temperature": 0.8, "ece_before": 0.05, "ece_after_2fold": 0.04}) == 0.8
    assert _shipped_temperature({"temperature": 0.8, "ece_before": 0.05, "ece_after_2fold": 0.05}) == 1.0
    assert _shipped_temperature({"temperature": 1.3, "ece_before": 0.01, "ece_after_2fold": 0.03}) == 1.0
    # the card's section is replaced in place, or inserted before the given heading
    md = "# c\n\n## Calibration\n\nold T = 9\n\n## Average precision\n\n| a |\n"
    new = _put_section(md, ["## Calibration", "", "new"], before="## Average precision")
    assert new == "# c\n\n## Calibration\n\nnew\n## Average precision\n\n| a |\n"
    assert _put_section("# c\n\n## Average precision\n", ["## Calibration", "", "x", ""],
                        before="## Average precision") == "# c\n\n## Calibration\n\nx\n\n## Average precision\n"

    out = tmp_path / "m.pt"
    train(tiny_corpus, tmp_path / "run", epochs=2, embedding_size=16, width=0.0625, batch_size=8, loss="bce",
          progress=False, export=str(out))
    out.with_suffix(".md").write_text("# card\n\n## Calibration\n\nold text, T = 9\n\n"
                                      "## Average precision per ESC-50 class (held-out sources)\n\n| a | b |\n")
    with pytest.raises(ValueError, match="stand-in corpus"):     # trained on no mixed corpus: none recorded
        calibrate_real_model(out)
    with pytest.raises(ValueError, match="no such file"):
        calibrate_real_model(out, standin=tmp_path / "missing.h5")
    other = _relabel(tiny_corpus, tmp_path / "other.h5", ["High", "New", "Low"], [2, None, 0])
    with pytest.raises(ValueError, match=r"\['/m/High', '/m/Low', '/m/New'\] are not in the model"):
        calibrate_real_model(out, standin=other)
    before = read_checkpoint(out)["state_dict"]

    cal = calibrate_real_model(out, standin=tiny_corpus)
    assert cal["n_clips"] == 12 and "no held-out recording" in cal["fitted_on"]     # the 12 eval clips
    assert cal["temperature"] == _shipped_temperature({**cal, "temperature": cal["fitted_temperature"]})
    model, info = load_model(out)
    assert model.temperature == cal["temperature"] and info["calibration"] == cal
    after = read_checkpoint(out)
    assert all(torch.equal(before[k], after["state_dict"][k]) for k in before)      # the weights are untouched
    assert after["real_eval"]["calibration_all_pairs"]["objective"] == "all"
    text = out.with_suffix(".md").read_text()
    assert "old text" not in text and text.count("## Calibration") == 1 and "no held-out recording" in text
    assert text.index("## Calibration") < text.index("## Average precision per ESC-50 class") < text.index("| a | b |")
    assert json.loads(out.with_suffix(".json").read_text())["calibration"] == cal
