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
            int count = Wait(c.Endpoint.ReadSubsystemInformationAsync(StopToken)).PortCount;
            foreach (byte id in PortId.Where(p => p >= count))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"{c.Name} has {count} port(s), 0 to {count - 1}; there is no port {id}."), "NvmeMiPortNotFound", ErrorCategory.ObjectNotFound, c));
            }

            foreach (byte id in Enumerable.Range(0, count).Select(i => (byte)i).Where(p => PortId.Length == 0 || PortId.Contains(p)))
            {
                PortInformation p = Wait(c.Endpoint.ReadPortInformationAsync(id, StopToken));
                WriteObject(new NvmeMiPortInfo
                {
                    EndpointName = c.Name,
                    Network = c.Network,
                    Eid = c.Eid,
                    PortId = id,
                    PortType = p.PortType,
                    MaxMctpTransmissionUnit = p.MaxMctpTransmissionUnit,
                    ManagementEndpointBufferSize = p.ManagementEndpointBufferSize,
                    PcieLink = p.PortType == NvmeMiPortType.Pcie ? $"x{p.PcieNegotiatedLinkWidth} (x{p.PcieMaxLinkWidth} max)" : string.Empty,
                    SmbusAddress = p.PortType == NvmeMiPortType.Smbus ? p.ManagementEndpointSmbusAddress : (byte)0,
                });
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
