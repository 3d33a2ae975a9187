using System.Text.Json;
using System.Text.Json.Serialization;

namespace AtomicBcast.Cli.Bench;

/// <summary>GC collections during the measurement window (JSON <c>gcCount</c>: <c>gen0</c>, <c>gen1</c>, <c>gen2</c>).</summary>
internal sealed record GcCounts(int Gen0, int Gen1, int Gen2);

/// <summary>A member's figures over the measurement window, from its status replies (null: not known): CPU seconds, GC
/// collections, managed bytes it allocated per message delivered in the window, its resident memory at the end, and its
/// log's syncs in the window.</summary>
internal sealed record MemberUsage(int Id, double? CpuSeconds, GcCounts? GcCount, double? AllocatedBytesPerMessage, double? WorkingSetMegabytes)
{
    public LogSyncUsage? LogSync { get; init; }
}

/// <summary>
/// A member's log syncs (fdatasync) in the measurement window (JSON <c>logSync</c>): how many a second, and the bucket
/// bounds (powers of two, so the true value is at most this and above half of it) of the median and the 99th percentile
/// and of the slowest sync in the window, in milliseconds; null for the last, open bucket (above about a second).
/// </summary>
internal sealed record LogSyncUsage(double PerSecond, double? P50AtMostMs, double? P99AtMostMs, double? SlowestAtMostMs)
{
    /// <summary>Null when either reading lacks the figures (an older member) or no sync happened.</summary>
    public static LogSyncUsage? Between(in Wire.SyncLatencyFigures first, in Wire.SyncLatencyFigures last, double seconds)
    {
        if (!first.IsKnown || !last.IsKnown) return null;
        var window = last.Since(first);
        long total = window.Total;
        if (total <= 0 || seconds <= 0) return null;
        return new LogSyncUsage(total / seconds, Ms(window.PercentileBoundMicros(50)), Ms(window.PercentileBoundMicros(99)),
            Ms(window.PercentileBoundMicros(100)));
    }

    // The last bucket is open: no bound to report.
    private static double? Ms(long micros) => micros == long.MaxValue ? null : micros / 1000.0;

    private static string Bound(double? ms) => ms is { } m ? $"<= {m:0.###} ms" : $"> {Wire.SyncLatencyFigures.UpperBoundMicros(Wire.SyncLatencyFigures.Buckets - 2) / 1000.0:0.###} ms";

    public override string ToString() => $"log sync {PerSecond:N0}/s, p50 {Bound(P50AtMostMs)}, p99 {Bound(P99AtMostMs)}, slowest {Bound(SlowestAtMostMs)}";
}

/// <summary>
/// The result of one run, written as JSON by <c>--json</c>. Throughput counts this run's messages delivered to a
/// subscriber inside the measurement window (mean over subscribers; acknowledged ones when there are none); MB is
/// 10^6 bytes of payload. Latencies are of messages published inside the window. CPU, GC (collections and the time
/// the collector paused the process: every message in flight waits through it) and allocation figures are
/// of this process over the window: with <c>--embedded</c> the members live in it, so they include the members. Each
/// member's figures come from its status replies at the window's start and end.
/// </summary>
internal sealed record BenchReport(
    string Mode, bool Sync, int Size, int Publishers, int Window, double? Rate, double Seconds, double Warmup, int Subscribers,
    double MessagesPerSecond, double MegabytesPerSecond, double AckedPerSecond,
    long MessagesPublished, long MessagesAcked, long MessagesFailed, long MessagesDelivered,
    Percentiles AckLatencyMs, Percentiles DeliveryLatencyMs,
    double CpuSeconds, GcCounts GcCount, double GcPauseMs, double AllocatedBytesPerMessage, IReadOnlyList<MemberUsage> Members,
    bool AllDelivered, string Commit, DateTimeOffset StartedUtc)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public void Print(TextWriter output)
    {
        static string P(Percentiles p) => $"p50 {p.P50:0.000} ms  p99 {p.P99:0.000} ms  p99.9 {p.P999:0.000} ms  max {p.Max:0.000} ms";
        string load = Rate is { } r ? $"open loop {r:N0} msgs/s" : "closed loop";
        output.WriteLine();
        output.WriteLine($"run          {Mode}, sync {(Sync ? "on" : "off")}, {Size} B, {Publishers} publisher(s) x window {Window}, {load}, "
            + $"{Subscribers} subscriber(s), {Seconds:0.#} s after {Warmup:0.#} s warm-up");
        output.WriteLine($"delivered    {MessagesPerSecond:N0} msgs/s, {MegabytesPerSecond:N1} MB/s ({MessagesDelivered:N0} messages per subscriber)");
        output.WriteLine($"acked        {AckedPerSecond:N0} msgs/s ({MessagesAcked:N0} of {MessagesPublished:N0} published, {MessagesFailed:N0} failed)");
        output.WriteLine($"ack latency  {P(AckLatencyMs)}");
        output.WriteLine($"delivery     {P(DeliveryLatencyMs)}");
        output.WriteLine($"bench cpu    {CpuSeconds:0.00} s, GC gen0 {GcCount.Gen0} gen1 {GcCount.Gen1} gen2 {GcCount.Gen2} (paused {GcPauseMs:N0} ms), "
            + $"{AllocatedBytesPerMessage:N0} B allocated per message{(Mode == "embedded" ? " (members included: same process)" : "")}");
        if (Mode == "embedded") output.WriteLine("members      in this process: the bench figures above include them");
        else
            foreach (var m in Members)
                output.WriteLine(m.CpuSeconds is { } c && m.GcCount is { } g
                    ? $"member {m.Id}     cpu {c:0.00} s, GC gen0 {g.Gen0} gen1 {g.Gen1} gen2 {g.Gen2}, {m.AllocatedBytesPerMessage:N1} B allocated per message, "
                        + $"{m.WorkingSetMegabytes:N0} MB resident{(m.LogSync is { } s ? $"; {s}" : "")}"
                    : $"member {m.Id}     ? (no status reply with process figures)");
        if (!AllDelivered) output.WriteLine("WARNING      not every acknowledged message reached every subscriber before the guard expired");
    }
}
