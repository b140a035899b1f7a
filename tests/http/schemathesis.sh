#!/usr/bin/env bash
# Checks docs/api.yaml against a live server with Schemathesis, once per role (admin, auditor, a
# participant): tests/http/schemathesis_api.py, on a temporary store filled from the shipped
# samples. Fails on any 5xx and on any status code, content type, header or body the spec does
# not allow, printing each finding with a curl command that reproduces it. Builds nothing.
# Usage: tests/http/schemathesis.sh AMTSWEG_BINARY [--seed N] [--max-examples N] [--seconds S]
#          [--role ROLE ...] [--keep DIR]       (options of schemathesis_api.py)
# Installs Schemathesis first (pinned with its dependencies in
# tests/http/schemathesis-requirements.txt) into a cached venv of its own; offline once installed.
# Environment: AMTSWEG_SCHEMATHESIS_VENV (default ~/.cache/amtsweg/schemathesis-venv),
#   AMTSWEG_SCHEMATHESIS_SEED (default 1), AMTSWEG_SCHEMATHESIS_EXAMPLES (at most, per operation
#   and phase; default 100), AMTSWEG_SCHEMATHESIS_SECONDS (hard limit of one role's run; 120).
# Exits 0 when the server conforms to the spec, non-zero otherwise.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=../../scripts/lib/deps.sh
source scripts/lib/deps.sh
cd "$AMTSWEG_ROOT"

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 ]] && exit 0
  exit 2
fi
amtsweg=$1
shift
[[ -x $amtsweg ]] || { echo "error: $amtsweg is not an executable (build first)" >&2; exit 2; }

venv=${AMTSWEG_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/amtsweg/schemathesis-venv}
requirements=tests/http/schemathesis-requirements.txt
py=$venv/bin/python

# True when the venv has exactly the pinned versions.
pinned() {
  "$py" - "$requirements" 2>/dev/null <<'PY'
import importlib.metadata as m, sys
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, version = line.split("==")
        if m.version(name) != version:
            sys.exit(1)
PY
}

if ! pinned; then
  echo "Installing Schemathesis ($requirements) into $venv"
  { [[ -x $py ]] || /usr/bin/python3 -m venv "$venv"; } &&
    amtsweg_retry "$py" -m pip install --quiet --disable-pip-version-check -r "$requirements" &&
    pinned || { echo "error: could not install Schemathesis into $venv" >&2; exit 2; }
fi

exec "$py" tests/http/schemathesis_api.py --amtsweg "$amtsweg" --schemathesis "$venv/bin/schemathesis" "$@"
