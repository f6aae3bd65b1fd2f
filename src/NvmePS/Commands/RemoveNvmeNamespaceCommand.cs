using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Remove-NvmeNamespace: Namespace Management (delete). The namespace and all its data are gone; its capacity
/// returns to the controller's unallocated pool.</summary>
[Cmdlet(VerbsCommon.Remove, "NvmeNamespace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(NvmeNamespaceId))]
public sealed class RemoveNvmeNamespaceCommand : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>The namespace to delete; FFFFFFFFh (4294967295) deletes every namespace of the subsystem.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint NamespaceId { get; set; }

    /// <summary>Delete without the extra confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write the deleted namespace's identifier (Source "Deleted").</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

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

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var identity = Wait(Controller.Admin.IdentifyControllerAsync(cts.Token));
            string where = NamespaceCmdlets.Describe(identity);
            string what = NamespaceId == NvmeAdminCommands.BroadcastNsid
                ? string.Format(CultureInfo.InvariantCulture, "Delete EVERY namespace of {0} and all their data", where)
                : string.Format(CultureInfo.InvariantCulture, "Delete namespace {0} of {1} and all its data", NamespaceId, where);
            if (!ShouldProcessDestructive(what, "Namespace Management (delete)", Force))
            {
                return;
            }

            Wait(Controller.Admin.DeleteNamespaceAsync(NamespaceId, cts.Token));
            if (PassThru)
            {
                WriteObject(new NvmeNamespaceId { Controller = Controller, ControllerName = Controller.Name, NamespaceId = NamespaceId, Source = "Deleted" });
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
