"""neuralogram.hear: the HEAR 2021 API (checked by hearvalidator) and the neuralogram of any HEAR module."""
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest
import torch

import neuralogram.hear as nh
from neuralogram import transform as tr
from neuralogram.audio import resample
from neuralogram.checkpoints import DEFAULT_MODEL, available_models, save_checkpoint
from neuralogram.model import ModelConfig, NeuralogramNet

SR = nh.SAMPLE_RATE


def _noise(seconds, *, sr=SR, n=1, seed=0):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((n, int(round(seconds * sr))))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A small NeuralogramNet (E = 16, 4-channel trunk) with non-trivial batch-norm statistics, saved as a checkpoint."""
    torch.manual_seed(0)
    net = NeuralogramNet(ModelConfig(n_classes=3, embedding_size=16, width=0.0625))
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
        net.trunk.input_norm.running_mean.fill_(-8.0)
        net.trunk.input_norm.running_var.fill_(9.0)
    path = tmp_path_factory.mktemp("hear") / "tiny.pt"
    save_checkpoint(path, {"config": net.config.to_dict(), "state_dict": net.state_dict(),
                           "label_names": ["a", "b", "c"], "label_mids": ["/m/a", "/m/b", "/m/c"]})
    return path


@pytest.fixture(scope="module")
def tiny(tiny_ckpt):
    return nh.load_model(str(tiny_ckpt))


# ---------------------------------------------------------------------------------------------------------------
# hearvalidator
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def validator(monkeypatch):
    """hearvalidator's ValidateModel, imported over a stub ``tensorflow``.

    hearvalidator imports tensorflow at the top of ``validate.py`` but uses it only for TensorFlow models
    (``isinstance(model, tf.Module)`` and the ``tf2_*`` paths); it is installed without its dependencies (it pins
    Python < 3.9 and TensorFlow would add gigabytes). The stub's ``Module`` is a class no model is an instance of,
    so a PyTorch model takes the torch path, which is the whole of what runs; any other attribute raises.
    """
    tf = types.ModuleType("tensorflow")

    class Module:  # nothing is an instance: every model here is a torch.nn.Module
        pass

    def __getattr__(name):  # a TensorFlow path was taken: the stub is not enough, say so
        raise AssertionError(f"hearvalidator used tensorflow.{name}; the stub only serves PyTorch models")

    tf.Module = Module
    tf.__getattr__ = __getattr__
    monkeypatch.setitem(sys.modules, "tensorflow", tf)
    monkeypatch.delitem(sys.modules, "hearvalidator.validate", raising=False)
    from hearvalidator.validate import ModelError, ValidateModel

    def run(module_name, model_file_path=""):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ValidateModel(module_name, model_file_path, device="cpu")()
        # The validator always warns about drift on long audio (it cannot check it); anything else is a finding.
        return [str(w.message) for w in caught if "IMPORTANT" not in str(w.message)]

    run.ModelError = ModelError
    return run


def test_hearvalidator_passes_tiny(validator, tiny_ckpt, capsys):
    assert validator("neuralogram.hear", str(tiny_ckpt)) == []
    out = capsys.readouterr().out
    assert "Model sample rate is: 16000" in out and "Checking get_scene_embeddings" in out
    assert "Max interval between timestamps is 50.0ms" in out
    assert "Received embedding of shape: (4, 16)" in out  # the scene check, the validator's last


def test_hearvalidator_passes_default_shipped(validator, capsys):
    if DEFAULT_MODEL not in available_models():
        pytest.skip(f"{DEFAULT_MODEL} is not shipped in this checkout")
    assert validator("neuralogram.hear") == []
    E = nh.load_model().timestamp_embedding_size
    assert f"Received embedding of shape: (4, {E})" in capsys.readouterr().out


def test_hearvalidator_rejects_a_broken_module(validator, tmp_path, monkeypatch, tiny_ckpt):
    """The validator test can fail: a module whose timestamps run past the end of the sound is refused."""
    pkg = tmp_path / "brokenhear"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from neuralogram.hear import load_model, get_scene_embeddings, get_timestamp_embeddings as _ts

        def get_timestamp_embeddings(audio, model):
            emb, ts = _ts(audio, model)
            return emb, ts + 100.0   # timestamps shifted by 100 ms: the last one lies past the end
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(validator.ModelError, match="timestamps end at"):
        validator("brokenhear", str(tiny_ckpt))


# ---------------------------------------------------------------------------------------------------------------
# the API's outputs
# ---------------------------------------------------------------------------------------------------------------
def test_load_model_attributes(tiny):
    assert isinstance(tiny, torch.nn.Module)
    assert tiny.sample_rate == 16000 and tiny.sample_rate in nh.HEAR_SAMPLE_RATES
    assert type(tiny.scene_embedding_size) is int and type(tiny.timestamp_embedding_size) is int
    assert tiny.scene_embedding_size == tiny.timestamp_embedding_size == 16
    assert tiny.hop_ms == 50.0 and tiny.layer == "conv5_4"
    assert list(dict(tiny.named_children())) == ["net"]  # .to(device) moves the network


@pytest.mark.parametrize("seconds", [0.3, 1.07, 2.0, 4.61])
def test_timestamps_are_window_centres_every_50ms(tiny, seconds):
    n = int(round(seconds * SR))
    emb, ts = nh.get_timestamp_embeddings(torch.from_numpy(_noise(seconds, n=2)), tiny)
    K = n // 800 + 1  # 800 samples = 50 ms at 16 kHz
    assert emb.shape == (2, K, 16) and emb.dtype == torch.float32
    assert ts.shape == (2, K) and ts.dtype == torch.float32
    np.testing.assert_array_equal(ts[0].numpy(), 50.0 * np.arange(K))
    np.testing.assert_array_equal(ts[0], ts[1])
    assert ts[0, 0] == 0 and ts[0, -1] <= 1000 * n / SR < ts[0, -1] + 50  # from the start to the end
    assert torch.isfinite(emb).all() and not torch.equal(emb[0], emb[1])


def test_timestamp_embeddings_are_zero_padded_centred_windows(tiny):
    """Every embedding equals the neuralogram column of the sound padded with 1 s of zeros on both sides."""
    y = _noise(3.3)[0]
    emb, ts = nh.get_timestamp_embeddings(torch.from_numpy(y)[None], tiny)
    pad = np.zeros(SR, np.float32)  # 1 s at 16 kHz = 8000 samples at 8 kHz: the resampler's grid is kept
    N, t = tr.neuralogram(np.concatenate([pad, y, pad]), tiny.net, sr=SR, hop=0.05)
    assert N.shape == (16, emb.shape[1])
    np.testing.assert_allclose(t - 1.0, ts[0].numpy() / 1000, atol=1e-9)
    np.testing.assert_allclose(emb[0].numpy().T, N, rtol=1e-4, atol=1e-5 * np.abs(N).max())


def test_equal_to_the_papers_neuralogram_on_shared_windows(tiny):
    """Timestamp 1000 + 500 j ms has the window of column j of neuralogram(y, sr=16000) (hop 0.5 s)."""
    y = _noise(6.0, seed=3)[0]
    emb, ts = nh.get_timestamp_embeddings(torch.from_numpy(y)[None], tiny)
    N, t = tr.neuralogram(y, tiny.net, sr=SR)
    k = np.round(t * 1000 / 50).astype(int)
    np.testing.assert_array_equal(ts[0, k].numpy(), 1000 * t)
    np.testing.assert_allclose(emb[0, k].numpy().T, N, rtol=1e-4, atol=1e-5 * np.abs(N).max())


def test_sounds_of_a_batch_do_not_see_each_other(tiny):
    a = _noise(1.5, n=3, seed=5)
    a[1] *= 0.01
    emb, _ = nh.get_timestamp_embeddings(torch.from_numpy(a), tiny)
    for i in range(3):
        alone, _ = nh.get_timestamp_embeddings(torch.from_numpy(a[i:i + 1]), tiny)
        np.testing.assert_allclose(emb[i], alone[0], rtol=1e-4, atol=1e-6)


def test_scene_embedding_is_the_mean_of_the_papers_neuralogram(tiny):
    for seconds in (0.7, 2.74, 5.0):
        y = _noise(seconds, seed=7)[0]
        s = nh.get_scene_embeddings(torch.from_numpy(np.stack([y, -y])), tiny)
        assert s.shape == (2, 16) and s.dtype == torch.float32
        N, _ = tr.neuralogram(y, tiny.net, sr=SR, pad_end=True)
        np.testing.assert_allclose(s[0].numpy(), N.mean(axis=1), rtol=1e-4, atol=1e-6)


def test_options_hop_and_layer(tiny_ckpt):
    m = nh.load_model(str(tiny_ckpt), hop_ms=25, layer="conv4_4")
    emb, ts = nh.get_timestamp_embeddings(torch.from_numpy(_noise(1.0)), m)
    dim = m.net.config.channels()[m.net.conv_layer_names.index("conv4_4")]  # 32 at width 1/16
    assert m.timestamp_embedding_size == dim == 32 and emb.shape == (1, 41, 32)
    np.testing.assert_array_equal(np.diff(ts[0].numpy()), 25.0)
    np.testing.assert_array_equal(nh.timestamps_ms(16000, hop_ms=12.5)[[1, -1]], [12.5, 1000.0])


def test_default_shipped_model_on_short_audio():
    if DEFAULT_MODEL not in available_models():
        pytest.skip(f"{DEFAULT_MODEL} is not shipped in this checkout")
    m = nh.load_model()
    E = m.net.config.embedding_size
    assert m.name == DEFAULT_MODEL and m.timestamp_embedding_size == m.scene_embedding_size == E
    t = np.arange(int(0.5 * SR)) / SR
    y = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    emb, ts = nh.get_timestamp_embeddings(torch.from_numpy(y)[None], m)
    assert emb.shape == (1, 11, E) and ts[0, -1] == 500.0
    assert (emb >= 0).all() and emb.abs().sum() > 0  # pooled ReLU features: non-negative, not all zero
    np.testing.assert_allclose(nh.get_scene_embeddings(torch.from_numpy(y)[None], m)[0],
                               tr.neuralogram(y, m.net, sr=SR)[0][:, 0], rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_device(tiny_ckpt):
    m = nh.load_model(str(tiny_ckpt))
    a = torch.from_numpy(_noise(2.5, n=2))
    ref, _ = nh.get_timestamp_embeddings(a, m)
    m.to("cuda")
    emb, ts = nh.get_timestamp_embeddings(a.cuda(), m)
    assert emb.device.type == "cuda" and ts.device.type == "cuda"
    np.testing.assert_allclose(emb.cpu(), ref, rtol=1e-3, atol=1e-4)


def test_bad_input(tiny, tiny_ckpt, tmp_path):
    ok = torch.zeros(1, SR)
    with pytest.raises(ValueError, match=r"shape \(n_sounds, n_samples\)"):
        nh.get_timestamp_embeddings(torch.zeros(SR), tiny)
    with pytest.raises(ValueError, match=r"shape \(n_sounds, n_samples\)"):
        nh.get_scene_embeddings(torch.zeros(1, 1, SR), tiny)
    with pytest.raises(ValueError, match="no sounds"):
        nh.get_timestamp_embeddings(torch.zeros(0, SR), tiny)
    with pytest.raises(ValueError, match="empty"):
        nh.get_timestamp_embeddings(torch.zeros(2, 0), tiny)
    bad = ok.clone()
    bad[0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        nh.get_scene_embeddings(bad, tiny)
    with pytest.raises(ValueError, match="must come from neuralogram.hear.load_model"):
        nh.get_timestamp_embeddings(ok, tiny.net)
    with pytest.raises(ValueError, match="torch.Tensor"):
        nh.get_timestamp_embeddings([[0.0] * 100], tiny)
    with pytest.raises(ValueError, match="unknown model"):
        nh.load_model("no-such-network")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        nh.load_model(str(junk))
    with pytest.raises(ValueError, match="whole number of samples"):
        nh.load_model(str(tiny_ckpt), hop_ms=0.1)
    with pytest.raises(ValueError, match="hop_ms must be > 0"):
        nh.load_model(str(tiny_ckpt), hop_ms=0)
    with pytest.raises(ValueError, match="unknown layer"):
        nh.load_model(str(tiny_ckpt), layer="fc1")


# ---------------------------------------------------------------------------------------------------------------
# the other direction: the neuralogram of any HEAR module
# ---------------------------------------------------------------------------------------------------------------
LOGMEL_MODULE = '''
"""A small HEAR 2021 module: 64-band log-mel frames every 20 ms at 22.05 kHz (no neuralogram code)."""
import torch
import torchaudio

HOP = 441  # 20 ms at 22050 Hz


class LogMel(torch.nn.Module):
    sample_rate = 22050
    scene_embedding_size = timestamp_embedding_size = 64

    def __init__(self):
        super().__init__()
        self.register_buffer("window", torch.hann_window(1024))
        self.register_buffer("fb", torchaudio.functional.melscale_fbanks(513, 0.0, 11025.0, 64, 22050))


def load_model(model_file_path=""):
    return LogMel()


def get_timestamp_embeddings(audio, model):
    X = torch.stft(audio, 1024, HOP, window=model.window, center=True, return_complex=True)
    emb = torch.log(X.abs().square().transpose(1, 2) @ model.fb + 1e-6)        # (n_sounds, frames, 64)
    n_frames = audio.shape[1] // HOP + 1
    ts = torch.arange(n_frames, device=audio.device) * (1000.0 * HOP / model.sample_rate)
    return emb[:, :n_frames].float(), ts.expand(audio.shape[0], -1)


def get_scene_embeddings(audio, model):
    return get_timestamp_embeddings(audio, model)[0].mean(dim=1)
'''


@pytest.fixture
def logmel(tmp_path, monkeypatch):
    """The log-mel HEAR module above, installed as the package ``tinylogmel`` in a temporary folder."""
    pkg = tmp_path / "tinylogmel"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(LOGMEL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tinylogmel", raising=False)
    return "tinylogmel"


def test_the_test_module_is_a_hear_module(validator, logmel):
    assert validator(logmel) == []


def test_neuralogram_of_a_foreign_module(logmel):
    import importlib

    sr = 44100
    t = np.arange(int(3.0 * sr)) / sr
    f = 200.0 * 20 ** (t / 3.0)  # a chirp from 200 Hz to 4 kHz
    y = (0.5 * np.sin(2 * np.pi * np.cumsum(f) / sr)).astype(np.float32)
    N, times = nh.neuralogram_of(logmel, np.stack([y, y]), sr=sr)  # stereo in: averaged
    K = int(round(3.0 * 22050)) // 441 + 1
    assert N.shape == (64, K) and N.dtype == np.float32
    np.testing.assert_allclose(times, 0.02 * np.arange(K), atol=1e-6)
    mod = importlib.import_module(logmel)
    y22 = resample(y, orig_sr=sr, target_sr=22050)  # the package's resampler
    emb, _ = mod.get_timestamp_embeddings(y22[None], mod.load_model())
    np.testing.assert_allclose(N, emb[0].numpy().T, rtol=1e-5, atol=1e-4)
    peak = N[:, 10:-10].argmax(axis=0)  # the chirp climbs the mel bands
    assert np.all(np.diff(peak) >= -1) and peak[-1] - peak[0] > 20


def test_neuralogram_of_ourselves(tiny):
    y = _noise(2.5, seed=9)[0]
    N, times = nh.neuralogram_of(nh, y, sr=SR, model=tiny)
    emb, ts = nh.get_timestamp_embeddings(torch.from_numpy(y)[None], tiny)
    np.testing.assert_array_equal(N, emb[0].numpy().T)
    np.testing.assert_allclose(times, ts[0].numpy() / 1000)


def test_neuralogram_of_bad_input(logmel, tmp_path, monkeypatch):
    y = _noise(1.0)[0]
    with pytest.raises(ValueError, match="cannot import the HEAR module 'no_such_hear_module'"):
        nh.neuralogram_of("no_such_hear_module", y, sr=SR)
    with pytest.raises(ValueError, match="is not a HEAR module"):
        nh.neuralogram_of(types.ModuleType("empty"), y, sr=SR)
    with pytest.raises(ValueError, match="NaN or Inf"):
        nh.neuralogram_of(logmel, np.full(100, np.nan), sr=SR)
    with pytest.raises(ValueError, match="sample rate"):
        nh.neuralogram_of(logmel, y, sr=0)

    odd = types.ModuleType("odd")

    class NoRate(torch.nn.Module):
        pass

    odd.load_model = lambda model_file_path="": NoRate()
    odd.get_timestamp_embeddings = lambda audio, model: (torch.zeros(1, 3, 2), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="sample_rate must be a positive int"):
        nh.neuralogram_of(odd, y, sr=SR)
    NoRate.sample_rate = 16000
    odd.get_timestamp_embeddings = lambda audio, model: (torch.zeros(3, 2), torch.zeros(3))
    with pytest.raises(ValueError, match=r"returned embeddings \(3, 2\)"):
        nh.neuralogram_of(odd, y, sr=SR)
    odd.load_model = lambda model_file_path="": object()
    with pytest.raises(ValueError, match="only PyTorch HEAR models"):
        nh.neuralogram_of(odd, y, sr=SR)
