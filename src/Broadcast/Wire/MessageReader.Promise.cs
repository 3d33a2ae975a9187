using System.Buffers;
using static AtomicBcast.Wire.Body;

namespace AtomicBcast.Wire;

public static partial class MessageReader
{
    /// <summary>
    /// A promise chunk. The whole chunk is checked here before anything is returned (record count against the bytes,
    /// instances strictly ascending from fromInstance, every batch's header and CRC), so a caller that acts on the
    /// records one by one never meets a bad record halfway. <paramref name="records"/> then walks them in place.
    /// </summary>
    public static PromiseHeader ReadPromise(in Frame frame, out PromiseRecordReader records)
    {
        Expect(frame, MessageType.Promise);
        var body = frame.Body;
        var b = Prefix(body, stackalloc byte[MessageLayout.PromiseFixedBytes]);
        int count = I32(b, 17);
        if ((uint)count > Limits.PromiseChunkRecordsMax) WireException.Throw($"promise chunk of {count} records, at most {Limits.PromiseChunkRecordsMax}");
        var header = new PromiseHeader(new Ballot(U64(b, 0)), I64(b, 8), Bool(b, 16), count);
        var recordBytes = body.Slice(MessageLayout.PromiseFixedBytes);
        CheckPromiseRecords(recordBytes, header);
        records = new PromiseRecordReader(recordBytes, count);
        return header;
    }

    private static void CheckPromiseRecords(ReadOnlySequence<byte> remaining, in PromiseHeader header)
    {
        var reader = new PromiseRecordReader(remaining, header.RecordCount);
        long previous = header.FromInstance - 1;
        while (reader.TryRead(out var record, out var batch))
        {
            if (record.Instance <= previous) WireException.Throw($"promise record instance {record.Instance} not ascending from {header.FromInstance}");
            previous = record.Instance;
            VerifyBatch(batch);
        }
        if (reader.RemainingBytes != 0) WireException.Throw($"{reader.RemainingBytes} bytes after the last promise record");
    }
}

/// <summary>Walks the records of a promise chunk in place; each batch is a slice of the frame (no copy).</summary>
public ref struct PromiseRecordReader
{
    private ReadOnlySequence<byte> _remaining;
    private int _left;

    internal PromiseRecordReader(ReadOnlySequence<byte> records, int count)
    {
        _remaining = records;
        _left = count;
    }

    /// <summary>Records not yet read.</summary>
    public readonly int Left => _left;

    internal readonly long RemainingBytes => _remaining.Length;

    /// <summary>False when every record was read. Throws <see cref="WireException"/> when a record is cut short.</summary>
    public bool TryRead(out PromiseRecordHeader record, out ReadOnlySequence<byte> batch)
    {
        if (_left == 0)
        {
            record = default;
            batch = default;
            return false;
        }
        var b = Body.Prefix(_remaining, stackalloc byte[MessageLayout.PromiseRecordFixedBytes]);
        record = new PromiseRecordHeader(Body.I64(b, 0), new Ballot(Body.U64(b, 8)));
        uint batchBytes = Body.U32(b, 16);
        if (batchBytes > MessageLayout.BatchBytesMax || batchBytes > _remaining.Length - MessageLayout.PromiseRecordFixedBytes)
            WireException.Throw($"promise record batch of {batchBytes} bytes disagrees with the {_remaining.Length - MessageLayout.PromiseRecordFixedBytes} bytes left");
        batch = _remaining.Slice(MessageLayout.PromiseRecordFixedBytes, batchBytes);
        _remaining = _remaining.Slice(MessageLayout.PromiseRecordFixedBytes + batchBytes);
        _left--;
        return true;
    }
}
