using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// An in-process <see cref="INvmeAdminTransport"/> over a controller's admin queue: <see cref="NvmeAdminClient"/>
/// drives the controller core with no network in between (tests, simulators, a PowerShell session serving itself).
/// Commands are given CIDs and an SGL describing their data exactly as a fabrics host would.
/// </summary>
public sealed class NvmeLocalAdminTransport : INvmeAdminTransport, IDisposable
{
    private int _nextCid;

    public NvmeLocalAdminTransport(NvmeControllerQueue adminQueue, int maxDataTransferSize = 0)
    {
        ArgumentNullException.ThrowIfNull(adminQueue);
        if (!adminQueue.IsAdmin)
        {
            throw new ArgumentException("An admin queue (QID 0) is required.", nameof(adminQueue));
        }

        Queue = adminQueue;
        int mdts = adminQueue.Controller.Target.Options.MaxDataTransferSize;
        MaxDataTransferSize = maxDataTransferSize is > 0 ? Math.Min(maxDataTransferSize, mdts) : mdts;
    }

    public NvmeControllerQueue Queue { get; }

    public NvmeController Controller => Queue.Controller;

    /// <summary>The target's MDTS, or a smaller limit chosen by the caller (4096 mimics the NVMe-MI tunnel).</summary>
    public int MaxDataTransferSize { get; }

    /// <summary>Connects an admin queue of <paramref name="subsystemNqn"/> as <paramref name="hostNqn"/> and enables the controller
    /// (CC.EN = 1); throws <see cref="NvmeStatusException"/> when the Connect is refused.</summary>
    public static async Task<NvmeLocalAdminTransport> ConnectAsync(NvmeTarget target, string subsystemNqn, string hostNqn, Guid hostId,
        uint keepAliveTimeout = 0, int maxDataTransferSize = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var data = new ConnectData(hostId, ConnectData.DynamicCntlid, subsystemNqn, hostNqn).ToArray();
        var sqe = new ConnectCommand(0, 0, 31, 0, keepAliveTimeout).ToCommand(0, SglDescriptor.InCapsule((uint)data.Length));
        var cqe = target.Connect(sqe, data, null, out var queue);
        if (queue is null)
        {
            throw new NvmeStatusException(cqe, NvmeCommandContext.Fabrics, "Connect");
        }

        var status = await queue.Controller.SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes,
            ControllerConfiguration.Create(en: true).Value, cancellationToken).ConfigureAwait(false);
        if (!status.IsSuccess || !queue.Controller.Status.Rdy)
        {
            queue.Dispose();
            throw new NvmeConnectionException($"The controller did not become ready (CSTS {queue.Controller.Status.Value:X8}h).");
        }

        return new NvmeLocalAdminTransport(queue, maxDataTransferSize);
    }

    public async ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int cid;
        do
        {
            cid = Interlocked.Increment(ref _nextCid) & 0xFFFF;
        }
        while (cid == 0xFFFF);

        command.Cid = (ushort)cid;
        command.Psdt = 1;
        var length = (uint)Math.Max(dataToController.Length, dataFromController.Length);
        SglDescriptor.Transport(length).WriteTo(ref command);
        return await Queue.ProcessAsync(command, dataToController, dataFromController, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends the association (like closing the admin connection).</summary>
    public void Dispose() => Queue.Dispose();
}
