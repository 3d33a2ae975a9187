using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Reads the one total order from any member: every message from a position on, then the live tail. After a
/// disconnect or a member failure it resumes at the next position on another member: no gap, no duplicate.
/// Memory is bounded by the connection's pipe plus one delivered batch at a time.
/// </summary>
public sealed class Subscriber : IAsyncDisposable
{
    private readonly SubscriberOptions _options;
    private readonly ClientConnector _connector;

    private Subscriber(SubscriberOptions options)
    {
        _options = options;
        _connector = new ClientConnector(options, PeerKind.Subscriber);
    }

    /// <summary>The member currently read from (0 before the first connection).</summary>
    public ushort CurrentMember { get; private set; }

    /// <summary>Times the subscriber moved to another member (or reconnected) after a failure.</summary>
    public int Reconnects { get; private set; }

    /// <summary>Creates a subscriber; connections are made by <see cref="ReadAllAsync"/>.</summary>
    public static Task<Subscriber> ConnectAsync(SubscriberOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(new Subscriber(options));
    }

    /// <summary>
    /// Every message from <paramref name="fromPosition"/> on, in order, following the live tail until cancelled.
    /// Throws <see cref="BelowRetentionFloorException"/> when no member still holds <paramref name="fromPosition"/>.
    /// </summary>
    public async IAsyncEnumerable<Delivery> ReadAllAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        long next = fromPosition;
        ushort member = _connector.First(_options.PreferredMember);
        var refusals = new Dictionary<ushort, long>();
        var received = new List<Delivery>();
        while (true)
        {
            var connection = await _connector.TryConnectAsync(member, cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                member = NextMember(member);
                await Task.Delay(_options.RetryDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }
            CurrentMember = member;
            await using (connection.ConfigureAwait(false))
            {
                bool subscribed = await TrySubscribeAsync(connection, next, cancellationToken).ConfigureAwait(false);
                while (subscribed)
                {
                    received.Clear();
                    var outcome = await ReadSomeAsync(connection, next, received, cancellationToken).ConfigureAwait(false);
                    foreach (var delivery in received)
                    {
                        yield return delivery;
                        next = delivery.Position + 1;
                        refusals.Clear();
                    }
                    if (outcome.Ended) break;
                    if (outcome.Floor is { } floor)
                    {
                        refusals[member] = floor;
                        if (refusals.Count == _connector.Ids.Count) throw new BelowRetentionFloorException(next, refusals.Values.Min());
                        break;
                    }
                }
            }
            member = NextMember(member);
        }
    }

    private static async Task<bool> TrySubscribeAsync(IConnection connection, long next, CancellationToken cancellationToken)
    {
        try
        {
            MessageWriter.Write(connection.Output, new SubscribeMessage(next));
            return !(await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private ushort NextMember(ushort member)
    {
        Reconnects++;
        var next = _connector.Next(member);
        return next;
    }

    private readonly record struct ReadOutcome(bool Ended, long? Floor);

    /// <summary>Reads what the pipe holds (at least one frame or the end), decoding deliveries at or after <paramref name="next"/>.</summary>
    private static async Task<ReadOutcome> ReadSomeAsync(IConnection connection, long next, List<Delivery> into, CancellationToken cancellationToken)
    {
        ReadResult result;
        try
        {
            result = await connection.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return new ReadOutcome(true, null); // reset or broken: resume on another member
        }
        var buffer = result.Buffer;
        long? floor = null;
        bool broken = false;
        try
        {
            while (floor is null && FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                if (frame.Type == MessageType.Deliver) next = Math.Max(next, Decode(frame, next, into));
                else if (frame.Type == MessageType.Error) floor = ReadFloor(MessageReader.ReadError(frame));
            }
        }
        catch (WireException)
        {
            broken = true; // a malformed stream: drop this member's connection and resume elsewhere
        }
        connection.Input.AdvanceTo(buffer.Start, result.Buffer.End);
        return new ReadOutcome(broken || result.IsCompleted || result.IsCanceled, floor);
    }

    private static long ReadFloor(in ErrorMessage error)
    {
        if (error.Code != ErrorCode.BelowRetentionFloor) return long.MaxValue; // any other refusal: try another member
        int at = error.Text.LastIndexOf(' ');
        return long.TryParse(error.Text.AsSpan(at + 1), out long floor) ? floor : long.MaxValue;
    }

    /// <summary>Adds the delivery's messages at or after <paramref name="next"/>; returns the position after it. A delivery
    /// that starts beyond <paramref name="next"/> would leave a gap: the member is broken, resume elsewhere.</summary>
    private static long Decode(in Frame frame, long next, List<Delivery> into)
    {
        var header = MessageReader.ReadDeliver(frame, out var skippedBytes, out var batch);
        if (header.FirstPosition > next) WireException.Throw($"delivery at position {header.FirstPosition} leaves a gap after {next}");
        Span<ushort> skipped = header.SkippedRunCount <= 256 ? stackalloc ushort[header.SkippedRunCount] : new ushort[header.SkippedRunCount];
        MessageReader.CopySkippedRuns(skippedBytes, skipped);
        using var opened = BatchReader.Open(batch);
        long position = header.FirstPosition;
        int runIndex = 0, skip = 0;
        var runs = opened.EnumerateRuns();
        while (runs.MoveNext())
        {
            if (skip < skipped.Length && skipped[skip] == runIndex)
            {
                skip++;
                runIndex++;
                continue;
            }
            foreach (var payload in runs.Messages)
            {
                if (position >= next) into.Add(new Delivery(position, payload.ToArray()));
                position++;
            }
            runIndex++;
        }
        return position;
    }

    /// <summary>Nothing to release: connections live inside <see cref="ReadAllAsync"/>.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
