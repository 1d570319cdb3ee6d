"""The committed manifest of the real recordings (neuralogram/data/real_manifest.csv): its bytes are the ones the
loader records, and every entry still names a clip of the real copy beside the project (when it is here)."""
import hashlib
from pathlib import Path

import pytest

from neuralogram.data import real, real_manifest

SHARED_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
HAS_REAL = (SHARED_REAL / "esc50-subset" / "esc50.csv").is_file() and (SHARED_REAL / "fsdd").is_dir()


def test_manifest_file_has_the_recorded_checksum():
    data = real_manifest.MANIFEST_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == real_manifest.MANIFEST_SHA256, (
        "real_manifest.csv changed: regenerate it with real._write_manifest and record the digest it prints")


def test_manifest_reads_as_the_loader_expects():
    m = real_manifest.read_manifest()
    assert sorted(m) == ["esc50", "fsdd"]
    assert len(m["esc50"]) == 414 and len(m["fsdd"]) == 3000
    hexdigits = set("0123456789abcdef")
    assert all(len(h) == real_manifest.HASH_CHARS and set(h) <= hexdigits for d in m.values() for h in d.values())
    assert real._manifest() == m


def test_write_manifest_round_trips(tmp_path):
    class Clip:          # write_manifest needs dataset, name and path
        def __init__(self, dataset, name, path):
            self.dataset, self.name, self.path = dataset, name, path

    import numpy as np
    import soundfile as sf

    clips = []
    for k, (ds, name) in enumerate([("fsdd", "1_theo_0"), ("esc50", "1-1-A-0"), ("fsdd", "0_theo_0")]):
        pcm = (np.arange(800, dtype=np.int16) * (k + 1)).reshape(-1, 1)
        sf.write(tmp_path / f"{name}.wav", pcm, 8000, subtype="PCM_16")
        clips.append(Clip(ds, name, tmp_path / f"{name}.wav"))
    out = tmp_path / "m.csv"
    digest = real_manifest.write_manifest(clips, out)
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()
    m = real_manifest.read_manifest(out)
    assert list(m["fsdd"]) == ["0_theo_0", "1_theo_0"] and list(m["esc50"]) == ["1-1-A-0"]
    pcm, sr = real_manifest.read_pcm(clips[1].path)
    assert m["esc50"]["1-1-A-0"] == real_manifest.pcm_sha256(pcm, sr)[:16]
    out.write_text("name,hash\n")
    with pytest.raises(ValueError, match="not a manifest"):
        real_manifest.read_manifest(out)


@pytest.mark.skipif(not HAS_REAL, reason="../shared/real (the real recordings) is not on this machine")
def test_every_manifest_entry_resolves_to_a_clip():
    m = real_manifest.read_manifest()
    for dataset, loader in (("esc50", real.esc50), ("fsdd", real.fsdd)):
        clips = {c.name: c for c in loader(root=SHARED_REAL)}
        missing = sorted(set(m[dataset]) - set(clips))
        assert not missing, f"{len(missing)} {dataset} manifest entries name no clip, e.g. {missing[:3]}"
        assert set(clips) == set(m[dataset]), f"{dataset} clips that the manifest does not list"
        for name in sorted(clips)[:: max(1, len(clips) // 8)]:     # a spread of clips: their content still matches
            clips[name].load()
