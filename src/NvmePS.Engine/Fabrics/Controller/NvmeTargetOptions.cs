namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// Limits and identity of an NVMe over Fabrics target. Every limit has a safe default; <see cref="Validate"/> rejects
/// values the protocol cannot carry (NVMe over Fabrics 1.1 §3.3, NVMe/TCP Transport 1.0 §3.6.2.3).
/// </summary>
public sealed class NvmeTargetOptions
{
    /// <summary>Most TCP connections (queues of all associations) served at once; further connections are closed at once.</summary>
    public int MaxConnections { get; set; } = 256;

    /// <summary>Most TCP connections served at once from one remote address (a host), so one host cannot take all of
    /// <see cref="MaxConnections"/>; further connections from it are closed at once. Counted before any byte is read:
    /// the host NQN is not known until Connect, and an address is what a peer cannot choose freely on a TCP connection.</summary>
    public int MaxConnectionsPerHost { get; set; } = 128;

    /// <summary>Most controllers (associations) per subsystem; a further admin Connect gets Controller Busy.</summary>
    public int MaxControllersPerSubsystem { get; set; } = 64;

    /// <summary>Most entries per submission queue (CAP.MQES + 1). At least 32, because an admin queue needs 32.</summary>
    public int MaxQueueSize { get; set; } = 128;

    /// <summary>Most I/O queues per controller (Number of Queues feature).</summary>
    public int MaxIoQueues { get; set; } = 8;

    /// <summary>Largest data transfer of one command in bytes (MDTS = log2 of this / 4096). A power of two ≥ 4096.</summary>
    public int MaxDataTransferSize { get; set; } = 128 * 1024;

    /// <summary>In-capsule data an I/O command capsule may carry, in bytes (IOCCSZ = (64 + this) / 16). A multiple of 16.
    /// Admin capsules may always carry 8192 bytes (Fabrics §2.4), which is what Connect data needs.</summary>
    public int InCapsuleDataSize { get; set; } = 8192;

    /// <summary>MAXH2CDATA announced in ICResp: the most data one H2CData PDU may carry. ≥ 4096, a multiple of 4.</summary>
    public int MaxH2CData { get; set; } = 128 * 1024;

    /// <summary>Data buffered per connection at once (reads waiting to be sent, writes whose data is being received).
    /// At least <see cref="MaxDataTransferSize"/>. Past it, reads wait and R2Ts are deferred, so one host cannot make the
    /// target hold more than this per connection however many commands it queues.</summary>
    public int MaxBufferedBytesPerConnection { get; set; } = 4 << 20;

    /// <summary>Most Asynchronous Event Requests outstanding per controller (AERL + 1).</summary>
    public int MaxAsyncEventRequests { get; set; } = 4;

    /// <summary>Error log entries kept per controller (ELPE + 1).</summary>
    public int ErrorLogEntries { get; set; } = 64;

    /// <summary>Keep Alive granularity in 100 ms units (Identify Controller KAS); KATO values are rounded up to it.</summary>
    public ushort KeepAliveGranularity { get; set; } = 1;

    /// <summary>Most namespaces per subsystem (Identify Controller NN; NSIDs are 1..this).</summary>
    public uint MaxNamespaces { get; set; } = 1024;

    /// <summary>Identify Controller MN.</summary>
    public string ModelNumber { get; set; } = "NvmePS Fabrics Target";

    /// <summary>Identify Controller FR.</summary>
    public string FirmwareRevision { get; set; } = "0.1.0";

    /// <summary>Send a C2HData with the SUCCESS flag instead of C2HData + CapsuleResp for successful reads
    /// (NVMe/TCP Transport 1.0 §3.6.2.9; not allowed while SQ flow control is on, so only used then when disabled).</summary>
    public bool UseC2HSuccessFlag { get; set; } = true;

    /// <summary>CPDA announced in ICResp (controller PDU data alignment, 0's based dwords).</summary>
    public byte Cpda { get; set; }

    /// <summary>Least time a short device self-test takes (it reads part of every namespace tested, paced to take this long,
    /// so its progress can be watched).</summary>
    public TimeSpan SelfTestShortTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Least time an extended device self-test (which reads every block) takes; EDSTT reports it in minutes.</summary>
    public TimeSpan SelfTestExtendedTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Least time a sanitize takes (it erases every namespace of the subsystem, paced to take this long).</summary>
    public TimeSpan SanitizeTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>After this long with nothing received, a connection gives its buffers back until its next PDU, so idle
    /// connections cost a few KiB each (<see cref="NvmePS.Engine.Fabrics.Tcp.NvmeTcpQueueOptions.IdleTrimAfter"/>). Infinite keeps them.</summary>
    public TimeSpan IdleTrimAfter { get; set; } = NvmePS.Engine.Fabrics.Tcp.NvmeTcpQueueOptions.DefaultIdleTrimAfter;

    /// <summary>MDTS as Identify Controller reports it.</summary>
    public byte Mdts => (byte)(System.Numerics.BitOperations.Log2((uint)MaxDataTransferSize) - 12);

    /// <summary>IOCCSZ as Identify Controller reports it (16-byte units including the 64-byte SQE).</summary>
    public uint Ioccsz => (uint)((64 + InCapsuleDataSize) / 16);

    /// <summary>Throws <see cref="ArgumentException"/> for a value the protocol cannot carry.</summary>
    public void Validate()
    {
        Require(MaxConnections is >= 1 and <= 65536, nameof(MaxConnections), "1..65536");
        Require(MaxConnectionsPerHost is >= 1 and <= 65536, nameof(MaxConnectionsPerHost), "1..65536");
        Require(MaxControllersPerSubsystem is >= 1 and <= 0xFFEF, nameof(MaxControllersPerSubsystem), "1..65519");
        Require(MaxQueueSize is >= 32 and <= 65536, nameof(MaxQueueSize), "32..65536");
        Require(MaxIoQueues is >= 1 and <= 65535, nameof(MaxIoQueues), "1..65535");
        Require(MaxDataTransferSize >= 4096 && MaxDataTransferSize <= (1 << 24) && (MaxDataTransferSize & (MaxDataTransferSize - 1)) == 0,
            nameof(MaxDataTransferSize), "a power of two from 4096 to 16 MiB");
        Require(InCapsuleDataSize >= 0 && InCapsuleDataSize <= 1 << 20 && InCapsuleDataSize % 16 == 0, nameof(InCapsuleDataSize), "0..1 MiB, a multiple of 16");
        Require(MaxH2CData >= 4096 && MaxH2CData % 4 == 0 && MaxH2CData <= 1 << 24, nameof(MaxH2CData), "4096..16 MiB, a multiple of 4");
        Require(MaxBufferedBytesPerConnection >= MaxDataTransferSize && MaxBufferedBytesPerConnection <= 1 << 30,
            nameof(MaxBufferedBytesPerConnection), "at least MaxDataTransferSize and at most 1 GiB");
        Require(MaxAsyncEventRequests is >= 1 and <= 256, nameof(MaxAsyncEventRequests), "1..256");
        Require(ErrorLogEntries is >= 1 and <= 256, nameof(ErrorLogEntries), "1..256");
        Require(KeepAliveGranularity >= 1, nameof(KeepAliveGranularity), "at least 1 (100 ms)");
        Require(MaxNamespaces is >= 1 and <= 0xFFFFFFFE, nameof(MaxNamespaces), "1..FFFFFFFEh");
        Require(Cpda <= 31, nameof(Cpda), "0..31");
        Require(IdleTrimAfter > TimeSpan.Zero || IdleTrimAfter == Timeout.InfiniteTimeSpan, nameof(IdleTrimAfter), "a positive time, or Timeout.InfiniteTimeSpan");
        Require(SelfTestShortTime >= TimeSpan.Zero && SelfTestExtendedTime >= SelfTestShortTime && SelfTestExtendedTime <= TimeSpan.FromHours(24),
            nameof(SelfTestExtendedTime), "at least SelfTestShortTime and at most a day");
        Require(SanitizeTime >= TimeSpan.Zero && SanitizeTime <= TimeSpan.FromHours(24), nameof(SanitizeTime), "0..24 hours");
    }

    private static void Require(bool ok, string name, string range)
    {
        if (!ok)
        {
            throw new ArgumentException($"{name} must be {range}.", name);
        }
    }
}
