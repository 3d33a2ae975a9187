using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Storage;

/// <summary>
/// What the log knows about one segment file: its open file (null until the flusher creates it), when it was
/// created, and the range of instances it holds accepts for (to decide what trimming may drop).
/// Fields other than <see cref="File"/> are guarded by the log's lock.
/// </summary>
internal sealed class Segment(long index)
{
    private ILogFile? _file;

    public long Index { get; } = index;
    public string FileName { get; } = LogFormat.SegmentFileName(index);
    public long CreatedMs { get; set; }
    public ulong MinInstance { get; private set; } = ulong.MaxValue;
    public ulong MaxInstance { get; private set; }
    public bool HasAccepts => MinInstance != ulong.MaxValue;

    public ILogFile? File
    {
        get => Volatile.Read(ref _file);
        set => Volatile.Write(ref _file, value);
    }

    public void NoteAccept(ulong instance)
    {
        if (instance < MinInstance) MinInstance = instance;
        if (instance > MaxInstance) MaxInstance = instance;
    }
}
