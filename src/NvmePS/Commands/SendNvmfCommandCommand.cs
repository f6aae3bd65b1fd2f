using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>
/// Send-NvmfCommand: a raw command on the admin queue or an I/O queue. Commands arriving on the pipeline are
/// submitted without waiting for the previous ones, up to the queue's depth, and their completions are written in
/// submission order.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "NvmfCommand", DefaultParameterSetName = FieldsSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeCompletion))]
public sealed class SendNvmfCommandCommand : NvmeCmdlet
{
    private const string FieldsSet = "Fields";
    private const string SqeSet = "Sqe";

    private readonly Queue<(Task<NvmeCommandResult> Task, ushort Qid, byte Opcode, byte[] Buffer)> _inFlight = new();
    private CancellationTokenSource? _cts;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public NvmfController Controller { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public byte Opcode { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Nsid")]
    public uint NamespaceId { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public uint Cdw10 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public uint Cdw11 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public uint Cdw12 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public uint Cdw13 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public uint Cdw14 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public uint Cdw15 { get; set; }

    /// <summary>A whole 64-byte submission queue entry; the transport replaces its CID and data pointer.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SqeSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public byte[] Sqe { get; set; } = Array.Empty<byte>();

    /// <summary>0 for the admin queue, 1..n for the I/O queues.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Qid")]
    public ushort QueueId { get; set; }

    /// <summary>Data to the controller (a write-direction command).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public byte[] InputData { get; set; } = Array.Empty<byte>();

    /// <summary>Bytes of data expected from the controller (a read-direction command).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, 16 * 1024 * 1024)]
    public int DataLength { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    protected override void BeginProcessing()
    {
        _cts = LinkedTimeout(TimeoutSec);
        if (!Controller.IsConnected)
        {
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"{Controller.Name} is disconnected."),
                AdminCmdlets.DisconnectedErrorId, ErrorCategory.ResourceUnavailable, Controller));
        }
    }

    protected override void ProcessRecord()
    {
        NvmeCommand command;
        if (ParameterSetName == SqeSet)
        {
            if (!NvmeCommand.TryRead(Sqe, out command) || Sqe.Length != NvmeCommand.Size)
            {
                WriteError(new ErrorRecord(new ArgumentException($"-Sqe must be exactly {NvmeCommand.Size} bytes, not {Sqe.Length}."), "InvalidSqe", ErrorCategory.InvalidArgument, Sqe));
                return;
            }
        }
        else
        {
            command = new NvmeCommand { Opcode = Opcode, Nsid = NamespaceId, Cdw10 = Cdw10, Cdw11 = Cdw11, Cdw12 = Cdw12, Cdw13 = Cdw13, Cdw14 = Cdw14, Cdw15 = Cdw15 };
        }

        if (InputData.Length > 0 && DataLength > 0)
        {
            WriteError(new ErrorRecord(new ArgumentException("A command moves data in one direction: give -InputData or -DataLength, not both."), "BidirectionalData", ErrorCategory.InvalidArgument, command.Opcode));
            return;
        }

        NvmeHostQueue? queue = QueueId == 0 ? Controller.Host.AdminQueue
            : QueueId <= Controller.Host.IoQueues.Count ? Controller.Host.IoQueues[QueueId - 1] : null;
        if (queue is null)
        {
            WriteError(new ErrorRecord(new ArgumentException($"Queue {QueueId} does not exist; {Controller.Name} has I/O queues 1..{Controller.Host.IoQueues.Count}."),
                "InvalidQueueId", ErrorCategory.InvalidArgument, QueueId));
            return;
        }

        string what = string.Format(CultureInfo.InvariantCulture, "Send opcode {0:X2}h on queue {1} (NSID {2}, CDW10 {3:X8}h)", command.Opcode, QueueId, command.Nsid, command.Cdw10);
        if (!ShouldProcess(Controller.Name, what))
        {
            return;
        }

        // Keep at most depth - 1 commands outstanding (one slot of a queue stays empty), oldest written first.
        while (_inFlight.Count >= Math.Max(1, queue.QueueSize - 1))
        {
            WriteOldest();
        }

        byte[] buffer = DataLength > 0 ? new byte[DataLength] : Array.Empty<byte>();
        Task<NvmeCommandResult> task = queue.ExecuteAsync(command, InputData, buffer, _cts!.Token).AsTask();
        _inFlight.Enqueue((task, QueueId, command.Opcode, buffer));
    }

    protected override void EndProcessing()
    {
        while (_inFlight.Count > 0)
        {
            WriteOldest();
        }
    }

    private void WriteOldest()
    {
        var (task, qid, opcode, buffer) = _inFlight.Dequeue();
        try
        {
            NvmeCommandResult r = Wait(task);
            WriteObject(NvmeCompletion.From(r.Completion, qid, opcode, buffer, r.BytesTransferred, Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cts?.Dispose();
        }

        base.Dispose(disposing);
    }
}
