using System.Diagnostics.CodeAnalysis;

namespace AtomicBcast.Wire;

/// <summary>
/// The one exception for malformed input: bad type, bad length, truncated body, varint overflow, CRC mismatch,
/// LZ4 that does not decompress to its declared size, counts that disagree with bytes. The connection that
/// carried the input is closed with <see cref="Exception.Message"/> as the logged reason.
/// Throw through the [DoesNotReturn] helpers so hot methods stay small.
/// </summary>
public sealed class WireException(string reason) : Exception(reason)
{
    [DoesNotReturn] public static void Throw(string reason) => throw new WireException(reason);
    [DoesNotReturn] public static void ThrowFrameTooLarge(long length) =>
        throw new WireException($"frame length {length} exceeds the limit {Limits.FrameBytesMax}");
    [DoesNotReturn] public static void ThrowFrameTooSmall(long length) =>
        throw new WireException($"frame length {length} is below the minimum 2 (type and flags)");
    [DoesNotReturn] public static void ThrowUnknownType(byte type) =>
        throw new WireException($"unknown frame type {type}");
    [DoesNotReturn] public static void ThrowTruncated(string what) =>
        throw new WireException($"truncated {what}");
    [DoesNotReturn] public static void ThrowCrcMismatch(uint expected, uint actual) =>
        throw new WireException($"batch CRC32C mismatch: stored {expected:x8}, computed {actual:x8}");
}
