using System.Buffers.Binary;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// One controller of an NVM or discovery subsystem: the state of one association (host NQN/ID, CNTLID, CC/CSTS, features,
/// queues, error log, pending asynchronous events, keep-alive timer). Created by a Fabrics Connect on an admin queue;
/// ended by losing the admin queue, a keep-alive timeout, or the subsystem's removal.
/// </summary>
public sealed partial class NvmeController
{
    /// <summary>The controller supports NVMe 2.0 (VS).</summary>
    public const uint Version = 0x00020000;

    private readonly object _lock = new();
    private readonly CancellationTokenSource _terminated = new();
    private readonly NvmeControllerQueue?[] _queues;
    private readonly NvmeErrorLogEntry[] _errorLog;
    private readonly Queue<uint> _pendingEvents = new();
    private readonly Queue<TaskCompletionSource<uint>> _outstandingAers = new();
    private readonly SortedSet<uint> _changedNamespaces = [];
    private readonly Dictionary<uint, ushort> _temperatureThresholds = [];
    private Timer? _keepAliveTimer;
    private long _lastActivity;
    private ulong _errorCount;
    private int _errorHead;
    private uint _cc;
    private uint _csts;
    private uint _aec;
    private uint _arbitration;
    private uint _powerManagement;
    private bool _volatileWriteCache = true;
    private bool _changedListOverflow;
    private bool _namespaceNoticeMasked;
    private bool _discoveryNoticeMasked;
    private bool _sanitizeNoticeMasked;
    private bool _shutdownCompleted;
    private int _terminatedFlag;

    internal NvmeController(NvmeTarget target, NvmeSubsystem subsystem, ushort cntlid, ConnectData connect, uint kato, NvmeTargetPort? port)
    {
        Target = target;
        Subsystem = subsystem;
        Cntlid = cntlid;
        HostNqn = connect.HostNqn;
        HostId = connect.HostId;
        // The key as it is when the association starts, for every queue of it (as nvmet's ctrl->host_key).
        _hostKey = subsystem.GetHostKey(HostNqn);
        Port = port;
        KeepAliveTimeout = kato;
        AllocatedIoQueues = subsystem.IsDiscovery ? 0 : target.Options.MaxIoQueues;
        _queues = new NvmeControllerQueue?[AllocatedIoQueues + 1];
        _errorLog = new NvmeErrorLogEntry[target.Options.ErrorLogEntries];
        Capabilities = ControllerCapabilities.Create(
            mqes: (ushort)(target.Options.MaxQueueSize - 1), cqr: true, to: 15, css: 0x01);
        _lastActivity = Environment.TickCount64;
        ArmKeepAlive();
    }

    public NvmeTarget Target { get; }

    public NvmeSubsystem Subsystem { get; }

    /// <summary>CNTLID.</summary>
    public ushort Cntlid { get; }

    public string HostNqn { get; }

    /// <summary>HOSTID from the Connect data.</summary>
    public Guid HostId { get; }

    /// <summary>The port the admin queue connected through (null when driven without a transport).</summary>
    public NvmeTargetPort? Port { get; }

    public bool IsDiscovery => Subsystem.IsDiscovery;

    /// <summary>CAP.</summary>
    public ControllerCapabilities Capabilities { get; }

    /// <summary>CC.</summary>
    public ControllerConfiguration Configuration => new(Volatile.Read(ref _cc));

    /// <summary>CSTS.</summary>
    public ControllerStatus Status => new(Volatile.Read(ref _csts));

    /// <summary>KATO in milliseconds (0: no keep-alive).</summary>
    public uint KeepAliveTimeout { get; private set; }

    /// <summary>I/O queues the host may connect (Number of Queues feature).</summary>
    public int AllocatedIoQueues { get; private set; }

    /// <summary>Cancelled when the association ends; transports close every queue of the controller then.</summary>
    public CancellationToken Terminated => _terminated.Token;

    public bool IsTerminated => Volatile.Read(ref _terminatedFlag) != 0;

    /// <summary>Why the association ended, once it has.</summary>
    public string? TerminationReason { get; private set; }

    /// <summary>Connected I/O queues.</summary>
    public int ConnectedIoQueues
    {
        get
        {
            lock (_lock)
            {
                return _queues.Skip(1).Count(q => q is not null);
            }
        }
    }

    /// <summary>The connected queues, admin first.</summary>
    public IReadOnlyList<NvmeControllerQueue> Queues
    {
        get
        {
            lock (_lock)
            {
                return [.. _queues.Where(q => q is not null).Select(q => q!)];
            }
        }
    }

    private bool Ready => (Volatile.Read(ref _csts) & 1) != 0 && (Volatile.Read(ref _cc) & 1) != 0;

    /// <summary>Ends the association: every queue is closed, outstanding AERs are aborted, the CNTLID is freed.</summary>
    public void Terminate(string reason)
    {
        if (Interlocked.Exchange(ref _terminatedFlag, 1) != 0)
        {
            return;
        }

        TerminationReason = reason;
        NvmeControllerQueue?[] queues;
        TaskCompletionSource<uint>[] aers;
        lock (_lock)
        {
            queues = [.. _queues];
            aers = [.. _outstandingAers];
            _outstandingAers.Clear();
            _keepAliveTimer?.Dispose();
            _keepAliveTimer = null;
        }

        // Unsafe: an enabled controller of an NVM subsystem lost without a CC.SHN shutdown.
        if (!_shutdownCompleted && !IsDiscovery && Ready)
        {
            Target.CountUnsafeShutdown();
        }

        foreach (var aer in aers)
        {
            aer.TrySetCanceled();
        }

        // Gone from the subsystem before its connections close: whoever sees a connection close finds it gone.
        Subsystem.RemoveController(this);
        foreach (var q in queues)
        {
            q?.Close();
        }

        _terminated.Cancel();
    }

    private readonly Auth.DhchapHostKey? _hostKey;
    private readonly Auth.DhchapKeyPairCache _dhKeyPairs = new();

    /// <summary>Every queue of a host with a DH-HMAC-CHAP key runs its own transaction (NVMe Base 2.0 §8.13.4); the
    /// controller's DH key pair is made once per association, as nvmet does, so Negotiates cost no exponentiation.</summary>
    private Auth.DhchapControllerAuthenticator? NewAuthentication() =>
        _hostKey is { } key ? new Auth.DhchapControllerAuthenticator(key, HostNqn, Subsystem.Nqn, _dhKeyPairs) : null;

    internal NvmeControllerQueue AttachAdminQueue(ConnectCommand connect)
    {
        var q = new NvmeControllerQueue(this, 0, connect.QueueEntries, connect.DisableSqFlowControl) { Authentication = NewAuthentication() };
        lock (_lock)
        {
            _queues[0] = q;
        }

        return q;
    }

    internal NvmeStatus TryAttachIoQueue(ConnectCommand connect, out NvmeControllerQueue? queue)
    {
        queue = null;
        lock (_lock)
        {
            if (!Ready || IsTerminated)
            {
                return NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError);
            }

            if (connect.Qid >= _queues.Length)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.ConnectInvalidParameters);
            }

            if (_queues[connect.Qid] is not null)
            {
                // The queue already exists (Linux nvmet answers the same).
                return NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError);
            }

            queue = new NvmeControllerQueue(this, connect.Qid, connect.QueueEntries, connect.DisableSqFlowControl) { Authentication = NewAuthentication() };
            _queues[connect.Qid] = queue;
            return NvmeStatus.Success;
        }
    }

    internal void OnQueueClosed(NvmeControllerQueue queue)
    {
        lock (_lock)
        {
            if (queue.Qid < _queues.Length && ReferenceEquals(_queues[queue.Qid], queue))
            {
                _queues[queue.Qid] = null;
            }
        }

        if (queue.IsAdmin)
        {
            Terminate("admin queue closed");
        }
    }

    /// <summary>Any command counts as keep-alive traffic (CTRATT.TBKAS, Base Spec 2.0 §3.9.2).</summary>
    internal void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

    private void ArmKeepAlive()
    {
        lock (_lock)
        {
            _keepAliveTimer?.Dispose();
            _keepAliveTimer = null;
            if (KeepAliveTimeout == 0 || IsTerminated)
            {
                return;
            }

            // Check several times per KATO so expiry is noticed within about 1.25 × KATO.
            int period = (int)Math.Clamp(KeepAliveTimeout / 4, 25, 60_000);
            _keepAliveTimer = new Timer(_ => CheckKeepAlive(), null, period, period);
        }
    }

    private void CheckKeepAlive()
    {
        long idle = Environment.TickCount64 - Volatile.Read(ref _lastActivity);
        if (KeepAliveTimeout != 0 && idle > KeepAliveTimeout)
        {
            Terminate($"keep-alive timeout ({KeepAliveTimeout} ms without a command)");
        }
    }

    // ---------------- Properties (Fabrics Property Get / Set) ----------------

    /// <summary>Property Get (NVMe over Fabrics 1.1 §3.4). Only CAP (8 bytes), VS, CC and CSTS (4 bytes) exist.</summary>
    public NvmeStatus GetProperty(uint offset, PropertySize size, out ulong value)
    {
        value = 0;
        var expected = ControllerProperty.SizeOf(offset);
        if (expected is null || offset is ControllerProperty.Nssr or ControllerProperty.Crto || expected != size)
        {
            return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
        }

        value = offset switch
        {
            ControllerProperty.Cap => Capabilities.Value,
            ControllerProperty.Vs => Version,
            ControllerProperty.Cc => Volatile.Read(ref _cc),
            _ => Volatile.Read(ref _csts),
        };
        return NvmeStatus.Success;
    }

    /// <summary>Property Set (NVMe over Fabrics 1.1 §3.5): only CC is writable. Drives the enable / reset / shutdown
    /// state machine of Base Spec 2.0 §3.5.</summary>
    public async ValueTask<NvmeStatus> SetPropertyAsync(uint offset, PropertySize size, ulong value, CancellationToken cancellationToken = default)
    {
        if (offset != ControllerProperty.Cc || size != PropertySize.FourBytes || value > uint.MaxValue)
        {
            return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
        }

        var next = new ControllerConfiguration((uint)value);
        ControllerConfiguration previous;
        NvmeControllerQueue?[] ioQueues = [];
        bool flush = false;
        lock (_lock)
        {
            previous = new ControllerConfiguration(_cc);
            _cc = next.Value;
            uint csts = _csts;
            if (!previous.En && next.En)
            {
                // Enable: the controller becomes ready unless CC asks for something it cannot do (then CSTS.CFS).
                bool ok = next.Mps == 0 && next.Css == 0 && next.Ams == 0
                    && (IsDiscovery || (next.Iosqes == 6 && next.Iocqes == 4));
                csts = ok ? 1u : 2u;
                _shutdownCompleted = false;
            }
            else if (previous.En && !next.En)
            {
                // Controller reset: not ready, I/O queues deleted, shutdown state cleared; firmware committed for the next
                // reset starts running.
                csts = 0;
                if (!IsDiscovery)
                {
                    Subsystem.Maintenance.OnControllerReset();
                }

                ioQueues = [.. _queues.Skip(1)];
                for (int i = 1; i < _queues.Length; i++)
                {
                    _queues[i] = null;
                }
            }

            if (next.Shn != ShutdownNotification.None && previous.Shn == ShutdownNotification.None)
            {
                flush = true;
                csts = (csts & ~0xCu) | ((uint)ShutdownStatus.Occurring << 2);
            }
            else if (next.Shn == ShutdownNotification.None)
            {
                csts &= ~0xCu;
            }

            _csts = csts;
        }

        foreach (var q in ioQueues)
        {
            q?.Close();
        }

        if (flush)
        {
            // Shutdown: make written data durable, then report SHST complete.
            foreach (var ns in ActiveNamespaces)
            {
                try
                {
                    await ns.Storage.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // A failing store still completes shutdown; its errors surface on I/O.
                }
                catch (ObjectDisposedException)
                {
                }
            }

            lock (_lock)
            {
                _csts = (_csts & ~0xCu) | ((uint)ShutdownStatus.Complete << 2);
                _shutdownCompleted = true;
            }
        }

        return NvmeStatus.Success;
    }

    // ---------------- Validation before data moves ----------------

    /// <summary>Checks a command before its data is fetched; Success or the status to complete it with.</summary>
    internal NvmeStatus Validate(NvmeControllerQueue queue, in NvmeCommand c, int transferLength)
    {
        // Fused operations are not supported (ONCS/FUSES report none).
        if ((c.Flags & 0x3) != 0)
        {
            return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
        }

        // Disconnect too: a host must be able to leave an I/O queue whose authentication failed.
        bool isAuthentication = c.Opcode == FabricsCommand.Opcode
            && FabricsCommand.GetFctype(c) is FabricsCommandType.AuthenticationSend or FabricsCommandType.AuthenticationReceive or FabricsCommandType.Disconnect;
        if (!queue.IsAuthenticated && !isAuthentication)
        {
            // Nothing but the authentication transaction until it succeeds (Linux nvmet answers the same).
            return NvmeStatus.CommandSpecific(NvmeStatusNames.AuthenticationRequired);
        }

        if (c.Opcode == FabricsCommand.Opcode)
        {
            return ValidateFabrics(queue, c, transferLength);
        }

        return queue.IsAdmin ? ValidateAdmin(c, transferLength) : ValidateIo(c, transferLength);
    }

    private NvmeStatus ValidateFabrics(NvmeControllerQueue queue, in NvmeCommand c, int transferLength)
    {
        var fctype = FabricsCommand.GetFctype(c);
        switch (fctype)
        {
            case FabricsCommandType.PropertyGet:
            case FabricsCommandType.PropertySet:
                return !queue.IsAdmin ? NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand)
                    : transferLength != 0 ? NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid)
                    : NvmeStatus.Success;
            case FabricsCommandType.Disconnect:
                return queue.IsAdmin ? NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand)
                    : transferLength != 0 ? NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid)
                    : NvmeStatus.Success;
            case FabricsCommandType.Connect:
                // The queue is already connected.
                return NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError);
            case FabricsCommandType.AuthenticationSend:
            case FabricsCommandType.AuthenticationReceive:
                {
                    if (queue.Authentication is null)
                    {
                        // This host has no key: Connect did not ask for authentication.
                        return NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError);
                    }

                    AuthenticationCommand.TryRead(c, out var auth);
                    int limit = auth.IsSend ? Auth.AuthMessageHeader.MaxMessageSize : 2 * Auth.AuthMessageHeader.MaxMessageSize;
                    return auth.Secp != AuthenticationCommand.SecpNvme || auth.Spsp0 != 1 || auth.Spsp1 != 1 || auth.Length == 0 || auth.Length > limit
                        ? NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand)
                        : transferLength != auth.Length ? NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid)
                        : NvmeStatus.Success;
                }

            default:
                return NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode);
        }
    }

    /// <summary>The data transfer length an Admin command must describe (what the command moves, not a maximum), or
    /// -1 when this controller does not implement the command. The NVMe-MI tunnel sizes its buffer with it.</summary>
    internal int AdminTransferLength(in NvmeCommand c)
    {
        int expected;
        switch (c.Opcode)
        {
            case NvmeAdminOpcode.Identify:
                expected = 4096;
                break;
            case NvmeAdminOpcode.GetLogPage:
                GetLogPageCommand.TryRead(c, out var getLog);
                expected = (int)Math.Min(int.MaxValue, getLog.LengthBytes);
                break;
            case NvmeAdminOpcode.GetFeatures:
            case NvmeAdminOpcode.SetFeatures:
                // Get and Set Features share FID's place (CDW10 7:0).
                GetFeaturesCommand.TryRead(c, out var feature);
                expected = feature.Fid == NvmeFeatureId.HostIdentifier ? NvmeHostIdentifierFeature.DataLength(feature.Cdw11) : 0;
                break;
            case NvmeAdminOpcode.AsynchronousEventRequest:
            case NvmeAdminOpcode.KeepAlive:
                expected = 0;
                break;
            case NvmeAdminOpcode.Abort when !IsDiscovery:
                expected = 0;
                break;
            case NvmeAdminOpcode.FormatNvm when !IsDiscovery:
                expected = 0;
                break;
            case NvmeAdminOpcode.FirmwareImageDownload when !IsDiscovery:
                FirmwareImageDownloadCommand.TryRead(c, out var download);
                expected = (int)Math.Min(int.MaxValue, download.LengthBytes);
                break;
            case NvmeAdminOpcode.FirmwareCommit when !IsDiscovery:
            case NvmeAdminOpcode.DeviceSelfTest when !IsDiscovery:
            case NvmeAdminOpcode.Sanitize when !IsDiscovery:
                expected = 0;
                break;
            case NvmeAdminOpcode.NamespaceManagement when ManagesNamespaces:
                // Create carries the host-settable Identify Namespace fields; delete carries nothing.
                NamespaceManagementCommand.TryRead(c, out var management);
                expected = management.Sel == NvmeNamespaceManagementSelect.Create ? NvmeIdentifyNamespace.Size : 0;
                break;
            case NvmeAdminOpcode.NamespaceAttachment when ManagesNamespaces:
                expected = NvmeControllerList.Size;
                break;
            case NvmeAdminOpcode.SecuritySend when Subsystem.DeviceModel is { SupportsSecurity: true }:
            case NvmeAdminOpcode.SecurityReceive when Subsystem.DeviceModel is { SupportsSecurity: true }:
                // TL and AL (CDW11) in bytes.
                expected = (int)Math.Min(int.MaxValue, c.Cdw11);
                break;
            default:
                return -1;
        }

        return expected;
    }

    private NvmeStatus ValidateAdmin(in NvmeCommand c, int transferLength)
    {
        int expected = AdminTransferLength(c);
        if (expected < 0)
        {
            return NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode);
        }

        if (!Ready)
        {
            return NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError);
        }

        return transferLength == expected ? NvmeStatus.Success : NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid);
    }

    private NvmeStatus ValidateIo(in NvmeCommand c, int transferLength)
    {
        if (!Ready)
        {
            return NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError);
        }

        switch (c.Opcode)
        {
            case NvmeIoOpcode.Flush:
                if (c.Nsid != NvmeAdminCommands.BroadcastNsid && ActiveNamespace(c.Nsid) is null)
                {
                    return InvalidNamespace;
                }

                return transferLength == 0 ? NvmeStatus.Success : NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid);

            case NvmeIoOpcode.Read:
            case NvmeIoOpcode.Write:
            case NvmeIoOpcode.WriteZeroes:
            case NvmeIoOpcode.Compare:
                {
                    var ns = ActiveNamespace(c.Nsid);
                    if (ns is null)
                    {
                        return InvalidNamespace;
                    }

                    var rw = ReadWriteCommand.Read(c);
                    ulong slba = rw.Slba;
                    long blocks = rw.Blocks;
                    if (!ns.InRange(slba, blocks))
                    {
                        return NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange);
                    }

                    if (c.Opcode is NvmeIoOpcode.Write or NvmeIoOpcode.WriteZeroes && ns.ReadOnly)
                    {
                        return NvmeStatus.Generic(NvmeStatusNames.NamespaceIsWriteProtected);
                    }

                    long expected = c.Opcode == NvmeIoOpcode.WriteZeroes ? 0 : blocks << ns.BlockSizeShift;
                    return transferLength == expected ? NvmeStatus.Success : NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid);
                }

            case NvmeIoOpcode.DatasetManagement:
                {
                    var ns = ActiveNamespace(c.Nsid);
                    if (ns is null)
                    {
                        return InvalidNamespace;
                    }

                    DatasetManagementCommand.TryRead(c, out var dsm);
                    int expected = dsm.DataLength;
                    return transferLength == expected ? NvmeStatus.Success : NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid);
                }

            default:
                return NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode);
        }
    }

    private static NvmeStatus InvalidNamespace => NvmeStatus.Generic(NvmeStatusNames.InvalidNamespaceOrFormat);

    /// <summary>The result of executing one command: status, DW0/DW1 and bytes produced for the host.</summary>
    internal readonly record struct Outcome(NvmeStatus Status, uint Dw0 = 0, uint Dw1 = 0, int Bytes = 0);

    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<Outcome> ExecuteAsync(NvmeControllerQueue queue, NvmeCommand c, ReadOnlyMemory<byte> dataIn, Memory<byte> dataOut, CancellationToken ct)
    {
        if (c.Opcode == FabricsCommand.Opcode)
        {
            return await ExecuteFabricsAsync(queue, c, dataIn, dataOut, ct).ConfigureAwait(false);
        }

        return queue.IsAdmin
            ? await ExecuteAdminAsync(c, dataIn, dataOut, ct).ConfigureAwait(false)
            : await ExecuteIoAsync(c, dataIn, dataOut, ct).ConfigureAwait(false);
    }

    private async ValueTask<Outcome> ExecuteFabricsAsync(NvmeControllerQueue queue, NvmeCommand c, ReadOnlyMemory<byte> dataIn, Memory<byte> dataOut, CancellationToken ct)
    {
        switch (FabricsCommand.GetFctype(c))
        {
            case FabricsCommandType.PropertyGet:
                {
                    if (!PropertyGetCommand.TryRead(c, out var get))
                    {
                        return new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand));
                    }

                    var status = GetProperty(get.Offset, get.Size, out ulong value);
                    return new Outcome(status, (uint)value, (uint)(value >> 32));
                }

            case FabricsCommandType.PropertySet:
                {
                    if (!PropertySetCommand.TryRead(c, out var set))
                    {
                        return new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand));
                    }

                    return new Outcome(await SetPropertyAsync(set.Offset, set.Size, set.Value, ct).ConfigureAwait(false));
                }

            case FabricsCommandType.Disconnect:
                // The transport closes the queue once this completion is sent.
                return new Outcome(NvmeStatus.Success);

            case FabricsCommandType.AuthenticationSend:
                return new Outcome(queue.Authentication!.OnSend(dataIn.Span)
                    ? NvmeStatus.Success
                    : NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError)); // another authentication command is running

            case FabricsCommandType.AuthenticationReceive:
                {
                    int n = queue.Authentication!.OnReceive(dataOut.Span);
                    return n switch
                    {
                        Auth.DhchapControllerAuthenticator.Busy => new Outcome(NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError)),
                        < 0 => new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand)),
                        _ => new Outcome(NvmeStatus.Success, Bytes: dataOut.Length),
                    };
                }

            default:
                return new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode));
        }
    }

    /// <summary>True when <paramref name="command"/> is a Disconnect: the transport closes the queue after its completion.</summary>
    public static bool IsDisconnect(in NvmeCommand command) =>
        command.Opcode == FabricsCommand.Opcode && FabricsCommand.GetFctype(command) == FabricsCommandType.Disconnect;

    // ---------------- Error log ----------------

    internal void RecordError(ushort sqid, in NvmeCommand c, NvmeStatus status)
    {
        // AER cancellation on teardown is not an error of the host's making.
        if (IsTerminated)
        {
            return;
        }

        ulong lba = ReadWriteCommand.TryRead(c, out var rw) && sqid != 0 ? rw.Slba : 0;
        lock (_lock)
        {
            _errorCount++;
            _errorHead = (_errorHead + 1) % _errorLog.Length;
            _errorLog[_errorHead] = new NvmeErrorLogEntry(_errorCount, sqid, c.Cid, status.ToStatusField(), 0xFFFF, lba, c.Nsid, 0,
                (byte)(Port?.Trtype ?? TransportType.Tcp), 0, 0);
        }
    }

    /// <summary>Errors recorded since the association began (SMART Number of Error Information Log Entries).</summary>
    public ulong ErrorCount
    {
        get
        {
            lock (_lock)
            {
                return _errorCount;
            }
        }
    }
}
