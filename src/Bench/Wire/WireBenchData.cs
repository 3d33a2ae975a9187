using AtomicBcast.Wire;

namespace AtomicBcast.Bench.Wire;

/// <summary>Shared shapes of the Wire benchmarks: 1024 messages per batch, in 16 publisher runs of 64.</summary>
internal static class WireBenchData
{
    public const int MessagesPerBatch = 1024;
    public const int Runs = 16;
    public const int MessagesPerRun = MessagesPerBatch / Runs;

    /// <summary>JSON-like payloads (fixed field names, random values), seeded: LZ4 finds the repeats as it would
    /// in typical application messages; random bytes would not compress at all.</summary>
    public static byte[][] Payloads(int payloadBytes)
    {
        var random = new Random(payloadBytes);
        var payloads = new byte[MessagesPerBatch][];
        for (int i = 0; i < payloads.Length; i++)
        {
            var text = new System.Text.StringBuilder();
            while (text.Length < payloadBytes)
                text.Append($"{{\"id\":{random.Next(1_000_000)},\"kind\":\"{s_kinds[random.Next(s_kinds.Length)]}\",\"qty\":{random.Next(100)},\"px\":{random.Next(100_000) / 100.0}}}");
            payloads[i] = System.Text.Encoding.ASCII.GetBytes(text.ToString(0, payloadBytes));
        }
        return payloads;
    }

    private static readonly string[] s_kinds = ["order", "cancel", "fill", "quote"];

    public static BatchBuffer Build(BatchBuilder builder, byte[][] payloads)
    {
        for (int r = 0; r < Runs; r++)
        {
            builder.BeginRun((ulong)r + 1, 1);
            for (int m = 0; m < MessagesPerRun; m++) builder.TryAppendMessage(payloads[r * MessagesPerRun + m]);
            builder.EndRun();
        }
        return builder.Seal();
    }
}
