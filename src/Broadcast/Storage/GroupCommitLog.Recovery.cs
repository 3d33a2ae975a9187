using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    /// <summary>Why a segment scan stopped.</summary>
    private enum ScanStop { SegmentFull, Zeros, EndOfFile, BadRecord }

    /// <summary>
    /// Rebuilds the in-memory state from the segments: verifies every header and record, cuts a torn tail and
    /// refuses (LogCorruptException, nothing changed) anything else that is bad.
    ///
    /// Telling a torn tail from corruption: flushes are sequential and each is synced before the next is
    /// written, and every record names an offset below which everything was durable when it was appended. So a
    /// bad spot at offset p is a torn tail only if it is in the last segment and no valid record after it names
    /// an offset above p; a valid record that does proves p had been synced, and losing it is corruption. After the
    /// last record of every flush come 16 zero bytes (the terminator), so the scan of an intact segment stops at zeros:
    /// a new file is zeros beyond that, a reused one (a spare) holds the records of its former life, which never pass
    /// the CRC check because it is seeded with the address. A torn flush reaches at most <see cref="FlushReach"/>
    /// bytes past its start: the cut clears that far after the stop, while the search for valid records after a
    /// stop reads to the end of the segment.
    ///
    /// After a clean close a <see cref="CleanCloseMarker"/> names the tail, and any bad or missing record below it
    /// is corruption. After a crash there is no marker, and damage inside the newest flushes (the last one, and the
    /// one before it when appends were pipelined: no later record testifies that they had been synced) looks exactly
    /// like a torn write and is cut; losing the newest segment file entirely cannot be seen. Both need the peers.
    /// In <see cref="DurabilityMode.UnsafeNoSync"/> several flushes can be unsynced at a power cut, so a
    /// later one may survive an earlier one and open reports corruption.
    /// </summary>
    private void Recover()
    {
        RemoveUnfinishedSegments();
        // A member killed between renaming a new segment into place and syncing the directory finds the segment here:
        // the name must be durable before anything appended to it is acknowledged (or a spare is reused).
        _device.SyncDirectory();
        _cleanTail = CleanCloseMarker.TryRead(_device, out string? markerProblem);
        if (markerProblem is not null) StorageLog.MarkerUntrusted(_options.Logger, Name, markerProblem);
        var indices = new List<long>();
        var spares = new List<string>();
        foreach (string name in _device.ListFiles())
        {
            if (LogFormat.TryParseSegmentFileName(name, out long index)) indices.Add(index);
            else if (LogFormat.IsSpareFileName(name)) spares.Add(name);
        }
        indices.Sort();
        AdoptSpares(spares, indices.Count == 0 ? 0 : indices[0]);
        for (int i = 0; i < indices.Count; i++)
        {
            if (i > 0 && indices[i] != indices[i - 1] + 1)
                throw new LogCorruptException(LogFormat.SegmentFileName(indices[i - 1] + 1), 0,
                    $"segment missing between {LogFormat.SegmentFileName(indices[i - 1])} and {LogFormat.SegmentFileName(indices[i])}");
            var segment = new Segment(indices[i]) { File = _device.Open(LogFormat.SegmentFileName(indices[i])) };
            _segments.Add(segment);
        }
        if (_segments.Count == 0)
        {
            _segments.Add(new Segment(0));
            _tail = _durableUntil = LogFormat.HeaderBytes;
            RequireCleanTailReached(0, LogFormat.HeaderBytes);
            return;
        }
        long end = 0;
        for (int i = 0; i < _segments.Count; i++) end = ScanSegment(_segments[i], isLast: i == _segments.Count - 1);
        var last = _segments[^1];
        RequireCleanTailReached(last.Index, end);
        // What we read may still be only in the page cache (a process crash leaves it there): make it durable
        // before anyone is told about it.
        last.File!.SyncData();
        _tail = _durableUntil = (ulong)(last.Index * _segmentBytes + end);
        _activeSegment = last;
    }

    /// <summary>
    /// After a clean close, recovery must reach the marked tail: stopping short means records that had been synced
    /// are damaged or gone (checked before a torn-tail cut, which would otherwise erase the evidence).
    /// </summary>
    private void RequireCleanTailReached(long segmentIndex, long stopOffset)
    {
        if (_cleanTail is not { } cleanTail) return;
        ulong stop = (ulong)(segmentIndex * _segmentBytes + stopOffset);
        if (stop >= cleanTail) return;
        throw new LogCorruptException(LogFormat.SegmentFileName(segmentIndex), stopOffset,
            $"the log was closed cleanly with every record below address {cleanTail} synced, but recovery stops at address {stop}: synced records are damaged or missing");
    }

    private void RemoveUnfinishedSegments()
    {
        bool removed = false;
        foreach (string name in _device.ListFiles())
        {
            if (!name.EndsWith(".log.tmp", StringComparison.Ordinal) && !name.EndsWith(".seg.tmp", StringComparison.Ordinal)) continue;
            _device.Delete(name);
            removed = true;
        }
        if (removed) _device.SyncDirectory();
    }

    /// <summary>Applies every good record of a segment; returns the offset after the last one.</summary>
    private long ScanSegment(Segment segment, bool isLast)
    {
        var file = segment.File!;
        var window = new SegmentWindow(file, _segmentBytes);
        string? problem = LogFormat.CheckHeader(window.Get(0, LogFormat.HeaderBytes), segment.Index, _segmentBytes,
            _options.MemberId, _options.ClusterId, out long createdMs);
        if (problem is not null) throw new LogCorruptException(segment.FileName, 0, problem);
        segment.CreatedMs = createdMs;
        if (!isLast && window.Limit < _segmentBytes)
            throw new LogCorruptException(segment.FileName, window.Limit, $"segment file is cut short ({window.Limit} of {_segmentBytes} bytes) and later segments follow it");

        long position = LogFormat.HeaderBytes;
        var stop = ScanRecords(segment, window, ref position);
        if (stop == ScanStop.SegmentFull) return position;
        if (!isLast && stop == ScanStop.BadRecord)
            throw new LogCorruptException(segment.FileName, position, "bad record in a segment that later segments follow");

        // After a clean close at exactly this tail every record up to it was read intact and the terminator is in
        // place: whatever follows is from before (a reused file's former life), nothing to search or cut.
        if (isLast && stop == ScanStop.Zeros && _cleanTail == (ulong)(segment.Index * _segmentBytes + position)) return position;
        var after = ScanAfter(window, (ulong)(segment.Index * _segmentBytes), position, segment.FileName);
        if (after.EvidenceOffset >= 0 && (!isLast || after.EvidenceDurableBefore > position))
            throw new LogCorruptException(segment.FileName, position,
                $"bad or missing record followed by a valid record at offset {after.EvidenceOffset} that was written after offset {position} had been synced");
        if (!isLast) return position;
        RequireCleanTailReached(segment.Index, position);
        if (CutAfterTail(file, position, after.CutEnd) && (stop != ScanStop.Zeros || after.ValidEnd > position))
            StorageLog.TornTailCut(_options.Logger, Name, segment.FileName, position, after.CutEnd - position);
        return position;
    }

    private ScanStop ScanRecords(Segment segment, SegmentWindow window, ref long position)
    {
        ulong segmentStart = (ulong)(segment.Index * _segmentBytes);
        while (true)
        {
            if (position + LogFormat.RecordHeaderBytes > _segmentBytes) return ScanStop.SegmentFull;
            var header = window.Get(position, LogFormat.RecordHeaderBytes);
            if (header.Length < LogFormat.RecordHeaderBytes) return ScanStop.EndOfFile;
            if (!header.ContainsAnyExcept((byte)0)) return ScanStop.Zeros;
            if (!LogFormat.IsPlausibleHeader(header, position, _segmentBytes)) return ScanStop.BadRecord;
            int length = LogFormat.ReadLength(header);
            var record = window.Get(position, length);
            if (record.Length < length) return ScanStop.EndOfFile;
            ulong address = segmentStart + (ulong)position;
            if (!LogFormat.IsValid(record, address)) return ScanStop.BadRecord;
            ApplyRecovered(record, address, segment);
            position += LogFormat.Align(length);
        }
    }

    private void ApplyRecovered(ReadOnlySpan<byte> record, ulong address, Segment segment)
    {
        var type = LogFormat.ReadType(record);
        ulong first = LogFormat.ReadU64(record, 0);
        ulong second = type == RecordType.Promise ? 0 : LogFormat.ReadU64(record, 8);
        Apply(type, first, second, address, segment);
    }

    private readonly record struct AfterTail(long EvidenceOffset, long EvidenceDurableBefore, long ValidEnd, long CutEnd);

    /// <summary>
    /// How far past its start a flush can write: every write buffer (each at most one buffer's capacity) and the
    /// terminator, with this log's options or the defaults, whichever reach further (the crashed run may have used
    /// the defaults). A torn flush starts at or before the stop, so nothing of it lies further than this after it.
    /// </summary>
    private long FlushReach
    {
        get
        {
            var defaults = new GroupCommitLogOptions();
            long buffer = Math.Max(Math.Max(_flushBytesMax, defaults.Policy.BytesMax), _recordBytesLimit);
            return Math.Max(_options.WriteBufferCount, defaults.WriteBufferCount) * buffer + LogFormat.Terminator.Length;
        }
    }

    /// <summary>Bytes of candidate records the evidence search CRC-checks at most (client payloads can look like record headers).</summary>
    private const long EvidenceCheckBytesMax = 1L << 30;

    /// <summary>
    /// Looks at everything after a stop at <paramref name="stop"/>: the first valid record whose flush began above
    /// the stop (proof of corruption), or else the first valid record at all (proof too, in a segment that later
    /// segments follow), where the last valid record ends, and what a cut has to clear: the last non-zero byte within
    /// the <see cref="FlushReach"/> (what a torn flush may have left) or the end of the last valid record, whichever
    /// is further. Only records valid at their own address count: a reused segment file still holds records of its
    /// former life, and those never pass the CRC check, which is seeded with the address. The search reads to the
    /// end of the segment but CRC-checks at most <see cref="EvidenceCheckBytesMax"/> of record-like bytes.
    /// </summary>
    private AfterTail ScanAfter(SegmentWindow window, ulong segmentStart, long stop, string segmentName)
    {
        long reachEnd = Math.Min(window.Limit, stop + FlushReach);
        long nonZeroEnd = stop, nonZeroInReach = stop;
        for (long at = stop; at < window.Limit; at += SegmentWindow.ChunkBytes)
        {
            var chunk = window.Get(at, SegmentWindow.ChunkBytes);
            int last = chunk.LastIndexOfAnyExcept((byte)0);
            if (last < 0) continue;
            nonZeroEnd = at + last + 1;
            if (at < reachEnd)
            {
                int inReach = chunk[..(int)Math.Min(chunk.Length, reachEnd - at)].LastIndexOfAnyExcept((byte)0);
                if (inReach >= 0) nonZeroInReach = at + inReach + 1;
            }
        }
        long evidence = -1, evidenceDurableBefore = -1, validEnd = stop, checkedBytes = 0;
        for (long position = stop + LogFormat.Alignment; position + LogFormat.RecordHeaderBytes <= nonZeroEnd;)
        {
            if (checkedBytes > EvidenceCheckBytesMax)
            {
                StorageLog.EvidenceSearchCut(_options.Logger, Name, segmentName, stop, position);
                break;
            }
            if (!TryValidAt(window, segmentStart, position, ref checkedBytes, out int length, out long durableBefore))
            {
                position += LogFormat.Alignment;
                continue;
            }
            if (durableBefore > stop) return new AfterTail(position, durableBefore, validEnd, Math.Max(validEnd, nonZeroInReach));
            if (evidence < 0) (evidence, evidenceDurableBefore) = (position, durableBefore);
            position += LogFormat.Align(length);
            validEnd = position;
        }
        return new AfterTail(evidence, evidenceDurableBefore, validEnd, Math.Max(validEnd, nonZeroInReach));
    }

    private bool TryValidAt(SegmentWindow window, ulong segmentStart, long offset, ref long checkedBytes, out int length, out long durableBefore)
    {
        length = 0;
        durableBefore = 0;
        var header = window.Get(offset, LogFormat.RecordHeaderBytes);
        if (header.Length < LogFormat.RecordHeaderBytes || !header.ContainsAnyExcept((byte)0)) return false;
        if (!LogFormat.IsPlausibleHeader(header, offset, _segmentBytes)) return false;
        length = LogFormat.ReadLength(header);
        durableBefore = LogFormat.ReadDurableBefore(header);
        checkedBytes += length;
        var record = window.Get(offset, length);
        return record.Length == length && LogFormat.IsValid(record, segmentStart + (ulong)offset);
    }

    /// <summary>
    /// Clears what may be left of a torn flush: zeros from <paramref name="start"/> to <paramref name="end"/> (the
    /// last non-zero byte within its reach) and the file back to its full size, synced, so no remnant of it can ever
    /// be read as a record or completed into one by a later write of the same bytes, and the new tail starts with a
    /// terminator. True when bytes were cleared.
    /// </summary>
    private bool CutAfterTail(ILogFile file, long start, long end)
    {
        bool changed = false;
        if (end > start)
        {
            var zeros = new byte[Math.Min(SegmentWindow.ChunkBytes, end - start)];
            for (long at = start; at < end; at += zeros.Length)
                file.Write(at, zeros.AsSpan(0, (int)Math.Min(zeros.Length, end - at)));
            changed = true;
        }
        if (file.Length < _segmentBytes)
        {
            file.SetLength(_segmentBytes);
            changed = true;
        }
        if (changed) file.SyncAll();
        return end > start;
    }
}
