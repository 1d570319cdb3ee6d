"""ipywidgets front ends for the chapters.

One shared helper, :func:`live_figure`, turns "sliders -> recompute -> replot (+ re-play the audio)" into a few
lines; the chapter widgets below are built on it. Every widget draws once when it is created, so an executed
notebook (and the rendered book) shows a figure even without a running kernel.

Book: ``book/01_signals.ipynb`` (:func:`signal_explorer`), ``book/02_stft.ipynb`` (:func:`stft_explorer`),
``book/03_linear_variants.ipynb`` (:func:`filterbank_explorer`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["live_figure", "signal_explorer", "stft_explorer", "filterbank_explorer"]


def live_figure(controls: dict, compute: Callable, draw: Callable, *, audio: Callable | None = None,
                figsize=(9, 4.5), title: str | None = None, autoplay: bool = True):
    """Sliders -> recompute -> replot, and re-play the audio.

    Parameters
    ----------
    controls : dict[str, ipywidgets.ValueWidget]
        Keyword name -> widget; ``compute`` is called with ``{name: widget.value}``.
    compute : callable
        ``compute(**values) -> result`` (any object; raising ``ValueError`` shows the message instead of a plot).
    draw : callable
        ``draw(result, fig)`` draws into an empty matplotlib figure.
    audio : callable, optional
        ``audio(result) -> (y, sr)``: the sound to play under the figure.
    figsize : tuple
        Figure size in inches.
    title : str, optional
        A bold line above the controls.
    autoplay : bool
        Start playing after a change (never on the first draw, so opening a page is silent).

    Returns
    -------
    ipywidgets.VBox
        Controls, figure, audio player. ``.update()`` redraws; ``.last_result`` holds the latest result.

    Book: ``book/01_signals.ipynb``.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import Audio, display

    if not controls:
        raise ValueError("controls must name at least one widget")
    fig_out, audio_out = W.Output(), W.Output()
    header = [W.HTML(f"<b>{title}</b>")] if title else []
    box = W.VBox([*header, W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")),
                  fig_out, audio_out])
    box.last_result = None

    def update(change=None):
        values = {k: w.value for k, w in controls.items()}
        with fig_out:
            fig_out.clear_output(wait=True)
            try:
                result = compute(**values)
            except ValueError as err:  # a parameter combination that makes no sense: say why
                print(f"cannot draw: {err}")
                return
            box.last_result = result
            fig = plt.figure(figsize=figsize)
            draw(result, fig)
            plt.show()
        if audio is not None:
            y, sr = audio(result)
            with audio_out:
                audio_out.clear_output(wait=True)
                display(Audio(np.asarray(y, dtype=np.float32), rate=int(sr),
                              autoplay=autoplay and change is not None))

    for w in controls.values():
        w.observe(update, names="value")
    box.update = update
    update()
    return box


def _slider(cls, value, lo, hi, step, desc, **kw):
    import ipywidgets as W

    return getattr(W, cls)(value=value, min=lo, max=hi, step=step, description=desc, continuous_update=False,
                           style={"description_width": "initial"}, **kw)


def signal_explorer(*, sr: int = 8000):
    """Pick a probe signal of the paper, change its parameters, see its waveform and spectrogram, and hear it.

    Signals: sine, linear chirp (either way), the down-up chirp (f_high -> f_low -> f_high), an impulse train and
    its linear period sweep, white/pink/brown noise, all from :mod:`neuralogram.signals`.

    Book: ``book/01_signals.ipynb``.
    """
    import ipywidgets as W

    from . import signals as sg
    from .plotting import specshow, waveshow
    from .spectral import linear_spectrogram

    controls = {
        "kind": W.Dropdown(options=["sine", "chirp", "down-up chirp", "impulse train", "impulse sweep", "noise"],
                           value="chirp", description="signal"),
        "f1": _slider("FloatSlider", 200.0, 1.0, sr / 2, 1.0, "f start / f (Hz)"),
        "f2": _slider("FloatSlider", 3800.0, 1.0, sr / 2, 1.0, "f end (Hz)"),
        "period_ms": _slider("FloatLogSlider", 100.0, 0, 2.3, 0.01, "period (ms)"),
        "duration": _slider("FloatSlider", 4.0, 0.5, 20.0, 0.5, "duration (s)"),
        "color": W.Dropdown(options=["white", "pink", "brown"], value="pink", description="noise"),
    }

    def compute(kind, f1, f2, period_ms, duration, color):
        if kind == "sine":
            y = sg.sine(freq=f1, duration=duration, sr=sr)
        elif kind == "chirp":
            y = sg.linear_chirp(f_start=f1, f_end=f2, duration=duration, sr=sr)
        elif kind == "down-up chirp":
            y = sg.down_up_chirp(f_high=max(f1, f2), f_low=min(f1, f2), duration=duration, sr=sr)
        elif kind == "impulse train":
            y = sg.impulse_train(period=period_ms / 1e3, duration=duration, sr=sr, amplitude=0.8)
        elif kind == "impulse sweep":
            y = sg.impulse_train_sweep(period_start=period_ms / 1e3, period_end=0.001, duration=duration, sr=sr,
                                       amplitude=0.8)
        else:
            y = sg.noise(duration=duration, sr=sr, color=color, amplitude=0.1)
        return y, kind

    def draw(result, fig):
        y, kind = result
        ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
        waveshow(y, sr=sr, ax=ax1, title=kind)
        ax1.set_xlabel("")
        specshow(linear_spectrogram(y, sr), sr=8000, hop_length=80, ax=ax2, colorbar=False)
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (r[0], sr), title="Probe signals",
                       figsize=(9, 5))


def stft_explorer(y=None, *, sr: int = 8000):
    """Window length, hop and FFT size sliders on a signal (default: a 2 s chirp 100 -> 3900 Hz plus two clicks):
    a long window sharpens frequency and blurs time, a short one the reverse.

    Book: ``book/02_stft.ipynb``.
    """
    import ipywidgets as W

    from . import signals as sg
    from .plotting import specshow
    from .spectral import get_window, log_power, stft

    if y is None:
        y = sg.linear_chirp(f_start=100, f_end=3900, duration=2.0, sr=sr, amplitude=0.4)
        y = y + sg.sine(freq=1000, duration=2.0, sr=sr, amplitude=0.2)
        y[[4000, 12000]] += 1.0  # two clicks: how sharp in time?
    y = np.asarray(y, dtype=np.float32)
    controls = {
        "win_length": _slider("IntSlider", 240, 16, 2048, 8, "window (samples)"),
        "hop_length": _slider("IntSlider", 80, 8, 512, 8, "hop (samples)"),
        "n_fft_exp": _slider("IntSlider", 8, 4, 12, 1, "log2 n_fft"),
        "window": W.Dropdown(options=["hann", "hamming", "blackman", "rectangular"], value="hann",
                             description="window"),
    }

    def compute(win_length, hop_length, n_fft_exp, window):
        n_fft = 2 ** n_fft_exp
        if win_length > n_fft:
            raise ValueError(f"the window ({win_length}) must fit in the FFT (n_fft = {n_fft}); raise log2 n_fft")
        X = stft(y, n_fft=n_fft, win_length=win_length, hop_length=hop_length, window=window)
        return log_power(X.abs().square()), get_window(window, win_length), n_fft, win_length, hop_length

    def draw(result, fig):
        S, w, n_fft, win, hop = result
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 4]})
        ax1.plot(np.arange(win) / sr * 1e3, w.numpy())
        ax1.set_xlabel("ms")
        ax1.set_title(f"window: {1e3 * win / sr:.1f} ms")
        specshow(S, sr=sr, hop_length=hop, n_fft=n_fft, ax=ax2, vmin=float(S.max()) - 14,
                 title=f"{n_fft // 2 + 1} bins of {sr / n_fft:.1f} Hz, {S.shape[1]} frames every "
                       f"{1e3 * hop / sr:.1f} ms")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (y, sr), title="The time-frequency trade-off",
                       figsize=(10, 3.8))


def filterbank_explorer(y=None, *, sr: int = 8000):
    """Change the number of mel bands or log-frequency bins per octave and see ``T`` and ``T X_spec`` update.

    Book: ``book/03_linear_variants.ipynb``.
    """
    import ipywidgets as W

    from . import signals as sg
    from .plotting import matshow, specshow
    from .spectral import (apply_filterbank, fft_frequencies, log_power, logfreq_filterbank, mel_filterbank,
                           power_spectrogram)

    if y is None:
        y = sg.linear_chirp(f_start=60, f_end=3900, duration=3.0, sr=sr, amplitude=0.5)
    P = power_spectrogram(y)
    freqs = fft_frequencies(sr=sr, n_fft=256)
    controls = {
        "kind": W.Dropdown(options=["mel", "log-frequency"], value="mel", description="map"),
        "n": _slider("IntSlider", 40, 4, 96, 1, "mel bands / bins per octave"),
    }

    def compute(kind, n):
        if kind == "mel":
            T, centres, y_axis = mel_filterbank(n_mels=n), None, "index"
        else:
            T, centres = logfreq_filterbank(bins_per_octave=max(1, min(n, 48)))
            y_axis = "log"
        return T, log_power(apply_filterbank(T, P)), centres, y_axis, kind

    def draw(result, fig):
        T, S, centres, y_axis, kind = result
        ax1, ax2 = fig.subplots(1, 2)
        matshow(T, ax=ax1, x_coords=freqs, xlabel="FFT bin frequency (Hz)", title=f"T ({kind}): {tuple(T.shape)}")
        specshow(S, sr=sr, hop_length=80, ax=ax2, y_axis=y_axis, y_coords=centres, title="log(T X_spec)")
        fig.tight_layout()

    return live_figure(controls, compute, draw, title="Spectrogram variants are matrices", figsize=(10, 3.6))


# =====================================================================================================================
# Probe widgets (Part IV: pitch, embedding size, rhythm). Section owned by the probes engineer; appended, not merged.
# Book: ``book/07_pitch.ipynb``, ``book/08_embedding_size.ipynb``, ``book/09_rhythm.ipynb``.
# =====================================================================================================================
__all__ += ["pitch_widget", "size_widget", "rhythm_widget", "pattern_widget"]

_PROBE_MODELS: dict = {}


def _probe_model(name: str, net: str = "trained"):
    """A shipped model (loaded once) or its fair random twin (built once), with its info."""
    key = (name, net)
    if key not in _PROBE_MODELS:
        from .checkpoints import load_model
        from .probes.baseline import random_init_model

        if (name, "trained") not in _PROBE_MODELS:
            _PROBE_MODELS[name, "trained"] = load_model(name)
        if net != "trained":
            model = _PROBE_MODELS[name, "trained"][0]
            _PROBE_MODELS[key] = (random_init_model(model, seed=0), None)
    return _PROBE_MODELS[key]


def _probe_model_controls(default: str = "vgg19-e500-standin"):
    import ipywidgets as W

    from .checkpoints import available_models

    names = available_models()
    if not names:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    model, _ = _probe_model(default if default in names else names[0])
    return {
        "name": W.Dropdown(options=names, value=default if default in names else names[0], description="model"),
        "net": W.ToggleButtons(options=["trained", "random init"], value="trained", description="weights"),
        "layer": W.Dropdown(options=model.conv_layer_names, value=model.conv_layer_names[-1], description="layer"),
    }


def _sorted_image(ax, N, times, order, title):
    Z = N[order]
    ax.imshow(Z, aspect="auto", origin="upper", cmap="magma", interpolation="nearest",
              extent=[times[0], times[-1], Z.shape[0], 0], vmin=0, vmax=max(float(np.percentile(Z, 99.5)), 1e-12))
    ax.set(ylabel="dimension (sorted)", title=title)


def pitch_widget(*, default_model: str = "vgg19-e500-standin"):
    """The chirp probe of ``book/07_pitch.ipynb`` with every parameter on a slider.

    Controls: model, trained / random-init weights, layer; chirp ``f_high``, ``f_low``, ``duration``; neuralogram
    ``window`` and ``hop``; the metric thresholds ``active_threshold`` and ``on_level``. Shows the sorted
    neuralogram (sorted on the downward sweep) and the numbers of :func:`neuralogram.probes.pitch.pitch_metrics`;
    plays the chirp. A 20 s chirp with a 0.5 s hop recomputes in about a second.

    Book: ``book/07_pitch.ipynb``.
    """
    from .probes import pitch

    controls = _probe_model_controls(default_model)
    controls.update(
        f_high=_slider("FloatSlider", 4000.0, 500.0, 4000.0, 50.0, "f_high (Hz)"),
        f_low=_slider("FloatLogSlider", 1.0, 0, 2.7, 0.05, "f_low (Hz)"),
        duration=_slider("FloatSlider", 20.0, 6.0, 60.0, 2.0, "duration (s)"),
        window=_slider("FloatSlider", 2.0, 0.5, 2.0, 0.25, "window (s)"),
        hop=_slider("FloatSlider", 0.5, 0.25, 2.0, 0.25, "hop (s)"),
        active_threshold=_slider("FloatSlider", 0.1, 0.01, 0.5, 0.01, "active if peak >"),
        on_level=_slider("FloatSlider", 0.5, 0.1, 0.9, 0.05, "on if >"),
    )

    def compute(name, net, layer, f_high, f_low, duration, window, hop, active_threshold, on_level):
        model, info = _probe_model(name, net)
        if f_low >= f_high:
            raise ValueError(f"f_low ({f_low:.0f} Hz) must be below f_high ({f_high:.0f} Hz)")
        if window > duration / 2:
            raise ValueError("the window must fit in one sweep (window <= duration / 2)")
        run = pitch.pitch_run(model, info, duration=duration, f_high=f_high, f_low=f_low, window=window, hop=hop,
                              layer=None if layer == model.conv_layer_names[-1] else layer, cache=False)
        met = pitch.pitch_metrics(run["N"], run["freqs"], run["down"], active_threshold=active_threshold,
                                  on_level=on_level)
        y, _ = pitch.down_up_chirp(duration=duration, f_high=f_high, f_low=f_low, sr=model.config.sr)
        return run, met, (y, model.config.sr), f"{name} ({net}), {layer}"

    def draw(result, fig):
        run, met, _, label = result
        ax0, ax1 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 4]})
        ax0.plot(run["times"], run["freqs"], "k")
        ax0.set(ylabel="f (Hz)", title=label)
        _sorted_image(ax1, run["N"], run["times"], pitch.peak_order(run["N"], run["down"]),
                      f"active {met['frac_active']:.2f} | salience {met['salience']:.2f} | Spearman down/up "
                      f"{met['spearman_down_up']:.2f} | width {met['tuning_width']:.2f} | on {met['on_fraction']:.2f} "
                      f"| ridge R² {met['ridge_r2']:.2f} | cease < {met['f_cease']:.0f} Hz")
        ax1.set_xlabel("time (s)")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: r[2], title="Pitch probe: the down-up chirp",
                       figsize=(10, 5.5), autoplay=False)


def size_widget():
    """Chirp responses of every shipped embedding size side by side (``book/08_embedding_size.ipynb``).

    Controls: trained / random-init weights, layer, chirp ``duration``, ``f_low``, ``hop``, which sweep to show,
    ``on_level``. Each panel is the chosen sweep with active dimensions scaled to their peak and sorted by it, titled
    with the tuning width and the fraction of dimensions on at once.

    Book: ``book/08_embedding_size.ipynb``.
    """
    import ipywidgets as W

    from .probes import pitch
    from .probes.size import shipped_by_size

    sizes = shipped_by_size()
    if not sizes:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    first, _ = _probe_model(sizes[0][1])
    controls = {
        "net": W.ToggleButtons(options=["trained", "random init"], value="trained", description="weights"),
        "layer": W.Dropdown(options=first.conv_layer_names, value=first.conv_layer_names[-1], description="layer"),
        "duration": _slider("FloatSlider", 20.0, 6.0, 60.0, 2.0, "duration (s)"),
        "f_low": _slider("FloatLogSlider", 1.0, 0, 2.7, 0.05, "f_low (Hz)"),
        "hop": _slider("FloatSlider", 0.5, 0.25, 2.0, 0.25, "hop (s)"),
        "sweep": W.ToggleButtons(options=["up", "down"], value="up", description="sweep"),
        "on_level": _slider("FloatSlider", 0.5, 0.1, 0.9, 0.05, "on if >"),
    }

    def compute(net, layer, duration, f_low, hop, sweep, on_level):
        out = []
        for E, name in sizes:
            model, info = _probe_model(name, net)
            run = pitch.pitch_run(model, info, duration=duration, f_low=f_low, hop=hop, cache=False,
                                  layer=None if layer == model.conv_layer_names[-1] else layer)
            met = pitch.pitch_metrics(run["N"], run["freqs"], run["down"], on_level=on_level)
            out.append((E, run, met))
        return out, sweep, net

    def draw(result, fig):
        out, sweep, net = result
        axes = fig.subplots(1, len(out))
        axes = np.atleast_1d(axes)
        for ax, (E, run, met) in zip(axes, out):
            sel = run["down"] if sweep == "down" else ~run["down"]
            NN = run["N"][:, sel]
            pk = NN.max(1)
            act = pk > 0.1 * run["N"].max()
            if act.sum() == 0:
                ax.set_title(f"E = {E}: no active dimension")
                continue
            Z = NN[act] / pk[act, None]
            ax.imshow(Z[pitch.peak_order(Z)], aspect="auto", origin="upper", cmap="magma", interpolation="nearest",
                      extent=[run["freqs"][sel][0], run["freqs"][sel][-1], Z.shape[0], 0])
            ax.set(title=f"E = {E} ({net}): width {met['tuning_width']:.2f}, on {met['on_fraction']:.2f}",
                   xlabel=f"chirp frequency (Hz), {sweep} sweep")
        axes[0].set_ylabel("active dimension (scaled to its peak, sorted)")
        fig.tight_layout()

    return live_figure(controls, compute, draw, title="Embedding size: the chirp response of each shipped model",
                       figsize=(12, 4.5))


def rhythm_widget(*, default_model: str = "vgg19-e500-standin"):
    """The impulse-train sweep of ``book/09_rhythm.ipynb`` with every parameter on a slider.

    Controls: model, trained / random-init weights, layer; ``period_start``, ``period_end`` (ms), ``duration``;
    neuralogram ``window`` and ``hop``. Shows the sorted neuralogram against time (rate on the top axis) with the
    least-squares change point of :func:`neuralogram.probes.rhythm.regime_change`, and the mean scaled response
    against the rate; plays the sweep. A 30 s sweep with a 0.5 s hop recomputes in about a second.

    Book: ``book/09_rhythm.ipynb``.
    """
    from .probes import rhythm
    from .probes.pitch import peak_order

    controls = _probe_model_controls(default_model)
    controls.update(
        period_start=_slider("FloatLogSlider", 100.0, 1, 2.7, 0.05, "start period (ms)"),
        period_end=_slider("FloatLogSlider", 1.0, 0, 1.7, 0.05, "end period (ms)"),
        duration=_slider("FloatSlider", 30.0, 10.0, 120.0, 5.0, "duration (s)"),
        window=_slider("FloatSlider", 2.0, 0.5, 2.0, 0.25, "window (s)"),
        hop=_slider("FloatSlider", 0.5, 0.25, 2.0, 0.25, "hop (s)"),
    )

    def compute(name, net, layer, period_start, period_end, duration, window, hop):
        model, info = _probe_model(name, net)
        run = rhythm.rhythm_run(model, info, duration=duration, period_start=period_start / 1e3,
                                period_end=period_end / 1e3, window=window, hop=hop, cache=False,
                                layer=None if layer == model.conv_layer_names[-1] else layer)
        rc = rhythm.regime_change(run["N"], run["rates"])
        y, _ = rhythm.impulse_train_sweep(duration=duration, period_start=period_start / 1e3,
                                          period_end=period_end / 1e3, sr=model.config.sr, amplitude=0.8)
        return run, rc, (y, model.config.sr), f"{name} ({net}), {layer}"

    def draw(result, fig):
        run, rc, _, label = result
        ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        _sorted_image(ax0, run["N"], run["times"], peak_order(run["N"]), label)
        t_cp = np.interp(np.log(rc["rate"]), np.log(run["rates"]), run["times"]) if np.isfinite(rc["rate"]) else None
        if t_cp is not None:
            ax0.axvline(t_cp, color="c", ls="--")
        sec = ax0.secondary_xaxis("top", functions=(lambda t: np.interp(t, run["times"], run["rates"]),
                                                    lambda r: np.interp(r, run["rates"], run["times"])))
        sec.set_xlabel("rate (Hz)")
        ax0.set_xlabel("time (s)")
        pk = run["N"].max(1)
        act = pk > 0.1 * pk.max()
        if act.any():
            ax1.semilogx(run["rates"], (run["N"][act] / pk[act, None]).mean(0), "k", lw=1)
        ax1.axvspan(20, 30, color="0.85", label="paper: 20-30 Hz")
        ax1.axvline(rc["rate"], color="c", ls="--", label=f"change point {rc['rate']:.1f} Hz ({rc['explained']:.0%})")
        ax1.set(xlabel="impulse rate (Hz)", ylabel="mean scaled response")
        ax1.legend(fontsize=8)
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: r[2], title="Rhythm probe: impulse-train sweep",
                       figsize=(12, 4.8), autoplay=False)


def pattern_widget(*, default_model: str = "vgg19-e500-standin"):
    """Fixed rate, changed pattern or emphasis (``book/09_rhythm.ipynb``): two beat patterns side by side.

    Controls: model, trained / random-init weights, layer; pattern A and pattern B (from
    :data:`neuralogram.probes.rhythm.PATTERNS`), beat ``rate`` (Hz), ``accent`` (amplitude of the unaccented
    beats), ``duration``. Shows both neuralograms with the dimensions sorted by how much they differ between A and
    B, and the cosine distance of the mean embeddings; plays pattern A then B.

    Book: ``book/09_rhythm.ipynb``.
    """
    import ipywidgets as W

    from .probes import rhythm
    from .probes._common import embed_windows

    controls = _probe_model_controls(default_model)
    names = list(rhythm.PATTERNS)
    controls.update(
        a=W.Dropdown(options=names, value="isochronous", description="pattern A"),
        b=W.Dropdown(options=names, value="accent 1 of 4", description="pattern B"),
        rate=_slider("FloatSlider", 3.7, 1.0, 12.0, 0.1, "beats/s"),
        accent=_slider("FloatSlider", 0.3, 0.0, 1.0, 0.05, "unaccented level"),
        duration=_slider("FloatSlider", 6.0, 3.0, 12.0, 1.0, "duration (s)"),
    )

    def pattern(name, accent):
        beats, hits = rhythm.PATTERNS[name]
        return beats, [(on, accent if amp == 0.3 else amp) for on, amp in hits]

    def compute(name, net, layer, a, b, rate, accent, duration):
        model, _ = _probe_model(name, net)
        lay = None if layer == model.conv_layer_names[-1] else layer
        sr = model.config.sr
        ys, Ns = [], []
        for p in (a, b):
            y = rhythm.beat_pattern(pattern(p, accent), rate=rate, duration=duration, sr=sr)
            N, times = embed_windows(y, sr, model, window=2.0, hop=0.25, layer=lay)
            ys.append(y)
            Ns.append(N)
        ma, mb = Ns[0].mean(1), Ns[1].mean(1)
        cos = 1 - float(ma @ mb / (np.linalg.norm(ma) * np.linalg.norm(mb) + 1e-12))
        return Ns, times, cos, (np.concatenate([ys[0], np.zeros(sr // 2, np.float32), ys[1]]), sr), (a, b)

    def draw(result, fig):
        Ns, times, cos, _, (a, b) = result
        order = np.argsort(-np.abs(Ns[0].mean(1) - Ns[1].mean(1)))[:100]
        axes = fig.subplots(1, 2, sharey=True)
        vmax = max(float(Ns[0][order].max()), float(Ns[1][order].max()), 1e-12)
        for ax, N, p in zip(axes, Ns, (a, b)):
            ax.imshow(N[order], aspect="auto", origin="upper", cmap="magma", vmin=0, vmax=vmax,
                      extent=[times[0], times[-1], len(order), 0], interpolation="nearest")
            ax.set(title=p, xlabel="time (s)")
        axes[0].set_ylabel("100 dimensions that differ most (A vs B)")
        fig.suptitle(f"cosine distance of the mean embeddings: {cos:.4f}")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: r[3], title="Fixed rate, changed pattern or emphasis",
                       figsize=(11, 4.2), autoplay=False)


# ---------------------------------------------------------------------------------------------------------------
# Part III (transform): window/hop explorer and "the neuralogram of your own file". Owned by chapter 06.
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["neuralogram_explorer", "upload_widget", "neuralogram_of_upload"]


def neuralogram_explorer(y, sr: int, model, *, max_seconds: float = 60.0, title: str | None = None):
    """Window, hop, layer, exact/fast and sorting on controls; spectrogram above neuralogram (Fig. 1 layout).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio at ``sr`` Hz (only the first ``max_seconds`` are used, so a change redraws in a few seconds).
    model : NeuralogramNet
        E.g. ``neuralogram.load_model("vgg19-e500-standin")[0]``.

    Book: ``book/06_neuralogram.ipynb``.
    """
    import ipywidgets as W

    from ._validate import as_audio
    from .plotting import neuralogram_figure
    from .transform import neuralogram, sort_indices, spectrogram_overview

    x = as_audio(y).numpy()
    x = x[..., : int(max_seconds * sr)]
    S, st = spectrogram_overview(x, sr)
    controls = {
        "window": _slider("FloatSlider", 2.0, 0.25, 2.0, 0.25, "window (s)"),
        "hop": _slider("FloatSlider", 0.5, 0.1, 2.0, 0.05, "hop (s)"),
        "layer": W.Dropdown(options=model.conv_layer_names, value=model.conv_layer_names[-1], description="layer"),
        "mode": W.ToggleButtons(options=["exact", "fast"], value="exact", description="mode"),
        "sort": W.Checkbox(value=False, description="sort by peak time"),
    }

    def compute(window, hop, layer, mode, sort):
        N, times = neuralogram(x, sr, model, window=window, hop=hop, layer=layer, mode=mode)
        order, n_active = sort_indices(N, return_n_active=True) if sort else (None, None)
        return N, times, order, n_active, f"window {window:g} s, hop {hop:g} s, {layer}, {mode}: {N.shape[1]} frames"

    def draw(result, fig):
        N, times, order, n_active, label = result
        neuralogram_figure(N, times, S=S, spec_times=st, order=order, n_active=n_active, title=label, fig=fig)

    # The player gets what the network hears: mono at the model's rate (a 31 s CD-rate stereo player is a
    # multi-megabyte output, which also made jupyter-book's executor wait out its whole cell timeout).
    from .transform import to_model_rate

    heard = to_model_rate(x, sr, target_sr=model.config.sr).numpy()
    return live_figure(controls, compute, draw, audio=lambda r: (heard, model.config.sr), autoplay=False,
                       figsize=(10, 6.5), title=title or "Neuralogram: context window and hop")


def neuralogram_of_upload(name: str, content, model, *, mode: str = "auto", sort: bool = False, fig=None):
    """The neuralogram figure of an uploaded file's bytes (the work behind :func:`upload_widget`).

    ``mode="auto"`` uses the exact mode up to 2 minutes of audio and the fast mode beyond. Returns
    ``(fig, summary line)``; raises ``ValueError`` with a reader-facing message for a file it cannot read.

    Book: ``book/06_neuralogram.ipynb``.
    """
    import time

    from .plotting import neuralogram_figure
    from .transform import load_audio, neuralogram, sort_indices, spectrogram_overview

    y, sr = load_audio(bytes(content), name=name)
    duration = y.shape[-1] / sr
    if mode == "auto":
        mode = "exact" if duration <= 120 else "fast"
    t0 = time.perf_counter()
    N, times = neuralogram(y, sr, model, mode=mode, pad_end=True)
    dt = time.perf_counter() - t0
    S, st = spectrogram_overview(y, sr)
    order, n_active = sort_indices(N, return_n_active=True) if sort else (None, None)
    channels = 1 if y.ndim == 1 else y.shape[0]
    line = (f"{name}: {duration:.1f} s, {sr} Hz, {channels} channel(s){' (averaged)' if channels > 1 else ''} -> "
            f"neuralogram {N.shape[0]} x {N.shape[1]} ({mode} mode, {dt:.1f} s)")
    fig = neuralogram_figure(N, times, S=S, spec_times=st, order=order, n_active=n_active, title=name, fig=fig)
    return fig, line


def upload_widget(model, *, sort: bool = False):
    """Upload an audio file and see its spectrogram above its neuralogram; unreadable files get a clear message.

    Reads whatever soundfile reads (WAV, FLAC, OGG, MP3, AIFF, ...), any rate, mono or stereo (averaged).

    Book: ``book/06_neuralogram.ipynb``.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    up = W.FileUpload(accept="audio/*,.wav,.flac,.ogg,.mp3,.aiff", multiple=False, description="audio file")
    sorter = W.Checkbox(value=sort, description="sort by peak time")
    status, out = W.HTML("Choose an audio file (it stays on your machine)."), W.Output()
    box = W.VBox([W.HBox([up, sorter]), status, out])
    box.last_error = None

    def files():
        v = up.value
        if isinstance(v, dict):  # ipywidgets 7: {name: {"content": ...}}
            return [(k, f["content"]) for k, f in v.items()]
        return [(f["name"], f["content"]) for f in v]  # ipywidgets 8: tuple of dicts

    def update(change=None):
        got = files()
        if not got:
            return
        name, content = got[-1]
        status.value = f"computing the neuralogram of <b>{name}</b> ..."
        with out:
            out.clear_output(wait=True)
            try:
                fig, line = neuralogram_of_upload(name, content, model, sort=sorter.value)
            except ValueError as err:
                box.last_error = str(err)
                status.value = f"<span style='color:#b00'><b>Could not compute a neuralogram:</b> {err}</span>"
                return
            box.last_error = None
            status.value = line
            plt.show()

    up.observe(update, names="value")
    sorter.observe(update, names="value")
    box.update = update
    return box


# ---------------------------------------------------------------------------------------------------------------
# Timbre (Part IV, chapter 10): pick instruments, mix them, read the network's tags. Owned by the timbre probe.
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["timbre_widget"]


def _timbre_excerpt(instruments, seed: int, duration: float = 4.0):
    """A widget excerpt: the chosen instruments rendered from a generator of the timbre probe's seed space
    (index ``(99, class + 1, ...)``, never one of the probe set's)."""
    from .probes import timbre

    classes = list(timbre.instrument_classes())
    rng = timbre.excerpt_rng(seed, len(instruments), 99, *[classes.index(n) + 1 for n in instruments])
    return timbre.mix_excerpt(instruments, rng, duration=duration)


def timbre_widget(*, default_model: str = "vgg19-e2000-standin"):
    """Choose up to three instruments and a shipped model: hear the excerpt, see its tags (``book/10_timbre.ipynb``).

    Controls: model, three instruments (the second and third may be "none"), the seed of the random parts, and
    the threshold above which a tag counts as named (0.5 suits the shipped models' per-label sigmoids; use about 0.1
    for a softmax model). Left: the excerpt's spectrogram; right: the ten most
    probable tags (probabilities averaged over the 2 s windows, :func:`neuralogram.probes.timbre.tag`), green when
    in the ground truth, orange when named (above the threshold) but not in it, grey otherwise. A 4 s excerpt
    recomputes in about a second.

    Book: ``book/10_timbre.ipynb``.
    """
    import ipywidgets as W

    from .checkpoints import available_models
    from .plotting import specshow
    from .probes import timbre
    from .spectral import linear_spectrogram

    names = available_models()
    if not names:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    classes = list(timbre.instrument_classes())
    drop = lambda value, desc, none=True: W.Dropdown(  # noqa: E731
        options=(["none"] if none else []) + classes, value=value, description=desc)
    controls = {
        "name": W.Dropdown(options=names, value=default_model if default_model in names else names[0],
                           description="model"),
        "first": drop("violin", "instrument 1", none=False),
        "second": drop("piano", "instrument 2"),
        "third": drop("none", "instrument 3"),
        "seed": _slider("IntSlider", 0, 0, 99, 1, "seed"),
        "threshold": _slider("FloatSlider", 0.5, 0.05, 0.95, 0.05, "named if p >"),
    }

    def compute(name, first, second, third, seed, threshold):
        chosen = [first] + [n for n in (second, third) if n != "none"]
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"choose distinct instruments (got {chosen})")
        y, labels, gains = _timbre_excerpt(chosen, seed)
        model, info = _probe_model(name)
        r = timbre.tag(model, info, y, 8000, top_k=10)
        return dict(y=y, labels=labels, gains=gains, tags=r, chosen=chosen, name=name, threshold=threshold)

    def draw(res, fig):
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        specshow(linear_spectrogram(res["y"], 8000), sr=8000, hop_length=80, ax=ax1, colorbar=False,
                 title=" + ".join(f"{n} ({g:+.0f} dB)" for n, g in zip(res["chosen"], res["gains"])))
        top = res["tags"]["top"][::-1]
        truth, thr = set(res["labels"]), res["threshold"]
        colors = ["tab:green" if lab in truth else ("tab:orange" if p > thr else "0.7") for lab, p in top]
        ax2.barh(range(len(top)), [p for _, p in top], color=colors)
        ax2.set_yticks(range(len(top)), [lab for lab, _ in top], fontsize=8)
        ax2.axvline(thr, color="k", ls=":", lw=1)
        ax2.set(xlim=(0, 1), xlabel="mean probability over the 2 s windows", title=f"tags of {res['name']}")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (r["y"], 8000),
                       title="Timbre: which instruments does the network name?", figsize=(11, 3.8), autoplay=False)


# ---------------------------------------------------------------------------------------------------------------
# Semantics (book/11_semantics.ipynb): maps of spoken words. Appended by chapter 11.
# ---------------------------------------------------------------------------------------------------------------
__all__ += ["semantics_widget"]


def semantics_widget(wordset=None, *, default_model: str = "vgg19-e500-standin"):
    """Maps of spoken words: model, representation (trained, random-init, MFCC, log-mel), map (PCA, t-SNE, the
    linear probe's held-out word probabilities) and colour (word, speaker, speaker kind) on controls.

    Results come from :func:`neuralogram.probes.semantics.semantics_probe`, cached on disk: a combination the
    chapter has computed redraws at once, a new one takes a few seconds to a minute (embedding 300 words).

    Parameters
    ----------
    wordset : WordSet, optional
        Default: :func:`neuralogram.speech_commands.synthetic_words` (10 words x 30 espeak-ng voices).

    Book: ``book/11_semantics.ipynb``.
    """
    import ipywidgets as W

    from .checkpoints import available_models
    from .probes import semantics as sem

    names = available_models()
    if not names:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    if wordset is None:
        from .speech_commands import synthetic_words

        wordset = synthetic_words()
    controls = {
        "name": W.Dropdown(options=names, value=default_model if default_model in names else names[0],
                           description="model"),
        "representation": W.Dropdown(options=list(sem.REPRESENTATIONS), value="trained", description="features"),
        "projection": W.ToggleButtons(options=[("PCA", "pca"), ("t-SNE", "tsne"), ("linear probe", "probe")],
                                      value="tsne", description="map"),
        "colour_by": W.ToggleButtons(options=["word", "speaker", "kind"], value="word", description="colour"),
    }

    def compute(name, representation, projection, colour_by):
        model, info = _probe_model(name)
        r = sem.semantics_probe(model, info, wordset=wordset, representation=representation)
        return r, projection, colour_by

    def draw(result, fig):
        r, projection, colour_by = result
        sem.plot_map(fig.subplots(), r, projection, colour_by)
        if projection == "probe":
            line = f"linear probe: word accuracy {r['probe_word']:.2f} (speakers held out), silhouette " \
                   f"{r['probe_silhouette_word']:.2f}"
        else:
            held = "words" if colour_by == "speaker" else "speakers"
            line = f"silhouette by {colour_by} {r['silhouette_' + colour_by]:.2f} | k-NN {colour_by} accuracy " \
                   f"{r['knn_' + colour_by]:.2f} ({held} held out, chance {r['chance_' + colour_by]:.2f})"
        rep = r["representation"]
        who = r["model"] if rep in ("trained", "random-init") else sem.REPRESENTATIONS[rep]
        fig.suptitle(f"{who}\n{line}", fontsize=9)
        fig.tight_layout()

    return live_figure(controls, compute, draw, title="Spoken words: maps and separation", figsize=(7.5, 6))
