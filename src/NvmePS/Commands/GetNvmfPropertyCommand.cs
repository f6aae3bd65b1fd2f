using System.Management.Automation;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Commands;

/// <summary>Get-NvmfProperty: Fabrics Property Get for controller registers, decoded into fields.</summary>
[Cmdlet(VerbsCommon.Get, "NvmfProperty")]
[OutputType(typeof(NvmfProperty))]
public sealed class GetNvmfPropertyCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfController Controller { get; set; } = null!;

    [Parameter(Position = 1)]
    [ValidateSet("CAP", "VS", "CC", "CSTS", "NSSR", "CRTO")]
    public string[] Name { get; set; } = { "CAP", "VS", "CC", "CSTS" };

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        foreach (string n in Name)
        {
            uint offset = ControllerPropertyFields.Offsets[n];
            PropertySize size = ControllerProperty.SizeOf(offset)!.Value;
            try
            {
                ulong value = Wait(Controller.Host.GetPropertyAsync(offset, size, cts.Token));
                WriteObject(NvmfProperty.From(Controller.Name, offset, size, value));
            }
            catch (Exception e) when (IsReportable(e))
            {
                WriteNvmeError(e, Controller);
            }
        }
    }
}
