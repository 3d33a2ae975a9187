using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    private readonly SemaphoreSlim _trimming = new(1, 1);

    /// <summary>
    /// Drops whole segments as <paramref name="request"/> allows. The new floor is written as a trim record (which
    /// also carries the highest promise, so the promise outlives the segment that held it) and made durable before
    /// any file is deleted; the directory is synced after. Returns the earliest retained instance.
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
            DeleteSegments(doomed);
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

    private void DeleteSegments(int count)
    {
        if (count == 0) return;
        var doomed = new List<Segment>(count);
        lock (_gate)
        {
            for (int i = 0; i < count; i++) doomed.Add(_segments[i]);
            _segments.RemoveRange(0, count);
            ForgetHistoryBefore((ulong)(_segments[0].Index * _segmentBytes), _floor);
        }
        foreach (var segment in doomed)
        {
            segment.File?.Dispose();
            segment.File = null;
            _device.Delete(segment.FileName);
        }
        _device.SyncDirectory();
        StorageLog.Trimmed(_options.Logger, Name, count, EarliestRetainedInstance);
    }
}
