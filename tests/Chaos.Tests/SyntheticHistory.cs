using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Tests;

/// <summary>
/// A clean history to break on purpose: two producers alternate, every publish acked at consecutive positions, two
/// live streams and one audit stream that all received everything. Tests change one thing and expect one verdict.
/// </summary>
internal sealed class SyntheticHistory
{
    public List<PublishRecord> Publishes { get; } = new();
    public Dictionary<string, List<DeliveryRecord>> Streams { get; } = new();
    public Dictionary<string, long> From { get; } = new();
    public List<ExpectationRecord> Expectations { get; } = new();
    public List<FaultRecord> Faults { get; } = new();

    public static SyntheticHistory Clean(int messages = 20)
    {
        var h = new SyntheticHistory();
        var seqs = new Dictionary<int, long>();
        for (int i = 0; i < messages; i++)
        {
            int producer = i % 2 + 1;
            long seq = seqs[producer] = seqs.GetValueOrDefault(producer) + 1;
            h.Publishes.Add(new PublishRecord($"{producer}:{seq}", producer, seq, i * 10, Outcome.Acked, i, i * 10 + 5, Hash(producer, seq)));
        }
        foreach (var name in new[] { "live-1", "live-2", "audit-1", "audit-2" })
        {
            h.Streams[name] = h.Publishes.Select(p => new DeliveryRecord(p.Position, p.Id, p.Hash, p.DoneMs + 1)).ToList();
            h.From[name] = 0;
        }
        return h;
    }

    public static string Hash(int producer, long seq) => $"H{producer:00}{seq:0000}";

    public RunHistory Build() => new(Publishes,
        Streams.Select(kv => new StreamRecord(kv.Key, From[kv.Key], kv.Key.StartsWith("audit", StringComparison.Ordinal), kv.Value)).ToList(),
        Faults, Expectations, new Phases(0, 50, 150, 200, 300));

    /// <summary>Replaces a publish record (by id) with a changed copy.</summary>
    public void Publish(string id, Func<PublishRecord, PublishRecord> change)
    {
        int i = Publishes.FindIndex(p => p.Id == id);
        Publishes[i] = change(Publishes[i]);
    }

    /// <summary>Applies a change to every stream.</summary>
    public void AllStreams(Action<List<DeliveryRecord>> change)
    {
        foreach (var s in Streams.Values) change(s);
    }
}
