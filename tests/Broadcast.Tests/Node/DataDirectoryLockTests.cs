using AtomicBcast.Node;

namespace AtomicBcast.Tests.Node;

public sealed class DataDirectoryLockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "abcast-lock-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void SecondHolderIsRefusedAndToldWhoHoldsIt()
    {
        using var first = DataDirectoryLock.Acquire(_dir);
        var error = Assert.Throws<DataDirectoryLockedException>(() => DataDirectoryLock.Acquire(_dir));
        Assert.Contains($"pid {Environment.ProcessId}", error.Message);
        Assert.Contains(_dir, error.Message);
    }

    [Fact]
    public void LockIsFreeAgainAfterDispose()
    {
        DataDirectoryLock.Acquire(_dir).Dispose();
        using var again = DataDirectoryLock.Acquire(_dir);
        Assert.Equal(_dir, again.Directory);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
