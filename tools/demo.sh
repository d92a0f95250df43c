#!/usr/bin/env bash
# tools/demo.sh - the closed render loop, its DirectPort plugin and a host viewer, under
# Wine (in an Xvfb of its own when there is no DISPLAY). Run by `make demo` after the
# build; runs on its own too (B=build-dir, default build).
#
#   engine.exe draws DEMO_FRAMES + 20 frames at DEMO_FPS, DEMO_SIZE; dpplugin.dll, loaded
#   into it, publishes every frame into the port DEMO_NAME; viewer.exe (another process)
#   shows the port until it has received the engine's frame number DEMO_FRAMES (or a later
#   one, when it skipped that one), then writes that frame as $B/demo/received.png. The
#   engine writes its own back buffer of the frames from DEMO_FRAMES on; the one of the
#   same number becomes $B/demo/engine.png and the two are compared pixel by pixel.
#
# Prints a summary; exit status 0 only if the viewer received frames, all of them whole
# and in order, and the two pictures are identical.
#
# Settings (environment): DEMO_FRAMES (600), DEMO_FPS (60), DEMO_SIZE (640x360),
# DEMO_NAME (demo), and the Wine settings of tools/wine-env.sh.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd -P)
B="${B:-build}"
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac

FRAMES="${DEMO_FRAMES:-600}"
FPS="${DEMO_FPS:-60}"
SIZE="${DEMO_SIZE:-640x360}"
NAME="${DEMO_NAME:-demo}"
TAIL=20 # frames the engine draws after FRAMES, so that frame FRAMES surely gets through
OUT="$B/demo"

for f in engine.exe dpplugin.dll viewer.exe dpinfo.exe directport.dll; do
    if [ ! -f "$B/$f" ]; then
        echo "demo: $B/$f is missing: run make first" >&2
        exit 2
    fi
done

WINE_ENV_TAG=demo
# shellcheck source=wine-env.sh
. tools/wine-env.sh
ENGINE_PID= VIEWER_PID=
demo_cleanup() {
    [ -n "$ENGINE_PID" ] && kill "$ENGINE_PID" 2>/dev/null
    [ -n "$VIEWER_PID" ] && kill "$VIEWER_PID" 2>/dev/null
    wine_env_cleanup
}
trap demo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wine_env_start || exit 1

rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT" || exit 2

# key FILE NAME: the value of NAME= in a key=value file written by a Windows program.
key() { tr -d '\r' <"$1" 2>/dev/null | sed -n "s/^$2=//p" | head -n 1; }

dumps=()
for ((i = FRAMES; i < FRAMES + TAIL; i++)); do
    dumps+=(--dump-frame "$i" "engine-$i.png")
done
limit=$((FRAMES / (FPS > 0 ? FPS : 60) * 4 + 90))

echo "demo: engine.exe + dpplugin.dll -> port \"$NAME\" -> viewer.exe, $SIZE, $((FRAMES + TAIL)) frames" \
    "at $FPS fps, under Wine (prefix $WINEPREFIX, DISPLAY $DISPLAY)"

# The viewer first: it waits for the port to appear.
timeout -k 5 "$limit" "$WINE" "$B/viewer.exe" --name "$NAME" --until-frame "$FRAMES" --wait-seconds 60 \
    --snapshot received.png --summary viewer.txt --pos 0 420 >viewer.log 2>&1 &
VIEWER_PID=$!
DIRECTPORT_NAME="$NAME" DIRECTPORT_PLUGIN_REPORT=plugin.txt \
    timeout -k 5 "$limit" "$WINE" "$B/engine.exe" --size "$SIZE" --frames $((FRAMES + TAIL)) --fps "$FPS" \
    --pos 0 0 --report engine.txt "${dumps[@]}" '..\dpplugin.dll' >engine.log 2>&1 &
ENGINE_PID=$!

# While they run, dpinfo shows the machine and the live port.
sleep 4
if kill -0 "$ENGINE_PID" 2>/dev/null; then
    timeout -k 5 60 "$WINE" "$B/dpinfo.exe" 2>&1 | tr -d '\r' >dpinfo.txt
fi

wait "$VIEWER_PID"
viewer_rc=$?
VIEWER_PID=
wait "$ENGINE_PID"
engine_rc=$?
ENGINE_PID=

[ -s dpinfo.txt ] && sed 's/^/  | /' dpinfo.txt

received=$(key viewer.txt frames_received)
snap=$(key viewer.txt snapshot_frame)
failed=
if [ "$engine_rc" -ne 0 ]; then
    echo "demo: engine.exe exited with status $engine_rc:" >&2
    tr -d '\r' <engine.log | sed 's/^/  engine: /' >&2
    failed=1
fi
if [ "$viewer_rc" -ne 0 ] || [ -z "$received" ] || [ "$received" = 0 ]; then
    echo "demo: viewer.exe exited with status $viewer_rc:" >&2
    tr -d '\r' <viewer.log | sed 's/^/  viewer: /' >&2
    failed=1
fi

# The engine's picture of the frame the viewer kept.
match="not compared"
if [ -n "$snap" ] && [ "$snap" != 0 ] && [ -f "engine-$snap.png" ] && [ -f received.png ]; then
    cp "engine-$snap.png" engine.png
    match=$(timeout -k 5 60 "$WINE" "$B/viewer.exe" --compare received.png engine.png 2>&1 | tr -d '\r')
    cmp_rc=$? # pipefail: the compare's status
    match=${match#compare: }
    [ "$cmp_rc" -eq 0 ] || failed=1
else
    echo "demo: no picture to compare (viewer snapshot frame '${snap}', engine dumps from frame $FRAMES)" >&2
    failed=1
fi

fmt() { [ -n "$1" ] && printf '%s' "$1" || printf '?'; }
echo
echo "DirectPort demo summary ($(fmt "$(key plugin.txt mode)") mode, $(key engine.txt width)x$(key engine.txt height))"
echo "  frames drawn      $(fmt "$(key engine.txt frames)") by the engine in $(fmt "$(key engine.txt seconds)") s" \
    "($(fmt "$(key engine.txt fps)") fps; frame time p50 $(fmt "$(key engine.txt frame_ms_p50)") ms)"
echo "  frames published  $(fmt "$(key plugin.txt published)") by the plugin, $(fmt "$(key plugin.txt dropped)")" \
    "dropped (no free slot: the engine never waits)"
echo "  frames received   $(fmt "$received") by the viewer (engine frames $(fmt "$(key viewer.txt first_frame)")..$(fmt "$(key viewer.txt last_frame)")," \
    "$(fmt "$(key viewer.txt skipped)") skipped as newer ones came," \
    "$(fmt "$(key viewer.txt bad_frames)") damaged, $(fmt "$(key viewer.txt out_of_order)") out of order)"
echo "  latency           p50 $(fmt "$(key viewer.txt latency_ms_p50)") ms, p99 $(fmt "$(key viewer.txt latency_ms_p99)") ms" \
    "(engine starts drawing -> frame in the viewer's texture)"
echo "  plugin cost       p50 $(fmt "$(key plugin.txt cost_ms_p50)") ms, p99 $(fmt "$(key plugin.txt cost_ms_p99)") ms" \
    "per frame (time inside plugin_frame)"
echo "  same frame        $(fmt "$snap"): received.png vs engine.png: $match"
echo "  pictures          $OUT/received.png $OUT/engine.png"
if [ -n "$failed" ]; then
    echo "demo: FAILED"
    exit 1
fi
echo "demo: ok"
