using System.Diagnostics;
using AtomicBcast.Client;
using AtomicBcast.Wire;

namespace AtomicBcast.Cli.Bench;

/// <summary>CPU time, GC counts, time paused by the GC and allocated bytes of this process at one moment.</summary>
internal readonly record struct UsageSample(double CpuSeconds, int Gen0, int Gen1, int Gen2, double GcPauseMs, long AllocatedBytes)
{
    public static UsageSample Now()
    {
        using var self = Process.GetCurrentProcess();
        return new UsageSample(self.TotalProcessorTime.TotalSeconds, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
            GC.GetTotalPauseDuration().TotalMilliseconds, GC.GetTotalAllocatedBytes(precise: false));
    }

    public static UsageSample operator -(UsageSample end, UsageSample start) => new(end.CpuSeconds - start.CpuSeconds,
        end.Gen0 - start.Gen0, end.Gen1 - start.Gen1, end.Gen2 - start.Gen2, end.GcPauseMs - start.GcPauseMs, end.AllocatedBytes - start.AllocatedBytes);
}

/// <summary>
/// The members' own figures over the measurement window, from their status replies (CPU, garbage collections,
/// allocation: <see cref="ProcessFigures"/>; log sync durations: <see cref="SyncLatencyFigures"/>), so they are known
/// wherever the members run. A member that does not answer at either end, or predates the figures, reports nothing.
/// </summary>
internal static class MemberFigures
{
    /// <summary>A status connection to each member that can be reached (<see cref="StatusConnection"/>): the readings at
    /// the window's ends then cost the members a frame each way. Making a connection per reading there stalled the
    /// members and the bench right when the window opened: every half-rate run's timeline began with 20-60 ms acks.</summary>
    public static async Task<Dictionary<ushort, StatusConnection>> ConnectAsync(BenchTarget target, CancellationToken stop)
    {
        var connections = await Task.WhenAll(target.MemberIds.Select(async id =>
            (Id: id, Connection: await StatusQuery.TryConnectAsync(target.Subscriber(id), id, stop).ConfigureAwait(false)))).ConfigureAwait(false);
        return connections.Where(c => c.Connection is not null).ToDictionary(c => c.Id, c => c.Connection!);
    }

    public static async Task<Dictionary<ushort, StatusReplyMessage>> ReadAsync(Dictionary<ushort, StatusConnection> connections, CancellationToken stop)
    {
        var replies = await Task.WhenAll(connections.Select(async c =>
            (c.Key, Reply: await c.Value.TryQueryAsync(stop).ConfigureAwait(false)))).ConfigureAwait(false);
        return replies.Where(r => r.Reply is { Process.IsKnown: true }).ToDictionary(r => r.Key, r => r.Reply!.Value);
    }

    /// <summary>Each member's usage between two readings; <paramref name="messages"/> divides its allocation.</summary>
    public static List<MemberUsage> Between(IReadOnlyList<ushort> ids, Dictionary<ushort, StatusReplyMessage> first,
        Dictionary<ushort, StatusReplyMessage> last, long messages, double seconds) =>
        ids.Select(id => first.TryGetValue(id, out var x) && last.TryGetValue(id, out var y)
            ? Usage(id, x.Process, y.Process, messages) with { LogSync = LogSyncUsage.Between(x.LogSync, y.LogSync, seconds) }
            : new MemberUsage(id, null, null, null, null)).ToList();

    private static MemberUsage Usage(ushort id, in ProcessFigures a, in ProcessFigures b, long messages) => new(id, (b.CpuMs - a.CpuMs) / 1000.0,
        new GcCounts((int)(b.Gen0Collections - a.Gen0Collections), (int)(b.Gen1Collections - a.Gen1Collections),
            (int)(b.Gen2Collections - a.Gen2Collections)),
        messages == 0 ? null : (b.AllocatedBytes - a.AllocatedBytes) / (double)messages, b.WorkingSetBytes / 1e6);
}
