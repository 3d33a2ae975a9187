using System.Net;
using AtomicBcast.Node;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>A subscriber speaking the wire directly, to see the Deliver frames a member sends (skipped runs included).</summary>
internal static class RawSubscriber
{
    /// <summary>One Deliver frame as received: the batch bytes copied.</summary>
    public sealed record Frame(long FirstPosition, long Instance, ushort[] SkippedRuns, byte[] Batch, int MessageCount);

    /// <summary>Subscribes at <paramref name="from"/> and collects Deliver frames until the delivered positions reach <paramref name="end"/>.</summary>
    public static async Task<List<Frame>> ReadAsync(IPEndPoint member, long from, long end, TimeSpan guard)
    {
        var transport = new TcpTransport(new TransportOptions
        {
            LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Subscriber, 0, LocalCluster.ClusterId),
            IdleTimeout = Timeout.InfiniteTimeSpan,
        });
        using var timeout = new CancellationTokenSource(guard);
        await using var connection = await transport.ConnectAsync(member, timeout.Token);
        MessageWriter.Write(connection.Output, new SubscribeMessage(from));
        await connection.Output.FlushAsync(timeout.Token);
        var frames = new List<Frame>();
        long reached = from;
        while (reached < end)
        {
            var result = await connection.Input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            while (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                if (frame.Type == MessageType.Error) throw new InvalidOperationException(MessageReader.ReadError(frame).Text);
                var delivery = MessageReader.ReadDeliverMessage(frame);
                int count = MemberHost.CountDelivered(delivery);
                frames.Add(new Frame(delivery.FirstPosition, delivery.Instance, delivery.SkippedRuns, delivery.Batch.Span.ToArray(), count));
                delivery.Batch.Release();
                reached = Math.Max(reached, delivery.FirstPosition + count);
            }
            connection.Input.AdvanceTo(buffer.Start, result.Buffer.End);
            if (result.IsCompleted) throw new InvalidOperationException($"the member closed the stream at {reached}");
        }
        return frames;
    }
}
