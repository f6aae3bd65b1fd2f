using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmeMiVpd: reads Vital Product Data through the management endpoint (VPD Read).</summary>
[Cmdlet(VerbsCommon.Get, "NvmeMiVpd", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiVpd))]
public sealed class GetNvmeMiVpdCommand : NvmeMiEndpointCmdlet
{
    /// <summary>Byte offset into the VPD.</summary>
    [Parameter]
    public ushort Offset { get; set; }

    /// <summary>Bytes to read (default 256).</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public ushort Length { get; set; } = 256;

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        try
        {
            byte[] data = Wait(c.Endpoint.ReadVpdAsync(Offset, Length, StopToken));
            WriteObject(new NvmeMiVpd
            {
                EndpointName = c.Name,
                Offset = Offset,
                Length = data.Length,
                Data = data,
                Text = new string(data.Select(b => b is >= 0x20 and < 0x7F ? (char)b : '.').ToArray()),
            });
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
        }
    }
}
