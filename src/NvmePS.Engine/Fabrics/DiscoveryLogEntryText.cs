namespace NvmePS.Engine.Fabrics;

/// <summary>
/// Discovery Log Page entry fields (NVMe over Fabrics 1.1 §5.3, Figure 38) in the words nvme-cli prints
/// (libnvme's nvme_trtype_str, nvme_adrfam_str, nvme_subtype_str, nvme_treq_str, nvme_sectype_str), so every front
/// end shows the same text for the same entry.
/// </summary>
public static class DiscoveryLogEntryText
{
    /// <summary>TRTYPE: tcp, rdma, fc, loop.</summary>
    public static string Trtype(TransportType trtype) => trtype switch
    {
        TransportType.Tcp => "tcp",
        TransportType.Rdma => "rdma",
        TransportType.FibreChannel => "fc",
        TransportType.IntraHost => "loop",
        _ => $"unknown ({(byte)trtype})",
    };

    /// <summary>ADRFAM: ipv4, ipv6, ib, fc, loop. By value, so renaming the engine's enum never changes the text.</summary>
    public static string Adrfam(AddressFamily adrfam) => (byte)adrfam switch
    {
        1 => "ipv4",
        2 => "ipv6",
        3 => "ib",
        4 => "fc",
        0xFE => "loop",
        _ => $"unknown ({(byte)adrfam})",
    };

    /// <summary>SUBTYPE: nvme subsystem, current discovery subsystem, discovery subsystem referral.</summary>
    public static string Subtype(DiscoverySubsystemType subtype) => subtype switch
    {
        DiscoverySubsystemType.Nvm => "nvme subsystem",
        DiscoverySubsystemType.CurrentDiscovery => "current discovery subsystem",
        DiscoverySubsystemType.Referral => "discovery subsystem referral",
        _ => $"unknown ({(byte)subtype})",
    };

    /// <summary>TREQ: secure channel bits 1:0, plus "sq flow control disable supported" for bit 2.</summary>
    public static string Treq(byte treq)
    {
        string text = (treq & 0x3) switch
        {
            DiscoveryLogEntry.TreqSecureChannelRequired => "required",
            DiscoveryLogEntry.TreqSecureChannelNotRequired => "not required",
            _ => "not specified",
        };
        return (treq & DiscoveryLogEntry.TreqSqFlowControlDisableSupported) != 0 ? text + ", sq flow control disable supported" : text;
    }

    /// <summary>TSAS SECTYPE for TCP: none, tls1.2, tls1.3.</summary>
    public static string Sectype(TcpSecurityType sectype) => sectype switch
    {
        TcpSecurityType.None => "none",
        TcpSecurityType.Tls12 => "tls1.2",
        TcpSecurityType.Tls13 => "tls1.3",
        _ => $"unknown ({(byte)sectype})",
    };
}
