using System.Buffers;
using System.Net;
using System.Text;
using AtomicBcast.Tests.Wire;
using AtomicBcast.Transport;
using AtomicBcast.Transport.InMemory;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Security;

/// <summary>
/// The short in-process fuzzing run of CI: seeded mutations of valid frames (bit flips, byte sets, truncations,
/// insertions, length-field edits) through the same targets the AFL++ harness runs, and through a real hello exchange.
/// Bounded iterations, fixed seeds: the same inputs every run. The long run is AFL++ (docs/SECURITY.md).
/// </summary>
public class FuzzSmokeTests
{
    private const int Iterations = 20_000;

    [Fact]
    public void FrameDecoderSurvivesMutatedFrames() => Run(FuzzTargets.Frames, FrameCorpus(), seed: 1);

    [Fact]
    public void BatchDecoderSurvivesMutatedBatches() => Run(FuzzTargets.Batch, BatchCorpus(), seed: 2);

    [Fact]
    public void HelloParserSurvivesMutatedHellos() => Run(FuzzTargets.Hello, HelloCorpus(), seed: 3);

    /// <summary>Mutated initiator bytes against a real listener's hello exchange: every one ends in a reported refusal
    /// (none can prove a token), never in an exception that escapes or a hung exchange.</summary>
    [Fact]
    public async Task HelloExchangeRefusesMutatedInitiatorsCleanly()
    {
        const int count = 300;
        var network = new InMemoryNetwork();
        var refusals = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = HelloAuthTests.Member(1, "the-shared-cluster-secret") with
        {
            HelloTimeout = TimeSpan.FromSeconds(2),
            Auth = new HelloAuth
            {
                ClusterSecret = Encoding.UTF8.GetBytes("the-shared-cluster-secret"),
                ClientCredentials = [new ClientCredential("t", Encoding.UTF8.GetBytes("a-client-token-of-16+"), ClientRights.All)],
            },
            HandshakeFailed = (_, _) => { if (Interlocked.Increment(ref refusals) == count) done.TrySetResult(); },
        };
        var server = new InMemoryTransport(network, options);
        await using var listener = await server.ListenAsync(new InMemoryEndPoint("fuzz"));
        var client = new InMemoryTransport(network, options with { HandshakeFailed = null });
        var corpus = HelloCorpus();
        var random = new Random(4);
        for (int i = 0; i < count; i++)
        {
            var input = Mutate(corpus[random.Next(corpus.Count)], random);
            var raw = client.ConnectRaw(listener.LocalEndPoint);
            raw.Start();
            await raw.Output.WriteAsync(input);
            await raw.CloseAsync();
        }
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(count, refusals);
    }

    private static void Run(FuzzTarget target, List<byte[]> corpus, int seed)
    {
        var random = new Random(seed);
        foreach (var valid in corpus) target(valid);
        for (int i = 0; i < Iterations; i++) target(Mutate(corpus[random.Next(corpus.Count)], random));
    }

    private delegate void FuzzTarget(ReadOnlySpan<byte> data);

    /// <summary>One to four mutations of the kinds a coverage-guided fuzzer starts with.</summary>
    internal static byte[] Mutate(byte[] input, Random random)
    {
        var bytes = new List<byte>(input);
        int mutations = 1 + random.Next(4);
        for (int m = 0; m < mutations; m++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1 when bytes.Count > 0: bytes[at] = (byte)random.Next(256); break;
                case 2 when bytes.Count > 0: bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(16))); break;
                case 3: bytes.InsertRange(at, Enumerable.Range(0, 1 + random.Next(16)).Select(_ => (byte)random.Next(256))); break;
                case 4 when bytes.Count >= 4: // an interesting value in a length field at the front of a frame
                    uint[] lengths = [0, 1, 2, 0xFF, 0xFFFF, (uint)Limits.FrameBytesMax, (uint)Limits.FrameBytesMax + 1, uint.MaxValue, (uint)bytes.Count];
                    var value = lengths[random.Next(lengths.Length)];
                    for (int k = 0; k < 4 && at + k < bytes.Count; k++) bytes[at + k] = (byte)(value >> (8 * k));
                    break;
                case 5 when bytes.Count > 0: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
            }
        }
        return bytes.ToArray();
    }

    internal static List<byte[]> FrameCorpus() => Samples.Small().Select(s => WireTestKit.Encode(s.Message)).ToList();

    internal static List<byte[]> BatchCorpus()
    {
        var corpus = new List<byte[]>();
        foreach (var (_, message) in Samples.Small())
            if (message is AcceptMessage accept) corpus.Add(accept.Batch.Span.ToArray());
        var builder = new BatchBuilder(lz4ThresholdBytes: 64);
        var publish = Samples.Publish(7, 1, [new byte[10], new byte[200], Encoding.UTF8.GetBytes(new string('z', 300))]);
        if (builder.TryAppendRun(publish.Run.Span)) corpus.Add(builder.Seal().Span.ToArray());
        Assert.NotEmpty(corpus);
        return corpus;
    }

    internal static List<byte[]> HelloCorpus()
    {
        var corpus = new List<byte[]>();
        foreach (var (kind, id) in new[] { (PeerKind.Member, (ushort)2), (PeerKind.Publisher, (ushort)0), (PeerKind.Subscriber, (ushort)0) })
        {
            var writer = new ArrayBufferWriter<byte>();
            HelloCodec.Write(writer, new HelloMessage(HelloMessage.CurrentVersion, kind, id, "sec"), new byte[Limits.HelloNonceBytes]);
            HelloCodec.WriteProof(writer, new byte[Limits.HelloProofBytes]);
            corpus.Add(writer.WrittenSpan.ToArray());
        }
        var error = new ArrayBufferWriter<byte>();
        HelloCodec.Write(error, new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, 1, "sec"));
        MessageWriter.Write(error, new ErrorMessage(ErrorCode.Unauthenticated, "no"));
        corpus.Add(error.WrittenSpan.ToArray());
        return corpus;
    }
}
