"""Tests of the Speech Commands loader, the espeak-ng word set and the semantics probe's metrics.

The Speech Commands fixture is written here with soundfile (never downloaded).
"""
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from neuralogram.data import speech_commands as sc
from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram.probes import semantics as sem

SR = 16000


def _tone(seconds, f, sr=SR):
    t = np.arange(int(round(seconds * sr))) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.fixture
def sc_root(tmp_path):
    """A tiny Speech Commands folder: 3 words x 4 speakers (one take each, speaker 'dd' two takes of 'yes'),
    the two split lists, a background-noise folder and one corrupt file."""
    root = tmp_path / "speech_commands_v0.02"
    speakers = ["aa11", "bb22", "cc33", "dd44"]
    lengths = {"yes": 0.8, "no": 1.0, "up": 1.25}
    for wi, (word, sec) in enumerate(lengths.items()):
        (root / word).mkdir(parents=True)
        for si, spk in enumerate(speakers):
            sf.write(root / word / f"{spk}_nohash_0.wav", _tone(sec, 200 + 100 * wi + 10 * si), SR, subtype="PCM_16")
    sf.write(root / "yes" / "dd44_nohash_1.wav", _tone(0.5, 777), SR, subtype="PCM_16")
    (root / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\nno/bb22_nohash_0.wav\nup/bb22_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("yes/cc33_nohash_0.wav\nno/cc33_nohash_0.wav\nup/cc33_nohash_0.wav\n")
    (root / "_background_noise_").mkdir()
    sf.write(root / "_background_noise_" / "white_noise.wav", np.zeros(SR * 3, np.float32), SR)
    (root / "no" / "ee55_nohash_0.wav").write_bytes(b"this is not a wav file")
    return root


# ---------------------------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------------------------
def test_list_items_layout_and_splits(sc_root):
    items = sc.list_items(sc_root)
    assert {it.word for it in items} == {"yes", "no", "up"}             # _background_noise_ is not a word
    assert len(items) == 3 * 4 + 1 + 1                                    # + the second take + the corrupt file
    by = {(it.word, it.speaker, it.take): it for it in items}
    assert by["yes", "bb22", 0].split == "validation" and by["up", "cc33", 0].split == "testing"
    assert by["no", "aa11", 0].split == "train" and by["yes", "dd44", 1].take == 1
    assert {it.split for it in items if it.speaker == "bb22"} == {"validation"}
    only = sc.list_items(sc_root, words=["up"], splits="testing")
    assert [(it.word, it.speaker) for it in only] == [("up", "cc33")]
    assert sc.background_noise_files(sc_root)[0].endswith("white_noise.wav")


def test_list_items_errors(sc_root, tmp_path):
    with pytest.raises(ValueError, match="no Speech Commands folder"):
        sc.list_items(tmp_path / "absent")
    with pytest.raises(ValueError, match="unknown word.*'left'"):
        sc.list_items(sc_root, words=["yes", "left"])
    with pytest.raises(ValueError, match="unknown split"):
        sc.list_items(sc_root, splits=["dev"])


def test_missing_lists_warn_and_default_to_train(sc_root):
    (sc_root / "testing_list.txt").unlink()
    with pytest.warns(UserWarning, match="testing_list.txt"):
        items = sc.list_items(sc_root)
    assert {it.split for it in items if it.speaker == "cc33"} == {"train"}


def test_load_words_skips_and_reports_unreadable(sc_root):
    items = sc.list_items(sc_root, words=["no"])
    ws, skipped = sc.load_words(items)
    assert len(ws) == 4 and len(skipped) == 1
    assert skipped[0][0].endswith("ee55_nohash_0.wav") and "cannot read" in skipped[0][1]
    assert ws.audio.shape == (4, SR) and ws.source == "speech-commands" and set(ws.kind) == {""}
    with pytest.raises(ValueError, match="ee55_nohash_0.wav"):
        sc.load_words(items, on_error="raise")
    with pytest.raises(ValueError, match="empty"):
        sc.load_words([])


def test_clips_are_centred_in_one_second(sc_root):
    short = sc.read_clip(sc_root / "yes" / "aa11_nohash_0.wav")          # 0.8 s -> 0.1 s of zeros each side
    assert short.shape == (SR,)
    assert np.all(short[: int(0.1 * SR) - 1] == 0) and np.all(short[-int(0.1 * SR) + 1:] == 0)
    assert np.abs(short[SR // 2 - 100: SR // 2 + 100]).max() > 0.1
    long = sc.read_clip(sc_root / "up" / "aa11_nohash_0.wav")            # 1.25 s -> cropped around its centre
    full, _ = sf.read(sc_root / "up" / "aa11_nohash_0.wav", dtype="float32")
    a = (full.size - SR) // 2
    np.testing.assert_allclose(long, full[a:a + SR])
    # another rate is resampled to 16 kHz
    sf.write(sc_root / "yes" / "ff66_nohash_0.wav", _tone(1.0, 300, sr=8000), 8000)
    assert sc.read_clip(sc_root / "yes" / "ff66_nohash_0.wav").shape == (SR,)
    with pytest.raises(ValueError, match="no such audio file"):
        sc.read_clip(sc_root / "yes" / "missing.wav")


def test_balanced_subset(sc_root):
    items = [it for it in sc.list_items(sc_root) if it.speaker != "ee55"]
    sub = sc.balanced_subset(items, words=["yes", "no", "up"], n_speakers=3, seed=1)
    assert len(sub) == 9 and len({it.speaker for it in sub}) == 3
    assert all(it.take == 0 for it in sub)                                 # the smallest take of dd44
    with pytest.raises(ValueError, match="only 4 speakers"):
        sc.balanced_subset(items, words=["yes", "no", "up"], n_speakers=5)
    with pytest.raises(ValueError, match="only 2 speakers"):
        sc.balanced_subset(items, words=["yes", "no"], n_speakers=3, split="train")


def test_fit_length_and_window():
    y = np.arange(1, 6, dtype=np.float32)
    np.testing.assert_array_equal(sc.fit_length(y, 9), [0, 0, 1, 2, 3, 4, 5, 0, 0])
    np.testing.assert_array_equal(sc.fit_length(y, 3), [2, 3, 4])
    clips = np.ones((2, SR), np.float32)
    w = sc.place_in_window(clips, sr=SR)                                    # 1 s at 16 kHz -> centred in 2 s at 8 kHz
    assert w.shape == (2, 16000)
    assert np.abs(w[:, :3900]).max() < 1e-3 and np.abs(w[:, -3900:]).max() < 1e-3
    assert np.allclose(w[:, 4100:11900], 1, atol=1e-2)
    with pytest.raises(ValueError, match="do not fit"):
        sc.place_in_window(np.ones((1, 3 * SR)), sr=SR)
    with pytest.raises(ValueError, match="1-D"):
        sc.fit_length(np.ones((2, 2)), 3)


def test_wordset_validation():
    with pytest.raises(ValueError, match="one label per clip"):
        sc.WordSet(np.zeros((3, 10)), SR, ["a", "b"], ["s"] * 3, [""] * 3)
    with pytest.raises(ValueError, match="NaN"):
        sc.WordSet(np.full((2, 10), np.nan), SR, ["a", "b"], ["s"] * 2, [""] * 2)
    ws = sc.WordSet(np.zeros((4, 10)), SR, ["a", "b", "a", "b"], ["s", "s", "t", "t"], [""] * 4)
    assert ws.words == ["a", "b"] and ws.speakers == ["s", "t"] and len(ws.subset(ws.word == "a")) == 2
    assert ws.fingerprint() != sc.WordSet(np.ones((4, 10)), SR, ws.word, ws.speaker, ws.kind).fingerprint()


def test_synthetic_speakers_distinct_and_balanced():
    spk = sc.synthetic_speakers(30, seed=0)
    assert len({s for s, _, _ in spk}) == 30
    kinds = [s.kind for _, s, _ in spk]
    assert kinds.count("male") == 17                                     # alternating: 13 female/child + 17 male
    assert [s for s, _, _ in sc.synthetic_speakers(30, seed=0)] == [s for s, _, _ in spk]
    assert len({s for s, _, _ in sc.synthetic_speakers(60, seed=0)}) == 60


def test_synthetic_words_small():
    from neuralogram.data.standin import speech

    if not speech.available():
        pytest.skip("espeak-ng is not installed")
    ws = sc.synthetic_words(["yes", "go"], n_speakers=2, seed=3)
    assert ws.audio.shape == (4, SR) and ws.source == "espeak-ng"
    assert list(ws.word) == ["yes", "yes", "go", "go"] and ws.speaker[0] == ws.speaker[2] != ws.speaker[1]
    for row in ws.audio:                                                  # a centred, audible word
        nz = np.flatnonzero(np.abs(row) > 1e-3)
        assert 0.1 < (nz[-1] - nz[0]) / SR < 1.0 and abs((nz[0] + nz[-1]) / 2 - SR / 2) < 0.05 * SR
        assert np.abs(row).max() <= 0.7 + 1e-3
    again = sc.synthetic_words(["yes", "go"], n_speakers=2, seed=3)      # from the cache
    np.testing.assert_array_equal(again.audio, ws.audio)
    with pytest.raises(ValueError, match="single non-empty word"):
        sc.synthetic_words(["turn left"], n_speakers=2)
    with pytest.raises(ValueError, match="distinct"):
        sc.synthetic_words(["yes", "yes"], n_speakers=2)


# ---------------------------------------------------------------------------------------------------------------
# Metrics on synthetic clustered data
# ---------------------------------------------------------------------------------------------------------------
def _design(n_words=5, n_speakers=8, word_sep=6.0, speaker_sep=0.0, dim=20, seed=0):
    rng = np.random.default_rng(seed)
    wc, sc_ = rng.standard_normal((n_words, dim)) * word_sep, rng.standard_normal((n_speakers, dim)) * speaker_sep
    word = np.repeat(np.arange(n_words), n_speakers)
    speaker = np.tile(np.arange(n_speakers), n_words)
    X = wc[word] + sc_[speaker] + rng.standard_normal((word.size, dim))
    return X, word.astype(str), np.char.add("s", speaker.astype(str))


def test_metrics_separated_clusters():
    X, word, speaker = _design(word_sep=6.0)
    assert sem.silhouette(X, word) > 0.6
    assert sem.knn_accuracy(X, word, speaker) == 1.0
    acc, scores = sem.linear_probe(X, word, speaker)
    assert acc == 1.0 and scores.shape == (X.shape[0], 5)
    assert sem.silhouette(scores, word) > 0.5


def test_metrics_mixed_clusters():
    X, word, speaker = _design(word_sep=0.0)
    assert abs(sem.silhouette(X, word)) < 0.1
    assert sem.knn_accuracy(X, word, speaker) < 0.45                      # chance is 0.2
    assert sem.linear_probe(X, word, speaker)[0] < 0.45


def test_word_speaker_metrics_separate_what_is_there():
    X, word, speaker = _design(word_sep=0.0, speaker_sep=6.0)             # speakers cluster, words do not
    kind = np.where(np.isin(speaker, ["s0", "s2", "s4", "s6"]), "male", "female")
    m = sem.word_speaker_metrics(X, word, speaker, kind)
    assert m["silhouette_speaker"] > 0.5 > abs(m["silhouette_word"])
    assert m["knn_speaker"] > 0.9 and m["knn_word"] < 0.45
    assert m["chance_word"] == pytest.approx(0.2) and m["chance_speaker"] == pytest.approx(1 / 8)
    assert m["chance_kind"] == pytest.approx(0.5) and np.isfinite(m["knn_kind"])
    assert set(sem.METRICS) <= set(m)
    no_kind = sem.word_speaker_metrics(X, word, speaker, np.full(word.size, ""))
    assert np.isnan(no_kind["silhouette_kind"]) and np.isnan(no_kind["knn_kind"])


def test_project_is_reproducible():
    X, word, _ = _design(n_words=3, n_speakers=10)
    a, b = sem.project(X, "tsne", seed=0), sem.project(X, "tsne", seed=0)
    assert a.shape == (30, 2)
    np.testing.assert_allclose(a, b)
    assert sem.project(X, "pca").shape == (30, 2)


def test_metric_bad_input():
    X, word, speaker = _design()
    with pytest.raises(ValueError, match="NaN"):
        sem.silhouette(np.where(np.eye(*X.shape) > 0, np.nan, X), word)
    with pytest.raises(ValueError, match="one entry per row"):
        sem.silhouette(X, word[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        sem.silhouette(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="groups is required"):
        sem.knn_accuracy(X, word, None)
    with pytest.raises(ValueError, match="at least 2 groups"):
        sem.knn_accuracy(X, word, np.zeros(len(X)))
    with pytest.raises(ValueError, match="k must be"):
        sem.knn_accuracy(X, word, speaker, k=0)
    with pytest.raises(ValueError, match="C must be"):
        sem.linear_probe(X, word, speaker, C=-1)
    with pytest.raises(ValueError, match="method"):
        sem.project(X, "umap")


# ---------------------------------------------------------------------------------------------------------------
# The probe end to end, on a tiny network
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_wordset():
    rng = np.random.default_rng(0)
    audio, word, speaker = [], [], []
    for w, f in (("low", 300), ("high", 1500)):
        for s in range(4):
            y = sc.fit_length(_tone(0.5, f * (1 + 0.02 * s)) * (1 + 0.1 * s), SR) + 0.001 * rng.standard_normal(SR)
            audio.append(y), word.append(w), speaker.append(f"s{s}")
    return sc.WordSet(np.stack(audio), SR, word, speaker, ["male", "female"] * 4, "test")


def test_semantics_probe_tiny(tiny_wordset):
    torch.manual_seed(0)
    model = NeuralogramNet(ModelConfig(n_classes=3, embedding_size=16, width=0.0625)).eval()
    kw = dict(wordset=tiny_wordset, n_splits=2, k=1)
    r = sem.semantics_probe(model, representation="trained", **kw)
    assert r["X"].shape == (8, 16) and r["pca"].shape == r["tsne"].shape == r["probe_pca"].shape == (8, 2)
    assert list(r["word"]) == list(tiny_wordset.word) and r["n_words"] == 2
    again = sem.semantics_probe(model, representation="trained", **kw)   # from the cache
    np.testing.assert_array_equal(again["X"], r["X"])
    assert again["knn_word"] == r["knn_word"]
    mf = sem.semantics_probe(representation="mfcc", **kw)
    assert mf["X"].shape == (8, 40) and mf["knn_word"] == 1.0              # two tones: trivially separable
    assert sem.semantics_probe(representation="log-mel", **kw)["X"].shape == (8, 400)
    specs = torch.randn(8, 1, 129, 200) * 3 - 8
    rnd = sem.semantics_probe(model, representation="random-init", corpus=specs, **kw)
    assert rnd["X"].shape == (8, 16) and not np.allclose(rnd["X"], r["X"])
    table = sem.metrics_table({"trained": r, "mfcc": mf})
    assert "k-NN word accuracy" in table and "0.500" in table             # chance level of two words
    md = sem.metrics_table({"trained": r, "mfcc": mf}, markdown=True).splitlines()
    assert md[0] == "| | trained | mfcc | chance |" and md[1] == "|:--|--:|--:|--:|"
    row = next(line for line in md if "k-NN word accuracy" in line)
    assert row.endswith("| 1.000 | 0.500 |") and len(md) == len(table.splitlines()) + 1   # mfcc 1.000, chance


def test_semantics_probe_bad_input(tiny_wordset):
    with pytest.raises(ValueError, match="representation must be one of"):
        sem.semantics_probe(representation="wav2vec", wordset=tiny_wordset)
    with pytest.raises(ValueError, match="needs a model"):
        sem.semantics_probe(representation="trained", wordset=tiny_wordset)
    with pytest.raises(ValueError, match="WordSet"):
        sem.semantics_probe(representation="mfcc", wordset=np.zeros((8, SR)))
    with pytest.raises(ValueError, match="NeuralogramNet"):
        sem.embed_words(tiny_wordset, "not a model")
    with pytest.raises(ValueError, match="n_mfcc"):
        sem.mfcc_features(tiny_wordset, n_mfcc=50)


def test_semantics_widget_recomputes(tiny_wordset, tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from neuralogram.viz import live, probe_widgets as widgets
    from neuralogram.checkpoints import save_checkpoint

    cfg = ModelConfig(n_classes=3, embedding_size=16, width=0.0625)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "tiny-e16.pt", dict(config=cfg.to_dict(), state_dict=NeuralogramNet(cfg).state_dict(),
                                                   label_names=["a", "b", "c"], label_mids=["x", "y", "z"],
                                                   metrics={"mAP": 0.9, "chance_mAP": 0.33}))
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    monkeypatch.setattr(live, "_MODELS", {})
    box = widgets.semantics_widget(tiny_wordset, default_model="tiny-e16")
    r, projection, colour = box.last_result
    assert r["representation"] == "trained" and r["X"].shape == (8, 16) and (projection, colour) == ("tsne", "word")
    controls = {c.description: c for c in box.children[1].children}
    controls["features"].value = "mfcc"                  # a change recomputes
    controls["map"].value = "probe"
    controls["colour"].value = "speaker"
    r, projection, colour = box.last_result
    assert r["representation"] == "mfcc" and (projection, colour) == ("probe", "speaker")
    with pytest.raises(ValueError, match="projection"):
        sem.plot_map(None, r, "umap")


def test_mfcc_stats_is_the_one_recipe(tiny_wordset):
    """The package's MFCC recipe by hand (DCT-II of the log mel power, first n_mfcc, mean and std over frames), and
    the same numbers for a word window (mfcc_features) and for the clip-level path of the real-world baseline."""
    from scipy.fft import dct

    from neuralogram.spectral import linear_spectrogram, mel_filterbank

    y = sem.window_batch(tiny_wordset)[3].numpy()                      # one 2 s word window at 8 kHz
    power = np.exp(linear_spectrogram(y, sr=8000).double().numpy())     # (129, 200): the window is at 8 kHz
    T = mel_filterbank(n_mels=40).double().numpy()
    C = np.cos(np.pi / 40 * (np.arange(40)[None, :] + 0.5) * np.arange(40)[:, None]) * np.sqrt(2 / 40)
    C[0] /= np.sqrt(2)                                                   # orthonormal DCT-II matrix
    c = (C @ np.log(T @ power + 1e-6))[:20]
    want = np.concatenate([c.mean(1), c.std(1)])
    got = sem.mfcc_stats(torch.from_numpy(power))
    assert got.shape == (40,) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sem.mfcc_features(tiny_wordset)[3], want, rtol=1e-3, atol=1e-3)   # float32 path
    batch = sem.mfcc_stats(torch.from_numpy(np.stack([power, 2 * power])), n_mfcc=5)
    assert batch.shape == (2, 10)
    np.testing.assert_allclose(batch[0], sem.mfcc_stats(torch.from_numpy(power), n_mfcc=5), rtol=1e-6)
    assert batch[1, 0] > batch[0, 0] + 1                                     # louder: a higher c0 mean
    with pytest.raises(ValueError, match="n_mfcc"):
        sem.mfcc_stats(torch.from_numpy(power), n_mfcc=0)
