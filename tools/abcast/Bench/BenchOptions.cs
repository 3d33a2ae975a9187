using AtomicBcast.Node;

namespace AtomicBcast.Cli.Bench;

/// <summary>What one <c>abcast bench</c> run does; <see cref="Validate"/> rejects bad input with a <see cref="ConfigException"/>.</summary>
internal sealed record BenchOptions
{
    /// <summary>Bytes the payload starts with: the publish timestamp (8) and the run's tag (8).</summary>
    public const int HeaderBytes = 16;

    public string? ConfigPath { get; init; }
    public bool Embedded { get; init; }
    public bool NoSync { get; init; }
    public int Size { get; init; } = 64;
    public int Publishers { get; init; } = 1;
    public int Window { get; init; } = 4096;
    public double? Rate { get; init; }
    public double Seconds { get; init; } = 10;
    public double Warmup { get; init; } = 2;
    public int Subscribers { get; init; } = 1;
    public string? JsonPath { get; init; }
    public string? TimelinePath { get; init; }

    public void Validate()
    {
        if (Embedded == (ConfigPath is not null)) throw new ConfigException("give exactly one of --config FILE and --embedded");
        if (NoSync && !Embedded) throw new ConfigException("--no-sync applies to --embedded only (a running cluster's members chose their durability)");
        if (Size is < HeaderBytes || Size > Limits.MessageBytesMax)
            throw new ConfigException($"--size must be within {HeaderBytes}..{Limits.MessageBytesMax} (the payload carries a timestamp and a tag)");
        if (Publishers is < 1 or > 256) throw new ConfigException("--publishers must be within 1..256");
        if (Window is < 1 or > 1 << 20) throw new ConfigException("--window must be within 1..1048576");
        if (Rate is { } r && (double.IsNaN(r) || r <= 0 || r > 1e8)) throw new ConfigException("--rate must be within (0, 1e8] messages/s");
        if (Seconds is <= 0 or > 86400 || double.IsNaN(Seconds)) throw new ConfigException("--seconds must be within (0, 86400]");
        if (Warmup is < 0 or > 3600 || double.IsNaN(Warmup)) throw new ConfigException("--warmup must be within 0..3600");
        if (TimelinePath is not null && Seconds > AckTimeline.SecondsMax)
            throw new ConfigException($"--timeline covers at most {AckTimeline.SecondsMax:0} measured seconds");
        if (Subscribers is < 0 or > 64) throw new ConfigException("--subscribers must be within 0..64");
        // Checked before the run, not when the file is written after it: a wrong path must not cost a long run.
        RequireDirectory("--json", JsonPath);
        RequireDirectory("--timeline", TimelinePath);
    }

    private static void RequireDirectory(string option, string? path)
    {
        if (path is null) return;
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is null) throw new ConfigException($"{option}: {path} names a directory, not a file");
        if (!Directory.Exists(directory)) throw new ConfigException($"{option}: directory {directory} does not exist");
    }
}
