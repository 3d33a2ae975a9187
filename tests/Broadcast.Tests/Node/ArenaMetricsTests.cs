using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using AtomicBcast.Node;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>The batch arena's health on the <c>AtomicBcast</c> meter. The arena is process-wide: run alone.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class ArenaMetricsTests
{
    [Fact]
    public void TheMeterReportsSlabsInUseAndCarvesRefusedAtTheCap()
    {
        RuntimeHelpers.RunClassConstructor(typeof(NodeMetrics).TypeHandle); // creates the meter's instruments
        var readings = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "AtomicBcast" && instrument.Name.StartsWith("atomicbcast.arena.", StringComparison.Ordinal))
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => readings[instrument.Name] = value);
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => readings[instrument.Name] = value);
        listener.Start();

        int boundBefore = BatchArena.SlabsInUseMax;
        var held = new List<BatchBuffer>();
        try
        {
            // At the cap, with the current slab full: the next carve is refused.
            BatchArena.SlabsInUseMax = BatchArena.SlabsInUse + 1;
            while (held.Count == 0 || held[^1].IsCarved) held.Add(BatchBuffer.Rent(BatchArena.CarveBytesMax, ordered: true));
            listener.RecordObservableInstruments();
            Assert.Equal(BatchArena.SlabsInUse, readings["atomicbcast.arena.slabs"]);
            Assert.Equal(BatchArena.RefusedAtCap, readings["atomicbcast.arena.refused"]);
            Assert.True(readings["atomicbcast.arena.refused"] > 0);
        }
        finally
        {
            foreach (var batch in held) batch.Release();
            BatchArena.SlabsInUseMax = boundBefore;
        }
    }
}
