using System.Text.Json;
using System.Text.Json.Serialization;

namespace AtomicBcast.Node;

/// <summary>
/// A member's status as written to <c>DATA_DIR/status.json</c> about once a second. <c>abcast status</c> asks the members
/// over the wire (<see cref="Wire.StatusReplyMessage"/>); this file stays for tools on the same host that must read a
/// member's last state even when it cannot answer (tools/chaos reads it while it freezes and kills members).
/// </summary>
/// <param name="Id">Member id.</param>
/// <param name="Role">follower, precandidate, candidate or leader (lower case).</param>
/// <param name="LeaderId">The member it believes leads (0: none known).</param>
/// <param name="Ballot">Its highest promised ballot, as the 64-bit value (round &lt;&lt; 16 | node).</param>
/// <param name="CommitInstance">Highest instance it knows chosen.</param>
/// <param name="DeliveredPosition">The next position it delivers (every position below is delivered).</param>
/// <param name="LogBytes">Bytes its log has written.</param>
/// <param name="Halted">It halted and stopped serving.</param>
/// <param name="UpdatedUnixMs">When this was written.</param>
public sealed record StatusFile(int Id, string Role, int LeaderId, ulong Ballot, long CommitInstance, long DeliveredPosition, long LogBytes,
    bool Halted, long UpdatedUnixMs)
{
    /// <summary>The file name inside the data directory.</summary>
    public const string FileName = "status.json";

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    internal static StatusFile From(MemberStatus status) => new(status.NodeId, status.Role.ToString().ToLowerInvariant(), status.LeaderId,
        status.Promised.Value, status.ChosenUpTo, status.NextPosition, status.LogBytes, status.Halted, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>Writes atomically (temp file, then rename).</summary>
    internal void Write(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, s_json));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The status a member last wrote in <paramref name="dataDirectory"/>, or null if none can be read.</summary>
    public static StatusFile? TryRead(string dataDirectory)
    {
        try
        {
            return JsonSerializer.Deserialize<StatusFile>(File.ReadAllText(Path.Combine(dataDirectory, FileName)), s_json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
