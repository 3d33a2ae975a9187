using System.Buffers;

namespace AtomicBcast.Wire;

/// <summary>
/// Splits the accepted records of one promise into chunks: at most <see cref="Limits.PromiseChunkRecordsMax"/> records
/// and one frame's worth of bytes per chunk, Last set on the final chunk only. No records: one empty chunk with Last.
/// Not a hot path (once per leader change), so <see cref="Split"/> allocates the chunk arrays; <see cref="WriteAll"/> does not.
/// </summary>
public static class PromiseChunks
{
    /// <summary>Body bytes of one chunk holding <paramref name="records"/>; also checks the record rules.</summary>
    public static long BodyBytes(long fromInstance, ReadOnlySpan<PromiseRecord> records)
    {
        if (records.Length > Limits.PromiseChunkRecordsMax)
            throw new ArgumentException($"{records.Length} records in one promise chunk, at most {Limits.PromiseChunkRecordsMax}", nameof(records));
        long bytes = MessageLayout.PromiseFixedBytes;
        long previous = fromInstance - 1;
        foreach (var record in records)
        {
            if (record.Instance <= previous)
                throw new ArgumentException("promise records must have strictly ascending instances >= fromInstance", nameof(records));
            previous = record.Instance;
            int batch = record.Batch.Length;
            if (batch < Limits.BatchHeaderBytes || batch > MessageLayout.BatchBytesMax)
                throw new ArgumentException($"promise record batch of {batch} bytes is not a whole batch", nameof(records));
            bytes += MessageLayout.PromiseRecordFixedBytes + batch;
        }
        return bytes;
    }

    /// <summary>The number of records, from the front of <paramref name="records"/>, that go into the next chunk (at least one when any remain).</summary>
    public static int NextChunkLength(ReadOnlySpan<PromiseRecord> records)
    {
        long bytes = MessageLayout.PromiseFixedBytes;
        int n = 0;
        while (n < records.Length && n < Limits.PromiseChunkRecordsMax)
        {
            bytes += MessageLayout.PromiseRecordFixedBytes + records[n].Batch.Length;
            if (n > 0 && bytes > MessageLayout.BodyBytesMax) break;
            n++;
        }
        return n;
    }

    /// <summary>The chunks as messages (sharing the records' batches; no reference is taken).</summary>
    public static PromiseMessage[] Split(Ballot ballot, long fromInstance, ReadOnlySpan<PromiseRecord> records)
    {
        var chunks = new List<PromiseMessage>();
        do
        {
            int n = NextChunkLength(records);
            chunks.Add(new PromiseMessage(ballot, fromInstance, Last: n == records.Length, records[..n].ToArray()));
            records = records[n..];
        } while (!records.IsEmpty);
        return [.. chunks];
    }

    /// <summary>Writes every chunk as a frame; returns the number of frames written.</summary>
    public static int WriteAll(IBufferWriter<byte> writer, Ballot ballot, long fromInstance, ReadOnlySpan<PromiseRecord> records)
    {
        int frames = 0;
        do
        {
            int n = NextChunkLength(records);
            MessageWriter.WritePromise(writer, ballot, fromInstance, last: n == records.Length, records[..n]);
            records = records[n..];
            frames++;
        } while (!records.IsEmpty);
        return frames;
    }
}
