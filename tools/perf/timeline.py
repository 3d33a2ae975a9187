#!/usr/bin/env python3
"""Summarises an `abcast bench --timeline FILE` CSV: the episodes in which acks were slow, and how far apart they start.

    python3 tools/perf/timeline.py FILE [THRESHOLD_MS]     # default 10 ms

An episode is a run of milliseconds whose slowest ack is above the threshold, with gaps of at most 5 ms. Prints the
share of acked messages due inside episodes, the episodes' durations and peaks, and the spacing between the starts of
the larger ones (peak above 1.5 x the threshold): a stall that comes back at a fixed period shows as one spacing that
dominates."""
import csv, statistics, sys

path = sys.argv[1]
threshold = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
rows = [(int(r["ms"]), int(r["acked"]), float(r["slowestAckMs"])) for r in csv.DictReader(open(path))]
episodes, current = [], None
for ms, acked, slowest in rows:
    if slowest <= threshold:
        continue
    if current and ms - current["end"] <= 5:
        current.update(end=ms, peak=max(current["peak"], slowest), acked=current["acked"] + acked)
    else:
        current = {"start": ms, "end": ms, "peak": slowest, "acked": acked}
        episodes.append(current)
total = sum(acked for _, acked, _ in rows)
inside = sum(e["acked"] for e in episodes)
print(f"{len(rows)} ms with acks, {total:,} acks; {len(episodes)} episodes above {threshold:g} ms "
      f"holding {inside / max(1, total):.1%} of the acks")
if episodes:
    durations = [e["end"] - e["start"] + 1 for e in episodes]
    print(f"episode length ms: median {statistics.median(durations):g}, max {max(durations)}; "
          f"peak ms: median {statistics.median(e['peak'] for e in episodes):.1f}, max {max(e['peak'] for e in episodes):.1f}")
large = [e["start"] for e in episodes if e["peak"] > 1.5 * threshold]
gaps = [b - a for a, b in zip(large, large[1:])]
if gaps:
    buckets = {}
    for g in gaps:
        buckets[g // 50 * 50] = buckets.get(g // 50 * 50, 0) + 1
    top = sorted(buckets.items(), key=lambda kv: -kv[1])[:5]
    print(f"{len(large)} episodes peaking above {1.5 * threshold:g} ms; spacing of their starts: median "
          f"{statistics.median(gaps):g} ms; most common (50 ms bins): "
          + ", ".join(f"{lo}-{lo + 49} ms x{n}" for lo, n in top))
