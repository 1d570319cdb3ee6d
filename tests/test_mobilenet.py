"""The AudioSet network mn04 (neuralogram.mobilenet) and its front end (neuralogram.spectral.AudioSetMel): layout,
front end against a direct computation, the fast front end, the checked loader, the random twin."""
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralogram import mobilenet
from neuralogram.mobilenet import MN04_SHA256, MobileNetAudioSet, load_audioset_net
from neuralogram.nets import EmbeddingNet
from neuralogram.spectral import AudioSetMel

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
WEIGHTS = MODELS / "mn04-audioset.pt"
LABELS = MODELS / "mn04-audioset.labels.csv"


@pytest.fixture(scope="module")
def shipped():
    return torch.load(WEIGHTS, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def net():
    return load_audioset_net(WEIGHTS, sha256=MN04_SHA256, label_csv=LABELS)


def _noise(seconds, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(int(seconds * 32000), generator=g)


# ------------------------------------------------------------------------------------------------ layout
def test_state_dict_keys_and_shapes_match_the_weights(shipped):
    sd = MobileNetAudioSet().state_dict()
    assert len(sd) == len(shipped) == 312
    assert list(sd) == list(shipped)      # same names, same order
    assert {k: tuple(v.shape) for k, v in sd.items()} == {k: tuple(v.shape) for k, v in shipped.items()}
    assert sum(p.numel() for p in MobileNetAudioSet().parameters()) == 983_599


def test_state_dict_round_trip(tmp_path, net):
    model, _ = net
    path = tmp_path / "w.pt"
    torch.save(model.state_dict(), path)
    again = MobileNetAudioSet()
    again.load_state_dict(torch.load(path, weights_only=True))
    again.eval()
    spec = model.frontend(_noise(1.0))
    with torch.no_grad():
        torch.testing.assert_close(again(spec), model(spec), rtol=0, atol=0)


def test_interface_values(net):
    model, info = net
    assert isinstance(model, EmbeddingNet)
    assert (model.sr, model.frame_hop, model.embedding_size, model.n_classes) == (32000, 320, 384, 527)
    assert model.loss == "bce" and model.time_stride == 32 and model.fast_margin == 320
    assert model.max_window_seconds is None and model.context_seconds == 2.0
    assert model.layer_names == [f"features.{i}" for i in range(17)] and model.embedding_layer == "features.16"
    assert model.fast_margin % model.time_stride == 0
    for T in (1, 31, 32, 33, 200, 1000):      # five stride-2 layers: ceil(T / 32) columns
        assert model.features(torch.zeros(1, 1, 128, T)).shape == (1, 384, 4, math.ceil(T / model.time_stride))
    assert info["config"]["sr"] == 32000 and info["calibration"] is None and len(info["label_names"]) == 527
    assert info["label_names"][0] == "Speech" and info["label_mids"][0] == "/m/09x0r"
    assert info["hash"] == mobilenet._weights_hash(model) and len(info["hash"]) == 12
    assert info["metrics"] == {"audioset_eval_mAP_reported": 0.432}


def test_weights_hash_is_the_checkpoint_algorithm(net):
    model, info = net
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().float().numpy().tobytes())
    assert info["hash"] == h.hexdigest()[:12]


def test_fast_margin_covers_the_receptive_field(net, monkeypatch):
    """With the (global) squeeze-excitation gates switched off, one column of features.16 depends on at most
    595 frames (297 each side), which the 320-frame margin covers."""
    model, _ = net
    monkeypatch.setattr(mobilenet._SqueezeExcite, "forward", lambda self, x: x)
    spec = torch.zeros(1, 1, 128, 1280, requires_grad=True)
    fmap = model.features(spec)
    j = fmap.shape[-1] // 2
    fmap[..., j].sum().backward()
    t = torch.nonzero(spec.grad.abs().sum(dim=(0, 1, 2))).flatten()
    centre = j * model.time_stride
    assert t.max() - t.min() + 1 <= 595
    assert centre - t.min() <= model.fast_margin and t.max() - centre <= model.fast_margin


def test_layer_table_and_flops(net):
    model, _ = net
    rows = model.layer_table()
    assert rows[0] == ("features.0", (8, 64, 100), 88)
    assert rows[16][0] == "features.16" and rows[16][1] == (384, 4, 7)
    assert rows[-1][1] == (527,)
    assert sum(r[2] for r in rows) == sum(p.numel() for p in model.parameters())
    f200, f400 = model.count_flops(200), model.count_flops(400)
    assert 4e7 < f200 < 6e7 and 1.8 < f400 / f200 < 2.1
    with pytest.raises(ValueError, match="n_frames"):
        model.count_flops(0)


# ------------------------------------------------------------------------------------------------ front end
def _kaldi_mel_bank(n_mels=128, n_fft=1024, sr=32000, f_min=0.0, f_max=15000.0):
    """Kaldi's triangular mel filters, written out: mel(f) = 1127 ln(1 + f / 700), triangles equally spaced on
    the mel scale between f_min and f_max, evaluated at the n_fft / 2 bin frequencies (Nyquist bin: zero)."""
    mel = lambda f: 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)  # noqa: E731
    lo, hi = mel(f_min), mel(f_max)
    delta = (hi - lo) / (n_mels + 1)
    m = mel(np.arange(n_fft // 2) * sr / n_fft)
    W = np.zeros((n_mels, n_fft // 2 + 1))
    for b in range(n_mels):
        left, centre, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
        up, down = (m - left) / (centre - left), (right - m) / (right - centre)
        W[b, :-1] = np.maximum(0.0, np.minimum(up, down))
    return W


def test_frontend_equals_a_direct_computation():
    y = _noise(0.3, seed=1).double().numpy()
    p = y[1:] - 0.97 * y[:-1]                                     # pre-emphasis, one sample shorter
    padded = np.pad(p, 512, mode="reflect")                       # center=True
    win = np.zeros(1024)
    win[112:912] = np.hanning(800)                                # symmetric Hann of 800, centred in 1024
    n_frames = 1 + (len(p)) // 320
    frames = np.stack([padded[m * 320:m * 320 + 1024] * win for m in range(n_frames)], axis=1)
    power = np.abs(np.fft.rfft(frames, axis=0)) ** 2
    want = (np.log(_kaldi_mel_bank() @ power + 1e-5) + 4.5) / 5
    got = AudioSetMel()(torch.from_numpy(y).float())
    assert got.shape == (1, 1, 128, n_frames)
    np.testing.assert_allclose(got[0, 0].double().numpy(), want, atol=2e-4)


def test_frontend_batch_and_shape():
    mel = AudioSetMel()
    y = torch.stack([_noise(1.0, 0), _noise(1.0, 1)])
    S = mel(y)
    assert S.shape == (2, 1, 128, 100)
    torch.testing.assert_close(S[1:], mel(y[1]), rtol=0, atol=1e-5)   # each item on its own


def test_frames_interior_equals_forward():
    mel = AudioSetMel()
    x = _noise(1.3, seed=2)
    full = mel(x)[0, 0]
    F_ = full.shape[1]
    whole = mel.frames(x, 0, F_)
    assert whole.shape == (128, F_)
    # frame m uses p[m*320 - 512, m*320 + 512); p has len(x) - 1 samples: interior frames never touch the padding
    interior = [m for m in range(F_) if m * 320 - 512 >= 0 and m * 320 + 512 <= x.numel() - 1]
    assert len(interior) >= F_ - 4
    torch.testing.assert_close(whole[:, interior], full[:, interior], rtol=0, atol=1e-4)
    torch.testing.assert_close(mel.frames(x, 5, 37), full[:, 5:37], rtol=0, atol=1e-4)   # a chunk
    edge = mel.frames(x, -10, 2)                  # outside the signal: zeros -> log(1e-5)
    torch.testing.assert_close(edge[:, :7], torch.full((128, 7), (math.log(1e-5) + 4.5) / 5), rtol=0, atol=1e-6)
    beyond = mel.frames(x, F_ + 5, F_ + 8)
    assert beyond.shape == (128, 3) and torch.isfinite(beyond).all()


def test_spec_frames_delegates(net):
    model, _ = net
    x = _noise(0.5)
    torch.testing.assert_close(model.spec_frames(x, 2, 9), model.frontend.frames(x, 2, 9))
    assert model.spec_frames(x, 2, 9).shape == (128, 7)


@pytest.mark.parametrize("bad, match", [
    (lambda: torch.zeros(300), "at least 514"),
    (lambda: torch.zeros(2, 3, 4000), "shape"),
    (lambda: torch.zeros(4000, dtype=torch.int16), "floating"),
    (lambda: torch.full((4000,), float("nan")), "NaN"),
    (lambda: [0.0] * 4000, "torch.Tensor"),
])
def test_frontend_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        AudioSetMel()(bad())


def test_frames_bad_input():
    mel = AudioSetMel()
    with pytest.raises(ValueError, match="f0 < f1"):
        mel.frames(_noise(0.1), 5, 5)
    with pytest.raises(ValueError, match="1-D"):
        mel.frames(torch.zeros(2, 100), 0, 1)
    with pytest.raises(ValueError, match="integer"):
        mel.frames(_noise(0.1), 0.5, 3)


# ------------------------------------------------------------------------------------------------ inputs
def test_short_and_bad_spec_inputs(net):
    model, _ = net
    with pytest.raises(ValueError, match="frames"):
        model.features(torch.zeros(1, 1, 128, 0))
    with pytest.raises(ValueError, match="128"):
        model.features(torch.zeros(1, 1, 129, 50))
    with pytest.raises(ValueError, match="NaN"):
        model.features(torch.full((1, 1, 128, 50), float("nan")))
    with pytest.raises(ValueError, match="torch.Tensor"):
        model.features(np.zeros((1, 1, 128, 50)))
    with pytest.raises(ValueError, match="unknown layer"):
        model.features(torch.zeros(1, 128, 50), "classifier.2")
    with pytest.raises(ValueError, match="at least"):      # shorter than the front end takes: a clear error
        model.embed_wave(torch.zeros(1, 400))
    with pytest.raises(ValueError, match=r"\(batch, 384\)"):
        model.head(torch.zeros(1, 383))


def test_min_window_is_accepted(net):
    model, _ = net
    n = round(model.min_window_seconds * model.sr)
    assert n >= model.frontend.min_samples
    e = model.embed_wave(_noise(n / model.sr)[None])
    assert e.shape == (1, 384) and torch.isfinite(e).all()
    with torch.no_grad():   # the trunk takes a single frame
        assert model.embed(torch.zeros(1, 1, 128, 1)).shape == (1, 384)


def test_embed_is_the_whole_clip_pooled(net):
    """Any length: a 5 s clip is embedded whole (no crop to the 2 s context), as the global average of
    features.16 over all its columns, the same alone or in a batch."""
    model, _ = net
    y = _noise(5.0, seed=3) * torch.linspace(0, 1, 160000)    # not stationary: a crop would differ
    with torch.no_grad():
        spec = model.frontend(y)
        assert spec.shape[-1] == 500
        e = model.embed(spec)
        fmap = model.trunk(spec)                               # the whole trunk by hand
        assert fmap.shape[-1] == 16
        torch.testing.assert_close(e, model.classifier[:2](fmap), rtol=0, atol=1e-6)
        torch.testing.assert_close(model.embed_wave(y[None]), e, rtol=0, atol=1e-6)
        crop = model.embed(spec[..., :200])
        assert (crop - e).abs().max() > 1e-3
        pair = model.embed(model.frontend(torch.stack([y, _noise(5.0, seed=4)])))
        torch.testing.assert_close(pair[:1], e, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model(spec), model.head(e), rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------ loader
def _save(tmp_path, obj, name="w.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(*dirs):
    return {p: p.stat().st_mtime_ns for d in dirs for p in Path(d).rglob("*")}


def test_loader_accepts_the_shipped_weights(net):
    model, info = net
    assert not model.training
    assert info["name"] == "mn04-audioset" and info["sha256"] == MN04_SHA256
    assert hashlib.sha256(WEIGHTS.read_bytes()).hexdigest() == MN04_SHA256


def test_loader_refuses_bad_files(tmp_path, shipped):
    before = _listing(tmp_path, MODELS)
    good = WEIGHTS.read_bytes()
    with pytest.raises(ValueError, match="does not exist") as err:
        load_audioset_net(tmp_path / "nope.pt", sha256=MN04_SHA256, label_csv=LABELS)
    assert "nope.pt" in str(err.value)
    with pytest.raises(ValueError, match="64 hex"):
        load_audioset_net(WEIGHTS, sha256="abc", label_csv=LABELS)

    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="differs from the expected") as err:
        load_audioset_net(trunc, sha256=MN04_SHA256, label_csv=LABELS)
    assert MN04_SHA256 in str(err.value) and hashlib.sha256(trunc.read_bytes()).hexdigest() in str(err.value)
    with pytest.raises(ValueError, match="cannot be read") as err:       # its own hash: torch.load is reached
        load_audioset_net(trunc, sha256=hashlib.sha256(trunc.read_bytes()).hexdigest(), label_csv=LABELS)
    assert "trunc.pt" in str(err.value)

    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0x01
    flip = tmp_path / "flip.pt"
    flip.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="SHA-256"):
        load_audioset_net(flip, sha256=MN04_SHA256, label_csv=LABELS)

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a pytorch file at all")
    with pytest.raises(ValueError, match="cannot be read"):
        load_audioset_net(junk, sha256=hashlib.sha256(junk.read_bytes()).hexdigest(), label_csv=LABELS)

    path, sha = _save(tmp_path, [torch.zeros(3)], "list.pt")
    with pytest.raises(ValueError, match="not hold a state dict"):
        load_audioset_net(path, sha256=sha, label_csv=LABELS)
    after = _listing(MODELS)
    assert after == {p: t for p, t in before.items() if MODELS in p.parents}   # nothing written beside the weights


@pytest.mark.parametrize("change, match", [
    ("remove", r"1 missing key\(s\): features.3.block.1.0.weight"),
    ("extra", r"1 unexpected key\(s\): features.17.weight"),
    ("shape", r"wrong shape: classifier.5.bias \(526,\) \(expected \(527,\)\)"),
    ("nan", r"NaN or Inf in 1 tensor\(s\): features.16.1.running_var"),
])
def test_loader_refuses_bad_state_dicts(tmp_path, shipped, change, match):
    sd = dict(shipped)
    if change == "remove":
        del sd["features.3.block.1.0.weight"]
    elif change == "extra":
        sd["features.17.weight"] = torch.zeros(3)
    elif change == "shape":
        sd["classifier.5.bias"] = torch.zeros(526)
    else:
        v = sd["features.16.1.running_var"].clone()
        v[7] = float("nan")
        sd["features.16.1.running_var"] = v
    path, sha = _save(tmp_path, sd)
    with pytest.raises(ValueError, match=match) as err:
        load_audioset_net(path, sha256=sha, label_csv=LABELS)
    assert "w.pt" in str(err.value)


def test_loader_refuses_bad_labels(tmp_path):
    short = tmp_path / "labels.csv"
    short.write_text("\n".join(LABELS.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(ValueError, match="526 labels"):
        load_audioset_net(WEIGHTS, sha256=MN04_SHA256, label_csv=short)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="columns"):
        load_audioset_net(WEIGHTS, sha256=MN04_SHA256, label_csv=other)
    with pytest.raises(ValueError, match="does not exist"):
        load_audioset_net(WEIGHTS, sha256=MN04_SHA256, label_csv=tmp_path / "none.csv")


# ------------------------------------------------------------------------------------------------ random twin
def test_random_twin(net):
    """The probes' one random twin (baseline.random_init_model) works for mn04: fresh seeded weights, batch-norm
    statistics re-estimated on the network's own input (here mel batches given as a tensor)."""
    from neuralogram.probes.baseline import random_init_model

    model, info = net
    g = torch.Generator().manual_seed(5)
    spec = model.frontend(0.1 * torch.randn(6, 32000, generator=g))
    state = torch.random.get_rng_state()
    twin = random_init_model(model, spec, n_batches=2, batch_size=3, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)          # the global RNG is left alone
    assert mobilenet._weights_hash(model) == info["hash"]             # the trained model is untouched
    assert not twin.training and type(twin) is MobileNetAudioSet
    a, b = model.state_dict(), twin.state_dict()
    assert list(a) == list(b) and all(a[k].shape == b[k].shape for k in a)
    assert not torch.allclose(a["features.14.block.1.0.weight"], b["features.14.block.1.0.weight"])
    bn = twin.trunk[0][1]
    assert bn.momentum == 0.01 and bn.running_var.min() > 0 and bn.running_mean.abs().max() > 0
    with torch.no_grad():
        out, emb = twin(spec), twin.embed(spec)
    assert torch.isfinite(out).all() and torch.isfinite(emb).all() and emb.std() > 0
    again = random_init_model(model, spec, n_batches=2, batch_size=3, seed=0)
    assert mobilenet._weights_hash(again) == mobilenet._weights_hash(twin)
    assert mobilenet._weights_hash(random_init_model(model, spec, n_batches=2, batch_size=3, seed=1)) != \
        mobilenet._weights_hash(twin)
    torch.manual_seed(0)
    fresh = model.reinitialised()                                     # the twin's weights: the seeded init
    a, b = twin.state_dict(), fresh.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if "running" not in k and "num_batches" not in k)


def test_architecture_reinitialised_check_frontend(net):
    model, info = net
    arch = model.architecture()
    assert arch["arch"] == model.arch and arch["width"] == 0.4 and arch["n_classes"] == 527 and arch["sr"] == 32000
    torch.manual_seed(3)
    fresh = model.reinitialised()
    assert type(fresh) is MobileNetAudioSet and not fresh.training and fresh.architecture() == arch
    assert mobilenet._weights_hash(fresh) != info["hash"]
    torch.manual_seed(3)
    assert mobilenet._weights_hash(model.reinitialised()) == mobilenet._weights_hash(fresh)   # the caller seeds
    model.check_frontend()
    other = MobileNetAudioSet()
    other.frontend = AudioSetMel(n_mels=64)
    with pytest.raises(ValueError, match="does not fit"):
        other.check_frontend()
