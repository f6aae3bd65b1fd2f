using NvmePS.Engine.Fabrics;

namespace NvmePS;

/// <summary>One Discovery Log Page entry (NVMe over Fabrics §5.3, Figure 38), as nvme discover prints it.</summary>
public sealed class NvmfDiscoveryLogEntry
{
    public string ControllerName { get; init; } = string.Empty;

    /// <summary>TRTYPE: tcp, rdma, fc, loop.</summary>
    public string Trtype { get; init; } = string.Empty;

    /// <summary>ADRFAM: ipv4, ipv6, ib, fc, loop.</summary>
    public string Adrfam { get; init; } = string.Empty;

    /// <summary>SUBTYPE: nvme subsystem, current discovery subsystem, referral.</summary>
    public string Subtype { get; init; } = string.Empty;

    /// <summary>TREQ: secure channel and SQ flow control requirements.</summary>
    public string Treq { get; init; } = string.Empty;

    public ushort PortId { get; init; }

    public string Trsvcid { get; init; } = string.Empty;

    public string Traddr { get; init; } = string.Empty;

    public string SubNqn { get; init; } = string.Empty;

    /// <summary>TSAS SECTYPE for TCP: none, tls1.2, tls1.3.</summary>
    public string Sectype { get; init; } = string.Empty;

    /// <summary>CNTLID: 65535 means dynamic controllers.</summary>
    public ushort ControllerId { get; init; }

    /// <summary>ASQSZ: the admin queue size the controller supports.</summary>
    public ushort AdminQueueSize { get; init; }

    /// <summary>Wraps an engine entry; the wording is the engine's <see cref="DiscoveryLogEntryText"/>.</summary>
    internal static NvmfDiscoveryLogEntry From(DiscoveryLogEntry e, string controllerName) => new()
    {
        ControllerName = controllerName,
        Trtype = DiscoveryLogEntryText.Trtype(e.Trtype),
        Adrfam = DiscoveryLogEntryText.Adrfam(e.Adrfam),
        Subtype = DiscoveryLogEntryText.Subtype(e.Subtype),
        Treq = DiscoveryLogEntryText.Treq(e.Treq),
        PortId = e.PortId,
        Trsvcid = e.Trsvcid,
        Traddr = e.Traddr,
        SubNqn = e.SubNqn,
        Sectype = DiscoveryLogEntryText.Sectype(e.SecType),
        ControllerId = e.Cntlid,
        AdminQueueSize = e.Asqsz,
    };
}
