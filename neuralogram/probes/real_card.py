"""A model trained on the mixed corpus: its held-out numbers, its calibration and its model card.

:func:`evaluate_mixed` measures a model on the eval split of :mod:`neuralogram.data.mixed` part by part (the
stand-in's clean clips, the held-out ESC-50 sources, the held-out FSDD speakers) with the real-audio benchmark's
definitions (:mod:`.real_world`); :func:`finish_real_model` writes those numbers into the checkpoint and the card
(``tools/train-shipped.sh`` runs it after training) and calls :func:`calibrate_real_model`, which fits the
temperature on the stand-in corpus's clean eval clips only (no held-out recording) and ships it only when a two-fold
check says it helps.

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..cache import atomic_path, cache_dir
from ..data import real
from ..data.store import PackedStore

__all__ = ["evaluate_mixed", "finish_real_model", "calibrate_real_model", "SHIP_RULE"]


def evaluate_mixed(model, info, store, *, hop: float = 0.5, progress: bool = False) -> dict:
    """What a model trained on the mixed corpus does on its eval split, part by part.

    * ``standin``: mAP over the stand-in's own labels on its (clean) eval clips, centred 2 s crops — the number
      the stand-in-only models' cards report, on the same clips and crops;
    * ``esc50``: the held-out ESC-50 sources, whole clips (tags averaged over 2 s windows every ``hop`` s), as
      the real-audio benchmark measures them (:func:`~neuralogram.probes.real_world.esc50_metrics`): AP per
      ESC-50 class (its mapped AudioSet label), their mean, top-1 among the 50 and the top tag among all;
    * ``fsdd``: the held-out speakers: fraction of clips whose top tag is a speech class.

    No temperature is fitted here: the split holds the held-out recordings (:func:`calibrate_real_model` fits it
    on the stand-in clips alone).

    Book: ``book/14_real_world.ipynb``.
    """
    import torch

    from ..calibration import apply_temperature
    from ..train import average_precision
    from ..data.store import CropDataset

    names = list(store.label_names)
    ev = CropDataset(store, split="eval", random_crop=False)
    logits = []
    model.eval()
    with torch.no_grad():
        for a in tqdm(range(0, len(ev), 64), desc="eval crops", disable=not progress):
            spec = torch.stack([ev[j][0] for j in range(a, min(a + 64, len(ev)))])
            logits.append(model(spec).double().numpy())
    Z = np.concatenate(logits)
    Y = store.labels[ev.idx].astype(bool)
    ids = [store.clip_ids[i] for i in ev.idx]
    kind = np.array([c.split("-")[0] for c in ids])
    T_before = getattr(model, "temperature", 1.0)
    from ..data.standin.corpus import label_names as standin_label_names

    n_st = len(standin_label_names())        # the mixed label space starts with the stand-in's labels
    st = kind == "standin"
    ap_st = average_precision(apply_temperature(Z[st][:, :n_st], T_before, loss=model.loss), Y[st][:, :n_st])
    out = {"standin": {"mAP": float(np.nanmean(ap_st)), "n_clips": int(st.sum()), "n_classes": int(n_st)}}
    # ESC-50 held-out sources, whole clips: the real-audio benchmark's definition (probes.real_world)
    from ..probes.real_world import clip_logits, esc50_metrics, tag_probs

    clips = real.esc50("test")
    P = tag_probs(clip_logits(clips, model, info, hop=hop, cache=False, progress=progress),
                  loss=model.loss, temperature=T_before)
    m = esc50_metrics(P, store.label_mids, [c.target for c in clips], names)
    out["esc50"] = {"n_clips": m["n"], "mAP": m["mAP"], "top1_among_50": m["top1"], "top1_any_tag": m["top_tag"],
                    "top5_tags": m["top5_tags"],
                    "per_class_AP": {row[2]: (None if np.isnan(a) else round(float(a), 4))
                                     for row, a in zip(real.ESC50_AUDIOSET, m["per_class_ap"])}}
    # FSDD held-out speakers: top tag a speech class
    speech = {names.index(n) for _, n in real.SPEECH_CLASSES if n in names}
    f = kind == "fsdd"
    Pf = apply_temperature(Z[f], T_before, loss=model.loss)
    out["fsdd"] = {"n_clips": int(f.sum()), "speech_top1": float(np.mean([k in speech for k in Pf.argmax(1)]))}
    return out


_LICENCES = ("ESC-50 (Piczak 2015; github.com/karolpiczak/ESC-50): CC BY-NC 3.0, its ESC-10 clips CC BY — "
             "non-commercial use only; Free Spoken Digit Dataset (Jakobovski et al.): CC BY-SA 4.0")


def finish_real_model(model_path, *, corpus=None, pitch: bool = True, progress: bool = False) -> dict:
    """Add the real-data sections to the card of a model trained on the mixed corpus, then calibrate it.

    Stores the held-out numbers of :func:`evaluate_mixed` in the checkpoint (``real_eval``), measures the pitch
    probe's ridge R^2 when ``pitch``, and appends to ``NAME.md`` / ``NAME.json``: the real data and their
    licences, ESC-50 per-class AP on held-out sources, FSDD speech rate and the stand-in eval mAP beside the
    stand-in-only model of the same size; then :func:`calibrate_real_model` adds the calibration.

    Book: ``book/14_real_world.ipynb``.
    """
    import json as _json

    from ..checkpoints import load_model, read_checkpoint, save_checkpoint

    model_path = Path(model_path)
    ckpt = read_checkpoint(model_path)
    store = PackedStore(corpus or cache_dir("corpora") / ckpt["train"]["corpus"])
    model, info = load_model(model_path)
    model.temperature = 1.0
    ev = evaluate_mixed(model, info, store, progress=progress)
    ckpt["calibration"] = None          # calibrate_real_model fits it, below, on clips no held-out figure uses
    ckpt["real_eval"] = dict(ev)
    if pitch:
        from ..probes.pitch import pitch_probe

        pr = pitch_probe(model, info, cache=False)
        ckpt["real_eval"]["pitch"] = {k: pr[k] for k in ("ridge_r2", "spearman_down_up") if k in pr}
    save_checkpoint(model_path, ckpt)
    E = ckpt["config"]["embedding_size"]
    before_card = model_path.parent / f"vgg19-e{E}-standin.json"
    before = _json.loads(before_card.read_text())["final"]["mAP"] if before_card.is_file() else None
    card_json = model_path.with_suffix(".json")
    card = _json.loads(card_json.read_text()) if card_json.is_file() else {}
    card.update(calibration=None, real_eval=ckpt["real_eval"], standin_only_eval_mAP=before, licences=_LICENCES,
                real_data=store.params.get("real"))
    with atomic_path(card_json) as tmp:
        tmp.write_text(_json.dumps(card, indent=1))
    r, e, f = ckpt["real_eval"], ev["esc50"], ev["fsdd"]
    lines = ["", "## Real recordings in training (issue 11)", "",
             f"Trained on the mixed corpus `{store.path.name}`: the stand-in corpus through the realistic augmentation "
             "(`neuralogram.data.augment`: short sounds at random onsets, simulated rooms, band limits, white/pink/real "
             f"background noise floors, random gain, mixtures), plus ESC-50 training sources ({store.params['real']['esc50_train']} "
             f"clips x {store.params['esc50_copies']} copies) and FSDD training speakers "
             f"({', '.join(store.params['real']['fsdd_train_speakers'])}; {store.params['fsdd_clips']} clips of 1-3 digits). "
             f"Held out, never trained on: {store.params['real']['esc50_test']} ESC-50 clips from other source "
             f"recordings and the FSDD speakers {', '.join(store.params['real']['fsdd_test_speakers'])}.", "",
             f"Licences of the real data: {_LICENCES}. The weights are derived from them; the data are not shipped.", "",
             "| held-out measurement | value |", "|---|---|",
             f"| stand-in eval mAP ({r['standin']['n_clips']} clean clips, {r['standin']['n_classes']} classes) | "
             f"**{r['standin']['mAP']:.3f}**" + (f" (stand-in-only model: {before:.3f}; change {r['standin']['mAP'] - before:+.3f})"
                                                 if before is not None else "") + " |",
             f"| ESC-50 held-out sources: mAP over the 50 classes ({e['n_clips']} clips, whole clip, 2 s windows) | "
             f"**{e['mAP']:.3f}** (chance ~0.02) |",
             f"| ESC-50 held-out: top-1 among the 50 / top tag is the clip's class | {e['top1_among_50']:.1%} / "
             f"{e['top1_any_tag']:.1%} |",
             f"| FSDD held-out speakers: top tag a speech class ({f['n_clips']} clips, digit centred in 2 s) | "
             f"{f['speech_top1']:.1%} |"]
    if "pitch" in r:
        lines.append(f"| pitch probe ridge R^2 (book/07_pitch) | {r['pitch']['ridge_r2']:.3f} |")
    lines += ["", "## Average precision per ESC-50 class (held-out sources)", "", "| class | AP |", "|---|---|"]
    lines += [f"| {n} | {'n/a (no held-out source)' if a is None else f'{a:.3f}'} |"
              for n, a in sorted(e["per_class_AP"].items(), key=lambda kv: -(kv[1] if kv[1] is not None else -1))]
    md = model_path.with_suffix(".md")
    text = md.read_text() if md.is_file() else f"# Model card: `{model_path.stem}`\n"
    marker = "\n## Real recordings in training (issue 11)"
    text = text.split(marker)[0].rstrip("\n") + "\n"
    with atomic_path(md) as tmp:
        tmp.write_text(text + "\n".join(lines) + "\n")
    return calibrate_real_model(model_path, progress=progress)


#: When a fitted temperature ships (:func:`calibrate_real_model`); the distilled students' tool applies the same test.
SHIP_RULE = ("a temperature ships only when, fitted on one random half of the calibration clips and measured on "
             "the other (both ways, averaged), it gives a lower top-tag ECE than T = 1")


def _shipped_temperature(report: dict) -> float:
    """The temperature :data:`SHIP_RULE` ships from a :func:`~neuralogram.calibration.calibration_report`."""
    return float(report["temperature"]) if report["ece_after_2fold"] < report["ece_before"] else 1.0


def _calibration_lines(cal: dict, all_pairs: dict) -> list:
    """The card's "Calibration" section."""
    T, Tf = cal["temperature"], cal["fitted_temperature"]
    verdict = (f"it lowers the two-fold ECE ({cal['ece_before']:.3f} -> {cal['ece_after_2fold']:.3f}), so it ships: "
               f"**T = {T:.3f}**, applied by `load_model` (`model.temperature`) to every probability the model gives "
               "(`predict_proba`, tags)." if T != 1.0 else
               f"it does not lower the two-fold ECE ({cal['ece_before']:.3f} -> {cal['ece_after_2fold']:.3f}), so "
               "none ships: **T = 1**, the model's own probabilities.")
    return ["## Calibration", "",
            f"Temperature fitted on {cal['fitted_on']} to the top tag's confidence "
            "(`fit_temperature(objective='top')`): "
            f"T = {Tf:.3f}. Rule: {SHIP_RULE}; {verdict} Expected calibration error, 15 bins, top tag per clip, "
            "on those clips:", "",
            "| | T = 1 | fitted T (in-sample) | fitted T (two-fold: fit on one half, measure on the other) |",
            "|---|---|---|---|",
            f"| ECE (top tag) | {cal['ece_before']:.3f} | {cal['ece_after']:.3f} | {cal['ece_after_2fold']:.3f} |",
            f"| ECE (every clip-class pair) | {cal['ece_all_before']:.4f} | {cal['ece_all_after']:.4f} | |",
            f"| cross-entropy of the top tag | {cal['nll_top_before']:.3f} | {cal['nll_top_after']:.3f} | |",
            f"| cross-entropy per clip, all classes | {cal['nll_before']:.3f} | {cal['nll_after']:.3f} | |", "",
            f"The usual fit to every clip-class pair gives T = {all_pairs['temperature']:.3f} and top-tag ECE "
            f"{all_pairs['ece_after']:.3f} (two-fold {all_pairs['ece_after_2fold']:.3f}). No held-out recording "
            "(ESC-50's held-out sources, FSDD's held-out speakers) took part in either fit.", "",
            f"Out-of-set rule (`neuralogram.calibration.out_of_set`): nothing is confident when the largest "
            f"probability (at the shipped T) is below {cal['threshold']}; on these clips that is "
            f"{cal['out_of_set_rate']:.1%} of the crops.", ""]


def _put_section(text: str, lines: list, *, before: str) -> str:
    """``text`` with its ``lines[0]`` section replaced by ``lines`` (or inserted before the ``before`` heading, or
    appended)."""
    head, body = "\n" + lines[0] + "\n", "\n".join(lines)
    if head in text:
        i = text.index(head) + 1
        j = text.find("\n## ", i + len(head) - 1)
        return text[:i] + body + (text[j:] if j >= 0 else "")
    k = text.find("\n" + before)
    if k >= 0:
        return text[:k + 1] + body + text[k:]
    return text.rstrip("\n") + "\n\n" + body


def calibrate_real_model(model_path, *, standin=None, progress: bool = False) -> dict:
    """Fit a mixed-corpus model's temperature on clips no held-out figure uses, and ship it only if it helps.

    The calibration clips are the stand-in corpus's clean eval clips (centred 2 s crops): the part of the mixed
    corpus's eval split that holds no held-out recording (its ESC-50 sources and FSDD speakers are what the
    held-out figures measure, so fitting there would leak them). The temperature is fitted to the top tag's
    confidence (:func:`~neuralogram.calibration.calibration_report`, ``objective="top"``) and ships by
    :data:`SHIP_RULE`. Writes ``calibration`` (``temperature``: the shipped one, 1 when none;
    ``fitted_temperature``; the ECEs) into the checkpoint and ``NAME.json``, ``calibration_all_pairs`` into
    ``real_eval``, and the "Calibration" section of ``NAME.md``. The weights are unchanged.

    Parameters
    ----------
    model_path : path
        A checkpoint trained on the mixed corpus (:mod:`neuralogram.data.mixed`).
    standin : path, optional
        The stand-in corpus (``.h5``); default: the one the model's mixed corpus was built from
        (``train.corpus_params.standin``), generated if it is not cached.

    Returns
    -------
    dict
        The ``calibration`` written.

    Book: ``book/14_real_world.ipynb``.
    """
    import json as _json

    from ..calibration import apply_temperature, calibration_report, out_of_set
    from ..checkpoints import load_model, read_checkpoint, save_checkpoint
    from ..data.standin.corpus import standin_corpus
    from .real_world import standin_logits

    model_path = Path(model_path)
    ckpt = read_checkpoint(model_path)
    if standin is None:
        sp = (ckpt.get("train") or {}).get("corpus_params", {}).get("standin")
        if not sp:
            raise ValueError(f"{model_path.name}: no stand-in corpus recorded (train.corpus_params.standin); "
                             "pass standin=PATH")
        standin = standin_corpus(sp["n_clips"], sp["seed"], sp["clip_seconds"], progress=progress)
    if not Path(standin).is_file():
        raise ValueError(f"stand-in corpus {standin}: no such file")
    store = PackedStore(standin)
    model, info = load_model(model_path)
    model.temperature = 1.0
    lost = sorted(set(store.label_mids) - set(info["label_mids"]))
    if lost:
        raise ValueError(f"{store.path.name}: labels {lost} are not in the model's label space; calibrate on the "
                         "stand-in corpus the model's mixed corpus was built from")
    if len(store.indices("eval")) < 4:
        raise ValueError(f"{store.path.name}: {len(store.indices('eval'))} eval clips; a two-fold calibration "
                         "check needs at least 4")
    r = standin_logits(model, info, store=store, split="eval", cache=False, progress=progress)
    Z, Y = r["logits"].astype(np.float64), r["targets"].astype(bool)
    top = calibration_report(Z, Y, loss=model.loss, objective="top")
    all_pairs = calibration_report(Z, Y, loss=model.loss, objective="all")
    T = _shipped_temperature(top)
    oos = float(out_of_set(apply_temperature(Z, T, loss=model.loss), threshold=top["threshold"]).mean())
    cal = dict(top, temperature=T, fitted_temperature=top["temperature"], out_of_set_rate=round(oos, 4),
               rule=SHIP_RULE, fitted_on=f"the eval split of {store.path.name} ({len(Z)} clean stand-in clips, "
                                         "centred 2 s crops; no held-out recording)")
    ckpt["calibration"] = cal
    ckpt.setdefault("real_eval", {})["calibration_all_pairs"] = all_pairs
    save_checkpoint(model_path, ckpt)
    card_json = model_path.with_suffix(".json")
    if card_json.is_file():
        card = _json.loads(card_json.read_text())
        card["calibration"] = cal
        card.setdefault("real_eval", {})["calibration_all_pairs"] = all_pairs
        with atomic_path(card_json) as tmp:
            tmp.write_text(_json.dumps(card, indent=1))
    md = model_path.with_suffix(".md")
    if md.is_file():
        text = _put_section(md.read_text(), _calibration_lines(cal, all_pairs),
                            before="## Average precision per ESC-50 class")
        with atomic_path(md) as tmp:
            tmp.write_text(text.rstrip("\n") + "\n")
    return cal
