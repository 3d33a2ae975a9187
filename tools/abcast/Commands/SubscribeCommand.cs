using System.CommandLine;
using System.Text;
using AtomicBcast.Client;
using AtomicBcast.Node;

namespace AtomicBcast.Cli.Commands;

/// <summary>
/// <c>abcast subscribe --config FILE --from P [--count N] [--member ID] [--format text|hex]</c>: prints
/// <c>position\tpayload</c> per message and follows the live tail until N messages were printed or it is interrupted.
/// </summary>
internal static class SubscribeCommand
{
    public const int ExitBelowFloor = 4;

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "cluster.json", Required = true };
        var from = new Option<long>("--from") { Description = "first position to print", Required = true };
        var count = new Option<long?>("--count") { Description = "stop after N messages" };
        var member = new Option<int?>("--member") { Description = "member to read from first" };
        var format = new Option<string>("--format") { Description = "text (UTF-8) or hex", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "hex");
        var token = CliSupport.TokenOption();
        var command = new Command("subscribe", "print position<TAB>payload from a position on, following the live tail") { config, from, count, member, format, token };
        command.SetAction(parse => CliSupport.RefusalIsOneLine(() => Run(parse.GetValue(config)!, parse.GetValue(from), parse.GetValue(count),
            parse.GetValue(member), parse.GetValue(format)!, parse.GetValue(token))));
        return command;
    }

    private static int Run(string configPath, long from, long? count, int? member, string format, string? token)
    {
        if (from < 0) throw new ConfigException("--from must be >= 0");
        var config = ClusterConfig.Load(configPath);
        if (member is { } id) config.Member(id);
        using var signal = CliSupport.OnStopSignal();
        try
        {
            return RunAsync(config, from, count, (ushort?)member, token, format == "hex", signal.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (BelowRetentionFloorException e)
        {
            Console.Error.WriteLine($"abcast: {e.Message}");
            return ExitBelowFloor;
        }
    }

    private static async Task<int> RunAsync(ClusterConfig config, long from, long? count, ushort? member, string? token, bool hex, CancellationToken stop)
    {
        await using var subscriber = await Subscriber.ConnectAsync(CliSupport.SubscriberOptions(config, member, token), stop);
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
        long printed = 0;
        var lastFlush = Environment.TickCount64;
        try
        {
            await using var enumerator = subscriber.ReadAllAsync(from, stop).GetAsyncEnumerator(stop);
            while (count is null || printed < count)
            {
                var next = enumerator.MoveNextAsync();
                if (!next.IsCompleted) await output.FlushAsync(stop);
                if (!await next) break;
                var d = enumerator.Current;
                string text = hex ? Convert.ToHexString(d.Payload.Span) : Encoding.UTF8.GetString(d.Payload.Span);
                await output.WriteAsync($"{d.Position}\t{text}\n");
                printed++;
                if (Environment.TickCount64 - lastFlush >= 100)
                {
                    await output.FlushAsync(stop);
                    lastFlush = Environment.TickCount64;
                }
            }
        }
        finally
        {
            // Interrupted or done: everything printed so far reaches the reader.
            await output.FlushAsync(CancellationToken.None);
        }
        return 0;
    }
}
