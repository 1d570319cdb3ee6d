"""Realistic acoustics for clean clips: gain, a noise floor, rooms, band limits, short sounds, mixtures.

The stand-in corpus is studio-clean: every clip fills its 4 s, starts at full level, has no room and no noise.
Real recordings have all of these, and a network trained only on clean clips learns the clean acoustics
instead of the sounds (tags that swing with a -60 dB noise floor or with the silence around a word). An
:class:`Augmenter` gives a clip, deterministically for ``(seed, index)``:

================  ==============================================================  ==========================
step              what                                                            library
================  ==============================================================  ==========================
short sound       a 0.2-1.8 s segment placed at a random onset in a 2 s window    (slicing)
reverberation     convolution with a simulated room (bank of shoebox RIRs,        pyroomacoustics (ISM),
                  measured RT60 in ``rt60_range``, cached once)                   audiomentations
band-limiting     Butterworth low-pass (cut-off 0.8-3.5 kHz) or high-pass         audiomentations
                  (80-500 Hz)
noise floor       white or pink noise, or a real background recording (rain,      audiomentations
                  wind, crickets, engine, ... from the ESC-50 *training* split)
                  at a random SNR
gain              peak level drawn in dBFS (quiet to loud recordings)             audiomentations
mixture           :func:`mix` of two clips at a random relative level             (sum)
================  ==============================================================  ==========================

audiomentations draws from Python's ``random`` and NumPy's global generator; :class:`Augmenter` seeds both from
``(seed, index)`` around each call and restores them afterwards, so the output depends on the seed and the
clip index only, not on the order clips are made in or on what ran before.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import contextlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..cache import atomic_path, cache_dir, param_hash

__all__ = ["AugmentConfig", "Augmenter", "rir_bank", "measure_rt60", "mix", "place_short", "seeded",
           "snr_db"]


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of :class:`Augmenter` (stored with every corpus made with it).

    Parameters
    ----------
    p_short : float
        Probability that a clip becomes a short sound in a window of silence (then noise floor).
    short_seconds : (float, float)
        Length range of the short sound, in seconds.
    window_seconds : float
        Length of the window a short sound is placed in (the model's 2 s context).
    p_reverb : float
        Probability of convolving with a room impulse response from :func:`rir_bank`.
    rt60_range : (float, float)
        Measured reverberation time (T30-based RT60, seconds) of every RIR in the bank.
    n_rirs : int
        Size of the RIR bank.
    p_bandlimit : float
        Probability of a low-pass or (a third of the time) a high-pass filter.
    lowpass_hz, highpass_hz : (float, float)
        Cut-off ranges in Hz.
    p_noise : float
        Probability of a noise floor.
    p_background : float
        Of the noise floors, the fraction that are real background recordings (when some are given).
    snr_range : (float, float)
        Signal-to-noise ratio of the noise floor, in dB (RMS over the whole clip).
    label_background_below_db : float
        A real background added at an SNR below this (clearly audible) adds its labels to the clip.
    peak_dbfs : (float, float)
        Range of the output's peak level in dB full scale.
    mix_db : (float, float)
        Level of the second clip relative to the first in :func:`mix`, in dB (RMS).

    Book: ``book/14_real_world.ipynb``.
    """

    p_short: float = 0.3
    short_seconds: tuple = (0.2, 1.8)
    window_seconds: float = 2.0
    p_reverb: float = 0.5
    rt60_range: tuple = (0.1, 1.0)
    n_rirs: int = 48
    p_bandlimit: float = 0.35
    lowpass_hz: tuple = (800.0, 3500.0)
    highpass_hz: tuple = (80.0, 500.0)
    p_noise: float = 0.85
    p_background: float = 0.5
    snr_range: tuple = (3.0, 45.0)
    label_background_below_db: float = 15.0
    peak_dbfs: tuple = (-40.0, -1.0)
    mix_db: tuple = (-12.0, 0.0)

    def __post_init__(self):
        for name in ("p_short", "p_reverb", "p_bandlimit", "p_noise", "p_background"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"AugmentConfig.{name} must be a probability in [0, 1], got {v!r}")
        for name in ("short_seconds", "rt60_range", "lowpass_hz", "highpass_hz", "snr_range", "peak_dbfs",
                     "mix_db"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"AugmentConfig.{name} must be (low, high) with low <= high, got {(lo, hi)}")
        if self.short_seconds[1] > self.window_seconds:
            raise ValueError(f"short sounds ({self.short_seconds[1]} s) must fit in the window "
                             f"({self.window_seconds} s)")
        if self.peak_dbfs[1] > 0:
            raise ValueError(f"peak_dbfs must be <= 0 dBFS, got {self.peak_dbfs}")
        if self.rt60_range[0] <= 0:
            raise ValueError(f"rt60_range must be positive seconds, got {self.rt60_range}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# ---------------------------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def seeded(*key: int):
    """Seed Python's ``random`` and NumPy's global generator from ``key`` inside the block; restore after.

    audiomentations draws its parameters from these two global generators.

    Book: ``book/14_real_world.ipynb``.
    """
    state_py, state_np = random.getstate(), np.random.get_state()
    s = np.random.SeedSequence([int(k) for k in key]).generate_state(2)
    random.seed(int(s[0]))
    np.random.seed(int(s[1]))
    try:
        yield
    finally:
        random.setstate(state_py)
        np.random.set_state(state_np)


def _rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(x, np.float64))))) if len(x) else 0.0


def snr_db(clean, noisy) -> float:
    """Signal-to-noise ratio of ``noisy = clean + noise`` in dB (RMS of ``clean`` over RMS of the difference).

    Book: ``book/14_real_world.ipynb``.
    """
    clean, noisy = np.asarray(clean, np.float64), np.asarray(noisy, np.float64)
    if clean.shape != noisy.shape:
        raise ValueError(f"clean {clean.shape} and noisy {noisy.shape} differ in shape")
    return 20 * np.log10(_rms(clean) / max(_rms(noisy - clean), 1e-30))


def mix(a, b, rel_db: float) -> np.ndarray:
    """``a + b`` with ``b`` scaled to ``rel_db`` dB (RMS) relative to ``a``; the shorter is zero-padded.

    Parameters
    ----------
    a, b : np.ndarray [shape=(n,)]
        Mono audio at the same rate.
    rel_db : float
        Level of ``b`` relative to ``a`` in dB (negative: ``b`` is quieter).

    Returns
    -------
    np.ndarray, float32 [shape=(max(len(a), len(b)),)]

    Book: ``book/14_real_world.ipynb``.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 1 or b.ndim != 1 or not a.size or not b.size:
        raise ValueError(f"mix takes two non-empty 1-D signals, got shapes {a.shape} and {b.shape}")
    if not np.isfinite(rel_db):
        raise ValueError(f"rel_db must be finite, got {rel_db}")
    n = max(a.size, b.size)
    out = np.zeros(n)
    out[:a.size] += a
    ra, rb = _rms(a), _rms(b)
    if ra > 0 and rb > 0:
        out[:b.size] += b / rb * ra * 10 ** (rel_db / 20)
    return out.astype(np.float32)


def place_short(audio, *, sr: int, rng: np.random.Generator, seconds: float, window_seconds: float = 2.0,
                max_tries: int = 8):
    """Cut a ``seconds``-long segment out of ``audio`` and place it at a random onset in a silent window.

    The segment is drawn where the clip is not silent (its RMS at least a tenth of the clip's), so a short
    sound keeps the labels of the clip it came from.

    Returns
    -------
    out : np.ndarray, float32 [shape=(round(window_seconds * sr),)]
    onset_s : float
        Where the segment starts in the window, in seconds.

    Book: ``book/14_real_world.ipynb``.
    """
    x = np.asarray(audio, np.float32)
    n_win, n_seg = int(round(window_seconds * sr)), int(round(seconds * sr))
    if not 0 < n_seg <= n_win:
        raise ValueError(f"the segment ({seconds} s) must be positive and fit the window ({window_seconds} s)")
    n_seg = min(n_seg, x.size)
    ref = _rms(x)
    start = 0
    for _ in range(max_tries):
        start = int(rng.integers(0, x.size - n_seg + 1))
        if _rms(x[start:start + n_seg]) >= 0.1 * ref:
            break
    onset = int(rng.integers(0, n_win - n_seg + 1))
    out = np.zeros(n_win, np.float32)
    seg = x[start:start + n_seg].copy()
    fade = min(int(0.005 * sr), n_seg // 2)        # 5 ms fades: no click that a real onset would not have
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        seg[:fade] *= ramp
        seg[-fade:] *= ramp[::-1]
    out[onset:onset + n_seg] = seg
    return out, onset / sr


# ---------------------------------------------------------------------------------------------- rooms
def measure_rt60(rir, *, sr: int) -> float:
    """Reverberation time of an impulse response in seconds (Schroeder integration, T30 extrapolated to 60 dB).

    Book: ``book/14_real_world.ipynb``.
    """
    import pyroomacoustics as pra

    return float(pra.experimental.measure_rt60(np.asarray(rir, np.float64), fs=int(sr), decay_db=30))


def _simulate_rir(rng, rt60: float, sr: int) -> np.ndarray:
    import pyroomacoustics as pra

    dims = [rng.uniform(3.0, 10.0), rng.uniform(3.0, 8.0), rng.uniform(2.4, 4.0)]
    e_abs, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=sr, materials=pra.Material(e_abs), max_order=int(min(max_order, 60)))
    room.add_source([rng.uniform(0.5, d - 0.5) for d in dims])
    room.add_microphone([rng.uniform(0.5, d - 0.5) for d in dims])
    room.compute_rir()
    h = np.asarray(room.rir[0][0], np.float64)
    return (h / np.abs(h).max()).astype(np.float32)


def rir_bank(*, n: int = 48, rt60_range=(0.1, 1.0), sr: int = 8000, seed: int = 0, progress: bool = False):
    """A bank of simulated room impulse responses (shoebox rooms, image source method), cached.

    Rooms are 3-10 x 3-8 x 2.4-4 m with source and microphone at random places; each RIR's target RT60 is
    drawn in ``rt60_range`` and the RIR is kept only if its *measured* RT60 (:func:`measure_rt60`) lies in
    the range too (the image-source tail differs from Sabine's formula), so the whole bank is in range.

    Parameters
    ----------
    n : int
        Number of RIRs.
    rt60_range : (float, float)
        Reverberation times in seconds.
    sr : int
        Sample rate in Hz.
    seed : int

    Returns
    -------
    folder : Path
        ``rir_000.wav`` ... (float32 WAV at ``sr``, peak 1) and ``bank.json`` (target and measured RT60s),
        under ``$NEURALOGRAM_CACHE/rirs``; audiomentations' ``ApplyImpulseResponse`` reads it.

    Book: ``book/14_real_world.ipynb``.
    """
    import soundfile as sf
    from tqdm.auto import tqdm

    lo, hi = (float(v) for v in rt60_range)
    if not 0 < lo < hi:
        raise ValueError(f"rt60_range must be (low, high) seconds with 0 < low < high, got {rt60_range}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    params = {"n": int(n), "rt60_range": [lo, hi], "sr": int(sr), "seed": int(seed), "v": 1}
    folder = cache_dir("rirs") / f"bank-{param_hash(params)}"
    if (folder / "bank.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([int(seed), 0x5217])
    meta = []
    bar = tqdm(total=int(n), desc="RIR bank", disable=not progress)
    while len(meta) < n:
        target = float(rng.uniform(lo, hi))
        try:
            h = _simulate_rir(rng, target, int(sr))
        except ValueError:          # this room is too large for so short an RT60 (Sabine): draw another
            continue
        measured = measure_rt60(h, sr=sr)
        if not lo <= measured <= hi:
            continue
        name = f"rir_{len(meta):03d}.wav"
        with atomic_path(folder / name) as tmp:
            sf.write(tmp, h, int(sr), subtype="FLOAT", format="WAV")
        meta.append({"file": name, "rt60_target": round(target, 4), "rt60_measured": round(measured, 4),
                     "n_samples": int(h.size)})
        bar.update()
    bar.close()
    with atomic_path(folder / "bank.json") as tmp:
        tmp.write_text(json.dumps({"params": params, "rirs": meta}, indent=1))
    return folder


# ---------------------------------------------------------------------------------------------- augmenter
@dataclass
class Background:
    """A real background recording for the noise floor: its file and its labels (indices into a label space).

    Book: ``book/14_real_world.ipynb``.
    """

    path: str
    labels: Sequence[int] = field(default_factory=tuple)


class Augmenter:
    """Make a clean clip sound recorded: see the module docstring for the steps.

    Parameters
    ----------
    config : AugmentConfig
    sr : int
        Sample rate of the clips in Hz.
    backgrounds : sequence of Background, optional
        Real background recordings for the noise floor (use training-split recordings only).
    seed : int
        Seed of the RIR bank and of every clip's draws.

    Examples
    --------
    >>> aug = Augmenter(AugmentConfig(), sr=8000)          # doctest: +SKIP
    >>> y, info = aug(x, index=42)                         # the same (seed, 42) gives the same y

    Book: ``book/14_real_world.ipynb``.
    """

    def __init__(self, config: AugmentConfig | None = None, *, sr: int = 8000,
                 backgrounds: Sequence[Background] = (), seed: int = 0):
        from audiomentations import (AddBackgroundNoise, AddColorNoise, ApplyImpulseResponse, Gain,
                                     HighPassFilter, LowPassFilter, Normalize)

        self.config = config or AugmentConfig()
        self.sr = int(sr)
        self.seed = int(seed)
        c = self.config
        self.rir_folder = rir_bank(n=c.n_rirs, rt60_range=c.rt60_range, sr=self.sr, seed=self.seed)
        self.rirs = json.loads((self.rir_folder / "bank.json").read_text())["rirs"]
        self.reverb = ApplyImpulseResponse(ir_path=[str(self.rir_folder / r["file"]) for r in self.rirs], p=1.0,
                                           leave_length_unchanged=True)
        nyq = self.sr / 2
        self.lowpass = LowPassFilter(min_cutoff_freq=c.lowpass_hz[0], max_cutoff_freq=min(c.lowpass_hz[1], 0.95 * nyq),
                                     min_rolloff=24, max_rolloff=24, p=1.0)
        self.highpass = HighPassFilter(min_cutoff_freq=c.highpass_hz[0], max_cutoff_freq=c.highpass_hz[1],
                                       min_rolloff=24, max_rolloff=24, p=1.0)
        self.white = AddColorNoise(min_snr_db=c.snr_range[0], max_snr_db=c.snr_range[1], min_f_decay=0.0,
                                   max_f_decay=0.0, p_apply_a_weighting=0.0, p=1.0)
        self.pink = AddColorNoise(min_snr_db=c.snr_range[0], max_snr_db=c.snr_range[1], min_f_decay=-3.01,
                                  max_f_decay=-3.01, p_apply_a_weighting=0.0, p=1.0)
        self.backgrounds = list(backgrounds)
        self._bg_labels = {str(Path(b.path).resolve()): list(b.labels) for b in self.backgrounds}
        self.background = (AddBackgroundNoise(sounds_path=[b.path for b in self.backgrounds],
                                              min_snr_db=c.snr_range[0], max_snr_db=c.snr_range[1],
                                              noise_rms="relative", p=1.0) if self.backgrounds else None)
        self.normalize = Normalize(p=1.0)
        self.gain = Gain(min_gain_db=c.peak_dbfs[0], max_gain_db=c.peak_dbfs[1], p=1.0)

    def params(self) -> dict:
        """Everything that determines the output (for cache keys and model cards)."""
        return {"config": self.config.to_dict(), "sr": self.sr, "seed": self.seed,
                "rir_bank": self.rir_folder.name, "backgrounds": sorted(Path(b.path).name for b in self.backgrounds)}

    def __call__(self, audio, *, index: int, stream: int = 0):
        """Augment one clip.

        Parameters
        ----------
        audio : np.ndarray [shape=(n,)]
            Mono float audio at ``self.sr``.
        index : int
            The clip's index: ``(seed, stream, index)`` seeds every draw.
        stream : int
            Separates independent uses of the same indices (e.g. several augmented copies of one clip).

        Returns
        -------
        audio : np.ndarray, float32
            Same length as the input, or ``window_seconds`` long for a short sound.
        info : dict
            What was applied: ``short`` (onset, seconds), ``rir`` (file, measured RT60), ``band`` (kind, Hz),
            ``noise`` (kind, SNR in dB, file), ``peak_dbfs``, and ``added_labels`` (a loud real background's).
        """
        x = np.asarray(audio, np.float32)
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"audio must be a non-empty 1-D array, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("audio contains NaN or Inf")
        c, sr = self.config, self.sr
        rng = np.random.default_rng([self.seed, int(stream), int(index), 0xA06])
        info: dict = {"added_labels": []}
        with seeded(self.seed, int(stream), int(index), 0xA07):
            if _rms(x) == 0:
                x = x.copy()
            if rng.random() < c.p_short:
                sec = float(rng.uniform(*c.short_seconds))
                x, onset = place_short(x, sr=sr, rng=rng, seconds=sec, window_seconds=c.window_seconds)
                info["short"] = {"onset_s": round(onset, 3), "seconds": round(sec, 3)}
            if rng.random() < c.p_reverb and _rms(x) > 0:
                x = self.reverb(x, sr)
                f = Path(self.reverb.parameters["ir_file_path"]).name
                info["rir"] = {"file": f, "rt60": next(r["rt60_measured"] for r in self.rirs if r["file"] == f)}
            if rng.random() < c.p_bandlimit:
                t = self.highpass if rng.random() < 1 / 3 else self.lowpass
                x = t(x, sr)
                info["band"] = {"kind": "highpass" if t is self.highpass else "lowpass",
                                "cutoff_hz": round(float(t.parameters["cutoff_freq"]), 1)}
            if rng.random() < c.p_noise and _rms(x) > 0:
                clean = x
                if self.background is not None and rng.random() < c.p_background:
                    x = self.background(x, sr)
                    f = str(Path(self.background.parameters["noise_file_path"]).resolve())
                    kind = "background"
                else:
                    t = self.pink if rng.random() < 0.5 else self.white
                    x = t(x, sr)
                    f, kind = None, "pink" if t is self.pink else "white"
                snr = snr_db(clean, x)
                info["noise"] = {"kind": kind, "snr_db": round(snr, 2), "file": f and Path(f).name}
                if kind == "background" and snr < c.label_background_below_db:
                    info["added_labels"] = list(self._bg_labels.get(f, []))
            if np.abs(x).max() > 0:
                x = self.gain(self.normalize(x, sr), sr)
            info["peak_dbfs"] = round(20 * np.log10(max(float(np.abs(x).max()), 1e-12)), 2)
        return np.asarray(x, np.float32), info
