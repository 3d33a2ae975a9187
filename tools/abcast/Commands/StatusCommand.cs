using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using AtomicBcast.Node;

namespace AtomicBcast.Cli.Commands;

/// <summary>
/// <c>abcast status --config FILE [--json]</c>: per member: address, reachable, role, ballot, commit instance, delivered
/// position, log size, lag. Reachable is a TCP connect to the member's address; the rest comes from the status file
/// each member writes in its data directory (so it needs the data directories on this host), shown only when fresh.
/// </summary>
internal static class StatusCommand
{
    private static readonly TimeSpan s_fresh = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "cluster.json", Required = true };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var command = new Command("status", "show every member's state") { config, json };
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(json)));
        return command;
    }

    private sealed record Row(MemberConfig Member, bool Reachable, StatusFile? Status);

    private static int Run(string configPath, bool json)
    {
        var config = ClusterConfig.Load(configPath);
        var rows = config.Members.AsParallel().AsOrdered().Select(m => new Row(m, IsReachable(m), Fresh(StatusFile.TryRead(m.DataDir)))).ToList();
        if (json) PrintJson(rows);
        else PrintTable(rows);
        return 0;
    }

    private static StatusFile? Fresh(StatusFile? status) =>
        status is not null && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - status.UpdatedUnixMs <= s_fresh.TotalMilliseconds ? status : null;

    private static bool IsReachable(MemberConfig member)
    {
        using var client = new TcpClient();
        try
        {
            return client.ConnectAsync(member.EndPoint).Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
            return false;
        }
    }

    private static void PrintJson(List<Row> rows)
    {
        var members = new JsonArray();
        foreach (var row in rows)
        {
            var s = row.Reachable ? row.Status : null;
            members.Add(new JsonObject
            {
                ["id"] = row.Member.Id,
                ["address"] = row.Member.Address,
                ["reachable"] = row.Reachable,
                ["role"] = s?.Role,
                ["ballot"] = s?.Ballot,
                ["commitInstance"] = s?.CommitInstance,
                ["deliveredPosition"] = s?.DeliveredPosition,
                ["logBytes"] = s?.LogBytes,
            });
        }
        Console.WriteLine(new JsonObject { ["members"] = members }.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
    }

    private static void PrintTable(List<Row> rows)
    {
        long head = rows.Where(r => r.Reachable && r.Status is not null).Select(r => r.Status!.DeliveredPosition).DefaultIfEmpty(0).Max();
        string Format(params object[] cells) => string.Format("{0,-4} {1,-21} {2,-9} {3,-12} {4,-14} {5,15} {6,18} {7,14} {8,10}", cells);
        Console.WriteLine(Format("ID", "ADDRESS", "REACHABLE", "ROLE", "BALLOT", "COMMIT", "DELIVERED", "LOG BYTES", "LAG"));
        foreach (var row in rows)
        {
            var s = row.Reachable ? row.Status : null;
            string ballot = s is null ? "-" : $"{s.Ballot >> 16}.{s.Ballot & 0xFFFF}";
            Console.WriteLine(Format(row.Member.Id, row.Member.Address, row.Reachable ? "yes" : "no", s?.Role ?? "-", ballot,
                s?.CommitInstance.ToString() ?? "-", s?.DeliveredPosition.ToString() ?? "-", s?.LogBytes.ToString() ?? "-",
                s is null ? "-" : (head - s.DeliveredPosition).ToString()));
        }
    }
}
