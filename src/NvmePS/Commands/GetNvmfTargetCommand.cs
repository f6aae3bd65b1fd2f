using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmfTarget: the targets running in this session.</summary>
[Cmdlet(VerbsCommon.Get, "NvmfTarget")]
[OutputType(typeof(NvmfTarget))]
public sealed class GetNvmfTargetCommand : NvmeCmdlet
{
    /// <summary>Only targets serving these subsystem NQNs (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TargetNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        var targets = NvmfSession.Current.Targets;
        if (SubsystemNqn.Length == 0)
        {
            WriteObject(targets, enumerateCollection: true);
            return;
        }

        foreach (string pattern in SubsystemNqn)
        {
            var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            var found = targets.Where(t => t.ServesMatch(wildcard)).ToList();
            if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"No target in this session serves {pattern}."), "NvmfTargetNotFound", ErrorCategory.ObjectNotFound, pattern));
            }

            WriteObject(found, enumerateCollection: true);
        }
    }
}
