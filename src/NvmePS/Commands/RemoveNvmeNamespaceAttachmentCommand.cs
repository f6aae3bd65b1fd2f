using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Remove-NvmeNamespaceAttachment: detaches a namespace from controllers (Namespace Attachment, detach): hosts of those controllers lose access to it. Writes the namespace's attachment afterwards.</summary>
[Cmdlet(VerbsCommon.Remove, "NvmeNamespaceAttachment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeNamespaceAttachment))]
public sealed class RemoveNvmeNamespaceAttachmentCommand : NamespaceAttachmentCmdlet
{
    private protected override bool Attach => false;
}
