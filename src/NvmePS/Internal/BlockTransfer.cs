using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Chunking and progress shared by Read-NvmeBlock and Write-NvmeBlock. The engine splits each chunk into
/// commands of at most MDTS; a few chunks stay in flight so the queue is kept busy while progress is reported on
/// the pipeline thread.</summary>
internal static class BlockTransfer
{
    public const int ChunkBytes = 1 << 20;
    public const int ChunksInFlight = 4;

    /// <summary>The formatted LBA data size of a namespace (Identify Namespace); 0 when the namespace is inactive.</summary>
    public static int BlockSizeOf(NvmeCmdlet cmdlet, NvmfController controller, uint nsid, CancellationToken ct, Func<Task<NvmeIdentifyNamespace>, NvmeIdentifyNamespace> wait) =>
        wait(controller.Admin.IdentifyNamespaceAsync(nsid, ct)).BlockSize;

    /// <summary>Runs <paramref name="chunk"/> over [0, blocks) in chunks, keeping a few in flight and completing
    /// them in order; <paramref name="completed"/> runs on the pipeline thread for each finished chunk.</summary>
    public static void Run(long blocks, int blockSize, Func<long, int, Task> chunk, Action<Task> wait, Action<long, int> completed)
    {
        int perChunk = Math.Max(1, ChunkBytes / blockSize);
        var inFlight = new Queue<(Task Task, long First, int Count)>();
        long next = 0;
        while (next < blocks || inFlight.Count > 0)
        {
            while (next < blocks && inFlight.Count < ChunksInFlight)
            {
                int n = (int)Math.Min(perChunk, blocks - next);
                inFlight.Enqueue((chunk(next, n), next, n));
                next += n;
            }

            var (task, first, count) = inFlight.Dequeue();
            wait(task);
            completed(first, count);
        }
    }

    public static ProgressRecord Progress(int id, string activity, long done, long total, int blockSize)
    {
        int percent = total == 0 ? 100 : (int)(done * 100 / total);
        return new ProgressRecord(id, activity, $"{done} of {total} blocks ({Units.FormatBytes(done * (decimal)blockSize)} of {Units.FormatBytes(total * (decimal)blockSize)})")
        {
            PercentComplete = percent,
            RecordType = done >= total ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
    }
}
