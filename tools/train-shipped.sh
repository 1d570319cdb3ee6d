#!/usr/bin/env bash
# Re-train the shipped checkpoints in data/models on CPU.
#
# Stand-in models (vgg19-eN-standin; about 1 hour for the three on 2 idle cores): trained from scratch on the
# offline stand-in corpus. They use binary cross-entropy: with the paper's softmax + squared error our CPU budget
# reached an eval mAP of 0.12 after 4 epochs where BCE reached 0.29 (book/05_model.ipynb compares the two losses).
# LOSS=mse trains the paper's loss instead (into NAME-mse).
#
# Real-world models (vgg19-eN-real; issue 11): the stand-in model of the same size fine-tuned on the mixed corpus
# (neuralogram.data.mixed: the stand-in through the realistic augmentation + ESC-50 training sources + FSDD
# training speakers; needs ../shared/real or NEURALOGRAM_DATA, see neuralogram.data.real). Layers before conv5_1
# stay frozen (half the cost of a step on CPU); then the temperature is fitted on the eval split and the card gets
# the held-out real numbers (neuralogram.data.mixed.finish_real_model).
#
# Each model card (data/models/NAME.md) records the exact command that made it; this script runs them.
# Every run resumes from runs/NAME/last.pt when it exists: re-running the same command continues an interrupted run.
# Usage: tools/train-shipped.sh [e500|e2000|e64|real-e500|real-e64|real-e2000 ...]   (default: the three stand-in ones)
#   EPOCHS (stand-in: 15; real: 5), STEPS (real: batches per epoch, 100), OUT_MODELS (data/models), RUNS (runs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOSS=${LOSS:-bce}
OUT_MODELS=${OUT_MODELS:-data/models}
RUNS=${RUNS:-runs}
for e in "${@:-e500 e2000 e64}"; do
  for size in $e; do
    case "$size" in
      real-e*)
        E=${size#real-e}
        name="vgg19-e$E-real"
        # the mixed corpus is made (or found in the cache) first, in its own process (it uses worker processes)
        PYTHONPATH=. "$PY" -c "from neuralogram.data.mixed import mixed_corpus; print(mixed_corpus())"
        PYTHONPATH=. "$PY" -m neuralogram train --corpus mixed --standin-clips 4000 --standin-seed 0 \
          --standin-seconds 4 --init-from "vgg19-e$E-standin" --train-from conv5_1 --embedding-size "$E" \
          --width 0.125 --loss bce --epochs "${EPOCHS:-5}" --steps-per-epoch "${STEPS:-100}" --batch-size 32 \
          --lr 1e-3 --seed 0 --resume --out "$RUNS/$name" --export "$OUT_MODELS/$name.pt"
        PYTHONPATH=. "$PY" -c "from neuralogram.data.mixed import finish_real_model; finish_real_model('$OUT_MODELS/$name.pt')"
        ;;
      *)
        E=${size#e}
        name="vgg19-e$E-standin"
        [ "$LOSS" = bce ] || name="$name-$LOSS"
        PYTHONPATH=. "$PY" -m neuralogram train --corpus standin --standin-clips 4000 --standin-seed 0 \
          --standin-seconds 4 --embedding-size "$E" --width 0.125 --loss "$LOSS" --epochs "${EPOCHS:-15}" \
          --batch-size 32 --lr 1e-3 --seed 0 --resume --out "$RUNS/$name" --export "$OUT_MODELS/$name.pt"
        ;;
    esac
  done
done
