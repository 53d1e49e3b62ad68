#!/usr/bin/env bash
# Fan-out, side by side: nginx-rtmp (1 worker) and Ferrocast on the same one
# core, the load tool (`ferrocast bench fanout`) on the other, the same
# stream and the same player counts. Prints one table (docs/BENCHMARKS.md).
#
#   scripts/bench-vs-nginx.sh                       # 1000 2000 3000 4000 players
#   scripts/bench-vs-nginx.sh --players "500 1000" --duration 10
#   scripts/bench-vs-nginx.sh --modes "throughput low-latency"
#
# Options:
#   --players "N ..."     player counts (default "1000 2000 3000 4000")
#   --duration S          measurement window per run, seconds (default 20)
#   --join-rate R         players joining per second (default 1000)
#   --bitrate-kbps K      synthetic stream bitrate (default 1000)
#   --modes "M ..."       Ferrocast write modes: throughput (write_coalesce_ms
#                         = --coalesce-ms), low-latency (0), low-latency-nagle
#                         (0, and tcp_nodelay = false as nginx-rtmp leaves
#                         its sockets) (default "throughput low-latency")
#   --coalesce-ms MS      the throughput mode's window (default 350)
#   --server-core C       core for the servers (default 0)
#   --tool-core C         core for the load tool (default 1)
#   --out FILE            also write the JSON lines here
#
# Needs: cargo, python3, taskset; installs nginx + libnginx-mod-rtmp from
# Debian when missing (as root, or with sudo).
set -euo pipefail

cd "$(dirname "$0")/.."

players="1000 2000 3000 4000"
duration=20
join_rate=1000
bitrate=1000
modes="throughput low-latency"
coalesce_ms=350
server_core=0
tool_core=1
out=""

while [ $# -gt 0 ]; do
    case "$1" in
        --players) players="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --join-rate) join_rate="$2"; shift 2 ;;
        --bitrate-kbps) bitrate="$2"; shift 2 ;;
        --modes) modes="$2"; shift 2 ;;
        --coalesce-ms) coalesce_ms="$2"; shift 2 ;;
        --server-core) server_core="$2"; shift 2 ;;
        --tool-core) tool_core="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "bench-vs-nginx: unknown option $1" >&2; exit 2 ;;
    esac
done

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || ! command -v nginx >/dev/null; then
    echo "bench-vs-nginx: installing nginx and libnginx-mod-rtmp" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-rtmp >&2
fi
for tool in python3 taskset; do
    command -v "$tool" >/dev/null || { echo "bench-vs-nginx: $tool is required" >&2; exit 2; }
done

cargo build --release --quiet
ferrocast="$PWD/target/release/ferrocast"

work="$(mktemp -d /tmp/ferrocast-bench.XXXXXX)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Players open one socket each; the servers and the tool need the descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    local port=$1
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench-vs-nginx: nothing listens on port $port" >&2
    return 1
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

start_nginx() {
    local port=$1
    mkdir -p "$work/nginx/logs"
    cat > "$work/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
master_process off;
daemon off;
worker_rlimit_nofile 20000;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 20000; }
rtmp {
    server {
        listen 127.0.0.1:$port;
        chunk_size 4096;
        application live { live on; }
    }
}
EOF
    taskset -c "$server_core" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
    server_pid=$!
    wait_port "$port"
}

start_ferrocast() {
    local port=$1 window=$2 nodelay=$3
    local http
    http=$(free_port)
    FERROCAST__RTMP__WRITE_COALESCE_MS="$window" FERROCAST__RTMP__TCP_NODELAY="$nodelay" RUST_LOG=warn \
        taskset -c "$server_core" "$ferrocast" serve \
        --rtmp "127.0.0.1:$port" --http "127.0.0.1:$http" --data-dir "$work/data" &
    server_pid=$!
    metrics_url="http://127.0.0.1:$http/metrics"
    wait_port "$port"
}

run_tool() {
    local port=$1 n=$2
    shift 2
    taskset -c "$tool_core" "$ferrocast" bench --json fanout \
        --url "rtmp://127.0.0.1:$port/live" --stream bench --players "$n" \
        --join-rate "$join_rate" --duration "$duration" --bitrate-kbps "$bitrate" \
        --server-pid "$server_pid" "$@" | tail -n 1
}

results="$work/results.jsonl"
: > "$results"
for n in $players; do
    port=$(free_port)
    start_nginx "$port"
    line=$(run_tool "$port" "$n") || line='{}'
    stop_server
    echo "{\"server\":\"nginx-rtmp\",\"mode\":\"-\",\"n\":$n,\"report\":$line}" >> "$results"

    for mode in $modes; do
        nodelay=true
        case "$mode" in
            throughput) window=$coalesce_ms ;;
            low-latency) window=0 ;;
            low-latency-nagle) window=0; nodelay=false ;;
            *) echo "bench-vs-nginx: unknown mode $mode" >&2; exit 2 ;;
        esac
        port=$(free_port)
        start_ferrocast "$port" "$window" "$nodelay"
        line=$(run_tool "$port" "$n" --metrics-url "$metrics_url") || line='{}'
        stop_server
        echo "{\"server\":\"ferrocast\",\"mode\":\"$mode\",\"n\":$n,\"report\":$line}" >> "$results"
    done
done

[ -z "$out" ] || cp "$results" "$out"

python3 - "$results" <<'EOF'
import json, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
nginx = {r["n"]: r["report"] for r in rows if r["server"] == "nginx-rtmp"}

def fig(rep, key, scale=1.0, fmt="{:.0f}"):
    v = rep.get(key)
    return "-" if v is None else fmt.format(v * scale)

head = ("players", "server", "mode", "server cpu %", "rss MiB", "publish kbps",
        "median kbps", "p5 kbps", "served (>=95% bitrate)", "first kf p99 ms",
        "tool cpu %", "cpu ratio F/N")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    rep, n = r["report"], r["n"]
    ratio = "-"
    base = nginx.get(n, {}).get("server_cpu_pct")
    if r["server"] == "ferrocast" and base and rep.get("server_cpu_pct") is not None:
        ratio = "{:.2f}".format(rep["server_cpu_pct"] / base)
    print("| " + " | ".join([
        str(n), r["server"], r["mode"],
        fig(rep, "server_cpu_pct"),
        fig(rep, "server_rss_bytes", 1 / 2**20),
        fig(rep, "publish_kbps"),
        fig(rep, "delivered_median_kbps"),
        fig(rep, "delivered_p5_kbps"),
        fig(rep, "served_pct", fmt="{:.1f}%"),
        fig(rep, "first_keyframe_p99_ms", fmt="{:.1f}"),
        fig(rep, "tool_cpu_pct"),
        ratio,
    ]) + " |")
EOF
