#!/usr/bin/env bash
# bench/gpu-capture.sh - `make demo-capture`'s chain on a real GPU, run in the environment of
# the portable Wine (../shared/gpu-bench/start.sh --exec bash bench/gpu-capture.sh): its
# Wine, an Xvfb whose GL is the GPU's. engine.exe runs with no plugin at CAP_SIZE and 60 fps;
# dpcapture attaches to it while it runs; viewer.exe receives until the engine's frame
# CAP_FRAMES; dpcapture --stop detaches while the engine draws on; the viewer's last frame is
# compared with the engine's own. Prints the engine's, the hook's and the viewer's figures and
# copies every file to CAP_OUT. Exit status 0 only if all of that worked.
set -u
P=${WINELOADER%/wine/lib/wine/wine64}
APP="$P/app"
OUT=${CAP_OUT:-/tmp/gpu-capture}
SIZE=${CAP_SIZE:-1920x1080}
FRAMES=${CAP_FRAMES:-600}
W=$WINELOADER
mkdir -p "$OUT"
cd "$APP" || exit 2
rm -f cap-* engine-*.png

key() { tr -d '\r' <"$1" 2>/dev/null | sed -n "s/^$2=//p" | head -n 1; }

timeout -k 5 150 "$W" viewer.exe --name gcap --until-frame "$FRAMES" --wait-seconds 60 --timeout-seconds 120 \
    --snapshot cap-received.png --summary cap-viewer.txt >cap-viewer.log 2>&1 &
VP=$!
dumps=()
for ((i = FRAMES; i < FRAMES + 20; i++)); do dumps+=(--dump-frame "$i" "engine-$i.png"); done
timeout -k 5 150 "$W" engine.exe --size "$SIZE" --frames $((FRAMES + 300)) --fps 60 --report cap-engine.txt \
    "${dumps[@]}" >cap-engine.log 2>&1 &
EP=$!
rc=9
for _ in $(seq 1 120); do
    timeout -k 5 60 "$W" dpcapture.exe --exe engine.exe --name gcap --report cap-attach.txt >cap-attach.log 2>&1
    rc=$?
    [ "$rc" -ne 3 ] && [ "$rc" -ne 6 ] && break
    sleep 0.25
done
wait "$VP"
vrc=$?
timeout -k 5 60 "$W" dpcapture.exe --stop --exe engine.exe --report cap-stop.txt >cap-stop.log 2>&1
src=$?
wait "$EP"
erc=$?
snap=$(key cap-viewer.txt snapshot_frame)
crc=9
if [ -n "$snap" ] && [ -f "engine-$snap.png" ]; then
    timeout -k 5 60 "$W" viewer.exe --compare cap-received.png "engine-$snap.png" >cap-compare.log 2>&1
    crc=$?
fi
for f in cap-attach.log cap-stop.log cap-engine.log cap-viewer.log cap-compare.log; do
    echo "## $f"
    tr -d '\r' <"$f" 2>/dev/null
done
echo "## summary: attach $rc, viewer $vrc, stop $src, engine $erc, compare $crc"
echo "engine    $(key cap-engine.txt frames) frames, frame time p50 $(key cap-engine.txt frame_ms_p50) ms"
echo "hook      mode $(key cap-stop.txt mode), $(key cap-stop.txt swaps) swaps, $(key cap-stop.txt published) published," \
    "$(key cap-stop.txt dropped) dropped; in the swap p50 $(key cap-stop.txt cost_ms_p50) ms," \
    "p99 $(key cap-stop.txt cost_ms_p99) ms, max $(key cap-stop.txt cost_ms_max) ms"
echo "viewer    $(key cap-viewer.txt frames_received) frames, latency p50 $(key cap-viewer.txt latency_ms_p50) ms," \
    "p99 $(key cap-viewer.txt latency_ms_p99) ms, $(key cap-viewer.txt bad_frames) damaged," \
    "$(key cap-viewer.txt out_of_order) out of order"
cp cap-* "$OUT"/ 2>/dev/null
[ "$rc" = 0 ] && [ "$vrc" = 0 ] && [ "$src" = 0 ] && [ "$erc" = 0 ] && [ "$crc" = 0 ]
