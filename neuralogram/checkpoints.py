"""Saving, exporting and loading checkpoints; the registry of shipped models in ``data/models``.

A checkpoint is a plain dict of tensors, numbers and strings, loaded with ``torch.load(weights_only=True)``,
so a file that tries to run pickled code is refused. Its ``config`` must match its weights: a mismatch is
reported naming both.

Book: ``book/05_model.ipynb``.
"""
from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path

import torch

from .cache import atomic_path
from .model import ModelConfig, NeuralogramNet
from .nets import EmbeddingNet

__all__ = ["FORMAT", "DEFAULT_MODEL", "DEFAULT_FAMILY", "models_dir", "available_models", "checkpoint_path",
           "model_card", "eval_map", "load_model", "resolve_model", "save_checkpoint", "read_checkpoint",
           "export_model", "model_hash", "check_device", "CheckpointNotFoundError"]

FORMAT = "neuralogram-checkpoint-v1"
#: The shipped model every entry point uses when none is named (CLI, widgets, chapters): the E = 500 VGG-19 that
#: learned from the AudioSet network's outputs (chapter 5, "distillation"; compared with the others in chapter 13).
DEFAULT_MODEL = "vgg19-e500-distilled"
#: The family of shipped models (the last part of their names) that the probe chapters compare across sizes:
#: ``"distilled"`` (students of mn04), ``"standin"`` (trained on the synthetic stand-in corpus) or ``"real"``
#: (fine-tuned with real recordings).
DEFAULT_FAMILY = DEFAULT_MODEL.rsplit("-", 1)[1]


def models_dir() -> Path:
    """``$NEURALOGRAM_MODELS`` or the ``data/models`` folder of this checkout.

    Book: ``book/05_model.ipynb``.
    """
    env = os.environ.get("NEURALOGRAM_MODELS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data" / "models"


def available_models(*, family: str | None = None, arch: str | None = None) -> list[str]:
    """Names of the shipped checkpoints (``data/models/NAME.pt``), sorted.

    Parameters
    ----------
    family : str, optional
        Only the models of one family, the last part of the name (``"standin"``, ``"real"``, ``"audioset"``; see
        :data:`DEFAULT_FAMILY`). Default: every shipped model.
    arch : str, optional
        Only the networks of one architecture, as their card (``NAME.json``) names it: ``"vgg19"`` (the paper's
        VGG, the default of a card that names none) or ``"mobilenetv3-audioset"`` (mn04).

    Book: ``book/05_model.ipynb``.
    """
    d = models_dir()
    names = sorted(p.stem for p in d.glob("*.pt")) if d.is_dir() else []
    if family is not None:
        if not isinstance(family, str) or not family or "-" in family:
            raise ValueError(f"family must be the last part of a model name, e.g. 'standin' or 'real', got {family!r}")
        names = [n for n in names if n.rsplit("-", 1)[-1] == family]
    if arch is not None:
        names = [n for n in names if _card(d / f"{n}.pt").get("arch", "vgg19") == arch]
    return names


def save_checkpoint(path, payload: dict) -> Path:
    """Write a checkpoint dict atomically (temporary file, then rename).

    Book: ``book/05_model.ipynb``.
    """
    payload = dict(payload)
    payload.setdefault("format", FORMAT)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


class CheckpointNotFoundError(ValueError, FileNotFoundError):
    """No checkpoint file at the path given (a ``ValueError``, like every bad input, and a ``FileNotFoundError``)."""


def read_checkpoint(path) -> dict:
    """Load a checkpoint dict safely; clear errors for missing, truncated, foreign or unsafe files.

    Raises
    ------
    ValueError
        No such file (:class:`CheckpointNotFoundError`), a file that is not a checkpoint (empty, text, another
        format), truncated, or holding pickled objects other than tensors and plain data.

    Book: ``book/05_model.ipynb``.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(f"{path}: not a regular file (a directory or device), so not a checkpoint")
    if not path.is_file():
        raise CheckpointNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path}: refused to load: the file holds pickled objects other than tensors and "
                         f"plain data (weights_only=True) — it may try to run code. ({str(err).splitlines()[0]})") from None
    except Exception as err:  # noqa: BLE001 - torch.load raises IndexError, KeyError, ... on foreign bytes
        why = type(err).__name__ + (f": {str(err).splitlines()[0]}" if str(err).strip() else "")
        raise ValueError(f"{path}: truncated or corrupt checkpoint, or not a checkpoint at all ({why})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a neuralogram checkpoint (expected format {FORMAT!r})")
    return ckpt


def _check_payload(ckpt: dict, source: str) -> tuple[ModelConfig, dict]:
    """The config and the state dict of a checkpoint, checked before anything is allocated."""
    cfg = ckpt.get("config")
    if not isinstance(cfg, dict):
        raise ValueError(f"{source}: the checkpoint has no model config (key 'config' is "
                         f"{'missing' if cfg is None else type(cfg).__name__})")
    sd = ckpt.get("state_dict")
    if not isinstance(sd, dict) or not sd or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                     for k, v in sd.items()):
        raise ValueError(f"{source}: the checkpoint has no weights (key 'state_dict' must map names to tensors, "
                         f"got {'nothing' if sd is None else type(sd).__name__})")
    try:
        config = ModelConfig(**cfg)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: invalid model config {cfg} ({err})") from None
    try:  # the shapes the config implies, on the meta device: no memory, even for absurd sizes
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in NeuralogramNet(config).state_dict().items()}
    except (RuntimeError, ValueError, OverflowError, TypeError) as err:
        raise ValueError(f"{source}: invalid model config {cfg} ({type(err).__name__}: {err})") from None
    problems = []
    for k, shape in expected.items():
        if k not in sd:
            problems.append(f"missing {k}")
        elif tuple(sd[k].shape) != shape:
            problems.append(f"{k}: checkpoint {tuple(sd[k].shape)} vs config {shape}")
    problems += [f"unexpected {k}" for k in sd if k not in expected]
    if problems:
        raise ValueError(f"{source}: the weights do not match the config {config.to_dict()}: "
                         + "; ".join(problems[:6]) + (" ..." if len(problems) > 6 else ""))
    for k, v in sd.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            bad = int((~torch.isfinite(v)).sum())
            raise ValueError(f"{source}: weight {k} holds {bad} NaN or Inf value(s): a corrupt checkpoint or a "
                             f"diverged training run")
    labels = ckpt.get("label_names", [])
    if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{source}: label_names must be a list of strings, got {type(labels).__name__}")
    if len(labels) != config.n_classes:
        raise ValueError(f"{source}: {len(labels)} label names but config.n_classes = {config.n_classes}")
    return config, sd


def _build(ckpt: dict, source: str) -> NeuralogramNet:
    config, sd = _check_payload(ckpt, source)
    model = NeuralogramNet(config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    return model.eval()


def check_device(device) -> torch.device:
    """A device that exists here: ``cpu``, ``cuda``/``cuda:N`` with CUDA, ``mps`` with Metal; else ``ValueError``.

    Book: ``book/06_neuralogram.ipynb``.
    """
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ValueError(f"device {device!r} asked for, but CUDA is not available here (use cpu)")
        if dev.index is not None and dev.index >= n:
            raise ValueError(f"device {device!r} asked for, but there are {n} CUDA device(s) (cuda:0 .. cuda:{n - 1})")
        return dev
    if dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"device {device!r} asked for, but Metal (mps) is not available here (use cpu)")
        return dev
    raise ValueError(f"device {device!r} is not supported; use cpu, cuda, cuda:N or mps")


def _temperature(ckpt: dict, source: str) -> float:
    """The checkpoint's calibration temperature (1 when it has none); see :mod:`neuralogram.calibration`."""
    cal = ckpt.get("calibration") or {}
    t = cal.get("temperature", 1.0) if isinstance(cal, dict) else None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
        raise ValueError(f"{source}: calibration temperature must be a positive finite number, got {t!r}")
    return float(t)


def checkpoint_path(name_or_path) -> Path:
    """The checkpoint file of a shipped model's name (with or without ``.pt``) or of a path: the one resolver
    behind :func:`load_model` and ``train(init_from=...)``.

    Raises
    ------
    ValueError
        Neither an existing file nor a shipped model's name (the message lists the shipped models).

    Book: ``book/05_model.ipynb``.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(f"a model name or checkpoint path is needed, got {type(name_or_path).__name__}")
    p = Path(name_or_path)
    if p.exists():
        return p
    shipped = models_dir() / f"{p.stem if p.suffix == '.pt' else p.name}.pt"
    if str(name_or_path) and p.name == str(name_or_path) and shipped.is_file():
        return shipped                       # a shipped name, with or without ".pt"
    raise ValueError(f"unknown model {str(name_or_path)!r}: no such checkpoint file and no shipped model of "
                     f"that name; available: {available_models()}")


def load_model(name_or_path, *, device: str | torch.device = "cpu"):
    """Load a shipped model by name (see :func:`available_models`) or any checkpoint file.

    Returns
    -------
    model : NeuralogramNet (in eval mode)
    info : dict
        ``name``, ``label_names``, ``label_mids``, ``config`` (dict), ``metrics``, ``train`` (how it was
        made), ``calibration`` (the fitted temperature and ECE, or None; the model applies the temperature:
        ``model.temperature``) and ``hash`` (of the weights, for cache keys).

    Book: ``book/05_model.ipynb``.
    """
    device = check_device(device)
    p = checkpoint_path(name_or_path)
    card = _card(p)
    if card.get("arch") == AUDIOSET_ARCH:  # a network shipped as its upstream state dict (mn04-audioset)
        from .mobilenet import load_audioset_net

        labels = card.get("labels")
        if not isinstance(labels, str) or not isinstance(card.get("sha256"), str):
            raise ValueError(f"{p.with_suffix('.json')}: the card of an AudioSet network must name its 'sha256' "
                             "and its 'labels' file")
        model, info = load_audioset_net(p, sha256=card["sha256"], label_csv=p.with_name(labels))
        info.update(name=p.stem, path=str(p), card={k: v for k, v in card.items() if k != "measured"})
        return model.to(device).eval(), info
    ckpt = read_checkpoint(p)
    model = _build(ckpt, str(p)).to(device)
    info = {k: ckpt.get(k) for k in ("label_names", "label_mids", "config", "metrics", "train", "calibration")}
    model.temperature = _temperature(ckpt, str(p))
    info["name"] = p.stem
    info["path"] = str(p)
    info["hash"] = model_hash(model)
    return model, info


#: The ``arch`` of a model card (``NAME.json``) whose weights are an AudioSet MobileNet's upstream state dict.
AUDIOSET_ARCH = "mobilenetv3-audioset"


def eval_map(info: dict) -> dict:
    """The held-out mAP a trained VGG's checkpoint records, whichever way it was trained.

    A model trained on labels (``standin``, ``real``) records its eval split's mAP against the true labels; a
    distilled student (:mod:`neuralogram.distill`) records its validation crops' mAP against the teacher's labels
    (a label is the teacher's at probability 0.5 or more, and each crop's top label is). The two are not the same
    quantity: compare them within a family, not across.

    Parameters
    ----------
    info : dict
        The info of :func:`load_model`.

    Returns
    -------
    dict
        ``mAP``, ``chance_mAP`` (the mAP of scores that ignore the input) and ``against`` (``"labels"`` or
        ``"teacher"``).

    Book: ``book/05_model.ipynb``, ``book/08_embedding_size.ipynb``.
    """
    m = (info or {}).get("metrics") or {}
    for prefix, against in (("", "labels"), ("val_", "teacher")):
        if f"{prefix}mAP" in m and f"{prefix}chance_mAP" in m:
            return {"mAP": float(m[f"{prefix}mAP"]), "chance_mAP": float(m[f"{prefix}chance_mAP"]), "against": against}
    raise KeyError(f"{(info or {}).get('name', 'this model')!r} records no eval mAP in its checkpoint's metrics "
                   f"(keys: {sorted(m)}); only trained VGG checkpoints do")


def model_card(name_or_path) -> dict:
    """The JSON model card of a shipped model or checkpoint (``NAME.json`` beside it: recipe, metrics, and for a
    trained model its history by epoch), or ``{}`` when it has none.

    Book: ``book/05_model.ipynb``.
    """
    return _card(checkpoint_path(name_or_path))


def _card(path: Path) -> dict:
    """The JSON card beside a checkpoint (``NAME.json``), or ``{}`` when there is none."""
    j = Path(path).with_suffix(".json")
    if not j.is_file():
        return {}
    try:
        card = json.loads(j.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{j}: the model card is not valid JSON ({err})") from None
    if not isinstance(card, dict):
        raise ValueError(f"{j}: the model card must be a JSON object, got {type(card).__name__}")
    return card


def resolve_model(model, info=None):
    """Accept a model name, a checkpoint path, or a network (:class:`~neuralogram.nets.EmbeddingNet`, with
    optional ``info``).

    Entry points (CLI, widgets, chapter calls) resolve once and pass the model down.

    Returns
    -------
    model : EmbeddingNet (eval mode)
    info : dict or None
        ``load_model``'s info for a name or path; the ``info`` given for a network.

    Book: ``book/05_model.ipynb``.
    """
    if isinstance(model, EmbeddingNet):
        return model.eval(), info
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    raise ValueError(f"model must be a network (a NeuralogramNet or a MobileNetAudioSet) or the name of a shipped "
                     f"model, got {type(model).__name__}")


def model_hash(model: torch.nn.Module, length: int = 12) -> str:
    """A short hash of a model's weights and buffers (a cache key that changes when the model does).

    Book: ``book/05_model.ipynb``.
    """
    import hashlib
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()[:length]


def export_model(ckpt: dict, path, *, half: bool = True) -> Path:
    """Write a shipped model: weights (float16 when ``half``, halving the file) and metadata, no optimizer.

    Book: ``book/05_model.ipynb``.
    """
    keep = {k: ckpt[k] for k in ("config", "label_names", "label_mids", "metrics", "train", "calibration",
                                 "real_eval") if k in ckpt}
    sd = {k: (v.half() if half and v.is_floating_point() else v) for k, v in ckpt["state_dict"].items()}
    return save_checkpoint(path, {**keep, "state_dict": sd, "dtype": "float16" if half else "float32"})
