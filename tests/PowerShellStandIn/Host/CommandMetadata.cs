using System.Management.Automation;
using System.Reflection;

namespace NvmePS.Testing;

/// <summary>One parameter set's view of a parameter (PowerShell's ParameterSetMetadata).</summary>
public sealed record ParameterSetEntry(string SetName, bool Mandatory, int? Position, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName, string? HelpMessage);

/// <summary>A cmdlet parameter found by reflection, as PowerShell's CompiledCommandParameter.</summary>
public sealed class ParameterMetadata
{
    internal ParameterMetadata(PropertyInfo property, IReadOnlyList<ParameterSetEntry> sets)
    {
        Property = property;
        Sets = sets;
        Aliases = property.GetCustomAttribute<AliasAttribute>()?.AliasNames.ToArray() ?? Array.Empty<string>();
        Validators = property.GetCustomAttributes().OfType<ValidateArgumentsAttribute>().ToArray();
    }

    public string Name => Property.Name;

    public Type Type => Property.PropertyType;

    public PropertyInfo Property { get; }

    public IReadOnlyList<string> Aliases { get; }

    public IReadOnlyList<ParameterSetEntry> Sets { get; }

    public bool IsSwitch => Type == typeof(SwitchParameter);

    internal IReadOnlyList<ValidateArgumentsAttribute> Validators { get; }

    public ArgumentCompleterAttribute? Completer => Property.GetCustomAttribute<ArgumentCompleterAttribute>();

    /// <summary>True when the parameter belongs to every set.</summary>
    public bool InAllSets => Sets.Any(s => s.SetName == ParameterAttribute.AllParameterSets);

    /// <summary>The entry for a set (or the all-sets entry).</summary>
    public ParameterSetEntry? For(string set) =>
        Sets.FirstOrDefault(s => s.SetName == set) ?? Sets.FirstOrDefault(s => s.SetName == ParameterAttribute.AllParameterSets);

    public bool Matches(string name) =>
        string.Equals(Name, name, StringComparison.OrdinalIgnoreCase) ||
        Aliases.Any(a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>What PowerShell learns about a compiled cmdlet from its attributes.</summary>
public sealed class CommandMetadata
{
    public CommandMetadata(Type cmdletType)
    {
        ArgumentNullException.ThrowIfNull(cmdletType);
        CmdletType = cmdletType;
        Attribute = cmdletType.GetCustomAttribute<CmdletAttribute>()
            ?? throw new ArgumentException($"{cmdletType} has no [Cmdlet] attribute.", nameof(cmdletType));
        Name = $"{Attribute.VerbName}-{Attribute.NounName}";
        var parameters = new List<ParameterMetadata>();
        foreach (PropertyInfo p in cmdletType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attrs = p.GetCustomAttributes<ParameterAttribute>().ToArray();
            if (attrs.Length == 0)
            {
                continue;
            }

            var sets = attrs.Select(a => new ParameterSetEntry(
                a.ParameterSetName, a.Mandatory, a.Position == int.MinValue ? null : a.Position,
                a.ValueFromPipeline, a.ValueFromPipelineByPropertyName, a.HelpMessage)).ToArray();
            parameters.Add(new ParameterMetadata(p, sets));
        }

        Parameters = parameters;
        CheckLikePowerShell(parameters, Attribute.SupportsShouldProcess);
        var named = parameters.SelectMany(p => p.Sets).Select(s => s.SetName)
            .Where(s => s != ParameterAttribute.AllParameterSets).Distinct().ToList();

        // PowerShell creates the default set even when no parameter names it (the common "no extra parameters" set).
        if (named.Count > 0 && Attribute.DefaultParameterSetName is { } d && !named.Contains(d))
        {
            named.Insert(0, d);
        }
        ParameterSets = named.Count == 0 ? new[] { ParameterAttribute.AllParameterSets } : named;
        DefaultParameterSet = Attribute.DefaultParameterSetName ?? (named.Count == 0 ? ParameterAttribute.AllParameterSets : null);
        OutputTypes = cmdletType.GetCustomAttributes<OutputTypeAttribute>().ToArray();
    }

    // Names and aliases of the common parameters (and of -WhatIf/-Confirm when the cmdlet supports ShouldProcess).
    private static readonly string[] CommonNames =
    {
        "Verbose", "vb", "Debug", "db", "ErrorAction", "ea", "WarningAction", "wa", "InformationAction", "infa",
        "ErrorVariable", "ev", "WarningVariable", "wv", "InformationVariable", "iv", "OutVariable", "ov", "OutBuffer", "ob",
        "PipelineVariable", "pv", "ProgressAction", "proga",
    };

    private static readonly string[] ShouldProcessNames = { "WhatIf", "wi", "Confirm", "cf" };

    /// <summary>The metadata errors PowerShell raises when it reads a cmdlet: a name or alias used twice, one that
    /// collides with a common parameter, two parameters at one position in a set.</summary>
    private void CheckLikePowerShell(List<ParameterMetadata> parameters, bool shouldProcess)
    {
        var seen = new HashSet<string>(CommonNames.Concat(shouldProcess ? ShouldProcessNames : Array.Empty<string>()), StringComparer.OrdinalIgnoreCase);
        foreach (ParameterMetadata p in parameters)
        {
            foreach (string n in new[] { p.Name }.Concat(p.Aliases))
            {
                if (!seen.Add(n))
                {
                    throw new MetadataException($"{CmdletType.Name}: a parameter or alias named '{n}' is defined more than once (or collides with a common parameter).");
                }
            }
        }

        var sets = parameters.SelectMany(p => p.Sets).Select(s => s.SetName).Where(s => s != ParameterAttribute.AllParameterSets).Distinct().DefaultIfEmpty(ParameterAttribute.AllParameterSets);
        foreach (string set in sets)
        {
            var positions = parameters.Select(p => p.For(set)?.Position).Where(x => x is not null).GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
            if (positions is not null)
            {
                throw new MetadataException($"{CmdletType.Name}: two parameters of set '{set}' take position {positions.Key}.");
            }
        }
    }

    public Type CmdletType { get; }

    public CmdletAttribute Attribute { get; }

    /// <summary>Verb-Noun.</summary>
    public string Name { get; }

    public IReadOnlyList<ParameterMetadata> Parameters { get; }

    /// <summary>Named parameter sets (or only __AllParameterSets when the cmdlet declares none).</summary>
    public IReadOnlyList<string> ParameterSets { get; }

    public string? DefaultParameterSet { get; }

    public IReadOnlyList<OutputTypeAttribute> OutputTypes { get; }

    public bool SupportsShouldProcess => Attribute.SupportsShouldProcess;

    /// <summary>Parameters that take part in a set (members of it or of all sets).</summary>
    public IEnumerable<ParameterMetadata> ParametersIn(string set) =>
        Parameters.Where(p => p.Sets.Any(s => s.SetName == set || s.SetName == ParameterAttribute.AllParameterSets));

    /// <summary>Finds a parameter as PowerShell does: exact name or alias first, else a unique prefix.</summary>
    public ParameterMetadata? Resolve(string name, out string? error)
    {
        error = null;
        var exact = Parameters.FirstOrDefault(p => p.Matches(name));
        if (exact is not null)
        {
            return exact;
        }

        var prefix = Parameters.Where(p =>
            p.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase) ||
            p.Aliases.Any(a => a.StartsWith(name, StringComparison.OrdinalIgnoreCase))).ToList();
        if (prefix.Count == 1)
        {
            return prefix[0];
        }

        error = prefix.Count == 0
            ? "NamedParameterNotFound"
            : "AmbiguousParameter";
        return null;
    }
}
