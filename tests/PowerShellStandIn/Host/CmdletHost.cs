using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;

namespace NvmePS.Testing;

/// <summary>
/// A small PowerShell: imports compiled modules (runs IModuleAssemblyInitializer.OnImport, and OnRemove on
/// dispose), binds parameters like PowerShell's binder (named with alias and unique-prefix matching, positional,
/// pipeline ByValue and ByPropertyName with and without coercion, parameter-set resolution, mandatory checks,
/// validation attributes, common parameters), runs Begin/Process/End over pipeline input, captures every stream,
/// answers ShouldProcess/-WhatIf/-Confirm, and stops a running command from another thread.
/// </summary>
public sealed class CmdletHost : IDisposable
{
    private readonly Dictionary<string, CommandMetadata> _commands = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Assembly> _modules = new();
    private bool _disposed;

    public CmdletHost(params Assembly[] modules)
    {
        foreach (Assembly module in modules)
        {
            Import(module);
        }
    }

    /// <summary>The session's current location, used to resolve relative paths.</summary>
    public string CurrentDirectory { get; set; } = Environment.CurrentDirectory;

    /// <summary>$ConfirmPreference (High by default, as in PowerShell).</summary>
    public ConfirmImpact ConfirmPreference { get; set; } = ConfirmImpact.High;

    /// <summary>Answers confirmation prompts. The default answers No, as a non-interactive host would refuse.</summary>
    public Func<ConfirmPrompt, ConfirmAnswer> ConfirmHandler { get; set; } = _ => ConfirmAnswer.No;

    public IReadOnlyCollection<CommandMetadata> Commands => _commands.Values;

    public void Import(Assembly module)
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (Type t in module.GetExportedTypes())
        {
            if (typeof(Cmdlet).IsAssignableFrom(t) && !t.IsAbstract && t.GetCustomAttribute<CmdletAttribute>() is not null)
            {
                var md = new CommandMetadata(t);
                _commands[md.Name] = md;
            }
        }

        foreach (Type t in module.GetTypes().Where(t => typeof(IModuleAssemblyInitializer).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface))
        {
            ((IModuleAssemblyInitializer)Activator.CreateInstance(t, nonPublic: true)!).OnImport();
        }

        _modules.Add(module);
    }

    public CommandMetadata GetCommand(string name) =>
        _commands.TryGetValue(name, out var md) ? md : throw new ArgumentException($"The term '{name}' is not recognized as a cmdlet of the imported modules.", nameof(name));

    /// <summary>Starts describing an invocation of <paramref name="name"/>.</summary>
    public Invocation Command(string name) => new(this, GetCommand(name));

    /// <summary>Runs the argument completer of a parameter, as tab completion does.</summary>
    public IReadOnlyList<CompletionResult> Complete(string command, string parameter, string wordToComplete, IDictionary? fakeBoundParameters = null)
    {
        CommandMetadata md = GetCommand(command);
        ParameterMetadata p = md.Resolve(parameter, out _) ?? throw new ArgumentException($"{command} has no parameter {parameter}.", nameof(parameter));
        ArgumentCompleterAttribute a = p.Completer ?? throw new ArgumentException($"{command} -{p.Name} has no argument completer.", nameof(parameter));
        var completer = (IArgumentCompleter)Activator.CreateInstance(a.Type)!;
        return completer.CompleteArgument(md.Name, p.Name, wordToComplete, new CommandAst(md.Name), fakeBoundParameters ?? new Hashtable()).ToList();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Assembly module in _modules)
        {
            foreach (Type t in module.GetTypes().Where(t => typeof(IModuleAssemblyCleanup).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface))
            {
                ((IModuleAssemblyCleanup)Activator.CreateInstance(t, nonPublic: true)!).OnRemove(new PSModuleInfo(module.GetName().Name!));
            }
        }
    }

    internal Func<ConfirmPrompt, ConfirmAnswer> Confirm => ConfirmHandler;
}

/// <summary>One command line being assembled: named and positional arguments, common parameters, pipeline input.</summary>
public sealed class Invocation
{
    private readonly CmdletHost _host;
    private readonly CommandMetadata _metadata;
    private readonly List<KeyValuePair<string, object?>> _named = new();
    private readonly List<object?> _positional = new();
    private readonly InvocationSettings _settings = new();
    private List<object?>? _input;

    internal Invocation(CmdletHost host, CommandMetadata metadata)
    {
        _host = host;
        _metadata = metadata;
        _settings.ConfirmPreference = host.ConfirmPreference;
    }

    /// <summary>-Name value. Common parameters (-WhatIf, -Confirm, -Verbose, -Debug, -ErrorAction) are recognised too.</summary>
    public Invocation Param(string name, object? value)
    {
        _named.Add(new(name, value));
        return this;
    }

    /// <summary>-Name (a switch given without a value).</summary>
    public Invocation Switch(string name) => Param(name, SwitchPresent.Value);

    /// <summary>A positional argument.</summary>
    public Invocation Arg(object? value)
    {
        _positional.Add(value);
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

    /// <summary>Runs to completion on the calling thread.</summary>
    public CommandResult Invoke()
    {
        var run = new CommandRun(_host, _metadata, _named, _positional, _input, _settings);
        run.Execute();
        return run.Result;
    }

    /// <summary>Runs on its own thread so the test can call <see cref="RunningCommand.Stop"/>.</summary>
    public RunningCommand Start()
    {
        var run = new CommandRun(_host, _metadata, _named, _positional, _input, _settings);
        return new RunningCommand(run);
    }
}

/// <summary>A command running on its own pipeline thread.</summary>
public sealed class RunningCommand
{
    private readonly CommandRun _run;
    private readonly Thread _thread;

    internal RunningCommand(CommandRun run)
    {
        _run = run;
        _thread = new Thread(run.Execute) { IsBackground = true, Name = "pipeline " + run.Result.CommandName };
        _thread.Start();
    }

    /// <summary>The streams so far (complete after <see cref="Wait"/>).</summary>
    public CommandResult Result => _run.Result;

    public bool IsCompleted => !_thread.IsAlive;

    /// <summary>Stops the pipeline as Ctrl+C does: marks it stopping and calls the cmdlet's StopProcessing on this thread.</summary>
    public void Stop() => _run.Stop();

    /// <summary>Polls the captured streams until <paramref name="condition"/> holds; false on timeout or when the command ended first.</summary>
    public bool WaitUntil(Func<CommandResult, bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        DateTime end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            if (condition(_run.Result))
            {
                return true;
            }

            if (!_thread.IsAlive)
            {
                return condition(_run.Result);
            }

            Thread.Sleep(5);
        }

        return false;
    }

    public CommandResult Wait(TimeSpan timeout)
    {
        if (!_thread.Join(timeout))
        {
            throw new TimeoutException($"{_run.Result.CommandName} did not finish within {timeout}.");
        }

        return _run.Result;
    }
}

internal sealed class SwitchPresent
{
    public static readonly SwitchPresent Value = new();
}
