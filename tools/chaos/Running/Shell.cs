using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AtomicBcast.Chaos.Running;

/// <summary>Runs the system tools a scenario needs (nft, mount, xfs_io, ...) and sends signals.</summary>
internal static partial class Shell
{
    public const int SigKill = 9, SigTerm = 15, SigCont = 18, SigStop = 19;

    /// <summary>Runs a command to completion; throws with its stderr when it fails (unless <paramref name="check"/> is false).</summary>
    public static (int Code, string Output) Run(string file, IEnumerable<string> args, bool check = true, string? stdin = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string all = output + error.Result;
        if (check && process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {all.Trim()}");
        return (process.ExitCode, all);
    }

    public static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0 && Marshal.GetLastPInvokeError() != 3 /* ESRCH: already gone */)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
