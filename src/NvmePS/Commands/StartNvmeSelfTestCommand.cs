using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Start-NvmeSelfTest: Device Self-test, short or extended, of the controller and the namespaces it names.
/// Writes the running test, or with -Wait its result.</summary>
[Cmdlet(VerbsLifecycle.Start, "NvmeSelfTest", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NvmeSelfTest))]
public sealed class StartNvmeSelfTestCommand : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>The extended test (every block) instead of the short one.</summary>
    [Parameter]
    public SwitchParameter Extended { get; set; }

    /// <summary>The namespace to test: FFFFFFFFh (the default) for every active namespace, 0 for the controller only.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint NamespaceId { get; set; } = NvmeAdminCommands.BroadcastNsid;

    /// <summary>Wait for the test to end, showing its progress, and write its result.</summary>
    [Parameter]
    public new SwitchParameter Wait { get; set; }

    /// <summary>Seconds to wait for the result with -Wait (the default is 3600); each command has 30.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; } = 3600;

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("namespace ID", Controller))
        {
            return;
        }

        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        var code = Extended ? NvmeSelfTestCode.Extended : NvmeSelfTestCode.Short;
        string scope = NamespaceId switch
        {
            NvmeAdminCommands.BroadcastNsid => "every namespace",
            0 => "the controller only",
            _ => string.Format(CultureInfo.InvariantCulture, "namespace {0}", NamespaceId),
        };
        if (!ShouldProcess(Controller.Name, string.Format(CultureInfo.InvariantCulture, "Start a {0} device self-test of {1}", code.ToString().ToLowerInvariant(), scope)))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            base.Wait(Controller.Admin.DeviceSelfTestAsync((byte)code, NamespaceId, cts.Token));
            var log = base.Wait(Controller.Admin.GetSelfTestLogAsync(cts.Token));
            if (Wait)
            {
                log = PollWithProgress(log, ct => Controller.Admin.GetSelfTestLogAsync(ct), l => l.CurrentOperation != NvmeSelfTestCode.None,
                    l => l.CurrentCompletion, new ProgressRecord(1, "Device self-test", string.Format(CultureInfo.InvariantCulture, "{0} test on {1}", code, Controller.Name)), cts.Token);
            }

            WriteObject(log.CurrentOperation != NvmeSelfTestCode.None
                ? NvmeSelfTest.Running(log, Controller.Name)
                : NvmeSelfTest.From(log.Results[0], Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
