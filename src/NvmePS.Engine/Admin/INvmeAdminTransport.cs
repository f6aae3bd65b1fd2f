namespace NvmePS.Engine.Admin;

/// <summary>The outcome of one command: its completion and how many data bytes moved.</summary>
public readonly record struct NvmeCommandResult(NvmeCompletion Completion, int BytesTransferred);

/// <summary>
/// The seam the Admin command set is written over, like a row of libnvme's transport ops table: the fabrics
/// host's admin queue implements it, and so does the NVMe-MI Admin tunnel.
/// Implementations return the completion whatever its status; the Admin client
/// turn error statuses into <see cref="NvmeStatusException"/>.
/// </summary>
public interface INvmeAdminTransport
{
    /// <summary>Most data bytes one command may move (MDTS for fabrics, 4096 for NVMe-MI).</summary>
    int MaxDataTransferSize { get; }

    /// <summary>Submits an Admin command. At most one of <paramref name="dataToController"/> and
    /// <paramref name="dataFromController"/> is non-empty. The transport fills in CID and data pointer.</summary>
    ValueTask<NvmeCommandResult> ExecuteAdminAsync(
        NvmeCommand command,
        ReadOnlyMemory<byte> dataToController,
        Memory<byte> dataFromController,
        CancellationToken cancellationToken);
}
