namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>Transport parameters one side brings to the ICReq/ICResp exchange (NVMe/TCP Transport 1.0 §3.6.2.2–3),
/// plus the receive limits that bound allocation.</summary>
public sealed record NvmeTcpQueueOptions
{
    /// <summary>Host: ask for header digests. Controller: allow them when the host asks.</summary>
    public bool HeaderDigest { get; init; }

    /// <summary>Host: ask for data digests. Controller: allow them when the host asks.</summary>
    public bool DataDigest { get; init; }

    /// <summary>Host: HPDA, the data alignment it wants in C2H PDUs. Controller: CPDA, the alignment it wants in H2C PDUs.
    /// 0's based dwords, 0..31 (0 = 4 bytes, no padding with the standard header sizes).</summary>
    public byte Pda { get; init; }

    /// <summary>Host: MAXR2T to announce, 0's based (0 = one outstanding R2T per command).</summary>
    public uint MaxR2T { get; init; }

    /// <summary>Controller: MAXH2CDATA to announce (≥ 4096, multiple of 4).</summary>
    public uint MaxH2CData { get; init; } = 128 * 1024;

    /// <summary>Controller: largest in-capsule data accepted in one CapsuleCmd (NVMe/TCP requires ≥ 8192 on the admin queue).</summary>
    public int MaxInCapsuleData { get; init; } = 8192;

    /// <summary>Host: largest data accepted in one C2HData PDU (bounds what a controller can make the host allocate).</summary>
    public int MaxC2HData { get; init; } = 1024 * 1024;

    /// <summary>Size of the pooled receive buffer; headers and small data are read through it, large data lands directly in the caller's memory.</summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024;

    /// <summary>PDUs up to this size are built in one pooled buffer and sent with one write; larger data goes out as gathered writes.</summary>
    public int CoalesceLimit { get; init; } = 64 * 1024;

    /// <summary>Longest a received PDU may take from its first byte to its last; a peer that stalls or drips bytes past it has
    /// the connection closed (<see cref="NvmeTimeoutException"/>). Waiting between PDUs is not bounded by it.
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the check off.</summary>
    public TimeSpan PduTimeout { get; init; } = DefaultPduTimeout;

    /// <summary>After this long with nothing received and nothing buffered, a connection on its own receive thread gives
    /// its receive and send buffers back (they come back with the next bytes), so an idle connection holds a few KiB
    /// instead of about 256 KiB. <see cref="Timeout.InfiniteTimeSpan"/> keeps them for the connection's life.</summary>
    public TimeSpan IdleTrimAfter { get; init; } = DefaultIdleTrimAfter;

    /// <summary>5 s: long enough that a connection in use never pays for it, short enough that idle ones cost little.</summary>
    public static readonly TimeSpan DefaultIdleTrimAfter = TimeSpan.FromSeconds(5);

    /// <summary>30 s: far above what a whole MAXH2CDATA or C2HData PDU takes on any working link.</summary>
    public static readonly TimeSpan DefaultPduTimeout = TimeSpan.FromSeconds(30);
}

/// <summary>What the ICReq/ICResp exchange settled (NVMe/TCP Transport 1.0 §3.3).</summary>
public readonly record struct NvmeTcpNegotiated(bool HeaderDigest, bool DataDigest, byte Hpda, byte Cpda, uint MaxR2T, uint MaxH2CData)
{
    /// <summary>Alignment of data in host→controller PDUs, bytes.</summary>
    public int H2CPdaBytes => NvmeTcpPduLayout.PdaToBytes(Cpda);

    /// <summary>Alignment of data in controller→host PDUs, bytes.</summary>
    public int C2HPdaBytes => NvmeTcpPduLayout.PdaToBytes(Hpda);
}
