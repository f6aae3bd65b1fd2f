using System.Management.Automation;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>Progress records for Read-NvmeBlock and Write-NvmeBlock; the chunking itself is the engine's
/// <see cref="NvmeBlockTransferScheduler"/>, waited on from the pipeline thread.</summary>
internal static class BlockTransfer
{
    public const int ChunkBytes = NvmeBlockTransferScheduler.DefaultChunkBytes;

    /// <summary>The formatted LBA data size of a namespace (Identify Namespace); 0 when the namespace is inactive.</summary>
    public static int BlockSizeOf(NvmeCmdlet cmdlet, NvmfController controller, uint nsid, CancellationToken ct, Func<Task<NvmeIdentifyNamespace>, NvmeIdentifyNamespace> wait) =>
        wait(controller.Admin.IdentifyNamespaceAsync(nsid, ct)).BlockSize;

    /// <summary>Chunked, pipelined transfer: see the engine's <see cref="NvmeBlockTransferScheduler"/>.</summary>
    public static void Run(long blocks, int blockSize, Func<long, int, Task> chunk, Action<Task> wait, Action<long, int> completed) =>
        NvmeBlockTransferScheduler.Run(blocks, blockSize, chunk, wait, completed);

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
