using BenchmarkDotNet.Running;

namespace AtomicBcast.Bench;

public static class Program
{
    // dotnet run -c Release --project src/Bench -- --filter '*'      (all)
    // dotnet run -c Release --project src/Bench -- --list flat        (names)
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
