namespace AtomicBcast.Node;

/// <summary>
/// Exclusive ownership of a member's data directory for the life of one process, so two members never write
/// the same log. Uses an OS file lock (released by the kernel if the process dies, even by kill -9) on
/// <c>LOCK</c>, and records the holder (pid, host, start time) in <c>LOCK.owner</c> so a refused second process
/// can name it. Does not protect against a process that ignores the lock.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string LockFileName = "LOCK";
    public const string OwnerFileName = "LOCK.owner";

    private readonly FileStream _lock;

    private DataDirectoryLock(FileStream lockStream, string directory)
    {
        _lock = lockStream;
        Directory = directory;
    }

    public string Directory { get; }

    /// <summary>Creates the directory if needed and takes the lock, or throws <see cref="DataDirectoryLockedException"/>.</summary>
    public static DataDirectoryLock Acquire(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var lockPath = Path.Combine(directory, LockFileName);
        var ownerPath = Path.Combine(directory, OwnerFileName);
        FileStream stream;
        try
        {
            // FileShare.None makes .NET take flock(LOCK_EX | LOCK_NB) on Unix.
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new DataDirectoryLockedException(directory, ReadOwner(ownerPath));
        }
        File.WriteAllText(ownerPath,
            $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n");
        return new DataDirectoryLock(stream, directory);
    }

    private static string ReadOwner(string ownerPath)
    {
        try
        {
            return File.ReadAllText(ownerPath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "an unknown process";
        }
    }

    public void Dispose() => _lock.Dispose();
}

/// <summary>The data directory is held by another process, named in the message.</summary>
public sealed class DataDirectoryLockedException(string directory, string holder)
    : Exception($"data directory '{directory}' is locked by {holder}");
