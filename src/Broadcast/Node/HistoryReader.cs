using AtomicBcast.Consensus;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>What <see cref="HistoryReader.TryRead"/> did.</summary>
internal enum HistoryStep
{
    /// <summary>One delivered instance, as the learner delivered it.</summary>
    Delivered,
    /// <summary>Its record is appended but not durable yet: wait for <c>waitFor</c>, then read again.</summary>
    NotDurable,
    /// <summary>The member has not delivered this instance yet (as far as its status snapshot says): read again later.</summary>
    NotDelivered,
    /// <summary>The log cannot serve this position (trimmed, a gap, or an interval this member did not deliver itself).</summary>
    NotRetained,
}

/// <summary>
/// One subscriber session's cursor over the delivered stream as the log holds it: starts at the latest checkpoint at or
/// below the wanted position (its producer table restored), then replays the delivered instances in order through
/// <see cref="DeliveryFilter"/>, which is exactly the learner's rule, so positions and skipped runs come out as the learner
/// assigned them.
///
/// Requirements:
/// - The value of a delivered instance is the highest-ballot accept the log holds for it. The learner's
///   <see cref="ConsensusLog.AppendChosen"/> writes the chosen value (at the ballot that chose it) whenever the log holds
///   no accept at or above that ballot, and in Paxos every accept at a ballot at or above the chosen ballot carries the
///   chosen value; so the highest-ballot accept is the chosen value. (The latest accept is not always it: an Accept of an
///   older ballot can arrive after the learner logged the chosen value; the log keeps the higher one for these reads.)
/// - Only instances this member delivered itself: below its status snapshot's next instance, and only in checkpoint
///   intervals it delivered whole. Consecutive checkpoints are <c>CheckpointEveryInstances</c> apart when the learner
///   delivered everything between them (a restart rewrites the ones after its last); a wider interval means the learner
///   started from a checkpoint it did not reach itself (a jump to a peer's checkpoint), so the instances before it may
///   hold votes that were never chosen: those are refused. Crossing a checkpoint checks the position against it.
/// - Holds one producer table and no batch between calls; the caller releases each delivered batch. Single consumer.
/// </summary>
internal sealed class HistoryReader(GroupCommitLog log, int checkpointEveryInstances, long producerIdleInstancesMax)
{
    private readonly ProducerTable _producers = new();
    private readonly List<ushort> _skippedRuns = new();
    private long _checkInstance = -1;    // the next checkpoint to compare with (-1: none ahead yet)
    private long _checkPosition;
    private long _refuseFrom = long.MaxValue; // instances from here on are in an interval not delivered whole

    /// <summary>The next instance to read.</summary>
    public long NextInstance { get; private set; }

    /// <summary>The position of the next instance's first delivered message.</summary>
    public long NextPosition { get; private set; }

    /// <summary>Why the reader refused an interval it found inconsistent (null otherwise), for the node's log.</summary>
    public string? Problem { get; private set; }

    /// <summary>Where a refused reader's stream could go on (the position after the interval it cannot serve), or -1.</summary>
    public long ResumePosition { get; private set; } = -1;

    /// <summary>
    /// Moves to the latest usable checkpoint at or below <paramref name="position"/> (or the log's start when nothing was
    /// ever trimmed). False when the log no longer reaches that far back. <see cref="LogTrimmedException"/> if a segment goes
    /// while it reads.
    /// </summary>
    public bool TrySeek(long position)
    {
        ulong floor = log.EarliestRetainedInstance;
        if (log.TryFindCheckpointAtOrBelow((ulong)position, out var mark) && mark.Instance + 1 >= floor)
        {
            _producers.Restore(ProducerTableCodec.Decode(log.ReadCheckpointTable(mark)));
            Start((long)mark.Instance + 1, (long)mark.NextPosition);
            return true;
        }
        if (floor != 0) return false;
        // Nothing was ever trimmed: the stream starts at instance 0, position 0, with no producer known.
        _producers.Restore([]);
        Start(0, 0);
        return true;
    }

    /// <summary>The earliest position a reader can start from in <paramref name="log"/>, or long.MaxValue when none.</summary>
    public static long EarliestPosition(GroupCommitLog log, int checkpointEveryInstances)
    {
        if (log.EarliestRetainedInstance == 0 && (!log.TryFindCheckpointFrom(0, out var first) || (long)first.Instance == checkpointEveryInstances - 1))
            return 0;
        return log.TryFindEarliestUsableCheckpoint(out var mark) ? (long)mark.NextPosition : long.MaxValue;
    }

    private void Start(long instance, long position)
    {
        NextInstance = instance;
        NextPosition = position;
        ResumePosition = -1;
        _refuseFrom = long.MaxValue;
        ExpectCheckpointFrom(instance);
    }

    /// <summary>Finds the checkpoint that ends the interval starting at <paramref name="instance"/>, and whether it is whole.</summary>
    private void ExpectCheckpointFrom(long instance)
    {
        _checkInstance = -1;
        if (!log.TryFindCheckpointFrom((ulong)instance, out var next)) return; // the tail after the last checkpoint
        if ((long)next.Instance == instance + checkpointEveryInstances - 1)
        {
            _checkInstance = (long)next.Instance;
            _checkPosition = (long)next.NextPosition;
            return;
        }
        _refuseFrom = instance;
        ResumePosition = (long)next.NextPosition;
    }

    /// <summary>
    /// Reads the next instance if the member delivered it (<paramref name="deliveredNext"/>: its next instance to deliver).
    /// On <see cref="HistoryStep.Delivered"/> the caller owns <paramref name="delivery"/>'s batch and releases it.
    /// A replay that disagrees with a checkpoint is <see cref="HistoryStep.NotRetained"/> with a <see cref="Problem"/>.
    /// Throws <see cref="LogTrimmedException"/> (trimmed meanwhile), <see cref="LogCorruptException"/> or <see cref="WireException"/>
    /// (a bad record).
    /// </summary>
    public HistoryStep TryRead(long deliveredNext, out DeliverMessage delivery, out int messageCount, out LogAddress waitFor)
    {
        delivery = default;
        messageCount = 0;
        waitFor = default;
        if (NextInstance >= _refuseFrom) return HistoryStep.NotRetained;
        if (NextInstance >= deliveredNext) return HistoryStep.NotDelivered;
        var read = log.TryReadHighestAccept((ulong)NextInstance, out _, out var batch, out waitFor);
        if (read == AcceptRead.NotDurable) return HistoryStep.NotDurable;
        if (read == AcceptRead.None) return HistoryStep.NotRetained;
        bool delivered = false;
        try
        {
            delivered = TryApply(batch!, out delivery, out messageCount);
            return delivered ? HistoryStep.Delivered : HistoryStep.NotRetained;
        }
        finally
        {
            if (!delivered) batch!.Release();
        }
    }

    private bool TryApply(BatchBuffer batch, out DeliverMessage delivery, out int messageCount)
    {
        delivery = default;
        messageCount = 0;
        long instance = NextInstance, first = NextPosition;
        var none = new DeliveryFilter.NoObserver();
        long next = DeliveryFilter.Apply(_producers, instance, batch.Span, first, _skippedRuns, ref none);
        if (DeliveryFilter.EndsCheckpointInterval(instance, checkpointEveryInstances)) _producers.Expire(instance, producerIdleInstancesMax);
        if (instance == _checkInstance)
        {
            if (next != _checkPosition)
            {
                // Not what the learner delivered here: serve nothing from this interval on (the caller releases the batch).
                Problem = $"replaying the log gives position {next} after instance {instance}, its checkpoint says {_checkPosition}";
                _refuseFrom = instance;
                ResumePosition = _checkPosition;
                return false;
            }
            ExpectCheckpointFrom(instance + 1);
        }
        NextInstance = instance + 1;
        NextPosition = next;
        messageCount = checked((int)(next - first));
        delivery = new DeliverMessage(first, instance, _skippedRuns.Count == 0 ? [] : _skippedRuns.ToArray(), batch);
        return true;
    }
}
