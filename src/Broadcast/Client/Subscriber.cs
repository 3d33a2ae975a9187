using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Reads the one total order from any member: every message from a position on, then the live tail. After a
/// disconnect or a member failure it resumes at the next position on another member: no gap, no duplicate.
/// Memory is bounded by the connection's pipe plus one delivered batch at a time. <see cref="ReadBatchesAsync"/> reads it
/// without copying; <see cref="ReadAllAsync"/> copies each message for the caller.
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
    /// Every message from <paramref name="fromPosition"/> on, in order, following the live tail until cancelled; each
    /// payload is a copy the caller owns. For high throughput use <see cref="ReadBatchesAsync"/> (no copy).
    /// Throws <see cref="BelowRetentionFloorException"/> when no member still holds <paramref name="fromPosition"/>.
    /// </summary>
    public async IAsyncEnumerable<Delivery> ReadAllAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var batch in ReadBatchesAsync(fromPosition, cancellationToken).ConfigureAwait(false))
        {
            long position = batch.FirstPosition;
            // The batch stays valid while this iterator is suspended: the batch enumeration is not moved meanwhile.
            foreach (var payload in batch) yield return new Delivery(position++, payload.ToArray());
        }
    }

    /// <summary>
    /// The same stream as <see cref="ReadAllAsync"/> (every message from <paramref name="fromPosition"/> on, in order, no
    /// gap, no duplicate, resumed on another member after a failure), as views of the delivered batches: no copy and no
    /// allocation per message. <b>Each <see cref="DeliveryBatch"/> (the same instance every time) and every payload taken
    /// from it is valid only until the next <c>MoveNextAsync</c>:</b> copy what you keep. Memory: the connection's pipe
    /// plus pooled buffers of at most two batches, returned when the enumeration ends.
    /// Throws <see cref="BelowRetentionFloorException"/> when no member still holds <paramref name="fromPosition"/>.
    /// </summary>
    public async IAsyncEnumerable<DeliveryBatch> ReadBatchesAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        long next = fromPosition;
        ushort member = _connector.First(_options.PreferredMember);
        var refusals = new Dictionary<ushort, long>();
        var batch = new DeliveryBatch();
        try
        {
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
                    var cursor = new SubscriptionCursor(connection.Input);
                    bool open = await TrySubscribeAsync(connection, next, cancellationToken).ConfigureAwait(false);
                    while (open)
                    {
                        var step = cursor.Next(batch, next);
                        if (step == SubscriptionStep.Batch)
                        {
                            yield return batch;
                            next = batch.NextPosition;
                            refusals.Clear();
                        }
                        else if (step == SubscriptionStep.NeedMore)
                        {
                            open = await ReadAsync(connection.Input, cursor, cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            if (step == SubscriptionStep.Refused) Refused(refusals, member, cursor.Floor, next);
                            open = false;
                        }
                    }
                }
                member = NextMember(member);
            }
        }
        finally
        {
            batch.Release();
        }
    }

    /// <summary>Reads more of the connection into the cursor; false when the connection is reset or broken. Pooled: a
    /// read that has to wait allocates nothing.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> ReadAsync(PipeReader input, SubscriptionCursor cursor, CancellationToken cancellationToken)
    {
        try
        {
            cursor.Hold(await input.ReadAsync(cancellationToken).ConfigureAwait(false));
            return true;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // reset or broken: resume on another member
        }
    }

    /// <summary>Notes a member's refusal; throws when every member refused since the last delivery.</summary>
    private void Refused(Dictionary<ushort, long> refusals, ushort member, long floor, long next)
    {
        refusals[member] = floor;
        if (refusals.Count == _connector.Ids.Count) throw new BelowRetentionFloorException(next, refusals.Values.Min());
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

    /// <summary>Nothing to release: connections live inside <see cref="ReadAllAsync"/>.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
