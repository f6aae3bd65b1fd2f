using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;

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

    /// <summary>Capacity of the NVM in 4 KiB blocks (default 1 TiB / 4 KiB). Namespace 1 takes half of it, in 512-byte
    /// blocks; its memory is thin-provisioned.</summary>
    public ulong CapacityBlocks { get; init; } = 1UL << 28;

    /// <summary>How long "slow" commands (Format NVM, Sanitize, Firmware Commit) take; they answer More Processing
    /// Required first.</summary>
    public TimeSpan SlowCommandTime { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Base composite temperature in Kelvin; the model oscillates ±5 K around it with a 60 s period.</summary>
    public ushort BaseTemperatureKelvin { get; init; } = 308;

    /// <summary>Most VPD Write commands accepted before VPD Updates Exceeded.</summary>
    public int MaxVpdWrites { get; init; } = 64;
}

/// <summary>SMART values of the subsystem at one moment.</summary>
public readonly record struct SimulatedSmart(ushort TemperatureKelvin, byte AvailableSpare, byte SpareThreshold, byte PercentageUsed, byte CriticalWarning, ulong DataUnitsRead, ulong DataUnitsWritten, ulong PowerOnHours, ulong PowerCycles, ulong UnsafeShutdowns, ulong MediaErrors);

/// <summary>
/// The model behind the simulated endpoint: a drive with a PCIe port and an SMBus port, SMART data that moves with
/// time, injectable critical warnings and temperatures, VPD, and the change flags that the health polls report. Its
/// controllers are the target's controller core (<see cref="Nvm"/>, one admin association per controller ID), so the
/// Admin commands tunnelled over NVMe-MI run the same implementation as the fabrics target's; this class adds what a
/// physical drive adds (<see cref="SimulatedDrive"/>). The simulator's own state is guarded by <see cref="Gate"/>.
/// </summary>
public sealed class SimulatedSubsystem : IDisposable
{
    public const int VpdSize = 256;

    private readonly TimeProvider _time;
    private readonly long _start;
    private SimulatedSmart _lastSmart;
    private readonly Dictionary<ushort, ControllerState> _controllers = new();
    private readonly Dictionary<ushort, NvmeLocalAdminTransport> _admin = new();

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
        Target = new NvmeTarget(new NvmeTargetOptions
        {
            ModelNumber = Options.ModelNumber,
            FirmwareRevision = Options.FirmwareRevision,
            MaxNamespaces = MaxNamespaces,
            ErrorLogEntries = ErrorLogEntries,
        });
        Nvm = Target.AddSubsystem(Nqn, Options.SerialNumber, allowAnyHost: true);
        Nvm.NamespaceCapacity = checked((long)Options.CapacityBlocks * 4096);
        Nvm.DeviceModel = new SimulatedDrive(this);
        Nvm.Maintenance.Preload(2, "0.9.8");
        foreach (ushort id in Options.ControllerIds)
        {
            // One host per controller, so Namespace Attachment (which the core keeps per host) is per controller here.
            Nvm.SetNextControllerId(id);
            var admin = NvmeLocalAdminTransport.ConnectAsync(Target, Nqn, $"{Nqn}:host:{id}", Guid.NewGuid(), maxDataTransferSize: 4096)
                .GetAwaiter().GetResult();
            if (admin.Controller.Cntlid != id)
            {
                throw new ArgumentException($"Controller ID {id} is not available.", nameof(options));
            }

            _admin[id] = admin;
        }

        // A drive's identifiers are fixed at manufacture: the same serial number gives the same NGUID and UUID.
        var uuid = new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Nqn + ":1")).AsSpan(0, 16));
        if (Nvm.CreateManagedNamespace((long)(Options.CapacityBlocks / 2), 512, shared: true, out var ns, uuid) != NvmeStatus.Success
            || Nvm.ChangeAttachment(ns!, [.. Options.ControllerIds], attach: true) != NvmeStatus.Success)
        {
            throw new InvalidOperationException("The simulated drive could not create namespace 1.");
        }

        foreach (var admin in _admin.Values)
        {
            // Namespace 1 is there from power-on: no controller reports it as changed.
            var read = NvmeAdminCommands.GetLogPage(NvmeLogPageId.ChangedNamespaceList, NvmeNamespaceList.Size);
            admin.ExecuteAdminAsync(read, default, new byte[NvmeNamespaceList.Size], CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        Vpd = BuildVpd(Options);
        AsyncEvents = [new AsyncEventItem(0x01, false), new AsyncEventItem(0x02, false), new AsyncEventItem(0x03, false)];
        _lastSmart = ComputeSmart();
    }

    public const int ErrorLogEntries = 256;
    public const uint MaxNamespaces = 32;

    public SimulatorOptions Options { get; }

    /// <summary>The subsystem NQN (Identify Controller SUBNQN).</summary>
    public string Nqn => $"nqn.2026-01.org.nvmeps:sim:{Options.SerialNumber}";

    /// <summary>The in-process target whose controller core answers the tunnelled Admin commands.</summary>
    public NvmeTarget Target { get; }

    /// <summary>The NVM subsystem behind the endpoint: namespaces, firmware slots, self-test, sanitize.</summary>
    public NvmeSubsystem Nvm { get; }

    /// <summary>The admin queue of controller <paramref name="id"/>.</summary>
    public NvmeLocalAdminTransport AdminQueue(ushort id) => _admin[id];

    /// <summary>The namespaces of the subsystem.</summary>
    public IReadOnlyList<NvmeNamespace> Namespaces => Nvm.Namespaces;

    /// <summary>Lock for every member below.</summary>
    public object Gate { get; } = new();

    public PortState[] Ports { get; }

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

    /// <summary>NVM Subsystem Resets completed: counted once every controller is enabled again.</summary>
    public int ResetCount { get; private set; }

    /// <summary>Over-temperature threshold in Kelvin (Set Features, Temperature Threshold).</summary>
    public ushort TemperatureThresholdKelvin { get; set; } = 343;

    /// <summary>Admin commands seen (opcode, controller, DLEN, DOFST, cdw10, cdw12): bounded diagnostics.</summary>
    public List<(byte Opcode, ushort Controller, uint DataLength, uint DataOffset, uint Cdw10, uint Cdw12)> AdminHistory { get; } = [];

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
        return new SimulatedSmart(temp, spare, 10, used, warning, 1_000_000 + units, 750_000 + (units / 2),
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

    /// <summary>NVM Subsystem Reset: every controller goes through a Controller Level Reset (CC.EN 1 to 0 to 1), so
    /// firmware committed for the next reset activates and features return to their defaults. Called without
    /// <see cref="Gate"/> held.</summary>
    public void ResetSubsystem()
    {
        foreach (var admin in _admin.Values)
        {
            var controller = admin.Controller;
            controller.SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, 0, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            controller.SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, ControllerConfiguration.Create(en: true).Value, CancellationToken.None)
                .AsTask().GetAwaiter().GetResult();
        }

        lock (Gate)
        {
            // Counted once the controllers are enabled again: whoever waits for the count may send commands at once.
            ResetCount++;
            RaiseControllerEvent(CompositeControllerStatus.SubsystemResetOccurred);
        }
    }

    /// <summary>The current firmware revision (of the active slot).</summary>
    public string ActiveFirmwareRevision => Nvm.Maintenance.ActiveFirmwareRevision;

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

    public void Dispose()
    {
        foreach (var admin in _admin.Values)
        {
            admin.Dispose();
        }

        Target.Dispose();
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

        /// <summary>Security protocol EAh payloads received by Security Send, newest last (at most 16).</summary>
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
