using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace NvmePS.Tests.Support;

/// <summary>
/// A real PowerShell runspace (Microsoft.PowerShell.SDK) with out/NvmePS imported, as a user's pwsh session has it,
/// and a fluent way to run one command line in it and read every stream back.
/// </summary>
public sealed class ModuleRunspace : IDisposable
{
    private readonly RecordingHost _host;

    public ModuleRunspace(bool importModule = true, int width = 120)
    {
        ModuleUnderTest.EnsureLoaded();
        _host = new RecordingHost(width);
        Runspace = RunspaceFactory.CreateRunspace(_host, InitialSessionState.CreateDefault2());
        Runspace.Open();
        if (importModule)
        {
            Script("Import-Module $args[0] -ErrorAction Stop", ModuleUnderTest.ManifestPath).ThrowIfFailed();
        }
    }

    public Runspace Runspace { get; }

    /// <summary>How the test user answers -Confirm prompts (default: No).</summary>
    public Func<ConfirmPrompt, ConfirmAnswer> ConfirmHandler
    {
        get => _host.ConfirmHandler;
        set => _host.ConfirmHandler = value;
    }

    /// <summary>$ConfirmPreference of the session.</summary>
    public ConfirmImpact ConfirmPreference
    {
        get => (ConfirmImpact)Runspace.SessionStateProxy.GetVariable("ConfirmPreference");
        set => Runspace.SessionStateProxy.SetVariable("ConfirmPreference", value);
    }

    /// <summary>The session's current location (Set-Location).</summary>
    public string CurrentDirectory
    {
        get => Runspace.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath;
        set => Runspace.SessionStateProxy.Path.SetLocation(value);
    }

    public Invocation Command(string name) => new(this, ps => ps.AddCommand(name));

    /// <summary>A script to run later, or to <see cref="Invocation.Start"/> and stop.</summary>
    public Invocation ScriptInvocation(string script) => new(this, ps => ps.AddScript(script));

    /// <summary>A script; <paramref name="args"/> are its $args.</summary>
    public CommandResult Script(string script, params object?[] args)
    {
        var inv = new Invocation(this, ps => ps.AddScript(script));
        foreach (object? a in args)
        {
            inv.Arg(a);
        }

        return inv.Invoke();
    }

    /// <summary>Tab completion of "<paramref name="command"/> -<paramref name="parameter"/> <paramref name="wordToComplete"/>",
    /// as PowerShell's TabExpansion2 does it.</summary>
    public IReadOnlyList<CompletionResult> Complete(string command, string parameter, string wordToComplete)
    {
        string input = $"{command} -{parameter} {wordToComplete}";
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = Runspace;
        return CommandCompletion.CompleteInput(input, input.Length, null, ps).CompletionMatches.ToList();
    }

    internal PowerShell NewPowerShell(HostCapture capture)
    {
        _host.Capture = capture;
        PowerShell ps = PowerShell.Create();
        ps.Runspace = Runspace;
        return ps;
    }

    public void Dispose()
    {
        Runspace.Dispose();
    }
}

/// <summary>One command line being assembled: named and positional arguments, and pipeline input.</summary>
public sealed class Invocation
{
    private readonly ModuleRunspace _session;
    private readonly Action<PowerShell> _add;
    private readonly List<(string? Name, object? Value)> _parameters = new();
    private List<object?>? _input;

    internal Invocation(ModuleRunspace session, Action<PowerShell> add)
    {
        _session = session;
        _add = add;
    }

    public Invocation Param(string name, object? value)
    {
        _parameters.Add((name, value));
        return this;
    }

    /// <summary>-Name, a switch given without a value.</summary>
    public Invocation Switch(string name) => Param(name, new SwitchParameter(true));

    /// <summary>A positional argument.</summary>
    public Invocation Arg(object? value)
    {
        _parameters.Add((null, value));
        return this;
    }

    /// <summary>Pipeline input: each item is one record (as `$a, $b | Verb-Noun`).</summary>
    public Invocation Input(params object?[] items)
    {
        (_input ??= new List<object?>()).AddRange(items);
        return this;
    }

    public Invocation InputFrom(IEnumerable items)
    {
        _input ??= new List<object?>();
        foreach (object? o in items)
        {
            _input.Add(o);
        }

        return this;
    }

    public CommandResult Invoke()
    {
        RunningCommand running = Start();
        return running.Wait(TimeSpan.FromMinutes(5));
    }

    /// <summary>Starts the pipeline asynchronously, so the test can call <see cref="RunningCommand.Stop"/> as Ctrl+C does.</summary>
    public RunningCommand Start()
    {
        var capture = new HostCapture();
        PowerShell ps = _session.NewPowerShell(capture);
        _add(ps);
        foreach ((string? name, object? value) in _parameters)
        {
            if (name is null)
            {
                ps.AddArgument(value);
            }
            else
            {
                ps.AddParameter(name, value);
            }
        }

        return new RunningCommand(ps, capture, _input);
    }
}

/// <summary>A pipeline running in the runspace.</summary>
public sealed class RunningCommand
{
    private readonly PowerShell _ps;
    private readonly IAsyncResult _async;
    private readonly PSDataCollection<PSObject> _output = new();
    private readonly CommandResult _result;

    internal RunningCommand(PowerShell ps, HostCapture capture, List<object?>? input)
    {
        _ps = ps;
        _result = new CommandResult(ps, _output, capture);
        if (input is null)
        {
            _async = ps.BeginInvoke<object, PSObject>(null, _output);
        }
        else
        {
            var pipelineInput = new PSDataCollection<object?>(input);
            pipelineInput.Complete();
            _async = ps.BeginInvoke(pipelineInput, _output);
        }
    }

    /// <summary>The streams so far (complete after <see cref="Wait"/>).</summary>
    public CommandResult Result => _result;

    public bool IsCompleted => _async.IsCompleted;

    /// <summary>Stops the pipeline as Ctrl+C does; returns without waiting for it to end.</summary>
    public void Stop() => _ps.BeginStop(null, null);

    /// <summary>Polls the streams until <paramref name="condition"/> holds; false on timeout or when the command ended first.</summary>
    public bool WaitUntil(Func<CommandResult, bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        DateTime end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            if (condition(_result))
            {
                return true;
            }

            if (_async.IsCompleted)
            {
                return condition(_result);
            }

            Thread.Sleep(5);
        }

        return false;
    }

    public CommandResult Wait(TimeSpan timeout)
    {
        if (!_async.AsyncWaitHandle.WaitOne(timeout))
        {
            throw new TimeoutException($"The command did not finish within {timeout}.");
        }

        try
        {
            _ps.EndInvoke(_async);
        }
        catch (PipelineStoppedException)
        {
            _result.Stopped = true;
        }
        catch (RuntimeException e)
        {
            _result.Terminating = e;
        }

        if (_ps.InvocationStateInfo.State == PSInvocationState.Stopped)
        {
            _result.Stopped = true;
        }

        // Disposing the PowerShell instance clears its streams: keep copies.
        _result.Freeze();
        _ps.Dispose();
        return _result;
    }
}

/// <summary>What one pipeline produced, stream by stream.</summary>
public sealed class CommandResult
{
    private readonly PowerShell _ps;
    private readonly PSDataCollection<PSObject> _output;
    private readonly HostCapture _capture;

    internal CommandResult(PowerShell ps, PSDataCollection<PSObject> output, HostCapture capture)
    {
        _ps = ps;
        _output = output;
        _capture = capture;
        ErrorStream = ps.Streams.Error;
        WarningStream = ps.Streams.Warning;
        VerboseStream = ps.Streams.Verbose;
        ProgressStream = ps.Streams.Progress;
        InformationStream = ps.Streams.Information;
    }

    private PSDataCollection<ErrorRecord> ErrorStream { get; set; }

    private PSDataCollection<WarningRecord> WarningStream { get; set; }

    private PSDataCollection<VerboseRecord> VerboseStream { get; set; }

    private PSDataCollection<ProgressRecord> ProgressStream { get; set; }

    private PSDataCollection<InformationRecord> InformationStream { get; set; }

    internal void Freeze()
    {
        ErrorStream = new PSDataCollection<ErrorRecord>(Snapshot(ErrorStream));
        WarningStream = new PSDataCollection<WarningRecord>(Snapshot(WarningStream));
        VerboseStream = new PSDataCollection<VerboseRecord>(Snapshot(VerboseStream));
        ProgressStream = new PSDataCollection<ProgressRecord>(Snapshot(ProgressStream));
        InformationStream = new PSDataCollection<InformationRecord>(Snapshot(InformationStream));
        _commandText = _ps.Commands.Commands.FirstOrDefault()?.CommandText;
    }

    private string? _commandText;

    /// <summary>Output objects, unwrapped from their PSObject where a .NET object stands behind it.</summary>
    public IReadOnlyList<object?> Output => Snapshot(_output).Select(Unwrap).ToList();

    /// <summary>Output as PowerShell holds it (for deserialized objects and PSTypeNames).</summary>
    public IReadOnlyList<PSObject> OutputObjects => Snapshot(_output);

    public IReadOnlyList<ErrorRecord> Errors => Snapshot(ErrorStream);

    public IReadOnlyList<string> Warnings => Snapshot(WarningStream).Select(w => w.Message).ToList();

    public IReadOnlyList<string> Verbose => Snapshot(VerboseStream).Select(w => w.Message).ToList();

    public IReadOnlyList<ProgressRecord> Progress => Snapshot(ProgressStream);

    public IReadOnlyList<InformationRecord> Information => Snapshot(InformationStream);

    /// <summary>"What if: ..." lines written by ShouldProcess under -WhatIf, without the prefix.</summary>
    public IReadOnlyList<string> WhatIf =>
        _capture.Lines.Where(l => l.StartsWith("What if: ", StringComparison.Ordinal)).Select(l => l["What if: ".Length..]).ToList();

    /// <summary>Every line written to the host.</summary>
    public IReadOnlyList<string> HostLines => _capture.Lines;

    public IReadOnlyList<ConfirmPrompt> Prompts => _capture.Prompts;

    /// <summary>The exception that ended the pipeline, if one did.</summary>
    public RuntimeException? Terminating { get; internal set; }

    /// <summary>The terminating error's record (ThrowTerminatingError, a binding failure or an escaped exception).</summary>
    public ErrorRecord? TerminatingError => Terminating?.ErrorRecord;

    /// <summary>True when an exception escaped a cmdlet instead of being reported as an ErrorRecord: PowerShell
    /// wraps those in CmdletInvocationException, which a cmdlet's ThrowTerminatingError never produces.</summary>
    public bool UnhandledException => Terminating is CmdletInvocationException { InnerException: not null and not RuntimeException } c
        && c.ErrorRecord.Exception == c.InnerException && c.ErrorRecord.FullyQualifiedErrorId.StartsWith(c.InnerException.GetType().Name, StringComparison.Ordinal);

    public bool BindingFailed => Terminating is ParameterBindingException;

    public bool Stopped { get; internal set; }

    public bool Succeeded => Terminating is null && !Stopped && Errors.Count == 0;

    /// <summary>Every error: the non-terminating ones, then the terminating one.</summary>
    public IReadOnlyList<ErrorRecord> AllErrors
    {
        get
        {
            var all = new List<ErrorRecord>(Errors);
            if (TerminatingError is not null)
            {
                all.Add(TerminatingError);
            }

            return all;
        }
    }

    public IReadOnlyList<T> OutputOf<T>() => Output.OfType<T>().ToList();

    /// <summary>Throws with every error when the command did not succeed; returns the output otherwise.</summary>
    public IReadOnlyList<object?> ThrowIfFailed()
    {
        if (!Succeeded)
        {
            throw new InvalidOperationException(
                $"{_commandText} failed{(Stopped ? " (stopped)" : string.Empty)}: " +
                string.Join(" | ", AllErrors.Select(e => $"{e.FullyQualifiedErrorId} [{e.CategoryInfo.Category}] {e.Exception.GetType().Name}: {e}")));
        }

        return Output;
    }

    /// <summary>The output rendered as text (what the user sees), one string.</summary>
    public string Text => string.Join("\n", Output.Select(o => o?.ToString()));

    // PSDataCollection's enumerator blocks while the collection is open, and ReadAll empties it: copy by index.
    private static List<T> Snapshot<T>(PSDataCollection<T> c)
    {
        lock (((ICollection)c).SyncRoot)
        {
            var list = new List<T>(c.Count);
            for (int i = 0; i < c.Count; i++)
            {
                list.Add(c[i]);
            }

            return list;
        }
    }

    private static object? Unwrap(PSObject? o) => o?.BaseObject is PSCustomObject ? o : o?.BaseObject;
}
