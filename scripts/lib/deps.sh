# shellcheck shell=bash
# Shared set-up helpers for scripts/demo, scripts/test, scripts/bench and scripts/kafka. Source it;
# do not run it.
#
#   amtsweg_ensure_deps   installs missing Debian packages (apt-get update only if something is
#                         missing; fast and offline-safe when everything is there)
#   amtsweg_build DIR [cmake args...]   configures (once) and builds with Ninja, -j${AMTSWEG_JOBS:-2}
#   amtsweg_die MSG       prints "error: MSG" to stderr and exits 1

# The one list of build and test dependencies (Debian 12).
AMTSWEG_DEPS=(
  cmake ninja-build g++ clang clang-format
  clang-tidy                         # scripts/test: the clang-tidy stage (run-clang-tidy)
  libclang-rt-14-dev   # libFuzzer runtime for the fuzz targets
  librocksdb-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libsimdjson-dev libssl-dev
  libcli11-dev libgtest-dev libgmock-dev librdkafka-dev
  libcpp-httplib-dev                 # HTTP client (webhook, tests)
  libmicrohttpd-dev                  # HTTP server (amtsweg serve, run --listen)
  libcctz-dev tzdata                 # German civil time from the tz database (engine/calendar)
  python3 python3-venv               # tests: the holiday oracle's venv (tests/calendar)
  nlohmann-json3-dev rapidjson-dev   # only for the JSON library benchmark
  openjdk-17-jre-headless maven      # scripts/kafka: the test broker runs on Java, Maven fetches it
  chromium                           # tests labelled browser: the status page, headless
  nodejs                             # tests labelled browser: axe-core (npm from Debian's `npm`
                                     # where node has none; scripts/test, node-tools.sh)
  kcat                               # tests labelled kafka: a third-party producer (CRC32 keys)
)

amtsweg_die() {
  echo "error: $*" >&2
  exit 1
}

# Prints the packages from AMTSWEG_DEPS (or from the arguments) that are not installed.
amtsweg_missing_deps() {
  local pkg status
  local -a pkgs=("$@")
  [[ ${#pkgs[@]} -gt 0 ]] || pkgs=("${AMTSWEG_DEPS[@]}")
  for pkg in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || echo "$pkg"
  done
}

# Runs a command up to 3 times with a pause, for apt's network hiccups.
amtsweg_retry() {
  local attempt
  for attempt in 1 2 3; do
    "$@" && return 0
    [[ $attempt -lt 3 ]] || break
    echo "  ($* failed; retrying in $((attempt * 5))s)" >&2
    sleep $((attempt * 5))
  done
  return 1
}

amtsweg_ensure_deps() {
  command -v dpkg-query >/dev/null 2>&1 ||
    amtsweg_die "dpkg-query not found: these scripts expect Debian 12 (install the packages listed in scripts/lib/deps.sh by hand)"
  local -a missing
  mapfile -t missing < <(amtsweg_missing_deps "$@")
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  echo "Installing missing packages: ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 ||
      amtsweg_die "packages missing (${missing[*]}) and not root; run as root or install them"
    sudo=(sudo)
  fi
  amtsweg_retry "${sudo[@]}" apt-get update ||
    amtsweg_die "apt-get update failed (network?); missing packages: ${missing[*]}"
  amtsweg_retry "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null ||
    amtsweg_die "apt-get install failed for: ${missing[*]}"
  mapfile -t missing < <(amtsweg_missing_deps "$@")
  [[ ${#missing[@]} -eq 0 ]] || amtsweg_die "still missing after apt-get install: ${missing[*]}"
}

# amtsweg_build DIR [cmake args...]: configures DIR if needed (or if the args changed) and
# builds it; returns non-zero (with a message) on failure. Only some targets:
# AMTSWEG_TARGETS="a b". Environment passes through (CC, CXX).
amtsweg_build() {
  local dir=$1
  shift
  local stamp="$dir/.amtsweg-configure-args"
  local args="$*"
  if [[ ! -f "$dir/build.ninja" || ! -f "$stamp" || "$(cat "$stamp")" != "$args" ]]; then
    # Other arguments (or another compiler): configure from a clean cache. CMake would otherwise
    # keep stale options, or wipe the cache on a compiler change and drop the -D options given.
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
    if ! cmake -S "$AMTSWEG_ROOT" -B "$dir" -G Ninja "$@"; then
      echo "error: cmake configure failed for $dir (if it was configured with another generator or compiler, remove $dir)" >&2
      return 1
    fi
    printf '%s' "$args" >"$stamp"
  fi
  local -a targets=()
  [[ -z "${AMTSWEG_TARGETS:-}" ]] || read -r -a targets <<<"$AMTSWEG_TARGETS"
  if ! ninja -C "$dir" -j"${AMTSWEG_JOBS:-2}" "${targets[@]}"; then
    echo "error: build failed in $dir" >&2
    return 1
  fi
}

# Repository root, from this file's location.
AMTSWEG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
