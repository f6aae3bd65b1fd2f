using System.Text;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>A transport port of the target as the discovery log reports it (NVMe over Fabrics 1.1 §5.3 Figure 38).
/// A <paramref name="DiscoveryOnly"/> port (the conventional 8009) serves the discovery controller and no NVM subsystem,
/// like an nvmet port linked to no subsystem.</summary>
public sealed record NvmeTargetPort(ushort PortId, TransportType Trtype, AddressFamily Adrfam, string Traddr, string Trsvcid, bool DiscoveryOnly = false);

/// <summary>
/// The transport-independent NVMe over Fabrics target: the NVM subsystems it exports, its discovery subsystem, its ports,
/// and the Fabrics Connect logic that turns a Connect capsule into an admin or I/O queue of a controller.
/// Transports (the TCP target) call <see cref="Connect"/> and then drive the returned <see cref="NvmeControllerQueue"/>.
/// </summary>
public sealed class NvmeTarget : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, NvmeSubsystem> _subsystems = new(StringComparer.Ordinal);
    private readonly List<NvmeTargetPort> _ports = [];
    private long _generation;
    private long _unsafeShutdowns;
    private bool _disposed;

    public NvmeTarget(NvmeTargetOptions? options = null)
    {
        Options = options ?? new NvmeTargetOptions();
        Options.Validate();
        StartTime = DateTime.UtcNow;
        Discovery = new NvmeSubsystem(this, FabricsCommand.DiscoveryNqn, "discovery", isDiscovery: true);
    }

    public NvmeTargetOptions Options { get; }

    /// <summary>The discovery subsystem (any host may connect to it).</summary>
    public NvmeSubsystem Discovery { get; }

    internal DateTime StartTime { get; }

    /// <summary>GENCTR of the discovery log: bumped whenever what the log would list changes.</summary>
    public ulong DiscoveryGenerationCounter => (ulong)Interlocked.Read(ref _generation);

    /// <summary>Associations lost without a CC.SHN shutdown (SMART Unsafe Shutdowns).</summary>
    public long UnsafeShutdowns => Interlocked.Read(ref _unsafeShutdowns);

    public IReadOnlyCollection<NvmeSubsystem> Subsystems
    {
        get
        {
            lock (_lock)
            {
                return [.. _subsystems.Values];
            }
        }
    }

    public IReadOnlyList<NvmeTargetPort> Ports
    {
        get
        {
            lock (_lock)
            {
                return [.. _ports];
            }
        }
    }

    /// <summary>Creates an NVM subsystem. Hosts must be allowed with <see cref="NvmeSubsystem.AllowHost(string)"/> unless
    /// <paramref name="allowAnyHost"/>. <paramref name="serialNumber"/> defaults to one derived from the NQN.</summary>
    public NvmeSubsystem AddSubsystem(string nqn, string? serialNumber = null, bool allowAnyHost = false)
    {
        if (!Nqn.IsWellFormed(nqn))
        {
            throw new ArgumentException($"'{nqn}' is not a well-formed NQN.", nameof(nqn));
        }

        if (nqn == FabricsCommand.DiscoveryNqn)
        {
            throw new ArgumentException("The discovery NQN is reserved for the discovery subsystem.", nameof(nqn));
        }

        serialNumber ??= DefaultSerial(nqn);
        if (serialNumber.Length > 20 || !Ascii.IsValid(serialNumber))
        {
            throw new ArgumentException("A serial number is at most 20 ASCII characters.", nameof(serialNumber));
        }

        NvmeSubsystem subsystem;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_subsystems.ContainsKey(nqn))
            {
                throw new InvalidOperationException($"Subsystem {nqn} already exists.");
            }

            subsystem = new NvmeSubsystem(this, nqn, serialNumber, isDiscovery: false);
            _subsystems[nqn] = subsystem;
        }

        if (allowAnyHost)
        {
            subsystem.AllowAnyHost = true;
        }

        OnDiscoveryChanged();
        return subsystem;
    }

    /// <summary>Removes a subsystem: its associations are torn down and its namespaces disposed.</summary>
    public bool RemoveSubsystem(string nqn)
    {
        NvmeSubsystem? subsystem;
        lock (_lock)
        {
            if (!_subsystems.Remove(nqn, out subsystem))
            {
                return false;
            }
        }

        foreach (var c in subsystem.Controllers)
        {
            c.Terminate("subsystem removed");
        }

        foreach (var ns in subsystem.Namespaces)
        {
            subsystem.RemoveNamespace(ns.Nsid);
        }

        OnDiscoveryChanged();
        return true;
    }

    public NvmeSubsystem? GetSubsystem(string nqn)
    {
        if (nqn == FabricsCommand.DiscoveryNqn)
        {
            return Discovery;
        }

        lock (_lock)
        {
            return _subsystems.TryGetValue(nqn, out var s) ? s : null;
        }
    }

    /// <summary>Registers a port for the discovery log (transports call this when they start listening).</summary>
    public void AddPort(NvmeTargetPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        lock (_lock)
        {
            if (_ports.Any(p => p.PortId == port.PortId))
            {
                throw new InvalidOperationException($"Port {port.PortId} already exists.");
            }

            _ports.Add(port);
        }

        OnDiscoveryChanged();
    }

    public bool RemovePort(ushort portId)
    {
        bool removed;
        lock (_lock)
        {
            removed = _ports.RemoveAll(p => p.PortId == portId) > 0;
        }

        if (removed)
        {
            OnDiscoveryChanged();
        }

        return removed;
    }

    /// <summary>The lowest port ID not in use.</summary>
    public ushort NextPortId()
    {
        lock (_lock)
        {
            ushort id = 1;
            while (_ports.Any(p => p.PortId == id))
            {
                id++;
            }

            return id;
        }
    }

    /// <summary>
    /// The discovery log page (LID 70h) as <paramref name="hostNqn"/> sees it: for each port, one entry per NVM subsystem
    /// the host may connect to, then one "current discovery subsystem" entry (NVMe-oF TP 8013).
    /// </summary>
    public DiscoveryLog BuildDiscoveryLog(string hostNqn)
    {
        NvmeTargetPort[] ports;
        NvmeSubsystem[] subsystems;
        lock (_lock)
        {
            ports = [.. _ports];
            subsystems = [.. _subsystems.Values.OrderBy(s => s.Nqn, StringComparer.Ordinal)];
        }

        // TREQ: secure channel not required; SQ flow control may be disabled.
        const byte treq = DiscoveryLogEntry.TreqSecureChannelNotRequired | DiscoveryLogEntry.TreqSqFlowControlDisableSupported;
        var entries = new List<DiscoveryLogEntry>();
        foreach (var port in ports)
        {
            foreach (var s in subsystems.Where(s => !port.DiscoveryOnly && s.IsHostAllowed(hostNqn)))
            {
                entries.Add(new DiscoveryLogEntry(port.Trtype, port.Adrfam, DiscoverySubsystemType.Nvm, treq, port.PortId,
                    DiscoveryLogEntry.DynamicCntlid, (ushort)Math.Min(Options.MaxQueueSize, ushort.MaxValue), port.Trsvcid, s.Nqn, port.Traddr));
            }

            entries.Add(new DiscoveryLogEntry(port.Trtype, port.Adrfam, DiscoverySubsystemType.CurrentDiscovery, treq, port.PortId,
                DiscoveryLogEntry.DynamicCntlid, (ushort)Math.Min(Options.MaxQueueSize, ushort.MaxValue), port.Trsvcid, FabricsCommand.DiscoveryNqn, port.Traddr));
        }

        return DiscoveryLog.Create(DiscoveryGenerationCounter, entries);
    }

    /// <summary>
    /// Executes a Fabrics Connect (NVMe over Fabrics 1.1 §3.3) received as the first capsule of a queue.
    /// Returns the completion to send (CID, SQID and SQHD filled in) and, on success, the new queue.
    /// <paramref name="connectData"/> is the command's data as received (its length is the SGL length).
    /// </summary>
    public NvmeCompletion Connect(in NvmeCommand command, ReadOnlySpan<byte> connectData, NvmeTargetPort? port, out NvmeControllerQueue? queue)
    {
        queue = null;
        ushort cid = command.Cid;
        if (!ConnectCommand.TryRead(command, out var connect))
        {
            // Anything but Connect as the first capsule of a queue.
            return Fail(cid, 0, NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError));
        }

        if (connect.Recfmt != 0)
        {
            return Fail(cid, connect.Qid, NvmeStatus.CommandSpecific(NvmeStatusNames.ConnectIncompatibleFormat));
        }

        if (connectData.Length != ConnectData.Size)
        {
            return Fail(cid, connect.Qid, NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid));
        }

        if (!ConnectData.TryRead(connectData, out var data, out var error))
        {
            return InvalidParameter(cid, connect.Qid, (ushort)error.Offset, ConnectResponse.IattrInData);
        }

        var subsystem = GetSubsystem(data!.SubNqn);
        if (subsystem is null || (port is { DiscoveryOnly: true } && !subsystem.IsDiscovery))
        {
            return InvalidParameter(cid, connect.Qid, ConnectData.SubNqnOffset, ConnectResponse.IattrInData);
        }

        if (!subsystem.IsHostAllowed(data.HostNqn))
        {
            return NvmeCompletion.Create(cid, NvmeStatus.CommandSpecific(NvmeStatusNames.ConnectInvalidHost),
                dw0: ConnectResponse.InvalidParameterDw0(ConnectData.HostNqnOffset, ConnectResponse.IattrInData), sqid: connect.Qid);
        }

        int maxEntries = Options.MaxQueueSize;
        int minSqsize = connect.Qid == 0 ? 31 : 1;
        if (connect.Sqsize < minSqsize || connect.QueueEntries > maxEntries)
        {
            return InvalidParameter(cid, connect.Qid, ConnectCommand.SqsizeOffset, ConnectResponse.IattrInCommand);
        }

        if (connect.Qid == 0)
        {
            if (data.Cntlid != ConnectData.DynamicCntlid)
            {
                // Only the dynamic controller model: the host asks for "any controller".
                return InvalidParameter(cid, 0, ConnectData.CntlidOffset, ConnectResponse.IattrInData);
            }

            uint kato = RoundKato(connect.Kato);
            var controller = subsystem.CreateController(id => new NvmeController(this, subsystem, id, data, kato, port));
            if (controller is null)
            {
                return Fail(cid, 0, NvmeStatus.CommandSpecific(NvmeStatusNames.ConnectControllerBusy));
            }

            queue = controller.AttachAdminQueue(connect);
            return queue.CompleteConnect(cid);
        }

        var owner = subsystem.FindController(data.Cntlid);
        if (owner is null || owner.HostNqn != data.HostNqn || owner.HostId != data.HostId || owner.IsTerminated)
        {
            return InvalidParameter(cid, connect.Qid, ConnectData.CntlidOffset, ConnectResponse.IattrInData);
        }

        if (owner.IsDiscovery || connect.Qid > owner.AllocatedIoQueues)
        {
            return InvalidParameter(cid, connect.Qid, ConnectCommand.QidOffset, ConnectResponse.IattrInCommand);
        }

        var status = owner.TryAttachIoQueue(connect, out queue);
        if (!status.IsSuccess)
        {
            return Fail(cid, connect.Qid, status);
        }

        return queue!.CompleteConnect(cid);
    }

    /// <summary>KATO rounded up to the keep-alive granularity (KAS × 100 ms); 0 stays 0 (no keep-alive).</summary>
    internal uint RoundKato(uint kato)
    {
        uint unit = Options.KeepAliveGranularity * 100u;
        return kato == 0 ? 0 : (uint)Math.Min(uint.MaxValue, ((ulong)kato + unit - 1) / unit * unit);
    }

    internal void OnDiscoveryChanged()
    {
        Interlocked.Increment(ref _generation);
        foreach (var c in Discovery.Controllers)
        {
            c.OnDiscoveryLogChanged();
        }
    }

    internal void CountUnsafeShutdown() => Interlocked.Increment(ref _unsafeShutdowns);

    public void Dispose()
    {
        NvmeSubsystem[] subsystems;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            subsystems = [.. _subsystems.Values];
        }

        foreach (var c in Discovery.Controllers)
        {
            c.Terminate("target stopped");
        }

        foreach (var s in subsystems)
        {
            RemoveSubsystem(s.Nqn);
        }
    }

    private static NvmeCompletion Fail(ushort cid, ushort qid, NvmeStatus status) => NvmeCompletion.Create(cid, status, sqid: qid);

    private static NvmeCompletion InvalidParameter(ushort cid, ushort qid, ushort ipo, byte iattr) =>
        NvmeCompletion.Create(cid, NvmeStatus.CommandSpecific(NvmeStatusNames.ConnectInvalidParameters),
            dw0: ConnectResponse.InvalidParameterDw0(ipo, iattr), sqid: qid);

    private static string DefaultSerial(string nqn)
    {
        // A stable serial per NQN: 16 hex digits of its CRC-32C and length, so two targets agree on it.
        uint crc = Crc32C.Compute(Encoding.UTF8.GetBytes(nqn));
        return $"NVMEPS{crc:X8}{nqn.Length:X4}";
    }
}
