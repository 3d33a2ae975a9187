using System.Diagnostics.CodeAnalysis;

namespace AtomicBcast.Consensus;

/// <summary>A broken consensus invariant. The member must stop at once: continuing on a broken invariant loses data.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);

/// <summary>Always-on checks (TigerBeetle style): never compiled out, unlike Debug.Assert.</summary>
public static class Invariant
{
    public static void Require([DoesNotReturnIf(false)] bool condition, string message)
    {
        if (!condition) Fail(message);
    }

    [DoesNotReturn]
    private static void Fail(string message) => throw new InvariantViolationException(message);
}
