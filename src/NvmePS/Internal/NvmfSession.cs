using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Commands;

/// <summary>
/// What one PowerShell session (runspace) has open: connected controllers and running targets. Each runspace has
/// its own, as its variables are: Get-NvmfTarget, Stop-NvmfTarget -SubsystemNqn, Disconnect-NvmfController
/// -SubsystemNqn and the completers see only the calling runspace's objects, and Remove-Module NvmePS or closing the
/// runspace closes only what that runspace opened. The assembly is loaded once per process, so the state is keyed
/// by runspace rather than held in statics.
/// </summary>
internal sealed class NvmfSession
{
    private static readonly ConditionalWeakTable<Runspace, NvmfSession> ByRunspace = new();

    // Only reached off a pipeline thread (no default runspace), which cmdlets and completers never are.
    private static readonly NvmfSession Detached = new();

    private readonly object _gate = new();
    private readonly List<NvmfController> _controllers = new();
    private readonly List<NvmfTarget> _targets = new();
    private readonly List<NvmeMiSimulator> _simulators = new();
    private readonly List<NvmeMiConnection> _miConnections = new();

    /// <summary>The calling runspace's session, created on first use.</summary>
    public static NvmfSession Current => Runspace.DefaultRunspace is { } rs ? ByRunspace.GetValue(rs, Attach) : Detached;

    private static NvmfSession Attach(Runspace runspace)
    {
        var session = new NvmfSession();
        runspace.StateChanged += (_, e) =>
        {
            if (e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)
            {
                session.CloseAllAsync().GetAwaiter().GetResult();
            }
        };
        return session;
    }

    /// <summary>Closes and forgets the calling runspace's session (Remove-Module).</summary>
    public static void CloseCurrent()
    {
        if (Runspace.DefaultRunspace is { } rs && ByRunspace.TryGetValue(rs, out NvmfSession? session))
        {
            ByRunspace.Remove(rs);
            session.CloseAllAsync().GetAwaiter().GetResult();
        }
    }

    public IReadOnlyList<NvmfController> Controllers
    {
        get
        {
            lock (_gate)
            {
                _controllers.RemoveAll(c => !c.IsConnected);
                return _controllers.ToArray();
            }
        }
    }

    public IReadOnlyList<NvmfTarget> Targets
    {
        get
        {
            lock (_gate)
            {
                _targets.RemoveAll(t => !t.IsRunning);
                return _targets.ToArray();
            }
        }
    }

    /// <summary>The error for a subsystem NQN this session already serves, or null: one NQN is one subsystem, and a
    /// second target with it would show hosts two subsystems that multipathing merges into one.</summary>
    public ErrorRecord? SubsystemNqnInUse(string nqn) =>
        Targets.FirstOrDefault(t => t.HostObject.Serves(nqn)) is { } owner
            ? new ErrorRecord(new InvalidOperationException($"Subsystem {nqn} is already served by the target on {owner.Listen}. Stop that target first, or serve another NQN."),
                "NvmfSubsystemNqnInUse", ErrorCategory.ResourceExists, owner)
            : null;

    public IReadOnlyList<NvmeMiSimulator> Simulators
    {
        get
        {
            lock (_gate)
            {
                _simulators.RemoveAll(t => !t.IsRunning);
                return _simulators.ToArray();
            }
        }
    }

    public IReadOnlyList<NvmeMiConnection> MiConnections
    {
        get
        {
            lock (_gate)
            {
                _miConnections.RemoveAll(t => !t.IsConnected);
                return _miConnections.ToArray();
            }
        }
    }

    public void Add(NvmeMiSimulator s)
    {
        lock (_gate)
        {
            _simulators.Add(s);
        }
    }

    public void Add(NvmeMiConnection c)
    {
        lock (_gate)
        {
            _miConnections.Add(c);
        }
    }

    public void Remove(NvmeMiSimulator s)
    {
        lock (_gate)
        {
            _simulators.Remove(s);
        }
    }

    public void Remove(NvmeMiConnection c)
    {
        lock (_gate)
        {
            _miConnections.Remove(c);
        }
    }

    public void Add(NvmfController c)
    {
        lock (_gate)
        {
            _controllers.Add(c);
        }
    }

    public void Add(NvmfTarget t)
    {
        lock (_gate)
        {
            _targets.Add(t);
        }
    }

    public void Remove(NvmfController c)
    {
        lock (_gate)
        {
            _controllers.Remove(c);
        }
    }

    public void Remove(NvmfTarget t)
    {
        lock (_gate)
        {
            _targets.Remove(t);
        }
    }

    /// <summary>Disconnects every controller and stops every target of this session (best effort).</summary>
    public async Task CloseAllAsync()
    {
        NvmfController[] controllers;
        NvmfTarget[] targets;
        NvmeMiConnection[] miConnections;
        NvmeMiSimulator[] simulators;
        lock (_gate)
        {
            controllers = _controllers.ToArray();
            targets = _targets.ToArray();
            miConnections = _miConnections.ToArray();
            simulators = _simulators.ToArray();
            _controllers.Clear();
            _targets.Clear();
            _miConnections.Clear();
            _simulators.Clear();
        }

        foreach (var c in miConnections)
        {
            await c.CloseAsync().ConfigureAwait(false);
        }

        foreach (var s in simulators)
        {
            await s.Host.DisposeAsync().ConfigureAwait(false);
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

/// <summary>Remove-Module NvmePS: disconnect the removing runspace's controllers and stop its targets, so no socket
/// or file stays open; other runspaces that imported the module keep theirs.</summary>
public sealed class NvmePSModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => NvmfSession.CloseCurrent();
}

/// <summary>Completes subsystem NQNs of connected controllers.</summary>
public sealed class ConnectedNqnCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        Complete(NvmfSession.Current.Controllers.Select(c => (c.SubsystemNqn, c.Name)), wordToComplete);

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
        ConnectedNqnCompleter.Complete(NvmfSession.Current.Targets.SelectMany(t => t.SubsystemNqns.Select(n => (n, $"target on {t.Listen}"))), wordToComplete);
}

/// <summary>Completes NQNs a host may connect to: running targets' subsystems and the discovery NQN.</summary>
public sealed class ConnectableNqnCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        ConnectedNqnCompleter.Complete(
            NvmfSession.Current.Targets.SelectMany(t => t.SubsystemNqns.Select(n => (n, $"target on {t.Listen}")))
                .Append((FabricsCommand.DiscoveryNqn, "the discovery controller")),
            wordToComplete);
}
