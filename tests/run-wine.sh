#!/usr/bin/env bash
# tests/run-wine.sh [filter...] - runs build/dptest.exe under Wine (in an Xvfb when
# there is no DISPLAY), then the native unit tests (build/native/unit) when built, and
# ends with ONE line "N passed, N failed, N skipped" adding both up. Exit status 0 only
# if nothing failed and every runner finished with its summary line.
#
# Called by `make check` after the build (toolchain-mingw.mk exports the settings
# below); runs on its own too. Filters are passed to both runners: only the cases
# whose name contains one of them run.
#
# Settings (environment): WINE, WINESERVER, WINEPREFIX (default build/wineprefix, private
# to this tree: created on first use, its wineserver killed at the end), WINEDEBUG,
# WINEDLLOVERRIDES, CHECK_TIMEOUT (seconds for the whole dptest.exe run, default 900).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd -P) # physical, as make's CURDIR in the default WINEPREFIX
B="$ROOT/build"

bash tools/setup-debian.sh || exit $?

# Wine settings, Xvfb, lavapipe, the private prefix and their cleanup: tools/wine-env.sh.
WINE_ENV_TAG=run-wine
# shellcheck source=../tools/wine-env.sh
. tools/wine-env.sh
CHECK_TIMEOUT="${CHECK_TIMEOUT:-900}"

if [ ! -f "$B/dptest.exe" ]; then
    echo "run-wine: $B/dptest.exe is missing: run make first" >&2
    exit 2
fi

trap wine_env_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Xvfb if there is no DISPLAY, lavapipe without a GPU, the prefix (created once, about
# 10 s).
wine_env_start || exit 1

# ---- runners ----------------------------------------------------------------------------
TOTAL_P=0 TOTAL_F=0 TOTAL_S=0

# run_suite NAME LOG TIMEOUT CMD...: runs CMD with its output on our stdout and in LOG,
# then adds its summary line to the totals. No summary line (its result lines are
# counted instead), or a non-zero exit with nothing failed in the summary, counts as
# one more failure.
run_suite() {
    local name=$1 log=$2 limit=$3 rc summary p f s
    shift 3
    timeout -k 10 "$limit" "$@" </dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    summary=$(tr -d '\r' <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
    if [ -z "$summary" ]; then
        # Count the result lines it did print, plus one failure for the crash.
        case $rc in
            124 | 137) echo "# run-wine: $name killed after ${limit} s without a summary" ;;
            *) echo "# run-wine: $name ended (status $rc) without a summary: crashed?" ;;
        esac
        p=$(tr -d '\r' <"$log" | grep -cE '^ok [0-9]+ - ')
        f=$(tr -d '\r' <"$log" | grep -cE '^not ok [0-9]+ - ')
        s=$(tr -d '\r' <"$log" | grep -cE '^skip [0-9]+ - ')
        TOTAL_P=$((TOTAL_P + p)) TOTAL_F=$((TOTAL_F + f + 1)) TOTAL_S=$((TOTAL_S + s))
        return
    fi
    read -r p _ f _ s _ <<<"${summary//,/}"
    TOTAL_P=$((TOTAL_P + p)) TOTAL_F=$((TOTAL_F + f)) TOTAL_S=$((TOTAL_S + s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "# run-wine: $name exited with status $rc"
        TOTAL_F=$((TOTAL_F + 1))
    fi
}

# With filters, a runner none of whose cases match is left out; if no runner has a
# matching case, that is a failure (a typo must not pass as green).
FILTERS=("$@")
has_cases() { # CMD...: does CMD --list FILTERS print a case?
    [ ${#FILTERS[@]} -eq 0 ] && return 0
    # shellcheck disable=SC2143 # grep -q would close the pipe early under pipefail
    [ -n "$("$@" --list "${FILTERS[@]}" </dev/null 2>/dev/null | tr -d '\r' | grep -v '^#')" ]
}

ran=0
# dptest.exe finds directport.dll beside itself in build/.
if has_cases "$WINE" "$B/dptest.exe"; then
    run_suite dptest.exe "$B/dptest.log" "$CHECK_TIMEOUT" "$WINE" "$B/dptest.exe" "$@"
    ran=1
fi
if [ -x "$B/native/unit" ] && has_cases "$B/native/unit"; then
    run_suite native/unit "$B/native/unit.log" 600 "$B/native/unit" "$@"
    ran=1
fi

if [ "$ran" -eq 0 ]; then
    echo "# run-wine: no case matches: $*"
    TOTAL_F=$((TOTAL_F + 1))
fi

echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
[ "$TOTAL_F" -eq 0 ]
