using System.Management.Automation;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Commands;

/// <summary>Start-NvmeMiSimulator: serves a simulated NVMe-MI endpoint in this session, to try the MI cmdlets with no hardware.</summary>
[Cmdlet(VerbsLifecycle.Start, "NvmeMiSimulator", SupportsShouldProcess = true)]
[OutputType(typeof(NvmeMiSimulator))]
public sealed class StartNvmeMiSimulatorCommand : NvmeCmdlet
{
    /// <summary>InProcess (this session only) or Demux (a libmctp demux-daemon-compatible socket other processes can use).</summary>
    [Parameter(Position = 0)]
    [ValidateSet("InProcess", "Demux")]
    public string Transport { get; set; } = "InProcess";

    /// <summary>The MCTP network id the endpoint answers on.</summary>
    [Parameter]
    public uint Network { get; set; } = 1;

    /// <summary>The endpoint's EID.</summary>
    [Parameter]
    [ValidateRange(1, 254)]
    public byte Eid { get; set; } = 0x1D;

    /// <summary>The demux socket name (-Transport Demux; abstract unless it contains '/').</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string SocketName { get; set; } = MctpDemuxProtocol.DefaultSocketName;

    protected override void ProcessRecord()
    {
        var kind = Transport == "Demux" ? SimulatorTransportKind.Demux : SimulatorTransportKind.InProcess;
        string where = kind == SimulatorTransportKind.Demux ? $"net {Network} eid {Eid} on demux socket {SocketName}" : $"net {Network} eid {Eid} in this session";
        if (NvmfSession.Current.Simulators.Any(s => s.Network == Network && s.Eid == Eid))
        {
            ThrowInputError("NvmeMiSimulatorAddressInUse", $"This session already simulates an endpoint at net {Network} eid {Eid}; stop it first or choose another -Eid.", ErrorCategory.ResourceExists, $"net {Network} eid {Eid}");
        }

        if (!ShouldProcess(where, "Start simulated NVMe-MI endpoint"))
        {
            return;
        }

        try
        {
            var host = Wait(NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions { Transport = kind, Network = Network, Eid = Eid, DemuxSocketName = SocketName }, cancellationToken: StopToken));
            var simulator = new NvmeMiSimulator(host);
            NvmfSession.Current.Add(simulator);
            WriteObject(simulator);
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, where);
        }
    }
}
