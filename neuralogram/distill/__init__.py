"""Distillation: the paper's VGG learns AudioSet's 527 labels from the AudioSet network mn04.

AudioSet's audio cannot be downloaded here, but a network that heard all of it (mn04,
:mod:`neuralogram.mobilenet`) can label anything we can make. The student (a
:class:`~neuralogram.model.NeuralogramNet` with a 527-unit head and the teacher's labels) learns the teacher's
outputs for the same 2 s crop, the teacher hearing it as the student does: the 8 kHz crop, resampled to 32 kHz.

===================  ==========================================================================================
step                 what
===================  ==========================================================================================
sources              :class:`Source`: 8 kHz mono recordings named by id (:func:`default_sources`: the training
                     parts of ESC-50, FSDD and UrbanSound8K fold 1, the stand-in corpus's train clips, and
                     probe-like signals from :mod:`neuralogram.signals`: tones, chirps, impulse trains, noise,
                     silence). Never a held-out clip: ESC-50's test split, UrbanSound8K fold 2 and FSDD's test
                     speakers stay out (:func:`check_no_held_out`).
crop plan            :class:`CropPlan`: a few 2 s crops per source (by kind), each fixed by (source, start sample,
                     mixture partner and level, augmentation index): clean, through
                     :class:`~neuralogram.data.augment.Augmenter` (short sound, room, band limit, noise floor,
                     gain) and/or mixed with a second source (:func:`~neuralogram.data.augment.mix`). A tenth of
                     the source groups (recordings, speakers) form the validation part.
teacher cache        :func:`teacher_logits`: mn04's 527 logits of every crop, on disk under
                     ``$NEURALOGRAM_CACHE/distill`` in chunks keyed by the teacher's hash and the plan's hash,
                     each with a SHA-256 of its content; a corrupt, truncated or mismatched chunk is deleted and
                     recomputed, never used.
training             :func:`distill`: the student on :class:`DistillDataset` (log spectrogram of the crop ->
                     teacher logits), Adam, loss ``"bce"`` (sigmoid(teacher / T) as soft labels) or
                     ``"mse-logits"`` (logit matching); atomic checkpoints every epoch, exact resume, refusal
                     to resume a changed recipe.
validation           :func:`teacher_agreement` on the validation part (mAP against the teacher's labels, top-1
                     agreement) and UrbanSound8K fold 2 zero-shot top-1
                     (:func:`neuralogram.probes.transfer.zero_shot`). Never the ESC-50 held-out split.
===================  ==========================================================================================

Book: ``book/05_model.ipynb`` (how and why), ``book/13_audioset_net.ipynb`` (the students beside their teacher).
"""
from __future__ import annotations

from .plan import (CROP_SECONDS, CropPlan, DistillDataMissing, PlanConfig, Source, check_no_held_out,
                   default_sources, load_source, probe_sources, real_sources, standin_sources,
                   validation_clips)
from .student import (LOSSES, LR_SCHEDULES, DistillDataset, add_heldout_figures, distill, distill_loss,
                      loss_bounds, lr_at, render_distill_card, teacher_agreement, us8k_zero_shot,
                      write_distill_card)
from .teacher import teacher_cache_dir, teacher_logits

__all__ = ["CROP_SECONDS", "LOSSES", "Source", "PlanConfig", "CropPlan", "DistillDataMissing", "probe_sources",
           "real_sources", "standin_sources", "validation_clips", "default_sources", "check_no_held_out", "load_source",
           "teacher_logits", "teacher_cache_dir", "DistillDataset", "distill_loss", "loss_bounds", "LR_SCHEDULES",
           "lr_at", "teacher_agreement", "us8k_zero_shot", "distill", "write_distill_card", "render_distill_card",
           "add_heldout_figures"]
