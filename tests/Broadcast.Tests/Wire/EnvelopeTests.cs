using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

/// <summary><see cref="Envelope"/>: every message goes in and comes out unchanged (a member's frame path through envelopes
/// allocating nothing is <see cref="AtomicBcast.Tests.Node.FramePathAllocationTests"/>).</summary>
public sealed class EnvelopeTests
{
    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void EveryMessageComesOutOfItsEnvelopeAsItWentIn(string name)
    {
        var message = Samples.SmallByName(name);
        var envelope = Envelope.FromObject(message);
        Assert.Equal((MessageType)Encode(message)[4], envelope.Type); // the frame header's type byte
        Assert.Equal(message, envelope.ToObject());
    }

    /// <summary>The inline types' fields at their extremes: every bit of every field is kept (a field narrowed or mixed up
    /// with another would show here; the samples' round trips go through envelopes both ways and could not tell).</summary>
    [Fact]
    public void InlineFieldsKeepTheirExtremeValues()
    {
        var top = new Ballot(ulong.MaxValue);
        var next = new Ballot(ulong.MaxValue - 1);
        var batch = Batch(1, 1, 1, false);
        object[] messages =
        [
            new PreVoteMessage(top, long.MinValue, long.MaxValue),
            new PreVoteReplyMessage(top, true, long.MinValue),
            new PrepareMessage(top, long.MaxValue),
            new AcceptMessage(top, long.MaxValue, long.MinValue, batch),
            new AcceptedMessage(top, long.MinValue, long.MaxValue),
            new RejectedMessage(top, long.MinValue, next),
            new HeartbeatMessage(next, long.MaxValue),
            new FetchMessage(long.MinValue, int.MaxValue, int.MinValue),
            new FetchMessage(long.MaxValue, int.MinValue, int.MaxValue),
            new FetchReplyMessage(long.MinValue, top, (FetchStatus)byte.MaxValue, batch),
            new PublishMessage(ulong.MaxValue, ulong.MaxValue - 1, int.MinValue, batch),
            new PublishAckMessage(ulong.MaxValue, ulong.MaxValue - 1, int.MaxValue, (PublishStatus)byte.MaxValue, long.MinValue,
                ulong.MaxValue - 2, ushort.MaxValue),
            new PublishAckMessage(0, 1, int.MinValue, 0, long.MaxValue, 0, 1),
            new SubscribeMessage(long.MinValue),
        ];
        foreach (var message in messages) Assert.Equal(message, Envelope.FromObject(message).ToObject());
        batch.Release();
    }

    [Fact]
    public void AnAccessorOfAnotherTypeThrows()
    {
        Envelope heartbeat = new HeartbeatMessage(Ballot.Create(1, 1), 5);
        var e = Assert.Throws<InvalidOperationException>(() => heartbeat.AsAccept());
        Assert.Contains("AsAccept", e.Message);
        Assert.Contains("Heartbeat", e.Message);
        Envelope promise = new PromiseMessage(Ballot.Create(1, 1), 0, true, []);
        Assert.Throws<InvalidOperationException>(() => promise.AsPrepare());
        Assert.Throws<InvalidOperationException>(() => default(Envelope).ToObject());
        Assert.Throws<ArgumentException>(() => Envelope.FromObject("not a message"));
    }

    [Fact]
    public void OnlyTheInlineBatchIsExposedAsOne()
    {
        var batch = Batch(1, 1, 1, false);
        Assert.Same(batch, ((Envelope)new AcceptMessage(Ballot.Create(1, 1), 1, 0, batch)).InlineBatch);
        Assert.Same(batch, ((Envelope)new PublishMessage(1, 1, 1, batch)).InlineBatch);
        Assert.Same(batch, ((Envelope)new FetchReplyMessage(1, Ballot.Create(1, 1), FetchStatus.Chosen, batch)).InlineBatch);
        Assert.Null(((Envelope)new FetchReplyMessage(1, Ballot.Zero, FetchStatus.Unknown, null)).InlineBatch);
        // A delivery's batch is reached through the boxed message, never taken for an inline one.
        Assert.Null(((Envelope)new DeliverMessage(0, 1, [], batch)).InlineBatch);
        Assert.Null(((Envelope)new HeartbeatMessage(Ballot.Create(1, 1), 5)).InlineBatch);
        batch.Release();
    }
}
