"""neuralogram.spectral: the from-scratch STFT against torch.stft, the paper's 129 x 200 framing, the linear
variants against torchaudio / direct computation, and the learnability of T by one linear layer."""
import warnings

import numpy as np
import pytest
import torch
import torchaudio.functional as AF

from neuralogram import signals as sg
from neuralogram import spectral as sp

SR = 8000


@pytest.fixture(scope="module")
def probe():
    return (sg.linear_chirp(f_start=100, f_end=3900, duration=2.0, sr=SR)
            + sg.noise(duration=2.0, sr=SR, amplitude=0.05, seed=0))


def test_dft_matrix_equals_fft():
    x = np.random.default_rng(0).standard_normal((3, 100))
    np.testing.assert_allclose(sp.dft(x).numpy(), np.fft.fft(x), atol=1e-9)
    np.testing.assert_allclose(sp.dft(x, n_fft=128).numpy(), np.fft.fft(x, n=128), atol=1e-9)
    F = sp.dft_matrix(16)
    np.testing.assert_allclose((F.conj().T @ F).numpy(), 16 * np.eye(16), atol=1e-9)  # F^H F = N I
    assert sp.dft_matrix(256, onesided=True).shape == (129, 256)


@pytest.mark.parametrize("window", ["hann", "hamming", "blackman", "rectangular"])
def test_windows_match_torch(window):
    ref = {"hann": torch.hann_window, "hamming": torch.hamming_window, "blackman": torch.blackman_window,
           "rectangular": torch.ones}[window](240, dtype=torch.float64) if window != "rectangular" else torch.ones(240)
    w = sp.get_window(window, 240, dtype=torch.float64)
    np.testing.assert_allclose(w.numpy(), ref.double().numpy(), atol=1e-12)
    padded = sp.get_window(window, 240, n_fft=256)
    assert padded.shape == (256,) and padded[:8].abs().sum() == 0 and padded[-8:].abs().sum() == 0


@pytest.mark.parametrize("n_fft,win_length,hop_length,pad_mode", [
    (256, 240, 80, "constant"),     # the paper: 8 kHz, 30 ms Hann in 256 points, 10 ms hop
    (256, 240, 80, "reflect"),
    (512, 512, 128, "constant"),
    (1024, 600, 160, "reflect"),
    (64, 33, 7, "constant"),        # odd window, odd hop
])
def test_stft_equals_torch_stft(probe, n_fft, win_length, hop_length, pad_mode):
    ours = sp.stft(probe, n_fft=n_fft, win_length=win_length, hop_length=hop_length, pad_mode=pad_mode)
    ref = torch.stft(torch.from_numpy(probe), n_fft=n_fft, win_length=win_length, hop_length=hop_length,
                     window=torch.hann_window(win_length), center=True, pad_mode=pad_mode, return_complex=True)
    assert ours.shape == ref.shape == (n_fft // 2 + 1, 1 + probe.size // hop_length)
    assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max()


def test_stft_without_centering_and_window_choice(probe):
    ours = sp.stft(probe, n_fft=256, hop_length=100, window="hamming", center=False)
    ref = torch.stft(torch.from_numpy(probe), 256, 100, window=torch.hamming_window(256), center=False,
                     return_complex=True)
    assert ours.shape == ref.shape == (129, sp.n_frames(probe.size, n_fft=256, hop_length=100, center=False))
    assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max()


def test_sine_lands_in_its_bin_with_the_expected_height():
    y = sg.sine(freq=1000.0, duration=1.0, sr=SR, amplitude=1.0)  # bin 32 exactly (31.25 Hz bins)
    X = sp.stft(y, n_fft=256, win_length=256, hop_length=80)
    mid = X[:, 20:-20].abs()
    assert torch.all(mid.argmax(0) == 32)
    # a unit cosine gives |X| = sum(w) / 2 at its bin
    np.testing.assert_allclose(mid[32].mean().item(), sp.get_window("hann", 256).sum().item() / 2, rtol=1e-4)


def test_linear_spectrogram_is_129_by_200_for_two_seconds_at_any_rate():
    for sr in (8000, 16000, 22050, 44100):
        y = sg.sine(freq=440, duration=2.0, sr=sr)
        S = sp.linear_spectrogram(y, sr=sr)
        assert S.shape == (129, 200), sr
        assert int(S[:, 50:150].mean(1).argmax()) == round(440 / 31.25)
    assert sp.n_frames(16000, n_fft=256, hop_length=80) == 201  # centred framing; the paper keeps 200


def test_linear_spectrogram_is_the_log_of_our_power_spectrogram(probe):
    S = sp.linear_spectrogram(probe, sr=SR)
    P = sp.power_spectrogram(probe)[:, :200]
    ref = torch.exp(S) - sp.LOG_FLOOR
    assert (ref - P).abs().max() <= 1e-4 * P.max()
    np.testing.assert_allclose(sp.log_power(P).numpy(), S.numpy(), atol=2e-3)


def test_resampling_before_the_spectrogram_is_anti_aliased():
    # a 6 kHz tone at 16 kHz has no place below 4 kHz: after anti-aliased resampling it is (almost) gone
    y6 = sg.sine(freq=6000, duration=2.0, sr=16000, amplitude=1.0)
    y1 = sg.sine(freq=1000, duration=2.0, sr=16000, amplitude=1.0)
    P6, P1 = torch.exp(sp.linear_spectrogram(y6, sr=16000)), torch.exp(sp.linear_spectrogram(y1, sr=16000))
    assert 10 * torch.log10(P6.max() / P1.max()) < -40  # more than 40 dB down, not folded to 2 kHz


def test_stereo_conventions(probe):
    stereo = np.stack([probe, 0.5 * probe])
    X = sp.stft(stereo, hop_length=80)
    assert X.shape == (2, 129, 201)  # stft: per channel
    torch.testing.assert_close(X[1], 0.5 * X[0], rtol=1e-5, atol=1e-4)
    # linear_spectrogram (and power_spectrogram): channels averaged to mono first
    torch.testing.assert_close(sp.linear_spectrogram(stereo, sr=SR), sp.linear_spectrogram(0.75 * probe, sr=SR))
    torch.testing.assert_close(sp.power_spectrogram(stereo), sp.power_spectrogram(0.75 * probe))


@pytest.mark.parametrize("call,match", [
    (lambda: sp.stft(np.array([])), "empty"),
    (lambda: sp.stft(np.array([0.0, np.inf] * 200)), "NaN or Inf"),
    (lambda: sp.stft(np.full(1000, np.nan)), "NaN or Inf"),
    (lambda: sp.stft(np.zeros((2, 3, 1000))), "rank"),
    (lambda: sp.stft(np.float32(1.0)), "scalar"),
    (lambda: sp.stft(np.zeros(1000), n_fft=0), "n_fft"),
    (lambda: sp.stft(np.zeros(1000), n_fft=256, win_length=300), "win_length"),
    (lambda: sp.stft(np.zeros(1000), hop_length=-80), "hop_length"),
    (lambda: sp.stft(np.zeros(1000), window="kaiser"), "window"),
    (lambda: sp.stft(np.zeros(100), center=False), "shorter"),
    (lambda: sp.stft(np.zeros(100), pad_mode="reflect"), "reflect"),
    (lambda: sp.linear_spectrogram(np.zeros(16000), sr=0), "sample rate"),
    (lambda: sp.linear_spectrogram(np.zeros(16000), sr=-8000), "sample rate"),
    (lambda: sp.linear_spectrogram(np.zeros(16000), sr=8000.5), "sample rate"),
    (lambda: sp.linear_spectrogram(np.array([]), sr=8000), "empty"),
    (lambda: sp.linear_spectrogram(np.array([np.nan] * 16000), sr=8000), "NaN"),
    (lambda: sp.linear_spectrogram(np.zeros((1, 2, 16000)), sr=8000), "rank"),
    (lambda: sp.mel_filterbank(f_max=5000), "f_max"),
    (lambda: sp.apply_filterbank(torch.ones(40, 129), torch.ones(128, 10)), "match"),
    (lambda: sp.correlogram(np.zeros(8000), sr=SR, win_length=256, max_lag=300), "max_lag"),
    (lambda: sp.fit_linear_map(torch.ones(3, 5), torch.ones(2, 6)), "n_frames"),
])
def test_bad_input_is_refused_with_a_clear_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
def test_mel_filterbank_equals_torchaudio(norm, mel_scale):
    for n_mels, f_min, f_max in ((40, 0.0, 4000.0), (64, 60.0, 3800.0)):
        T = sp.mel_filterbank(sr=SR, n_fft=256, n_mels=n_mels, f_min=f_min, f_max=f_max, norm=norm,
                              mel_scale=mel_scale)
        with warnings.catch_warnings():  # torchaudio warns about empty filters at n_mels=64; so are ours
            warnings.simplefilter("ignore")
            ref = AF.melscale_fbanks(129, f_min, f_max, n_mels, SR, norm=norm, mel_scale=mel_scale).T
        assert T.shape == (n_mels, 129)
        torch.testing.assert_close(T, ref, rtol=1e-4, atol=1e-5 * float(ref.max()))
    np.testing.assert_allclose(sp.mel_to_hz(sp.hz_to_mel([0, 700, 1000, 3999], mel_scale=mel_scale),
                                            mel_scale=mel_scale), [0, 700, 1000, 3999], atol=1e-6)


def test_chroma_maps_a_to_a_and_conserves_energy():
    C = sp.chroma_filterbank()
    assert C.shape == (12, 129)
    kept = sp.fft_frequencies(sr=SR, n_fft=256) >= 55
    np.testing.assert_allclose(C.sum(0).numpy()[kept], 1.0, atol=1e-6)
    assert C[:, ~kept].abs().sum() == 0
    for f, pc in ((440.0, 9), (880.0, 9), (261.63 * 4, 0), (392.0 * 2, 7)):
        y = sg.sine(freq=f, duration=1.0, sr=SR)
        chroma = sp.apply_filterbank(C, sp.power_spectrogram(y)).mean(1)
        assert int(chroma.argmax()) == pc, (f, chroma)


def test_logfreq_rows_are_centred_and_normalised():
    T, centres = sp.logfreq_filterbank(f_min=62.5, bins_per_octave=12)
    np.testing.assert_allclose(T.sum(1).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(centres[12] / centres[0], 2.0)
    assert centres[-1] < SR / 2
    y = sg.sine(freq=1000.0, duration=1.0, sr=SR)
    row = int(sp.apply_filterbank(T, sp.power_spectrogram(y)).mean(1).argmax())
    assert abs(12 * np.log2(centres[row] / 1000.0)) < 1.0  # within a semitone


def test_autocorrelation_matrix_is_wiener_khinchin():
    x = np.random.default_rng(1).standard_normal(300)
    P = np.abs(np.fft.rfft(x, 600)) ** 2
    r = sp.autocorrelation_matrix(n_fft=600, max_lag=299).numpy() @ P
    np.testing.assert_allclose(r, np.correlate(x, x, "full")[299:], atol=1e-9)


def test_correlogram_matches_direct_autocorrelation_and_finds_the_period():
    x = sg.impulse_train(period=0.0125, duration=2.0, sr=SR)  # 100 samples
    R = sp.correlogram(x, sr=SR, win_length=1024, hop_length=400, max_lag=500, normalize=False)
    assert R.shape == (501, 41)
    frames = sp.frame(torch.from_numpy(x), frame_length=2048, hop_length=400)
    f = (frames[:, 20] * sp.get_window("hann", 1024, n_fft=2048)).numpy().astype(float)
    direct = np.correlate(f, f, "full")[2047:2048 + 500]
    np.testing.assert_allclose(R[:, 20].numpy(), direct, atol=1e-4 * direct.max())
    Rn = sp.correlogram(x, sr=SR, win_length=1024, hop_length=400, max_lag=500)
    np.testing.assert_allclose(Rn[0, 5:-5].numpy(), 1.0, atol=1e-5)
    assert int(Rn[20:, 20].argmax()) + 20 == 100  # first non-zero peak at the period


def test_one_linear_layer_learns_the_mel_map():
    X = torch.cat([sp.power_spectrogram(sg.noise(duration=2.0, sr=SR, color=c, seed=i)
                                        + sg.linear_chirp(f_start=200 + 300 * i, f_end=3800 - 250 * i,
                                                          duration=2.0, sr=SR, amplitude=0.3))
                   for i, c in enumerate(["white", "pink", "brown"] * 2)], 1)
    X = X / X.mean(0, keepdim=True)  # scale each frame: a linear map commutes with scaling
    T = sp.mel_filterbank(n_mels=40)
    W, losses = sp.fit_linear_map(X, T @ X, steps=1500)
    rel = (torch.linalg.norm(W - T) / torch.linalg.norm(T)).item()
    assert rel < 0.01, rel
    assert losses[-1] < 1e-3 * losses[0]


def test_specshow_axes_are_seconds_and_hertz():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralogram.viz.plotting import specshow

    S = sp.linear_spectrogram(sg.sine(freq=1000, duration=2.0, sr=SR), sr=SR)
    fig, ax = plt.subplots()
    im = specshow(S, sr=SR, hop_length=80, ax=ax)
    x0, x1, y0, y1 = im.get_extent()
    # 200 frames centred on 0, 10 ms, ..., 1.99 s; 129 bins centred on 0, 31.25, ..., 4000 Hz
    np.testing.assert_allclose([x0, x1], [-0.005, 1.995])
    np.testing.assert_allclose([y0, y1], [-15.625, 4015.625])
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (Hz)"
    with pytest.raises(ValueError, match="complex"):
        specshow(sp.stft(sg.sine(freq=1000, duration=0.1, sr=SR)), sr=SR, hop_length=80, ax=ax)
    with pytest.raises(ValueError, match="y_coords"):
        specshow(S, sr=SR, hop_length=80, ax=ax, y_axis="log")
    plt.close(fig)


def test_stft_explorer_recomputes_when_a_slider_moves():
    pytest.importorskip("ipywidgets")
    import matplotlib
    matplotlib.use("Agg")

    from neuralogram.viz.signal_widgets import stft_explorer

    box = stft_explorer()
    S, w, n_fft, win, hop = box.last_result
    assert S.shape == (129, 201) and (win, hop) == (240, 80)
    controls = [c for c in box.children[1].children]
    hop_slider = next(c for c in controls if getattr(c, "description", "") == "hop (samples)")
    hop_slider.value = 160
    S2 = box.last_result[0]
    assert S2.shape == (129, 101)  # 1 + 16000 // 160 frames
    win_slider = next(c for c in controls if getattr(c, "description", "") == "window (samples)")
    win_slider.value = 1024  # does not fit n_fft = 256: the widget says so and keeps the last result
    assert box.last_result[0].shape == (129, 101)
