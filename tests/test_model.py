import pytest
import torch

from neuralogram.model import ModelConfig, NeuralogramNet, count_flops, loss_fn


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return NeuralogramNet(ModelConfig(n_classes=7, embedding_size=48, width=0.0625)).eval()


def test_vgg19_has_16_conv_and_3_fc(net):
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    fcs = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert (len(convs), len(fcs)) == (16, 3)
    assert convs[-1].out_channels == 48  # E = channels of the last conv layer


def test_shapes_through_the_network(net):
    table = dict((name, shape) for name, shape, _ in net.layer_table())
    assert table["pool1"][1:] == (65, 100)   # ceil-mode pooling keeps the odd 129th (Nyquist) row
    assert table["pool4"][1:] == (9, 13)
    assert table["conv5_4"] == (48, 9, 13)
    assert table["fc3 (logits)"] == (7,)
    x = torch.randn(3, 1, 129, 200)
    assert net.embed(x).shape == (3, 48)
    assert net(x).shape == (3, 7)
    p = net.predict_proba(x)
    torch.testing.assert_close(p.sum(-1), torch.ones(3))   # softmax output for the paper's MSE loss


def test_activations_match_forward(net):
    x = torch.randn(2, 1, 129, 200)
    acts = net.activations(x, ["conv1_1", "conv5_4", "embedding", "logits"])
    assert acts["conv1_1"].shape == (2, 4, 129, 200)
    torch.testing.assert_close(acts["embedding"], net.embed(x))
    torch.testing.assert_close(acts["logits"], net(x))
    torch.testing.assert_close(net.embed(x, "conv3_2"), net.features(x, "conv3_2").mean((2, 3)))


def test_trunk_is_fully_convolutional(net):
    fmap = net.features(torch.randn(1, 1, 129, 800))
    assert fmap.shape == (1, 48, 9, 50)


def test_xavier_init_bounds():
    m = NeuralogramNet(ModelConfig(n_classes=5, embedding_size=32, width=0.0625))
    w = m.fc2.weight
    bound = (6 / (w.shape[0] + w.shape[1])) ** 0.5
    assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    assert float(m.fc2.bias.detach().abs().max()) == 0.0


def test_flops_of_full_width_vgg_on_129x200():
    # Full-width VGG-19 conv trunk on 129x200 is about 20.9 GFLOP (2 x multiply-adds); width 1/4 is 1/16 of it.
    full = count_flops(ModelConfig(n_classes=527, embedding_size=512, width=1.0))
    quarter = count_flops(ModelConfig(n_classes=527, embedding_size=128, width=0.25))
    assert 20.5e9 < full < 21.5e9
    assert 0.05 < quarter / full < 0.08


def test_losses():
    logits = torch.tensor([[10.0, 10.0, -10.0]])
    target = torch.tensor([[1.0, 1.0, 0.0]])
    # softmax can put at most 1 in total: two labels at 0.5 each leave a squared distance of 0.5
    assert float(loss_fn(logits, target, "mse")) == pytest.approx(0.5, abs=1e-4)
    assert float(loss_fn(logits, target, "bce")) < 1e-3
    with pytest.raises(ValueError, match="wrong width"):
        loss_fn(logits, torch.zeros(1, 4))


@pytest.mark.parametrize("bad, match", [
    (torch.randn(2, 1, 128, 200), "129 frequency bins"),
    (torch.randn(2, 2, 129, 200), "shape"),
    (torch.full((1, 1, 129, 200), float("nan")), "NaN"),
])
def test_bad_input(net, bad, match):
    with pytest.raises(ValueError, match=match):
        net.embed(bad)
    with pytest.raises(ValueError, match="unknown layer"):
        net.activations(torch.randn(1, 1, 129, 200), ["conv9_9"])


def test_bad_config():
    with pytest.raises(ValueError, match="embedding_size"):
        ModelConfig(n_classes=3, embedding_size=0)
    with pytest.raises(ValueError, match="loss"):
        ModelConfig(n_classes=3, loss="hinge")


def test_available_models_by_family(tmp_path, monkeypatch):
    from neuralogram.checkpoints import DEFAULT_FAMILY, DEFAULT_MODEL, available_models

    assert DEFAULT_MODEL.endswith("-" + DEFAULT_FAMILY)
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    for name in ("vgg19-e64-standin", "vgg19-e500-real", "vgg19-e500-standin", "notes"):
        (tmp_path / f"{name}.pt").write_bytes(b"")
    assert available_models() == ["notes", "vgg19-e500-real", "vgg19-e500-standin", "vgg19-e64-standin"]
    assert available_models(family="standin") == ["vgg19-e500-standin", "vgg19-e64-standin"]
    assert available_models(family="real") == ["vgg19-e500-real"]
    assert available_models(family="nothing") == []
    for bad in ("", "e500-real", 3):
        with pytest.raises(ValueError, match="family"):
            available_models(family=bad)


def test_eval_map_reads_either_kind_of_checkpoint():
    from neuralogram.checkpoints import eval_map

    labels = eval_map({"metrics": {"mAP": 0.5, "chance_mAP": 0.06, "val_mAP": 0.9}})
    assert labels == {"mAP": 0.5, "chance_mAP": 0.06, "against": "labels"}
    student = eval_map({"metrics": {"val_mAP": 0.27, "val_chance_mAP": 0.006, "val_top1": 0.68}})
    assert student == {"mAP": 0.27, "chance_mAP": 0.006, "against": "teacher"}
    for info in ({"name": "mn04-audioset", "metrics": {"audioset_eval_mAP_reported": 0.4}}, {}, None):
        with pytest.raises(KeyError, match="records no eval mAP"):
            eval_map(info)


def test_shipped_default_model_is_a_distilled_vgg():
    from neuralogram.checkpoints import DEFAULT_MODEL, available_models, eval_map, load_model

    if DEFAULT_MODEL not in available_models():
        pytest.skip(f"{DEFAULT_MODEL} is not shipped in this checkout")
    model, info = load_model(DEFAULT_MODEL)
    assert model.embedding_size == 500 and len(info["label_names"]) == 527
    m = eval_map(info)
    assert m["against"] == "teacher" and m["mAP"] > 20 * m["chance_mAP"]


def test_model_card_reads_the_json_beside_a_checkpoint(tmp_path, monkeypatch):
    from neuralogram.checkpoints import model_card

    assert model_card("mn04-audioset")["arch"] == "mobilenetv3-audioset"     # a shipped name
    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path))
    (tmp_path / "bare.pt").write_bytes(b"")
    assert model_card("bare") == {}                                          # no card: empty
    (tmp_path / "bad.pt").write_bytes(b"")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        model_card(tmp_path / "bad.pt")


def test_checkpoint_path_is_the_one_resolver(tmp_path, monkeypatch, tiny_corpus):
    """A shipped name (with or without .pt) and a file path resolve alike for load_model and train(init_from=)."""
    from neuralogram.checkpoints import checkpoint_path
    from neuralogram.train import train

    monkeypatch.setenv("NEURALOGRAM_MODELS", str(tmp_path / "models"))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny.pt").write_bytes(b"")
    elsewhere = tmp_path / "run" / "last.pt"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"")
    assert checkpoint_path("tiny") == checkpoint_path("tiny.pt") == tmp_path / "models" / "tiny.pt"
    assert checkpoint_path(elsewhere) == elsewhere
    for bad in ("nope", "tiny.pth", "models/tiny"):
        with pytest.raises(ValueError, match=r"unknown model .*available: \['tiny'\]"):
            checkpoint_path(bad)
    with pytest.raises(ValueError, match="a model name or checkpoint path is needed"):
        checkpoint_path(3)
    with pytest.raises(ValueError, match=r"unknown model 'nope'"):       # the same resolver behind init_from
        train(tiny_corpus, tmp_path / "out", epochs=1, init_from="nope")
