using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Set-NvmeFeature: Set Features with a Command Dword 11 value, optionally saved across resets.</summary>
[Cmdlet(VerbsCommon.Set, "NvmeFeature", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeFeature))]
public sealed class SetNvmeFeatureCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(FeatureIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string FeatureId { get; set; } = string.Empty;

    /// <summary>Command Dword 11: the feature's new value.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    public uint Value { get; set; }

    /// <summary>Command Dword 12, for the few features that use it.</summary>
    [Parameter]
    public uint Cdw12 { get; set; }

    /// <summary>SV: keep the value across resets (the controller may refuse: Feature Identifier Not Saveable).</summary>
    [Parameter]
    public SwitchParameter Save { get; set; }

    [Parameter]
    public uint NamespaceId { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    private byte _fid;

    protected override void BeginProcessing() => _fid = AdminCmdlets.ParseFeatures(this, new[] { FeatureId })[0];

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        string feature = NvmeAdminNames.NameOf(_fid, NvmeAdminNames.Features);
        if (!ShouldProcess(Controller.Name, string.Format(CultureInfo.InvariantCulture, "Set feature {0} ({1:X2}h) to 0x{2:X8}{3}", feature, _fid, Value, Save ? " and save it" : string.Empty)))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            Wait(Controller.Admin.SetFeatureAsync(_fid, Value, Save, NamespaceId, default, Cdw12, cts.Token));
            // Set Features' completion dword 0 is feature-specific (often 0), not the new value: report the feature as
            // the controller now reports it, with Get Features (current).
            uint current = Wait(Controller.Admin.GetFeatureAsync(_fid, NvmeFeatureSelect.Current, 0, NamespaceId, cancellationToken: cts.Token));
            WriteObject(new NvmeFeature
            {
                ControllerName = Controller.Name,
                FeatureId = _fid,
                Name = feature,
                Select = "Current",
                Value = current,
                Decoded = NvmeAdminNames.DescribeFeature(_fid, current),
            });
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
