using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>New-NvmeNamespace: Namespace Management (create) from the controller's unallocated capacity, optionally
/// attached to the controller at once. Writes the new namespace's Identify data.</summary>
[Cmdlet(VerbsCommon.New, "NvmeNamespace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeNamespaceIdentity))]
public sealed class NewNvmeNamespaceCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>Size in bytes (1GB, 64MB...): a whole number of blocks.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, long.MaxValue)]
    public long Size { get; set; }

    /// <summary>Logical block size: picks the LBA format with this data size and no metadata.</summary>
    [Parameter]
    [ValidateSet("512", "4096")]
    public int BlockSize { get; set; } = 512;

    /// <summary>NMIC bit 0 clear: only one host's controllers may have the namespace attached.</summary>
    [Parameter]
    public SwitchParameter Private { get; set; }

    /// <summary>Attach the new namespace to this controller, so it is active (and visible to I/O) at once.</summary>
    [Parameter]
    public SwitchParameter Attach { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        if (Size % BlockSize != 0)
        {
            ThrowInputError("NvmeInvalidArgument", string.Format(CultureInfo.InvariantCulture, "-Size {0} is not a whole number of {1}-byte blocks.", Size, BlockSize),
                ErrorCategory.InvalidArgument, Size);
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var identity = Wait(Controller.Admin.IdentifyControllerAsync(cts.Token));
            string where = NamespaceCmdlets.Describe(identity);
            if (!ShouldProcess(where, string.Format(CultureInfo.InvariantCulture, "Create a {0} namespace of {1}-byte blocks{2}",
                NvmeUnits.FormatBytes(Size), BlockSize, Attach ? " and attach it" : string.Empty)))
            {
                return;
            }

            int format = Wait(Controller.Admin.FindLbaFormatAsync(BlockSize, cts.Token));
            uint nsid = Wait(Controller.Admin.CreateNamespaceAsync((ulong)(Size / BlockSize), format, shared: !Private, cts.Token));
            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0} created namespace {1}.", where, nsid));
            if (Attach)
            {
                Wait(Controller.Admin.AttachNamespaceAsync(nsid, [identity.Cntlid], cts.Token));
            }

            byte[] raw = Wait(Controller.Admin.IdentifyAsync(NvmeIdentifyCns.AllocatedNamespace, nsid, cancellationToken: cts.Token));
            NvmeIdentifyNamespace.TryRead(raw, out var created);
            WriteObject(NvmeNamespaceIdentity.From(created, nsid, Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
