using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.HostileKit;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

/// <summary>StatusRequest / StatusReply: the documented layout and what a hostile peer could send instead.</summary>
public class StatusMessageTests
{
    private static readonly StatusReplyMessage s_reply =
        new(2, MemberRole.Follower, false, 1, Ballot.Create(5, 1), 300, 299, 4000, 1 << 20, 280, 100,
            new ProcessFigures(12_345, 40, 7, 1, 5L << 30, 300L << 20), SyncFigures(31_000));

    /// <summary>Figures with a distinct count in every bucket (k * 1000 + 7) and the given slowest sync.</summary>
    private static SyncLatencyFigures SyncFigures(long slowestMicros)
    {
        var counts = new SyncLatencyCounts();
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++) counts[k] = k * 1000 + 7;
        return new SyncLatencyFigures(counts, slowestMicros);
    }

    [Fact]
    public void RequestIsABareHeaderAndReplyHasTheDocumentedLayout()
    {
        Assert.Equal([2, 0, 0, 0, (byte)MessageType.StatusRequest, 0], Encode(new StatusRequestMessage()));
        var bytes = Encode(s_reply);
        Assert.Equal(6 + MessageLayout.StatusReplyBytes, bytes.Length);
        Assert.Equal((byte)MessageType.StatusReply, bytes[4]);
        Assert.Equal([2, 0, (byte)MemberRole.Follower, 0, 1, 0], bytes[6..12]);
        Assert.Equal(Ballot.Create(5, 1).Value, BitConverter.ToUInt64(bytes, 12));
        Assert.Equal(100, BitConverter.ToInt64(bytes, 6 + 54));
        Assert.Equal(12_345, BitConverter.ToInt64(bytes, 6 + 62));
        Assert.Equal(300L << 20, BitConverter.ToInt64(bytes, 6 + 102));
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++) Assert.Equal(k * 1000 + 7, BitConverter.ToInt64(bytes, 6 + 110 + 8 * k));
        Assert.Equal(31_000, BitConverter.ToInt64(bytes, 6 + 110 + 8 * SyncLatencyFigures.Buckets));
        var read = (StatusReplyMessage)DecodeOne(bytes);
        Assert.Equal(s_reply, read);
        Assert.NotEqual(s_reply with { LogSync = SyncFigures(31_001) }, read);
    }

    [Fact]
    public void AReplyWithoutLogSyncFiguresFromAnOlderMemberReadsAsUnknownSyncFigures()
    {
        var older = WithBody(Encode(s_reply), MessageLayout.StatusReplyWithoutLogSyncBytes);
        var read = (StatusReplyMessage)DecodeOne(older);
        Assert.Equal(s_reply with { LogSync = SyncLatencyFigures.Unknown }, read);
        Assert.True(read.Process.IsKnown);
        Assert.False(read.LogSync.IsKnown);
    }

    [Fact]
    public void AReplyWithoutProcessFiguresFromAnOlderMemberReadsAsUnknownFigures()
    {
        var older = WithBody(Encode(s_reply), MessageLayout.StatusReplyWithoutProcessBytes);
        var read = (StatusReplyMessage)DecodeOne(older);
        Assert.Equal(s_reply with { Process = ProcessFigures.Unknown, LogSync = SyncLatencyFigures.Unknown }, read);
        Assert.False(read.Process.IsKnown);
    }

    [Fact]
    public void ThisProcessFiguresAreKnownAndPlausible()
    {
        var before = ProcessFigures.OfThisProcess();
        _ = new byte[100_000];
        var after = ProcessFigures.OfThisProcess();
        Assert.True(before.IsKnown && after.CpuMs >= before.CpuMs && after.AllocatedBytes > before.AllocatedBytes);
        Assert.True(after.Gen0Collections >= after.Gen1Collections && after.Gen1Collections >= after.Gen2Collections);
        Assert.True(after.WorkingSetBytes > 0);
    }

    [Fact]
    public void AnUnknownRoleOrHaltedFlagIsRejected()
    {
        var bytes = Encode(s_reply);
        for (int role = 0; role < 256; role++)
        {
            bytes[6 + 2] = (byte)role;
            Assert.Equal(Enum.IsDefined((MemberRole)role) ? Outcome.Parsed : Outcome.Rejected, Feed(bytes));
        }
        bytes[6 + 2] = 0;
        for (int halted = 0; halted < 256; halted++)
        {
            bytes[6 + 3] = (byte)halted;
            Assert.Equal(halted <= 1 ? Outcome.Parsed : Outcome.Rejected, Feed(bytes));
        }
    }

    [Fact]
    public void ABodyOfAnyOtherLengthIsRejected()
    {
        var request = Encode(new StatusRequestMessage());
        Assert.Equal(Outcome.Rejected, Feed(WithBody(request, 1)));
        var reply = Encode(s_reply);
        Assert.Equal(Outcome.Rejected, Feed(WithBody(reply, reply.Length - 6 + 1)));
        Assert.Equal(Outcome.Rejected, Feed(WithBody(reply, reply.Length - 6 - 1)));
    }

    /// <summary>The frame with its body cut or zero-extended to <paramref name="bodyBytes"/> and its length field to match.</summary>
    private static byte[] WithBody(byte[] frame, int bodyBytes)
    {
        var bytes = new byte[6 + bodyBytes];
        frame.AsSpan(0, Math.Min(frame.Length, bytes.Length)).CopyTo(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bodyBytes + 2);
        return bytes;
    }
}
