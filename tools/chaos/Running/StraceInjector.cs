using System.Diagnostics;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// strace attached to every thread of a running member, making each of its <c>fdatasync</c> calls fail with EIO
/// (the kernel never runs them). Disposing detaches strace if the member is still alive.
/// </summary>
internal sealed class StraceInjector : IDisposable
{
    private readonly Process _strace;

    private StraceInjector(Process strace) => _strace = strace;

    public static StraceInjector Attach(int pid)
    {
        var info = new ProcessStartInfo("strace") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in (string[])["-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync", "-e", "inject=fdatasync:error=EIO"])
            info.ArgumentList.Add(a);
        foreach (var dir in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            info.ArgumentList.Add("-p");
            info.ArgumentList.Add(Path.GetFileName(dir));
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start strace");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return new StraceInjector(process);
    }

    public void Dispose()
    {
        try
        {
            if (!_strace.HasExited)
            {
                Shell.Signal(_strace.Id, Shell.SigTerm);
                _strace.WaitForExit(TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            _strace.Dispose();
        }
    }
}
