namespace AtomicBcast.Consensus;

/// <summary>How often the rare floor paths ran (for the simulation's statistics: proof that a configuration reaches them).</summary>
internal sealed class FloorCounters
{
    /// <summary>Deliveries whose trim the pin held back.</summary>
    public long PinnedTrims;
    /// <summary>Accepts that arrived below the acceptor's floor (answered with the chosen value or the floor).</summary>
    public long AcceptsBelowFloor;
    /// <summary>Promises not sent because the floor passed their from before they were answered.</summary>
    public long PromisesRefused;
}
