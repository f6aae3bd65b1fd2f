using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Host;

namespace NvmePS.Testing;

/// <summary>
/// The command runtime the stand-in host installs on each cmdlet: captures every stream, answers
/// ShouldProcess/ShouldContinue like PowerShell's MshCommandRuntime, and enforces PowerShell's rules that writes
/// happen on the pipeline thread and fail once the pipeline is stopping.
/// </summary>
internal sealed class HostCommandRuntime : ICommandRuntime2
{
    private readonly CommandResult _result;
    private readonly CommandMetadata _metadata;
    private readonly InvocationSettings _settings;
    private readonly Func<ConfirmPrompt, ConfirmAnswer> _confirm;
    private readonly InvocationInfo _invocation;
    private readonly int _pipelineThread;
    private bool _yesToAll;
    private bool _noToAll;

    public HostCommandRuntime(CommandResult result, CommandMetadata metadata, InvocationSettings settings, Func<ConfirmPrompt, ConfirmAnswer> confirm, InvocationInfo invocation)
    {
        _result = result;
        _metadata = metadata;
        _settings = settings;
        _confirm = confirm;
        _invocation = invocation;
        _pipelineThread = Environment.CurrentManagedThreadId;
    }

    public volatile bool IsStopping;

    public PSHost Host => null!;

    public void WriteObject(object sendToPipeline) => WriteObject(sendToPipeline, false);

    public void WriteObject(object sendToPipeline, bool enumerateCollection)
    {
        CheckWrite(nameof(WriteObject));
        if (enumerateCollection && sendToPipeline is IEnumerable e && sendToPipeline is not string && sendToPipeline is not IDictionary)
        {
            foreach (object? o in e)
            {
                _result.AddOutput(o);
            }
        }
        else
        {
            _result.AddOutput(sendToPipeline);
        }
    }

    public void WriteError(ErrorRecord errorRecord)
    {
        CheckWrite(nameof(WriteError));
        errorRecord.SetCommandName(_metadata.CmdletType.FullName!);
        errorRecord.InvocationInfo = _invocation;
        _result.AddError(errorRecord);
        if (_settings.ErrorAction == ActionPreference.Stop)
        {
            throw new ActionPreferenceStopException(errorRecord);
        }
    }

    public void WriteVerbose(string text)
    {
        CheckWrite(nameof(WriteVerbose));
        _result.AddVerbose(text);
    }

    public void WriteWarning(string text)
    {
        CheckWrite(nameof(WriteWarning));
        _result.AddWarning(text);
    }

    public void WriteDebug(string text)
    {
        CheckWrite(nameof(WriteDebug));
        _result.AddDebug(text);
    }

    public void WriteCommandDetail(string text) => CheckWrite(nameof(WriteCommandDetail));

    public void WriteProgress(ProgressRecord progressRecord) => WriteProgress(0, progressRecord);

    public void WriteProgress(long sourceId, ProgressRecord progressRecord)
    {
        CheckWrite(nameof(WriteProgress));
        _result.AddProgress(progressRecord);
    }

    public void WriteInformation(InformationRecord informationRecord)
    {
        CheckWrite(nameof(WriteInformation));
        _result.AddInformation(informationRecord);
    }

    public bool ShouldProcess(string target) => ShouldProcess(target, _metadata.Name);

    public bool ShouldProcess(string target, string action)
    {
        string text = $"Performing the operation \"{action}\" on target \"{target}\".";
        return DoShouldProcess(text, text, "Confirm", out _);
    }

    public bool ShouldProcess(string verboseDescription, string verboseWarning, string caption) =>
        DoShouldProcess(verboseDescription, verboseWarning, caption, out _);

    public bool ShouldProcess(string verboseDescription, string verboseWarning, string caption, out ShouldProcessReason shouldProcessReason) =>
        DoShouldProcess(verboseDescription, verboseWarning, caption, out shouldProcessReason);

    public bool ShouldContinue(string query, string caption)
    {
        bool yes = false, no = false;
        return DoShouldContinue(query, caption, false, ref yes, ref no);
    }

    public bool ShouldContinue(string query, string caption, ref bool yesToAll, ref bool noToAll) =>
        DoShouldContinue(query, caption, true, ref yesToAll, ref noToAll);

    public bool ShouldContinue(string query, string caption, bool hasSecurityImpact, ref bool yesToAll, ref bool noToAll) =>
        DoShouldContinue(query, caption, true, ref yesToAll, ref noToAll);

    public bool TransactionAvailable() => false;

    public void ThrowTerminatingError(ErrorRecord errorRecord)
    {
        CheckThread(nameof(ThrowTerminatingError));
        errorRecord.SetCommandName(_metadata.CmdletType.FullName!);
        errorRecord.InvocationInfo = _invocation;
        throw new TerminatingErrorException(errorRecord);
    }

    private bool DoShouldProcess(string verboseDescription, string verboseWarning, string caption, out ShouldProcessReason reason)
    {
        CheckWrite(nameof(ShouldProcess));
        reason = ShouldProcessReason.None;
        if (!_metadata.SupportsShouldProcess)
        {
            // PowerShell answers yes (and writes a debug line) for cmdlets that do not declare SupportsShouldProcess.
            return true;
        }

        if (_settings.WhatIf)
        {
            reason = ShouldProcessReason.WhatIf;
            _result.AddWhatIf("What if: " + verboseDescription);
            return false;
        }

        bool prompt = _settings.Confirm ?? (_settings.ConfirmPreference != ConfirmImpact.None && _metadata.Attribute.ConfirmImpact >= _settings.ConfirmPreference);
        if (prompt)
        {
            if (_yesToAll)
            {
                return true;
            }

            if (_noToAll)
            {
                return false;
            }

            var p = new ConfirmPrompt(caption, "Are you sure you want to perform this action?\n" + verboseWarning, false);
            _result.AddPrompt(p);
            switch (_confirm(p))
            {
                case ConfirmAnswer.Yes:
                    return true;
                case ConfirmAnswer.YesToAll:
                    _yesToAll = true;
                    return true;
                case ConfirmAnswer.NoToAll:
                    _noToAll = true;
                    return false;
                default:
                    return false;
            }
        }

        if (_settings.Verbose)
        {
            _result.AddVerbose(verboseDescription);
        }

        return true;
    }

    private bool DoShouldContinue(string query, string caption, bool allowAll, ref bool yesToAll, ref bool noToAll)
    {
        CheckWrite(nameof(ShouldContinue));
        if (yesToAll)
        {
            return true;
        }

        if (noToAll)
        {
            return false;
        }

        var p = new ConfirmPrompt(caption, query, true);
        _result.AddPrompt(p);
        ConfirmAnswer a = _confirm(p);
        if (allowAll && a == ConfirmAnswer.YesToAll)
        {
            yesToAll = true;
        }

        if (allowAll && a == ConfirmAnswer.NoToAll)
        {
            noToAll = true;
        }

        return a is ConfirmAnswer.Yes or ConfirmAnswer.YesToAll;
    }

    private void CheckWrite(string what)
    {
        CheckThread(what);
        if (IsStopping)
        {
            throw new PipelineStoppedException();
        }
    }

    private void CheckThread(string what)
    {
        // PowerShell's PSInvalidOperationException: "The WriteObject and WriteError methods cannot be called from
        // outside the overrides of the BeginProcessing, ProcessRecord, and EndProcessing methods, and they can only
        // be called from within the same thread."
        if (Environment.CurrentManagedThreadId != _pipelineThread)
        {
            throw new InvalidOperationException(
                $"{what} was called from thread {Environment.CurrentManagedThreadId}, not the pipeline thread {_pipelineThread}. PowerShell rejects this.");
        }
    }
}

/// <summary>What ThrowTerminatingError raises (PowerShell wraps the record in a CmdletInvocationException).</summary>
internal sealed class TerminatingErrorException : RuntimeException
{
    public TerminatingErrorException(ErrorRecord record)
        : base(record.ToString(), record.Exception, record)
    {
    }
}

/// <summary>Common parameters and preferences for one invocation.</summary>
internal sealed class InvocationSettings
{
    public bool WhatIf { get; set; }

    /// <summary>-Confirm / -Confirm:$false; null when not given.</summary>
    public bool? Confirm { get; set; }

    public bool Verbose { get; set; }

    public bool Debug { get; set; }

    public ActionPreference ErrorAction { get; set; } = ActionPreference.Continue;

    public ConfirmImpact ConfirmPreference { get; set; } = ConfirmImpact.High;
}
