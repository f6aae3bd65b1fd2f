using System.Management.Automation;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>Set-NvmeMiConfiguration: Configuration Set of a port's SMBus frequency or MCTP transmission unit, or a
/// clear of health status change flags.</summary>
[Cmdlet(VerbsCommon.Set, "NvmeMiConfiguration", SupportsShouldProcess = true, DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiConfiguration))]
public sealed class SetNvmeMiConfigurationCommand : NvmeMiEndpointCmdlet
{
    /// <summary>The port to configure.</summary>
    [Parameter]
    public byte PortId { get; set; }

    /// <summary>New SMBus/I2C frequency of the port.</summary>
    [Parameter]
    [ValidateSet("Freq100kHz", "Freq400kHz", "Freq1MHz")]
    public SmbusFrequency? SmbusFrequency { get; set; }

    /// <summary>New MCTP transmission unit size of the port, bytes (64 up to the port's maximum).</summary>
    [Parameter]
    [ValidateRange(64, 65535)]
    public ushort? MctpTransmissionUnit { get; set; }

    /// <summary>Health status change flags to clear.</summary>
    [Parameter]
    public HealthStatusChangeFlags ClearHealthStatusChange { get; set; }

    /// <summary>Write the port's configuration afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (SmbusFrequency is null && MctpTransmissionUnit is null && ClearHealthStatusChange == HealthStatusChangeFlags.None)
        {
            ThrowInputError("NvmeMiNothingToSet", "Name what to set: -SmbusFrequency, -MctpTransmissionUnit or -ClearHealthStatusChange.", ErrorCategory.InvalidArgument, null);
        }

        if (ResolveConnection() is not { } c)
        {
            return;
        }

        try
        {
            if (SmbusFrequency is { } f && ShouldProcess($"{c.Name} port {PortId}", $"Set the SMBus/I2C frequency to {f}"))
            {
                Wait(c.Endpoint.SetSmbusFrequencyAsync(PortId, f, StopToken));
            }

            if (MctpTransmissionUnit is { } mtu && ShouldProcess($"{c.Name} port {PortId}", $"Set the MCTP transmission unit to {mtu} bytes"))
            {
                Wait(c.Endpoint.SetMctpTransmissionUnitSizeAsync(PortId, mtu, StopToken));
            }

            if (ClearHealthStatusChange != HealthStatusChangeFlags.None && ShouldProcess(c.Name, $"Clear health status change flags {ClearHealthStatusChange}"))
            {
                Wait(c.Endpoint.ClearHealthStatusChangeAsync(ClearHealthStatusChange, StopToken));
            }

            if (PassThru)
            {
                WriteObject(NvmeMiConfiguration.From(Wait(c.Endpoint.ReadPortConfigurationAsync(PortId, StopToken)), Wait(c.Endpoint.GetAsyncEventsAsync(StopToken)), c));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
