using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Checking;

/// <summary>
/// Judges a run's history against the atomic broadcast properties (docs/RELIABILITY.md):
/// integrity, no duplicates, total order, uniform agreement, acknowledged messages durable at their position,
/// FIFO per producer, unknown outcomes delivered at most once; plus the scenario's own expectations.
/// Every property is checked on every stream; a verdict lists the first violations it found.
/// </summary>
public static class Checker
{
    public static IReadOnlyList<Verdict> Check(RunHistory history)
    {
        var published = new Dictionary<string, PublishRecord>();
        foreach (var p in history.Publishes) published.TryAdd(p.Id, p);
        var order = new Dictionary<long, DeliveryRecord>();     // position -> the first delivery seen there
        var positionsOf = new Dictionary<string, SortedSet<long>>();
        foreach (var stream in history.Streams)
            foreach (var d in stream.Deliveries)
            {
                order.TryAdd(d.Position, d);
                if (!positionsOf.TryGetValue(d.Id, out var set)) positionsOf[d.Id] = set = new SortedSet<long>();
                set.Add(d.Position);
            }
        return
        [
            Integrity(history, published),
            NoDuplicates(history, positionsOf),
            TotalOrder(history, order),
            Agreement(history),
            AckedDurable(history, order, positionsOf),
            Fifo(order),
            UnknownAtMostOnce(history, positionsOf),
            Expectations(history),
        ];
    }

    /// <summary>Only published messages are delivered, with the bytes that were published.</summary>
    private static Verdict Integrity(RunHistory history, Dictionary<string, PublishRecord> published)
    {
        var v = new VerdictBuilder("integrity");
        foreach (var s in history.Streams)
            foreach (var d in s.Deliveries)
            {
                if (!published.TryGetValue(d.Id, out var p)) v.Fail($"{s.Name}: position {d.Position} holds '{d.Id}', never published");
                else if (p.Hash != d.Hash) v.Fail($"{s.Name}: position {d.Position} holds '{d.Id}' with hash {d.Hash}, published as {p.Hash}");
            }
        return v.Build();
    }

    /// <summary>A message is delivered at most once: once per stream, and at one position in the whole history.</summary>
    private static Verdict NoDuplicates(RunHistory history, Dictionary<string, SortedSet<long>> positionsOf)
    {
        var v = new VerdictBuilder("no-duplicates");
        foreach (var s in history.Streams)
        {
            var seen = new Dictionary<string, long>();
            foreach (var d in s.Deliveries)
                if (!seen.TryAdd(d.Id, d.Position)) v.Fail($"{s.Name}: '{d.Id}' delivered at {seen[d.Id]} and again at {d.Position}");
        }
        foreach (var (id, positions) in positionsOf)
            if (positions.Count > 1) v.Fail($"'{id}' delivered at {positions.Count} positions: {string.Join(", ", positions.Take(5))}");
        return v.Build();
    }

    /// <summary>Every stream is gap-free from the position it asked for, and all agree on the message at each position.</summary>
    private static Verdict TotalOrder(RunHistory history, Dictionary<long, DeliveryRecord> order)
    {
        var v = new VerdictBuilder("total-order");
        foreach (var s in history.Streams)
        {
            long expected = s.From;
            foreach (var d in s.Deliveries)
            {
                if (d.Position != expected) v.Fail($"{s.Name}: expected position {expected}, got {d.Position} ('{d.Id}')");
                expected = d.Position + 1;
                var first = order[d.Position];
                if (first.Id != d.Id || first.Hash != d.Hash)
                    v.Fail($"{s.Name}: position {d.Position} holds '{d.Id}', another stream has '{first.Id}' there");
            }
        }
        return v.Build();
    }

    /// <summary>After the heal and drain every stream reached the same end (with total order: identical sequences).</summary>
    private static Verdict Agreement(RunHistory history)
    {
        var v = new VerdictBuilder("agreement");
        if (history.Streams.Count == 0) return v.Build();
        long end = history.Streams.Max(s => s.End);
        foreach (var s in history.Streams)
        {
            if (s.End < end) v.Fail($"{s.Name}: ends at {s.End}, others reached {end}");
            if (s.Error is not null) v.Fail($"{s.Name}: ended with an error: {s.Error}");
        }
        return v.Build();
    }

    /// <summary>
    /// Every acknowledged message is delivered, at the position its ack named, and is still held at the end. Each audit
    /// stream (read after the heal from one member) shows what that member holds: a message acked at a position past the
    /// end of every audit stream is held by no member (lost); an audit stream holding another message at its position
    /// means the position was reused. A member that merely lags is the agreement verdict's business, not this one's.
    /// </summary>
    private static Verdict AckedDurable(RunHistory history, Dictionary<long, DeliveryRecord> order, Dictionary<string, SortedSet<long>> positionsOf)
    {
        var v = new VerdictBuilder("acked-durable");
        var audits = history.Streams.Where(s => s.Audit).ToList();
        long finalEnd = audits.Count > 0 ? audits.Max(s => s.End) : long.MaxValue;
        var auditAt = new Dictionary<long, DeliveryRecord>();
        foreach (var s in audits)
            foreach (var d in s.Deliveries) auditAt.TryAdd(d.Position, d);
        foreach (var p in history.Publishes)
        {
            if (p.Outcome == Outcome.AckedNoPosition && !positionsOf.ContainsKey(p.Id))
                v.Fail($"'{p.Id}' acknowledged (at {p.DoneMs} ms, position not told) but never delivered");
            if (p.Outcome != Outcome.Acked) continue;
            if (!order.TryGetValue(p.Position, out var at)) v.Fail($"'{p.Id}' acknowledged at position {p.Position} ({p.DoneMs} ms), never delivered there");
            else if (at.Id != p.Id) v.Fail($"'{p.Id}' acknowledged at position {p.Position} ({p.DoneMs} ms), but '{at.Id}' is delivered there");
            if (p.Position >= finalEnd) v.Fail($"'{p.Id}' acknowledged at position {p.Position} ({p.DoneMs} ms) is lost: after the heal no member holds anything from {finalEnd} on");
            else if (auditAt.TryGetValue(p.Position, out var a) && a.Id != p.Id)
                v.Fail($"'{p.Id}' acknowledged at position {p.Position} ({p.DoneMs} ms), but after the heal the cluster holds '{a.Id}' there");
        }
        return v.Build();
    }

    /// <summary>One producer's messages are delivered in the order it published them.</summary>
    private static Verdict Fifo(Dictionary<long, DeliveryRecord> order)
    {
        var v = new VerdictBuilder("fifo");
        var last = new Dictionary<string, (long Seq, long Position)>();
        foreach (var (position, d) in order.OrderBy(kv => kv.Key))
        {
            if (!TryParseId(d.Id, out var producer, out var seq)) continue;   // integrity reports it
            if (last.TryGetValue(producer, out var before) && seq <= before.Seq)
                v.Fail($"producer {producer}: seq {seq} at position {position} after seq {before.Seq} at {before.Position}");
            last[producer] = (seq, position);
        }
        return v.Build();
    }

    /// <summary>A message whose outcome is unknown is delivered at most once; a failed one never.</summary>
    private static Verdict UnknownAtMostOnce(RunHistory history, Dictionary<string, SortedSet<long>> positionsOf)
    {
        var v = new VerdictBuilder("unknown-at-most-once");
        foreach (var p in history.Publishes)
        {
            int times = positionsOf.TryGetValue(p.Id, out var set) ? set.Count : 0;
            if (p.Outcome == Outcome.Unknown && times > 1) v.Fail($"'{p.Id}' (outcome unknown) delivered at {times} positions");
            if (p.Outcome == Outcome.Failed && times > 0) v.Fail($"'{p.Id}' (failed) delivered at {string.Join(", ", set!)}");
        }
        return v.Build();
    }

    /// <summary>What the scenario itself expects (a member fed fsync errors halts; the others go on; no member exits unexpectedly).</summary>
    private static Verdict Expectations(RunHistory history)
    {
        var v = new VerdictBuilder("scenario");
        foreach (var e in history.Expectations)
            if (!e.Ok) v.Fail($"{e.Name}: {e.Detail}");
        return v.Build();
    }

    /// <summary>Message ids are "producer:seq".</summary>
    public static bool TryParseId(string id, out string producer, out long seq)
    {
        int colon = id.IndexOf(':');
        producer = colon > 0 ? id[..colon] : "";
        seq = 0;
        return colon > 0 && long.TryParse(id.AsSpan(colon + 1), out seq);
    }
}
