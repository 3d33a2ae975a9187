using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>The leader's record of one instance in flight. Slots live in a ring indexed by instance and are reused.</summary>
internal sealed class ProposalSlot
{
    public long Instance = -1;
    public BatchBuffer? Batch;
    public ulong AcceptedBy;
    public bool Chosen;
    public long SentMs;
    /// <summary>Client token per run of the batch (empty for re-proposals and no-ops).</summary>
    public readonly List<long> Clients = new();

    public void Release()
    {
        Batch?.Release();
        Batch = null;
        Clients.Clear();
        AcceptedBy = 0;
        Chosen = false;
    }
}
