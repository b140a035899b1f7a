#!/usr/bin/env bash
# Installs the pinned npm packages of the browser checks (package.json, package-lock.json beside
# this script: axe-core and playwright-core) into a cached directory with `npm ci`, once; later
# runs, also offline, find them there. Prints the directory (its node_modules) on stdout.
# Environment: AMTSWEG_NODE_DIR (default ~/.cache/amtsweg/node). No browser is downloaded:
# the checks drive Debian's /usr/bin/chromium.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${AMTSWEG_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/amtsweg/node}
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  echo "error: node and npm are needed for the browser checks (Debian packages nodejs, npm)" >&2
  exit 1
}
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [[ -f $dir/.installed && $(cat "$dir/.installed") == "$want" && -d $dir/node_modules ]]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
rm -f "$dir/.installed"
echo "Installing the browser checks' npm packages into $dir" >&2
attempt=1
until (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit \
  --no-fund --loglevel=error >&2); do
  if [[ $attempt -ge 3 ]]; then
    echo "error: npm ci in $dir failed (network?)" >&2
    exit 1
  fi
  sleep $((attempt * 5))
  attempt=$((attempt + 1))
done
echo "$want" >"$dir/.installed"
echo "$dir"
