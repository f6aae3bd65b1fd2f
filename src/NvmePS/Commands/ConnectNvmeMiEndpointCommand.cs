using System.Management.Automation;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>Connect-NvmeMiEndpoint: opens an NVMe-MI endpoint by (network, EID), with no MCTP daemon needed.</summary>
[Cmdlet(VerbsCommunications.Connect, "NvmeMiEndpoint")]
[OutputType(typeof(NvmeMiConnection))]
public sealed class ConnectNvmeMiEndpointCommand : NvmeCmdlet
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

    /// <summary>How to reach it: Auto, AfMctp, Demux or Simulated.</summary>
    [Parameter]
    public NvmeMiTransport Transport { get; set; } = NvmeMiTransport.Auto;

    /// <summary>The libmctp demux daemon's socket name (-Transport Demux).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string SocketName { get; set; } = MctpDemuxProtocol.DefaultSocketName;

    /// <summary>Per-command response timeout, seconds.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 5;

    /// <summary>The longest More Processing Required wait honoured, seconds.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int MaxMprWaitSec { get; set; } = 60;

    /// <summary>The least time between two commands, milliseconds (for endpoints that need a pause).</summary>
    [Parameter]
    [ValidateRange(0, 60000)]
    public int InterCommandDelayMs { get; set; }

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("MCTP network and EID", $"net {Network} eid {Eid}"))
        {
            return;
        }

        var options = new NvmeMiEndpointOptions
        {
            Timeout = TimeSpan.FromSeconds(TimeoutSec),
            MaxMprWait = TimeSpan.FromSeconds(MaxMprWaitSec),
            MinimumInterCommandDelay = TimeSpan.FromMilliseconds(InterCommandDelayMs),
        };
        try
        {
            var connection = Wait(MiConnector.ConnectAsync(NvmfSession.Current, Network, Eid, Transport, SocketName, options, StopToken));
            NvmfSession.Current.Add(connection);
            WriteObject(connection);
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, $"net {Network} eid {Eid}");
        }
    }
}
