using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Bench.Storage;

/// <summary>
/// Group-commit throughput with fdatasync on (the default <see cref="DurabilityMode.Sync"/>), on real files under
/// /tmp. One operation = one record; the method name says the record's size on disk (32 bytes of accept header +
/// batch bytes). Each of <see cref="Appenders"/> concurrent appenders appends with TryAppendAccept and waits for
/// durability every few records, keeping about 8 MiB in flight in total (an acceptor answering a leader's
/// pipelined window behaves the same). Retention of 128 MiB is applied after each iteration, so the log, its
/// index and the disk usage stay in steady state.
/// Columns: Records/s and MB/s from the mean; Fsyncs/s from the log's flush count; "vs dd" = MB/s over the
/// DiskBaselineBenchmarks figure when run together with --join.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(StorageBenchConfig))]
public class GroupCommitLogBenchmarks
{
    public const long BytesPerInvoke = 64 << 20;
    private const long InFlightBytes = 8 << 20;
    private static readonly Ballot s_ballot = Ballot.Create(1, 1);

    [Params(1, 4, 16)]
    public int Appenders { get; set; }

    private GroupCommitLog _log = null!;
    private string _directory = "";
    private readonly ulong[] _nextInstance = new ulong[16];
    private readonly Task[] _loops = new Task[16];
    private readonly RoundSignal[] _go = new RoundSignal[16];
    private CountdownEvent _done = null!;
    private volatile bool _stopping;
    private byte[] _payload = [];
    private int _recordBytes;
    private int _window;
    private long _records;

    [GlobalSetup(Target = nameof(Append64B))] public void Setup64B() => Setup(64);
    [GlobalSetup(Target = nameof(Append1KiB))] public void Setup1KiB() => Setup(1024);
    [GlobalSetup(Target = nameof(Append64KiB))] public void Setup64KiB() => Setup(64 << 10);

    private void Setup(int recordBytes)
    {
        _recordBytes = recordBytes;
        _payload = new byte[recordBytes - 32];
        new Random(1).NextBytes(_payload);
        _window = (int)Math.Max(1, InFlightBytes / Appenders / recordBytes);
        _directory = BenchDirectory.Create("log");
        int live = (int)Math.Min(1 << 24, (256L << 20) / recordBytes);
        _log = GroupCommitLog.Open(new GroupCommitLogOptions
        {
            Directory = _directory,
            MemberId = 1,
            ClusterId = "bench",
            IndexCapacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)live),
        });
        for (int i = 0; i < _nextInstance.Length; i++) _nextInstance[i] = (ulong)i;
        _done = new CountdownEvent(Appenders);
        for (int i = 0; i < Appenders; i++)
        {
            int id = i;
            _go[i] = new RoundSignal();
            _loops[i] = Task.Run(() => AppenderLoop(id));
        }
    }

    [Benchmark(OperationsPerInvoke = (int)(BytesPerInvoke / 64))]
    public void Append64B() => Run();

    [Benchmark(OperationsPerInvoke = (int)(BytesPerInvoke / 1024))]
    public void Append1KiB() => Run();

    [Benchmark(OperationsPerInvoke = (int)(BytesPerInvoke / (64 << 10)))]
    public void Append64KiB() => Run();

    /// <summary>One round: every appender appends its share; the appenders are long-lived loops, so a round allocates nothing.</summary>
    private void Run()
    {
        _done.Reset(Appenders);
        for (int i = 0; i < Appenders; i++) _go[i].Signal();
        _done.Wait();
        _records += (long)(BytesPerInvoke / _recordBytes / Appenders) * Appenders;
    }

    private async Task AppenderLoop(int id)
    {
        int perAppender = (int)(BytesPerInvoke / _recordBytes / Appenders);
        while (true)
        {
            await _go[id].WaitAsync();
            _go[id].Reset();
            if (_stopping) return;
            await Append(id, perAppender);
            _done.Signal();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask Append(int id, int records)
    {
        var log = _log;
        var payload = _payload;
        ulong instance = _nextInstance[id];
        ulong stride = (ulong)Appenders;
        int window = _window, pending = 0;
        LogAddress last = default;
        for (int i = 0; i < records; i++)
        {
            if (!log.TryAppendAccept(instance, s_ballot, payload, out last))
                last = await log.AppendAcceptAsync(instance, s_ballot, payload); // every buffer full: wait for room
            instance += stride;
            if (++pending == window)
            {
                pending = 0;
                await log.WaitForDurableAsync(last);
            }
        }
        if (pending > 0) await log.WaitForDurableAsync(last);
        _nextInstance[id] = instance;
    }

    [IterationCleanup]
    public void Retain() => _log.TrimAsync(TrimRequest.RetainBytes(128 << 20)).GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        for (int i = 0; i < Appenders; i++) _go[i].Signal();
        Task.WaitAll(_loops.AsSpan(0, Appenders));
        long flushes = _log.FlushCount;
        _log.Dispose();
        BenchDirectory.Delete(_directory);
        Directory.CreateDirectory(BenchDirectory.Stats);
        File.WriteAllText(BenchDirectory.StatsFile($"log-{_recordBytes}-{Appenders}"), $"{flushes} {_records}");
    }
}
