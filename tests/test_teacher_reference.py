"""Golden test of the AudioSet network mn04: our front end and network against what the upstream implementation
(EfficientAT) computed on 7 real clips (``../shared/models/efficientat-mn04/reference_outputs.json``).

The clips are read with soundfile, averaged to mono and resampled to 32 kHz with ``torchaudio.functional.resample``
defaults, as the reference was made; the weights are the ones shipped in ``data/models/``. Skipped, with the
reason, where the reference or the clips are not on this machine.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from neuralogram.data import real
from neuralogram.mobilenet import MN04_SHA256, load_audioset_net

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "data" / "models"
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "models" / "efficientat-mn04" / "reference_outputs.json"


def _reference():
    if os.environ.get("NEURALOGRAM_NO_SHARED", "") not in ("", "0"):
        pytest.skip("NEURALOGRAM_NO_SHARED is set: ../shared (the reference outputs) is switched off")
    if not REFERENCE.is_file():
        pytest.skip(f"the upstream reference outputs are not on this machine ({REFERENCE})")
    return json.loads(REFERENCE.read_text())


REF = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {"clips": {}}
CLIPS = sorted(REF["clips"]) or ["(no reference)"]


def _find_clip(rel: str) -> Path:
    """The clip ``rel`` (e.g. ``esc50-subset/audio/4-182395-A-0.flac``) in the real-data roots, in the order
    :func:`neuralogram.data.real.data_roots` searches them; skip when no root holds it."""
    roots = real.data_roots()
    for _, root in roots:
        if (root / rel).is_file():
            return root / rel
    pytest.skip(f"{rel} is not on this machine (looked in " + "; ".join(f"{o}: {r}" for o, r in roots) + ")")


@pytest.fixture(scope="module")
def net():
    return load_audioset_net(MODELS / "mn04-audioset.pt", sha256=MN04_SHA256,
                             label_csv=MODELS / "mn04-audioset.labels.csv")


def test_reference_is_of_the_shipped_weights():
    ref = _reference()
    assert ref["sha256"] == MN04_SHA256
    assert len(ref["clips"]) == 7


@pytest.mark.parametrize("rel", CLIPS)
def test_matches_upstream(rel, net):
    ref = _reference()
    want = ref["clips"][rel]
    model, info = net
    pcm, sr = sf.read(str(_find_clip(rel)), dtype="float32", always_2d=True)
    assert sr == want["sr"] and pcm.shape[0] == want["n_samples"]
    y = torchaudio.functional.resample(torch.from_numpy(pcm.mean(axis=1)), sr, 32000)
    assert y.numel() == want["samples_at_32k"]
    with torch.inference_mode():
        spec = model.frontend(y)
        emb = model.embed(spec)
        logits = model.head(emb)[0]
    assert list(spec.shape[2:]) == want["mel_shape"]
    np.testing.assert_allclose(spec[0, 0, :, :3].T.numpy(), np.array(want["mel_first_frames"]), atol=1e-4)
    assert abs(spec.mean().item() - want["mel_mean"]) < 1e-5
    assert emb.shape == (1, want["embedding_dim"])
    np.testing.assert_allclose(emb[0, :8].numpy(), want["embedding_first8"], atol=1e-5)
    assert abs(emb.mean().item() - want["embedding_mean"]) < 1e-6
    diff = np.abs(logits.numpy() - np.array(want["logits"])).max()
    assert diff < 1e-3, f"{rel}: max |logit - upstream| = {diff:.2e}"
    top = torch.sigmoid(logits).topk(5)
    assert [info["label_names"][i] for i in top.indices] == [name for name, _ in want["top5"]]
    np.testing.assert_allclose(top.values.numpy(), [p for _, p in want["top5"]], atol=1e-3)
