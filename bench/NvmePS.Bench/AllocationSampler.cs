using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace NvmePS.Bench;

/// <summary>Counts the runtime's allocation samples (GCAllocationTick, one per ~100 KB allocated) by type, so a figure of
/// bytes per I/O comes with what was allocated. Turned on by NVMEPS_BENCH_ALLOC_TYPES=1 (both processes inherit it).</summary>
internal sealed class AllocationSampler : EventListener
{
    private const int GcKeyword = 0x1;
    private const int AllocationTickEventId = 10;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();

    public static bool Requested => Environment.GetEnvironmentVariable("NVMEPS_BENCH_ALLOC_TYPES") == "1";

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventId != AllocationTickEventId || e.PayloadNames is null)
        {
            return;
        }

        int typeIndex = e.PayloadNames.IndexOf("TypeName");
        int amountIndex = e.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || e.Payload![typeIndex] is not string type)
        {
            return;
        }

        long amount = amountIndex >= 0 && e.Payload[amountIndex] is ulong a ? (long)a : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    /// <summary>The sampled types and bytes since the last call, largest first, then starts counting afresh.</summary>
    public string TakeReport(int top = 5)
    {
        var items = _bytesByType.ToArray();
        _bytesByType.Clear();
        return string.Join("; ", items.OrderByDescending(kv => kv.Value).Take(top).Select(kv => $"{kv.Key} ~{kv.Value / 1024} KiB"));
    }
}
