using System.Globalization;
using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Add- and Remove-NvmeNamespaceAttachment: Namespace Attachment with a controller list (by default the
/// controller of -Controller itself), then the namespace's attachment as Identify CNS 12h reports it.</summary>
public abstract class NamespaceAttachmentCmdlet : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    [LiveObject]
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

    /// <summary>True to attach, false to detach.</summary>
    private protected abstract bool Attach { get; }

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
            ushort[] ids = ControllerId.Length > 0 ? ControllerId : [identity.Cntlid];
            string what = string.Format(CultureInfo.InvariantCulture, "Namespace {0} of {1}", NamespaceId, NamespaceCmdlets.Describe(identity));
            string action = string.Format(CultureInfo.InvariantCulture, Attach ? "Attach to controller(s) {0}" : "Detach from controller(s) {0}", string.Join(", ", ids));
            if (!ShouldProcess(what, action))
            {
                return;
            }

            Wait(Attach
                ? Controller.Admin.AttachNamespaceAsync(NamespaceId, ids, cts.Token)
                : Controller.Admin.DetachNamespaceAsync(NamespaceId, ids, cts.Token));
            WriteObject(new NvmeNamespaceAttachment
            {
                ControllerName = Controller.Name,
                NamespaceId = NamespaceId,
                AttachedControllerIds = Wait(Controller.Admin.GetAttachedControllersAsync(NamespaceId, cts.Token)),
            });
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
