using System.Management.Automation;

namespace NvmePS.Testing;

/// <summary>A confirmation prompt the host was asked to answer (-Confirm, or ConfirmImpact at or above ConfirmPreference).</summary>
public sealed record ConfirmPrompt(string Caption, string Message, bool IsShouldContinue);

public enum ConfirmAnswer
{
    Yes,
    YesToAll,
    No,
    NoToAll,
}

/// <summary>Everything one command invocation produced, stream by stream.</summary>
public sealed class CommandResult
{
    private readonly object _gate = new();
    private readonly List<object?> _output = new();
    private readonly List<ErrorRecord> _errors = new();
    private readonly List<string> _warnings = new();
    private readonly List<string> _verbose = new();
    private readonly List<string> _debug = new();
    private readonly List<ProgressRecord> _progress = new();
    private readonly List<InformationRecord> _information = new();
    private readonly List<string> _whatIf = new();
    private readonly List<ConfirmPrompt> _prompts = new();
    private readonly List<string> _parameterSets = new();

    internal CommandResult(string commandName)
    {
        CommandName = commandName;
    }

    public string CommandName { get; }

    public IReadOnlyList<object?> Output => Snapshot(_output);

    public IReadOnlyList<ErrorRecord> Errors => Snapshot(_errors);

    public IReadOnlyList<string> Warnings => Snapshot(_warnings);

    public IReadOnlyList<string> Verbose => Snapshot(_verbose);

    public IReadOnlyList<string> Debug => Snapshot(_debug);

    public IReadOnlyList<ProgressRecord> Progress => Snapshot(_progress);

    public IReadOnlyList<InformationRecord> Information => Snapshot(_information);

    /// <summary>"What if: …" lines the host would print.</summary>
    public IReadOnlyList<string> WhatIf => Snapshot(_whatIf);

    public IReadOnlyList<ConfirmPrompt> Prompts => Snapshot(_prompts);

    /// <summary>The parameter set each ProcessRecord ran in (one entry per record).</summary>
    public IReadOnlyList<string> ParameterSets => Snapshot(_parameterSets);

    /// <summary>The error that ended the command (ThrowTerminatingError, -ErrorAction Stop, binding, or an
    /// exception the cmdlet did not handle).</summary>
    public ErrorRecord? TerminatingError { get; internal set; }

    /// <summary>True when the command ended by an exception the cmdlet let escape (not an ErrorRecord it made).
    /// PowerShell would wrap it in a CmdletInvocationException; for NvmePS it is a defect.</summary>
    public bool UnhandledException { get; internal set; }

    /// <summary>True when parameter binding failed before the command ran.</summary>
    public bool BindingFailed { get; internal set; }

    /// <summary>True when the pipeline was stopped (StopProcessing, PipelineStoppedException).</summary>
    public bool Stopped { get; internal set; }

    /// <summary>No terminating error, no error records, not stopped.</summary>
    public bool Succeeded => TerminatingError is null && !Stopped && Errors.Count == 0;

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

    /// <summary>Throws with every captured error when the command did not succeed; returns the output otherwise.</summary>
    public IReadOnlyList<object?> ThrowIfFailed()
    {
        if (!Succeeded)
        {
            throw new InvalidOperationException(
                $"{CommandName} failed{(Stopped ? " (stopped)" : string.Empty)}: " +
                string.Join(" | ", AllErrors.Select(e => $"{e.FullyQualifiedErrorId} [{e.CategoryInfo.Category}] {e.Exception.GetType().Name}: {e}")));
        }

        return Output;
    }

    internal void Add(List<object?> list, object? item) => Add<object?>(list, item);

    internal void AddOutput(object? o) => Add(_output, o);

    internal void AddError(ErrorRecord e) => Add(_errors, e);

    internal void AddWarning(string s) => Add(_warnings, s);

    internal void AddVerbose(string s) => Add(_verbose, s);

    internal void AddDebug(string s) => Add(_debug, s);

    internal void AddProgress(ProgressRecord p) => Add(_progress, p);

    internal void AddInformation(InformationRecord i) => Add(_information, i);

    internal void AddWhatIf(string s) => Add(_whatIf, s);

    internal void AddPrompt(ConfirmPrompt p) => Add(_prompts, p);

    internal void AddParameterSet(string s) => Add(_parameterSets, s);

    private void Add<T>(List<T> list, T item)
    {
        lock (_gate)
        {
            list.Add(item);
        }
    }

    private List<T> Snapshot<T>(List<T> list)
    {
        lock (_gate)
        {
            return new List<T>(list);
        }
    }
}
