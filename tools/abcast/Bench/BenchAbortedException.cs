namespace AtomicBcast.Cli.Bench;

/// <summary>The run could not start or go on (e.g. no leader answered): one line on stderr and exit code 1, never a stack trace.</summary>
internal sealed class BenchAbortedException(string message) : Exception(message);
