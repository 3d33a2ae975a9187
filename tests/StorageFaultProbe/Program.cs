using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.StorageFaultProbe;

/// <summary>
/// Opens a log in the directory given as the only argument and appends a few accepts, each awaited for
/// durability. Prints one line per append: "ACK address" when the log said it is durable, "FAIL type: message"
/// otherwise; then "SAME" if every failure was the one stored exception. Run it under
/// <c>strace -f -e inject=fdatasync:error=EIO</c> and no line may say ACK.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: StorageFaultProbe <log directory>");
            return 2;
        }
        var options = new GroupCommitLogOptions { Directory = args[0], MemberId = 1, ClusterId = "probe", SegmentBytes = 1 << 20 };
        using var log = GroupCommitLog.Open(options);
        var failures = new List<Exception>();
        for (ulong instance = 0; instance < 5; instance++)
        {
            try
            {
                var address = await log.AppendAcceptAsync(instance, Ballot.Create(1, 1), new byte[] { 1, 2, 3, (byte)instance });
                Console.WriteLine($"ACK {address}");
            }
            catch (Exception e)
            {
                failures.Add(e);
                Console.WriteLine($"FAIL {e.GetType().Name}: {e.Message}");
            }
        }
        if (failures.Count > 0 && failures.All(f => ReferenceEquals(f, failures[0])) && ReferenceEquals(log.Failure, failures[0]))
            Console.WriteLine("SAME");
        return 0;
    }
}
