using System.Buffers;
using System.Runtime.CompilerServices;

namespace AtomicBcast.Wire;

/// <summary>
/// Walks the messages section of one run (count x varint length | payload) in place: no copy, no allocation.
/// Throws <see cref="WireException"/> when the count disagrees with the bytes (too few bytes for the count, or
/// bytes left after the last message), a varint overflows, or a length exceeds <see cref="Limits.MessageBytesMax"/>.
/// Use with foreach: <c>foreach (var payload in new RunMessageReader(messages, count))</c>.
/// </summary>
public ref struct RunMessageReader
{
    private ReadOnlySpan<byte> _remaining;
    private int _left;
    private ReadOnlySpan<byte> _current;

    public RunMessageReader(ReadOnlySpan<byte> messages, int count)
    {
        if (count < 0) WireException.Throw($"run count {count} is negative");
        _remaining = messages;
        _left = count;
    }

    public readonly RunMessageReader GetEnumerator() => this;

    /// <summary>The payload of the current message, a slice of the run.</summary>
    public readonly ReadOnlySpan<byte> Current => _current;

    /// <summary>Messages not yet read.</summary>
    public readonly int Left => _left;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MoveNext()
    {
        var remaining = _remaining;
        if (_left == 0)
        {
            if (!remaining.IsEmpty) ThrowTrailing(remaining.Length);
            return false;
        }
        uint length;
        int consumed;
        if (!remaining.IsEmpty && remaining[0] < 0x80)
        {
            length = remaining[0];
            consumed = 1;
        }
        else
        {
            length = Varint.Read(remaining, out consumed);
        }
        if (length > (uint)(remaining.Length - consumed) || length > Limits.MessageBytesMax) ThrowBadLength(length, remaining.Length - consumed);
        _current = remaining.Slice(consumed, (int)length);
        _remaining = remaining[(consumed + (int)length)..];
        _left--;
        return true;
    }

    /// <summary>Checks a messages section that may span segments (a publish frame in a pipe) without copying it.</summary>
    public static void Validate(in ReadOnlySequence<byte> messages, int count)
    {
        if (messages.IsSingleSegment)
        {
            var reader = new RunMessageReader(messages.FirstSpan, count);
            while (reader.MoveNext()) { }
            return;
        }
        var sequence = new SequenceReader<byte>(messages);
        for (int i = 0; i < count; i++)
        {
            uint length = ReadVarint(ref sequence);
            if (length > sequence.Remaining || length > Limits.MessageBytesMax) ThrowBadLength(length, sequence.Remaining);
            sequence.Advance(length);
        }
        if (!sequence.End) ThrowTrailing(sequence.Remaining);
    }

    private static uint ReadVarint(ref SequenceReader<byte> reader)
    {
        Span<byte> bytes = stackalloc byte[Varint.BytesMax];
        int n = 0;
        while (n < Varint.BytesMax && reader.TryRead(out byte b))
        {
            bytes[n++] = b;
            if (b < 0x80) break;
        }
        return Varint.Read(bytes[..n], out _);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowTrailing(long bytes) =>
        WireException.Throw($"{bytes} bytes after the last message of a run: count disagrees with bytes");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadLength(uint length, long available) =>
        WireException.Throw(length > Limits.MessageBytesMax
            ? $"message length {length} exceeds the limit {Limits.MessageBytesMax}"
            : $"message length {length} but only {available} bytes left in the run: count disagrees with bytes");
}
