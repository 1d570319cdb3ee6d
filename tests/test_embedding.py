"""The one embedding loop (transform.embed_segments) and the proof that every probe measures the neuralogram of
chapter 6: pitch, rhythm, timbre and semantics features equal ``neuralogram()``'s columns on the same windows."""
import numpy as np
import pytest
import torch

from neuralogram import signals, tagging
from neuralogram import transform as tr
from neuralogram.data import speech_commands as sc
from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram.probes import pitch, rhythm, semantics, timbre
from neuralogram.spectral import LinearSpectrogram

SR = 8000
TINY = dict(n_classes=48, embedding_size=16, width=0.03125)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = NeuralogramNet(ModelConfig(**TINY)).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so that a wrong input scaling would show
        m.trunk.input_norm.running_mean.fill_(-6.0)
        m.trunk.input_norm.running_var.fill_(9.0)
    return m


def _by_hand(x, s, W, model, layer=None):
    """The definition: the window's own spectrogram (zeros outside the signal) through the trunk, pooled."""
    seg = np.zeros(W, np.float32)
    a, b = max(s, 0), min(s + W, len(x))
    if b > a:
        seg[a - s:b - s] = x[a:b]
    with torch.no_grad():
        return model.embed(LinearSpectrogram()(torch.from_numpy(seg))[None, None], layer)[0].numpy()


# ------------------------------------------------------------------ the primitive
def test_embed_segments_is_the_definition_inside_and_outside_the_signal(model):
    x = np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32) * 0.3
    starts = np.array([-12000, -3000, 0, 4000, 24000, 36000, 41000])  # before, straddling, inside, after
    N = tr.embed_segments(x, starts, model, batch_size=3)
    assert N.shape == (16, 7) and N.dtype == np.float32
    for k, s in enumerate(starts):
        np.testing.assert_allclose(N[:, k], _by_hand(x, int(s), 2 * SR, model), rtol=1e-4, atol=1e-6)
    # shorter windows, another layer
    N1 = tr.embed_segments(x, [0, 8000], model, window=1.0, layer="conv3_4")
    np.testing.assert_allclose(N1[:, 1], _by_hand(x, 8000, SR, model, "conv3_4"), rtol=1e-4, atol=1e-6)
    assert N1.shape[0] == model.config.channels()[7]


def test_embed_segments_restores_mode_and_refuses_bad_input(model):
    x = np.zeros(2 * SR, np.float32)
    model.train()
    try:
        tr.embed_segments(x, [0], model)
        assert model.training
    finally:
        model.eval()
    for args, kw, msg in [((x, [], model), {}, "starts"), ((x, [0.5], model), {}, "starts"),
                          ((np.zeros((2, 100)), [0], model), {}, "mono"), ((x, [0], model), {"layer": "fc1"}, "layer"),
                          ((x, [0], model), {"window": 3.0}, "longer than the model's context"),
                          ((x, [0], torch.nn.Linear(2, 2)), {}, "NeuralogramNet")]:
        with pytest.raises(ValueError, match=msg):
            tr.embed_segments(*args, **kw)


def test_one_layer_check_for_transform_and_probes(model):
    """The transform and every probe accept the same layers (a pool layer too) and refuse the same ones."""
    y = signals.down_up_chirp(duration=6.0, sr=SR)
    N, _ = tr.neuralogram(y, model, sr=SR, layer="pool4")
    r = pitch.pitch_run(model, None, duration=6.0, hop=1.0, layer="pool4", cache=False)
    assert r["N"].shape[0] == N.shape[0]
    for bad in ("fc1", "input_norm", "conv9_9"):
        with pytest.raises(ValueError, match="unknown layer"):
            tr.neuralogram(y, model, sr=SR, layer=bad)
        with pytest.raises(ValueError, match="unknown layer"):
            pitch.pitch_run(model, None, duration=6.0, hop=1.0, layer=bad, cache=False)


# ------------------------------------------------------------------ each probe measures neuralogram()
def test_pitch_probe_features_are_the_neuralogram(model):
    r = pitch.pitch_run(model, None, duration=10.0, hop=0.5, cache=False)
    y = signals.down_up_chirp(duration=10.0, sr=SR)
    N, t = tr.neuralogram(y, model, sr=SR, window=2.0, hop=0.5)
    np.testing.assert_array_equal(r["N"], N)
    np.testing.assert_array_equal(r["times"], t)
    np.testing.assert_allclose(r["freqs"], signals.down_up_frequency(t, duration=10.0))


def test_rhythm_probe_features_are_the_neuralogram(model):
    r = rhythm.rhythm_run(model, None, duration=12.0, period_start=0.1, period_end=0.01, hop=1.0, cache=False)
    y = signals.impulse_train_sweep(duration=12.0, period_start=0.1, period_end=0.01, sr=SR)
    N, t = tr.neuralogram(y, model, sr=SR, hop=1.0)
    np.testing.assert_array_equal(r["N"], N)
    np.testing.assert_array_equal(r["times"], t)
    p = rhythm.pattern_run(model, None, patterns=["isochronous"], duration=4.0, hop=0.5, cache=False)
    y0 = rhythm.beat_pattern("isochronous", rate=3.7, duration=4.0, sr=SR)
    N0, _ = tr.neuralogram(y0, model, sr=SR, hop=0.5)
    np.testing.assert_array_equal(p["N0"][0], N0)
    np.testing.assert_allclose(p["means"][0, 0], N0.mean(1), rtol=1e-6)


def test_timbre_probe_features_are_the_neuralogram(model):
    audio = np.random.default_rng(1).standard_normal((3, 4 * SR)).astype(np.float32) * 0.2
    P, E = tagging.tag_set(audio, model, sr=SR, window=2.0, hop=1.0, batch_size=4)
    for i in range(3):
        N, _ = tr.neuralogram(audio[i], model, sr=SR, hop=1.0)
        np.testing.assert_allclose(E[i], N.mean(1), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(P[i], tagging.probabilities(model, N).mean(0), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(P[i], tagging.tag(audio[i], model, sr=SR, hop=1.0)["probs"], rtol=1e-5,
                                   atol=1e-7)
    ts = timbre.timbre_set(1, 0, 2.0, n_mixtures=0)
    run = timbre.timbre_run(model, None, n_per_class=1, seed=0, duration=2.0, n_mixtures=0, subset="singles",
                            cache=False)
    k = 5
    N, _ = tr.neuralogram(ts["audio"][run["rows"][k]], model, sr=SR, hop=2.0)
    np.testing.assert_allclose(run["emb"][k], N[:, 0], rtol=1e-5, atol=1e-7)


def test_semantics_probe_features_are_the_neuralogram(model):
    t = np.arange(16000) / 16000
    audio = np.stack([0.3 * np.sin(2 * np.pi * f * t) * (t < 0.6) for f in (300, 700, 1500)]).astype(np.float32)
    ws = sc.WordSet(audio, 16000, ["a", "b", "c"], ["s0", "s1", "s2"], ["", "", ""], "test")
    X = semantics.embed_words(ws, model)
    windows = semantics.window_batch(ws).numpy()
    for i in range(3):
        N, _ = tr.neuralogram(windows[i], model, sr=SR)
        assert N.shape[1] == 1
        np.testing.assert_allclose(X[i], N[:, 0], rtol=1e-5, atol=1e-9)  # batched with the others: rounding only
