namespace NvmePS.Engine.Admin;

/// <summary>Feature identifiers (Base Specification 2.0, §5.27.1 Figure 317).</summary>
public static class NvmeFeatureId
{
    public const byte Arbitration = 0x01;
    public const byte PowerManagement = 0x02;
    public const byte LbaRangeType = 0x03;
    public const byte TemperatureThreshold = 0x04;
    public const byte ErrorRecovery = 0x05;
    public const byte VolatileWriteCache = 0x06;
    public const byte NumberOfQueues = 0x07;
    public const byte InterruptCoalescing = 0x08;
    public const byte InterruptVectorConfiguration = 0x09;
    public const byte WriteAtomicityNormal = 0x0A;
    public const byte AsynchronousEventConfiguration = 0x0B;
    public const byte AutonomousPowerStateTransition = 0x0C;
    public const byte HostMemoryBuffer = 0x0D;
    public const byte Timestamp = 0x0E;
    public const byte KeepAliveTimer = 0x0F;
    public const byte HostControlledThermalManagement = 0x10;
    public const byte NonOperationalPowerStateConfig = 0x11;
    public const byte HostIdentifier = 0x81;
    public const byte ReservationNotificationMask = 0x82;
    public const byte ReservationPersistence = 0x83;
}

/// <summary>SEL of Get Features (Figure 315): which value to return.</summary>
public enum NvmeFeatureSelect : byte
{
    Current = 0,
    Default = 1,
    Saved = 2,
    SupportedCapabilities = 3,
}

/// <summary>Arbitration feature value (FID 01h, Figure 320): AB 2:0, LPW 15:8, MPW 23:16, HPW 31:24.</summary>
public readonly record struct NvmeArbitration(byte Ab, byte Lpw, byte Mpw, byte Hpw)
{
    public static NvmeArbitration FromDword(uint v) => new((byte)(v & 0x7), (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24));

    public uint ToDword() => (uint)(Ab & 0x7) | ((uint)Lpw << 8) | ((uint)Mpw << 16) | ((uint)Hpw << 24);
}

/// <summary>Power Management feature value (FID 02h, Figure 322): PS 4:0, WH 7:5.</summary>
public readonly record struct NvmePowerManagement(byte Ps, byte Wh)
{
    public static NvmePowerManagement FromDword(uint v) => new((byte)(v & 0x1F), (byte)((v >> 5) & 0x7));

    public uint ToDword() => (uint)(Ps & 0x1F) | ((uint)(Wh & 0x7) << 5);
}

/// <summary>Temperature Threshold feature value (FID 04h, Figure 326): TMPTH 15:0 (kelvin), TMPSEL 19:16, THSEL 21:20.</summary>
/// <param name="Tmpth">Threshold in kelvin.</param>
/// <param name="Tmpsel">0 composite temperature, 1..8 temperature sensor, 0Fh all.</param>
/// <param name="UnderTemperature">THSEL 01b (under-temperature) rather than 00b (over-temperature).</param>
public readonly record struct NvmeTemperatureThreshold(ushort Tmpth, byte Tmpsel = 0, bool UnderTemperature = false)
{
    public static NvmeTemperatureThreshold FromDword(uint v) =>
        new((ushort)v, (byte)((v >> 16) & 0xF), ((v >> 20) & 0x3) == 1);

    /// <summary>THSEL 10b and 11b are reserved: a controller answers Invalid Field.</summary>
    public static bool HasReservedThsel(uint v) => ((v >> 20) & 0x3) > 1;

    public uint ToDword() => Tmpth | ((uint)(Tmpsel & 0xF) << 16) | (UnderTemperature ? 1u << 20 : 0);
}

/// <summary>Number of Queues feature value (FID 07h, Figure 330): NSQR/NSQA 15:0, NCQR/NCQA 31:16, both 0-based.</summary>
/// <param name="SubmissionQueues">Number of I/O submission queues, 1-based (the wire value is this minus one).</param>
/// <param name="CompletionQueues">Number of I/O completion queues, 1-based.</param>
public readonly record struct NvmeNumberOfQueues(int SubmissionQueues, int CompletionQueues)
{
    public static NvmeNumberOfQueues FromDword(uint v) => new((int)(v & 0xFFFF) + 1, (int)(v >> 16) + 1);

    public uint ToDword()
    {
        if (SubmissionQueues is < 1 or > 65535 || CompletionQueues is < 1 or > 65535)
        {
            throw new InvalidOperationException("Queue counts are 1..65535.");
        }

        return (uint)(SubmissionQueues - 1) | ((uint)(CompletionQueues - 1) << 16);
    }
}

/// <summary>Asynchronous Event Configuration bits (FID 0Bh, Figure 336).</summary>
[Flags]
public enum NvmeAsyncEventConfig : uint
{
    None = 0,
    /// <summary>Bits 7:0: SMART / Health critical warnings that raise an event (same bits as the Critical Warning field).</summary>
    SmartHealthCriticalWarnings = 0xFF,
    /// <summary>NAN: Namespace Attribute Notices.</summary>
    NamespaceAttributeNotices = 1u << 8,
    /// <summary>FAN: Firmware Activation Notices.</summary>
    FirmwareActivationNotices = 1u << 9,
    /// <summary>TLN: Telemetry Log Notices.</summary>
    TelemetryLogNotices = 1u << 10,
    /// <summary>ANACN: ANA Change Notices.</summary>
    AnaChangeNotices = 1u << 11,
    /// <summary>DLPCN: Discovery Log Page Change Notification (fabrics discovery controllers).</summary>
    DiscoveryLogPageChangeNotices = 1u << 31,
}

/// <summary>Volatile Write Cache feature value (FID 06h): WCE bit 0.</summary>
public readonly record struct NvmeVolatileWriteCache(bool Enabled)
{
    public static NvmeVolatileWriteCache FromDword(uint v) => new((v & 1) != 0);

    public uint ToDword() => Enabled ? 1u : 0u;
}

/// <summary>Asynchronous Event Request completion DW0 (Figure 146): type 2:0, information 15:8, log page 23:16.</summary>
public readonly record struct NvmeAsyncEvent(NvmeAsyncEventType Type, byte Info, byte LogPage)
{
    /// <summary>Notice information: namespace attribute changed (read the Changed Namespace List).</summary>
    public const byte NoticeNamespaceAttributeChanged = 0x00;
    /// <summary>Notice information: firmware activation starting.</summary>
    public const byte NoticeFirmwareActivationStarting = 0x01;
    /// <summary>Notice information: discovery log page change (Fabrics).</summary>
    public const byte NoticeDiscoveryLogPageChange = 0xF0;
    /// <summary>I/O command specific information: a sanitize operation completed (read the Sanitize Status log).</summary>
    public const byte SanitizeOperationCompleted = 0x01;

    public static NvmeAsyncEvent FromDword(uint v) => new((NvmeAsyncEventType)(v & 0x7), (byte)(v >> 8), (byte)(v >> 16));

    public uint ToDword() => ((uint)Type & 0x7) | ((uint)Info << 8) | ((uint)LogPage << 16);
}

/// <summary>Asynchronous Event Type values (Figure 147).</summary>
public enum NvmeAsyncEventType : byte
{
    ErrorStatus = 0,
    SmartHealthStatus = 1,
    Notice = 2,
    ImmediateOrOneShot = 3,
    IoCommandSpecific = 6,
    VendorSpecific = 7,
}

/// <summary>Secure Erase Settings of Format NVM (Figure 301, SES bits 11:9).</summary>
public enum NvmeSecureErase : byte
{
    None = 0,
    UserData = 1,
    Cryptographic = 2,
}

/// <summary>Sanitize Action (Figure 372, SANACT bits 2:0).</summary>
public enum NvmeSanitizeAction : byte
{
    ExitFailureMode = 1,
    BlockErase = 2,
    Overwrite = 3,
    CryptoErase = 4,
}

/// <summary>Firmware Commit Action (Figure 150, CA bits 5:3).</summary>
public enum NvmeFirmwareCommitAction : byte
{
    /// <summary>Replace the image in the slot without activating it.</summary>
    Replace = 0,
    /// <summary>Replace and activate at the next reset.</summary>
    ReplaceAndActivate = 1,
    /// <summary>Activate the existing image at the next reset.</summary>
    Activate = 2,
    /// <summary>Replace and activate immediately, without reset.</summary>
    ReplaceAndActivateImmediately = 3,
    ReplaceBootPartition = 6,
    ActivateBootPartition = 7,
}

/// <summary>Host Identifier (81h), Base Specification 2.0 §5.27.1.25: CDW11 EXHID bit 0 selects the 128-bit identifier
/// (16 data bytes) over the 64-bit one (8).</summary>
public static class NvmeHostIdentifierFeature
{
    public static bool IsExtended(uint cdw11) => (cdw11 & 1) != 0;

    /// <summary>The data bytes a Get or Set of the feature moves.</summary>
    public static int DataLength(uint cdw11) => IsExtended(cdw11) ? 16 : 8;
}
