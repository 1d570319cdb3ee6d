"""Training the VGG on a packed corpus: Adam, per-epoch mAP, atomic checkpoints, exact resume, DDP.

Run it from the command line (``neuralogram train --help``); one process on CPU or one GPU, or several
processes with ``torchrun --nproc_per_node N -m neuralogram train ...`` (DistributedDataParallel; gloo on
CPU, NCCL on GPUs).

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from .cache import atomic_path
from .checkpoints import checkpoint_path, export_model, read_checkpoint, save_checkpoint
from .model import ModelConfig, NeuralogramNet, count_flops, loss_fn
from .data.store import CropDataset, PackedStore, balanced_sampler

__all__ = ["train", "batch_augment", "evaluate", "average_precision", "mean_average_precision", "chance_map",
           "random_ranking_map", "write_card"]


# ---------------------------------------------------------------------------------------------- metrics
def average_precision(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-class average precision (NaN for classes without a positive example).

    Parameters
    ----------
    scores, labels : np.ndarray [shape=(n_clips, n_classes)]

    Book: ``book/05_model.ipynb``.
    """
    from sklearn.metrics import average_precision_score

    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    if scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} differ in shape")
    ap = np.full(labels.shape[1], np.nan)
    for k in range(labels.shape[1]):
        if labels[:, k].any():
            ap[k] = average_precision_score(labels[:, k], scores[:, k])
    return ap


def mean_average_precision(scores, labels) -> float:
    """mAP: the mean of :func:`average_precision` over classes that have positives.

    Book: ``book/05_model.ipynb``.
    """
    return float(np.nanmean(average_precision(scores, labels)))


def chance_map(labels: np.ndarray) -> float:
    """The mAP of a constant output: the mean prevalence of each class with positives.

    A score that is the same for every clip ties them all, and its average precision is then the class's
    prevalence (the fraction of clips on which the class is present). The model cards and :func:`evaluate` report
    this as ``chance_mAP``. It is **not** what a random ranking gets in expectation: that is higher, much higher for
    classes with few positives (one positive among 20 clips: prevalence 0.05, random ranking 0.18), and tends to the
    prevalence only as the number of clips grows. See :func:`random_ranking_map`.

    Parameters
    ----------
    labels : np.ndarray [shape=(n_clips, n_classes)]
        Multi-hot labels (0/1 or bool).

    Returns
    -------
    float
        The mean over the classes with at least one positive of ``labels[:, c].mean()``.

    Book: ``book/05_model.ipynb``.
    """
    labels = np.asarray(labels)
    prev = labels.mean(0)
    return float(prev[labels.any(0)].mean())


def random_ranking_map(labels: np.ndarray, *, per_class: bool = False):
    """The expected average precision of a random ranking, exactly: the chance level a model must beat.

    A model whose scores carry no information ranks the clips of each class in a random order (every order
    equally likely; random scores without ties do this). For a class with ``k`` positives among ``n`` clips its
    expected average precision is

    ``E[AP] = (H_n + (k - 1) / (n - 1) * (n - H_n)) / n``, with ``H_n = 1 + 1/2 + ... + 1/n``

    (rank ``r`` holds a positive with probability ``k / n``; given that, the other ``r - 1`` ranks above it hold
    ``(r - 1)(k - 1)/(n - 1)`` positives on average, so the precision there is ``(1 + (r - 1)(k - 1)/(n - 1)) / r``;
    AP averages it over the ``k`` positives). With one positive it is ``H_n / n`` (0.18 for ``n = 20``), with every
    clip positive 1, and as ``n`` grows at a fixed prevalence it tends to the prevalence ``k / n``, which is what a
    constant output gets (:func:`chance_map`). Classes without a positive are left out, as in
    :func:`mean_average_precision`.

    Parameters
    ----------
    labels : np.ndarray [shape=(n_clips, n_classes)]
        Multi-hot labels (0/1 or bool).
    per_class : bool
        If True, return each class's expected AP (NaN for a class without positives) instead of their mean.

    Returns
    -------
    float or np.ndarray [shape=(n_classes,)]
        The expected mAP of a random ranking (the mean over classes with positives), or the per-class values.

    Examples
    --------
    >>> labels = np.zeros((20, 2), dtype=int); labels[0, 0] = 1; labels[:, 1] = 1
    >>> random_ranking_map(labels, per_class=True).round(4)
    array([0.1799, 1.    ])

    Book: ``book/05_model.ipynb``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be (n_clips, n_classes), got shape {labels.shape}")
    n = labels.shape[0]
    k = (labels != 0).sum(0).astype(np.float64)
    ap = np.full(labels.shape[1], np.nan)
    if n:
        h_n = float(np.sum(1.0 / np.arange(1, n + 1)))
        # (k - 1) / (n - 1) is 0 when k = 1, also for n = 1
        slope = (k - 1) / (n - 1) if n > 1 else np.zeros_like(k)
        has = k > 0
        ap[has] = (h_n + slope[has] * (n - h_n)) / n
    if per_class:
        return ap
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")


@torch.no_grad()
def evaluate(model: NeuralogramNet, dataset: CropDataset, *, batch_size: int = 64, device="cpu") -> dict:
    """Loss, mAP, per-class AP and ``chance_mAP`` of ``model`` on a (fixed-crop) dataset.

    ``chance_mAP`` is :func:`chance_map`, the mAP of a constant output; what a random ranking gets is
    :func:`random_ranking_map` of the same labels.

    Book: ``book/05_model.ipynb``.
    """
    model.eval()
    scores, targets, losses = [], [], []
    for spec, target in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        logits = model(spec.to(device))
        losses.append(float(loss_fn(logits, target.to(device), model.config.loss)) * len(spec))
        scores.append(model.output_activation(logits).cpu().numpy())
        targets.append(target.numpy())
    S, Y = np.concatenate(scores), np.concatenate(targets)
    ap = average_precision(S, Y)
    return {"loss": sum(losses) / len(Y), "mAP": float(np.nanmean(ap)), "chance_mAP": chance_map(Y),
            "per_class_AP": [None if math.isnan(a) else round(float(a), 4) for a in ap], "n_eval": int(len(Y))}


# ---------------------------------------------------------------------------------------------- batch augmentation
#: the largest SpecAugment masks: 16 of the 129 frequency bins (500 Hz), 40 of the 200 frames (0.4 s)
MASK_BINS, MASK_FRAMES = 16, 40


#: the shortest window a short batch is cut to: 16 frames (0.16 s, the transform's shortest window)
SHORT_FRAMES = 16


def batch_augment(spec: torch.Tensor, target: torch.Tensor, *, mixup_alpha: float = 0.0,
                  spec_masks: int = 0, p_short: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a training batch: a short window, SpecAugment masks, then mixup. Draws from torch's global RNG (so
    a resumed run, which restores it, is exact).

    Parameters
    ----------
    spec : torch.Tensor [shape=(batch, 1, n_freq, n_frames)]
        Log spectrograms.
    target : torch.Tensor [shape=(batch, n_classes)]
    mixup_alpha : float
        Mixup (Zhang et al. 2018): each clip is blended with another of the batch, ``lam * a + (1 - lam) * b``
        on the log spectrogram and on the targets, with ``lam ~ Beta(alpha, alpha)`` folded to ``[0.5, 1]`` so
        each clip stays the larger part of its own mix. 0 turns it off.
    spec_masks : int
        SpecAugment (Park et al. 2019, ``torchaudio.transforms``): this many frequency masks (up to
        :data:`MASK_BINS` bins) and time masks (up to :data:`MASK_FRAMES` frames) per clip, set to the clip's
        mean. 0 turns it off.
    p_short : float
        Probability that the whole batch is cut to a random shorter window, ``L ~ U[SHORT_FRAMES, n_frames)``
        frames (0.16-2 s), each clip keeping its loudest ``L`` consecutive frames: the network is fully
        convolutional, and a sound shorter than 2 s (a spoken digit "as recorded") is tagged from a window of its
        own length, which 2 s crops never show it. 0 turns it off.

    Book: ``book/14_real_world.ipynb``.
    """
    import torchaudio.transforms as T

    _check_batch_augment(mixup_alpha, spec_masks, p_short)
    n_frames = spec.shape[-1]
    if p_short and n_frames > SHORT_FRAMES and float(torch.rand(())) < p_short:
        L = int(torch.randint(SHORT_FRAMES, n_frames, ()))
        energy = spec.exp().sum(dim=(1, 2))                                     # (batch, frames): linear power
        c = torch.nn.functional.pad(energy.cumsum(-1), (1, 0))
        start = (c[:, L:] - c[:, :-L]).argmax(-1)                               # loudest L frames of each clip
        idx = start.view(-1, 1) + torch.arange(L).view(1, -1)
        spec = torch.gather(spec, -1, idx.view(-1, 1, 1, L).expand(-1, spec.shape[1], spec.shape[2], L))
    if spec_masks:
        keep = torch.ones_like(spec)          # torchaudio sets masked cells to 0: mask a tensor of ones
        for _ in range(int(spec_masks)):
            keep = T.FrequencyMasking(MASK_BINS, iid_masks=True)(keep)
            keep = T.TimeMasking(MASK_FRAMES, iid_masks=True)(keep)
        spec = torch.where(keep == 0, spec.mean(dim=(-2, -1), keepdim=True), spec)
    if mixup_alpha > 0:
        n = spec.shape[0]
        lam = torch.distributions.Beta(float(mixup_alpha), float(mixup_alpha)).sample((n,))
        lam = torch.maximum(lam, 1 - lam)
        perm = torch.randperm(n)
        spec = lam.view(n, 1, 1, 1) * spec + (1 - lam.view(n, 1, 1, 1)) * spec[perm]
        target = lam.view(n, 1) * target + (1 - lam.view(n, 1)) * target[perm]
    return spec, target


def _check_batch_augment(mixup_alpha, spec_masks, p_short) -> None:
    if mixup_alpha < 0 or isinstance(spec_masks, bool) or int(spec_masks) != spec_masks or spec_masks < 0:
        raise ValueError(f"mixup_alpha must be >= 0 and spec_masks a non-negative integer, got {mixup_alpha!r}, "
                         f"{spec_masks!r}")
    if not 0 <= p_short <= 1:
        raise ValueError(f"p_short must be a probability in [0, 1], got {p_short!r}")


# ---------------------------------------------------------------------------------------------- DDP
def _dist_setup():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist.get_rank(), dist.get_world_size(), True


def _param_checksum(model) -> float:
    return float(sum(p.detach().double().sum() for p in model.parameters()))


# ---------------------------------------------------------------------------------------------- training
def train(corpus, out_dir, *, embedding_size: int = 500, width: float = 0.125, loss: str = "mse",
          epochs: int = 10, batch_size: int = 32, lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0,
          resume: bool = False, balanced: bool = False, balanced_from: int = 0, steps_per_epoch: int | None = None,
          num_workers: int = 0, device: str | None = None, export: str | None = None,
          command: str | None = None, progress: bool = True, on_step=None, init_from: str | None = None,
          train_from: str | None = None, crop_top_db: float | None = None, mixup_alpha: float = 0.0,
          spec_masks: int = 0, p_short: float = 0.0) -> dict:
    """Train a :class:`~neuralogram.model.NeuralogramNet` on a packed corpus.

    Parameters
    ----------
    corpus : str or Path or PackedStore
        The packed corpus (its ``train`` split trains, its ``eval`` split evaluates after every epoch).
    out_dir : str or Path
        Receives ``last.pt`` (the full training state, written atomically every epoch) and
        ``metrics.jsonl`` (one line per epoch).
    embedding_size, width, loss
        See :class:`~neuralogram.model.ModelConfig`.
    epochs, batch_size, lr, weight_decay, seed
        Adam's settings; ``batch_size`` is per process.
    resume : bool
        Continue from ``out_dir/last.pt``. On CPU the result is bit-identical to an uninterrupted run: data
        order, crops and dropout are all drawn from RNGs restored from the checkpoint.
    balanced : bool
        Draw training clips with :func:`~neuralogram.data.store.balanced_sampler` instead of uniformly.
    balanced_from : int
        With ``balanced``, the first epoch (0-based) that samples class-balanced; the epochs before it sample
        uniformly (the shipped ``vgg19-e500-real`` switched after 3 uniform epochs).
    steps_per_epoch : int, optional
        Cap the number of batches per epoch (for quick runs).
    export : str, optional
        After the last epoch, write a shipped model (float16 weights, no optimizer) and its model card there.
    on_step : callable, optional
        Called as ``on_step(epoch, step, loss)`` after every optimisation step (e.g. to draw a loss curve).
    init_from : str, optional
        Start from this checkpoint's weights (a shipped name or a path; fine-tuning) instead of a random
        initialisation: every layer is copied, and the output layer's rows are matched by label name (labels
        new to this corpus start from random rows, their bias at the old labels' mean). The config must agree
        except ``n_classes``.
    train_from : str, optional
        Train only this trunk layer (e.g. ``"conv5_1"``), the layers after it and the head; the layers before
        it are frozen (no gradients, batch-norm statistics fixed), which about halves the cost of a step when
        fine-tuning with ``init_from``.
    crop_top_db : float, optional
        Draw each training crop among those within this many dB of the clip's loudest crop
        (:class:`~neuralogram.data.store.CropDataset`'s ``top_db``), so that crops of silence do not carry the
        label of a sound they miss (the shipped ``vgg19-e500-real`` uses 20 dB).
    mixup_alpha, spec_masks, p_short
        Batch augmentation (:func:`batch_augment`); off by default.

    Returns
    -------
    dict
        The last epoch's metrics.

    Book: ``book/05_model.ipynb``.
    """
    rank, world, distributed = _dist_setup()
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    store = corpus if isinstance(corpus, PackedStore) else PackedStore(corpus)
    _check_settings(epochs, batch_size, lr, weight_decay, steps_per_epoch)
    _check_batch_augment(mixup_alpha, spec_masks, p_short)
    if isinstance(balanced_from, bool) or int(balanced_from) != balanced_from or balanced_from < 0:
        raise ValueError(f"balanced_from must be a non-negative integer (an epoch), got {balanced_from!r}")
    if balanced_from and not balanced:
        raise ValueError(f"balanced_from={balanced_from} needs balanced=True (it says when balanced sampling starts)")
    per_rank = math.ceil(len(store.indices("train")) / world)
    if batch_size > per_rank:
        raise ValueError(f"batch_size={batch_size} is larger than the {per_rank} training clips"
                         f"{' per process' if world > 1 else ''} of {store.path.name}: every batch would be dropped "
                         f"(drop_last) and nothing trained; use batch_size <= {per_rank}")
    out_dir = Path(out_dir)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    train_ds = CropDataset(store, split="train", random_crop=True, seed=seed, top_db=crop_top_db)
    eval_ds = CropDataset(store, split="eval", random_crop=False)

    torch.manual_seed(seed)
    config = ModelConfig(n_classes=store.n_classes, embedding_size=embedding_size, width=width, loss=loss)
    model = NeuralogramNet(config).to(device)
    if train_from is not None and train_from not in model.trunk._modules:
        raise ValueError(f"train_from must be a trunk layer {list(model.trunk._modules)}, got {train_from!r}")
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    start_epoch, history = 0, []
    ckpt_path = out_dir / "last.pt"
    if init_from and not (resume and ckpt_path.is_file()):
        _init_from(model, init_from, list(store.label_names))
    if resume and ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path)
        _check_resume(ckpt, ckpt_path, {"seed": seed, "lr": lr, "batch_size": batch_size,
                                         "weight_decay": weight_decay, "balanced": bool(balanced),
                                         "balanced_from": int(balanced_from), "world_size": world,
                                         "train_from": train_from, "crop_top_db": crop_top_db,
                                         "mixup_alpha": float(mixup_alpha), "spec_masks": int(spec_masks),
                                         "p_short": float(p_short)})
        if ckpt["config"] != config.to_dict():
            raise ValueError(f"--resume: {ckpt_path} was trained with config {ckpt['config']}, "
                             f"but this run asks for {config.to_dict()}")
        if list(ckpt["label_names"]) != list(store.label_names):
            raise ValueError(f"--resume: {ckpt_path} has a different label list than {store.path}")
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng_state"])
        start_epoch, history = int(ckpt["epoch"]) + 1, list(ckpt.get("history", []))
    frozen = _freeze_before(model, train_from)
    if distributed:
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    else:
        ddp = model

    flops = count_flops(config)
    log_path = out_dir / "metrics.jsonl"
    metrics = history[-1] if history else {}
    for epoch in range(start_epoch, epochs):
        train_ds.set_epoch(epoch)
        if distributed:
            sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=seed)
            sampler.set_epoch(epoch)
        elif balanced and epoch >= balanced_from:
            sampler = balanced_sampler(train_ds, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
        else:
            sampler = RandomSampler(train_ds, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
        loader = DataLoader(train_ds, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                            drop_last=True)
        n_batches = len(loader) if steps_per_epoch is None else min(len(loader), steps_per_epoch)
        ddp.train()
        for m in frozen:
            m.eval()
        t0, total, seen = time.time(), 0.0, 0
        it = iter(loader)
        bar = range(n_batches)
        if progress and rank == 0:
            from tqdm.auto import tqdm
            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        for step in bar:
            spec, target = next(it)
            if mixup_alpha or spec_masks or p_short:
                spec, target = batch_augment(spec, target, mixup_alpha=mixup_alpha, spec_masks=spec_masks,
                                             p_short=p_short)
            spec, target = spec.to(device, non_blocking=True), target.to(device, non_blocking=True)
            out = ddp(spec)
            l = loss_fn(out, target, config.loss)
            opt.zero_grad(set_to_none=True)
            l.backward()
            opt.step()
            total += float(l.detach()) * len(spec)
            seen += len(spec)
            if on_step is not None:
                on_step(epoch, step, float(l.detach()))
        train_time = time.time() - t0
        ev = evaluate(model, eval_ds, device=device) if rank == 0 else {}
        checks = None
        if distributed:
            mine = torch.tensor([_param_checksum(model)], dtype=torch.float64)
            allc = [torch.zeros_like(mine) for _ in range(world)]
            dist.all_gather(allc, mine)
            checks = [float(c) for c in allc]
            tl = torch.tensor([total, seen], dtype=torch.float64)
            dist.all_reduce(tl)
            total, seen = float(tl[0]), int(tl[1])
        if rank == 0:
            metrics = {"epoch": epoch + 1, "train_loss": total / max(seen, 1), "eval_loss": ev["loss"],
                       "mAP": ev["mAP"], "chance_mAP": ev["chance_mAP"], "per_class_AP": ev["per_class_AP"],
                       "train_seconds": round(train_time, 2), "samples_per_s": round(seen / train_time, 2),
                       "samples_seen": seen, "world_size": world, "gflop_per_sample": round(flops / 1e9, 4)}
            if checks is not None:
                metrics["rank_param_checksums"] = checks
            history.append(metrics)
            with atomic_path(log_path) as tmp:
                tmp.write_text("".join(json.dumps(h) + "\n" for h in history))
            save_checkpoint(ckpt_path, {
                "config": config.to_dict(), "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                "epoch": epoch, "rng_state": torch.get_rng_state(), "history": history,
                "label_names": list(store.label_names), "label_mids": list(store.label_mids),
                "train": {"corpus": str(store.path.name), "corpus_params": store.params, "seed": seed,
                          "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay,
                          "balanced": bool(balanced), "balanced_from": int(balanced_from), "world_size": world,
                          "command": command,
                          "init_from": init_from and Path(str(init_from)).stem, "train_from": train_from,
                          "crop_top_db": crop_top_db, "mixup_alpha": float(mixup_alpha),
                          "spec_masks": int(spec_masks), "p_short": float(p_short)}})
            if progress:
                print(f"epoch {epoch + 1}/{epochs}: train loss {metrics['train_loss']:.4f}  eval loss "
                      f"{metrics['eval_loss']:.4f}  mAP {metrics['mAP']:.3f} (chance {metrics['chance_mAP']:.3f})  "
                      f"{metrics['samples_per_s']:.0f} samples/s", flush=True)
        if distributed:
            dist.barrier()
    if rank == 0 and export:
        ckpt = read_checkpoint(ckpt_path)
        ckpt["metrics"] = metrics
        ckpt["train"]["epochs"] = epochs
        if command is not None:      # the call that exports (with resume: the whole run) is the one to repeat
            ckpt["train"]["command"] = command
        ckpt["train"]["wall_seconds"] = round(sum(h["train_seconds"] for h in history), 1)
        if init_from is not None:
            ckpt["train"]["init_from_run"] = _init_source(init_from)
        export_model(ckpt, export)
        write_card(export, ckpt, history, store)
    if distributed:
        dist.destroy_process_group()
    return metrics


def _check_settings(epochs, batch_size, lr, weight_decay, steps_per_epoch) -> None:
    """Training settings that would fail late or train nothing, refused before anything is written."""
    from .audio import check_positive

    check_positive(epochs, "epochs", integer=True, allow_zero=True)
    check_positive(batch_size, "batch_size", integer=True)
    check_positive(lr, "lr")
    check_positive(weight_decay, "weight_decay", allow_zero=True)
    if steps_per_epoch is not None:
        check_positive(steps_per_epoch, "steps_per_epoch", integer=True)


def _check_resume(ckpt: dict, path: Path, now: dict) -> None:
    """Resuming continues one run: a training state with the settings it was written with, else ``ValueError``.

    A different seed, learning rate, batch size, weight decay, sampler, process count or frozen part would mix
    two runs (Adam would even keep the old learning rate while the card recorded the new one). Settings that
    older checkpoints did not record are not compared. To change them, start a new ``out_dir`` (``init_from``
    copies the weights).
    """
    missing = [k for k in ("state_dict", "optimizer", "rng_state", "epoch") if k not in ckpt]
    if missing:
        raise ValueError(f"--resume: {path} is not a training state (no {', '.join(missing)}; no optimizer state "
                         f"in a shipped model): resume from the last.pt that train() writes")
    then = ckpt.get("train") or {}
    diff = [f"{k}={then[k]!r} then, {k}={v!r} now" for k, v in now.items() if k in then and then[k] != v]
    if diff:
        raise ValueError(f"--resume: {path} was trained with other settings ({'; '.join(diff)}); resuming would "
                         f"mix two runs: use the same settings, or a new output folder (init_from= copies weights)")


def _freeze_before(model: NeuralogramNet, layer: str | None) -> list:
    """Freeze the trunk layers before ``layer`` (see ``train(train_from=...)``); return them."""
    if layer is None:
        return []
    frozen = []
    for name, mod in model.trunk.named_children():
        if name == layer:
            break
        for p in mod.parameters():
            p.requires_grad_(False)
        frozen.append(mod)
    return frozen


def _init_source(source) -> dict:
    """How the checkpoint a run started from was made (its command, epochs, learning rate): for the card."""
    ckpt = read_checkpoint(checkpoint_path(source))
    tr = ckpt.get("train") or {}
    epochs = int(ckpt["epoch"]) + 1 if "epoch" in ckpt else tr.get("epochs")
    return {"path": str(source), "epochs_trained": epochs, "command": tr.get("command"), "lr": tr.get("lr"),
            "balanced": tr.get("balanced"), "init_from": tr.get("init_from"), "train_from": tr.get("train_from"),
            "wall_seconds": tr.get("wall_seconds")}


def _init_from(model: NeuralogramNet, source, label_names: list[str]) -> None:
    """Copy a checkpoint's weights into ``model`` (see ``train(init_from=...)``); output rows matched by label."""
    p = checkpoint_path(source)
    ckpt = read_checkpoint(p)
    theirs = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    cfg = {k: v for k, v in ckpt["config"].items() if k != "n_classes"}
    if cfg != {k: v for k, v in model.config.to_dict().items() if k != "n_classes"}:
        raise ValueError(f"init_from: {p} has config {ckpt['config']}, this run {model.config.to_dict()}")
    old = {n: i for i, n in enumerate(ckpt["label_names"])}
    rows = [(i, old[n]) for i, n in enumerate(label_names) if n in old]
    new_state = {}
    for k, v in model.state_dict().items():
        if k.startswith("fc3."):
            w = v.clone()
            if k == "fc3.bias":
                w[:] = theirs[k].mean()          # new labels start at the old labels' mean prior
            for i, j in rows:
                w[i] = theirs[k][j]
            new_state[k] = w
        else:
            new_state[k] = theirs[k]
    model.load_state_dict(new_state)


_LOSS_WORDS = {"mse": "the paper's loss, softmax output + squared Euclidean distance to the multi-hot target",
               "bce": "per-class sigmoid outputs + binary cross-entropy (the paper uses softmax + squared error; "
                      "book/05_model.ipynb compares the two)"}


def write_card(model_path, ckpt: dict, history: list[dict], store: PackedStore) -> Path:
    """Write the model card ``NAME.md`` (and ``NAME.json`` with every number) beside a shipped model.

    Book: ``book/05_model.ipynb``.
    """
    model_path = Path(model_path)
    last = history[-1]
    cfg, tr = ckpt["config"], ckpt["train"]
    names = ckpt["label_names"]
    rows = sorted(((ap, n) for ap, n in zip(last["per_class_AP"], names) if ap is not None), reverse=True)
    card = {"name": model_path.stem, "config": cfg, "train": tr, "final": {k: v for k, v in last.items()},
            "history": [{k: v for k, v in h.items() if k != "per_class_AP"} for h in history],
            "label_names": names}
    with atomic_path(model_path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(card, indent=1))
    lines = [f"# Model card: `{model_path.stem}`", "",
             f"A 19-layer VGG (16 conv + 3 fully connected, width x{cfg['width']}) with embedding size "
             f"**E = {cfg['embedding_size']}**, trained with {_LOSS_WORDS.get(cfg['loss'], cfg['loss'])} "
             f"(`loss={cfg['loss']}`) on the `{store.source}` corpus.", "",
             "| | |", "|---|---|",
             f"| data | `{tr['corpus']}` — {store.source}, {len(store.indices('train'))} train / "
             f"{len(store.indices('eval'))} eval clips, {store.n_classes} classes; parameters `{json.dumps(tr['corpus_params'], sort_keys=True)}` |",
             f"| seed | {tr['seed']} |",
             f"| command | `{tr.get('command') or '(python API)'}` |",
             *([f"| initialised from | `{tr['init_from_run']['path']}`, itself trained {tr['init_from_run']['epochs_trained']} "
                f"epochs by `{tr['init_from_run']['command'] or '(python API)'}` |"]
               if (tr.get('init_from_run') or {}).get('command') else []),
             f"| optimiser | Adam, lr {tr['lr']}, batch {tr['batch_size']} x {tr['world_size']} process(es) |",
             f"| epochs | {tr.get('epochs', last['epoch'])} |",
             f"| wall time (training) | {tr.get('wall_seconds', 0) / 60:.1f} min |",
             f"| eval mAP | **{last['mAP']:.3f}** (chance level {last['chance_mAP']:.3f}) |",
             f"| eval loss | {last['eval_loss']:.4f} |",
             f"| FLOPs per 2 s window | {last['gflop_per_sample']} GFLOP |",
             f"| weights | float16 (loaded as float32) |", "",
             "## Per-class average precision (eval split)", "", "| class | AP |", "|---|---|"]
    lines += [f"| {n} | {ap:.3f} |" for ap, n in rows]
    lines += ["", "## Training curve", "", "| epoch | train loss | eval loss | mAP |", "|---|---|---|---|"]
    lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h['eval_loss']:.4f} | {h['mAP']:.3f} |" for h in history]
    with atomic_path(model_path.with_suffix(".md")) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return model_path.with_suffix(".md")
