using AtomicBcast.Transport;

namespace AtomicBcast.Tests.Transport;

public class BackoffPolicyTests
{
    [Fact]
    public void DelaysGrowThenStayUnderTheCapWithJitterInTheUpperHalf()
    {
        var policy = new BackoffPolicy(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));
        var random = new Random(1);
        for (int attempt = 0; attempt < 100; attempt++)
        {
            double capped = Math.Min(1000, 10 * Math.Pow(2, Math.Min(attempt, 62)));
            var delay = policy.Delay(attempt, random).TotalMilliseconds;
            Assert.InRange(delay, capped / 2, capped);
        }
    }

    [Fact]
    public void JitterComesFromTheInjectedRandom()
    {
        var policy = BackoffPolicy.Default;
        var a = Enumerable.Range(0, 10).Select(i => policy.Delay(i, new Random(5))).ToArray();
        var b = Enumerable.Range(0, 10).Select(i => policy.Delay(i, new Random(5))).ToArray();
        var c = Enumerable.Range(0, 10).Select(i => policy.Delay(i, new Random(6))).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
