using System.Management.Automation;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>Get-NvmeMiHealth: NVM Subsystem Health Status Poll, or with -ControllerId the Controller Health Status Poll.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeMiHealth", SupportsShouldProcess = true, DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiSubsystemHealth), typeof(NvmeMiControllerHealth))]
public sealed class GetNvmeMiHealthCommand : NvmeMiEndpointCmdlet
{
    /// <summary>Poll these controllers' health instead of the subsystem's.</summary>
    [Parameter]
    public ushort[] ControllerId { get; set; } = Array.Empty<ushort>();

    /// <summary>Clear the changed flags after reading them (Composite Controller Status, or the controllers' changed flags).</summary>
    [Parameter]
    public SwitchParameter Clear { get; set; }

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        bool clear = Clear && ShouldProcess(c.Name, ControllerId.Length == 0 ? "Clear the Composite Controller Status change flags" : "Clear the controller health changed flags");
        try
        {
            if (ControllerId.Length == 0)
            {
                WriteObject(NvmeMiSubsystemHealth.From(Wait(c.Endpoint.PollSubsystemHealthAsync(clear, StopToken)), c));
                return;
            }

            foreach (ushort id in ControllerId)
            {
                var request = new ControllerHealthPollRequest { StartControllerId = id, MaxEntries = 1, ReportAll = true, ClearChangedFlags = clear };
                var status = Wait(c.Endpoint.PollControllerHealthAsync(request, StopToken)).FirstOrDefault(s => s.ControllerId == id);
                if (status is null)
                {
                    WriteError(new ErrorRecord(new ItemNotFoundException($"{c.Name} reports no controller {id}."), "NvmeMiControllerNotFound", ErrorCategory.ObjectNotFound, c));
                    continue;
                }

                WriteObject(NvmeMiControllerHealth.From(status, c));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
