namespace AtomicBcast.Storage.Devices;

/// <summary>
/// The directory a log lives in: the seam between the log and the disk (FASTER's IDevice). The real one is
/// <see cref="FileLogDevice"/>; <see cref="SimulatedLogDevice"/> loses unsynced writes at a crash, tears writes,
/// flips bits and fails writes and syncs on demand.
///
/// Directory changes (create, rename, delete) are durable only after <see cref="SyncDirectory"/>.
/// Every failure is an <see cref="IOException"/>.
/// </summary>
public interface ILogDevice
{
    /// <summary>A name for messages, e.g. the directory path.</summary>
    string Name { get; }

    /// <summary>The names of the files in the directory (no paths).</summary>
    IReadOnlyList<string> ListFiles();

    /// <summary>Opens an existing file for reading and writing.</summary>
    ILogFile Open(string fileName);

    /// <summary>Creates a new file of <paramref name="length"/> bytes, space reserved where the device can.</summary>
    ILogFile Create(string fileName, long length);

    void Rename(string fromFileName, string toFileName);

    void Delete(string fileName);

    /// <summary>Makes the directory's entries durable (fsync of the directory).</summary>
    void SyncDirectory();
}
