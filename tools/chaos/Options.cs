using System.Globalization;

namespace AtomicBcast.Chaos;

/// <summary>"--name value" options and positional arguments.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _named = new();

    public List<string> Positional { get; } = new();

    public static Options Parse(IEnumerable<string> args)
    {
        var o = new Options();
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal)) o.Positional.Add(list[i]);
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) o._named[list[i]] = list[++i];
            else o._named[list[i]] = "true";
        }
        return o;
    }

    public string? Get(string name) => _named.GetValueOrDefault(name);

    public bool Flag(string name) => _named.ContainsKey(name);

    public string Required(string name) => Get(name) ?? throw new ArgumentException($"{name} is required");

    public int Int(string name, int fallback) =>
        Get(name) is { } s ? int.TryParse(s, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"{name}: '{s}' is not a number") : fallback;

    public double Double(string name, double fallback) =>
        Get(name) is { } s ? double.TryParse(s, CultureInfo.InvariantCulture, out double v) ? v : throw new ArgumentException($"{name}: '{s}' is not a number") : fallback;
}
