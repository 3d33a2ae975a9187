using Microsoft.Win32.SafeHandles;

namespace AtomicBcast.Storage.Devices;

/// <summary>A directory on a real file system: pwrite/pread through <see cref="RandomAccess"/>, syncs through <see cref="LibC"/>.</summary>
public sealed class FileLogDevice : ILogDevice
{
    private readonly string _directory;

    public FileLogDevice(string directory)
    {
        _directory = Path.GetFullPath(directory);
        if (!Directory.Exists(_directory))
        {
            Directory.CreateDirectory(_directory);
            string? parent = Path.GetDirectoryName(_directory);
            if (parent is not null) LibC.SyncDirectory(parent);
        }
    }

    public string Name => _directory;

    public IReadOnlyList<string> ListFiles()
    {
        var names = new List<string>();
        foreach (string path in Directory.EnumerateFiles(_directory)) names.Add(Path.GetFileName(path));
        return names;
    }

    public ILogFile Open(string fileName)
    {
        string path = PathOf(fileName);
        return new RealFile(System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None), path);
    }

    public ILogFile Create(string fileName, long length)
    {
        string path = PathOf(fileName);
        // preallocationSize reserves the blocks (fallocate), so a full disk fails here, not in the middle of a flush.
        var handle = System.IO.File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
            FileOptions.None, preallocationSize: length);
        try
        {
            RandomAccess.SetLength(handle, length);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        return new RealFile(handle, path);
    }

    public void Rename(string fromFileName, string toFileName) =>
        System.IO.File.Move(PathOf(fromFileName), PathOf(toFileName), overwrite: false);

    public void Delete(string fileName) => System.IO.File.Delete(PathOf(fileName));

    public void SyncDirectory() => LibC.SyncDirectory(_directory);

    private string PathOf(string fileName)
    {
        if (fileName.Contains('/') || fileName is "." or "..") throw new ArgumentException($"not a plain file name: {fileName}");
        return Path.Combine(_directory, fileName);
    }

    private sealed class RealFile(SafeFileHandle handle, string path) : ILogFile
    {
        public long Length => RandomAccess.GetLength(handle);
        public void Write(long offset, ReadOnlySpan<byte> bytes) => RandomAccess.Write(handle, bytes, offset);
        public int Read(long offset, Span<byte> bytes)
        {
            int total = 0;
            while (total < bytes.Length)
            {
                int read = RandomAccess.Read(handle, bytes[total..], offset + total);
                if (read == 0) break;
                total += read;
            }
            return total;
        }
        public void SyncData() => LibC.SyncData(handle, path);
        public void SyncAll() => LibC.SyncAll(handle, path);
        public void SetLength(long length) => RandomAccess.SetLength(handle, length);
        public void Dispose() => handle.Dispose();
    }
}
