using System.Management.Automation;
using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Start-NvmfTarget: runs the engine's NVMe/TCP controller in this session, or (-Kernel) configures the Linux
/// kernel's target, nvmet, through configfs as nvmetcli does.</summary>
[Cmdlet(VerbsLifecycle.Start, "NvmfTarget", DefaultParameterSetName = UserspaceSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NvmfTarget), ParameterSetName = new[] { UserspaceSet })]
[OutputType(typeof(NvmetSubsystem), ParameterSetName = new[] { KernelSet })]
public sealed class StartNvmfTargetCommand : NvmeCmdlet
{
    private const string UserspaceSet = "Userspace";
    private const string KernelSet = "Kernel";

    /// <summary>address:port to listen on; port 0 picks a free port.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Listen { get; set; } = "127.0.0.1:4420";

    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string SubsystemNqn { get; set; } = string.Empty;

    /// <summary>Namespaces in the engine's spec form: "memory:SIZE", "file:PATH" or a path, with ",size=", ",bs=",
    /// ",nsid=", ",ro"; a comma inside a path is written twice. With -Kernel: block devices or files, NSIDs 1, 2, ...</summary>
    [Parameter(ParameterSetName = UserspaceSet)]
    [Parameter(Mandatory = true, ParameterSetName = KernelSet)]
    [ValidateNotNullOrEmpty]
    public string[] Namespace { get; set; } = { "memory:64MB" };

    /// <summary>Host NQNs allowed to connect; when none are given, any host may.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] AllowedHostNqn { get; set; } = Array.Empty<string>();

    /// <summary>Allowed hosts with the DH-HMAC-CHAP key each must authenticate with: NvmfAllowedHost objects or
    /// hashtables (HostNqn, DhchapSecret, DhchapControllerSecret, DhchapHash, DhchapGroup); a plain NQN needs no key.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public NvmfAllowedHost[] AllowedHost { get; set; } = Array.Empty<NvmfAllowedHost>();

    /// <summary>Bytes of NVM, held in memory, from which hosts may create namespaces with Namespace Management
    /// (New-NvmeNamespace, nvme create-ns). 0, the default, offers no Namespace Management.</summary>
    [Parameter(ParameterSetName = UserspaceSet)]
    [ValidateRange(0, long.MaxValue)]
    public long Capacity { get; set; }

    /// <summary>Also serve the discovery controller alone on this address:port (8009 by convention).</summary>
    [Parameter(ParameterSetName = UserspaceSet)]
    [ValidateNotNullOrEmpty]
    public string? DiscoveryListen { get; set; }

    /// <summary>Configure the kernel's NVMe target (nvmet) instead of running one in this session. It outlives the
    /// session; Stop-NvmfTarget -Kernel removes it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KernelSet)]
    public SwitchParameter Kernel { get; set; }

    /// <summary>attr_serial of the kernel subsystem (nvmet makes one up otherwise).</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [ValidateLength(1, 20)]
    public string? SerialNumber { get; set; }

    /// <summary>attr_model of the kernel subsystem ("Linux" otherwise).</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [ValidateLength(1, 40)]
    public string? ModelNumber { get; set; }

    /// <summary>The configfs port id; the lowest free one otherwise. A port already on -Listen is reused.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [ValidateRange(1, 65535)]
    public int PortId { get; set; }

    /// <summary>param_inline_data_size of a new kernel port, in bytes.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [ValidateRange(0, 1 << 20)]
    public int InlineDataSize { get; set; } = -1;

    /// <summary>buffered_io on the kernel namespaces: file-backed namespaces go through the page cache.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    public SwitchParameter BufferedIo { get; set; }

    /// <summary>Listen on a non-loopback address (the engine refuses otherwise).</summary>
    [Parameter]
    public SwitchParameter AllowNonLoopback { get; set; }

    protected override void EndProcessing()
    {
        if (ParameterSetName == KernelSet)
        {
            StartKernel();
            return;
        }

        IPEndPoint listen;
        IPEndPoint? discovery = null;
        try
        {
            listen = NvmeEndpoint.Parse(Listen, NvmeEndpoint.IoPort);
        }
        catch (FormatException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, Listen));
            return;
        }

        if (DiscoveryListen is not null)
        {
            try
            {
                discovery = NvmeEndpoint.Parse(DiscoveryListen, NvmeEndpoint.DiscoveryPort);
            }
            catch (FormatException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, DiscoveryListen));
                return;
            }
        }

        RefuseNonLoopback(listen, nameof(Listen));
        if (discovery is not null)
        {
            RefuseNonLoopback(discovery, nameof(DiscoveryListen));
        }

        List<NvmeNamespaceSpec> specs = NamespaceSpecs.Resolve(this, Namespace);
        string nqn = SubsystemNqn.Length > 0 ? SubsystemNqn : NvmeTargetHost.NewSubsystemNqn();

        if (NvmfSession.Current.SubsystemNqnInUse(nqn) is { } inUse)
        {
            ThrowTerminatingError(inUse);
        }

        // Two targets of this session never split one port's connections (see NvmeTargetHost.SharesPortWith).
        foreach (var endPoint in discovery is null ? [listen] : new[] { listen, discovery })
        {
            if (NvmfSession.Current.Targets.FirstOrDefault(t => t.HostObject.SharesPortWith(endPoint)) is { } busy)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"Port {endPoint.Port} is already served by the target of {busy.SubsystemNqn} on {busy.Listen}."),
                    "NvmfTargetPortInUse", ErrorCategory.ResourceBusy, busy));
            }
        }

        if (discovery is not null && discovery.Port != 0 && discovery.Port == listen.Port)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-DiscoveryListen needs a port of its own; the discovery controller already answers on -Listen."),
                "InvalidTargetArgument", ErrorCategory.InvalidArgument, DiscoveryListen));
        }

        if (!ShouldProcess($"{nqn} on {listen}", $"Start NVMe/TCP target with {specs.Count} namespace(s)"))
        {
            return;
        }

        NvmeTargetHost? host = null;
        try
        {
            var (hosts, keys) = DhchapArguments.ResolveAllowedHosts(this, AllowedHostNqn, AllowedHost);
            host = Wait(NvmeTargetHost.StartAsync(listen, nqn, specs, hosts, AllowNonLoopback, hostKeys: keys));
            host.Subsystem.NamespaceCapacity = Capacity;
            if (discovery is not null)
            {
                Wait(host.ListenDiscoveryAsync(discovery, AllowNonLoopback));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            if (host is not null)
            {
                Wait(host.DisposeAsync());
            }

            ThrowNvmeError(e, nqn);
            return;
        }

        var target = new NvmfTarget(host);
        NvmfSession.Current.Add(target);
        WriteVerbose($"Listening on {target.Listen}; discovery controller on the same port{(target.DiscoveryListen is { } d ? " and on " + d : string.Empty)}.");
        WriteObject(target);
    }

    /// <summary>A target is exposed beyond this machine only when asked: the engine refuses too, but in its own
    /// argument's name.</summary>
    private void RefuseNonLoopback(IPEndPoint endPoint, string parameter)
    {
        if (!AllowNonLoopback && !IPAddress.IsLoopback(endPoint.Address))
        {
            ThrowInputError("NvmeInvalidArgument", $"-{parameter} {endPoint.Address} is not a loopback address; add -AllowNonLoopback to serve other networks.", ErrorCategory.InvalidArgument, endPoint.Address.ToString());
        }
    }

    private void StartKernel()
    {
        var configfs = NvmetConfigfs.Default;
        try
        {
            // Where nvmet is missing nothing else matters: say so before looking at the arguments.
            configfs.EnsureAvailable();
        }
        catch (NvmeKernelException e)
        {
            ThrowNvmeError(e, configfs.Root);
        }

        IPEndPoint listen;
        try
        {
            listen = NvmeEndpoint.Parse(Listen, NvmeEndpoint.IoPort);
        }
        catch (FormatException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, Listen));
            return;
        }

        if (listen.Port == 0)
        {
            ThrowInputError("InvalidTargetArgument", "The kernel target needs a port number: nvmet cannot pick a free one.", ErrorCategory.InvalidArgument, Listen);
        }

        RefuseNonLoopback(listen, nameof(Listen));

        var namespaces = new List<NvmetNamespaceSpec>();
        foreach (string value in Namespace)
        {
            if (value.StartsWith("memory:", StringComparison.OrdinalIgnoreCase) || value.Contains(",nsid=", StringComparison.Ordinal) || value.Contains(",size=", StringComparison.Ordinal))
            {
                ThrowInputError("InvalidNamespaceSpec", $"'{value}': the kernel target serves block devices and files only, given as plain paths (NSIDs follow their order).", ErrorCategory.InvalidArgument, value);
            }

            string raw = value.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? value[5..] : value;
            string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(raw);
            if (!File.Exists(path))
            {
                ThrowTerminatingError(new ErrorRecord(new FileNotFoundException($"Namespace '{value}': {path} does not exist.", path),
                    "NamespaceFileNotFound", ErrorCategory.ObjectNotFound, value));
            }

            namespaces.Add(new NvmetNamespaceSpec((uint)(namespaces.Count + 1), path, BufferedIo ? true : null));
        }

        string nqn = SubsystemNqn.Length > 0 ? SubsystemNqn : NvmeTargetHost.NewSubsystemNqn();
        var (allowedHosts, hostKeys) = DhchapArguments.ResolveAllowedHosts(this, AllowedHostNqn, AllowedHost);
        var subsystem = new NvmetSubsystemSpec
        {
            Nqn = nqn,
            AllowAnyHost = allowedHosts.Length == 0,
            AllowedHosts = allowedHosts,
            HostKeys = hostKeys,
            SerialNumber = SerialNumber,
            ModelNumber = ModelNumber,
            Namespaces = namespaces,
        };
        var port = new NvmetPortSpec
        {
            Address = listen.Address.ToString(),
            ServiceId = listen.Port,
            PortId = PortId > 0 ? PortId : null,
            InlineDataSize = InlineDataSize >= 0 ? InlineDataSize : null,
        };

        if (!ShouldProcess($"{nqn} on {NvmeEndpoint.Format(port.Address, port.ServiceId)}", $"Configure the kernel NVMe target (nvmet) with {namespaces.Count} namespace(s)"))
        {
            return;
        }

        try
        {
            WriteObject(new NvmetSubsystem(configfs.Create(subsystem, port, AllowNonLoopback)));
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, nqn);
        }
    }
}
