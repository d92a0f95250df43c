# tools/wine-env.sh - sourced (bash) by tests/run-wine.sh and tools/demo.sh: the Wine
# settings, an Xvfb of our own when there is no DISPLAY, Vulkan straight to lavapipe
# without a GPU, the private Wine prefix, and the cleanup of what was started.
#
# Before sourcing, set:
#   B               the build directory, an absolute physical path; logs go there
#                   (xvfb.log, wineboot.log) and a prefix inside it is "ours"
#   WINE_ENV_TAG    the name messages start with (default "wine-env")
# Settings taken from the environment (as toolchain-mingw.mk exports them): WINE,
# WINESERVER, WINEPREFIX (default $B/wineprefix), WINEARCH, WINEDEBUG, WINEDLLOVERRIDES.
#
# Then:
#   trap wine_env_cleanup EXIT    stops, at exit, the wineserver of a prefix inside $B
#                                 (and any process left in it) and our Xvfb
#   wine_env_start                starts Xvfb if DISPLAY is unset, picks lavapipe, creates
#                                 the prefix on first use; non-zero (message printed) if
#                                 it cannot

: "${WINE_ENV_TAG:=wine-env}"

export WINE="${WINE:-wine}"
export WINESERVER="${WINESERVER:-wineserver}"
export WINEPREFIX="${WINEPREFIX:-$B/wineprefix}"
export WINEARCH="${WINEARCH:-win64}"
export WINEDEBUG="${WINEDEBUG:--all}"
# No Mono/Gecko prompts; no menu entries written into $HOME.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=};winemenubuilder.exe=d"

# ---- cleanup: only what we started ------------------------------------------------------
WINE_ENV_XVFB_PID=
wine_env_cleanup() {
    # The prefix is ours when it lives in $B: stop its wineserver (and any process a
    # failed run left behind). Never touch another prefix's server.
    case "$WINEPREFIX" in
        "$B"/*) [ -d "$WINEPREFIX" ] && "$WINESERVER" -k >/dev/null 2>&1 ;;
    esac
    if [ -n "$WINE_ENV_XVFB_PID" ]; then
        kill "$WINE_ENV_XVFB_PID" 2>/dev/null
        wait "$WINE_ENV_XVFB_PID" 2>/dev/null
        WINE_ENV_XVFB_PID=
    fi
    return 0
}

# ---- X server ---------------------------------------------------------------------------
# Xvfb on the first free display from :90 up. A display is taken when its socket or lock
# file exists. Ready when its socket appears (xdpyinfo may not be installed).
wine_env_start_xvfb() {
    local n
    mkdir -p "$B"
    for n in $(seq 90 189); do
        [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
        Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp >"$B/xvfb.log" 2>&1 &
        WINE_ENV_XVFB_PID=$!
        for _ in $(seq 1 100); do
            if [ -S "/tmp/.X11-unix/X$n" ]; then
                export DISPLAY=":$n"
                return 0
            fi
            kill -0 "$WINE_ENV_XVFB_PID" 2>/dev/null || break # lost a race for :n, or failed
            sleep 0.1
        done
        kill "$WINE_ENV_XVFB_PID" 2>/dev/null
        wait "$WINE_ENV_XVFB_PID" 2>/dev/null
        WINE_ENV_XVFB_PID=
    done
    echo "$WINE_ENV_TAG: could not start Xvfb (see $B/xvfb.log)" >&2
    return 1
}

# ---- Wine prefix ------------------------------------------------------------------------
# Created once (about 10 s). wineboot's output (including the harmless "failed to open
# syswow64\rundll32.exe": there is no 32-bit Wine) goes to a log shown only on failure.
# The marker file is written last, so an interrupted creation is redone.
wine_env_make_prefix() {
    local start=$SECONDS
    mkdir -p "$(dirname "$WINEPREFIX")"
    if timeout -k 10 300 "$WINE" wineboot -i >"$B/wineboot.log" 2>&1 &&
        # No crash dialog: a crashing program must end, not wait for a click.
        timeout -k 10 60 "$WINE" reg add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog \
            /t REG_DWORD /d 0 /f >>"$B/wineboot.log" 2>&1 &&
        [ -d "$WINEPREFIX/drive_c/windows/system32" ]; then
        touch "$WINEPREFIX/.directport-ready"
        echo "# $WINE_ENV_TAG: created Wine prefix $WINEPREFIX in $((SECONDS - start)) s"
        return 0
    fi
    return 1
}

wine_env_start() {
    local lvp
    if [ -z "${DISPLAY:-}" ]; then
        wine_env_start_xvfb || return 1
    fi
    # Without a GPU, let the Vulkan loader go straight to lavapipe (no probing of
    # hardware drivers that cannot load).
    if [ -z "${VK_ICD_FILENAMES:-}" ] && [ ! -e /dev/dri ]; then
        lvp=$(compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' | head -n 1)
        [ -n "$lvp" ] && export VK_ICD_FILENAMES="$lvp"
    fi
    if [ ! -f "$WINEPREFIX/.directport-ready" ]; then
        case "$WINEPREFIX" in
            "$B"/*) "$WINESERVER" -k >/dev/null 2>&1; rm -rf "$WINEPREFIX" ;;
        esac
        if ! wine_env_make_prefix; then
            cat "$B/wineboot.log" >&2
            echo "$WINE_ENV_TAG: creating the Wine prefix $WINEPREFIX failed" >&2
            return 1
        fi
    fi
    return 0
}
