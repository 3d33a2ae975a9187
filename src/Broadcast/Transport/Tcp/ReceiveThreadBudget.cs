using System.Diagnostics;

namespace AtomicBcast.Transport.Tcp;

/// <summary>
/// The receive threads of one transport: at most <see cref="TransportOptions.ReceiveThreadsMax"/> connections at once
/// receive on a thread of their own. A connection takes its place when it is made and gives it back when its link is
/// released, so a closed connection's place serves the next one.
/// </summary>
internal sealed class ReceiveThreadBudget(int max)
{
    private int _taken;

    public int Taken => Volatile.Read(ref _taken);

    public bool TryTake()
    {
        while (true)
        {
            int taken = Volatile.Read(ref _taken);
            if (taken >= max) return false;
            if (Interlocked.CompareExchange(ref _taken, taken + 1, taken) == taken) return true;
        }
    }

    public void Return()
    {
        int after = Interlocked.Decrement(ref _taken);
        Debug.Assert(after >= 0, "a receive thread returned twice");
    }
}
