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
    private const string HashtableSet = "Hashtable";

    private readonly NvmeCommandWindow<(ushort Qid, byte Opcode)> _inFlight = new();
    private CancellationTokenSource? _cts;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfController Controller { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    public byte Opcode { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Nsid")]
    [UInt32Bits]
    public uint NamespaceId { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint Cdw10 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint Cdw11 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint Cdw12 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint Cdw13 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint Cdw14 { get; set; }

    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [UInt32Bits]
    public uint Cdw15 { get; set; }

    /// <summary>A whole 64-byte submission queue entry; the transport replaces its CID and data pointer.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SqeSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public byte[] Sqe { get; set; } = Array.Empty<byte>();

    /// <summary>A command as a hashtable, as users type it: @{ Opcode = 0x02; Nsid = 1; Cdw10 = 0; Qid = 1; DataLength = 512 }.
    /// Keys are the parameter names (or their aliases) of the other sets, case-insensitive.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = HashtableSet)]
    [ValidateNotNull]
    public System.Collections.IDictionary InputObject { get; set; } = null!;

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
        CommandFields f;
        if (ParameterSetName == HashtableSet)
        {
            if (!CommandFields.TryFrom(InputObject, out f, out string? problem))
            {
                WriteError(new ErrorRecord(new ArgumentException(problem), "InvalidCommandHashtable", ErrorCategory.InvalidArgument, InputObject));
                return;
            }
        }
        else
        {
            f = new CommandFields
            {
                Opcode = Opcode,
                NamespaceId = NamespaceId,
                Cdw10 = Cdw10,
                Cdw11 = Cdw11,
                Cdw12 = Cdw12,
                Cdw13 = Cdw13,
                Cdw14 = Cdw14,
                Cdw15 = Cdw15,
                Sqe = ParameterSetName == SqeSet ? Sqe : null,
                QueueId = QueueId,
                InputData = InputData,
                DataLength = DataLength,
            };
        }

        NvmeCommand command;
        if (f.Sqe is { } sqe)
        {
            if (!NvmeCommand.TryRead(sqe, out command) || sqe.Length != NvmeCommand.Size)
            {
                WriteError(new ErrorRecord(new ArgumentException($"-Sqe must be exactly {NvmeCommand.Size} bytes, not {sqe.Length}."), "InvalidSqe", ErrorCategory.InvalidArgument, sqe));
                return;
            }
        }
        else
        {
            command = new NvmeCommand { Opcode = f.Opcode, Nsid = f.NamespaceId, Cdw10 = f.Cdw10, Cdw11 = f.Cdw11, Cdw12 = f.Cdw12, Cdw13 = f.Cdw13, Cdw14 = f.Cdw14, Cdw15 = f.Cdw15 };
        }

        if (f.InputData.Length > 0 && f.DataLength > 0)
        {
            WriteError(new ErrorRecord(new ArgumentException("A command moves data in one direction: give -InputData or -DataLength, not both."), "BidirectionalData", ErrorCategory.InvalidArgument, command.Opcode));
            return;
        }

        NvmeHostQueue? queue = NvmeCommandWindow<(ushort, byte)>.SelectQueue(Controller.Host, f.QueueId);
        if (queue is null)
        {
            WriteError(new ErrorRecord(new ArgumentException($"Queue {f.QueueId} does not exist; {Controller.Name} has I/O queues 1..{Controller.Host.IoQueues.Count}."),
                "InvalidQueueId", ErrorCategory.InvalidArgument, f.QueueId));
            return;
        }

        string what = string.Format(CultureInfo.InvariantCulture, "Send opcode {0:X2}h on queue {1} (NSID {2}, CDW10 {3:X8}h)", command.Opcode, f.QueueId, command.Nsid, command.Cdw10);
        if (!ShouldProcess(Controller.Name, what))
        {
            return;
        }

        // The engine's window keeps at most depth - 1 commands outstanding; the oldest is written first.
        while (_inFlight.IsFull(queue))
        {
            WriteOldest();
        }

        _inFlight.Submit(queue, command, f.InputData, f.DataLength, (f.QueueId, command.Opcode), _cts!.Token);
    }

    /// <summary>One command's fields, from parameters or from a hashtable.</summary>
    private sealed class CommandFields
    {
        private static readonly Dictionary<string, string> Names = new(StringComparer.OrdinalIgnoreCase)
        {
            ["Opcode"] = "Opcode",
            ["NamespaceId"] = "NamespaceId",
            ["Nsid"] = "NamespaceId",
            ["Cdw10"] = "Cdw10",
            ["Cdw11"] = "Cdw11",
            ["Cdw12"] = "Cdw12",
            ["Cdw13"] = "Cdw13",
            ["Cdw14"] = "Cdw14",
            ["Cdw15"] = "Cdw15",
            ["Sqe"] = "Sqe",
            ["QueueId"] = "QueueId",
            ["Qid"] = "QueueId",
            ["InputData"] = "InputData",
            ["DataLength"] = "DataLength",
        };

        public byte Opcode { get; init; }

        public uint NamespaceId { get; init; }

        public uint Cdw10 { get; init; }

        public uint Cdw11 { get; init; }

        public uint Cdw12 { get; init; }

        public uint Cdw13 { get; init; }

        public uint Cdw14 { get; init; }

        public uint Cdw15 { get; init; }

        public byte[]? Sqe { get; init; }

        public ushort QueueId { get; init; }

        public byte[] InputData { get; init; } = Array.Empty<byte>();

        public int DataLength { get; init; }

        public static bool TryFrom(System.Collections.IDictionary table, out CommandFields fields, out string? problem)
        {
            fields = new CommandFields();
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry entry in table)
            {
                string key = entry.Key?.ToString() ?? string.Empty;
                if (!Names.TryGetValue(key, out string? name))
                {
                    problem = $"'{key}' is not a Send-NvmfCommand field; use {string.Join(", ", Names.Keys)}.";
                    return false;
                }

                if (!values.TryAdd(name, entry.Value))
                {
                    problem = $"'{key}' repeats the field {name}.";
                    return false;
                }
            }

            if (!values.ContainsKey("Opcode") && !values.ContainsKey("Sqe"))
            {
                problem = "The hashtable needs an Opcode (or a whole Sqe).";
                return false;
            }

            try
            {
                T Get<T>(string name, T fallback)
                {
                    if (!values.TryGetValue(name, out object? v) || v is null)
                    {
                        return fallback;
                    }

                    // 0xFFFFFFFF is the Int32 -1 to PowerShell: a dword field takes its bit pattern, as -Cdw10 does.
                    if (typeof(T) == typeof(uint) && UInt32BitsAttribute.Bits(v) is uint bits)
                    {
                        return (T)(object)bits;
                    }

                    return LanguagePrimitives.ConvertTo<T>(v);
                }
                fields = new CommandFields
                {
                    Opcode = Get<byte>("Opcode", 0),
                    NamespaceId = Get<uint>("NamespaceId", 0),
                    Cdw10 = Get<uint>("Cdw10", 0),
                    Cdw11 = Get<uint>("Cdw11", 0),
                    Cdw12 = Get<uint>("Cdw12", 0),
                    Cdw13 = Get<uint>("Cdw13", 0),
                    Cdw14 = Get<uint>("Cdw14", 0),
                    Cdw15 = Get<uint>("Cdw15", 0),
                    Sqe = Get<byte[]?>("Sqe", null),
                    QueueId = Get<ushort>("QueueId", 0),
                    InputData = Get("InputData", Array.Empty<byte>()),
                    DataLength = Get("DataLength", 0),
                };
            }
            catch (PSInvalidCastException e)
            {
                problem = $"A field of the hashtable has the wrong type: {e.Message}";
                return false;
            }

            if (fields.DataLength is < 0 or > 16 * 1024 * 1024)
            {
                problem = $"DataLength {fields.DataLength} is outside 0 to {16 * 1024 * 1024}.";
                return false;
            }

            problem = null;
            return true;
        }
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
        if (!_inFlight.TryTakeOldest(out var task, out byte[] buffer, out var state))
        {
            return;
        }

        var (qid, opcode) = state;
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
