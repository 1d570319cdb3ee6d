"""The pitch widget's frequency panel shares the neuralogram's time axis (chapter 7's cold review, finding 11)."""
import numpy as np
import pytest
import torch

from neuralogram.model import ModelConfig, NeuralogramNet

TINY = dict(n_classes=3, embedding_size=16, width=0.03125)


def test_pitch_widget_panels_aligned(tmp_path, tiny_corpus, monkeypatch):
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralogram.checkpoints import save_checkpoint
    from neuralogram.viz import live, probe_widgets as widgets

    cfg = ModelConfig(**TINY)
    torch.manual_seed(0)
    net = NeuralogramNet(cfg)
    save_checkpoint(tmp_path / "vgg19-e16-tiny.pt", dict(config=cfg.to_dict(), state_dict=net.state_dict(),
                                                         label_names=["a", "b", "c"], label_mids=["x", "y", "z"],
                                                         metrics={"mAP": 0.9, "chance_mAP": 0.33}))
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    monkeypatch.setenv("NEURALOGRAM_PROBE_CORPUS", str(tiny_corpus))
    monkeypatch.setattr(live, "_MODELS", {})

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
