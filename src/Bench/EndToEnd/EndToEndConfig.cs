using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AtomicBcast.Bench.EndToEnd;

/// <summary>Msgs/s and MB/s columns for <see cref="EndToEndBenchmarks"/> (one operation = one message).</summary>
public sealed class EndToEndConfig : ManualConfig
{
    public EndToEndConfig()
    {
        AddColumn(new ThroughputColumn("Msgs/s", "messages delivered per second, from the mean", bytesPerMessage: false));
        AddColumn(new ThroughputColumn("MB/s", "10^6 payload bytes delivered per second, from the mean", bytesPerMessage: true));
    }

    private sealed class ThroughputColumn(string name, string legend, bool bytesPerMessage) : IColumn
    {
        public string Id => "EndToEnd." + name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => legend;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var statistics = summary[benchmarkCase]?.ResultStatistics;
            if (statistics is null || statistics.Mean <= 0) return "-";
            double perSecond = 1e9 / statistics.Mean;
            if (bytesPerMessage) perSecond *= Convert.ToInt32(benchmarkCase.Parameters["Size"]) / 1e6;
            return perSecond.ToString(bytesPerMessage ? "N1" : "N0", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
