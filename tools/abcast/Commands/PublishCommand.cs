using System.CommandLine;
using System.Text;
using System.Threading.Channels;
using AtomicBcast.Client;
using AtomicBcast.Node;

namespace AtomicBcast.Cli.Commands;

/// <summary>
/// <c>abcast publish --config FILE [--producer ID] [--count N --size B]</c>: publishes stdin lines (or generated
/// messages) in order and prints <c>position\tline</c> per acknowledged message, in input order, as acks arrive.
/// </summary>
internal static class PublishCommand
{
    public const int ExitNotAcknowledged = 1;

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "cluster.json", Required = true };
        var producer = new Option<ulong?>("--producer") { Description = "producer id (default: random); never reuse one across runs: its seqs restart at 1 and would be dropped as duplicates" };
        var count = new Option<int?>("--count") { Description = "publish N generated messages instead of stdin" };
        var size = new Option<int>("--size") { Description = "bytes per generated message", DefaultValueFactory = _ => 100 };
        var timeout = new Option<int>("--timeout") { Description = "seconds without any acknowledgement before giving up", DefaultValueFactory = _ => 30 };
        var token = CliSupport.TokenOption();
        var command = new Command("publish", "publish stdin lines (or generated messages); print position<TAB>line per ack") { config, producer, count, size, timeout, token };
        command.SetAction(parse => CliSupport.RefusalIsOneLine(() => Run(parse.GetValue(config)!, parse.GetValue(producer), parse.GetValue(count),
            parse.GetValue(size), parse.GetValue(timeout), parse.GetValue(token))));
        return command;
    }

    private static int Run(string configPath, ulong? producer, int? count, int size, int timeoutSeconds, string? token)
    {
        if (producer == 0) throw new ConfigException("--producer must be non-zero (0 is anonymous publishing)");
        if (count is < 0 || size is < 0 or > Limits.MessageBytesMax) throw new ConfigException($"--count must be >= 0 and --size within 0..{Limits.MessageBytesMax}");
        var config = ClusterConfig.Load(configPath);
        using var signal = CliSupport.OnStopSignal();
        return RunAsync(config, producer, token, count, size, TimeSpan.FromSeconds(timeoutSeconds), signal.Token).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(ClusterConfig config, ulong? producer, string? token, int? count, int size, TimeSpan timeout, CancellationToken stop)
    {
        await using var publisher = await Publisher.ConnectAsync(CliSupport.PublisherOptions(config, producer, token), stop);
        var inOrder = Channel.CreateBounded<(long Line, string Text, Task<long> Ack)>(65536);
        var reading = Task.Run(async () =>
        {
            long line = 0;
            foreach (var text in Lines(count, size))
            {
                line++;
                await inOrder.Writer.WriteAsync((line, text, publisher.PublishAsync(Encoding.UTF8.GetBytes(text), stop)), stop);
            }
            inOrder.Writer.Complete();
        }, stop);
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
        await foreach (var (line, text, ack) in inOrder.Reader.ReadAllAsync(stop))
        {
            // Flush before waiting, so a reader of our output sees every ack that arrived promptly.
            if (!ack.IsCompleted) await output.FlushAsync(stop);
            long position;
            try
            {
                position = await ack.WaitAsync(timeout, stop);
            }
            catch (Exception e) when (e is TimeoutException or PublishException or OperationCanceledException)
            {
                await output.FlushAsync(CancellationToken.None);
                string why = e is TimeoutException ? $"no acknowledgement within {timeout.TotalSeconds:0} s" : e.Message;
                Console.Error.WriteLine($"abcast: line {line} not acknowledged ({why}): {Shorten(text)}");
                return ExitNotAcknowledged;
            }
            await output.WriteAsync($"{position}\t{text}\n");
        }
        await reading;
        await output.FlushAsync(stop);
        return 0;
    }

    private static IEnumerable<string> Lines(int? count, int size)
    {
        if (count is { } n)
        {
            for (int i = 0; i < n; i++)
            {
                string head = $"msg-{i}-";
                yield return head.Length >= size ? head : head + new string('x', size - head.Length);
            }
            yield break;
        }
        using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        while (input.ReadLine() is { } line) yield return line;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
