using System.Management.Automation;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Get-NvmfTarget: the targets running in this session, or (-Kernel) the subsystems nvmet's configfs holds,
/// whichever tool made them.</summary>
[Cmdlet(VerbsCommon.Get, "NvmfTarget", DefaultParameterSetName = UserspaceSet)]
[OutputType(typeof(NvmfTarget), ParameterSetName = new[] { UserspaceSet })]
[OutputType(typeof(NvmetSubsystem), ParameterSetName = new[] { KernelSet })]
public sealed class GetNvmfTargetCommand : NvmeCmdlet
{
    private const string UserspaceSet = "Userspace";
    private const string KernelSet = "Kernel";

    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    /// <summary>List the kernel target's (nvmet's) subsystems from configfs.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KernelSet)]
    public SwitchParameter Kernel { get; set; }

    /// <summary>Only targets serving these subsystem NQNs (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TargetNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("subsystem NQN", string.Join(", ", SubsystemNqn)))
        {
            return;
        }

        if (ParameterSetName == KernelSet)
        {
            WriteKernel();
            return;
        }

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

    private void WriteKernel()
    {
        IReadOnlyList<NvmetSubsystemInfo> all;
        try
        {
            all = NvmetConfigfs.Default.ReadSubsystems();
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, "nvmet");
            return;
        }

        if (SubsystemNqn.Length == 0)
        {
            WriteObject(all.Select(s => new NvmetSubsystem(s)), enumerateCollection: true);
            return;
        }

        foreach (string pattern in SubsystemNqn)
        {
            var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            var found = all.Where(s => wildcard.IsMatch(s.Nqn)).ToList();
            if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"nvmet has no subsystem {pattern}."), NvmeKernelException.NvmetNotFoundId, ErrorCategory.ObjectNotFound, pattern));
            }

            WriteObject(found.Select(s => new NvmetSubsystem(s)), enumerateCollection: true);
        }
    }
}
