"""Hostile and careless input (issue 9): every case ends in a clear ``ValueError`` (or a documented correct
result), the CLI exits 2 with one line on stderr and no traceback, and no file is changed or left behind.

The hostile files are made in ``tmp_path``: truncated WAV/FLAC/MP3/Ogg, a header claiming 1,000,000,007 Hz,
text and ``/etc/passwd`` as audio or checkpoints, checkpoints with NaN weights or absurd sizes, packed corpora
whose offsets, labels or rate disagree, a labels CSV with an unterminated quote, an ontology with a cycle.
Property-based tests (hypothesis) cover shapes, dtypes, rates and lengths of the audio gate and the transform.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuralogram.audio import resampler as A   # the resampler's internals (tap table, kernel size)
from neuralogram.audio import as_audio, check_sr, load_audio, read_model_rate, resample, to_model_rate
from neuralogram.model import ModelConfig, NeuralogramNet

SR = 8000
HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _noise(seconds, sr=SR, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    return (0.2 * rng.standard_normal((n,) if channels is None else (channels, n))).astype(np.float32)


def _tone(freq, seconds, sr, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(round(seconds * sr))) / sr)).astype(np.float32)


def _snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (hidden ones included) with its bytes and mode: to compare before/after."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None, stat.S_IMODE(p.lstat().st_mode))
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return NeuralogramNet(ModelConfig(n_classes=5, embedding_size=32, width=0.125)).eval()


@pytest.fixture(scope="module")
def ckpt(tiny, tmp_path_factory):
    from neuralogram.checkpoints import save_checkpoint

    p = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(p, {"config": tiny.config.to_dict(), "state_dict": tiny.state_dict(),
                        "label_names": [f"c{i}" for i in range(5)], "label_mids": [f"/m/{i}" for i in range(5)]})
    return p


# =============================================================================================================
# the audio gate: layout
# =============================================================================================================
def test_soundfile_layout_n_by_2_is_read_as_stereo():
    y = _noise(1.0, sr=16000, channels=2)
    a = to_model_rate(y, sr=16000)
    b = to_model_rate(y.T, sr=16000)                       # soundfile's (n, channels)
    b2 = to_model_rate(torch.from_numpy(np.ascontiguousarray(y.T)), sr=16000)
    assert a.shape == b.shape == (8000,)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, b2)
    assert as_audio(y.T).shape == (2, 16000)


def test_n_by_1_is_mono():
    y = _noise(0.5)
    torch.testing.assert_close(to_model_rate(y[:, None], sr=SR), torch.from_numpy(y))
    torch.testing.assert_close(to_model_rate(y[None, :], sr=SR), torch.from_numpy(y))


@pytest.mark.parametrize("shape", [(2, 2), (8, 8), (3, 5), (1, 1), (5, 1)])
def test_ambiguous_2d_shapes_are_refused_naming_both_layouts(shape):
    with pytest.raises(ValueError, match=r"ambiguous.*\(channels, n\).*\(n, channels\)"):
        to_model_rate(np.zeros(shape, np.float32) + 0.1, sr=SR)


def test_both_axes_long_means_rows_by_time():
    y = _noise(0.5, channels=12)                           # documented: rows are channels, time last
    torch.testing.assert_close(to_model_rate(y, sr=SR), torch.from_numpy(y.mean(0)))


def test_resample_refuses_channels_last():
    with pytest.raises(ValueError, match="last axis must be time"):
        resample(_noise(0.5, channels=2).T, orig_sr=SR, target_sr=16000)


# =============================================================================================================
# the audio gate: sample formats
# =============================================================================================================
@pytest.mark.parametrize("dtype,scale", [(np.int8, 128), (np.int16, 32768), (np.int32, 2 ** 31)])
def test_integer_pcm_is_scaled_for_numpy_and_torch(dtype, scale):
    info = np.iinfo(dtype)
    x = np.array([0, info.max, info.min, info.max // 2], dtype)
    want = x.astype(np.float64) / scale
    np.testing.assert_allclose(as_audio(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(as_audio(torch.from_numpy(x)).numpy(), want, rtol=1e-6)


def test_int16_tensor_peaks_like_the_array():
    x = (_tone(440, 0.5, SR, amp=0.45) * 32767).astype(np.int16)
    peak_t = float(to_model_rate(torch.from_numpy(x), sr=SR).abs().max())
    peak_a = float(to_model_rate(x, sr=SR).abs().max())
    assert peak_t == pytest.approx(peak_a) == pytest.approx(0.45, abs=1e-3)


def test_uint8_is_offset_binary():
    silence = np.full(4000, 128, np.uint8)
    assert float(as_audio(silence).abs().max()) == 0.0
    assert float(as_audio(torch.from_numpy(silence)).abs().max()) == 0.0
    np.testing.assert_allclose(as_audio(np.array([0, 255, 128], np.uint8)).numpy(), [-1.0, 127 / 128, 0.0])


@pytest.mark.parametrize("make,msg", [
    (lambda: np.arange(100, dtype=np.int64), "not a PCM sample format"),
    (lambda: torch.arange(100), "not a PCM sample format"),
    (lambda: np.arange(100, dtype=np.uint16), "not a PCM sample format"),
    (lambda: np.ones(100, bool), "boolean"),
    (lambda: np.ones(100, np.complex64), "real-valued"),
    (lambda: np.array(["a", "b"]), "numeric"),
    (lambda: np.array([object(), object()]), "numeric"),
    (lambda: 0.5, "scalar"),
    (lambda: np.zeros((2, 3, 100), np.float32), "rank 3"),
    (lambda: np.zeros(0, np.float32), "empty"),
    (lambda: np.zeros((2, 0), np.float32), "empty"),
])
def test_bad_arrays_are_refused(make, msg):
    with pytest.raises(ValueError, match=msg):
        to_model_rate(make(), sr=SR)


def test_nan_and_inf_name_the_first_bad_sample():
    y = _noise(2.0, channels=2)
    y[1, 12345] = np.nan
    with pytest.raises(ValueError, match="sample 12345"):
        to_model_rate(y, sr=44100)
    z = _noise(1.0)
    z[7] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf.*sample 7"):
        as_audio(z)


def test_float16_and_float64_are_accepted():
    y = _noise(0.25)
    torch.testing.assert_close(as_audio(y.astype(np.float16)), torch.from_numpy(y), atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(as_audio(y.astype(np.float64)), torch.from_numpy(y))


# =============================================================================================================
# the audio gate: rates and the resampler
# =============================================================================================================
@pytest.mark.parametrize("sr", [0, -8000, 999, 384001, 1_000_000_007, 44100.5, float("nan"), True, "44100"])
def test_sample_rate_out_of_range_is_refused_naming_it(sr):
    with pytest.raises(ValueError, match="sample rate"):
        check_sr(sr)
    with pytest.raises(ValueError, match="sample rate"):
        to_model_rate(_noise(0.1), sr=sr)


def test_rate_bounds_are_accepted():
    assert check_sr(1000) == 1000 and check_sr(384000) == 384000 and check_sr(np.int64(44100)) == 44100


def test_coprime_rates_skip_the_giant_kernel(monkeypatch):
    """44,101 -> 8,000 Hz: torchaudio would build an 8000 x 44169 kernel; the tap table is used instead."""
    assert not A._torchaudio_kernel_is_small(44101, 8000) and not A._torchaudio_kernel_is_small(7919, 8000)
    assert A._torchaudio_kernel_is_small(44100, 8000) and A._torchaudio_kernel_is_small(22050, 8000)
    real = AF.resample

    def guarded(x, orig, new, *a, **k):
        assert A._torchaudio_kernel_is_small(orig, new), (orig, new)
        return real(x, orig, new, *a, **k)

    monkeypatch.setattr(AF, "resample", guarded)
    for sr in (44101, 7919, 383999, 1009):
        x = to_model_rate(_noise(3.0, sr=sr, channels=2), sr=sr)
        assert x.shape == (24000,) and torch.isfinite(x).all()


@HYP
@given(a=st.integers(1, 160), b=st.integers(1, 160), n=st.integers(1, 700), lead=st.integers(1, 3))
def test_tap_table_equals_torchaudio(a, b, n, lead):
    """The tap table is torchaudio's kernel without its zeros: equal to torchaudio in float64."""
    g = math.gcd(a, b)
    a, b = a // g, b // g
    x = torch.from_numpy(np.random.default_rng(n).standard_normal((lead, n)))
    ref = AF.resample(x, a, b) if a != b else x
    n_ = x.shape[-1]

    def read(lo, hi):
        return torch.nn.functional.pad(x[..., max(lo, 0):max(min(hi, n_), 0)].float(),
                                       (max(0, -lo), max(0, hi - max(n_, lo))))

    got = A._resample_taps(read, n_, a, b, False, lead=lead) if a != b else x.float()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=2e-5 * max(1.0, float(x.abs().max())))


def test_coprime_rate_matches_float64_torchaudio_on_a_short_clip():
    assert not A._torchaudio_kernel_is_small(1009, 8000)
    x = torch.from_numpy(_noise(0.3, sr=1009))
    ref = AF.resample(x.double(), 1009, 8000)             # 8000 x 1023 kernel (65 MB): fine for one short clip
    got = resample(x, orig_sr=1009, target_sr=8000)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-5)


def test_coprime_rate_keeps_the_anti_aliasing_claim():
    """Chapter 4's claim for the resampler (5 kHz folds to 3 kHz at about -45 dB) holds at 44,101 Hz too."""
    sr = 44101
    y = _tone(1000, 2.0, sr, 0.5) + _tone(5000, 2.0, sr, 0.5)
    x = to_model_rate(y, sr=sr).numpy()
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    f = np.fft.rfftfreq(x.size, 1 / 8000)

    def level(freq):
        return 20 * np.log10(spec[np.abs(f - freq) < 5].max())

    assert level(3000) - level(1000) < -40


# =============================================================================================================
# files
# =============================================================================================================
def _write(path, y, sr, **kw):
    sf.write(str(path), y, sr, **kw)
    return path


def _truncate(path, keep=0.5):
    b = path.read_bytes()
    path.write_bytes(b[: int(len(b) * keep)])
    return path


def test_header_claiming_a_billion_hz_is_refused_before_any_work(tmp_path):
    p = _write(tmp_path / "huge.wav", np.zeros(500, np.int16), 8000, subtype="PCM_16")
    b = bytearray(p.read_bytes())
    b[24:28] = (1_000_000_007).to_bytes(4, "little")      # fmt chunk: sample rate
    p.write_bytes(bytes(b))
    for reader in (load_audio, read_model_rate, lambda q: to_model_rate(q)):
        with pytest.raises(ValueError, match="1000000007 Hz.*outside"):
            reader(p)


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("MP3", "mp3")])
def test_truncated_compressed_files_are_refused_not_zero_padded(tmp_path, fmt, ext):
    p = _truncate(_write(tmp_path / f"t.{ext}", _noise(3.0, sr=44100, channels=2).T, 44100, format=fmt))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_model_rate(p)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_audio(p)


def test_truncated_ogg_is_read_with_a_warning(tmp_path):
    p = _truncate(_write(tmp_path / "t.ogg", _noise(3.0, sr=44100).T, 44100, format="OGG"))
    with pytest.warns(UserWarning, match="truncated: its last Ogg page lacks the end-of-stream mark"):
        x, info = read_model_rate(p)
    assert 0 < info["frames"] < 3 * 44100 and x.shape == (math.ceil(info["frames"] * 8000 / 44100),)


def test_truncated_wav_is_read_with_a_warning(tmp_path):
    y = _noise(2.0, sr=16000)
    p = _truncate(_write(tmp_path / "t.wav", y, 16000, subtype="FLOAT"))
    with pytest.warns(UserWarning, match=r"truncated: its header declares 32000 frames \(2.00 s\)"):
        x, info = read_model_rate(p)
    assert info["declared_frames"] == 32000 and 15000 < info["frames"] < 16100
    with pytest.warns(UserWarning, match="truncated"):
        back, _ = load_audio(p)
    np.testing.assert_array_equal(back, y[:back.size])     # the samples present, exactly


def test_complete_files_give_no_warning(tmp_path):
    for ext, kw in [("wav", {}), ("flac", {}), ("mp3", {"format": "MP3"}), ("ogg", {"format": "OGG"})]:
        p = _write(tmp_path / f"ok.{ext}", _noise(1.5, sr=22050, channels=2).T, 22050, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            x, info = read_model_rate(p)
        assert info["frames"] == 33075 and x.shape == (12000,)


def test_float_wav_with_nan_names_the_time(tmp_path):
    y = _noise(2.0)
    y[12000] = np.nan
    p = _write(tmp_path / "nan.wav", y, SR, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"NaN or Inf samples \(the first at 1.500 s\)"):
        read_model_rate(p)


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n", b"RIFF\x00\x00\x00\x00WAVEjunk", None])
def test_not_audio_is_refused(tmp_path, content):
    p = tmp_path / "x.wav"
    if content is None:
        shutil.copy("/etc/passwd", p)
    else:
        p.write_bytes(content)
    for reader in (load_audio, read_model_rate):
        with pytest.raises(ValueError, match="cannot read .*x.wav as audio"):
            reader(p)


def test_missing_file_directory_and_pipe(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_model_rate(tmp_path / "none.wav")
    with pytest.raises(ValueError, match="not a regular file"):
        read_model_rate(tmp_path)
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb") as fh, pytest.raises(ValueError, match="seekable"):
            read_model_rate(fh)
    finally:
        os.close(w)


def test_streams_and_bytes_read_like_the_path(tmp_path):
    p = _write(tmp_path / "s.flac", _noise(2.0, sr=44100, channels=2).T, 44100)
    ref, info = read_model_rate(p)
    with open(p, "rb") as fh:
        x, _ = read_model_rate(fh)
    torch.testing.assert_close(x, ref)
    torch.testing.assert_close(read_model_rate(p.read_bytes())[0], ref)
    with open(p, "rb") as fh:
        torch.testing.assert_close(to_model_rate(fh), ref)
    with pytest.raises(ValueError, match="the file is 44100 Hz"):
        to_model_rate(p, sr=48000)


def test_8bit_wav_silence_is_zero(tmp_path):
    p = _write(tmp_path / "u8.wav", np.zeros(8000, np.float32), SR, subtype="PCM_U8")
    x, _ = read_model_rate(p)
    assert float(x.abs().max()) == 0.0


def test_huge_declared_length_is_refused(tmp_path):
    p = _write(tmp_path / "long.flac", np.zeros(100, np.float32), SR)
    b = bytearray(p.read_bytes())
    # STREAMINFO total samples: 36 bits at byte 8 + 13.5 of the block (after "fLaC" and the block header)
    info = int.from_bytes(b[18:26], "big")
    total = (1 << 36) - 1
    info = (info & ~((1 << 36) - 1)) | total
    b[18:26] = info.to_bytes(8, "big")
    p.write_bytes(bytes(b))
    with pytest.raises(ValueError, match="h\\), more than the 24 h|truncated or corrupt|cannot read"):
        read_model_rate(p)


# =============================================================================================================
# the atomic writer
# =============================================================================================================
def test_atomic_path_catches_a_writer_that_appends_a_suffix(tmp_path):
    from neuralogram.cache import atomic_path

    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match="appends .npz"):
        with atomic_path(tmp_path / "result") as tmp:
            np.savez(tmp, x=np.arange(3))                  # writes <tmp>.npz, leaves <tmp> empty
    assert _snapshot(tmp_path) == before                    # no empty 'result', no hidden .npz


def test_atomic_path_modes_follow_the_umask_and_the_replaced_file(tmp_path):
    from neuralogram.cache import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"x")
        assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644
        os.umask(0o077)
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"x")
        assert stat.S_IMODE((tmp_path / "b.bin").stat().st_mode) == 0o600
        (tmp_path / "a.bin").chmod(0o640)
        with atomic_path(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"y")
        assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o640
        assert (tmp_path / "a.bin").read_bytes() == b"y"
    finally:
        os.umask(old)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    from neuralogram.cache import atomic_path

    (tmp_path / "keep.txt").write_text("original")
    before = _snapshot(tmp_path)
    for exc in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(exc):
            with atomic_path(tmp_path / "keep.txt") as tmp:
                tmp.write_text("half")
                raise exc()
    assert _snapshot(tmp_path) == before


# =============================================================================================================
# checkpoints
# =============================================================================================================
def _ckpt_dict(path):
    from neuralogram.checkpoints import read_checkpoint

    return read_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"hello world\n", b"PK\x03\x04 not really a zip", None, b"\x80\x02}q\x00."])
def test_foreign_files_as_checkpoints(tmp_path, content):
    from neuralogram.checkpoints import load_model

    p = tmp_path / "m.pt"
    if content is None:
        shutil.copy("/etc/passwd", p)
    else:
        p.write_bytes(content)
    with pytest.raises(ValueError, match="m.pt: (truncated or corrupt|not a neuralogram checkpoint)"):
        load_model(p)


@pytest.mark.parametrize("drop", ["config", "state_dict"])
def test_checkpoint_missing_config_or_weights(tmp_path, ckpt, drop):
    from neuralogram.checkpoints import load_model, save_checkpoint

    d = {k: v for k, v in _ckpt_dict(ckpt).items() if k != drop}
    save_checkpoint(tmp_path / "x.pt", d)
    with pytest.raises(ValueError, match=f"no (model config|weights).*'{drop}'"):
        load_model(tmp_path / "x.pt")


@pytest.mark.parametrize("change", [
    {"embedding_size": 10 ** 12}, {"embedding_size": 1e12}, {"width": 1e9}, {"n_classes": 10 ** 15},
    {"fc_size": 2 ** 62}, {"bogus_key": 1}, {"loss": "hinge"}, {"embedding_size": -1},
])
def test_absurd_configs_are_refused_before_allocating(tmp_path, ckpt, change):
    import resource

    from neuralogram.checkpoints import load_model, save_checkpoint

    d = _ckpt_dict(ckpt)
    save_checkpoint(tmp_path / "x.pt", dict(d, config=dict(d["config"], **change)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="config"):
        load_model(tmp_path / "x.pt")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000   # KB: nothing big allocated


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_inf_weights_are_refused(tmp_path, ckpt, value):
    from neuralogram.checkpoints import load_model, save_checkpoint

    d = _ckpt_dict(ckpt)
    sd = {k: v.clone() for k, v in d["state_dict"].items()}
    sd["trunk.conv3_2.0.weight"].view(-1)[17] = value
    save_checkpoint(tmp_path / "x.pt", dict(d, state_dict=sd))
    with pytest.raises(ValueError, match=r"trunk.conv3_2.0.weight holds 1 NaN or Inf"):
        load_model(tmp_path / "x.pt")


def test_bad_state_dict_and_labels(tmp_path, ckpt):
    from neuralogram.checkpoints import load_model, save_checkpoint

    d = _ckpt_dict(ckpt)
    save_checkpoint(tmp_path / "a.pt", dict(d, state_dict={"x": 1}))
    with pytest.raises(ValueError, match="no weights"):
        load_model(tmp_path / "a.pt")
    save_checkpoint(tmp_path / "b.pt", dict(d, label_names="c0,c1,c2,c3,c4"))
    with pytest.raises(ValueError, match="label_names must be a list"):
        load_model(tmp_path / "b.pt")


def test_model_names_with_a_suffix_and_missing_files(tmp_path, monkeypatch, ckpt):
    from neuralogram.checkpoints import CheckpointNotFoundError, available_models, load_model, read_checkpoint

    monkeypatch.setenv("NEURALOGRAM_MODELS", str(ckpt.parent))
    assert available_models() == ["tiny"]
    assert load_model("tiny")[1]["name"] == load_model("tiny.pt")[1]["name"] == "tiny"
    for name in ("tiny.pth", "nope.pt", "nope", str(tmp_path / "gone.pt")):
        with pytest.raises(ValueError, match=r"unknown model .*available: \['tiny'\]"):
            load_model(name)
    with pytest.raises(CheckpointNotFoundError):            # a ValueError that is also a FileNotFoundError
        read_checkpoint(tmp_path / "gone.pt")
    with pytest.raises(ValueError, match="not a regular file"):
        load_model(tmp_path)


@pytest.mark.parametrize("device,msg", [("bogus", "unknown device"), ("meta", "not supported"),
                                        ("cuda:99", "CUDA"), ("mps", "mps")])
def test_devices_that_do_not_exist(ckpt, device, msg):
    from neuralogram.checkpoints import check_device, load_model

    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has Metal")
    with pytest.raises(ValueError, match=msg):
        check_device(device)
    with pytest.raises(ValueError, match=msg):
        load_model(ckpt, device=device)


# =============================================================================================================
# the CLI: nothing lost, nothing left behind, one line per error, exit 2
# =============================================================================================================
def _cli(argv, capsys):
    from neuralogram.cli import main

    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    return rc, capsys.readouterr().err


def _assert_one_line_error(rc, err, match):
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("neuralogram compute: error: "), err
    assert "Traceback" not in err
    assert __import__("re").search(match, lines[0]), lines[0]


@pytest.fixture
def work(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    sf.write(str(d / "in.wav"), _noise(3.0, sr=44100, channels=2).T, 44100, subtype="PCM_16")
    return d


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the CLI starts reading the audio (checks must come first)."""
    import neuralogram.cli.compute as C

    def boom(*a, **k):
        raise AssertionError("the audio was read before the arguments were checked")

    monkeypatch.setattr(C, "read_model_rate", boom)


def _refused(argv, capsys, folder, match):
    before = _snapshot(folder)
    rc, err = _cli(argv, capsys)
    _assert_one_line_error(rc, err, match)
    assert _snapshot(folder) == before


def test_cli_refuses_the_input_as_output(work, ckpt, capsys, monkeypatch, no_compute):
    monkeypatch.chdir(work)
    (work / "sub").mkdir()
    os.symlink(work / "in.wav", work / "link.npz")
    os.link(work / "in.wav", work / "hard.npz")
    shutil.copy(work / "in.wav", work / "in.npz")
    for out in ("in.npz", "./sub/../in.npz", str(work / "in.npz"), "link.npz", "hard.npz"):
        inp = "in.npz" if out in ("in.npz", "./sub/../in.npz", str(work / "in.npz")) else "in.wav"
        _refused(["compute", inp, "-o", out, "--model", ckpt, "-q"], capsys, work, "same file as .*refusing")
    shutil.copy(work / "in.wav", work / "in.png")
    _refused(["compute", "in.png", "-o", "out.npz", "--png", "in.png", "--model", ckpt, "-q"], capsys, work,
             "--png in.png is the same file")
    _refused(["compute", "in.wav", "-o", "same.npz", "--png", "same.npz", "--model", ckpt, "-q"], capsys, work,
             r"must end in \.png")


@pytest.mark.parametrize("out,match", [
    ("OUT", r"must end in \.npz \(numpy would write another file"),
    ("out.npz.tmp", r"must end in \.npz"),
    ("out.wav", r"must end in \.npz"),
    ("missing/out.npz", "folder .* does not exist"),
    ("adir.npz", "is a directory"),
    ("/proc/neuralogram-test.npz", "cannot write in /proc"),
])
def test_cli_checks_the_output_before_computing(work, ckpt, capsys, monkeypatch, no_compute, out, match):
    monkeypatch.chdir(work)
    (work / "adir.npz").mkdir()
    _refused(["compute", "in.wav", "-o", out, "--model", ckpt, "-q"], capsys, work, match)


def test_cli_refuses_a_read_only_output(work, ckpt, capsys, no_compute):
    ro = work / "ro.npz"
    ro.write_bytes(b"keep me")
    ro.chmod(0o444)
    _refused(["compute", work / "in.wav", "-o", ro, "--model", ckpt, "-q"], capsys, work, "read-only")
    assert ro.read_bytes() == b"keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_cli_refuses_a_read_only_folder(work, ckpt, capsys, no_compute):
    d = work / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        _refused(["compute", work / "in.wav", "-o", d / "x.npz", "--model", ckpt, "-q"], capsys, work,
                 "cannot write in")
    finally:
        d.chmod(0o755)


@pytest.mark.parametrize("extra,match", [
    (["--device", "bogus"], "unknown device 'bogus'"),
    (["--device", "meta"], "not supported"),
    (["--device", "cuda:99"], "CUDA"),
    (["--window", "3"], "longer than the model's context"),
    (["--window", "nan"], "finite"),
    (["--hop", "0"], "hop"),
    (["--hop", "-1"], "hop"),
    (["--layer", "conv9_9"], "unknown layer"),
    (["--batch-size", "0"], "batch_size"),
    (["--window", "abc"], "invalid float value"),
    (["--model", "tiny.pth"], r"unknown model .*available"),
    (["--model", "/etc/passwd"], "truncated or corrupt checkpoint"),
])
def test_cli_bad_options_fail_before_computing(work, ckpt, capsys, no_compute, extra, match):
    argv = ["compute", work / "in.wav", "-o", work / "o.npz", "--model", ckpt, "-q"] + extra
    _refused(argv, capsys, work, match)


def test_cli_argparse_errors_are_one_line(work, capsys):
    _refused(["compute", work / "in.wav"], capsys, work, "required: -o")
    _refused(["compute", work / "in.wav", "-o", work / "o.npz", "--frobnicate"], capsys, work,
             "unrecognized arguments")


def test_cli_bad_inputs(work, ckpt, capsys):
    (work / "text.wav").write_text("not audio")
    (work / "empty.flac").write_bytes(b"")
    shutil.copy("/etc/passwd", work / "passwd.wav")
    _truncate(_write(work / "trunc.flac", _noise(3.0, sr=44100), 44100))
    _truncate(_write(work / "trunc.mp3", _noise(3.0, sr=44100), 44100, format="MP3"))
    p = _write(work / "huge.wav", np.zeros(500, np.int16), 8000, subtype="PCM_16")
    b = bytearray(p.read_bytes())
    b[24:28] = (1_000_000_007).to_bytes(4, "little")
    p.write_bytes(bytes(b))
    nan = _noise(3.0)
    nan[9000] = np.inf
    _write(work / "nan.wav", nan, SR, subtype="FLOAT")
    (work / "folder.wav").mkdir()
    cases = [("text.wav", "cannot read .*as audio"), ("empty.flac", "cannot read .*as audio"),
             ("passwd.wav", "cannot read .*as audio"), ("trunc.flac", "truncated or corrupt"),
             ("trunc.mp3", "truncated or corrupt"), ("huge.wav", "1000000007 Hz"), ("nan.wav", "NaN or Inf"),
             ("missing.wav", "no such file"), ("folder.wav", "not a regular file")]
    for name, match in cases:
        _refused(["compute", work / name, "-o", work / "o.npz", "--png", work / "o.png", "--model", ckpt, "-q"],
                 capsys, work, match)


def test_cli_writes_exactly_what_was_asked_with_normal_permissions(work, ckpt, capsys):
    old = os.umask(0o022)
    try:
        before = set(_snapshot(work))
        rc, err = _cli(["compute", work / "in.wav", "-o", work / "r.NPZ", "--png", work / "r.png", "--model", ckpt,
                        "--hop", "1", "-q"], capsys)
        assert rc == 0 and err == ""
        assert set(_snapshot(work)) - before == {"r.NPZ", "r.png"}     # nothing else, no hidden temporaries
        for name in ("r.NPZ", "r.png"):
            assert stat.S_IMODE((work / name).stat().st_mode) == 0o644
        with np.load(work / "r.NPZ") as z:
            assert z["N"].shape == (32, 2) and json.loads(str(z["meta"]))["sr"] == 44100
    finally:
        os.umask(old)


def test_cli_replaces_an_existing_result_atomically(work, ckpt, capsys, monkeypatch):
    import neuralogram.cli.compute as C

    out, png = work / "r.npz", work / "r.png"
    out.write_bytes(b"old result")
    png.write_bytes(b"old picture")
    before = _snapshot(work)

    def broken_figure(*a, **k):
        raise ValueError("drawing failed")

    monkeypatch.setattr("neuralogram.viz.plotting.neuralogram_figure", broken_figure)
    rc, err = _cli(["compute", work / "in.wav", "-o", out, "--png", png, "--model", ckpt, "-q"], capsys)
    _assert_one_line_error(rc, err, "drawing failed")
    assert _snapshot(work) == before                        # the npz was not renamed in without its png
    monkeypatch.undo()
    assert C is not None
    rc, _ = _cli(["compute", work / "in.wav", "-o", out, "--model", ckpt, "-q"], capsys)
    assert rc == 0 and out.read_bytes()[:2] == b"PK"


def test_cli_output_through_a_symlink_writes_its_target(work, ckpt, capsys):
    target = work / "target.npz"
    os.symlink(target, work / "link.npz")
    rc, _ = _cli(["compute", work / "in.wav", "-o", work / "link.npz", "--model", ckpt, "-q"], capsys)
    assert rc == 0 and (work / "link.npz").is_symlink() and target.read_bytes()[:2] == b"PK"


def test_cli_truncated_wav_warns_in_one_line_and_computes(work, ckpt, capsys):
    _truncate(work / "in.wav", keep=0.6)
    rc, err = _cli(["compute", work / "in.wav", "-o", work / "o.npz", "--model", ckpt, "-q"], capsys)
    assert rc == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuralogram compute: warning: ") and "truncated" in lines[0]


# =============================================================================================================
# the transform's entry points: files and streams, devices, saved permutations
# =============================================================================================================
def test_neuralogram_of_a_path_or_stream_equals_that_of_the_array(tmp_path, tiny):
    from neuralogram.transform import neuralogram

    y = _noise(4.0, sr=44100, channels=2)
    p = _write(tmp_path / "s.flac", y.T, 44100, subtype="PCM_24")
    back, _ = load_audio(p)
    N, t = neuralogram(back, tiny, sr=44100, hop=1.0)
    for src in (p, str(p), p.read_bytes()):
        N2, t2 = neuralogram(src, tiny, hop=1.0)
        np.testing.assert_allclose(N2, N, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(t2, t)
    with open(p, "rb") as fh:
        np.testing.assert_allclose(neuralogram(fh, tiny, hop=1.0)[0], N, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(neuralogram(p, tiny, sr=44100, hop=1.0)[0], N, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="sr .*required"):
        neuralogram(back, tiny)
    with pytest.raises(ValueError, match="the file is 44100 Hz"):
        neuralogram(p, tiny, sr=8000)


@pytest.mark.parametrize("device,msg", [("bogus", "unknown device"), ("cuda:99", "CUDA")])
def test_neuralogram_refuses_devices_that_do_not_exist(tiny, device, msg):
    from neuralogram.transform import neuralogram

    with pytest.raises(ValueError, match=msg):
        neuralogram(_noise(3.0), tiny, sr=SR, device=device)


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04garbage", b"\x93NUMPY", "npy", "nopern",
                                     "notperm", "pickled"])
def test_load_permutation_on_garbage(tmp_path, content):
    from neuralogram.transform import load_permutation

    p = tmp_path / "perm.npz"
    if content == "npy":
        np.save(tmp_path / "perm.npy", np.arange(5))
        p = tmp_path / "perm.npy"
    elif content == "nopern":
        np.savez(p, other=np.arange(3))
    elif content == "notperm":
        np.savez(p, perm=np.array([0, 0, 2]))
    elif content == "pickled":
        np.savez(p, perm=np.array([object()] * 3))
    else:
        p.write_bytes(content)
    with pytest.raises(ValueError, match="not a saved permutation"):
        load_permutation(p)


def test_linear_spectrogram_at_a_coprime_rate_uses_the_tap_table(monkeypatch):
    from neuralogram.spectral import linear_spectrogram

    real = AF.resample

    def guarded(x, orig, new, *a, **k):
        assert A._torchaudio_kernel_is_small(orig, new), (orig, new)
        return real(x, orig, new, *a, **k)

    monkeypatch.setattr(AF, "resample", guarded)
    S = linear_spectrogram(_noise(2.0, sr=44101, channels=2).T, sr=44101)   # soundfile's layout, odd rate
    assert S.shape == (129, 200) and torch.isfinite(S).all()


# =============================================================================================================
# packed corpora
# =============================================================================================================
def _store(tmp_path, name="c.h5"):
    from neuralogram.data.store import Clip, write_store

    clips = [Clip(f"c{i}", _noise(1.0 + 0.5 * i, seed=i), [i % 3], "eval" if i == 0 else "train") for i in range(5)]
    return write_store(tmp_path / name, clips, label_mids=["/m/a", "/m/b", "/m/c"], label_names=["A", "B", "C"],
                       source="test")


def _rewrite(path, key, value=None, attr=False):
    import h5py

    with h5py.File(path, "r+") as f:
        if attr:
            f.attrs[key] = value
            return
        del f[key]
        if value is not None:
            f.create_dataset(key, data=value)


@pytest.mark.parametrize("key,value,match", [
    ("offsets", lambda o: o[:-1], "clip_ids has 5 entries, but offsets define 4 clips"),
    ("offsets", lambda o: np.r_[1, o[1:]], "offsets must start at 0"),
    ("offsets", lambda o: np.r_[o[:2], o[3], o[2], o[4:]], "offsets must increase"),
    ("offsets", lambda o: np.r_[o[:-1], o[-1] + 10], "offsets end at .* but the audio holds"),
    ("offsets", lambda o: np.r_[o[:2], o[1], o[3:]], "clip 1 .* is empty"),
    ("offsets", lambda o: o.astype(np.float64) + 0.5, "offsets must be integers"),
    ("labels", lambda L: L[:4], r"labels has shape \(4, 3\).*\(5, 3\)"),
    ("labels", lambda L: L[:, :2], r"labels has shape \(5, 2\).*\(5, 3\)"),
    ("labels", lambda L: L * 2, "labels must be 0 or 1"),
    ("split", lambda s: s[:3], "split has 3 entries"),
    ("split", lambda s: s + 5, "split must be 0 .* or 1"),
    ("clip_ids", lambda c: c[:2], "clip_ids has 2 entries, but offsets define 5 clips"),
    ("label_mids", lambda m: m[:2], "2 label_mids but 3 label_names"),
    ("audio", lambda a: a.astype(np.float32), "audio must be int16"),
])
def test_inconsistent_stores_are_refused(tmp_path, key, value, match):
    import h5py

    from neuralogram.data.store import PackedStore

    p = _store(tmp_path)
    with h5py.File(p, "r") as f:
        old = f[key][:]
    _rewrite(p, key, value(old))
    with pytest.raises(ValueError, match=match):
        PackedStore(p)


@pytest.mark.parametrize("attr,value,match", [("sr", 16000, "16000 Hz.*8000"), ("sr", -1, "-1 Hz"),
                                              ("params", "{not json", "params")])
def test_store_attributes_are_checked(tmp_path, attr, value, match):
    from neuralogram.data.store import PackedStore

    p = _store(tmp_path)
    _rewrite(p, attr, value, attr=True)
    with pytest.raises(ValueError, match=match):
        PackedStore(p)


def test_store_files_that_are_not_stores(tmp_path):
    from neuralogram.data.store import PackedStore

    (tmp_path / "t.h5").write_text("text")
    (tmp_path / "e.h5").write_bytes(b"")
    for name in ("t.h5", "e.h5"):
        with pytest.raises(ValueError, match="not a readable HDF5 corpus"):
            PackedStore(tmp_path / name)
    with pytest.raises(ValueError, match="no packed corpus"):
        PackedStore(tmp_path / "missing.h5")
    p = _store(tmp_path)
    _rewrite(p, "labels")
    with pytest.raises(ValueError, match="missing datasets"):
        PackedStore(p)


def test_a_consistent_store_still_loads(tmp_path):
    from neuralogram.data.store import PackedStore

    st_ = PackedStore(_store(tmp_path))
    assert len(st_) == 5 and st_.n_classes == 3 and st_.clip(4).shape == (24000,)


# =============================================================================================================
# training: resume and batch checks
# =============================================================================================================
TRAIN_KW = dict(embedding_size=16, width=0.0625, batch_size=8, lr=3e-3, seed=3, progress=False, steps_per_epoch=2)


@pytest.fixture(scope="module")
def one_epoch(tiny_corpus, tmp_path_factory):
    from neuralogram.train import train

    run = tmp_path_factory.mktemp("run")
    train(tiny_corpus, run, epochs=1, **TRAIN_KW)
    return run


@pytest.mark.parametrize("change,match", [({"seed": 4}, "seed=3.*seed=4"), ({"lr": 1e-2}, "lr=0.003.*lr=0.01"),
                                          ({"batch_size": 4}, "batch_size=8.*batch_size=4"),
                                          ({"weight_decay": 1e-4}, "weight_decay"),
                                          ({"balanced": True}, "balanced")])
def test_resume_with_other_settings_is_refused(tiny_corpus, one_epoch, tmp_path, change, match):
    from neuralogram.train import train

    tmp_path = tmp_path / "run"
    shutil.copytree(one_epoch, tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match=f"--resume: .*{match}"):
        train(tiny_corpus, tmp_path, epochs=2, resume=True, **{**TRAIN_KW, **change})
    assert _snapshot(tmp_path) == before


def test_resume_from_a_shipped_model_is_refused(tiny_corpus, one_epoch, tmp_path):
    from neuralogram.checkpoints import export_model, read_checkpoint
    from neuralogram.train import train

    tmp_path = tmp_path / "run"
    shutil.copytree(one_epoch, tmp_path)
    export_model(read_checkpoint(tmp_path / "last.pt"), tmp_path / "last.pt")   # no optimizer state
    with pytest.raises(ValueError, match="no optimizer"):
        train(tiny_corpus, tmp_path, epochs=2, resume=True, **TRAIN_KW)


@pytest.mark.parametrize("batch", [49, 1000])
def test_a_batch_larger_than_the_train_split_is_refused(tiny_corpus, tmp_path, batch):
    from neuralogram.data.store import PackedStore
    from neuralogram.train import train

    n = len(PackedStore(tiny_corpus).indices("train"))
    assert n == 48
    with pytest.raises(ValueError, match=f"batch_size={batch} is larger than the 48 training clips"):
        train(tiny_corpus, tmp_path / "run", epochs=1, **{**TRAIN_KW, "batch_size": batch})
    assert not (tmp_path / "run").exists()                    # refused before anything is written


@pytest.mark.parametrize("kw,match", [({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
                                      ({"steps_per_epoch": 0}, "steps_per_epoch"), ({"epochs": -1}, "epochs"),
                                      ({"lr": float("nan")}, "lr")])
def test_bad_training_settings(tiny_corpus, tmp_path, kw, match):
    from neuralogram.train import train

    with pytest.raises(ValueError, match=match):
        train(tiny_corpus, tmp_path / "run", **{"epochs": 1, **TRAIN_KW, **kw})


# =============================================================================================================
# AudioSet metadata: labels CSV, segment lists, ontology
# =============================================================================================================
FIXTURES = Path(__file__).parent / "fixtures" / "audioset"


def test_labels_with_an_unterminated_quote_name_the_line(tmp_path):
    from neuralogram.data.audioset import read_labels

    lines = (FIXTURES / "class_labels_indices.csv").read_text().splitlines()
    assert len(lines) > 6
    lines[3] = lines[3][:-1]                                  # drop the closing quote of label 2's name
    p = tmp_path / "labels.csv"
    p.write_text("\n".join(lines) + "\n")
    for errors in ("raise", "skip"):
        with pytest.raises(ValueError, match=r"labels.csv:4: .*unterminated quote"):
            read_labels(p, errors=errors)


def test_labels_field_spanning_lines_is_a_malformed_row(tmp_path):
    from neuralogram.data.audioset import read_labels

    p = tmp_path / "labels.csv"
    p.write_text('index,mid,display_name\n0,/m/a,"Speech"\n1,/m/b,"Mu\nsic"\n2,/m/c,"Dog"\n')
    with pytest.raises(ValueError, match=r"labels.csv:3: .*spans lines 3-4"):
        read_labels(p)
    got = read_labels(p, errors="skip")
    assert [lab.name for lab in got] == ["Speech"] and got.report.skipped[0][0] == 3   # then index 2 is out of order


@pytest.mark.parametrize("content,match", [(b"\xff\xfe\x00i\x00n\x00d", "not UTF-8"),
                                           (b"index,mid,display_name\n0,/m/a," + b"x" * 200_000 + b"\n", ":2: ")])
def test_labels_binary_or_huge_fields(tmp_path, content, match):
    from neuralogram.data.audioset import read_labels

    p = tmp_path / "labels.csv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_labels(p)


def test_segments_with_an_unterminated_quote(tmp_path):
    from neuralogram.data.audioset import read_segments

    lines = (FIXTURES / "eval_segments.csv").read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if not line.startswith("#"))
    lines[i] = lines[i].rstrip('"')
    p = tmp_path / "seg.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"seg.csv:{i + 1}: unparsable CSV"):
        read_segments(p)
    assert len(read_segments(p, errors="skip").report.skipped) == 1
    p.write_bytes(b"\x80\x81 not utf-8\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_segments(p)


def _ontology(tmp_path, entries):
    p = tmp_path / "ontology.json"
    p.write_text(json.dumps([{"id": i, "name": n, "child_ids": c} for i, n, c in entries]))
    return p


@pytest.mark.parametrize("entries,cycle", [
    ([("/m/a", "A", ["/m/b"]), ("/m/b", "B", ["/m/a"])], r"/m/a \(A\) -> /m/b \(B\) -> /m/a"),
    ([("/m/a", "A", ["/m/a"])], r"/m/a \(A\) -> /m/a"),
    ([("/m/r", "R", ["/m/a"]), ("/m/a", "A", ["/m/b"]), ("/m/b", "B", ["/m/c"]), ("/m/c", "C", ["/m/a"])],
     r"/m/a \(A\) -> /m/b \(B\) -> /m/c \(C\) -> /m/a"),
])
def test_ontology_cycles_are_refused_instead_of_hanging(tmp_path, entries, cycle):
    from neuralogram.data.audioset import Ontology, OntologyEntry, read_ontology

    for errors in ("raise", "skip"):
        with pytest.raises(ValueError, match=f"ontology.json: .*cycle: {cycle}"):
            read_ontology(_ontology(tmp_path, entries), errors=errors)
    with pytest.raises(ValueError, match="cycle"):
        Ontology([OntologyEntry(i, n, child_ids=tuple(c)) for i, n, c in entries])


@pytest.mark.parametrize("bad,match", [
    ({"id": {"x": 1}, "name": "A"}, "'id' and 'name' must be strings"),
    ({"id": "/m/a", "name": "A", "child_ids": "/m/b"}, "child_ids must be a list of strings"),
    ({"id": "/m/a", "name": "A", "child_ids": [1, 2]}, "child_ids must be a list of strings"),
    ({"id": "/m/a", "name": "A", "restrictions": 5}, "restrictions must be a list of strings"),
])
def test_ontology_entries_of_the_wrong_type(tmp_path, bad, match):
    from neuralogram.data.audioset import read_ontology

    p = tmp_path / "ontology.json"
    p.write_text(json.dumps([bad]))
    with pytest.raises(ValueError, match=f"entry 0: ({match})"):
        read_ontology(p)


@pytest.mark.parametrize("content,match", [(b"[" * 100_000 + b"]" * 100_000, "not valid JSON|nested too deeply"),
                                           (b"\xff\xfe[]", "not UTF-8|not valid JSON")])
def test_ontology_files_that_are_not_json(tmp_path, content, match):
    from neuralogram.data.audioset import read_ontology

    p = tmp_path / "ontology.json"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_ontology(p)


# =============================================================================================================
# properties (hypothesis): shapes, dtypes, rates and lengths through the gate and the transform
# =============================================================================================================
_DTYPES = [np.int8, np.int16, np.int32, np.uint8, np.float16, np.float32, np.float64]
_RATES = st.one_of(st.sampled_from([8000, 16000, 22050, 44100, 48000, 44101, 7919, 1000, 384000, 383999]),
                   st.integers(1000, 384000))


def _samples(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    return (0.5 * rng.standard_normal(shape)).astype(dtype)


def _as_float(x):
    """The gate's sample-format rule, written out for the test."""
    if x.dtype == np.uint8:
        return (x.astype(np.float64) - 128) / 128
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64) / 2 ** (8 * x.itemsize - 1)
    return x.astype(np.float64)


@HYP
@given(dtype=st.sampled_from(_DTYPES), channels=st.integers(0, 8), n=st.integers(9, 3000), sr=_RATES,
       last=st.booleans(), torch_in=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_gate_properties(dtype, channels, n, sr, last, torch_in, seed):
    shape = (n,) if channels == 0 else ((n, channels) if last else (channels, n))
    y = _samples(dtype, shape, seed)
    src = torch.from_numpy(y) if torch_in and dtype != np.uint16 else y
    x = to_model_rate(src, sr=sr)
    # length: ceil(n * 8000 / sr); float32, finite
    assert x.shape == (-(-n * 8000 // sr),) and x.dtype == torch.float32 and torch.isfinite(x).all()
    # the same as the float, (channels, n) version of the input
    f = _as_float(y)
    f = f if channels == 0 else (f.T if last else f)
    ref = to_model_rate(np.ascontiguousarray(f, dtype=np.float32), sr=sr)
    torch.testing.assert_close(x, ref, atol=1e-6, rtol=1e-5)
    # as_audio: time last, the rule's scaling
    a = as_audio(src)
    assert a.shape == (n,) if channels == 0 else a.shape == (channels, n)
    np.testing.assert_allclose(a.numpy(), f, rtol=1e-6, atol=1e-7 if dtype != np.float16 else 1e-3)


@HYP
@given(rows=st.integers(1, 8), cols=st.integers(1, 8))
def test_gate_small_2d_shapes_are_always_refused(rows, cols):
    with pytest.raises(ValueError, match="ambiguous"):
        as_audio(np.zeros((rows, cols), np.float32))


@HYP
@given(n=st.integers(1, 4000), sr=_RATES, target=st.sampled_from([8000, 16000, 44100, 7919]))
def test_resample_length_and_constant_signal(n, sr, target):
    """A constant signal stays constant inside (away from the zero-padded edges), at the right length."""
    y = np.full(n, 0.25, np.float32)
    x = resample(y, orig_sr=sr, target_sr=target)
    assert x.shape == (-(-n * target // sr),) and torch.isfinite(x).all()
    if sr == target:
        assert torch.equal(x, torch.from_numpy(y))
    elif n / sr > 0.05:      # an interior 20 ms from both ends (the kernel reaches 6 ms at most)
        m = math.ceil(0.02 * target)
        assert float((x[m:-m] - 0.25).abs().max()) < 0.25 * 0.003      # measured: 0.09 % at most


@pytest.fixture(scope="module")
def small_net():
    torch.manual_seed(1)
    return NeuralogramNet(ModelConfig(n_classes=3, embedding_size=8, width=0.0625)).eval()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=st.floats(0.01, 3.0), sr=_RATES, window=st.floats(0.16, 2.0), hop=st.floats(0.05, 2.0),
       pad_end=st.booleans(), stereo=st.booleans(), mode=st.sampled_from(["exact", "fast"]))
def test_transform_properties(small_net, seconds, sr, window, hop, pad_end, stereo, mode):
    from neuralogram.transform import neuralogram, window_starts

    n = max(1, int(seconds * sr))
    y = (0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
    N, t = neuralogram(y, small_net, sr=sr, window=window, hop=hop, pad_end=pad_end, mode=mode)
    n8 = -(-n * 8000 // sr)
    starts = window_starts(n8, window=window, hop=hop, pad_end=pad_end)
    assert N.shape == (8, len(starts)) and t.shape == (len(starts),)
    assert np.isfinite(N).all() and N.dtype == np.float32 and (N >= 0).all()      # ReLU embeddings
    assert np.all(np.diff(t) > 0)
    if stereo:  # two equal channels, soundfile's layout: the same neuralogram as mono
        N2, t2 = neuralogram(np.stack([y, y], 1), small_net, sr=sr, window=window, hop=hop, pad_end=pad_end,
                             mode=mode)
        np.testing.assert_allclose(N2, N, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(t2, t)


@pytest.mark.parametrize("argv,match", [
    (["--batch-size", "500"], "batch_size=500 is larger than the 48 training clips"),
    (["--lr", "-1"], "lr must be > 0"),
    (["--corpus-missing"], "no packed corpus"),
])
def test_train_cli_errors_are_one_line(tiny_corpus, tmp_path, capsys, argv, match):
    corpus = tmp_path / "none.h5" if argv == ["--corpus-missing"] else tiny_corpus
    argv = [] if argv == ["--corpus-missing"] else argv
    before = _snapshot(tmp_path)
    rc, err = _cli(["train", "--corpus", corpus, "--out", tmp_path / "run", "--epochs", "1", *argv], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("neuralogram train: error: ") and __import__("re").search(match, err), err
    assert _snapshot(tmp_path) == before
