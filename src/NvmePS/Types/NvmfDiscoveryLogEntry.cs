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

    internal static NvmfDiscoveryLogEntry From(DiscoveryLogEntry e, string controllerName)
    {
        // The words nvme-cli prints (nvme_trtype_str, nvme_adrfam_str, nvme_subtype_str, nvme_treq_str).
        string treq = (e.Treq & 0x3) switch
        {
            DiscoveryLogEntry.TreqSecureChannelRequired => "required",
            DiscoveryLogEntry.TreqSecureChannelNotRequired => "not required",
            _ => "not specified",
        };
        if ((e.Treq & DiscoveryLogEntry.TreqSqFlowControlDisableSupported) != 0)
        {
            treq += ", sq flow control disable supported";
        }

        return new NvmfDiscoveryLogEntry
        {
            ControllerName = controllerName,
            Trtype = e.Trtype switch
            {
                TransportType.Tcp => "tcp",
                TransportType.Rdma => "rdma",
                TransportType.FibreChannel => "fc",
                TransportType.IntraHost => "loop",
                _ => $"unknown ({(byte)e.Trtype})",
            },
            // By value: the engine's enum names are not part of this mapping.
            Adrfam = (byte)e.Adrfam switch
            {
                1 => "ipv4",
                2 => "ipv6",
                3 => "ib",
                4 => "fc",
                0xFE => "loop",
                _ => $"unknown ({(byte)e.Adrfam})",
            },
            Subtype = e.Subtype switch
            {
                DiscoverySubsystemType.Nvm => "nvme subsystem",
                DiscoverySubsystemType.CurrentDiscovery => "current discovery subsystem",
                DiscoverySubsystemType.Referral => "discovery subsystem referral",
                _ => $"unknown ({(byte)e.Subtype})",
            },
            Treq = treq,
            PortId = e.PortId,
            Trsvcid = e.Trsvcid,
            Traddr = e.Traddr,
            SubNqn = e.SubNqn,
            Sectype = e.SecType switch
            {
                TcpSecurityType.None => "none",
                TcpSecurityType.Tls12 => "tls1.2",
                TcpSecurityType.Tls13 => "tls1.3",
                _ => $"unknown ({(byte)e.SecType})",
            },
            ControllerId = e.Cntlid,
            AdminQueueSize = e.Asqsz,
        };
    }
}
