using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Add-NvmeNamespaceAttachment: attaches a namespace to controllers (Namespace Attachment, attach), which makes it active on them. Writes the namespace's attachment afterwards.</summary>
[Cmdlet(VerbsCommon.Add, "NvmeNamespaceAttachment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeNamespaceAttachment))]
public sealed class AddNvmeNamespaceAttachmentCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public NvmeAdminConnection Controller { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint NamespaceId { get; set; }

    /// <summary>Controller identifiers; by default the controller of -Controller itself.</summary>
    [Parameter(Position = 2)]
    [ValidateNotNullOrEmpty]
    public ushort[] ControllerId { get; set; } = Array.Empty<ushort>();

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
            ushort[] ids = ControllerId.Length > 0 ? ControllerId : [Wait(Controller.Admin.IdentifyControllerAsync(cts.Token)).Cntlid];
            string where = Wait(NamespaceCmdlets.DescribeAsync(Controller.Admin, cts.Token));
            string what = string.Format(CultureInfo.InvariantCulture, "Namespace {0} of {1}", NamespaceId, where);
            if (!ShouldProcess(what, string.Format(CultureInfo.InvariantCulture, "Attach to controller(s) {0}", string.Join(", ", ids))))
            {
                return;
            }

            Wait(Controller.Admin.AttachNamespaceAsync(NamespaceId, ids, cts.Token));
            WriteObject(new NvmeNamespaceAttachment
            {
                ControllerName = Controller.Name,
                NamespaceId = NamespaceId,
                AttachedControllerIds = Wait(NamespaceCmdlets.AttachedControllersAsync(Controller.Admin, NamespaceId, cts.Token)),
            });
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
