namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// Runs a large LBA range as chunks of about <see cref="DefaultChunkBytes"/>, a few in flight so the queue stays busy,
/// completing them in LBA order. The host association splits each chunk into commands of at most MDTS. The caller
/// supplies how to wait (a PowerShell cmdlet must wait on its pipeline thread) and sees each finished chunk in order,
/// which is where progress is reported and read data written out.
/// </summary>
public static class NvmeBlockTransferScheduler
{
    /// <summary>Bytes per chunk: large enough to amortise per-chunk work, small enough for frequent progress.</summary>
    public const int DefaultChunkBytes = 1 << 20;

    /// <summary>Chunks outstanding at once.</summary>
    public const int DefaultChunksInFlight = 4;

    /// <summary>Blocks per chunk for a block size (at least one block).</summary>
    public static int BlocksPerChunk(int blockSize, int chunkBytes = DefaultChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        return Math.Max(1, chunkBytes / blockSize);
    }

    /// <summary>Runs <paramref name="chunk"/>(first block, block count) over [0, <paramref name="blocks"/>), keeping at
    /// most <paramref name="chunksInFlight"/> started and not yet waited for; <paramref name="completed"/> runs in
    /// order, on the caller's thread, after <paramref name="wait"/> returns for that chunk. Chunks are started in order
    /// on the caller's thread too, so a sequential source (a file) can be read inside <paramref name="chunk"/>.</summary>
    public static void Run(long blocks, int blockSize, Func<long, int, Task> chunk, Action<Task> wait, Action<long, int> completed,
        int chunkBytes = DefaultChunkBytes, int chunksInFlight = DefaultChunksInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(wait);
        ArgumentNullException.ThrowIfNull(completed);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunksInFlight);
        int perChunk = BlocksPerChunk(blockSize, chunkBytes);
        var inFlight = new Queue<(Task Task, long First, int Count)>();
        long next = 0;
        while (next < blocks || inFlight.Count > 0)
        {
            while (next < blocks && inFlight.Count < chunksInFlight)
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
}
