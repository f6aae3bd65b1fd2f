using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Disconnect-NvmeMiEndpoint: closes an NVMe-MI endpoint connection.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "NvmeMiEndpoint", SupportsShouldProcess = true)]
[OutputType(typeof(NvmeMiConnection))]
public sealed class DisconnectNvmeMiEndpointCommand : NvmeCmdlet
{
    /// <summary>The connection to close.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [LiveObject]
    public NvmeMiConnection InputObject { get; set; } = null!;

    /// <summary>Write the closed connection to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(InputObject.Name, "Disconnect"))
        {
            return;
        }

        Wait(InputObject.CloseAsync());
        NvmfSession.Current.Remove(InputObject);
        if (PassThru)
        {
            WriteObject(InputObject);
        }
    }
}
