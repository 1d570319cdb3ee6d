"""Tests of the probe package: the fair random baseline, the cache, the probe signals and every metric."""
import numpy as np
import pytest
import torch

from neuralogram import signals
from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram.probes import cache as _cache
from neuralogram.probes.baseline import random_init_model, reestimate_batchnorm
from neuralogram.probes import pitch
from neuralogram.probes.pitch import peak_order, pitch_metrics, pitch_probe, pitch_run
from neuralogram.probes.rhythm import PATTERNS, beat_pattern, pattern_probe, regime_change, rhythm_probe

TINY = dict(n_classes=3, embedding_size=16, width=0.03125)


@pytest.fixture(scope="module")
def specs():
    g = torch.Generator().manual_seed(0)
    return torch.randn(40, 1, 129, 200, generator=g) * 3.0 - 7.0


# ------------------------------------------------------------------ baseline
def test_random_init_reestimates_batchnorm_as_cumulative_average(specs):
    trained = NeuralogramNet(ModelConfig(**TINY))
    m = random_init_model(trained, specs, n_batches=5, batch_size=8, seed=3)
    assert not m.training
    assert m.config.to_dict() == trained.config.to_dict()
    # weights are fresh (not copied from `like`), Xavier-scaled
    w = m.trunk.conv1_1[0].weight
    assert not torch.allclose(w, trained.trunk.conv1_1[0].weight)
    bound = np.sqrt(6 / (1 * 9 + w.shape[0] * 9))
    assert w.abs().max() <= bound + 1e-6 and w.abs().max() > 0.8 * bound
    # input batch-norm statistics: the cumulative average over the 5 batches the seeded sampler drew
    g = torch.Generator().manual_seed(3)
    batches = [specs[torch.randint(0, 40, (8,), generator=g)] for _ in range(5)]
    rm = torch.stack([b.mean() for b in batches]).mean()
    rv = torch.stack([b.var() for b in batches]).mean()  # unbiased per-batch variances, averaged
    bn = m.trunk.input_norm
    assert float(bn.running_mean) == pytest.approx(float(rm), abs=1e-4)
    assert float(bn.running_var) == pytest.approx(float(rv), rel=1e-4)
    assert int(bn.num_batches_tracked) == 5 and bn.momentum == 0.1  # momentum restored
    # a deeper layer's statistics changed from the (0, 1) initial values too
    assert not torch.allclose(m.trunk.conv3_1[1].running_var, torch.ones_like(m.trunk.conv3_1[1].running_var))


def test_random_init_is_seeded_and_bad_input(specs):
    a = random_init_model(ModelConfig(**TINY), specs, n_batches=1, batch_size=4, seed=1)
    b = random_init_model(ModelConfig(**TINY), specs, n_batches=1, batch_size=4, seed=1)
    c = random_init_model(ModelConfig(**TINY), specs, n_batches=1, batch_size=4, seed=2)
    assert torch.equal(a.trunk.conv1_1[0].weight, b.trunk.conv1_1[0].weight)
    assert not torch.equal(a.trunk.conv1_1[0].weight, c.trunk.conv1_1[0].weight)
    with pytest.raises(ValueError, match="like must be"):
        random_init_model("vgg", specs)
    with pytest.raises(ValueError, match="batch_size"):
        reestimate_batchnorm(a, specs, batch_size=1)
    with pytest.raises(ValueError, match="n_batches"):
        reestimate_batchnorm(a, specs, n_batches=0)
    with pytest.raises(ValueError, match="corpus must be"):
        reestimate_batchnorm(a, [1, 2, 3])


def test_random_init_from_packed_corpus(tiny_corpus):
    from neuralogram.data.store import CropDataset, PackedStore

    m = random_init_model(ModelConfig(**TINY), tiny_corpus, n_batches=2, batch_size=4)
    # the input statistics are those of the corpus's spectrogram crops, not the (0, 1) of a fresh net
    ds = CropDataset(PackedStore(tiny_corpus), split="train", random_crop=False)
    S = torch.stack([ds[j][0] for j in range(len(ds))])
    assert float(m.trunk.input_norm.running_mean) == pytest.approx(float(S.mean()), abs=0.3)
    assert float(m.trunk.input_norm.running_var) == pytest.approx(float(S.var()), rel=0.3)
    assert abs(float(S.mean())) > 1 and abs(float(S.var()) - 1) > 1  # so the check is not trivially met
    m2 = random_init_model(ModelConfig(**TINY), PackedStore(tiny_corpus), n_batches=2, batch_size=4)
    assert torch.equal(m.trunk.input_norm.running_mean, m2.trunk.input_norm.running_mean)


# ------------------------------------------------------------------ signals
def test_down_up_chirp_frequency_and_impulse_sweep_count():
    y = signals.down_up_chirp(duration=8.0, sr=8000)
    f = lambda t: signals.down_up_frequency(t, duration=8.0)  # noqa: E731
    assert y.shape == (64000,) and y.dtype == np.float32
    np.testing.assert_allclose(f(np.array([0.0, 2.0, 4.0, 6.0, 8.0])), [4000, 2000.5, 1, 2000.5, 4000])
    # zero crossings in the first second count the cycles: integral of f over [0, 1] s
    seg = y[:8000]
    crossings = np.count_nonzero(np.diff(np.signbit(seg[:7000])))  # stay below Nyquist-ish region errors
    expected = 2 * (4000 * 0.875 - (3999 / 8.0) * 0.875 ** 2)  # 2 * integral_0^0.875 f(t) dt, f' = -3999/4 Hz/s
    assert crossings == pytest.approx(expected, rel=0.02)
    imp = signals.impulse_train_sweep(duration=300.0, period_start=0.1, period_end=0.001)
    rate = lambda t: 1 / signals.sweep_period(t, period_start=0.1, period_end=0.001, duration=300.0)  # noqa: E731
    n_expected = 300 / 0.099 * np.log(100)  # integral of 1 / P(t) dt
    assert np.count_nonzero(imp) == pytest.approx(n_expected, abs=3)
    np.testing.assert_allclose(rate(np.array([0.0, 150.0, 300.0])), [10.0, 1 / 0.0505, 1000.0])


def test_beat_pattern_hits_and_errors():
    y = beat_pattern("accent 1 of 4", rate=4.0, duration=4.0, sr=8000)
    nz = np.flatnonzero(y)
    assert len(nz) == 16 and np.all(np.diff(nz) == 2000)
    np.testing.assert_allclose(y[nz[:4]], [1.0, 0.3, 0.3, 0.3], rtol=1e-6)
    assert np.count_nonzero(beat_pattern("every 4th missing", rate=4.0, duration=4.0)) == 12
    with pytest.raises(ValueError, match="unknown pattern"):
        beat_pattern("waltz")
    with pytest.raises(ValueError, match="rate"):
        beat_pattern("isochronous", rate=0)


# ------------------------------------------------------------------ pitch metrics on known responses
def _tuned_bank(E=60, T=400, n_dormant=20, width=0.15, f_min_tuned=200.0, seed=0):
    """A synthetic neuralogram: E - n_dormant dims with Gaussian tuning on log f, the rest near zero."""
    rng = np.random.default_rng(seed)
    times = (np.arange(T) + 0.5) / T * 120
    freqs = 1 + 3999 * np.abs(times - 60) / 60
    down = times < 60
    centres = np.exp(rng.uniform(np.log(f_min_tuned * 1.5), np.log(3800), E - n_dormant))
    lf = np.log(freqs)
    N = np.exp(-0.5 * ((lf[None] - np.log(centres)[:, None]) / width) ** 2)
    N = np.vstack([N, 1e-3 * rng.random((n_dormant, T))])
    return N, freqs, down, centres


def test_pitch_metrics_ideal_tuned_bank():
    N, freqs, down, centres = _tuned_bank()
    m = pitch_metrics(N, freqs, down)
    assert m["n_dims"] == 60 and m["n_active"] == 40 and m["frac_active"] == pytest.approx(40 / 60)
    assert m["spearman_down_up"] > 0.98
    assert m["ridge_r2"] > 0.9
    assert m["salience"] > 20
    # width: fraction of a linear sweep above half peak of a Gaussian on log f, small for these narrow tunings
    assert m["tuning_width"] < 0.2
    # nothing is tuned below 300 Hz: the response ceases somewhere between 100 and 300 Hz
    assert 100 < m["f_cease"] < 300
    order = peak_order(N, down)
    # sorted by peak time on the downward sweep = by decreasing preferred frequency
    from scipy.stats import spearmanr

    tuned = order[order < 40]
    assert spearmanr(np.arange(40), centres[tuned]).statistic < -0.99


def test_pitch_ridge_ignores_units_silent_on_the_fitting_sweep():
    """A unit silent on the down-sweep (float noise) but active on the up-sweep carries nothing the ridge could
    weight: it must not swamp the held-out prediction (standardised by its ~0 spread, it used to give R^2 << 0)."""
    N, freqs, down, _ = _tuned_bank()
    rng = np.random.default_rng(2)
    wakes = np.where(down, 1e-9 * rng.random((5, down.size)), 0.5 + 0.5 * rng.random((5, down.size)))
    m = pitch_metrics(np.vstack([N, wakes]), freqs, down)
    ref = pitch_metrics(N, freqs, down)
    assert m["ridge_r2"] == pytest.approx(ref["ridge_r2"], abs=1e-9) and m["ridge_r2"] > 0.9
    assert m["ridge_dims"] == ref["ridge_dims"] == 60
    # every dimension flat on the fitting sweep: nothing to fit
    flat = pitch_metrics(np.where(down, 1.0, N), freqs, down)
    assert flat["ridge_dims"] == 0 and np.isnan(flat["ridge_r2"])


def test_pitch_metrics_untuned_noise_and_errors():
    rng = np.random.default_rng(1)
    T = 400
    times = (np.arange(T) + 0.5) / T * 120
    freqs = 1 + 3999 * np.abs(times - 60) / 60
    down = times < 60
    N = rng.random((50, T)) + 1.0  # untuned: no dimension follows the frequency
    m = pitch_metrics(N, freqs, down)
    assert m["frac_active"] == 1.0
    assert abs(m["spearman_down_up"]) < 0.4
    assert m["ridge_r2"] < 0.3
    assert m["salience"] < 2
    assert m["f_cease"] == pytest.approx(freqs.min())  # a flat response never ceases
    with pytest.raises(ValueError, match="down must mark"):
        pitch_metrics(N, freqs, np.ones(T, bool))
    with pytest.raises(ValueError, match="N must be"):
        pitch_metrics(N[:, :10], freqs, down)
    with pytest.raises(ValueError, match="NaN"):
        pitch_metrics(np.full((5, T), np.nan), freqs, down)


# ------------------------------------------------------------------ rhythm metrics on known responses
def test_regime_change_finds_a_known_switch():
    T = 300
    times = (np.arange(T) + 0.5) / T * 300
    rates = 1 / (0.1 + (0.001 - 0.1) * times / 300)
    rng = np.random.default_rng(0)
    a, b = rng.random(40), rng.random(40)
    N = np.where(rates[None] < 25.0, a[:, None], 0.2 * b[:, None]) + 0.02 * rng.random((40, T))
    rc = regime_change(N, rates)
    assert 22 < rc["rate"] < 28
    assert rc["explained"] > 0.8
    assert 20 < rc["level_rate"] < 30  # the mean response drops at the switch too
    with pytest.raises(ValueError, match="at least 10"):
        regime_change(N[:, :5], rates[:5])
    with pytest.raises(ValueError, match="N must be"):
        regime_change(N, rates[:-1])


# ------------------------------------------------------------------ end to end on a tiny model, and the cache
def test_probes_end_to_end_and_cache(specs, monkeypatch):
    model = random_init_model(ModelConfig(**TINY), specs, n_batches=2, batch_size=8)
    r1 = pitch_run(model, None, duration=12.0, hop=1.0)
    assert r1["N"].shape == (16, 11) and np.all(r1["N"] >= 0)  # post-ReLU means
    np.testing.assert_allclose(r1["times"], np.arange(11) + 1.0)
    np.testing.assert_allclose(r1["freqs"][5], 1 + 3999 * 0 / 6, atol=1e-9)  # centre 6 s: the turning point
    # the embedding of each window is exactly model.embed of that window's spectrogram
    from neuralogram.spectral import LinearSpectrogram

    y = signals.down_up_chirp(duration=12.0)
    with torch.no_grad():
        e3 = model.embed(LinearSpectrogram()(torch.from_numpy(y[24000:40000]))[None, None])[0].numpy()
    np.testing.assert_allclose(r1["N"][:, 3], e3, rtol=1e-4, atol=1e-6)
    # second call: loaded from disk, compute is not called
    calls = []
    orig = _cache.cached_arrays

    def spy(probe, params, key, compute, cache=True):
        return orig(probe, params, key, lambda: calls.append(1) or compute(), cache=cache)

    monkeypatch.setattr("neuralogram.probes.pitch.cached_arrays", spy)
    r2 = pitch_run(model, None, duration=12.0, hop=1.0)
    assert calls == [] and np.array_equal(r1["N"], r2["N"])
    pitch_run(model, None, duration=12.0, hop=2.0)  # new parameter: computed
    assert calls == [1]
    with torch.no_grad():
        model.trunk.conv1_1[0].weight.mul_(1.5)  # changed weights: a new key, never the stale result
    r3 = pitch_run(model, None, duration=12.0, hop=1.0)
    assert calls == [1, 1] and not np.array_equal(r1["N"], r3["N"])
    out = pitch_probe(model, None, duration=12.0, hop=1.0)
    assert out["n_dims"] == 16 and out["layer"] == "conv5_4"
    with pytest.raises(ValueError, match="layer"):
        pitch_run(model, None, duration=12.0, hop=1.0, layer="fc1")


def test_rhythm_and_pattern_probe_tiny(specs):
    model = random_init_model(ModelConfig(**TINY), specs, n_batches=2, batch_size=8)
    r = rhythm_probe(model, None, duration=20.0, hop=1.0)
    assert 10 <= r["rate_100ms"] <= 1000 and 5 <= r["rate_200ms"] <= 1000
    p = pattern_probe(model, None, patterns=["isochronous", "accent 1 of 4", "swing (2:1)"], duration=4.0, hop=0.5)
    D = np.asarray(p["distances"])
    assert D.shape == (3, 3) and np.allclose(np.diag(D), 0, atol=1e-6) and np.allclose(D, D.T)
    assert p["between"] > 0 and p["ratio"] > 0
    assert set(PATTERNS) >= set(p["names"])


# ------------------------------------------------------------------ widgets (the interactive probes)
@pytest.fixture
def tiny_widget_model(tmp_path, tiny_corpus, monkeypatch):
    """A random tiny model shipped as ``vgg19-e16-tiny`` in a models folder the widgets read, and the widgets."""
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from neuralogram.viz import live, probe_widgets as widgets
    from neuralogram.checkpoints import save_checkpoint

    cfg = ModelConfig(**TINY)
    torch.manual_seed(0)
    net = NeuralogramNet(cfg)
    save_checkpoint(tmp_path / "vgg19-e16-tiny.pt", dict(config=cfg.to_dict(), state_dict=net.state_dict(),
                                                         label_names=["a", "b", "c"], label_mids=["x", "y", "z"],
                                                         metrics={"mAP": 0.9, "chance_mAP": 0.33}))
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    monkeypatch.setenv("NEURALOGRAM_PROBE_CORPUS", str(tiny_corpus))
    monkeypatch.setattr(live, "_MODELS", {})
    return widgets


def test_pitch_widget_panels_aligned(tiny_widget_model, monkeypatch):
    """The frequency panel shares the neuralogram's time axis (chapter 7's cold review)."""
    import matplotlib.pyplot as plt

    widgets = tiny_widget_model

    def drawn(controls, compute, draw, *, figsize=(9, 4.5), **_):   # the widget's figure, kept open
        fig = plt.figure(figsize=figsize)
        draw(compute(**{k: w.value for k, w in controls.items()}), fig)
        fig.canvas.draw()
        return fig

    monkeypatch.setattr(widgets, "live_figure", drawn)
    fig = widgets.pitch_widget(default_model="vgg19-e16-tiny")
    try:
        visible = [ax for ax in fig.axes if ax.get_visible()]
        freq_ax, image_ax = visible[0], visible[1]           # the chirp's frequency, then the neuralogram
        assert freq_ax.get_ylabel() == "f (Hz)" and image_ax.images
        a, b = freq_ax.get_position(), image_ax.get_position()
        np.testing.assert_allclose([a.x0, a.x1], [b.x0, b.x1], atol=1e-3)
        np.testing.assert_allclose(freq_ax.get_xlim(), image_ax.get_xlim())
    finally:
        plt.close(fig)


def test_probe_widgets_recompute(tiny_widget_model, monkeypatch):
    from neuralogram.viz import live

    widgets, cfg = tiny_widget_model, ModelConfig(**TINY)
    monkeypatch.setattr("neuralogram.checkpoints.DEFAULT_FAMILY", "tiny")   # the size widget shows one family
    box = widgets.pitch_widget(default_model="vgg19-e16-tiny")
    run, met, (y, sr), _, view, _ = box.last_result
    assert run["N"].shape[0] == 16 and sr == 8000 and y.size == 20 * 8000 and 0 <= met["frac_active"] <= 1
    controls = {c.description: c for c in box.children[1].children}
    # the tuning view by default (active dimensions, each on its own range), or one scale
    assert view == "active / own range"
    controls["view"].value = "one scale"
    assert box.last_result[4] == "one scale"
    controls["duration (s)"].value = 10.0  # a slider change recomputes
    assert box.last_result[0]["duration"] == 10.0 and box.last_result[2][0].size == 10 * 8000
    controls["weights"].value = "random init"
    assert live._MODELS["vgg19-e16-tiny", "random init"][0].trunk.input_norm.running_mean != 0
    controls["layer"].value = "conv3_4"
    assert box.last_result[0]["N"].shape[0] == cfg.channels()[7]  # conv3_4 is the 8th conv
    rb = widgets.rhythm_widget(default_model="vgg19-e16-tiny")
    run, rc, _, _ = rb.last_result
    assert np.isclose(run["rates"][0], 1 / (0.1 + (0.001 - 0.1) * 1.0 / 30))  # first window centred at 1 s
    # its rate axis: round rates inside the sweep, at the times the sweep reaches them, in time order
    import matplotlib.pyplot as plt

    from neuralogram.viz.plotting import rate_axis

    _, ax = plt.subplots()
    sec = rate_axis(ax, run["times"], run["rates"])
    pos, labels = list(sec.get_xticks()), [t.get_text() for t in sec.get_xticklabels()]
    plt.close("all")
    with pytest.raises(ValueError, match="matching"):
        rate_axis(ax, run["times"], run["rates"][1:])
    # (windows centred from 1 s to 29 s: 10.3 Hz to 232 Hz)
    assert labels == ["20", "30", "50", "100", "200"] and np.all(np.diff(pos) > 0)
    assert np.allclose([1 / (0.1 + (0.001 - 0.1) * t / 30) for t in pos], [20, 30, 50, 100, 200], rtol=1e-6)
    pb = widgets.pattern_widget(default_model="vgg19-e16-tiny")
    Ns, times, cos, _, names = pb.last_result
    assert names == ("isochronous", "accent 1 of 4") and cos > 0
    sb = widgets.size_widget()
    assert [E for E, _, _ in sb.last_result[0]] == [16]
    # its panels: sorted on the other sweep, shown on the chosen one (a diagonal is then evidence, not sorting)
    f = np.r_[np.linspace(4000, 1, 9), np.linspace(1, 4000, 9)]
    N = np.zeros((4, 18))
    N[0, [4, 13]], N[1, [0, 17]], N[2, [8, 9]], N[3, 3] = 1.0, 2.0, 0.5, 0.01     # row 3: not active
    Z, freqs = pitch.held_out_view(dict(N=N, freqs=f, down=np.arange(18) < 9), "up")
    assert np.all(np.diff(freqs) > 0) and np.array_equal(Z, np.eye(9)[[0, 4, 8]])
    N[0, 13] = 0.0                   # dimension 0 now peaks on the down sweep only: still sorted by it
    Z, _ = pitch.held_out_view(dict(N=N, freqs=f, down=np.arange(18) < 9), "up")
    assert np.array_equal(Z[1], np.zeros(9)) and Z[0, 0] == 1 and Z[2, 8] == 1


def test_compare_functions_return_trained_and_random(specs):
    from neuralogram.probes import pitch_compare, rhythm_compare

    model = NeuralogramNet(ModelConfig(**TINY)).eval()
    pc = pitch_compare(model, {"name": "tiny", "hash": "abc"}, corpus=specs, duration=12.0, hop=1.0)
    assert set(pc) == {"trained", "random"} and pc["trained"]["model"] == "tiny"
    assert pc["random"]["model"].startswith("random-init") and pc["random"]["n_dims"] == 16
    rc = rhythm_compare(model, {"name": "tiny", "hash": "abc"}, corpus=specs, duration=20.0, hop=1.0,
                        pattern_params=dict(patterns=["isochronous", "swing (2:1)"], duration=4.0, hop=0.5))
    assert {"rate_100ms", "rate_200ms", "pattern_ratio", "pattern_between"} <= set(rc["random"])


def test_shared_validation_picks_the_last_score_on_a_part_every_card_has(tmp_path):
    import json

    from neuralogram.probes.size import shared_validation

    def card(name, parts):                   # parts: [(val_n, mAP), ...] epoch by epoch
        (tmp_path / f"{name}.pt").write_bytes(b"")
        h = [{"epoch": i + 1, "val_n": n, "val_mAP": m, "val_top1": 0.5, "val_loss": 6.0}
             for i, (n, m) in enumerate(parts)]
        (tmp_path / f"{name}.json").write_text(json.dumps({"history": h}))
        return str(tmp_path / f"{name}.pt")

    a = card("a", [(10, 0.1), (20, 0.2), (20, 0.25)])
    b = card("b", [(10, 0.3), (20, 0.35), (30, 0.4)])     # went on to a larger part
    s = shared_validation([a, b])
    assert s["val_n"] == 20 and s["mAP"] == [0.25, 0.35] and s["epoch"] == [3, 2]
    assert s["last"] == [True, False]
    assert shared_validation([a, b], part="smallest")["mAP"] == [0.1, 0.3]
    c = card("c", [(40, 0.5)])
    with pytest.raises(ValueError, match="share no validation part"):
        shared_validation([a, c])
    with pytest.raises(ValueError, match="part must be"):
        shared_validation([a, b], part="median")
    (tmp_path / "d.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="no validation history"):
        shared_validation([str(tmp_path / "d.pt")])


def test_rhythm_input_features_are_the_windows_mean_and_std():
    from neuralogram import signals
    from neuralogram.probes import rhythm
    from neuralogram.spectral import LinearSpectrogram

    y = signals.impulse_train_sweep(period_start=0.1, period_end=0.01, duration=6.0, sr=8000)
    F = rhythm.input_features(y, sr=8000)
    assert F.shape == (258, 9) and np.allclose(F.min(1), 0)        # 2 s windows every 0.5 s in 6 s
    S = LinearSpectrogram()(torch.from_numpy(y[4000:20000].astype(np.float32))[None])[0]   # window 1
    ref = torch.cat([S.mean(-1), S.std(-1)]).numpy()
    full = np.stack([torch.cat([s_.mean(-1), s_.std(-1)]).numpy() for s_ in
                     LinearSpectrogram()(torch.stack([torch.from_numpy(y[a:a + 16000].astype(np.float32))
                                                      for a in range(0, 32001, 4000)]))], axis=1)
    np.testing.assert_allclose(F[:, 1], ref - full.min(1), rtol=1e-5, atol=1e-5)
    # another spectrogram (a shorter window) changes the features, not their layout
    F20 = rhythm.input_features(y, spec=LinearSpectrogram(win_length=160), sr=8000)
    assert F20.shape == F.shape and not np.allclose(F20, F)
    for bad, msg in (((y[:100],), "at least one window"), ((y[None],), "1-D"), ((y,), "hop")):
        with pytest.raises(ValueError, match=msg):
            rhythm.input_features(*bad, **({"hop": 0} if msg == "hop" else {}))
