using System.Management.Automation;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>Get-NvmeMiConfiguration: a port's SMBus frequency and MCTP transmission unit, and the asynchronous events.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeMiConfiguration", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiConfiguration))]
public sealed class GetNvmeMiConfigurationCommand : NvmeMiEndpointCmdlet
{
    /// <summary>The ports to read (default: every port).</summary>
    [Parameter]
    public byte[] PortId { get; set; } = Array.Empty<byte>();

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        try
        {
            var ports = SelectPorts(c, PortId);
            var events = Wait(c.Endpoint.GetAsyncEventsAsync(StopToken));
            foreach (byte id in ports)
            {
                WriteObject(NvmeMiConfiguration.From(Wait(c.Endpoint.ReadPortConfigurationAsync(id, StopToken)), events, c));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
