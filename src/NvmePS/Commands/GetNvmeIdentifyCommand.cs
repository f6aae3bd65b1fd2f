using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmeIdentify: Identify Controller (CNS 01h), Identify Namespace (CNS 00h) or the Active Namespace
/// ID list (CNS 02h) from any controller the Admin cmdlets accept.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeIdentify", DefaultParameterSetName = ControllerSet)]
[OutputType(typeof(NvmeControllerIdentity), ParameterSetName = new[] { ControllerSet })]
[OutputType(typeof(NvmeNamespaceIdentity), ParameterSetName = new[] { NamespaceSet })]
[OutputType(typeof(NvmeNamespaceId), ParameterSetName = new[] { ActiveSet })]
public sealed class GetNvmeIdentifyCommand : NvmeCmdlet
{
    private const string ControllerSet = "Controller";
    private const string NamespaceSet = "Namespace";
    private const string ActiveSet = "ActiveNamespaces";

    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    // By property name too, so `Get-NvmeIdentify $c -ActiveNamespaces | Get-NvmeIdentify $c` identifies each one.
    [Parameter(Mandatory = true, ParameterSetName = NamespaceSet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1u, 0xFFFFFFFEu)]
    public uint[] NamespaceId { get; set; } = Array.Empty<uint>();

    [Parameter(Mandatory = true, ParameterSetName = ActiveSet)]
    public SwitchParameter ActiveNamespaces { get; set; }

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

        var admin = Controller.Admin;
        string name = Controller.Name;
        using var cts = LinkedTimeout(TimeoutSec);
        switch (ParameterSetName)
        {
            case NamespaceSet:
                foreach (uint nsid in NamespaceId)
                {
                    try
                    {
                        var ns = Wait(admin.IdentifyNamespaceAsync(nsid, cts.Token));
                        if (!ns.IsActive)
                        {
                            // An inactive NSID returns a zero-filled structure (NVMe Base 2.0 §5.17.2.1): an error, not an object.
                            WriteError(new ErrorRecord(new ItemNotFoundException($"Namespace {nsid} is not active on {name} (Identify Namespace returned zeros)."),
                                "NvmeNamespaceNotActive", ErrorCategory.ObjectNotFound, nsid));
                            continue;
                        }

                        WriteObject(NvmeNamespaceIdentity.From(ns, nsid, name));
                    }
                    catch (Exception e) when (IsReportable(e))
                    {
                        // One bad namespace id does not hide the others.
                        WriteNvmeError(e, Controller);
                    }
                }

                break;
            case ActiveSet:
                try
                {
                    foreach (uint nsid in Wait(admin.GetAllActiveNamespaceIdsAsync(cts.Token)))
                    {
                        WriteObject(new NvmeNamespaceId { Controller = Controller, ControllerName = name, NamespaceId = nsid, Source = "ActiveNamespaces" });
                    }
                }
                catch (Exception e) when (IsReportable(e))
                {
                    WriteNvmeError(e, Controller);
                }

                break;
            default:
                try
                {
                    WriteObject(NvmeControllerIdentity.From(Wait(admin.IdentifyControllerAsync(cts.Token)), name));
                }
                catch (Exception e) when (IsReportable(e))
                {
                    WriteNvmeError(e, Controller);
                }

                break;
        }
    }
}
