using System.Net;

namespace AtomicBcast.Transport;

/// <summary>
/// Counts a listener's open connections, in total and per remote IP address, so a flood of connections (or of hellos
/// that never finish) costs a member a bounded number of sockets and pipes. A connection holds its place from accept
/// until it is closed, its hello exchange included (which the hello timeout bounds).
/// </summary>
internal sealed class ConnectionBudget(int totalMax, int perAddressMax)
{
    private readonly Dictionary<IPAddress, int> _perAddress = new();
    private readonly Lock _gate = new();
    private int _total;

    public int Open
    {
        get { lock (_gate) return _total; }
    }

    /// <summary>Takes a place for a connection from <paramref name="remote"/>; null on success, otherwise why not.</summary>
    public string? TryReserve(EndPoint? remote)
    {
        var address = (remote as IPEndPoint)?.Address;
        lock (_gate)
        {
            if (_total >= totalMax) return $"{_total} connections open, the most this member accepts";
            int fromAddress = address is null ? 0 : _perAddress.GetValueOrDefault(address);
            if (fromAddress >= perAddressMax) return $"{fromAddress} connections open from {address}, the most it may hold";
            _total++;
            if (address is not null) _perAddress[address] = fromAddress + 1;
            return null;
        }
    }

    public void Release(EndPoint? remote)
    {
        var address = (remote as IPEndPoint)?.Address;
        lock (_gate)
        {
            System.Diagnostics.Debug.Assert(_total > 0);
            _total--;
            if (address is null) return;
            int left = _perAddress[address] - 1;
            if (left == 0) _perAddress.Remove(address);
            else _perAddress[address] = left;
        }
    }
}
