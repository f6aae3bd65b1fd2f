using System.Management.Automation;
using NvmePS.Engine.Mi;

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
            WriteObject(new NvmeMiSubsystemInfo
            {
                EndpointName = c.Name,
                Network = c.Network,
                Eid = c.Eid,
                PortCount = info.PortCount,
                NvmeMiVersion = $"{info.MajorVersion}.{info.MinorVersion}",
                Capabilities = info.Capabilities,
                ControllerIds = ids.ToArray(),
                OptionalCommands = optional.Select(o => $"{o.Type switch { NvmeMiMessageType.MiCommand => "MI", NvmeMiMessageType.AdminCommand => "Admin", NvmeMiMessageType.PcieCommand => "PCIe", _ => o.Type.ToString() }} {o.Opcode:X2}h").ToArray(),
            });
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
