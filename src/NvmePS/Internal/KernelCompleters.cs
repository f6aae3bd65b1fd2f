using System.Management.Automation;
using System.Management.Automation.Language;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Completes the kernel's NVMe controller names (nvme0, ...), with model and transport as the tooltip.</summary>
public sealed class KernelControllerCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        ConnectedNqnCompleter.Complete(NvmeKernelSysfs.Default.List().Select(c => (c.Name, $"{c.Transport} {c.Model} {c.Address}")), wordToComplete);
}

/// <summary>Completes the subsystem NQNs nvmet's configfs holds (none when nvmet is absent).</summary>
public sealed class NvmetSubsystemCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        IReadOnlyList<NvmetSubsystemInfo> subsystems;
        try
        {
            subsystems = NvmetConfigfs.Default.ReadSubsystems();
        }
        catch (Exception e) when (e is NvmeKernelException or IOException or UnauthorizedAccessException)
        {
            return Array.Empty<CompletionResult>();
        }

        return ConnectedNqnCompleter.Complete(subsystems.Select(s => (s.Nqn, "nvmet subsystem")), wordToComplete);
    }
}
