"""A fair random-initialised baseline: same architecture, fresh Xavier weights, batch-norm statistics
re-estimated on audio (by default crops of the book's synthetic stand-in corpus, :func:`default_corpus`).

Why the re-estimation matters: a freshly initialised network has batch-norm running statistics of mean 0 and
variance 1. Log-power spectrograms have values around -14 .. +5, so in eval mode the untrained net's first
layers see badly scaled inputs and most ReLUs end up either always on or always off: its neuralogram looks flat
for a trivial reason. Re-estimating every batch-norm layer's running mean and variance on crops of the training
corpus (a cumulative average, ``momentum=None``) gives the random net the same input normalisation a trained
net has, so "trained vs random" compares what was *learned*, not a scaling accident.

Book: ``book/07_pitch.ipynb``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..audio import resample
from ..model import ModelConfig, NeuralogramNet
from ..nets import EmbeddingNet

__all__ = ["random_init_model", "reestimate_batchnorm", "default_corpus", "compare_with_twin"]

#: The small stand-in corpus the probes use for batch-norm re-estimation (generated once, cached).
DEFAULT_CORPUS = dict(n_clips=200, seed=123)


def default_corpus():
    """The small cached stand-in corpus used by the probe chapters (``corpus.standin_corpus(n_clips=200,
    seed=123)``), opened as a :class:`~neuralogram.data.store.PackedStore`.

    Set ``$NEURALOGRAM_PROBE_CORPUS`` to the path of another packed corpus (your AudioSet store, say) to
    estimate the random baseline's batch-norm statistics on it instead.

    Book: ``book/07_pitch.ipynb``.
    """
    import os

    env = os.environ.get("NEURALOGRAM_PROBE_CORPUS")
    if env:
        from ..data.store import PackedStore

        return PackedStore(env)
    try:
        from ..data.standin import corpus as _corpus  # imported lazily: the generator needs the SoundFont / espeak-ng
    except ImportError as err:
        raise ValueError("no corpus to estimate batch-norm statistics on: the stand-in generator "
                         f"(neuralogram.data.standin.corpus) is unavailable ({err}); pass corpus= or set "
                         "$NEURALOGRAM_PROBE_CORPUS to a packed corpus") from None
    from ..data.store import PackedStore

    return PackedStore(_corpus.standin_corpus(**DEFAULT_CORPUS))


def _input_batches(model: EmbeddingNet, corpus, *, n_batches: int, batch_size: int, seed: int):
    """Yield ``n_batches`` batches of the network's input (its front end on 2 s crops of ``corpus``, resampled to
    the network's rate), or batches of a tensor of inputs given as they are."""
    if isinstance(corpus, torch.Tensor):
        specs = corpus if corpus.ndim == 4 else corpus.unsqueeze(1)
        if specs.ndim != 4 or specs.shape[1] != 1:
            raise ValueError(f"corpus spectrograms must have shape (n, 1, F, T), got {tuple(corpus.shape)}")
        g = torch.Generator().manual_seed(seed)
        for _ in range(n_batches):
            yield specs[torch.randint(0, specs.shape[0], (min(batch_size, specs.shape[0]),), generator=g)]
        return
    from ..data.store import CropDataset, PackedStore

    if isinstance(corpus, (str, Path)):
        corpus = PackedStore(corpus)
    if not isinstance(corpus, PackedStore):
        raise ValueError(f"corpus must be None, a path, a PackedStore or a spectrogram tensor, got {type(corpus).__name__}")
    ds = CropDataset(corpus, split="train", random_crop=True, seed=seed, crop_seconds=model.context_seconds)
    rng = np.random.default_rng(seed)
    for _ in range(n_batches):
        idx = rng.choice(len(ds), size=min(batch_size, len(ds)), replace=len(ds) < batch_size)
        x = torch.from_numpy(np.stack([ds.crop_audio(int(j)) for j in idx]))
        if corpus.sr != model.sr:
            x = resample(x, orig_sr=corpus.sr, target_sr=model.sr)
        yield model.frontend(x)


@torch.no_grad()
def reestimate_batchnorm(model: EmbeddingNet, corpus=None, *, n_batches: int = 8, batch_size: int = 16,
                         seed: int = 0) -> EmbeddingNet:
    """Reset and re-estimate every batch-norm layer's running statistics on crops of ``corpus``.

    Each ``BatchNorm2d`` gets ``momentum=None`` (running statistics become the cumulative average over all
    batches seen), the trunk is run in train mode on ``n_batches`` batches, then the original momenta are
    restored and the model is put in eval mode. Weights are not changed. The crops are 2 s of the corpus's audio,
    resampled to the network's rate and passed through its own front end (the VGG's spectrogram, mn04's mel).

    Parameters
    ----------
    model : EmbeddingNet
        Modified in place and returned.
    corpus : None, str, Path, PackedStore or torch.Tensor [shape=(n, 1, F, T)]
        Where the crops come from; ``None`` is the small cached stand-in corpus (:func:`default_corpus`); a
        tensor holds the network's inputs (e.g. 129 x 200 spectrograms for the VGG).
    n_batches, batch_size : int
        How many crops are used (``n_batches * batch_size``; 128 by default).
    seed : int
        Seeds the choice of crops.

    Returns
    -------
    EmbeddingNet (eval mode)

    Book: ``book/07_pitch.ipynb``.
    """
    if not isinstance(model, EmbeddingNet):
        raise ValueError(f"model must be an embedding network (a NeuralogramNet or a MobileNetAudioSet), got "
                         f"{type(model).__name__}")
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 1:
        raise ValueError(f"n_batches must be a positive integer, got {n_batches!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2 (batch-norm needs a batch), got {batch_size!r}")
    if corpus is None:
        corpus = default_corpus()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        for spec in _input_batches(model, corpus, n_batches=n_batches, batch_size=batch_size, seed=seed):
            model.features(spec)  # trunk only: every batch-norm layer is in the trunk
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        model.eval()
    return model


def random_init_model(like, corpus=None, *, n_batches: int = 8, batch_size: int = 16, seed: int = 0) -> EmbeddingNet:
    """A freshly initialised network shaped like ``like``, with batch-norm statistics re-estimated.

    This is the random baseline of every probe: same architecture and embedding size as the trained model,
    weights drawn from the paper's Xavier initialisation (seeded), and input normalisation estimated on the
    same kind of audio the trained model saw (see the module docstring for why).

    Parameters
    ----------
    like : EmbeddingNet, ModelConfig or dict
        The model (or a VGG's config) to copy the shape of; the new weights come from the network's own
        initialisation (:meth:`~neuralogram.nets.EmbeddingNet.reinitialised`: Xavier for the VGG).
    corpus : see :func:`reestimate_batchnorm`
    n_batches, batch_size : int
        Crops used to estimate the batch-norm statistics.
    seed : int
        Seeds both the weights and the choice of crops.

    Returns
    -------
    EmbeddingNet (eval mode)

    Examples
    --------
    >>> model, info = load_model("vgg19-e500-standin")          # doctest: +SKIP
    >>> rnd = random_init_model(model)                           # doctest: +SKIP

    Book: ``book/07_pitch.ipynb``.
    """
    if isinstance(like, ModelConfig):
        like = NeuralogramNet(ModelConfig(**like.to_dict()))
    elif isinstance(like, dict):
        like = NeuralogramNet(ModelConfig(**like))
    elif not isinstance(like, EmbeddingNet):
        raise ValueError(f"like must be an embedding network, a ModelConfig or a config dict, got {type(like).__name__}")
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = like.reinitialised()
    finally:
        torch.random.set_rng_state(state)
    return reestimate_batchnorm(model, corpus, n_batches=n_batches, batch_size=batch_size, seed=seed)


def compare_with_twin(probe, model, info=None, *, corpus=None, twin_seed: int = 0, twin_params: dict | None = None,
                      **params) -> dict:
    """Run ``probe`` on ``model`` and on its fair random-initialised twin: the comparison every probe makes.

    Parameters
    ----------
    probe : callable
        ``probe(model, info, **params) -> dict`` (e.g. :func:`~neuralogram.probes.pitch.pitch_probe`).
    model : EmbeddingNet or str
        The trained model or a shipped model's name.
    info : dict, optional
        ``load_model``'s info.
    corpus, twin_seed
        For :func:`random_init_model` (batch norm re-estimated on the stand-in by default); ``twin_seed`` is the
        twin's seed, apart from any ``seed`` the probe itself takes (the timbre probe's excerpt seed).
    twin_params : dict, optional
        Parameters that differ for the twin (e.g. ``tags=False`` for timbre: a random output layer means nothing).
    params
        Passed to ``probe`` for both.

    Returns
    -------
    dict
        ``{"trained": probe(model), "random": probe(twin)}``; the twin's ``model`` reads
        ``"random-init twin of NAME (seed S)"``.

    Book: ``book/07_pitch.ipynb``.
    """
    from ..checkpoints import resolve_model

    model, info = resolve_model(model, info)
    trained = probe(model, info, **params)
    # the twin has the trained model's outputs (their names), not its weights: no hash, so caches key its weights
    twin_info = {k: info[k] for k in ("label_names", "label_mids") if info and k in info} or None
    random = probe(random_init_model(model, corpus, seed=twin_seed), twin_info, **{**params, **(twin_params or {})})
    random["model"] = f"random-init twin of {(info or {}).get('name', 'unnamed')} (seed {twin_seed})"
    return {"trained": trained, "random": random}
