"""A network that heard AudioSet: EfficientAT's ``mn04_as``, a MobileNetV3 at width 0.4, on the book's interface.

The paper's VGG (:mod:`neuralogram.model`) is trained here on a few thousand clips; this network was trained by
others on the full AudioSet (about 2 million clips, 527 labels) by knowledge distillation from an ensemble of
PaSST transformers (F. Schmid, K. Koutini, G. Widmer, "Efficient Large-Scale Audio Tagging via Transformer-to-CNN
Knowledge Distillation", ICASSP 2023; weights MIT-licensed, github.com/fschmid56/EfficientAT; reported mAP 0.432).
The code below is this project's own: the layer layout is the one the weights' names and shapes fix.

Architecture (MobileNetV3-Large, Howard et al. 2019, channels x 0.4 rounded to multiples of 8; input 1 x 128 x T
log-mel frames at 10 ms from :class:`neuralogram.spectral.AudioSetMel`):

=============  ===========================================================  =============  ==========
layer          what                                                         out channels   stride
=============  ===========================================================  =============  ==========
features.0     conv 3x3 + batch norm + hard-swish                           8              2
features.1-15  inverted residual blocks: 1x1 expand, depthwise 3x3 or 5x5,  8 .. 64        2 in 2, 4,
               squeeze-excitation (blocks 4-6, 11-15), 1x1 project, skip                   7 and 13
features.16    conv 1x1 + batch norm + hard-swish                           384            1
embedding      global average over frequency and time                       384
classifier     Linear(384, 512), hard-swish, dropout 0.2, Linear(512, 527)  527 logits
=============  ===========================================================  =============  ==========

Five stride-2 layers divide both axes by 32: 128 mel bands -> 4 rows, T frames -> ceil(T / 32) columns of
``features.16`` (2 s = 200 frames -> 7 columns). Squeeze-excitation (blocks 4-6 and 11-15) rescales each channel by
a gate computed from the channel's *global* average over the whole input: this network is not purely local, so a
chunked (fast) neuralogram only approximates the exact one (see :attr:`MobileNetAudioSet.fast_margin`).

Book: ``book/13_audioset_net.ipynb``.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import torch
import torch.nn as nn

from .nets import EmbeddingNet
from .spectral.audioset_mel import AudioSetMel

__all__ = ["MobileNetAudioSet", "load_audioset_net", "MN04_BLOCKS", "MN04_SHA256",
           "AUDIOSET_SR"]

#: The rate the network hears (Hz).
AUDIOSET_SR = 32000
#: SHA-256 of the shipped weights ``data/models/mn04-audioset.pt`` (EfficientAT ``mn04_as_mAP_432.pt``).
MN04_SHA256 = "899a8c6217063f6941793102a2780b3dd788ab11fce468d9cf5f0577c453321c"
#: What the authors report for these weights (their paper / repository), not measured here.
_REPORTED = {MN04_SHA256: {"audioset_eval_mAP_reported": 0.432}}

#: MobileNetV3-Large's bottleneck table at width 1 (Howard et al. 2019, table 1):
#: (kernel, expanded channels, output channels, squeeze-excitation, activation "RE" = ReLU / "HS" = hard-swish,
#: stride). The stem has 16 channels, the last 1x1 conv 6 x 160 = 960, the head's hidden layer 1280.
MN04_BLOCKS = (
    (3, 16, 16, False, "RE", 1),
    (3, 64, 24, False, "RE", 2),
    (3, 72, 24, False, "RE", 1),
    (5, 72, 40, True, "RE", 2),
    (5, 120, 40, True, "RE", 1),
    (5, 120, 40, True, "RE", 1),
    (3, 240, 80, False, "HS", 2),
    (3, 200, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 480, 112, True, "HS", 1),
    (3, 672, 112, True, "HS", 1),
    (5, 672, 160, True, "HS", 2),
    (5, 960, 160, True, "HS", 1),
    (5, 960, 160, True, "HS", 1),
)
_WIDTH = 0.4
_BN = dict(eps=1e-3, momentum=0.01)   # the batch-norm settings the weights were trained with


def _channels(c: float, width: float = _WIDTH, divisor: int = 8) -> int:
    """``c * width`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), and one step up when
    rounding lost more than 10 % (MobileNet's channel rule): 16 -> 8, 64 -> 24, 24 -> 16, 184 -> 72, 672 -> 272."""
    v = c * width
    r = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return r + divisor if r < 0.9 * v else r


def _act(kind: str) -> nn.Module:
    return nn.Hardswish() if kind == "HS" else nn.ReLU()


class _ConvBN(nn.Sequential):
    """Conv (no bias, 'same' padding) + batch norm (+ activation): keys ``0.weight``, ``1.*``."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1, act: str | None = None):
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout, **_BN)]
        if act:
            layers.append(_act(act))
        super().__init__(*layers)


class _SEGate(nn.Module):
    """Squeeze-excitation over channels: ``x * sigmoid(fc2(relu(fc1(mean_{f,t} x))))``."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze)
        self.fc2 = nn.Linear(squeeze, channels)

    def forward(self, x):
        s = x.mean(dim=(2, 3))   # global average over frequency and time: the gate sees the whole input
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class _SqueezeExcite(nn.Module):
    """One channel gate. The list ``conc_se_layers`` (EfficientAT's name) keeps the weights' key names."""

    def __init__(self, channels: int):
        super().__init__()
        self.conc_se_layers = nn.ModuleList([_SEGate(channels, _channels(channels // 4, 1.0))])

    def forward(self, x):
        return self.conc_se_layers[0](x)


class _InvertedResidual(nn.Module):
    """MobileNetV2/V3 bottleneck: [1x1 expand] -> depthwise k x k (stride) -> [SE] -> 1x1 project, + input when the
    shape is kept."""

    def __init__(self, cin, k, cexp, cout, se, act, stride):
        super().__init__()
        layers = []
        if cexp != cin:
            layers.append(_ConvBN(cin, cexp, 1, act=act))
        layers.append(_ConvBN(cexp, cexp, k, stride, groups=cexp, act=act))
        if se:
            layers.append(_SqueezeExcite(cexp))
        layers.append(_ConvBN(cexp, cout, 1))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return y + x if self.residual else y


class MobileNetAudioSet(EmbeddingNet):
    """EfficientAT's ``mn04``: MobileNetV3-Large at width 0.4 on 128-band log-mel input, 527 AudioSet logits.

    Its state-dict keys and shapes are those of ``mn04_as.pt`` (312 tensors); see the module docstring for the
    layer table. ``forward(spec)`` returns logits (sigmoid for probabilities, ``loss="bce"``); :meth:`embed` is
    the 384-dim global average of ``features.16``, the upstream "features" vector.

    Interface values (:mod:`neuralogram.nets`):

    * ``sr = 32000``; ``frame_hop = 320`` (10 ms); ``context_seconds = 2.0`` (the default neuralogram window; the
      network itself was trained on 10 s clips); ``max_window_seconds = None``: any length, the pooling is global.
    * ``time_stride = 32``: five stride-2 layers; ``features.16`` has ``ceil(T / 32)`` columns for T frames.
    * ``min_window_seconds = 0.02`` (2 frames, 640 samples). Measured: the trunk runs on a single frame (every
      conv pads 'same', so a stride-2 layer maps 1 column to 1), and the front end needs at least 514 samples
      (``center=True`` reflect-pads by 512 after the one-sample-shorter pre-emphasis): 16.06 ms, rounded up
      to whole frames.
    * ``fast_margin = 320`` frames: the receptive field of ``features.16`` *through its convolutions* is
      ``1 + 2 (1 + 2 + 2 + 4) + 4 (4 + 8 + 8) + 2 (8 + 16 x 5) + 4 (16 + 32 + 32)`` = 595 frames, 297 on each
      side, rounded up to a multiple of the stride (320). The squeeze-excitation gates pool over the whole
      input, so no margin makes a chunk exact: for this network fast mode is an approximation (the gates see a
      40 s chunk instead of one window), not chunk-invariant as the VGG's is.

    Parameters
    ----------
    n_classes : int
        Output labels (527).
    dropout : float
        Dropout before the last linear layer (0.2; active in train mode only).

    Book: ``book/13_audioset_net.ipynb``.
    """

    arch = "mobilenetv3-audioset (mn04)"
    sr = AUDIOSET_SR
    context_seconds = 2.0
    max_window_seconds = None
    min_window_seconds = 0.02
    frame_hop = 320
    time_stride = 32
    fast_margin = 320
    #: the squeeze-excitation gates pool over the whole input: fast mode is an approximation
    chunk_invariant = False
    embedding_size = 384
    loss = "bce"
    #: mel bands of the input
    n_mels = 128
    #: the fewest front-end frames :meth:`features` accepts (measured: one frame runs through every layer)
    min_frames = 1

    def __init__(self, *, n_classes: int = 527, dropout: float = 0.2):
        super().__init__()
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.n_classes = n_classes
        self.frontend = AudioSetMel()
        cin = _channels(MN04_BLOCKS[0][1])   # the stem's 16 channels -> 8
        layers = [_ConvBN(1, cin, 3, 2, act="HS")]
        for k, cexp, cout, se, act, stride in MN04_BLOCKS:
            cexp, cout = _channels(cexp), _channels(cout)
            layers.append(_InvertedResidual(cin, k, cexp, cout, se, act, stride))
            cin = cout
        layers.append(_ConvBN(cin, 6 * cin, 1, act="HS"))
        # registered under the weights' name "features" (add_module refuses it: the method features() exists);
        # reach it as self.trunk
        self._modules["features"] = nn.Sequential(*layers)
        hidden = _channels(1280)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(6 * cin, hidden),
                                        nn.Hardswish(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))
        self.reset_parameters()

    # ------------------------------------------------------------------ structure
    @property
    def trunk(self) -> nn.Sequential:
        """``features.0`` .. ``features.16`` (the module registered under the weights' name ``features``)."""
        return self._modules["features"]

    @property
    def layer_names(self) -> list[str]:
        """``features.0`` .. ``features.16``: the layers whose globally pooled output is an embedding."""
        return [f"features.{i}" for i in range(len(self.trunk))]

    @property
    def embedding_layer(self) -> str:
        """``features.16``, the last 1x1 conv (384 channels)."""
        return self.layer_names[-1]

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Fresh weights as MobileNetV3 initialises them: conv weights He-normal (fan-out), linear weights
        N(0, 0.01), zero biases, unit / zero batch-norm and reset running statistics (``generator``: the source of
        the draws; default torch's global one)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", generator=generator)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01, generator=generator)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()   # weight 1, bias 0, running mean 0 / variance 1

    # ------------------------------------------------------------------ the interface (neuralogram.nets)
    def architecture(self) -> dict:
        """What fixes the network's shape, as plain data: ``arch``, ``width``, ``n_classes``, ``dropout`` and the
        front end's parameters.

        Book: ``book/13_audioset_net.ipynb``.
        """
        fe = self.frontend
        return {"arch": self.arch, "width": _WIDTH, "n_classes": self.n_classes, "dropout": self.classifier[4].p,
                "sr": fe.sr, "n_mels": fe.n_mels, "n_fft": fe.n_fft, "win_length": fe.win_length,
                "hop_length": fe.hop_length, "f_min": fe.f_min, "f_max": fe.f_max, "preemphasis": fe.preemphasis}

    def reinitialised(self) -> "MobileNetAudioSet":
        """A new mn04 with fresh weights (:meth:`reset_parameters`, drawn from torch's global generator: the caller
        seeds it) and batch-norm running statistics at their defaults, on this network's device, in eval mode.

        Book: ``book/13_audioset_net.ipynb``.
        """
        twin = MobileNetAudioSet(n_classes=self.n_classes, dropout=self.classifier[4].p)
        return twin.to(next(self.parameters()).device).eval()

    def check_frontend(self) -> None:
        """Raise ``ValueError`` when the front end does not make what the trunk takes (rate, bands, hop)."""
        fe = self.frontend
        if (fe.sr, fe.n_mels, fe.hop_length) != (self.sr, self.n_mels, self.frame_hop):
            raise ValueError(f"front end ({fe.sr} Hz, {fe.n_mels} bands, hop {fe.hop_length}) does not fit the network "
                             f"({self.sr} Hz, {self.n_mels} bands, hop {self.frame_hop})")

    def spec_frames(self, x: torch.Tensor, f0: int, f1: int) -> torch.Tensor:
        """Log-mel frames ``f0 .. f1-1`` of the whole signal ``x`` at 32 kHz (frame m centred on sample m * 320,
        zeros outside), shape (128, f1 - f0): the fast neuralogram's input (:meth:`AudioSetMel.frames`).

        Book: ``book/13_audioset_net.ipynb``.
        """
        return self.frontend.frames(x, f0, f1)

    def _check_input(self, spec) -> torch.Tensor:
        if not isinstance(spec, torch.Tensor):
            raise ValueError(f"spec must be a torch.Tensor, got {type(spec).__name__}")
        if spec.ndim == 3:
            spec = spec.unsqueeze(1)
        if spec.ndim != 4 or spec.shape[1] != 1 or spec.shape[2] != self.n_mels:
            raise ValueError(f"spec must have shape (batch, 1, {self.n_mels}, frames) or (batch, {self.n_mels}, "
                             f"frames) (log-mel from AudioSetMel), got {tuple(spec.shape)}")
        if spec.shape[0] < 1 or spec.shape[3] < self.min_frames:
            raise ValueError(f"spec has {spec.shape[3]} frames and batch {spec.shape[0]}; need at least "
                             f"{self.min_frames} frame(s) and one item")
        if not spec.is_floating_point():
            raise ValueError(f"spec must be floating point, got {spec.dtype}")
        if not torch.isfinite(spec).all():
            raise ValueError("spec contains NaN or Inf")
        return spec

    def features(self, spec: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """The feature map ``(batch, channels, freq', time')`` after trunk layer ``layer`` (default ``features.16``).

        Parameters
        ----------
        spec : torch.Tensor [shape=(batch, 1, 128, frames) or (batch, 128, frames)]
            Log-mel frames from :attr:`frontend` (any number >= 1).
        layer : str or None
            One of :attr:`layer_names`; ``None`` = :attr:`embedding_layer`.

        Returns
        -------
        torch.Tensor [shape=(batch, C, ceil(128 / s), ceil(frames / s))], s the layer's total stride

        Book: ``book/13_audioset_net.ipynb``.
        """
        spec = self._check_input(spec)
        stop = self.layer_names.index(self.check_layer(layer))
        x = spec
        for mod in list(self.trunk)[:stop + 1]:
            x = mod(x)
        return x

    def head(self, emb: torch.Tensor) -> torch.Tensor:
        """Linear(384, 512) -> hard-swish -> dropout -> Linear(512, 527) on embeddings (batch, 384): logits.

        Book: ``book/13_audioset_net.ipynb``.
        """
        if not isinstance(emb, torch.Tensor) or emb.ndim != 2 or emb.shape[1] != self.embedding_size:
            raise ValueError(f"emb must have shape (batch, {self.embedding_size}), got "
                             f"{tuple(getattr(emb, 'shape', ())) or type(emb).__name__}")
        return self.classifier[2:](emb)

    # ------------------------------------------------------------------ tables
    def layer_table(self, n_frames: int = 200) -> list[tuple[str, tuple[int, ...], int]]:
        """(layer name, output shape for one input of ``n_frames`` frames (2 s), parameter count) per layer.

        Book: ``book/13_audioset_net.ipynb``.
        """
        rows = []
        x = torch.zeros(1, 1, self.n_mels, n_frames)
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                for name, mod in zip(self.layer_names, self.trunk):
                    x = mod(x)
                    rows.append((name, tuple(x.shape[1:]), sum(p.numel() for p in mod.parameters())))
                e = self.pool(x)
                rows.append(("embedding (global avg pool)", tuple(e.shape[1:]), 0))
                h = self.classifier[2](e)
                rows.append(("classifier.2 (+ hard-swish)", tuple(h.shape[1:]), self.classifier[2].weight.numel()
                             + self.classifier[2].bias.numel()))
                h = self.classifier[5](h)
                rows.append(("classifier.5 (logits)", tuple(h.shape[1:]), self.classifier[5].weight.numel()
                             + self.classifier[5].bias.numel()))
        finally:
            self.train(was)
        return rows

    def count_flops(self, n_frames: int = 200) -> int:
        """Multiply-adds x 2 of one forward pass (trunk and head; conv and linear layers, the squeeze-excitation
        gates included) on one input of ``n_frames`` frames (200 = 2 s).

        Book: ``book/13_audioset_net.ipynb``.
        """
        if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < self.min_frames:
            raise ValueError(f"n_frames must be an integer >= {self.min_frames}, got {n_frames!r}")
        total = [0]

        def hook(mod, inp, out):
            if isinstance(mod, nn.Conv2d):
                k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
                total[0] += 2 * out.numel() * k
            else:
                total[0] += 2 * out.numel() * mod.in_features

        handles = [m.register_forward_hook(hook) for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                self(torch.zeros(1, 1, self.n_mels, n_frames))
        finally:
            for h in handles:
                h.remove()
            self.train(was)
        return total[0]


# ---------------------------------------------------------------------------------------------------- loading
def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _weights_hash(model: nn.Module, length: int = 12) -> str:
    """The short weight hash of ``neuralogram.checkpoints.model_hash`` (same algorithm: SHA-256 over the sorted
    state-dict items, each key's bytes then its float32 values), kept here so this module does not import
    ``checkpoints``."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()[:length]


def _few(names, n=4) -> str:
    names = sorted(names)
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _read_labels(label_csv, n_classes: int) -> tuple[list[str], list[str]]:
    label_csv = Path(label_csv)
    if not label_csv.is_file():
        raise ValueError(f"label file {label_csv} does not exist")
    try:
        with open(label_csv, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"label file {label_csv} cannot be read as CSV ({err})") from None
    if not rows or not {"index", "mid", "display_name"} <= set(rows[0]):
        raise ValueError(f"label file {label_csv}: expected the columns index, mid, display_name (AudioSet's "
                         f"class_labels_indices.csv), got {sorted(rows[0]) if rows else 'no rows'}")
    if len(rows) != n_classes:
        raise ValueError(f"label file {label_csv} has {len(rows)} labels, the network has {n_classes} outputs")
    for i, r in enumerate(rows):
        if r["index"] is None or r["index"].strip() != str(i) or not r["mid"] or not r["display_name"]:
            raise ValueError(f"label file {label_csv}, row {i + 2}: expected index {i} with a mid and a name, got "
                             f"{dict(r)}")
    return [r["display_name"] for r in rows], [r["mid"] for r in rows]


def load_audioset_net(path, *, sha256: str, label_csv) -> tuple[MobileNetAudioSet, dict]:
    """Load EfficientAT ``mn04`` weights (a plain state dict) into a :class:`MobileNetAudioSet`, checked first.

    The file's SHA-256 is compared with ``sha256`` before anything is unpickled, then it is read with
    ``torch.load(..., weights_only=True)`` and every key, shape and value is checked. Nothing is written.

    Parameters
    ----------
    path : str or Path
        The weights (``data/models/mn04-audioset.pt``).
    sha256 : str
        The expected SHA-256 of the file (64 hex digits; :data:`MN04_SHA256` for the shipped weights).
    label_csv : str or Path
        AudioSet's ``class_labels_indices.csv`` (``index, mid, display_name``, 527 rows in output order).

    Returns
    -------
    model : MobileNetAudioSet
        In eval mode, on the CPU.
    info : dict
        ``name`` (the file's stem), ``path``, ``label_names``, ``label_mids``, ``config`` (``arch``, ``sr``, the
        front end's parameters, sizes), ``metrics`` (what the authors report for known weights), ``calibration``
        (None), ``hash`` (12 hex digits of the weights, the algorithm of ``checkpoints.model_hash``), ``sha256``.

    Raises
    ------
    ValueError
        The file is missing, its SHA-256 differs (both hashes are named), it is truncated or corrupt or not a
        state dict, keys are missing or unexpected (a few are named), a shape differs, a weight is NaN or Inf, or
        the label file is missing or malformed.

    Book: ``book/13_audioset_net.ipynb``.
    """
    path = Path(path)
    if not isinstance(sha256, str) or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    if not path.is_file():
        raise ValueError(f"weights file {path} does not exist")
    got = _file_sha256(path)
    if got != sha256.lower():
        raise ValueError(f"weights file {path}: SHA-256 {got} differs from the expected {sha256.lower()} (the file "
                         f"is truncated, corrupt or another version); get it again")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle, zip and torch errors all mean one thing here
        raise ValueError(f"weights file {path} cannot be read by torch.load(weights_only=True): it is truncated, "
                         f"corrupt or not a PyTorch file ({type(err).__name__}: {str(err)[:200]})") from None
    if not isinstance(sd, dict) or not sd or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                     for k, v in sd.items()):
        raise ValueError(f"weights file {path} does not hold a state dict (a dict of named tensors); it holds "
                         f"{type(sd).__name__}")
    model = MobileNetAudioSet()
    want = model.state_dict()
    missing, extra = set(want) - set(sd), set(sd) - set(want)
    if missing or extra:
        raise ValueError(f"weights file {path} does not fit {model.arch}: "
                         + "; ".join(s for s in (f"{len(missing)} missing key(s): {_few(missing)}" if missing else "",
                                                 f"{len(extra)} unexpected key(s): {_few(extra)}" if extra else "")
                                     if s))
    bad = [f"{k} {tuple(sd[k].shape)} (expected {tuple(v.shape)})" for k, v in want.items() if sd[k].shape != v.shape]
    if bad:
        raise ValueError(f"weights file {path}: {len(bad)} tensor(s) of the wrong shape: {_few(bad, 3)}")
    nonfinite = [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if nonfinite:
        raise ValueError(f"weights file {path}: NaN or Inf in {len(nonfinite)} tensor(s): {_few(nonfinite)}")
    model.load_state_dict(sd)
    model.eval()
    label_names, label_mids = _read_labels(label_csv, model.n_classes)
    fe = model.frontend
    config = {"arch": model.arch, "width": _WIDTH, "sr": model.sr, "n_mels": fe.n_mels, "n_fft": fe.n_fft,
              "win_length": fe.win_length, "hop_length": fe.hop_length, "f_min": fe.f_min, "f_max": fe.f_max,
              "preemphasis": fe.preemphasis, "embedding_size": model.embedding_size, "n_classes": model.n_classes,
              "loss": model.loss, "n_params": sum(p.numel() for p in model.parameters())}
    info = {"name": path.stem, "path": str(path), "label_names": label_names, "label_mids": label_mids,
            "config": config, "metrics": dict(_REPORTED.get(got, {})), "calibration": None,
            "hash": _weights_hash(model), "sha256": got}
    return model, info
