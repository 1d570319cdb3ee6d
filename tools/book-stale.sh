#!/usr/bin/env bash
# Exit 0 when the rendered book must be (re)built: _build/html is missing, or a chapter, the configuration, the
# static files or the package changed after the last build. Exit 1 when _build/html is up to date.
cd "$(dirname "$0")/.."
stamp=_build/html/index.html
[[ -f "$stamp" ]] || exit 0
newer=$(find book neuralogram _config.yml _toc.yml -newer "$stamp" -type f \
          \( -name '*.ipynb' -o -name '*.md' -o -name '*.py' -o -name '*.yml' -o -name '*.css' -o -name '*.bib' \) \
          -not -path '*/.ipynb_checkpoints/*' -print -quit)
[[ -n "$newer" ]]
