namespace NvmePS.HelpGen;

/// <summary>One parameter block of a platyPS page (a parameter has one per distinct set behaviour).</summary>
internal sealed class ParameterBlock
{
    public string Type { get; set; } = string.Empty;

    /// <summary>"(All)" or set names.</summary>
    public List<string> Sets { get; set; } = new();

    public List<string> Aliases { get; set; } = new();

    public bool Required { get; set; }

    /// <summary>"Named" or a number.</summary>
    public string Position { get; set; } = "Named";

    public string DefaultValue { get; set; } = "None";

    /// <summary>"False", "True (ByValue)", "True (ByPropertyName)", "True (ByPropertyName, ByValue)".</summary>
    public string PipelineInput { get; set; } = "False";

    public bool Wildcards { get; set; }

    public bool InAllSets => Sets.Count == 0 || Sets.Any(s => s == "(All)");
}

internal sealed class ParameterHelp
{
    public string Name { get; set; } = string.Empty;

    public string Description { get; set; } = string.Empty;

    public List<ParameterBlock> Blocks { get; } = new();
}

internal sealed class ExampleHelp
{
    public string Title { get; set; } = string.Empty;

    public string Code { get; set; } = string.Empty;

    public string Remarks { get; set; } = string.Empty;
}

internal sealed class SyntaxHelp
{
    public string SetName { get; set; } = string.Empty;

    public bool IsDefault { get; set; }

    public string Line { get; set; } = string.Empty;
}

internal sealed record TypeHelp(string Type, string Description);

internal sealed record LinkHelp(string Text, string Uri);

/// <summary>A cmdlet's help page (platyPS markdown schema 2.0.0).</summary>
internal sealed class CommandHelp
{
    public string Name { get; set; } = string.Empty;

    public Dictionary<string, string> FrontMatter { get; } = new(StringComparer.OrdinalIgnoreCase);

    public string Synopsis { get; set; } = string.Empty;

    public List<SyntaxHelp> Syntax { get; } = new();

    public string Description { get; set; } = string.Empty;

    public List<ExampleHelp> Examples { get; } = new();

    public List<ParameterHelp> Parameters { get; } = new();

    public bool CommonParameters { get; set; }

    public List<TypeHelp> Inputs { get; } = new();

    public List<TypeHelp> Outputs { get; } = new();

    public string Notes { get; set; } = string.Empty;

    public List<LinkHelp> Links { get; } = new();

    public string Verb => Name.Split('-', 2)[0];

    public string Noun => Name.Contains('-') ? Name.Split('-', 2)[1] : string.Empty;
}

/// <summary>A page that breaks the schema; the build stops with every problem listed.</summary>
internal sealed class HelpFormatException : Exception
{
    public HelpFormatException(string message)
        : base(message)
    {
    }

    public HelpFormatException()
    {
    }

    public HelpFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
