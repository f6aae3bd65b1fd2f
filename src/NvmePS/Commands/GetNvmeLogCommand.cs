using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Get-NvmeLog: Get Log Page, decoded for SMART/Health, Error Information, Firmware Slot, Changed Namespace
/// List and Discovery; any other log (or -Raw) comes back as bytes.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeLog")]
[OutputType(typeof(NvmeSmartHealth), typeof(NvmeErrorInfo), typeof(NvmeFirmwareSlots), typeof(NvmeSelfTest), typeof(NvmeSanitizeStatus), typeof(NvmeNamespaceId), typeof(NvmfDiscoveryLogEntry), typeof(NvmeLogPage))]
public sealed class GetNvmeLogCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>Smart, Error, FirmwareSlot, ChangedNamespaces, DeviceSelfTest, SanitizeStatus, Discovery, another name, or a number.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(LogIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string LogId { get; set; } = string.Empty;

    [Parameter]
    public ulong Offset { get; set; }

    /// <summary>Bytes to read; a multiple of 4. Defaults to the log's size for decoded logs, 4096 otherwise.</summary>
    [Parameter]
    [ValidateRange(4, 16 * 1024 * 1024)]
    public int Length { get; set; }

    [Parameter]
    public uint NamespaceId { get; set; } = NvmeAdminCommands.BroadcastNsid;

    /// <summary>Error log entries to read (default: all the controller keeps, ELPE + 1).</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int Entries { get; set; }

    [Parameter]
    public SwitchParameter RetainAsyncEvent { get; set; }

    [Parameter]
    public SwitchParameter Raw { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    private byte _lid;

    protected override void BeginProcessing()
    {
        // Unusable input ends the command before anything is sent.
        if (!NvmeAdminNames.TryParse(LogId, NvmeAdminNames.LogPages, out _lid))
        {
            ThrowInputError("InvalidLogId", $"'{LogId}' is not a log page name ({string.Join(", ", NvmeAdminNames.LogPages.Keys)}) or a number 0-255.", ErrorCategory.InvalidArgument, LogId);
        }

        if (Length % 4 != 0)
        {
            ThrowInputError("InvalidLogLength", $"-Length {Length} is not a multiple of 4 bytes (Get Log Page reads whole dwords).", ErrorCategory.InvalidArgument, Length);
        }
    }

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        var admin = Controller.Admin;
        string name = Controller.Name;
        using var cts = LinkedTimeout(TimeoutSec);
        CancellationToken ct = cts.Token;
        try
        {
            bool decoded = !Raw && Offset == 0 && Length == 0;
            switch (_lid)
            {
                case NvmeLogPageId.SmartHealth when decoded:
                    WriteObject(NvmeSmartHealth.From(Wait(admin.GetSmartLogAsync(NamespaceId, RetainAsyncEvent, ct)), name));
                    break;
                case NvmeLogPageId.ErrorInformation when !Raw && Offset == 0:
                    int entries = Entries > 0 ? Entries : Wait(admin.IdentifyControllerAsync(ct)).Elpe + 1;
                    foreach (var e in Wait(admin.GetErrorLogAsync(entries, RetainAsyncEvent, ct)).Where(e => !e.IsEmpty))
                    {
                        WriteObject(NvmeErrorInfo.From(e, name));
                    }

                    break;
                case NvmeLogPageId.FirmwareSlot when decoded:
                    WriteObject(NvmeFirmwareSlots.From(Wait(admin.GetFirmwareSlotLogAsync(ct)), name));
                    break;
                case NvmeLogPageId.DeviceSelfTest when decoded:
                    WriteObject(SelfTestCmdlets.Entries(Wait(admin.GetSelfTestLogAsync(ct)), name), enumerateCollection: true);
                    break;
                case NvmeLogPageId.SanitizeStatus when decoded:
                    WriteObject(NvmeSanitizeStatus.From(Wait(admin.GetSanitizeStatusAsync(RetainAsyncEvent, ct)), name));
                    break;
                case NvmeLogPageId.ChangedNamespaceList when decoded:
                    foreach (uint nsid in Wait(admin.GetChangedNamespaceListAsync(RetainAsyncEvent, ct)))
                    {
                        WriteObject(new NvmeNamespaceId { Controller = Controller, ControllerName = name, NamespaceId = nsid, Source = "ChangedNamespaces" });
                    }

                    break;
                case NvmeLogPageId.Discovery when decoded && Controller is NvmfController fabrics:
                    // The engine re-reads until the generation counter holds still.
                    foreach (var entry in Wait(fabrics.Host.GetDiscoveryLogAsync(ct)).Entries)
                    {
                        WriteObject(NvmfDiscoveryLogEntry.From(entry, name));
                    }

                    break;
                default:
                    int length = Length > 0 ? Length : 4096;
                    byte[] data = Wait(admin.GetLogPageAsync(_lid, length, Offset, NamespaceId, RetainAsyncEvent, cancellationToken: ct));
                    WriteObject(new NvmeLogPage { ControllerName = name, LogId = _lid, Offset = Offset, Length = data.Length, Data = data });
                    break;
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}

/// <summary>Completes -LogId with the log page names.</summary>
public sealed class LogIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        NvmeAdminNames.LogPages
            .Where(kv => kv.Key.StartsWith(wordToComplete ?? string.Empty, StringComparison.OrdinalIgnoreCase))
            .OrderBy(kv => kv.Value)
            .Select(kv => new CompletionResult(kv.Key, kv.Key, CompletionResultType.ParameterValue, $"Log page {kv.Value:X2}h"));
}
