"""A model trained on the mixed corpus: its held-out numbers, its calibration and its model card.

:func:`evaluate_mixed` measures a model on the eval split of :mod:`neuralogram.data.mixed` part by part (the
stand-in's clean clips, the held-out ESC-50 sources, the held-out FSDD speakers) with the real-audio benchmark's
definitions (:mod:`.real_world`); :func:`finish_real_model` fits the temperature there, stores it in the
checkpoint and writes the card's real-data sections (``tools/train-shipped.sh`` runs it after training).

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..cache import atomic_path, cache_dir
from ..data import real
from ..data.store import PackedStore

__all__ = ["evaluate_mixed", "finish_real_model"]


def evaluate_mixed(model, info, store, *, hop: float = 0.5, progress: bool = False) -> dict:
    """What a model trained on the mixed corpus does on its eval split, part by part.

    * ``standin``: mAP over the stand-in's own labels on its (clean) eval clips, centred 2 s crops — the number
      the stand-in-only models' cards report, on the same clips and crops;
    * ``esc50``: the held-out ESC-50 sources, whole clips (tags averaged over 2 s windows every ``hop`` s), as
      the real-audio benchmark measures them (:func:`~neuralogram.probes.real_world.esc50_metrics`): AP per
      ESC-50 class (its mapped AudioSet label), their mean, top-1 among the 50 and the top tag among all;
    * ``fsdd``: the held-out speakers: fraction of clips whose top tag is a speech class;
    * ``calibration``: :func:`~neuralogram.calibration.calibration_report` on the whole eval split (centred
      2 s crops, what the tag widget shows per window), the temperature fitted to the top tag's confidence
      (``objective="top"``: what a reader sees); ``calibration_all_pairs`` the usual fit to every clip-class
      pair, for comparison.

    Book: ``book/14_real_world.ipynb``.
    """
    import torch

    from ..calibration import apply_temperature, calibration_report
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
    out = {"standin": {"mAP": float(np.nanmean(ap_st)), "n_clips": int(st.sum()), "n_classes": int(n_st)},
           "calibration": calibration_report(Z, Y, loss=model.loss, objective="top"),
           "calibration_all_pairs": calibration_report(Z, Y, loss=model.loss, objective="all")}
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
    """Calibrate a model trained on the mixed corpus and add the real-data sections to its card.

    Fits the temperature on the corpus's eval split (:func:`evaluate_mixed`), stores it in the checkpoint
    (``calibration``; :func:`~neuralogram.checkpoints.load_model` applies it) with the held-out numbers
    (``real_eval``), measures the pitch probe's ridge R^2 when ``pitch``, and appends to ``NAME.md`` /
    ``NAME.json``: the real data and their licences, ESC-50 per-class AP on held-out sources, FSDD speech rate,
    the calibration, and the stand-in eval mAP beside the stand-in-only model of the same size.

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
    cal = dict(ev["calibration"], fitted_on=f"eval split of {store.path.name} ({ev['calibration']['n_clips']} "
               "centred 2 s crops: stand-in eval, held-out ESC-50 sources, held-out FSDD speakers)")
    ckpt["calibration"] = cal
    ckpt["real_eval"] = {k: v for k, v in ev.items() if k not in ("calibration", "calibration_all_pairs")}
    ckpt["real_eval"]["calibration_all_pairs"] = ev["calibration_all_pairs"]
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
    card.update(calibration=cal, real_eval=ckpt["real_eval"], standin_only_eval_mAP=before, licences=_LICENCES,
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
    lines += ["", "## Calibration", "",
              f"Temperature scaling fitted on {cal['fitted_on']}: **T = {cal['temperature']:.3f}**, applied by "
              "`load_model` (`model.temperature`) to every probability the model gives (`predict_proba`, tags). "
              "Expected calibration error, 15 bins, top tag per clip:", "",
              "| | before | after | after (two-fold: fit on one half, measure on the other) |", "|---|---|---|---|",
              f"| ECE (top tag) | {cal['ece_before']:.3f} | **{cal['ece_after']:.3f}** | {cal['ece_after_2fold']:.3f} |",
              f"| ECE (every clip-class pair) | {cal['ece_all_before']:.4f} | {cal['ece_all_after']:.4f} | |",
              f"| cross-entropy of the top tag | {cal['nll_top_before']:.3f} | {cal['nll_top_after']:.3f} | |",
              f"| cross-entropy per clip, all classes | {cal['nll_before']:.3f} | {cal['nll_after']:.3f} | |", "",
              f"T is fitted to the top tag's confidence (`fit_temperature(objective='top')`). The usual fit to every "
              f"clip-class pair gives T = {ev['calibration_all_pairs']['temperature']:.3f} and top-tag ECE "
              f"{ev['calibration_all_pairs']['ece_after']:.3f}.", "",
              f"Out-of-set rule (`neuralogram.calibration.out_of_set`): nothing is confident when the largest "
              f"calibrated probability is below {cal['threshold']}; on the eval split that is "
              f"{cal['out_of_set_rate']:.1%} of the crops.", "",
              "## Average precision per ESC-50 class (held-out sources)", "", "| class | AP |", "|---|---|"]
    lines += [f"| {n} | {'n/a (no held-out source)' if a is None else f'{a:.3f}'} |"
              for n, a in sorted(e["per_class_AP"].items(), key=lambda kv: -(kv[1] if kv[1] is not None else -1))]
    md = model_path.with_suffix(".md")
    text = md.read_text() if md.is_file() else f"# Model card: `{model_path.stem}`\n"
    marker = "\n## Real recordings in training (issue 11)"
    text = text.split(marker)[0].rstrip("\n") + "\n"
    with atomic_path(md) as tmp:
        tmp.write_text(text + "\n".join(lines) + "\n")
    return card
