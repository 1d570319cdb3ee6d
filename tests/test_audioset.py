"""AudioSet metadata parsers (fixtures in the published format, and the real files when present), the download
logic with fake fetchers (resume, failures, report, atomicity) and packing of a fake AudioSet folder."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from neuralogram.data import audioset as A
from neuralogram.data.audioset import download as D
from neuralogram.data.store import CropDataset, PackedStore

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "audioset"

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "audioset"
needs_real = pytest.mark.skipif(not (REAL / "class_labels_indices.csv").is_file(),
                                reason=f"real AudioSet metadata not available at {REAL}")


@pytest.fixture
def meta(tmp_path):
    """A tiny metadata set in exactly the published format (``tests/fixtures/audioset``): 13 labels, 6 balanced-train
    and 3 eval segments, a 15-node ontology with two abstract grouping nodes."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "meta"))


# ---------------------------------------------------------------- class_labels_indices.csv
def test_labels_fixture_parses_quoted_commas(meta):
    text = (meta / "class_labels_indices.csv").read_text()
    assert '1,/m/05zppz,"Male speech, man speaking"' in text   # the published quoting
    labels = A.read_labels(meta / "class_labels_indices.csv")
    assert len(labels) == 13 and labels.report.ok
    assert labels[0] == A.Label(0, "/m/09x0r", "Speech")
    assert labels[1] == A.Label(1, "/m/05zppz", "Male speech, man speaking")
    assert [lab.index for lab in labels] == list(range(13))


@pytest.mark.parametrize("row, msg", [
    ('13,/m/zzz', "expected 3 fields"),
    ('x,/m/zzz,"Foo"', "not a non-negative integer"),
    ('13,zzz,"Foo"', "does not look like an AudioSet machine id"),
    ('13,/m/09x0r,"Again"', "duplicate mid"),
    ('15,/m/zzz,"Gap"', "out of sequence"),
])
def test_labels_malformed_rows_raise_with_file_and_line_or_skip(meta, row, msg):
    p = meta / "class_labels_indices.csv"
    with p.open("a") as fh:
        fh.write(row + "\n")
    with pytest.raises(ValueError, match=rf"class_labels_indices.csv:15: .*{msg}"):
        A.read_labels(p)
    labels = A.read_labels(p, errors="skip")
    assert len(labels) == 13
    assert labels.report.skipped[0][0] == 15 and msg in labels.report.skipped[0][1]


def test_labels_bad_header_and_bad_errors_argument(tmp_path, meta):
    p = tmp_path / "bad.csv"
    p.write_text("idx,mid,name\n0,/m/09x0r,Speech\n")
    with pytest.raises(ValueError, match="header"):
        A.read_labels(p)
    with pytest.raises(ValueError, match="errors must be"):
        A.read_labels(meta / "class_labels_indices.csv", errors="ignore")
    with pytest.raises(FileNotFoundError):
        A.read_labels(tmp_path / "nope.csv")


# ---------------------------------------------------------------- segment lists
def test_segments_fixture_format_and_values(meta):
    lines = (meta / "balanced_train_segments.csv").read_text().splitlines()
    assert lines[0].startswith("# Segments csv created") and lines[2].startswith("# YTID, start_seconds")
    assert lines[3] == '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/m/05zppz"'   # spaces after commas
    assert lines[4] == '--ZhevVpy1s, 50.000, 60.000, "/m/0342h"'             # one quoted mid
    labels = A.read_labels(meta / "class_labels_indices.csv")
    segs = A.read_segments(meta / "balanced_train_segments.csv", labels=labels)
    assert len(segs) == 6 and segs.report.ok
    assert segs[0] == A.Segment("--PJHxphWEs", 30.0, 40.0, ("/m/09x0r", "/m/05zppz"))
    assert segs[1].mids == ("/m/0342h",)
    assert segs[2].mids == ("/m/04rlf", "/m/04szw", "/m/0fx80y", "/m/0342h")
    assert segs[4].start == 420.0 and segs[4].duration == 10.0 and segs[4].clip_id == "-0RWZT-miFs_420000"
    assert segs.report.declared == {"num_ytids": 6, "num_segs": 6, "num_unique_labels": 12,
                                    "num_positive_labels": 13}
    assert sum(len(s.mids) for s in segs) == 13 and len({m for s in segs for m in s.mids}) == 12
    ev = A.read_segments(meta / "eval_segments.csv")
    assert [s.ytid for s in ev] == ["--4gqARaEJE", "--BfvyPmVMo", "--U7joUcTCo"]


@pytest.mark.parametrize("row, msg", [
    ('abc, 0.000, 10.000, "/m/09x0r"', "not an 11-character YouTube id"),
    ('-0jeONf82dX, ten, 10.000, "/m/09x0r"', "are not numbers"),
    ('-0jeONf82dX, 10.000, 5.000, "/m/09x0r"', "empty or negative"),
    ('-0jeONf82dX, 0.000, 10.000', "expected 4 fields"),
    ('-0jeONf82dX, 0.000, 10.000, ""', "empty label list"),
    ('-0jeONf82dX, 0.000, 10.000, "speech"', "malformed mid"),
])
def test_segments_malformed_row(meta, row, msg):
    p = meta / "eval_segments.csv"
    with p.open("a") as fh:
        fh.write(row + "\n")
    with pytest.raises(ValueError, match=rf"eval_segments.csv:7: .*{msg}"):
        A.read_segments(p)
    segs = A.read_segments(p, errors="skip")
    assert len(segs) == 3
    assert segs.report.skipped == [(7, segs.report.skipped[0][1])] and msg in segs.report.skipped[0][1]


def test_segments_unknown_mid_raises_or_is_counted(meta):
    labels = A.read_labels(meta / "class_labels_indices.csv")
    p = meta / "eval_segments.csv"
    with p.open("a") as fh:
        fh.write('-0jeONf82dX, 0.000, 10.000, "/m/09x0r,/m/unknown1"\n')
        fh.write('-0jeONf82dY, 0.000, 10.000, "/m/unknown1,/m/unknown2"\n')
    with pytest.raises(ValueError, match=r"eval_segments.csv:7: label\(s\) \['/m/unknown1'\] not in the label file"):
        A.read_segments(p, labels=labels)
    segs = A.read_segments(p, labels=labels, errors="skip")
    assert len(segs) == 4 and segs[-1].mids == ("/m/09x0r",)       # unknown mid dropped, segment kept
    assert segs.report.unknown_mids == {"/m/unknown1": 2, "/m/unknown2": 1}
    assert segs.report.skipped[0][0] == 8                           # nothing known left: skipped
    assert "unknown label" in segs.report.summary()
    assert len(A.read_segments(p)) == 5                             # without a label file, mids are not checked


def test_multihot(meta):
    labels = A.read_labels(meta / "class_labels_indices.csv")
    y = A.labels_to_multihot(["/m/0342h", "/m/09x0r"], labels)
    assert y.dtype == np.uint8 and y.shape == (13,)
    np.testing.assert_array_equal(np.flatnonzero(y), [0, 10])
    np.testing.assert_array_equal(A.labels_to_multihot([], {"/m/a": 0, "/m/b": 1}), [0, 0])
    with pytest.raises(ValueError, match="not in the label space"):
        A.labels_to_multihot(["/m/nope"], labels)


# ---------------------------------------------------------------- ontology.json
def test_ontology_fixture_navigation(meta):
    onto = A.read_ontology(meta / "ontology.json")
    assert len(onto) == 15 and onto.report.ok
    assert onto["/m/05tny_"].name == "Bark"
    assert [e.name for e in onto.roots()] == ["Animal", "Music", "Siren", "Sine wave", "Human sounds"]
    assert [e.name for e in onto.children("/m/09x0r")] == ["Male speech, man speaking",
                                                          "Female speech, woman speaking"]
    assert [e.name for e in onto.ancestors("/m/05zppz")] == ["Speech", "Human voice", "Human sounds"]
    assert [e.name for e in onto.descendants("/m/0jbk")] == ["Domestic animals, pets", "Dog", "Bark"]
    assert onto.depth("/m/05tny_") == 3 and onto.depth("/m/0jbk") == 0
    assert onto.path_names("/m/0342h") == ["Music", "Musical instrument", "Plucked string instrument", "Guitar"]
    assert onto["/m/09l8g"].restrictions == ("abstract",)
    with pytest.raises(KeyError, match="not in the ontology"):
        onto["/m/nope"]


def test_ontology_bad_entries(tmp_path):
    p = tmp_path / "ontology.json"
    p.write_text(json.dumps([{"id": "/m/a", "name": "A", "child_ids": ["/m/b", "/m/ghost"]},
                             {"id": "/m/b", "name": "B"}, {"name": "no id"}]))
    with pytest.raises(ValueError, match=r"ontology.json: entry 2: missing 'id'"):
        A.read_ontology(p)
    onto = A.read_ontology(p, errors="skip")
    assert len(onto) == 2 and [r[0] for r in onto.report.skipped] == [2, 0]
    assert "/m/ghost" in onto.report.skipped[1][1]
    assert [e.id for e in onto.children("/m/a")] == ["/m/b"]
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        A.read_ontology(p)


# ---------------------------------------------------------------- the real files
@needs_real
def test_real_metadata_counts():
    labels = A.read_labels(REAL / "class_labels_indices.csv")
    assert len(labels) == 527 and labels.report.ok
    assert labels[1].name == "Male speech, man speaking" and labels[526].index == 526
    for fname, n in [("balanced_train_segments.csv", 22160), ("eval_segments.csv", 20371)]:
        segs = A.read_segments(REAL / fname, labels=labels)
        assert len(segs) == n == segs.report.declared["num_segs"] and segs.report.ok
        assert sum(len(s.mids) for s in segs) == segs.report.declared["num_positive_labels"]
        assert len({m for s in segs for m in s.mids}) == 527
    onto = A.read_ontology(REAL / "ontology.json")
    assert len(onto) == 632 and onto.report.ok and len(onto.roots()) == 7
    assert all(lab.mid in onto for lab in labels)


@needs_real
def test_real_metadata_hashes_match_the_published_ones():
    for name in ("class_labels_indices.csv", "balanced_train_segments.csv", "eval_segments.csv"):
        assert D._sha256(REAL / name) == A.OFFICIAL_FILES[name][1]


# ---------------------------------------------------------------- metadata fetching (fake network)
def test_fetch_metadata_checks_hash_and_leaves_nothing_on_mismatch(tmp_path, monkeypatch, meta):
    calls = []

    def fake_get(url, dest):
        calls.append(url)
        Path(dest).write_text("tampered")

    monkeypatch.setattr(D, "_urlretrieve", fake_get)
    out = tmp_path / "m"
    with pytest.raises(ValueError, match="sha256 .* does not match"):
        A.fetch_metadata(out, names=["eval_segments.csv"])
    assert calls == [A.OFFICIAL_FILES["eval_segments.csv"][0]]
    assert list(out.iterdir()) == []                   # no partial or wrong file left
    hashes = A.fetch_metadata(out, names=["ontology.json"])   # no published hash: accepted, hash recorded
    assert (out / "ontology.json").read_text() == "tampered" and len(hashes["ontology.json"]) == 64
    with pytest.raises(ValueError, match="unknown AudioSet metadata file"):
        A.fetch_metadata(out, names=["nope.csv"])


# ---------------------------------------------------------------- clip download with fake fetchers
def _segs(n):
    return [A.Segment(f"vid{i:08d}", 0.0, 10.0, ("/m/09x0r",)) for i in range(n)]


def _fake_fetch(fail=(), gone=(), calls=None, crash_mid_write=()):
    def fetch(seg, dest):
        if calls is not None:
            calls.append(seg.ytid)
        if seg.ytid in gone:
            raise A.ClipUnavailable("Video unavailable")
        if seg.ytid in crash_mid_write:
            Path(dest).write_bytes(b"fLaC\x00\x00\x00partial")   # half a file, then the connection drops
            raise ConnectionError("connection reset")
        if seg.ytid in fail:
            raise RuntimeError("HTTP Error 429")
        t = np.arange(4410) / 44100
        sf.write(str(dest), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100, format="FLAC")
    return fetch


def test_download_counts_missing_and_failed_and_resumes(tmp_path):
    segs = _segs(8)
    out = tmp_path / "audio"
    calls = []
    fetch = _fake_fetch(fail={"vid00000002"}, gone={"vid00000005", "vid00000006"}, calls=calls,
                        crash_mid_write={"vid00000007"})
    r = A.download_clips(segs, out, fetch=fetch, workers=3, report_path=tmp_path / "rep.json", progress=False)
    assert (r["requested"], r["downloaded"], r["already_present"], r["available"]) == (8, 4, 0, 4)
    assert r["missing"] == ["vid00000005", "vid00000006"]
    assert [f["ytid"] for f in r["failed"]] == ["vid00000002", "vid00000007"]
    assert "HTTP Error 429" in r["failed"][0]["error"] and "connection reset" in r["failed"][1]["error"]
    assert json.loads((tmp_path / "rep.json").read_text()) == r
    # atomicity: exactly the 4 good files, no temporaries, no partial file of the crashed clip
    assert sorted(p.name for p in out.iterdir()) == [f"vid0000000{i}.flac" for i in (0, 1, 3, 4)]
    # resume: only the clips not yet on disk are tried again
    calls.clear()
    r2 = A.download_clips(segs, out, fetch=_fake_fetch(calls=calls), workers=2, progress=False)
    assert sorted(calls) == ["vid00000002", "vid00000005", "vid00000006", "vid00000007"]
    assert (r2["already_present"], r2["downloaded"], r2["missing"], r2["failed"]) == (4, 4, [], [])
    calls.clear()
    r3 = A.download_clips(segs, out, fetch=_fake_fetch(calls=calls), progress=False)
    assert calls == [] and r3["already_present"] == 8


def test_download_rejects_undecodable_output_and_honours_limit(tmp_path):
    def junk(seg, dest):
        Path(dest).write_bytes(b"<html>not audio</html>")
    r = A.download_clips(_segs(5), tmp_path, fetch=junk, limit=2, progress=False)
    assert r["requested"] == 2 and len(r["failed"]) == 2 and list(tmp_path.iterdir()) == []


def test_huggingface_stream_with_fake_rows(tmp_path, monkeypatch):
    buf = tmp_path / "x.flac"
    sf.write(str(buf), np.zeros(4800, np.float32) + 0.1, 48000)
    good = buf.read_bytes()
    rows = [{"video_id": "vid00000000", "audio": {"bytes": good, "path": None}, "labels": ["/m/09x0r"]},
            {"video_id": "notwanted00", "audio": {"bytes": good}},
            {"video_id": "vid00000001", "audio": {"bytes": b"garbage"}},
            {"video_id": "vid00000003", "audio": {"bytes": good}}]
    monkeypatch.setattr(D, "_load_hf_stream", lambda split: iter(rows))
    out = tmp_path / "hf"
    r = A.download_huggingface("balanced_train_segments.csv", out, wanted=[s.ytid for s in _segs(4)],
                               progress=False)
    assert (r["requested"], r["downloaded"], r["missing"]) == (4, 2, ["vid00000002"])
    assert [f["ytid"] for f in r["failed"]] == ["vid00000001"]
    assert sorted(p.name for p in out.iterdir()) == ["vid00000000.flac", "vid00000003.flac"]
    r2 = A.download_huggingface("balanced_train_segments.csv", out, wanted=[s.ytid for s in _segs(4)],
                                progress=False)
    assert r2["already_present"] == 2 and r2["downloaded"] == 0
    with pytest.raises(ValueError, match="no split"):
        A.download_huggingface("unbalanced_train_segments.csv", out)


def test_youtube_fetcher_classifies_gone_videos(tmp_path, monkeypatch):
    import subprocess

    class Res:
        returncode, stdout = 1, ""
        stderr = "ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader"

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Res())
    seg = A.Segment("abcdefghijk", 30.0, 40.0, ("/m/09x0r",))
    with pytest.raises(A.ClipUnavailable):
        A.fetch_youtube_clip(seg, tmp_path / "x.flac")
    Res.stderr = "ERROR: unable to download video data: HTTP Error 403: Forbidden"
    with pytest.raises(RuntimeError, match="403"):
        A.fetch_youtube_clip(seg, tmp_path / "x.flac")
    assert list(tmp_path.iterdir()) == []   # its private temporary folder is gone too


# ---------------------------------------------------------------- packing a fake AudioSet folder
def _tone(sr, seconds, f=440.0, channels=1, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    x = amp * np.sin(2 * np.pi * f * t)
    return np.stack([x, 0.5 * x], 1).astype(np.float32) if channels == 2 else x.astype(np.float32)


@pytest.fixture
def fake_audioset(tmp_path, meta):
    """Audio for the fixture's segments: stereo 44.1 kHz, 48 kHz, 8 kHz, truncated, NaN, silent, missing."""
    tr, ev = tmp_path / "audio" / "balanced_train", tmp_path / "audio" / "eval"
    tr.mkdir(parents=True)
    ev.mkdir(parents=True)
    sf.write(str(tr / "--PJHxphWEs.flac"), _tone(44100, 10.0, channels=2), 44100)        # stereo 44.1 kHz
    sf.write(str(tr / "--ZhevVpy1s.flac"), _tone(48000, 10.0, f=1000.0), 48000)          # 48 kHz
    sf.write(str(tr / "--aE2O5G5WE.wav"), _tone(44100, 10.0), 44100, subtype="PCM_16")
    b = (tr / "--aE2O5G5WE.wav").read_bytes()
    (tr / "--aE2O5G5WE.wav").write_bytes(b[: len(b) // 2])                              # truncated WAV
    sf.write(str(tr / "-0BIyqJj9ZU.flac"), _tone(48000, 10.0), 48000)
    b = (tr / "-0BIyqJj9ZU.flac").read_bytes()
    (tr / "-0BIyqJj9ZU.flac").write_bytes(b[: len(b) // 2])                             # truncated FLAC
    x = _tone(16000, 10.0)
    x[100:200] = np.nan
    sf.write(str(tr / "-0RWZT-miFs.wav"), x, 16000, subtype="FLOAT")                    # NaN inside
    sf.write(str(tr / "-0jeONf82dE.flac"), np.zeros(80000, np.float32), 8000)           # silent
    sf.write(str(ev / "--4gqARaEJE.wav"), _tone(8000, 10.0, f=300.0), 8000)             # already 8 kHz
    (ev / "--BfvyPmVMo.flac").write_bytes(b"this is not audio")                         # unreadable
    # --U7joUcTCo is missing (the video is gone)
    labels = A.read_labels(meta / "class_labels_indices.csv")
    splits = {"train": (A.read_segments(meta / "balanced_train_segments.csv", labels=labels), tr),
              "eval": (A.read_segments(meta / "eval_segments.csv", labels=labels), ev)}
    return splits, labels


def test_load_clip_checks(fake_audioset):
    splits, _ = fake_audioset
    tr = splits["train"][1]
    y, info = A.load_clip(tr / "--PJHxphWEs.flac", expected_seconds=10.0)
    assert y.shape == (80000,) and y.dtype == np.float32
    assert info["sr"] == 44100 and info["channels"] == 2 and set(info["flags"]) == {"stereo", "resampled"}
    for name, kind in [("--aE2O5G5WE.wav", "truncated"), ("-0BIyqJj9ZU.flac", "truncated"),
                       ("-0RWZT-miFs.wav", "nan"), ("-0jeONf82dE.flac", "silent")]:
        with pytest.raises(ValueError, match=f"^{kind}: "):
            A.load_clip(tr / name)
    with pytest.raises(ValueError, match="^unreadable: "):
        A.load_clip(splits["eval"][1] / "--BfvyPmVMo.flac")


def test_pack_fake_audioset(tmp_path, fake_audioset):
    splits, labels = fake_audioset
    rep = A.pack(splits, labels, tmp_path / "as.h5", workers=2, report_path=tmp_path / "pack.json",
                 params={"test": 1}, progress=False)
    assert rep["kept"] == {"train": 2, "eval": 1}
    rej = {k: v for k, v in rep["rejected"].items() if v}
    assert rej == {"truncated": ["--aE2O5G5WE_0", "-0BIyqJj9ZU_30000"], "nan": ["-0RWZT-miFs_420000"],
                   "silent": ["-0jeONf82dE_21000"], "unreadable": ["--BfvyPmVMo_20000"],
                   "missing": ["--U7joUcTCo_0"]}
    assert rep["flagged"] == {"stereo": 1, "resampled": 2} and rep["source_rates"] == {"8000": 1, "44100": 1,
                                                                                       "48000": 1}
    assert json.loads((tmp_path / "pack.json").read_text())["kept"] == rep["kept"]
    st = PackedStore(tmp_path / "as.h5")
    assert len(st) == 3 and st.sr == 8000 and st.source == "audioset-balanced" and st.params == {"test": 1}
    assert st.clip_ids == ["--PJHxphWEs_30000", "--ZhevVpy1s_50000", "--4gqARaEJE_0"]
    assert st.label_names[1] == "Male speech, man speaking" and st.labels.shape == (3, 13)
    assert st.clip_names(0) == ["Speech", "Male speech, man speaking"]
    assert st.clip_names(1) == ["Guitar"]
    assert list(st.split) == [0, 0, 1]
    # audio: stereo (1, 0.5) x 0.5 amplitude averaged -> 0.375 peak; the 1 kHz tone survives the resampling
    for i, (amp, f) in enumerate([(0.375, 440), (0.5, 1000), (0.5, 300)]):
        x = st.clip(i)
        assert x.shape == (80000,)
        assert abs(np.abs(x[1000:-1000]).max() - amp) < 0.01
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        assert abs(np.argmax(spec) * 8000 / x.size - f) < 1.0
    ds = CropDataset(st, split="train")
    spec, target = ds[0]
    assert spec.shape == (1, 129, 200) and target.shape == (13,) and target.sum() == 2


def test_resampling_is_anti_aliased(tmp_path):
    """A 5 kHz tone at 48 kHz lies above the 4 kHz Nyquist of 8 kHz: it must vanish, not fold to 3 kHz."""
    sf.write(str(tmp_path / "hi.flac"), _tone(48000, 2.0, f=5000.0), 48000)
    y, _ = A.load_clip(tmp_path / "hi.flac")
    decimated = _tone(48000, 2.0, f=5000.0)[::6]            # the naive way: keep every 6th sample
    assert np.sqrt(np.mean(decimated ** 2)) > 0.3            # aliased to a full-strength 3 kHz tone
    assert np.sqrt(np.mean(y[800:-800] ** 2)) < 0.01         # the proper resampler removed it


def test_pack_rejects_bad_split_name(tmp_path, fake_audioset):
    splits, labels = fake_audioset
    with pytest.raises(ValueError, match="split must be"):
        A.pack({"test": splits["eval"]}, labels, tmp_path / "x.h5", progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_cli_local_source_end_to_end(tmp_path, fake_audioset, meta, capsys, monkeypatch):
    from neuralogram.cli import main

    splits, _ = fake_audioset
    local = tmp_path / "local"
    local.mkdir()
    for folder in (splits["train"][1], splits["eval"][1]):
        for p in folder.iterdir():
            (local / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    # the fixture metadata is not the published files: the command must refuse it (hash check) ...
    args = ["data", "audioset", "--source", "local", "--local-dir", str(local), "--out", str(out),
            "--metadata-dir", str(meta), "--workers", "1"]
    assert main(args) == 2                       # one line, status 2 (issue 9)
    assert "neuralogram data audioset: error: " in capsys.readouterr().err
    # ... and accept it once the known hashes are lifted
    monkeypatch.setattr(D, "OFFICIAL_FILES", {k: (url, None) for k, (url, _) in D.OFFICIAL_FILES.items()})
    rc = main(args)
    assert rc == 0
    printed = capsys.readouterr().out
    assert "balanced_train_segments.csv (local): 6 of 6 clips available" in printed
    assert "eval_segments.csv (local): 2 of 3 clips available" in printed and "1 missing" in printed
    stores = list(out.glob("audioset-balanced-8k-*.h5"))
    assert len(stores) == 1 and len(PackedStore(stores[0])) == 3
    dl = json.loads((out / "download_report.json").read_text())
    assert dl["splits"]["eval"]["missing"] == ["--U7joUcTCo"]


def test_cli_preflight_names_the_missing_tool(tmp_path, monkeypatch):
    import importlib.util
    import shutil

    from neuralogram.cli import main

    monkeypatch.setattr(shutil, "which", lambda name: None)
    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("yt_dlp", "datasets") else real_find(name, *a))
    with pytest.raises(SystemExit, match="yt-dlp"):
        main(["data", "audioset", "--source", "youtube", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="datasets"):
        main(["data", "audioset", "--source", "huggingface", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--local-dir"):
        main(["data", "audioset", "--source", "local", "--out", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []      # nothing fetched or written before the check


def test_find_audio_naming_rules(tmp_path):
    for name in ["abcdefghijk.wav", "abcdefghijk.flac", "-_x-_x-_x-1_30000.ogg", "zzzzzzzzzzz.txt",
                 ".abcdefghij2.flac", "[weird]name.flac"]:
        (tmp_path / name).write_bytes(b"")
    assert A.find_audio(tmp_path, "abcdefghijk").name == "abcdefghijk.flac"       # FLAC preferred
    assert A.find_audio(tmp_path, "-_x-_x-_x-1").name == "-_x-_x-_x-1_30000.ogg"  # <YTID>_<start> form
    assert A.find_audio(tmp_path, "zzzzzzzzzzz") is None                          # not audio
    assert A.find_audio(tmp_path, "abcdefghij2") is None                          # hidden temp file
    index = D._index_folder(tmp_path)
    assert {k: v.name for k, v in index.items()} == {"abcdefghijk": "abcdefghijk.flac",
                                                       "-_x-_x-_x-1": "-_x-_x-_x-1_30000.ogg"}
