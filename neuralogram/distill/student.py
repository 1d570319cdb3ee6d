"""Distillation, part 3: the student (dataset, loss, training with exact resume), its validation and its card.
See :mod:`neuralogram.distill`.

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio import check_positive
from ..cache import atomic_path
from ..checkpoints import export_model, read_checkpoint, save_checkpoint
from ..data.real_sources import RealDataMissing
from ..model import ModelConfig, NeuralogramNet, count_flops
from .plan import CropPlan, DistillDataMissing
from .teacher import teacher_logits

#: The losses :func:`distill` offers.
LOSSES = ("bce", "mse-logits")
#: The learning-rate schedules :func:`distill` offers.
LR_SCHEDULES = ("constant", "cosine")


def lr_at(step: int, total: int, *, lr: float, schedule: str = "constant") -> float:
    """Adam's learning rate for optimiser step ``step`` (0-based) of ``total``.

    ``"constant"``: ``lr`` throughout. ``"cosine"``: ``lr * (1 + cos(pi * step / total)) / 2``, from ``lr`` at the
    first step down to nearly 0 at the last (Loshchilov & Hutter's SGDR without restarts). A pure function of the
    step, so a resumed run sets exactly the rates an uninterrupted one would.

    Book: ``book/05_model.ipynb``.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    if not 0 <= step < total:
        raise ValueError(f"step must be in [0, {total}), got {step}")
    if schedule == "constant":
        return float(lr)
    return float(lr) * 0.5 * (1.0 + float(np.cos(np.pi * step / total)))


# ---------------------------------------------------------------------------------------------- the student
class DistillDataset(torch.utils.data.Dataset):
    """``(log spectrogram 1 x 129 x 200 of the 8 kHz crop, teacher logits)`` for the crops of one part.

    Book: ``book/05_model.ipynb``.
    """

    def __init__(self, plan: CropPlan, logits: np.ndarray, *, part: str | None = "train"):
        from ..spectral import LinearSpectrogram

        logits = np.asarray(logits, np.float32)
        if logits.ndim != 2 or len(logits) != len(plan):
            raise ValueError(f"logits {logits.shape} do not fit the plan's {len(plan)} crops")
        self.plan, self.logits = plan, logits
        self.idx = plan.indices(part)
        if not len(self.idx):
            raise ValueError(f"the plan's {part!r} part is empty")
        self.spec = LinearSpectrogram()

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, j: int):
        i = int(self.idx[j])
        with torch.no_grad():
            spec = self.spec(torch.from_numpy(self.plan.render(i))).unsqueeze(0)
        return spec, torch.from_numpy(self.logits[i])


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, *, loss: str = "bce",
                 temperature: float = 1.0) -> torch.Tensor:
    """The distillation loss, averaged over the batch.

    ``"bce"``: binary cross-entropy of ``sigmoid(student / T)`` against the soft labels ``sigmoid(teacher / T)``,
    summed over the 527 labels and multiplied by ``T**2`` (Hinton et al. 2015: the gradients keep their scale as
    ``T`` changes). ``"mse-logits"``: the mean squared difference of the logits (Ba & Caruana 2014); ``T`` unused.

    Book: ``book/05_model.ipynb``.
    """
    if student.shape != teacher.shape:
        raise ValueError(f"student logits {tuple(student.shape)} and teacher logits {tuple(teacher.shape)} differ")
    if loss == "bce":
        T = float(temperature)
        return F.binary_cross_entropy_with_logits(student / T, torch.sigmoid(teacher / T),
                                                  reduction="none").sum(-1).mean() * T * T
    if loss == "mse-logits":
        return (student - teacher).square().mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def loss_bounds(train_logits, val_logits, *, loss: str = "bce", temperature: float = 1.0) -> dict:
    """Where a student's validation loss stands between two references.

    ``floor``: the loss of the best *constant* student, one output for every crop, the teacher's soft labels
    averaged over the training crops (for ``"mse-logits"``: the mean training logits). A student that does not
    go below it has learned only what the teacher says on average, nothing from the sound. ``teacher``: the loss of
    the teacher against itself, the least any student can reach (the entropy of the soft labels, x ``T**2``;
    0 for ``"mse-logits"``).

    Returns
    -------
    dict
        ``floor`` and ``teacher`` (floats, in the loss's units).

    Book: ``book/05_model.ipynb``.
    """
    Zt = torch.as_tensor(np.asarray(train_logits, np.float32))
    Zv = torch.as_tensor(np.asarray(val_logits, np.float32))
    if Zt.ndim != 2 or Zv.ndim != 2 or Zt.shape[1] != Zv.shape[1] or not len(Zt) or not len(Zv):
        raise ValueError(f"train {tuple(Zt.shape)} and val {tuple(Zv.shape)} logits must be non-empty (n, K)")
    if loss == "bce":
        T = float(temperature)
        q = torch.sigmoid(Zt.double() / T).mean(0).clamp(1e-7, 1 - 1e-7)
        const = (torch.logit(q) * T).float().expand(len(Zv), -1)
    else:
        const = Zt.mean(0).expand(len(Zv), -1)
    return {"floor": float(distill_loss(const, Zv, loss=loss, temperature=temperature)),
            "teacher": float(distill_loss(Zv, Zv, loss=loss, temperature=temperature))}


def teacher_agreement(student_logits, teacher_logits, *, threshold: float = 0.5) -> dict:
    """How well a student agrees with its teacher on crops neither trained on.

    Returns
    -------
    dict
        ``mAP``: the student's sigmoid scores ranked against the teacher's labels (a label is the teacher's when
        its probability is at least ``threshold``, and every crop's top label is); ``chance_mAP``; ``top1``: the
        fraction of crops whose highest-scoring label is the teacher's; ``n``.

    Book: ``book/05_model.ipynb``.
    """
    from ..train import average_precision, chance_map

    S, T = np.asarray(student_logits, np.float64), np.asarray(teacher_logits, np.float64)
    if S.shape != T.shape or S.ndim != 2 or not len(S):
        raise ValueError(f"student {S.shape} and teacher {T.shape} logits must be the same non-empty (n, K)")
    Y = (1 / (1 + np.exp(-T)) >= threshold)
    Y[np.arange(len(T)), T.argmax(1)] = True
    ap = average_precision(S, Y)
    return {"mAP": float(np.nanmean(ap)), "chance_mAP": chance_map(Y),
            "top1": float(np.mean(S.argmax(1) == T.argmax(1))), "n": int(len(S))}


def us8k_zero_shot(model, info=None, *, cache: bool = True) -> dict:
    """UrbanSound8K fold 2 (never trained on; the book's test fold) zero-shot top-1 among the 10 mapped labels,
    the clips heard through 8 kHz (:func:`neuralogram.probes.transfer.clip_outputs`).

    Book: ``book/13_audioset_net.ipynb``.
    """
    from ..data.urbansound import URBANSOUND_AUDIOSET, urbansound8k
    from ..probes.transfer import clip_outputs, zero_shot

    try:
        clips = urbansound8k(2)
    except RealDataMissing as err:
        raise DistillDataMissing(f"the validation needs UrbanSound8K fold 2: {err}") from None
    out = clip_outputs(clips, model, info, band="8k", cache=cache)
    labels = (info or {}).get("label_mids")
    zs = zero_shot(out["probs"], labels, [c.target for c in clips], [m for *_, m in URBANSOUND_AUDIOSET])
    return {"top1": zs["top1"], "in_labels": zs["in_labels"], "n": len(clips)}


@torch.no_grad()
def _predict(model, dataset, batch_size) -> np.ndarray:
    from torch.utils.data import DataLoader

    model.eval()
    return np.concatenate([model(s).numpy() for s, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False)])


def distill(plan: CropPlan, out_dir, *, teacher="mn04-audioset", teacher_info: dict | None = None,
            embedding_size: int = 500, width: float = 0.125, epochs: int = 10, batch_size: int = 32,
            lr: float = 1e-3, temperature: float = 1.0, loss: str = "bce", seed: int = 0, resume: bool = False,
            steps_per_epoch: int | None = None, num_workers: int = 0, us8k_every: int = 0,
            export: str | None = None, command: str | None = None, progress: bool = True,
            init_from: str | None = None, lr_schedule: str = "constant") -> dict:
    """Train a student VGG on the teacher's logits for the crops of ``plan``.

    Parameters
    ----------
    plan : CropPlan
    out_dir : str or Path
        Receives ``last.pt`` (model, optimizer and RNG state, written atomically every epoch) and
        ``metrics.jsonl``.
    teacher, teacher_info
        The teacher network (or a shipped name) and its ``load_model`` info; its logits come from
        :func:`teacher_logits` (cached).
    embedding_size, width : int, float
        The student (:class:`~neuralogram.model.ModelConfig`, 527 outputs, sigmoid).
    epochs, batch_size, lr, seed
        Adam; every epoch visits the plan's training crops once in an order drawn from ``(seed, epoch)``.
    lr_schedule : {"constant", "cosine"}
        :func:`lr_at`: ``lr`` throughout, or decayed by a cosine over all ``epochs`` (then ``epochs`` is part of
        the recipe).
    init_from : str, optional
        Start from this model's weights (a shipped name or a checkpoint path with the same architecture, e.g. an
        earlier student) instead of Xavier's initialisation; a fresh optimiser. Ignored when resuming.
    temperature, loss
        :func:`distill_loss`.
    resume : bool
        Continue from ``out_dir/last.pt``; bit-identical to an uninterrupted run on CPU. Refused (``ValueError``)
        when the recipe changed: plan, teacher, loss, temperature, sizes, learning rate (and its schedule), batch
        size, seed or starting weights.
    steps_per_epoch : int, optional
        Cap the batches per epoch (part of the recipe).
    us8k_every : int
        Measure :func:`us8k_zero_shot` every this many epochs and after the last (0: only with ``export``).
    export : str, optional
        After the last epoch, write the shipped model and its card (:func:`write_distill_card`) there.
    command : str, optional
        The command that made the run (recorded in the card).

    Returns
    -------
    dict
        The last epoch's metrics.

    Book: ``book/05_model.ipynb``.
    """
    from torch.utils.data import DataLoader, RandomSampler

    from ..checkpoints import checkpoint_path, resolve_model
    from ..train import _check_resume, _check_settings, _init_from, _init_source

    _check_settings(epochs, batch_size, lr, 0.0, steps_per_epoch)
    check_positive(temperature, "temperature")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    if isinstance(us8k_every, bool) or int(us8k_every) != us8k_every or us8k_every < 0:
        raise ValueError(f"us8k_every must be a non-negative integer, got {us8k_every!r}")
    teacher, teacher_info = resolve_model(teacher, teacher_info)
    teacher_info = dict(teacher_info or {})
    from ..checkpoints import model_hash

    th = str(teacher_info.get("hash") or model_hash(teacher))
    labels = list(teacher_info.get("label_names") or [f"label {k}" for k in range(teacher.n_classes)])
    mids = list(teacher_info.get("label_mids") or labels)
    train_ds_len = len(plan.indices("train"))
    if batch_size > train_ds_len:
        raise ValueError(f"batch_size={batch_size} is larger than the plan's {train_ds_len} training crops")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    logits = teacher_logits(plan, teacher, dict(teacher_info, hash=th), progress=progress)
    train_ds = DistillDataset(plan, logits, part="train")
    val_ds = DistillDataset(plan, logits, part="val") if len(plan.indices("val")) else None
    bounds = (loss_bounds(logits[train_ds.idx], logits[val_ds.idx], loss=loss, temperature=temperature)
              if val_ds is not None else {})

    torch.manual_seed(seed)
    config = ModelConfig(n_classes=logits.shape[1], embedding_size=embedding_size, width=width, loss="bce")
    model = NeuralogramNet(config)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    recipe = {"plan": plan.hash, "teacher": th, "loss": loss, "temperature": float(temperature),
              "embedding_size": int(embedding_size), "width": float(width), "lr": float(lr),
              "batch_size": int(batch_size), "seed": int(seed), "steps_per_epoch": steps_per_epoch,
              "lr_schedule": lr_schedule, "schedule_epochs": int(epochs) if lr_schedule != "constant" else None,
              "init_from": init_from and Path(str(init_from)).stem}
    ckpt_path = out_dir / "last.pt"
    start, history, init_run = 0, [], None
    if resume and ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path)
        _check_resume(ckpt, ckpt_path, recipe)
        if ckpt["config"] != config.to_dict():
            raise ValueError(f"--resume: {ckpt_path} was trained with config {ckpt['config']}, "
                             f"but this run asks for {config.to_dict()}")
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng_state"])
        start, history = int(ckpt["epoch"]) + 1, list(ckpt.get("history", []))
        init_run = (ckpt.get("train") or {}).get("init_from_run")
    elif init_from is not None:
        _init_from(model, init_from, labels)
        init_run = _init_source(init_from)
        card = checkpoint_path(init_from).with_suffix(".json")        # its training curve, for this one's card
        before = json.loads(card.read_text()) if card.is_file() else {}
        if not before:
            warnings.warn(f"init_from: no card {card} beside the checkpoint, so this run's card cannot show the "
                          "earlier stages' curve, epochs and minutes (copy the .json with the .pt to keep them)",
                          stacklevel=2)
        init_run["history"] = before.get("history", [])
        if init_run["history"]:     # a chain of stages: every epoch and minute before this run, not the last stage's
            btr = before.get("train") or {}
            init_run["epochs_trained"] = int(init_run["history"][-1]["epoch"])
            init_run["wall_seconds"] = (btr.get("wall_seconds") or 0) + ((btr.get("init_from_run") or {})
                                                                        .get("wall_seconds") or 0)
    metrics = history[-1] if history else {}
    flops = count_flops(config)
    for epoch in range(start, epochs):
        sampler = RandomSampler(train_ds, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
        loader = DataLoader(train_ds, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                            drop_last=True)
        n_batches = len(loader) if steps_per_epoch is None else min(len(loader), steps_per_epoch)
        model.train()
        t0, total, seen = time.time(), 0.0, 0
        it = iter(loader)
        bar = range(n_batches)
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        for b in bar:
            for g in opt.param_groups:
                g["lr"] = lr_at(epoch * n_batches + b, epochs * n_batches, lr=lr, schedule=lr_schedule)
            spec, target = next(it)
            out = model(spec)
            l = distill_loss(out, target, loss=loss, temperature=temperature)
            opt.zero_grad(set_to_none=True)
            l.backward()
            opt.step()
            total += float(l.detach()) * len(spec)
            seen += len(spec)
        del it
        train_time = time.time() - t0
        rng = torch.get_rng_state()            # evaluation draws nothing, but keep the state exactly
        metrics = {"epoch": epoch + 1, "train_loss": total / max(seen, 1), "train_seconds": round(train_time, 2),
                   "samples_per_s": round(seen / max(train_time, 1e-9), 2), "samples_seen": seen,
                   "gflop_per_sample": round(flops / 1e9, 4)}
        if val_ds is not None:
            S = _predict(model, val_ds, 64)
            T = logits[val_ds.idx]
            metrics["val_loss"] = float(distill_loss(torch.from_numpy(S), torch.from_numpy(T), loss=loss,
                                                     temperature=temperature))
            metrics.update({f"val_{k}": v for k, v in teacher_agreement(S, T).items()})
            metrics.update({f"val_{k}_loss": v for k, v in bounds.items()})
        last = epoch + 1 == epochs
        if (us8k_every and ((epoch + 1) % us8k_every == 0 or last)) or (export and last):
            zs = us8k_zero_shot(model.eval(), {"label_mids": mids}, cache=False)
            metrics["us8k_fold2_top1"] = zs["top1"]
        torch.set_rng_state(rng)
        history.append(metrics)
        with atomic_path(out_dir / "metrics.jsonl") as tmp:
            tmp.write_text("".join(json.dumps(h) + "\n" for h in history))
        save_checkpoint(ckpt_path, {
            "config": config.to_dict(), "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
            "epoch": epoch, "rng_state": torch.get_rng_state(), "history": history,
            "label_names": labels, "label_mids": mids,
            "train": dict(recipe, corpus="distill", teacher_name=teacher_info.get("name"), command=command,
                          plan_summary=plan.summary(), init_from_run=init_run)})
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: train loss {metrics['train_loss']:.4f}"
                  + (f"  val mAP {metrics['val_mAP']:.3f} top-1 {metrics['val_top1']:.3f}" if val_ds else "")
                  + (f"  US8K fold 2 top-1 {metrics['us8k_fold2_top1']:.3f}" if "us8k_fold2_top1" in metrics else "")
                  + f"  {metrics['samples_per_s']:.1f} samples/s", flush=True)
    if export:
        ckpt = read_checkpoint(ckpt_path)
        ckpt["metrics"] = metrics
        ckpt["train"]["epochs"] = epochs
        if command is not None:
            ckpt["train"]["command"] = command
        ckpt["train"]["wall_seconds"] = round(sum(h["train_seconds"] for h in history), 1)
        ckpt["train"]["val_loss_bounds"] = bounds
        ckpt["train"]["real_data"] = any(c["source"].split("/", 1)[0] in ("esc50", "urbansound8k", "fsdd")
                                         for c in plan.crops)         # what probes.real_world.trained_on_real reads
        export_model(ckpt, export)
        write_distill_card(export, ckpt, history)
    return metrics


def write_distill_card(model_path, ckpt: dict, history: list[dict]) -> Path:
    """Write a distilled student's model card: ``NAME.md`` and ``NAME.json`` (every number) beside it.

    Book: ``book/05_model.ipynb``.
    """
    model_path = Path(model_path)
    cfg, tr, last = ckpt["config"], ckpt["train"], history[-1]
    ir = tr.get("init_from_run") or {}
    if ir.get("history"):       # a continuation: the curve of the model it started from, then this run's epochs
        before = [dict(h, stage=h.get("stage", 1)) for h in ir["history"]]
        offset, stage = before[-1]["epoch"], before[-1]["stage"] + 1
        history = before + [dict(h, epoch=h["epoch"] + offset, stage=stage) for h in history]
        tr = {**tr, "init_from_run": {k: v for k, v in ir.items() if k != "history"}}
    card = {"name": model_path.stem, "arch": "vgg19", "config": cfg, "train": tr, "final": last,
            "history": history, "label_names": ckpt["label_names"]}
    with atomic_path(model_path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(card, indent=1))
    with atomic_path(model_path.with_suffix(".md")) as tmp:
        tmp.write_text(_card_markdown(card))
    return model_path.with_suffix(".md")


def render_distill_card(model_path) -> Path:
    """Rewrite a student's ``NAME.md`` from its ``NAME.json`` (after the card's layout changed); atomic.

    Book: ``book/05_model.ipynb``.
    """
    model_path = Path(model_path)
    jpath = model_path.with_suffix(".json")
    if not jpath.is_file():
        raise ValueError(f"{model_path}: no model card {jpath.name} to render")
    with atomic_path(model_path.with_suffix(".md")) as tmp:
        tmp.write_text(_card_markdown(json.loads(jpath.read_text())))
    return model_path.with_suffix(".md")


def _card_markdown(card: dict) -> str:
    cfg, tr, history = card["config"], card["train"], card["history"]
    last, ir = card["final"], tr.get("init_from_run") or {}
    staged = any("stage" in h for h in history)      # a continuation: earlier stages' epochs come first
    ps = tr.get("plan_summary", {})
    loss_words = {"bce": f"binary cross-entropy against the teacher's sigmoid(logits / {tr['temperature']}) "
                         f"(x T^2)", "mse-logits": "mean squared error between the logits (logit matching)"}
    val = (f"{last['val_mAP']:.3f} (chance {last['val_chance_mAP']:.3f}); top-1 agreement "
           f"{last['val_top1']:.3f}" if "val_mAP" in last else "n/a")
    sizes = [h["val_n"] for h in history if "val_n" in h]
    grown = list(dict.fromkeys(sizes))                # the validation part's sizes, in order
    lines = [f"# Model card: `{card['name']}`", "",
             f"A 19-layer VGG (16 conv + 3 fully connected, width x{cfg['width']}) with embedding size "
             f"**E = {cfg['embedding_size']}** and AudioSet's {cfg['n_classes']} labels, distilled from the AudioSet "
             f"network `{tr.get('teacher_name') or 'mn04-audioset'}` (weights hash `{tr['teacher']}`): it learned the "
             f"teacher's outputs for 2 s crops at 8 kHz ({loss_words.get(tr['loss'], tr['loss'])}).", "",
             "| | |", "|---|---|",
             f"| crop plan | `{tr['plan']}`: {ps.get('crops')} crops of {ps.get('sources')} sources, "
             f"{ps.get('augmented')} augmented, {ps.get('mixtures')} mixtures |",
             f"| crops by source | `{json.dumps(ps.get('by_source_and_part', {}))}` |",
             "| held out | ESC-50 test split, UrbanSound8K fold 2, FSDD test speakers (never in the plan) |",
             f"| seed | {tr['seed']} |",
             f"| command | `{tr.get('command') or '(python API)'}` |",
             f"| optimiser | Adam, lr {tr['lr']}"
             + (f" decayed to 0 by a cosine over the {tr['schedule_epochs']} epochs" if tr.get("lr_schedule") == "cosine"
                else "") + f", batch {tr['batch_size']} |",
             *([f"| initialised from | `{ir['path']}` (its weights; a fresh optimiser), itself trained "
                f"{ir['epochs_trained']} epoch{'s' if ir['epochs_trained'] != 1 else ''}"
                + (f" ({ir['wall_seconds'] / 60:.1f} min)" if ir.get("wall_seconds") else "")
                + f" by `{ir['command'] or '(python API)'}` |"]
               if ir else []),
             f"| epochs | {tr.get('epochs', last['epoch'])}"
             + (f" (after the {ir['epochs_trained']} of the model it started from: {history[-1]['epoch']} in all)"
                if staged and ir else "") + " |",
             f"| wall time (training) | {tr.get('wall_seconds', 0) / 60:.1f} min"
             + (f" (plus {ir['wall_seconds'] / 60:.1f} min for the model it started from)"
                if staged and ir.get("wall_seconds") else "") + " |",
             f"| validation part (teacher agreement) | mAP {val}"
             + (f" on {last['val_n']:,} crops" if "val_n" in last else "") + " |",
             *([f"| validation loss | {last['val_loss']:.3f}: a constant student (the teacher's average soft labels) "
                f"{b['floor']:.3f}, the teacher itself {b['teacher']:.3f} |"]
               if (b := tr.get("val_loss_bounds")) and "val_loss" in last else []),
             f"| UrbanSound8K fold 2 zero-shot top-1 | {last.get('us8k_fold2_top1', float('nan')):.3f} |",
             f"| FLOPs per 2 s window | {last['gflop_per_sample']} GFLOP |",
             "| weights | float16 (loaded as float32) |", "",
             "## Training curve", "",
             *(["Epochs of the model this one started from, then this run's (column *stage*).", ""]
               if staged else []),
             *([f"The validation part grew with the crop plan ({' -> '.join(f'{n:,}' for n in grown)} crops: more "
                "views of the same validation groups, another set of crops): validation scores compare only "
                "between epochs with the same number of validation crops.", ""] if len(grown) > 1 else []),
             "| epoch | train loss | val loss | val mAP | val top-1 | val crops |" + (" stage |" if staged else ""),
             "|---|---|---|---|---|---|" + ("---|" if staged else "")]
    lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h.get('val_loss', float('nan')):.4f} | "
              f"{h.get('val_mAP', float('nan')):.3f} | {h.get('val_top1', float('nan')):.3f} | "
              f"{h['val_n'] if 'val_n' in h else '-'} |" + (f" {h['stage']} |" if staged else "") for h in history]
    text = "\n".join(lines) + "\n"
    if card.get("heldout"):
        figures = {k: v for k, v in card["heldout"].items() if k != "source"}
        fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)    # noqa: E731
        text += (f"\n## Held-out figures\n\nNever trained on (ESC-50's held-out split, UrbanSound8K fold 2, FSDD's "
                 f"test speakers); measured by `{card['heldout']['source']}`.\n\n| | |\n|---|---|\n"
                 + "\n".join(f"| {k} | {fmt(v)} |" for k, v in figures.items()) + "\n")
    return text


def add_heldout_figures(model_path, figures: dict, *, source: str) -> Path:
    """Add the held-out figures of a shipped student to its card (``NAME.json`` key ``heldout``, and a section of
    ``NAME.md``), replacing earlier ones; both files are rewritten atomically.

    Parameters
    ----------
    model_path : str or Path
        The exported model (``data/models/NAME.pt``); its card must exist.
    figures : dict
        Name -> number (or text), e.g. one row of ``benchmarks/real_audio.py``'s distillation targets.
    source : str
        What measured them (a command).

    Book: ``book/13_audioset_net.ipynb``.
    """
    model_path = Path(model_path)
    jpath, mpath = model_path.with_suffix(".json"), model_path.with_suffix(".md")
    if not jpath.is_file() or not mpath.is_file():
        raise ValueError(f"{model_path}: no model card ({jpath.name}, {mpath.name}) to add held-out figures to")
    if not isinstance(figures, dict) or not figures:
        raise ValueError("figures must be a non-empty dict of name -> value")
    card = json.loads(jpath.read_text())
    card["heldout"] = {"source": source, **figures}
    with atomic_path(jpath) as tmp:
        tmp.write_text(json.dumps(card, indent=1))
    with atomic_path(mpath) as tmp:
        tmp.write_text(_card_markdown(card))
    return mpath
