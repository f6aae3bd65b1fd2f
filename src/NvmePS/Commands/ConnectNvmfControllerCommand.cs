using System.Management.Automation;
using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Connect-NvmfController: associates with an NVMe/TCP controller and keeps the association open, either in
/// this session's userspace host or (-Kernel) in the Linux kernel's host, which makes block devices of the namespaces.</summary>
[Cmdlet(VerbsCommunications.Connect, "NvmfController", DefaultParameterSetName = UserspaceSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NvmfController), ParameterSetName = new[] { UserspaceSet })]
[OutputType(typeof(NvmeKernelController), ParameterSetName = new[] { KernelSet })]
public sealed class ConnectNvmfControllerCommand : NvmeCmdlet
{
    private const string UserspaceSet = "Userspace";
    private const string KernelSet = "Kernel";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Traddr", "Address")]
    [ValidateNotNullOrEmpty]
    public string TransportAddress { get; set; } = string.Empty;

    /// <summary>TCP port: 4420 for I/O controllers, 8009 for discovery controllers.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Trsvcid", "Port")]
    [ValidateRange(1, 65535)]
    public int ServiceId { get; set; }

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("SubNqn")]
    [ArgumentCompleter(typeof(ConnectableNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string SubsystemNqn { get; set; } = FabricsCommand.DiscoveryNqn;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string HostNqn { get; set; } = string.Empty;

    [Parameter]
    public Guid HostId { get; set; }

    [Parameter]
    [ValidateRange(0, 64)]
    public int IoQueueCount { get; set; } = 1;

    [Parameter]
    [ValidateRange(2, 1024)]
    public int QueueSize { get; set; } = 128;

    [Parameter]
    public SwitchParameter HeaderDigest { get; set; }

    [Parameter]
    public SwitchParameter DataDigest { get; set; }

    [Parameter(ParameterSetName = UserspaceSet)]
    public SwitchParameter DisableSqFlowControl { get; set; }

    /// <summary>The host's DH-HMAC-CHAP secret (DHHC-1 string or SecureString), used when the controller requires
    /// in-band authentication.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public object? DhchapSecret { get; set; }

    /// <summary>A file holding the host's DHHC-1 secret (its first non-empty line), instead of -DhchapSecret.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DhchapSecretPath { get; set; }

    /// <summary>The controller's secret: the host then authenticates the controller too (bidirectional).</summary>
    [Parameter]
    [ValidateNotNull]
    public object? DhchapControllerSecret { get; set; }

    /// <summary>Connect the Linux kernel's NVMe host (through /dev/nvme-fabrics) instead of this session's.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KernelSet)]
    public SwitchParameter Kernel { get; set; }

    /// <summary>ctrl_loss_tmo: seconds the kernel keeps reconnecting a lost controller before removing it; -1 forever.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [ValidateRange(-1, 1_000_000)]
    public int ControllerLossTimeoutSec { get; set; } = int.MinValue;

    /// <summary>reconnect_delay: seconds between the kernel's reconnect attempts.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [ValidateRange(1, 1_000_000)]
    public int ReconnectDelaySec { get; set; } = int.MinValue;

    /// <summary>The local address the connection comes from (nvme-cli's --host-traddr): this session's sockets bind
    /// to it, or the kernel gets it as host_traddr.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostTransportAddress { get; set; }

    /// <summary>duplicate_connect: a second kernel controller to the same subsystem and address.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    public SwitchParameter DuplicateConnect { get; set; }

    /// <summary>A discovery log entry's subsystem type. Piped entries that are discovery subsystems (the current one,
    /// or referrals) are skipped, as `nvme connect-all` skips them: only NVM subsystems are connected.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Subtype")]
    [ValidateNotNullOrEmpty]
    public string? SubsystemType { get; set; }

    /// <summary>KATO in seconds; 0 turns keep-alive off.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int KeepAliveTimeoutSec { get; set; } = 30;

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    protected override void ProcessRecord()
    {
        if (SubsystemType is { } subtype && subtype.Contains("discovery", StringComparison.OrdinalIgnoreCase))
        {
            WriteVerbose($"Skipping {SubsystemNqn} at {TransportAddress}:{ServiceId}: a {subtype} entry, not an NVM subsystem.");
            return;
        }

        if (!Nqn.IsWellFormed(SubsystemNqn))
        {
            // Checked here so the message names the cmdlet's parameter, not the engine's argument.
            string message = $"-SubsystemNqn '{SubsystemNqn}' is not an NQN.";
            WriteError(new ErrorRecord(new ArgumentException(message), "NvmeInvalidArgument", ErrorCategory.InvalidArgument, SubsystemNqn)
            {
                ErrorDetails = new ErrorDetails(message)
                {
                    RecommendedAction = $"An NQN is nqn.yyyy-mm.<reverse domain>[:<name>], at most {Nqn.MaxLength} bytes; Get-NvmfDiscoveryLog lists a controller's subsystems.",
                },
            });
            return;
        }

        bool discovery = SubsystemNqn == FabricsCommand.DiscoveryNqn;
        int port = ServiceId != 0 ? ServiceId : NvmeEndpoint.DefaultPortFor(SubsystemNqn);
        IPEndPoint endPoint;
        try
        {
            endPoint = Wait(NvmeEndpoint.ResolveAsync(TransportAddress, port, StopToken));
        }
        catch (FormatException e)
        {
            WriteError(new ErrorRecord(e, "InvalidTransportAddress", ErrorCategory.InvalidArgument, TransportAddress));
            return;
        }

        var identity = NvmeHostIdentity.Resolve(HostNqn, HostId);
        Engine.Fabrics.Auth.DhchapSecret? hostSecret, controllerSecret;
        try
        {
            if (DhchapSecret is not null && DhchapSecretPath is not null)
            {
                throw new ArgumentException("Give -DhchapSecret or -DhchapSecretPath, not both.");
            }

            hostSecret = DhchapSecretPath is not null
                ? DhchapArguments.ReadFile(SessionState.Path.GetUnresolvedProviderPathFromPSPath(DhchapSecretPath), nameof(DhchapSecretPath))
                : DhchapArguments.Resolve(DhchapSecret, nameof(DhchapSecret));
            controllerSecret = DhchapArguments.Resolve(DhchapControllerSecret, nameof(DhchapControllerSecret));
            if (controllerSecret is not null && hostSecret is null)
            {
                throw new ArgumentException("-DhchapControllerSecret needs the host's secret (-DhchapSecret) too.");
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "InvalidDhchapSecret", ErrorCategory.InvalidArgument, SubsystemNqn));
            return;
        }

        if (ParameterSetName == KernelSet)
        {
            ConnectKernel(endPoint, identity, hostSecret, controllerSecret);
            return;
        }

        IPAddress? from = null;
        if (HostTransportAddress is not null && !IPAddress.TryParse(HostTransportAddress, out from))
        {
            WriteError(new ErrorRecord(new ArgumentException($"-HostTransportAddress '{HostTransportAddress}' is not an IP address."),
                "InvalidHostTransportAddress", ErrorCategory.InvalidArgument, HostTransportAddress));
            return;
        }

        var parameters = identity.ApplyTo(new NvmeHostAssociationParameters
        {
            HostTransportAddress = from,
            IoQueueCount = discovery ? 0 : IoQueueCount,
            IoQueueSize = QueueSize,
            HeaderDigest = HeaderDigest,
            DataDigest = DataDigest,
            DisableSqFlowControl = DisableSqFlowControl,
            KeepAliveTimeout = TimeSpan.FromSeconds(KeepAliveTimeoutSec),
            ConnectTimeout = TimeSpan.FromSeconds(TimeoutSec),
            DhchapSecret = hostSecret,
            DhchapControllerSecret = controllerSecret,
        });

        if (!ShouldProcess($"{SubsystemNqn} at {endPoint}", "Connect this session's NVMe/TCP host"))
        {
            return;
        }

        WriteVerbose($"Connecting to {SubsystemNqn} at {endPoint} as {identity.HostNqn}.");
        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var association = Wait(NvmeHostAssociation.ConnectAsync(endPoint, SubsystemNqn, parameters, cts.Token));
            var controller = new NvmfController(association, endPoint.Address.ToString(), endPoint.Port, identity.HostId);
            NvmfSession.Current.Add(controller);
            WriteObject(controller);
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, $"{SubsystemNqn} at {endPoint}");
        }
    }

    private void ConnectKernel(IPEndPoint endPoint, NvmeHostIdentity identity, Engine.Fabrics.Auth.DhchapSecret? hostSecret, Engine.Fabrics.Auth.DhchapSecret? controllerSecret)
    {
        bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
        var options = new NvmeKernelConnectOptions
        {
            TransportAddress = endPoint.Address.ToString(),
            ServiceId = endPoint.Port,
            SubsystemNqn = SubsystemNqn,
            HostNqn = identity.HostNqn,
            HostId = identity.HostId,
            HostTransportAddress = HostTransportAddress,
            // Unbound options keep the kernel's defaults (one I/O queue per CPU, its own keep-alive), as nvme connect does.
            IoQueueCount = Bound(nameof(IoQueueCount)) && IoQueueCount > 0 ? IoQueueCount : null,
            QueueSize = Bound(nameof(QueueSize)) ? QueueSize : null,
            KeepAliveTimeoutSec = Bound(nameof(KeepAliveTimeoutSec)) ? KeepAliveTimeoutSec : null,
            ControllerLossTimeoutSec = Bound(nameof(ControllerLossTimeoutSec)) ? ControllerLossTimeoutSec : null,
            ReconnectDelaySec = Bound(nameof(ReconnectDelaySec)) ? ReconnectDelaySec : null,
            HeaderDigest = HeaderDigest,
            DataDigest = DataDigest,
            DuplicateConnect = DuplicateConnect,
            DhchapSecret = hostSecret,
            DhchapControllerSecret = controllerSecret,
        };

        try
        {
            // Checks every option before anything is written.
            _ = options.ToOptionString();
        }
        catch (ArgumentException e)
        {
            WriteError(new ErrorRecord(e, "InvalidKernelConnectOption", ErrorCategory.InvalidArgument, SubsystemNqn));
            return;
        }

        string target = $"{SubsystemNqn} at {NvmeEndpoint.Format(endPoint.Address.ToString(), endPoint.Port)}";
        if (!ShouldProcess(target, "Connect the kernel's NVMe host"))
        {
            return;
        }

        WriteVerbose($"Writing to /dev/nvme-fabrics: {options.ToOptionString(hideSecrets: true)}");
        var fabrics = new NvmeKernelFabrics();
        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var (info, missing) = Wait(fabrics.ConnectAsync(options, TimeSpan.FromSeconds(TimeoutSec), cts.Token));
            if (missing.Count > 0)
            {
                WriteWarning($"{info.Name}: no block device appeared within {TimeoutSec} s for namespace(s) {string.Join(", ", missing)}.");
            }

            WriteObject(new NvmeKernelController(info, fabrics.Sysfs));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, target);
        }
    }
}
