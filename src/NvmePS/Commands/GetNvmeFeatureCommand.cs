using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Get-NvmeFeature: Get Features for one or more feature identifiers.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeFeature")]
[OutputType(typeof(NvmeFeature))]
public sealed class GetNvmeFeatureCommand : NvmeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>Feature names (NumberOfQueues, KeepAliveTimer, …) or numbers.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(FeatureIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] FeatureId { get; set; } = Array.Empty<string>();

    [Parameter]
    public NvmeFeatureSelect Select { get; set; } = NvmeFeatureSelect.Current;

    /// <summary>Command Dword 11 for features that take a selector (TMPSEL/THSEL of Temperature Threshold).</summary>
    [Parameter]
    public uint Cdw11 { get; set; }

    [Parameter]
    public uint NamespaceId { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    private byte[] _fids = Array.Empty<byte>();

    protected override void BeginProcessing() => _fids = AdminCmdlets.ParseFeatures(this, FeatureId);

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        foreach (byte fid in _fids)
        {
            try
            {
                uint dw0 = Wait(Controller.Admin.GetFeatureAsync(fid, Select, Cdw11, NamespaceId, cancellationToken: cts.Token));
                WriteObject(new NvmeFeature
                {
                    ControllerName = Controller.Name,
                    FeatureId = fid,
                    Name = NvmeAdminNames.NameOf(fid, NvmeAdminNames.Features),
                    Select = Select.ToString(),
                    Value = dw0,
                    Decoded = NvmeAdminNames.DescribeFeature(fid, Select, dw0),
                });
            }
            catch (Exception e) when (IsReportable(e))
            {
                WriteNvmeError(e, Controller);
            }
        }
    }
}

/// <summary>Completes -FeatureId with the feature names.</summary>
public sealed class FeatureIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        NvmeAdminNames.Features
            .Where(kv => kv.Key.StartsWith(wordToComplete ?? string.Empty, StringComparison.OrdinalIgnoreCase))
            .OrderBy(kv => kv.Value)
            .Select(kv => new CompletionResult(kv.Key, kv.Key, CompletionResultType.ParameterValue, $"Feature {kv.Value:X2}h"));
}
