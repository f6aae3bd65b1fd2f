using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Commands;

/// <summary>Set-NvmfProperty: Fabrics Property Set of CC or NSSR, then the property read back.</summary>
[Cmdlet(VerbsCommon.Set, "NvmfProperty", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(NvmfProperty))]
public sealed class SetNvmfPropertyCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfController Controller { get; set; } = null!;

    /// <summary>CC (controller configuration) or NSSR (NVM subsystem reset); the others are read-only.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateSet("CC", "NSSR")]
    public string Name { get; set; } = string.Empty;

    [Parameter(Mandatory = true, Position = 2)]
    public uint Value { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        uint offset = ControllerPropertyFields.Offsets[Name];
        if (!ShouldProcess(Controller.Name, string.Format(CultureInfo.InvariantCulture, "Set property {0} to 0x{1:X8}", Name.ToUpperInvariant(), Value)))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            Wait(Controller.Host.SetPropertyAsync(offset, PropertySize.FourBytes, Value, cts.Token));
            if (offset == ControllerProperty.Nssr)
            {
                // NSSR reads as 0 (or the last value written) and a reset ends the association: nothing to read back.
                WriteObject(NvmfProperty.From(Controller.Name, offset, PropertySize.FourBytes, Value));
                return;
            }

            ulong now = Wait(Controller.Host.GetPropertyAsync(offset, PropertySize.FourBytes, cts.Token));
            WriteObject(NvmfProperty.From(Controller.Name, offset, PropertySize.FourBytes, now));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
