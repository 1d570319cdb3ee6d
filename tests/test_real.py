"""Real recordings (neuralogram.data.real): on the real files beside the project when present, and on written
fixtures always (tiny fake ESC-50 / FSDD folders and archives served from 127.0.0.1, never the internet)."""
import csv
import functools
import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from neuralogram.data import real

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
HAS_REAL = (SHARED / "real" / "esc50-subset" / "esc50.csv").is_file() and (SHARED / "real" / "fsdd").is_dir()
SHARED_REAL = SHARED / "real"     # the real-file tests read it explicitly (root=), whatever NEURALOGRAM_DATA says
HAS_AUDIOSET = (SHARED / "audioset" / "ontology.json").is_file()
needs_real = pytest.mark.skipif(not HAS_REAL, reason="../shared/real is not on this machine")
needs_audioset = pytest.mark.skipif(not HAS_AUDIOSET, reason="../shared/audioset is not on this machine")


@pytest.fixture
def no_real_data(tmp_path, monkeypatch):
    """No real data anywhere: an empty NEURALOGRAM_DATA, ../shared switched off, an empty cache."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("NEURALOGRAM_DATA", str(empty))
    monkeypatch.setenv("NEURALOGRAM_NO_SHARED", "1")
    monkeypatch.setenv("NEURALOGRAM_CACHE", str(tmp_path / "cache"))
    return empty


# ------------------------------------------------------------------------------------------------ fixtures
# (category index, src_file, takes): class 0 has 4 sources, class 1 has 3, class 2 a single source with 2 takes.
FAKE_ESC = [(0, "100", "AB"), (0, "101", "A"), (0, "102", "A"), (0, "103", "A"),
            (1, "200", "A"), (1, "201", "ABC"), (1, "202", "A"), (2, "300", "AB")]


def _tone(seed, n, sr):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 2000) * t) + 0.01 * rng.standard_normal(n)
    return (y * 32767).astype(np.int16)


def write_fake_esc50(d: Path, *, layout: str = "subset", fmt: str = "FLAC", sr: int = 44100) -> dict:
    """A tiny ESC-50 in the subset layout (esc50.csv beside audio/) or the GitHub one (meta/esc50.csv).

    Returns the content hashes of its clips (name -> manifest entry)."""
    audio = d / "audio"
    audio.mkdir(parents=True)
    meta = d / ("esc50.csv" if layout == "subset" else "meta/esc50.csv")
    meta.parent.mkdir(parents=True, exist_ok=True)
    hashes = {}
    with open(meta, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        for k, (target, src, takes) in enumerate(FAKE_ESC):
            for take in takes:
                name = f"4-{src}-{take}-{target}"
                pcm = _tone(hash((src, take)) % 2**32, sr // 10, sr)
                sf.write(audio / f"{name}.{'flac' if fmt == 'FLAC' else 'wav'}", pcm, sr, format=fmt,
                         subtype="PCM_16")
                hashes[name] = real.pcm_sha256(pcm[:, None], sr)[:16]
                w.writerow([f"{name}.wav", 4, target, real.ESC50_CLASSES[target], False, src, take])
    return hashes


def write_fake_fsdd(d: Path, *, speakers_csv: bool = True, takes: int = 2) -> dict:
    rec = d / "recordings"
    rec.mkdir(parents=True)
    hashes = {}
    for digit in (0, 1):
        for s in real.FSDD_SPEAKERS:
            for take in range(takes):
                name = f"{digit}_{s}_{take}"
                pcm = _tone(hash(name) % 2**32, 2000 + 100 * take, 8000)
                sf.write(rec / f"{name}.wav", pcm, 8000, subtype="PCM_16")
                hashes[name] = real.pcm_sha256(pcm[:, None], 8000)[:16]
    if speakers_csv:
        with open(d / "speakers.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["speaker", "gender", "accent", "language"])
            for s, (g, a) in real.FSDD_SPEAKERS.items():
                w.writerow([s, g, a, "english"])
    return hashes


@pytest.fixture
def manifest(monkeypatch):
    """Replace the committed manifest by one the test fills in."""
    m = {"esc50": {}, "fsdd": {}}
    monkeypatch.setattr(real, "_MANIFEST", m)
    return m


# ------------------------------------------------------------------------------------------------ mapping
def test_mapping_table_is_complete_and_unique():
    rows = real.esc50_audioset()
    assert [r["target"] for r in rows] == list(range(50))
    assert len({r["category"] for r in rows}) == 50
    assert len({r["mid"] for r in rows}) == 50, "two ESC-50 classes share an AudioSet label"
    assert all(r["mid"].startswith(("/m/", "/t/", "/g/")) for r in rows)
    # the classes without a single AudioSet counterpart say so
    for cat in ("drinking_sipping", "can_opening", "washing_machine"):
        note = next(r["note"] for r in rows if r["category"] == cat)
        assert note.startswith("no single class fits"), cat


@needs_audioset
def test_mapping_against_the_real_ontology():
    raw = {e["id"]: e for e in json.loads((SHARED / "audioset" / "ontology.json").read_text())}
    with open(SHARED / "audioset" / "class_labels_indices.csv", newline="") as f:
        labels = {r["mid"]: r["display_name"] for r in csv.DictReader(f)}
    assert len(labels) == 527
    for r in real.esc50_audioset():
        assert r["mid"] in labels, f"{r['category']}: {r['mid']} is not one of AudioSet's 527 labels"
        assert labels[r["mid"]] == r["audioset_name"], r
        assert raw[r["mid"]]["name"] == r["audioset_name"], r
    # the ancestors table: every mapped label (ESC-50, speech, UrbanSound8K), its ancestors among the 527 labels
    from neuralogram.data.audioset.metadata import read_ontology
    from neuralogram.data.urbansound import URBANSOUND_AUDIOSET

    ont = read_ontology(SHARED / "audioset" / "ontology.json")
    mapped = ({r["mid"] for r in real.esc50_audioset()} | {m for m, _ in real.SPEECH_CLASSES}
              | {row[3] for row in URBANSOUND_AUDIOSET})
    assert set(real.AUDIOSET_ANCESTORS) == mapped
    for mid, anc in real.AUDIOSET_ANCESTORS.items():
        assert anc == tuple(a.id for a in ont.ancestors(mid) if a.id in labels), mid
    assert real.AUDIOSET_ANCESTORS["/m/0912c9"][-1] == "/m/07yv9"      # car horn ... -> Vehicle
    # the speech classes are Speech and its children
    speech = real.SPEECH[0]
    want = {speech} | set(raw[speech]["child_ids"])
    assert {m for m, _ in real.SPEECH_CLASSES} == want
    assert all(raw[m]["name"] == n for m, n in real.SPEECH_CLASSES)


# ------------------------------------------------------------------------------------------------ real files
@needs_real
def test_real_esc50_counts_split_and_hashes():
    clips = real.esc50(root=SHARED_REAL)
    assert len(clips) == 414 and clips.root == SHARED_REAL / "esc50-subset"
    assert len({c.target for c in clips}) == 50
    train, test = clips.split("train"), clips.split("test")
    assert len(train) + len(test) == 414
    assert not {c.group for c in train} & {c.group for c in test}, "a source recording is on both sides"
    # every class with two or more sources is held out in part; about 30 % of the clips are held out
    n_src = {t: len({c.group for c in clips if c.target == t}) for t in range(50)}
    held = {c.target for c in test}
    assert held == {t for t, n in n_src.items() if n >= 2}
    assert 0.25 < len(test) / len(clips) < 0.4
    assert real.esc50("test", root=SHARED_REAL) == test  # same result through the split argument
    assert all(c.sr == 44100 and c.audioset[0][0] == real.ESC50_AUDIOSET[c.target][3] for c in clips)
    assert real.verify(clips) == {"checked": 414, "unknown": 0, "missing": 0}


@needs_real
def test_real_fsdd_counts_split_and_hashes():
    clips = real.fsdd(root=SHARED_REAL)
    assert len(clips) == 3000
    assert {c.group for c in clips} == set(real.FSDD_SPEAKERS)
    test = clips.split("test")
    assert {c.group for c in test} == set(real.FSDD_TEST_SPEAKERS) and len(test) == 1000
    assert not {c.group for c in clips.split("train")} & set(real.FSDD_TEST_SPEAKERS)
    assert sorted({c.target for c in clips}) == list(range(10))
    assert all(c.audioset == (real.SPEECH, real.MALE_SPEECH) for c in clips)
    assert real.verify(clips) == {"checked": 3000, "unknown": 0, "missing": 0}
    y = clips[0].load()
    assert y.dtype == np.float32 and y.ndim == 1 and 0.1 < y.size / 8000 < 2.5


# ------------------------------------------------------------------------------------------------ fixtures: loaders
def test_fake_esc50_loader_and_split(tmp_path, manifest):
    manifest["esc50"].update(write_fake_esc50(tmp_path / "esc50-subset"))
    clips = real.esc50(root=tmp_path)
    assert len(clips) == sum(len(t) for _, _, t in FAKE_ESC) and clips.origin == "root"
    side = {}
    for c in clips:
        assert side.setdefault(c.group, c.split) == c.split, "takes of one source were split"
    assert side["300"] == "train", "a class with a single source keeps it for training"
    for t in (0, 1):
        assert {side[s] for tt, s, _ in FAKE_ESC if tt == t} == {"train", "test"}
    assert clips[0].load().dtype == np.float32
    assert real.verify(clips)["checked"] == len(clips)
    # deterministic, and independent of the order of the rows
    a = real.esc50_split(["1", "2", "3", "4"], [0, 0, 0, 0])
    assert a == real.esc50_split(["4", "3", "2", "1"], [0, 0, 0, 0]) and sorted(a.values()).count("test") == 1
    # at least one source held out and one kept, whatever the fraction; a lone source is kept
    for frac, n_test in ((0.1, 1), (0.9, 2)):
        got = real.esc50_split(["a", "b", "c", "z"], [0, 0, 0, 1], test_fraction=frac)
        assert sum(got[s] == "test" for s in "abc") == n_test and got["z"] == "train"
    with pytest.raises(ValueError, match="test_fraction"):
        real.esc50_split(["a"], [0], test_fraction=1.0)


def test_github_layout_and_wav_give_the_same_hash(tmp_path):
    h_flac = write_fake_esc50(tmp_path / "a", fmt="FLAC")
    h_wav = write_fake_esc50(tmp_path / "ESC-50-abc", layout="github", fmt="WAV")
    assert h_flac == h_wav
    clips = real.esc50(root=tmp_path / "ESC-50-abc")
    assert clips[0].path.suffix == ".wav"
    pcm, sr = sf.read(clips[0].path, dtype="int16", always_2d=True)
    assert real.pcm_sha256(pcm, sr)[:16] == h_flac[clips[0].name]


def test_environment_variable_and_fallbacks(tmp_path, monkeypatch, no_real_data, manifest):
    write_fake_fsdd(no_real_data / "fsdd")
    clips = real.fsdd()
    assert clips.origin == "NEURALOGRAM_DATA" and len(clips) == 2 * 6 * 2
    assert {c.group for c in clips.split("test")} == set(real.FSDD_TEST_SPEAKERS)
    names = [o for o, _ in real.data_roots()]
    assert names == ["NEURALOGRAM_DATA", "cache"]
    monkeypatch.setenv("NEURALOGRAM_NO_SHARED", "0")
    assert [o for o, _ in real.data_roots()] == ["NEURALOGRAM_DATA", "../shared/real", "cache"]


def test_missing_data_says_what_and_how(no_real_data):
    for loader, what in ((real.esc50, "ESC-50"), (real.fsdd, "Free Spoken Digit")):
        with pytest.raises(real.RealDataMissing) as err:
            loader()
        msg = str(err.value)
        assert what in msg and str(no_real_data) in msg and "download=True" in msg
        assert f"real.{loader.__name__}(download=True)" in msg
    assert not (no_real_data.parent / "cache" / "real").exists(), "looking for data created a folder"


def test_bad_input_is_refused(tmp_path, manifest):
    d = tmp_path / "esc"
    write_fake_esc50(d)
    with pytest.raises(ValueError, match="split must be"):
        real.esc50("validation", root=d)
    # a clip listed without audio
    next((d / "audio").iterdir()).unlink()
    with pytest.raises(ValueError, match="no audio file"):
        real.esc50(root=d)
    # a class that is not ESC-50's
    e = tmp_path / "esc2"
    write_fake_esc50(e)
    text = (e / "esc50.csv").read_text().replace(",dog,", ",wolf,")
    (e / "esc50.csv").write_text(text)
    with pytest.raises(ValueError, match="not one of ESC-50's 50 classes"):
        real.esc50(root=e)
    # FSDD: an unknown speaker, a misnamed file, a speakers.csv that disagrees
    f = tmp_path / "fsdd"
    write_fake_fsdd(f)
    sf.write(f / "recordings" / "3_bob_0.wav", np.zeros(100, np.int16), 8000)
    with pytest.raises(ValueError, match="unknown speaker"):
        real.fsdd(root=f)
    (f / "recordings" / "3_bob_0.wav").rename(f / "recordings" / "three.wav")
    with pytest.raises(ValueError, match="not an FSDD recording name"):
        real.fsdd(root=f)
    (f / "recordings" / "three.wav").unlink()
    (f / "speakers.csv").write_text("speaker,gender,accent,language\ntheo,female,USA/neutral,english\n")
    with pytest.raises(ValueError, match="disagrees"):
        real.fsdd(root=f)


def test_corrupt_clip_is_refused_naming_the_file(tmp_path, manifest):
    manifest["fsdd"].update(write_fake_fsdd(tmp_path / "fsdd"))
    clips = real.fsdd(root=tmp_path)
    victim = clips[3]
    pcm, sr = sf.read(victim.path, dtype="int16")
    pcm[len(pcm) // 2] ^= 1                                   # one bit of one sample
    sf.write(victim.path, pcm, sr, subtype="PCM_16")
    with pytest.raises(ValueError, match="does not match the committed manifest") as err:
        victim.load()
    assert str(victim.path) in str(err.value)
    with pytest.raises(ValueError, match=victim.name):
        real.verify(clips)
    assert victim.load(verify=False).size == pcm.size          # the check can be skipped on purpose
    victim.path.write_bytes(victim.path.read_bytes()[:30])    # truncated inside the header
    with pytest.raises(ValueError, match="unreadable audio|no audio samples"):
        victim.load()


# ------------------------------------------------------------------------------------------------ fixtures: download
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _zip(folder: Path, out: Path) -> str:
    with zipfile.ZipFile(out, "w") as z:
        for p in sorted(folder.rglob("*")):
            z.write(p, p.relative_to(folder.parent))
    return hashlib.sha256(out.read_bytes()).hexdigest()


def test_download_through_pooch_with_hash_checks(tmp_path, server, manifest, monkeypatch):
    www, base = server
    src = tmp_path / "src" / "free-spoken-digit-dataset-abc"
    manifest["fsdd"].update(write_fake_fsdd(src, speakers_csv=False))
    sha = _zip(src, www / "fsdd.zip")
    dest = tmp_path / "dl"
    # a wrong archive hash is refused before anything is unpacked
    with pytest.raises(ValueError, match="refused"):
        real.fetch("fsdd", dest=dest, url=f"{base}/fsdd.zip", known_hash="sha256:" + "0" * 64, progress=False)
    assert not list(dest.glob("fsdd-*"))
    # the right one is fetched, unpacked, verified, the archive removed, and a second call does nothing
    out = real.fetch("fsdd", dest=dest, url=f"{base}/fsdd.zip", known_hash=f"sha256:{sha}", progress=False)
    clips = real.fsdd(root=out)
    assert len(clips) == 24 and not list(dest.glob("*.zip"))
    (www / "fsdd.zip").unlink()
    assert real.fetch("fsdd", dest=dest, url=f"{base}/fsdd.zip", progress=False) == out
    # download=True goes through the same path into the cache
    monkeypatch.setenv("NEURALOGRAM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NEURALOGRAM_NO_SHARED", "1")
    monkeypatch.delenv("NEURALOGRAM_DATA", raising=False)
    _zip(src, www / "fsdd2.zip")
    monkeypatch.setitem(real._ARCHIVES, "fsdd", {**real._ARCHIVES["fsdd"], "url": f"{base}/fsdd2.zip"})
    clips = real.fsdd("test", download=True)
    assert clips.origin == "cache (download)" and {c.group for c in clips} == set(real.FSDD_TEST_SPEAKERS)
    assert real.fsdd().origin == "cache"                                   # found there from now on


def test_download_with_a_corrupt_clip_is_refused(tmp_path, server, manifest):
    www, base = server
    src = tmp_path / "src" / "ESC-50-abc"
    manifest["esc50"].update(write_fake_esc50(src, layout="github", fmt="WAV"))
    victim = next((src / "audio").iterdir())
    pcm, sr = sf.read(victim, dtype="int16")
    sf.write(victim, -pcm, sr, subtype="PCM_16")
    _zip(src, www / "esc.zip")
    dest = tmp_path / "dl"
    with pytest.raises(ValueError, match=f"refused and removed.*{victim.stem}"):
        real.fetch("esc50", dest=dest, url=f"{base}/esc.zip", progress=False)
    assert not [p for p in dest.iterdir() if p.name.startswith(("esc50-", ".esc50-"))] and not list(dest.glob("*.zip"))


# ------------------------------------------------------------------------------------------------ real_world probe
rw = pytest.importorskip("neuralogram.probes.real_world")


def test_conditions_centre_pad_and_noise_floor():
    sr = 8000
    y = (0.2 * np.sin(2 * np.pi * 440 * np.arange(3000) / sr)).astype(np.float32)
    x, w = rw.condition_audio(y, sr=sr, condition="as recorded")
    assert np.array_equal(x, y) and w == pytest.approx(3000 / sr)
    assert rw.condition_audio(y[:400], sr=sr, condition="as recorded")[1] == 0.16       # shortest window
    assert rw.condition_audio(np.ones(20000, np.float32), sr=sr, condition="as recorded")[1] == 2.0
    x, w = rw.condition_audio(y, sr=sr, condition="in 2 s of silence")
    a = (16000 - 3000) // 2
    assert w == 2.0 and x.size == 16000 and np.array_equal(x[a:a + 3000], y) and not x[:a].any() and not x[a + 3000:].any()
    rms = np.sqrt(np.mean(y.astype(np.float64) ** 2))
    for db in (-60, -30):
        x, _ = rw.condition_audio(y, sr=sr, condition=f"floor {db} dB", name="7_theo_3")
        floor = np.sqrt(np.mean(x[:a].astype(np.float64) ** 2))
        assert 20 * np.log10(floor / rms) == pytest.approx(db, abs=0.3)
        again, _ = rw.condition_audio(y, sr=sr, condition=f"floor {db} dB", name="7_theo_3")
        other, _ = rw.condition_audio(y, sr=sr, condition=f"floor {db} dB", name="7_theo_4")
        assert np.array_equal(x, again) and not np.array_equal(x, other)
    with pytest.raises(ValueError, match="condition must be"):
        rw.condition_audio(y, sr=sr, condition="loud")


def test_fsdd_metrics_by_hand():
    mids = ["/m/09x0r", "/m/05zppz", "/m/02zsn", "/m/04rlf"]          # Speech, Male, Female, Music
    P = np.array([[0.9, 0.5, 0.1, 0.2],     # top Speech, male
                  [0.2, 0.1, 0.6, 0.3],     # top Female (a speech class), not male
                  [0.1, 0.3, 0.2, 0.8],     # top Music, male
                  [0.1, 0.2, 0.1, 0.7]])    # top Music, male
    m = rw.fsdd_metrics(P, mids, ["Speech", "Male", "Female", "Music"])
    assert m["speech_rate"] == 0.5 and m["male_rate"] == 0.75 and m["speech_labels"] == 3
    assert m["top_tags"][0] == ("Music", 0.5)
    assert np.isnan(rw.fsdd_metrics(P[:, [0, 3]], ["/m/09x0r", "/m/04rlf"])["male_rate"])
    assert rw.fsdd_metrics(P[:, [3]], ["/m/04rlf"])["speech_rate"] == 0.0   # a model without speech labels


def test_esc50_metrics_by_hand():
    dog, rooster, pig = (real.ESC50_AUDIOSET[t][3] for t in (0, 1, 2))
    mids = [dog, rooster, "/m/04rlf", pig]                     # names 3 of the 50, plus Music
    targets = [0, 0, 1, 2, 3]                                   # the cow (3) cannot be named
    P = np.array([[0.9, 0.1, 0.2, 0.0],
                  [0.3, 0.6, 0.9, 0.1],     # top tag Music; 50-way: rooster (wrong)
                  [0.2, 0.7, 0.1, 0.1],
                  [0.1, 0.2, 0.1, 0.4],
                  [0.8, 0.1, 0.1, 0.1]])
    m = rw.esc50_metrics(P, mids, targets)
    assert m["in_labels"] == 3 and m["n_classes_evaluated"] == 4
    assert m["top1"] == pytest.approx(3 / 5)                    # clips 0, 2, 3
    assert m["top_tag"] == pytest.approx(3 / 5) and m["top5_tags"] == pytest.approx(4 / 5)
    ap = m["per_class_ap"]
    assert ap[3] == 0.0 and np.isnan(ap[10])                    # unnamed = miss; no clips = not scored
    assert ap[2] == 1.0 and ap[1] == 1.0 and ap[0] == pytest.approx((1 + 2 / 3) / 2)
    assert m["mAP"] == pytest.approx(np.mean([ap[0], 1, 1, 0]))
    assert m["confusion"].sum() == 5 and m["confusion"][0, 1] == 1 and m["confusion"][3, 0] == 1
    none = rw.esc50_metrics(P[:, [2]], ["/m/04rlf"], targets)   # a model that names no ESC-50 class
    assert none["top1"] == 0 and none["mAP"] == 0 and none["confusion"].sum() == 0


def test_calibration_summary_uses_the_package_ece():
    from neuralogram.calibration import expected_calibration_error

    rng = np.random.default_rng(0)
    P = rng.uniform(size=(200, 5))
    Y = rng.uniform(size=P.shape) < P                           # calibrated by construction
    s = rw.calibration_summary(P, Y)
    assert s["ece_all"] == expected_calibration_error(P, Y, kind="all") < 0.05
    assert s["ece_top"] == expected_calibration_error(P, Y, kind="top")
    assert s["diagram_all"]["count"].sum() == P.size and len(s["diagram_top"]["edges"]) == rw.N_BINS + 1


def test_real_targets_with_ontology_ancestors():
    from types import SimpleNamespace

    dog, domestic, animal = "/m/0bt9lr", "/m/068hy", "/m/0jbk"
    assert real.audioset_ancestors(dog) == (domestic, animal)          # parents first
    assert real.audioset_ancestors(real.SPEECH[0]) == ()                # the top of its branch
    assert real.audioset_ancestors(real.MALE_SPEECH[0]) == (real.SPEECH[0],)
    clips = [SimpleNamespace(audioset=((dog, "Dog"),)), SimpleNamespace(audioset=((real.MALE_SPEECH[0], "Male"),))]
    mids = [animal, dog, real.SPEECH[0], "/m/other"]
    np.testing.assert_array_equal(rw.real_targets(clips, mids), [[0, 1, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(rw.real_targets(clips, mids, ancestors=True), [[1, 1, 0, 0], [0, 0, 1, 0]])
    # a top tag "Animal" on the dog's clip: wrong for the leaf reading, right for the ontology reading
    P = np.array([[0.9, 0.3, 0.0, 0.0]])
    Y, Ya = rw.real_targets(clips[:1], mids), rw.real_targets(clips[:1], mids, ancestors=True)
    assert rw.calibration_summary(P, Y)["ece_top"] == pytest.approx(0.9)
    assert rw.calibration_summary(P, Ya)["ece_top"] == pytest.approx(0.1)
    with pytest.raises(KeyError, match="not an AudioSet label the real datasets map to"):
        real.audioset_ancestors("/m/none")


@pytest.fixture
def tiny_real(tmp_path, monkeypatch, manifest):
    """Fake ESC-50 and FSDD folders found through NEURALOGRAM_DATA, and a tiny random network with an info."""
    import torch

    from neuralogram.model import ModelConfig, NeuralogramNet

    write_fake_esc50(tmp_path / "data" / "esc50-subset")
    write_fake_fsdd(tmp_path / "data" / "fsdd", takes=3)
    monkeypatch.setenv("NEURALOGRAM_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NEURALOGRAM_NO_SHARED", "1")
    torch.manual_seed(0)
    model = NeuralogramNet(ModelConfig(n_classes=5, embedding_size=16, width=0.0625, fc_size=16, loss="bce")).eval()
    mids = [real.SPEECH[0], real.MALE_SPEECH[0], real.ESC50_AUDIOSET[0][3], "/m/a", "/m/b"]
    info = dict(name="tiny", label_mids=mids, label_names=["Speech", "Male", "Dog", "Low", "Mid"], hash="tiny-0")
    return model, info


def test_window_logits_are_the_network_output(tiny_real):
    import torch

    from neuralogram.spectral import linear_spectrogram

    model, _ = tiny_real
    y = np.random.default_rng(1).standard_normal(16000).astype(np.float32) * 0.1
    z = rw.window_logits(y, model, sr=8000)
    with torch.no_grad():
        ref = model(linear_spectrogram(y, sr=8000)[None, None]).numpy()
    np.testing.assert_allclose(z, ref, atol=1e-5)
    p = rw.tag_probs(z, loss="bce")
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-ref[0])), atol=1e-6)
    np.testing.assert_allclose(rw.tag_probs(z, temperature=2.0), 1 / (1 + np.exp(-ref[0] / 2)), atol=1e-6)
    # a calibrated model (load_model sets model.temperature): the logits stay raw, the temperature is read off it
    model.temperature = 2.0
    try:
        np.testing.assert_allclose(rw.window_logits(y, model, sr=8000), z, atol=1e-6)
        assert rw.model_temperature(model, {}) == 2.0
    finally:
        model.temperature = 1.0
    assert rw.model_temperature(model, {"calibration": {"temperature": 1.5}}) == 1.5
    assert rw.model_temperature(model, {"calibration": None}) == 1.0


def test_clip_logits_are_cached_per_clip(tiny_real, monkeypatch):
    model, info = tiny_real
    clips = real.fsdd("test")
    from neuralogram.probes import real_tags

    calls = []
    real_compute = real_tags._compute_logits
    monkeypatch.setattr(real_tags, "_compute_logits",
                        lambda c, *a, **k: calls.append(len(c)) or real_compute(c, *a, **k))
    first = rw.clip_logits(clips[:5], model, info, condition="floor -30 dB")
    both = rw.clip_logits(clips[:8], model, info, condition="floor -30 dB")
    assert calls == [5, 3], "the second call recomputed clips it had"
    for a, b in zip(first, both):
        np.testing.assert_array_equal(a, b)
    # batched 2 s excerpts (window = hop = 2 s over the excerpts laid end to end) = one call per excerpt
    fresh = rw.clip_logits(clips[:8], model, info, condition="floor -30 dB", cache=False)
    for c, z in zip(clips[:8], fresh):
        x, _ = rw.condition_audio(c.load(), sr=c.sr, condition="floor -30 dB", name=c.name)
        np.testing.assert_allclose(z, rw.window_logits(x, model, sr=8000), atol=1e-5)
    with pytest.raises(ValueError, match="needs the info"):
        rw.clip_logits(clips[:2], model, None)


def test_probe_end_to_end_on_fixtures(tiny_real, tiny_corpus):
    from neuralogram.data.store import PackedStore

    model, info = tiny_real
    info = {**info, "calibration": {"temperature": 2.0}}
    store = PackedStore(tiny_corpus)
    r = rw.real_world_probe(model, info, standin=False)
    assert set(r["fsdd"]) == set(rw.CONDITIONS) and r["temperature"] == 2.0 and not r["real_data"]
    for m in r["fsdd"].values():
        assert 0 <= m["speech_rate"] <= 1 and 0 <= m["male_rate"] <= 1 and m["n"] == 2 * 2 * 3
    e = r["esc50"]
    assert e["in_labels"] == 1 and 0 <= e["top1"] <= 1 and 0 <= e["mAP"] <= 1
    assert set(r["calibration"]) == {"esc50", "esc50_ontology", "fsdd"}
    assert set(r["calibration"]["fsdd"]) == set(r["calibration"]["esc50_ontology"]) == {"before", "after"}
    assert r["calibration"]["fsdd"]["after"]["ece_top"] != r["calibration"]["fsdd"]["before"]["ece_top"]
    st = rw.standin_logits(model, info, store=store)
    assert st["logits"].shape == (len(store), 5) and st["targets"][:, 3:].sum() > 0
    assert st["targets"][:, :3].sum() == 0                                   # labels mapped by id
    ev = rw.standin_logits(model, info, store=store, split="eval", cache=False)   # one split's clips
    rows_ = store.indices("eval")
    assert 0 < len(rows_) < len(store) and ev["logits"].shape == (len(rows_), 5)
    np.testing.assert_allclose(ev["logits"], st["logits"][rows_], atol=1e-5)
    np.testing.assert_array_equal(ev["targets"], st["targets"][rows_])
    with pytest.raises(ValueError, match="split must be"):
        rw.standin_logits(model, info, store=store, split="test", cache=False)
    rows = rw.summary_rows([r], rw.mfcc_baseline())
    assert rows[0]["model"] == "tiny" and rows[-1]["labels"] == 50
    assert rw.trained_on_real({"train": {"real_data": ["ESC-50"]}}) and not rw.trained_on_real({})
    assert rw.trained_on_real({"train": {"corpus_params": {"real": {"esc50_train": 281}}}})
    assert not rw.trained_on_real({"train": {"corpus_params": {"n_clips": 4000}}})


def test_model_rate_audio_reads_the_one_cache(tiny_real, monkeypatch):
    """Clips at another rate come from data.mixed.real_at_8k's files (resampled once, 16-bit), clips at 8 kHz as
    they are; a second read resamples nothing; a clip of the same name with other samples gets its own file."""
    import neuralogram.audio as audio_mod
    from neuralogram.audio import to_model_rate
    from neuralogram.data.mixed import real_at_8k

    esc, fsdd = list(real.esc50("test")), list(real.fsdd("test"))[:3]
    got = rw.model_rate_audio(esc + fsdd)
    for c, y in zip(esc, got):
        assert c.sr == 44100 and y.dtype == np.float32
        np.testing.assert_array_equal(y, sf.read(str(real_at_8k(c)), dtype="float32")[0])
        ref = to_model_rate(c.load(), sr=c.sr, target_sr=8000).numpy()
        assert y.size == ref.size and np.abs(y - np.clip(ref, -1, 1)).max() < 2 / 32768   # 16-bit rounding only
    for c, y in zip(fsdd, got[len(esc):]):
        np.testing.assert_array_equal(y, c.load())
    resample = audio_mod.resample
    monkeypatch.setattr(audio_mod, "resample", lambda *a, **k: pytest.fail("resampled a cached clip"))
    again = rw.model_rate_audio(esc)
    for a, b in zip(got, again):
        np.testing.assert_array_equal(a, b)
    first = real_at_8k(esc[0])
    assert first.name.startswith(esc[0].name) and first.is_file()
    # the same name with other samples (another manifest entry): the cached file is not read, the clip is decoded
    # again (and here refused by the manifest check)
    monkeypatch.setitem(real._manifest()["esc50"], esc[0].name, "f" * 16)
    with pytest.raises(ValueError, match="does not match the committed manifest"):
        real_at_8k(esc[0])
    # a network at another rate (mn04: 32 kHz) hears the book's band: the 8 kHz signal, resampled to its rate
    monkeypatch.setattr(audio_mod, "resample", resample)
    up = rw.model_rate_audio(fsdd, sr=16000)
    for c, y in zip(fsdd, up):
        np.testing.assert_allclose(y, resample(c.load(), orig_sr=8000, target_sr=16000).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="sample rate"):
        rw.model_rate_audio(fsdd, sr=0)
