using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Base of the MI cmdlets that act on one endpoint: a connection from Connect-NvmeMiEndpoint (pipeline by value),
/// or -Network and -Eid (by property name, e.g. from Find-NvmeMiEndpoint), which reuse or open a session connection.</summary>
public abstract class NvmeMiEndpointCmdlet : NvmeCmdlet
{
    protected const string ConnectionSet = "Connection";
    protected const string AddressSet = "Address";

    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ParameterSetName = AddressSet, ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    /// <summary>A connected endpoint (Connect-NvmeMiEndpoint).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = ConnectionSet)]
    [LiveObject]
    public NvmeMiConnection InputObject { get; set; } = null!;

    /// <summary>MCTP network id of the endpoint.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = AddressSet)]
    public uint Network { get; set; }

    /// <summary>MCTP endpoint id (EID).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = AddressSet)]
    [ValidateRange(1, 254)]
    public byte Eid { get; set; }

    /// <summary>The subsystem's port ids (0 to NUMP) that <paramref name="requested"/> names (all when empty), after a
    /// non-terminating NvmeMiPortNotFound error for each requested id the subsystem does not have.</summary>
    protected IEnumerable<byte> SelectPorts(NvmeMiConnection c, byte[] requested)
    {
        int count = Wait(c.Endpoint.ReadSubsystemInformationAsync(StopToken)).PortCount;
        foreach (byte id in requested.Where(p => p >= count))
        {
            WriteError(new ErrorRecord(new ItemNotFoundException($"{c.Name} has {count} port(s), 0 to {count - 1}; there is no port {id}."), "NvmeMiPortNotFound", ErrorCategory.ObjectNotFound, c));
        }

        return Enumerable.Range(0, count).Select(i => (byte)i).Where(p => requested.Length == 0 || requested.Contains(p)).ToList();
    }

    /// <summary>The connection to use for this record, or null after writing an error for it.</summary>
    protected NvmeMiConnection? ResolveConnection()
    {
        if (ParameterSetName == ConnectionSet)
        {
            if (!InputObject.IsConnected)
            {
                WriteError(new ErrorRecord(new InvalidOperationException($"{InputObject.Name} is disconnected. Connect again with Connect-NvmeMiEndpoint."),
                    "NvmeMiEndpointDisconnected", ErrorCategory.ResourceUnavailable, InputObject));
                return null;
            }

            return InputObject;
        }

        if (RefuseRemotedInput("MCTP network and EID", $"net {Network} eid {Eid}"))
        {
            return null;
        }

        try
        {
            return Wait(MiConnector.GetOrConnectAsync(NvmfSession.Current, Network, Eid, StopToken));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, $"net {Network} eid {Eid}");
            return null;
        }
    }
}
