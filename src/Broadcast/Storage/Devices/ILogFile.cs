namespace AtomicBcast.Storage.Devices;

/// <summary>One file of a <see cref="ILogDevice"/>. Not thread-safe for writes; reads may run concurrently.</summary>
public interface ILogFile : IDisposable
{
    long Length { get; }

    /// <summary>Writes all of <paramref name="bytes"/> at <paramref name="offset"/> (pwrite). Not durable until <see cref="SyncData"/>.</summary>
    void Write(long offset, ReadOnlySpan<byte> bytes);

    /// <summary>Reads up to <paramref name="bytes"/>.Length bytes; fewer only at the end of the file.</summary>
    int Read(long offset, Span<byte> bytes);

    /// <summary>fdatasync: every write so far is durable when this returns; throws if the device says otherwise.</summary>
    void SyncData();

    /// <summary>fsync: data and metadata (the file's length).</summary>
    void SyncAll();

    void SetLength(long length);
}
