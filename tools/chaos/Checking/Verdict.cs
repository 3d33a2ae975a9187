namespace AtomicBcast.Chaos.Checking;

/// <summary>The verdict on one property: how many violations, and the first few described.</summary>
public sealed record Verdict(string Property, int Violations, IReadOnlyList<string> Examples)
{
    public bool Ok => Violations == 0;
}

/// <summary>Collects violations of one property, keeping the first few descriptions.</summary>
internal sealed class VerdictBuilder(string property)
{
    private const int ExamplesMax = 10;
    private readonly List<string> _examples = new();
    private int _violations;

    public void Fail(string description)
    {
        _violations++;
        if (_examples.Count < ExamplesMax) _examples.Add(description);
    }

    public Verdict Build() => new(property, _violations, _examples);
}
