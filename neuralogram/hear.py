"""Neuralograms and the HEAR API: the book's network as a HEAR 2021 module, and the neuralogram of any HEAR module.

The HEAR 2021 benchmark (Holistic Evaluation of Audio Representations) evaluates an audio embedding through three
functions of a Python module, which this module implements for the book's network:

* ``load_model(model_file_path="") -> model``: a ``torch.nn.Module`` with the attributes ``sample_rate`` (Hz, one
  of 16000, 22050, 32000, 44100, 48000), ``scene_embedding_size`` and ``timestamp_embedding_size`` (ints);
* ``get_timestamp_embeddings(audio, model) -> (embeddings, timestamps)``: ``audio`` is a float tensor
  ``(n_sounds, n_samples)`` at ``model.sample_rate`` on the model's device; ``embeddings`` is float32
  ``(n_sounds, n_timestamps, timestamp_embedding_size)`` and ``timestamps`` ``(n_sounds, n_timestamps)`` the
  centre of each embedding's window in **milliseconds**, evenly spaced (HEAR asks for 50 ms or less);
* ``get_scene_embeddings(audio, model) -> embeddings``: float32 ``(n_sounds, scene_embedding_size)``.

Here (``python -m heareval.embeddings.runner neuralogram.hear`` evaluates it):

* **Rate.** The model takes 16 kHz audio (``sample_rate = 16000``, the lowest HEAR rate and an integer multiple of
  the network's 8 kHz, so the hop is a whole number of samples at both rates and the timestamps never drift); the
  audio is resampled to 8 kHz with the package's one resampler, :func:`neuralogram.audio.resample`.
* **Timestamp embeddings.** One 2 s window (the network's context) centred on every timestamp ``k * hop``,
  ``k = 0 .. K-1``, ``K = floor(duration / hop) + 1`` (hop 50 ms by default): 0, 50, 100, ... ms up to the
  duration. Windows reach 1 s past both ends of the sound, where the signal is zeros, so a sound shorter than 2 s
  still gets an embedding every 50 ms. The embedding of a window is the network's (globally pooled ``conv5_4``,
  E dimensions), computed by :func:`neuralogram.transform.embed_segments`: the windows of timestamp
  ``1000 + 500 j`` ms are exactly the windows of the paper's neuralogram (column ``j`` of
  ``neuralogram.neuralogram(y, model, sr=16000)``).
* **Scene embeddings.** The mean of the paper's neuralogram (2 s windows every 0.5 s, the end covered by a
  zero-padded window, a short sound centred in one window; ``pad_end=True``) over time: the same windows as
  ``neuralogram.neuralogram(y, model, sr=16000, pad_end=True)``, averaged, 10 times fewer windows than the
  timestamp grid.
* **Cost.** A 50 ms hop runs the network on 20 windows of 2 s per second of sound, 10x the paper's 2 (every sample
  passes through the network 40 times instead of 4): 40 s of network input per second of audio. Measured on the
  shared 2-core machine (``vgg19-e500-standin``, 10 s of noise, one run per batch size): 64 windows/s with
  batches of 16 at a load of about 4 (49 at 8, 26 at 32, 12 at 64), i.e. 3.2x real time for timestamp embeddings;
  at a load of 13 (best of 3), 14-19 windows/s. Scene embeddings use the paper's hop, a tenth of the windows. All windows of a batch of sounds
  go through one call of ``embed_segments`` (the sounds laid end to end with 2 s of zeros between them, so short
  sounds still fill the batches); ``batch_size`` defaults to 16 on a CPU and 256 on a GPU (not measured here).

The other direction, :func:`neuralogram_of`, returns the neuralogram of *any* HEAR-compatible module: its timestamp
embeddings stacked over time, ``(dim, n_timestamps)``, with times in seconds.

Book: ``book/15_hear.ipynb``.
"""
from __future__ import annotations

import importlib

import numpy as np
import torch

from . import transform as _tr
from .audio import PAPER_SR, as_audio, check_positive, check_sr, resample, to_model_rate
from .checkpoints import DEFAULT_MODEL
from .nets import EmbeddingNet

__all__ = ["load_model", "get_timestamp_embeddings", "get_scene_embeddings", "HearModel", "neuralogram_of",
           "timestamps_ms", "SAMPLE_RATE", "HOP_MS", "SCENE_HOP_S", "HEAR_SAMPLE_RATES"]

#: The model's input rate (Hz): the lowest rate HEAR accepts, twice the network's 8 kHz.
SAMPLE_RATE = 16000
#: Default hop between timestamps (ms): HEAR asks for 50 ms or less.
HOP_MS = 50.0
#: Hop (s) of the windows averaged into a scene embedding: the paper's.
SCENE_HOP_S = 0.5
#: The rates the HEAR 2021 API allows (hearvalidator's list).
HEAR_SAMPLE_RATES = (16000, 22050, 32000, 44100, 48000)
#: Windows per forward pass: 16 is the fastest measured on a 2-core CPU; a GPU takes many more.
_BATCH_CPU, _BATCH_GPU = 16, 256


class HearModel(torch.nn.Module):
    """A neuralogram network behind the HEAR 2021 API (what :func:`load_model` returns).

    Parameters
    ----------
    net : EmbeddingNet (a NeuralogramNet or a MobileNetAudioSet)
        The network (:func:`neuralogram.load_model`); it becomes the submodule ``net``, so ``.to(device)`` moves it.
    name : str
        The network's name (for printing).
    hop_ms : float
        Milliseconds between timestamps (default 50); a multiple of 0.125 ms, one sample at 8 kHz.
    scene_hop : float
        Seconds between the windows averaged into a scene embedding (default 0.5, the paper's hop).
    layer : str or None
        Trunk layer to pool (``None`` = ``conv5_4``, the embedding; e.g. ``"conv4_4"``).
    batch_size : int or None
        Windows per forward pass; ``None``: 16 on a CPU, 256 on a GPU.

    Attributes
    ----------
    sample_rate : int
        16000 (Hz).
    scene_embedding_size, timestamp_embedding_size : int
        The channel count of ``layer`` (E for ``conv5_4``).

    Book: ``book/15_hear.ipynb``.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, net: EmbeddingNet, *, name: str = "", hop_ms: float = HOP_MS,
                 scene_hop: float = SCENE_HOP_S, layer: str | None = None, batch_size: int | None = None):
        super().__init__()
        if not isinstance(net, EmbeddingNet):
            raise ValueError(f"net must be an embedding network (a NeuralogramNet or a MobileNetAudioSet, see "
                             f"neuralogram.load_model), got {type(net).__name__}")
        # the lowest HEAR rate that is a whole multiple of the network's: 16 kHz for the VGG, 32 kHz for mn04
        rates = [r for r in HEAR_SAMPLE_RATES if r >= net.sr and r % net.sr == 0]
        if not rates:
            raise ValueError(f"the network takes {net.sr} Hz audio; no HEAR rate {HEAR_SAMPLE_RATES} is a whole "
                             "multiple of it")
        self.sample_rate = rates[0]
        self.net = net.eval()
        self.name = str(name)
        self.layer, dim = _layer_channels(net, layer)
        self.hop_ms = _check_hop_ms(hop_ms, net.sr)
        self.scene_hop = float(check_positive(scene_hop, "scene_hop (s)"))
        self.batch_size = None if batch_size is None else check_positive(batch_size, "batch_size", integer=True)
        self.window_samples = int(round(net.context_seconds * net.sr))  # W at the network's rate (2 s)
        self.scene_embedding_size = int(dim)
        self.timestamp_embedding_size = int(dim)

    def forward(self, audio: torch.Tensor):
        """Timestamp embeddings and timestamps (ms) of ``audio`` (n_sounds, n_samples): see
        :func:`get_timestamp_embeddings`.

        Book: ``book/15_hear.ipynb``.
        """
        return get_timestamp_embeddings(audio, self)

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, sample_rate={self.sample_rate}, layer={self.layer!r}, "
                f"dim={self.timestamp_embedding_size}, hop_ms={self.hop_ms:g}, scene_hop={self.scene_hop:g}")

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device


def _layer_channels(net: EmbeddingNet, layer):
    """The checked layer name and its channel count (the embedding's dimension), from one short forward pass."""
    layer = _tr.check_layer(net, layer)
    was = net.training
    net.eval()
    try:
        with torch.inference_mode():
            dev = next(net.parameters()).device
            n = int(round(net.context_seconds * net.sr))
            channels = net.embed_wave(torch.zeros(1, n, device=dev), layer).shape[1]
    finally:
        net.train(was)
    return layer, int(channels)


def _check_hop_ms(hop_ms, sr: int) -> float:
    hop_ms = float(check_positive(hop_ms, "hop_ms"))
    h = hop_ms * sr / 1000
    if abs(h - round(h)) > 1e-9:
        raise ValueError(f"hop_ms={hop_ms:g} is not a whole number of samples at {sr} Hz (use a multiple of "
                         f"{1000 / sr:g} ms); a fractional hop would make the timestamps drift")
    return hop_ms


def load_model(model_file_path: str = "", *, hop_ms: float = HOP_MS, scene_hop: float = SCENE_HOP_S,
               layer: str | None = None, batch_size: int | None = None) -> HearModel:
    """HEAR 2021 ``load_model``: a shipped network or a checkpoint file, wrapped for the HEAR API.

    Parameters
    ----------
    model_file_path : str
        ``""`` (the default shipped network, :data:`neuralogram.DEFAULT_MODEL`), the name of a shipped network
        (:func:`neuralogram.available_models`) or the path of a checkpoint file (``.pt``).
    hop_ms, scene_hop, layer, batch_size
        Options (keyword-only; ``heareval``'s ``--model-options '{"hop_ms": 25}'`` passes them): see
        :class:`HearModel`.

    Returns
    -------
    HearModel
        On the CPU, in eval mode; ``.to("cuda")`` moves it.

    Raises
    ------
    ValueError
        An unknown name, a file that is not a neuralogram checkpoint, a bad option.

    Book: ``book/15_hear.ipynb``.
    """
    from .checkpoints import available_models
    from .checkpoints import load_model as _load

    if not isinstance(model_file_path, str):
        model_file_path = str(model_file_path)
    if model_file_path == "":
        names = available_models()
        if DEFAULT_MODEL not in names:
            raise ValueError(f"the default network {DEFAULT_MODEL!r} is not shipped in this checkout "
                             f"(available: {names}); pass a name or a checkpoint path")
        model_file_path = DEFAULT_MODEL
    try:
        net, info = _load(model_file_path)
    except FileNotFoundError as err:
        raise ValueError(str(err)) from None
    return HearModel(net, name=info["name"], hop_ms=hop_ms, scene_hop=scene_hop, layer=layer,
                     batch_size=batch_size)


# ---------------------------------------------------------------------------------------------------------------
# the two embedding functions
# ---------------------------------------------------------------------------------------------------------------
def _check_call(audio, model):
    if not isinstance(model, HearModel):
        raise ValueError(f"model must come from neuralogram.hear.load_model, got {type(model).__name__}")
    if not isinstance(audio, (torch.Tensor, np.ndarray)):
        raise ValueError(f"audio must be a torch.Tensor (n_sounds, n_samples), got {type(audio).__name__}")
    if audio.ndim != 2:
        raise ValueError(f"audio must have shape (n_sounds, n_samples) at {model.sample_rate} Hz, got "
                         f"{tuple(audio.shape)}")
    if audio.shape[0] == 0:
        raise ValueError(f"audio holds no sounds (shape {tuple(audio.shape)})")
    out_device = audio.device if isinstance(audio, torch.Tensor) else torch.device("cpu")
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu()
    x = as_audio(audio, name="audio")  # float32, finite, non-empty
    return x, out_device


def _batch_size(model: HearModel, device: torch.device) -> int:
    if model.batch_size is not None:
        return model.batch_size
    return _BATCH_CPU if device.type == "cpu" else _BATCH_GPU


def _embed_sounds(x8: torch.Tensor, starts: np.ndarray, model: HearModel) -> torch.Tensor:
    """Embeddings (n_sounds, len(starts), C) of the windows at ``starts`` of every sound, in one primitive call.

    The sounds are laid end to end with ``W`` zeros between them, so that every window sees its own sound and
    zeros outside it (as in a call per sound) while the batches stay full when the sounds are short.
    """
    n_sounds, n8 = x8.shape
    W = model.window_samples
    stride = n8 + W
    x = torch.zeros(n_sounds * stride - W, dtype=torch.float32)
    for i in range(n_sounds):
        x[i * stride:i * stride + n8] = x8[i]
    all_starts = (np.arange(n_sounds, dtype=np.int64)[:, None] * stride + starts[None, :]).ravel()
    device = model.device
    N = _tr.embed_segments(x, all_starts, model.net, layer=model.layer, batch_size=_batch_size(model, device),
                           device=device)
    N = torch.as_tensor(np.asarray(N), dtype=torch.float32)  # (C, n_sounds * K)
    return N.T.reshape(n_sounds, len(starts), N.shape[0])


def timestamps_ms(n_samples: int, *, sr: int = SAMPLE_RATE, hop_ms: float = HOP_MS) -> np.ndarray:
    """The HEAR timestamps (ms) of a sound of ``n_samples`` at ``sr``: ``k * hop_ms`` up to its duration.

    ``K = floor(n_samples / (hop_ms * sr / 1000)) + 1`` timestamps, the first at 0 ms, the last at most the
    duration (1.07 s at 16 kHz: 0, 50, ..., 1050 ms, 22 timestamps). Computed from integer sample counts, so they
    do not drift on long sounds.

    Book: ``book/15_hear.ipynb``.
    """
    n = check_positive(n_samples, "n_samples", integer=True)
    sr = check_sr(sr)
    hop = _check_hop_ms(hop_ms, sr)
    h = int(round(hop * sr / 1000))
    K = n // h + 1
    return np.arange(K, dtype=np.float64) * hop


def get_timestamp_embeddings(audio, model: HearModel):
    """HEAR 2021 ``get_timestamp_embeddings``: the embedding of the 2 s window centred on every timestamp.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono sounds at ``model.sample_rate`` (16 kHz), all of the same length (HEAR pads them), in [-1, 1].
    model : HearModel
        From :func:`load_model`; the computation runs on its device.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, K, model.timestamp_embedding_size)], float32
        Row ``k`` embeds the 2 s window centred on ``timestamps[:, k]`` (zeros outside the sound). On the audio's
        device.
    timestamps : torch.Tensor [shape=(n_sounds, K)], float32
        ``k * model.hop_ms`` (ms), ``k = 0 .. K-1``, up to the duration (:func:`timestamps_ms`).

    Raises
    ------
    ValueError
        A model not from :func:`load_model`, audio that is not 2-D, empty, or holds NaN/Inf.

    Book: ``book/15_hear.ipynb``.
    """
    x, out_device = _check_call(audio, model)
    n_sounds, n = x.shape
    sr8 = model.net.sr
    x8 = resample(x, orig_sr=model.sample_rate, target_sr=sr8)  # (n_sounds, ceil(n / 2))
    ts = timestamps_ms(n, sr=model.sample_rate, hop_ms=model.hop_ms)
    h8 = int(round(model.hop_ms * sr8 / 1000))
    starts = np.arange(len(ts), dtype=np.int64) * h8 - model.window_samples // 2
    emb = _embed_sounds(x8, starts, model)
    stamps = torch.as_tensor(ts, dtype=torch.float32).expand(n_sounds, -1).contiguous()
    return emb.to(out_device), stamps.to(out_device)


def get_scene_embeddings(audio, model: HearModel) -> torch.Tensor:
    """HEAR 2021 ``get_scene_embeddings``: the paper's neuralogram of each sound, averaged over time.

    The windows are those of ``neuralogram.neuralogram(y, model.net, sr=16000, hop=model.scene_hop,
    pad_end=True)``: 2 s every 0.5 s from the start, one more zero-padded window if the end is not covered, and
    a single centred window for a sound shorter than 2 s.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono sounds at 16 kHz.
    model : HearModel

    Returns
    -------
    torch.Tensor [shape=(n_sounds, model.scene_embedding_size)], float32
        On the audio's device.

    Book: ``book/15_hear.ipynb``.
    """
    x, out_device = _check_call(audio, model)
    sr8 = model.net.sr
    x8 = resample(x, orig_sr=model.sample_rate, target_sr=sr8)
    starts = _tr.window_starts(x8.shape[1], sr=sr8, window=model.window_samples / sr8, hop=model.scene_hop,
                               pad_end=True)
    emb = _embed_sounds(x8, np.asarray(starts, dtype=np.int64), model)
    return emb.mean(dim=1).to(out_device)


# ---------------------------------------------------------------------------------------------------------------
# the other direction: the neuralogram of any HEAR module
# ---------------------------------------------------------------------------------------------------------------
def _model_device(model) -> torch.device:
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def neuralogram_of(module, y, *, sr: int, model=None):
    """The neuralogram of ``y`` through any HEAR-compatible module: its timestamp embeddings stacked over time.

    Parameters
    ----------
    module : module or str
        A HEAR 2021 module (``load_model``, ``get_timestamp_embeddings``), or its import name, e.g.
        ``"hearbaseline"`` after ``pip install hearbaseline``, or ``neuralogram.hear`` itself.
    y : np.ndarray or torch.Tensor [shape=(n,) or (channels, n)]
        Audio at ``sr`` Hz, any length (stereo is averaged). It is resampled to ``model.sample_rate`` with the
        package's resampler and passed whole, as one sound, so a long recording needs the module's memory for its
        whole length.
    sr : int
        Rate of ``y`` (Hz).
    model : torch.nn.Module, optional
        A model from ``module.load_model``; default ``module.load_model()`` (load it once and pass it when
        calling repeatedly).

    Returns
    -------
    N : np.ndarray [shape=(dim, T)], float32
        Column ``k`` is the module's embedding at ``times[k]`` (``dim = model.timestamp_embedding_size``).
    times : np.ndarray [shape=(T,)], float64
        The module's timestamps in seconds.

    Raises
    ------
    ValueError
        A module without the HEAR functions (or that cannot be imported), a model without a valid
        ``sample_rate`` or that is not a ``torch.nn.Module`` (TensorFlow modules are not supported), bad audio,
        or outputs of the wrong shape.

    Examples
    --------
    >>> import neuralogram.hear as nh
    >>> N, t = nh.neuralogram_of(nh, y, sr=44100)                          # doctest: +SKIP
    >>> N.shape, t[:3]                                                     # doctest: +SKIP
    ((500, 601), array([0.  , 0.05, 0.1 ]))

    Book: ``book/15_hear.ipynb``.
    """
    if isinstance(module, str):
        try:
            module = importlib.import_module(module)
        except ImportError as err:
            raise ValueError(f"cannot import the HEAR module {module!r} ({err}); pip install it first") from None
    label = getattr(module, "__name__", type(module).__name__)
    if not hasattr(module, "get_timestamp_embeddings") or (model is None and not hasattr(module, "load_model")):
        raise ValueError(f"{label} is not a HEAR module: it needs load_model and get_timestamp_embeddings")
    sr = check_sr(sr)
    x = to_model_rate(y, sr=sr, target_sr=sr)  # validate + mono before loading anything
    if model is None:
        model = module.load_model()
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{label}.load_model() returned a {type(model).__name__}; only PyTorch HEAR models "
                         f"(torch.nn.Module) are supported")
    msr = getattr(model, "sample_rate", None)
    if isinstance(msr, bool) or not isinstance(msr, (int, np.integer)) or msr <= 0:
        raise ValueError(f"{label}: model.sample_rate must be a positive int (Hz), got {msr!r}")
    x = to_model_rate(x, sr=sr, target_sr=int(msr))
    with torch.no_grad():
        emb, ts = module.get_timestamp_embeddings(x[None].to(_model_device(model)), model)
    emb = emb.detach().cpu().float().numpy() if isinstance(emb, torch.Tensor) else np.asarray(emb, np.float32)
    ts = ts.detach().cpu().double().numpy() if isinstance(ts, torch.Tensor) else np.asarray(ts, np.float64)
    if emb.ndim != 3 or emb.shape[0] != 1 or ts.shape != emb.shape[:2] or emb.shape[1] == 0:
        raise ValueError(f"{label}.get_timestamp_embeddings returned embeddings {emb.shape} and timestamps "
                         f"{ts.shape}; HEAR asks for (1, T, dim) and (1, T) for one sound")
    return np.ascontiguousarray(emb[0].T, dtype=np.float32), ts[0] / 1000.0
