#!/usr/bin/env bash
# Put the JavaScript that the rendered book needs into book/_static/vendor/, so that pages render without a network:
# the ipywidgets embed manager (@jupyter-widgets/html-manager, which shows the executed widgets' saved state) and
# RequireJS (which it needs). Each package is a pinned npm tarball fetched once with `npm pack`, checked against its
# sha512 integrity (the registry's `dist.integrity`), and kept in $NEURALOGRAM_CACHE/web. MathJax comes from the
# sphinx-mathjax-offline package (requirements.txt). Run by `make book`; needs npm only on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${NEURALOGRAM_CACHE:-$HOME/.cache/neuralogram}/web"
DEST=book/_static/vendor
# spec | tarball | integrity
PACKAGES=(
  "@jupyter-widgets/html-manager@1.0.15|jupyter-widgets-html-manager-1.0.15.tgz|sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="
  "requirejs@2.3.8|requirejs-2.3.8.tgz|sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw=="
)

integrity() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

mkdir -p "$CACHE"
stamp=""
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec tarball want <<<"$entry"
  if [[ ! -f "$CACHE/$tarball" || "$(integrity "$CACHE/$tarball")" != "$want" ]]; then
    command -v npm >/dev/null || { echo "web-assets: npm is needed once to fetch $spec (apt-get install npm)" >&2; exit 1; }
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    got=$(integrity "$tmp/$tarball")
    if [[ "$got" != "$want" ]]; then
      echo "web-assets: $spec has integrity $got, expected $want: refusing it" >&2; rm -rf "$tmp"; exit 1
    fi
    mv "$tmp/$tarball" "$CACHE/$tarball.tmp" && mv "$CACHE/$tarball.tmp" "$CACHE/$tarball"
    rm -rf "$tmp"
  fi
  stamp+="$spec $want"$'\n'
done

if [[ -f "$DEST/STAMP" && "$(cat "$DEST/STAMP")" == "$(printf "%s" "$stamp")" ]]; then exit 0; fi
tmp=$(mktemp -d)
tar -xzf "$CACHE/jupyter-widgets-html-manager-1.0.15.tgz" -C "$tmp"
mkdir -p "$tmp/out/html-manager"
# the AMD bundle and the icon fonts its CSS points to (no source maps, no CommonJS bundle)
cp "$tmp"/package/dist/embed-amd.js "$tmp"/package/dist/*.{eot,svg,ttf,woff,woff2} "$tmp"/package/dist/embed.js.LICENSE.txt "$tmp/out/html-manager/"
mkdir "$tmp/rjs" && tar -xzf "$CACHE/requirejs-2.3.8.tgz" -C "$tmp/rjs"
cp "$tmp/rjs/package/require.js" "$tmp/out/require.js"
printf '%s' "$stamp" >"$tmp/out/STAMP"
find "$DEST" -mindepth 1 ! -name .gitignore -exec rm -rf {} + 2>/dev/null || true
cp -r "$tmp/out/." "$DEST/"
rm -rf "$tmp"
echo "web-assets: $(du -sh "$DEST" | cut -f1) in $DEST"
