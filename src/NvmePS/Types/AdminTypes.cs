using System.Globalization;
using System.Text;
using NvmePS.Engine;
using NvmePS.Engine.Admin;

namespace NvmePS;

/// <summary>
/// A controller the Admin cmdlets (Get-NvmeIdentify, Get-NvmeLog, Get-/Set-NvmeFeature) can talk to: an NVMe/TCP
/// controller from Connect-NvmfController today, an NVMe-MI endpoint's controller later. The engine client stays
/// internal so the public properties remain plain values.
/// </summary>
public abstract class NvmeAdminConnection
{
    /// <summary>A short, unique description used as the ControllerName of every result.</summary>
    public abstract string Name { get; }

    /// <summary>False once disconnected.</summary>
    public abstract bool IsConnected { get; }

    internal abstract NvmeAdminClient Admin { get; }

    public override string ToString() => Name;
}

/// <summary>Identify Controller data structure (CNS 01h), with names a reader recognises; Raw holds all 4096 bytes.</summary>
public sealed class NvmeControllerIdentity
{
    public string ControllerName { get; init; } = string.Empty;

    public ushort ControllerId { get; init; }

    public string ModelNumber { get; init; } = string.Empty;

    public string SerialNumber { get; init; } = string.Empty;

    public string FirmwareRevision { get; init; } = string.Empty;

    /// <summary>VER: the NVMe version the controller implements, "major.minor.tertiary".</summary>
    public string Version { get; init; } = string.Empty;

    public string SubsystemNqn { get; init; } = string.Empty;

    public ushort VendorId { get; init; }

    public ushort SubsystemVendorId { get; init; }

    /// <summary>IEEE OUI, as the six hex digits vendors publish.</summary>
    public string Ieee { get; init; } = string.Empty;

    /// <summary>CNTRLTYPE: IO, Discovery or Administrative.</summary>
    public string ControllerType { get; init; } = string.Empty;

    /// <summary>MDTS in bytes (4 KiB minimum page size); 0 means no limit.</summary>
    public long MaxDataTransferBytes { get; init; }

    /// <summary>NN: the highest namespace identifier the controller supports (not how many namespaces exist; see
    /// Get-NvmeIdentify -ActiveNamespaces for those).</summary>
    public uint MaxNamespaces { get; init; }

    public decimal TotalCapacityBytes { get; init; }

    public decimal UnallocatedCapacityBytes { get; init; }

    /// <summary>KAS: keep-alive granularity in milliseconds.</summary>
    public int KeepAliveGranularityMs { get; init; }

    /// <summary>IOCCSZ × 16: the I/O command capsule size in bytes (fabrics).</summary>
    public long IoCommandCapsuleBytes { get; init; }

    /// <summary>IORCSZ × 16: the I/O response capsule size in bytes (fabrics).</summary>
    public long IoResponseCapsuleBytes { get; init; }

    /// <summary>WCTEMP in °C; null when the controller does not report it (0 K).</summary>
    public int? WarningTemperatureCelsius { get; init; }

    /// <summary>CCTEMP in °C; null when the controller does not report it (0 K).</summary>
    public int? CriticalTemperatureCelsius { get; init; }

    public ushort OptionalAdminCommands { get; init; }

    public ushort OptionalNvmCommands { get; init; }

    public byte LogPageAttributes { get; init; }

    public byte AsyncEventRequestLimit { get; init; }

    public byte ErrorLogPageEntries { get; init; }

    public uint Sgls { get; init; }

    public bool VolatileWriteCache { get; init; }

    public int PowerStates { get; init; }

    public byte[] Raw { get; init; } = Array.Empty<byte>();

    internal static NvmeControllerIdentity From(NvmeIdentifyController c, string controllerName) => new()
    {
        ControllerName = controllerName,
        ControllerId = c.Cntlid,
        ModelNumber = c.Mn,
        SerialNumber = c.Sn,
        FirmwareRevision = c.Fr,
        Version = FormatVersion(c.Ver),
        SubsystemNqn = c.Subnqn,
        VendorId = c.Vid,
        SubsystemVendorId = c.Ssvid,
        Ieee = c.Ieee.ToString("X6", CultureInfo.InvariantCulture),
        ControllerType = c.ControllerTypeName,
        MaxDataTransferBytes = c.MaxDataTransferBytes() ?? 0,
        MaxNamespaces = c.Nn,
        TotalCapacityBytes = NvmeUnits.Saturate(c.Tnvmcap),
        UnallocatedCapacityBytes = NvmeUnits.Saturate(c.Unvmcap),
        KeepAliveGranularityMs = c.KeepAliveGranularityMs,
        IoCommandCapsuleBytes = c.IoCommandCapsuleBytes,
        IoResponseCapsuleBytes = c.IoResponseCapsuleBytes,
        WarningTemperatureCelsius = NvmeUnits.Celsius(c.Wctemp),
        CriticalTemperatureCelsius = NvmeUnits.Celsius(c.Cctemp),
        OptionalAdminCommands = c.Oacs,
        OptionalNvmCommands = c.Oncs,
        LogPageAttributes = c.Lpa,
        AsyncEventRequestLimit = c.Aerl,
        ErrorLogPageEntries = c.Elpe,
        Sgls = c.Sgls,
        VolatileWriteCache = c.VolatileWriteCachePresent,
        PowerStates = c.Npss + 1,
        Raw = c.ToArray(),
    };

    internal static string FormatVersion(uint ver) => ver == 0 ? "NotReported" : new NvmePS.Engine.ControllerVersion(ver).ToString();
}

/// <summary>Identify Namespace data structure (CNS 00h).</summary>
public sealed class NvmeNamespaceIdentity
{
    public string ControllerName { get; init; } = string.Empty;

    public uint NamespaceId { get; init; }

    /// <summary>NSZE: size in logical blocks.</summary>
    public ulong SizeBlocks { get; init; }

    /// <summary>NCAP: capacity in logical blocks.</summary>
    public ulong CapacityBlocks { get; init; }

    /// <summary>NUSE: utilisation in logical blocks.</summary>
    public ulong UtilizationBlocks { get; init; }

    public int BlockSize { get; init; }

    public decimal SizeBytes { get; init; }

    /// <summary>SizeBytes in binary units (for people; scripts use SizeBytes).</summary>
    public string Size { get; init; } = string.Empty;

    public int FormattedLbaIndex { get; init; }

    /// <summary>Every supported LBA format: "index: data size, metadata size, relative performance".</summary>
    public string[] LbaFormats { get; init; } = Array.Empty<string>();

    public string Nguid { get; init; } = string.Empty;

    public string Eui64 { get; init; } = string.Empty;

    /// <summary>NMIC bit 0: may be attached to several controllers.</summary>
    public bool Shared { get; init; }

    public byte[] Raw { get; init; } = Array.Empty<byte>();

    internal static NvmeNamespaceIdentity From(NvmeIdentifyNamespace n, uint nsid, string controllerName)
    {
        decimal bytes = (decimal)n.Nsze * n.BlockSize;
        return new NvmeNamespaceIdentity
        {
            ControllerName = controllerName,
            NamespaceId = nsid,
            SizeBlocks = n.Nsze,
            CapacityBlocks = n.Ncap,
            UtilizationBlocks = n.Nuse,
            BlockSize = n.BlockSize,
            SizeBytes = bytes,
            Size = NvmeUnits.FormatBytes(bytes),
            FormattedLbaIndex = n.FormattedLbaIndex,
            LbaFormats = n.Lbaf.Take(n.Nlbaf + 1).Select((f, i) =>
                $"{i}: {f.DataSize} B data, {f.Ms} B metadata, RP {f.Rp}{(i == n.FormattedLbaIndex ? " (in use)" : string.Empty)}").ToArray(),
            Nguid = Convert.ToHexString(n.Nguid),
            Eui64 = Convert.ToHexString(n.Eui64),
            Shared = n.IsShared,
            Raw = n.ToArray(),
        };
    }
}

/// <summary>One namespace identifier (active namespace list, changed namespace list).</summary>
public sealed class NvmeNamespaceId
{
    /// <summary>The controller the identifier belongs to, so the object pipes into Get-NvmeIdentify alone.</summary>
    public NvmeAdminConnection? Controller { get; init; }

    public string ControllerName { get; init; } = string.Empty;

    public uint NamespaceId { get; init; }

    /// <summary>Where the identifier came from: ActiveNamespaces, ChangedNamespaces, or Deleted (Remove-NvmeNamespace -PassThru).</summary>
    public string Source { get; init; } = string.Empty;
}

/// <summary>SMART / Health Information log page (LID 02h) in readable units.</summary>
public sealed class NvmeSmartHealth
{
    public string ControllerName { get; init; } = string.Empty;

    /// <summary>Critical Warning bits by name ("None" when clear).</summary>
    /// <summary>The Critical Warning bits as flags: test one with .HasFlag('Temperature').</summary>
    public NvmeCriticalWarning CriticalWarning { get; init; }

    public byte CriticalWarningBits { get; init; }

    /// <summary>Composite temperature in °C; null when the controller reports 0 K (no sensor).</summary>
    public int? TemperatureCelsius { get; init; }

    public ushort TemperatureKelvin { get; init; }

    public byte AvailableSparePercent { get; init; }

    public byte AvailableSpareThresholdPercent { get; init; }

    public byte PercentageUsed { get; init; }

    /// <summary>Data units are thousands of 512-byte units, as the log counts them.</summary>
    public decimal DataUnitsRead { get; init; }

    public decimal DataUnitsWritten { get; init; }

    public decimal DataReadBytes { get; init; }

    public decimal DataWrittenBytes { get; init; }

    public string DataRead { get; init; } = string.Empty;

    public string DataWritten { get; init; } = string.Empty;

    public decimal HostReadCommands { get; init; }

    public decimal HostWriteCommands { get; init; }

    public decimal ControllerBusyTimeMinutes { get; init; }

    public decimal PowerCycles { get; init; }

    public decimal PowerOnHours { get; init; }

    public decimal UnsafeShutdowns { get; init; }

    public decimal MediaErrors { get; init; }

    public decimal ErrorLogEntries { get; init; }

    public uint WarningTemperatureTimeMinutes { get; init; }

    public uint CriticalTemperatureTimeMinutes { get; init; }

    /// <summary>Temperature sensors 1–8 that report a value, in °C.</summary>
    public int[] TemperatureSensorsCelsius { get; init; } = Array.Empty<int>();

    internal static NvmeSmartHealth From(NvmeSmartLog s, string controllerName)
    {
        decimal read = NvmeUnits.Saturate(s.DataUnitsRead), written = NvmeUnits.Saturate(s.DataUnitsWritten);
        return new NvmeSmartHealth
        {
            ControllerName = controllerName,
            CriticalWarning = s.CriticalWarning,
            CriticalWarningBits = (byte)s.CriticalWarning,
            TemperatureCelsius = NvmeUnits.Celsius(s.CompositeTemperature),
            TemperatureKelvin = s.CompositeTemperature,
            AvailableSparePercent = s.AvailableSpare,
            AvailableSpareThresholdPercent = s.AvailableSpareThreshold,
            PercentageUsed = s.PercentageUsed,
            DataUnitsRead = read,
            DataUnitsWritten = written,
            DataReadBytes = NvmeUnits.DataUnitBytes(read),
            DataWrittenBytes = NvmeUnits.DataUnitBytes(written),
            DataRead = NvmeUnits.FormatBytes(NvmeUnits.DataUnitBytes(read)),
            DataWritten = NvmeUnits.FormatBytes(NvmeUnits.DataUnitBytes(written)),
            HostReadCommands = NvmeUnits.Saturate(s.HostReadCommands),
            HostWriteCommands = NvmeUnits.Saturate(s.HostWriteCommands),
            ControllerBusyTimeMinutes = NvmeUnits.Saturate(s.ControllerBusyTime),
            PowerCycles = NvmeUnits.Saturate(s.PowerCycles),
            PowerOnHours = NvmeUnits.Saturate(s.PowerOnHours),
            UnsafeShutdowns = NvmeUnits.Saturate(s.UnsafeShutdowns),
            MediaErrors = NvmeUnits.Saturate(s.MediaErrors),
            ErrorLogEntries = NvmeUnits.Saturate(s.NumberOfErrorLogEntries),
            WarningTemperatureTimeMinutes = s.WarningCompositeTemperatureTime,
            CriticalTemperatureTimeMinutes = s.CriticalCompositeTemperatureTime,
            TemperatureSensorsCelsius = s.TemperatureSensors.Where(t => t != 0).Select(t => t - NvmeSmartLog.KelvinOffset).ToArray(),
        };
    }
}

/// <summary>One Error Information log entry (LID 01h).</summary>
public sealed class NvmeErrorInfo
{
    public string ControllerName { get; init; } = string.Empty;

    public ulong ErrorCount { get; init; }

    public ushort SubmissionQueueId { get; init; }

    public ushort CommandId { get; init; }

    public byte StatusCodeType { get; init; }

    public byte StatusCode { get; init; }

    public string StatusName { get; init; } = string.Empty;

    public bool DoNotRetry { get; init; }

    public ushort ParameterErrorLocation { get; init; }

    public ulong Lba { get; init; }

    public uint NamespaceId { get; init; }

    public byte TransportType { get; init; }

    internal static NvmeErrorInfo From(NvmeErrorLogEntry e, string controllerName) => new()
    {
        ControllerName = controllerName,
        ErrorCount = e.ErrorCount,
        SubmissionQueueId = e.Sqid,
        CommandId = e.Cid,
        StatusCodeType = (byte)e.Status.Sct,
        StatusCode = e.Status.Sc,
        StatusName = e.Status.GetName(),
        DoNotRetry = e.Status.Dnr,
        ParameterErrorLocation = e.ParameterErrorLocation,
        Lba = e.Lba,
        NamespaceId = e.Nsid,
        TransportType = e.Trtype,
    };
}

/// <summary>Firmware Slot Information log page (LID 03h).</summary>
public sealed class NvmeFirmwareSlots
{
    public string ControllerName { get; init; } = string.Empty;

    public int ActiveSlot { get; init; }

    /// <summary>The slot activated at the next reset; 0 when none is pending.</summary>
    public int NextResetSlot { get; init; }

    public string ActiveRevision { get; init; } = string.Empty;

    /// <summary>FRS1..FRS7; empty strings for empty slots.</summary>
    public string[] Revisions { get; init; } = Array.Empty<string>();

    internal static NvmeFirmwareSlots From(NvmeFirmwareSlotLog f, string controllerName) => new()
    {
        ControllerName = controllerName,
        ActiveSlot = f.ActiveSlot,
        NextResetSlot = f.NextResetSlot,
        ActiveRevision = f.ActiveSlot is >= 1 and <= 7 && f.ActiveSlot <= f.Frs.Length ? f.Frs[f.ActiveSlot - 1] : string.Empty,
        Revisions = f.Frs.ToArray(),
    };
}

/// <summary>A log page returned as bytes (a log the module does not decode, or -Raw).</summary>
public sealed class NvmeLogPage
{
    public string ControllerName { get; init; } = string.Empty;

    public byte LogId { get; init; }

    public ulong Offset { get; init; }

    public int Length { get; init; }

    public byte[] Data { get; init; } = Array.Empty<byte>();
}

/// <summary>A feature's value (Get Features / Set Features).</summary>
public sealed class NvmeFeature
{
    public string ControllerName { get; init; } = string.Empty;

    public byte FeatureId { get; init; }

    public string Name { get; init; } = string.Empty;

    /// <summary>Current, Default, Saved or SupportedCapabilities; "Set" for the result of Set-NvmeFeature.</summary>
    public string Select { get; init; } = string.Empty;

    /// <summary>Dword 0 of the completion.</summary>
    public uint Value { get; init; }

    /// <summary>The value's fields by spec name, for the features the engine decodes.</summary>
    public string Decoded { get; init; } = string.Empty;
}


/// <summary>The controllers a namespace is attached to (Identify CNS 12h), after Add- or Remove-NvmeNamespaceAttachment.</summary>
public sealed class NvmeNamespaceAttachment
{
    public string ControllerName { get; init; } = string.Empty;

    public uint NamespaceId { get; init; }

    /// <summary>Controller identifiers the namespace is active on.</summary>
    public ushort[] AttachedControllerIds { get; init; } = Array.Empty<ushort>();
}

/// <summary>A device self-test: the one running (Status InProgress) or one result of the Device Self-test log (06h).</summary>
public sealed class NvmeSelfTest
{
    public string ControllerName { get; init; } = string.Empty;

    /// <summary>Short, Extended or VendorSpecific.</summary>
    public string Code { get; init; } = string.Empty;

    /// <summary>InProgress, or the result: CompletedWithoutError, AbortedBySelfTestCommand, SegmentsFailed...</summary>
    public string Status { get; init; } = string.Empty;

    /// <summary>Progress of the running test; null for a result.</summary>
    public int? PercentComplete { get; init; }

    /// <summary>The namespace tested, when the result names one (null: the controller only, or every namespace).</summary>
    public uint? NamespaceId { get; init; }

    /// <summary>Power-on hours when the test ended.</summary>
    public ulong? PowerOnHours { get; init; }

    /// <summary>The segment that failed (0 when none did).</summary>
    public byte Segment { get; init; }

    /// <summary>The first LBA that failed, when reported.</summary>
    public ulong? FailingLba { get; init; }

    /// <summary>The status the failing segment reported, when given.</summary>
    public string FailureStatus { get; init; } = string.Empty;

    internal static NvmeSelfTest Running(NvmeSelfTestLog log, string controllerName) => new()
    {
        ControllerName = controllerName,
        Code = log.CurrentOperation.ToString(),
        Status = "InProgress",
        PercentComplete = log.CurrentCompletion,
    };

    internal static NvmeSelfTest From(NvmeSelfTestResultEntry e, string controllerName) => new()
    {
        ControllerName = controllerName,
        Code = e.Code.ToString(),
        Status = e.Result.ToString(),
        NamespaceId = (e.ValidDiagnostics & NvmeSelfTestResultEntry.NsidValid) != 0 ? e.Nsid : null,
        PowerOnHours = e.PowerOnHours,
        Segment = e.SegmentNumber,
        FailingLba = (e.ValidDiagnostics & NvmeSelfTestResultEntry.FailingLbaValid) != 0 ? e.FailingLba : null,
        FailureStatus = (e.ValidDiagnostics & NvmeSelfTestResultEntry.ScValid) != 0
            ? new NvmePS.Engine.NvmeStatus((NvmePS.Engine.NvmeStatusCodeType)e.Sct, e.Sc).ToString()
            : string.Empty,
    };
}

/// <summary>The Sanitize Status log (81h) in readable form.</summary>
public sealed class NvmeSanitizeStatus
{
    public string ControllerName { get; init; } = string.Empty;

    /// <summary>NeverSanitized, InProgress, Completed, CompletedNoDeallocate or Failed.</summary>
    public string State { get; init; } = string.Empty;

    /// <summary>Progress while InProgress (SPROG); null otherwise.</summary>
    public double? PercentComplete { get; init; }

    /// <summary>The sanitize action of the last Sanitize command (from its CDW10), or None.</summary>
    public string LastAction { get; init; } = string.Empty;

    public int OverwritePassesCompleted { get; init; }

    /// <summary>No user data has been written since the last sanitize completed.</summary>
    public bool GlobalDataErased { get; init; }

    /// <summary>Estimated seconds for a block erase; null when the controller gives no estimate.</summary>
    public uint? EstimatedBlockEraseSeconds { get; init; }

    /// <summary>Estimated seconds for an overwrite; null when the controller gives no estimate.</summary>
    public uint? EstimatedOverwriteSeconds { get; init; }

    internal static NvmeSanitizeStatus From(NvmeSanitizeStatusLog log, string controllerName)
    {
        SanitizeCommand.TryRead(new NvmePS.Engine.NvmeCommand { Opcode = NvmeAdminOpcode.Sanitize, Cdw10 = log.Scdw10 }, out var last);
        return new NvmeSanitizeStatus
        {
            ControllerName = controllerName,
            State = log.State.ToString(),
            PercentComplete = log.PercentComplete is { } p ? Math.Round(p, 1) : null,
            LastAction = log.Scdw10 == 0 ? "None" : last.Sanact.ToString(),
            OverwritePassesCompleted = log.OverwritePassesCompleted,
            GlobalDataErased = log.GlobalDataErased,
            EstimatedBlockEraseSeconds = log.EstimatedBlockEraseSeconds == NvmeSanitizeStatusLog.NoEstimate ? null : log.EstimatedBlockEraseSeconds,
            EstimatedOverwriteSeconds = log.EstimatedOverwriteSeconds == NvmeSanitizeStatusLog.NoEstimate ? null : log.EstimatedOverwriteSeconds,
        };
    }
}
