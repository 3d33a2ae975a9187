using System.Text;
using AtomicBcast.Client;
using AtomicBcast.Tests.Node;

namespace AtomicBcast.Tests.Client;

/// <summary>
/// The zero-copy <see cref="Subscriber.ReadBatchesAsync"/> against three real members in this process: the same stream
/// as <see cref="Subscriber.ReadAllAsync"/>, from the start, from inside a batch, and across a member stop. Timeouts
/// are failure guards only.
/// </summary>
public sealed class SubscriberBatchTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Publishes <paramref name="count"/> messages at once (so members batch many per instance); returns the payloads by position.</summary>
    private static async Task<Dictionary<long, string>> PublishAsync(Publisher publisher, string prefix, int count)
    {
        var texts = Enumerable.Range(0, count).Select(i => $"{prefix}-{i}-{new string('x', i % 50)}").ToArray();
        var positions = await Task.WhenAll(texts.Select(t => publisher.PublishAsync(Encoding.UTF8.GetBytes(t)))).WaitAsync(Guard);
        Assert.DoesNotContain(Publisher.PositionUnknown, positions);
        return positions.Zip(texts).ToDictionary(p => p.First, p => p.Second);
    }

    /// <summary>Reads batches from <paramref name="from"/> until position <paramref name="end"/>, copying each payload with its position.</summary>
    private static async Task<(List<(long Position, string Text)> Stream, List<(long First, int Count)> Batches)> ReadBatchesAsync(
        Subscriber subscriber, long from, long end)
    {
        var stream = new List<(long, string)>();
        var batches = new List<(long, int)>();
        using var guard = new CancellationTokenSource(Guard);
        await foreach (var batch in subscriber.ReadBatchesAsync(from, guard.Token))
        {
            batches.Add((batch.FirstPosition, batch.Count));
            long position = batch.FirstPosition;
            foreach (var payload in batch) stream.Add((position++, Encoding.UTF8.GetString(payload.Span)));
            Assert.Equal(batch.NextPosition, position);
            if (batch.NextPosition >= end) break;
        }
        return (stream, batches);
    }

    private static async Task<List<(long Position, string Text)>> ReadAllAsync(Subscriber subscriber, long from, long end)
    {
        var stream = new List<(long, string)>();
        using var guard = new CancellationTokenSource(Guard);
        await foreach (var d in subscriber.ReadAllAsync(from, guard.Token))
        {
            stream.Add((d.Position, Encoding.UTF8.GetString(d.Payload.Span)));
            if (d.Position + 1 >= end) break;
        }
        return stream;
    }

    private static void AssertStream(Dictionary<long, string> published, long from, List<(long Position, string Text)> stream)
    {
        Assert.Equal(published.Count - from, stream.Count);
        for (int i = 0; i < stream.Count; i++)
        {
            Assert.Equal(from + i, stream[i].Position); // no gap, no duplicate
            Assert.Equal(published[from + i], stream[i].Text);
        }
    }

    [Fact]
    public async Task BatchesCarryTheSameStreamAsReadAllFromTheStartAndFromInsideABatch()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        await cluster.WaitForLeaderAsync(Guard);
        await using var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions());
        var published = await PublishAsync(publisher, "m", 3000);
        await using var subscriber = await Subscriber.ConnectAsync(cluster.SubscriberOptions(2));

        var (fromStart, batches) = await ReadBatchesAsync(subscriber, 0, published.Count);
        AssertStream(published, 0, fromStart);
        AssertStream(published, 0, await ReadAllAsync(subscriber, 0, published.Count));

        // Start one message into a batch of several: the first view starts exactly there.
        var (first, count) = batches.First(b => b.Count >= 3);
        long inside = first + 1;
        var (fromInside, insideBatches) = await ReadBatchesAsync(subscriber, inside, published.Count);
        Assert.Equal((inside, count - 1), insideBatches[0]);
        AssertStream(published, inside, fromInside);
        AssertStream(published, inside, await ReadAllAsync(subscriber, inside, published.Count));
    }

    [Fact]
    public async Task ABatchIsOnlyValidUntilTheNextMoveNext()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        await cluster.WaitForLeaderAsync(Guard);
        await using var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions());
        await PublishAsync(publisher, "a", 200);
        await PublishAsync(publisher, "b", 200); // a second publish round: at least two batches
        await using var subscriber = await Subscriber.ConnectAsync(cluster.SubscriberOptions(1));
        using var guard = new CancellationTokenSource(Guard);
        await using var batches = subscriber.ReadBatchesAsync(0, guard.Token).GetAsyncEnumerator(guard.Token);
        Assert.True(await batches.MoveNextAsync());
        var stale = batches.Current.GetEnumerator();
        Assert.True(await batches.MoveNextAsync());
        Assert.Throws<InvalidOperationException>(() => stale.MoveNext());
    }

    [Fact]
    public async Task BatchesResumeOnAnotherMemberWithoutGapOrDuplicateWhenTheirMemberStops()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        ushort leader = await cluster.WaitForLeaderAsync(Guard);
        ushort follower = cluster.Hosts.Keys.First(id => id != leader);
        await using var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions(leader));
        var published = await PublishAsync(publisher, "a", 1500);
        await using var subscriber = await Subscriber.ConnectAsync(cluster.SubscriberOptions(follower));
        using var guard = new CancellationTokenSource(Guard);
        var stream = new List<(long Position, string Text)>();
        await using var batches = subscriber.ReadBatchesAsync(0, guard.Token).GetAsyncEnumerator(guard.Token);
        while (stream.Count < 1500) Assert.True(await Copy(batches, stream));
        Assert.Equal(follower, subscriber.CurrentMember);

        // The member it reads from stops; what is published next can only come from another member.
        await cluster.Hosts[follower].StopAsync();
        foreach (var (position, text) in await PublishAsync(publisher, "b", 1500)) published.Add(position, text);
        while (stream.Count < 3000) Assert.True(await Copy(batches, stream));

        AssertStream(published, 0, stream);
        Assert.NotEqual(follower, subscriber.CurrentMember);
        Assert.True(subscriber.Reconnects >= 1);
    }

    private static async Task<bool> Copy(IAsyncEnumerator<DeliveryBatch> batches, List<(long Position, string Text)> into)
    {
        if (!await batches.MoveNextAsync()) return false;
        long position = batches.Current.FirstPosition;
        foreach (var payload in batches.Current) into.Add((position++, Encoding.UTF8.GetString(payload.Span)));
        return true;
    }
}
