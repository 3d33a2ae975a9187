using System.IO.Pipelines;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;

namespace AtomicBcast.Tests.Transport;

/// <summary>
/// The whole TCP suite again, with every connection receiving on a thread of its own
/// (<see cref="TransportOptions.ReceiveThreadsMax"/>), plus the bound on those threads.
/// </summary>
public sealed class TcpReceiveThreadTests : TcpTransportTests
{
    protected override ITransport CreateTransport(TransportOptions options) =>
        new TcpTransport(options.ReceiveThreadsMax > 0 ? options : options with { ReceiveThreadsMax = 64 });

    [Fact]
    public async Task AnInlineReadRunsOnTheConnectionsOwnReceiveThread()
    {
        // Inline reads run where the received bytes were flushed into the pipe: on the receive thread itself.
        var inline = Options() with { InlineHandOffs = true };
        await using var pair = await ConnectPairAsync(inline, inline);
        // The read waits before the frame is sent, so it resumes in the receive thread's flush, not at once here.
        var reading = ReadOneFrameAndNameTheThreadAsync(pair.Server.Input);
        TestFrames.Write(pair.Client.Output, seq: 0, bodyBytes: 100);
        await pair.Client.Output.FlushAsync();
        string? readOn = await reading.WaitAsync(Guard);
        Assert.StartsWith("abcast receive ", readOn);
    }

    [Fact]
    public async Task OnlyTheBoundsWorthOfConnectionsTakeAReceiveThreadAndClosingGivesThemBack()
    {
        var server = new TcpTransport(Options(nodeId: 1) with { ReceiveThreadsMax = 1 });
        var client = new TcpTransport(Options(nodeId: 2) with { ReceiveThreadsMax = 1 });
        await using var listener = await server.ListenAsync(AnyEndPoint);
        var pairs = new List<ConnectionPair>();
        for (int i = 0; i < 3; i++)
        {
            var connecting = client.ConnectAsync(listener.LocalEndPoint).AsTask();
            var accepted = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
            pairs.Add(new ConnectionPair(accepted, await connecting.WaitAsync(Guard)));
        }
        Assert.Equal(1, server.ReceiveThreadsTaken);
        Assert.Equal(1, client.ReceiveThreadsTaken);
        // Connections past the bound receive the usual way: frames flow on all of them, both ways.
        for (int i = 0; i < pairs.Count; i++)
        {
            await RoundTripAsync(pairs[i], seq: i);
            await RoundTripAsync(new ConnectionPair(pairs[i].Client, pairs[i].Server), seq: i);
        }
        foreach (var pair in pairs) await pair.DisposeAsync();
        Assert.Equal(0, server.ReceiveThreadsTaken);
        Assert.Equal(0, client.ReceiveThreadsTaken);
    }

    [Fact]
    public async Task AnAbortEndsAReceiveThreadBlockedInItsFlush()
    {
        // The receiver's app never reads: its input pipe passes the pause threshold and the receive thread blocks in the
        // flush, which the abort must end (as it ends an awaited flush on the async path).
        var receiver = Options(nodeId: 1) with { InputPauseBytes = 64 * 1024, InputResumeBytes = 32 * 1024 };
        await using var pair = await ConnectPairAsync(receiver, Options(nodeId: 2));
        long target = 4 * receiver.InputPauseBytes;
        int seq = 0;
        while (pair.Server.BytesReceived < target)
        {
            TestFrames.Write(pair.Client.Output, seq++, 16 * 1024);
            var flush = pair.Client.Output.FlushAsync();
            // The sender's flush waits once the kernel buffers fill behind the blocked receiver: enough was sent.
            if (!flush.IsCompleted) break;
        }
        await WaitUntilAsync(() => pair.Server.BytesReceived >= receiver.InputPauseBytes);
        pair.Server.Abort(ShutdownReason.LocalAbort);
        Assert.Equal(ShutdownKind.LocalAbort, (await pair.Server.Closed.WaitAsync(Guard)).Kind);
    }

    private static async Task<string?> ReadOneFrameAndNameTheThreadAsync(PipeReader input)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            string? thread = Thread.CurrentThread.Name;
            var buffer = result.Buffer;
            bool whole = AtomicBcast.Wire.FrameCodec.TryReadFrame(ref buffer, out _);
            input.AdvanceTo(buffer.Start, result.Buffer.End);
            if (whole) return thread;
            if (result.IsCompleted) return null;
        }
    }
}
