using System.Management.Automation;
using NvmePS.Engine.DBus;

namespace NvmePS.Commands;

/// <summary>Repair-NvmeMiEndpoint: asks mctpd to recover an endpoint (Endpoint1.Recover): it re-probes the endpoint and
/// marks it Degraded, then removes it if it stays silent. Needs root or the mctp-admin group.</summary>
[Cmdlet(VerbsDiagnostic.Repair, "NvmeMiEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MctpEndpointInfo))]
public sealed class RepairNvmeMiEndpointCommand : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    /// <summary>MCTP network id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public uint Network { get; set; }

    /// <summary>MCTP endpoint id.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 254)]
    public byte Eid { get; set; }

    /// <summary>The D-Bus address (default: the system bus).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? BusAddress { get; set; }

    /// <summary>Write the endpoint as mctpd lists it after the request.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("MCTP network and EID", $"net {Network} eid {Eid}"))
        {
            return;
        }

        string target = $"MCTP endpoint net {Network} eid {Eid}";
        try
        {
            using var client = Wait(MctpdClient.ConnectAsync(BusAddress, StopToken));
            var endpoint = Wait(client.GetEndpointsAsync(StopToken)).Endpoints.FirstOrDefault(e => e.Network == Network && e.Eid == Eid);
            if (endpoint is null)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"mctpd on {client.Address} lists no endpoint at net {Network} eid {Eid}."), "MctpEndpointNotFound", ErrorCategory.ObjectNotFound, target));
                return;
            }

            if (!ShouldProcess(target, "Recover (mctpd re-probes the endpoint and removes it if it does not answer)"))
            {
                return;
            }

            Wait(client.RecoverAsync(endpoint, StopToken));
            if (PassThru && Wait(client.GetEndpointsAsync(StopToken)).Endpoints.FirstOrDefault(e => e.Network == Network && e.Eid == Eid) is { } after)
            {
                WriteObject(MctpEndpointInfo.From(after, client.Address));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, target);
        }
    }
}
