#!/usr/bin/env bash
# bench/run-bench.sh [dpbench options] - runs $B/dpbench.exe (B: the build directory,
# default build) under Wine, in an Xvfb when there is no DISPLAY; writes
# $B/bench/results.json and $B/bench/results.md, prints the tables on stdout. Called by
# `make bench` after the build; runs on its own too.
#
# The Wine and Xvfb setup is tools/wine-env.sh's, as for the tests: a private WINEPREFIX
# under $B (created on first use; its wineserver stopped at the end), Xvfb on the first
# free display from :90 if DISPLAY is unset, lavapipe for Vulkan without /dev/dri. Only
# what this script started is stopped.
#
# Settings (environment): B, WINE, WINESERVER, BENCH_WINEPREFIX (default $B/wineprefix),
# WINEDEBUG, WINEDLLOVERRIDES, BENCH_TIMEOUT (seconds for the whole run, default 1500).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd -P)
B="${B:-build}"
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
EXE="$B/dpbench.exe"
OUT="$B/bench"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-1500}"

if [ ! -f "$EXE" ]; then
    echo "run-bench: $EXE is missing: run make bench" >&2
    exit 2
fi
mkdir -p "$OUT"

# The Wine/Xvfb setup shared with tests/run-wine.sh: Wine settings, an Xvfb of our own
# when DISPLAY is unset, lavapipe for Vulkan, the prefix (private to $B: the benchmark
# never shares a wineserver with a test run in another build directory).
export WINEPREFIX="${BENCH_WINEPREFIX:-$B/wineprefix}"
WINE_ENV_TAG=run-bench
# shellcheck source=../tools/wine-env.sh
. tools/wine-env.sh || exit 2
trap wine_env_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wine_env_start >&2 || exit 1

# Windows paths of the outputs (Z: is the Unix root in a default prefix).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

start=$SECONDS
timeout -k 10 "$BENCH_TIMEOUT" "$WINE" "$EXE" --out "$(winpath "$OUT/results.json")" \
    --md "$(winpath "$OUT/results.md")" "$@" </dev/null | tr -d '\r'
rc=${PIPESTATUS[0]}
case $rc in
    124 | 137) echo "run-bench: dpbench.exe killed after $BENCH_TIMEOUT s" >&2 ;;
    0) echo "# run-bench: $((SECONDS - start)) s; results in $OUT/results.json and $OUT/results.md" >&2 ;;
    *) echo "run-bench: dpbench.exe exited with status $rc" >&2 ;;
esac
exit "$rc"
