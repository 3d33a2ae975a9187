using System.Diagnostics;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// One <c>abcast node</c> process, run under its own group id (the firewall attributes its packets by it), with its
/// stdout and stderr appended to member-ID.log across restarts.
/// </summary>
internal sealed class MemberProcess(int id, string abcast, string configPath, string logPath, bool unsafeNoSync, RunClock clock)
{
    private Process? _process;
    private readonly object _exitGate = new();
    private StreamWriter? _log;
    private readonly object _logLock = new();

    public int Id => id;

    /// <summary>Set when the member exited: its exit code (or -signal) and when.</summary>
    public (int Code, long AtMs)? Exit { get; private set; }

    /// <summary>A fault (kill, power cut) the runner caused: its exit is expected.</summary>
    public bool ExpectExit { get; set; }

    public bool Running => _process is { HasExited: false };

    public bool Paused { get; private set; }

    public int Pid => _process?.Id ?? 0;

    /// <summary>Every exit nobody asked for (the run's expectations list them).</summary>
    public List<(int Code, long AtMs)> UnexpectedExits { get; } = new();

    public void Start()
    {
        if (Running) return;
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--regid", (Firewall.GidBase + id).ToString(), "--clear-groups", "--", abcast, "node", "--config", configPath, "--id", id.ToString()])
            info.ArgumentList.Add(a);
        if (unsafeNoSync) info.ArgumentList.Add("--unsafe-no-sync");
        _log ??= new StreamWriter(logPath, append: true) { AutoFlush = true };
        Write($"{Wall()} === chaos: starting member {id} at {clock.NowMs} ms{(unsafeNoSync ? " (UNSAFE no-sync)" : "")}");
        Exit = null;
        ExpectExit = false;
        Paused = false;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Write(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Write(e.Data); };
        process.Exited += (_, _) => OnExited(process);
        lock (_exitGate) // an exit at once waits here until _process names this process
        {
            process.Start();
            _process = process;
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Records the exit once per process: from its Exited event or from <see cref="WaitForExit"/>, whichever comes
    /// first (the event is raised asynchronously, after WaitForExit may already have returned). A late event of a process
    /// already replaced by a restart is ignored.</summary>
    private void OnExited(Process process)
    {
        lock (_exitGate)
        {
            if (process != _process || Exit is not null) return;
            int code = process.ExitCode;
            long at = clock.NowMs;
            Exit = (code, at);
            Write($"{Wall()} === chaos: member {id} exited with {code} at {at} ms{(ExpectExit ? " (expected)" : " (UNEXPECTED)")}");
            if (!ExpectExit) lock (UnexpectedExits) UnexpectedExits.Add((code, at));
        }
    }

    public void Signal(int signal)
    {
        if (!Running) return;
        if (signal == Shell.SigKill || signal == Shell.SigTerm) ExpectExit = true;
        Shell.Signal(_process!.Id, signal);
        if (signal == Shell.SigStop) Paused = true;
        if (signal == Shell.SigCont) Paused = false;
    }

    public void Kill()
    {
        Signal(Shell.SigKill);
        WaitForExit(TimeSpan.FromSeconds(10));
    }

    /// <summary>True once the process has exited, with <see cref="Exit"/> set (a fsync-eio run once read it before the
    /// Exited event had set it, and reported a halt with exit 3 as "exited with  after  ms").</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        var process = _process;
        if (process is null) return true;
        if (!process.WaitForExit(timeout)) return false;
        OnExited(process);
        return true;
    }

    /// <summary>Stops the member in order (SIGTERM), then by force if it does not stop within <paramref name="patience"/>.</summary>
    public void Stop(TimeSpan patience)
    {
        if (!Running) return;
        if (Paused) Signal(Shell.SigCont);
        Signal(Shell.SigTerm);
        if (!WaitForExit(patience)) Kill();
    }

    /// <summary>Wall-clock time in the members' own log format, so the runner's lines line up with theirs.</summary>
    private static string Wall() => DateTime.Now.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);

    public void Write(string line)
    {
        lock (_logLock) _log?.WriteLine(line);
    }

    public void CloseLog()
    {
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
    }
}
