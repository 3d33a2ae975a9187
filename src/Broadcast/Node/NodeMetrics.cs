using System.Diagnostics.Metrics;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>The <c>AtomicBcast</c> meter's node instruments (readable with dotnet-counters).</summary>
internal static class NodeMetrics
{
    private static readonly Meter s_meter = new("AtomicBcast");
    private static readonly Counter<long> s_instances = s_meter.CreateCounter<long>("atomicbcast.instances.delivered");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("atomicbcast.bytes.delivered", "By");
    private static readonly Histogram<int> s_batchBytes = s_meter.CreateHistogram<int>("atomicbcast.batch.size", "By");

    public static void Delivered(in DeliverMessage delivery)
    {
        s_instances.Add(1);
        s_bytes.Add(delivery.Batch.Length);
        s_batchBytes.Record(delivery.Batch.Length);
    }
}
