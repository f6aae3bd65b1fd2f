using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>
/// Send-NvmeCommand: one raw command through the Admin layer of any controller the Admin cmdlets accept (a kernel
/// controller's passthrough ioctl, a fabrics admin queue, the NVMe-MI tunnel), or an I/O command to a kernel
/// namespace's block device. The completion is written whatever its status; a refusal by the transport is an error.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "NvmeCommand", DefaultParameterSetName = AdminSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeCompletion))]
public sealed class SendNvmeCommandCommand : NvmeCmdlet
{
    private const string AdminSet = "Admin";
    private const string IoSet = "Io";

    /// <summary>The controller whose admin queue takes the command.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = AdminSet)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>A kernel namespace (Get-NvmeDevice's Namespaces): the I/O command goes to its block device.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = IoSet)]
    [ValidateNotNull]
    public NvmeKernelNamespace Namespace { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1)]
    public byte Opcode { get; set; }

    /// <summary>NSID: 0 by default for Admin commands, the namespace's own for I/O commands.</summary>
    [Parameter]
    [Alias("Nsid")]
    [UInt32Bits]
    public uint NamespaceId { get; set; }

    [Parameter]
    [UInt32Bits]
    public uint Cdw10 { get; set; }

    [Parameter]
    [UInt32Bits]
    public uint Cdw11 { get; set; }

    [Parameter]
    [UInt32Bits]
    public uint Cdw12 { get; set; }

    [Parameter]
    [UInt32Bits]
    public uint Cdw13 { get; set; }

    [Parameter]
    [UInt32Bits]
    public uint Cdw14 { get; set; }

    [Parameter]
    [UInt32Bits]
    public uint Cdw15 { get; set; }

    /// <summary>Data to the controller (a write-direction command).</summary>
    [Parameter]
    [ValidateNotNull]
    public byte[] InputData { get; set; } = Array.Empty<byte>();

    /// <summary>Bytes of data expected from the controller (a read-direction command).</summary>
    [Parameter]
    [ValidateRange(0, 16 * 1024 * 1024)]
    public int DataLength { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    protected override void ProcessRecord()
    {
        if (InputData.Length > 0 && DataLength > 0)
        {
            WriteError(new ErrorRecord(new ArgumentException("A command moves data in one direction: give -InputData or -DataLength, not both."), "BidirectionalData", ErrorCategory.InvalidArgument, Opcode));
            return;
        }

        bool io = ParameterSetName == IoSet;
        uint nsid = io && !MyInvocation.BoundParameters.ContainsKey(nameof(NamespaceId)) ? Namespace.NamespaceId : NamespaceId;
        var command = new NvmeCommand { Opcode = Opcode, Nsid = nsid, Cdw10 = Cdw10, Cdw11 = Cdw11, Cdw12 = Cdw12, Cdw13 = Cdw13, Cdw14 = Cdw14, Cdw15 = Cdw15 };
        string target = io ? Namespace.BlockDevice : Controller.Name;
        object targetObject = io ? Namespace : Controller;
        string what = string.Format(CultureInfo.InvariantCulture, "Send {0} opcode {1:X2}h (NSID {2}, CDW10 {3:X8}h)", io ? "I/O" : "Admin", Opcode, nsid, Cdw10);
        if (!io && !AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        if (!ShouldProcess(target, what))
        {
            return;
        }

        byte[] buffer = DataLength > 0 ? new byte[DataLength] : Array.Empty<byte>();
        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            NvmeCommandResult r;
            if (io)
            {
                var transport = new NvmePS.Engine.Kernel.NvmeKernelAdminTransport(Namespace.BlockDevice, commandTimeout: TimeSpan.FromSeconds(TimeoutSec));
                r = Wait(transport.ExecuteIoAsync(Namespace.BlockDevice, command, InputData, buffer, cts.Token));
            }
            else
            {
                r = Wait(Controller.Admin.ExecuteRawAsync(command, InputData, buffer, cts.Token));
            }

            // The kernel picks the I/O queue; QueueId 1 stands for "an I/O queue".
            WriteObject(NvmeCompletion.From(r.Completion, io ? (ushort)1 : (ushort)0, Opcode, buffer, r.BytesTransferred, io ? Namespace.ControllerName : Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, targetObject);
        }
    }
}
