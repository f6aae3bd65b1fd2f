using System.Management.Automation;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Commands;

/// <summary>What this session has open: connected controllers and running targets. Completers and Get-NvmfTarget
/// read it; Remove-Module closes everything in it.</summary>
internal static class NvmfSession
{
    private static readonly object Gate = new();
    private static readonly List<NvmfController> ControllerList = new();
    private static readonly List<NvmfTarget> TargetList = new();

    public static IReadOnlyList<NvmfController> Controllers
    {
        get
        {
            lock (Gate)
            {
                ControllerList.RemoveAll(c => !c.IsConnected);
                return ControllerList.ToArray();
            }
        }
    }

    public static IReadOnlyList<NvmfTarget> Targets
    {
        get
        {
            lock (Gate)
            {
                TargetList.RemoveAll(t => !t.IsRunning);
                return TargetList.ToArray();
            }
        }
    }

    public static void Add(NvmfController c)
    {
        lock (Gate)
        {
            ControllerList.Add(c);
        }
    }

    public static void Add(NvmfTarget t)
    {
        lock (Gate)
        {
            TargetList.Add(t);
        }
    }

    public static void Remove(NvmfController c)
    {
        lock (Gate)
        {
            ControllerList.Remove(c);
        }
    }

    public static void Remove(NvmfTarget t)
    {
        lock (Gate)
        {
            TargetList.Remove(t);
        }
    }

    /// <summary>Disconnects every controller and stops every target (best effort).</summary>
    public static async Task CloseAllAsync()
    {
        NvmfController[] controllers;
        NvmfTarget[] targets;
        lock (Gate)
        {
            controllers = ControllerList.ToArray();
            targets = TargetList.ToArray();
            ControllerList.Clear();
            TargetList.Clear();
        }

        foreach (var c in controllers)
        {
            c.MarkClosed();
            await c.Host.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var t in targets)
        {
            await t.HostObject.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Remove-Module NvmePS: disconnect controllers and stop targets so no socket or file stays open.</summary>
public sealed class NvmePSModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => NvmfSession.CloseAllAsync().GetAwaiter().GetResult();
}

/// <summary>Completes subsystem NQNs of connected controllers.</summary>
public sealed class ConnectedNqnCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        Complete(NvmfSession.Controllers.Select(c => (c.SubsystemNqn, c.Name)), wordToComplete);

    internal static IEnumerable<CompletionResult> Complete(IEnumerable<(string Nqn, string Tip)> items, string? word) =>
        items.Where(i => i.Nqn.StartsWith(word?.Trim('\'', '"') ?? string.Empty, StringComparison.OrdinalIgnoreCase))
            .GroupBy(i => i.Nqn, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new CompletionResult(g.Key.Contains(' ', StringComparison.Ordinal) ? $"'{g.Key}'" : g.Key, g.Key, CompletionResultType.ParameterValue, g.First().Tip));
}

/// <summary>Completes subsystem NQNs of targets running in this session.</summary>
public sealed class TargetNqnCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        ConnectedNqnCompleter.Complete(NvmfSession.Targets.Select(t => (t.SubsystemNqn, $"target on {t.Listen}")), wordToComplete);
}

/// <summary>Completes NQNs a host may connect to: running targets' subsystems and the discovery NQN.</summary>
public sealed class ConnectableNqnCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        ConnectedNqnCompleter.Complete(
            NvmfSession.Targets.Select(t => (t.SubsystemNqn, $"target on {t.Listen}"))
                .Append((FabricsCommand.DiscoveryNqn, "the discovery controller")),
            wordToComplete);
}
