namespace NvmePS.Engine.Mi.Simulator;

/// <summary>Knobs of the simulated NVM subsystem.</summary>
public sealed record SimulatorOptions
{
    public string SerialNumber { get; init; } = "NVMEPS-SIM-0001";
    public string ModelNumber { get; init; } = "NvmePS Simulated NVMe-MI SSD";
    public string FirmwareRevision { get; init; } = "1.0.0";
    public ushort PciVendorId { get; init; } = 0x1B36;
    public ushort PciDeviceId { get; init; } = 0x0010;

    /// <summary>Controller identifiers; two by default (one per port), not starting at 0 so callers cannot assume it.</summary>
    public IReadOnlyList<ushort> ControllerIds { get; init; } = [1, 2];

    /// <summary>Capacity of the NVM in 4 KiB blocks (default 1 TiB / 4 KiB).</summary>
    public ulong CapacityBlocks { get; init; } = 1UL << 28;

    /// <summary>How long "slow" commands (Format NVM, Sanitize, Firmware Commit) take; they answer More Processing
    /// Required first.</summary>
    public TimeSpan SlowCommandTime { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Base composite temperature in Kelvin; the model oscillates ±5 K around it with a 60 s period.</summary>
    public ushort BaseTemperatureKelvin { get; init; } = 308;

    /// <summary>Most VPD Write commands accepted before VPD Updates Exceeded.</summary>
    public int MaxVpdWrites { get; init; } = 64;
}

/// <summary>A namespace of the simulated subsystem.</summary>
public sealed class SimulatedNamespace
{
    public uint Nsid { get; init; }
    public ulong SizeBlocks { get; set; }
    public ulong CapacityBlocks { get; set; }
    public byte FormattedLbaIndex { get; set; }
    public HashSet<ushort> AttachedControllers { get; } = [];
    public ulong UtilizationBlocks { get; set; }
}

/// <summary>SMART values of the subsystem at one moment.</summary>
public readonly record struct SimulatedSmart(ushort TemperatureKelvin, byte AvailableSpare, byte SpareThreshold, byte PercentageUsed, byte CriticalWarning, ulong DataUnitsRead, ulong DataUnitsWritten, ulong PowerOnHours, ulong PowerCycles, ulong UnsafeShutdowns, ulong MediaErrors);

/// <summary>
/// The model behind the simulated endpoint: an NVM subsystem with a PCIe port and an SMBus port, two controllers,
/// namespaces, SMART data that moves with time, injectable critical warnings and temperatures, firmware slots, VPD,
/// and the change flags that the health polls report. All state is guarded by <see cref="Gate"/>.
/// </summary>
public sealed class SimulatedSubsystem
{
    public const int VpdSize = 256;
    public const int FirmwareSlots = 3;

    private readonly TimeProvider _time;
    private readonly long _start;
    private SimulatedSmart _lastSmart;
    private readonly Dictionary<ushort, ControllerState> _controllers = new();

    public SimulatedSubsystem(SimulatorOptions? options = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new SimulatorOptions();
        _time = timeProvider ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        foreach (ushort id in Options.ControllerIds)
        {
            _controllers[id] = new ControllerState { ControllerStatus = 0x0001 };
        }

        Ports =
        [
            new PortState { Type = NvmeMiPortType.Pcie, MaxTransmissionUnit = 4224, TransmissionUnit = 64 },
            new PortState { Type = NvmeMiPortType.Smbus, MaxTransmissionUnit = 250, TransmissionUnit = 64, SmbusFrequency = SmbusFrequency.Freq100kHz },
        ];
        var ns = new SimulatedNamespace { Nsid = 1, SizeBlocks = Options.CapacityBlocks / 2, CapacityBlocks = Options.CapacityBlocks / 2, UtilizationBlocks = Options.CapacityBlocks / 8 };
        foreach (ushort id in Options.ControllerIds)
        {
            ns.AttachedControllers.Add(id);
        }

        Namespaces[1] = ns;
        FirmwareRevisions[0] = Options.FirmwareRevision;
        FirmwareRevisions[1] = "0.9.8";
        Vpd = BuildVpd(Options);
        AsyncEvents = [new AsyncEventItem(0x01, false), new AsyncEventItem(0x02, false), new AsyncEventItem(0x03, false)];
        _lastSmart = ComputeSmart();
    }

    public SimulatorOptions Options { get; }

    /// <summary>Lock for every member below.</summary>
    public object Gate { get; } = new();

    public PortState[] Ports { get; }

    public SortedDictionary<uint, SimulatedNamespace> Namespaces { get; } = new();

    /// <summary>FRS1..FRS3 (index 0 = slot 1); null = empty slot.</summary>
    public string?[] FirmwareRevisions { get; } = new string?[FirmwareSlots];

    /// <summary>Active firmware slot, 1-based.</summary>
    public int ActiveFirmwareSlot { get; set; } = 1;

    /// <summary>Slot to activate at the next reset (0 = none).</summary>
    public int PendingFirmwareSlot { get; set; }

    /// <summary>Bytes received by Firmware Image Download since the last commit.</summary>
    public SortedDictionary<long, byte[]> FirmwareImage { get; } = new();

    public byte[] Vpd { get; }

    public int VpdWrites { get; set; }

    public AsyncEventItem[] AsyncEvents { get; set; }

    /// <summary>Composite Controller Status change flags (bits 3 and up of CCS), cleared by CS or Health Status Change.</summary>
    public CompositeControllerStatus CcsChanges { get; set; }

    /// <summary>Critical warning bits injected by a test (ORed into the SMART critical warning).</summary>
    public byte InjectedCriticalWarning { get; set; }

    /// <summary>Temperature override in Kelvin (0 = follow the model).</summary>
    public ushort TemperatureOverrideKelvin { get; set; }

    /// <summary>Percentage used override (null = follow the model).</summary>
    public byte? PercentageUsedOverride { get; set; }

    public ulong HostReadCommands { get; set; }

    public ulong HostWriteCommands { get; set; }

    public int ResetCount { get; private set; }

    /// <summary>Over-temperature threshold in Kelvin (Set Features, Temperature Threshold).</summary>
    public ushort TemperatureThresholdKelvin { get; set; } = 343;

    /// <summary>Error Information log entries, newest first (at most 256).</summary>
    public List<NvmePS.Engine.Admin.NvmeErrorLogEntry> ErrorLog { get; } = [];

    public ulong ErrorCount { get; set; }

    /// <summary>Namespaces changed since the Changed Namespace List was last read.</summary>
    public SortedSet<uint> ChangedNamespaces { get; } = [];

    /// <summary>Sanitize Status log: SSTAT (0 never, 1 completed, 2 in progress, 3 failed) and the last SCDW10.</summary>
    public ushort SanitizeStatus { get; set; }

    public uint SanitizeCdw10 { get; set; }

    /// <summary>Admin commands seen (opcode, controller, DLEN, DOFST, cdw10, cdw12): bounded diagnostics.</summary>
    public List<(byte Opcode, ushort Controller, uint DataLength, uint DataOffset, uint Cdw10, uint Cdw12)> AdminHistory { get; } = [];

    public bool SanitizeRunning { get; set; }

    public IReadOnlyCollection<ushort> ControllerIds => _controllers.Keys;

    public bool HasController(ushort id) => _controllers.ContainsKey(id);

    public ControllerState Controller(ushort id) => _controllers[id];

    /// <summary>Elapsed simulated time.</summary>
    public TimeSpan Uptime => _time.GetElapsedTime(_start);

    /// <summary>SMART values now: temperature oscillates, data units and power-on hours grow with time.</summary>
    public SimulatedSmart ComputeSmart()
    {
        double seconds = Uptime.TotalSeconds;
        ushort temp = TemperatureOverrideKelvin != 0
            ? TemperatureOverrideKelvin
            : (ushort)Math.Round(Options.BaseTemperatureKelvin + (5 * Math.Sin(2 * Math.PI * seconds / 60.0)));
        byte used = PercentageUsedOverride ?? (byte)Math.Min(255, 3 + (int)(seconds / 3600));
        byte spare = 100;
        byte warning = InjectedCriticalWarning;
        if (temp >= TemperatureThresholdKelvin)
        {
            warning |= 0x02; // over the temperature threshold (Set Features 04h moves it)
        }

        if (spare < 10)
        {
            warning |= 0x01;
        }

        ulong units = (ulong)(seconds * 20);
        return new SimulatedSmart(temp, spare, 10, used, warning, 1_000_000 + units + HostReadCommands, 750_000 + (units / 2) + HostWriteCommands,
            1234 + (ulong)(seconds / 3600), 57 + (ulong)ResetCount, 3, 0);
    }

    /// <summary>Brings the change flags up to date with the current SMART values (called before every poll).</summary>
    public SimulatedSmart Refresh()
    {
        var now = ComputeSmart();
        var changes = ControllerHealthChangeFlags.None;
        if (now.TemperatureKelvin != _lastSmart.TemperatureKelvin)
        {
            changes |= ControllerHealthChangeFlags.CompositeTemperature;
            CcsChanges |= CompositeControllerStatus.CompositeTemperatureChange;
        }

        if (now.PercentageUsed != _lastSmart.PercentageUsed)
        {
            changes |= ControllerHealthChangeFlags.PercentageUsed;
            CcsChanges |= CompositeControllerStatus.PercentageUsedChange;
        }

        if (now.AvailableSpare != _lastSmart.AvailableSpare)
        {
            changes |= ControllerHealthChangeFlags.AvailableSpare;
            CcsChanges |= CompositeControllerStatus.AvailableSpareChange;
        }

        if (now.CriticalWarning != _lastSmart.CriticalWarning)
        {
            changes |= ControllerHealthChangeFlags.CriticalWarning;
            CcsChanges |= CompositeControllerStatus.CriticalWarningChange;
        }

        foreach (var c in _controllers.Values)
        {
            c.ChangedFlags |= changes;
        }

        _lastSmart = now;
        return now;
    }

    /// <summary>Marks a controller-status event (firmware activation, namespace change, reset) on every controller.</summary>
    public void RaiseControllerEvent(CompositeControllerStatus ccsFlag)
    {
        CcsChanges |= ccsFlag | CompositeControllerStatus.ControllerStatusChange;
        foreach (var c in _controllers.Values)
        {
            c.ChangedFlags |= ControllerHealthChangeFlags.ControllerStatus;
            c.StatusEvents |= ccsFlag;
        }
    }

    /// <summary>NVM Subsystem Reset: controllers restart, pending firmware activates.</summary>
    public void ResetSubsystem()
    {
        ResetCount++;
        if (PendingFirmwareSlot != 0)
        {
            ActiveFirmwareSlot = PendingFirmwareSlot;
            PendingFirmwareSlot = 0;
            RaiseControllerEvent(CompositeControllerStatus.FirmwareActivated);
        }

        RaiseControllerEvent(CompositeControllerStatus.SubsystemResetOccurred);
    }

    /// <summary>The current firmware revision (of the active slot).</summary>
    public string ActiveFirmwareRevision => FirmwareRevisions[ActiveFirmwareSlot - 1] ?? Options.FirmwareRevision;

    /// <summary>Composite Controller Status: RDY/CFS/SHST from the controllers, then the change flags.</summary>
    public CompositeControllerStatus CompositeStatus()
    {
        var ccs = CcsChanges;
        if (_controllers.Values.All(c => new ControllerStatus(c.ControllerStatus).Rdy))
        {
            ccs |= CompositeControllerStatus.Ready;
        }

        if (_controllers.Values.Any(c => new ControllerStatus(c.ControllerStatus).Cfs))
        {
            ccs |= CompositeControllerStatus.ControllerFatalStatus;
        }

        return ccs;
    }

    private static byte[] BuildVpd(SimulatorOptions options)
    {
        // IPMI FRU layout (as NVMe-MI VPD uses): common header with a product info area at offset 8.
        byte[] vpd = new byte[VpdSize];
        vpd[0] = 0x01; // format version
        vpd[4] = 0x01; // product info area at 8 bytes
        byte sum = 0;
        for (int i = 0; i < 7; i++)
        {
            sum += vpd[i];
        }

        vpd[7] = (byte)(0 - sum);
        int o = 8;
        vpd[o] = 0x01;
        vpd[o + 2] = 0x19; // English
        o += 3;
        foreach (string s in new[] { "NvmePS", options.ModelNumber, "SIM", "1", options.SerialNumber })
        {
            byte[] b = System.Text.Encoding.ASCII.GetBytes(s);
            int len = Math.Min(b.Length, 63);
            vpd[o++] = (byte)(0xC0 | len);
            b.AsSpan(0, len).CopyTo(vpd.AsSpan(o));
            o += len;
        }

        vpd[o] = 0xC1; // end of fields
        return vpd;
    }

    /// <summary>Per-controller state.</summary>
    public sealed class ControllerState
    {
        /// <summary>CSTS as reported in the Controller Health Data Structure.</summary>
        public ushort ControllerStatus { get; set; }

        /// <summary>CHSC change flags since the last clear.</summary>
        public ControllerHealthChangeFlags ChangedFlags { get; set; }

        /// <summary>CSTS event bits (NSSRO, CECO, NAC, FA) reported in CSTS bits 4..7 until cleared.</summary>
        public CompositeControllerStatus StatusEvents { get; set; }

        public byte PowerState { get; set; }
        public bool VolatileWriteCache { get; set; } = true;
        public uint AsyncEventConfig { get; set; }
        public uint Arbitration { get; set; }
        public List<byte[]> SecurityPayloads { get; } = [];
    }

    /// <summary>Per-port state.</summary>
    public sealed class PortState
    {
        public NvmeMiPortType Type { get; init; }
        public ushort MaxTransmissionUnit { get; init; }
        public ushort TransmissionUnit { get; set; }
        public SmbusFrequency SmbusFrequency { get; set; }
    }
}
