using System.Management.Automation;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Stop-NvmfTarget: stops a session target (its hosts' associations end), or removes kernel (nvmet) subsystems
/// from configfs in the order configfs demands.</summary>
[Cmdlet(VerbsLifecycle.Stop, "NvmfTarget", DefaultParameterSetName = InputSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmfTarget), ParameterSetName = new[] { InputSet, NqnSet })]
[OutputType(typeof(NvmetSubsystem), ParameterSetName = new[] { KernelSet, KernelNqnSet })]
public sealed class StopNvmfTargetCommand : NvmeCmdlet
{
    private const string InputSet = "InputObject";
    private const string NqnSet = "SubsystemNqn";
    private const string KernelSet = "Kernel";
    private const string KernelNqnSet = "KernelSubsystemNqn";

    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ParameterSetName = NqnSet, ValueFromPipelineByPropertyName = true, DontShow = true)]
    [Parameter(ParameterSetName = KernelNqnSet, ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputSet)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfTarget[] InputObject { get; set; } = Array.Empty<NvmfTarget>();

    [Parameter(Mandatory = true, ParameterSetName = NqnSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = KernelNqnSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TargetNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    /// <summary>Kernel target subsystems (Get-NvmfTarget -Kernel, Start-NvmfTarget -Kernel) to remove.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = KernelSet)]
    [ValidateNotNull]
    public NvmetSubsystem[] KernelTarget { get; set; } = Array.Empty<NvmetSubsystem>();

    /// <summary>Remove kernel (nvmet) subsystems named by -SubsystemNqn.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KernelNqnSet)]
    public SwitchParameter Kernel { get; set; }

    /// <summary>Keep kernel ports that no subsystem uses any more (they are removed otherwise).</summary>
    [Parameter(ParameterSetName = KernelSet)]
    [Parameter(ParameterSetName = KernelNqnSet)]
    public SwitchParameter KeepPorts { get; set; }

    /// <summary>Writes the stopped target objects.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("subsystem NQN", string.Join(", ", SubsystemNqn)))
        {
            return;
        }

        if (ParameterSetName is KernelSet or KernelNqnSet)
        {
            StopKernel();
            return;
        }

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

    private void StopKernel()
    {
        var configfs = NvmetConfigfs.Default;
        IReadOnlyList<NvmetSubsystemInfo> all;
        try
        {
            all = configfs.ReadSubsystems();
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, "nvmet");
            return;
        }

        var chosen = new List<NvmetSubsystemInfo>();
        IEnumerable<string> patterns = ParameterSetName == KernelSet ? KernelTarget.Select(k => k.SubsystemNqn) : SubsystemNqn;
        foreach (string pattern in patterns)
        {
            bool literal = ParameterSetName == KernelSet || !WildcardPattern.ContainsWildcardCharacters(pattern);
            var wildcard = new WildcardPattern(literal ? WildcardPattern.Escape(pattern) : pattern, WildcardOptions.IgnoreCase);
            var found = all.Where(s => wildcard.IsMatch(s.Nqn) && !chosen.Contains(s)).ToList();
            if (found.Count == 0 && literal)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"nvmet has no subsystem {pattern}."), NvmeKernelException.NvmetNotFoundId, ErrorCategory.ObjectNotFound, pattern));
            }

            chosen.AddRange(found);
        }

        foreach (var s in chosen)
        {
            string where = s.Ports.Count == 0 ? "no port" : string.Join(", ", s.Ports.Select(p => $"port {p.PortId}"));
            if (!ShouldProcess($"{s.Nqn} ({s.Namespaces.Count} namespace(s), {where})", "Remove from the kernel NVMe target (nvmet)"))
            {
                continue;
            }

            try
            {
                configfs.Remove(s.Nqn, removeEmptyPorts: !KeepPorts);
            }
            catch (Exception e) when (IsReportable(e))
            {
                WriteNvmeError(e, s.Nqn);
                continue;
            }

            if (PassThru)
            {
                WriteObject(new NvmetSubsystem(s));
            }
        }
    }
}
