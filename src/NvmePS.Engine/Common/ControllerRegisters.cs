namespace NvmePS.Engine;

// The controller registers of NVMe Base 2.0 §3.1.4: a PCIe controller maps them, a fabrics controller carries them as
// properties (Fabrics/ControllerProperties.cs), NVMe-MI reports CSTS in its health data.

/// <summary>CAP, Controller Capabilities (NVMe Base 2.0 §3.1.4.1 Figure 36).</summary>
public readonly record struct ControllerCapabilities(ulong Value)
{
    /// <summary>MQES: maximum queue entries supported, 0's based (bits 15:0).</summary>
    public ushort Mqes => (ushort)Value;
    /// <summary>CQR: contiguous queues required (bit 16).</summary>
    public bool Cqr => Bit(16);
    /// <summary>AMS: arbitration mechanisms supported (bits 18:17).</summary>
    public byte Ams => (byte)((Value >> 17) & 0x3);
    /// <summary>TO: worst-case time to CSTS.RDY change, in 500 ms units (bits 31:24).</summary>
    public byte To => (byte)(Value >> 24);
    /// <summary>DSTRD: doorbell stride (bits 35:32).</summary>
    public byte Dstrd => (byte)((Value >> 32) & 0xF);
    /// <summary>NSSRS: NVM subsystem reset supported (bit 36).</summary>
    public bool Nssrs => Bit(36);
    /// <summary>CSS: command sets supported (bits 44:37; bit 0 NVM, bit 6 I/O command sets, bit 7 admin only).</summary>
    public byte Css => (byte)(Value >> 37);
    /// <summary>BPS: boot partition support (bit 45).</summary>
    public bool Bps => Bit(45);
    /// <summary>CPS: controller power scope (bits 47:46).</summary>
    public byte Cps => (byte)((Value >> 46) & 0x3);
    /// <summary>MPSMIN: minimum memory page size is 2^(12+MPSMIN) (bits 51:48).</summary>
    public byte Mpsmin => (byte)((Value >> 48) & 0xF);
    /// <summary>MPSMAX: maximum memory page size is 2^(12+MPSMAX) (bits 55:52).</summary>
    public byte Mpsmax => (byte)((Value >> 52) & 0xF);
    /// <summary>PMRS (bit 56).</summary>
    public bool Pmrs => Bit(56);
    /// <summary>CMBS (bit 57).</summary>
    public bool Cmbs => Bit(57);
    /// <summary>NSSS: NVM subsystem shutdown supported (bit 58).</summary>
    public bool Nsss => Bit(58);
    /// <summary>CRMS: controller ready modes supported (bits 60:59).</summary>
    public byte Crms => (byte)((Value >> 59) & 0x3);

    /// <summary>Number of entries an SQ may have (MQES + 1).</summary>
    public int MaxQueueEntries => Mqes + 1;

    /// <summary>CAP.TO as a duration.</summary>
    public TimeSpan Timeout => TimeSpan.FromMilliseconds(To * 500.0);

    /// <summary>Builds CAP from its named fields.</summary>
    public static ControllerCapabilities Create(ushort mqes, bool cqr, byte to, byte css = 0x01, byte mpsmin = 0, byte mpsmax = 0,
        byte ams = 0, byte dstrd = 0, bool nssrs = false, bool nsss = false, byte crms = 0) =>
        new(mqes | (cqr ? 1UL << 16 : 0) | ((ulong)(ams & 0x3) << 17) | ((ulong)to << 24) | ((ulong)(dstrd & 0xF) << 32)
            | (nssrs ? 1UL << 36 : 0) | ((ulong)css << 37) | ((ulong)(mpsmin & 0xF) << 48) | ((ulong)(mpsmax & 0xF) << 52)
            | (nsss ? 1UL << 58 : 0) | ((ulong)(crms & 0x3) << 59));

    private bool Bit(int n) => (Value & (1UL << n)) != 0;
}

/// <summary>VS, Version (NVMe Base 2.0 §3.1.4.2): MJR bits 31:16, MNR 15:8, TER 7:0.</summary>
public readonly record struct ControllerVersion(uint Value)
{
    public ushort Mjr => (ushort)(Value >> 16);
    public byte Mnr => (byte)(Value >> 8);
    public byte Ter => (byte)Value;

    public static ControllerVersion Create(ushort mjr, byte mnr, byte ter = 0) => new(((uint)mjr << 16) | ((uint)mnr << 8) | ter);

    public override string ToString() => $"{Mjr}.{Mnr}.{Ter}";
}

/// <summary>CC.SHN shutdown notification values.</summary>
public enum ShutdownNotification : byte
{
    None = 0,
    Normal = 1,
    Abrupt = 2,
}

/// <summary>CSTS.SHST shutdown status values.</summary>
public enum ShutdownStatus : byte
{
    Normal = 0,
    Occurring = 1,
    Complete = 2,
}

/// <summary>CC, Controller Configuration (NVMe Base 2.0 §3.1.4.5 Figure 41).</summary>
public readonly record struct ControllerConfiguration(uint Value)
{
    /// <summary>EN: enable (bit 0).</summary>
    public bool En => (Value & 1) != 0;
    /// <summary>CSS: I/O command set selected (bits 6:4).</summary>
    public byte Css => (byte)((Value >> 4) & 0x7);
    /// <summary>MPS: memory page size 2^(12+MPS) (bits 10:7).</summary>
    public byte Mps => (byte)((Value >> 7) & 0xF);
    /// <summary>AMS: arbitration mechanism selected (bits 13:11).</summary>
    public byte Ams => (byte)((Value >> 11) & 0x7);
    /// <summary>SHN: shutdown notification (bits 15:14).</summary>
    public ShutdownNotification Shn => (ShutdownNotification)((Value >> 14) & 0x3);
    /// <summary>IOSQES: I/O SQ entry size 2^n (bits 19:16).</summary>
    public byte Iosqes => (byte)((Value >> 16) & 0xF);
    /// <summary>IOCQES: I/O CQ entry size 2^n (bits 23:20).</summary>
    public byte Iocqes => (byte)((Value >> 20) & 0xF);
    /// <summary>CRIME: controller ready independent of media enable (bit 24).</summary>
    public bool Crime => (Value & (1u << 24)) != 0;

    public static ControllerConfiguration Create(bool en, byte css = 0, byte mps = 0, byte ams = 0,
        ShutdownNotification shn = ShutdownNotification.None, byte iosqes = 6, byte iocqes = 4, bool crime = false) =>
        new((en ? 1u : 0) | ((uint)(css & 0x7) << 4) | ((uint)(mps & 0xF) << 7) | ((uint)(ams & 0x7) << 11)
            | ((uint)shn << 14) | ((uint)(iosqes & 0xF) << 16) | ((uint)(iocqes & 0xF) << 20) | (crime ? 1u << 24 : 0));

    public ControllerConfiguration WithShn(ShutdownNotification shn) => new((Value & ~(3u << 14)) | ((uint)shn << 14));

    public ControllerConfiguration WithEn(bool en) => new((Value & ~1u) | (en ? 1u : 0));
}

/// <summary>CSTS, Controller Status (NVMe Base 2.0 §3.1.4.6 Figure 42).</summary>
public readonly record struct ControllerStatus(uint Value)
{
    /// <summary>RDY: ready (bit 0).</summary>
    public bool Rdy => (Value & 1) != 0;
    /// <summary>CFS: controller fatal status (bit 1).</summary>
    public bool Cfs => (Value & 2) != 0;
    /// <summary>SHST: shutdown status (bits 3:2).</summary>
    public ShutdownStatus Shst => (ShutdownStatus)((Value >> 2) & 0x3);
    /// <summary>NSSRO: NVM subsystem reset occurred (bit 4).</summary>
    public bool Nssro => (Value & 0x10) != 0;
    /// <summary>PP: processing paused (bit 5).</summary>
    public bool Pp => (Value & 0x20) != 0;
    /// <summary>ST: shutdown type (bit 6).</summary>
    public bool St => (Value & 0x40) != 0;

    public static ControllerStatus Create(bool rdy, bool cfs = false, ShutdownStatus shst = ShutdownStatus.Normal, bool nssro = false) =>
        new((rdy ? 1u : 0) | (cfs ? 2u : 0) | ((uint)shst << 2) | (nssro ? 0x10u : 0));
}

/// <summary>NSSR, NVM Subsystem Reset (NVMe Base 2.0 §3.1.4.7): writing NSSRC = 4E564D65h ("NVMe") resets the subsystem.</summary>
public readonly record struct NvmSubsystemReset(uint Value)
{
    public const uint ResetValue = 0x4E564D65;

    public uint Nssrc => Value;

    public bool IsReset => Value == ResetValue;
}
