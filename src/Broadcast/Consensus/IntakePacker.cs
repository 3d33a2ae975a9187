using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>One publisher run waiting in the leader's intake, with the client token its ack goes to.</summary>
internal readonly record struct IntakeRun(long Client, BatchBuffer Run, int MessageCount);

/// <summary>
/// Packs queued publisher runs into one batch: header + runs copied back to back, CRC sealed.
/// The one place the core builds batches. It copies each run once, straight into the final buffer, which is why it
/// does not go through Wire.BatchBuilder (a scratch copy, then a sealed copy); it does not compress.
/// Takes at least one run, then more while the batch stays within <c>batchBytesMax</c>.
/// </summary>
internal static class IntakePacker
{
    public static BatchBuffer Build(Queue<IntakeRun> intake, int batchBytesMax, List<long> clients, out long intakeBytes)
    {
        int total = Limits.BatchHeaderBytes, runs = 0, messages = 0;
        foreach (var run in intake)
        {
            // Deliveries name skipped runs by a u16 index, so a batch holds at most ushort.MaxValue runs.
            if (runs > 0 && (total + run.Run.Length > batchBytesMax || runs == ushort.MaxValue)) break;
            total += run.Run.Length;
            messages += run.MessageCount;
            runs++;
        }
        var batch = BatchBuffer.Rent(total, ordered: true); // kept until the delivery ring lets it go, in order
        var span = batch.WritableSpan;
        int offset = Limits.BatchHeaderBytes;
        intakeBytes = 0;
        for (int i = 0; i < runs; i++)
        {
            var run = intake.Dequeue();
            run.Run.Span.CopyTo(span[offset..]);
            offset += run.Run.Length;
            intakeBytes += run.Run.Length;
            clients.Add(run.Client);
            run.Run.Release();
        }
        BatchCodec.WriteHeader(span, BatchFlags.None, runs, messages, total - Limits.BatchHeaderBytes);
        return batch;
    }
}
