using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using AtomicBcast.Client;
using AtomicBcast.Transport;
using AtomicBcast.Wire;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Tests.Security;

/// <summary>
/// A running member under a flood of connections, slowloris hellos, oversized frames (before and after a valid hello)
/// and random bytes: a legitimate publisher keeps committing, memory stays bounded, nothing is logged as an error.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public class HostileTrafficTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AMemberUnderAttackKeepsCommittingWithBoundedMemory()
    {
        var log = new RecordingLoggers();
        // Tight limits, so the flood reaches them: 48 connections from one address, a one-second hello deadline.
        await using var member = await SecureMember.StartAsync(log, perAddressMax: 48, helloTimeout: TimeSpan.FromSeconds(1));
        await member.WaitForLeaderAsync();
        await using var publisher = await Publisher.ConnectAsync(member.Publisher(SecureMember.Writer)).WaitAsync(Guard);
        long last = await publisher.PublishAsync("before"u8.ToArray()).WaitAsync(Guard);
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        var random = new Random(8);
        int port = member.EndPoint.Port;
        for (int round = 0; round < 5; round++)
        {
            var attackers = new List<Task>();
            for (int i = 0; i < 40; i++) attackers.Add(AttackAsync(port, (round * 40 + i) % 5, random.Next()));
            // The legitimate publisher commits while the attack is on.
            for (int i = 0; i < 20; i++)
            {
                long position = await publisher.PublishAsync(Encoding.UTF8.GetBytes($"round {round} msg {i}")).WaitAsync(Guard);
                Assert.True(position > last, "positions grow");
                last = position;
            }
            await Task.WhenAll(attackers).WaitAsync(Guard);
        }
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        // 200 hostile connections, each could have pinned up to a frame if the limits did not hold; they must all be gone.
        Assert.True(heapAfter - heapBefore < 32L << 20, $"managed heap grew by {(heapAfter - heapBefore) >> 20} MiB under attack");
        Assert.Equal(AtomicBcast.Consensus.Role.Leader, member.Host.Status.Role);
        Assert.Empty(log.Errors);
        Assert.True(log.Warnings > 0, "refusals were logged with their reasons");
    }

    private static async Task AttackAsync(int port, int kind, int seed)
    {
        var random = new Random(seed);
        Socket socket;
        try
        {
            socket = await HelloAuthTests.RawAsync(port);
        }
        catch (SocketException)
        {
            return; // refused under the flood: that is the limit working
        }
        using (socket)
        {
            try
            {
                switch (kind)
                {
                    case 0: // flood: connect and leave at once
                        break;
                    case 1: // slowloris: a byte of a hello, then silence until the member's hello deadline cuts us
                        await socket.SendAsync(new byte[] { 30 });
                        await DrainUntilClosedAsync(socket);
                        break;
                    case 2: // a frame header announcing a gigabyte
                        var header = new byte[Limits.FrameHeaderBytes];
                        BinaryPrimitives.WriteUInt32LittleEndian(header, 1 << 30);
                        header[4] = (byte)MessageType.Hello;
                        await socket.SendAsync(header);
                        await DrainUntilClosedAsync(socket);
                        break;
                    case 3: // random bytes
                        var noise = new byte[random.Next(1, 64 * 1024)];
                        random.NextBytes(noise);
                        await socket.SendAsync(noise);
                        await DrainUntilClosedAsync(socket);
                        break;
                    case 4: // a valid publisher hello with a token, then a frame beyond the frame limit
                        await RawClientHelloAsync(socket, SecureMember.Writer);
                        var big = new byte[Limits.FrameHeaderBytes];
                        BinaryPrimitives.WriteUInt32LittleEndian(big, Limits.FrameBytesMax + 1);
                        big[4] = (byte)MessageType.Publish;
                        await socket.SendAsync(big);
                        await DrainUntilClosedAsync(socket);
                        break;
                }
            }
            catch (SocketException)
            {
                // reset by the member: expected
            }
        }
    }

    /// <summary>Reads until the member closes the connection (it must: every case above is refused or times out).</summary>
    private static async Task DrainUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[4096];
        while (await socket.ReceiveAsync(buffer) > 0) { }
    }

    private static async Task RawClientHelloAsync(Socket socket, string token)
    {
        var nonce = new byte[Limits.HelloNonceBytes];
        var body = new byte[HelloCodec.BodyBytesMax];
        int bytes = HelloCodec.WriteBody(body, new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Publisher, 0, SecureMember.ClusterId), nonce);
        var writer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHeader(writer, MessageType.Hello, 0, bytes);
        writer.Write(body.AsSpan(0, bytes));
        await socket.SendAsync(writer.WrittenMemory);
        var theirs = await HelloAuthTests.ReadFrameAsync(socket);
        var proof = new byte[Limits.HelloProofBytes];
        HelloProof.Compute(proof, Encoding.UTF8.GetBytes(token), HelloRole.Initiator, body.AsSpan(0, bytes), theirs.Body);
        writer.Clear();
        HelloCodec.WriteProof(writer, proof);
        await socket.SendAsync(writer.WrittenMemory);
        var answer = await HelloAuthTests.ReadFrameAsync(socket);
        Assert.Equal(HelloCodec.ProofFlag, answer.Flags); // admitted as a publisher
    }

    /// <summary>Counts warnings and keeps errors (a crash or an unhandled failure would be logged at Error or above).</summary>
    internal sealed class RecordingLoggers : ILoggerFactory, ILogger
    {
        private int _warnings;
        public List<string> Errors { get; } = new();
        public int Warnings => Volatile.Read(ref _warnings);

        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning) Interlocked.Increment(ref _warnings);
            if (logLevel >= LogLevel.Error) lock (Errors) Errors.Add($"{eventId}: {formatter(state, exception)} {exception}");
        }
    }
}
