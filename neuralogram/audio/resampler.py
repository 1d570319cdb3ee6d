"""The one resampler: torchaudio's windowed sinc, in chunks, and as a table of taps where its kernel would be huge.

Every change of sample rate in the package goes through :func:`resample` (:mod:`neuralogram.audio`'s docstring
says how and why the tap table).

Book: ``book/02_stft.ipynb``.
"""
from __future__ import annotations

import math

import torch

from .gate import _BLOCK, as_audio, check_positive, check_sr

__all__ = ["resample"]

_RESAMPLE_CHUNK_SECONDS = 30.0
#: torchaudio kernels up to this many entries are used as they are; larger ones go through the tap table.
_TORCHAUDIO_KERNEL_MAX = 1 << 21


def _resample_kernel_margin(orig: int, new: int) -> int:
    """Input samples of context the windowed-sinc resampler needs on each side (a multiple of orig/gcd)."""
    g = math.gcd(orig, new)
    a, b = orig // g, new // g
    width = math.ceil(6 * a / (min(a, b) * 0.99))  # torchaudio's default lowpass_filter_width=6, rolloff=0.99
    need = width + a + 1
    return a * math.ceil(need / a)


def _resample(x: torch.Tensor, sr: int, target_sr: int, chunk_seconds: float, progress: bool) -> torch.Tensor:
    """:func:`resample` of an already validated float32 tensor ``(..., n)``."""
    if sr == target_sr:
        return x
    n = x.shape[-1]

    def read(lo, hi):  # samples [lo, hi) along the last axis, zeros outside
        seg = x[..., max(lo, 0):max(min(hi, n), 0)]
        return torch.nn.functional.pad(seg, (max(0, -lo), max(0, hi - max(n, lo))))

    return _resample_stream(read, n, sr, target_sr, chunk_seconds, progress)


def _resample_stream(read, n: int, sr: int, target_sr: int, chunk_seconds: float, progress: bool) -> torch.Tensor:
    """Resample a signal of ``n`` samples given as ``read(lo, hi) -> (..., hi - lo)`` (zero-filled), chunk by chunk."""
    import torchaudio.functional as AF
    from tqdm.auto import tqdm

    g = math.gcd(sr, target_sr)
    a, b = sr // g, target_sr // g
    chunk = a * max(1, int(check_positive(chunk_seconds, "chunk_seconds") * sr) // a)
    if n <= 2 * chunk:
        return AF.resample(read(0, n), sr, target_sr)
    margin = _resample_kernel_margin(sr, target_sr)
    n_out = math.ceil(n * b / a)
    out = None
    skip = margin * b // a
    for c0 in tqdm(range(0, n, chunk), disable=not progress, desc="resample", leave=False):
        c1 = min(n, c0 + chunk)
        r = AF.resample(read(c0 - margin, c1 + margin), sr, target_sr)
        if out is None:
            out = torch.empty(*r.shape[:-1], n_out, dtype=torch.float32)
        o0 = c0 * b // a
        o1 = n_out if c1 == n else c1 * b // a
        out[..., o0:o1] = r[..., skip:skip + (o1 - o0)]
    return out


def _torchaudio_kernel_is_small(orig: int, new: int) -> bool:
    """Whether torchaudio's ``(b, a + 2 w)`` resampling kernel (a, b = the rates over their gcd) is small."""
    g = math.gcd(orig, new)
    a, b = orig // g, new // g
    width = math.ceil(6 * a / (min(a, b) * 0.99))
    return b * (a + 2 * width) <= _TORCHAUDIO_KERNEL_MAX


def _sinc_taps(a: int, b: int):
    """torchaudio's windowed-sinc kernel (Hann, 6 zero crossings, roll-off 0.99) as a table of its non-zero taps.

    Output sample ``j = m b + i`` (phase ``i``) is ``sum_d x[m a + off[i] + d] * taps[i, d + w]`` for
    ``d = -w .. w``: the same weights as row ``i`` of torchaudio's ``(b, a + 2 w)`` kernel, whose other entries
    are zero (they lie beyond the 6th zero crossing, where the window is zero).
    """
    lowpass, rolloff = 6, 0.99
    base = min(a, b) * rolloff
    w = math.ceil(lowpass * a / base)
    i = torch.arange(b, dtype=torch.int64)
    off = (i * a) // b
    d = torch.arange(-w, w + 1, dtype=torch.int64)
    t = ((off[:, None] + d[None, :]).double() / a - i[:, None].double() / b) * base
    t = t.clamp(-lowpass, lowpass)
    window = torch.cos(t * math.pi / lowpass / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / torch.where(t == 0, torch.ones_like(t), t))
    return (sinc * window * (base / a)).float(), off, w


def _resample_taps(read, n: int, sr: int, target_sr: int, progress: bool, lead: int = 1) -> torch.Tensor:
    """Resample ``read(lo, hi) -> (..., hi - lo)`` (zero-filled outside ``[0, n)``) with the tap table of
    :func:`_sinc_taps`, a few periods of ``b`` outputs at a time: memory and time grow with the signal, not with
    ``sr / gcd``."""
    from tqdm.auto import tqdm

    g = math.gcd(sr, target_sr)
    a, b = sr // g, target_sr // g
    taps, off, w = _sinc_taps(a, b)
    T = taps.shape[1]
    n_out = -(-n * b // a)
    n_periods = -(-n_out // b)
    per_block = max(1, _BLOCK * 4 // (b * T * max(1, lead)))  # periods per block: ~16 MB of gathered taps
    out = None
    for p0 in tqdm(range(0, n_periods, per_block), disable=not progress, desc="resample", leave=False):
        p1 = min(n_periods, p0 + per_block)
        lo, hi = p0 * a - w, (p1 - 1) * a + int(off[-1]) + w + 1
        blk = read(lo, hi)
        if out is None:
            out = torch.empty(*blk.shape[:-1], n_out, dtype=torch.float32)
        windows = blk.unfold(-1, T, 1)  # a view: row s holds input samples lo + s .. lo + s + 2 w
        start = (torch.arange(p1 - p0, dtype=torch.int64)[:, None] * a + off[None, :]).reshape(-1)
        gathered = windows.index_select(-2, start).reshape(*blk.shape[:-1], p1 - p0, b, T)
        y = torch.einsum("...pbt,bt->...pb", gathered, taps).reshape(*blk.shape[:-1], -1)
        j0, j1 = p0 * b, min(n_out, p1 * b)
        out[..., j0:j1] = y[..., :j1 - j0]
    return out


def _resample_read(read, n: int, sr: int, target_sr: int, chunk_seconds: float, progress: bool,
                   lead: int = 1) -> torch.Tensor:
    """The one resampler on a signal given as ``read(lo, hi)``: torchaudio's conv when its kernel is small,
    otherwise the same kernel as a tap table (:func:`_resample_taps`)."""
    if _torchaudio_kernel_is_small(sr, target_sr):
        return _resample_stream(read, n, sr, target_sr, chunk_seconds, progress)
    return _resample_taps(read, n, sr, target_sr, progress, lead)


def _resample_x(x: torch.Tensor, sr: int, target_sr: int, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
                progress: bool = False) -> torch.Tensor:
    """:func:`resample` of an already validated float32 tensor ``(..., n)``, for any pair of rates."""
    if sr == target_sr:
        return x
    if _torchaudio_kernel_is_small(sr, target_sr):
        return _resample(x, sr, target_sr, chunk_seconds, progress)
    n = x.shape[-1]

    def read(lo, hi):  # samples [lo, hi) along the last axis, zeros outside
        seg = x[..., max(lo, 0):max(min(hi, n), 0)]
        return torch.nn.functional.pad(seg, (max(0, -lo), max(0, hi - max(n, lo))))

    return _resample_taps(read, n, sr, target_sr, progress, lead=math.prod(x.shape[:-1]))


def resample(y, *, orig_sr: int, target_sr: int, chunk_seconds: float = _RESAMPLE_CHUNK_SECONDS,
             progress: bool = False) -> torch.Tensor:
    """Resample along the last axis with torchaudio's band-limited (windowed-sinc, anti-aliased) interpolation.

    The one resampler of the package. Signals longer than two chunks are resampled chunk by chunk: chunks start
    at multiples of ``orig_sr / gcd(orig_sr, target_sr)`` input samples and carry enough neighbouring samples for
    the interpolation kernel, so the result equals ``torchaudio.functional.resample`` of the whole signal (to
    float rounding) while the working memory stays at a few chunks. Shorter signals are resampled in one call.
    Rates whose reduced ratio is large (e.g. 44,101 -> 8,000 Hz) use the same kernel as a table of its non-zero
    taps (see the module docstring), in bounded memory and time.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., n)]
        Audio; validated by :func:`as_audio` (leading axes are kept, e.g. channels or a batch of clips).
    orig_sr, target_sr : int
        Sample rates in Hz (:data:`MIN_SR` .. :data:`MAX_SR`).
    chunk_seconds : float
        Chunk length in seconds of input.
    progress : bool
        Show a tqdm bar over the chunks.

    Returns
    -------
    torch.Tensor [shape=(..., ceil(n * target_sr / orig_sr))], float32

    Book: ``book/02_stft.ipynb``.
    """
    orig_sr, target_sr = check_sr(orig_sr, name="orig_sr"), check_sr(target_sr, name="target_sr")
    check_positive(chunk_seconds, "chunk_seconds")
    return _resample_x(as_audio(y, max_ndim=8), orig_sr, target_sr, chunk_seconds, progress)
