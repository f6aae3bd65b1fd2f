using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Stop-NvmeSelfTest: aborts the running device self-test (STC Fh). Writes its result (AbortedBySelfTestCommand).</summary>
[Cmdlet(VerbsLifecycle.Stop, "NvmeSelfTest", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeSelfTest))]
public sealed class StopNvmeSelfTestCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller) || !ShouldProcess(Controller.Name, "Abort the device self-test"))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            bool running = Wait(Controller.Admin.GetSelfTestLogAsync(cts.Token)).CurrentOperation != NvmeSelfTestCode.None;
            Wait(Controller.Admin.DeviceSelfTestAsync((byte)NvmeSelfTestCode.Abort, 0, cts.Token));
            var log = Wait(Controller.Admin.GetSelfTestLogAsync(cts.Token));
            if (running && log.Results.Count > 0)
            {
                WriteObject(NvmeSelfTest.From(log.Results[0], Controller.Name));
            }
            else
            {
                WriteVerbose($"No device self-test was running on {Controller.Name}.");
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
