using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>
/// The exactly-once rule applied to one delivered instance, run by run: which runs take positions and which are skipped
/// (duplicate or out of sequence), in one place for every reader of the delivered stream: the learner at delivery and
/// the node's history reader replaying the log (which must reproduce the learner's positions exactly).
/// Pure apart from the producer table passed in, which it advances as the learner does. Allocates nothing.
/// Does not expire producers: that happens at checkpoint instances (the learner's WriteCheckpoint).
/// </summary>
internal static class DeliveryFilter
{
    /// <summary>Told each run's outcome as it is decided (the learner acks its own proposal's runs here).</summary>
    public interface IRunObserver
    {
        void Run(int runIndex, in RunHeader run, RunOutcome outcome, long position, ulong expectedSeq);
    }

    /// <summary>An observer that wants nothing.</summary>
    public readonly struct NoObserver : IRunObserver
    {
        public void Run(int runIndex, in RunHeader run, RunOutcome outcome, long position, ulong expectedSeq) { }
    }

    /// <summary>
    /// Verifies <paramref name="batch"/> (CRC), applies every run of it at <paramref name="instance"/> to
    /// <paramref name="producers"/>, fills <paramref name="skippedRuns"/> with the indexes of the runs that take no position,
    /// and returns the position after the instance (<paramref name="nextPosition"/> plus its delivered messages).
    /// Throws <see cref="WireException"/> for a batch that fails its CRC or its layout.
    /// </summary>
    public static long Apply<TObserver>(ProducerTable producers, long instance, ReadOnlySpan<byte> batch, long nextPosition,
        List<ushort> skippedRuns, ref TObserver observer) where TObserver : struct, IRunObserver
    {
        var header = BatchCodec.Verify(batch);
        skippedRuns.Clear();
        int runIndex = 0;
        foreach (var run in BatchCodec.EnumerateRuns(batch))
        {
            var outcome = producers.Apply(run, instance, out ulong expectedSeq);
            long position = nextPosition;
            if (outcome == RunOutcome.Delivered) nextPosition += run.Count;
            else skippedRuns.Add((ushort)runIndex);
            observer.Run(runIndex, run, outcome, position, expectedSeq);
            runIndex++;
        }
        Invariant.Require(runIndex == header.RunCount, "batch run count disagrees with its runs");
        return nextPosition;
    }

    /// <summary>True when delivering <paramref name="instance"/> ends a checkpoint interval: the learner writes a checkpoint
    /// there and expires idle producers first, so every replay must expire them there too.</summary>
    public static bool EndsCheckpointInterval(long instance, int checkpointEveryInstances) =>
        (instance + 1) % checkpointEveryInstances == 0;
}
