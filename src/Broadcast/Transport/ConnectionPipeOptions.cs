using System.Buffers;
using System.IO.Pipelines;

namespace AtomicBcast.Transport;

/// <summary>The pipe settings of connections of one transport, built once from <see cref="TransportOptions"/>.</summary>
internal sealed class ConnectionPipeOptions(PipeOptions input, PipeOptions output)
{
    public PipeOptions Input { get; } = input;
    public PipeOptions Output { get; } = output;

    /// <summary>
    /// One set per I/O queue; connections take them round-robin. The transport's side of each pipe (resuming the
    /// receive and send loops) runs on the queue; the application's side runs on <paramref name="application"/>. With
    /// <see cref="TransportOptions.InlineHandOffs"/>, the application's reads run inline in the receive loop and the send
    /// loop inline in the application's flush.
    /// </summary>
    public static ConnectionPipeOptions[] Create(TransportOptions options, MemoryPool<byte> pool, PipeScheduler application)
    {
        options.Validate();
        var sets = new ConnectionPipeOptions[Math.Clamp(Environment.ProcessorCount, 1, 16)];
        for (int i = 0; i < sets.Length; i++)
        {
            var io = new IOQueue();
            var input = new PipeOptions(pool, readerScheduler: options.InlineHandOffs ? PipeScheduler.Inline : application, writerScheduler: io,
                pauseWriterThreshold: options.InputPauseBytes, resumeWriterThreshold: options.InputResumeBytes,
                minimumSegmentSize: options.BlockBytes, useSynchronizationContext: false);
            var output = new PipeOptions(pool, readerScheduler: options.InlineHandOffs ? PipeScheduler.Inline : io, writerScheduler: application,
                pauseWriterThreshold: options.OutputPauseBytes, resumeWriterThreshold: options.OutputResumeBytes,
                minimumSegmentSize: options.BlockBytes, useSynchronizationContext: false);
            sets[i] = new ConnectionPipeOptions(input, output);
        }
        return sets;
    }
}

/// <summary>Hands out pipe settings round-robin so connections spread over the I/O queues.</summary>
internal sealed class PipeOptionsRing(ConnectionPipeOptions[] sets)
{
    private int _next;
    public ConnectionPipeOptions Next() => sets[(int)((uint)Interlocked.Increment(ref _next) % (uint)sets.Length)];
}
