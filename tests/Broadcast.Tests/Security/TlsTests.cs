using System.Net;
using System.Security.Cryptography.X509Certificates;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Transport.Tls;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Security;

/// <summary>TLS links: mutual between members, refused without TLS when required, told apart from plain TCP when optional.</summary>
public sealed class TlsTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint Any = new(IPAddress.Loopback, 0);
    private const string Secret = "the-shared-cluster-secret";

    private readonly X509Certificate2 _ca = CertificateAuthority.CreateCa("test CA", TimeSpan.FromDays(1));
    private readonly X509Certificate2 _member1;
    private readonly X509Certificate2 _member2;

    public TlsTests()
    {
        _member1 = CertificateAuthority.Issue(_ca, "member-1", IPAddress.Loopback, TimeSpan.FromDays(1));
        _member2 = CertificateAuthority.Issue(_ca, "member-2", IPAddress.Loopback, TimeSpan.FromDays(1));
    }

    public void Dispose()
    {
        _ca.Dispose();
        _member1.Dispose();
        _member2.Dispose();
    }

    private TransportOptions Member(ushort id, X509Certificate2? certificate, TlsMode mode, X509Certificate2? ca = null) =>
        HelloAuthTests.Member(id, Secret) with
        {
            Tls = mode == TlsMode.Off ? null : new TlsSettings { Mode = mode, Certificate = certificate, TrustedCa = ca ?? _ca },
        };

    private static TransportOptions Watch(TransportOptions options, TaskCompletionSource<ShutdownReason> failure) =>
        options with { HandshakeFailed = (_, r) => failure.TrySetResult(r) };

    [Fact]
    public async Task MembersWithCertificatesFromTheCaExchangeFramesOverTls()
    {
        await using var listener = await new TcpTransport(Member(1, _member1, TlsMode.Required)).ListenAsync(Any);
        await using var client = await new TcpTransport(Member(2, _member2, TlsMode.Required)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard);
        await using var server = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        var roundTrip = Task.Run(() => Tests.Transport.TestFrames.ReadManyAsync(server.Input, 200, seq => seq * 97 % 20_000));
        await Tests.Transport.TestFrames.WriteManyAsync(client.Output, 200, seq => seq * 97 % 20_000, burst: 8);
        Assert.True(await roundTrip.WaitAsync(Guard) > 0);
        Assert.Equal((ushort)2, server.RemoteHello.NodeId);
    }

    [Fact]
    public async Task PlainTcpIsRefusedWhenTlsIsRequired()
    {
        var failure = new TaskCompletionSource<ShutdownReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = await new TcpTransport(Watch(Member(1, _member1, TlsMode.Required), failure)).ListenAsync(Any);
        await Assert.ThrowsAsync<TransportException>(
            () => new TcpTransport(Member(2, null, TlsMode.Off)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        var reason = await failure.Task.WaitAsync(Guard);
        Assert.Contains("TLS handshake failed", reason.Detail);
    }

    [Fact]
    public async Task AMemberWithoutACertificateIsRefusedOverTls()
    {
        var failure = new TaskCompletionSource<ShutdownReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = await new TcpTransport(Watch(Member(1, _member1, TlsMode.Required), failure)).ListenAsync(Any);
        var refused = await Assert.ThrowsAsync<TransportException>(
            () => new TcpTransport(Member(2, null, TlsMode.Required)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        Assert.Equal(ShutdownKind.AccessDenied, refused.Reason.Kind);
        Assert.Equal(ErrorCode.Unauthenticated, refused.Reason.Code);
        Assert.Contains("without a certificate", (await failure.Task.WaitAsync(Guard)).Detail);
    }

    [Fact]
    public async Task ACertificateFromAnotherCaIsRefused()
    {
        using var otherCa = CertificateAuthority.CreateCa("other CA", TimeSpan.FromDays(1));
        using var stranger = CertificateAuthority.Issue(otherCa, "member-2", IPAddress.Loopback, TimeSpan.FromDays(1));
        await using var listener = await new TcpTransport(Member(1, _member1, TlsMode.Required)).ListenAsync(Any);
        // The stranger trusts our CA (so it accepts the server), but the server does not trust the stranger's certificate.
        var refused = await Assert.ThrowsAsync<TransportException>(
            () => new TcpTransport(Member(2, stranger, TlsMode.Required)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        Assert.NotEqual(ShutdownKind.None, refused.Reason.Kind);
        // And a client that trusts only another CA refuses our member's certificate.
        var distrust = await Assert.ThrowsAsync<TransportException>(
            () => new TcpTransport(Member(2, stranger, TlsMode.Required, ca: otherCa)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        Assert.Contains("TLS handshake failed", distrust.Reason.Detail);
    }

    [Fact]
    public async Task OptionalModeAcceptsTlsAndPlainTcp()
    {
        await using var listener = await new TcpTransport(Member(1, _member1, TlsMode.Optional)).ListenAsync(Any);
        await using var overTls = await new TcpTransport(Member(2, _member2, TlsMode.Required)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard);
        await using var first = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        await using var plain = await new TcpTransport(Member(3, null, TlsMode.Off)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard);
        await using var second = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        Assert.Equal(new ushort[] { 2, 3 }, new[] { first.RemoteHello.NodeId, second.RemoteHello.NodeId }.Order());
    }
}
