using System.Buffers;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// One delivered batch, read in place: the messages at positions <see cref="FirstPosition"/> ..
/// <see cref="NextPosition"/> - 1, in order, each payload a slice of the received bytes (no copy).
/// <para><b>Valid only until the next <c>MoveNextAsync</c> of the enumeration that yielded it</b> (or until that enumeration
/// ends): the payloads point into the connection's receive buffer or into a pooled buffer that the next batch reuses, and
/// the same instance is reloaded with the next batch. Copy (<c>ToArray</c>) whatever must outlive that. An enumerator
/// used after its batch was reloaded throws <see cref="InvalidOperationException"/>; a payload kept past that silently
/// shows other bytes.</para>
/// </summary>
public sealed class DeliveryBatch
{
    private ReadOnlyMemory<byte> _runs;   // the batch's runs, uncompressed
    private int _runCount;
    private ushort[] _skipped = [];       // indexes of runs dropped by the exactly-once rule (no position)
    private int _skippedCount;
    private int _leadingSkip;             // messages before FirstPosition (a resume in the middle of a batch)
    private int _version;
    private byte[]? _joined;              // pooled: a batch split over receive segments, made contiguous
    private byte[]? _expanded;            // pooled: an LZ4 batch, expanded

    internal DeliveryBatch()
    {
    }

    /// <summary>The position of the first message of this view.</summary>
    public long FirstPosition { get; private set; }

    /// <summary>How many messages this view holds (at least 1).</summary>
    public int Count { get; private set; }

    /// <summary>The position after the last message: where the stream goes on.</summary>
    public long NextPosition => FirstPosition + Count;

    /// <summary>The payloads in position order (<c>foreach (var payload in batch)</c>); no allocation.</summary>
    public Enumerator GetEnumerator() => new(this);

    /// <summary>
    /// Loads the messages of a deliver frame at or after <paramref name="next"/>; false when it holds none (all delivered
    /// before, or a batch without messages). A frame that starts beyond <paramref name="next"/> would leave a gap: the
    /// member is broken. Throws <see cref="WireException"/> for that and for any malformed frame, before anything is
    /// exposed: every run and message length is checked here, so enumerating never meets a malformed byte.
    /// </summary>
    internal bool TryLoad(in Frame frame, long next)
    {
        _version++;
        Count = 0;
        var header = MessageReader.ReadDeliver(frame, out var skippedRuns, out var batch); // checks the CRC
        // Positions are never negative; the batch's CRC does not cover the deliver header, so check (a negative one
        // would overflow `already` below and repeat positions already delivered).
        if (header.FirstPosition < 0) WireException.Throw($"delivery at negative position {header.FirstPosition}");
        if (header.FirstPosition > next) WireException.Throw($"delivery at position {header.FirstPosition} leaves a gap after {next}");
        if (_skipped.Length < header.SkippedRunCount) _skipped = new ushort[Math.Max(header.SkippedRunCount, 2 * _skipped.Length)];
        _skippedCount = MessageReader.CopySkippedRuns(skippedRuns, _skipped);
        var bytes = Contiguous(batch);
        var batchHeader = BatchHeader.Read(bytes.Span);
        _runs = Expand(batchHeader, bytes);
        _runCount = batchHeader.RunCount;
        long total = CountMessages();
        long already = next - header.FirstPosition;
        if (already >= total) return false;
        (FirstPosition, Count, _leadingSkip) = (next, (int)(total - already), (int)already);
        return true;
    }

    /// <summary>Copies every message of this view into <paramref name="into"/> as owned deliveries.</summary>
    internal void CopyTo(List<Delivery> into)
    {
        long position = FirstPosition;
        foreach (var payload in this) into.Add(new Delivery(position++, payload.ToArray()));
    }

    private ReadOnlyMemory<byte> Contiguous(in ReadOnlySequence<byte> batch)
    {
        if (batch.IsSingleSegment) return batch.First;
        int length = (int)batch.Length; // <= the frame limit, checked by the frame reader
        var joined = Rent(ref _joined, length);
        batch.CopyTo(joined);
        return joined.AsMemory(0, length);
    }

    private ReadOnlyMemory<byte> Expand(in BatchHeader header, ReadOnlyMemory<byte> batch)
    {
        var stored = batch[Limits.BatchHeaderBytes..];
        if ((header.Flags & BatchFlags.Lz4) == 0) return stored;
        var expanded = Rent(ref _expanded, header.RawBytes); // RawBytes <= BatchBytesMax: checked by BatchHeader.Read
        BatchCompression.Decompress(header, stored.Span, expanded.AsSpan(0, header.RawBytes));
        return expanded.AsMemory(0, header.RawBytes);
    }

    /// <summary>Messages in the runs that take positions; walks every run and message, so a malformed batch throws here.</summary>
    private long CountMessages()
    {
        var runs = new RunEnumerator(_runs.Span, _runCount);
        long total = 0;
        int index = 0, skip = 0;
        while (runs.MoveNext())
        {
            var messages = runs.Messages;
            int count = 0;
            while (messages.MoveNext()) count++;
            if (skip < _skippedCount && _skipped[skip] == index) skip++;
            else total += count;
            index++;
        }
        return total;
    }

    private static byte[] Rent(ref byte[]? buffer, int length)
    {
        if (buffer is not null && buffer.Length >= length) return buffer;
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        buffer = null; // if Rent throws, nothing is returned twice
        return buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
    }

    /// <summary>Returns the pooled buffers; the enumeration that owns this batch calls it when it ends (not public: a
    /// caller could return buffers the enumeration still reads).</summary>
    internal void Release()
    {
        _version++;
        (_runs, Count) = (default, 0);
        if (_joined is { } joined) ArrayPool<byte>.Shared.Return(joined);
        if (_expanded is { } expanded) ArrayPool<byte>.Shared.Return(expanded);
        (_joined, _expanded) = (null, null);
    }

    /// <summary>Walks the payloads of a <see cref="DeliveryBatch"/> in place. A struct: no allocation.</summary>
    public struct Enumerator
    {
        private readonly DeliveryBatch _batch;
        private readonly ReadOnlyMemory<byte> _runs;
        private readonly int _version;
        private int _offset, _runIndex, _skippedAt, _inRun, _leadingSkip, _left;

        internal Enumerator(DeliveryBatch batch)
        {
            (_batch, _runs, _version) = (batch, batch._runs, batch._version);
            (_offset, _runIndex, _skippedAt, _inRun, _leadingSkip, _left) = (0, 0, 0, 0, batch._leadingSkip, batch.Count);
            Current = default;
        }

        /// <summary>The current payload: valid until the batch's enumeration moves on.</summary>
        public ReadOnlyMemory<byte> Current { get; private set; }

        public bool MoveNext()
        {
            if (_version != _batch._version) throw new InvalidOperationException("the DeliveryBatch was reloaded: it is only valid until the next MoveNextAsync");
            if (_left == 0) return false;
            var span = _runs.Span;
            while (true)
            {
                while (_inRun == 0) EnterRun(span);
                int start = _offset;
                uint length;
                if (span[start] < 0x80)
                {
                    length = span[start++];
                }
                else
                {
                    length = Varint.Read(span[start..], out int prefix);
                    start += prefix;
                }
                _offset = start + (int)length;
                _inRun--;
                if (_leadingSkip > 0)
                {
                    _leadingSkip--;
                    continue;
                }
                Current = _runs.Slice(start, (int)length);
                _left--;
                return true;
            }
        }

        /// <summary>Steps over the next run header (and the whole run when it is skipped); the batch was validated on load.</summary>
        private void EnterRun(ReadOnlySpan<byte> span)
        {
            var header = RunHeader.Read(span[_offset..]);
            _offset += Limits.RunHeaderBytes;
            if (_skippedAt < _batch._skippedCount && _batch._skipped[_skippedAt] == _runIndex)
            {
                _skippedAt++;
                _offset += header.Bytes;
            }
            else
            {
                _inRun = header.Count;
            }
            _runIndex++;
        }
    }
}
