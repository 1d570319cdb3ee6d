"""Synthesised sound classes that AudioSet names, each made to sound like its name.

Every generator has the signature ``f(rng, n, sr) -> float32 array of n samples`` and returns a sound normalised
to unit RMS; the stand-in corpus (:mod:`neuralogram.corpus`) mixes them with sampled instruments and speech.
The table :data:`SYNTH_CLASSES` maps each generator to its AudioSet display names.

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import numpy as np
from scipy import signal as _sig

from ...audio import PAPER_SR

__all__ = ["SYNTH_CLASSES", "synthesize"]


def _t(n, sr):
    return np.arange(n) / sr


def _norm(x):
    x = np.asarray(x, dtype=np.float64)
    r = np.sqrt(np.mean(x ** 2))
    return (x / r if r > 0 else x).astype(np.float32)


def _osc(phase, shape="sine"):
    """A periodic waveform of the cumulative ``phase`` (in cycles)."""
    p = phase % 1.0
    if shape == "sine":
        return np.sin(2 * np.pi * phase)
    if shape == "square":
        return np.sign(np.sin(2 * np.pi * phase))
    if shape == "saw":
        return 2 * p - 1
    if shape == "triangle":
        return 2 * np.abs(2 * p - 1) - 1
    raise ValueError(f"unknown waveform {shape!r}")


def _phase(freq, sr):
    """Cumulative phase (cycles) of a frequency track in Hz."""
    return np.cumsum(np.broadcast_to(freq, np.shape(freq)) / sr)


def _band_limit(x, sr, f_hi=3800.0):
    """Keep waveforms with sharp edges below Nyquist (naive square/saw waves alias)."""
    sos = _sig.butter(6, min(f_hi, 0.95 * sr / 2), "low", fs=sr, output="sos")
    return _sig.sosfilt(sos, x)


def _gate(n, sr, on, off, start=0.0):
    """1 during ``on`` seconds, 0 during ``off`` seconds, repeated, with 5 ms ramps."""
    t = _t(n, sr) + start
    period = on + off
    g = ((t % period) < on).astype(np.float64)
    k = max(1, int(0.005 * sr))
    return np.convolve(g, np.ones(k) / k, mode="same")


def _events(rng, n, sr, rate, min_gap=0.0):
    """Sample positions of a Poisson process of ``rate`` events per second."""
    times, t = [], rng.exponential(1 / rate)
    dur = n / sr
    while t < dur:
        times.append(t)
        t += max(min_gap, rng.exponential(1 / rate))
    return (np.asarray(times) * sr).astype(int)


def _place(n, positions, grain):
    out = np.zeros(n + len(grain))
    for p in positions:
        if 0 <= p < n:
            out[p:p + len(grain)] += grain
    return out[:n]


def sine_wave(rng, n, sr):
    f = rng.uniform(80, 3600)
    return _norm(_osc(_phase(np.full(n, f), sr) + rng.uniform()))


def white_noise(rng, n, sr):
    return _norm(rng.standard_normal(n))


def pink_noise(rng, n, sr):
    X = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    X[1:] /= np.sqrt(f[1:])
    X[0] = 0
    return _norm(np.fft.irfft(X, n))


def siren(rng, n, sr):
    t = _t(n, sr)
    kind = rng.choice(["wail", "yelp", "hi-lo"])
    lo, hi = rng.uniform(500, 800), rng.uniform(1100, 1700)
    if kind == "wail":
        rate = rng.uniform(0.2, 0.5)
        f = lo + (hi - lo) * (0.5 - 0.5 * np.cos(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    elif kind == "yelp":
        rate = rng.uniform(2.5, 4.5)
        f = lo + (hi - lo) * ((rate * t + rng.uniform()) % 1.0)
    else:
        f = np.where(((t * rng.uniform(0.8, 1.5)) % 1.0) < 0.5, lo, hi)
    return _norm(_band_limit(_osc(_phase(f, sr), rng.choice(["square", "saw", "triangle"])), sr))


def beep(rng, n, sr):
    f = rng.uniform(800, 3200)
    dur = rng.uniform(0.05, 0.25)
    gap = rng.uniform(0.1, 0.8)
    x = _osc(_phase(np.full(n, f), sr), rng.choice(["sine", "square"]))
    return _norm(_band_limit(x * _gate(n, sr, dur, gap, rng.uniform(0, dur + gap)), sr))


def _click(rng, sr, f, decay):
    m = int(0.03 * sr)
    t = _t(m, sr)
    return np.sin(2 * np.pi * f * t) * np.exp(-t / decay) + 0.3 * rng.standard_normal(m) * np.exp(-t / (decay / 3))


def tick(rng, n, sr):
    period = rng.uniform(0.25, 1.0)
    g = _click(rng, sr, rng.uniform(1500, 3500), rng.uniform(0.001, 0.004))
    pos = (np.arange(0, n / sr, period) + rng.uniform(0, period)) * sr
    return _norm(_place(n, pos.astype(int), g))


def tick_tock(rng, n, sr):
    period = rng.uniform(0.45, 0.6)
    f = rng.uniform(1500, 3000)
    g1 = _click(rng, sr, f, 0.003)
    g2 = _click(rng, sr, f * rng.uniform(0.6, 0.8), 0.003)
    off = rng.uniform(0, 2 * period)
    pos = np.arange(0, n / sr + 2 * period, period) - off
    out = np.zeros(n)
    for i, p in enumerate(pos):
        if p >= 0:
            out += _place(n, [int(p * sr)], g1 if i % 2 == 0 else g2)
    return _norm(out)


def buzz(rng, n, sr):
    t = _t(n, sr)
    f0 = rng.uniform(90, 250) * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(3, 8) * t))
    x = _osc(_phase(f0, sr), "saw")
    am = 1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t)
    return _norm(_band_limit(x * am, sr))


def hum(rng, n, sr):
    base = rng.choice([50.0, 60.0])
    t = _t(n, sr)
    x = sum(np.sin(2 * np.pi * k * base * t + rng.uniform(0, 2 * np.pi)) / k ** rng.uniform(0.5, 1.5)
            for k in range(1, 12))
    return _norm(x + 0.02 * rng.standard_normal(n))


def dial_tone(rng, n, sr):
    t = _t(n, sr)
    if rng.uniform() < 0.5:
        x = np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)          # North America
    else:
        x = np.sin(2 * np.pi * rng.choice([400.0, 425.0, 450.0]) * t)            # most of Europe
    return _norm(x)


def busy_signal(rng, n, sr):
    t = _t(n, sr)
    if rng.uniform() < 0.5:
        x = (np.sin(2 * np.pi * 480 * t) + np.sin(2 * np.pi * 620 * t)) * _gate(n, sr, 0.5, 0.5, rng.uniform(0, 1))
    else:
        x = np.sin(2 * np.pi * 425 * t) * _gate(n, sr, 0.5, 0.5, rng.uniform(0, 1))
    return _norm(x)


_DTMF_LOW, _DTMF_HIGH = [697, 770, 852, 941], [1209, 1336, 1477]


def dtmf(rng, n, sr):
    out = np.zeros(n)
    pos = int(rng.uniform(0, 0.2) * sr)
    while pos < n:
        on, off = int(rng.uniform(0.06, 0.15) * sr), int(rng.uniform(0.05, 0.3) * sr)
        t = _t(on, sr)
        tone = np.sin(2 * np.pi * rng.choice(_DTMF_LOW) * t) + np.sin(2 * np.pi * rng.choice(_DTMF_HIGH) * t)
        seg = tone[: max(0, n - pos)]
        out[pos:pos + len(seg)] = seg
        pos += on + off
    return _norm(out)


def whistle(rng, n, sr):
    t = _t(n, sr)
    # a melody of glides between notes, with vibrato and breath noise
    n_notes = max(2, int(n / sr * rng.uniform(1.5, 4)))
    notes = rng.uniform(900, 2800, n_notes)
    idx = np.minimum((t / (n / sr) * n_notes).astype(int), n_notes - 1)
    f = np.convolve(notes[idx], np.ones(int(0.04 * sr)) / int(0.04 * sr), mode="same")
    f[: int(0.04 * sr)] = notes[0]
    f[-int(0.04 * sr):] = notes[-1]
    f *= 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 7) * t)
    x = np.sin(2 * np.pi * _phase(f, sr))
    b, a = _sig.butter(2, [800, 3500], "band", fs=sr)
    return _norm(x + 0.08 * _sig.lfilter(b, a, rng.standard_normal(n)))


def engine(rng, n, sr):
    t = _t(n, sr)
    rpm = rng.uniform(700, 3000) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    fire = rpm / 60 * rng.choice([2, 3, 4]) / 2                               # firing rate (Hz)
    ph = _phase(fire, sr)
    pulses = np.exp(-((ph % 1.0) * 8)) * (1 + 0.3 * rng.standard_normal(n))
    b, a = _sig.butter(2, rng.uniform(300, 900), "low", fs=sr)
    rumble = _sig.lfilter(b, a, pulses + 0.5 * rng.standard_normal(n) * (ph % 1.0 < 0.3))
    return _norm(rumble)


def heartbeat(rng, n, sr):
    bpm = rng.uniform(50, 120)
    period = 60 / bpm

    def thump(f, dur):
        m = int(dur * sr)
        tt = _t(m, sr)
        return np.sin(2 * np.pi * f * tt) * np.sin(np.pi * tt / dur) ** 2

    lub, dub = thump(rng.uniform(40, 70), 0.12), thump(rng.uniform(60, 100), 0.09)
    gap = int(rng.uniform(0.25, 0.35) * period * sr)
    starts = ((np.arange(0, n / sr + period, period) + rng.uniform(0, period)) * sr).astype(int) - int(period * sr)
    out = np.zeros(n + 2 * sr)
    for s in starts:
        if s >= 0:
            out[s:s + len(lub)] += lub
        if s + gap >= 0:
            out[s + gap:s + gap + len(dub)] += 0.7 * dub
    return _norm(out[:n] + 0.01 * rng.standard_normal(n))


def telephone_bell(rng, n, sr):
    t = _t(n, sr)
    partials = rng.uniform(900, 1100) * np.array([1.0, 2.76, 5.4])
    tone = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate(partials))
    clapper = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * rng.uniform(15, 25) * t))
    ring = _gate(n, sr, rng.uniform(1.0, 2.0), rng.uniform(0.5, 2.0), rng.uniform(0, 1))
    return _norm(tone * clapper * ring)


def smoke_detector(rng, n, sr):
    f = rng.uniform(2900, 3400)
    x = _band_limit(_osc(_phase(np.full(n, f), sr), "square"), sr)
    # temporal-3 pattern: three 0.5 s beeps, then 1.5 s of silence
    t = (_t(n, sr) + rng.uniform(0, 4)) % 4.0
    g = ((t < 3.0) & ((t % 1.0) < 0.5)).astype(float)
    return _norm(x * np.convolve(g, np.ones(40) / 40, mode="same"))


def chirp_tone(rng, n, sr):
    t = _t(n, sr)
    period = rng.uniform(0.2, 1.5)
    f0, f1 = sorted(rng.uniform(100, 3800, 2))
    if rng.uniform() < 0.5:
        f0, f1 = f1, f0
    f = f0 + (f1 - f0) * ((t / period + rng.uniform()) % 1.0)
    return _norm(np.sin(2 * np.pi * _phase(f, sr)))


def pulse(rng, n, sr):
    rate = np.exp(rng.uniform(np.log(2), np.log(40)))                   # pulses per second
    k = max(1, int(rng.uniform(0.0005, 0.003) * sr))
    g = np.ones(k)
    pos = (np.arange(0, n / sr, 1 / rate) + rng.uniform(0, 1 / rate)) * sr
    return _norm(_place(n, pos.astype(int), g))


def static(rng, n, sr):
    crackle = np.zeros(n)
    pos = _events(rng, n, sr, rng.uniform(20, 150))
    crackle[pos] = rng.standard_normal(len(pos)) * rng.uniform(2, 8)
    b, a = _sig.butter(2, [300, 3800], "band", fs=sr)
    return _norm(_sig.lfilter(b, a, crackle + 0.3 * rng.standard_normal(n)))


def car_horn(rng, n, sr):
    fs = rng.uniform(350, 450) * np.array([1.0, rng.uniform(1.2, 1.3)])
    x = sum(_osc(_phase(np.full(n, f), sr), "saw") for f in fs)
    on = rng.uniform(0.3, 1.5)
    return _norm(_band_limit(x * _gate(n, sr, on, rng.uniform(0.2, 0.8), rng.uniform(0, on)), sr))


#: name -> (generator, AudioSet display names it is labelled with). Display names are exactly those of
#: ``class_labels_indices.csv``; :data:`neuralogram.corpus.LABELS` holds their machine ids.
SYNTH_CLASSES = {
    "sine": (sine_wave, ["Sine wave"]),
    "white": (white_noise, ["White noise"]),
    "pink": (pink_noise, ["Pink noise"]),
    "siren": (siren, ["Siren"]),
    "beep": (beep, ["Beep, bleep"]),
    "tick": (tick, ["Tick"]),
    "ticktock": (tick_tock, ["Tick-tock", "Clock"]),
    "buzz": (buzz, ["Buzz"]),
    "hum": (hum, ["Hum", "Mains hum"]),
    "dial": (dial_tone, ["Dial tone"]),
    "busy": (busy_signal, ["Busy signal"]),
    "dtmf": (dtmf, ["Telephone dialing, DTMF"]),
    "whistle": (whistle, ["Whistle"]),
    "engine": (engine, ["Engine", "Idling"]),
    "heart": (heartbeat, ["Heart sounds, heartbeat"]),
    "bell": (telephone_bell, ["Telephone bell ringing"]),
    "smoke": (smoke_detector, ["Smoke detector, smoke alarm"]),
    "chirp": (chirp_tone, ["Chirp tone"]),
    "pulse": (pulse, ["Pulse"]),
    "static": (static, ["Static"]),
    "horn": (car_horn, ["Vehicle horn, car horn, honking"]),
}


def synthesize(name: str, *, duration: float, sr: int = PAPER_SR, seed: int = 0) -> np.ndarray:
    """One example of a synthesised class, unit RMS.

    Parameters
    ----------
    name : str
        A key of :data:`SYNTH_CLASSES` (``"siren"``, ``"dtmf"``, ...).
    duration : float
        Length in seconds.
    sr : int
        Sample rate in Hz.
    seed : int
        Seed of the example's random choices.

    Book: ``book/04_data.ipynb``.
    """
    if name not in SYNTH_CLASSES:
        raise ValueError(f"unknown synthesised class {name!r}; known: {sorted(SYNTH_CLASSES)}")
    if not duration > 0:
        raise ValueError(f"duration must be positive, got {duration}")
    n = int(round(duration * sr))
    return SYNTH_CLASSES[name][0](np.random.default_rng(seed), n, sr)
