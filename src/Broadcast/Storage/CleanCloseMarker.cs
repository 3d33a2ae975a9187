using System.Buffers.Binary;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

/// <summary>
/// The note a log leaves when it was closed cleanly: "every record below this address was written and synced".
///
/// Why: after a crash, damage inside the newest flush looks exactly like a torn unsynced write and recovery cuts
/// it, which is right for a crash but silently drops acknowledged records when the damage is media corruption.
/// After a clean close nothing can be torn, so with the marker present recovery treats any bad or missing record
/// below the marked address as corruption instead. The marker is removed (and the removal made durable) before the
/// reopened log takes a new append, so a later crash is judged by the crash rules again.
///
/// Layout (24 bytes): magic u64 | tail address u64 | CRC32C of the first 16 bytes u32 | 4 zero bytes.
/// Written as a temporary file, synced, renamed, directory synced: a marker that exists is whole.
/// </summary>
internal static class CleanCloseMarker
{
    public const string FileName = "clean-close";
    private const string TemporaryName = FileName + ".tmp";
    private const ulong Magic = 0x45534F4C_434E4C43; // "CLNCLOSE" in little-endian bytes
    private const int Bytes = 24;

    public static void Write(ILogDevice device, ulong tail)
    {
        Span<byte> bytes = stackalloc byte[Bytes];
        bytes.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], tail);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], Crc32C.Compute(bytes[..16]));
        device.Delete(TemporaryName);
        using (var file = device.Create(TemporaryName, Bytes))
        {
            file.Write(0, bytes);
            file.SyncAll();
        }
        device.Rename(TemporaryName, FileName);
        device.SyncDirectory();
    }

    /// <summary>The marked tail, or null when there is no marker. A marker that fails its check is reported, not trusted.</summary>
    public static ulong? TryRead(ILogDevice device, out string? problem)
    {
        problem = null;
        if (!device.ListFiles().Contains(FileName)) return null;
        Span<byte> bytes = stackalloc byte[Bytes];
        using (var file = device.Open(FileName))
            if (file.Read(0, bytes) != Bytes) return Reject(out problem, "it is shorter than a marker");
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes) != Magic) return Reject(out problem, "its magic is wrong");
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]) != Crc32C.Compute(bytes[..16])) return Reject(out problem, "its checksum is wrong");
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
    }

    private static ulong? Reject(out string? problem, string why)
    {
        problem = why;
        return null;
    }

    /// <summary>Removes the marker (and any half-written one) durably. Must precede the first new append.</summary>
    public static void Remove(ILogDevice device)
    {
        var files = device.ListFiles();
        if (!files.Contains(FileName) && !files.Contains(TemporaryName)) return;
        device.Delete(FileName);
        device.Delete(TemporaryName);
        device.SyncDirectory();
    }
}
