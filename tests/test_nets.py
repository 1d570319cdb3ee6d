"""One interface for every embedding network: the VGG and mn04 go through the same calls, with no type checks."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import neuralogram
from neuralogram import tagging, transform as tr
from neuralogram.checkpoints import load_model, models_dir, resolve_model
from neuralogram.hear import HearModel, get_scene_embeddings, get_timestamp_embeddings
from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram.nets import EmbeddingNet
from neuralogram.probes.baseline import random_init_model

INTERFACE = ("sr", "context_seconds", "max_window_seconds", "min_window_seconds", "frame_hop", "time_stride",
             "fast_margin", "embedding_size", "n_classes", "loss", "chunk_invariant", "arch", "embedding_layer",
             "layer_names", "conv_layer_names", "temperature")


@pytest.fixture(scope="module")
def mn04():
    return load_model("mn04-audioset")


@pytest.fixture(scope="module")
def vgg():
    torch.manual_seed(0)
    return NeuralogramNet(ModelConfig(n_classes=5, embedding_size=16, width=0.0625)).eval()


def _noise(seconds, sr, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def test_both_declare_the_interface(mn04, vgg):
    model, info = mn04
    for net in (model, vgg):
        assert isinstance(net, EmbeddingNet)
        for name in INTERFACE:
            assert getattr(net, name) is not None or name == "max_window_seconds", name
        assert net.check_layer(None) == net.embedding_layer
        with pytest.raises(ValueError, match="unknown layer"):
            net.check_layer("no-such-layer")
    assert (model.sr, model.embedding_size, model.n_classes, model.max_window_seconds) == (32000, 384, 527, None)
    assert (vgg.sr, vgg.max_window_seconds, vgg.chunk_invariant, model.chunk_invariant) == (8000, 2.0, True, False)
    assert info["name"] == "mn04-audioset" and len(info["label_names"]) == 527
    assert info["label_names"][0] == "Speech" and info["label_mids"][0] == "/m/09x0r"   # AudioSet's index order
    assert resolve_model(model, info)[0] is model


def test_neuralogram_of_either_network(mn04, vgg):
    model, _ = mn04
    y = _noise(5.0, 16000)
    for net in (model, vgg):
        N, t = neuralogram.neuralogram(y, net, sr=16000, hop=0.5)
        assert N.shape == (net.embedding_size, 7) and np.allclose(t, 1.0 + 0.5 * np.arange(7))
        Nf, _ = neuralogram.neuralogram(y, net, sr=16000, hop=0.5, mode="fast")
        d = tr.fast_vs_exact(N, Nf)
        assert Nf.shape == N.shape and np.isfinite(Nf).all() and d["corr"] > 0.3
    # mn04 takes any window (global pooling); the VGG only up to its 2 s context
    N, t = neuralogram.neuralogram(y, model, sr=16000, window=5.0)
    assert N.shape == (384, 1) and t[0] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="longer than the model's context"):
        neuralogram.neuralogram(y, vgg, sr=16000, window=5.0)
    with pytest.raises(ValueError, match="shorter than 0.02"):
        neuralogram.neuralogram(y, model, sr=16000, window=0.01)


def test_whole_clip_window_is_the_whole_clip_output(mn04):
    """A window equal to the clip is the clip's whole-clip output: front end, trunk and head on the clip."""
    model, info = mn04
    y = _noise(3.0, 32000, seed=1)
    N, _ = neuralogram.neuralogram(y, model, sr=32000, window=3.0)
    with torch.no_grad():
        spec = model.frontend(torch.from_numpy(y)[None])
        emb = model.embed(spec)[0].numpy()
        p = torch.sigmoid(model(spec))[0].double().numpy()
    np.testing.assert_allclose(N[:, 0], emb, rtol=1e-4, atol=1e-5)
    r = tagging.tag(y, model, sr=32000, info=info, window=3.0)
    np.testing.assert_allclose(r["probs"], p, rtol=1e-4, atol=1e-6)
    assert r["n_windows"] == 1 and r["labels"][0] == "Speech"


def test_tag_set_hear_and_twin_take_either(mn04, vgg):
    model, _ = mn04
    audio = np.stack([_noise(2.5, 8000, s) for s in range(3)])
    for net in (model, vgg):
        P, E = tagging.tag_set(audio, net, sr=8000)
        assert P.shape == (3, net.n_classes) and E.shape == (3, net.embedding_size)
        h = HearModel(net)
        assert h.sample_rate == (32000 if net.sr == 32000 else 16000)
        assert h.scene_embedding_size == net.embedding_size
        x = torch.from_numpy(np.stack([_noise(1.2, h.sample_rate, s) for s in range(2)]))
        emb, ts = get_timestamp_embeddings(x, h)
        assert emb.shape[:2] == ts.shape and emb.shape[2] == net.embedding_size
        assert get_scene_embeddings(x, h).shape == (2, net.embedding_size)
    spec = model.frontend(torch.from_numpy(_noise(2.0, 32000))[None].repeat(4, 1) * torch.rand(4, 1))
    twin = random_init_model(model, spec, n_batches=2, batch_size=4, seed=0)
    assert type(twin) is type(model) and twin.chunk_invariant is False


def test_embedding_net_refuses_other_modules():
    with pytest.raises(ValueError, match="embedding network"):
        neuralogram.neuralogram(np.zeros(16000, np.float32), torch.nn.Linear(3, 3), sr=8000)
    with pytest.raises(ValueError, match="NeuralogramNet or a MobileNetAudioSet"):
        resolve_model(torch.nn.Linear(3, 3))


@pytest.fixture
def models_copy(tmp_path, monkeypatch):
    for p in models_dir().glob("mn04-audioset.*"):
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    return tmp_path


def test_load_model_checks_the_card_and_the_weights(models_copy):
    card = json.loads((models_copy / "mn04-audioset.json").read_text())
    model, info = load_model("mn04-audioset")
    assert info["sha256"] == card["sha256"] and info["path"] == str(models_copy / "mn04-audioset.pt")
    assert neuralogram.available_models() == ["mn04-audioset"]
    assert neuralogram.available_models(family="audioset") == ["mn04-audioset"]
    # a wrong sha256 in the card, an altered weight file, a card without its label file: clear errors, no writes
    before = sorted((p.name, p.stat().st_mtime_ns) for p in models_copy.iterdir())
    bad = dict(card, sha256="0" * 64)
    (models_copy / "mn04-audioset.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="SHA-256 899a8c62.* differs"):
        load_model("mn04-audioset")
    (models_copy / "mn04-audioset.json").write_text(json.dumps({k: v for k, v in card.items() if k != "labels"}))
    with pytest.raises(ValueError, match="labels"):
        load_model("mn04-audioset")
    (models_copy / "mn04-audioset.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model("mn04-audioset")
    (models_copy / "mn04-audioset.json").write_text(json.dumps(card))
    raw = bytearray((models_copy / "mn04-audioset.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (models_copy / "mn04-audioset.pt").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="mn04-audioset.pt"):
        load_model("mn04-audioset")
    after = sorted(p.name for p in models_copy.iterdir())
    assert after == [n for n, _ in before]
