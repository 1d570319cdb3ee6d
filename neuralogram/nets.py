"""The one interface of every embedding network: what the neuralogram transform, tagging, the probes, the widgets,
the HEAR wrapper and the command line need to know about a network, and nothing else.

A network that makes neuralograms declares

==========================  ===========================================================================
``sr``                      the rate it hears (Hz): 8000 for the paper's VGG, 32000 for mn04
``context_seconds``         the window it was trained on and the default window of a neuralogram (2 s)
``max_window_seconds``      the longest window it accepts (the VGG: its 2 s context; ``None``: any length)
``min_window_seconds``      the shortest window it accepts (one time step of its last feature map)
``frame_hop``               the front end's hop in samples at ``sr`` (10 ms for both)
``time_stride``             front-end frames per column of the embedding layer's feature map
``fast_margin``             frames of context added on each side of a fast-mode chunk
``chunk_invariant``         whether the trunk is local (fast mode = exact up to window edges; the VGG) or has
                            global gates (mn04's squeeze-excitation: fast mode is an approximation)
``embedding_size``          the rows of a neuralogram taken at the embedding layer
``n_classes``, ``loss``     the head's outputs; ``"bce"``: sigmoid per label, ``"mse"``: softmax
==========================  ===========================================================================

and implements

* ``frontend`` — an ``nn.Module``, waveforms ``(batch, n)`` at ``sr`` -> network input ``(batch, 1, F, frames)``,
  each window on its own (the exact neuralogram);
* :meth:`spec_frames` — frames ``f0 .. f1-1`` of the front end of a whole signal (frame ``m`` centred on sample
  ``m * frame_hop``, zeros outside): the fast neuralogram's input;
* :meth:`features` — the feature map of a layer; :meth:`pool` (global average); :meth:`embed`; :meth:`head`
  (embedding -> logits); :meth:`output_activation`, calibrated by :attr:`temperature`;
* :attr:`layer_names`, :attr:`embedding_layer` and :meth:`check_layer`.

Everything outside the network modules (:mod:`neuralogram.model`, :mod:`neuralogram.mobilenet`) talks to a network
through these names only, never through its type.

Book: ``book/06_neuralogram.ipynb`` (the transform) and ``book/13_audioset_net.ipynb`` (two networks, one
interface).
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["EmbeddingNet"]


class EmbeddingNet(nn.Module):
    """Base class of the networks that make neuralograms (see the module docstring for the interface).

    Subclasses set the class or instance attributes of the table and implement ``frontend``,
    :meth:`spec_frames`, :meth:`features`, :meth:`head` and :attr:`layer_names`.

    Book: ``book/13_audioset_net.ipynb``.
    """

    sr: int
    context_seconds: float = 2.0
    max_window_seconds: float | None = None
    min_window_seconds: float
    frame_hop: int
    time_stride: int
    fast_margin: int
    embedding_size: int
    n_classes: int
    loss: str = "bce"
    #: True when every feature column depends only on the input within the receptive field (no global gates)
    chunk_invariant: bool = True
    #: the name of the architecture, as model cards and tables print it
    arch: str = "network"

    def __init__(self):
        super().__init__()
        #: logits are divided by it before the output activation (temperature scaling, set from the checkpoint's
        #: ``calibration`` by ``load_model``; 1 = the network's own outputs). ``forward`` returns raw logits.
        self.temperature = 1.0

    # ------------------------------------------------------------------ structure
    @property
    def layer_names(self) -> list[str]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def conv_layer_names(self) -> list[str]:
        """The layers offered to a reader (widgets, probes): those whose pooled output is a neuralogram's column."""
        return list(self.layer_names)

    @property
    def embedding_layer(self) -> str:
        """The layer whose globally pooled feature map is the embedding (the default of every ``layer=``)."""
        raise NotImplementedError  # pragma: no cover

    def check_layer(self, layer) -> str:
        """The layer to pool: ``None`` means :attr:`embedding_layer`; else one of :attr:`layer_names`.

        The one layer check of the package (the transform, the probes and the widgets call it).

        Book: ``book/06_neuralogram.ipynb``.
        """
        if layer is None:
            return self.embedding_layer
        if layer not in self.layer_names:
            raise ValueError(f"unknown layer {layer!r}; use None ({self.embedding_layer}, the embedding) or one of "
                             f"{self.layer_names}")
        return layer

    @property
    def window_seconds(self) -> float:
        """The context window in seconds (the default window of a neuralogram)."""
        return self.context_seconds

    def architecture(self) -> dict:
        """What fixes the network's shape, as plain data (cache keys of random twins, tables); the VGG's config."""
        raise NotImplementedError  # pragma: no cover

    def reinitialised(self) -> "EmbeddingNet":
        """A new network of the same architecture and size with freshly initialised weights (the caller seeds
        torch's generator); the random twin of the probes (:func:`neuralogram.probes.baseline.random_init_model`)."""
        raise NotImplementedError  # pragma: no cover

    def check_frontend(self) -> None:
        """Raise ``ValueError`` when the network cannot take its own front end's output (a config mismatch)."""

    # ------------------------------------------------------------------ forward paths
    def spec_frames(self, x: torch.Tensor, f0: int, f1: int) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def features(self, spec: torch.Tensor, layer: str | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def head(self, emb: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def pool(fmap: torch.Tensor) -> torch.Tensor:
        """Global average over frequency and time: (batch, C, F, T) -> (batch, C)."""
        return fmap.mean(dim=(2, 3))

    def embed(self, spec: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """Embeddings (batch, C): the globally pooled feature map of ``layer`` (default :attr:`embedding_layer`).

        Book: ``book/06_neuralogram.ipynb``.
        """
        return self.pool(self.features(spec, layer))

    def embed_wave(self, wave: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """Embeddings (batch, C) of waveforms (batch, n) at :attr:`sr`: front end, trunk, global pool."""
        return self.embed(self.frontend(wave), layer)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(spec))

    def output_activation(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities from logits: softmax (``loss="mse"``) or sigmoid (``"bce"``) of ``logits / temperature``."""
        if self.temperature != 1.0:
            logits = logits / self.temperature
        return torch.softmax(logits, -1) if self.loss == "mse" else torch.sigmoid(logits)

    @torch.no_grad()
    def predict_proba(self, spec: torch.Tensor) -> torch.Tensor:
        """Output probabilities (batch, n_classes) of front-end output ``spec``, in eval mode."""
        was = self.training
        self.eval()
        try:
            return self.output_activation(self(spec))
        finally:
            self.train(was)
