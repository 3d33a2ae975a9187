using AtomicBcast.Client;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Security;

/// <summary>Client tokens: proven in the hello, checked against the right the client's role needs, refused with an error frame.</summary>
public class ClientAuthorizationTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task TokensWithTheRightPublishAndSubscribe()
    {
        await using var member = await SecureMember.StartAsync();
        await member.WaitForLeaderAsync();
        await using var publisher = await Publisher.ConnectAsync(member.Publisher(SecureMember.Writer)).WaitAsync(Guard);
        long position = await publisher.PublishAsync("authorised"u8.ToArray()).WaitAsync(Guard);
        await using var subscriber = await Subscriber.ConnectAsync(member.Subscriber(SecureMember.Reader));
        using var stop = new CancellationTokenSource(Guard);
        await foreach (var delivery in subscriber.ReadAllAsync(position, stop.Token))
        {
            Assert.Equal("authorised", System.Text.Encoding.UTF8.GetString(delivery.Payload.Span));
            break;
        }
    }

    [Theory]
    [InlineData(null, ErrorCode.Unauthenticated, "no token")]
    [InlineData("not-a-token-of-this-cluster", ErrorCode.Unauthenticated, "no token")]
    [InlineData(SecureMember.Reader, ErrorCode.Unauthorized, "token 'reader' does not have the publish right")]
    public async Task APublisherWithoutThePublishRightIsRefused(string? token, ErrorCode code, string text)
    {
        await using var member = await SecureMember.StartAsync();
        var denied = await Assert.ThrowsAsync<AccessDeniedException>(() => Publisher.ConnectAsync(member.Publisher(token)).WaitAsync(Guard));
        Assert.Equal(code, denied.Code);
        Assert.Contains(text, denied.Message);
    }

    [Theory]
    [InlineData(null, ErrorCode.Unauthenticated, "no token")]
    [InlineData(SecureMember.Writer, ErrorCode.Unauthorized, "token 'writer' does not have the subscribe right")]
    public async Task ASubscriberWithoutTheSubscribeRightIsRefused(string? token, ErrorCode code, string text)
    {
        await using var member = await SecureMember.StartAsync();
        await using var subscriber = await Subscriber.ConnectAsync(member.Subscriber(token));
        var denied = await Assert.ThrowsAsync<AccessDeniedException>(async () =>
        {
            await foreach (var _ in subscriber.ReadAllAsync(0).WithCancellation(new CancellationTokenSource(Guard).Token)) { }
        });
        Assert.Equal(code, denied.Code);
        Assert.Contains(text, denied.Message);
    }
}
