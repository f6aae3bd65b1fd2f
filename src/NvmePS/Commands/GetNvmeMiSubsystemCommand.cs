using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmeMiSubsystem: what the endpoint says of its subsystem (NVM Subsystem Information, controller list, optional commands).</summary>
[Cmdlet(VerbsCommon.Get, "NvmeMiSubsystem", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiSubsystemInfo))]
public sealed class GetNvmeMiSubsystemCommand : NvmeMiEndpointCmdlet
{
    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        try
        {
            var info = Wait(c.Endpoint.ReadSubsystemInformationAsync(StopToken));
            var ids = Wait(c.Endpoint.ReadControllerListAsync(0, StopToken));
            var optional = Wait(c.Endpoint.ReadOptionalCommandsAsync(StopToken));
            WriteObject(NvmeMiSubsystemInfo.From(info, ids, optional, c));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
