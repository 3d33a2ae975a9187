using System.Buffers;
using System.IO.Pipelines;
using AtomicBcast.Wire;

namespace AtomicBcast.Bench.Transport;

/// <summary>The loopback benchmarks' one measured operation: frames of one body written in bursts (one flush per burst)
/// while the other side parses every frame.</summary>
internal static class FrameBurst
{
    public static async Task SendAsync(PipeWriter output, PipeReader input, byte[] body, int frames, int burst)
    {
        var reading = ReadFramesAsync(input, frames);
        for (int i = 0; i < frames; i++)
        {
            FrameCodec.WriteHeader(output, MessageType.Accept, 0, body.Length);
            output.Write(body);
            if ((i + 1) % burst != 0 && i != frames - 1) continue;
            var flush = output.FlushAsync();
            if (!flush.IsCompletedSuccessfully) await flush;
        }
        await reading;
    }

    private static async Task ReadFramesAsync(PipeReader input, int count)
    {
        int frames = 0;
        while (frames < count)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            while (frames < count && FrameCodec.TryReadFrame(ref buffer, out _)) frames++;
            input.AdvanceTo(buffer.Start, result.Buffer.End);
            if (result.IsCompleted && frames < count) throw new InvalidOperationException("connection ended");
        }
    }
}
