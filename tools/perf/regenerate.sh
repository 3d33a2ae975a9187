#!/usr/bin/env bash
# Regenerates the end-to-end figures of docs/PERFORMANCE.md: 3 `abcast node` processes on loopback (sync on) plus one
# `abcast bench` process, the dd figure in the same run, a --rate sweep, then docs/perf/*.json, docs/perf/results.md
# and docs/perf/latency-vs-throughput.svg (tools/perf/plot.py, python3 stdlib only).
#   tools/perf/regenerate.sh                 # SECONDS_PER_RUN=10 WARMUP=20 by default
#   SECONDS_PER_RUN=60 tools/perf/regenerate.sh
# Takes about 20 runs x (SECONDS_PER_RUN + WARMUP + a few s). Not run by CI. Needs ports 7301-7303 free.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_S=${SECONDS_PER_RUN:-10}
# 20 s of warm-up: a fresh member's first ~256 MiB of batches (its delivery ring) come from new memory; measurements
# start once the ring recycles them (steady state: no page faults, no allocation per message).
WARM_S=${WARMUP:-20}
OUT=docs/perf
WORK=$(mktemp -d /tmp/abcast-perf-XXXXXX)
NODES=()
cleanup() {
    for pid in "${NODES[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

dotnet build -c Release tools/abcast -v q -nologo >/dev/null
ABCAST=tools/abcast/bin/Release/net10.0/abcast
mkdir -p "$OUT"
rm -f "$OUT"/*.json

# dd: 1 MiB blocks, each written with O_DSYNC (one fdatasync-equivalent per block), in the members' file system.
dd_mbps() {
    local line
    line=$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=256 oflag=dsync 2>&1 | tail -1)
    rm -f "$WORK/dd.bin"
    # "268435456 bytes (268 MB, 256 MiB) copied, 0.61 s, 440 MB/s"
    python3 -c 'import sys; p=sys.argv[1].split(","); b=int(p[0].split()[0]); s=float(p[-2].split()[0]); print(f"{b/s/1e6:.0f}")' "$line"
}

$ABCAST cluster init --members 3 --base-port 7301 --dir "$WORK" --cluster-id perf >/dev/null
# A heap limit per member: under 8 KiB overload a member's memory has been seen to grow without bound (see
# docs/PERFORMANCE.md); the limit makes it fail alone instead of taking the host down.
for id in 1 2 3; do
    DOTNET_GCHeapHardLimit=0xC0000000 $ABCAST node --config "$WORK/cluster.json" --id "$id" 2>"$WORK/node$id.log" &
    NODES+=($!)
done
sleep 2

bench() { # name, then bench options
    local name=$1; shift
    echo "== $name: $*" >&2
    $ABCAST bench --config "$WORK/cluster.json" --seconds "$RUN_S" --warmup "$WARM_S" --json "$OUT/$name.json" "$@" >"$WORK/$name.txt"
    tail -7 "$WORK/$name.txt" >&2
}

bench closed-64 --size 64 --window 16384     # 1 MiB in flight
bench closed-1024 --size 1024 --window 4096  # 4 MiB in flight
DD_BEFORE=$(dd_mbps)
bench closed-8192 --size 8192 --window 512   # 4 MiB in flight
DD_AFTER=$(dd_mbps)
echo "{ \"ddMegabytesPerSecondBefore\": $DD_BEFORE, \"ddMegabytesPerSecondAfter\": $DD_AFTER }" > "$OUT/dd.json"
bench one-in-flight-64 --size 64 --window 1

# Rate sweep of 64 B messages: fractions of the closed-loop maximum just measured.
MAX=$(python3 -c 'import json; print(int(json.load(open("docs/perf/closed-64.json"))["messagesPerSecond"]))')
for pct in 10 25 50 75 90 100 110; do
    bench "rate-64-$pct" --size 64 --window 16384 --rate $((MAX * pct / 100))
done

python3 tools/perf/plot.py "$OUT"
echo "wrote $OUT/results.md and $OUT/latency-vs-throughput.svg" >&2
