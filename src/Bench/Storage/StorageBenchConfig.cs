using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AtomicBcast.Bench.Storage;

/// <summary>The storage columns: records/s, MB/s, fsyncs/s and the ratio to the dd-like disk figure.</summary>
public sealed class StorageBenchConfig : ManualConfig
{
    public StorageBenchConfig()
    {
        AddColumn(new StorageColumn("Records/s", (s, c) => RecordsPerSecond(s, c)));
        AddColumn(new StorageColumn("MB/s", (s, c) => MegabytesPerSecond(s, c)));
        AddColumn(new StorageColumn("Fsyncs/s", (s, c) => FsyncsPerSecond(s, c)));
        AddColumn(new StorageColumn("vs dd", (s, c) => MegabytesPerSecond(s, c) / DdMegabytesPerSecond(s), "0.00"));
    }

    private static int RecordBytes(BenchmarkCase c) => c.Descriptor.WorkloadMethod.Name switch
    {
        "Append64B" => 64,
        "Append1KiB" => 1024,
        "Append64KiB" => 64 << 10,
        "DdDsync1MiBBlocks" => DiskBaselineBenchmarks.BlockBytes,
        _ => 0,
    };

    private static double RecordsPerSecond(Summary summary, BenchmarkCase c)
    {
        var statistics = summary[c]?.ResultStatistics;
        return statistics is null ? double.NaN : 1e9 / statistics.Mean;
    }

    private static double MegabytesPerSecond(Summary summary, BenchmarkCase c) => RecordsPerSecond(summary, c) * RecordBytes(c) / 1e6;

    private static double FsyncsPerSecond(Summary summary, BenchmarkCase c)
    {
        if (c.Descriptor.Type == typeof(DiskBaselineBenchmarks)) return RecordsPerSecond(summary, c);
        object? appenders = c.Parameters["Appenders"];
        string file = BenchDirectory.StatsFile($"log-{RecordBytes(c)}-{appenders}");
        if (!File.Exists(file)) return double.NaN;
        var parts = File.ReadAllText(file).Split(' ');
        double flushesPerRecord = double.Parse(parts[0]) / double.Parse(parts[1]);
        return RecordsPerSecond(summary, c) * flushesPerRecord;
    }

    private static double DdMegabytesPerSecond(Summary summary)
    {
        foreach (var c in summary.BenchmarksCases)
            if (c.Descriptor.Type == typeof(DiskBaselineBenchmarks)) return MegabytesPerSecond(summary, c);
        return double.NaN;
    }

    private sealed class StorageColumn(string name, Func<Summary, BenchmarkCase, double> value, string format = "N0") : IColumn
    {
        public string Id => "Storage." + name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => name switch
        {
            "Records/s" => "records (or 1 MiB dd blocks) per second, from the mean",
            "MB/s" => "10^6 bytes per second",
            "Fsyncs/s" => "fdatasync calls per second (log flush count / records x records/s)",
            _ => "MB/s as a ratio of the dd-like figure in the same (joined) run",
        };
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => Format(value(summary, benchmarkCase));
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
        private string Format(double v) => double.IsNaN(v) || double.IsInfinity(v) ? "-" : v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
    }
}
