using System.Globalization;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS;

/// <summary>
/// A connection to an NVMe/TCP controller (an association: admin queue plus I/O queues), made by
/// Connect-NvmfController. It stays connected until Disconnect-NvmfController or Remove-Module. The engine
/// association is internal; every public property is a plain value.
/// </summary>
public sealed class NvmfController : NvmeAdminConnection
{
    private volatile bool _closed;

    internal NvmfController(NvmeHostAssociation host, string transportAddress, int serviceId, Guid hostId)
    {
        Host = host;
        TransportAddress = transportAddress;
        ServiceId = serviceId;
        HostId = hostId;
        ConnectedAt = DateTime.Now;
    }

    internal NvmeHostAssociation Host { get; }

    internal override NvmeAdminClient Admin => Host.Admin;

    public override string Name => $"{SubsystemNqn} cntlid {ControllerId} at {Address}";

    public override bool IsConnected => !_closed && Host.Failure is null;

    public string TransportAddress { get; }

    public int ServiceId { get; }

    /// <summary>TransportAddress:ServiceId, an IPv6 address in brackets.</summary>
    public string Address => NvmeEndpoint.Format(TransportAddress, ServiceId);

    /// <summary>The local address the admin queue connects from (-HostTransportAddress, else the one the system chose).</summary>
    public string HostTransportAddress => (Host.AdminQueue.Transport.LocalEndPoint as System.Net.IPEndPoint)?.Address.ToString() ?? string.Empty;

    public string SubsystemNqn => Host.SubsystemNqn;

    public string HostNqn => Host.Parameters.EffectiveHostNqn;

    public Guid HostId { get; }

    public ushort ControllerId => Host.Cntlid;

    public bool IsDiscovery => Host.IsDiscovery;

    public string ModelNumber => Host.IdentifyController?.Mn ?? string.Empty;

    public string SerialNumber => Host.IdentifyController?.Sn ?? string.Empty;

    public string FirmwareRevision => Host.IdentifyController?.Fr ?? string.Empty;

    /// <summary>VS: the NVMe version the controller reports.</summary>
    public string Version => Host.Version.ToString();

    public bool HeaderDigest => Host.Parameters.HeaderDigest;

    public bool DataDigest => Host.Parameters.DataDigest;

    public bool SqFlowControl => Host.AdminQueue.SqFlowControl;

    public int KeepAliveTimeoutSec => (int)Host.Parameters.KeepAliveTimeout.TotalSeconds;

    public int MaxDataTransferBytes => Host.MaxDataTransferSize;

    public int InCapsuleDataBytes => Host.IoInCapsuleDataSize;

    public int IoQueueCount => Host.IoQueues.Count;

    /// <summary>The admin queue (QID 0) and the I/O queues, as they are now.</summary>
    public NvmfQueuePair[] QueuePairs =>
        new[] { Host.AdminQueue }.Concat(Host.IoQueues).Select(NvmfQueuePair.From).ToArray();

    public DateTime ConnectedAt { get; }

    /// <summary>Why the association ended, when it failed (keep-alive, transport error); empty otherwise.</summary>
    public string Failure => Host.Failure?.Message ?? string.Empty;

    internal void MarkClosed() => _closed = true;
}

/// <summary>A queue pair of a connected controller.</summary>
public sealed class NvmfQueuePair
{
    public ushort QueueId { get; init; }

    /// <summary>Admin or IO.</summary>
    public string Kind { get; init; } = string.Empty;

    public int QueueSize { get; init; }

    public int InFlight { get; init; }

    public bool SqFlowControl { get; init; }

    public int MaxInCapsuleData { get; init; }

    public string Failure { get; init; } = string.Empty;

    /// <summary>How the queue authenticated: "DH-HMAC-CHAP Sha256 Ffdhe2048", with " bidirectional" when the
    /// controller proved its key too; empty when the controller asked for no authentication.</summary>
    public string Authentication { get; init; } = string.Empty;

    internal static NvmfQueuePair From(NvmeHostQueue q) => new()
    {
        Authentication = q.Authentication is { } a ? $"DH-HMAC-CHAP {a.Hash} {a.Group}{(a.Bidirectional ? " bidirectional" : string.Empty)}" : string.Empty,
        QueueId = q.Qid,
        Kind = q.Qid == 0 ? "Admin" : "IO",
        QueueSize = q.QueueSize,
        InFlight = q.InFlight,
        SqFlowControl = q.SqFlowControl,
        MaxInCapsuleData = q.MaxInCapsuleData,
        Failure = q.Failure?.Message ?? string.Empty,
    };
}

/// <summary>An NVMe/TCP target running in this session (Start-NvmfTarget).</summary>
public sealed class NvmfTarget
{
    internal NvmfTarget(NvmeTargetHost host)
    {
        HostObject = host;
    }

    internal NvmeTargetHost HostObject { get; }

    /// <summary>The subsystem the target was started with.</summary>
    public string SubsystemNqn => HostObject.Subsystem.Nqn;

    /// <summary>Every subsystem the target serves on its port: the first one, then those Add-NvmfSubsystem added.</summary>
    public string[] SubsystemNqns => HostObject.Subsystems.Select(s => s.Nqn).ToArray();

    /// <summary>address:port the target listens on (the discovery controller answers there too).</summary>
    public string Listen => NvmeEndpoint.Format(Address, Port);

    public string Address => HostObject.LocalEndPoint.Address.ToString();

    public int Port => HostObject.LocalEndPoint.Port;

    /// <summary>address:port of the discovery-only port (-DiscoveryListen), or null.</summary>
    public string? DiscoveryListen => HostObject.DiscoveryEndPoint is { } d ? NvmeEndpoint.Format(d.Address.ToString(), d.Port) : null;

    /// <summary>The first subsystem's serial number; each subsystem has its own.</summary>
    public string SerialNumber => HostObject.Subsystem.SerialNumber;

    /// <summary>The namespaces of every subsystem (SubsystemNqn tells them apart).</summary>
    public NvmfTargetNamespace[] Namespaces =>
        HostObject.Subsystems.SelectMany(s => s.Namespaces.Select(n => NvmfTargetNamespace.From(s, n, HostObject.SpecOf(s, n.Nsid)))).ToArray();

    public int NamespaceCount => Namespaces.Length;

    /// <summary>The namespaces' sizes, "64 MiB, 1 GiB" (flat, so it survives serialization as remoting does it).</summary>
    public string Size => string.Join(", ", Namespaces.Select(n => n.Size));

    public bool AllowAnyHost => HostObject.Subsystem.AllowAnyHost;

    /// <summary>"any", or how many host NQNs the allow-list holds.</summary>
    public string Hosts => AllowAnyHost ? "any" : AllowedHostNqns.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string[] AllowedHostNqns => HostObject.Subsystem.AllowedHosts.OrderBy(h => h, StringComparer.Ordinal).ToArray();

    public int ActiveConnections => HostObject.Listener.ActiveConnections;

    public long AcceptedConnections => HostObject.Listener.AcceptedConnections;

    public int Controllers => HostObject.Subsystem.Controllers.Count;

    public bool IsRunning => HostObject.IsRunning;

    public DateTime StartedAt => HostObject.StartedAt;

    /// <summary>True when the target serves <paramref name="pattern"/> (wildcards allowed) in any of its subsystems.</summary>
    internal bool ServesMatch(System.Management.Automation.WildcardPattern pattern) => SubsystemNqns.Any(pattern.IsMatch);

    /// <summary>"NQN on address:port", which is what an error's TargetObject shows.</summary>
    public override string ToString() => $"{SubsystemNqn} on {Listen}";
}

/// <summary>A namespace a session target serves.</summary>
public sealed class NvmfTargetNamespace
{
    public uint NamespaceId { get; init; }

    /// <summary>The subsystem the namespace belongs to.</summary>
    public string SubsystemNqn { get; init; } = string.Empty;

    /// <summary>"memory" or the backing file's path.</summary>
    public string Backing { get; init; } = string.Empty;

    public int BlockSize { get; init; }

    public long BlockCount { get; init; }

    public long SizeBytes { get; init; }

    public string Size { get; init; } = string.Empty;

    public bool ReadOnly { get; init; }

    public long BytesRead { get; init; }

    public long BytesWritten { get; init; }

    /// <summary>True for a namespace a host created with Namespace Management (New-NvmeNamespace, nvme create-ns).</summary>
    public bool CreatedByHost { get; init; }

    /// <summary>The hosts whose controllers the namespace is attached to: "all hosts", "no host", or host NQNs.</summary>
    public string AttachedTo { get; init; } = string.Empty;

    internal static NvmfTargetNamespace From(NvmePS.Engine.Fabrics.Controller.NvmeSubsystem s, NvmePS.Engine.Fabrics.Controller.NvmeNamespace n, NvmePS.Engine.Fabrics.Controller.NvmeNamespaceSpec? spec) => new()
    {
        NamespaceId = n.Nsid,
        SubsystemNqn = s.Nqn,
        // A host-created namespace may reuse the NSID of a deleted configured one: its spec no longer applies.
        Backing = spec is null || spec.IsMemory || n.PoolBytes > 0 ? "memory" : Path.GetFullPath(spec.Path!),
        CreatedByHost = n.PoolBytes > 0,
        AttachedTo = n.Attachment.ToString(),
        ReadOnly = n.ReadOnly,
        BlockSize = n.BlockSize,
        BlockCount = n.BlockCount,
        SizeBytes = n.BlockCount * n.BlockSize,
        Size = NvmeUnits.FormatBytes(n.BlockCount * (decimal)n.BlockSize),
        BytesRead = n.BytesRead,
        BytesWritten = n.BytesWritten,
    };
}

/// <summary>A completion of Send-NvmfCommand (NVMe Base §4.6), with the data the controller returned.</summary>
public sealed class NvmeCompletion
{
    public string ControllerName { get; init; } = string.Empty;

    public ushort QueueId { get; init; }

    public byte Opcode { get; init; }

    public ushort CommandId { get; init; }

    public ushort SqHead { get; init; }

    public byte StatusCodeType { get; init; }

    public byte StatusCode { get; init; }

    public string StatusName { get; init; } = string.Empty;

    public bool DoNotRetry { get; init; }

    public bool More { get; init; }

    public bool Success { get; init; }

    public uint Dw0 { get; init; }

    public uint Dw1 { get; init; }

    public int BytesTransferred { get; init; }

    /// <summary>Data from the controller (-DataLength), trimmed to what was transferred.</summary>
    public byte[] Data { get; init; } = Array.Empty<byte>();

    internal static NvmeCompletion From(NvmePS.Engine.NvmeCompletion c, ushort qid, byte opcode, byte[] data, int transferred, string controllerName)
    {
        var status = c.Status;
        return new NvmeCompletion
        {
            ControllerName = controllerName,
            QueueId = qid,
            Opcode = opcode,
            CommandId = c.Cid,
            SqHead = c.Sqhd,
            StatusCodeType = (byte)status.Sct,
            StatusCode = status.Sc,
            StatusName = status.GetName(qid == 0 ? NvmePS.Engine.NvmeCommandContext.Admin : NvmePS.Engine.NvmeCommandContext.Nvm),
            DoNotRetry = status.Dnr,
            More = status.More,
            Success = status.IsSuccess,
            Dw0 = c.Dw0,
            Dw1 = c.Dw1,
            BytesTransferred = transferred,
            Data = data.Length == transferred ? data : data.AsSpan(0, Math.Min(transferred, data.Length)).ToArray(),
        };
    }
}

/// <summary>A controller property (CAP, VS, CC, CSTS, …) with its fields decoded.</summary>
public sealed class NvmfProperty
{
    public string ControllerName { get; init; } = string.Empty;

    public string Name { get; init; } = string.Empty;

    public uint Offset { get; init; }

    /// <summary>4 or 8 bytes.</summary>
    public int Size { get; init; }

    public ulong Value { get; init; }

    public NvmfPropertyField[] Fields { get; init; } = Array.Empty<NvmfPropertyField>();

    /// <summary>The fields as "NAME=value" pairs.</summary>
    public string Decoded => string.Join(" ", Fields.Select(f => $"{f.Name}={f.Value.ToString(CultureInfo.InvariantCulture)}"));

    internal static NvmfProperty From(string controllerName, uint offset, PropertySize size, ulong value) => new()
    {
        ControllerName = controllerName,
        Name = ControllerProperty.NameOf(offset),
        Offset = offset,
        Size = size == PropertySize.EightBytes ? 8 : 4,
        Value = value,
        Fields = ControllerPropertyFields.Decode(offset, value)
            .Select(f => new NvmfPropertyField { Name = f.Name, Value = f.Value, Meaning = f.Meaning })
            .ToArray(),
    };
}

/// <summary>One field of a controller property, named by its spec mnemonic.</summary>
public sealed class NvmfPropertyField
{
    public string Name { get; init; } = string.Empty;

    public ulong Value { get; init; }

    public string Meaning { get; init; } = string.Empty;
}

/// <summary>The outcome of Read-NvmeBlock / Write-NvmeBlock.</summary>
public sealed class NvmeBlockTransfer
{
    public string ControllerName { get; init; } = string.Empty;

    /// <summary>Read or Write.</summary>
    public string Operation { get; init; } = string.Empty;

    public uint NamespaceId { get; init; }

    public ulong StartingLba { get; init; }

    public long BlockCount { get; init; }

    public int BlockSize { get; init; }

    public long Bytes { get; init; }

    /// <summary>Bytes in binary units, for people.</summary>
    public string Size => NvmeUnits.FormatBytes(Bytes);

    /// <summary>The file read from or written to; empty for byte arrays.</summary>
    public string Path { get; init; } = string.Empty;

    /// <summary>The blocks read (Read-NvmeBlock without -Path); empty otherwise.</summary>
    public byte[] Data { get; init; } = Array.Empty<byte>();
}

/// <summary>A host identity (HOSTNQN and HOSTID) and where it comes from.</summary>
public sealed class NvmeHostIdentityInfo
{
    public string HostNqn { get; init; } = string.Empty;

    public Guid HostId { get; init; }

    /// <summary>"given", the file it was read from, the machine UUID it was derived from, or "generated for this process only".</summary>
    public string Source { get; init; } = string.Empty;

    /// <summary>The directory New-NvmeHostNqn -Persist wrote hostnqn and hostid to, or null.</summary>
    public string? PersistedTo { get; init; }
}

/// <summary>A DH-HMAC-CHAP secret made by New-NvmeDhchapKey. <see cref="Secret"/> is the DHHC-1 text to hand to
/// Connect-NvmfController -DhchapSecret, Start-NvmfTarget -AllowedHost, nvme connect --dhchap-secret or nvmet's
/// dhchap_key; ToString never shows it.</summary>
public sealed class NvmeDhchapKey
{
    /// <summary>The DHHC-1 representation, key included.</summary>
    public string Secret { get; init; } = string.Empty;

    /// <summary>The hash that transforms the key before use (hh): None, Sha256, Sha384 or Sha512.</summary>
    public string Hash { get; init; } = "None";

    /// <summary>Key length in bytes: 32, 48 or 64.</summary>
    public int KeyLength { get; init; }

    /// <summary>The NQN the key was transformed with (for a hash other than None), else empty.</summary>
    public string HostNqn { get; init; } = string.Empty;

    public override string ToString() => $"DHHC-1 {KeyLength}-byte key ({Hash}){(HostNqn.Length > 0 ? " for " + HostNqn : string.Empty)}";
}

/// <summary>A host a target lets in, and the DH-HMAC-CHAP key it must authenticate with (none: the allow-list alone).
/// Start-NvmfTarget -AllowedHost takes these or hashtables with the same keys, e.g.
/// @{ HostNqn = 'nqn...'; DhchapSecret = 'DHHC-1:01:...:' }.</summary>
public sealed class NvmfAllowedHost
{
    public string HostNqn { get; set; } = string.Empty;

    /// <summary>The host's secret: a DHHC-1 string, a SecureString or a New-NvmeDhchapKey result.</summary>
    public object? DhchapSecret { get; set; }

    /// <summary>The controller's secret, so the host can authenticate the target too.</summary>
    public object? DhchapControllerSecret { get; set; }

    /// <summary>The hash the controller asks for when the host offers it (nvmet dhchap_hash).</summary>
    public NvmePS.Engine.Fabrics.Auth.DhchapHash DhchapHash { get; set; } = NvmePS.Engine.Fabrics.Auth.DhchapHash.Sha256;

    /// <summary>The DH group the controller requires (nvmet dhchap_dhgroup): Null or Ffdhe2048 to Ffdhe8192.</summary>
    public NvmePS.Engine.Fabrics.Auth.DhchapGroup DhchapGroup { get; set; } = NvmePS.Engine.Fabrics.Auth.DhchapGroup.Null;

    // A secret given where an NQN belongs is refused by DhchapArguments.ResolveAllowedHosts, not here: PowerShell's
    // binding error would quote the value.
    public static implicit operator NvmfAllowedHost(string hostNqn) => new() { HostNqn = hostNqn };

    public override string ToString() => DhchapSecret is null ? HostNqn : $"{HostNqn} (DH-HMAC-CHAP)";

    /// <summary>The engine's key for this host, or null when it needs none.</summary>
    internal NvmePS.Engine.Fabrics.Auth.DhchapHostKey? ToKey()
    {
        var host = Commands.DhchapArguments.Resolve(DhchapSecret, "AllowedHost.DhchapSecret");
        var controller = Commands.DhchapArguments.Resolve(DhchapControllerSecret, "AllowedHost.DhchapControllerSecret");
        if (host is null)
        {
            return controller is null ? null : throw new ArgumentException($"{HostNqn}: a controller secret needs the host's secret too.");
        }

        return new NvmePS.Engine.Fabrics.Auth.DhchapHostKey(host, controller, DhchapHash, DhchapGroup);
    }
}
