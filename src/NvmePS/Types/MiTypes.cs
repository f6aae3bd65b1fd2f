using System.Globalization;
using NvmePS.Engine.Admin;
using NvmePS.Engine.DBus;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS;

/// <summary>An MCTP endpoint the MCTP daemon (mctpd) publishes on D-Bus (Find-NvmeMiEndpoint). Network and Eid bind
/// by property name to Connect-NvmeMiEndpoint, Get-NvmeMiHealth, Get-NvmeMiController and Repair-NvmeMiEndpoint.</summary>
public sealed class MctpEndpointInfo
{
    public uint Network { get; init; }

    public byte Eid { get; init; }

    /// <summary>The endpoint's UUID, or empty when it reported none.</summary>
    public string Uuid { get; init; } = string.Empty;

    /// <summary>"Available" or "Degraded" (mctpd 2.x); empty for a 1.x daemon.</summary>
    public string Connectivity { get; init; } = string.Empty;

    public byte[] MessageTypes { get; init; } = Array.Empty<byte>();

    /// <summary>The message types by name: "Control, NVMe-MI".</summary>
    public string MessageTypeNames { get; init; } = string.Empty;

    public bool SupportsNvmeMi { get; init; }

    /// <summary>True for the daemon's own local EIDs.</summary>
    public bool IsLocal { get; init; }

    /// <summary>Vendor-defined message types, "PCI 1B96h set 1" or "IANA 0000A015h set 2".</summary>
    public string[] VendorMessageTypes { get; init; } = Array.Empty<string>();

    public string ObjectPath { get; init; } = string.Empty;

    /// <summary>"mctpd 2.x" or "mctpd 1.x".</summary>
    public string Daemon { get; init; } = string.Empty;

    /// <summary>The D-Bus address the endpoint was found on (Repair-NvmeMiEndpoint uses it).</summary>
    public string BusAddress { get; init; } = string.Empty;

    internal static MctpEndpointInfo From(MctpdEndpoint e, string busAddress) => new()
    {
        Network = e.Network,
        Eid = e.Eid,
        Uuid = e.Uuid?.ToString("D") ?? string.Empty,
        Connectivity = e.Connectivity,
        MessageTypes = e.MessageTypes.ToArray(),
        MessageTypeNames = string.Join(", ", e.MessageTypes.Select(MctpMessageTypes.Name)),
        SupportsNvmeMi = e.SupportsNvmeMi,
        IsLocal = e.IsLocal,
        VendorMessageTypes = e.VendorMessageTypes.Select(v => v.Format == 0
            ? $"PCI {v.VendorId:X4}h set {v.CommandSet}"
            : $"IANA {v.VendorId:X8}h set {v.CommandSet}").ToArray(),
        ObjectPath = e.ObjectPath,
        Daemon = e.Layout == MctpdLayout.V2 ? "mctpd 2.x" : "mctpd 1.x",
        BusAddress = busAddress,
    };
}

/// <summary>A connected NVMe-MI endpoint (Connect-NvmeMiEndpoint). It holds a live transport: across a remoting
/// boundary only its properties travel.</summary>
public sealed class NvmeMiConnection
{
    private bool _closed;

    internal NvmeMiConnection(NvmeMiEndpoint endpoint, string transport)
    {
        Endpoint = endpoint;
        Transport = transport;
        ConnectedAt = DateTime.Now;
    }

    internal NvmeMiEndpoint Endpoint { get; }

    public uint Network => Endpoint.Address.Network;

    public byte Eid => Endpoint.Address.Eid;

    /// <summary>AfMctp, Demux or Simulated.</summary>
    public string Transport { get; }

    public string Name => $"NVMe-MI net {Network} eid {Eid} via {Transport}";

    public bool IsConnected => !_closed;

    /// <summary>Per-command timeout, seconds.</summary>
    public double TimeoutSec => Endpoint.Options.Timeout.TotalSeconds;

    public DateTime ConnectedAt { get; }

    internal async Task CloseAsync()
    {
        _closed = true;
        await Endpoint.DisposeAsync().ConfigureAwait(false);
    }

    public override string ToString() => Name;
}

/// <summary>NVM Subsystem Health Status Poll (NVMe-MI §5.6): the subsystem's health through its management endpoint.</summary>
public sealed class NvmeMiSubsystemHealth
{
    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    public NvmeCriticalWarning CriticalWarning { get; init; }

    /// <summary>Composite temperature (CTEMP) in °C; null when the value is stale or the sensor failed (see TemperatureStatus).</summary>
    public int? TemperatureCelsius { get; init; }

    /// <summary>"OK", "Stale" or "SensorFailure".</summary>
    public string TemperatureStatus { get; init; } = string.Empty;

    public byte PercentageUsed { get; init; }

    public bool DriveFunctional { get; init; }

    public bool ResetNotRequired { get; init; }

    /// <summary>Composite Controller Status: the change flags the subsystem has seen since they were last cleared.</summary>
    public CompositeControllerStatus ControllerStatusChanges { get; init; }

    internal static NvmeMiSubsystemHealth From(NvmSubsystemHealthStatus h, NvmeMiConnection c) => new()
    {
        EndpointName = c.Name,
        Network = c.Network,
        Eid = c.Eid,
        CriticalWarning = h.Warnings,
        TemperatureCelsius = h.TemperatureStale || h.TemperatureSensorFailure ? null : h.CompositeTemperatureCelsius,
        TemperatureStatus = h.TemperatureStale ? "Stale" : h.TemperatureSensorFailure ? "SensorFailure" : "OK",
        PercentageUsed = h.PercentageDriveLifeUsed,
        DriveFunctional = h.DriveFunctional,
        ResetNotRequired = h.ResetNotRequired,
        ControllerStatusChanges = h.CompositeControllerStatus,
    };
}

/// <summary>Controller Health Status Poll (NVMe-MI §5.3): one controller's health, which libnvme-mi does not offer.</summary>
public sealed class NvmeMiControllerHealth
{
    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    public ushort ControllerId { get; init; }

    public bool Ready { get; init; }

    public bool FatalStatus { get; init; }

    /// <summary>CSTS.SHST: 0 normal, 1 shutdown in progress, 2 shutdown complete.</summary>
    public int ShutdownStatus { get; init; }

    public int TemperatureCelsius { get; init; }

    public byte PercentageUsed { get; init; }

    public byte AvailableSpare { get; init; }

    public NvmeCriticalWarning CriticalWarning { get; init; }

    public ControllerHealthChangeFlags ChangedFlags { get; init; }

    internal static NvmeMiControllerHealth From(ControllerHealthStatus h, NvmeMiConnection c) => new()
    {
        EndpointName = c.Name,
        Network = c.Network,
        Eid = c.Eid,
        ControllerId = h.ControllerId,
        Ready = h.Ready,
        FatalStatus = h.FatalStatus,
        ShutdownStatus = h.ShutdownStatus,
        TemperatureCelsius = h.CompositeTemperatureCelsius,
        PercentageUsed = h.PercentageUsed,
        AvailableSpare = h.AvailableSpare,
        CriticalWarning = h.Warnings,
        ChangedFlags = h.ChangedFlags,
    };
}

/// <summary>An NVMe controller reached through an NVMe-MI endpoint (Get-NvmeMiController). Get-NvmeIdentify, Get-NvmeLog,
/// Get-NvmeFeature and Set-NvmeFeature send their Admin commands to it tunnelled in NVMe-MI messages.</summary>
public sealed class NvmeMiController : NvmeAdminConnection
{
    private readonly NvmeAdminClient _admin;

    internal NvmeMiController(NvmeMiConnection connection, ushort controllerId, ControllerInformation info)
    {
        Connection = connection;
        ControllerId = controllerId;
        PortId = info.PortId;
        PciVendorId = $"{info.PciVendorId:X4}";
        PciDeviceId = $"{info.PciDeviceId:X4}";
        PciSubsystemVendorId = $"{info.PciSubsystemVendorId:X4}";
        PciSubsystemDeviceId = $"{info.PciSubsystemDeviceId:X4}";
        _admin = new NvmeAdminClient(connection.Endpoint.GetAdminTransport(controllerId));
    }

    internal NvmeMiConnection Connection { get; }

    public override string Name => $"{Connection.Name} controller {ControllerId}";

    public override bool IsConnected => Connection.IsConnected;

    internal override NvmeAdminClient Admin => _admin;

    public uint Network => Connection.Network;

    public byte Eid => Connection.Eid;

    public ushort ControllerId { get; }

    /// <summary>The port the controller is on.</summary>
    public byte PortId { get; }

    public string PciVendorId { get; }

    public string PciDeviceId { get; }

    public string PciSubsystemVendorId { get; }

    public string PciSubsystemDeviceId { get; }

    public string Transport => Connection.Transport;
}

/// <summary>A simulated NVMe-MI endpoint served in this session (Start-NvmeMiSimulator).</summary>
public sealed class NvmeMiSimulator
{
    internal NvmeMiSimulator(NvmeMiSimulatorHost host)
    {
        Host = host;
        StartedAt = DateTime.Now;
    }

    internal NvmeMiSimulatorHost Host { get; }

    /// <summary>InProcess or Demux.</summary>
    public string Transport => Host.Options.Transport.ToString();

    public uint Network => Host.EndpointAddress.Network;

    public byte Eid => Host.EndpointAddress.Eid;

    /// <summary>The demux socket name (Demux only).</summary>
    public string SocketName => Host.Options.Transport == SimulatorTransportKind.Demux ? Host.Options.DemuxSocketName : string.Empty;

    public bool IsRunning => Host.IsRunning;

    public DateTime StartedAt { get; }

    public string Name => string.Create(CultureInfo.InvariantCulture, $"simulated NVMe-MI endpoint net {Network} eid {Eid} ({Transport})");

    public override string ToString() => Name;
}

/// <summary>A change seen by Watch-NvmeMiHealth between two polls of an endpoint.</summary>
public sealed class NvmeMiHealthEvent
{
    public DateTime TimeStamp { get; init; }

    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    /// <summary>Null for the subsystem's health, else the controller's id.</summary>
    public ushort? ControllerId { get; init; }

    /// <summary>CriticalWarning, Temperature, TemperatureThreshold, PercentageUsed, AvailableSpare, DriveFunctional,
    /// ControllerStatus, or Reachable (the endpoint stopped or started answering).</summary>
    public string Change { get; init; } = string.Empty;

    public string OldValue { get; init; } = string.Empty;

    public string NewValue { get; init; } = string.Empty;
}

/// <summary>NVM Subsystem Information and what else the endpoint describes (Read NVMe-MI Data Structure, NVMe-MI §5.7).</summary>
public sealed class NvmeMiSubsystemInfo
{
    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    /// <summary>NUMP + 1: the ports of the subsystem.</summary>
    public int PortCount { get; init; }

    /// <summary>The NVMe-MI version the endpoint implements, "major.minor".</summary>
    public string NvmeMiVersion { get; init; } = string.Empty;

    /// <summary>NNSC, the NVM subsystem capabilities byte.</summary>
    public byte Capabilities { get; init; }

    public ushort[] ControllerIds { get; init; } = Array.Empty<ushort>();

    /// <summary>The optional commands the endpoint supports, "MI 06h" or "Admin 10h".</summary>
    public string[] OptionalCommands { get; init; } = Array.Empty<string>();

    internal static NvmeMiSubsystemInfo From(NvmSubsystemInformation info, IReadOnlyList<ushort> controllerIds, IReadOnlyList<OptionalCommand> optional, NvmeMiConnection c) => new()
    {
        EndpointName = c.Name,
        Network = c.Network,
        Eid = c.Eid,
        PortCount = info.PortCount,
        NvmeMiVersion = $"{info.MajorVersion}.{info.MinorVersion}",
        Capabilities = info.Capabilities,
        ControllerIds = controllerIds.ToArray(),
        OptionalCommands = optional.Select(o => $"{o.Type switch { NvmeMiMessageType.MiCommand => "MI", NvmeMiMessageType.AdminCommand => "Admin", NvmeMiMessageType.PcieCommand => "PCIe", _ => o.Type.ToString() }} {o.Opcode:X2}h").ToArray(),
    };
}

/// <summary>One port of the subsystem (Port Information, NVMe-MI §5.7.2).</summary>
public sealed class NvmeMiPortInfo
{
    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    public byte PortId { get; init; }

    public NvmeMiPortType PortType { get; init; }

    /// <summary>MCTP transmission unit size the port supports at most, bytes.</summary>
    public ushort MaxMctpTransmissionUnit { get; init; }

    /// <summary>Management endpoint buffer size, bytes (0: none).</summary>
    public uint ManagementEndpointBufferSize { get; init; }

    /// <summary>PCIe: the link, "x4 (width x4 max)"; empty for other ports.</summary>
    public string PcieLink { get; init; } = string.Empty;

    /// <summary>SMBus: the management endpoint's 7-bit address; 0 for other ports.</summary>
    public byte SmbusAddress { get; init; }

    internal static NvmeMiPortInfo From(byte portId, PortInformation p, NvmeMiConnection c) => new()
    {
        EndpointName = c.Name,
        Network = c.Network,
        Eid = c.Eid,
        PortId = portId,
        PortType = p.PortType,
        MaxMctpTransmissionUnit = p.MaxMctpTransmissionUnit,
        ManagementEndpointBufferSize = p.ManagementEndpointBufferSize,
        PcieLink = p.PortType == NvmeMiPortType.Pcie ? $"x{p.PcieNegotiatedLinkWidth} (x{p.PcieMaxLinkWidth} max)" : string.Empty,
        SmbusAddress = p.PortType == NvmeMiPortType.Smbus ? p.ManagementEndpointSmbusAddress : (byte)0,
    };
}

/// <summary>The configuration of one port (Configuration Get, NVMe-MI §5.1).</summary>
public sealed class NvmeMiConfiguration
{
    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    public byte PortId { get; init; }

    public NvmeMiPortType PortType { get; init; }

    /// <summary>SMBus/I2C frequency (SMBus ports; NotSupported elsewhere).</summary>
    public SmbusFrequency SmbusFrequency { get; init; }

    /// <summary>MCTP transmission unit size in use, bytes.</summary>
    public ushort MctpTransmissionUnit { get; init; }

    /// <summary>Asynchronous events the endpoint supports, with whether each is enabled: "01h enabled".</summary>
    public string[] AsyncEvents { get; init; } = Array.Empty<string>();

    internal static NvmeMiConfiguration From(NvmeMiPortConfiguration p, IReadOnlyList<AsyncEventItem> events, NvmeMiConnection c) => new()
    {
        EndpointName = c.Name,
        Network = c.Network,
        Eid = c.Eid,
        PortId = p.PortId,
        PortType = p.PortType,
        SmbusFrequency = p.SmbusFrequency,
        MctpTransmissionUnit = p.MctpTransmissionUnit,
        AsyncEvents = events.Select(e => $"{e.Id:X2}h {(e.Enabled ? "enabled" : "disabled")}").ToArray(),
    };
}

/// <summary>Vital Product Data read through the management endpoint (VPD Read, NVMe-MI §5.10).</summary>
public sealed class NvmeMiVpd
{
    public string EndpointName { get; init; } = string.Empty;

    public ushort Offset { get; init; }

    public int Length { get; init; }

    public byte[] Data { get; init; } = Array.Empty<byte>();

    /// <summary>The printable ASCII of the data, other bytes as '.'.</summary>
    public string Text { get; init; } = string.Empty;
}

/// <summary>One occurrence from an NVMe-MI Asynchronous Event Message, as Wait-NvmeMiEvent writes it.</summary>
public sealed class NvmeMiAsyncEvent
{
    public DateTime TimeStamp { get; init; }

    public string EndpointName { get; init; } = string.Empty;

    public uint Network { get; init; }

    public byte Eid { get; init; }

    /// <summary>AEMGN: the AEM's 5-bit generation number.</summary>
    public byte Generation { get; init; }

    /// <summary>AEOI: the asynchronous event identifier.</summary>
    public byte EventId { get; init; }

    /// <summary>AEOCIDI: the occurrence's controller or scope identifier information.</summary>
    public uint ControllerInfo { get; init; }

    /// <summary>AESSI: the occurrence's scope-specific information.</summary>
    public byte ScopeInfo { get; init; }

    /// <summary>AEOSI: event-specific information, as sent.</summary>
    public byte[] SpecificInfo { get; init; } = Array.Empty<byte>();

    /// <summary>AEOSI in hex, for the table view and for serialization.</summary>
    public string SpecificInfoHex => Convert.ToHexString(SpecificInfo);

    /// <summary>AEOVSI: vendor-specific information, as sent.</summary>
    public byte[] VendorInfo { get; init; } = Array.Empty<byte>();

    /// <summary>What the simulator means by the event, when the endpoint is NvmePS's simulator (which names its own
    /// identifiers); otherwise empty.</summary>
    public string SimulatorEvent { get; init; } = string.Empty;
}
