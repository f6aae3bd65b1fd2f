using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Stop-NvmeMiSimulator: stops simulated NVMe-MI endpoints of this session.</summary>
[Cmdlet(VerbsLifecycle.Stop, "NvmeMiSimulator", SupportsShouldProcess = true, DefaultParameterSetName = "All")]
[OutputType(typeof(NvmeMiSimulator))]
public sealed class StopNvmeMiSimulatorCommand : NvmeCmdlet
{
    /// <summary>The simulator to stop (from Start-NvmeMiSimulator); without it, every simulator of the session.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = "InputObject")]
    [LiveObject]
    public NvmeMiSimulator InputObject { get; set; } = null!;

    /// <summary>Write the stopped simulators to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var which = ParameterSetName == "InputObject" ? new[] { InputObject } : NvmfSession.Current.Simulators.ToArray();
        foreach (var s in which)
        {
            if (!ShouldProcess(s.Name, "Stop"))
            {
                continue;
            }

            // Connections of this session to it end with it.
            foreach (var c in NvmfSession.Current.MiConnections.Where(c => c.Network == s.Network && c.Eid == s.Eid && c.Transport == "Simulated"))
            {
                Wait(c.CloseAsync());
                NvmfSession.Current.Remove(c);
            }

            Wait(s.Host.StopAsync());
            NvmfSession.Current.Remove(s);
            if (PassThru)
            {
                WriteObject(s);
            }
        }
    }
}
