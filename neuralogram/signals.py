"""Probe signals of the paper, built sample by sample with their known trajectories.

Every sinusoid here uses the cosine convention ``y[n] = A cos(2 pi phi(n / sr) + phase)`` (as
``scipy.signal.chirp`` does), where ``phi`` is the exact integral of the instantaneous frequency, so chirps have no
clicks. With a cosine, a tone exactly at the Nyquist frequency ``sr / 2`` samples to ``A (-1)^n`` instead of the
all-zero sequence a sine would give. librosa's ``tone`` and ``chirp`` differ: without a phase they use
``phi = -pi / 2`` (librosa 0.11), a sine, silent at exactly ``sr / 2``; pass ``phi=0`` to match these signals.

Signals built here:

* :func:`sine`: a pure tone.
* :func:`linear_chirp`: frequency moves linearly from ``f_start`` to ``f_end`` (up or down).
* :func:`down_up_chirp`: the paper's probe of section 3.1, 4000 Hz -> 1 Hz -> 4000 Hz.
* :func:`impulse_train`: unit impulses with a constant period.
* :func:`impulse_train_sweep`: the paper's rhythm probe of section 3.4, period moving linearly from 100 ms
  (or 200 ms) to 1 ms over 300 s.
* :func:`noise`: white, pink or brown Gaussian noise.

and the measurements used to check them: :func:`instantaneous_frequency` (from the analytic signal) and
:func:`alias_frequency` (where a frequency lands after sampling).

Book: ``book/01_signals.ipynb``.
"""
from __future__ import annotations

import numpy as np

from .audio import PAPER_SR, as_audio, check_positive, check_sr, to_mono

__all__ = ["time_axis", "sine", "linear_chirp", "chirp_frequency", "down_up_chirp", "down_up_frequency",
           "impulse_train", "impulse_times", "impulse_train_sweep", "sweep_period", "noise",
           "instantaneous_frequency", "alias_frequency"]


def _n_samples(duration, sr) -> int:
    duration = check_positive(duration, "duration")
    n = int(round(duration * sr))
    if n < 1:
        raise ValueError(f"duration {duration} s at sr={sr} Hz gives no samples")
    return n


def _check_freq(f, name: str, sr: int, allow_aliasing: bool):
    f = check_positive(f, name, allow_zero=True)
    if f > sr / 2 and not allow_aliasing:
        raise ValueError(f"{name} = {f} Hz is above the Nyquist frequency sr/2 = {sr / 2} Hz; it would alias to "
                         f"{alias_frequency(f, sr=sr):g} Hz (pass allow_aliasing=True to build it anyway)")
    return float(f)


def _check_amplitude(amplitude):
    return float(check_positive(amplitude, "amplitude", allow_zero=True))


def _check_period(p, name: str, sr: int) -> float:
    """A period in seconds of at least one sample at ``sr``."""
    p = check_positive(p, name)
    if p * sr < 1 - 1e-9:
        raise ValueError(f"{name} = {p} s is shorter than one sample (1/sr = {1 / sr} s)")
    return p


def _impulses(idx, n: int, amplitude) -> np.ndarray:
    """``n`` samples of silence with an impulse of ``amplitude`` at each index of ``idx`` below ``n``."""
    y = np.zeros(n, np.float32)
    y[idx[idx < n]] = _check_amplitude(amplitude)
    return y


def time_axis(*, duration: float, sr: int) -> np.ndarray:
    """Sample times ``n / sr`` in seconds.

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),)], float64

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    return np.arange(_n_samples(duration, sr)) / sr


def alias_frequency(f, *, sr: int):
    """The frequency in ``[0, sr/2]`` that a real sinusoid of frequency ``f`` is indistinguishable from once
    sampled at ``sr``: ``|f - sr * round(f / sr)|`` (folding about multiples of the Nyquist frequency).

    Parameters
    ----------
    f : float or np.ndarray
        Frequencies in Hz (>= 0).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    float or np.ndarray
        Apparent frequency in Hz, in ``[0, sr / 2]``.

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    f = np.asarray(f, dtype=np.float64)
    if not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError("frequencies f must be finite and >= 0")
    out = np.abs(f - sr * np.round(f / sr))
    return float(out) if out.ndim == 0 else out


def sine(*, freq: float, duration: float, sr: int, amplitude: float = 0.5, phase: float = 0.0,
         allow_aliasing: bool = False) -> np.ndarray:
    """A pure tone ``amplitude * cos(2 pi freq t + phase)``.

    Parameters
    ----------
    freq : float
        Frequency in Hz, ``0 <= freq <= sr / 2`` unless ``allow_aliasing``.
    duration : float
        Length in seconds (> 0).
    sr : int
        Sample rate in Hz.
    amplitude : float
        Peak amplitude (>= 0).
    phase : float
        Starting phase in radians.
    allow_aliasing : bool
        Build a tone above the Nyquist frequency anyway (to demonstrate aliasing).

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),)], float32

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    freq = _check_freq(freq, "freq", sr, allow_aliasing)
    t = time_axis(duration=duration, sr=sr)
    return (_check_amplitude(amplitude) * np.cos(2 * np.pi * freq * t + float(phase))).astype(np.float32)


def chirp_frequency(t, *, f_start: float, f_end: float, duration: float):
    """Instantaneous frequency ``f(t) = f_start + (f_end - f_start) t / duration`` of :func:`linear_chirp`, in Hz.

    Book: ``book/01_signals.ipynb``.
    """
    duration = check_positive(duration, "duration")
    t = np.asarray(t, dtype=np.float64)
    return f_start + (f_end - f_start) * t / duration


def linear_chirp(*, f_start: float, f_end: float, duration: float, sr: int, amplitude: float = 0.5,
                 phase: float = 0.0, allow_aliasing: bool = False) -> np.ndarray:
    """A linear chirp: frequency moves linearly from ``f_start`` to ``f_end`` (either way) over ``duration``.

    ``y(t) = A cos(2 pi (f_start t + (f_end - f_start) t^2 / (2 duration)) + phase)``; the argument of the cosine
    is the exact integral of :func:`chirp_frequency`.

    Parameters
    ----------
    f_start, f_end : float
        Start and end frequency in Hz, each in ``[0, sr / 2]`` unless ``allow_aliasing``.
    duration, sr, amplitude, phase, allow_aliasing
        Length (s), sample rate (Hz), peak amplitude, starting phase (radians) and the aliasing switch, as in
        :func:`sine`; the result is float32 with ``round(duration * sr)`` samples.

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    f0 = _check_freq(f_start, "f_start", sr, allow_aliasing)
    f1 = _check_freq(f_end, "f_end", sr, allow_aliasing)
    t = time_axis(duration=duration, sr=sr)
    cycles = f0 * t + (f1 - f0) * t * t / (2 * duration)
    return (_check_amplitude(amplitude) * np.cos(2 * np.pi * cycles + float(phase))).astype(np.float32)


def down_up_frequency(t, *, f_high: float = 4000.0, f_low: float = 1.0, duration: float = 120.0):
    """Instantaneous frequency of :func:`down_up_chirp` in Hz: ``f_high -> f_low`` linearly over the first half,
    then back to ``f_high`` over the second.

    Book: ``book/01_signals.ipynb``.
    """
    duration = check_positive(duration, "duration")
    half = duration / 2
    u = np.clip(np.abs(np.asarray(t, dtype=np.float64) - half) / half, 0.0, 1.0)
    return f_low + (f_high - f_low) * u


def down_up_chirp(*, f_high: float = 4000.0, f_low: float = 1.0, duration: float = 120.0, sr: int = PAPER_SR,
                  amplitude: float = 0.5) -> np.ndarray:
    """The paper's pitch probe (section 3.1): a linear chirp ``f_high -> f_low -> f_high``.

    The two halves are :func:`linear_chirp` ``f_high -> f_low`` and ``f_low -> f_high``, joined with a continuous
    phase (the second half continues the first one's phase), so there is no click at the turning point.
    The paper does not give the duration; the default is 120 s (60 s down, 60 s up).

    Parameters
    ----------
    f_high, f_low : float
        Frequencies in Hz, ``0 < f_low < f_high <= sr / 2``. With the defaults at 8 kHz, ``f_high`` is exactly the
        Nyquist frequency: the first and last samples alternate ``+A, -A``.
    duration, sr, amplitude
        Total length (s, both halves), sample rate (Hz) and peak amplitude, as in :func:`linear_chirp`; the result
        is float32 with ``round(duration * sr)`` samples.

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    f_high = _check_freq(f_high, "f_high", sr, False)
    f_low = _check_freq(f_low, "f_low", sr, False)
    if not 0 < f_low < f_high:
        raise ValueError(f"need 0 < f_low < f_high, got f_low={f_low}, f_high={f_high}")
    t = time_axis(duration=duration, sr=sr)
    half = duration / 2
    # Integral of down_up_frequency: the first half is a chirp f_high -> f_low of length `half`; the second half
    # starts from the cycles accumulated at `half` and rises f_low -> f_high.
    c_half = f_high * half + (f_low - f_high) * half / 2
    s = t - half
    cycles = np.where(t < half,
                      f_high * t + (f_low - f_high) * t * t / (2 * half),
                      c_half + f_low * s + (f_high - f_low) * s * s / (2 * half))
    return (_check_amplitude(amplitude) * np.cos(2 * np.pi * cycles)).astype(np.float32)


def impulse_train(*, period: float, duration: float, sr: int, amplitude: float = 1.0) -> np.ndarray:
    """Unit impulses every ``period`` seconds, the first at ``t = 0``, each at the nearest sample.

    Parameters
    ----------
    period : float
        Seconds between impulses, at least one sample (``1 / sr``).
    duration : float
        Length in seconds.
    sr : int
        Sample rate in Hz.
    amplitude : float
        Height of each impulse.

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),)], float32

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    period = _check_period(period, "period", sr)
    n = _n_samples(duration, sr)
    return _impulses(np.round(np.arange(0.0, duration, period) * sr).astype(np.int64), n, amplitude)


def sweep_period(t, *, period_start: float = 0.1, period_end: float = 0.001, duration: float = 300.0):
    """Period in seconds of :func:`impulse_train_sweep` at times ``t``: ``P(t) = P0 + (P1 - P0) t / duration``.

    Book: ``book/01_signals.ipynb``.
    """
    duration = check_positive(duration, "duration")
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, duration)
    return period_start + (period_end - period_start) * t / duration


def impulse_times(*, period_start: float = 0.1, period_end: float = 0.001, duration: float = 300.0) -> np.ndarray:
    """Exact impulse times (seconds) of :func:`impulse_train_sweep`, before rounding to samples.

    Each impulse follows the previous one after the current period: ``t[0] = 0``, ``t[k+1] = t[k] + P(t[k])``
    with ``P`` from :func:`sweep_period`. With ``a = (P1 - P0) / duration`` this recursion is geometric,
    ``t[k] + P0 / a = (P0 / a) (1 + a)^k``, which gives every time in closed form (no accumulated round-off).

    Returns
    -------
    np.ndarray [shape=(n_impulses,)], float64, increasing, all in ``[0, duration)``.

    Book: ``book/01_signals.ipynb``.
    """
    duration = check_positive(duration, "duration")
    p0 = check_positive(period_start, "period_start")
    p1 = check_positive(period_end, "period_end")
    a = (p1 - p0) / duration
    if abs(a) < 1e-15:
        return np.arange(0.0, duration, p0)
    c = p0 / a
    # number of steps to reach `duration`: (1 + a)^k = (duration + c) / c
    ratio = (duration + c) / c
    k_max = int(np.ceil(np.log(ratio) / np.log1p(a))) + 2 if ratio > 0 else int(np.ceil(duration / min(p0, p1))) + 2
    times = c * np.power(1.0 + a, np.arange(k_max, dtype=np.float64)) - c
    times[0] = 0.0
    return times[(times >= 0) & (times < duration)]


def impulse_train_sweep(*, period_start: float = 0.1, period_end: float = 0.001, duration: float = 300.0,
                        sr: int = PAPER_SR, amplitude: float = 1.0) -> np.ndarray:
    """The paper's rhythm probe (section 3.4): impulses whose period moves linearly from ``period_start`` to
    ``period_end`` over ``duration`` (paper: 100 ms or 200 ms -> 1 ms over 300 s).

    Impulse ``k`` sits at sample ``round(sr * t[k])`` with ``t`` from :func:`impulse_times`, so every interval is
    within one sample of the exact period. At 8 kHz a 1 ms period is 8 samples, so near the end the rounding
    makes intervals of 8 or 9 samples that average to the exact period.

    Parameters
    ----------
    period_start, period_end : float
        Periods in seconds at ``t = 0`` and ``t = duration``; each at least one sample.
    duration, sr, amplitude
        As in :func:`impulse_train`: length in seconds, sample rate in Hz, height of each impulse.

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),)], float32, as :func:`impulse_train`.

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    _check_period(period_start, "period_start", sr)
    _check_period(period_end, "period_end", sr)
    n = _n_samples(duration, sr)
    idx = np.round(impulse_times(period_start=period_start, period_end=period_end, duration=duration) * sr)
    return _impulses(idx.astype(np.int64), n, amplitude)


_NOISE_SLOPES = {"white": 0.0, "pink": -1.0, "brown": -2.0}


def noise(*, duration: float, sr: int, color: str = "white", amplitude: float = 0.1, seed: int | None = 0
          ) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as ``f^0`` (white), ``f^-1`` (pink) or ``f^-2`` (brown).

    White noise is drawn directly; pink and brown are white noise shaped in the frequency domain by
    ``f^(slope / 2)`` (amplitude), the DC bin set to zero. The result is scaled to RMS ``amplitude``.

    Parameters
    ----------
    duration : float
        Length in seconds.
    sr : int
        Sample rate in Hz.
    color : {"white", "pink", "brown"}
    amplitude : float
        Root-mean-square value of the output.
    seed : int or None
        Seed of ``np.random.default_rng``; the same seed gives the same samples.

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),)], float32

    Book: ``book/01_signals.ipynb``.
    """
    sr = check_sr(sr)
    if color not in _NOISE_SLOPES:
        raise ValueError(f"color must be one of {sorted(_NOISE_SLOPES)}, got {color!r}")
    n = _n_samples(duration, sr)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n)
    if color != "white" and n > 1:
        W = np.fft.rfft(w)
        f = np.fft.rfftfreq(n, d=1.0 / sr)
        gain = np.zeros_like(f)
        gain[1:] = f[1:] ** (_NOISE_SLOPES[color] / 2)
        w = np.fft.irfft(W * gain, n=n)
    rms = np.sqrt(np.mean(w * w))
    w = w / rms if rms > 0 else w
    return (_check_amplitude(amplitude) * w).astype(np.float32)


def instantaneous_frequency(y, *, sr: int) -> np.ndarray:
    """Estimate the instantaneous frequency of a (mono) oscillation from the phase of its analytic signal.

    ``z = y + i H{y}`` (``scipy.signal.hilbert``), ``f[n] = sr / (2 pi) * unwrap(angle(z))'[n]`` with a centred
    difference. Reliable where ``y`` is one sinusoid well away from 0 Hz and the Nyquist frequency, and away from
    the first and last few hundred samples (the Hilbert transform of a finite signal rings at its edges).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        A real oscillation; stereo is averaged to mono. At least 3 samples.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray [shape=(n,)], float64
        Frequency in Hz at each sample.

    Book: ``book/01_signals.ipynb``.
    """
    from scipy.signal import hilbert

    sr = check_sr(sr)
    x = to_mono(as_audio(y, min_samples=3)).double().numpy()
    phase = np.unwrap(np.angle(hilbert(x)))
    return np.gradient(phase) * sr / (2 * np.pi)
