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
public sealed class NvmeHostAssociation : INvmeAdminTransport, IAsyncDisposable
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

        AdminQueue.Fail(failure);
        foreach (var q in IoQueues)
        {
            q.Fail(failure);
        }
    }

    // ------------------------------------------------------------------ connect

    /// <summary>Connects to a discovery controller (SUBNQN <see cref="FabricsCommand.DiscoveryNqn"/>), with no I/O queues.</summary>
    public static Task<NvmeHostAssociation> ConnectDiscoveryAsync(EndPoint endPoint, NvmeHostAssociationParameters? parameters, CancellationToken cancellationToken) =>
        ConnectAsync(endPoint, FabricsCommand.DiscoveryNqn, (parameters ?? new NvmeHostAssociationParameters()) with { IoQueueCount = 0 }, cancellationToken);

    /// <summary>
    /// Associates with the controller of <paramref name="subsystemNqn"/> at <paramref name="endPoint"/>: admin queue
    /// (ICReq/ICResp, Fabrics Connect with CNTLID FFFFh), CAP/VS, controller enable, Identify Controller, Set Features
    /// Number of Queues and the I/O queues, then keep-alive. Errors: <see cref="NvmeStatusException"/> for a refused
    /// Connect (Fabrics status names), <see cref="NvmeProtocolException"/>, <see cref="NvmeConnectionException"/>,
    /// <see cref="NvmeTimeoutException"/>.
    /// </summary>
    public static async Task<NvmeHostAssociation> ConnectAsync(EndPoint endPoint, string subsystemNqn, NvmeHostAssociationParameters? parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(subsystemNqn);
        var p = parameters ?? new NvmeHostAssociationParameters();
        p.Validate();
        if (!Nqn.IsWellFormed(subsystemNqn))
        {
            throw new ArgumentException($"Subsystem NQN '{subsystemNqn}' is not a valid NQN.", nameof(subsystemNqn));
        }

        var admin = await ConnectQueueAsync(endPoint, subsystemNqn, p, qid: 0, p.AdminQueueSize, ConnectData.DynamicCntlid, cancellationToken).ConfigureAwait(false);
        var a = new NvmeHostAssociation(endPoint, subsystemNqn, p, admin.Queue) { Cntlid = admin.Cntlid };
        try
        {
            a.Capabilities = new ControllerCapabilities(await a.GetPropertyAsync(ControllerProperty.Cap, PropertySize.EightBytes, cancellationToken).ConfigureAwait(false));
            a.Version = new ControllerVersion((uint)await a.GetPropertyAsync(ControllerProperty.Vs, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));
            if (p.EnableController)
            {
                await a.EnableAsync(cancellationToken).ConfigureAwait(false);
                var id = await a.Admin.IdentifyControllerAsync(cancellationToken).ConfigureAwait(false);
                a.IdentifyController = id;
                a.ApplyIdentify(id);
            }

            if (p.KeepAliveTimeout > TimeSpan.Zero && p.SendKeepAlive)
            {
                a._keepAlive = Task.Run(a.KeepAliveLoopAsync);
            }

            if (!a.IsDiscovery && p.IoQueueCount > 0 && p.EnableController)
            {
                var granted = await a.Admin.SetNumberOfQueuesAsync(new NvmeNumberOfQueues(p.IoQueueCount, p.IoQueueCount), cancellationToken).ConfigureAwait(false);
                int count = Math.Min(p.IoQueueCount, Math.Min(granted.SubmissionQueues, granted.CompletionQueues));
                await a.CreateIoQueuesAsync(count, cancellationToken).ConfigureAwait(false);
            }

            return a;
        }
        catch
        {
            await a.CloseAsync(shutdown: false).ConfigureAwait(false);
            throw;
        }
    }

    private void ApplyIdentify(NvmeIdentifyController id)
    {
        // MDTS is a power of two in units of CAP.MPSMIN pages (0..255): bound the shift before taking it, so a large
        // MDTS caps at 1 GiB instead of wrapping the 64-bit value.
        int shift = 12 + (int)Capabilities.Mpsmin + id.Mdts;
        long mdts = id.Mdts == 0 ? Parameters.UnlimitedMdtsTransferSize : shift >= 30 ? 1L << 30 : 1L << shift;
        _maxTransfer = (int)Math.Min(mdts, 1 << 30);
        long icd = id.Ioccsz >= 4 ? ((long)id.Ioccsz - 4) * 16 : 0;
        _ioInCapsule = (int)Math.Min(icd, Parameters.MaxInCapsuleData);
    }

    /// <summary>Connects I/O queues until <paramref name="count"/> are connected, each with the lowest free QID and this
    /// association's CNTLID.</summary>
    public async Task CreateIoQueuesAsync(int count, CancellationToken cancellationToken)
    {
        int size = Math.Min(Parameters.IoQueueSize, Capabilities.MaxQueueEntries);
        while (IoQueues.Count < count)
        {
            var used = IoQueues.Select(q => q.Qid).ToHashSet();
            ushort qid = 1;
            while (used.Contains(qid))
            {
                qid++;
            }

            var q = await ConnectQueueAsync(EndPoint, SubsystemNqn, Parameters, qid, size, Cntlid, cancellationToken).ConfigureAwait(false);
            q.Queue.MaxInCapsuleData = _ioInCapsule;
            if (q.Cntlid != Cntlid)
            {
                await q.Queue.DisposeAsync().ConfigureAwait(false);
                throw new NvmeProtocolException($"I/O queue {qid} Connect returned CNTLID {q.Cntlid:X4}h; the association's is {Cntlid:X4}h.");
            }

            lock (_ioQueuesLock)
            {
                _ioQueues = [.. _ioQueues, q.Queue];
            }

            q.Queue.Failed = OnQueueFailed;
        }
    }

    /// <summary>Deletes an I/O queue: Fabrics Disconnect on it (NVMe over Fabrics 1.1 §3.6), then its connection is closed.
    /// Commands still in flight on it fail. Throws <see cref="NvmeStatusException"/> when the controller refuses the Disconnect
    /// (the queue is closed anyway).</summary>
    public async Task DeleteIoQueueAsync(NvmeHostQueue queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        lock (_ioQueuesLock)
        {
            if (Array.IndexOf(_ioQueues, queue) < 0)
            {
                throw new ArgumentException($"Queue {queue.Qid} is not an I/O queue of this association.", nameof(queue));
            }

            _ioQueues = _ioQueues.Where(q => q != queue).ToArray();
        }

        // Deleting a queue is not a failure of the association.
        queue.Failed = null;

        try
        {
            var r = await queue.ExecuteAsync(new DisconnectCommand(0).ToCommand(0), default, default, cancellationToken).ConfigureAwait(false);
            ThrowIfError(r.Completion, NvmeCommandContext.Fabrics, $"Disconnect of I/O queue {queue.Qid}");
        }
        finally
        {
            await queue.DisposeAsync().ConfigureAwait(false);
        }
    }

    private readonly record struct ConnectedQueue(NvmeHostQueue Queue, ushort Cntlid);

    private static async Task<ConnectedQueue> ConnectQueueAsync(EndPoint endPoint, string subnqn, NvmeHostAssociationParameters p, ushort qid, int size, ushort cntlid, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(p.ConnectTimeout);
        var socket = new Socket(endPoint.AddressFamily == System.Net.Sockets.AddressFamily.Unspecified ? System.Net.Sockets.AddressFamily.InterNetwork : endPoint.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp);
        NvmeHostQueue? queue = null;
        try
        {
            try
            {
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new NvmeConnectionException($"Cannot connect to {endPoint}: {e.SocketErrorCode}", e);
            }

            var options = new NvmeTcpQueueOptions
            {
                HeaderDigest = p.HeaderDigest,
                DataDigest = p.DataDigest,
                Pda = p.Hpda,
                MaxR2T = p.MaxR2T,
                MaxC2HData = p.MaxC2HData,
                PduTimeout = p.PduTimeout,
            };
            var qp = await NvmeTcpQueuePair.ConnectAsync(socket, options, timeout.Token).ConfigureAwait(false);
            queue = new NvmeHostQueue(qp, qid, size);
            queue.Start();

            uint kato = qid == 0 ? (uint)p.KeepAliveTimeout.TotalMilliseconds : 0;
            var connect = new ConnectCommand(0, qid, (ushort)(size - 1), p.DisableSqFlowControl ? ConnectCommand.CattrDisableSqFlowControl : (byte)0, kato);
            byte[] data = new ConnectData(p.HostId, cntlid, subnqn, p.EffectiveHostNqn).ToArray();
            var result = await queue.ExecuteAsync(connect.ToCommand(0, default), data, default, timeout.Token).ConfigureAwait(false);
            var cqe = result.Completion;
            if (!cqe.IsSuccess)
            {
                string where = cqe.Status.Sct == NvmeStatusCodeType.CommandSpecific && cqe.Status.Sc == NvmeStatusNames.ConnectInvalidParameters
                    ? $" (invalid parameter at byte {ConnectResponse.GetInvalidParameterOffset(cqe)} of the {(ConnectResponse.GetInvalidParameterAttributes(cqe) == ConnectResponse.IattrInData ? "Connect data" : "SQE")})"
                    : string.Empty;
                throw new NvmeStatusException(cqe, NvmeCommandContext.Fabrics, $"Fabrics Connect to {subnqn} queue {qid}{where}");
            }

            ushort got = ConnectResponse.GetCntlid(cqe);
            if (qid == 0 && got == ConnectData.DynamicCntlid)
            {
                throw new NvmeProtocolException("Connect response CNTLID is FFFFh; a controller must be allocated.");
            }

            if (ConnectResponse.GetAuthreq(cqe) != 0)
            {
                throw new NvmeProtocolException($"The controller requires in-band authentication (AUTHREQ {ConnectResponse.GetAuthreq(cqe)}), which this host does not perform.");
            }

            if (cqe.Sqhd == 0xFFFF && !p.DisableSqFlowControl)
            {
                throw new NvmeProtocolException("The controller disabled SQ flow control (SQHD FFFFh) though the host did not ask for it.");
            }

            return new ConnectedQueue(queue, got);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeQuietlyAsync(queue, socket).ConfigureAwait(false);
            throw new NvmeTimeoutException($"Connecting queue {qid} to {endPoint} took longer than {p.ConnectTimeout.TotalSeconds:0.#} s.");
        }
        catch
        {
            await DisposeQuietlyAsync(queue, socket).ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask DisposeQuietlyAsync(NvmeHostQueue? queue, Socket socket)
    {
        if (queue is not null)
        {
            await queue.DisposeAsync().ConfigureAwait(false);
        }

        socket.Dispose();
    }

    // ------------------------------------------------------------------ admin transport

    int INvmeAdminTransport.MaxDataTransferSize => _maxTransfer;

    /// <summary>Admin command over the admin queue; the completion is returned whatever its status.</summary>
    public ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken) =>
        AdminQueue.ExecuteAsync(command, dataToController, dataFromController, cancellationToken);

    // ------------------------------------------------------------------ properties

    /// <summary>Property Get (4 or 8 bytes).</summary>
    public async Task<ulong> GetPropertyAsync(uint offset, PropertySize size, CancellationToken cancellationToken)
    {
        var r = await AdminQueue.ExecuteAsync(new PropertyGetCommand(size, offset).ToCommand(0), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Fabrics, $"Property Get {ControllerProperty.NameOf(offset)}");
        return PropertyGetCommand.GetValue(r.Completion, size);
    }

    /// <summary>Property Set (4 or 8 bytes).</summary>
    public async Task SetPropertyAsync(uint offset, PropertySize size, ulong value, CancellationToken cancellationToken)
    {
        var r = await AdminQueue.ExecuteAsync(new PropertySetCommand(size, offset, value).ToCommand(0), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Fabrics, $"Property Set {ControllerProperty.NameOf(offset)}");
    }

    /// <summary>CSTS.</summary>
    public async Task<ControllerStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        new((uint)await GetPropertyAsync(ControllerProperty.Csts, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));

    /// <summary>Sets CC.EN (CSS from CAP.CSS, 64-byte SQEs, 16-byte CQEs) and waits for CSTS.RDY within CAP.TO.</summary>
    public async Task EnableAsync(CancellationToken cancellationToken)
    {
        var cap = Capabilities;
        var current = new ControllerConfiguration((uint)await GetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));
        if (!current.En)
        {
            // CC.CSS: 110b when the controller supports I/O command sets, 111b for admin-only (discovery) controllers, else NVM.
            byte css = (cap.Css & 0x40) != 0 ? (byte)0x6 : (cap.Css & 0x81) == 0x80 ? (byte)0x7 : (byte)0x0;
            var cc = ControllerConfiguration.Create(en: true, css: css, mps: cap.Mpsmin, iosqes: 6, iocqes: 4);
            await SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cc.Value, cancellationToken).ConfigureAwait(false);
        }

        var limit = cap.Timeout > TimeSpan.Zero ? cap.Timeout : TimeSpan.FromMilliseconds(500);
        await WaitStatusAsync(s => s.Rdy, limit, "CSTS.RDY = 1", $"CAP.TO ({limit.TotalMilliseconds:0} ms)", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Normal shutdown: CC.SHN = 01b, then waits for CSTS.SHST = 10b (shutdown complete).</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        var cc = new ControllerConfiguration((uint)await GetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));
        await SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cc.WithShn(ShutdownNotification.Normal).Value, cancellationToken).ConfigureAwait(false);
        var limit = Parameters.ShutdownTimeout;
        if (IdentifyController is { } id && id.Rtd3e > 0)
        {
            limit = TimeSpan.FromMilliseconds(Math.Max(limit.TotalMilliseconds, id.Rtd3e / 1000.0));
        }

        await WaitStatusAsync(s => s.Shst == ShutdownStatus.Complete, limit, "CSTS.SHST = shutdown complete", $"{limit.TotalMilliseconds:0} ms", cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitStatusAsync(Func<ControllerStatus, bool> done, TimeSpan limit, string what, string limitText, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        int delay = 1;
        while (true)
        {
            var csts = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
            if (csts.Cfs)
            {
                throw new NvmeProtocolException($"The controller reports fatal status (CSTS.CFS) while waiting for {what}.");
            }

            if (done(csts))
            {
                return;
            }

            if (sw.Elapsed > limit)
            {
                throw new NvmeTimeoutException($"{what} did not happen within {limitText}; CSTS = {csts.Value:X8}h.");
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 100);
        }
    }

    private static void ThrowIfError(in NvmeCompletion cqe, NvmeCommandContext context, string operation)
    {
        if (!cqe.IsSuccess)
        {
            throw new NvmeStatusException(cqe, context, operation);
        }
    }

    // ------------------------------------------------------------------ discovery

    /// <summary>
    /// Reads the whole Discovery log page (log 70h): header, then all NUMREC entries, then the header again; if GENCTR
    /// changed in between the log is read again (NVMe over Fabrics 1.1 §5.3), up to <see cref="DiscoveryRetries"/> times.
    /// </summary>
    public async Task<DiscoveryLog> GetDiscoveryLogAsync(CancellationToken cancellationToken)
    {
        byte[] head = new byte[DiscoveryLog.HeaderSize];
        for (int attempt = 0; attempt < DiscoveryRetries; attempt++)
        {
            await Admin.GetLogPageAsync(DiscoveryLog.LogId, head, 0, nsid: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            DiscoveryLog.TryReadHeader(head, out ulong genctr, out ulong numrec, out _);
            if (numrec > MaxDiscoveryRecords)
            {
                throw new NvmeProtocolException($"The discovery log claims {numrec} records; at most {MaxDiscoveryRecords} are accepted.");
            }

            byte[] full = new byte[DiscoveryLog.HeaderSize + ((int)numrec * DiscoveryLogEntry.Size)];
            await Admin.GetLogPageAsync(DiscoveryLog.LogId, full, 0, nsid: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            byte[] again = new byte[16];
            await Admin.GetLogPageAsync(DiscoveryLog.LogId, again, 0, nsid: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            DiscoveryLog.TryReadHeader(full, out ulong genctrFull, out ulong numrecFull, out _);
            ulong genctrAfter = BinaryPrimitives.ReadUInt64LittleEndian(again);
            if (genctrFull == genctr && genctrAfter == genctr && numrecFull == numrec)
            {
                if (!DiscoveryLog.TryRead(full, out var log))
                {
                    throw new NvmeProtocolException("A discovery log entry is malformed (SUBNQN without NUL).");
                }

                return log!;
            }
        }

        throw new NvmeProtocolException($"The discovery log changed on each of {DiscoveryRetries} reads (GENCTR kept moving).");
    }

    // ------------------------------------------------------------------ I/O

    /// <summary>Runs an I/O command on the least busy I/O queue; the completion is returned whatever its status.</summary>
    public ValueTask<NvmeCommandResult> ExecuteIoAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken) =>
        PickQueue().ExecuteAsync(command, dataToController, dataFromController, cancellationToken);

    private NvmeHostQueue PickQueue()
    {
        var queues = Volatile.Read(ref _ioQueues);
        int n = queues.Length;
        if (n == 0)
        {
            throw new InvalidOperationException("The association has no I/O queues.");
        }

        if (n == 1)
        {
            return queues[0];
        }

        // Round robin between this queue and the next, taking the less busy; a failed queue is passed over while a
        // healthy one remains (its own error is raised when none does).
        int start = (int)((uint)Interlocked.Increment(ref _nextQueue) % (uint)n);
        NvmeHostQueue? best = null;
        for (int i = 0; i < n; i++)
        {
            var q = queues[(start + i) % n];
            if (q.Failure is not null)
            {
                continue;
            }

            if (best is null)
            {
                best = q;
            }
            else
            {
                return q.InFlight < best.InFlight ? q : best;
            }
        }

        return best ?? queues[start];
    }

    /// <summary>Reads <paramref name="blocks"/> logical blocks at <paramref name="slba"/> into <paramref name="destination"/>
    /// (its length is blocks × block size), split into commands of at most <see cref="MaxDataTransferSize"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ReadAsync(uint nsid, ulong slba, int blocks, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int blockSize = BlockSizeOf(destination.Length, blocks);
        int perCommand = Math.Max(1, Math.Min(65536, _maxTransfer / blockSize));
        for (int done = 0; done < blocks; done += perCommand)
        {
            int n = Math.Min(perCommand, blocks - done);
            var slice = destination.Slice(done * blockSize, n * blockSize);
            var r = await ExecuteIoAsync(NvmeIoCommands.Read(nsid, slba + (ulong)done, n), default, slice, cancellationToken).ConfigureAwait(false);
            ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Read");
            if (r.BytesTransferred != slice.Length)
            {
                throw new NvmeProtocolException($"Read of {slice.Length} bytes completed successfully after {r.BytesTransferred} bytes of data.");
            }
        }
    }

    /// <summary>Writes <paramref name="blocks"/> logical blocks from <paramref name="data"/> at <paramref name="slba"/>.
    /// Up to <see cref="IoInCapsuleDataSize"/> bytes go in the capsule; larger writes are sent on R2T.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(uint nsid, ulong slba, int blocks, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        int blockSize = BlockSizeOf(data.Length, blocks);
        int perCommand = Math.Max(1, Math.Min(65536, _maxTransfer / blockSize));
        for (int done = 0; done < blocks; done += perCommand)
        {
            int n = Math.Min(perCommand, blocks - done);
            var r = await ExecuteIoAsync(NvmeIoCommands.Write(nsid, slba + (ulong)done, n, fua), data.Slice(done * blockSize, n * blockSize), default, cancellationToken).ConfigureAwait(false);
            ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Write");
        }
    }

    /// <summary>Flush (volatile write cache to media).</summary>
    public async Task FlushAsync(uint nsid, CancellationToken cancellationToken)
    {
        var r = await ExecuteIoAsync(NvmeIoCommands.Flush(nsid), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Flush");
    }

    /// <summary>Write Zeroes over <paramref name="blocks"/> (1..65536) blocks.</summary>
    public async Task WriteZeroesAsync(uint nsid, ulong slba, int blocks, bool deallocate, CancellationToken cancellationToken)
    {
        var r = await ExecuteIoAsync(NvmeIoCommands.WriteZeroes(nsid, slba, blocks, deallocate), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Write Zeroes");
    }

    /// <summary>Dataset Management with 1..256 ranges (deallocate = trim).</summary>
    public async Task DatasetManagementAsync(uint nsid, IReadOnlyList<NvmeDsmRange> ranges, bool deallocate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        byte[] data = new byte[ranges.Count * NvmeDsmRange.Size];
        for (int i = 0; i < ranges.Count; i++)
        {
            ranges[i].Write(data.AsSpan(i * NvmeDsmRange.Size));
        }

        var r = await ExecuteIoAsync(NvmeIoCommands.DatasetManagement(nsid, ranges.Count, deallocate), data, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Dataset Management");
    }

    private static int BlockSizeOf(int bytes, int blocks)
    {
        if (blocks < 1 || bytes % blocks != 0 || bytes / blocks < 1)
        {
            throw new ArgumentException($"{bytes} bytes is not a whole number of blocks for {blocks} blocks.");
        }

        return bytes / blocks;
    }

    // ------------------------------------------------------------------ keep-alive and lifetime

    private async Task KeepAliveLoopAsync()
    {
        var interval = Parameters.KeepAliveTimeout / 2;
        var token = _lifetime.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
                deadline.CancelAfter(Parameters.KeepAliveTimeout);
                try
                {
                    var r = await AdminQueue.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, deadline.Token).ConfigureAwait(false);
                    ThrowIfError(r.Completion, NvmeCommandContext.Admin, "Keep Alive");
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new NvmeTimeoutException($"Keep Alive got no answer within KATO ({Parameters.KeepAliveTimeout.TotalSeconds:0.#} s).");
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Closing.
        }
        catch (Exception e)
        {
            // The controller is gone or broken: end the whole association so every caller learns it.
            var reason = e is NvmeException ? e : new NvmeConnectionException("Keep Alive failed.", e);
            AdminQueue.Fail(reason);
            foreach (var q in IoQueues)
            {
                q.Fail(reason);
            }
        }
    }

    /// <summary>Ends the association: I/O queues closed, normal shutdown (CC.SHN) when the controller was enabled, admin queue closed.</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _lifetime.Cancel();
        await AwaitQuietly(_keepAlive).ConfigureAwait(false);
        foreach (var q in IoQueues)
        {
            await q.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            if (Parameters.EnableController && AdminQueue.Failure is null)
            {
                await ShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await AdminQueue.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task CloseAsync(bool shutdown)
    {
        if (shutdown)
        {
            await DisconnectAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        Interlocked.Exchange(ref _disposed, 1);
        _lifetime.Cancel();
        await AwaitQuietly(_keepAlive).ConfigureAwait(false);
        foreach (var q in IoQueues)
        {
            await q.DisposeAsync().ConfigureAwait(false);
        }

        await AdminQueue.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task AwaitQuietly(Task t)
    {
        try
        {
            await t.ConfigureAwait(false);
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException)
        {
            // Reported elsewhere.
        }
    }

    /// <summary>Disconnects; a failed shutdown is not raised (use <see cref="DisconnectAsync"/> to see it).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(Parameters.ShutdownTimeout + TimeSpan.FromSeconds(1));
            await DisconnectAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException)
        {
            // Best effort.
        }

        _lifetime.Dispose();
    }
}
