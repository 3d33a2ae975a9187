using AtomicBcast.Wire;

namespace AtomicBcast.Bench.Wire;

/// <summary>Shared shapes of the Wire benchmarks: 1024 messages per batch, in 16 publisher runs of 64.</summary>
internal static class WireBenchData
{
    public const int MessagesPerBatch = 1024;
    public const int Runs = 16;
    public const int MessagesPerRun = MessagesPerBatch / Runs;

    /// <summary>Payloads that LZ4 can shrink somewhat (letters from a small alphabet, like text or JSON), seeded.</summary>
    public static byte[][] Payloads(int payloadBytes)
    {
        var random = new Random(payloadBytes);
        const string alphabet = "abcdefghijklmnop{}\":, 0123456789";
        var payloads = new byte[MessagesPerBatch][];
        for (int i = 0; i < payloads.Length; i++)
        {
            payloads[i] = new byte[payloadBytes];
            for (int j = 0; j < payloadBytes; j++) payloads[i][j] = (byte)alphabet[random.Next(alphabet.Length)];
        }
        return payloads;
    }

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
