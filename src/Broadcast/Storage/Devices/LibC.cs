using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AtomicBcast.Storage.Devices;

/// <summary>
/// The syncs .NET does not give us reliably: on Linux, <c>FileStream.Flush(true)</c> and
/// <c>RandomAccess.FlushToDisk</c> ignore fsync failures, and a log that is not told its sync failed acknowledges
/// records it may have lost. Every result here is checked; EINTR is retried.
/// </summary>
internal static partial class LibC
{
    private const int EINTR = 4;
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000; // same value on x86-64 and arm64

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    public static void SyncData(SafeFileHandle file, string path)
    {
        int result;
        do result = FDataSync(file); while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (result != 0) ThrowErrno("fdatasync", path);
    }

    public static void SyncAll(SafeFileHandle file, string path)
    {
        int result;
        do result = FSync(file); while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (result != 0) ThrowErrno("fsync", path);
    }

    /// <summary>fsync of a directory, so the files created, renamed or deleted in it stay that way.</summary>
    public static void SyncDirectory(string path)
    {
        int fd;
        do fd = Open(path, O_RDONLY | O_CLOEXEC); while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (fd < 0) ThrowErrno("open", path);
        try
        {
            int result;
            do result = FSync(fd); while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (result != 0) ThrowErrno("fsync", path);
        }
        finally
        {
            Close(fd);
        }
    }

    private static void ThrowErrno(string call, string path)
    {
        int errno = Marshal.GetLastPInvokeError();
        throw new IOException($"{call}({path}) failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})", errno);
    }
}
