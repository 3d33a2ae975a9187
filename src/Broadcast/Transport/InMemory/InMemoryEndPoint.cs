using System.Net;

namespace AtomicBcast.Transport.InMemory;

/// <summary>A listener's name on an <see cref="InMemoryNetwork"/>; an empty name asks for a fresh one (like port 0).</summary>
public sealed class InMemoryEndPoint(string name) : EndPoint
{
    public static InMemoryEndPoint Any => new("");

    public string Name { get; } = name;

    public override bool Equals(object? obj) => obj is InMemoryEndPoint other && other.Name == Name;
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => $"mem:{Name}";
}
