using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>
/// The effects of the core. Calls happen synchronously inside the core's event methods; the host queues them
/// (to connections, to subscribers). Batches inside messages are borrowed: retain to keep them past the call.
/// </summary>
public interface IConsensusOutput
{
    void Send(ushort to, in PreVoteMessage message);
    void Send(ushort to, in PreVoteReplyMessage message);
    void Send(ushort to, in PrepareMessage message);
    void Send(ushort to, in PromiseMessage message);
    void Send(ushort to, in AcceptMessage message);
    void Send(ushort to, in AcceptedMessage message);
    void Send(ushort to, in RejectedMessage message);
    void Send(ushort to, in HeartbeatMessage message);
    void Send(ushort to, in FetchMessage message);
    void Send(ushort to, in FetchReplyMessage message);
    void Send(ushort to, in CheckpointMessage message);

    /// <summary>Answer to a publisher run; <paramref name="client"/> is the token given to <see cref="Member.Publish"/>.</summary>
    void Ack(long client, in PublishAckMessage ack);

    /// <summary>One delivered instance, in instance order, positions gapless.</summary>
    void Deliver(in DeliverMessage delivery);

    /// <summary>
    /// The learner installed a peer's checkpoint (state transfer, after every peer trimmed what it lacked): every instance
    /// through <paramref name="instance"/> counts as delivered without a <see cref="Deliver"/> call, and the next delivery
    /// starts at <paramref name="nextPosition"/>. The positions jumped over are not available from this member: the host
    /// restarts its delivered stream there (subscribers below it are told they are below the retention floor).
    /// </summary>
    void Jumped(long instance, long nextPosition);
}
