"""What every widget shares: sliders -> recompute -> replot (+ re-play the audio), and the one model cache.

Book: ``book/01_signals.ipynb`` (:func:`live_figure`) and every chapter with a widget.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np

from ..checkpoints import DEFAULT_MODEL

__all__ = ["live_figure", "slider", "cached_model", "model_controls", "follow_model_layers"]


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
    from IPython.display import Audio, Image

    if not controls:
        raise ValueError("controls must name at least one widget")
    fig_out, audio_out = W.Output(), W.Output()
    header = [W.HTML(f"<b>{title}</b>")] if title else []
    box = W.VBox([*header, W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")),
                  fig_out, audio_out])
    box.last_result = None

    def update(change=None):
        # Outputs are set from the kernel (Output.outputs), never captured with `with out:`. A capture makes an
        # executor that mimics the front end (nbclient, hence jupyter-book) send every captured output back to the
        # kernel on the shell channel, and that send can swallow the wake-up for the cell's execute_reply: the
        # build then sat idle until its cell timeout (tests/test_book_execution.py).
        values = {k: w.value for k, w in controls.items()}
        try:
            result = compute(**values)
        except ValueError as err:  # a parameter combination that makes no sense: say why
            fig_out.outputs = ({"output_type": "stream", "name": "stdout", "text": f"cannot draw: {err}\n"},)
            return
        box.last_result = result
        fig = plt.figure(figsize=figsize)
        try:
            draw(result, fig)
            png = io.BytesIO()
            fig.savefig(png, format="png", bbox_inches="tight")
        finally:
            plt.close(fig)
        fig_out.outputs = (_display_output(Image(png.getvalue())),)
        if audio is not None:
            y, sr = audio(result)
            audio_out.outputs = (_display_output(Audio(np.asarray(y, dtype=np.float32), rate=int(sr),
                                                       autoplay=autoplay and change is not None)),)

    for w in controls.values():
        w.observe(update, names="value")
    box.update = update
    update()
    return box


def _display_output(obj) -> dict:
    """``obj`` as an Output widget's display_data entry (its MIME bundle: image/png, text/html, ...)."""
    from IPython.core.formatters import DisplayFormatter

    data, metadata = DisplayFormatter().format(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def slider(cls, value, lo, hi, step, desc, **kw):
    """An ipywidgets ``cls`` slider (``"FloatSlider"``, ``"IntSlider"``, ``"FloatLogSlider"``) that recomputes on
    release, not while dragging, with the widgets' label style.

    Book: ``book/01_signals.ipynb``.
    """
    import ipywidgets as W

    return getattr(W, cls)(value=value, min=lo, max=hi, step=step, description=desc, continuous_update=False,
                           style={"description_width": "initial"}, **kw)


_MODELS: dict = {}


def cached_model(name: str, net: str = "trained"):
    """A shipped model (loaded once per session) or its fair random twin (built once), with its info.

    The one model cache of the widgets: moving a slider never reloads a checkpoint.

    Parameters
    ----------
    name : str
        A shipped model (:func:`neuralogram.available_models`).
    net : {"trained", "random init"}

    Returns
    -------
    (EmbeddingNet, dict or None)

    Book: ``book/07_pitch.ipynb``.
    """
    key = (name, net)
    if key not in _MODELS:
        from ..checkpoints import load_model
        from ..probes.baseline import random_init_model

        if (name, "trained") not in _MODELS:
            _MODELS[name, "trained"] = load_model(name)
        if net != "trained":
            model = _MODELS[name, "trained"][0]
            _MODELS[key] = (random_init_model(model, seed=0), None)
    return _MODELS[key]


def model_controls(default: str = DEFAULT_MODEL) -> dict:
    """Model, trained / random-init weights and layer dropdowns, for the probe widgets.

    Book: ``book/07_pitch.ipynb``.
    """
    import ipywidgets as W

    from ..checkpoints import available_models

    names = available_models()
    if not names:
        raise ValueError("no shipped models in data/models (see book/05_model.ipynb)")
    model, _ = cached_model(default if default in names else names[0])
    controls = {
        "name": W.Dropdown(options=names, value=default if default in names else names[0], description="model"),
        "net": W.ToggleButtons(options=["trained", "random init"], value="trained", description="weights"),
        "layer": W.Dropdown(options=model.conv_layer_names, value=model.conv_layer_names[-1], description="layer"),
    }
    follow_model_layers(controls["name"], controls["layer"])
    return controls


def follow_model_layers(name, layer) -> None:
    """Keep a layer dropdown's options those of the model chosen in ``name`` (networks name their layers
    differently: ``conv5_4`` for the VGG, ``features.16`` for mn04); the layer resets to the new embedding layer.

    Registered before :func:`live_figure`'s observers, so a redraw sees the new model with one of its layers.

    Book: ``book/07_pitch.ipynb``.
    """
    def sync(change):
        m, _ = cached_model(change["new"])
        if list(layer.options) != list(m.conv_layer_names):
            layer.options = m.conv_layer_names
            layer.value = m.conv_layer_names[-1]

    name.observe(sync, names="value")


