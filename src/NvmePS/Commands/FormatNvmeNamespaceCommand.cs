using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Format-NvmeNamespace: Format NVM with the LBA format of the given block size, optionally erasing user data
/// (SES). Writes the namespace's Identify data afterwards.</summary>
[Cmdlet(VerbsCommon.Format, "NvmeNamespace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(NvmeNamespaceIdentity))]
public sealed class FormatNvmeNamespaceCommand : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>The namespace; FFFFFFFFh (4294967295) formats every namespace attached to the controller.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint NamespaceId { get; set; }

    /// <summary>Logical block size after the format: picks the LBA format with this data size and no metadata.</summary>
    [Parameter]
    [ValidateSet("512", "4096")]
    public int BlockSize { get; set; } = 512;

    /// <summary>Secure Erase Settings: None, UserData (every block erased) or Cryptographic.</summary>
    [Parameter]
    public NvmeSecureErase SecureErase { get; set; } = NvmeSecureErase.None;

    /// <summary>Format without the extra confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; } = 600;

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
            string ns = NamespaceId == NvmeAdminCommands.BroadcastNsid ? "every namespace" : string.Format(CultureInfo.InvariantCulture, "namespace {0}", NamespaceId);
            string what = string.Format(CultureInfo.InvariantCulture, "Format {0} of {1} to {2}-byte blocks{3}", ns, where, BlockSize,
                SecureErase == NvmeSecureErase.None ? string.Empty : ", erasing all its data (" + SecureErase + ")");
            if (!ShouldProcessDestructive(what, "Format NVM", Force))
            {
                return;
            }

            int format = Wait(Controller.Admin.FindLbaFormatAsync(BlockSize, cts.Token));
            WriteProgress(new ProgressRecord(1, "Format NVM", what) { PercentComplete = -1 });
            Wait(Controller.Admin.FormatNvmAsync(NamespaceId, (byte)format, SecureErase, cancellationToken: cts.Token));
            WriteProgress(new ProgressRecord(1, "Format NVM", what) { RecordType = ProgressRecordType.Completed });
            if (NamespaceId != NvmeAdminCommands.BroadcastNsid)
            {
                WriteObject(NvmeNamespaceIdentity.From(Wait(Controller.Admin.IdentifyNamespaceAsync(NamespaceId, cts.Token)), NamespaceId, Controller.Name));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
