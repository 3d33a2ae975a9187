namespace AtomicBcast.Chaos.History;

/// <summary>What became of one publish, as the publisher saw it.</summary>
public enum Outcome
{
    /// <summary>Acknowledged with its position in the total order.</summary>
    Acked,
    /// <summary>Acknowledged as committed by an earlier attempt (a retry's duplicate answer): delivered once, position not told.</summary>
    AckedNoPosition,
    /// <summary>Definitely not published (never handed to the cluster).</summary>
    Failed,
    /// <summary>No answer before the publisher stopped: it may or may not have been published.</summary>
    Unknown,
}

/// <summary>One publish: message id "producer:seq", when it was invoked and completed (ms since the run's start), its outcome.</summary>
public sealed record PublishRecord(string Id, int Producer, long Seq, long InvokeMs, Outcome Outcome, long Position, long DoneMs, string Hash);

/// <summary>One message a subscriber received: its position, id, hash of its bytes, and when (ms since the run's start).</summary>
public sealed record DeliveryRecord(long Position, string Id, string Hash, long AtMs);

/// <summary>
/// Everything one subscriber received, in order. <paramref name="From"/> is the position it asked for first; an audit
/// stream (started after the heal, from the earliest retained position) shows what the cluster holds at the end.
/// </summary>
public sealed record StreamRecord(string Name, long From, bool Audit, IReadOnlyList<DeliveryRecord> Deliveries, string? Error = null)
{
    /// <summary>The position after the last delivery (the next one this subscriber would read).</summary>
    public long End => Deliveries.Count == 0 ? From : Deliveries[^1].Position + 1;
}

/// <summary>A fault the runner injected: kind, targets, when it began and when it was healed (ms since the run's start).</summary>
public sealed record FaultRecord(string Kind, string Targets, long StartMs, long EndMs, string Note = "");

/// <summary>A check of the scenario itself (a member that must halt halted, the others went on), or an unexpected member exit.</summary>
public sealed record ExpectationRecord(string Name, bool Ok, string Detail);

/// <summary>The phases of a run (ms since the run's start): publishing, the fault window, heal, publishing stopped, end.</summary>
public sealed record Phases(long PublishStartMs, long FaultsStartMs, long HealMs, long PublishStopMs, long EndMs);

/// <summary>One run's history: what was published, what every subscriber received, what was injected.</summary>
public sealed record RunHistory(
    IReadOnlyList<PublishRecord> Publishes,
    IReadOnlyList<StreamRecord> Streams,
    IReadOnlyList<FaultRecord> Faults,
    IReadOnlyList<ExpectationRecord> Expectations,
    Phases Phases);
