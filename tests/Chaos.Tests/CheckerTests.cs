using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Tests;

/// <summary>Each property of the checker: a clean history passes, and a history that breaks it is flagged by exactly that verdict.</summary>
public class CheckerTests
{
    private static Dictionary<string, Verdict> Judge(SyntheticHistory h) => Checker.Check(h.Build()).ToDictionary(v => v.Property);

    /// <summary>The properties that flagged something.</summary>
    private static string[] Violated(SyntheticHistory h) => Judge(h).Values.Where(v => !v.Ok).Select(v => v.Property).Order().ToArray();

    [Fact]
    public void CleanHistoryPassesEveryProperty()
    {
        var verdicts = Judge(SyntheticHistory.Clean());
        Assert.Equal(["acked-durable", "agreement", "fifo", "integrity", "no-duplicates", "scenario", "total-order", "unknown-at-most-once"],
            verdicts.Keys.Order().ToArray());
        Assert.All(verdicts.Values, v => Assert.True(v.Ok, $"{v.Property}: {string.Join("; ", v.Examples)}"));
    }

    [Fact]
    public void AStreamStartingAtARetainedFloorIsNotAGap()
    {
        var h = SyntheticHistory.Clean();
        h.Streams["audit-1"].RemoveRange(0, 5);
        h.From["audit-1"] = 5;
        h.Streams["audit-2"].RemoveRange(0, 12);
        h.From["audit-2"] = 12;
        Assert.Empty(Violated(h));
    }

    [Fact]
    public void UnknownAndUnansweredOutcomesMayBeDeliveredOnceOrNever()
    {
        var h = SyntheticHistory.Clean();
        h.Publish("1:10", p => p with { Outcome = Outcome.Unknown, Position = -1 });   // delivered (at 18)
        h.Publishes.Add(new PublishRecord("1:11", 1, 11, 500, Outcome.Unknown, -1, 600, SyntheticHistory.Hash(1, 11)));   // never delivered
        h.Publish("2:10", p => p with { Outcome = Outcome.AckedNoPosition, Position = -1 });
        Assert.Empty(Violated(h));
    }

    [Fact]
    public void IntegrityFlagsAMessageNeverPublished()
    {
        var h = SyntheticHistory.Clean();
        h.AllStreams(s => s.Add(new DeliveryRecord(20, "9:1", "HXX", 999)));
        Assert.Contains("integrity", Violated(h));
    }

    [Fact]
    public void IntegrityFlagsChangedBytes()
    {
        var h = SyntheticHistory.Clean();
        h.AllStreams(s => s[3] = s[3] with { Hash = "CORRUPT" });
        Assert.Equal(["integrity"], Violated(h));
    }

    [Fact]
    public void NoDuplicatesFlagsAMessageDeliveredTwiceInOneStream()
    {
        var h = SyntheticHistory.Clean();
        var first = h.Streams["live-1"][0];
        h.AllStreams(s => s.Add(first with { Position = 20 }));
        Assert.Contains("no-duplicates", Violated(h));
    }

    [Fact]
    public void NoDuplicatesFlagsAMessageAtTwoPositionsAcrossStreams()
    {
        var h = SyntheticHistory.Clean();
        h.AllStreams(s => s.RemoveAt(s.Count - 1));   // position 19 ('2:10') is gone everywhere...
        h.Publish("2:10", p => p with { Outcome = Outcome.Unknown, Position = -1 });
        h.Streams["live-1"].Add(new DeliveryRecord(19, "1:1", SyntheticHistory.Hash(1, 1), 999));   // ...and live-1 sees '1:1' again there
        h.Streams["live-2"].Add(new DeliveryRecord(19, "1:1", SyntheticHistory.Hash(1, 1), 999));
        h.Streams["audit-1"].Add(new DeliveryRecord(19, "1:1", SyntheticHistory.Hash(1, 1), 999));
        h.Streams["audit-2"].Add(new DeliveryRecord(19, "1:1", SyntheticHistory.Hash(1, 1), 999));
        Assert.Contains("no-duplicates", Violated(h));
    }

    [Fact]
    public void TotalOrderFlagsAGapInAStream()
    {
        var h = SyntheticHistory.Clean();
        h.Streams["live-2"].RemoveAt(7);
        Assert.Contains("total-order", Violated(h));
    }

    [Fact]
    public void TotalOrderFlagsAStreamThatDoesNotStartWhereItAsked()
    {
        var h = SyntheticHistory.Clean();
        h.Streams["live-2"].RemoveAt(0);
        Assert.Contains("total-order", Violated(h));
    }

    [Fact]
    public void TotalOrderFlagsTwoStreamsDisagreeingOnAPosition()
    {
        var h = SyntheticHistory.Clean();
        var s = h.Streams["live-2"];
        (s[4], s[5]) = (s[5] with { Position = 4 }, s[4] with { Position = 5 });
        Assert.Contains("total-order", Violated(h));
    }

    [Fact]
    public void AgreementFlagsAStreamThatStoppedShort()
    {
        var h = SyntheticHistory.Clean();
        h.Streams["live-1"].RemoveRange(15, 5);
        Assert.Equal(["agreement"], Violated(h));
    }

    [Fact]
    public void AckedDurableFlagsAnAckedMessageLostAtTheEnd()
    {
        // The live streams saw it before the "power cut"; every member's audit after the heal ends before it: the negative control's signature.
        var h = SyntheticHistory.Clean();
        h.Streams["audit-1"].RemoveRange(17, 3);
        h.Streams["audit-2"].RemoveRange(17, 3);
        Assert.Contains("acked-durable", Violated(h));
    }

    [Fact]
    public void AMemberThatLagsIsAnAgreementViolationNotALoss()
    {
        var h = SyntheticHistory.Clean();
        h.Streams["audit-2"].RemoveRange(17, 3);   // member 2 never caught up; member 1 holds everything
        Assert.Equal(["agreement"], Violated(h));
    }

    [Fact]
    public void AckedDurableFlagsAPositionReusedAfterTheHeal()
    {
        var h = SyntheticHistory.Clean();
        h.Publishes.Add(new PublishRecord("3:1", 3, 1, 900, Outcome.Unknown, -1, 950, "H3"));
        h.Streams["audit-1"][19] = new DeliveryRecord(19, "3:1", "H3", 990);
        Assert.Contains("acked-durable", Violated(h));
    }

    [Fact]
    public void AckedDurableFlagsAWrongAckedPosition()
    {
        var h = SyntheticHistory.Clean();
        h.Publish("1:3", p => p with { Position = 5 });
        Assert.Equal(["acked-durable"], Violated(h));
    }

    [Fact]
    public void AckedDurableFlagsAnAckWithoutPositionNeverDelivered()
    {
        var h = SyntheticHistory.Clean();
        h.Publishes.Add(new PublishRecord("1:11", 1, 11, 500, Outcome.AckedNoPosition, -1, 600, SyntheticHistory.Hash(1, 11)));
        Assert.Equal(["acked-durable"], Violated(h));
    }

    [Fact]
    public void FifoFlagsAProducersMessagesOutOfOrder()
    {
        var h = SyntheticHistory.Clean();
        // Positions 0 and 2 hold '1:1' and '1:2': swap them in every stream and in the acks.
        h.AllStreams(s => (s[0], s[2]) = (s[2] with { Position = 0 }, s[0] with { Position = 2 }));
        h.Publish("1:1", p => p with { Position = 2 });
        h.Publish("1:2", p => p with { Position = 0 });
        Assert.Equal(["fifo"], Violated(h));
    }

    [Fact]
    public void UnknownAtMostOnceFlagsAFailedPublishThatWasDelivered()
    {
        var h = SyntheticHistory.Clean();
        h.Publish("2:4", p => p with { Outcome = Outcome.Failed, Position = -1 });
        Assert.Equal(["unknown-at-most-once"], Violated(h));
    }

    [Fact]
    public void UnknownAtMostOnceFlagsAnUnknownPublishDeliveredTwice()
    {
        var h = SyntheticHistory.Clean();
        h.Publish("2:10", p => p with { Outcome = Outcome.Unknown, Position = -1 });
        var twice = h.Streams["live-1"][19];
        h.AllStreams(s => s.Add(twice with { Position = 20 }));
        var violated = Violated(h);
        Assert.Contains("unknown-at-most-once", violated);
        Assert.Contains("no-duplicates", violated);
    }

    [Fact]
    public void ScenarioExpectationsThatFailedAreFlagged()
    {
        var h = SyntheticHistory.Clean();
        h.Expectations.Add(new ExpectationRecord("fsync-eio: member 2 halts with exit 3", true, "exited with 3"));
        Assert.Empty(Violated(h));
        h.Expectations.Add(new ExpectationRecord("member 3", false, "exited unexpectedly with 134"));
        Assert.Equal(["scenario"], Violated(h));
    }

    [Fact]
    public void ViolationsAreCountedAndDescribed()
    {
        var h = SyntheticHistory.Clean();
        h.AllStreams(s => s[3] = s[3] with { Hash = "CORRUPT" });
        var integrity = Judge(h)["integrity"];
        Assert.Equal(4, integrity.Violations);   // one per stream
        Assert.Contains("position 3", integrity.Examples[0]);
    }
}
