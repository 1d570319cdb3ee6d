#!/usr/bin/env bash
# Install the Debian packages that `make book` / `make browser` need when a command is missing (fresh machine, CI):
#   tools/apt-needs.sh npm:npm chromium:chromium chromedriver:chromium-driver
# Each argument is COMMAND:PACKAGE. Needs root and apt-get; otherwise says what to install and exits 1.
set -euo pipefail
missing=()
for pair in "$@"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [[ -x "/usr/bin/$cmd" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "apt-needs: installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "apt-needs: please install ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
