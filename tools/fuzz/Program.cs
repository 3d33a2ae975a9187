using AtomicBcast.Tests.Security;
using SharpFuzz;

namespace AtomicBcast.Fuzz;

/// <summary>
/// <c>abcast-fuzz all|frames|batch|hello</c> under afl-fuzz (persistent mode, input on stdin), or
/// <c>abcast-fuzz TARGET --replay FILE...</c> to run inputs (a crash AFL++ found) once, outside AFL.
/// The AtomicBcast assembly must be instrumented first (<c>sharpfuzz AtomicBcast.dll</c>); see docs/SECURITY.md.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["seeds", var dir])
        {
            Directory.CreateDirectory(dir);
            foreach (var (name, input) in FuzzTargets.Seeds()) File.WriteAllBytes(Path.Combine(dir, name), input);
            return 0;
        }
        if (args.Length == 0 || Target(args[0]) is not { } target)
        {
            Console.Error.WriteLine("usage: abcast-fuzz all|frames|batch|hello [--replay FILE...] | abcast-fuzz seeds DIR");
            return 2;
        }
        if (args.Length > 1 && args[1] == "--replay")
        {
            foreach (var file in args.Skip(2)) target(File.ReadAllBytes(file));
            Console.WriteLine($"replayed {args.Length - 2} inputs: no finding");
            return 0;
        }
        // AFL++ persistent mode: one process runs input after input from AFL's shared memory; an exception is a crash.
        Fuzzer.Run(stream =>
        {
            using var input = new MemoryStream();
            stream.CopyTo(input);
            target(input.GetBuffer().AsSpan(0, (int)input.Length));
        });
        return 0;
    }

    private static ReadOnlySpanAction? Target(string name) => name switch
    {
        "all" => FuzzTargets.All,
        "frames" => FuzzTargets.Frames,
        "batch" => FuzzTargets.Batch,
        "hello" => FuzzTargets.Hello,
        _ => null,
    };

    private delegate void ReadOnlySpanAction(ReadOnlySpan<byte> data);
}
