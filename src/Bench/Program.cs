using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace AtomicBcast.Bench;

public static class Program
{
    // dotnet run -c Release --project src/Bench -- --filter '*'      (all)
    // dotnet run -c Release --project src/Bench -- --list flat        (names)
    // Medians are shown next to means: the machines are shared and noisy, and medians are what docs/PERFORMANCE.md quotes.
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
            .Run(args, DefaultConfig.Instance.AddColumn(StatisticColumn.Median));
}
