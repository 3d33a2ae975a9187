using Microsoft.Extensions.ObjectPool;

namespace AtomicBcast.Wire;

/// <summary>
/// An object pool that allocates nothing once built: a fixed array of idle objects, last in first out, under a lock.
/// Why not <see cref="DefaultObjectPool{T}"/>: it keeps idle objects in a <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/>,
/// whose segments are never reused, so a pool that objects cycle through steadily allocates a new segment (doubling up
/// to a million slots, 16 MB) every so many returns; the segments live long enough to be promoted and then die in gen2.
/// The lock is held for a push or a pop only.
/// </summary>
internal sealed class BoundedObjectPool<T> : ObjectPool<T> where T : class
{
    private readonly IPooledObjectPolicy<T> _policy;
    private readonly T?[] _idle;
    private readonly Lock _gate = new();
    private int _count;

    public BoundedObjectPool(IPooledObjectPolicy<T> policy, int idleMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(idleMax);
        _policy = policy;
        _idle = new T?[idleMax];
    }

    /// <summary>Idle objects held now.</summary>
    public int IdleCount
    {
        get { lock (_gate) return _count; }
    }

    public override T Get()
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                var item = _idle[--_count]!;
                _idle[_count] = null;
                return item;
            }
        }
        return _policy.Create();
    }

    /// <summary>Keeps <paramref name="obj"/> if the policy accepts it and there is room; else drops it for the collector.</summary>
    public override void Return(T obj)
    {
        if (!_policy.Return(obj)) return;
        lock (_gate)
            if (_count < _idle.Length) _idle[_count++] = obj;
    }
}
