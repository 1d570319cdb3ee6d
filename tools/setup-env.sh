#!/usr/bin/env bash
# Create (once) the pinned virtual environment and point .venv at it.
#
# The environment lives outside the clone, in $NEURALOGRAM_CACHE/venv-<hash>, where <hash> is taken over
# requirements.txt, requirements-nodeps.txt and the Python version: a change to any of them builds a new
# environment instead of silently reusing a stale one. A marker file is written last, so an interrupted
# install is never mistaken for a finished one.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for p in python3.11 python3.12 python3; do command -v "$p" >/dev/null 2>&1 && { PYTHON=$p; break; }; done
fi
cache=${NEURALOGRAM_CACHE:-$HOME/.cache/neuralogram}
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
hash=$( (cat requirements.txt requirements-nodeps.txt; echo "$pyver") | sha256sum | cut -c1-16)
venv="$cache/venv-py$pyver-$hash"
mkdir -p "$cache"

# Machine-wide pip settings may list local wheel folders that do not exist; their warnings are noise.
quiet_pip() { "$@" 2> >(grep -v 'is neither a file nor a directory' >&2); }

(
  flock 9
  if [ ! -f "$venv/.complete" ]; then
    echo ">> creating the environment in $venv (first run only: a few minutes, torch is large)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    quiet_pip "$venv/bin/python" -m pip install -q --no-input -r requirements.txt
    quiet_pip "$venv/bin/python" -m pip install -q --no-input --no-deps --ignore-requires-python -r requirements-nodeps.txt
    "$venv/bin/python" -c "import torch, torchaudio, soundfile, sklearn, h5py, nbval, ipywidgets, tinysoundfont, espeakng_loader, pretty_midi, hypothesis, pooch, pyroomacoustics, audiomentations, selenium; print('>> environment ready: torch', torch.__version__, 'torchaudio', torchaudio.__version__)"
    touch "$venv/.complete"
  fi
) 9>"$cache/.venv.lock"

ln -sfn "$venv" .venv
