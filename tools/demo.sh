#!/usr/bin/env bash
# tools/demo.sh [plugin|capture] - the closed render loop, its DirectPort plugin and a
# host viewer, under Wine (in an Xvfb of its own when there is no DISPLAY). Run by
# `make demo` (plugin) and `make demo-capture` (capture) after the build; runs on its own
# too (B=build-dir, default build).
#
#   plugin    engine.exe loads dpplugin.dll through its plugin interface
#   capture   engine.exe runs with no plugin; dpcapture.exe attaches dphook.dll to the
#             running engine (docs/capture.md) and detaches it once the viewer is done,
#             while the engine draws on
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

MODE="${1:-plugin}"
case "$MODE" in plugin | capture) ;; *) echo "usage: tools/demo.sh [plugin|capture]" >&2; exit 2 ;; esac
FRAMES="${DEMO_FRAMES:-600}"
FPS="${DEMO_FPS:-60}"
SIZE="${DEMO_SIZE:-640x360}"
NAME="${DEMO_NAME:-demo}"
TAIL=20 # frames the engine draws after FRAMES, so that frame FRAMES surely gets through
# capture: the detach comes after the viewer is done, while the engine still draws
[ "$MODE" = capture ] && TAIL=300
OUT="$B/demo"

NEEDED="engine.exe dpplugin.dll viewer.exe dpinfo.exe directport.dll"
[ "$MODE" = capture ] && NEEDED="engine.exe viewer.exe dpinfo.exe directport.dll dpcapture.exe dphook.dll"
for f in $NEEDED; do
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
for ((i = FRAMES; i < FRAMES + 20; i++)); do
    dumps+=(--dump-frame "$i" "engine-$i.png")
done
limit=$((FRAMES / (FPS > 0 ? FPS : 60) * 4 + 90))

if [ "$MODE" = capture ]; then
    chain="engine.exe (no plugin) + dpcapture.exe"
else
    chain="engine.exe + dpplugin.dll"
fi
echo "demo: $chain -> port \"$NAME\" -> viewer.exe, $SIZE, $((FRAMES + TAIL)) frames" \
    "at $FPS fps, under Wine (prefix $WINEPREFIX, DISPLAY $DISPLAY)"

# The viewer first: it waits for the port to appear.
timeout -k 5 "$limit" "$WINE" "$B/viewer.exe" --name "$NAME" --until-frame "$FRAMES" --wait-seconds 60 \
    --snapshot received.png --summary viewer.txt --pos 0 420 >viewer.log 2>&1 &
VIEWER_PID=$!
plugin_args=('..\dpplugin.dll')
[ "$MODE" = capture ] && plugin_args=()
DIRECTPORT_NAME="$NAME" DIRECTPORT_PLUGIN_REPORT=plugin.txt \
    timeout -k 5 "$limit" "$WINE" "$B/engine.exe" --size "$SIZE" --frames $((FRAMES + TAIL)) --fps "$FPS" \
    --pos 0 0 --report engine.txt "${dumps[@]}" "${plugin_args[@]}" >engine.log 2>&1 &
ENGINE_PID=$!

capture_rc=0
if [ "$MODE" = capture ]; then
    # Attach once the engine runs (3: no such process yet, 6: opengl32.dll not loaded yet).
    for _ in $(seq 1 80); do
        timeout -k 5 60 "$WINE" "$B/dpcapture.exe" --exe engine.exe --name "$NAME" --report attach.txt \
            >capture.log 2>&1
        capture_rc=$?
        [ "$capture_rc" -ne 3 ] && [ "$capture_rc" -ne 6 ] && break
        sleep 0.25
    done
    tr -d '\r' <capture.log | sed 's/^/  | /'
fi

# While they run, dpinfo shows the machine and the live port.
sleep 4
if kill -0 "$ENGINE_PID" 2>/dev/null; then
    timeout -k 5 60 "$WINE" "$B/dpinfo.exe" 2>&1 | tr -d '\r' >dpinfo.txt
fi

wait "$VIEWER_PID"
viewer_rc=$?
VIEWER_PID=
stop_rc=0
if [ "$MODE" = capture ] && [ "$capture_rc" -eq 0 ]; then
    # Detached while the engine draws on: it must finish its frames normally.
    timeout -k 5 60 "$WINE" "$B/dpcapture.exe" --stop --exe engine.exe --report capture.txt >stop.log 2>&1
    stop_rc=$?
    tr -d '\r' <stop.log | sed 's/^/  | /'
fi
wait "$ENGINE_PID"
engine_rc=$?
ENGINE_PID=

[ -s dpinfo.txt ] && sed 's/^/  | /' dpinfo.txt

received=$(key viewer.txt frames_received)
snap=$(key viewer.txt snapshot_frame)
failed=
if [ "$MODE" = capture ] && { [ "$capture_rc" -ne 0 ] || [ "$stop_rc" -ne 0 ]; }; then
    echo "demo: dpcapture failed (attach exit code $capture_rc, stop exit code $stop_rc)" >&2
    failed=1
fi
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
if [ "$MODE" = capture ]; then
    # dphook's figures, as dpcapture --stop reported them: frames published, and the
    # time inside the detoured SwapBuffers.
    src=capture.txt who="by dphook" cost="hook cost " costwhat="per swap (time inside the detoured SwapBuffers)"
else
    src=plugin.txt who="by the plugin" cost="plugin cost" costwhat="per frame (time inside plugin_frame)"
fi
echo
echo "DirectPort demo summary ($MODE, $(fmt "$(key "$src" mode)") mode, $(key engine.txt width)x$(key engine.txt height))"
echo "  frames drawn      $(fmt "$(key engine.txt frames)") by the engine in $(fmt "$(key engine.txt seconds)") s" \
    "($(fmt "$(key engine.txt fps)") fps; frame time p50 $(fmt "$(key engine.txt frame_ms_p50)") ms)"
echo "  frames published  $(fmt "$(key "$src" published)") $who, $(fmt "$(key "$src" dropped)")" \
    "dropped (no free slot: the engine never waits)"
echo "  frames received   $(fmt "$received") by the viewer (engine frames $(fmt "$(key viewer.txt first_frame)")..$(fmt "$(key viewer.txt last_frame)")," \
    "$(fmt "$(key viewer.txt skipped)") skipped as newer ones came," \
    "$(fmt "$(key viewer.txt bad_frames)") damaged, $(fmt "$(key viewer.txt out_of_order)") out of order)"
echo "  latency           p50 $(fmt "$(key viewer.txt latency_ms_p50)") ms, p99 $(fmt "$(key viewer.txt latency_ms_p99)") ms" \
    "(engine starts drawing -> frame in the viewer's texture)"
echo "  $cost       p50 $(fmt "$(key "$src" cost_ms_p50)") ms, p99 $(fmt "$(key "$src" cost_ms_p99)") ms" \
    "$costwhat"
if [ "$MODE" = capture ]; then
    echo "  detached          after $(fmt "$(key capture.txt swaps)") swaps, while the engine drew on" \
        "(it exited with status $engine_rc)"
fi
echo "  same frame        $(fmt "$snap"): received.png vs engine.png: $match"
echo "  pictures          $OUT/received.png $OUT/engine.png"
if [ -n "$failed" ]; then
    echo "demo: FAILED"
    exit 1
fi
echo "demo: ok"
