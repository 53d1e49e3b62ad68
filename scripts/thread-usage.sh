#!/usr/bin/env bash
# Measures how a node spreads live fan-out over its threads: two real-time
# ~12 Mbps publishers (ffmpeg) and PLAYERS rtmpdump players per stream on
# 127.0.0.1, then per-thread CPU over 5 s from /proc. Bounded: about 15 s.
# Usage: scripts/thread-usage.sh [PLAYERS]   (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
players="${1:-4}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cargo build --release --quiet
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine -t 20 \
  -vf noise=alls=40:allf=t -c:v libx264 -preset ultrafast -g 25 -b:v 12M -pix_fmt yuv420p -c:a aac "$work/heavy.flv"
target/release/ferrocast serve --rtmp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$work/data" 2> "$work/node.log" &
node=$!
sleep 1
rtmp=$(grep -o 'rtmp=[0-9.:]*' "$work/node.log" | cut -d= -f2)
for s in a b; do ffmpeg -hide_banner -loglevel quiet -re -i "$work/heavy.flv" -c copy -f flv "rtmp://$rtmp/live/$s" & done
sleep 1
for _ in $(seq "$players"); do
  for s in a b; do rtmpdump -q --live -r "rtmp://$rtmp/live/$s" -o /dev/null 2>/dev/null & done
done
sleep 3
python3 - "$node" <<'PY'
import os, sys, time
pid = sys.argv[1]
def snap():
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        st = open(f"/proc/{pid}/task/{tid}/stat").read()
        name = st[st.index("(") + 1 : st.rindex(")")]
        f = st[st.rindex(")") + 2 :].split()
        out[tid] = (name, int(f[11]) + int(f[12]))
    return out
a = snap(); time.sleep(5); b = snap()
hz = os.sysconf("SC_CLK_TCK")
for tid, (name, t) in sorted(b.items()):
    print(f"{tid:>8} {name:<20} {(t - a.get(tid, (name, t))[1]) / hz / 5 * 100:5.1f}% of a core")
PY
