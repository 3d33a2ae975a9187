namespace AtomicBcast.Chaos.Running;

/// <summary>
/// nftables inside the run's private network namespace. Every member runs with its own group id (2000 + id); a
/// connection's conntrack mark records which member opened it (0: a client), and its original destination address
/// names the member that accepted it, so every packet of every connection is attributed to a (from, to) pair of
/// members in both directions. Cuts are dropped on input, so the sender sees silence, not an error.
/// </summary>
internal sealed class Firewall(IReadOnlyDictionary<int, string> addresses)
{
    public const int GidBase = 2000;
    private const string Table = "chaos";

    /// <summary>Brings up the namespace's loopback and installs the marking rules and an empty drop chain.</summary>
    public void Install()
    {
        Shell.Run("ip", ["link", "set", "lo", "up"]);
        var marks = string.Join("\n", addresses.Keys.Select(id => $"    ct state new meta skgid {GidBase + id} ct mark set {id}"));
        Shell.Run("nft", ["-f", "-"], stdin: $$"""
            table inet {{Table}} {
              chain out {
                type filter hook output priority 0; policy accept;
            {{marks}}
              }
              chain cut {
                type filter hook input priority 0; policy accept;
              }
            }
            """);
    }

    /// <summary>Drops everything member <paramref name="from"/> sends to member <paramref name="to"/> (one direction).</summary>
    public void Cut(int from, int to)
    {
        // Connections "from" opened to "to": their original direction. Connections "to" opened to "from": their replies.
        Add($"ct mark {from} ct original ip daddr {addresses[to]} ct direction original drop");
        Add($"ct mark {to} ct original ip daddr {addresses[from]} ct direction reply drop");
    }

    /// <summary>Cuts both directions between every member of <paramref name="side"/> and every other member.</summary>
    public void Isolate(IReadOnlyCollection<int> side)
    {
        foreach (var a in side)
            foreach (var b in addresses.Keys.Where(b => !side.Contains(b)))
            {
                Cut(a, b);
                Cut(b, a);
            }
    }

    /// <summary>Drops each packet between members with probability <paramref name="perMille"/>/1000 (clients are spared).</summary>
    public void Loss(int perMille) => Add($"ct mark != 0 numgen random mod 1000 < {perMille} drop");

    /// <summary>Removes every cut and loss rule.</summary>
    public void Heal() => Shell.Run("nft", ["flush", "chain", "inet", Table, "cut"]);

    private static void Add(string rule) => Shell.Run("nft", ["add rule inet " + Table + " cut " + rule]);
}
