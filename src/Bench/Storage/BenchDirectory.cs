namespace AtomicBcast.Bench.Storage;

/// <summary>Where the storage benchmarks write (a temp directory under /tmp, removed afterwards) and what they report.</summary>
internal static class BenchDirectory
{
    /// <summary>The parent of every log and of the dd file: one file system for both figures.</summary>
    public static readonly string Root = Path.Combine(Path.GetTempPath(), "abcast-bench-storage");

    /// <summary>Per-case statistics handed from the benchmark process to the columns in the host process.</summary>
    public static readonly string Stats = Path.Combine(Path.GetTempPath(), "abcast-bench-storage-stats");

    public static string Create(string prefix)
    {
        string directory = Path.Combine(Root, $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    public static void Delete(string directory)
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        if (Directory.Exists(Root) && !Directory.EnumerateFileSystemEntries(Root).Any()) Directory.Delete(Root);
    }

    public static string StatsFile(string key) => Path.Combine(Stats, key + ".txt");
}
