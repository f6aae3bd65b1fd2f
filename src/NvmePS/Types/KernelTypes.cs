using System.Globalization;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Kernel;

namespace NvmePS;

/// <summary>
/// A controller the Linux kernel's NVMe driver owns: a local PCIe drive, or a fabrics controller the kernel host
/// connected (Get-NvmeDevice, Connect-NvmfController -Kernel). The Admin cmdlets reach it through the passthrough
/// ioctls on its character device. Properties are what sysfs said when the object was made.
/// </summary>
public sealed class NvmeKernelController : NvmeAdminConnection
{
    private readonly NvmeKernelSysfs _sysfs;
    private NvmeAdminClient? _admin;

    internal NvmeKernelController(NvmeKernelControllerInfo info, NvmeKernelSysfs sysfs)
    {
        Info = info;
        _sysfs = sysfs;
        Namespaces = info.Namespaces.Select(n => new NvmeKernelNamespace(n, info.Name)).ToArray();
    }

    internal NvmeKernelControllerInfo Info { get; }

    /// <summary>The kernel's name, nvmeN.</summary>
    public override string Name => Info.Name;

    /// <summary>True while the kernel still has this controller.</summary>
    public override bool IsConnected => Directory.Exists(Path.Combine(_sysfs.ClassDirectory, Info.Name));

    internal override NvmeAdminClient Admin => _admin ??= new NvmeAdminClient(CreateTransport());

    internal NvmeKernelAdminTransport CreateTransport(TimeSpan commandTimeout = default) => new(Info.DevicePath, Info.MaxDataTransferSize, commandTimeout);

    public int Instance => Info.Instance;

    /// <summary>The character device the passthrough ioctls go to, /dev/nvmeN.</summary>
    public string DevicePath => Info.DevicePath;

    /// <summary>pcie, tcp, rdma, fc or loop.</summary>
    public string Transport => Info.Transport;

    /// <summary>The PCI address, or the fabrics address as the kernel prints it (traddr=…,trsvcid=…).</summary>
    public string Address => Info.Address;

    /// <summary>Where the controller is, short: the PCI address, or address:port of a fabrics controller.</summary>
    public string Endpoint => Info.Endpoint;

    public string SubsystemNqn => Info.SubsystemNqn;

    public string ModelNumber => Info.Model;

    public string SerialNumber => Info.SerialNumber;

    public string FirmwareRevision => Info.FirmwareRevision;

    /// <summary>live, connecting, resetting, deleting, dead, new.</summary>
    public string State => Info.State;

    public ushort ControllerId => Info.ControllerId;

    /// <summary>The host NQN a fabrics controller connected with; empty for PCIe.</summary>
    public string HostNqn => Info.HostNqn;

    /// <summary>Queues the driver set up, the admin queue included.</summary>
    public int QueueCount => Info.QueueCount;

    public int MaxDataTransferBytes => Info.MaxDataTransferSize;

    public NvmeKernelNamespace[] Namespaces { get; }

    /// <summary>The namespaces' block devices, for the table view: "nvme1n1 nvme1n2".</summary>
    public string BlockDevices => string.Join(' ', Namespaces.Select(n => n.Name));
}

/// <summary>A namespace of a kernel controller and its block device.</summary>
public sealed class NvmeKernelNamespace
{
    internal NvmeKernelNamespace(NvmeKernelNamespaceInfo info, string controllerName)
    {
        ControllerName = controllerName;
        Name = info.Name;
        NamespaceId = info.NamespaceId;
        BlockDevice = info.BlockDevice;
        SizeBytes = info.SizeBytes;
        LogicalBlockSize = info.LogicalBlockSize;
        MetadataBytes = info.MetadataBytes;
        Wwid = info.Wwid;
    }

    public string ControllerName { get; }

    /// <summary>nvmeNnM.</summary>
    public string Name { get; }

    public uint NamespaceId { get; }

    /// <summary>/dev/nvmeNnM.</summary>
    public string BlockDevice { get; }

    public long SizeBytes { get; }

    /// <summary>SizeBytes in binary units, as `nvme list` prints usage.</summary>
    public string Size => NvmeUnits.FormatBytes(SizeBytes);

    public int LogicalBlockSize { get; }

    public int MetadataBytes { get; }

    /// <summary>The LBA format as `nvme list` prints it: "512 B + 0 B".</summary>
    public string Format => string.Create(CultureInfo.InvariantCulture, $"{LogicalBlockSize} B + {MetadataBytes} B");

    public string Wwid { get; }
}

/// <summary>A subsystem of the kernel NVMe target (nvmet), as configfs holds it; made by Start-NvmfTarget -Kernel
/// or by any other tool.</summary>
public sealed class NvmetSubsystem
{
    internal NvmetSubsystem(NvmetSubsystemInfo info)
    {
        SubsystemNqn = info.Nqn;
        AllowAnyHost = info.AllowAnyHost;
        AllowedHostNqn = info.AllowedHosts.ToArray();
        SerialNumber = info.SerialNumber;
        ModelNumber = info.ModelNumber;
        Namespaces = info.Namespaces.Select(n => new NvmetNamespace
        {
            SubsystemNqn = info.Nqn,
            NamespaceId = n.NamespaceId,
            DevicePath = n.DevicePath,
            Enabled = n.Enabled,
            BufferedIo = n.BufferedIo,
            DeviceUuid = n.DeviceUuid,
        }).ToArray();
        Ports = info.Ports.Select(p => new NvmetPort
        {
            PortId = p.PortId,
            Transport = p.Transport,
            AddressFamily = p.AddressFamily,
            Address = p.Address,
            ServiceId = p.ServiceId,
            InlineDataSize = p.InlineDataSize,
            SubsystemNqns = p.Subsystems.ToArray(),
        }).ToArray();
    }

    public string SubsystemNqn { get; }

    public bool AllowAnyHost { get; }

    public string[] AllowedHostNqn { get; }

    public string SerialNumber { get; }

    public string ModelNumber { get; }

    public NvmetNamespace[] Namespaces { get; }

    public NvmetPort[] Ports { get; }

    /// <summary>address:service of every port exposing the subsystem.</summary>
    public string Listen => string.Join(' ', Ports.Select(p => p.Listen));

    public override string ToString() => SubsystemNqn;
}

/// <summary>A namespace of an nvmet subsystem.</summary>
public sealed class NvmetNamespace
{
    public string SubsystemNqn { get; init; } = string.Empty;

    public uint NamespaceId { get; init; }

    public string DevicePath { get; init; } = string.Empty;

    public bool Enabled { get; init; }

    public bool BufferedIo { get; init; }

    public string DeviceUuid { get; init; } = string.Empty;
}

/// <summary>A port of the kernel NVMe target (configfs ports/N).</summary>
public sealed class NvmetPort
{
    public int PortId { get; init; }

    public string Transport { get; init; } = string.Empty;

    public string AddressFamily { get; init; } = string.Empty;

    public string Address { get; init; } = string.Empty;

    public string ServiceId { get; init; } = string.Empty;

    public int InlineDataSize { get; init; }

    public string[] SubsystemNqns { get; init; } = Array.Empty<string>();

    public string Listen => AddressFamily == "ipv6" ? $"[{Address}]:{ServiceId}" : $"{Address}:{ServiceId}";
}
