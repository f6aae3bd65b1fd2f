using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Add-NvmeNamespaceAttachment: attaches a namespace to controllers (Namespace Attachment, attach), which makes it active on them. Writes the namespace's attachment afterwards.</summary>
[Cmdlet(VerbsCommon.Add, "NvmeNamespaceAttachment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeNamespaceAttachment))]
public sealed class AddNvmeNamespaceAttachmentCommand : NamespaceAttachmentCmdlet
{
    private protected override bool Attach => true;
}
