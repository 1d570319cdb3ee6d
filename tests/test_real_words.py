"""FSDD's spoken digits as a word set for the semantics probe (neuralogram.data.real.fsdd_words)."""
from pathlib import Path

import numpy as np
import pytest

from neuralogram.data import real

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "real"
needs_fsdd = pytest.mark.skipif(not (SHARED / "fsdd").is_dir(), reason="../shared/real/fsdd is not on this machine")


@needs_fsdd
def test_balanced_word_set_from_the_real_recordings():
    ws = real.fsdd_words(takes=[0, 7], root=SHARED)
    assert ws.source == "fsdd" and ws.sr == 8000 and ws.audio.shape == (10 * 6 * 2, 8000)
    assert ws.words == list(real.FSDD_WORDS) and sorted(ws.speakers) == sorted(real.FSDD_SPEAKERS)
    words, counts = np.unique(ws.word, return_counts=True)
    assert (counts == 12).all()                                  # balanced: chance levels are exact
    # each row is the recording itself, centred in one second
    clip = next(c for c in real.fsdd(root=SHARED) if c.name == "7_theo_0")
    y = clip.load()
    row = ws.audio[np.flatnonzero((ws.word == "seven") & (ws.speaker == "theo"))[0]]
    a = (8000 - y.size) // 2
    np.testing.assert_array_equal(row[a:a + y.size], y)
    assert not row[:a].any() and not row[a + y.size:].any()


@needs_fsdd
def test_split_keeps_held_out_speakers_apart():
    test = real.fsdd_words(takes=[1], split="test", root=SHARED)
    assert sorted(test.speakers) == sorted(real.FSDD_TEST_SPEAKERS)
    train = real.fsdd_words(takes=[1], split="train", root=SHARED)
    assert not set(train.speakers) & set(real.FSDD_TEST_SPEAKERS)


@needs_fsdd
@pytest.mark.parametrize("kw, msg", [(dict(takes=[50]), "takes"), (dict(takes=[]), "takes"),
                                     (dict(speakers=["nobody"]), "unknown FSDD speaker"),
                                     (dict(seconds=0), "seconds")])
def test_bad_arguments_name_the_problem(kw, msg):
    with pytest.raises(ValueError, match=msg):
        real.fsdd_words(root=SHARED, **kw)


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALOGRAM_NO_SHARED", "1")
    monkeypatch.setenv("NEURALOGRAM_DATA", str(tmp_path))
    monkeypatch.setenv("NEURALOGRAM_CACHE", str(tmp_path / "cache"))
    with pytest.raises(real.RealDataMissing, match="download=True"):
        real.fsdd_words()
