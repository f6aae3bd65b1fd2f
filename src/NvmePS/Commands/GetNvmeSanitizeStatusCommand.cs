using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmeSanitizeStatus: the Sanitize Status log (81h): state, progress and the last action.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeSanitizeStatus")]
[OutputType(typeof(NvmeSanitizeStatus))]
public sealed class GetNvmeSanitizeStatusCommand : NvmeCmdlet
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
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            WriteObject(NvmeSanitizeStatus.From(Wait(Controller.Admin.GetSanitizeStatusAsync(cancellationToken: cts.Token)), Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
