"""Distillation machinery (neuralogram.distill): the crop plan, the teacher cache and its integrity checks, the
student's loss, exact resume and the refusal of a changed recipe, no held-out clip, missing data."""
import json
import shutil

import numpy as np
import pytest
import torch

import neuralogram.distill as D
from neuralogram.checkpoints import load_model, read_checkpoint
from neuralogram.data.augment import AugmentConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

AUG = AugmentConfig(n_rirs=2, rt60_range=(0.1, 0.3))


def _sources():
    rng = np.random.default_rng(0)
    arrays = [D.Source(f"toy/{k}", n, f"toy/{k}", "array", (0.3 * rng.standard_normal(n)).astype(np.float32))
              for k, n in enumerate([24000, 9000, 16000, 3000])]     # longer, shorter, exactly, much shorter than 2 s
    return arrays + D.probe_sources(10)


def _plan(**kw):
    cfg = dict(n_views=1, val_fraction=0.3, augment=AUG)
    cfg.update(kw)
    return D.CropPlan(_sources(), D.PlanConfig(**cfg))


@pytest.fixture(scope="module")
def teacher():
    return load_model("mn04-audioset")


def test_plan_is_deterministic_and_renders_2s_crops():
    a, b = _plan(n_views=2), _plan(n_views=2)
    assert a.hash == b.hash and a.crops == b.crops and len(a) == 2 * 14
    assert _plan(n_views=2, seed=1).hash != a.hash and _plan(n_views=2, p_mix=0.9).hash != a.hash
    for i in range(len(a)):
        x = a.render(i)
        assert x.shape == (16000,) and x.dtype == np.float32 and np.isfinite(x).all()
        np.testing.assert_array_equal(x, b.render(i))
    parts = {c["source"]: c["part"] for c in a.crops}
    assert set(parts.values()) == {"train", "val"}
    for c in a.crops:
        if "mix" in c:
            assert parts[c["mix"]] == c["part"] and not c["source"].startswith("probe/")
    clean = _plan(p_clean=1.0)
    short = next(i for i, c in enumerate(clean.crops) if c["source"] == "toy/3")
    assert not clean.crops[short]["augment"] and "mix" not in clean.crops[short]
    assert (clean.render(short) == 0).sum() >= 16000 - 3000      # a short source is padded with zeros
    with pytest.raises(ValueError, match="distinct"):
        D.CropPlan(_sources() + _sources()[:1])
    with pytest.raises(ValueError, match="n_views"):
        D.PlanConfig(n_views=0)
    per_kind = _plan(n_views=3, views=(("probe", 1), ("toy", 0)))
    assert len(per_kind) == 10 and {c["source"].split("/")[0] for c in per_kind.crops} == {"probe"}
    with pytest.raises(ValueError, match="no crops"):
        _plan(views=(("probe", 0), ("toy", 0)))


def test_no_held_out_clip_in_the_sources():
    try:
        sources = D.real_sources()
    except D.DistillDataMissing:
        pytest.skip("no real data here")
    from neuralogram.data import real
    from neuralogram.data.real_meta import FSDD_TEST_SPEAKERS

    ids = {s.id for s in sources}
    assert not ids & {f"esc50/{c.name}" for c in real.esc50("test")}
    assert not [i for i in ids if i.startswith("fsdd/") and i.split("_")[1] in FSDD_TEST_SPEAKERS]
    assert all(s.ref.meta["fold"] == 1 for s in sources if s.id.startswith("urbansound8k/"))
    assert {i.split("/")[0] for i in ids} == {"esc50", "fsdd", "urbansound8k"}
    D.check_no_held_out(sources)
    # the validation part's real clips are the training parts' clips whose group a plan holds out
    val = D.validation_clips()
    plan = D.CropPlan(sources, D.PlanConfig(n_views=1, views=()))
    in_val = {c["source"] for c in plan.crops if c["part"] == "val"}
    assert {f"{c.dataset}/{c.name}" for v in val.values() for c in v} == in_val
    assert all(len(v) > 20 for v in val.values()) and in_val <= ids
    from neuralogram.data.urbansound import urbansound8k

    c = urbansound8k(2)[0]
    planted = D.Source(f"{c.dataset}/{c.name}", 100, c.group, "real", c)
    with pytest.raises(ValueError, match="held-out"):
        D.check_no_held_out(sources + [planted])


def test_missing_data_names_the_set_and_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURALOGRAM_NO_SHARED", "1")
    monkeypatch.delenv("NEURALOGRAM_DATA", raising=False)
    with pytest.raises(ValueError, match="needs ESC-50") as err:
        D.real_sources()
    assert "NEURALOGRAM_DATA" in str(err.value) and isinstance(err.value, FileNotFoundError)
    with pytest.raises(ValueError, match="needs UrbanSound8K"):
        D.real_sources(esc50=False, fsdd=False)
    from neuralogram.cli import main

    assert main(["distill", "--out", str(tmp_path / "run"), "--standin-clips", "0", "--probes", "5"]) == 2


def test_teacher_cache_is_reused_and_bad_chunks_are_rebuilt(teacher, monkeypatch):
    model, info = teacher
    monkeypatch.setattr(D.teacher, "CHUNK", 4)
    plan = _plan()
    first = D.teacher_logits(plan, model, info, progress=False)
    assert first.shape == (len(plan), 527) and first.dtype == np.float32
    np.testing.assert_allclose(first, D.teacher_logits(plan, model, info, progress=False, cache=False), atol=1e-5)
    folder = D.teacher_cache_dir(plan, info["hash"])
    chunks = sorted(folder.glob("chunk-*.npz"))
    assert chunks[0].name == "chunk-00000000-00000004.npz"
    assert len(chunks) == -(-len(plan) // 4)

    calls = []
    real_batch = D.teacher._teacher_batch
    monkeypatch.setattr(D.teacher, "_teacher_batch", lambda p, idx, t: calls.append(list(idx)) or real_batch(p, idx, t))
    np.testing.assert_array_equal(D.teacher_logits(plan, model, info, progress=False), first)
    assert calls == []                                              # every chunk read from disk

    # corrupt bytes, a truncated file, a chunk of another plan, changed logits with the old checksum
    chunks[0].write_bytes(b"\x00garbage" * 10)
    chunks[1].write_bytes(chunks[1].read_bytes()[:200])
    other = _plan(seed=5)
    D.teacher_logits(other, model, info, progress=False)
    chunks[2].write_bytes(sorted(D.teacher_cache_dir(other, info["hash"]).glob("chunk-*.npz"))[2].read_bytes())
    with np.load(chunks[3]) as z:
        meta, lg = str(z["meta"]), z["logits"].copy()
    lg[0, 0] += 1.0
    np.savez(chunks[3], logits=lg, meta=np.array(meta))
    calls.clear()
    with pytest.warns(UserWarning, match="corrupt, truncated or made for another"):
        again = D.teacher_logits(plan, model, info, progress=False)
    np.testing.assert_array_equal(again, first)
    assert sorted({i // 4 for c in calls for i in c}) == [0, 1, 2, 3]   # exactly the four bad chunks recomputed


def test_losses_and_agreement():
    s, t = torch.randn(3, 5), torch.randn(3, 5)
    from neuralogram.model import loss_fn

    assert torch.allclose(D.distill_loss(s, t), loss_fn(s, torch.sigmoid(t), "bce"))
    assert float(D.distill_loss(t, t, loss="mse-logits")) == 0
    # at its minimum (student = teacher) the BCE gradient vanishes at every temperature
    for T in (1.0, 3.0):
        x = t.clone().requires_grad_(True)
        D.distill_loss(x, t, temperature=T).backward()
        assert x.grad.abs().max() < 1e-6
    with pytest.raises(ValueError, match="loss must be"):
        D.distill_loss(s, t, loss="kl")
    with pytest.raises(ValueError, match="differ"):
        D.distill_loss(s, t[:, :4])
    a = D.teacher_agreement(t.numpy(), t.numpy())
    assert a["mAP"] == pytest.approx(1.0) and a["top1"] == 1.0 and a["n"] == 3


def test_loss_bounds_are_the_constant_student_and_the_teacher():
    g = torch.Generator().manual_seed(0)
    Zt, Zv = 3 * torch.randn(40, 6, generator=g) - 2, 3 * torch.randn(10, 6, generator=g) - 2
    for loss, T in (("bce", 1.0), ("bce", 2.5), ("mse-logits", 1.0)):
        b = D.loss_bounds(Zt.numpy(), Zv.numpy(), loss=loss, temperature=T)
        assert b["teacher"] == pytest.approx(float(D.distill_loss(Zv, Zv, loss=loss, temperature=T)), abs=1e-6)
        assert b["teacher"] < b["floor"]
        # on the crops it was averaged over, the floor is the best constant: any other constant does worse
        floor_t = D.loss_bounds(Zt.numpy(), Zt.numpy(), loss=loss, temperature=T)["floor"]
        c0 = (torch.logit(torch.sigmoid(Zt.double() / T).mean(0)).float() * T if loss == "bce" else Zt.mean(0))
        for _ in range(5):
            c = c0 + 0.3 * torch.randn(6, generator=g)
            assert float(D.distill_loss(c.expand(40, -1), Zt, loss=loss, temperature=T)) > floor_t
    with pytest.raises(ValueError, match="non-empty"):
        D.loss_bounds(Zt.numpy()[:0], Zv.numpy())


def test_distill_resumes_bit_identically_and_refuses_a_changed_recipe(teacher, tmp_path):
    model, info = teacher
    plan = _plan()
    kw = dict(teacher=model, teacher_info=info, embedding_size=16, width=0.0625, batch_size=4, lr=1e-3,
              seed=2, progress=False)
    straight = D.distill(plan, tmp_path / "a", epochs=2, **kw)
    D.distill(plan, tmp_path / "b", epochs=1, **kw)
    resumed = D.distill(plan, tmp_path / "b", epochs=2, resume=True, **kw)
    a = read_checkpoint(tmp_path / "a" / "last.pt")
    b = read_checkpoint(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert resumed["train_loss"] == straight["train_loss"] and resumed["val_mAP"] == straight["val_mAP"]
    assert a["label_mids"] == info["label_mids"] and a["config"]["n_classes"] == 527
    assert [json.loads(x)["epoch"] for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    for change in (dict(lr=2e-3), dict(temperature=2.0), dict(loss="mse-logits"), dict(seed=3), dict(batch_size=2)):
        with pytest.raises(ValueError, match="other settings"):
            D.distill(plan, tmp_path / "b", epochs=3, resume=True, **{**kw, **change})
    with pytest.raises(ValueError, match="other settings"):
        D.distill(_plan(seed=9), tmp_path / "b", epochs=3, resume=True, **kw)
    with pytest.raises(ValueError, match="embedding_size=16 then, embedding_size=8 now"):
        D.distill(plan, tmp_path / "b", epochs=3, resume=True, **{**kw, "embedding_size": 8})
    with pytest.raises(ValueError, match="temperature"):
        D.distill(plan, tmp_path / "c", epochs=1, **{**kw, "temperature": 0})


def test_export_writes_a_loadable_model_and_card(teacher, tmp_path, monkeypatch):
    model, info = teacher
    monkeypatch.setattr(D.student, "us8k_zero_shot", lambda m, i, cache=True: {"top1": 0.25, "in_labels": 10, "n": 1})
    out = tmp_path / "models" / "tiny-distilled.pt"
    D.distill(_plan(), tmp_path / "run", teacher=model, teacher_info=info, embedding_size=16, width=0.0625,
              batch_size=4, epochs=1, export=str(out), command="neuralogram distill ...", progress=False)
    student, sinfo = load_model(out)
    assert student.n_classes == 527 and sinfo["label_names"] == info["label_names"]
    card = out.with_suffix(".md").read_text()
    assert "neuralogram distill ..." in card and "0.250" in card and info["hash"] in card
    assert json.loads(out.with_suffix(".json").read_text())["arch"] == "vgg19"
    assert "a constant student" in card                      # the loss bounds of the validation part
    assert set(json.loads(out.with_suffix(".json").read_text())["train"]["val_loss_bounds"]) == {"floor", "teacher"}
    assert sinfo["train"]["real_data"] is False              # toy arrays and probe signals: no real recording

    # held-out figures go into both halves of the card, and a second call replaces the first
    D.add_heldout_figures(out, {"ESC-50 zero-shot": 0.5, "note": "x"}, source="bench A")
    D.add_heldout_figures(out, {"ESC-50 zero-shot": 0.625}, source="bench B")
    md = out.with_suffix(".md").read_text()
    assert md.count("## Held-out figures") == 1 and "0.625" in md and "bench B" in md and "bench A" not in md
    assert "neuralogram distill ..." in md                   # the rest of the card is kept
    assert json.loads(out.with_suffix(".json").read_text())["heldout"] == {"source": "bench B", "ESC-50 zero-shot": 0.625}
    # the curve has a column for the validation part's size; a part that grew between stages is said to
    card = json.loads(out.with_suffix(".json").read_text())
    assert "| val crops |" in md and f"on {card['final']['val_n']:,} crops" in md
    assert "grew with the crop plan" not in md
    card["history"] = [dict(card["history"][0], epoch=1, stage=1, val_n=100),
                       dict(card["history"][0], epoch=2, stage=2, val_n=300)]
    out.with_suffix(".json").write_text(json.dumps(card))
    md2 = D.render_distill_card(out).read_text()
    assert "grew with the crop plan (100 -> 300 crops" in md2 and "| 2 |" in md2 and "| stage |" in md2
    assert md2.count("## Held-out figures") == 1 and "bench B" in md2      # re-rendering keeps the figures
    with pytest.raises(ValueError, match="no model card"):
        D.render_distill_card(tmp_path / "nothing.pt")
    with pytest.raises(ValueError, match="no model card"):
        D.add_heldout_figures(tmp_path / "nothing.pt", {"a": 1.0}, source="s")
    with pytest.raises(ValueError, match="non-empty"):
        D.add_heldout_figures(out, {}, source="s")


def test_lr_at_constant_and_cosine():
    assert D.lr_at(0, 10, lr=1e-3) == D.lr_at(9, 10, lr=1e-3) == 1e-3
    rates = [D.lr_at(s, 100, lr=1e-3, schedule="cosine") for s in range(100)]
    assert rates[0] == 1e-3 and rates[50] == pytest.approx(5e-4) and 0 < rates[-1] < 1e-6
    assert all(a > b for a, b in zip(rates, rates[1:]))                     # strictly decreasing
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        D.lr_at(0, 10, lr=1e-3, schedule="step")
    with pytest.raises(ValueError, match=r"step must be in \[0, 10\)"):
        D.lr_at(10, 10, lr=1e-3, schedule="cosine")


def test_distill_from_earlier_weights_with_a_cosine_schedule(teacher, tmp_path, monkeypatch):
    model, info = teacher
    plan = _plan()
    kw = dict(teacher=model, teacher_info=info, embedding_size=16, width=0.0625, batch_size=4, lr=1e-3,
              seed=2, progress=False)
    first = tmp_path / "first.pt"
    D.distill(plan, tmp_path / "a", epochs=1, export=str(first), **kw)
    start = read_checkpoint(first)["state_dict"]
    # two steps at a learning rate of ~0 leave the copied weights as they were
    cont = dict(kw, init_from=str(first), lr_schedule="cosine")
    D.distill(plan, tmp_path / "b", epochs=2, steps_per_epoch=1, **{**cont, "lr": 1e-12})
    b = read_checkpoint(tmp_path / "b" / "last.pt")
    params = [k for k in start if "running" not in k and "num_batches" not in k]     # batch-norm statistics move
    assert len(params) > 10 and all(torch.allclose(b["state_dict"][k], start[k].float(), atol=1e-3) for k in params)
    assert b["train"]["init_from"] == "first" and b["train"]["init_from_run"]["epochs_trained"] == 1
    # the cosine schedule resumes bit-identically after a kill (the rate is a function of the global step)
    straight = D.distill(plan, tmp_path / "c", epochs=2, **cont)
    save = D.student.save_checkpoint

    def save_then_die(*a, **k):
        save(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(D.student, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        D.distill(plan, tmp_path / "d", epochs=2, **cont)
    monkeypatch.setattr(D.student, "save_checkpoint", save)
    assert read_checkpoint(tmp_path / "d" / "last.pt")["epoch"] == 0
    resumed = D.distill(plan, tmp_path / "d", epochs=2, resume=True, **cont)
    c, d = read_checkpoint(tmp_path / "c" / "last.pt"), read_checkpoint(tmp_path / "d" / "last.pt")
    assert all(torch.equal(c["state_dict"][k], d["state_dict"][k]) for k in c["state_dict"])
    assert resumed["train_loss"] == straight["train_loss"]
    with pytest.raises(ValueError, match="other settings"):              # a cosine over 1 epoch is another run
        D.distill(plan, tmp_path / "c", epochs=3, resume=True, **cont)
    assert c["train"]["schedule_epochs"] == 2 and straight["epoch"] == 2
    with pytest.raises(ValueError, match="other settings"):              # and a constant rate is another run too
        D.distill(plan, tmp_path / "c", epochs=2, resume=True, **{**cont, "lr_schedule": "constant"})
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        D.distill(plan, tmp_path / "e", epochs=1, **{**kw, "lr_schedule": "linear"})
    # the card says where the weights came from and how the rate moved
    out = tmp_path / "models" / "cont.pt"
    D.distill(plan, tmp_path / "c", epochs=2, resume=True, export=str(out), **cont)
    md = out.with_suffix(".md").read_text()
    assert "decayed to 0 by a cosine over the 2 epochs" in md and "initialised from" in md and "itself trained 1 epoch " in md
    assert "(after the 1 of the model it started from: 3 in all)" in md and "| stage |" in md
    h = json.loads(out.with_suffix(".json").read_text())["history"]          # the whole curve, both stages
    assert [(x["epoch"], x["stage"]) for x in h] == [(1, 1), (2, 2), (3, 2)]
    assert "history" not in json.loads(out.with_suffix(".json").read_text())["train"]["init_from_run"]
    # a third stage from the second: its card counts all earlier epochs and minutes and numbers the stages 1-2-3
    two = json.loads(out.with_suffix(".json").read_text())["train"]
    third = tmp_path / "models" / "third.pt"
    D.distill(plan, tmp_path / "f", epochs=1, export=str(third), **{**cont, "init_from": str(out)})
    card3 = json.loads(third.with_suffix(".json").read_text())
    assert [(x["epoch"], x["stage"]) for x in card3["history"]] == [(1, 1), (2, 2), (3, 2), (4, 3)]
    ir = card3["train"]["init_from_run"]
    assert ir["epochs_trained"] == 3
    assert ir["wall_seconds"] == pytest.approx(two["wall_seconds"] + two["init_from_run"]["wall_seconds"])
    assert "(after the 3 of the model it started from: 4 in all)" in third.with_suffix(".md").read_text()
    # weights copied without their card: the run says the earlier curve is lost instead of hiding it
    bare = tmp_path / "bare" / "third.pt"
    bare.parent.mkdir()
    shutil.copy(third, bare)
    with pytest.warns(UserWarning, match="no card .*third.json"):
        D.distill(plan, tmp_path / "g", epochs=1, steps_per_epoch=1, **{**cont, "init_from": str(bare)})
