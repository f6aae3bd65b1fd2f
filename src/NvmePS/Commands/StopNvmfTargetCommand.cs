using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Stop-NvmfTarget: stops a session target; its hosts' associations end.</summary>
[Cmdlet(VerbsLifecycle.Stop, "NvmfTarget", DefaultParameterSetName = InputSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmfTarget))]
public sealed class StopNvmfTargetCommand : NvmeCmdlet
{
    private const string InputSet = "InputObject";
    private const string NqnSet = "SubsystemNqn";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputSet)]
    [ValidateNotNull]
    public NvmfTarget[] InputObject { get; set; } = Array.Empty<NvmfTarget>();

    [Parameter(Mandatory = true, ParameterSetName = NqnSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TargetNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    /// <summary>Writes the stopped target objects.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        IEnumerable<NvmfTarget> targets = InputObject;
        if (ParameterSetName == NqnSet)
        {
            var list = new List<NvmfTarget>();
            foreach (string pattern in SubsystemNqn)
            {
                var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
                var found = NvmfSession.Current.Targets.Where(t => t.ServesMatch(wildcard)).ToList();
                if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
                {
                    WriteError(new ErrorRecord(new ItemNotFoundException($"No target in this session serves {pattern}."), "NvmfTargetNotFound", ErrorCategory.ObjectNotFound, pattern));
                }

                list.AddRange(found);
            }

            targets = list;
        }

        foreach (NvmfTarget t in targets)
        {
            if (!ShouldProcess($"{t.SubsystemNqn} on {t.Listen}", "Stop NVMe/TCP target"))
            {
                continue;
            }

            try
            {
                Wait(t.HostObject.DisposeAsync());
                NvmfSession.Current.Remove(t);
            }
            catch (Exception e) when (IsReportable(e))
            {
                WriteNvmeError(e, t);
                continue;
            }

            if (PassThru)
            {
                WriteObject(t);
            }
        }
    }
}
