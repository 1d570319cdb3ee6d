"""Widgets of Part III (the transform): window / hop / layer explorer, and the neuralogram and tags of an uploaded
file (saying so when no tag is confident).

Book: ``book/06_neuralogram.ipynb`` and ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

from .live import live_figure, slider

__all__ = ["neuralogram_explorer", "upload_widget", "neuralogram_of_upload", "tag_verdict"]


def neuralogram_explorer(y, model, *, sr: int, max_seconds: float = 60.0, title: str | None = None):
    """Window, hop, layer, exact/fast and sorting on controls; spectrogram above neuralogram (Fig. 1 layout).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio at ``sr`` Hz (only the first ``max_seconds`` are used, so a change redraws in a few seconds). It is
        resampled to the model's rate (8 kHz for the VGG), mono, once, when the widget is made; a slider move only recomputes the
        neuralogram.
    model : EmbeddingNet
        E.g. ``neuralogram.load_model(neuralogram.DEFAULT_MODEL)[0]``.
    sr : int
        Sample rate of ``y`` in Hz.

    Book: ``book/06_neuralogram.ipynb``.
    """
    import ipywidgets as W
    import numpy as np

    from ..audio import PAPER_SR, to_model_rate
    from ..transform import neuralogram_8k, sort_indices, spectrogram_overview
    from .plotting import neuralogram_figure

    excerpt = np.asarray(y)[..., : int(max_seconds * sr)]
    x8 = to_model_rate(excerpt, sr=sr, target_sr=model.sr)
    # the picture above is the paper's 8 kHz spectrogram, whatever rate the network hears
    S, st = spectrogram_overview(x8 if model.sr == PAPER_SR else to_model_rate(excerpt, sr=sr, target_sr=PAPER_SR))
    controls = {
        "window": slider("FloatSlider", 2.0, 0.25, 2.0, 0.25, "window (s)"),
        "hop": slider("FloatSlider", 0.5, 0.1, 2.0, 0.05, "hop (s)"),
        "layer": W.Dropdown(options=model.conv_layer_names, value=model.conv_layer_names[-1], description="layer"),
        "mode": W.ToggleButtons(options=["exact", "fast"], value="exact", description="mode"),
        "sort": W.Checkbox(value=False, description="sort by peak time"),
    }

    def compute(window, hop, layer, mode, sort):
        N, times = neuralogram_8k(x8, model, window=window, hop=hop, layer=layer, mode=mode)
        order, n_active = sort_indices(N, return_n_active=True) if sort else (None, None)
        return N, times, order, n_active, f"window {window:g} s, hop {hop:g} s, {layer}, {mode}: {N.shape[1]} frames"

    def draw(result, fig):
        N, times, order, n_active, label = result
        neuralogram_figure(N, times, S=S, spec_times=st, order=order, n_active=n_active, title=label, fig=fig)

    # The player gets what the network hears: mono at the model's rate (a 31 s CD-rate stereo player is a
    # multi-megabyte output, which also made jupyter-book's executor wait out its whole cell timeout).
    heard = x8.numpy()
    return live_figure(controls, compute, draw, audio=lambda r: (heard, model.sr), autoplay=False,
                       figsize=(10, 6.5), title=title or "Neuralogram: context window and hop")


def tag_verdict(probs, names, *, temperature: float = 1.0, top_k: int = 3, threshold: float | None = None) -> dict:
    """What a reader is told about a sound's tags: its most probable tags, or that nothing is confident.

    The rule is ``neuralogram.calibration.out_of_set``: when no (calibrated) tag probability reaches ``threshold``,
    the sound may have no name among the model's labels, and the widget says so instead of naming the likeliest
    label as if it were an answer.

    Parameters
    ----------
    probs : np.ndarray [shape=(n_labels,)]
        The sound's tags: window probabilities averaged (calibrated: ``load_model`` sets the card's temperature on
        the model, whose output activation divides the logits by it).
    names : sequence of str
        The model's label names.
    temperature : float
        The temperature the probabilities were calibrated with (1: none), only reported.
    top_k : int
        How many tags to name.
    threshold : float, optional
        Default ``neuralogram.calibration.OUT_OF_SET_THRESHOLD`` (0.5).

    Returns
    -------
    dict
        ``confident`` (bool), ``top`` [(name, p), ...] (``top_k``), ``text`` (one line of plain text).

    Book: ``book/14_real_world.ipynb``.
    """
    import numpy as np

    from ..calibration import OUT_OF_SET_THRESHOLD, out_of_set

    threshold = OUT_OF_SET_THRESHOLD if threshold is None else threshold
    p = np.asarray(probs, np.float64)
    if p.ndim != 1 or len(p) != len(names):
        raise ValueError(f"probs must be one probability per label ({len(names)}), got shape {p.shape}")
    order = np.argsort(-p, kind="stable")[:top_k]
    top = [(str(names[k]), float(p[k])) for k in order]
    listed = ", ".join(f"{n} {v:.2f}" for n, v in top)
    how = f"calibrated, T = {temperature:.2f}" if temperature != 1.0 else "uncalibrated: the card has no temperature"
    if out_of_set(p, threshold=threshold):
        text = (f"Nothing is confident: no tag reaches p = {threshold:.2f} ({how}); the sound may have no name "
                f"among the model's {len(p)} labels. Most probable: {listed}.")
        return dict(confident=False, top=top, text=text)
    return dict(confident=True, top=top, text=f"Tags ({how}): {listed}.")


def neuralogram_of_upload(name: str, content, model, *, info=None, mode: str = "auto", sort: bool = False,
                          fig=None):
    """The neuralogram figure and the tags of an uploaded file's bytes (the work behind :func:`upload_widget`).

    ``mode="auto"`` uses the exact mode up to 2 minutes of audio and the fast mode beyond. The tags are the
    model's output probabilities of the neuralogram's columns (``neuralogram.tagging.probabilities``, calibrated
    with the card's temperature), averaged, and read by :func:`tag_verdict`. ``info`` is ``load_model``'s
    (its label names; default the stand-in label space; when they do not fit the model, the verdict says so and has
    no tags). Returns ``(fig, summary line, verdict)``; raises ``ValueError`` with a reader-facing message for a
    file it cannot read.

    Book: ``book/06_neuralogram.ipynb`` and ``book/14_real_world.ipynb``.
    """
    import time

    from ..audio import load_audio, to_model_rate
    from ..tagging import label_names_of, probabilities
    from ..transform import neuralogram_8k, sort_indices, spectrogram_overview
    from .plotting import neuralogram_figure

    try:
        names, why = label_names_of(model, info), None
    except ValueError as err:   # the neuralogram is still drawn; the tags cannot be named
        names, why = None, str(err)
    y, sr = load_audio(bytes(content), name=name)
    duration = y.shape[-1] / sr
    if mode == "auto":
        mode = "exact" if duration <= 120 else "fast"
    t0 = time.perf_counter()
    x8 = to_model_rate(y, sr=sr, target_sr=model.sr)  # resolved once: the transform and the spectrogram
    N, times = neuralogram_8k(x8, model, mode=mode, pad_end=True)
    dt = time.perf_counter() - t0
    S, st = spectrogram_overview(x8)
    order, n_active = sort_indices(N, return_n_active=True) if sort else (None, None)
    channels = 1 if y.ndim == 1 else y.shape[0]
    line = (f"{name}: {duration:.1f} s, {sr} Hz, {channels} channel(s){' (averaged)' if channels > 1 else ''} -> "
            f"neuralogram {N.shape[0]} x {N.shape[1]} ({mode} mode, {dt:.1f} s)")
    verdict = (tag_verdict(probabilities(model, N).mean(0), names, temperature=float(model.temperature))
               if names is not None else dict(confident=None, top=[], text=f"No tags: {why}."))
    fig = neuralogram_figure(N, times, S=S, spec_times=st, order=order, n_active=n_active, title=name, fig=fig)
    return fig, line, verdict


def upload_widget(model, *, info=None, sort: bool = False):
    """Upload an audio file and see its spectrogram above its neuralogram, and its tags, or "nothing is confident"
    when no calibrated tag reaches 0.5 (:func:`tag_verdict`); unreadable files get a clear message.

    Reads whatever soundfile reads (WAV, FLAC, OGG, MP3, AIFF, ...), any rate, mono or stereo (averaged).
    ``info``: ``load_model``'s (the label names; default the stand-in label space).

    Book: ``book/06_neuralogram.ipynb`` and ``book/14_real_world.ipynb``.
    """
    import html

    import ipywidgets as W
    import matplotlib.pyplot as plt

    up = W.FileUpload(accept="audio/*,.wav,.flac,.ogg,.mp3,.aiff", multiple=False, description="audio file")
    sorter = W.Checkbox(value=sort, description="sort by peak time")
    status, out = W.HTML("Choose an audio file (it stays on your machine)."), W.Output()
    box = W.VBox([W.HBox([up, sorter]), status, out])
    box.last_error = box.last_verdict = None

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
                fig, line, verdict = neuralogram_of_upload(name, content, model, info=info, sort=sorter.value)
            except ValueError as err:
                box.last_error = str(err)
                status.value = f"<span style='color:#b00'><b>Could not compute a neuralogram:</b> {err}</span>"
                return
            box.last_error = None
            box.last_verdict = verdict
            colour = "" if verdict["confident"] is not False else " style='color:#a60'"
            status.value = f"{html.escape(line)}<br><b{colour}>{html.escape(verdict['text'])}</b>"
            plt.show()

    up.observe(update, names="value")
    sorter.observe(update, names="value")
    box.update = update
    return box
