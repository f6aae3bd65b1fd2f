using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>Log page identifiers (Base Specification 2.0, §5.16.1 Figure 202; Fabrics §5.3 for Discovery).</summary>
public static class NvmeLogPageId
{
    public const byte SupportedLogPages = 0x00;
    public const byte ErrorInformation = 0x01;
    public const byte SmartHealth = 0x02;
    public const byte FirmwareSlot = 0x03;
    public const byte ChangedNamespaceList = 0x04;
    public const byte CommandsSupportedAndEffects = 0x05;
    public const byte DeviceSelfTest = 0x06;
    public const byte TelemetryHostInitiated = 0x07;
    public const byte TelemetryControllerInitiated = 0x08;
    public const byte Discovery = 0x70;
    public const byte ReservationNotification = 0x80;
    public const byte SanitizeStatus = 0x81;
}

/// <summary>Critical Warning bits of the SMART / Health Information log (Figure 207, byte 0).</summary>
[Flags]
public enum NvmeCriticalWarning : byte
{
    None = 0,
    /// <summary>Available spare capacity fell below the threshold.</summary>
    AvailableSpare = 1 << 0,
    /// <summary>A temperature is above an over-temperature or below an under-temperature threshold.</summary>
    Temperature = 1 << 1,
    /// <summary>NVM subsystem reliability degraded by media or internal errors.</summary>
    Reliability = 1 << 2,
    /// <summary>All media placed in read-only mode.</summary>
    ReadOnly = 1 << 3,
    /// <summary>The volatile memory backup device failed.</summary>
    VolatileMemoryBackup = 1 << 4,
    /// <summary>The Persistent Memory Region became read-only or unreliable.</summary>
    PersistentMemoryRegion = 1 << 5,
}

/// <summary>
/// SMART / Health Information log page, LID 02h (Base Specification 2.0, §5.16.1.3 Figure 207), 512 bytes;
/// offsets agree with Linux's struct nvme_smart_log. Temperatures are in kelvin; data units are thousands of
/// 512-byte units.
/// </summary>
public sealed class NvmeSmartLog
{
    public const int Size = 512;

    public const int CriticalWarningOffset = 0;
    public const int CompositeTemperatureOffset = 1;
    public const int AvailableSpareOffset = 3;
    public const int AvailableSpareThresholdOffset = 4;
    public const int PercentageUsedOffset = 5;
    public const int EnduranceGroupCriticalWarningSummaryOffset = 6;
    public const int DataUnitsReadOffset = 32;
    public const int DataUnitsWrittenOffset = 48;
    public const int HostReadCommandsOffset = 64;
    public const int HostWriteCommandsOffset = 80;
    public const int ControllerBusyTimeOffset = 96;
    public const int PowerCyclesOffset = 112;
    public const int PowerOnHoursOffset = 128;
    public const int UnsafeShutdownsOffset = 144;
    public const int MediaErrorsOffset = 160;
    public const int NumberOfErrorLogEntriesOffset = 176;
    public const int WarningCompositeTemperatureTimeOffset = 192;
    public const int CriticalCompositeTemperatureTimeOffset = 196;
    public const int TemperatureSensorOffset = 200;
    public const int TemperatureSensorCount = 8;
    public const int ThermalMgmtTemp1TransitionCountOffset = 216;
    public const int ThermalMgmtTemp2TransitionCountOffset = 220;
    public const int ThermalMgmtTemp1TotalTimeOffset = 224;
    public const int ThermalMgmtTemp2TotalTimeOffset = 228;

    /// <summary>Kelvin of 0 °C, for conversions.</summary>
    public const int KelvinOffset = 273;

    public NvmeCriticalWarning CriticalWarning { get; set; }
    /// <summary>Composite Temperature in kelvin.</summary>
    public ushort CompositeTemperature { get; set; }
    /// <summary>Available Spare, percent.</summary>
    public byte AvailableSpare { get; set; }
    public byte AvailableSpareThreshold { get; set; }
    /// <summary>Percentage Used (may exceed 100).</summary>
    public byte PercentageUsed { get; set; }
    public byte EnduranceGroupCriticalWarningSummary { get; set; }
    /// <summary>Data Units Read, thousands of 512-byte units.</summary>
    public UInt128 DataUnitsRead { get; set; }
    public UInt128 DataUnitsWritten { get; set; }
    public UInt128 HostReadCommands { get; set; }
    public UInt128 HostWriteCommands { get; set; }
    /// <summary>Controller Busy Time, minutes.</summary>
    public UInt128 ControllerBusyTime { get; set; }
    public UInt128 PowerCycles { get; set; }
    public UInt128 PowerOnHours { get; set; }
    public UInt128 UnsafeShutdowns { get; set; }
    public UInt128 MediaErrors { get; set; }
    public UInt128 NumberOfErrorLogEntries { get; set; }
    /// <summary>Warning Composite Temperature Time, minutes.</summary>
    public uint WarningCompositeTemperatureTime { get; set; }
    public uint CriticalCompositeTemperatureTime { get; set; }
    /// <summary>Temperature Sensor 1..8 in kelvin (0: not implemented).</summary>
    public ushort[] TemperatureSensors { get; set; } = new ushort[TemperatureSensorCount];
    public uint ThermalMgmtTemp1TransitionCount { get; set; }
    public uint ThermalMgmtTemp2TransitionCount { get; set; }
    public uint ThermalMgmtTemp1TotalTime { get; set; }
    public uint ThermalMgmtTemp2TotalTime { get; set; }

    /// <summary>Composite temperature in degrees Celsius.</summary>
    public int CompositeTemperatureCelsius => CompositeTemperature - KelvinOffset;

    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeSmartLog value)
    {
        if (s.Length < Size)
        {
            value = null!;
            return false;
        }

        var sensors = new ushort[TemperatureSensorCount];
        for (int i = 0; i < sensors.Length; i++)
        {
            sensors[i] = BinaryPrimitives.ReadUInt16LittleEndian(s[(TemperatureSensorOffset + (2 * i))..]);
        }

        value = new NvmeSmartLog
        {
            CriticalWarning = (NvmeCriticalWarning)s[CriticalWarningOffset],
            CompositeTemperature = BinaryPrimitives.ReadUInt16LittleEndian(s[CompositeTemperatureOffset..]),
            AvailableSpare = s[AvailableSpareOffset],
            AvailableSpareThreshold = s[AvailableSpareThresholdOffset],
            PercentageUsed = s[PercentageUsedOffset],
            EnduranceGroupCriticalWarningSummary = s[EnduranceGroupCriticalWarningSummaryOffset],
            DataUnitsRead = BinaryPrimitives.ReadUInt128LittleEndian(s[DataUnitsReadOffset..]),
            DataUnitsWritten = BinaryPrimitives.ReadUInt128LittleEndian(s[DataUnitsWrittenOffset..]),
            HostReadCommands = BinaryPrimitives.ReadUInt128LittleEndian(s[HostReadCommandsOffset..]),
            HostWriteCommands = BinaryPrimitives.ReadUInt128LittleEndian(s[HostWriteCommandsOffset..]),
            ControllerBusyTime = BinaryPrimitives.ReadUInt128LittleEndian(s[ControllerBusyTimeOffset..]),
            PowerCycles = BinaryPrimitives.ReadUInt128LittleEndian(s[PowerCyclesOffset..]),
            PowerOnHours = BinaryPrimitives.ReadUInt128LittleEndian(s[PowerOnHoursOffset..]),
            UnsafeShutdowns = BinaryPrimitives.ReadUInt128LittleEndian(s[UnsafeShutdownsOffset..]),
            MediaErrors = BinaryPrimitives.ReadUInt128LittleEndian(s[MediaErrorsOffset..]),
            NumberOfErrorLogEntries = BinaryPrimitives.ReadUInt128LittleEndian(s[NumberOfErrorLogEntriesOffset..]),
            WarningCompositeTemperatureTime = BinaryPrimitives.ReadUInt32LittleEndian(s[WarningCompositeTemperatureTimeOffset..]),
            CriticalCompositeTemperatureTime = BinaryPrimitives.ReadUInt32LittleEndian(s[CriticalCompositeTemperatureTimeOffset..]),
            TemperatureSensors = sensors,
            ThermalMgmtTemp1TransitionCount = BinaryPrimitives.ReadUInt32LittleEndian(s[ThermalMgmtTemp1TransitionCountOffset..]),
            ThermalMgmtTemp2TransitionCount = BinaryPrimitives.ReadUInt32LittleEndian(s[ThermalMgmtTemp2TransitionCountOffset..]),
            ThermalMgmtTemp1TotalTime = BinaryPrimitives.ReadUInt32LittleEndian(s[ThermalMgmtTemp1TotalTimeOffset..]),
            ThermalMgmtTemp2TotalTime = BinaryPrimitives.ReadUInt32LittleEndian(s[ThermalMgmtTemp2TotalTimeOffset..]),
        };
        return true;
    }

    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("The SMART / Health log needs 512 bytes.", nameof(d));
        }

        d = d[..Size];
        d.Clear();
        d[CriticalWarningOffset] = (byte)CriticalWarning;
        BinaryPrimitives.WriteUInt16LittleEndian(d[CompositeTemperatureOffset..], CompositeTemperature);
        d[AvailableSpareOffset] = AvailableSpare;
        d[AvailableSpareThresholdOffset] = AvailableSpareThreshold;
        d[PercentageUsedOffset] = PercentageUsed;
        d[EnduranceGroupCriticalWarningSummaryOffset] = EnduranceGroupCriticalWarningSummary;
        BinaryPrimitives.WriteUInt128LittleEndian(d[DataUnitsReadOffset..], DataUnitsRead);
        BinaryPrimitives.WriteUInt128LittleEndian(d[DataUnitsWrittenOffset..], DataUnitsWritten);
        BinaryPrimitives.WriteUInt128LittleEndian(d[HostReadCommandsOffset..], HostReadCommands);
        BinaryPrimitives.WriteUInt128LittleEndian(d[HostWriteCommandsOffset..], HostWriteCommands);
        BinaryPrimitives.WriteUInt128LittleEndian(d[ControllerBusyTimeOffset..], ControllerBusyTime);
        BinaryPrimitives.WriteUInt128LittleEndian(d[PowerCyclesOffset..], PowerCycles);
        BinaryPrimitives.WriteUInt128LittleEndian(d[PowerOnHoursOffset..], PowerOnHours);
        BinaryPrimitives.WriteUInt128LittleEndian(d[UnsafeShutdownsOffset..], UnsafeShutdowns);
        BinaryPrimitives.WriteUInt128LittleEndian(d[MediaErrorsOffset..], MediaErrors);
        BinaryPrimitives.WriteUInt128LittleEndian(d[NumberOfErrorLogEntriesOffset..], NumberOfErrorLogEntries);
        BinaryPrimitives.WriteUInt32LittleEndian(d[WarningCompositeTemperatureTimeOffset..], WarningCompositeTemperatureTime);
        BinaryPrimitives.WriteUInt32LittleEndian(d[CriticalCompositeTemperatureTimeOffset..], CriticalCompositeTemperatureTime);
        for (int i = 0; i < Math.Min(TemperatureSensors.Length, TemperatureSensorCount); i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(d[(TemperatureSensorOffset + (2 * i))..], TemperatureSensors[i]);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(d[ThermalMgmtTemp1TransitionCountOffset..], ThermalMgmtTemp1TransitionCount);
        BinaryPrimitives.WriteUInt32LittleEndian(d[ThermalMgmtTemp2TransitionCountOffset..], ThermalMgmtTemp2TransitionCount);
        BinaryPrimitives.WriteUInt32LittleEndian(d[ThermalMgmtTemp1TotalTimeOffset..], ThermalMgmtTemp1TotalTime);
        BinaryPrimitives.WriteUInt32LittleEndian(d[ThermalMgmtTemp2TotalTimeOffset..], ThermalMgmtTemp2TotalTime);
    }

    public byte[] ToArray()
    {
        var buffer = new byte[Size];
        Write(buffer);
        return buffer;
    }
}

/// <summary>
/// Error Information log entry, LID 01h (Base Specification 2.0, §5.16.1.2 Figure 205), 64 bytes;
/// offsets agree with Linux's struct nvme_error_log_page.
/// </summary>
public readonly record struct NvmeErrorLogEntry(
    ulong ErrorCount,
    ushort Sqid,
    ushort Cid,
    ushort StatusField,
    ushort ParameterErrorLocation,
    ulong Lba,
    uint Nsid,
    byte VendorSpecificInfoAvailable,
    byte Trtype,
    ulong CommandSpecificInfo,
    ushort TransportTypeSpecificInfo)
{
    public const int Size = 64;

    public const int ErrorCountOffset = 0;
    public const int SqidOffset = 8;
    public const int CidOffset = 10;
    public const int StatusFieldOffset = 12;
    public const int ParameterErrorLocationOffset = 14;
    public const int LbaOffset = 16;
    public const int NsidOffset = 24;
    public const int VsOffset = 28;
    public const int TrtypeOffset = 29;
    public const int CsOffset = 32;
    public const int TtsiOffset = 40;

    /// <summary>The entry's status, decoded (bit 0 of the field is the phase tag).</summary>
    public NvmeStatus Status => NvmeStatus.FromStatusField(StatusField);

    /// <summary>An entry with error count 0 is unused.</summary>
    public bool IsEmpty => ErrorCount == 0;

    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeErrorLogEntry value)
    {
        if (s.Length < Size)
        {
            value = default;
            return false;
        }

        value = new NvmeErrorLogEntry(
            BinaryPrimitives.ReadUInt64LittleEndian(s[ErrorCountOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[SqidOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[CidOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[StatusFieldOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[ParameterErrorLocationOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(s[LbaOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[NsidOffset..]),
            s[VsOffset],
            s[TrtypeOffset],
            BinaryPrimitives.ReadUInt64LittleEndian(s[CsOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[TtsiOffset..]));
        return true;
    }

    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("An error log entry needs 64 bytes.", nameof(d));
        }

        d[..Size].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(d[ErrorCountOffset..], ErrorCount);
        BinaryPrimitives.WriteUInt16LittleEndian(d[SqidOffset..], Sqid);
        BinaryPrimitives.WriteUInt16LittleEndian(d[CidOffset..], Cid);
        BinaryPrimitives.WriteUInt16LittleEndian(d[StatusFieldOffset..], StatusField);
        BinaryPrimitives.WriteUInt16LittleEndian(d[ParameterErrorLocationOffset..], ParameterErrorLocation);
        BinaryPrimitives.WriteUInt64LittleEndian(d[LbaOffset..], Lba);
        BinaryPrimitives.WriteUInt32LittleEndian(d[NsidOffset..], Nsid);
        d[VsOffset] = VendorSpecificInfoAvailable;
        d[TrtypeOffset] = Trtype;
        BinaryPrimitives.WriteUInt64LittleEndian(d[CsOffset..], CommandSpecificInfo);
        BinaryPrimitives.WriteUInt16LittleEndian(d[TtsiOffset..], TransportTypeSpecificInfo);
    }
}

/// <summary>
/// Firmware Slot Information log page, LID 03h (Base Specification 2.0, §5.16.1.4 Figure 208), 512 bytes:
/// AFI at byte 0 (bits 2:0 active slot, bits 6:4 slot activated at next reset), FRS1..FRS7 as 8-character ASCII at 8..63.
/// </summary>
public sealed class NvmeFirmwareSlotLog
{
    public const int Size = 512;
    public const int AfiOffset = 0;
    public const int FrsOffset = 8;
    public const int SlotCount = 7;

    /// <summary>AFI: active firmware info.</summary>
    public byte Afi { get; set; }

    /// <summary>FRS1..FRS7 (index 0 is slot 1); empty string for an empty slot.</summary>
    public string[] Frs { get; set; } = [.. Enumerable.Repeat(string.Empty, SlotCount)];

    /// <summary>The slot the running firmware came from (1..7).</summary>
    public int ActiveSlot => Afi & 0x7;

    /// <summary>The slot to be activated at the next reset (0: none).</summary>
    public int NextResetSlot => (Afi >> 4) & 0x7;

    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeFirmwareSlotLog value)
    {
        if (s.Length < Size)
        {
            value = null!;
            return false;
        }

        var frs = new string[SlotCount];
        for (int i = 0; i < SlotCount; i++)
        {
            frs[i] = AdminWire.ReadAscii(s.Slice(FrsOffset + (8 * i), 8));
        }

        value = new NvmeFirmwareSlotLog { Afi = s[AfiOffset], Frs = frs };
        return true;
    }

    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("The firmware slot log needs 512 bytes.", nameof(d));
        }

        d = d[..Size];
        d.Clear();
        d[AfiOffset] = Afi;
        for (int i = 0; i < Math.Min(Frs.Length, SlotCount); i++)
        {
            // An empty slot is all zeroes, not spaces (the revision field of an unused slot reads as 0).
            if (!string.IsNullOrEmpty(Frs[i]))
            {
                AdminWire.WriteAscii(d.Slice(FrsOffset + (8 * i), 8), Frs[i], (byte)' ');
            }
        }
    }
}
