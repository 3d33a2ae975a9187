using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

public sealed class ProducerTableTests
{
    [Fact]
    public void NextSeqIsDeliveredRetriesAreDuplicatesGapsAreOutOfSequence()
    {
        var table = new ProducerTable();
        Assert.Equal(RunOutcome.Delivered, table.Apply(new RunHeader(7, 1, 3, 3), 0, out ulong expected));
        Assert.Equal(4UL, expected);
        Assert.Equal(RunOutcome.Duplicate, table.Apply(new RunHeader(7, 1, 3, 3), 1, out _));
        Assert.Equal(RunOutcome.OutOfSequence, table.Apply(new RunHeader(7, 6, 1, 1), 1, out expected));
        Assert.Equal(4UL, expected);
        Assert.Equal(RunOutcome.OutOfSequence, table.Apply(new RunHeader(8, 2, 1, 1), 1, out expected));
        Assert.Equal(1UL, expected);
        Assert.Equal(RunOutcome.Delivered, table.Apply(new RunHeader(0, 99, 1, 1), 1, out _));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void SnapshotRestoresAndIdleProducersExpireByInstance()
    {
        var table = new ProducerTable();
        table.Apply(new RunHeader(1, 1, 1, 1), 10, out _);
        table.Apply(new RunHeader(2, 1, 1, 1), 500, out _);
        var copy = new ProducerTable();
        copy.Restore(table.Snapshot());
        Assert.Equal(RunOutcome.Duplicate, copy.Apply(new RunHeader(1, 1, 1, 1), 600, out _));
        copy.Expire(600, idleInstancesMax: 200);
        Assert.Equal([2UL], copy.Snapshot().Select(e => e.ProducerId));
    }
}

public sealed class RunValidatorTests
{
    [Fact]
    public void WellFormedRunPasses()
    {
        var run = BatchBuffer.CopyOf(TestHost.Run(5, 1, 3));
        RunValidator.Validate(new PublishMessage(5, 1, 3, run));
    }

    [Theory]
    [InlineData(6, 1, 3)]
    [InlineData(5, 2, 3)]
    [InlineData(5, 1, 2)]
    public void FieldsThatDisagreeWithTheHeaderAreRejected(int producer, int firstSeq, int count)
    {
        var run = BatchBuffer.CopyOf(TestHost.Run(5, 1, 3));
        Assert.Throws<WireException>(() => RunValidator.Validate(new PublishMessage((ulong)producer, (ulong)firstSeq, count, run)));
    }

    [Fact]
    public void MessageLengthsThatDisagreeWithTheRunAreRejected()
    {
        var bytes = TestHost.Run(5, 1, 3);
        bytes[Limits.RunHeaderBytes] = 2; // first message claims 2 bytes: the messages no longer tile the run
        Assert.Throws<WireException>(() => RunValidator.Validate(new PublishMessage(5, 1, 3, BatchBuffer.CopyOf(bytes))));
    }
}
