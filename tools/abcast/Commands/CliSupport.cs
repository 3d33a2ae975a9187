using System.CommandLine;
using System.Runtime.InteropServices;
using AtomicBcast.Client;
using AtomicBcast.Node;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Cli.Commands;

/// <summary>What the commands share: client options from a config, stderr logging, and Ctrl+C / SIGTERM as a cancellation.</summary>
internal static class CliSupport
{
    /// <summary>Exit code when the cluster refused our token (unknown, or without the right).</summary>
    public const int ExitAccessDenied = 5;

    public static PublisherOptions PublisherOptions(ClusterConfig config, ulong? producerId, string? token = null) => new()
    {
        ClusterId = config.ClusterId,
        Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
        ProducerId = producerId,
        Token = token,
        Tls = ClientTls(config),
    };

    public static SubscriberOptions SubscriberOptions(ClusterConfig config, ushort? member, string? token = null) => new()
    {
        ClusterId = config.ClusterId,
        Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
        PreferredMember = member,
        Token = token,
        Tls = ClientTls(config),
    };

    /// <summary>Clients trust the cluster's CA and present no certificate (they authenticate with tokens).</summary>
    public static AtomicBcast.Transport.Tls.TlsSettings? ClientTls(ClusterConfig config) => config.TlsEnabled
        ? new() { TrustedCa = AtomicBcast.Transport.Tls.TlsSettings.LoadCa(config.Tls!.CaFile!) }
        : null;

    /// <summary>The <c>--token</c> option of publish and subscribe; the environment variable ABCAST_TOKEN is the default
    /// (a token on the command line is visible to every user of the machine through the process list).</summary>
    public static Option<string?> TokenOption() => new("--token")
    {
        Description = "client token from the cluster's tokens (default: $ABCAST_TOKEN)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ABCAST_TOKEN"),
    };

    /// <summary>Runs a client command; a refused token is one line on stderr and exit code 5.</summary>
    public static int RefusalIsOneLine(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (AccessDeniedException e)
        {
            Console.Error.WriteLine($"abcast: access denied: {e.Message}");
            return ExitAccessDenied;
        }
    }

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
