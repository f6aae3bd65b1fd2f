using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmeMiController: the NVMe controllers behind an NVMe-MI endpoint, for the Admin cmdlets.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeMiController", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiController))]
public sealed class GetNvmeMiControllerCommand : NvmeMiEndpointCmdlet
{
    /// <summary>Only these controller ids.</summary>
    [Parameter]
    public ushort[] ControllerId { get; set; } = Array.Empty<ushort>();

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        try
        {
            var ids = Wait(c.Endpoint.ReadControllerListAsync(0, StopToken));
            foreach (ushort id in ControllerId.Where(i => !ids.Contains(i)))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"{c.Name} has no controller {id} (controllers: {string.Join(", ", ids)})."), "NvmeMiControllerNotFound", ErrorCategory.ObjectNotFound, c));
            }

            foreach (ushort id in ids.Where(i => ControllerId.Length == 0 || ControllerId.Contains(i)))
            {
                WriteObject(new NvmeMiController(c, id, Wait(c.Endpoint.ReadControllerInformationAsync(id, StopToken))));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
