using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// The host's association with one NVMe/TCP controller: the admin queue (which is this object's
/// <see cref="INvmeAdminTransport"/>, so <see cref="Admin"/> speaks the shared Admin command set over it), controller
/// properties and enable/shutdown, keep-alive, the discovery log, and I/O queues with pipelined Read/Write/Flush/
/// Write Zeroes/Dataset Management (NVMe over Fabrics 1.1 §3, §7; NVMe/TCP Transport 1.0).
/// </summary>
public sealed partial class NvmeHostAssociation : INvmeAdminTransport, IAsyncDisposable
{
    /// <summary>Discovery log re-reads before giving up when its generation counter keeps changing.</summary>
    public const int DiscoveryRetries = 10;

    /// <summary>Largest discovery log accepted, in records (4 MiB).</summary>
    public const int MaxDiscoveryRecords = 4096;

    // Copy-on-write: I/O submission reads the array without locking while queues are added or deleted.
    private readonly object _ioQueuesLock = new();
    private NvmeHostQueue[] _ioQueues = Array.Empty<NvmeHostQueue>();
    private readonly CancellationTokenSource _lifetime = new();
    private Task _keepAlive = Task.CompletedTask;
    private int _nextQueue;
    private int _maxTransfer = 4096;
    private int _ioInCapsule;
    private int _disposed;
    private Exception? _failure;

    private NvmeHostAssociation(EndPoint endPoint, string subsystemNqn, NvmeHostAssociationParameters parameters, NvmeHostQueue admin)
    {
        EndPoint = endPoint;
        SubsystemNqn = subsystemNqn;
        Parameters = parameters;
        AdminQueue = admin;
        Admin = new NvmeAdminClient(this);
        admin.Failed = OnQueueFailed;
    }

    /// <summary>The controller's address.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>SUBNQN the association was made with.</summary>
    public string SubsystemNqn { get; }

    /// <summary>True for a discovery controller.</summary>
    public bool IsDiscovery => SubsystemNqn == FabricsCommand.DiscoveryNqn;

    public NvmeHostAssociationParameters Parameters { get; }

    /// <summary>CNTLID returned by the admin Connect.</summary>
    public ushort Cntlid { get; private set; }

    /// <summary>CAP read after connecting.</summary>
    public ControllerCapabilities Capabilities { get; private set; }

    /// <summary>VS read after connecting.</summary>
    public ControllerVersion Version { get; private set; }

    /// <summary>Identify Controller, read after enabling.</summary>
    public NvmeIdentifyController? IdentifyController { get; private set; }

    /// <summary>The Admin command set over this association.</summary>
    public NvmeAdminClient Admin { get; }

    /// <summary>The admin queue.</summary>
    public NvmeHostQueue AdminQueue { get; }

    /// <summary>Connected I/O queues (QID 1..n).</summary>
    public IReadOnlyList<NvmeHostQueue> IoQueues => Volatile.Read(ref _ioQueues);

    /// <summary>Largest data per command: MPSMIN page size shifted by MDTS (NVMe Base 2.0 §5.17.2.1).</summary>
    public int MaxDataTransferSize => _maxTransfer;

    /// <summary>Largest write sent in-capsule on I/O queues: (IOCCSZ − 4) × 16, capped by the parameters.</summary>
    public int IoInCapsuleDataSize => _ioInCapsule;

    /// <summary>The error that ended the association, if any: a keep-alive failure, or the failure of any of its queues
    /// (a protocol violation, a closed connection, a PDU that stalled or was cancelled halfway).</summary>
    public Exception? Failure => Volatile.Read(ref _failure) ?? AdminQueue.Failure;

    /// <summary>One failed queue fails the whole association, as the Linux host's error recovery tears the controller
    /// down: a controller that lost a queue is in an unknown state (its commands on that queue may or may not have run),
    /// so no caller keeps using it. Other associations, to the same controller or not, are separate and unaffected.</summary>
    private void OnQueueFailed(NvmeHostQueue queue, Exception reason)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var failure = new NvmeConnectionException($"The association with {SubsystemNqn} at {EndPoint} failed because queue {queue.Qid} failed: {reason.Message}", reason);
        if (Interlocked.CompareExchange(ref _failure, failure, null) is not null)
        {
            return;
        }

        // I/O queues first: closing the admin queue ends the association at the controller, which then closes the I/O
        // queues' connections, and a queue that saw that close first would report it instead of this reason.
        foreach (var q in IoQueues)
        {
            q.Fail(failure);
        }

        AdminQueue.Fail(failure);
    }
}
