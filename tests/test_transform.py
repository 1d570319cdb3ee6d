"""Tests of the neuralogram transform (neuralogram/transform/): shapes and times, agreement with the
definition, resampling/stereo, layers, fast mode, the permutation round trip, long input, files, CLI, bad input.

A small random network (E = 32) keeps the suite fast; the conventions do not depend on the weights.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF

from neuralogram import transform as tr
from neuralogram.audio import load_audio, read_model_rate, resample, to_model_rate
from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram.spectral import linear_spectrogram

SR = 8000


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = NeuralogramNet(ModelConfig(n_classes=5, embedding_size=32, width=0.125))
    # Non-trivial batch-norm statistics, as a trained model has (fresh ones are 0/1).
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
        m.trunk.input_norm.running_mean.fill_(-8.0)
        m.trunk.input_norm.running_var.fill_(9.0)
    return m.eval()


def _noise(seconds, sr=SR, seed=0, channels=None):
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    shape = (n,) if channels is None else (channels, n)
    # band-limited-ish, with a slow envelope so windows differ
    env = 0.05 + 0.2 * (1 + np.sin(2 * np.pi * 0.3 * np.arange(n) / sr)) / 2
    return (rng.standard_normal(shape) * env).astype(np.float32)


# ------------------------------------------------------------------------------------------- frames and times
def test_frame_counts_and_times():
    t = tr.window_times(30.0)
    assert len(t) == 57 and t[0] == 1.0 and t[-1] == 29.0
    np.testing.assert_allclose(np.diff(t), 0.5)
    assert len(tr.window_times(30.5)) == 58  # the paper's 500 x 58: windows from a track longer than 30 s
    assert len(tr.window_times(30.4)) == 57
    assert len(tr.window_times(30.4, pad_end=True)) == 58
    assert len(tr.window_times(30.0, pad_end=True)) == 57  # nothing left uncovered: no extra window
    assert len(tr.window_times(2.0)) == 1
    np.testing.assert_allclose(tr.window_times(0.5), [0.25])  # short signal: centred in one padded window
    assert len(tr.window_times(10.0, window=1.0, hop=0.25)) == 37


def test_shapes_times_and_definition(model):
    y = _noise(6.3)
    N, times = tr.neuralogram(y, model, sr=SR)
    assert N.shape == (32, 9) and N.dtype == np.float32
    np.testing.assert_allclose(times, 1.0 + 0.5 * np.arange(9))
    # column k is exactly the embedding of the k-th 2 s window's own spectrogram
    for k in (0, 4, 8):
        seg = y[int(k * 0.5 * SR): int(k * 0.5 * SR) + 2 * SR]
        with torch.no_grad():
            e = model.embed(linear_spectrogram(seg, sr=SR)[None, None])[0].numpy()
        np.testing.assert_allclose(N[:, k], e, rtol=1e-4, atol=1e-6)
    assert np.ptp(N, axis=1).max() > 0  # the windows differ


def test_batch_size_does_not_change_the_result(model):
    y = _noise(5.0)
    a, _ = tr.neuralogram(y, model, sr=SR, batch_size=1)
    b, _ = tr.neuralogram(y, model, sr=SR, batch_size=7)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_short_signal_is_centred_and_zero_padded(model):
    y = _noise(0.5)
    N, times = tr.neuralogram(y, model, sr=SR)
    assert N.shape == (32, 1)
    np.testing.assert_allclose(times, [0.25])
    padded = np.zeros(2 * SR, np.float32)
    padded[6000:6000 + y.size] = y
    ref, _ = tr.neuralogram(padded, model, sr=SR)
    np.testing.assert_allclose(N, ref, rtol=1e-4, atol=1e-6)


def test_pad_end_adds_a_zero_padded_last_window(model):
    y = _noise(4.3)
    a, ta = tr.neuralogram(y, model, sr=SR)
    b, tb = tr.neuralogram(y, model, sr=SR, pad_end=True)
    assert a.shape[1] == 5 and b.shape[1] == 6
    np.testing.assert_allclose(b[:, :5], a, rtol=1e-5, atol=1e-7)
    assert tb[-1] == pytest.approx(3.5)
    z = np.concatenate([y, np.zeros(int(0.2 * SR), np.float32)])  # 4.5 s: the padded window, made explicit
    c, _ = tr.neuralogram(z, model, sr=SR)
    np.testing.assert_allclose(b[:, -1], c[:, -1], rtol=1e-4, atol=1e-6)


def test_shorter_window_feeds_a_shorter_spectrogram(model):
    y = _noise(4.0)
    N, times = tr.neuralogram(y, model, sr=SR, window=1.0, hop=0.25)
    assert N.shape[1] == 13
    np.testing.assert_allclose(times[:2], [0.5, 0.75])
    seg = y[2000:2000 + SR]
    with torch.no_grad():
        e = model.embed(linear_spectrogram(seg, sr=SR)[None, None])[0].numpy()  # 100 frames, no padding
    np.testing.assert_allclose(N[:, 1], e, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------------------- rates, channels
def test_other_rate_and_stereo(model):
    y16 = _noise(5.0, sr=16000, channels=2)
    N, times = tr.neuralogram(y16, model, sr=16000)
    mono8 = resample(y16.mean(0), orig_sr=16000, target_sr=SR).numpy()
    ref, tref = tr.neuralogram(mono8, model, sr=SR)
    np.testing.assert_allclose(times, tref)
    np.testing.assert_allclose(N, ref, rtol=1e-4, atol=1e-6)


def test_chunked_resampling_equals_whole_signal():
    rng = np.random.default_rng(1)
    for sr, seconds in ((44100, 75.0), (22050, 70.0), (48000, 65.0)):
        y = rng.standard_normal(int(sr * seconds)).astype(np.float32) * 0.3
        ours = to_model_rate(y, sr=sr, chunk_seconds=20.0)
        assert torch.equal(resample(y, orig_sr=sr, target_sr=SR, chunk_seconds=20.0), ours)  # the one resampler
        ref = AF.resample(torch.from_numpy(y), sr, SR)  # torchaudio on the whole signal at once
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=2e-5)


# ------------------------------------------------------------------------------------------- layers, fast mode
def test_layers(model):
    y = _noise(3.0)
    for layer, ch in (("conv1_1", 8), ("conv3_2", 32), ("pool4", 64), ("conv5_4", 32)):
        N, _ = tr.neuralogram(y, model, sr=SR, layer=layer)
        assert N.shape == (ch, 3), layer
        assert (N >= 0).all()  # post-ReLU averages
    N0, _ = tr.neuralogram(y, model, sr=SR)
    N1, _ = tr.neuralogram(y, model, sr=SR, layer="conv5_4")
    np.testing.assert_array_equal(N0, N1)


def test_fast_mode_close_to_exact_and_chunk_invariant(model):
    y = _noise(20.0)
    ex, te = tr.neuralogram(y, model, sr=SR)
    fa, tf = tr.neuralogram(y, model, sr=SR, mode="fast")
    np.testing.assert_allclose(te, tf)
    d = tr.fast_vs_exact(ex, fa)
    assert d["corr"] > 0.95 and d["rel_error"] < 0.5, d
    assert d["rel_error"] > 1e-4  # the edges really are treated differently: the comparison is not trivial
    # chunking the long spectrogram (margins > receptive field) changes nothing
    x = to_model_rate(y, sr=SR)
    starts = tr.window_starts(x.numel())
    small = tr._fast(x, starts, 2 * SR, model, "conv5_4", torch.device("cpu"), False, chunk_frames=320)
    whole = tr._fast(x, starts, 2 * SR, model, "conv5_4", torch.device("cpu"), False, chunk_frames=10 ** 6)
    np.testing.assert_allclose(small, whole, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(fa, whole, rtol=1e-4, atol=1e-7)


def test_fast_mode_short_and_padded(model):
    y = _noise(0.7)
    ex, _ = tr.neuralogram(y, model, sr=SR)
    fa, _ = tr.neuralogram(y, model, sr=SR, mode="fast")
    assert fa.shape == ex.shape == (32, 1)
    assert tr.fast_vs_exact(ex, fa)["corr"] > 0.9


def test_long_input_streams_in_batches(model):
    # 10 minutes: exact mode with a 10 s hop (60 windows), fast mode with the default hop; both bounded.
    y = _noise(600.0, seed=3)
    N, t = tr.neuralogram(y, model, sr=SR, hop=10.0, batch_size=8)
    assert N.shape == (32, 60) and t[-1] == pytest.approx(591.0)
    Nf, tf = tr.neuralogram(y, model, sr=SR, mode="fast")
    assert Nf.shape == (32, 1197) and tf[-1] == pytest.approx(599.0)
    np.testing.assert_allclose(tf[::20], t)
    assert tr.fast_vs_exact(N, Nf[:, ::20])["corr"] > 0.95


def test_spectrogram_overview():
    y = _noise(30.0)
    S, t = tr.spectrogram_overview(y)
    assert S.shape == (129, 3000)
    np.testing.assert_allclose(S, linear_spectrogram(y, sr=SR).numpy(), atol=1e-4)
    np.testing.assert_allclose(t[:2], [0.0, 0.01])
    S2, t2 = tr.spectrogram_overview(y, max_frames=1000)
    assert S2.shape == (129, 1000) and t2[0] == pytest.approx(0.01)


# ------------------------------------------------------------------------------------------- sorting
def test_sort_indices_orders_by_peak_and_puts_dormant_last():
    T = 10
    N = np.zeros((5, T), np.float32)
    N[0, 7] = 1.0
    N[1, 2] = 0.8
    N[2, 5] = 0.05  # dormant: below 0.1 x max
    N[3, 2] = 0.9   # same peak frame as row 1, stronger: first
    N[4, 0] = 0.5
    perm, n_active = tr.sort_indices(N, return_n_active=True)
    assert list(perm) == [4, 3, 1, 0, 2] and n_active == 4
    assert list(tr.sort_indices(N, descending=True)) == [0, 3, 1, 4, 2]
    key = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], float)  # e.g. a downward chirp's frequency
    assert list(tr.sort_indices(N, key=key)) == [0, 3, 1, 4, 2]
    assert list(tr.sort_indices(N, threshold=0.01)) == [4, 3, 1, 2, 0]
    assert list(tr.sort_indices(np.zeros((3, 4)))) == [0, 1, 2]


def test_permutation_round_trip(tmp_path, model):
    N, _ = tr.neuralogram(_noise(6.0), model, sr=SR)
    perm = tr.sort_indices(N)
    Ns = tr.apply_permutation(N, perm)
    np.testing.assert_array_equal(Ns, N[perm])
    peaks = Ns.argmax(1)[: (Ns.max(1) > 0.1 * Ns.max()).sum()]
    assert (np.diff(peaks) >= 0).all()  # sorted by peak time
    inv = np.argsort(perm)
    np.testing.assert_array_equal(Ns[inv], N)
    path = tr.save_permutation(tmp_path / "order.npz", perm, meta={"model": "random", "E": 32})
    back, meta = tr.load_permutation(path, return_meta=True)
    np.testing.assert_array_equal(back, perm)
    assert meta == {"model": "random", "E": 32}
    # the learned order applies to another neuralogram of the same model
    N2, _ = tr.neuralogram(_noise(4.0, seed=5), model, sr=SR)
    np.testing.assert_array_equal(tr.apply_permutation(N2, back), N2[perm])


def test_permutation_errors(tmp_path):
    N = np.random.default_rng(0).random((4, 6))
    with pytest.raises(ValueError, match="permutation"):
        tr.apply_permutation(N, [0, 1, 1, 3])
    with pytest.raises(ValueError, match="4"):
        tr.apply_permutation(N, [0, 1, 2])
    with pytest.raises(ValueError, match="key"):
        tr.sort_indices(N, key=np.arange(5))
    with pytest.raises(ValueError, match="threshold"):
        tr.sort_indices(N, threshold=1.5)
    with pytest.raises(ValueError, match="finite"):
        tr.sort_indices(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=".npz"):
        tr.save_permutation(tmp_path / "p.txt", [0, 1])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a saved permutation"):
        tr.load_permutation(bad)


# ------------------------------------------------------------------------------------------- bad input
def test_bad_input(model):
    y = _noise(3.0)
    cases = [
        (dict(y=np.zeros(0, np.float32)), "empty"),
        (dict(y=np.array([0.0, np.nan] * 8000, np.float32)), "NaN"),
        (dict(window=2.5), "longer than the model's context"),
        (dict(window=0.1), "shorter than 0.16"),
        (dict(hop=0.0), "hop"),
        (dict(hop=-0.5), "hop"),
        (dict(layer="conv9_9"), "unknown layer"),
        (dict(mode="slow"), "mode"),
        (dict(sr=0), "sample rate"),
        (dict(batch_size=0), "batch_size"),
        (dict(y=np.zeros((2, 2, 100), np.float32)), "shape"),
    ]
    for kw, msg in cases:
        args = dict(y=y, sr=SR, model=model)
        args.update(kw)
        with pytest.raises(ValueError, match=msg):
            tr.neuralogram(args.pop("y"), args.pop("model"), sr=args.pop("sr"), **args)
    other = NeuralogramNet(ModelConfig(n_classes=3, embedding_size=8, n_freq=65))
    with pytest.raises(ValueError, match="another input shape"):
        tr.neuralogram(y, other, sr=SR)
    with pytest.raises(ValueError, match="NeuralogramNet"):
        tr.neuralogram(y, torch.nn.Linear(3, 3), sr=SR)


def test_model_mode_restored(model):
    model.train()
    try:
        tr.neuralogram(_noise(2.0), model, sr=SR)
        assert model.training
    finally:
        model.eval()


# ------------------------------------------------------------------------------------------- files and CLI
def test_load_audio(tmp_path):
    y = 0.5 * _noise(1.0, sr=22050, channels=2)  # no clipping in the 16-bit file
    p = tmp_path / "s.flac"
    sf.write(p, y.T, 22050)
    back, sr = load_audio(p)
    assert sr == 22050 and back.shape == (2, 22050)
    np.testing.assert_allclose(back, y, atol=1e-4)
    mono, _ = load_audio(p.read_bytes(), name="upload.flac")
    assert mono.shape == (2, 22050)
    junk = tmp_path / "notes.wav"
    junk.write_text("this is not audio")
    with pytest.raises(ValueError, match="cannot read .*notes.wav as audio"):
        load_audio(junk)
    with pytest.raises(ValueError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="cannot read upload.bin"):
        load_audio(b"\x00\x01garbage", name="upload.bin")


def test_cli_compute(tmp_path, model, capsys):
    from neuralogram.checkpoints import save_checkpoint
    from neuralogram.cli import main

    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(ckpt, {"config": model.config.to_dict(), "state_dict": model.state_dict(),
                           "label_names": [f"c{i}" for i in range(5)], "label_mids": [f"/m/{i}" for i in range(5)]})
    wav = tmp_path / "in.wav"
    sf.write(wav, _noise(5.0, sr=44100, channels=2).T, 44100)
    out, png = tmp_path / "out.npz", tmp_path / "out.png"
    rc = main(["compute", str(wav), "-o", str(out), "--png", str(png), "--model", str(ckpt), "--hop", "1", "-q"])
    assert rc == 0
    with np.load(out) as z:
        N, times, perm, meta = z["N"], z["times"], z["perm"], json.loads(str(z["meta"]))
    assert N.shape == (32, 4) and list(times) == [1.0, 2.0, 3.0, 4.0]
    assert sorted(perm) == list(range(32))
    assert meta["sr"] == 44100 and meta["channels"] == 2 and meta["model"] == "tiny"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    # the active dimensions come first in perm, and meta says how many (the sorted PNG's dashed line)
    order, n_active = tr.sort_indices(N, return_n_active=True)
    assert meta["n_active"] == n_active and np.array_equal(perm, order)
    assert main(["compute", str(wav), "-o", str(tmp_path / "s.npz"), "--png", str(tmp_path / "s.png"),
                 "--model", str(ckpt), "--hop", "1", "--sort", "-q"]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    ref, _ = tr.neuralogram(sf.read(wav, dtype="float32")[0].T, model, sr=44100, hop=1.0)
    np.testing.assert_allclose(N, ref, rtol=1e-4, atol=1e-6)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFFnope")
    assert main(["compute", str(junk), "-o", str(tmp_path / "j.npz"), "--model", str(ckpt), "-q"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert not (tmp_path / "j.npz").exists()
    assert main(["compute", str(wav), "-o", str(tmp_path / "k.npz"), "--model", str(ckpt), "--window", "3",
                 "-q"]) == 2
    assert "context" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- widgets
def test_explorer_recomputes_on_slider_change(model):
    from neuralogram.viz.transform_widgets import neuralogram_explorer

    box = neuralogram_explorer(_noise(8.0), model, sr=SR)
    N, times = box.last_result[:2]
    assert N.shape == (32, 13)
    controls = box.children[1].children
    controls[1].value = 1.0  # hop
    assert box.last_result[0].shape == (32, 7)
    controls[0].value = 1.0  # window
    np.testing.assert_allclose(box.last_result[1][:2], [0.5, 1.5])
    controls[4].value = True  # sorted
    assert sorted(box.last_result[2]) == list(range(32))


def test_upload_widget_reads_a_file_and_explains_a_bad_one(tmp_path, model):
    import datetime
    import io

    import matplotlib.pyplot as plt

    from neuralogram.viz.transform_widgets import neuralogram_of_upload, upload_widget

    buf = io.BytesIO()
    sf.write(buf, 0.5 * _noise(3.0, sr=16000, channels=2).T, 16000, format="WAV")
    fig, line, _ = neuralogram_of_upload("mine.wav", buf.getvalue(), model)
    assert "3.0 s, 16000 Hz, 2 channel(s) (averaged)" in line and "32 x 3" in line
    assert len(fig.axes) == 4  # spectrogram, neuralogram and their colour bars
    plt.close(fig)
    box = upload_widget(model)
    up = box.children[0].children[0]
    up.value = ({"name": "notes.txt", "type": "text/plain", "size": 5, "content": memoryview(b"hello"),
                 "last_modified": datetime.datetime(2026, 1, 1)},)
    assert "cannot read notes.txt as audio" in box.last_error
    assert "Could not compute" in box.children[1].value
    up.value = ({"name": "mine.wav", "type": "audio/wav", "size": 1, "content": memoryview(buf.getvalue()),
                 "last_modified": datetime.datetime(2026, 1, 1)},)
    assert box.last_error is None and "mine.wav: 3.0 s" in box.children[1].value
    plt.close("all")


def test_read_model_rate_streams_a_file(tmp_path):
    y = 0.5 * _noise(70.0, sr=44100, channels=2)
    p = tmp_path / "long.flac"
    sf.write(p, y.T, 44100)
    x, info = read_model_rate(p, chunk_seconds=20.0)
    assert info == {"sr": 44100, "channels": 2, "frames": y.shape[1], "duration_s": pytest.approx(70.0)}
    ref = to_model_rate(sf.read(p, dtype="float32")[0].T, sr=44100)
    assert x.shape == ref.shape == (560000,)
    np.testing.assert_allclose(x.numpy(), ref.numpy(), atol=2e-5)
    p8 = tmp_path / "mono8k.wav"
    sf.write(p8, y[0, :8000 * 3 // 5], 8000)
    x8, info8 = read_model_rate(p8)
    assert info8["channels"] == 1 and x8.shape == (4800,)
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"fLaC but not really")
    with pytest.raises(ValueError, match="cannot read .*junk.flac as audio"):
        read_model_rate(junk)
