using System.Buffers.Binary;

namespace NvmePS.Engine.Mi;

/// <summary>NVM Subsystem Information Data Structure (NVMe-MI 1.2 §5.7.1, Figure 107), 32 bytes.</summary>
/// <param name="Nump">NUMP: number of ports, 0's based.</param>
/// <param name="MajorVersion">MJR: NVMe-MI major version.</param>
/// <param name="MinorVersion">MNR: NVMe-MI minor version.</param>
/// <param name="Capabilities">NNSC (byte 3): NVM Subsystem Capabilities (bit 0 SRE: SMBus/I2C Report Enable).</param>
public sealed record NvmSubsystemInformation(byte Nump, byte MajorVersion, byte MinorVersion, byte Capabilities)
{
    public const int Size = 32;

    /// <summary>Number of ports (NUMP + 1).</summary>
    public int PortCount => Nump + 1;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[0] = Nump;
        destination[1] = MajorVersion;
        destination[2] = MinorVersion;
        destination[3] = Capabilities;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out NvmSubsystemInformation? value)
    {
        value = source.Length < Size ? null : new NvmSubsystemInformation(source[0], source[1], source[2], source[3]);
        return value is not null;
    }
}

/// <summary>PRTTYP (NVMe-MI 1.2 Figure 108).</summary>
public enum NvmeMiPortType : byte
{
    Inactive = 0,
    Pcie = 1,
    Smbus = 2,
}

/// <summary>Port Information Data Structure (NVMe-MI 1.2 §5.7.2, Figures 108-110), 32 bytes: PRTTYP @0, PRTCAP @1,
/// MMTUS @2 (u16), MEBS @4 (u32), then 24 bytes of port-type-specific data @8.</summary>
public sealed record PortInformation(NvmeMiPortType PortType, byte Capabilities, ushort MaxMctpTransmissionUnit, uint ManagementEndpointBufferSize)
{
    public const int Size = 32;

    // PCIe port specific (Figure 109).
    public byte PcieMaxPayloadSize { get; init; }
    public byte PcieSupportedLinkSpeeds { get; init; }
    public byte PcieCurrentLinkSpeed { get; init; }
    public byte PcieMaxLinkWidth { get; init; }
    public byte PcieNegotiatedLinkWidth { get; init; }
    public byte PciePortNumber { get; init; }

    // SMBus/I2C port specific (Figure 110).
    public byte VpdSmbusAddress { get; init; }
    public byte MaxVpdFrequency { get; init; }
    public byte ManagementEndpointSmbusAddress { get; init; }
    public byte MaxManagementEndpointFrequency { get; init; }
    public byte NvmeBasicManagement { get; init; }

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[0] = (byte)PortType;
        destination[1] = Capabilities;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], MaxMctpTransmissionUnit);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], ManagementEndpointBufferSize);
        if (PortType == NvmeMiPortType.Pcie)
        {
            destination[8] = PcieMaxPayloadSize;
            destination[9] = PcieSupportedLinkSpeeds;
            destination[10] = PcieCurrentLinkSpeed;
            destination[11] = PcieMaxLinkWidth;
            destination[12] = PcieNegotiatedLinkWidth;
            destination[13] = PciePortNumber;
        }
        else if (PortType == NvmeMiPortType.Smbus)
        {
            destination[8] = VpdSmbusAddress;
            destination[9] = MaxVpdFrequency;
            destination[10] = ManagementEndpointSmbusAddress;
            destination[11] = MaxManagementEndpointFrequency;
            destination[12] = NvmeBasicManagement;
        }
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out PortInformation? value)
    {
        value = null;
        if (source.Length < Size)
        {
            return false;
        }

        var type = (NvmeMiPortType)source[0];
        var p = new PortInformation(type, source[1], BinaryPrimitives.ReadUInt16LittleEndian(source[2..]), BinaryPrimitives.ReadUInt32LittleEndian(source[4..]));
        value = type switch
        {
            NvmeMiPortType.Pcie => p with
            {
                PcieMaxPayloadSize = source[8],
                PcieSupportedLinkSpeeds = source[9],
                PcieCurrentLinkSpeed = source[10],
                PcieMaxLinkWidth = source[11],
                PcieNegotiatedLinkWidth = source[12],
                PciePortNumber = source[13],
            },
            NvmeMiPortType.Smbus => p with
            {
                VpdSmbusAddress = source[8],
                MaxVpdFrequency = source[9],
                ManagementEndpointSmbusAddress = source[10],
                MaxManagementEndpointFrequency = source[11],
                NvmeBasicManagement = source[12],
            },
            _ => p,
        };
        return true;
    }
}

/// <summary>Controller Information Data Structure (NVMe-MI 1.2 §5.7.4, Figure 112), 32 bytes: PORTID @0, PRII @5,
/// PRI @6, PCIVID @8, PCIDID @10, PCISVID @12, PCISDID @14, PCIESN @16.</summary>
public sealed record ControllerInformation(byte PortId, byte PciRoutingIdInfo, ushort PciRoutingId, ushort PciVendorId, ushort PciDeviceId, ushort PciSubsystemVendorId, ushort PciSubsystemDeviceId, byte PcieSegmentNumber)
{
    public const int Size = 32;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[0] = PortId;
        destination[5] = PciRoutingIdInfo;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], PciRoutingId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], PciVendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], PciDeviceId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[12..], PciSubsystemVendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[14..], PciSubsystemDeviceId);
        destination[16] = PcieSegmentNumber;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out ControllerInformation? value)
    {
        value = source.Length < Size ? null : new ControllerInformation(
            source[0], source[5], BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[8..]), BinaryPrimitives.ReadUInt16LittleEndian(source[10..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[12..]), BinaryPrimitives.ReadUInt16LittleEndian(source[14..]), source[16]);
        return value is not null;
    }
}

/// <summary>One entry of the Optionally Supported Command List (NVMe-MI 1.2 §5.7.5, Figure 113): command type (NMIMT) and opcode.</summary>
public readonly record struct OptionalCommand(NvmeMiMessageType Type, byte Opcode);

/// <summary>Optionally Supported Command List: NUMCMD u16 @0, then 2-byte entries.</summary>
public static class OptionalCommandList
{
    public static int Write(Span<byte> destination, IReadOnlyList<OptionalCommand> commands)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)commands.Count);
        for (int i = 0; i < commands.Count; i++)
        {
            destination[2 + (2 * i)] = (byte)commands[i].Type;
            destination[3 + (2 * i)] = commands[i].Opcode;
        }

        return 2 + (2 * commands.Count);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out OptionalCommand[] commands)
    {
        commands = [];
        if (source.Length < 2)
        {
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(source);
        if (source.Length < 2 + (2 * count))
        {
            return false;
        }

        commands = new OptionalCommand[count];
        for (int i = 0; i < count; i++)
        {
            commands[i] = new OptionalCommand((NvmeMiMessageType)source[2 + (2 * i)], source[3 + (2 * i)]);
        }

        return true;
    }
}

/// <summary>Composite Controller Status bits (CCS, NVMe-MI 1.2 Figure 102).</summary>
[Flags]
public enum CompositeControllerStatus : ushort
{
    None = 0,
    Ready = 1 << 0,
    ControllerFatalStatus = 1 << 1,
    ShutdownStatus = 1 << 2,
    SubsystemResetOccurred = 1 << 4,
    ControllerEnableChangeOccurred = 1 << 5,
    NamespaceAttributeChanged = 1 << 6,
    FirmwareActivated = 1 << 7,
    ControllerStatusChange = 1 << 8,
    CompositeTemperatureChange = 1 << 9,
    PercentageUsedChange = 1 << 10,
    AvailableSpareChange = 1 << 11,
    CriticalWarningChange = 1 << 12,
}

/// <summary>NVM Subsystem Health Data Structure (NVMe-MI 1.2 §5.6, Figure 101), 8 bytes: NSS @0, SW @1 (the SMART
/// Critical Warning bits inverted: a 0 bit is an active warning), CTEMP @2 (°C, signed: 0x7F = 127 °C or more,
/// 0xC4 = -60 °C or less, 0x80 stale, 0x81 sensor failure), PDLU @3, CCS @4 (u16).</summary>
public sealed record NvmSubsystemHealthStatus(byte SubsystemStatus, byte SmartWarnings, sbyte CompositeTemperatureCelsius, byte PercentageDriveLifeUsed, CompositeControllerStatus CompositeControllerStatus)
{
    public const int Size = 8;

    /// <summary>SW bits 5:0 carry the critical warnings; bits 7:6 are reserved (0), so a healthy drive sends 3Fh
    /// (NVMe-MI 1.2 Figure 101; MI 2.0 Figure 108).</summary>
    public const byte SmartWarningsMask = 0x3F;

    /// <summary>The active critical warnings in SMART log polarity (SW bits 5:0 inverted); reserved SW bits 7:6 are
    /// ignored, whatever their value.</summary>
    public byte CriticalWarning => (byte)(~SmartWarnings & SmartWarningsMask);

    /// <summary>Builds the structure from SMART-polarity critical warning bits (inverting bits 5:0 into SW; bits 7:6
    /// reserved and cleared).</summary>
    public static NvmSubsystemHealthStatus FromCriticalWarning(byte subsystemStatus, byte criticalWarning, sbyte compositeTemperatureCelsius, byte percentageDriveLifeUsed, CompositeControllerStatus ccs) =>
        new(subsystemStatus, (byte)(~criticalWarning & SmartWarningsMask), compositeTemperatureCelsius, percentageDriveLifeUsed, ccs);

    /// <summary>The active critical warnings, typed as in the SMART log.</summary>
    public NvmePS.Engine.Admin.NvmeCriticalWarning Warnings => (NvmePS.Engine.Admin.NvmeCriticalWarning)CriticalWarning;

    /// <summary>CTEMP 0x80: the temperature reading is more than 5 seconds old.</summary>
    public bool TemperatureStale => (byte)CompositeTemperatureCelsius == 0x80;

    /// <summary>CTEMP 0x81: no accurate temperature (sensor failure).</summary>
    public bool TemperatureSensorFailure => (byte)CompositeTemperatureCelsius == 0x81;

    /// <summary>NSS bit 5 DF: Drive Functional.</summary>
    public bool DriveFunctional => (SubsystemStatus & 0x20) != 0;

    /// <summary>NSS bit 4 RNR: Reset Not Required.</summary>
    public bool ResetNotRequired => (SubsystemStatus & 0x10) != 0;

    /// <summary>NSS bit 3 P0LA: Port 0 PCIe Link Active.</summary>
    public bool Port0LinkActive => (SubsystemStatus & 0x08) != 0;

    /// <summary>NSS bit 2 P1LA: Port 1 PCIe Link Active.</summary>
    public bool Port1LinkActive => (SubsystemStatus & 0x04) != 0;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[0] = SubsystemStatus;
        destination[1] = SmartWarnings;
        destination[2] = (byte)CompositeTemperatureCelsius;
        destination[3] = PercentageDriveLifeUsed;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], (ushort)CompositeControllerStatus);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out NvmSubsystemHealthStatus? value)
    {
        value = source.Length < Size ? null : new NvmSubsystemHealthStatus(source[0], source[1], (sbyte)source[2], source[3],
            (CompositeControllerStatus)BinaryPrimitives.ReadUInt16LittleEndian(source[4..]));
        return value is not null;
    }
}

/// <summary>Report flags of Controller Health Status Poll (NVMe-MI 1.2 §5.3, NMD1 bits 4:0). In the CHDS's CHSC the
/// same five changes sit at the Composite Controller Status positions 12:8 (see
/// <see cref="ControllerHealthStatus.StatusChanges"/>).</summary>
[Flags]
public enum ControllerHealthChangeFlags : byte
{
    None = 0,
    ControllerStatus = 1 << 0,
    CompositeTemperature = 1 << 1,
    PercentageUsed = 1 << 2,
    AvailableSpare = 1 << 3,
    CriticalWarning = 1 << 4,
    All = 0x1F,
}

/// <summary>Controller Health Data Structure (NVMe-MI 1.2 §5.3, Figure 75; MI 2.0 Figures 97-98), 16 bytes: CTLID @0,
/// CSTS @2, CTEMP @4 (Kelvin, u16), PDLU @6, SPARE @7, CWARN @8, CHSC @10:9 (u16, Controller Health Status Changed
/// Flags in Composite Controller Status bit positions: RDY 0 … FA 7, CSTS 8, CTEMP 9, PDLU 10, SPARE 11, CWARN 12,
/// TCIDA 13), bytes 15:11 reserved.</summary>
/// <param name="ControllerId">CTLID.</param>
/// <param name="ControllerStatus">CSTS.</param>
/// <param name="CompositeTemperatureKelvin">CTEMP (Kelvin).</param>
/// <param name="PercentageUsed">PDLU.</param>
/// <param name="AvailableSpare">SPARE.</param>
/// <param name="CriticalWarning">CWARN (SMART polarity).</param>
/// <param name="ChangedFlags">CHSC bits 12:8 (CSTS, CTEMP, PDLU, SPARE, CWARN changed), in the report-flag positions.</param>
/// <param name="StatusChanges">CHSC bits 7:0 and 13 (RDY, CFS, SHST, NSSRO, CECO, NAC, FA, TCIDA changed); bits 12:8
/// are <paramref name="ChangedFlags"/> and are merged in when written.</param>
public sealed record ControllerHealthStatus(ushort ControllerId, ushort ControllerStatus, ushort CompositeTemperatureKelvin, byte PercentageUsed, byte AvailableSpare, byte CriticalWarning, ControllerHealthChangeFlags ChangedFlags, CompositeControllerStatus StatusChanges = CompositeControllerStatus.None)
{
    public const int Size = 16;

    /// <summary>Byte offset of CHSC (u16).</summary>
    public const int ChscOffset = 9;

    /// <summary>CHSC bit of the first report-flag change (CSTS changed); CTEMP … CWARN follow.</summary>
    private const int ChscChangedFlagsShift = 8;

    /// <summary>The whole CHSC as written on the wire.</summary>
    public ushort Chsc => (ushort)(((ushort)StatusChanges & ~(0x1F << ChscChangedFlagsShift)) | (((int)ChangedFlags & 0x1F) << ChscChangedFlagsShift));

    public int CompositeTemperatureCelsius => CompositeTemperatureKelvin - 273;

    /// <summary>CSTS.RDY.</summary>
    public bool Ready => new NvmePS.Engine.ControllerStatus(ControllerStatus).Rdy;

    /// <summary>CSTS.CFS: controller fatal status.</summary>
    public bool FatalStatus => new NvmePS.Engine.ControllerStatus(ControllerStatus).Cfs;

    /// <summary>CSTS.SHST (bits 3:2): 0 normal, 1 shutdown processing, 2 shutdown complete.</summary>
    public int ShutdownStatus => (ControllerStatus >> 2) & 0x3;

    /// <summary>The critical warning bits, typed as in the SMART log.</summary>
    public NvmePS.Engine.Admin.NvmeCriticalWarning Warnings => (NvmePS.Engine.Admin.NvmeCriticalWarning)CriticalWarning;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(destination, ControllerId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], ControllerStatus);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], CompositeTemperatureKelvin);
        destination[6] = PercentageUsed;
        destination[7] = AvailableSpare;
        destination[8] = CriticalWarning;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[ChscOffset..], Chsc);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out ControllerHealthStatus? value)
    {
        value = source.Length < Size ? null : new ControllerHealthStatus(
            BinaryPrimitives.ReadUInt16LittleEndian(source), BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[4..]), source[6], source[7], source[8],
            (ControllerHealthChangeFlags)((BinaryPrimitives.ReadUInt16LittleEndian(source[ChscOffset..]) >> ChscChangedFlagsShift) & 0x1F),
            (CompositeControllerStatus)BinaryPrimitives.ReadUInt16LittleEndian(source[ChscOffset..]));
        return value is not null;
    }
}

/// <summary>Request fields of Controller Health Status Poll (NVMe-MI 1.2 §5.3, Figures 73-74).</summary>
public sealed record ControllerHealthPollRequest
{
    /// <summary>SCTLID: first controller to consider.</summary>
    public ushort StartControllerId { get; init; }

    /// <summary>Most entries wanted (1..255); encoded 0's based in MAXRENT.</summary>
    public int MaxEntries { get; init; } = 255;

    /// <summary>INCF: include PCI functions.</summary>
    public bool IncludePciFunctions { get; init; } = true;

    /// <summary>INCPF: include SR-IOV physical functions.</summary>
    public bool IncludePhysicalFunctions { get; init; } = true;

    /// <summary>INCVF: include SR-IOV virtual functions.</summary>
    public bool IncludeVirtualFunctions { get; init; } = true;

    /// <summary>ALL: report every selected controller, not only those with a changed flag in <see cref="ReportFlags"/>.</summary>
    public bool ReportAll { get; init; } = true;

    /// <summary>NMD1 bits 4:0: which changed flags select a controller when <see cref="ReportAll"/> is false.</summary>
    public ControllerHealthChangeFlags ReportFlags { get; init; } = ControllerHealthChangeFlags.All;

    /// <summary>CCF: clear the changed flags of the controllers reported.</summary>
    public bool ClearChangedFlags { get; init; }

    public uint EncodeCdw0()
    {
        if (MaxEntries is < 1 or > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEntries), "1..255 entries fit one response.");
        }

        return StartControllerId | ((uint)(MaxEntries - 1) << 16) | (IncludePciFunctions ? 1u << 24 : 0) |
               (IncludePhysicalFunctions ? 1u << 25 : 0) | (IncludeVirtualFunctions ? 1u << 26 : 0) | (ReportAll ? 1u << 31 : 0);
    }

    public uint EncodeCdw1() => (uint)ReportFlags | (ClearChangedFlags ? 1u << 31 : 0);

    public static ControllerHealthPollRequest Decode(uint cdw0, uint cdw1) => new()
    {
        StartControllerId = (ushort)cdw0,
        MaxEntries = (int)((cdw0 >> 16) & 0xFF) + 1,
        IncludePciFunctions = (cdw0 & (1u << 24)) != 0,
        IncludePhysicalFunctions = (cdw0 & (1u << 25)) != 0,
        IncludeVirtualFunctions = (cdw0 & (1u << 26)) != 0,
        ReportAll = (cdw0 & (1u << 31)) != 0,
        ReportFlags = (ControllerHealthChangeFlags)(cdw1 & 0x1F),
        ClearChangedFlags = (cdw1 & (1u << 31)) != 0,
    };
}

/// <summary>Health Status Change bits of Configuration Set (NVMe-MI 1.2 Figure 66): a set bit clears the matching
/// Composite Controller Status flag.</summary>
[Flags]
public enum HealthStatusChangeFlags : uint
{
    None = 0,
    Ready = 1 << 0,
    ControllerFatalStatus = 1 << 1,
    ShutdownStatus = 1 << 2,
    SubsystemResetOccurred = 1 << 3,
    ControllerEnableChangeOccurred = 1 << 4,
    NamespaceAttributeChanged = 1 << 5,
    FirmwareActivated = 1 << 6,
    ControllerStatusChange = 1 << 7,
    CompositeTemperature = 1 << 8,
    PercentageUsed = 1 << 9,
    AvailableSpare = 1 << 10,
    CriticalWarning = 1 << 11,
    All = 0xFFF,
}

/// <summary>Maps Health Status Change bits onto CCS bits (CCS has a reserved bit 3, so bits 3+ move up by one).</summary>
public static class HealthStatusChangeMapping
{
    public static CompositeControllerStatus ToCompositeControllerStatus(HealthStatusChangeFlags flags)
    {
        uint v = (uint)flags & 0xFFF;
        uint low = v & 0x7;
        uint high = (v >> 3) << 4;
        return (CompositeControllerStatus)(low | high);
    }
}

/// <summary>One Asynchronous Event supported item (NVMe-MI 2.0 §5.1.4): AESID and whether it is enabled.</summary>
public readonly record struct AsyncEventItem(byte Id, bool Enabled);

/// <summary>AE Supported List / AE Enable List encoding (NVMe-MI 2.0 Figures 78-81): a 5-byte header (count, version 0,
/// total length u16, header length 5) and 3-byte items (length 3, u16 with the id in bits 7:0 and the enable bit 15).</summary>
public static class AsyncEventList
{
    public const int HeaderSize = 5;
    public const int ItemSize = 3;

    public static int Write(Span<byte> destination, IReadOnlyList<AsyncEventItem> items)
    {
        int total = HeaderSize + (ItemSize * items.Count);
        destination[0] = (byte)items.Count;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)total);
        destination[4] = HeaderSize;
        for (int i = 0; i < items.Count; i++)
        {
            int o = HeaderSize + (ItemSize * i);
            destination[o] = ItemSize;
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(o + 1)..], (ushort)(items[i].Id | (items[i].Enabled ? 0x8000 : 0)));
        }

        return total;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out AsyncEventItem[] items)
    {
        items = [];
        if (source.Length < HeaderSize)
        {
            return false;
        }

        int count = source[0];
        int total = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
        int headerLength = source[4];
        if (headerLength < HeaderSize || total > source.Length || total != headerLength + (ItemSize * count))
        {
            return false;
        }

        items = new AsyncEventItem[count];
        for (int i = 0; i < count; i++)
        {
            int o = headerLength + (ItemSize * i);
            if (source[o] != ItemSize)
            {
                return false;
            }

            ushort v = BinaryPrimitives.ReadUInt16LittleEndian(source[(o + 1)..]);
            items[i] = new AsyncEventItem((byte)v, (v & 0x8000) != 0);
        }

        return true;
    }
}

/// <summary>Management Endpoint State returned by the Get State control primitive (NVMe-MI 1.2 §4.2.1.4, Figure 34):
/// SSTA 1:0, bit 2 reserved, CMNICS 3, BMICE 4, TWFP 5, UTUNT 6, BHVS 7, UDSTID 8, ITU 9, UMEP 10, OSPSN 11, BUEMT 12,
/// BPOPL 13, NSSRO 14, PFLG 15 (checked for review finding MI-07 against a Wireshark NVMe-MI dissector and an
/// nvme-cli plugin's decoder).</summary>
public readonly record struct ManagementEndpointState(ushort Raw)
{
    /// <summary>SSTA: 0 Idle, 1 Receive, 2 Process, 3 Transmit.</summary>
    public int SlotState => Raw & 0x3;
    public bool CommandToNonIdleSlot => (Raw & 0x0008) != 0;
    public bool BadMessageIntegrityCheck => (Raw & 0x0010) != 0;
    public bool SubsystemResetOccurred => (Raw & 0x4000) != 0;
    public bool Paused => (Raw & 0x8000) != 0;

    public const ushort SstaMask = 0x0003;
    public const ushort Cmnics = 0x0008;
    public const ushort Bmice = 0x0010;
    public const ushort Nssro = 0x4000;
    public const ushort Pflg = 0x8000;
    /// <summary>Bits 14:3, cleared by Get State with CESF.</summary>
    public const ushort ErrorBits = 0x7FF8;
}

/// <summary>What an endpoint reports about itself: subsystem, ports and controllers (libnvme's nvme_mi_scan_ep, plus
/// the port and controller information structures).</summary>
public sealed record NvmeMiEndpointDescription(
    NvmSubsystemInformation Subsystem,
    IReadOnlyList<PortInformation> Ports,
    IReadOnlyList<ushort> ControllerIds,
    IReadOnlyList<ControllerInformation> Controllers);

/// <summary>One port's configuration as Configuration Get reports it.</summary>
public sealed record NvmeMiPortConfiguration(byte PortId, NvmeMiPortType PortType, SmbusFrequency SmbusFrequency, ushort MctpTransmissionUnit);
