"""The tags a reader sees for their own audio (viz.transform_widgets.tag_verdict, neuralogram_of_upload,
upload_widget): the top tags of a clear sound, "nothing is confident" (calibration.out_of_set on calibrated
probabilities) for a sound the model has no label for."""
import datetime
import io

import numpy as np
import pytest
import soundfile as sf
import torch

from neuralogram.model import ModelConfig, NeuralogramNet
from neuralogram.viz.transform_widgets import neuralogram_of_upload, tag_verdict, upload_widget

NAMES = ["Alarm", "Bell", "Crowd"]
INFO = {"label_names": NAMES}


def _model(bias, *, loss="bce", temperature=1.0):
    """A tiny network whose head answers ``bias`` whatever it hears (fc3's weights zero): the tags of any sound
    are known in advance, so the test checks what the reader is told, not what a random network hears."""
    torch.manual_seed(0)
    m = NeuralogramNet(ModelConfig(n_classes=3, embedding_size=16, width=0.0625, fc_size=16, loss=loss)).eval()
    with torch.no_grad():
        m.fc3.weight.zero_()
        m.fc3.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    m.temperature = temperature
    return m


def _wav(seconds=2.5, sr=16000):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    sf.write(buf, 0.1 * rng.standard_normal(int(seconds * sr)), sr, format="WAV")
    return buf.getvalue()


def test_tag_verdict_names_tags_or_says_nothing_is_confident():
    v = tag_verdict(np.array([0.30, 0.45, 0.10]), NAMES)
    assert not v["confident"] and v["text"].startswith("Nothing is confident")
    assert "Bell 0.45, Alarm 0.30, Crowd 0.10" in v["text"] and "3 labels" in v["text"]
    v = tag_verdict(np.array([0.10, 0.92, 0.60]), NAMES, temperature=1.7, top_k=2)
    assert v["confident"] and v["top"] == [("Bell", 0.92), ("Crowd", 0.60)]
    assert v["text"] == "Tags (calibrated, T = 1.70): Bell 0.92, Crowd 0.60."
    assert tag_verdict(np.array([0.5, 0.1, 0.1]), NAMES)["confident"]                      # p = 0.5 reaches it
    assert not tag_verdict(np.array([0.7, 0.1, 0.1]), NAMES, threshold=0.8)["confident"]
    with pytest.raises(ValueError, match="one probability per label"):
        tag_verdict(np.array([0.5, 0.1]), NAMES)


def test_upload_a_sound_with_no_label_and_a_clear_one():
    plt = pytest.importorskip("matplotlib.pyplot")
    # a sound the model has no label for: every tag low -> the reader is told that nothing is confident
    fig, line, v = neuralogram_of_upload("mine.wav", _wav(), _model([-2.0, -1.0, -3.0]), info=INFO)
    plt.close(fig)
    assert "mine.wav: 2.5 s" in line and not v["confident"]
    np.testing.assert_allclose([p for _, p in v["top"]], 1 / (1 + np.exp([1.0, 2.0, 3.0])), rtol=1e-5)
    assert v["top"][0][0] == "Bell" and "Nothing is confident" in v["text"]
    # a clear sound: its tag
    fig, _, v = neuralogram_of_upload("mine.wav", _wav(), _model([-3.0, 3.0, -3.0]), info=INFO)
    plt.close(fig)
    assert v["confident"] and v["top"][0] == ("Bell", pytest.approx(1 / (1 + np.exp(-3.0)), rel=1e-5))
    assert v["text"].startswith("Tags (uncalibrated")


def test_the_card_temperature_is_what_the_verdict_reads():
    plt = pytest.importorskip("matplotlib.pyplot")
    # a softmax model: logits (2, 0, 0) give p = 0.79 raw; calibrated with T = 4 (the card's, which load_model sets
    # on the model) p = 0.45: nothing is confident
    fig, _, raw = neuralogram_of_upload("mine.wav", _wav(), _model([2.0, 0.0, 0.0], loss="mse"), info=INFO)
    fig2, _, cal = neuralogram_of_upload("mine.wav", _wav(), _model([2.0, 0.0, 0.0], loss="mse", temperature=4.0),
                                         info=INFO)
    plt.close(fig), plt.close(fig2)
    assert raw["confident"] and raw["top"][0][1] == pytest.approx(np.exp(2) / (np.exp(2) + 2), rel=1e-5)
    assert not cal["confident"] and cal["top"][0][1] == pytest.approx(np.exp(0.5) / (np.exp(0.5) + 2), rel=1e-5)
    assert "T = 4.00" in cal["text"]


def test_upload_widget_shows_the_verdict():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def upload(box, content):
        box.children[0].children[0].value = ({"name": "mine.wav", "type": "audio/wav", "size": len(content),
                                              "content": memoryview(content),
                                              "last_modified": datetime.datetime(2026, 1, 1)},)

    box = upload_widget(_model([-2.0, -1.0, -3.0]), info=INFO)
    upload(box, _wav())
    assert box.last_error is None and not box.last_verdict["confident"]
    assert "Nothing is confident" in box.children[1].value and "mine.wav: 2.5 s" in box.children[1].value
    box = upload_widget(_model([-3.0, 3.0, -3.0]), info=INFO)
    upload(box, _wav())
    assert box.last_verdict["confident"] and "Tags (uncalibrated" in box.children[1].value
    assert "Bell 0.95" in box.children[1].value
    # label names that do not fit the model: the neuralogram is drawn, and the status says why there are no tags
    box = upload_widget(_model([-3.0, 3.0, -3.0]), info={"label_names": ["only one"]})
    upload(box, _wav())
    assert box.last_error is None and box.last_verdict["confident"] is None and not box.last_verdict["top"]
    assert "No tags: the model has 3 outputs but 1 label names" in box.children[1].value
    plt.close("all")
