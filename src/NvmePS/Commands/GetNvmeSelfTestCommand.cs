using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmeSelfTest: the Device Self-test log: the running test with its progress, then the results, newest first.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeSelfTest")]
[OutputType(typeof(NvmeSelfTest))]
public sealed class GetNvmeSelfTestCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>Only the running test, or nothing when none runs.</summary>
    [Parameter]
    public SwitchParameter Running { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var entries = SelfTestCmdlets.Entries(Wait(Controller.Admin.GetSelfTestLogAsync(cts.Token)), Controller.Name);
            WriteObject(Running ? entries.Where(e => e.PercentComplete is not null) : entries, enumerateCollection: true);
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
