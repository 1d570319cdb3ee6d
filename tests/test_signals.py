"""neuralogram.signals: probe signals checked by measurement (instantaneous frequency, impulse intervals)."""
import numpy as np
import pytest
import torch

from neuralogram import signals as sg

SR = 8000


def test_sine_frequency_amplitude_and_length():
    y = sg.sine(freq=440.0, duration=1.0, sr=SR, amplitude=0.25)
    assert y.dtype == np.float32 and y.shape == (SR,)
    spec = np.abs(np.fft.rfft(y))
    assert np.argmax(spec) == 440  # 1 Hz bins for a 1 s signal
    np.testing.assert_allclose(np.sqrt(np.mean(y.astype(float) ** 2)), 0.25 / np.sqrt(2), rtol=1e-4)
    assert y[0] == pytest.approx(0.25)  # cosine convention


def test_nyquist_tone_alternates_and_aliasing_folds():
    y = sg.sine(freq=SR / 2, duration=0.01, sr=SR, amplitude=1.0)
    np.testing.assert_allclose(y, (-1.0) ** np.arange(y.size), atol=1e-5)
    with pytest.raises(ValueError, match="Nyquist"):
        sg.sine(freq=5000, duration=1, sr=SR)
    # 5 kHz sampled at 8 kHz is indistinguishable from 3 kHz
    y5 = sg.sine(freq=5000, duration=1, sr=SR, allow_aliasing=True)
    y3 = sg.sine(freq=3000, duration=1, sr=SR)
    np.testing.assert_allclose(y5, y3, atol=1e-4)
    assert sg.alias_frequency(5000, sr=SR) == 3000
    np.testing.assert_allclose(sg.alias_frequency(np.array([0, 4000, 7999, 8000, 12500]), sr=SR),
                               [0, 4000, 1, 0, 3500])


@pytest.mark.parametrize("f0,f1", [(100.0, 3500.0), (3500.0, 100.0)])
def test_linear_chirp_instantaneous_frequency(f0, f1):
    T = 4.0
    y = sg.linear_chirp(f_start=f0, f_end=f1, duration=T, sr=SR)
    f_est = sg.instantaneous_frequency(y, sr=SR)
    for t in (0.5, 1.0, 2.0, 3.0, 3.5):
        i = int(t * SR)
        got = f_est[i - 40:i + 40].mean()
        want = sg.chirp_frequency(t, f_start=f0, f_end=f1, duration=T)
        assert abs(got - want) < 2.0, (t, got, want)


def test_down_up_chirp_recovers_the_paper_trajectory():
    T = 20.0
    y = sg.down_up_chirp(duration=T, sr=SR)
    assert y.shape == (int(T * SR),)
    f_est = sg.instantaneous_frequency(y, sr=SR)
    for t in (1.0, 4.0, 8.0, 12.0, 16.0, 19.0):
        i = int(t * SR)
        want = sg.down_up_frequency(t, duration=T)
        assert abs(f_est[i - 40:i + 40].mean() - want) < 2.0
    np.testing.assert_allclose(sg.down_up_frequency([0, T / 2, T], duration=T), [4000, 1, 4000])
    # first samples are at the Nyquist frequency: cos(pi n) alternates
    assert y[0] > 0.49 and y[1] < -0.49
    # continuous phase at the turning point: no step larger than a smooth sinusoid of that frequency makes
    mid = int(T / 2 * SR)
    bound = 2 * np.pi * sg.down_up_frequency(T / 2 + 200 / SR, duration=T) * 0.5 / SR
    assert np.max(np.abs(np.diff(y[mid - 200:mid + 200]))) <= bound * 1.001


def test_impulse_train_constant_period():
    y = sg.impulse_train(period=0.01, duration=1.0, sr=SR)
    idx = np.flatnonzero(y)
    assert idx[0] == 0 and np.all(np.diff(idx) == 80) and idx.size == 100


@pytest.mark.parametrize("p0", [0.1, 0.2])
def test_impulse_train_sweep_intervals_sample_by_sample(p0):
    T = 300.0
    y = sg.impulse_train_sweep(period_start=p0, period_end=0.001, duration=T, sr=SR)
    assert y.shape == (int(T * SR),)
    idx = np.flatnonzero(y)
    times = sg.impulse_times(period_start=p0, period_end=0.001, duration=T)
    np.testing.assert_array_equal(idx, np.round(times * SR).astype(int))
    # the recursion t[k+1] = t[k] + P(t[k]) holds exactly for the exact times ...
    np.testing.assert_allclose(np.diff(times), sg.sweep_period(times[:-1], period_start=p0, duration=T),
                               rtol=1e-9, atol=1e-12)
    # ... and every sampled interval is within one sample of the period at that impulse
    d = np.diff(idx)
    want = sg.sweep_period(times[:-1], period_start=p0, duration=T) * SR
    assert np.max(np.abs(d - want)) < 1.0
    assert d[0] == round(p0 * SR) and d[-1] in (8, 9)
    # count: the geometric recursion reaches T after ceil(ln(P1/P0) / ln(1 + a)) steps, a = (P1 - P0) / T;
    # close to the continuous count, the integral of 1/P(t) dt = T / (P0 - P1) * ln(P0 / P1)
    a = (0.001 - p0) / T
    assert idx.size == int(np.ceil(np.log(0.001 / p0) / np.log1p(a)))
    assert abs(idx.size / (T / (p0 - 0.001) * np.log(p0 / 0.001)) - 1) < 1e-3


def test_noise_colours_have_the_right_slope_and_rms():
    for color, slope in (("white", 0.0), ("pink", -1.0), ("brown", -2.0)):
        y = sg.noise(duration=8.0, sr=SR, color=color, amplitude=0.1, seed=1)
        np.testing.assert_allclose(np.sqrt(np.mean(y.astype(float) ** 2)), 0.1, rtol=1e-3)
        P = np.abs(np.fft.rfft(y.astype(float))) ** 2
        f = np.fft.rfftfreq(y.size, 1 / SR)
        band = (f > 50) & (f < 3500)
        fitted = np.polyfit(np.log10(f[band]), np.log10(P[band]), 1)[0]
        assert abs(fitted - slope) < 0.1, (color, fitted)
    np.testing.assert_array_equal(sg.noise(duration=0.1, sr=SR, seed=3), sg.noise(duration=0.1, sr=SR, seed=3))


@pytest.mark.parametrize("call,match", [
    (lambda: sg.sine(freq=440, duration=0, sr=SR), "duration"),
    (lambda: sg.sine(freq=440, duration=-1, sr=SR), "duration"),
    (lambda: sg.sine(freq=440, duration=1, sr=0), "sample rate"),
    (lambda: sg.sine(freq=440, duration=1, sr=-8000), "sample rate"),
    (lambda: sg.sine(freq=float("nan"), duration=1, sr=SR), "freq"),
    (lambda: sg.sine(freq=440, duration=float("inf"), sr=SR), "duration"),
    (lambda: sg.linear_chirp(f_start=-1, f_end=100, duration=1, sr=SR), "f_start"),
    (lambda: sg.down_up_chirp(f_high=100, f_low=200), "f_low"),
    (lambda: sg.impulse_train(period=0.00001, duration=1, sr=SR), "shorter than one sample"),
    (lambda: sg.impulse_train_sweep(period_end=0.0001), "period_end"),
    (lambda: sg.impulse_train_sweep(period_start=0), "period_start"),
    (lambda: sg.noise(duration=1, sr=SR, color="blue"), "color"),
    (lambda: sg.instantaneous_frequency(np.array([]), sr=SR), "empty"),
    (lambda: sg.instantaneous_frequency(np.array([0.0, np.nan, 1.0, 2.0]), sr=SR), "NaN"),
    (lambda: sg.instantaneous_frequency(np.zeros((2, 2, 8)), sr=SR), "rank"),
    (lambda: sg.alias_frequency(-5, sr=SR), ">= 0"),
])
def test_bad_input_is_refused_with_a_clear_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_instantaneous_frequency_of_stereo_averages_channels():
    y = sg.sine(freq=500, duration=1, sr=SR)
    stereo = np.stack([y, y])
    np.testing.assert_allclose(sg.instantaneous_frequency(stereo, sr=SR), sg.instantaneous_frequency(y, sr=SR))
    assert abs(np.median(sg.instantaneous_frequency(torch.from_numpy(y), sr=SR)) - 500) < 0.01


def test_signal_explorer_rebuilds_the_signal_when_controls_change():
    pytest.importorskip("ipywidgets")
    import matplotlib
    matplotlib.use("Agg")

    from neuralogram.viz.signal_widgets import signal_explorer

    box = signal_explorer()
    y, kind = box.last_result
    assert kind == "chirp" and y.shape == (4 * SR,)
    controls = {getattr(c, "description", ""): c for c in box.children[1].children}
    controls["signal"].value = "impulse train"
    controls["period (ms)"].value = 50.0
    y, kind = box.last_result
    assert kind == "impulse train" and np.all(np.diff(np.flatnonzero(y)) == 400)
