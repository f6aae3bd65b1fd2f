using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Reset-NvmeMiSubsystem: NVM Subsystem Reset through the management endpoint (NVMe-MI §5.8). Every controller
/// of the subsystem resets; I/O in flight on any host is lost.</summary>
[Cmdlet(VerbsCommon.Reset, "NvmeMiSubsystem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiSubsystemHealth))]
public sealed class ResetNvmeMiSubsystemCommand : NvmeMiEndpointCmdlet
{
    /// <summary>Skip the confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write the subsystem health read after the reset.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        string what = $"the NVM subsystem behind {c.Name}: every controller resets and I/O in flight on every host is lost";
        if (!ShouldProcess(what, "NVM Subsystem Reset") || !(Force || ShouldContinue($"Reset {what}?", "NVM Subsystem Reset")))
        {
            return;
        }

        try
        {
            Wait(c.Endpoint.ResetSubsystemAsync(StopToken));
            if (PassThru)
            {
                WriteObject(NvmeMiSubsystemHealth.From(Wait(c.Endpoint.PollSubsystemHealthAsync(false, StopToken)), c));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
