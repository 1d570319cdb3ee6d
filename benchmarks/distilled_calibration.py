"""Can one number calibrate a distilled student? Top-tag ECE on validation clips, before and after a fit.

The distilled students ship without a temperature (``tools/distill-shipped.sh``, "calibration"). This script is the
measurement behind that decision, on clips a recipe may be chosen on (never ESC-50's held-out split):

* the real clips of the crop plan's validation groups (``neuralogram.distill.validation_clips``: ESC-50, UrbanSound8K
  fold 1, FSDD training speakers) and UrbanSound8K fold 2 (the issue's validation fold), whole clips as
  ``benchmarks/real_audio.py`` reads them (2 s windows every 1.5 s, tags averaged);
* top-tag ECE (15 bins), leaf labels and the ontology reading (a label's ancestors count as right);
* per set: the model's own outputs (T = 1), then one temperature (``a z`` with ``a = 1 / T``: a > 1 sharpens) and one
  affine map ``a z + b`` (a > 0; both keep every ranking), fitted to the top tag's cross-entropy (ontology reading)
  on all sets together (each set weighted equally) and on each set alone; every fit is scored on every set.

    .venv/bin/python benchmarks/distilled_calibration.py [--models NAME ...]

Book: ``book/14_real_world.ipynb``.
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize

from neuralogram.calibration import expected_calibration_error
from neuralogram.checkpoints import available_models, load_model
from neuralogram.data.urbansound import urbansound8k
from neuralogram.distill import validation_clips
from neuralogram.probes.real_tags import clip_logits, tag_probs
from neuralogram.probes.real_world import real_targets


def _tags(Z, a, b):
    """Clip tags: the sigmoid of ``a z + b`` per window, averaged over the clip's windows (``tag_probs``)."""
    return np.stack([tag_probs(a * z + b, loss="bce") for z in Z])


def _top_nll(P, Y):
    P = np.clip(P, 1e-9, 1 - 1e-9)
    k = P.argmax(1)
    p, y = P[np.arange(len(P)), k], Y[np.arange(len(P)), k] > 0
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=available_models(family="distilled"))
    args = ap.parse_args(argv)
    val = validation_clips()
    sets = {"ESC-50 val": val["esc50"], "US8K fold-1 val": val["urbansound8k"], "FSDD val": val["fsdd"],
            "US8K fold 2": list(urbansound8k(2))}
    print("clips: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()))
    for name in args.models:
        model, info = load_model(name)
        mids = list(info["label_mids"])
        data = {k: (clip_logits(c, model, info), real_targets(c, mids, ancestors=True), real_targets(c, mids))
                for k, c in sets.items()}

        def loss(p, keys, affine):
            a, b = np.exp(p[0]), (p[1] if affine else 0.0)
            return sum(_top_nll(_tags(data[k][0], a, b), data[k][1]) for k in keys)

        fits = {"T = 1 (none)": (1.0, 0.0)}
        for keys, label in [(list(sets), "all"), *[([k], k) for k in sets]]:
            for affine in (False, True):
                r = minimize(loss, [0.0, 0.0] if affine else [0.0], args=(keys, affine), method="Nelder-Mead")
                a, b = float(np.exp(r.x[0])), (float(r.x[1]) if affine else 0.0)
                fits[f"{'a z + b' if affine else 'a z'} on {label}"] = (a, b)
        print(f"\n## {name}: top-tag ECE, ontology / leaf, per set (fits of the ontology top-tag cross-entropy)\n")
        print("| fit | a (= 1/T) | b | " + " | ".join(sets) + " |")
        print("|---|---|---|" + "---|" * len(sets))
        for label, (a, b) in fits.items():
            cells = []
            for k in sets:
                Z, Ya, Yl = data[k]
                P = _tags(Z, a, b)
                cells.append(f"{expected_calibration_error(P, Ya):.3f} / {expected_calibration_error(P, Yl):.3f}")
            print(f"| {label} | {a:.3f} | {b:+.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
