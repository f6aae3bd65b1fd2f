using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Start-NvmeSanitize: Sanitize, which erases all user data in the NVM subsystem (every namespace, attached or
/// not). Writes the sanitize status, or with -Wait the status once it ends.</summary>
[Cmdlet(VerbsLifecycle.Start, "NvmeSanitize", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(NvmeSanitizeStatus))]
public sealed class StartNvmeSanitizeCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>BlockErase, Overwrite, CryptoErase, or ExitFailureMode (after a failed sanitize).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public NvmeSanitizeAction Action { get; set; }

    /// <summary>Overwrite passes, 1 to 16.</summary>
    [Parameter]
    [ValidateRange(1, 16)]
    public int OverwritePasses { get; set; } = 1;

    /// <summary>The 32-bit pattern an overwrite writes.</summary>
    [Parameter]
    [UInt32Bits]
    public uint OverwritePattern { get; set; }

    /// <summary>Invert the pattern between overwrite passes (OIPBP).</summary>
    [Parameter]
    public SwitchParameter InvertPattern { get; set; }

    /// <summary>Do not deallocate the blocks after the sanitize (NDAS).</summary>
    [Parameter]
    public SwitchParameter NoDeallocate { get; set; }

    /// <summary>Allow Unrestricted Sanitize Exit (AUSE): after a failure, any sanitize may exit the failure state.</summary>
    [Parameter]
    public SwitchParameter AllowUnrestrictedExit { get; set; }

    /// <summary>Wait for the sanitize to end, showing its progress.</summary>
    [Parameter]
    public new SwitchParameter Wait { get; set; }

    /// <summary>Sanitize without the extra confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds to wait with -Wait (the default is a day: a real drive may take hours).</summary>
    [Parameter]
    [ValidateRange(1, 604800)]
    public int TimeoutSec { get; set; } = 86400;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var identity = base.Wait(Controller.Admin.IdentifyControllerAsync(cts.Token));
            string where = NamespaceCmdlets.Describe(identity);
            string what = Action == NvmeSanitizeAction.ExitFailureMode
                ? string.Format(CultureInfo.InvariantCulture, "Exit the sanitize failure mode of {0}", where)
                : string.Format(CultureInfo.InvariantCulture, "Sanitize {0} by {1}: ALL user data in EVERY namespace of the subsystem is destroyed", where, Action);
            if (!ShouldProcessDestructive(what, "Sanitize", Force))
            {
                return;
            }

            base.Wait(Controller.Admin.SanitizeAsync(Action, AllowUnrestrictedExit, (byte)(OverwritePasses & 0xF), InvertPattern, NoDeallocate, OverwritePattern, cts.Token));
            var log = base.Wait(Controller.Admin.GetSanitizeStatusAsync(cancellationToken: cts.Token));
            if (Wait)
            {
                log = PollWithProgress(log, ct => Controller.Admin.GetSanitizeStatusAsync(cancellationToken: ct), l => l.State == NvmeSanitizeState.InProgress,
                    l => l.PercentComplete ?? 0, new ProgressRecord(1, "Sanitize", what), cts.Token);
            }

            WriteObject(NvmeSanitizeStatus.From(log, Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
