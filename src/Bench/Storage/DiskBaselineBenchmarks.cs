using BenchmarkDotNet.Attributes;
using Microsoft.Win32.SafeHandles;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Bench.Storage;

/// <summary>
/// The disk's own figure, the same loop as <c>dd if=/dev/zero of=FILE bs=1M count=256 oflag=dsync</c>: 256 writes of
/// 1 MiB to a new file in the logs' file system, each followed by fdatasync. One operation = one 1 MiB block, so
/// MB/s = 1.048576 / (mean in seconds). Run it together with <see cref="GroupCommitLogBenchmarks"/> and --join
/// for the log's ratio to it.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(StorageBenchConfig))]
public class DiskBaselineBenchmarks
{
    public const int BlockBytes = 1 << 20;
    public const int Blocks = 256;

    private readonly byte[] _block = new byte[BlockBytes];
    private string _directory = "";
    private SafeFileHandle? _file;
    private string _path = "";

    [GlobalSetup]
    public void Setup() => _directory = BenchDirectory.Create("dd");

    [IterationSetup]
    public void OpenFile()
    {
        _path = Path.Combine(_directory, "dd.bin");
        _file = File.OpenHandle(_path, FileMode.Create, FileAccess.Write, FileShare.None);
    }

    [Benchmark(OperationsPerInvoke = Blocks)]
    public void DdDsync1MiBBlocks()
    {
        for (int i = 0; i < Blocks; i++)
        {
            RandomAccess.Write(_file!, _block, (long)i * BlockBytes);
            LibC.SyncData(_file!, _path);
        }
    }

    [IterationCleanup]
    public void CloseFile()
    {
        _file?.Dispose();
        File.Delete(_path);
    }

    [GlobalCleanup]
    public void Cleanup() => BenchDirectory.Delete(_directory);
}
