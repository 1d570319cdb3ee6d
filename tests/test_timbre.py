"""Tests of the timbre probe: the held-out excerpt set, tags, every metric on known probabilities, decoding."""
import numpy as np
import pytest
import torch

from neuralogram.data.standin.corpus import SOURCES, label_names
from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram import tagging
from neuralogram.probes import cache as _cache, timbre

TINY = dict(n_classes=48, embedding_size=16, width=0.03125)
SMALL_SET = dict(n_per_class=1, seed=0, duration=2.0, n_mixtures=1)

# a toy label space: two guitars share "Guitar", as in the stand-in
LABELS = ["Music", "A", "B", "Acoustic", "Electric", "Guitar", "Other"]
CLASSES = {"a": ("A",), "b": ("B",), "ac": ("Acoustic", "Guitar"), "el": ("Electric", "Guitar")}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return NeuralogramNet(ModelConfig(**TINY)).eval()


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    # a module fixture is made before conftest's per-test cache setting: point at the same folder explicitly
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURALOGRAM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return timbre.timbre_set(SMALL_SET["n_per_class"], SMALL_SET["seed"], SMALL_SET["duration"],
                                 n_mixtures=SMALL_SET["n_mixtures"])


def _p(**tags):
    """A probability row over LABELS with the named labels set and the rest spread evenly."""
    row = np.zeros(len(LABELS))
    for k, v in tags.items():
        row[LABELS.index(k)] = v
    rest = [i for i, lab in enumerate(LABELS) if lab not in tags]
    row[rest] = (1 - row.sum()) / len(rest)
    return row


# ------------------------------------------------------------------ metrics on known probabilities
def test_metrics_singles_topk_confusion_and_recall():
    P = np.stack([
        _p(Music=0.5, A=0.4),                    # a: top-1 hit, identified as a
        _p(Music=0.5, Other=0.3, B=0.15),        # b: top-1 misses (Other), top-3 hits, identified as b
        _p(Music=0.4, Guitar=0.35, Electric=0.2),  # ac: "Guitar" is true -> top-1 hit; identity: el (0.2 > ac's)
        _p(Music=0.4, Electric=0.5),             # el: hit, identified as el
    ])
    inst = [["a"], ["b"], ["ac"], ["el"]]
    m = timbre.timbre_metrics(P, LABELS, inst, classes=CLASSES, threshold=0.25)
    assert m["n_singles"] == 4 and m["n_mixed"] == 0
    assert m["top1"] == pytest.approx(3 / 4) and m["top3"] == pytest.approx(1.0)
    conf = np.zeros((4, 4), int)
    conf[0, 0] = conf[1, 1] = conf[2, 3] = conf[3, 3] = 1
    np.testing.assert_array_equal(m["confusion"], conf)
    np.testing.assert_allclose(m["per_class_recall"], [1, 1, 0, 1])
    assert m["instrument_accuracy"] == pytest.approx(0.75) and m["chance_instrument"] == pytest.approx(0.25)
    # chance over the 6 non-generic labels: one true label -> 1/6, two (the guitars) -> 2/6; top-3: 1/2 and 4/5
    assert m["chance_top1"] == pytest.approx(np.mean([1 / 6, 1 / 6, 2 / 6, 2 / 6]))
    assert m["chance_top3"] == pytest.approx(np.mean([0.5, 0.5, 0.8, 0.8]))
    # beyond the truth at p > 0.25: excerpt 1 names "Other" (extra); all else named is true
    assert m["extras_per_excerpt_singles"] == pytest.approx(0.25)
    assert m["frac_with_extra_singles"] == pytest.approx(0.25)
    assert m["extra_counts"][LABELS.index("Other")] == 1 and m["extra_counts"].sum() == 1
    named_true = 2 + 1 + 2 + 2            # Music+A, Music, Music+Guitar, Music+Electric
    assert m["precision"] == pytest.approx(named_true / (named_true + 1))
    assert m["recall"] == pytest.approx(named_true / (2 + 2 + 3 + 3))
    assert np.isnan(m["recall_at_k"])


def test_metrics_mixtures_recall_at_k_and_secondary():
    P = np.stack([
        _p(Music=0.3, A=0.3, Other=0.2, B=0.1),   # a+b, k=3: Music, A, Other -> a found, b missed
        _p(Music=0.4, B=0.3, Guitar=0.2),         # b+ac, k=3: both found (Guitar is ac's), Music in top k
        _p(A=0.3, B=0.3, Acoustic=0.25, Other=0.1),  # a+b+ac, k=4: all found, Music not in the top 4
    ])
    inst = [["a", "b"], ["b", "ac"], ["a", "b", "ac"]]
    m = timbre.timbre_metrics(P, LABELS, inst, classes=CLASSES, threshold=0.15)
    assert m["n_mixed"] == 3 and np.isnan(m["top1"])
    assert m["recall_at_k"] == pytest.approx(np.mean([0.5, 1.0, 1.0]))
    assert m["recall_at_k_by_n"] == {2: pytest.approx(0.75), 3: pytest.approx(1.0)}
    assert m["recall_at_k_secondary"] == pytest.approx(np.mean([0, 1, 1, 1]))   # b, ac, b, ac
    assert m["generic_in_top_k"] == pytest.approx(2 / 3)
    ch = timbre.topk_chance
    expect = np.mean([np.mean([ch(7, 1, 3), ch(7, 1, 3)]), np.mean([ch(7, 1, 3), ch(7, 2, 3)]),
                      np.mean([ch(7, 1, 4), ch(7, 1, 4), ch(7, 2, 4)])])
    assert m["chance_recall_at_k"] == pytest.approx(expect)
    assert m["extras_per_excerpt_mixtures"] == pytest.approx(1 / 3)          # "Other" in the first
    # classes ranked by their own labels (a: A, b: B, ac: Acoustic, el: Electric), top K = number of instruments:
    # 1st: A .3, B .1 -> {a, b}; 2nd: B .3, the rest tied at .025 -> {b, a (first of the ties)}; 3rd: all
    assert m["instrument_recall"] == pytest.approx(np.mean([1.0, 0.5, 1.0]))
    assert m["chance_instrument_recall"] == pytest.approx(np.mean([2 / 4, 2 / 4, 3 / 4]))
    assert np.isnan(m["extras_per_excerpt_singles"])


def test_topk_chance_values():
    assert timbre.topk_chance(4, 1, 1) == pytest.approx(0.25)
    assert timbre.topk_chance(4, 1, 4) == pytest.approx(1.0)
    assert timbre.topk_chance(10, 0, 3) == 0.0
    assert timbre.topk_chance(47, 2, 3) == pytest.approx(1 - (45 * 44 * 43) / (47 * 46 * 45))
    with pytest.raises(ValueError, match="n_true <= n_labels"):
        timbre.topk_chance(3, 4, 1)


def test_metrics_bad_input():
    P = np.stack([_p(A=0.5)])
    with pytest.raises(ValueError, match="probs must be"):
        timbre.timbre_metrics(P[:, :3], LABELS, [["a"]], classes=CLASSES)
    with pytest.raises(ValueError, match="rows"):
        timbre.timbre_metrics(P, LABELS, [["a"], ["b"]], classes=CLASSES)
    with pytest.raises(ValueError, match="unknown instrument"):
        timbre.timbre_metrics(P, LABELS, [["tuba"]], classes=CLASSES)
    with pytest.raises(ValueError, match="threshold"):
        timbre.timbre_metrics(P, LABELS, [["a"]], classes=CLASSES, threshold=1.5)
    with pytest.raises(ValueError, match="NaN"):
        timbre.timbre_metrics(P * np.nan, LABELS, [["a"]], classes=CLASSES)
    with pytest.raises(ValueError, match="not in label_names"):
        timbre.timbre_metrics(P, LABELS, [["a"]], classes={"a": ("A",), "z": ("Zither",)})
    with pytest.raises(ValueError, match="at least one instrument"):
        timbre.timbre_metrics(P, LABELS, [[]], classes=CLASSES)


# ------------------------------------------------------------------ the excerpts and their ground truth
def test_classes_are_the_corpus_instruments():
    cls = timbre.instrument_classes()
    assert len(cls) == 17
    for name, labs in cls.items():
        assert SOURCES[name] == ("instrument", labs + ("Music",))
        assert set(labs) <= set(label_names())


def test_seed_space_is_disjoint_from_the_corpus():
    # the corpus seeds clip i with (seed, i); ours start with the tag, so the streams differ
    a = timbre.excerpt_rng(0, 1, 0, 1).bit_generator.state["state"]
    for corpus_seed in (0, 123):
        for i in range(3):
            assert np.random.default_rng([corpus_seed, i]).bit_generator.state["state"] != a
    assert timbre.excerpt_rng(0, 1, 0, 1).uniform() == timbre.excerpt_rng(0, 1, 0, 1).uniform()
    assert timbre.excerpt_rng(0, 1, 0, 1).uniform() != timbre.excerpt_rng(1, 1, 0, 1).uniform()
    with pytest.raises(ValueError, match="seed"):
        timbre.excerpt_rng(-1, 1)


def test_mix_excerpt_labels_level_and_bad_input():
    y, labels, gains = timbre.mix_excerpt(["acoustic guitar", "flute"], np.random.default_rng(0), duration=2.0)
    assert y.shape == (16000,) and y.dtype == np.float32
    assert np.abs(y).max() == pytest.approx(timbre.PEAK, rel=1e-5)
    assert labels == ["Acoustic guitar", "Guitar", "Flute", "Music"]
    assert gains[0] == 0 and timbre.MIX_GAIN_DB[0] <= gains[1] <= timbre.MIX_GAIN_DB[1]
    y2, _, _ = timbre.mix_excerpt(["acoustic guitar", "flute"], np.random.default_rng(0), duration=2.0)
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="unknown instrument"):
        timbre.mix_excerpt(["tuba"], np.random.default_rng(0))
    with pytest.raises(ValueError, match="distinct"):
        timbre.mix_excerpt(["flute", "flute"], np.random.default_rng(0))
    with pytest.raises(ValueError, match="one gain per"):
        timbre.mix_excerpt(["flute"], np.random.default_rng(0), gains_db=[0, 1])
    with pytest.raises(ValueError, match="at least one"):
        timbre.mix_excerpt([], np.random.default_rng(0))


def test_timbre_set_shapes_truth_and_cache(small_set):
    ts = small_set
    n = 17 + 2
    assert ts["audio"].shape == (n, 16000) and ts["sr"] == 8000
    assert list(ts["n_sources"]) == [1] * 17 + [2, 3]
    np.testing.assert_array_equal(ts["y"], list(range(17)) + [-1, -1])
    cls = timbre.instrument_classes()
    for inst, labs in zip(ts["instruments"], ts["labels"]):
        assert len(set(inst)) == len(inst)
        assert set(labs) == {lab for c in inst for lab in cls[c]} | {"Music"}
    params = {**SMALL_SET, "duration": 2.0, "sr": 8000}
    assert _cache.cache_path("timbre-set", params, timbre._code_hash()).is_file()   # the fixture cached it
    again = timbre.timbre_set(1, 0, 2.0, n_mixtures=1)                  # read from the cache
    np.testing.assert_array_equal(again["audio"], ts["audio"])
    fresh = timbre.timbre_set(1, 0, 2.0, n_mixtures=1, cache=False)    # rendered again: the same bytes
    np.testing.assert_array_equal(fresh["audio"], ts["audio"])
    with pytest.raises(ValueError, match="at least 2 s"):
        timbre.timbre_set(1, 0, 1.0)
    with pytest.raises(ValueError, match="n_per_class"):
        timbre.timbre_set(0, 0, 4.0)


# ------------------------------------------------------------------ tags
def test_tag_equals_tag_set_and_sums_to_one(tiny, small_set):
    x = small_set["audio"][:3]
    P, E = tagging.tag_set(x, tiny, sr=8000)
    assert P.shape == (3, 48) and E.shape == (3, 16)
    np.testing.assert_allclose(P.sum(1), 1, atol=1e-5)
    r = tagging.tag(x[1], tiny, sr=8000, top_k=4)
    np.testing.assert_allclose(r["probs"], P[1], atol=1e-6)
    np.testing.assert_allclose(r["embedding"], E[1], rtol=1e-5, atol=1e-7)
    assert r["labels"] == label_names() and len(r["top"]) == 4 and r["n_windows"] == 1
    ps = [p for _, p in r["top"]]
    assert ps == sorted(ps, reverse=True) and ps[0] == pytest.approx(r["probs"].max())
    # a 4 s excerpt: windows start at 0 and 2 s (default), or at 0, 1 and 2 s
    y = np.concatenate([x[0], x[1]])
    assert tagging.tag(y, tiny, sr=8000)["n_windows"] == 2
    assert tagging.tag(y, tiny, sr=8000, hop=1.0)["n_windows"] == 3


def test_sigmoid_models_and_default_threshold(tiny, small_set):
    torch.manual_seed(1)
    bce = NeuralogramNet(ModelConfig(**TINY, loss="bce")).eval()
    P, _ = tagging.tag_set(small_set["audio"][:2], bce, sr=8000)
    assert ((P > 0) & (P < 1)).all() and not np.allclose(P.sum(1), 1)     # one sigmoid per label
    assert timbre.default_threshold(bce) == 0.5 and timbre.default_threshold(tiny) == 0.1


def test_tag_bad_input(tiny):
    with pytest.raises(ValueError, match="numeric audio"):
        tagging.tag(None, tiny, sr=8000)
    with pytest.raises(ValueError, match="top_k"):
        tagging.tag(np.zeros(16000, np.float32), tiny, sr=8000, top_k=0)
    with pytest.raises(ValueError, match="label names"):
        tagging.tag(np.zeros(16000, np.float32), tiny, sr=8000, info={"label_names": ["a", "b"]})
    with pytest.raises(ValueError, match="n_excerpts, samples"):
        tagging.tag_set(np.zeros(16000, np.float32), tiny, sr=8000)
    with pytest.raises(ValueError, match="shorter than the window"):
        tagging.tag_set(np.zeros((2, 8000), np.float32), tiny, sr=8000)
    with pytest.raises(ValueError, match="NaN"):
        tagging.tag_set(np.full((1, 16000), np.nan, np.float32), tiny, sr=8000)
    with pytest.raises(ValueError, match="model must be"):
        tagging.tag(np.zeros(16000, np.float32), 42, sr=8000)


def test_timbre_run_cached_and_probe(tiny, small_set):
    r = timbre.timbre_run(tiny, **SMALL_SET)
    assert r["probs"].shape == (19, 48) and r["emb"].shape == (19, 16) and list(r["rows"]) == list(range(19))
    again = timbre.timbre_run(tiny, **SMALL_SET)
    np.testing.assert_array_equal(again["probs"], r["probs"])
    s = timbre.timbre_run(tiny, subset="singles", **SMALL_SET)
    np.testing.assert_allclose(s["emb"], r["emb"][:17], rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="subset"):
        timbre.timbre_run(tiny, subset="mixes", **SMALL_SET)


# ------------------------------------------------------------------ embedding-level decoding
def test_instrument_decoding_separable_vs_random():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    X = rng.normal(size=(40, 6)) + 5 * np.eye(4, 6)[y]
    for method in ("logreg", "centroid"):
        d = timbre.instrument_decoding(X, y, method=method)
        assert d["accuracy"] == pytest.approx(1.0) and d["chance"] == 0.25 and len(d["folds"]) == 5
    noise = timbre.instrument_decoding(rng.normal(size=(40, 6)), y, method="centroid")
    assert noise["accuracy"] < 0.6
    with pytest.raises(ValueError, match="n_splits"):
        timbre.instrument_decoding(X, y, n_splits=11)
    with pytest.raises(ValueError, match="method"):
        timbre.instrument_decoding(X, y, method="knn")
    with pytest.raises(ValueError, match="two classes"):
        timbre.instrument_decoding(X, np.zeros(40, int))
    with pytest.raises(ValueError, match=r"X must be \(n, D\)"):
        timbre.instrument_decoding(X[:5], y)


def test_spectrogram_features(small_set):
    F = timbre.spectrogram_features(small_set["audio"][:2], sr=8000)
    assert F.shape == (2, 258) and np.isfinite(F).all()
    assert (F[:, 129:] >= 0).all()                          # standard deviations
    with pytest.raises(ValueError, match="n_excerpts"):
        timbre.spectrogram_features(np.zeros(100), sr=8000)


# ------------------------------------------------------------------ widget
def test_timbre_widget_recomputes_and_refuses_duplicates(tiny, tmp_path, monkeypatch):
    from neuralogram.viz import live, probe_widgets as widgets
    from neuralogram.checkpoints import save_checkpoint
    from neuralogram.data.standin.corpus import label_mids

    save_checkpoint(tmp_path / "tiny-e16.pt", dict(config=tiny.config.to_dict(), state_dict=tiny.state_dict(),
                                                   label_names=label_names(), label_mids=label_mids(), metrics={}))
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    monkeypatch.setattr(live, "_MODELS", {})
    w = widgets.timbre_widget(default_model="tiny-e16")
    r = w.last_result
    assert r["chosen"] == ["violin", "piano"] and r["labels"] == ["Violin, fiddle", "Piano", "Music"]
    assert r["y"].shape == (32000,) and len(r["tags"]["top"]) == 10
    controls = w.children[1].children
    controls[3].value = "drum kit"                                   # a third instrument
    assert w.last_result["chosen"] == ["violin", "piano", "drum kit"]
    controls[2].value = "violin"                                     # a duplicate is refused, nothing recomputed
    assert w.last_result["chosen"] == ["violin", "piano", "drum kit"]
