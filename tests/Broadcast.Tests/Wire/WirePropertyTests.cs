using System.Buffers.Binary;
using AtomicBcast.Wire;
using CsCheck;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

/// <summary>
/// CsCheck generators drive the decoders with thousands of seeded cases. Cases are generated from a fixed PCG
/// sequence so every run is the same; a failure names the case's seed, which replays it through
/// <c>Check.Sample(gen, property, seed: "...")</c> (with shrinking).
/// </summary>
public class WirePropertyTests
{
    private const ulong Seed = 20261122;

    [Fact]
    public void GeneratedMessagesRoundTripWhereverTheFrameIsSplit()
    {
        var types = new HashSet<MessageType>();
        ForAll(WireGen.MessageAndCut, 3000, pair =>
        {
            var (message, cutSeed) = pair;
            var bytes = Encode(message);
            types.Add((MessageType)bytes[4]);
            int cut = (int)(cutSeed % (uint)(bytes.Length + 1));
            var decoded = DecodeOne(Segment.Split(bytes, cut));
            MessageRoundTripTests.AssertSameFields(message, decoded);
            Assert.Equal(bytes, Encode(decoded));
        });
        Assert.Equal(Enum.GetValues<MessageType>().Length, types.Count);
    }

    [Fact]
    public void MutatedFramesAreRejectedParsedOrWaitForMore()
    {
        var outcomes = new int[3];
        ForAll(WireGen.MutatedFrame, 5000, bytes =>
        {
            outcomes[(int)HostileKit.Feed(bytes)]++;
            outcomes[(int)HostileKit.Feed(Segment.Split(bytes, bytes.Length / 2))]++;
        });
        Assert.True(outcomes.All(n => n > 0), $"outcomes {string.Join(",", outcomes)}: the generator should reach every outcome");
    }

    [Fact]
    public void MutatedBatchesWithAValidCrcAreRejectedOrValid()
    {
        var outcomes = new int[3];
        ForAll(WireGen.MutatedBatch, 3000, batch => outcomes[(int)HostileKit.ValidateBatch(batch)]++);
        Assert.True(outcomes[(int)Outcome.Rejected] > 0 && outcomes[(int)Outcome.Parsed] > 0, $"outcomes {string.Join(",", outcomes)}");
    }

    private static void ForAll<T>(Gen<T> gen, int cases, Action<T> property)
    {
        var seeds = new PCG(1, Seed);
        for (int i = 0; i < cases; i++)
        {
            var pcg = new PCG(1, seeds.Next64());
            string replay = pcg.ToString();
            var value = gen.Generate(pcg, null!, out _);
            try
            {
                property(value);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"case {i} failed; replay with seed \"{replay}\": {e}");
            }
        }
    }
}

/// <summary>Generators of messages, batches and corruptions.</summary>
internal static class WireGen
{
    private static readonly Gen<Ballot> s_ballot = Gen.ULong.Select(v => new Ballot(v));
    private static readonly Gen<long> s_instance = Gen.Long[-1, 1L << 40];
    private static readonly Gen<string> s_text = Gen.Char['a', 'z'].Array[0, 64].Select(c => new string(c));

    /// <summary>A batch built through BatchBuilder from a seed: 0-4 runs of 1-6 messages of 0-150 bytes, LZ4 or not.</summary>
    public static readonly Gen<BatchBuffer> Batch = Gen.Select(Gen.Int[0, 4], Gen.Int[1, 6], Gen.Int[0, 150], Gen.Bool, Gen.Int, BuildBatch);

    private static readonly Gen<object> s_hello = Gen.Select(Gen.UShort, Gen.OneOf(Enum.GetValues<PeerKind>()), Gen.UShort, s_text,
        (v, k, n, id) => (object)new HelloMessage(v, k, n, id));
    private static readonly Gen<object> s_error = Gen.Select(Gen.OneOf(Enum.GetValues<ErrorCode>()), Gen.Char.Array[0, 300],
        (code, text) => (object)new ErrorMessage(code, SafeText(text)));
    private static readonly Gen<object> s_preVote = Gen.Select(s_ballot, s_instance, s_instance, (b, e, c) => (object)new PreVoteMessage(b, e, c));
    private static readonly Gen<object> s_preVoteReply = Gen.Select(s_ballot, Gen.Bool, s_instance, (b, g, e) => (object)new PreVoteReplyMessage(b, g, e));
    private static readonly Gen<object> s_prepare = Gen.Select(s_ballot, s_instance, (b, f) => (object)new PrepareMessage(b, f));
    private static readonly Gen<object> s_promise = Gen.Select(s_ballot, Gen.Long[0, 1L << 40], Gen.Bool, Gen.Int[0, 5], Gen.Int, BuildPromise);
    private static readonly Gen<object> s_accept = Gen.Select(s_ballot, s_instance, s_instance, Batch, (b, i, c, batch) => (object)new AcceptMessage(b, i, c, batch));
    private static readonly Gen<object> s_accepted = Gen.Select(s_ballot, s_instance, s_instance, (b, f, l) => (object)new AcceptedMessage(b, f, l));
    private static readonly Gen<object> s_rejected = Gen.Select(s_ballot, s_instance, s_ballot, (b, i, p) => (object)new RejectedMessage(b, i, p));
    private static readonly Gen<object> s_heartbeat = Gen.Select(s_ballot, s_instance, (b, c) => (object)new HeartbeatMessage(b, c));
    private static readonly Gen<object> s_fetch = Gen.Select(s_instance, Gen.Int[1, int.MaxValue], Gen.Int[1, int.MaxValue], (f, c, b) => (object)new FetchMessage(f, c, b));
    private static readonly Gen<object> s_fetchReply = Gen.Select(s_instance, s_ballot, Gen.OneOf(Enum.GetValues<FetchStatus>()), Batch,
        (i, b, s, batch) => (object)new FetchReplyMessage(i, b, s, s == FetchStatus.Chosen ? batch : null));
    private static readonly Gen<object> s_checkpoint = Gen.Select(Gen.Long[0, 1L << 40], Gen.Long[0, long.MaxValue], Gen.ULong[1, 1000].Array[0, 20],
        (i, p, ids) => (object)new CheckpointMessage(i, p, ids.Distinct().Order().Select(id => new ProducerRecord(id, id * 3, (long)(id % (ulong)(i + 1)))).ToArray()));
    private static readonly Gen<object> s_publish = Gen.Select(Gen.ULong, Gen.ULong, Gen.Byte.Array[0, 200].Array[1, 8],
        (p, f, payloads) => (object)Samples.Publish(p, f, payloads));
    private static readonly Gen<object> s_publishAck = Gen.Select(Gen.ULong, Gen.ULong, Gen.Int, Gen.OneOf(Enum.GetValues<PublishStatus>()), Gen.Long, Gen.ULong, Gen.UShort,
        (p, f, c, s, pos, e, l) => (object)new PublishAckMessage(p, f, c, s, pos, e, l));
    private static readonly Gen<object> s_subscribe = Gen.Long.Select(p => (object)new SubscribeMessage(p));
    private static readonly Gen<object> s_deliver = Gen.Select(Gen.Long, s_instance, Batch, Gen.Int, BuildDeliver);
    private static readonly Gen<object> s_statusRequest = Gen.Const((object)new StatusRequestMessage());
    private static readonly Gen<object> s_statusReply = Gen.Select(Gen.UShort, Gen.OneOf(Enum.GetValues<MemberRole>()), Gen.Bool, Gen.UShort,
        s_ballot, Gen.Long.Array[12 + SyncLatencyFigures.Buckets + 1], (n, r, h, l, b, v) => (object)new StatusReplyMessage(n, r, h, l, b,
            v[0], v[1], v[2], v[3], v[4], v[5], new ProcessFigures(v[6], v[7], v[8], v[9], v[10], v[11]), SyncFigures(v.AsSpan(12))));

    private static SyncLatencyFigures SyncFigures(ReadOnlySpan<long> v)
    {
        var counts = new SyncLatencyCounts();
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++) counts[k] = v[k];
        return new SyncLatencyFigures(counts, v[SyncLatencyFigures.Buckets]);
    }

    public static readonly Gen<object> Message = Gen.OneOf(s_hello, s_error, s_preVote, s_preVoteReply, s_prepare, s_promise, s_accept,
        s_accepted, s_rejected, s_heartbeat, s_fetch, s_fetchReply, s_checkpoint, s_publish, s_publishAck, s_subscribe, s_deliver, s_statusRequest, s_statusReply);

    public static readonly Gen<(object, uint)> MessageAndCut = Gen.Select(Message, Gen.UInt);

    /// <summary>An encoded message with 1-4 corruptions: overwritten bytes, boundary u32s, truncation, extension.</summary>
    public static readonly Gen<byte[]> MutatedFrame = Gen.Select(Message, Gen.Int[1, 4], Gen.Int, (m, n, seed) => Mutate(Encode(m), n, new Random(seed), reseal: false));

    /// <summary>A batch with 1-3 corruptions and its CRC recomputed, so the damage reaches LZ4 and the run walk.</summary>
    public static readonly Gen<byte[]> MutatedBatch = Gen.Select(Batch, Gen.Int[1, 3], Gen.Int, (b, n, seed) => Mutate(b.Span.ToArray(), n, new Random(seed), reseal: true));

    private static readonly uint[] s_boundaries =
        [0, 1, 2, 24, 25, uint.MaxValue, int.MaxValue, Limits.FrameBytesMax, Limits.FrameBytesMax + 1, Limits.BatchBytesMax + 1, Limits.MessageBytesMax + 1];

    private static byte[] Mutate(byte[] bytes, int mutations, Random random, bool reseal)
    {
        int start = reseal ? 4 : 0;
        for (int i = 0; i < mutations && bytes.Length > start; i++)
        {
            int offset = random.Next(start, bytes.Length);
            switch (random.Next(5))
            {
                case 0: bytes[offset] = (byte)random.Next(256); break;
                case 1: bytes[offset] ^= (byte)(1 << random.Next(8)); break;
                case 2:
                    if (offset + 4 <= bytes.Length) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), s_boundaries[random.Next(s_boundaries.Length)]);
                    break;
                case 3: bytes = bytes[..offset]; break;
                default: bytes = [.. bytes, .. RandomPayload(random, random.Next(1, 30))]; break;
            }
        }
        if (reseal && bytes.Length >= 4) BatchTests.Reseal(bytes);
        return bytes;
    }

    private static BatchBuffer BuildBatch(int runs, int messagesPerRun, int payloadBytes, bool lz4, int seed)
    {
        var random = new Random(seed);
        var builder = new BatchBuilder(lz4 ? 0 : int.MaxValue);
        for (int r = 0; r < runs; r++)
        {
            builder.BeginRun((ulong)random.NextInt64(), (ulong)random.NextInt64());
            for (int m = 0; m < messagesPerRun; m++)
                builder.TryAppendMessage(random.Next(2) == 0 ? Payload(random.Next(payloadBytes + 1), seed) : RandomPayload(random, random.Next(payloadBytes + 1)));
            builder.EndRun();
        }
        return builder.Seal();
    }

    private static object BuildPromise(Ballot ballot, long from, bool last, int records, int seed)
    {
        var random = new Random(seed);
        var list = new PromiseRecord[records];
        long instance = from;
        for (int i = 0; i < records; i++)
        {
            instance += random.Next(1, 5);
            list[i] = new PromiseRecord(instance, new Ballot((ulong)random.NextInt64()), BuildBatch(random.Next(3), 2, 30, random.Next(2) == 0, random.Next()));
        }
        return new PromiseMessage(ballot, from, last, list);
    }

    private static object BuildDeliver(long firstPosition, long instance, BatchBuffer batch, int seed)
    {
        var random = new Random(seed);
        int runs = BatchHeader.Read(batch.Span).RunCount;
        var skipped = Enumerable.Range(0, runs).Where(_ => random.Next(3) == 0).Select(r => (ushort)r).ToArray();
        return new DeliverMessage(firstPosition, instance, skipped, batch);
    }

    /// <summary>Lone surrogates do not survive UTF-8; keep the text encodable (the writer would reject it otherwise).</summary>
    private static string SafeText(char[] chars) =>
        new(chars.Select(c => char.IsSurrogate(c) ? '?' : c).Take(Limits.ErrorTextBytesMax / 3).ToArray());
}
