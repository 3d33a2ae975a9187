using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>
/// Checks a publisher run before the leader takes it: the header matches the publish fields, and the messages
/// section is exactly <c>count</c> varint-prefixed messages, each within <see cref="Limits.MessageBytesMax"/>.
/// A run that passes here can be split by every subscriber; one that fails is malformed input (<see cref="WireException"/>).
/// </summary>
internal static class RunValidator
{
    public static void Validate(in PublishMessage publish)
    {
        var run = publish.Run.Span;
        var header = RunHeader.Read(run);
        if (header.ProducerId != publish.ProducerId || header.FirstSeq != publish.FirstSeq || header.Count != publish.Count)
            WireException.Throw("publish fields disagree with the run header");
        if (header.Bytes + Limits.RunHeaderBytes != run.Length) WireException.Throw("run length disagrees with its header");
        if (run.Length + Limits.BatchHeaderBytes > Limits.BatchBytesMax) WireException.Throw("run larger than a batch");
        var messages = run[Limits.RunHeaderBytes..];
        for (int i = 0; i < header.Count; i++)
        {
            uint length = Varint.Read(messages, out int consumed);
            if (length > Limits.MessageBytesMax || length > (uint)(messages.Length - consumed))
                WireException.Throw($"message {i} of the run: length {length} exceeds the limit or the run");
            messages = messages[(consumed + (int)length)..];
        }
        if (!messages.IsEmpty) WireException.Throw($"{messages.Length} bytes after the run's last message");
    }
}
