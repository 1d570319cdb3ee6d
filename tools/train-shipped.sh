#!/usr/bin/env bash
# Re-train the shipped checkpoints in data/models from scratch on CPU (about 1 hour on 2 cores).
# Each model card (data/models/NAME.md) records the exact command that made it; this script runs them.
# Usage: tools/train-shipped.sh [e500|e2000|e64 ...]   (default: all three, in that order)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-12}
for e in "${@:-e500 e2000 e64}"; do
  for size in $e; do
    E=${size#e}
    name="vgg19-e$E-standin"
    PYTHONPATH=. "$PY" -m neuralogram train --corpus standin --standin-clips 4000 --standin-seed 0 \
      --standin-seconds 4 --embedding-size "$E" --width 0.125 --loss mse --epochs "$EPOCHS" --batch-size 32 \
      --lr 1e-3 --seed 0 --resume --out "runs/$name" --export "data/models/$name.pt"
  done
done
