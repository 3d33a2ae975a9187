namespace AtomicBcast.Chaos.Running;

/// <summary>
/// A member's data directory on its own ext4 file system in a loop-device image, so a "power cut" can lose exactly
/// what was not synced: <c>xfs_io -x -c shutdown</c> (no log flush) stops the file system, then it is unmounted and
/// mounted again. Mounts live in the run's private mount namespace (the loop device is released when it unmounts).
/// </summary>
internal sealed class Disk(string image, string mountPoint)
{
    public string MountPoint => mountPoint;

    public bool Mounted { get; private set; }

    public void Create(int megabytes)
    {
        Shell.Run("truncate", ["-s", $"{megabytes}M", image]);
        Shell.Run("mkfs.ext4", ["-q", "-F", image]);
        Directory.CreateDirectory(mountPoint);
        Mount();
    }

    public void Mount()
    {
        Shell.Run("mount", ["-o", "loop", image, mountPoint]);
        Mounted = true;
    }

    /// <summary>Stops the file system at once: nothing unsynced reaches the image (the journal is not flushed).</summary>
    public void Shutdown() => Shell.Run("xfs_io", ["-x", "-c", "shutdown", mountPoint]);

    public void Unmount()
    {
        if (!Mounted) return;
        Shell.Run("umount", [mountPoint]);
        Mounted = false;
    }

    /// <summary>Shut down, unmount and mount again: the state a machine finds after a power cut and a reboot.</summary>
    public void PowerCycle()
    {
        Unmount();
        Mount();
    }
}
