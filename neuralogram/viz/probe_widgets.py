"""Widgets of Part IV (the probes): pitch, embedding size, rhythm, beat patterns, timbre, semantics; and the band
widget of chapter 13 (what a network that heard 16 kHz makes of the book's 8 kHz).

Book: ``book/07_pitch.ipynb``, ``book/08_embedding_size.ipynb``, ``book/09_rhythm.ipynb``,
``book/10_timbre.ipynb``, ``book/11_semantics.ipynb``, ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import numpy as np

from .. import signals
from ..audio import PAPER_SR
from ..checkpoints import DEFAULT_MODEL
from .live import cached_model, live_figure, model_controls, slider
from .plotting import neuralogram_show, rate_axis

__all__ = ["pitch_widget", "size_widget", "rhythm_widget", "pattern_widget", "timbre_widget", "semantics_widget",
           "band_widget"]


_PER_DIM = "active / own range"


def _probe_controls(default_model: str, **sliders) -> dict:
    """The controls of a probe widget that draws a neuralogram: model, weights and layer
    (:func:`~neuralogram.viz.live.model_controls`), one slider per keyword (``name=(class, value, min, max, step,
    label)``, the arguments of :func:`~neuralogram.viz.live.slider`), then the neuralogram's ``window`` and ``hop``
    (seconds)."""
    controls = model_controls(default_model)
    sliders.update(window=("FloatSlider", 2.0, 0.5, 2.0, 0.25, "window (s)"),
                   hop=("FloatSlider", 0.5, 0.25, 2.0, 0.25, "hop (s)"))
    controls.update({name: slider(*args) for name, args in sliders.items()})
    return controls


def _probe_layer(model, layer):
    """A probe's ``layer=`` for the layer dropdown's choice: ``None`` for the network's last conv layer (the
    embedding), else the layer's name."""
    return None if layer == model.conv_layer_names[-1] else layer


def pitch_widget(*, default_model: str = DEFAULT_MODEL):
    """The chirp probe of ``book/07_pitch.ipynb`` with every parameter on a slider.

    Controls: model, trained / random-init weights, layer; chirp ``f_high``, ``f_low``, ``duration``; the metric
    thresholds ``active_threshold`` and ``on_level``; neuralogram ``window`` and ``hop``; the view: the active
    dimensions (peak above ``active_threshold`` of the largest), each scaled to its own range (``row_scale``: the
    tuning view, where the diagonal shows), or every dimension on one colour scale. Shows the neuralogram sorted on the downward sweep
    (earliest peak at the bottom, :func:`~neuralogram.viz.plotting.neuralogram_show`'s convention) and the numbers
    of :func:`neuralogram.probes.pitch.pitch_metrics`; plays the chirp. A 20 s chirp with a 0.5 s hop recomputes in
    about a second.

    Book: ``book/07_pitch.ipynb``.
    """
    from ..probes import pitch

    controls = _probe_controls(default_model, f_high=("FloatSlider", 4000.0, 500.0, 4000.0, 50.0, "f_high (Hz)"),
                               f_low=("FloatLogSlider", 1.0, 0, 2.7, 0.05, "f_low (Hz)"),
                               duration=("FloatSlider", 20.0, 6.0, 60.0, 2.0, "duration (s)"),
                               active_threshold=("FloatSlider", 0.1, 0.01, 0.5, 0.01, "active if peak >"),
                               on_level=("FloatSlider", 0.5, 0.1, 0.9, 0.05, "on if >"))
    import ipywidgets as W

    controls["view"] = W.ToggleButtons(options=[_PER_DIM, "one scale"], value=_PER_DIM, description="view")

    def compute(name, net, layer, f_high, f_low, duration, window, hop, active_threshold, on_level, view):
        model, info = cached_model(name, net)
        if f_low >= f_high:
            raise ValueError(f"f_low ({f_low:.0f} Hz) must be below f_high ({f_high:.0f} Hz)")
        if window > duration / 2:
            raise ValueError("the window must fit in one sweep (window <= duration / 2)")
        run = pitch.pitch_run(model, info, duration=duration, f_high=f_high, f_low=f_low, window=window, hop=hop,
                              layer=_probe_layer(model, layer), cache=False)
        met = pitch.pitch_metrics(run["N"], run["freqs"], run["down"], active_threshold=active_threshold,
                                  on_level=on_level)
        y = signals.down_up_chirp(duration=duration, f_high=f_high, f_low=f_low, sr=model.sr)
        return run, met, (y, model.sr), f"{name} ({net}), {layer}", view, active_threshold

    def draw(result, fig):
        run, met, _, label, view, active_threshold = result
        ax0, ax1 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 4]})
        ax0.plot(run["times"], run["freqs"], "k")
        ax0.set(ylabel="f (Hz)", title=label)
        N, order = run["N"], pitch.peak_order(run["N"], run["down"])
        kw = {}
        if view == _PER_DIM:     # pitch_metrics' active dimensions, each drawn on its own range
            pk = N.max(1)
            order = order[pk[order] > active_threshold * pk.max()]
            kw = dict(row_scale=True, ylabel="active dimension (sorted)")
        cease = (f"never ceases above {run['freqs'].min():.0f} Hz" if met["f_cease"] <= run["freqs"].min()
                 else f"ceases < {met['f_cease']:.0f} Hz")
        neuralogram_show(N, run["times"], ax=ax1, order=order, title=f"active {met['frac_active']:.2f} | "
                         f"salience {met['salience']:.2f} | Spearman down/up {met['spearman_down_up']:.2f} | width "
                         f"{met['tuning_width']:.2f} | on {met['on_fraction']:.2f} | ridge R² {met['ridge_r2']:.2f} | "
                         f"{cease}", **kw)
        # the frequency panel gets an invisible colour bar as wide as the neuralogram's, so that both panels
        # share one time axis (without it the top panel is wider and its 10 s is not the image's 10 s)
        from matplotlib.cm import ScalarMappable

        fig.colorbar(ScalarMappable(), ax=ax0, pad=0.01).ax.set_visible(False)
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: r[2], title="Pitch probe: the down-up chirp",
                       figsize=(10, 5.5), autoplay=False)


def size_widget():
    """Chirp responses of every shipped embedding size side by side (``book/08_embedding_size.ipynb``).

    Controls: trained / random-init weights, layer, chirp ``duration``, ``f_low``, ``hop``, which sweep to show,
    ``on_level``. Each panel is the chosen sweep with the active dimensions (whole-chirp peak above a tenth of the
    strongest, as the chapter's table counts them) scaled to their peak on it and sorted by the frequency at which
    they peak on the *other* sweep, so that a diagonal shows tuning rather than the sorting; titled with the count,
    the tuning width and the fraction of dimensions on at once.

    Book: ``book/08_embedding_size.ipynb``.
    """
    import ipywidgets as W

    from ..probes import pitch
    from ..probes.size import shipped_by_size

    sizes = shipped_by_size()
    if not sizes:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    first, _ = cached_model(sizes[0][1])
    controls = {
        "net": W.ToggleButtons(options=["trained", "random init"], value="trained", description="weights"),
        "layer": W.Dropdown(options=first.conv_layer_names, value=first.conv_layer_names[-1], description="layer"),
        "duration": slider("FloatSlider", 20.0, 6.0, 60.0, 2.0, "duration (s)"),
        "f_low": slider("FloatLogSlider", 1.0, 0, 2.7, 0.05, "f_low (Hz)"),
        "hop": slider("FloatSlider", 0.5, 0.25, 2.0, 0.25, "hop (s)"),
        "sweep": W.ToggleButtons(options=["up", "down"], value="up", description="sweep"),
        "on_level": slider("FloatSlider", 0.5, 0.1, 0.9, 0.05, "on if >"),
    }

    def compute(net, layer, duration, f_low, hop, sweep, on_level):
        out = []
        for E, name in sizes:
            model, info = cached_model(name, net)
            run = pitch.pitch_run(model, info, duration=duration, f_low=f_low, hop=hop, cache=False,
                                  layer=_probe_layer(model, layer))
            met = pitch.pitch_metrics(run["N"], run["freqs"], run["down"], on_level=on_level)
            out.append((E, run, met))
        return out, sweep, net

    def draw(result, fig):
        out, sweep, net = result
        axes = fig.subplots(1, len(out))
        axes = np.atleast_1d(axes)
        other = "up" if sweep == "down" else "down"
        for k, (ax, (E, run, met)) in enumerate(zip(axes, out)):
            Z, freqs = pitch.held_out_view(run, sweep)
            if Z is None:
                ax.set_title(f"E = {E}: no active dimension")
                continue
            neuralogram_show(Z, freqs, ax=ax, colorbar=k == len(out) - 1, vmax=1.0,
                             cbar_label=f"activation / its peak ({sweep} sweep)",
                             title=f"E = {E} ({net}): {len(Z)} active, width {met['tuning_width']:.2f}, "
                                   f"on {met['on_fraction']:.2f}",
                             xlabel=f"chirp frequency (Hz), {sweep} sweep", ylabel="")
        axes[0].set_ylabel(f"active dimension (sorted by its peak frequency, {other} sweep)")
        fig.tight_layout()

    return live_figure(controls, compute, draw, title="Embedding size: the chirp response of each shipped model",
                       figsize=(12, 4.5))


def rhythm_widget(*, default_model: str = DEFAULT_MODEL):
    """The impulse-train sweep of ``book/09_rhythm.ipynb`` with every parameter on a slider.

    Controls: model, trained / random-init weights, layer; ``period_start``, ``period_end`` (ms), ``duration``;
    neuralogram ``window`` and ``hop``. Shows the sorted neuralogram against time (rate on the top axis) with the
    least-squares change point of :func:`neuralogram.probes.rhythm.regime_change`, and the mean scaled response
    against the rate; plays the sweep. A 30 s sweep with a 0.5 s hop recomputes in about a second.

    Book: ``book/09_rhythm.ipynb``.
    """
    from ..probes import rhythm
    from ..probes.pitch import peak_order

    controls = _probe_controls(default_model,
                               period_start=("FloatLogSlider", 100.0, 1, 2.7, 0.05, "start period (ms)"),
                               period_end=("FloatLogSlider", 1.0, 0, 1.7, 0.05, "end period (ms)"),
                               duration=("FloatSlider", 30.0, 10.0, 120.0, 5.0, "duration (s)"))

    def compute(name, net, layer, period_start, period_end, duration, window, hop):
        model, info = cached_model(name, net)
        run = rhythm.rhythm_run(model, info, duration=duration, period_start=period_start / 1e3,
                                period_end=period_end / 1e3, window=window, hop=hop, cache=False,
                                layer=_probe_layer(model, layer))
        rc = rhythm.regime_change(run["N"], run["rates"])
        y = signals.impulse_train_sweep(duration=duration, period_start=period_start / 1e3,
                                        period_end=period_end / 1e3, sr=model.sr, amplitude=0.8)
        return run, rc, (y, model.sr), f"{name} ({net}), {layer}"

    def draw(result, fig):
        run, rc, _, label = result
        ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        neuralogram_show(run["N"], run["times"], ax=ax0, order=peak_order(run["N"]), colorbar=False, title=label)
        t_cp = np.interp(np.log(rc["rate"]), np.log(run["rates"]), run["times"]) if np.isfinite(rc["rate"]) else None
        if t_cp is not None:
            ax0.axvline(t_cp, color="c", ls="--")
        rate_axis(ax0, run["times"], run["rates"])
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


def pattern_widget(*, default_model: str = DEFAULT_MODEL):
    """Fixed rate, changed pattern or emphasis (``book/09_rhythm.ipynb``): two beat patterns side by side.

    Controls: model, trained / random-init weights, layer; pattern A and pattern B (from
    :data:`neuralogram.probes.rhythm.PATTERNS`), beat ``rate`` (Hz), ``accent`` (amplitude of the unaccented
    beats), ``duration``. Shows both neuralograms with the dimensions sorted by how much they differ between A and
    B, and the cosine distance of the mean embeddings; plays pattern A then B.

    Book: ``book/09_rhythm.ipynb``.
    """
    import ipywidgets as W

    from ..probes import rhythm
    from ..transform import neuralogram

    controls = model_controls(default_model)
    names = list(rhythm.PATTERNS)
    controls.update(
        a=W.Dropdown(options=names, value="isochronous", description="pattern A"),
        b=W.Dropdown(options=names, value="accent 1 of 4", description="pattern B"),
        rate=slider("FloatSlider", 3.7, 1.0, 12.0, 0.1, "beats/s"),
        accent=slider("FloatSlider", 0.3, 0.0, 1.0, 0.05, "unaccented level"),
        duration=slider("FloatSlider", 6.0, 3.0, 12.0, 1.0, "duration (s)"),
    )

    def pattern(name, accent):
        beats, hits = rhythm.PATTERNS[name]
        return beats, [(on, accent if amp == 0.3 else amp) for on, amp in hits]

    def compute(name, net, layer, a, b, rate, accent, duration):
        model, _ = cached_model(name, net)
        lay = _probe_layer(model, layer)
        sr = model.sr
        ys, Ns = [], []
        for p in (a, b):
            y = rhythm.beat_pattern(pattern(p, accent), rate=rate, duration=duration, sr=sr)
            N, times = neuralogram(y, model, sr=sr, window=2.0, hop=0.25, layer=lay)
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
            neuralogram_show(N, times, ax=ax, order=order, colorbar=False, vmax=vmax, title=p, ylabel="")
        axes[0].set_ylabel("100 dimensions that differ most (A vs B)")
        fig.suptitle(f"cosine distance of the mean embeddings: {cos:.4f}")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: r[3], title="Fixed rate, changed pattern or emphasis",
                       figsize=(11, 4.2), autoplay=False)


# ---------------------------------------------------------------------------------------------------------------
# Timbre (chapter 10): pick instruments, mix them, read the network's tags.
# ---------------------------------------------------------------------------------------------------------------


def _timbre_excerpt(instruments, seed: int, duration: float = 4.0):
    """A widget excerpt: the chosen instruments rendered from a generator of the timbre probe's seed space
    (index ``(99, class + 1, ...)``, never one of the probe set's)."""
    from ..probes import timbre

    classes = list(timbre.instrument_classes())
    rng = timbre.excerpt_rng(seed, len(instruments), 99, *[classes.index(n) + 1 for n in instruments])
    return timbre.mix_excerpt(instruments, rng, duration=duration)


def timbre_widget(*, default_model: str = "vgg19-e2000-standin"):
    """Choose up to three instruments and a shipped model: hear the excerpt, see its tags (``book/10_timbre.ipynb``).

    Controls: model, three instruments (the second and third may be "none"), the seed of the random parts, and
    the threshold above which a tag counts as named (0.5 suits the shipped models' per-label sigmoids; use about 0.1
    for a softmax model). Left: the excerpt's spectrogram; right: the ten most
    probable tags (probabilities averaged over the 2 s windows, :func:`neuralogram.tagging.tag`), green when
    in the ground truth, orange when named (above the threshold) but not in it, grey otherwise. A 4 s excerpt
    recomputes in about a second.

    Book: ``book/10_timbre.ipynb``.
    """
    import ipywidgets as W

    from ..checkpoints import available_models
    from ..probes import timbre
    from ..tagging import tag
    from ..spectral import linear_spectrogram
    from .plotting import specshow

    names = available_models()
    if not names:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    classes = list(timbre.instrument_classes())
    wide = {"description_width": "initial"}          # labels in full ("instrument 1", not "instrumen...")
    drop = lambda value, desc, none=True: W.Dropdown(  # noqa: E731
        options=(["none"] if none else []) + classes, value=value, description=desc, style=wide)
    controls = {
        "name": W.Dropdown(options=names, value=default_model if default_model in names else names[0],
                           description="model", style=wide),
        "first": drop("violin", "instrument 1", none=False),
        "second": drop("piano", "instrument 2"),
        "third": drop("none", "instrument 3"),
        "seed": slider("IntSlider", 0, 0, 99, 1, "seed"),
        "threshold": slider("FloatSlider", 0.5, 0.05, 0.95, 0.05, "named if p >"),
    }

    def compute(name, first, second, third, seed, threshold):
        chosen = [first] + [n for n in (second, third) if n != "none"]
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"choose distinct instruments (got {chosen})")
        y, labels, gains = _timbre_excerpt(chosen, seed)
        model, info = cached_model(name)
        r = tag(y, model, sr=PAPER_SR, info=info, top_k=10)
        return dict(y=y, labels=labels, gains=gains, tags=r, chosen=chosen, name=name, threshold=threshold)

    def draw(res, fig):
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        specshow(linear_spectrogram(res["y"], sr=PAPER_SR), sr=PAPER_SR, ax=ax1, colorbar=False,
                 title=" + ".join(f"{n} ({g:+.0f} dB)" for n, g in zip(res["chosen"], res["gains"])))
        top = res["tags"]["top"][::-1]
        truth, thr = set(res["labels"]), res["threshold"]
        colors = ["tab:green" if lab in truth else ("tab:orange" if p > thr else "0.7") for lab, p in top]
        ax2.barh(range(len(top)), [p for _, p in top], color=colors)
        ax2.set_yticks(range(len(top)), [lab for lab, _ in top], fontsize=8)
        ax2.axvline(thr, color="k", ls=":", lw=1)
        ax2.set(xlim=(0, 1), xlabel="mean probability over the 2 s windows", title=f"tags of {res['name']}")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (r["y"], PAPER_SR),
                       title="Timbre: which instruments does the network name?", figsize=(11, 3.8), autoplay=False)


# ---------------------------------------------------------------------------------------------------------------
# Semantics (chapter 11): maps of spoken words.
# ---------------------------------------------------------------------------------------------------------------


def semantics_widget(wordset=None, *, default_model: str = DEFAULT_MODEL):
    """Maps of spoken words: model, representation (trained, random-init, MFCC, log-mel), map (PCA, t-SNE, the
    linear probe's held-out word probabilities) and colour (word, speaker, speaker kind) on controls.

    Results come from :func:`neuralogram.probes.semantics.semantics_probe`, cached on disk: a combination the
    chapter has computed redraws at once, a new one takes a few seconds to a minute (embedding 300 words).

    Parameters
    ----------
    wordset : WordSet, optional
        Default: :func:`neuralogram.data.speech_commands.synthetic_words` (10 words x 30 espeak-ng voices).

    Book: ``book/11_semantics.ipynb``.
    """
    import ipywidgets as W

    from ..checkpoints import available_models
    from ..probes import semantics as sem

    names = available_models()
    if not names:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    if wordset is None:
        from ..data.speech_commands import synthetic_words

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
        model, info = cached_model(name)
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


# ---------------------------------------------------------------------------------------------------------------
# Bands (chapter 13): a real clip at full band or through 8 kHz, and what the network tags.
# ---------------------------------------------------------------------------------------------------------------


def band_widget(clips, *, name: str = "mn04-audioset", n_clips: int = 12):
    """One real clip per class (the first ``n_clips`` classes of ``clips``) heard at full band or through the
    book's 8 kHz: the network's input (its own front end) and its top five tags, the clip's label in green.

    Each (clip, band) is resampled once, the first time it is chosen; the network hears it as
    :func:`neuralogram.probes.transfer.clip_outputs` does (mn04: the whole clip as one window).

    Book: ``book/13_audioset_net.ipynb``.
    """
    import ipywidgets as W
    import torch

    from ..probes.transfer import BANDS, clip_audio, clip_window
    from ..tagging import tag

    model, info = cached_model(name)
    first = {}
    for c in clips:
        first.setdefault(c.label, c)
    chosen = list(first.values())[:n_clips]
    if not chosen:
        raise ValueError("no clips given")
    heard = {}
    controls = {
        "clip": W.Dropdown(options=[(f"{c.label} ({c.name})", k) for k, c in enumerate(chosen)], value=0,
                           description="clip"),
        "band": W.ToggleButtons(options=list(BANDS), value="full", description="band"),
    }

    def compute(clip, band):
        if (clip, band) not in heard:
            heard[clip, band] = clip_audio(chosen[clip], sr=model.sr, band=band)
        y = heard[clip, band]
        r = tag(y, model, sr=model.sr, info=info, top_k=5, window=clip_window(model, len(y)), hop=1.0)
        with torch.no_grad():
            spec = model.frontend(torch.from_numpy(y)[None])[0]           # (1, F, frames) or (F, frames)
        return dict(y=y, spec=spec.reshape(-1, spec.shape[-1]).numpy(), tags=r, clip=chosen[clip], band=band)

    def draw(res, fig):
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        S = res["spec"]
        ax1.imshow(S, origin="lower", aspect="auto", cmap="magma", extent=[0, len(res["y"]) / model.sr, 0, len(S)])
        ax1.set(xlabel="time (s)", ylabel="input row (mel band)",
                title=f"{res['clip'].label}: what {name} hears ({res['band']} band)")
        top = res["tags"]["top"][::-1]
        truth = {n for _, n in res["clip"].audioset}
        ax2.barh(range(len(top)), [p for _, p in top], color=["tab:green" if lab in truth else "0.6" for lab, _ in top])
        ax2.set_yticks(range(len(top)), [lab for lab, _ in top], fontsize=8)
        ax2.set(xlim=(0, 1), xlabel="probability", title="top tags")
        fig.tight_layout()

    return live_figure(controls, compute, draw, audio=lambda r: (r["y"], model.sr), autoplay=False,
                       title="Full band or 8 kHz: what the network hears and names", figsize=(11, 3.6))
