"""The offline stand-in corpus: every synthesised class (length, level, finite, seed-dependent, and a cheap
measurement that it sounds like its name), SoundFont renders, espeak-ng speech across fresh processes, the label
table against the real AudioSet file, byte-reproducible generation (any number of workers), the packed store, the
Dataset, the CLI and the refusals of bad parameters.

Generation is kept small (24 clips of 2 s) so the file runs in well under a minute on 2 cores.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import signal as sig

from neuralogram.data.standin import corpus, soundfont, speech, synth
from neuralogram.data.store import CropDataset, PackedStore, balanced_sampler

SR = 8000
ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "audioset"


def _power_spectrum(y, sr=SR):
    """Hann-windowed power spectrum of the whole signal (frequency resolution sr / len(y))."""
    X = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    return np.fft.rfftfreq(len(y), 1 / sr), X


def _fraction_near(f, X, freqs, tol):
    """Fraction of the power within ``tol`` Hz of any of ``freqs``."""
    near = np.zeros(f.shape, bool)
    for q in freqs:
        near |= np.abs(f - q) <= tol
    return X[near].sum() / X.sum()


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- synthesised classes: generic properties
@pytest.mark.parametrize("name", sorted(synth.SYNTH_CLASSES))
def test_synth_class_is_finite_unit_rms_right_length(name):
    for sr, duration in ((8000, 2.0), (16000, 1.5)):
        y = synth.synthesize(name, duration=duration, sr=sr, seed=3)
        assert y.dtype == np.float32 and y.shape == (int(round(duration * sr)),)
        assert np.isfinite(y).all()
        assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("name", sorted(synth.SYNTH_CLASSES))
def test_synth_class_is_deterministic_and_depends_on_the_seed(name):
    a = synth.synthesize(name, duration=2.0, seed=0)
    np.testing.assert_array_equal(a, synth.synthesize(name, duration=2.0, seed=0))
    others = [synth.synthesize(name, duration=2.0, seed=s) for s in (1, 2, 3, 4)]
    # A North-American dial tone is one fixed signal (350 + 440 Hz), so two seeds that both pick it agree;
    # among five seeds at least one must differ.
    assert any(not np.array_equal(a, b) for b in others)
    if name != "dial":
        assert not np.array_equal(a, others[0])


def test_synth_labels_are_audioset_labels_of_the_corpus():
    for name, (fn, labels) in synth.SYNTH_CLASSES.items():
        assert callable(fn) and labels, name
        assert set(labels) <= set(corpus.LABELS), name


# ---------------------------------------------------------------- synthesised classes: sound like their name
@pytest.mark.parametrize("seed", range(6))
def test_dial_tone_is_350_plus_440_or_one_european_tone(seed):
    f, X = _power_spectrum(synth.synthesize("dial", duration=4.0, seed=seed))
    us = _fraction_near(f, X, [350, 440], 3)
    eu = _fraction_near(f, X, [400, 425, 450], 3)
    assert max(us, eu) > 0.99
    if us > 0.99:   # both tones present, equally strong
        assert X[np.abs(f - 350) <= 3].sum() == pytest.approx(X[np.abs(f - 440) <= 3].sum(), rel=0.05)


def test_dial_tone_variants_both_occur():
    kinds = {_fraction_near(*_power_spectrum(synth.synthesize("dial", duration=2.0, seed=s)), [350, 440], 3) > 0.9
             for s in range(8)}
    assert kinds == {True, False}


@pytest.mark.parametrize("seed", range(4))
def test_busy_signal_is_half_on_half_off_once_a_second(seed):
    y = synth.synthesize("busy", duration=4.0, seed=seed)
    f, X = _power_spectrum(y)
    assert _fraction_near(f, X, [480, 620, 425], 3) > 0.9
    env = np.sqrt(np.mean(y.reshape(-1, 80) ** 2, axis=1))          # 10 ms frames
    assert (env > 0.5 * env.max()).mean() == pytest.approx(0.5, abs=0.05)
    e = env - env.mean()
    ac = np.correlate(e, e, "full")[len(e) - 1:]
    lag = 50 + int(np.argmax(ac[50:150]))                              # search 0.5 .. 1.5 s
    assert lag * 0.01 == pytest.approx(1.0, abs=0.03)                  # 0.5 s on + 0.5 s off
    assert ac[50] < 0                                                  # half a period later: the opposite state


@pytest.mark.parametrize("seed", range(4))
def test_dtmf_energy_is_at_dtmf_frequencies(seed):
    f, X = _power_spectrum(synth.synthesize("dtmf", duration=4.0, seed=seed))
    # tone bursts of 60-150 ms spread each line over about +-15 Hz
    assert _fraction_near(f, X, [697, 770, 852, 941, 1209, 1336, 1477], 20) > 0.9
    low = X[(f > 650) & (f < 1000)].sum()
    high = X[(f > 1150) & (f < 1550)].sum()
    assert low == pytest.approx(high, rel=0.3)                        # one low and one high tone per key


@pytest.mark.parametrize("seed", range(4))
def test_sine_wave_is_a_single_peak(seed):
    f, X = _power_spectrum(synth.synthesize("sine", duration=4.0, seed=seed))
    k = int(np.argmax(X))
    assert 80 <= f[k] <= 3600
    assert X[max(0, k - 3):k + 4].sum() / X.sum() > 0.999


@pytest.mark.parametrize("seed", range(4))
def test_heart_sounds_are_below_200_hz(seed):
    f, X = _power_spectrum(synth.synthesize("heart", duration=4.0, seed=seed))
    assert X[f < 200].sum() / X.sum() > 0.95


@pytest.mark.parametrize("seed", range(6))
def test_siren_frequency_moves(seed):
    y = synth.synthesize("siren", duration=4.0, seed=seed)
    ff, _, Z = sig.stft(y, SR, nperseg=512, noverlap=384)
    band = (ff > 300) & (ff < 2000)
    track = ff[band][np.argmax(np.abs(Z[band]), axis=0)]            # the fundamental, frame by frame
    lo, hi = np.percentile(track, [5, 95])
    assert hi - lo > 250 and 450 < lo and hi < 1800


@pytest.mark.parametrize("seed", range(3))
def test_hum_is_harmonics_of_50_or_60_hz(seed):
    f, X = _power_spectrum(synth.synthesize("hum", duration=4.0, seed=seed))
    assert max(_fraction_near(f, X, np.arange(50, 600, 50), 2), _fraction_near(f, X, np.arange(60, 720, 60), 2)) > 0.99


def test_noise_colours_and_smoke_detector_pitch():
    f, X = _power_spectrum(synth.synthesize("white", duration=4.0, seed=0))
    bands = [X[(f >= a) & (f < a + 500)].mean() for a in range(250, 3750, 500)]
    assert max(bands) / min(bands) < 1.3                               # flat
    for seed in range(3):
        f, P = sig.welch(synth.synthesize("pink", duration=4.0, seed=seed), SR, nperseg=2048)
        band = (f >= 50) & (f <= 3500)
        slope = np.polyfit(np.log2(f[band]), np.log2(P[band]), 1)[0]
        assert slope == pytest.approx(-1.0, abs=0.1)                   # 1/f: -3 dB per octave
    f, X = _power_spectrum(synth.synthesize("smoke", duration=4.0, seed=0))
    assert 2900 <= f[np.argmax(X)] <= 3400


# ---------------------------------------------------------------- SoundFont instruments
@pytest.mark.parametrize("name", sorted(soundfont.INSTRUMENTS))
def test_soundfont_render_is_deterministic_and_not_silent(name):
    a = soundfont.render_instrument(name, np.random.default_rng([7, 1]), duration=2.0, sr=SR)
    b = soundfont.render_instrument(name, np.random.default_rng([7, 1]), duration=2.0, sr=SR)
    assert a.dtype == np.float32 and a.shape == (2 * SR,) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert np.sqrt(np.mean(a ** 2)) > 1e-3 and np.abs(a).max() <= 1.0
    c = soundfont.render_instrument(name, np.random.default_rng([7, 2]), duration=2.0, sr=SR)
    assert not np.array_equal(a, c)


def test_soundfont_refuses_unknown_instrument_and_bad_duration():
    with pytest.raises(ValueError, match="unknown instrument"):
        soundfont.random_part("kazoo", np.random.default_rng(0), duration=2.0)
    pm = soundfont.random_part("piano", np.random.default_rng(0), duration=1.0)
    with pytest.raises(ValueError, match="duration"):
        soundfont.render_midi(pm, duration=0.0)


# ---------------------------------------------------------------- espeak-ng speech
_SPEAK = """
import hashlib
from neuralogram.data.standin.speech import Speaker, speak
for v in ("m3", "f1", "zac"):
    y = speak("the house is very old and the garden is green", Speaker("en", v, rate=170), sr=22050)
    print(v, y.size, hashlib.sha256(y.tobytes()).hexdigest())
"""


@pytest.mark.skipif(not speech.available(), reason="espeak-ng (espeakng-loader) not installed")
def test_speech_is_deterministic_across_fresh_processes():
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", _SPEAK], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    lines = [o[0].split("\n") for o in outs]
    assert lines[0] == lines[1]
    for row in lines[0][:3]:
        v, n, _ = row.split()
        assert int(n) > 22050, f"{v}: under a second of speech"


@pytest.mark.skipif(not speech.available(), reason="espeak-ng (espeakng-loader) not installed")
def test_speech_output_and_refusals():
    y = speech.speak("one two three", speech.Speaker("de", "f4"), sr=SR)
    assert y.dtype == np.float32 and np.isfinite(y).all() and y.size > 0.3 * SR
    assert 0.01 < np.abs(y).max() <= 1.0
    for bad in ("", "   ", None):
        with pytest.raises(ValueError, match="non-empty"):
            speech.speak(bad)
    with pytest.raises(ValueError, match="no voice"):
        speech.speak("hello", speech.Speaker("xx", "m3"))
    with pytest.raises(ValueError, match="unknown language"):
        speech.random_sentence(np.random.default_rng(0), "tlh")


def test_speakers_cover_the_three_speech_labels():
    kinds = {s.kind for s in speech.SPEAKERS}
    assert kinds == {"male", "female", "child"}
    assert speech.Speaker("en", "f1", pitch=95).kind == "child" and speech.Speaker("en", "f1").kind == "female"
    assert speech.Speaker("en", "m1").kind == "male"


# ---------------------------------------------------------------- the label table
def test_label_table_is_consistent():
    names = corpus.label_names()
    assert len(names) == len(set(names)) == 48 >= 30
    assert corpus.label_mids() == [corpus.LABELS[n] for n in names]
    assert len(set(corpus.label_mids())) == 48
    used = {lab for _, labs in corpus.SOURCES.values() for lab in labs} | set(corpus._SPEECH_LABELS.values())
    assert used == set(names)                                    # every label is reachable, none is unknown
    assert {fam for fam, _ in corpus.SOURCES.values()} == set(corpus.FAMILY_WEIGHTS)


@pytest.mark.skipif(not (REAL / "class_labels_indices.csv").is_file(),
                    reason=f"real AudioSet label file not available at {REAL}")
def test_label_mids_match_the_real_audioset_label_file():
    from neuralogram.data.audioset import read_labels

    real = {lab.name: lab.mid for lab in read_labels(REAL / "class_labels_indices.csv")}
    assert len(real) == 527
    wrong = {n: (m, real.get(n)) for n, m in corpus.LABELS.items() if real.get(n) != m}
    assert not wrong, f"display name -> (ours, AudioSet's) mid: {wrong}"


# ---------------------------------------------------------------- generation: reproducible to the byte
N_CLIPS, SEED, SECONDS = 24, 5, 2.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The same 24-clip corpus made twice, cut into blocks of 12 clips (each block in a fresh process): with
    1 worker (the blocks one after the other) and through the command line ``neuralogram data standin -o``
    with 2 workers (the blocks side by side)."""
    from neuralogram import cli

    d = tmp_path_factory.mktemp("standin")
    mp = pytest.MonkeyPatch()
    # Blocks are cut in the parent process, so this splits the work. The block length itself is part of the
    # recipe (espeak-ng carries state from one utterance to the next within a process), which is why
    # corpus.BLOCK is a fixed constant: the same corpus cut into blocks of 24 differs in a speech clip.
    mp.setattr(corpus, "BLOCK", 12)
    try:
        a = corpus.generate_standin(d / "w1.h5", n_clips=N_CLIPS, seed=SEED, clip_seconds=SECONDS,
                                    workers=1, progress=False)
        mp.setattr(corpus.os, "cpu_count", lambda: 2)                  # the CLI uses every CPU
        assert cli.main(["data", "standin", "--clips", str(N_CLIPS), "--seed", str(SEED),
                         "--seconds", str(SECONDS), "-o", str(d / "cli.h5")]) == 0
    finally:
        mp.undo()
    return {"w1": a, "w2": d / "cli.h5"}


def test_same_seed_same_bytes_whatever_the_workers(generated):
    digests = {k: _sha256(p) for k, p in generated.items()}
    assert digests["w1"] == digests["w2"]
    assert PackedStore(generated["w2"]).params["seed"] == SEED


def test_store_contents_match_make_clip(generated):
    store = PackedStore(generated["w1"])
    assert len(store) == N_CLIPS and store.sr == SR and store.source == "standin"
    assert store.label_names == corpus.label_names() and store.label_mids == corpus.label_mids()
    assert store.params == corpus.standin_params(n_clips=N_CLIPS, seed=SEED, clip_seconds=SECONDS)
    assert store.clip_ids[:2] == ["standin-000000", "standin-000001"]
    assert list(store.indices("eval")) == [9, 19] and len(store.indices("train")) == 22
    n_compared = 0
    for i in range(N_CLIPS):
        audio, labels, sources = corpus.make_clip(SEED, i, clip_seconds=SECONDS)
        assert sorted(store.clip_names(i)) == sorted(labels), i
        x = store.clip(i)
        assert x.shape == (int(SECONDS * SR),) and np.abs(x).max() > 0.09
        # espeak-ng's voices depend slightly on what this process said before (hence fresh processes in
        # generate_standin); clips without speech must match sample for sample.
        if all(s["family"] != "speech" for s in sources):
            pcm = np.round(np.clip(audio, -1.0, 32767 / 32768) * 32768) / 32768
            np.testing.assert_array_equal(x, pcm.astype(np.float32))
            n_compared += 1
    assert n_compared >= 5


def test_regenerate_clip_is_the_stored_clip_even_with_speech(generated, monkeypatch):
    """make_clip in this process misses some speech clips (espeak-ng remembers what it said before);
    regenerate_clip replays the clip's block in a fresh process and gets every sample right."""
    store = PackedStore(generated["w1"])
    monkeypatch.setattr(corpus, "BLOCK", 12)                    # the blocks the fixture's corpus was cut into

    def pcm(audio):
        return (np.round(np.clip(audio, -1.0, 32767 / 32768) * 32768) / 32768).astype(np.float32)

    missed, plain = {}, []                      # block -> last speech clip make_clip gets wrong; clips without speech
    for i in range(N_CLIPS):
        audio, _, sources = corpus.make_clip(SEED, i, clip_seconds=SECONDS)
        if all(s["family"] != "speech" for s in sources):
            plain.append(i)
        elif not np.array_equal(pcm(audio), store.clip(i)):
            missed[i // 12] = i
    assert missed, "no speech clip differs: the test would not show anything"
    for i in [*missed.values(), plain[0]]:                      # a clip without speech is made here, no replay
        audio, labels, sources = corpus.regenerate_clip(SEED, i, clip_seconds=SECONDS)
        np.testing.assert_array_equal(pcm(audio), store.clip(i), err_msg=f"clip {i}")
        assert sorted(labels) == sorted(store.clip_names(i))


def test_make_clip_labels_and_sources():
    for i in range(12):
        audio, labels, sources = corpus.make_clip(1, i, clip_seconds=2.0)
        assert audio.dtype == np.float32 and audio.shape == (16000,) and np.isfinite(audio).all()
        assert 0.1 - 1e-6 <= np.abs(audio).max() <= 0.9 + 1e-6
        assert 1 <= len(sources) <= 3 and len({s["name"] for s in sources}) == len(sources)
        assert len(labels) == len(set(labels)) and set(labels) <= set(corpus.LABELS)
        for s in sources:
            fam, labs = corpus.SOURCES[s["name"]]
            assert s["family"] == fam
            if fam == "speech":
                assert "Speech" in labels and any(lab in labels for lab in corpus._SPEECH_LABELS.values())
            else:
                assert set(labs) <= set(labels)
    a = corpus.make_clip(1, 3, clip_seconds=2.0, max_sources=1)
    assert len(a[2]) == 1


def test_crop_dataset_and_balanced_sampler_serve_the_standin(generated):
    store = PackedStore(generated["w2"])
    train = CropDataset(store, split="train", random_crop=True, seed=0)
    spec, target = train[0]
    assert spec.shape == (1, 129, 200) and torch.isfinite(spec).all()
    assert target.shape == (48,) and target.dtype == torch.float32
    np.testing.assert_array_equal(target.numpy(), store.labels[train.idx[0]])
    again = CropDataset(store, split="train", random_crop=True, seed=0)
    torch.testing.assert_close(again[0][0], spec)                     # a crop depends on (seed, epoch, index)
    ev = CropDataset(store, split="eval", random_crop=False)
    assert len(ev) == 2 and len(train) == 22
    torch.testing.assert_close(ev[1][0], ev[1][0])
    sampler = balanced_sampler(train, num_samples=200, generator=torch.Generator().manual_seed(0))
    drawn = list(sampler)
    assert len(drawn) == 200 and set(drawn) <= set(range(len(train)))
    loader = torch.utils.data.DataLoader(train, batch_size=4, sampler=sampler)
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 129, 200) and y.shape == (4, 48)


def test_standin_corpus_is_cached_by_parameters(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURALOGRAM_CACHE", str(tmp_path))
    p = corpus.standin_path(n_clips=N_CLIPS, seed=SEED, clip_seconds=SECONDS)
    assert p.parent == tmp_path / "corpora" and not p.exists()
    assert p != corpus.standin_path(n_clips=N_CLIPS, seed=SEED + 1, clip_seconds=SECONDS)
    assert p != corpus.standin_path(n_clips=N_CLIPS, seed=SEED, clip_seconds=3.0)


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("kwargs, msg", [
    ({"n_clips": 1}, "n_clips"), ({"n_clips": 2.5}, "n_clips"), ({"n_clips": 0}, "n_clips"),
    ({"clip_seconds": 1.0}, "clip_seconds"), ({"clip_seconds": float("nan")}, "clip_seconds"),
])
def test_generate_standin_refuses_bad_parameters(tmp_path, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        corpus.generate_standin(tmp_path / "x.h5", progress=False, **kwargs)
    assert not (tmp_path / "x.h5").exists()


def test_synthesize_refuses_bad_parameters():
    with pytest.raises(ValueError, match="unknown synthesised class"):
        synth.synthesize("theremin", duration=1.0)
    for d in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="duration"):
            synth.synthesize("sine", duration=d)


def test_crop_top_db_never_serves_a_crop_of_silence(tmp_path):
    """A 5 s clip: 0.5 s of a tone at 3 s, digital silence elsewhere. Plain random crops often miss the tone;
    with top_db=20 every crop holds it (and a steady clip is cropped as before: every start qualifies)."""
    from neuralogram.data.store import Clip, write_store

    sr, n = 8000, 40000
    event = np.zeros(n, np.float32)
    event[24000:28000] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(4000) / sr)
    steady = (0.1 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    p = write_store(tmp_path / "c.h5", [Clip("event", event, [0], "train"), Clip("steady", steady, [1], "train")],
                    label_mids=["/m/a", "/m/b"], label_names=["a", "b"], source="test")
    store = PackedStore(p)
    crop = 16000

    def starts(ds, j):
        out = []
        for e in range(40):
            ds.set_epoch(e)
            x = ds.crop_audio(j)
            out.append(float(np.sum(x.astype(np.float64) ** 2)))
        return np.array(out)

    plain = CropDataset(store, split="train", seed=0)
    loud = CropDataset(store, split="train", seed=0, top_db=20)
    full = float(np.sum(event.astype(np.float64) ** 2))
    assert (starts(plain, 0) < 0.01 * full).sum() >= 5            # plain crops miss the tone (about 1 in 3)
    assert (starts(loud, 0) >= 0.01 * full).all()                  # never 20 dB below the loudest crop
    assert np.ptp(starts(loud, 1)) > 0                                        # the steady clip is still cropped at random
    again = CropDataset(store, split="train", seed=0, top_db=20)
    again.set_epoch(3), loud.set_epoch(3)
    np.testing.assert_array_equal(again.crop_audio(0), loud.crop_audio(0))   # reproducible per (seed, epoch, j)
    with pytest.raises(ValueError, match="top_db"):
        CropDataset(store, split="train", top_db=-5)
