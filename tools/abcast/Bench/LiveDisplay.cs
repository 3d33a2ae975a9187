using Spectre.Console;

namespace AtomicBcast.Cli.Bench;

/// <summary>Progress while a run goes on: a live line with Spectre.Console on a terminal, one plain line a second otherwise.</summary>
internal static class LiveDisplay
{
    public static async Task ShowAsync(Func<string> line, Task until)
    {
        if (Console.IsOutputRedirected)
        {
            while (!until.IsCompleted)
            {
                await Task.WhenAny(until, Task.Delay(1000));
                Console.WriteLine(line());
            }
            return;
        }
        await AnsiConsole.Live(new Markup("")).StartAsync(async context =>
        {
            while (!until.IsCompleted)
            {
                await Task.WhenAny(until, Task.Delay(1000));
                context.UpdateTarget(new Markup(Markup.Escape(line())));
            }
        });
    }
}
