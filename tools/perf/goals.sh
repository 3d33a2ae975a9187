#!/usr/bin/env bash
# The throughput issue's goal runs: 64 B messages, 3 runs of 60 s (each on a fresh cluster of 3 `abcast node`
# processes, sync on, one `abcast bench` with 1 subscriber), then 3 runs with one message in flight, then 3 runs at half
# the median rate of the first three (open loop, 30 s measured after a 45 s warm-up: past the log's first trim, when
# retired segments become the spares); prints each run and the medians. Writes the JSON of every run, and the half-rate
# runs' ack timelines (`--timeline`, summed up by tools/perf/timeline.py), to $OUT (default /tmp/abcast-goals).
# Not run by CI.
#   tools/perf/goals.sh                          # WINDOW=16384 SECONDS_PER_RUN=60 WARMUP=20 RUNS=3 HALF_WARMUP=45
# Takes about RUNS x (SECONDS_PER_RUN + WARMUP + 10 s) + RUNS x 35 s + RUNS x (HALF_WARMUP + 40 s).
# Needs ports 7401-7403 free.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_S=${SECONDS_PER_RUN:-60}
WARM_S=${WARMUP:-20}
WINDOW=${WINDOW:-16384}
RUNS=${RUNS:-3}
HALF_WARM_S=${HALF_WARMUP:-45}
OUT=${OUT:-/tmp/abcast-goals}
mkdir -p "$OUT"
dotnet build -c Release tools/abcast -v q -nologo >/dev/null
ABCAST=tools/abcast/bin/Release/net10.0/abcast

NODES=()
stop_nodes() {
    for pid in "${NODES[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    NODES=()
}
trap stop_nodes EXIT

# CPU ticks (1/100 s) of the host's DAMON threads (kdamond.*), 0 when it runs none. The half-rate tail follows their CPU
# (docs/PERFORMANCE.md, "The tail follows the host monitor's CPU"), so each run records it beside its figures.
kdamond_ticks() {
    local total=0 pid
    for pid in $(pgrep '^kdamond' || true); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

run() { # name, then bench options: one fresh cluster per run
    local name=$1; shift
    local dir; dir=$(mktemp -d /tmp/abcast-goal-XXXXXX)
    $ABCAST cluster init --members 3 --base-port 7401 --dir "$dir" --cluster-id goals >/dev/null
    for id in 1 2 3; do
        $ABCAST node --config "$dir/cluster.json" --id "$id" 2>"$dir/node$id.log" &
        NODES+=($!)
    done
    sleep 3
    local ticks started
    ticks=$(kdamond_ticks)
    started=$(date +%s)
    $ABCAST bench --config "$dir/cluster.json" --json "$OUT/$name.json" "$@" >"$dir/bench.txt"
    # The host monitor's CPU over the whole run (warm-up included), in ms per second.
    local elapsed=$(( $(date +%s) - started ))
    [ "$elapsed" -gt 0 ] || elapsed=1
    echo $(( ($(kdamond_ticks) - ticks) * 10 / elapsed )) >"$OUT/$name.host-monitor"
    stop_nodes
    rm -rf "$dir"
}

for r in $(seq "$RUNS"); do
    run "goal-64-$r" --size 64 --publishers 1 --window "$WINDOW" --seconds "$RUN_S" --warmup "$WARM_S"
done
for r in $(seq "$RUNS"); do
    run "one-in-flight-$r" --size 64 --publishers 1 --window 1 --seconds 20 --warmup 5
done

HALF_RATE=$(python3 -c "import json, statistics; print(round(statistics.median(json.load(open(f'$OUT/goal-64-{r}.json'))['messagesPerSecond'] for r in range(1, $RUNS + 1)) / 2))")
for r in $(seq "$RUNS"); do
    run "half-rate-$r" --size 64 --publishers 1 --window "$WINDOW" --rate "$HALF_RATE" --seconds 30 --warmup "$HALF_WARM_S" \
        --timeline "$OUT/half-rate-$r.csv"
done

python3 - "$OUT" "$RUNS" <<'EOF'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(name): return [json.load(open(f"{out}/{name}-{r}.json")) for r in range(1, runs + 1)]
def monitor(name, r): return open(f"{out}/{name}-{r}.host-monitor").read().strip()
def members(d):
    known = [m for m in d["members"] if m.get("cpuSeconds") is not None]
    cpu = sum(m["cpuSeconds"] for m in known)
    alloc = "/".join(f'{m["allocatedBytesPerMessage"]:.1f}' for m in known)
    gen2 = "/".join(str(m["gcCount"]["gen2"]) for m in known)
    return cpu, alloc, gen2
goal = load("goal-64")
for r, d in enumerate(goal, 1):
    cpu, alloc, gen2 = members(d)
    print(f'64 B run {r}: {d["messagesPerSecond"]:,.0f} msgs/s delivered, {d["megabytesPerSecond"]:.1f} MB/s, ack p50 '
          f'{d["ackLatencyMs"]["p50"]} ms p99 {d["ackLatencyMs"]["p99"]} ms; members {cpu / max(1, d["messagesDelivered"]) * 1e6:.2f} us CPU '
          f'per message together, {alloc} B allocated per message, gen2 {gen2}; bench {d["allocatedBytesPerMessage"]:.0f} B per message')
print(f'64 B median: {statistics.median(d["messagesPerSecond"] for d in goal):,.0f} msgs/s delivered (goal 1,000,000)')
def syncs(d): # the members' fdatasync p50 bucket (upper bound); a one-in-flight run's p50 follows it (docs/PERFORMANCE.md)
    return "/".join(f'{m["logSync"]["p50AtMostMs"]}' if m.get("logSync") else "?" for m in d["members"])
one = load("one-in-flight")
for r, d in enumerate(one, 1):
    print(f'one in flight run {r}: ack p50 {d["ackLatencyMs"]["p50"]} ms p99 {d["ackLatencyMs"]["p99"]} ms; '
          f'members\' sync p50 at most {syncs(d)} ms')
print(f'one in flight median ack p50: {statistics.median(d["ackLatencyMs"]["p50"] for d in one)} ms (goal 1 ms)')
half = load("half-rate")
for r, d in enumerate(half, 1):
    print(f'half rate run {r}: {d["messagesPerSecond"]:,.0f} msgs/s, ack p50 {d["ackLatencyMs"]["p50"]} ms p99 {d["ackLatencyMs"]["p99"]} ms; '
          f'host monitor (kdamond) {monitor("half-rate", r)} ms CPU per second')
print(f'half rate median ack p99: {statistics.median(d["ackLatencyMs"]["p99"] for d in half)} ms (goal 10 ms)')
EOF
for r in $(seq "$RUNS"); do python3 tools/perf/timeline.py "$OUT/half-rate-$r.csv"; done
# The machine's own periodic work shows in the half-rate tail (docs/PERFORMANCE.md, "The half-rate tail has a rhythm").
damon=/sys/kernel/mm/damon/admin/kdamonds/0
if [ -r "$damon/state" ]; then
    echo "host: DAMON $(cat "$damon/state"), sampling every $(cat "$damon/contexts/0/monitoring_attrs/intervals/sample_us" 2>/dev/null || echo '?') us"
fi
