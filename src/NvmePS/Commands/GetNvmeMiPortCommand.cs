using System.Management.Automation;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>Get-NvmeMiPort: the subsystem's ports (Port Information).</summary>
[Cmdlet(VerbsCommon.Get, "NvmeMiPort", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiPortInfo))]
public sealed class GetNvmeMiPortCommand : NvmeMiEndpointCmdlet
{
    /// <summary>Only these ports (default: every port of the subsystem).</summary>
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
            foreach (byte id in SelectPorts(c, PortId))
            {
                WriteObject(NvmeMiPortInfo.From(id, Wait(c.Endpoint.ReadPortInformationAsync(id, StopToken)), c));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
