using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>The admin queue as the transport of the shared Admin command set.</summary>
public sealed partial class NvmeHostAssociation
{
    int INvmeAdminTransport.MaxDataTransferSize => _maxTransfer;

    /// <summary>Admin command over the admin queue; the completion is returned whatever its status.</summary>
    public ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken) =>
        AdminQueue.ExecuteAsync(command, dataToController, dataFromController, cancellationToken);
}
