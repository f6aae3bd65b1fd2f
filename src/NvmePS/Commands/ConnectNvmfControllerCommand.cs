using System.Management.Automation;
using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>Connect-NvmfController: associates with an NVMe/TCP controller and keeps the association open.</summary>
[Cmdlet(VerbsCommunications.Connect, "NvmfController")]
[OutputType(typeof(NvmfController))]
public sealed class ConnectNvmfControllerCommand : NvmeCmdlet
{
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

    [Parameter]
    public SwitchParameter DisableSqFlowControl { get; set; }

    /// <summary>KATO in seconds; 0 turns keep-alive off.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int KeepAliveTimeoutSec { get; set; } = 30;

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    protected override void ProcessRecord()
    {
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
        var parameters = identity.ApplyTo(new NvmeHostAssociationParameters
        {
            IoQueueCount = discovery ? 0 : IoQueueCount,
            IoQueueSize = QueueSize,
            HeaderDigest = HeaderDigest,
            DataDigest = DataDigest,
            DisableSqFlowControl = DisableSqFlowControl,
            KeepAliveTimeout = TimeSpan.FromSeconds(KeepAliveTimeoutSec),
            ConnectTimeout = TimeSpan.FromSeconds(TimeoutSec),
        });

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
}
