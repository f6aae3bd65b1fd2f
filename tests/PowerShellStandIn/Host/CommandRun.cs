using System.Collections;
using System.Management.Automation;
using System.Reflection;

namespace NvmePS.Testing;

/// <summary>One execution: binds, runs Begin/Process/End, records what happened.</summary>
internal sealed class CommandRun
{
    private static readonly string[] CommonSwitches = { "Verbose", "Debug", "WhatIf", "Confirm" };

    private readonly CmdletHost _host;
    private readonly CommandMetadata _md;
    private readonly List<KeyValuePair<string, object?>> _named;
    private readonly List<object?> _positional;
    private readonly List<object?>? _input;
    private readonly InvocationSettings _settings;
    private readonly Dictionary<ParameterMetadata, object?> _defaults = new();
    private readonly HashSet<ParameterMetadata> _boundByCommandLine = new();
    private readonly object _stopGate = new();
    private Cmdlet? _cmdlet;
    private HostCommandRuntime? _runtime;
    private bool _stopRequested;

    public CommandRun(CmdletHost host, CommandMetadata md, List<KeyValuePair<string, object?>> named, List<object?> positional, List<object?>? input, InvocationSettings settings)
    {
        _host = host;
        _md = md;
        _named = new(named);
        _positional = new(positional);
        _input = input is null ? null : new(input);
        _settings = settings;
        Result = new CommandResult(md.Name);
    }

    public CommandResult Result { get; }

    public void Stop()
    {
        Cmdlet? c;
        lock (_stopGate)
        {
            _stopRequested = true;
            if (_runtime is not null)
            {
                _runtime.IsStopping = true;
            }

            c = _cmdlet;
        }

        c?.DoStopProcessing();
    }

    public void Execute()
    {
        var invocation = new InvocationInfo { InvocationName = _md.Name, ExpectingInput = _input is not null };
        Cmdlet cmdlet;
        try
        {
            cmdlet = (Cmdlet)Activator.CreateInstance(_md.CmdletType)!;
        }
        catch (TargetInvocationException e)
        {
            Fail(new ErrorRecord(e.InnerException ?? e, "CmdletConstructorFailed", ErrorCategory.NotSpecified, null), unhandled: true);
            return;
        }

        var runtime = new HostCommandRuntime(Result, _md, _settings, _host.Confirm, invocation);
        cmdlet.CommandRuntime = runtime;
        if (cmdlet is PSCmdlet ps)
        {
            ps.MyInvocation = invocation;
            ps.SessionState = new SessionState(_host.CurrentDirectory);
        }

        foreach (ParameterMetadata p in _md.Parameters)
        {
            _defaults[p] = p.Property.GetValue(cmdlet);
        }

        bool stopEarly;
        lock (_stopGate)
        {
            _cmdlet = cmdlet;
            _runtime = runtime;
            runtime.IsStopping = _stopRequested;
            stopEarly = _stopRequested;
        }

        try
        {
            if (stopEarly)
            {
                throw new PipelineStoppedException();
            }

            List<string> candidates;
            try
            {
                BindCommandLine(cmdlet, invocation);
                candidates = CandidateSets(_boundByCommandLine);
                if (candidates.Count == 0)
                {
                    throw Binding("AmbiguousParameterSet", null, "Parameter set cannot be resolved using the specified named parameters.");
                }

                if (_input is null)
                {
                    string set = ChooseSet(candidates, _boundByCommandLine, allowPipelinePending: false);
                    SetParameterSet(cmdlet, set);
                }
                else
                {
                    candidates = candidates.Where(s => MissingMandatory(s, _boundByCommandLine, pipelineMayFill: true).Count == 0).ToList();
                    if (candidates.Count == 0)
                    {
                        var missing = MissingMandatory(CandidateSets(_boundByCommandLine)[0], _boundByCommandLine, pipelineMayFill: true);
                        throw Binding("MissingMandatoryParameter", missing[0].Name, $"Cannot process command because of one or more missing mandatory parameters: {string.Join(" ", missing.Select(m => m.Name))}.");
                    }

                    SetParameterSet(cmdlet, candidates.Count == 1 ? candidates[0] : (_md.DefaultParameterSet is { } d && candidates.Contains(d) ? d : candidates[0]));
                }
            }
            catch (ParameterBindingException e)
            {
                Result.BindingFailed = true;
                Fail(e.ErrorRecord, unhandled: false);
                return;
            }

            cmdlet.DoBeginProcessing();
            if (_input is null)
            {
                Result.AddParameterSet(ParameterSetOf(cmdlet));
                cmdlet.DoProcessRecord();
            }
            else
            {
                foreach (object? item in _input)
                {
                    if (runtime.IsStopping)
                    {
                        throw new PipelineStoppedException();
                    }

                    if (!BindPipelineRecord(cmdlet, item, candidates, runtime))
                    {
                        continue;
                    }

                    Result.AddParameterSet(ParameterSetOf(cmdlet));
                    cmdlet.DoProcessRecord();
                }
            }

            cmdlet.DoEndProcessing();
        }
        catch (PipelineStoppedException)
        {
            Result.Stopped = true;
        }
        catch (OperationCanceledException) when (runtime.IsStopping)
        {
            // PowerShell reports a command that throws while stopping as stopped.
            Result.Stopped = true;
        }
        catch (TerminatingErrorException e)
        {
            Fail(e.ErrorRecord, unhandled: false);
        }
        catch (ActionPreferenceStopException e)
        {
            Fail(e.ErrorRecord, unhandled: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var record = e is IContainsErrorRecord r ? r.ErrorRecord : new ErrorRecord(e, "CmdletInvocationException", ErrorCategory.NotSpecified, null);
            Fail(record, unhandled: true);
        }
        finally
        {
            (cmdlet as IDisposable)?.Dispose();
        }
    }

    private void Fail(ErrorRecord record, bool unhandled)
    {
        Result.TerminatingError = record;
        Result.UnhandledException = unhandled;
    }

    private static string ParameterSetOf(Cmdlet c) => c is PSCmdlet ps ? ps.ParameterSetName : ParameterAttribute.AllParameterSets;

    private static void SetParameterSet(Cmdlet c, string set)
    {
        if (c is PSCmdlet ps)
        {
            ps.ParameterSetName = set;
        }
    }

    private static ParameterBindingException Binding(string id, string? parameter, string message, Exception? inner = null) =>
        new(id, parameter, message, inner);

    private void BindCommandLine(Cmdlet cmdlet, InvocationInfo invocation)
    {
        foreach (var (name, raw) in _named)
        {
            string n = name.TrimStart('-');
            if (TryBindCommon(n, raw))
            {
                continue;
            }

            ParameterMetadata? p = _md.Resolve(n, out string? error);
            if (p is null)
            {
                throw error == "AmbiguousParameter"
                    ? Binding(error, n, $"Parameter cannot be processed because the parameter name '{n}' is ambiguous.")
                    : Binding("NamedParameterNotFound", n, $"A parameter cannot be found that matches parameter name '{n}'.");
            }

            if (_boundByCommandLine.Contains(p))
            {
                throw Binding("ParameterAlreadyBound", p.Name, $"Cannot bind parameter because parameter '{p.Name}' is specified more than once.");
            }

            object? value = raw;
            if (value is SwitchPresent)
            {
                if (!p.IsSwitch)
                {
                    throw Binding("MissingArgument", p.Name, $"Missing an argument for parameter '{p.Name}'. Specify a parameter of type '{p.Type.FullName}' and try again.");
                }

                value = new SwitchParameter(true);
            }

            BindValue(cmdlet, p, value, coerce: true, "ParameterArgumentTransformationError");
            _boundByCommandLine.Add(p);
            invocation.BoundParameters[p.Name] = p.Property.GetValue(cmdlet)!;
        }

        if (_positional.Count == 0)
        {
            return;
        }

        var sets = CandidateSets(_boundByCommandLine);
        var positional = _md.Parameters
            .Where(p => !_boundByCommandLine.Contains(p))
            .Select(p => (Param: p, Position: p.Sets.Where(s => sets.Contains(s.SetName) || s.SetName == ParameterAttribute.AllParameterSets)
                .Select(s => s.Position).FirstOrDefault(x => x is not null)))
            .Where(x => x.Position is not null)
            .OrderBy(x => x.Position)
            .ToList();
        for (int i = 0; i < _positional.Count; i++)
        {
            if (i >= positional.Count)
            {
                throw Binding("PositionalParameterNotFound", null, $"A positional parameter cannot be found that accepts argument '{_positional[i]}'.");
            }

            ParameterMetadata p = positional[i].Param;
            BindValue(cmdlet, p, _positional[i], coerce: true, "ParameterArgumentTransformationError");
            _boundByCommandLine.Add(p);
            invocation.BoundParameters[p.Name] = p.Property.GetValue(cmdlet)!;
        }
    }

    private bool TryBindCommon(string name, object? raw)
    {
        bool Flag() => raw is SwitchPresent || (ArgumentConverter.TryConvert(raw, typeof(bool), out object? b, out _) && (bool)b!);
        if (CommonSwitches.FirstOrDefault(c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase)) is { } common)
        {
            if ((common is "WhatIf" or "Confirm") && !_md.SupportsShouldProcess)
            {
                return false;
            }

            switch (common)
            {
                case "Verbose": _settings.Verbose = Flag(); break;
                case "Debug": _settings.Debug = Flag(); break;
                case "WhatIf": _settings.WhatIf = Flag(); break;
                default: _settings.Confirm = Flag(); break;
            }

            return true;
        }

        if (string.Equals(name, "ErrorAction", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "ea", StringComparison.OrdinalIgnoreCase))
        {
            _settings.ErrorAction = (ActionPreference)ArgumentConverter.Convert(raw, typeof(ActionPreference))!;
            return true;
        }

        return false;
    }

    private static void BindValue(Cmdlet cmdlet, ParameterMetadata p, object? value, bool coerce, string errorId)
    {
        object? converted;
        if (coerce)
        {
            if (!ArgumentConverter.TryConvert(value, p.Type, out converted, out string? error))
            {
                throw new ParameterBindingException(errorId, p.Name,
                    $"Cannot process argument transformation on parameter '{p.Name}'. {error}");
            }
        }
        else
        {
            // Only an element for an array parameter needs wrapping here; anything else was checked assignable.
            converted = value is null || p.Type.IsInstanceOfType(value) ? value : ArgumentConverter.Convert(value, p.Type);
        }

        if (converted is null && !p.IsSwitch && p.Type != typeof(bool) && p.Sets.Any(s => s.Mandatory))
        {
            throw new ParameterBindingException("ParameterArgumentValidationErrorNullNotAllowed", p.Name,
                $"Cannot bind argument to parameter '{p.Name}' because it is null.");
        }

        foreach (ValidateArgumentsAttribute v in p.Validators)
        {
            try
            {
                v.ValidateValue(converted);
            }
            catch (ValidationMetadataException e)
            {
                throw new ParameterBindingException("ParameterArgumentValidationError", p.Name,
                    $"Cannot validate argument on parameter '{p.Name}'. {e.Message}", e);
            }
        }

        p.Property.SetValue(cmdlet, converted);
    }

    /// <summary>Sets that contain every bound parameter.</summary>
    private List<string> CandidateSets(IEnumerable<ParameterMetadata> bound) =>
        _md.ParameterSets.Where(set => bound.All(p => p.InAllSets || p.Sets.Any(s => s.SetName == set))).ToList();

    private List<ParameterMetadata> MissingMandatory(string set, IReadOnlyCollection<ParameterMetadata> bound, bool pipelineMayFill) =>
        _md.ParametersIn(set)
            .Where(p => !bound.Contains(p))
            .Where(p => p.For(set) is { Mandatory: true } e && !(pipelineMayFill && (e.ValueFromPipeline || e.ValueFromPipelineByPropertyName)))
            .ToList();

    private string ChooseSet(List<string> candidates, IReadOnlyCollection<ParameterMetadata> bound, bool allowPipelinePending)
    {
        if (candidates.Count > 1)
        {
            var satisfied = candidates.Where(s => MissingMandatory(s, bound, allowPipelinePending).Count == 0).ToList();
            if (_md.DefaultParameterSet is { } d && candidates.Contains(d) && (satisfied.Count != 1 || satisfied[0] == d))
            {
                candidates = new List<string> { d };
            }
            else if (satisfied.Count == 1)
            {
                candidates = satisfied;
            }
            else
            {
                throw Binding("AmbiguousParameterSet", null, "Parameter set cannot be resolved using the specified named parameters. One or more parameters issued cannot be used together or an insufficient number of parameters were provided.");
            }
        }

        string set = candidates[0];
        var missing = MissingMandatory(set, bound, allowPipelinePending);
        if (missing.Count > 0)
        {
            throw Binding("MissingMandatoryParameter", missing[0].Name,
                $"Cannot process command because of one or more missing mandatory parameters: {string.Join(" ", missing.Select(m => m.Name))}.");
        }

        return set;
    }

    /// <summary>PowerShell's four pipeline passes: ByValue without coercion, ByPropertyName without coercion,
    /// then both with coercion. Parameters bound from the previous record go back to their defaults first.</summary>
    private bool BindPipelineRecord(Cmdlet cmdlet, object? item, List<string> commandLineSets, HostCommandRuntime runtime)
    {
        foreach (ParameterMetadata p in _md.Parameters.Where(p => !_boundByCommandLine.Contains(p)))
        {
            p.Property.SetValue(cmdlet, _defaults[p]);
        }

        var bound = new HashSet<ParameterMetadata>(_boundByCommandLine);
        bool byValueBound = false;
        bool anyBound = false;
        string? lastError = null;
        foreach (bool coerce in new[] { false, true })
        {
            foreach (bool byValue in new[] { true, false })
            {
                foreach (ParameterMetadata p in _md.Parameters)
                {
                    if (bound.Contains(p) || (byValue && byValueBound))
                    {
                        continue;
                    }

                    var sets = CandidateSets(bound).Intersect(commandLineSets).ToList();
                    bool accepts = sets.Any(set => p.For(set) is { } e && (byValue ? e.ValueFromPipeline : e.ValueFromPipelineByPropertyName) &&
                                                   (p.InAllSets || p.Sets.Any(s => s.SetName == set)));
                    if (!accepts)
                    {
                        continue;
                    }

                    object? value;
                    if (byValue)
                    {
                        value = item;
                    }
                    else if (!TryGetProperty(item, p, out value))
                    {
                        continue;
                    }

                    if (!coerce && !ArgumentConverter.IsAssignableWithoutCoercion(value, p.Type))
                    {
                        continue;
                    }

                    try
                    {
                        BindValue(cmdlet, p, value, coerce, "InputObjectNotBound");
                    }
                    catch (ParameterBindingException e)
                    {
                        lastError = e.Message;
                        continue;
                    }

                    bound.Add(p);
                    anyBound = true;
                    byValueBound |= byValue;
                }
            }
        }

        var candidates = CandidateSets(bound).Intersect(commandLineSets).ToList();
        try
        {
            if (!anyBound)
            {
                throw Binding("InputObjectNotBound", null,
                    $"The input object cannot be bound to any parameters for the command either because the command does not take pipeline input or the input and its properties do not match any of the parameters that take pipeline input.{(lastError is null ? string.Empty : " " + lastError)}");
            }

            SetParameterSet(cmdlet, ChooseSet(candidates, bound, allowPipelinePending: false));
            return true;
        }
        catch (ParameterBindingException e)
        {
            // A record that cannot be bound is a non-terminating error; the pipeline goes on.
            var record = new ErrorRecord(e, e.ErrorId, ErrorCategory.InvalidArgument, item);
            runtime.WriteError(record);
            return false;
        }
    }

    private static bool TryGetProperty(object? item, ParameterMetadata p, out object? value)
    {
        value = null;
        if (item is null)
        {
            return false;
        }

        var names = new[] { p.Name }.Concat(p.Aliases).ToArray();
        if (item is IDictionary dict)
        {
            // Stands in for a PSCustomObject's note properties.
            foreach (DictionaryEntry e in dict)
            {
                if (e.Key is string k && names.Any(n => string.Equals(n, k, StringComparison.OrdinalIgnoreCase)))
                {
                    value = e.Value;
                    return true;
                }
            }

            return false;
        }

        foreach (string n in names)
        {
            PropertyInfo? prop = item.GetType().GetProperty(n, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (prop is not null && prop.GetIndexParameters().Length == 0)
            {
                value = prop.GetValue(item);
                return true;
            }
        }

        return false;
    }
}
