"""The paper's network: a 19-layer VGG (16 conv + 3 fully connected) on 1 x 129 x 200 linear spectrograms.

Architecture (``width`` multiplies the channel counts; ``width=1`` is VGG-19's 64/128/256/512/512):

=========  =====================  ===============================================
block      layers                 output (width=1, E = embedding_size)
=========  =====================  ===============================================
input      BatchNorm (1 channel)  1 x 129 x 200
1          2 x conv3x3 + pool     64 x 65 x 100
2          2 x conv3x3 + pool     128 x 33 x 50
3          4 x conv3x3 + pool     256 x 17 x 25
4          4 x conv3x3 + pool     512 x 9 x 13
5          4 x conv3x3            512, 512, 512, **E** x 9 x 13  (conv5_4 has E channels)
embedding  global average pool    E
fc1, fc2   linear + ReLU + drop   fc_size, fc_size (dropout 0.5)
fc3        linear                 n_classes (softmax at the output)
=========  =====================  ===============================================

Pooling adapted to the non-square input: VGG's five 2x2 pools would shrink 129 frequency bins to 4, so there
are four 2x2 max-pools with ``ceil_mode=True`` (129 is odd: no frequency row, in particular not the Nyquist
bin, is dropped; 200 -> 100 -> 50 -> 25 -> 13 frames), and the fifth pool is a global average over the
remaining 9 x 13 map, which also makes the embedding independent of where in the window a sound falls.
Every conv is followed by batch normalisation and ReLU; weights use Xavier (Glorot) uniform initialisation.

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .audio import PAPER_SR
from .nets import EmbeddingNet

__all__ = ["ModelConfig", "NeuralogramNet", "VGG19_BLOCKS", "loss_fn", "count_flops"]

#: Convolutions per block and the base channel count of each block (VGG-19, configuration E).
VGG19_BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))


@dataclass
class ModelConfig:
    """Everything that defines a network's shape; stored in every checkpoint.

    Parameters
    ----------
    n_classes : int
        Output labels (527 for AudioSet; the stand-in corpus has fewer).
    embedding_size : int
        E, the channel count of the last conv layer (conv5_4) = the neuralogram's height. The paper uses
        2000 and 500 and discusses smaller ones.
    width : float
        Channel multiplier for conv1_1 .. conv5_3 (1.0 = VGG-19). The CPU-trained checkpoints use 0.125.
    fc_size : int or None
        Width of fc1 and fc2; ``None`` means ``max(128, round(4096 * width))``.
    dropout : float
        Dropout before fc2 and fc3 (the paper: 0.5).
    loss : {"mse", "bce"}
        "mse": softmax output, squared Euclidean distance to the multi-hot target (the paper's choice);
        "bce": sigmoid outputs with binary cross-entropy.
    n_freq, n_frames : int
        Input spectrogram shape (129 x 200: 2 s at 8 kHz, 10 ms hop).

    Book: ``book/05_model.ipynb``.
    """

    n_classes: int
    embedding_size: int = 500
    width: float = 0.125
    fc_size: int | None = None
    dropout: float = 0.5
    loss: str = "mse"
    n_freq: int = 129
    n_frames: int = 200
    sr: int = PAPER_SR
    hop_length: int = 80

    def __post_init__(self):
        for name in ("n_classes", "embedding_size", "n_freq", "n_frames"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.width, (int, float)) and self.width > 0):
            raise ValueError(f"ModelConfig.width must be > 0, got {self.width!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if self.loss not in ("mse", "bce"):
            raise ValueError(f"ModelConfig.loss must be 'mse' or 'bce', got {self.loss!r}")
        if self.fc_size is None:
            self.fc_size = max(128, int(round(4096 * self.width)))

    @property
    def window_seconds(self) -> float:
        """The context window in seconds (200 frames x 10 ms = 2 s)."""
        return self.n_frames * self.hop_length / self.sr

    def channels(self) -> list[int]:
        """Output channels of the 16 conv layers, in order."""
        out = []
        for b, (n, c) in enumerate(VGG19_BLOCKS):
            for i in range(n):
                last = b == len(VGG19_BLOCKS) - 1 and i == n - 1
                out.append(self.embedding_size if last else max(4, int(round(c * self.width))))
        return out

    def to_dict(self) -> dict:
        return asdict(self)


class _ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _FromConfig:
    """A read-only attribute of the network that is a field of its config: ``sr = _FromConfig("sr")`` reads
    ``self.config.sr`` (the :mod:`neuralogram.nets` interface attributes that the :class:`ModelConfig` fixes)."""

    def __init__(self, field: str, doc: str):
        self.field, self.__doc__ = field, doc

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        return self if obj is None else getattr(obj.config, self.field)

    def __set__(self, obj, value):
        raise AttributeError(f"{self.name} is config.{self.field}: build a network from another ModelConfig")


class NeuralogramNet(EmbeddingNet):
    """The VGG-19 of the paper (see the module docstring for the layer table).

    ``forward(spec)`` returns logits; :meth:`predict_proba` applies the output non-linearity (softmax for
    the paper's MSE loss, sigmoid for BCE); :meth:`embed` returns the E-dim embedding (the globally pooled
    last conv layer) used to build neuralograms; :meth:`activations` returns any named layer's output.

    Parameters
    ----------
    config : ModelConfig

    Book: ``book/05_model.ipynb``.
    """

    arch = "vgg19"
    #: the trunk's time downsampling at conv5 (four 2x2 pools): one feature column per 16 spectrogram frames
    time_stride = 16
    #: spectrogram frames of margin on each side of a fast-mode chunk: the conv5_4 receptive field is 252 frames
    #: (126 each side), rounded up to a multiple of the stride so that the pooling grids stay aligned
    fast_margin = 128

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        from .spectral import LinearSpectrogram

        #: the paper's front end: 129-bin log-power spectrogram, 30 ms window, 10 ms hop at 8 kHz (built on the CPU
        #: even when the network is built on the meta device to check a checkpoint's shapes)
        with torch.device("cpu"):
            self.frontend = LinearSpectrogram(hop_length=config.hop_length)
        layers = OrderedDict()
        layers["input_norm"] = nn.BatchNorm2d(1)
        cin, k = 1, 0
        chans = config.channels()
        for b, (n, _) in enumerate(VGG19_BLOCKS, start=1):
            for i in range(1, n + 1):
                layers[f"conv{b}_{i}"] = _ConvBNReLU(cin, chans[k])
                cin = chans[k]
                k += 1
            if b < len(VGG19_BLOCKS):
                layers[f"pool{b}"] = nn.MaxPool2d(2, ceil_mode=True)
        self.trunk = nn.Sequential(layers)
        self.fc1 = nn.Linear(config.embedding_size, config.fc_size)
        self.fc2 = nn.Linear(config.fc_size, config.fc_size)
        self.fc3 = nn.Linear(config.fc_size, config.n_classes)
        self.drop = nn.Dropout(config.dropout)
        self.reset_parameters()

    # ------------------------------------------------------------------ the interface (neuralogram.nets)
    sr = _FromConfig("sr", "The rate it hears (Hz): 8000.")
    context_seconds = _FromConfig("window_seconds", "The window it was trained on (2 s), a neuralogram's default.")
    max_window_seconds = _FromConfig("window_seconds", "The longest window: the 2 s context it was trained on "
                                                       "(longer windows are refused).")
    frame_hop = _FromConfig("hop_length", "The front end's hop in samples (80: 10 ms at 8 kHz).")
    embedding_size = _FromConfig("embedding_size", "E, the channels of conv5_4: the neuralogram's height.")
    n_classes = _FromConfig("n_classes", "The head's outputs (labels).")
    loss = _FromConfig("loss", '``"mse"`` (softmax outputs) or ``"bce"`` (a sigmoid per label).')

    @property
    def min_window_seconds(self) -> float:
        """One time step of conv5: 16 spectrogram frames, 0.16 s."""
        return self.time_stride * self.config.hop_length / self.config.sr

    @property
    def embedding_layer(self) -> str:
        """``conv5_4``, the last conv layer (E channels)."""
        return self.conv_layer_names[-1]

    def check_layer(self, layer) -> str:
        """The trunk layer whose globally pooled feature map is the embedding: ``None`` means the last conv layer
        (``conv5_4``); any conv or pool layer of the trunk is accepted (not ``input_norm``, not the head).

        Book: ``book/06_neuralogram.ipynb``.
        """
        if layer is None:
            return self.embedding_layer
        names = [n for n in self.trunk._modules if n != "input_norm"]
        if layer not in names:
            raise ValueError(f"unknown layer {layer!r}; use None (conv5_4, the embedding) or one of {names}")
        return layer

    def spec_frames(self, x: torch.Tensor, f0: int, f1: int) -> torch.Tensor:
        """Log-power frames ``f0 .. f1-1`` of the whole signal ``x`` (frame m centred on sample m * hop, zeros
        outside), (129, f1 - f0): the fast neuralogram's input."""
        return self.frontend.frames(x, f0, f1)

    def count_flops(self, n_frames: int | None = None) -> int:
        """:func:`count_flops` of this network's config."""
        return count_flops(self.config, n_frames)

    def architecture(self) -> dict:
        """The config as a dict (what fixes the shape)."""
        return self.config.to_dict()

    def reinitialised(self) -> "NeuralogramNet":
        """A fresh VGG of the same config, Xavier-initialised (seed torch first)."""
        return NeuralogramNet(ModelConfig(**self.config.to_dict()))

    def check_frontend(self) -> None:
        """Refuse a config whose input is not the paper's spectrogram (the front end computes 129 bins, 10 ms)."""
        cfg = self.config
        want = {"n_freq": self.frontend.n_fft // 2 + 1, "sr": PAPER_SR, "hop_length": self.frontend.hop_length}
        bad = {k: getattr(cfg, k) for k, v in want.items() if getattr(cfg, k) != v}
        if bad:
            raise ValueError(f"this model takes another input shape ({bad}); the neuralogram transform computes the "
                             f"paper's spectrogram ({want}: {want['n_freq']} bins, 10 ms hop at 8 kHz)")

    # ------------------------------------------------------------------ structure
    @property
    def layer_names(self) -> list[str]:
        """Names accepted by :meth:`activations` / :meth:`features`, in forward order."""
        return [n for n in self.trunk._modules] + ["embedding", "fc1", "fc2", "logits"]

    @property
    def conv_layer_names(self) -> list[str]:
        return [n for n in self.trunk._modules if n.startswith("conv")]

    def reset_parameters(self) -> None:
        """Xavier-uniform weights, zero biases, unit/zero batch-norm (the paper's initialisation)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()

    def _check_input(self, spec: torch.Tensor) -> torch.Tensor:
        if not isinstance(spec, torch.Tensor):
            raise ValueError(f"spec must be a torch.Tensor, got {type(spec).__name__}")
        if spec.ndim == 3:
            spec = spec.unsqueeze(1)
        if spec.ndim != 4 or spec.shape[1] != 1:
            raise ValueError(f"spec must have shape (batch, 1, {self.config.n_freq}, frames), got {tuple(spec.shape)}")
        if spec.shape[2] != self.config.n_freq:
            raise ValueError(f"this model takes {self.config.n_freq} frequency bins, got {spec.shape[2]} "
                             f"(input shape {tuple(spec.shape)})")
        if not torch.isfinite(spec).all():
            raise ValueError("spec contains NaN or Inf")
        return spec

    # ------------------------------------------------------------------ forward paths
    def features(self, spec: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """The feature map (batch, channels, freq', time') after trunk layer ``layer`` (default conv5_4).

        Any number of frames is accepted (the trunk is fully convolutional), which the fast neuralogram
        mode uses to run the trunk once over a long spectrogram.
        """
        spec = self._check_input(spec)
        layer = layer or self.conv_layer_names[-1]
        if layer not in self.trunk._modules:
            raise ValueError(f"unknown layer {layer!r}; trunk layers are {list(self.trunk._modules)}")
        x = spec
        for name, mod in self.trunk.named_children():
            x = mod(x)
            if name == layer:
                return x
        raise AssertionError("unreachable")

    def head(self, emb: torch.Tensor) -> torch.Tensor:
        """fc1 -> fc2 -> fc3 on embeddings; returns logits."""
        h = self.drop(F.relu(self.fc1(emb)))
        h = self.drop(F.relu(self.fc2(h)))
        return self.fc3(h)

    def activations(self, spec: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        """Outputs of the named layers (default: all) for one forward pass, as a dict name -> tensor.

        Trunk layers give feature maps (batch, C, F, T); ``embedding``, ``fc1``, ``fc2`` and ``logits`` give
        vectors.

        Book: ``book/05_model.ipynb``.
        """
        names = self.layer_names if layers is None else ([layers] if isinstance(layers, str) else list(layers))
        unknown = [n for n in names if n not in self.layer_names]
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; known layers are {self.layer_names}")
        want, out = set(names), {}
        x = self._check_input(spec)
        for name, mod in self.trunk.named_children():
            x = mod(x)
            if name in want:
                out[name] = x
        if want & {"embedding", "fc1", "fc2", "logits"}:
            e = self.pool(x)
            h1 = F.relu(self.fc1(e))
            h2 = F.relu(self.fc2(self.drop(h1)))
            lg = self.fc3(self.drop(h2))
            for n, v in (("embedding", e), ("fc1", h1), ("fc2", h2), ("logits", lg)):
                if n in want:
                    out[n] = v
        return {n: out[n] for n in names}

    def layer_table(self) -> list[tuple[str, tuple[int, ...], int]]:
        """(layer name, output shape for one input, parameter count) for every layer, for the chapter's table."""
        rows = []
        x = torch.zeros(1, 1, self.config.n_freq, self.config.n_frames)
        was = self.training
        self.eval()
        with torch.no_grad():
            for name, mod in self.trunk.named_children():
                x = mod(x)
                rows.append((name, tuple(x.shape[1:]), sum(p.numel() for p in mod.parameters())))
            e = self.pool(x)
            rows.append(("embedding (global avg pool)", tuple(e.shape[1:]), 0))
            for name, lin in (("fc1", self.fc1), ("fc2", self.fc2), ("fc3 (logits)", self.fc3)):
                e = lin(e)
                rows.append((name, tuple(e.shape[1:]), sum(p.numel() for p in lin.parameters())))
        self.train(was)
        return rows


def loss_fn(logits: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """The training loss, averaged over the batch.

    ``"mse"`` (the paper): squared Euclidean distance between ``softmax(logits)`` and the multi-hot target,
    summed over classes. ``"bce"``: binary cross-entropy of per-class sigmoids, summed over classes.

    Book: ``book/05_model.ipynb``.
    """
    if logits.shape != target.shape:
        raise ValueError(f"labels of the wrong width: logits {tuple(logits.shape)} vs target {tuple(target.shape)}")
    if kind == "mse":
        return (torch.softmax(logits, -1) - target).square().sum(-1).mean()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1).mean()
    raise ValueError(f"loss must be 'mse' or 'bce', got {kind!r}")


def count_flops(config: ModelConfig, n_frames: int | None = None) -> int:
    """Multiply-adds x 2 of one forward pass on a 1 x n_freq x n_frames input (conv and linear layers).

    Book: ``book/05_model.ipynb``.
    """
    f, t = config.n_freq, n_frames or config.n_frames
    cin, flops, k = 1, 0, 0
    chans = config.channels()
    for b, (n, _) in enumerate(VGG19_BLOCKS):
        for _ in range(n):
            flops += 2 * f * t * 9 * cin * chans[k]
            cin = chans[k]
            k += 1
        if b < len(VGG19_BLOCKS) - 1:
            f, t = -(-f // 2), -(-t // 2)
    flops += 2 * (config.embedding_size * config.fc_size + config.fc_size ** 2 + config.fc_size * config.n_classes)
    return flops
