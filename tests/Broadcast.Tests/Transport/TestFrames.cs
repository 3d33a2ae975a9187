using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Transport;

/// <summary>Frames whose bodies are a function of their sequence number, so a reader can check every byte.</summary>
internal static class TestFrames
{
    public static void Write(PipeWriter writer, int seq, int bodyBytes)
    {
        FrameCodec.WriteHeader(writer, MessageType.Heartbeat, 0, bodyBytes);
        int written = 0;
        while (written < bodyBytes)
        {
            var span = writer.GetSpan();
            int count = Math.Min(span.Length, bodyBytes - written);
            for (int i = 0; i < count; i++) span[i] = ByteAt(seq, written + i);
            writer.Advance(count);
            written += count;
        }
    }

    /// <summary>Writes <paramref name="count"/> frames, flushing once per <paramref name="burst"/> frames.</summary>
    public static async Task WriteManyAsync(PipeWriter writer, int count, Func<int, int> bodyBytes, int burst)
    {
        for (int seq = 0; seq < count; seq++)
        {
            Write(writer, seq, bodyBytes(seq));
            if ((seq + 1) % burst == 0 || seq == count - 1)
            {
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted) throw new InvalidOperationException($"connection gone after frame {seq}");
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> frames and checks every body byte; returns the frames' total bytes.</summary>
    public static async Task<long> ReadManyAsync(PipeReader reader, int count, Func<int, int> bodyBytes, int firstSeq = 0)
    {
        int seq = firstSeq;
        count += firstSeq;
        long total = 0;
        while (seq < count)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            while (seq < count && FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                Check(frame, seq, bodyBytes(seq));
                total += frame.Body.Length + Limits.FrameHeaderBytes;
                seq++;
            }
            reader.AdvanceTo(buffer.Start, result.Buffer.End);
            if (seq < count && result.IsCompleted) throw new InvalidOperationException($"input ended after {seq} of {count} frames");
        }
        return total;
    }

    public static void Check(in Frame frame, int seq, int bodyBytes)
    {
        Assert.Equal(MessageType.Heartbeat, frame.Type);
        Assert.Equal(bodyBytes, frame.Body.Length);
        int offset = 0;
        foreach (var segment in frame.Body)
        {
            var span = segment.Span;
            for (int i = 0; i < span.Length; i++)
                if (span[i] != ByteAt(seq, offset + i)) Assert.Fail($"frame {seq}: byte {offset + i} differs");
            offset += span.Length;
        }
    }

    private static byte ByteAt(int seq, int index) => (byte)(seq * 31 + index * 7 + (index >> 8));
}
