using System.Runtime.InteropServices;
using AtomicBcast.Client;
using AtomicBcast.Node;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Cli.Commands;

/// <summary>What the commands share: client options from a config, stderr logging, and Ctrl+C / SIGTERM as a cancellation.</summary>
internal static class CliSupport
{
    public static PublisherOptions PublisherOptions(ClusterConfig config, ulong? producerId) => new()
    {
        ClusterId = config.ClusterId,
        Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
        ProducerId = producerId,
    };

    public static SubscriberOptions SubscriberOptions(ClusterConfig config, ushort? member) => new()
    {
        ClusterId = config.ClusterId,
        Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
        PreferredMember = member,
    };

    /// <summary>Logs to stderr (stdout is for command output that scripts read).</summary>
    public static ILoggerFactory StderrLoggers(LogLevel minimum) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(minimum)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; }));

    /// <summary>A token cancelled on SIGINT (Ctrl+C) or SIGTERM; dispose the result to unregister.</summary>
    public static StopSignal OnStopSignal() => new();

    internal sealed class StopSignal : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly PosixSignalRegistration _int;
        private readonly PosixSignalRegistration _term;

        public StopSignal()
        {
            _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        }

        public CancellationToken Token => _cts.Token;

        private void Handle(PosixSignalContext context)
        {
            context.Cancel = true; // we stop in order ourselves
            _cts.Cancel();
        }

        public void Dispose()
        {
            _int.Dispose();
            _term.Dispose();
            _cts.Dispose();
        }
    }
}
