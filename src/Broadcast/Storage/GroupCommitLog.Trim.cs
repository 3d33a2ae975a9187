using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    private readonly SemaphoreSlim _trimming = new(1, 1);

    /// <summary>
    /// Drops whole segments as <paramref name="request"/> allows. The new floor is written as a trim record (which
    /// also carries the highest promise, so the promise outlives the segment that held it) and made durable before
    /// any file is deleted or kept as a spare; the directory is synced after. Returns the earliest retained instance.
    /// </summary>
    public async Task<ulong> TrimAsync(TrimRequest request)
    {
        await _trimming.WaitAsync().ConfigureAwait(false);
        try
        {
            ulong floor;
            int doomed;
            Ballot promised;
            lock (_gate)
            {
                (floor, doomed) = ChooseTrim(request);
                promised = _promised;
                if (floor <= _floor && doomed == 0) return _floor;
                floor = Math.Max(floor, _floor);
            }
            await AppendAsync(RecordType.Trim, floor, promised.Value, ReadOnlyMemory<byte>.Empty).ConfigureAwait(false);
            RetireSegments(doomed);
            return floor;
        }
        finally
        {
            _trimming.Release();
        }
    }

    /// <summary>The new floor and how many leading segments may go.</summary>
    private (ulong Floor, int Doomed) ChooseTrim(TrimRequest request)
    {
        long durableSegment = SegmentIndexOf(_durableUntil);
        long keepFrom = _checkpointAddress == ulong.MaxValue ? long.MaxValue : SegmentIndexOf(_checkpointAddress);
        long retainedBytes = _segments.Count * _segmentBytes;
        long cutoffMs = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)request.Age.TotalMilliseconds;
        ulong floor = request.Kind == TrimRequest.Kinds.BelowInstance ? request.Instance : _floor;
        int doomed = 0;
        for (; doomed < _segments.Count - 1; doomed++)
        {
            var segment = _segments[doomed];
            if (segment.Index >= durableSegment || segment.Index >= keepFrom) break;
            if (segment.HasAccepts && segment.MaxInstance >= request.FloorMax) break;
            bool wanted = request.Kind switch
            {
                TrimRequest.Kinds.BelowInstance => true,
                TrimRequest.Kinds.RetainBytes => retainedBytes - doomed * _segmentBytes > request.Bytes,
                _ => _segments[doomed + 1].CreatedMs > 0 && _segments[doomed + 1].CreatedMs <= cutoffMs,
            };
            if (!wanted) break;
            if (segment.HasAccepts && request.Kind != TrimRequest.Kinds.BelowInstance) floor = Math.Max(floor, segment.MaxInstance + 1);
        }
        return (floor, doomed);
    }

    /// <summary>
    /// Takes the doomed segments out of the log: each file is closed (a reader still holding it fails as trimmed) and
    /// renamed to a spare while there are fewer than <see cref="GroupCommitLogOptions.SpareSegmentsMax"/>, else
    /// deleted. Spares become usable only after the directory sync: the flusher's own directory changes must never
    /// be what makes a trim durable.
    /// </summary>
    private void RetireSegments(int count)
    {
        if (count == 0) return;
        var doomed = new List<Segment>(count);
        int spareRoom;
        lock (_gate)
        {
            for (int i = 0; i < count; i++) doomed.Add(_segments[i]);
            _segments.RemoveRange(0, count);
            ForgetHistoryBefore((ulong)(_segments[0].Index * _segmentBytes), _floor);
            spareRoom = _options.SpareSegmentsMax - _spares.Count;
        }
        var spares = new List<string>();
        foreach (var segment in doomed)
        {
            var file = segment.File;
            segment.File = null;
            bool whole = file is not null && file.Length == _segmentBytes;
            file?.Dispose();
            if (whole && spares.Count < spareRoom)
            {
                string spare = LogFormat.SpareFileName(segment.Index);
                _device.Rename(segment.FileName, spare);
                spares.Add(spare);
            }
            else _device.Delete(segment.FileName);
        }
        _device.SyncDirectory();
        lock (_gate)
            foreach (string spare in spares) _spares.Enqueue(spare);
        StorageLog.Trimmed(_options.Logger, Name, count, EarliestRetainedInstance);
    }
}
