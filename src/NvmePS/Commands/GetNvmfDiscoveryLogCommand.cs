using System.Management.Automation;
using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>Get-NvmfDiscoveryLog: what a discovery controller offers, one object per log entry. Given an address
/// it connects to the discovery controller and disconnects by itself.</summary>
[Cmdlet(VerbsCommon.Get, "NvmfDiscoveryLog", DefaultParameterSetName = AddressSet)]
[OutputType(typeof(NvmfDiscoveryLogEntry))]
public sealed class GetNvmfDiscoveryLogCommand : NvmeCmdlet
{
    private const string AddressSet = "Address";
    private const string ControllerSet = "Controller";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = AddressSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Traddr", "Address")]
    [ValidateNotNullOrEmpty]
    public string TransportAddress { get; set; } = string.Empty;

    /// <summary>TCP port of the discovery controller (8009 by default; the engine's target answers on its I/O port too).</summary>
    [Parameter(ParameterSetName = AddressSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Trsvcid", "Port")]
    [ValidateRange(1, 65535)]
    public int ServiceId { get; set; } = 8009;

    [Parameter(ParameterSetName = AddressSet)]
    [ValidateNotNullOrEmpty]
    public string HostNqn { get; set; } = string.Empty;

    [Parameter(ParameterSetName = AddressSet)]
    public Guid HostId { get; set; }

    /// <summary>An existing connection to a discovery controller (Connect-NvmfController without -SubsystemNqn).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ControllerSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfController Controller { get; set; } = null!;

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    protected override void ProcessRecord()
    {
        using var cts = LinkedTimeout(TimeoutSec);
        if (ParameterSetName == ControllerSet)
        {
            if (!AdminCmdlets.CheckConnected(this, Controller))
            {
                return;
            }

            WriteEntries(Controller.Host, Controller.Name, Controller, cts.Token);
            return;
        }

        IPEndPoint endPoint;
        try
        {
            endPoint = Wait(NvmeEndpoint.ResolveAsync(TransportAddress, ServiceId, StopToken));
        }
        catch (FormatException e)
        {
            WriteError(new ErrorRecord(e, "InvalidTransportAddress", ErrorCategory.InvalidArgument, TransportAddress));
            return;
        }

        var parameters = NvmeHostIdentity.Resolve(HostNqn, HostId).ApplyTo(new NvmeHostAssociationParameters
        {
            ConnectTimeout = TimeSpan.FromSeconds(TimeoutSec),
            KeepAliveTimeout = TimeSpan.Zero,
        });
        string target = $"discovery controller at {endPoint}";
        NvmeHostAssociation association;
        try
        {
            association = Wait(NvmeHostAssociation.ConnectDiscoveryAsync(endPoint, parameters, cts.Token));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, target);
            return;
        }

        try
        {
            WriteEntries(association, target, target, cts.Token);
        }
        finally
        {
            // Disconnect even when the pipeline stops; a failed shutdown of a temporary connection is not news.
            association.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void WriteEntries(NvmeHostAssociation host, string name, object target, CancellationToken ct)
    {
        try
        {
            foreach (var entry in Wait(host.GetDiscoveryLogAsync(ct)).Entries)
            {
                WriteObject(NvmfDiscoveryLogEntry.From(entry, name));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, target);
        }
    }
}
