using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    /// <summary>
    /// Copies a promise into the write buffer. Never blocks; false when every write buffer is full (wait with
    /// <see cref="AppendPromiseAsync"/> instead). Does not make it durable: see <see cref="WaitForDurableAsync"/>.
    /// </summary>
    public bool TryAppendPromise(Ballot ballot, out LogAddress address) =>
        TryAppend(RecordType.Promise, ballot.Value, 0, [], out address);

    /// <summary>Copies an accept (the batch bytes as stored and sent) into the write buffer. Never blocks.</summary>
    public bool TryAppendAccept(ulong instance, Ballot ballot, ReadOnlySpan<byte> batch, out LogAddress address) =>
        TryAppend(RecordType.Accept, instance, ballot.Value, batch, out address);

    /// <summary>Copies a commit checkpoint (the learner's restart point and its opaque producer table) into the write buffer.</summary>
    public bool TryAppendCheckpoint(ulong instance, ulong firstPosition, ReadOnlySpan<byte> producerTable, out LogAddress address) =>
        TryAppend(RecordType.Checkpoint, instance, firstPosition, producerTable, out address);

    public ValueTask<LogAddress> AppendPromiseAsync(Ballot ballot) =>
        AppendAsync(RecordType.Promise, ballot.Value, 0, ReadOnlyMemory<byte>.Empty);

    /// <summary>Appends an accept and completes when it is durable. The caller keeps <paramref name="batch"/> until then.</summary>
    public ValueTask<LogAddress> AppendAcceptAsync(ulong instance, Ballot ballot, BatchBuffer batch) =>
        AppendAsync(RecordType.Accept, instance, ballot.Value, batch.Memory);

    public ValueTask<LogAddress> AppendAcceptAsync(ulong instance, Ballot ballot, ReadOnlyMemory<byte> batch) =>
        AppendAsync(RecordType.Accept, instance, ballot.Value, batch);

    public ValueTask<LogAddress> AppendCheckpointAsync(ulong instance, ulong firstPosition, ReadOnlyMemory<byte> producerTable) =>
        AppendAsync(RecordType.Checkpoint, instance, firstPosition, producerTable);

    /// <summary>
    /// Completes when the record at <paramref name="address"/> (and everything before it) is durable; faults with
    /// the stored <see cref="LogFailedException"/> if the log failed first. Does not issue a sync; only waits for one.
    /// Allocates nothing: every waiter of a flush shares that flush's completion.
    /// </summary>
    public ValueTask WaitForDurableAsync(LogAddress address)
    {
        if (address.Value < Volatile.Read(ref _durableUntil)) return ValueTask.CompletedTask;
        lock (_gate)
        {
            if (address.Value < _durableUntil) return ValueTask.CompletedTask;
            if (_failure is not null) return ValueTask.FromException(_failure);
            if (address.Value >= _tail) ThrowNotAppended(address);
            return BufferHolding(address.Value).Completion.Wait();
        }
    }

    private ValueTask<LogAddress> AppendAsync(RecordType type, ulong first, ulong second, ReadOnlyMemory<byte> payload)
    {
        if (!TryAppend(type, first, second, payload.Span, out var address)) return AppendWhenSpace(this, type, first, second, payload);
        var durable = WaitForDurableAsync(address);
        if (durable.IsCompletedSuccessfully) return new ValueTask<LogAddress>(address);
        return AwaitDurable(durable, address);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<LogAddress> AwaitDurable(ValueTask durable, LogAddress address)
    {
        await durable.ConfigureAwait(false);
        return address;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<LogAddress> AppendWhenSpace(GroupCommitLog log, RecordType type, ulong first, ulong second, ReadOnlyMemory<byte> payload)
    {
        LogAddress address;
        while (!log.TryAppend(type, first, second, payload.Span, out address)) await log.WaitForSpaceAsync().ConfigureAwait(false);
        await log.WaitForDurableAsync(address).ConfigureAwait(false);
        return address;
    }

    /// <summary>Completes when a write buffer may be free again (the flush in progress finished).</summary>
    private ValueTask WaitForSpaceAsync()
    {
        lock (_gate)
        {
            if (_failure is not null) return ValueTask.FromException(_failure);
            if (_disposing) ThrowDisposed();
            if (_free.Count > 0) return ValueTask.CompletedTask;
            var oldest = _inFlightCount > 0 ? _inFlight[0] : _sealed.Count > 0 ? _sealed.Peek() : null;
            return oldest is null ? ValueTask.CompletedTask : oldest.Completion.Wait();
        }
    }

    /// <summary>
    /// Reserves the record's place under the lock (address, buffer space, in-memory state), then fills and seals it
    /// outside the lock, so appenders contend only for the reservation. The flusher waits for a sealed buffer's
    /// writers to finish before it writes it.
    /// </summary>
    private bool TryAppend(RecordType type, ulong first, ulong second, ReadOnlySpan<byte> payload, out LogAddress address)
    {
        int length = (type == RecordType.Promise ? LogFormat.PromiseLength : LogFormat.AcceptFixedLength) + payload.Length;
        if (payload.Length > _recordBytesLimit - LogFormat.AcceptFixedLength) ThrowRecordTooLarge(length);
        int padded = LogFormat.Align(length);
        long now = _options.Policy.DelayMax > TimeSpan.Zero ? _time.GetTimestamp() : 0;
        WriteBuffer buffer;
        Span<byte> record;
        uint durableBefore;
        lock (_gate)
        {
            if (_failure is not null) throw _failure;
            if (_disposing) ThrowDisposed();
            if (!TryMakeRoom(padded))
            {
                address = default;
                return false;
            }
            buffer = _current;
            bool wasEmpty = buffer.Count == 0;
            record = buffer.Reserve(padded, now);
            buffer.BeginWrite();
            address = new LogAddress(_tail);
            durableBefore = DurableOffsetBefore(address.Value);
            _tail += (ulong)padded;
            Apply(type, first, second, address.Value, _segments[^1]);
            // In an owner's burst (BeginBurst) the first record waits for EndBurst, which flushes or wakes the flusher.
            if ((wasEmpty && !_inBurst) || buffer.Count >= _flushBytesMax) _work.Set();
        }
        LogFormat.WriteRecordHeader(record, length, type, durableBefore);
        BinaryPrimitives.WriteUInt64LittleEndian(record[LogFormat.RecordHeaderBytes..], first);
        if (type != RecordType.Promise) BinaryPrimitives.WriteUInt64LittleEndian(record[(LogFormat.RecordHeaderBytes + 8)..], second);
        payload.CopyTo(record[(length - payload.Length)..]);
        record[length..].Clear();
        LogFormat.Seal(record, length, address.Value);
        buffer.EndWrite();
        return true;
    }

    /// <summary>
    /// Makes the current buffer able to take <paramref name="padded"/> more bytes in the current segment: rolls
    /// to the next segment when the record does not fit, and seals a buffer that is at its flush size. False when
    /// that needs a free buffer and there is none.
    /// </summary>
    private bool TryMakeRoom(int padded)
    {
        var buffer = _current;
        long offset = OffsetOf(_tail);
        // offset 0: the last record ended exactly at the end of its segment.
        bool roll = offset == 0 || offset + padded > _segmentBytes;
        bool full = buffer.Count > 0 && buffer.Count + padded > _flushBytesMax;
        if ((roll || full) && buffer.Count > 0)
        {
            if (_free.Count == 0) return false;
            _sealed.Enqueue(buffer);
            _current = _free.Pop();
            _current.Reset(_tail, _segmentBytes);
            _work.Set();
        }
        if (roll)
        {
            long next = offset == 0 ? SegmentIndexOf(_tail) : SegmentIndexOf(_tail) + 1;
            _tail = (ulong)next * (ulong)_segmentBytes + LogFormat.HeaderBytes;
            _current.MoveTo(_tail, _segmentBytes);
            _segments.Add(new Segment(SegmentIndexOf(_tail)));
        }
        return true;
    }

    /// <summary>Updates what the log knows in memory (index, promise, checkpoint) for a record just placed.</summary>
    private void Apply(RecordType type, ulong first, ulong second, ulong address, Segment segment)
    {
        switch (type)
        {
            case RecordType.Promise:
                if (first > _promised.Value) _promised = new Ballot(first);
                break;
            case RecordType.Accept:
                if (first < _floor) break;
                NoteOutranked(first, second);
                _index.Set(first, address, second);
                segment.NoteAccept(first);
                break;
            case RecordType.Checkpoint:
                _checkpointAddress = address;
                NoteCheckpoint(first, second, address);
                break;
            case RecordType.Trim:
                if (second > _promised.Value) _promised = new Ballot(second);
                if (first > _floor)
                {
                    _floor = first;
                    _index.RemoveBelow(first);
                }
                break;
        }
    }

    /// <summary>
    /// The offset in <paramref name="address"/>'s segment below which everything is durable now, so certainly
    /// before this record reaches the disk (its flush starts at or after it). Recovery relies on it being no
    /// higher than that: a bad spot below it was synced, so it is corruption, not a torn write.
    /// </summary>
    private uint DurableOffsetBefore(ulong address)
    {
        ulong durable = _durableUntil;
        if (SegmentIndexOf(durable) != SegmentIndexOf(address)) return LogFormat.HeaderBytes;
        return (uint)Math.Max(OffsetOf(durable), LogFormat.HeaderBytes);
    }

    /// <summary>The buffer (sealed, flushing or current) that holds a record that is not durable yet.</summary>
    private WriteBuffer BufferHolding(ulong address)
    {
        for (int i = 0; i < _inFlightCount; i++)
            if (_inFlight[i].Contains(address)) return _inFlight[i];
        foreach (var buffer in _sealed)
            if (buffer.Contains(address)) return buffer;
        System.Diagnostics.Debug.Assert(_current.Contains(address));
        return _current;
    }

    [DoesNotReturn]
    private static void ThrowRecordTooLarge(int length) =>
        throw new ArgumentOutOfRangeException(nameof(length), length, "record larger than a segment or Limits.FrameBytesMax allows");

    [DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(GroupCommitLog), $"log {_device.Name} is closed");

    [DoesNotReturn]
    private static void ThrowNotAppended(LogAddress address) =>
        throw new ArgumentOutOfRangeException(nameof(address), address.Value, "no record was appended at this address");
}
