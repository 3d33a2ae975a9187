using System.Buffers.Binary;
using AtomicBcast.Consensus;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>
/// The core's <see cref="IConsensusLog"/> over the <see cref="GroupCommitLog"/>. A record's log sequence number is
/// its byte address (addresses only grow), so "durable up to lsn" is <c>DurableUntil - 1</c>.
///
/// Chosen values (<see cref="AppendChosen"/>): Storage has no record type for them, so a chosen value is written as an
/// Accept record at the ballot it was chosen under, and only when that can never lower or contradict what the log
/// holds for the instance:
/// - the log already holds an accept for the instance at the same or a higher ballot: nothing is written (the same
///   value is durable already: a value chosen at ballot b is the only value any ballot >= b proposes);
/// - otherwise (no accept, or one at a lower ballot) an Accept(instance, b, value) is written. As a phase-1 report it
///   says "voted v at b", which every proposer at a ballot >= b must re-propose anyway, so it can never steer a new
///   leader to another value; it can only raise the recovered promise, which is always safe.
/// Because Storage's index keeps the latest accept per instance, the rule above guarantees a recorded ballot for an
/// instance only goes down when the core itself accepts a later proposal (a real vote at or above its promise).
/// The recovered promise is the max of the promise records and every indexed accept ballot. An accept above every
/// promise record written so far is preceded by a promise record of its ballot (once per ballot): a trim record carries
/// only the promise records' maximum, so without it the ballot of accepts that were all trimmed would be lost, and the
/// recovered promise could go below a ballot this acceptor had accepted.
/// Reads (<see cref="TryReadValue"/>) return the latest accept record of an instance, which is its highest-ballot one:
/// the core appends an accept only at or above its promise, and a chosen value only above what the log holds.
/// Appends never wait for durability; when every write buffer is full the loop thread waits for the flusher (this
/// is the log's backpressure).
/// </summary>
internal sealed class ConsensusLog(GroupCommitLog log) : IConsensusLog
{
    private long _lastLsn;
    /// <summary>The highest ballot of a promise record in the log (appended, or found at open).</summary>
    private Ballot _promiseRecorded = log.Promised;

    /// <summary>The LSN of the newest record appended (0 when none).</summary>
    public long LastLsn => _lastLsn;

    /// <summary>Chosen values written as accept records (the rest were already in the log).</summary>
    public long ChosenWritten;

    public long AppendPromise(Ballot ballot)
    {
        LogAddress address;
        while (!log.TryAppendPromise(ballot, out address)) WaitForSpace();
        if (ballot > _promiseRecorded) _promiseRecorded = ballot;
        return Note(address);
    }

    public long AppendAccept(long instance, Ballot ballot, BatchBuffer batch)
    {
        if (ballot > _promiseRecorded) AppendPromise(ballot);
        return AppendAcceptRecord(instance, ballot, batch);
    }

    public long AppendChosen(long instance, Ballot ballot, BatchBuffer batch)
    {
        if (log.TryGetAccept((ulong)instance, out var held, out _) && held >= ballot) return _lastLsn;
        ChosenWritten++;
        return AppendAcceptRecord(instance, ballot, batch);
    }

    private long AppendAcceptRecord(long instance, Ballot ballot, BatchBuffer batch)
    {
        LogAddress address;
        while (!log.TryAppendAccept((ulong)instance, ballot, batch.Span, out address)) WaitForSpace();
        return Note(address);
    }

    /// <summary>A synchronous read on the loop thread (one pread of the record, CRC checked). A trim racing with it (the
    /// trim runs on another thread) makes it false; a corrupt record throws <see cref="LogCorruptException"/>, which halts
    /// the member.</summary>
    public bool TryReadValue(long instance, out LogValue value)
    {
        value = default;
        if (instance < 0) return false;
        try
        {
            if (!log.TryReadAccept((ulong)instance, out var ballot, out var batch)) return false;
            value = new LogValue(instance, ballot, batch);
            return true;
        }
        catch (LogTrimmedException)
        {
            return false;
        }
    }

    public long AppendCheckpoint(Checkpoint checkpoint)
    {
        var table = ProducerTableCodec.Encode(checkpoint.Producers, checkpoint.LogValuesFrom);
        LogAddress address;
        while (!log.TryAppendCheckpoint((ulong)checkpoint.Instance, (ulong)checkpoint.NextPosition, table, out address)) WaitForSpace();
        return Note(address);
    }

    private long Note(LogAddress address)
    {
        _lastLsn = (long)address.Value;
        return _lastLsn;
    }

    private void WaitForSpace()
    {
        if (log.Failure is { } failure) throw failure;
        Thread.Sleep(1);
    }

    /// <summary>
    /// What the member rebuilds at start: the promise, the accepts from the retention window before the checkpoint on,
    /// and the latest checkpoint. No values are handed over as known chosen (see the type's remarks).
    /// The accepted floor is the first instance from which every accept is handed over: below the log's trim floor the
    /// records are gone, and below keepFrom they are not handed over, so the acceptor must refuse Prepares below it (a
    /// promise from there would omit those votes).
    /// </summary>
    public static RecoveredState Recover(GroupCommitLog log, long retainedInstances)
    {
        Checkpoint? checkpoint = null;
        if (log.TryReadLatestCheckpoint(out ulong cpInstance, out ulong cpPosition, out var table))
        {
            var producers = ProducerTableCodec.Decode(table, out long valuesFrom);
            // A checkpoint written before LogValuesFrom existed (7d1211a and older): that binary voted for delivered
            // instances, so the latest accept of an instance at or below it may be a stale, unchosen one. Serve nothing
            // from the log below the next instance.
            if (valuesFrom < 0) valuesFrom = (long)cpInstance + 1;
            checkpoint = new Checkpoint((long)cpInstance, (long)cpPosition, producers) { LogValuesFrom = valuesFrom };
        }
        var promised = log.Promised;
        var accepts = new List<LogValue>();
        ulong floor = log.EarliestRetainedInstance;
        long keepFrom = checkpoint is null ? 0 : Math.Max(0, checkpoint.Instance + 1 - retainedInstances);
        if (log.HighestInstance is ulong highest)
        {
            for (ulong i = floor; i <= highest; i++)
            {
                if (!log.TryGetAccept(i, out var ballot, out _)) continue;
                promised = Ballot.Max(promised, ballot);
                if ((long)i < keepFrom) continue;
                if (log.TryReadAccept(i, out var readBallot, out var batch)) accepts.Add(new LogValue((long)i, readBallot, batch));
            }
        }
        return new RecoveredState { Promised = promised, Accepts = accepts, Checkpoint = checkpoint, AcceptedFloor = Math.Max((long)floor, keepFrom) };
    }
}

/// <summary>The producer table inside a checkpoint record: count u32, then per producer id u64 | lastSeq u64 | lastInstance i64,
/// then the checkpoint's LogValuesFrom i64 (absent in records written before learner jumps existed: read as -1, unknown: Recover serves nothing at or below that checkpoint from the log).</summary>
internal static class ProducerTableCodec
{
    private const int EntryBytes = 24;

    public static byte[] Encode(ProducerEntry[] entries, long logValuesFrom = 0)
    {
        var bytes = new byte[4 + entries.Length * EntryBytes + 8];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, entries.Length);
        for (int i = 0; i < entries.Length; i++)
        {
            var span = bytes.AsSpan(4 + i * EntryBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(span, entries[i].ProducerId);
            BinaryPrimitives.WriteUInt64LittleEndian(span[8..], entries[i].LastSeq);
            BinaryPrimitives.WriteInt64LittleEndian(span[16..], entries[i].LastInstance);
        }
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), logValuesFrom);
        return bytes;
    }

    public static ProducerEntry[] Decode(byte[] bytes) => Decode(bytes, out _);

    public static ProducerEntry[] Decode(byte[] bytes, out long logValuesFrom)
    {
        if (bytes.Length < 4) throw new LogCorruptException("checkpoint", 0, "producer table shorter than its count");
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        long entriesEnd = 4 + (long)count * EntryBytes;
        if (count < 0 || (bytes.Length != entriesEnd && bytes.Length != entriesEnd + 8))
            throw new LogCorruptException("checkpoint", 0, $"producer table of {bytes.Length} bytes does not hold {count} entries");
        var entries = new ProducerEntry[count];
        for (int i = 0; i < count; i++)
        {
            var span = bytes.AsSpan(4 + i * EntryBytes);
            entries[i] = new ProducerEntry(BinaryPrimitives.ReadUInt64LittleEndian(span), BinaryPrimitives.ReadUInt64LittleEndian(span[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[16..]));
        }
        logValuesFrom = bytes.Length == entriesEnd ? -1 : BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)entriesEnd));
        if (logValuesFrom < 0 && bytes.Length != entriesEnd) throw new LogCorruptException("checkpoint", 0, $"negative LogValuesFrom {logValuesFrom}");
        return entries;
    }
}
