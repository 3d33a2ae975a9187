using System.Diagnostics.Metrics;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>The <c>AtomicBcast</c> meter's node instruments (readable with dotnet-counters).</summary>
internal static class NodeMetrics
{
    private static readonly Meter s_meter = new("AtomicBcast");
    private static readonly Counter<long> s_instances = s_meter.CreateCounter<long>("atomicbcast.instances.delivered");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("atomicbcast.bytes.delivered", "By");
    private static readonly Counter<long> s_messages = s_meter.CreateCounter<long>("atomicbcast.messages.delivered");
    private static readonly Histogram<double> s_commitLatency = s_meter.CreateHistogram<double>("atomicbcast.commit.latency", "ms",
        "leader: a publisher run's arrival to its Committed ack (durable on a majority, delivered)");
    private static readonly Histogram<int> s_batchBytes = s_meter.CreateHistogram<int>("atomicbcast.batch.size", "By");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<GroupCommitLog, bool> s_logs = new();

    static NodeMetrics()
    {
        s_meter.CreateObservableCounter("atomicbcast.log.fsyncs", () => s_logs.Keys.Sum(l => l.FlushCount), description: "log flushes (one fdatasync each)");
        s_meter.CreateObservableCounter("atomicbcast.log.bytes", () => s_logs.Keys.Sum(l => l.FlushedBytes), "By", "bytes written to the log");
        // The batch arena is per process: these are the process's figures, whichever members it runs.
        s_meter.CreateObservableGauge("atomicbcast.arena.slabs", () => BatchArena.SlabsInUse, "{slab}",
            $"1 MiB slabs of batch memory in use (current or holding batches); at {BatchArena.SlabsInUseMax} new batches take the size classes");
        s_meter.CreateObservableCounter("atomicbcast.arena.refused", () => BatchArena.RefusedAtCap, "{batch}",
            "batches that took the size classes because the arena's slabs were all in use (the GC copies those again)");
    }

    public static void Track(GroupCommitLog log) => s_logs[log] = true;
    public static void Untrack(GroupCommitLog log) => s_logs.TryRemove(log, out _);

    public static void CommitLatency(double milliseconds) => s_commitLatency.Record(milliseconds);

    public static void Delivered(in DeliverMessage delivery, int messages)
    {
        s_messages.Add(messages);
        s_instances.Add(1);
        s_bytes.Add(delivery.Batch.Length);
        s_batchBytes.Record(delivery.Batch.Length);
    }
}
