"""The realistic augmentation measures what it says: SNR, RT60 of the RIR bank, band limits, short sounds,
mixture levels, gain range, and determinism per seed."""
import json

import numpy as np
import pytest
import soundfile as sf

from neuralogram.data.augment import (AugmentConfig, Augmenter, Background, measure_rt60, mix, place_short,
                                      rir_bank, seeded, snr_db)

SR = 8000
RT60 = (0.1, 1.0)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    # the same cache folder as conftest's autouse fixture, which is not active yet in a module-scoped fixture
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURALOGRAM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return rir_bank(n=8, rt60_range=RT60, sr=SR, seed=3)


def _tone(seconds=2.0, f=440.0, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


def _noise(seconds=2.0, seed=0):
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)).astype(np.float32) * 0.1


def _only(**kw):
    """A config that applies exactly the named steps (p = 1) and nothing else (p = 0)."""
    base = dict(p_short=0.0, p_reverb=0.0, p_bandlimit=0.0, p_noise=0.0, n_rirs=8, rt60_range=RT60)
    base.update(kw)
    return AugmentConfig(**base)


def _band_energy(x, lo, hi):
    X = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return X[(f >= lo) & (f < hi)].sum()


def test_rir_bank_rt60_in_range_measured(bank):
    meta = json.loads((bank / "bank.json").read_text())["rirs"]
    assert len(meta) == 8
    rts = []
    for r in meta:
        h, sr = sf.read(bank / r["file"], dtype="float32")
        assert sr == SR and np.abs(h).max() == pytest.approx(1.0, abs=1e-6)
        rt = measure_rt60(h, sr=SR)                   # measured again from the file, not read from the json
        assert RT60[0] <= rt <= RT60[1]
        assert rt == pytest.approx(r["rt60_measured"], rel=1e-3)
        rts.append(rt)
    assert max(rts) - min(rts) > 0.2                  # the bank spans rooms, not one room eight times
    assert rir_bank(n=8, rt60_range=RT60, sr=SR, seed=3) == bank   # cached: the same folder, not simulated again


def test_reverb_lengthens_the_decay(bank):
    aug = Augmenter(_only(p_reverb=1.0, peak_dbfs=(-1.0, -1.0)), sr=SR, seed=3)
    click = np.zeros(SR, np.float32)
    click[100] = 1.0
    y, info = aug(click, index=0)
    assert info["rir"]["rt60"] >= RT60[0] and y.size == click.size
    # the energy after 50 ms is no longer zero: a room's tail
    assert np.sum(y[100 + int(0.05 * SR):] ** 2) > 1e-3 * np.sum(y ** 2)


@pytest.mark.parametrize("index", range(6))
def test_noise_floor_snr_as_reported(bank, index):
    aug = Augmenter(_only(p_noise=1.0, snr_range=(5.0, 30.0), peak_dbfs=(-1.0, -1.0)), sr=SR, seed=3)
    x = _tone()
    y, info = aug(x, index=index)
    assert info["noise"]["kind"] in ("white", "pink")
    assert 5.0 - 0.5 <= info["noise"]["snr_db"] <= 30.0 + 0.5
    scale = np.dot(y, x) / np.dot(x, x)               # the gain applied after the noise (noise is ~orthogonal)
    measured = snr_db(x, y / scale)
    assert measured == pytest.approx(info["noise"]["snr_db"], abs=0.5)


def test_real_background_adds_labels_only_when_loud(bank, tmp_path):
    p = tmp_path / "rain.wav"
    sf.write(p, _noise(5.0, seed=9), SR)
    aug = Augmenter(_only(p_noise=1.0, p_background=1.0, snr_range=(3.0, 30.0), label_background_below_db=15.0),
                    sr=SR, backgrounds=[Background(str(p), (7,))], seed=3)
    seen = set()
    for i in range(12):
        _, info = aug(_tone(), index=i)
        assert info["noise"]["kind"] == "background" and info["noise"]["file"] == "rain.wav"
        loud = info["noise"]["snr_db"] < 15.0
        assert info["added_labels"] == ([7] if loud else [])
        seen.add(loud)
    assert seen == {True, False}


@pytest.mark.parametrize("index", range(4))
def test_band_limits(bank, index):
    aug = Augmenter(_only(p_bandlimit=1.0, lowpass_hz=(1000.0, 1500.0), highpass_hz=(300.0, 400.0),
                          peak_dbfs=(-1.0, -1.0)), sr=SR, seed=3)
    x = _noise(4.0, seed=index)
    y, info = aug(x, index=index)
    fc = info["band"]["cutoff_hz"]
    ratio_x = lambda lo, hi: _band_energy(y, lo, hi) / _band_energy(x, lo, hi)   # noqa: E731
    if info["band"]["kind"] == "lowpass":
        assert 1000 <= fc <= 1500
        # 24 dB/octave: one octave above the cut-off is >= 20 dB down relative to the passband
        assert ratio_x(2 * fc, 4000) < 0.01 * ratio_x(0, fc / 2)
    else:
        assert 300 <= fc <= 400
        assert ratio_x(20, fc / 2) < 0.01 * ratio_x(2 * fc, 4000)


def test_short_sound_placed_in_silence(bank):
    aug = Augmenter(_only(p_short=1.0, short_seconds=(0.3, 0.6), peak_dbfs=(-1.0, -1.0)), sr=SR, seed=3)
    y, info = aug(_tone(4.0), index=5)
    assert y.size == 2 * SR
    a = int(round(info["short"]["onset_s"] * SR))
    n = int(round(info["short"]["seconds"] * SR))
    assert 0.3 <= info["short"]["seconds"] <= 0.6
    assert np.all(y[:max(a - 10, 0)] == 0) and np.all(y[a + n + 10:] == 0)   # onset and length rounded to 1 ms
    assert np.abs(y[a + n // 2 - 100:a + n // 2 + 100]).max() > 0.5


def test_place_short_avoids_silent_parts():
    x = np.zeros(4 * SR, np.float32)
    x[3 * SR:] = _tone(1.0)
    rng = np.random.default_rng(0)
    y, onset = place_short(x, sr=SR, rng=rng, seconds=0.5)
    assert np.abs(y).max() > 0.4                    # the segment came from the sounding second
    with pytest.raises(ValueError):
        place_short(x, sr=SR, rng=rng, seconds=3.0)


def test_gain_range(bank):
    aug = Augmenter(_only(peak_dbfs=(-40.0, -10.0)), sr=SR, seed=3)
    peaks = [aug(_tone(), index=i)[1]["peak_dbfs"] for i in range(20)]
    assert all(-40.01 <= p <= -9.99 for p in peaks)
    assert max(peaks) - min(peaks) > 10


def test_mix_relative_level():
    a, b = _tone(1.0, 300), _noise(0.5, seed=1)
    y = mix(a, b, -6.0)
    assert y.size == a.size
    added = y[:b.size] - a[:b.size]
    assert 20 * np.log10(np.sqrt(np.mean(added ** 2)) / np.sqrt(np.mean(a ** 2))) == pytest.approx(-6.0, abs=0.01)
    with pytest.raises(ValueError):
        mix(a, np.zeros(0), 0.0)


def test_deterministic_per_seed_and_index(bank, tmp_path):
    p = tmp_path / "bg.wav"
    sf.write(p, _noise(5.0, seed=2), SR)
    kw = dict(sr=SR, backgrounds=[Background(str(p), (1,))])
    cfg = AugmentConfig(n_rirs=8, rt60_range=RT60)
    a, b = Augmenter(cfg, seed=3, **kw), Augmenter(cfg, seed=3, **kw)
    x = _tone()
    # b runs other clips first and the global generators are disturbed: the same index still gives the same bytes
    b(x, index=11)
    np.random.seed(123)
    y1, i1 = a(x, index=7)
    y2, i2 = b(x, index=7)
    assert np.array_equal(y1, y2) and i1 == i2
    y3 = a(x, index=8)[0]
    assert y3.shape != y1.shape or not np.array_equal(y3, y1)
    state = np.random.get_state()[1].copy()
    a(x, index=9)
    assert np.array_equal(np.random.get_state()[1], state)   # global generators restored
    with seeded(1, 2):
        u = np.random.random()
    with seeded(1, 2):
        assert np.random.random() == u


def test_bad_input(bank):
    aug = Augmenter(_only(), sr=SR, seed=3)
    with pytest.raises(ValueError):
        aug(np.zeros((2, 10), np.float32), index=0)
    with pytest.raises(ValueError):
        aug(np.array([np.nan], np.float32), index=0)
    with pytest.raises(ValueError):
        AugmentConfig(p_noise=1.5)
    with pytest.raises(ValueError):
        AugmentConfig(snr_range=(30.0, 5.0))
