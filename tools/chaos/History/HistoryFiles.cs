using System.Globalization;
using System.Text;

namespace AtomicBcast.Chaos.History;

/// <summary>
/// A run's history as tab-separated text files in its directory, so a person can read them and <c>chaos check DIR</c>
/// can judge them again: publishes.tsv, streams/NAME.tsv (first line "# from F audit|live [error]"), faults.tsv,
/// expectations.tsv, phases.tsv.
/// </summary>
public static class HistoryFiles
{
    private const string Publishes = "publishes.tsv";
    private const string StreamsDir = "streams";
    private const string Faults = "faults.tsv";
    private const string Expectations = "expectations.tsv";
    private const string PhasesFile = "phases.tsv";

    public static void Save(string dir, RunHistory history)
    {
        Directory.CreateDirectory(Path.Combine(dir, StreamsDir));
        Write(Path.Combine(dir, Publishes), "id\tproducer\tseq\tinvokeMs\toutcome\tposition\tdoneMs\thash",
            history.Publishes.Select(p => Join(p.Id, p.Producer, p.Seq, p.InvokeMs, p.Outcome, p.Position, p.DoneMs, p.Hash)));
        foreach (var s in history.Streams)
        {
            var header = $"# from {s.From} {(s.Audit ? "audit" : "live")}{(s.Error is null ? "" : " " + Escape(s.Error))}";
            Write(Path.Combine(dir, StreamsDir, s.Name + ".tsv"), header,
                s.Deliveries.Select(d => Join(d.Position, d.Id, d.Hash, d.AtMs)));
        }
        Write(Path.Combine(dir, Faults), "kind\ttargets\tstartMs\tendMs\tnote",
            history.Faults.Select(f => Join(f.Kind, f.Targets, f.StartMs, f.EndMs, Escape(f.Note))));
        Write(Path.Combine(dir, Expectations), "name\tok\tdetail",
            history.Expectations.Select(e => Join(e.Name, e.Ok, Escape(e.Detail))));
        var ph = history.Phases;
        Write(Path.Combine(dir, PhasesFile), "publishStartMs\tfaultsStartMs\thealMs\tpublishStopMs\tendMs",
            [Join(ph.PublishStartMs, ph.FaultsStartMs, ph.HealMs, ph.PublishStopMs, ph.EndMs)]);
    }

    public static RunHistory Load(string dir)
    {
        var publishes = Rows(Path.Combine(dir, Publishes)).Select(r => new PublishRecord(r[0], Int(r[1]), Long(r[2]), Long(r[3]),
            Enum.Parse<Outcome>(r[4]), Long(r[5]), Long(r[6]), r[7])).ToList();
        var streams = new List<StreamRecord>();
        var streamsDir = Path.Combine(dir, StreamsDir);
        if (Directory.Exists(streamsDir))
            foreach (var file in Directory.GetFiles(streamsDir, "*.tsv").Order(StringComparer.Ordinal))
                streams.Add(LoadStream(file));
        var faults = Rows(Path.Combine(dir, Faults)).Select(r => new FaultRecord(r[0], r[1], Long(r[2]), Long(r[3]), r.Length > 4 ? r[4] : "")).ToList();
        var expectations = Rows(Path.Combine(dir, Expectations)).Select(r => new ExpectationRecord(r[0], bool.Parse(r[1]), r.Length > 2 ? r[2] : "")).ToList();
        var ph = Rows(Path.Combine(dir, PhasesFile)).Single();
        return new RunHistory(publishes, streams, faults, expectations, new Phases(Long(ph[0]), Long(ph[1]), Long(ph[2]), Long(ph[3]), Long(ph[4])));
    }

    private static StreamRecord LoadStream(string file)
    {
        var lines = File.ReadAllLines(file);
        var header = lines[0].Split(' ', 5);   // "#", "from", F, kind, [error]
        var deliveries = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t'))
            .Select(r => new DeliveryRecord(Long(r[0]), r[1], r[2], Long(r[3]))).ToList();
        return new StreamRecord(Path.GetFileNameWithoutExtension(file), Long(header[2]), header[3] == "audit", deliveries,
            header.Length > 4 ? header[4] : null);
    }

    private static IEnumerable<string[]> Rows(string path) =>
        File.Exists(path) ? File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')) : [];

    private static void Write(string path, string header, IEnumerable<string> rows)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        writer.WriteLine(header);
        foreach (var row in rows) writer.WriteLine(row);
    }

    private static string Join(params object[] values) =>
        string.Join('\t', values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));

    private static string Escape(string text) => text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');

    private static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
}
