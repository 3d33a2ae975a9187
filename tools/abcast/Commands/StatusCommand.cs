using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Wire;

namespace AtomicBcast.Cli.Commands;

/// <summary>
/// <c>abcast status --config FILE [--json]</c>: per member: address, reachable, role, ballot, commit instance, delivered
/// position, log size, lag. Every member is asked over the wire (a status request on its one address) at once, with a
/// short timeout; a member that does not answer in time is shown unreachable, with no state.
/// </summary>
internal static class StatusCommand
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "cluster.json", Required = true };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var command = new Command("status", "show every member's state") { config, json };
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(json)));
        return command;
    }

    private sealed record Row(MemberConfig Member, StatusReplyMessage? Status)
    {
        public bool Reachable => Status is not null;
    }

    private static int Run(string configPath, bool json)
    {
        var config = ClusterConfig.Load(configPath);
        var options = new SubscriberOptions
        {
            ClusterId = config.ClusterId,
            Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
            ConnectTimeout = s_timeout,
        };
        var replies = StatusQuery.QueryAllAsync(options).GetAwaiter().GetResult();
        var rows = config.Members.Select(m => new Row(m, replies[(ushort)m.Id])).ToList();
        if (json) PrintJson(rows);
        else PrintTable(rows);
        return 0;
    }

    private static string RoleName(MemberRole role) => role.ToString().ToLowerInvariant();

    private static void PrintJson(List<Row> rows)
    {
        var members = new JsonArray();
        foreach (var row in rows)
        {
            var s = row.Status;
            members.Add(new JsonObject
            {
                ["id"] = row.Member.Id,
                ["address"] = row.Member.Address,
                ["reachable"] = row.Reachable,
                ["role"] = s is { } r ? RoleName(r.Role) : null,
                ["ballot"] = s?.Promised.Value,
                ["commitInstance"] = s?.ChosenUpTo,
                ["deliveredPosition"] = s?.NextPosition,
                ["logBytes"] = s?.LogBytes,
                ["leaderId"] = s?.LeaderId,
                ["halted"] = s?.Halted,
                ["earliestPosition"] = s?.EarliestPosition,
                ["process"] = s is { Process.IsKnown: true } p ? new JsonObject
                {
                    ["cpuMs"] = p.Process.CpuMs,
                    ["gen0"] = p.Process.Gen0Collections,
                    ["gen1"] = p.Process.Gen1Collections,
                    ["gen2"] = p.Process.Gen2Collections,
                    ["allocatedBytes"] = p.Process.AllocatedBytes,
                    ["workingSetBytes"] = p.Process.WorkingSetBytes,
                } : null,
                ["logSync"] = s is { LogSync.IsKnown: true } l ? LogSyncJson(l.LogSync) : null,
            });
        }
        Console.WriteLine(new JsonObject { ["members"] = members }.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
    }

    /// <summary>The log's syncs since the member started: how many, the bucket bounds of p50 and p99 (null: the open last
    /// bucket), the slowest, and the count per bucket with its upper bound (for tools that diff two readings).</summary>
    private static JsonObject LogSyncJson(in SyncLatencyFigures figures)
    {
        static long? Bound(long micros) => micros == long.MaxValue ? null : micros;
        var buckets = new JsonArray();
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++)
            buckets.Add(new JsonObject { ["belowMicros"] = Bound(SyncLatencyFigures.UpperBoundMicros(k)), ["count"] = figures.Counts[k] });
        return new JsonObject
        {
            ["count"] = figures.Total,
            ["p50AtMostMicros"] = figures.Total == 0 ? null : Bound(figures.PercentileBoundMicros(50)),
            ["p99AtMostMicros"] = figures.Total == 0 ? null : Bound(figures.PercentileBoundMicros(99)),
            ["slowestMicros"] = figures.SlowestMicros,
            ["buckets"] = buckets,
        };
    }

    private static void PrintTable(List<Row> rows)
    {
        long head = rows.Where(r => r.Reachable).Select(r => r.Status!.Value.NextPosition).DefaultIfEmpty(0).Max();
        string Format(params object[] cells) => string.Format("{0,-4} {1,-21} {2,-9} {3,-12} {4,-14} {5,15} {6,18} {7,14} {8,10}", cells);
        Console.WriteLine(Format("ID", "ADDRESS", "REACHABLE", "ROLE", "BALLOT", "COMMIT", "DELIVERED", "LOG BYTES", "LAG"));
        foreach (var row in rows)
        {
            if (row.Status is not { } s)
            {
                Console.WriteLine(Format(row.Member.Id, row.Member.Address, "no", "-", "-", "-", "-", "-", "-"));
                continue;
            }
            string ballot = $"{s.Promised.Round}.{s.Promised.NodeId}";
            Console.WriteLine(Format(row.Member.Id, row.Member.Address, "yes", RoleName(s.Role), ballot, s.ChosenUpTo, s.NextPosition,
                s.LogBytes, head - s.NextPosition));
        }
    }
}
