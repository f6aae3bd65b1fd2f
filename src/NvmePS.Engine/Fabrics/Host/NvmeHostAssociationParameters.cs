using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>What the host asks for when it associates with a controller (NVMe over Fabrics 1.1 §3.3 Connect, NVMe/TCP
/// Transport 1.0 §3.6.2.2 ICReq). Immutable; use <c>with</c> to vary one field.</summary>
public sealed record NvmeHostAssociationParameters
{
    /// <summary>The HOSTID used when none is given or configured: derived from the machine (see
    /// <see cref="MachineIdentity"/>) so every process on it presents the same host, or random per process when the
    /// machine has no identity to derive it from.</summary>
    internal static readonly Guid ProcessHostId = MachineIdentity.Read()?.Id ?? Guid.NewGuid();

    /// <summary>HOSTID sent in every Connect of the association (same value on every queue). Default: the machine's.</summary>
    public Guid HostId { get; init; } = ProcessHostId;

    /// <summary>HOSTNQN; default "nqn.2014-08.org.nvmexpress:uuid:&lt;HostId&gt;".</summary>
    public string? HostNqn { get; init; }

    /// <summary>The HOSTNQN actually sent.</summary>
    public string EffectiveHostNqn => HostNqn ?? Nqn.FromUuid(HostId);

    /// <summary>Ask the controller to disable SQ flow control (Connect CATTR bit 2); it then reports SQHD FFFFh.</summary>
    public bool DisableSqFlowControl { get; init; }

    /// <summary>The host's DH-HMAC-CHAP secret, used on every queue when the controller's Connect response asks for
    /// authentication (NVMe Base 2.0 §8.13). Null: a controller that requires authentication is refused.</summary>
    public Auth.DhchapSecret? DhchapSecret { get; init; }

    /// <summary>The controller's secret: the host then authenticates the controller too (bidirectional).</summary>
    public Auth.DhchapSecret? DhchapControllerSecret { get; init; }

    /// <summary>Hashes offered in AUTH_Negotiate (default: SHA-256, SHA-384, SHA-512).</summary>
    public IReadOnlyList<Auth.DhchapHash>? DhchapHashes { get; init; }

    /// <summary>DH groups offered in AUTH_Negotiate (default: null and every ffdhe group).</summary>
    public IReadOnlyList<Auth.DhchapGroup>? DhchapGroups { get; init; }

    /// <summary>Ask for header digests (ICReq HDGST_ENABLE).</summary>
    public bool HeaderDigest { get; init; }

    /// <summary>The local address every connection of the association leaves from (nvme-cli's --host-traddr); null lets
    /// the system choose.</summary>
    public System.Net.IPAddress? HostTransportAddress { get; init; }

    /// <summary>Ask for data digests (ICReq DDGST_ENABLE).</summary>
    public bool DataDigest { get; init; }

    /// <summary>Admin SQ entries (SQSIZE + 1), at least 32 as NVMe over Fabrics requires for the admin queue.</summary>
    public int AdminQueueSize { get; init; } = 32;

    /// <summary>I/O SQ entries per queue (limited to CAP.MQES + 1).</summary>
    public int IoQueueSize { get; init; } = 128;

    /// <summary>I/O queues to create (limited by what Set Features Number of Queues grants). 0 for none.</summary>
    public int IoQueueCount { get; init; } = 1;

    /// <summary>KATO sent in the admin Connect; the host sends Keep Alive every half of it. Zero disables keep-alive.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Send Keep Alive commands on the timer. Turn off only to test a controller's keep-alive timer.</summary>
    public bool SendKeepAlive { get; init; } = true;

    /// <summary>Host-side cap on write data sent in-capsule (the controller's IOCCSZ also limits it). 0 sends every write by R2T.</summary>
    public int MaxInCapsuleData { get; init; } = int.MaxValue;

    /// <summary>MAXR2T announced in ICReq, 0's based.</summary>
    public uint MaxR2T { get; init; } = 3;

    /// <summary>HPDA announced in ICReq (0's based dwords, 0..31).</summary>
    public byte Hpda { get; init; }

    /// <summary>Largest data accepted in one C2HData PDU.</summary>
    public int MaxC2HData { get; init; } = 16 * 1024 * 1024;

    /// <summary>Longest one PDU from the controller may take from its first byte to its last before the queue is closed
    /// (a controller that stalls or drips a PDU cannot hold a queue forever). Infinite turns the check off.</summary>
    public TimeSpan PduTimeout { get; init; } = NvmeTcpQueueOptions.DefaultPduTimeout;

    /// <summary>After this long with nothing received, a queue gives its buffers back until the next PDU
    /// (<see cref="NvmeTcpQueueOptions.IdleTrimAfter"/>). Infinite keeps them.</summary>
    public TimeSpan IdleTrimAfter { get; init; } = NvmeTcpQueueOptions.DefaultIdleTrimAfter;

    /// <summary>Limit for the TCP connect plus ICReq/ICResp plus Fabrics Connect of each queue.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Set CC.EN after connecting and wait for CSTS.RDY (what every host does before Identify).</summary>
    public bool EnableController { get; init; } = true;

    /// <summary>Limit for CSTS.SHST to reach "shutdown complete" on disconnect (RTD3E is used when the controller reports it).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest transfer per command when the controller reports MDTS 0 (no limit).</summary>
    public int UnlimitedMdtsTransferSize { get; init; } = 1024 * 1024;

    internal void Validate()
    {
        if (AdminQueueSize is < 2 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(AdminQueueSize), AdminQueueSize, "2..4096 entries.");
        }

        if (IoQueueSize is < 2 or > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(IoQueueSize), IoQueueSize, "2..65536 entries.");
        }

        if (IoQueueCount is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(IoQueueCount), IoQueueCount, "0..65535 queues.");
        }

        if (Hpda > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(Hpda), Hpda, "0..31.");
        }

        if (PduTimeout <= TimeSpan.Zero && PduTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(PduTimeout), PduTimeout, "A positive time, or Timeout.InfiniteTimeSpan.");
        }

        if (IdleTrimAfter <= TimeSpan.Zero && IdleTrimAfter != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(IdleTrimAfter), IdleTrimAfter, "A positive time, or Timeout.InfiniteTimeSpan.");
        }

        if (KeepAliveTimeout < TimeSpan.Zero || KeepAliveTimeout.TotalMilliseconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAliveTimeout));
        }

        if (!Nqn.IsWellFormed(EffectiveHostNqn))
        {
            throw new ArgumentException($"Host NQN '{EffectiveHostNqn}' is not a valid NQN.", nameof(HostNqn));
        }
    }
}
